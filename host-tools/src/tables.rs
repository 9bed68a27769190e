//! Table-set files: loading, validating and using them with the codec.
//!
//! A table-set file is the blob written by `build-tables` (format 2: postcard
//! plus a CRC-32, see `codec/FORMAT.md`). [`TableFile::load`] validates
//! everything once (the checksum, the tables, the model section, the compiled
//! decode tables), so later uses can not fail on the tables themselves. A
//! damaged file is refused as damaged; a file of format 1 (earlier builds,
//! no checksum) still loads, with a warning, so its streams keep decoding.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use vqtans::model::Model;

use crate::io::tokens::TOKENS_PER_FRAME;
use crate::io::{read_capped, show};
use vqtans::model::context::ListCoding;
use vqtans::segment::{EncodeOptions, Encoder, SegmentDecoder};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};
use vqtans::tans::decode_table::EntryWidth;

/// Largest table-set file accepted (the largest context-model set, K = 768,
/// is about 1.6 MB).
const MAX_TABLES_BYTES: u64 = 64 << 20;

/// A loaded and validated table-set file.
pub struct TableFile {
    path: PathBuf,
    blob: Vec<u8>,
    id: u64,
    decode: OwnedDecodeTables,
}

impl TableFile {
    /// Reads and validates the table set at `path`.
    ///
    /// Errors (each naming the file): unreadable, not a regular file, too
    /// large, damaged (checksum), of an older format, not a valid table set,
    /// or a model this build does not know.
    pub fn load(path: &Path) -> Result<TableFile> {
        if crate::io::is_dash(path) {
            anyhow::bail!("--tables -: the table set must be a file, not standard input");
        }
        let blob = read_capped(path, MAX_TABLES_BYTES, "table-set file")?;
        TableFile::from_blob(blob, path)
    }

    /// Validates `blob` as [`TableFile::load`] does; `path` names it in messages
    /// (e.g. the archive it is embedded in, or the tables just trained).
    pub fn from_blob(blob: Vec<u8>, path: &Path) -> Result<TableFile> {
        let set = TableSetRef::from_bytes(&blob)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{}: not a valid vqtans table set", show(path)))?;
        Model::from_table_set(&set)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{}: unusable table set", show(path)))?;
        let decode = OwnedDecodeTables::new(&set)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{}: cannot compile decode tables", show(path)))?;
        if set.format() == vqtans::table_set::TABLE_SET_FORMAT_1 {
            eprintln!(
                "warning: {}: table set format 1 from an earlier vqtans has no checksum, so damage to it \
                 cannot be detected; rebuild the tables with build-tables (streams coded with it still decode)",
                show(path)
            );
        }
        let id = set.id();
        Ok(TableFile { path: path.to_path_buf(), blob, id, decode })
    }

    /// The path the set was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The table-set id (CRC-64/XZ of the blob) as 16 hex digits.
    pub fn id_hex(&self) -> String {
        format!("{:016x}", self.id)
    }

    /// The serialised table set.
    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    /// The validated set, borrowed from the blob.
    pub fn set(&self) -> TableSetRef<'_> {
        // Validated in `load`; parsing the same bytes again cannot fail.
        TableSetRef::from_bytes(&self.blob).expect("table set validated at load")
    }

    /// A short description of the model, e.g. `context model, K = 192`.
    pub fn model_name(&self) -> String {
        model_name(&self.set())
    }

    /// The set's device footprint ([`footprint_summary`]).
    pub fn footprint_summary(&self) -> String {
        footprint_summary(&self.set())
    }

    /// An encoder for this set with the default options (`EncodeOptions::default()`:
    /// container format 3, two sections, groups of 20 frames).
    pub fn encoder(&self) -> Result<Encoder<'_>> {
        self.encoder_with(EncodeOptions::default())
    }

    /// An encoder for this set writing streams with `options`.
    pub fn encoder_with(&self, options: EncodeOptions) -> Result<Encoder<'_>> {
        Encoder::with_options(&self.set(), options)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{}: cannot prepare encoding", show(&self.path)))
    }

    /// A frame-by-frame decoder of `stream` (the header checked, including
    /// its table-set id); [`TableFile::explain`] turns the error into a
    /// message.
    pub fn decoder<'s>(&self, stream: &'s [u8]) -> Result<SegmentDecoder<'s, '_>, vqtans::Error> {
        SegmentDecoder::new(stream, &self.set(), self.decode.view())
    }

    /// A frame-by-frame decoder of the beginning of `stream`, which may have
    /// been cut short (see [`SegmentDecoder::new_cut_short`]): for salvage.
    pub fn decoder_cut_short<'s>(&self, stream: &'s [u8]) -> Result<SegmentDecoder<'s, '_>, vqtans::Error> {
        SegmentDecoder::new_cut_short(stream, &self.set(), self.decode.view())
    }

    /// Decodes and verifies a whole stream (the codec checks the payload and
    /// the token checksum), returning `frames * 128` tokens. Uses the SIMD path
    /// where the CPU has it (bit-identical to the scalar one, errors included).
    pub fn decode(&self, stream: &[u8], stream_path: &Path) -> Result<Vec<u16>> {
        vqtans::segment::decode_simd(stream, &self.set(), self.decode.view()).map_err(|e| self.explain(e, stream_path))
    }

    /// A decode error of `stream_path` as a message for the user.
    pub fn explain(&self, err: vqtans::Error, stream_path: &Path) -> anyhow::Error {
        match err {
            vqtans::Error::TableSetMismatch { stream, tables } => anyhow::anyhow!(
                "{}: the stream was encoded with table set {stream:016x}, but {} is table set \
                 {tables:016x}; decode it with the tables it was encoded with",
                show(stream_path),
                show(&self.path)
            ),
            other => anyhow::Error::from(other).context(format!("{}: cannot decode", show(stream_path))),
        }
    }
}

/// A short description of the model of `set`, e.g. `context model, K = 192`, or
/// for a set with a context map or 10-bit lists `context model, K = 96, 12
/// tables, 10-bit lists`.
pub fn model_name(set: &TableSetRef<'_>) -> String {
    match Model::from_table_set(set) {
        Ok(Model::Order0(_)) => "order-0 model".to_string(),
        Ok(Model::Context(m)) => {
            let mut name = format!("context model, K = {}", m.k());
            if !m.is_identity_map() {
                name += &format!(", {} tables", m.n_tables());
            }
            if m.list_coding() == ListCoding::Packed10 {
                name += ", 10-bit lists";
            }
            name
        }
        Err(e) => format!("unknown model ({e})"),
    }
}

/// What a device stores to decode with `set`, e.g. `807134 bytes (table set 397534
/// + compiled image 409600, 32-bit entries)`.
pub fn footprint_summary(set: &TableSetRef<'_>) -> String {
    format!(
        "{} bytes (table set {} + compiled image {}, {})",
        set.device_footprint(),
        set.blob_len(),
        set.compiled_bytes(),
        entry_width_name(set.entry_width())
    )
}

/// `16-bit entries` or `32-bit entries`.
pub fn entry_width_name(width: EntryWidth) -> &'static str {
    match width {
        EntryWidth::Short => "16-bit entries",
        EntryWidth::Wide => "32-bit entries",
    }
}

/// Largest stream file accepted: above the largest valid stream (65,536
/// frames of 128 tokens at most 25 bits each, the largest state log plus 10
/// raw bits: 26.2 MB).
const MAX_STREAM_BYTES: u64 = 64 << 20;

/// Reads a stream file whole (streams are at most a few tens of MB), or
/// standard input for `-`.
pub fn read_stream(path: &Path) -> Result<Vec<u8>> {
    Ok(read_capped(path, MAX_STREAM_BYTES, "vqtans stream")?)
}

/// Decodes `decoder`'s stream frame by frame up to its first failure, then
/// checks its end: the tokens of every verified group (every frame when
/// the result is `Ok`), and the result. On a failure the decoder says
/// where ([`SegmentDecoder::current_group`], `verified_frames`).
pub fn decode_verified_groups(decoder: &mut SegmentDecoder<'_, '_>) -> (Vec<u16>, Result<(), vqtans::Error>) {
    let frames = decoder.header().frames;
    let mut tokens = Vec::with_capacity(frames as usize * TOKENS_PER_FRAME);
    let mut frame = [0u16; TOKENS_PER_FRAME];
    let mut result = Ok(());
    for _ in 0..frames {
        result = decoder.next_frame(&mut frame);
        if result.is_err() {
            break;
        }
        tokens.extend_from_slice(&frame);
    }
    if result.is_ok() {
        result = decoder.finish();
    }
    if result.is_err() {
        tokens.truncate(decoder.verified_frames() as usize * TOKENS_PER_FRAME);
    }
    (tokens, result)
}

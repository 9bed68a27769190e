//! What the device should send back for each stream, worked out on the host
//! before anything is sent.
//!
//! Each stream is read whole and its header parsed; its table set must be one
//! of those given (the device must hold it too). The host decodes the stream
//! itself with that set, as the device will: the groups that verify are the
//! frames the device must return, and the first group that fails (a damaged
//! stream, or one cut short) is where the device must stop. With an original
//! `.npy`, the frames are compared with it instead (and the host's decoding
//! must match it), so a device that returns what the host decoded but the
//! original does not hold is caught too.

use std::path::Path;

use anyhow::{bail, Result};
use vqtans::container::{Header, HEADER_LEN};

use crate::diff::first_difference;
use crate::io::{read_npy_file, show};
use crate::tables::{decode_verified_groups, read_stream, TableFile};

/// One stream to send, and what must come back.
pub struct StreamPlan {
    /// The stream's file, for messages.
    pub name: String,
    /// The bytes sent: the whole file.
    pub bytes: Vec<u8>,
    /// Its header.
    pub header: Header,
    /// Which of the given table sets it was encoded with.
    pub tables: usize,
    /// The tokens to compare the returned frames with: the original's (all
    /// frames) with `--expect`, else the host's decoding (`verified_frames`
    /// frames).
    pub expected: Vec<u16>,
    /// What `expected` is, for messages: the original's file name, or `the
    /// host's decoding`.
    pub expected_from: String,
    /// Frames in the groups the host's decoder verifies: all of them for an
    /// intact stream.
    pub verified_frames: u32,
    /// Where and why the host's decoder fails (`group G: error`), if it does.
    pub host_failure: Option<String>,
    /// Payload bytes the file holds when that is fewer than its header says
    /// (the stream was cut short).
    pub cut_short: Option<usize>,
}

impl StreamPlan {
    /// The number of frames the device must return for a complete run.
    pub fn frames(&self) -> u32 {
        self.header.frames
    }

    /// The checksum group of frame `frame`.
    pub fn group_of(&self, frame: u32) -> u32 {
        frame / self.header.group_frames()
    }
}

/// Plans the stream in file `path`, encoded with one of `tables`, expected to
/// give `original` (a `.npy` file) if given.
///
/// Errors (naming the file): unreadable; shorter than a header or with a bad
/// header; bytes after the end of its payload (the device would take them for
/// the next stream's header); no given table set is its table set; the
/// original cannot be read, holds another number of frames, or differs from
/// what the stream decodes to on the host.
pub fn plan(path: &Path, tables: &[TableFile], original: Option<&Path>) -> Result<StreamPlan> {
    let name = show(path);
    let bytes = read_stream(path)?;
    let Some(first) = bytes.first_chunk::<HEADER_LEN>() else {
        bail!("{name}: {} bytes, shorter than a stream header ({HEADER_LEN} bytes)", bytes.len());
    };
    let header = Header::from_bytes(first).map_err(|e| anyhow::anyhow!("{name}: not a vqtans stream: {e}"))?;
    let payload = bytes.len() - HEADER_LEN;
    let declared = header.payload_len as usize;
    if payload > declared {
        bail!(
            "{name}: {} bytes after the end of its payload (the device would read them as the next stream's header)",
            payload - declared
        );
    }
    let cut_short = (payload < declared).then_some(payload);
    let Some(index) = tables.iter().position(|t| t.id_hex() == format!("{:016x}", header.table_set_id)) else {
        let given: Vec<String> = tables.iter().map(|t| format!("{} ({})", show(t.path()), t.id_hex())).collect();
        bail!(
            "{name}: encoded with table set {:016x}, which is none of --tables: {}",
            header.table_set_id,
            given.join(", ")
        );
    };
    let set = &tables[index];
    let mut decoder = set.decoder_cut_short(&bytes).map_err(|e| set.explain(e, path))?;
    let (decoded, result) = decode_verified_groups(&mut decoder);
    let (verified_frames, host_failure) = match result {
        Ok(()) => (header.frames, None),
        Err(e) => (decoder.verified_frames(), Some(format!("group {}: {e}", decoder.current_group()))),
    };
    let (expected, expected_from) = match original {
        None => (decoded, "the host's decoding".to_string()),
        Some(original) => {
            let segment = read_npy_file(original)?;
            let original_name = show(original);
            if segment.frames != header.frames as usize {
                bail!("{name} holds {} frames, {original_name} holds {}", header.frames, segment.frames);
            }
            if let Some(d) = first_difference(&decoded, &segment.tokens, 0) {
                bail!("{name} does not decode to {original_name} on the host either: {d}");
            }
            (segment.tokens, original_name)
        }
    };
    Ok(StreamPlan {
        name,
        bytes,
        header,
        tables: index,
        expected,
        expected_from,
        verified_frames,
        host_failure,
        cut_short,
    })
}

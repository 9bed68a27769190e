//! Whole segments: tokens to a stream (header + payload) and back.

use crate::container::{Header, TokenChecksum, FRAME_TOKENS};
use crate::model::{Model, ModelDecoder};
use crate::table_set::TableSetRef;
use crate::tans::decode_table::DecodeTables;
use crate::tans::decoder::TansDecoder;
use crate::{Error, Result};

/// The checks every decoder makes before the first frame, in this order: the header
/// (`Header::parse`), the table-set id of the stream, the set and the compiled tables
/// (`TableSetMismatch`), the model (`UnknownModel`), the state count (`HeaderCorrupt`).
/// Returns the header, the model and a coder positioned at the first symbol.
pub(crate) fn open<'s, 't>(
    stream: &'s [u8],
    set: &TableSetRef<'t>,
    tables: &DecodeTables<'_>,
) -> Result<(Header, Model<'t>, TansDecoder<'s>)> {
    let (header, payload) = Header::parse(stream)?;
    if header.table_set_id != set.id() || tables.id() != set.id() {
        return Err(Error::TableSetMismatch { stream: header.table_set_id, tables: set.id() });
    }
    let model = Model::from_table_set(set)?;
    if header.n_states as usize != model.n_states() {
        return Err(Error::HeaderCorrupt);
    }
    let coder = TansDecoder::new(payload, model.n_states(), set.state_log())?;
    Ok((header, model, coder))
}

/// Decodes a stream frame by frame into a caller's 128-token buffer, with no heap.
///
/// The decoder's memory is this struct (see [`SegmentDecoder::STATE_BYTES`]); the
/// tables are borrowed (they may live in flash). After the last frame,
/// [`SegmentDecoder::finish`] checks that the payload was consumed exactly and that
/// the tokens match the header's checksum: until it returns `Ok`, decoded frames are
/// not known to be correct.
pub struct SegmentDecoder<'s, 't> {
    header: Header,
    coder: TansDecoder<'s>,
    model: ModelDecoder<'t>,
    tables: DecodeTables<'t>,
    checksum: TokenChecksum,
    frames_done: u32,
}

impl<'s, 't> SegmentDecoder<'s, 't> {
    /// Size of the decoder state in bytes on this target (at most 2 KiB on every
    /// target: checked when the codec compiles).
    pub const STATE_BYTES: usize = core::mem::size_of::<Self>();

    /// Opens `stream` for decoding with `set` and its compiled `tables`.
    ///
    /// Errors: the header's (`BadMagic`, `UnsupportedVersion`, `HeaderCorrupt`,
    /// `BadShape`, `Truncated`, `TrailingBytes`), `TableSetMismatch` if the stream was
    /// made with other tables, `UnknownModel`.
    pub fn new(stream: &'s [u8], set: &TableSetRef<'t>, tables: DecodeTables<'t>) -> Result<Self> {
        let (header, model, coder) = open(stream, set, &tables)?;
        Ok(SegmentDecoder {
            header,
            coder,
            model: model.decoder_state(),
            tables,
            checksum: TokenChecksum::new(),
            frames_done: 0,
        })
    }

    /// Makes this decoder use the portable frame loop even where a hand-written one
    /// exists (the ARMv7E-M kernel, for tables of state log 10). Results are
    /// the same either way; the firmware tests use this to compare the two.
    pub fn use_portable_loop(&mut self) {
        self.model.use_portable_loop();
    }

    /// The stream's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Frames that the hand-written ARMv7E-M frame loop decoded so far, successfully
    /// or not ([`crate::model::context::ContextState::kernel_frames`]): every frame >= 1
    /// on a Cortex-M4/M7 with tables of state log 10, else 0.
    pub fn kernel_frames(&self) -> u32 {
        self.model.kernel_frames()
    }

    /// Frames decoded so far.
    pub fn frames_done(&self) -> u32 {
        self.frames_done
    }

    /// Decodes the next frame into `out`. Returns `EndOfStream` after the last frame,
    /// and `Truncated` as soon as the payload is found to be too short.
    pub fn next_frame(&mut self, out: &mut [u16; FRAME_TOKENS]) -> Result<()> {
        if self.frames_done >= self.header.frames {
            return Err(Error::EndOfStream);
        }
        self.model.decode_frame(&mut self.coder, &self.tables, out)?;
        if self.coder.overran() {
            return Err(Error::Truncated);
        }
        self.checksum.update(out);
        self.frames_done += 1;
        Ok(())
    }

    /// Checks the whole stream after its last frame: payload consumed exactly,
    /// coder back in its initial states, tokens matching the checksum.
    pub fn finish(self) -> Result<()> {
        if self.frames_done != self.header.frames {
            return Err(Error::EndOfStream);
        }
        self.coder.finish()?;
        if self.checksum.finalize() != self.header.tokens_crc {
            return Err(Error::ChecksumMismatch);
        }
        Ok(())
    }
}

// The documented bound on the decoder's memory, checked for every target the codec
// is built for (the host and thumbv7em-none-eabihf among them).
const _: () = assert!(SegmentDecoder::STATE_BYTES <= 2048, "SegmentDecoder must stay within 2 KiB");

/// Decodes a whole stream into `out` (at least `frames * 128` tokens) and verifies
/// it. Returns the number of tokens written. No heap.
pub fn decode_into(stream: &[u8], set: &TableSetRef<'_>, tables: DecodeTables<'_>, out: &mut [u16]) -> Result<usize> {
    let mut decoder = SegmentDecoder::new(stream, set, tables)?;
    let n = decoder.header().frames as usize * FRAME_TOKENS;
    if out.len() < n {
        return Err(Error::BufferTooSmall { needed: n });
    }
    for frame in out[..n].chunks_exact_mut(FRAME_TOKENS) {
        let frame: &mut [u16; FRAME_TOKENS] = frame.try_into().map_err(|_| Error::BadShape)?;
        decoder.next_frame(frame)?;
    }
    decoder.finish()?;
    Ok(n)
}

/// Host-side (heap-using) encoding and decoding of whole segments.
#[cfg(feature = "alloc")]
mod owned {
    use super::*;
    use crate::container::{tokens_crc, MAX_TOKEN};
    use crate::model::context::encode::Part;
    use crate::model::ModelEncoder;
    use crate::tans::encode_table::EncodeTable;
    use crate::tans::encoder::encode_with_costs;
    use alloc::vec::Vec;

    /// Everything needed to encode with a table set.
    pub struct Encoder<'t> {
        set: TableSetRef<'t>,
        model: Model<'t>,
        model_encoder: ModelEncoder<'t>,
        tables: Vec<EncodeTable>,
    }

    /// Payload bits of an encoded stream, split by model part.
    pub type PartBits = alloc::collections::BTreeMap<Part, u64>;

    impl<'t> Encoder<'t> {
        /// Prepares encoding with `set`.
        pub fn new(set: &TableSetRef<'t>) -> Result<Self> {
            let model = Model::from_table_set(set)?;
            Ok(Encoder {
                set: *set,
                model,
                model_encoder: ModelEncoder::new(&model),
                tables: crate::table_set::encode_tables(set),
            })
        }

        /// Encodes `tokens` to a stream; see [`Encoder::encode_with_stats`].
        pub fn encode(&self, tokens: &[u16]) -> Result<Vec<u8>> {
            Ok(self.encode_with_stats(tokens)?.0)
        }

        /// Encodes `tokens` (frames of 8x16, row-major, values 0..=1023) to a stream,
        /// and reports the payload bits spent on each model part (the coder's initial
        /// states and the final byte padding are not attributed).
        ///
        /// Errors: `TokenCount`, `TokenOutOfRange`, `SymbolNotInTable` when the tables
        /// cannot code a symbol the tokens need.
        pub fn encode_with_stats(&self, tokens: &[u16]) -> Result<(Vec<u8>, PartBits)> {
            if tokens.is_empty()
                || tokens.len() % FRAME_TOKENS != 0
                || tokens.len() / FRAME_TOKENS > crate::container::MAX_FRAMES as usize
            {
                return Err(Error::TokenCount { count: tokens.len() });
            }
            if let Some((index, &value)) = tokens.iter().enumerate().find(|(_, &t)| t > MAX_TOKEN) {
                return Err(Error::TokenOutOfRange { index, value });
            }
            let (ops, parts) = self.model_encoder.ops(tokens);
            let mut bits = PartBits::new();
            let payload =
                encode_with_costs(&self.tables, self.set.state_log(), self.model.n_states(), &ops, |i, nb| {
                    *bits.entry(parts[i]).or_default() += nb as u64;
                })?;
            let header = Header {
                n_states: self.model.n_states() as u8,
                frames: (tokens.len() / FRAME_TOKENS) as u32,
                table_set_id: self.set.id(),
                payload_len: u32::try_from(payload.len()).map_err(|_| Error::TokenCount { count: tokens.len() })?,
                tokens_crc: tokens_crc(tokens),
            };
            let mut stream = Vec::with_capacity(crate::container::HEADER_LEN + payload.len());
            stream.extend_from_slice(&header.to_bytes());
            stream.extend_from_slice(&payload);
            Ok((stream, bits))
        }
    }

    /// Decodes a whole stream into a new vector, verified.
    pub fn decode(stream: &[u8], set: &TableSetRef<'_>, tables: DecodeTables<'_>) -> Result<Vec<u16>> {
        let (header, _) = Header::parse(stream)?;
        let mut out = alloc::vec![0u16; header.frames as usize * FRAME_TOKENS];
        decode_into(stream, set, tables, &mut out)?;
        Ok(out)
    }
}

/// Host SIMD decoding (AVX2 when the CPU has it), bit-identical to [`decode`].
#[cfg(feature = "std")]
pub use crate::simd::{decode_into_simd, decode_simd};
#[cfg(feature = "alloc")]
pub use owned::{decode, Encoder, PartBits};

//! Whole segments: tokens to a stream (header + payload) and back.

use crate::container::{Header, Sections, FRAME_TOKENS, HEADER_LEN};
use crate::groups::GroupCheck;
use crate::model::{Model, ModelDecoder};
use crate::table_set::TableSetRef;
use crate::tans::decode_table::DecodeTables;
use crate::tans::decoder::TansDecoder;
use crate::{Error, Result};

/// What [`open`] finds: the header, the model, the section table and a coder
/// positioned at the first symbol of section 0. A section table that is cut short
/// or damaged is part of the payload: its error (`failed`) is the first frame's, in
/// group 0, as a streaming decoder finds it.
pub(crate) struct Opened<'s, 't> {
    pub(crate) header: Header,
    pub(crate) model: Model<'t>,
    pub(crate) sections: Sections,
    pub(crate) coder: TansDecoder<'s>,
    pub(crate) failed: Option<Error>,
}

/// The checks every decoder makes before the first frame, in this order: the header
/// (`Header::parse`), the table-set id of the stream, the set and the compiled tables
/// (`TableSetMismatch`), the model (`UnknownModel`), the state count (`HeaderCorrupt`),
/// the section table of a format-3 stream (`Sections::parse`).
pub(crate) fn open<'s, 't>(
    stream: &'s [u8],
    set: &TableSetRef<'t>,
    tables: &DecodeTables<'_>,
) -> Result<Opened<'s, 't>> {
    let (header, payload) = Header::parse(stream)?;
    open_payload(header, payload, set, tables)
}

/// [`open`]'s checks after the header, for `header` and its `payload`.
fn open_payload<'s, 't>(
    header: Header,
    payload: &'s [u8],
    set: &TableSetRef<'t>,
    tables: &DecodeTables<'_>,
) -> Result<Opened<'s, 't>> {
    if header.table_set_id != set.id() || tables.id() != set.id() {
        return Err(Error::TableSetMismatch { stream: header.table_set_id, tables: set.id() });
    }
    let model = Model::from_table_set(set)?;
    if header.n_states as usize != model.n_states() {
        return Err(Error::HeaderCorrupt);
    }
    let (sections, failed) = match Sections::parse(&header, payload) {
        Ok(sections) => (sections, None),
        Err(e) => (Sections::whole(&header), Some(e)),
    };
    let coder = TansDecoder::new(section_bytes(payload, &sections, 0), model.n_states(), set.state_log())?;
    Ok(Opened { header, model, sections, coder, failed })
}

/// The bytes of section `s` that `payload` holds (fewer than the section has, or
/// none, if the payload was cut short).
pub(crate) fn section_bytes<'s>(payload: &'s [u8], sections: &Sections, s: u32) -> &'s [u8] {
    let range = sections.range(s);
    let end = range.end.min(payload.len());
    &payload[range.start.min(end)..end]
}

/// Decodes a stream frame by frame into a caller's 128-token buffer, with no heap.
///
/// The decoder's memory is this struct (see [`SegmentDecoder::STATE_BYTES`]); the
/// tables are borrowed (they may live in flash).
///
/// Frames are known to be right group by group (`codec/FORMAT.md`): in a format-2
/// stream, [`SegmentDecoder::next_frame`] on the last frame of a group also checks
/// the group's checksum, so once it returns `Ok` the frames of that group (and of
/// every group before it) are verified, except for the stream's last group, which
/// [`SegmentDecoder::finish`] verifies together with the end of the payload. A
/// format-1 stream is one group: nothing is verified before `finish`. After the first
/// error every call returns that error; [`SegmentDecoder::current_group`] then names
/// the group that failed and [`SegmentDecoder::verified_frames`] counts the frames
/// before it.
pub struct SegmentDecoder<'s, 't> {
    header: Header,
    coder: TansDecoder<'s>,
    model: ModelDecoder<'t>,
    tables: DecodeTables<'t>,
    check: GroupCheck,
    /// The payload (as much of it as there is), for the coder of each section of a
    /// format-3 stream (its section table is read again there: kept out of this
    /// struct, which the micro:bit holds twice in 16 KiB).
    payload: &'s [u8],
    /// The section being decoded.
    section: u8,
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
        let (header, payload) = Header::parse(stream)?;
        let opened = open_payload(header, payload, set, &tables)?;
        Ok(Self::of(opened, payload, tables))
    }

    /// The decoder of an opened stream.
    fn of(opened: Opened<'s, 't>, payload: &'s [u8], tables: DecodeTables<'t>) -> Self {
        let Opened { header, model, coder, failed, .. } = opened;
        let mut check = GroupCheck::new(&header);
        if let Some(e) = failed {
            check.fail(e);
        }
        SegmentDecoder { header, coder, model: model.decoder_state(), tables, check, payload, section: 0 }
    }

    /// Opens the beginning of a stream that may have been cut short, to recover
    /// the groups that arrived whole (`decode --salvage`): the same checks as
    /// [`SegmentDecoder::new`], except that the payload may be shorter than the
    /// header says (bytes beyond the header's payload length are ignored). A frame
    /// or group checksum that needs a byte that is not there fails with
    /// `Truncated`, so a group verifies only if all its bytes are present.
    ///
    /// Errors: `Truncated` if the 32-byte header is not all there, then the
    /// header's and the tables' errors as for [`SegmentDecoder::new`].
    pub fn new_cut_short(stream: &'s [u8], set: &TableSetRef<'t>, tables: DecodeTables<'t>) -> Result<Self> {
        let bytes = stream.first_chunk::<HEADER_LEN>().ok_or(Error::Truncated)?;
        let header = Header::from_bytes(bytes)?;
        let rest = &stream[HEADER_LEN..];
        let payload = &rest[..rest.len().min(header.payload_len as usize)];
        let opened = open_payload(header, payload, set, &tables)?;
        Ok(Self::of(opened, payload, tables))
    }

    /// Makes this decoder use the portable frame loop even where a hand-written one
    /// exists (the ARMv7E-M and ARMv6-M kernels, [`Self::kernel_frames`]). Results are
    /// the same either way; the firmware tests use this to compare the two.
    pub fn use_portable_loop(&mut self) {
        self.model.use_portable_loop();
    }

    /// The stream's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Frames that a hand-written frame loop decoded so far, successfully or not
    /// ([`crate::model::context::ContextState::kernel_frames`]): every frame >= 1 on a
    /// Cortex-M4/M7 with tables of state log 10 (32-bit entries, `u16` lists, one table
    /// per context) and on a Cortex-M0/M0+ with tables of 16-bit entries and 10-bit
    /// lists, else 0.
    pub fn kernel_frames(&self) -> u32 {
        self.model.kernel_frames()
    }

    /// Frames decoded so far.
    pub fn frames_done(&self) -> u32 {
        self.check.frames_done()
    }

    /// Frames known to be right: those of the groups that passed their checks (the
    /// last group only after [`SegmentDecoder::finish`] returned `Ok`).
    pub fn verified_frames(&self) -> u32 {
        self.check.verified_frames()
    }

    /// Payload bits read so far, from the payload's first bit (after a group's last
    /// frame: up to the end of its checksum, i.e. where the next group's bits
    /// start, or in a format-3 stream the next section's).
    pub fn consumed_bits(&self) -> usize {
        let start = Sections::parse(&self.header, self.payload).map_or(0, |t| t.range(u32::from(self.section)).start);
        8 * start + self.coder.consumed_bits()
    }

    /// The checksum group of the next frame; after an error, the group in which it
    /// was found (the stream's last group for an error of `finish`).
    pub fn current_group(&self) -> u32 {
        self.check.current_group()
    }

    /// Decodes the next frame into `out`. Returns `EndOfStream` after the last frame,
    /// `Truncated` as soon as the payload is found to be too short, and for the last
    /// frame of a group of a format-2 stream `GroupChecksum` if the group's tokens do
    /// not match its checksum. `out` holds the frame only when this returns `Ok`.
    pub fn next_frame(&mut self, out: &mut [u16; FRAME_TOKENS]) -> Result<()> {
        if let Some(e) = self.check.failed() {
            return Err(e);
        }
        if self.check.frames_done() >= self.header.frames {
            return Err(Error::EndOfStream);
        }
        if self.check.next_starts_section() {
            if let Err(e) = self.next_section() {
                return Err(self.check.fail(e));
            }
        }
        if let Err(e) = self.model.decode_frame(&mut self.coder, &self.tables, out) {
            return Err(self.check.fail(e));
        }
        if self.coder.overran() {
            return Err(self.check.fail(Error::Truncated));
        }
        let coder = &mut self.coder;
        self.check.frame_done(out, || coder.read_u32())
    }

    /// Between two sections of a format-3 stream: the end of the section before
    /// (checked as [`SegmentDecoder::finish`] checks the end of the payload), then the
    /// next section's coder and a fresh model state. Never inlined: its temporaries
    /// (a coder) stay off the stack of the frame loops (the micro:bit's 16 KiB of RAM).
    #[inline(never)]
    fn next_section(&mut self) -> Result<()> {
        self.coder.finish()?;
        self.section += 1;
        // The table was read when the stream was opened: it parses.
        let sections = Sections::parse(&self.header, self.payload)?;
        let bytes = section_bytes(self.payload, &sections, u32::from(self.section));
        self.coder = TansDecoder::new(bytes, self.coder.n_states(), self.tables.state_log())?;
        self.model.restart();
        Ok(())
    }

    /// Checks the end of the stream after its last frame: payload consumed exactly,
    /// coder back in its initial states, and for a format-1 stream the tokens against
    /// the header's checksum. Every frame is verified once this returns `Ok`.
    pub fn finish(&mut self) -> Result<()> {
        if let Some(e) = self.check.failed() {
            return Err(e);
        }
        if self.check.frames_done() != self.header.frames {
            return Err(Error::EndOfStream);
        }
        if let Err(e) = self.coder.finish() {
            return Err(self.check.fail(e));
        }
        self.check.finish()
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
    use crate::container::{
        tokens_crc, Check, TokenChecksum, DEFAULT_GROUP_FRAMES, DEFAULT_SECTIONS, MAX_SECTIONS, MAX_TOKEN,
    };
    use crate::model::context::encode::{ModelOps, Part};
    use crate::model::ModelEncoder;
    use crate::tans::encode_table::EncodeTable;
    use crate::tans::encoder::encode_with_costs;
    use crate::tans::encoder::Op;
    use alloc::vec::Vec;
    use core::num::NonZeroU16;

    /// How [`Encoder`] writes streams.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct EncodeOptions {
        /// Frames per checksum group (container format 2): after every this many
        /// frames, and after the last frame, the payload holds the running CRC-32 of
        /// the tokens (4 bytes per group). Default [`DEFAULT_GROUP_FRAMES`] (20).
        pub group_frames: NonZeroU16,
        /// Write container format 1 instead (no group checksums, one token CRC in the
        /// header): only for testing decoders on the old format.
        pub version_1: bool,
        /// Independent sections to cut the frames into (container format 3), at most
        /// [`MAX_SECTIONS`]; fewer if the stream has fewer checksum groups than that
        /// allows (each section is whole groups, none empty), and format 2 (one
        /// section) if it has one group or this is 1. Default [`DEFAULT_SECTIONS`]
        /// (2): the AVX-512 decoder decodes two sections at once (`codec/FORMAT.md`
        /// gives the rate this costs).
        pub sections: u8,
    }

    impl Default for EncodeOptions {
        fn default() -> Self {
            EncodeOptions {
                group_frames: NonZeroU16::new(DEFAULT_GROUP_FRAMES).unwrap_or(NonZeroU16::MIN),
                version_1: false,
                sections: DEFAULT_SECTIONS,
            }
        }
    }

    /// Everything needed to encode with a table set.
    pub struct Encoder<'t> {
        set: TableSetRef<'t>,
        model: Model<'t>,
        model_encoder: ModelEncoder<'t>,
        tables: Vec<EncodeTable>,
        options: EncodeOptions,
    }

    /// Payload bits of an encoded stream, split by model part.
    pub type PartBits = alloc::collections::BTreeMap<Part, u64>;

    impl<'t> Encoder<'t> {
        /// Prepares encoding with `set` and the default options (container format 2,
        /// groups of 20 frames).
        pub fn new(set: &TableSetRef<'t>) -> Result<Self> {
            Self::with_options(set, EncodeOptions::default())
        }

        /// Prepares encoding with `set` and `options`.
        pub fn with_options(set: &TableSetRef<'t>, options: EncodeOptions) -> Result<Self> {
            let model = Model::from_table_set(set)?;
            Ok(Encoder {
                set: *set,
                model,
                model_encoder: ModelEncoder::new(&model),
                tables: crate::table_set::encode_tables(set),
                options,
            })
        }

        /// The options streams are written with.
        pub fn options(&self) -> EncodeOptions {
            self.options
        }

        /// Encodes `tokens` to a stream; see [`Encoder::encode_with_stats`] (the same
        /// bytes, without the accounting).
        pub fn encode(&self, tokens: &[u16]) -> Result<Vec<u8>> {
            self.encode_counting(tokens, |_, _| {})
        }

        /// Encodes `tokens` (frames of 8x16, row-major, values 0..=1023) to a stream,
        /// and reports the payload bits spent on each model part, group checksums
        /// included (the coder's initial states and the final byte padding are not
        /// attributed).
        ///
        /// Errors: `TokenCount`, `TokenOutOfRange`, `SymbolNotInTable` when the tables
        /// cannot code a symbol the tokens need.
        pub fn encode_with_stats(&self, tokens: &[u16]) -> Result<(Vec<u8>, PartBits)> {
            // Per part: bits, and whether it had an operation (a part whose operations
            // all cost 0 bits is still reported).
            let mut bits = [(0u64, false); Part::ALL.len()];
            let stream = self.encode_counting(tokens, |part, nb| {
                let (sum, seen) = &mut bits[part as usize];
                *sum += nb as u64;
                *seen = true;
            })?;
            let bits = Part::ALL.iter().zip(bits).filter(|(_, (_, seen))| *seen).map(|(&p, (nb, _))| (p, nb)).collect();
            Ok((stream, bits))
        }

        /// [`Encoder::encode_with_stats`] with each operation's payload bits handed to
        /// `count` with its part, in reverse stream order.
        fn encode_counting(&self, tokens: &[u16], mut count: impl FnMut(Part, u32)) -> Result<Vec<u8>> {
            if tokens.is_empty()
                || tokens.len() % FRAME_TOKENS != 0
                || tokens.len() / FRAME_TOKENS > crate::container::MAX_FRAMES as usize
            {
                return Err(Error::TokenCount { count: tokens.len() });
            }
            if let Some((index, &value)) = tokens.iter().enumerate().find(|(_, &t)| t > MAX_TOKEN) {
                return Err(Error::TokenOutOfRange { index, value });
            }
            let frames = tokens.len() / FRAME_TOKENS;
            let group_frames = self.options.group_frames.get();
            let sections =
                if self.options.version_1 { 1 } else { sections_for(self.options.sections, frames, group_frames) };
            let check = if self.options.version_1 {
                Check::WholeStream { tokens_crc: tokens_crc(tokens) }
            } else if sections > 1 {
                Check::Sections { group_frames, sections }
            } else {
                Check::Groups { group_frames }
            };
            let mut header = Header {
                n_states: self.model.n_states() as u8,
                frames: frames as u32,
                table_set_id: self.set.id(),
                payload_len: 0,
                check,
            };
            // Each section coded on its own: model state, coder states and running
            // checksum from scratch.
            let mut coded = Vec::with_capacity(header.sections() as usize);
            for s in 0..header.sections() {
                let range = header.section_range(s);
                let tokens = &tokens[range.start as usize * FRAME_TOKENS..range.end as usize * FRAME_TOKENS];
                let model_ops = self.model_encoder.ops(tokens);
                let (ops, parts) = if self.options.version_1 {
                    (model_ops.ops, model_ops.parts)
                } else {
                    with_group_checks(model_ops, tokens, group_frames as usize)
                };
                coded.push(encode_with_costs(
                    &self.tables,
                    self.set.state_log(),
                    self.model.n_states(),
                    &ops,
                    |i, nb| count(parts[i], nb),
                )?);
            }
            let lengths: Vec<usize> = coded.iter().map(Vec::len).collect();
            let mut payload = crate::container::Sections::table(&lengths)?;
            for section in coded {
                payload.extend_from_slice(&section);
            }
            header.payload_len = u32::try_from(payload.len()).map_err(|_| Error::TokenCount { count: tokens.len() })?;
            let mut stream = Vec::with_capacity(crate::container::HEADER_LEN + payload.len());
            stream.extend_from_slice(&header.to_bytes());
            stream.extend_from_slice(&payload);
            Ok(stream)
        }
    }

    /// Sections for a stream of `frames` frames in groups of `group_frames`: the most
    /// up to `wanted` (and [`MAX_SECTIONS`]) such that every section is whole groups
    /// and none is empty (`Header::section_range`); 1 if there is one group.
    fn sections_for(wanted: u8, frames: usize, group_frames: u16) -> u8 {
        let groups = frames.div_ceil(usize::from(group_frames));
        (2..=wanted.min(MAX_SECTIONS))
            .rev()
            .find(|&s| (usize::from(s) - 1) * groups.div_ceil(usize::from(s)) < groups)
            .unwrap_or(1)
    }

    /// The model's operations with the group checksums of container format 2 put in:
    /// after the last frame of every group of `group_frames` frames and after the last
    /// frame, the running CRC-32 of the tokens so far as two 16-bit raw operations,
    /// low half first.
    fn with_group_checks(model_ops: ModelOps, tokens: &[u16], group_frames: usize) -> (Vec<Op>, Vec<Part>) {
        let ModelOps { ops, parts, frame_ends } = model_ops;
        let groups = frame_ends.len().div_ceil(group_frames);
        let mut all_ops = Vec::with_capacity(ops.len() + 2 * groups);
        let mut all_parts = Vec::with_capacity(ops.len() + 2 * groups);
        let mut checksum = TokenChecksum::new();
        let mut from = 0;
        for (g, group_ends) in frame_ends.chunks(group_frames).enumerate() {
            let end = group_ends.last().copied().unwrap_or(from);
            all_ops.extend_from_slice(&ops[from..end]);
            all_parts.extend_from_slice(&parts[from..end]);
            let first = g * group_frames * FRAME_TOKENS;
            checksum.update(&tokens[first..first + group_ends.len() * FRAME_TOKENS]);
            let crc = checksum.value();
            for half in [crc as u16, (crc >> 16) as u16] {
                all_ops.push(Op::Raw { value: half, bits: 16 });
                all_parts.push(Part::GroupCheck);
            }
            from = end;
        }
        (all_ops, all_parts)
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
pub use owned::{decode, EncodeOptions, Encoder, PartBits};

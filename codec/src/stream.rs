//! Decoding a stream as it arrives over a link, handing out only verified frames.
//!
//! [`read_header`] takes the 32-byte header from an [`embedded_io::Read`] (a UART,
//! a USB CDC endpoint, a socket); the caller picks the table set by the header's
//! table-set id and makes a [`StreamDecoder`] with a buffer for one group of frames.
//! [`StreamDecoder::next_group`] then pulls the payload through a 1 KiB input buffer
//! and decodes one checksum group at a time into that buffer, and returns the group's
//! frames only once the group's check passed (for the last group: its checksum and
//! the end of the payload). On the first failure it says which group failed and why,
//! and hands out nothing more. No heap, and the stream is never held whole.
//!
//! Input: the frame loops read their bits from a window of
//! [`WINDOW_BYTES`] bytes at the current position, so the decoder keeps that many
//! payload bytes buffered ahead of it (or the rest of the payload, if shorter),
//! moving the unread bytes to the front of the buffer and reading more when fewer
//! are left. It never reads past the end of the payload, so streams may follow each
//! other on the link back to back: after the last group the reader stands at the
//! next stream's first byte.
//!
//! A format-1 stream is one group of all its frames (its only check is after the last
//! frame), so it streams only if all its frames fit the held-frames buffer.
//!
//! Results are those of [`crate::segment::SegmentDecoder`]: the same tokens, the same
//! errors in the same groups (`codec/tests/stream_link.rs`).

use embedded_io::Read;

use crate::container::{Header, Sections, FRAME_TOKENS, HEADER_LEN};
use crate::groups::GroupCheck;
use crate::model::{Model, ModelDecoder};
use crate::table_set::TableSetRef;
use crate::tans::bits::WINDOW_BYTES;
use crate::tans::decode_table::DecodeTables;
use crate::tans::decoder::TansDecoder;
use crate::tans::MAX_STATES;
use crate::{Error, Result};

/// Bytes of the input buffer.
pub const INPUT_BYTES: usize = 1024;
/// Payload bytes kept buffered ahead of the current position before each frame: the
/// frame loops' bit window. A frame reads at most 401 bytes (128 tokens of at most
/// 15 class and 10 raw bits), a group checksum 4 more, and the bit reader looks up to
/// 8 bytes ahead, so nothing is ever read from beyond the buffered bytes while more
/// of the payload is still to come.
const AHEAD: usize = WINDOW_BYTES;
const _: () = assert!(INPUT_BYTES - AHEAD >= 500, "a refill reads at least 500 bytes");

/// One frame of decoded tokens, row-major.
pub type Frame = [u16; FRAME_TOKENS];

/// The buffered bytes of `input` up to the payload offset `end` (a section's end).
fn section_data(input: &Input, end: usize) -> &[u8] {
    &input.data()[..end.saturating_sub(input.start).min(input.len)]
}

/// Why streaming stopped. `group` is the checksum group being received or checked
/// (`None` while reading the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamError<E> {
    /// The link failed: the reader's own error (e.g. a timeout).
    Link {
        /// The reader's error.
        error: E,
        /// The group being received.
        group: Option<u32>,
    },
    /// The stream is damaged, truncated (the link ended: the reader returned 0
    /// bytes), or does not fit the tables: the codec's error.
    Codec {
        /// What is wrong.
        error: Error,
        /// The group in which it was found.
        group: Option<u32>,
    },
    /// An earlier call failed; the decoder hands out nothing more.
    Stopped,
}

impl<E> StreamError<E> {
    /// The group the failure happened in, if it happened after the header.
    pub fn group(&self) -> Option<u32> {
        match *self {
            StreamError::Link { group, .. } | StreamError::Codec { group, .. } => group,
            StreamError::Stopped => None,
        }
    }
}

impl<E: core::fmt::Debug> core::fmt::Display for StreamError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StreamError::Link { error, group: Some(g) } => write!(f, "link failed in group {g}: {error:?}"),
            StreamError::Link { error, group: None } => write!(f, "link failed in the header: {error:?}"),
            StreamError::Codec { error, group: Some(g) } => write!(f, "group {g}: {error}"),
            StreamError::Codec { error, group: None } => write!(f, "{error}"),
            StreamError::Stopped => write!(f, "decoding stopped at an earlier failure"),
        }
    }
}

/// Reads and checks a stream's 32-byte header from `reader` (nothing more). Errors:
/// the header's own (`BadMagic`, `UnsupportedVersion`, `HeaderCorrupt`, `BadShape`),
/// `Truncated` if the link ends first, or the reader's error.
pub fn read_header<R: Read>(reader: &mut R) -> core::result::Result<Header, StreamError<R::Error>> {
    let mut bytes = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        match reader.read(&mut bytes[got..]) {
            Ok(0) => return Err(StreamError::Codec { error: Error::Truncated, group: None }),
            Ok(n) => got += n.min(HEADER_LEN - got),
            Err(error) => return Err(StreamError::Link { error, group: None }),
        }
    }
    Header::from_bytes(&bytes).map_err(|error| StreamError::Codec { error, group: None })
}

/// A group of frames that passed its check.
#[derive(Debug)]
pub struct VerifiedGroup<'h> {
    /// The group's index (from 0).
    pub index: u32,
    /// The stream's frame number of the group's first frame.
    pub first_frame: u32,
    /// The group's frames, in order.
    pub frames: &'h [Frame],
}

/// The payload bytes in the input buffer.
struct Input {
    bytes: [u8; INPUT_BYTES],
    /// Payload offset of `bytes[0]`.
    start: usize,
    /// Bytes of `bytes` holding payload.
    len: usize,
    /// Payload bytes received so far (`start + len`).
    received: usize,
    /// Payload length.
    total: usize,
}

/// What stopped a refill.
enum Refill<E> {
    Link(E),
    /// The reader returned no bytes: the link ended.
    Ended,
}

impl Input {
    /// Makes sure the buffer holds [`AHEAD`] bytes from payload byte `at` on, or
    /// everything up to the end of the payload: moves the bytes from `at` on to the
    /// front, then reads (never past the payload) until then.
    fn refill<R: Read>(&mut self, reader: &mut R, at: usize) -> core::result::Result<(), Refill<R::Error>> {
        if self.holds_window_at(at) {
            return Ok(());
        }
        // `at` is at most 64 bits past the buffered bytes (a frame never reads further
        // when the buffer holds AHEAD bytes), and never before them. The bytes kept
        // move by a multiple of 4, so they are copied a word at a time.
        let end = self.start + self.len;
        let keep_from = self.start + ((at.clamp(self.start, end) - self.start) & !3);
        self.bytes.copy_within(keep_from - self.start..self.len, 0);
        self.len = end - keep_from;
        self.start = keep_from;
        while self.start + self.len < at + AHEAD && self.received < self.total {
            let want = (INPUT_BYTES - self.len).min(self.total - self.received);
            match reader.read(&mut self.bytes[self.len..self.len + want]) {
                Ok(0) => return Err(Refill::Ended),
                Ok(n) => {
                    let n = n.min(want);
                    self.len += n;
                    self.received += n;
                }
                Err(e) => return Err(Refill::Link(e)),
            }
        }
        Ok(())
    }

    /// The buffered payload bytes.
    fn data(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// True if a frame may be decoded from payload byte `at` on: the buffer holds
    /// [`AHEAD`] bytes from there, or everything to the end of the payload.
    fn holds_window_at(&self, at: usize) -> bool {
        self.start + self.len >= at + AHEAD || self.received == self.total
    }
}

/// Why a run of frames over the buffered bytes stopped.
enum Step {
    /// The buffer needs refilling first.
    Refill,
    /// A group ended (and passed its check).
    GroupEnd,
    /// The stream's last frame was decoded (its end checks are left).
    Last,
    /// A frame failed.
    Failed(Error),
}

/// Decodes one stream from a link, group by group, holding each group back until it
/// is verified.
///
/// Memory: this struct ([`StreamDecoder::STATE_BYTES`]: model state, coder states,
/// the 1 KiB input buffer) plus the caller's held-frames buffer of at least one group
/// (256 bytes per frame: 5 KiB at the default 20 frames per group), plus the stack of
/// a frame decode. No heap.
pub struct StreamDecoder<'t, 'h> {
    header: Header,
    model: ModelDecoder<'t>,
    tables: DecodeTables<'t>,
    state_log: u8,
    n_states: usize,
    /// The coder's states between frames.
    states: [u32; MAX_STATES],
    /// Payload bit position of the next bit to decode.
    bit: usize,
    /// The section table and section 0's initial states have been read.
    started: bool,
    /// The sections of the payload (read from its first bytes) and the one being
    /// decoded, with the payload offset where it ends: the coder never reads past it.
    sections: Sections,
    section: u32,
    section_end: usize,
    check: GroupCheck,
    input: Input,
    held: &'h mut [Frame],
    /// A call failed: hand out nothing more.
    stopped: bool,
}

impl<'t, 'h> StreamDecoder<'t, 'h> {
    /// Size of the decoder state in bytes on this target (the held frames not
    /// included).
    pub const STATE_BYTES: usize = core::mem::size_of::<Self>();

    /// Prepares decoding the stream whose header is `header` (from [`read_header`])
    /// with `set` and its compiled `tables`, holding back each group's frames in
    /// `held`.
    ///
    /// Errors, before anything more is read: `TableSetMismatch` if the stream was made
    /// with other tables, `UnknownModel`, `HeaderCorrupt` (a state count the model
    /// does not use), `BufferTooSmall { needed }` if a group has more frames (`needed`)
    /// than `held` (a format-1 stream is one group of all its frames).
    pub fn new(header: Header, set: &TableSetRef<'t>, tables: DecodeTables<'t>, held: &'h mut [Frame]) -> Result<Self> {
        if header.table_set_id != set.id() || tables.id() != set.id() {
            return Err(Error::TableSetMismatch { stream: header.table_set_id, tables: set.id() });
        }
        let model = Model::from_table_set(set)?;
        if header.n_states as usize != model.n_states() {
            return Err(Error::HeaderCorrupt);
        }
        let group_frames = header.group_frames();
        if group_frames as usize > held.len() {
            return Err(Error::BufferTooSmall { needed: group_frames as usize });
        }
        Ok(StreamDecoder {
            header,
            model: model.decoder_state(),
            tables,
            state_log: set.state_log(),
            n_states: model.n_states(),
            states: [0; MAX_STATES],
            bit: 0,
            started: false,
            sections: Sections::whole(&header),
            section: 0,
            section_end: header.payload_len as usize,
            check: GroupCheck::new(&header),
            input: Input { bytes: [0; INPUT_BYTES], start: 0, len: 0, received: 0, total: header.payload_len as usize },
            held,
            stopped: false,
        })
    }

    /// The stream's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Frames handed out so far (all of them verified).
    pub fn verified_frames(&self) -> u32 {
        self.check.verified_frames()
    }

    /// Payload bytes received from the link so far.
    pub fn received_bytes(&self) -> usize {
        self.input.received
    }

    /// Receives and decodes the next group, and returns its frames once they are
    /// verified; `Ok(None)` after the last group (the whole payload has then been
    /// read, and nothing after it). On an error nothing of the failing group is
    /// handed out, and every later call returns [`StreamError::Stopped`].
    pub fn next_group<R: Read>(
        &mut self,
        reader: &mut R,
    ) -> core::result::Result<Option<VerifiedGroup<'_>>, StreamError<R::Error>> {
        if self.stopped {
            return Err(StreamError::Stopped);
        }
        let first_frame = self.check.frames_done();
        if first_frame >= self.header.frames && self.check.verified_frames() == self.header.frames {
            return Ok(None);
        }
        let index = self.check.current_group();
        match self.decode_group(reader, index) {
            Ok(n) => Ok(Some(VerifiedGroup { index, first_frame, frames: &self.held[..n] })),
            Err(e) => {
                self.stopped = true;
                Err(e)
            }
        }
    }

    /// Decodes group `group` into the held frames and checks it (the last group with
    /// the end of the payload); returns its frame count.
    fn decode_group<R: Read>(
        &mut self,
        reader: &mut R,
        group: u32,
    ) -> core::result::Result<usize, StreamError<R::Error>> {
        let codec = |error: Error| StreamError::Codec { error, group: Some(group) };
        if !self.started {
            // The section table (none before format 3), then section 0.
            self.refill(reader, group)?;
            self.sections = Sections::parse(&self.header, self.input.data()).map_err(|e| codec(self.check.fail(e)))?;
            self.start_section(reader, group)?;
            self.started = true;
        } else if self.check.next_starts_section() {
            // The end of the section before, as the end of the payload is checked,
            // then the next section from scratch.
            self.refill(reader, group)?;
            self.section_end_checks().map_err(|e| codec(self.check.fail(e)))?;
            self.section += 1;
            self.model.restart();
            self.start_section(reader, group)?;
        }
        let mut n = 0;
        loop {
            self.refill(reader, group)?;
            // One coder over the buffered bytes for as many frames as they hold
            // (making one per frame would copy its states back and forth).
            let input = &self.input;
            let base = 8 * input.start;
            let section_end = self.section_end;
            let data = section_data(input, section_end);
            let mut coder = TansDecoder::resume(data, self.bit - base, &self.states[..self.n_states], self.state_log)
                .map_err(codec)?;
            let step = loop {
                let at = (base + coder.consumed_bits()) / 8;
                if !input.holds_window_at(at) && input.start + input.len < section_end {
                    break Step::Refill;
                }
                let last = self.check.frames_done() + 1 == self.header.frames;
                let ends_group = self.check.next_ends_group();
                let Some(slot) = self.held.get_mut(n) else {
                    break Step::Failed(Error::BufferTooSmall { needed: n + 1 });
                };
                let check = &mut self.check;
                let decoded = self.model.decode_frame(&mut coder, &self.tables, slot).and_then(|()| {
                    if coder.overran() {
                        return Err(Error::Truncated);
                    }
                    check.frame_done(slot, || coder.read_u32())
                });
                if let Err(e) = decoded {
                    break Step::Failed(e);
                }
                n += 1;
                if last {
                    break Step::Last;
                }
                if ends_group {
                    break Step::GroupEnd;
                }
            };
            // Positions in the buffer back to positions in the payload.
            self.states[..self.n_states].copy_from_slice(coder.states());
            self.bit = base + coder.consumed_bits();
            match step {
                Step::Refill => {}
                Step::GroupEnd => return Ok(n),
                Step::Last => {
                    self.refill(reader, group)?;
                    return self.end_checks().map(|()| n).map_err(codec);
                }
                Step::Failed(e) => return Err(codec(self.check.fail(e))),
            }
        }
    }

    /// Refills the input for decoding from the current position on.
    fn refill<R: Read>(&mut self, reader: &mut R, group: u32) -> core::result::Result<(), StreamError<R::Error>> {
        self.input.refill(reader, self.bit / 8).map_err(|e| match e {
            Refill::Link(error) => StreamError::Link { error, group: Some(group) },
            Refill::Ended => StreamError::Codec { error: self.check.fail(Error::Truncated), group: Some(group) },
        })
    }

    /// Reads the initial states of the current section from its first bytes.
    fn start_section<R: Read>(
        &mut self,
        reader: &mut R,
        group: u32,
    ) -> core::result::Result<(), StreamError<R::Error>> {
        let range = self.sections.range(self.section);
        self.section_end = range.end;
        self.bit = 8 * range.start;
        self.refill(reader, group)?;
        let input = &self.input;
        let data = section_data(input, self.section_end);
        let from = (range.start - input.start).min(data.len());
        match TansDecoder::new(&data[from..], self.n_states, self.state_log) {
            Ok(coder) => {
                self.states[..self.n_states].copy_from_slice(coder.states());
                self.bit = 8 * range.start + coder.consumed_bits();
                Ok(())
            }
            Err(error) => Err(StreamError::Codec { error: self.check.fail(error), group: Some(group) }),
        }
    }

    /// After the last frame of a section other than the last (the input refilled):
    /// the end of the section, checked as [`TansDecoder::finish`] checks it over the
    /// section's bytes.
    fn section_end_checks(&self) -> Result<()> {
        let input = &self.input;
        if input.start + input.len < self.section_end {
            // More than AHEAD whole bytes of the section are left unread.
            return Err(Error::PayloadCorrupt);
        }
        TansDecoder::resume(
            section_data(input, self.section_end),
            self.bit - 8 * input.start,
            &self.states[..self.n_states],
            self.state_log,
        )
        .and_then(|c| c.finish())
    }

    /// After the last frame (the input refilled): the end of the payload, checked as
    /// [`TansDecoder::finish`] checks it over the whole payload, then the stream's
    /// last check ([`GroupCheck::finish`]).
    fn end_checks(&mut self) -> Result<()> {
        let end = if self.input.received < self.input.total {
            // More than AHEAD whole bytes of the payload are left unread.
            Err(Error::PayloadCorrupt)
        } else {
            TansDecoder::resume(
                self.input.data(),
                self.bit - 8 * self.input.start,
                &self.states[..self.n_states],
                self.state_log,
            )
            .and_then(|c| c.finish())
        };
        if let Err(e) = end {
            return Err(self.check.fail(e));
        }
        self.check.finish()
    }
}

//! The kernel paths' driver: which kernel decodes which frames of a stream, and the
//! hand-over to the scalar code, with the same checks in the same order as
//! [`crate::segment::SegmentDecoder`], so every path gives the same tokens and the
//! same errors.
//!
//! A stream of one section (formats 1 and 2) is decoded as before format 3 existed:
//! the kernel from the first frame as long as the payload has room for a frame after
//! the current position ([`state::KernelState::before_rows`]), the scalar code for
//! the rest, then the end checks.
//!
//! The sections of a format-3 stream are coded independently, so the AVX-512 kernel
//! decodes two of them at once, row by row interleaved ([`Pair`]): a single stream's
//! rows form one chain of dependent steps (entry gather, bit counts, prefix sum, bit
//! window, next states), and the core overlaps two such chains where it cannot speed
//! up one (`BUDGET.md`). Each section then finishes on its own, in stream order (the
//! first section's tail and end checks before anything of the second is reported),
//! so errors come out as the sequential decoder finds them. If anything goes wrong
//! while two sections run together (a frame that does not resolve, a checksum, a
//! section that does not open), the stream is decoded again section after section,
//! which gives the error exactly where the scalar reference finds it.

use super::state::{FrameResult, KernelState};
#[cfg(target_arch = "x86_64")]
use super::{avx2, avx2_available, avx512, avx512_available};
use super::{decode_into_scalar, DecodePath, SimdReport, KERNEL_ROOM};
#[cfg(target_arch = "aarch64")]
use super::{neon, neon_available};
use crate::container::{Check, Header, FRAME_TOKENS, GROUP_CHECK_BITS, HEADER_LEN};
use crate::groups::GroupCheck;
use crate::model::context::{ContextModel, ContextState};
use crate::model::Model;
use crate::segment::{open, section_bytes, Opened};
use crate::table_set::TableSetRef;
use crate::tans::bits::BitReader;
use crate::tans::decode_table::DecodeTables;
use crate::tans::decoder::TansDecoder;
use crate::{Error, Result};

/// The SIMD kernel of a path, for one table set (one per decode, on the stack:
/// the size of the variant that never exists does not matter).
#[allow(clippy::large_enum_variant)]
pub(super) enum Kernel<'a> {
    #[cfg(target_arch = "x86_64")]
    Avx2(avx2::Kernel<'a>),
    #[cfg(target_arch = "x86_64")]
    Avx512(avx512::Kernel<'a>),
    #[cfg(target_arch = "aarch64")]
    Neon(neon::Kernel<'a>),
    /// Never made: keeps `'a` used on targets without a kernel.
    #[allow(dead_code)]
    None(core::marker::PhantomData<&'a ()>, core::convert::Infallible),
}

impl<'a> Kernel<'a> {
    /// The kernel of `path` for this table set, if the CPU runs it and the kernel
    /// takes the set (a set the AVX-512 kernel declines goes to the AVX2 kernel).
    pub(super) fn new(path: DecodePath, tables: &DecodeTables<'a>, model: &ContextModel<'a>) -> Option<Self> {
        match path {
            #[cfg(target_arch = "x86_64")]
            DecodePath::Avx2 if avx2_available() => avx2::Kernel::new(tables, model).map(Kernel::Avx2),
            #[cfg(target_arch = "x86_64")]
            DecodePath::Avx512 if avx512_available() => avx512::Kernel::new(tables, model)
                .map(Kernel::Avx512)
                .or_else(|| avx2::Kernel::new(tables, model).map(Kernel::Avx2)),
            #[cfg(target_arch = "aarch64")]
            DecodePath::Neon if neon_available() => neon::Kernel::new(tables, model).map(Kernel::Neon),
            _ => {
                let _ = (tables, model);
                None
            }
        }
    }

    /// The path this kernel implements.
    fn path(&self) -> DecodePath {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(_) => DecodePath::Avx2,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512(_) => DecodePath::Avx512,
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon(_) => DecodePath::Neon,
            Kernel::None(_, never) => match *never {},
        }
    }

    /// Payload bytes the kernel's rows read from a frame's first byte on (each
    /// kernel's `FRAME_MARGIN`).
    fn margin(&self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(_) => avx2::FRAME_MARGIN,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512(_) => avx512::FRAME_MARGIN,
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon(_) => neon::FRAME_MARGIN,
            Kernel::None(_, never) => match *never {},
        }
    }

    /// Decodes one frame into `out` (frame 0 of the stream if `first`), or returns
    /// `NoRoom` without changing anything if the payload has fewer than the kernel's
    /// [`margin`](Kernel::margin) bytes from the current position on, plus room for
    /// the `then_bits` bits that follow the frame (a group checksum): after `Done`, at
    /// least `then_bits` bits of the payload follow the new position.
    #[allow(unsafe_code)]
    pub(super) fn frame(
        &self,
        ks: &mut KernelState,
        payload: &[u8],
        out: &mut [u16; FRAME_TOKENS],
        first: bool,
        then_bits: usize,
    ) -> FrameResult {
        let start = match ks.before_rows(payload, out, first, then_bits, self.margin()) {
            Ok(start) => start,
            Err(result) => return result,
        };
        // SAFETY: `before_rows` returned `start` only with `margin()` bytes of the
        // payload from it on.
        let bytes = unsafe { payload.as_ptr().add(start) };
        let corrupt = match self {
            // SAFETY (each `rows`): made only when the CPU has the kernel's features
            // (`Kernel::new`); `bytes` has the kernel's FRAME_MARGIN >=
            // FRAME_MAX_BYTES readable bytes.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(k) => unsafe { k.rows(ks, bytes, out) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512(k) => {
                let [corrupt] = unsafe { k.rows([avx512::Chain { ks, bytes, out }]) };
                corrupt
            }
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon(k) => unsafe { k.rows(ks, bytes, out) },
            Kernel::None(_, never) => match *never {},
        };
        FrameResult::of_rows(corrupt)
    }

    /// True if this kernel decodes two sections at once ([`Kernel::frame_pair`]).
    fn pairs(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        if let Kernel::Avx512(_) = self {
            return true;
        }
        false
    }

    /// The next frame of two sections at once: for each, exactly what
    /// [`Kernel::frame`] would have done and returned on its own. Only for a kernel
    /// that [`pairs`](Kernel::pairs); any other decodes the two one after the other.
    #[allow(unsafe_code)]
    fn frame_pair(&self, a: FrameJob<'_>, b: FrameJob<'_>) -> [FrameResult; 2] {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512(k) => {
                let margin = self.margin();
                let start_a = a.ks.before_rows(a.payload, a.out, a.first, a.then_bits, margin);
                let start_b = b.ks.before_rows(b.payload, b.out, b.first, b.then_bits, margin);
                // SAFETY (each `add` and `rows`): the CPU has the kernel's features
                // (`Kernel::new`), and `before_rows` returned each start only with
                // FRAME_MARGIN bytes of that payload from it on.
                /// # Safety
                /// `start` is a start `before_rows` returned for `job`.
                unsafe fn chain(job: FrameJob<'_>, start: usize) -> avx512::Chain<'_> {
                    // SAFETY: `before_rows` left FRAME_MARGIN bytes from `start` on.
                    avx512::Chain { ks: job.ks, bytes: unsafe { job.payload.as_ptr().add(start) }, out: job.out }
                }
                match (start_a, start_b) {
                    (Ok(sa), Ok(sb)) => {
                        let [ca, cb] = unsafe { k.rows([chain(a, sa), chain(b, sb)]) };
                        [FrameResult::of_rows(ca), FrameResult::of_rows(cb)]
                    }
                    (Ok(sa), Err(rb)) => {
                        let [ca] = unsafe { k.rows([chain(a, sa)]) };
                        [FrameResult::of_rows(ca), rb]
                    }
                    (Err(ra), Ok(sb)) => {
                        let [cb] = unsafe { k.rows([chain(b, sb)]) };
                        [ra, FrameResult::of_rows(cb)]
                    }
                    (Err(ra), Err(rb)) => [ra, rb],
                }
            }
            _ => [
                self.frame(a.ks, a.payload, a.out, a.first, a.then_bits),
                self.frame(b.ks, b.payload, b.out, b.first, b.then_bits),
            ],
        }
    }
}

/// One section's next frame, for [`Kernel::frame_pair`].
struct FrameJob<'j> {
    ks: &'j mut KernelState,
    payload: &'j [u8],
    out: &'j mut [u16; FRAME_TOKENS],
    first: bool,
    then_bits: usize,
}

/// The decoding of one section (the whole payload of a format-1 or format-2 stream):
/// its bytes, its checks, and how far the kernel got.
struct SectionRun<'p> {
    /// The section's bytes (the kernel and the scalar code never read past them).
    bytes: &'p [u8],
    /// A coder at the section's first symbol (its initial states read).
    coder: TansDecoder<'p>,
    ks: KernelState,
    /// The section's own checks: the stream's for a stream of one section, else a
    /// section's (its running checksum starts with its first token), whose group
    /// numbers are offset by `first_group`.
    check: GroupCheck,
    first_group: u32,
    /// Frames of the section.
    frames: usize,
    /// Frames the kernel decoded so far.
    done: usize,
    /// The first frame whose tokens are not in the running checksum yet: the kernel
    /// path adds a group's tokens at once when the group ends (one checksum call
    /// over 20 frames is much faster than 20 over one frame each).
    group_start: usize,
    state_log: u8,
}

impl<'p> SectionRun<'p> {
    /// Section `s` of a stream (a format-3 stream's sections each get a header of
    /// their own frames, for their checks).
    fn new(header: &Header, bytes: &'p [u8], coder: TansDecoder<'p>, s: u32, state_log: u8) -> Self {
        let range = header.section_range(s);
        let check = match header.check {
            Check::Sections { group_frames, .. } => GroupCheck::new(&Header {
                frames: range.len() as u32,
                check: Check::Groups { group_frames },
                ..*header
            }),
            _ => GroupCheck::new(header),
        };
        let ks = KernelState::new(coder.states(), coder.consumed_bits());
        let first_group = range.start / header.group_frames();
        SectionRun { bytes, coder, ks, check, first_group, frames: range.len(), done: 0, group_start: 0, state_log }
    }

    /// A section error with the stream's group number.
    fn global(&self, e: Error) -> Error {
        stream_group(e, self.first_group)
    }

    /// The checksum bits to leave room for after the next frame.
    fn then_bits(&self) -> usize {
        if self.check.next_ends_group() {
            GROUP_CHECK_BITS as usize
        } else {
            0
        }
    }

    /// The checks after a frame the kernel decoded into `out` (the section's frames;
    /// the kernel had room for the checksum bits after the frame, so reading them
    /// never runs past the section).
    fn kernel_frame_done(&mut self, out: &[u16]) -> Result<()> {
        let tokens = group_tokens(&self.check, out, self.group_start, self.done)?;
        if self.check.next_ends_group() {
            self.group_start = self.done + 1;
        }
        let (bytes, ks) = (self.bytes, &mut self.ks);
        let checked = self.check.frame_done(tokens, || {
            let mut reader = BitReader::at_bit(bytes, ks.bit);
            let value = reader.read(16) | reader.read(16) << 16;
            ks.bit += GROUP_CHECK_BITS as usize;
            Ok(value)
        });
        self.done += 1;
        checked.map_err(|e| self.global(e))
    }

    /// The kernel on the section's frames from `done` on (`out`: the section's
    /// frames), until a frame has no room, `limit` frames are done, or the section ends.
    fn kernel_frames(&mut self, kernel: &Kernel<'_>, out: &mut [u16], limit: usize) -> Result<()> {
        let end = self.frames.min(limit);
        while self.done < end {
            let frame = frame_mut(out, self.done)?;
            let (first, then_bits) = (self.done == 0, self.then_bits());
            match kernel.frame(&mut self.ks, self.bytes, frame, first, then_bits) {
                FrameResult::Done => self.kernel_frame_done(out)?,
                FrameResult::ModelCorrupt => return Err(Error::ModelCorrupt),
                FrameResult::NoRoom => return self.kernel_tail(kernel, out, end),
            }
        }
        Ok(())
    }

    /// The frames up to `end` that start too close to the section's end for the
    /// kernel to read from the section itself: from a copy of the section's last
    /// bytes followed by zeros, where the scalar reader would invent zeros. A frame
    /// or checksum that reads past the real bytes fails with `Truncated` after it, as
    /// the scalar decoder's does (`TansDecoder::overran`); a symbol that does not
    /// resolve, with `ModelCorrupt` first, as there.
    fn kernel_tail(&mut self, kernel: &Kernel<'_>, out: &mut [u16], end: usize) -> Result<()> {
        let from = (self.ks.bit / 8).min(self.bytes.len());
        let tail = &self.bytes[from..];
        let mut buf = [0u8; TAIL_BYTES];
        // `from` is within KERNEL_ROOM of the end (else the kernel had room).
        buf.get_mut(..tail.len()).ok_or(Error::BadShape)?.copy_from_slice(tail);
        let real_bits = 8 * tail.len();
        self.ks.bit -= 8 * from;
        let result = (|| {
            while self.done < end {
                let frame = frame_mut(out, self.done)?;
                let (first, then_bits) = (self.done == 0, self.then_bits());
                match kernel.frame(&mut self.ks, &buf, frame, first, then_bits) {
                    FrameResult::Done => {}
                    FrameResult::ModelCorrupt => return Err(Error::ModelCorrupt),
                    // The copy holds a frame's room and more after every position.
                    FrameResult::NoRoom => return Err(Error::BadShape),
                }
                if self.ks.bit > real_bits {
                    return Err(Error::Truncated);
                }
                let (ks, tokens) = (&mut self.ks, group_tokens(&self.check, out, self.group_start, self.done)?);
                if self.check.next_ends_group() {
                    self.group_start = self.done + 1;
                }
                let checked = self.check.frame_done(tokens, || {
                    let mut reader = BitReader::at_bit(&buf, ks.bit);
                    let value = reader.read(16) | reader.read(16) << 16;
                    ks.bit += GROUP_CHECK_BITS as usize;
                    if ks.bit > real_bits {
                        return Err(Error::Truncated);
                    }
                    Ok(value)
                });
                self.done += 1;
                checked.map_err(|e| self.global(e))?;
            }
            Ok(())
        })();
        self.ks.bit += 8 * from;
        result
    }

    /// The section's other frames with the scalar code (from the kernel's states, bit
    /// position and model state), then its end checks; adds its frames to `report`.
    fn finish(
        self,
        cm: &ContextModel<'_>,
        tables: &DecodeTables<'_>,
        out: &mut [u16],
        report: &mut SimdReport,
    ) -> Result<()> {
        let SectionRun { bytes, coder, ks, mut check, first_group, frames, done, group_start, state_log } = self;
        // The tokens of the group the kernel left unfinished.
        check.add_tokens(out.get(group_start * FRAME_TOKENS..done * FRAME_TOKENS).ok_or(Error::BadShape)?);
        let (mut coder, mut state, handover_bit) = if done > 0 {
            let coder = TansDecoder::resume(bytes, ks.bit, &ks.states, state_log)?;
            (coder, ks.context_state(done as u32), ks.bit)
        } else {
            let bit = coder.consumed_bits();
            (coder, ContextState::default(), bit)
        };
        report.simd_frames += done as u32;
        report.scalar_frames += (frames - done) as u32;
        report.bytes_left_at_handover = report.bytes_left_at_handover.max(bytes.len().saturating_sub(handover_bit / 8));
        let global = |e: Error| stream_group(e, first_group);
        for f in done..frames {
            let frame = frame_mut(out, f)?;
            state.decode_frame(cm, &mut coder, tables, frame)?;
            if coder.overran() {
                return Err(Error::Truncated);
            }
            check.frame_done(frame, || coder.read_u32()).map_err(global)?;
        }
        coder.finish()?;
        check.finish().map_err(global)
    }
}

/// `e`, an error of a section whose first group is `first_group`, with the stream's
/// group number.
fn stream_group(e: Error, first_group: u32) -> Error {
    match e {
        Error::GroupChecksum { group } => Error::GroupChecksum { group: group + first_group },
        e => e,
    }
}

/// The tokens to add to the running checksum after frame `done` of `out`: the
/// group's (from `group_start` on) if the frame ends a group, else none yet.
fn group_tokens<'o>(check: &GroupCheck, out: &'o [u16], group_start: usize, done: usize) -> Result<&'o [u16]> {
    if check.next_ends_group() {
        out.get(group_start * FRAME_TOKENS..(done + 1) * FRAME_TOKENS).ok_or(Error::BadShape)
    } else {
        Ok(&[])
    }
}

/// Bytes of the copy a section's tail is decoded from: its last bytes (fewer than
/// [`KERNEL_ROOM`], or the kernel would have had room) and a kernel's room of zeros.
/// (0 where there is no kernel: `KERNEL_ROOM` is then `usize::MAX`.)
const TAIL_BYTES: usize = if KERNEL_ROOM < 4096 { 2 * KERNEL_ROOM } else { 0 };

/// Frame `f` of `out` as an array.
fn frame_mut(out: &mut [u16], f: usize) -> Result<&mut [u16; FRAME_TOKENS]> {
    out.get_mut(f * FRAME_TOKENS..(f + 1) * FRAME_TOKENS).and_then(|s| s.try_into().ok()).ok_or(Error::BadShape)
}

/// Two sections decoded at once, frame by frame, while both kernels have room:
/// `Ok` leaves each where the kernel stopped; `Err` if anything failed (the caller
/// then decodes the stream section after section).
struct Pair;

impl Pair {
    fn run(
        kernel: &Kernel<'_>,
        a: &mut SectionRun<'_>,
        out_a: &mut [u16],
        b: &mut SectionRun<'_>,
        out_b: &mut [u16],
        limit: usize,
    ) -> core::result::Result<(), ()> {
        while a.done < a.frames.min(limit) && b.done < b.frames.min(limit) {
            let frame_a = frame_mut(out_a, a.done).map_err(|_| ())?;
            let frame_b = frame_mut(out_b, b.done).map_err(|_| ())?;
            let (first_a, first_b, then_a, then_b) = (a.done == 0, b.done == 0, a.then_bits(), b.then_bits());
            let [ra, rb] = kernel.frame_pair(
                FrameJob { ks: &mut a.ks, payload: a.bytes, out: frame_a, first: first_a, then_bits: then_a },
                FrameJob { ks: &mut b.ks, payload: b.bytes, out: frame_b, first: first_b, then_bits: then_b },
            );
            if ra == FrameResult::ModelCorrupt || rb == FrameResult::ModelCorrupt {
                return Err(());
            }
            if ra == FrameResult::Done {
                a.kernel_frame_done(out_a).map_err(|_| ())?;
            }
            if rb == FrameResult::Done {
                b.kernel_frame_done(out_b).map_err(|_| ())?;
            }
            if ra == FrameResult::NoRoom || rb == FrameResult::NoRoom {
                break;
            }
        }
        Ok(())
    }
}

/// A kernel path (`path` is AVX2, AVX-512 or NEON, and available): the same checks
/// in the same order as `SegmentDecoder` and `decode_into`, the kernel for the frames
/// that have room (a group's last frame needs room for the group checksum after it
/// too), the scalar model for the rest, then the same end checks. At most
/// `max_simd_frames` frames of each section go to the kernel.
pub(super) fn decode_into_kernel(
    path: DecodePath,
    stream: &[u8],
    set: &TableSetRef<'_>,
    tables: DecodeTables<'_>,
    out: &mut [u16],
    max_simd_frames: u32,
) -> Result<(usize, SimdReport)> {
    // (`open` read section 0's initial states; each run reads its section's again.)
    let Opened { header, model, sections, failed, .. } = open(stream, set, &tables)?;
    let payload = &stream[HEADER_LEN..];
    let n = header.frames as usize * FRAME_TOKENS;
    if out.len() < n {
        return Err(Error::BufferTooSmall { needed: n });
    }
    if let Some(e) = failed {
        return Err(e);
    }
    let out = &mut out[..n];
    let Model::Context(cm) = model else {
        return decode_into_scalar(stream, set, tables, out);
    };
    let Some(kernel) = Kernel::new(path, &tables, &cm) else {
        return decode_into_scalar(stream, set, tables, out);
    };
    let limit = max_simd_frames as usize;
    let none = SimdReport { kernel: DecodePath::Scalar, simd_frames: 0, scalar_frames: 0, bytes_left_at_handover: 0 };
    let mut report = none;
    let count = sections.count();
    // Each section's frames in `out`.
    let section_out = |s: u32| {
        let r = header.section_range(s);
        r.start as usize * FRAME_TOKENS..r.end as usize * FRAME_TOKENS
    };
    let open_section = |s: u32| -> Result<SectionRun<'_>> {
        let bytes = section_bytes(payload, &sections, s);
        let coder = TansDecoder::new(bytes, header.n_states as usize, set.state_log())?;
        Ok(SectionRun::new(&header, bytes, coder, s, set.state_log()))
    };

    let together = if count > 1 && kernel.pairs() {
        decode_pairs(&kernel, &cm, &tables, out, count, &section_out, &open_section, limit, &mut report)
    } else {
        Err(None)
    };
    match together {
        Ok(()) => {}
        // An error found where the sequential decoder finds it too.
        Err(Some(e)) => return Err(e),
        // Decode section after section (from scratch, if pairs ran).
        Err(None) => {
            report = none;
            for s in 0..count {
                let range = section_out(s);
                let out = &mut out[range];
                let mut run = open_section(s)?;
                run.kernel_frames(&kernel, out, limit)?;
                run.finish(&cm, &tables, out, &mut report)?;
            }
        }
    }
    if report.simd_frames > 0 {
        report.kernel = kernel.path();
    }
    Ok((n, report))
}

/// The sections two by two, each pair at once ([`Pair`]), then each section's rest
/// in order. `Err(Some(e))`: the error the sequential decoder finds too;
/// `Err(None)`: something failed while a pair ran together (decode again in order).
#[allow(clippy::too_many_arguments)]
fn decode_pairs<'p>(
    kernel: &Kernel<'_>,
    cm: &ContextModel<'_>,
    tables: &DecodeTables<'_>,
    out: &mut [u16],
    count: u32,
    section_out: &dyn Fn(u32) -> core::ops::Range<usize>,
    open_section: &dyn Fn(u32) -> Result<SectionRun<'p>>,
    limit: usize,
    report: &mut SimdReport,
) -> core::result::Result<(), Option<Error>> {
    for first in (0..count).step_by(2) {
        let Ok(mut a) = open_section(first) else { return Err(None) };
        let split = section_out(first).end;
        let (head, tail) = out.split_at_mut(split);
        let out_a = &mut head[section_out(first)];
        if first + 1 == count {
            a.kernel_frames(kernel, out_a, limit).map_err(Some)?;
            a.finish(cm, tables, out_a, report).map_err(Some)?;
            continue;
        }
        let Ok(mut b) = open_section(first + 1) else { return Err(None) };
        let range_b = section_out(first + 1);
        let out_b = &mut tail[range_b.start - split..range_b.end - split];
        Pair::run(kernel, &mut a, out_a, &mut b, out_b, limit).map_err(|()| None)?;
        a.kernel_frames(kernel, out_a, limit).map_err(Some)?;
        a.finish(cm, tables, out_a, report).map_err(Some)?;
        b.kernel_frames(kernel, out_b, limit).map_err(Some)?;
        b.finish(cm, tables, out_b, report).map_err(Some)?;
    }
    Ok(())
}

//! On-device check of the hand-written frame loop (feature `kernel-check`;
//! ARMv7E-M on the mps2-an386, ARMv6-M on the microbit): every embedded
//! segment, intact and damaged in many ways, is decoded twice, by the kernel
//! and by the portable loop, and every frame's tokens and every result (frame
//! by frame, then `finish`) must be the same.
//!
//! Damage: single bit flips spread over the payload, bursts of garbage, and
//! truncations with a header re-made for the shorter payload. The damaged copy
//! lives in a static RAM buffer (this build only; the decoder itself still uses
//! no heap and only its stack): 192 KiB on the mps2-an386 (whole segments),
//! 4 KiB on the microbit (16 KiB of RAM: `qemu-test.sh` gives it the first
//! frames of each segment).

use vqtans::container::{Header, FRAME_TOKENS, HEADER_LEN};
use vqtans::segment::SegmentDecoder;
use vqtans::table_set::TableSetRef;
use vqtans::tans::decode_table::DecodeTables;

use crate::checks::{self, Broken};
use crate::segments::{image_words, Segment};

/// Largest stream the check can copy and damage.
#[cfg(armv7em)]
pub const MAX_STREAM: usize = 192 * 1024;
/// Largest stream the check can copy and damage.
#[cfg(armv6m)]
pub const MAX_STREAM: usize = 4 * 1024;
/// Bit flips per segment, spread evenly over the payload.
const FLIPS: usize = 120;
/// Garbage bursts per segment.
const BURSTS: usize = 24;
/// Truncations per segment.
const CUTS: usize = 12;

/// Why the check failed.
#[derive(defmt::Format)]
pub enum Failure {
    /// The segment's tables did not load or verify.
    Tables(#[defmt(Display2Format)] vqtans::Error),
    /// The stream does not fit the buffer or has no valid header.
    Stream,
    /// The two loops disagreed.
    Mismatch { variant: usize, frame: u32 },
    /// A side did not use the loop it was meant to (`checks::frame_loop`).
    Check { variant: usize, broken: Broken },
}

/// How the compared streams ended (the same way on both loops).
#[derive(Default, defmt::Format)]
pub struct Outcomes {
    /// Streams compared.
    pub streams: usize,
    /// Decoded and verified.
    pub ok: usize,
    /// Failed with `ModelCorrupt`.
    pub model_corrupt: usize,
    /// Failed with `Truncated`.
    pub truncated: usize,
    /// Failed at `finish` (payload end, coder states, or a format-1 checksum).
    pub at_finish: usize,
    /// Failed with `GroupChecksum` (a group's tokens did not match its checksum).
    pub group_checksum: usize,
    /// Failed with `PayloadCorrupt` before the last frame (container format 3:
    /// a section's end checks, or a damaged section table).
    pub payload_corrupt: usize,
    /// Failed otherwise (a header error, or another error in a frame).
    pub other: usize,
}

/// Runs the check on `seg`.
pub fn run(seg: &Segment, buffer: &mut [u8; MAX_STREAM]) -> Result<Outcomes, Failure> {
    let set = TableSetRef::from_bytes(seg.tables).map_err(Failure::Tables)?;
    let words = image_words(seg.image).ok_or(Failure::Tables(vqtans::Error::CompiledTablesMismatch))?;
    let tables = set.verify_compiled(words).map_err(Failure::Tables)?;
    let stream = seg.stream;
    if stream.len() > MAX_STREAM {
        return Err(Failure::Stream);
    }
    let (header, payload) = Header::parse(stream).map_err(|_| Failure::Stream)?;
    let payload_len = payload.len();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut random = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut outcomes = Outcomes::default();
    for variant in 0..1 + FLIPS + BURSTS + CUTS {
        let buf = &mut buffer[..stream.len()];
        buf.copy_from_slice(stream);
        let mut len = stream.len();
        if variant == 0 {
            // Intact.
        } else if variant <= FLIPS {
            let at = HEADER_LEN + (variant - 1) * payload_len / FLIPS;
            buf[at] ^= 1 << (variant % 8);
        } else if variant <= FLIPS + BURSTS {
            let r = random();
            let at = HEADER_LEN + (r as usize % payload_len);
            for (j, b) in buf[at..].iter_mut().take(1 + (r >> 40) as usize % 16).enumerate() {
                *b = (r >> (j % 8 * 8)) as u8;
            }
        } else {
            let cut = (variant - FLIPS - BURSTS) * payload_len / (CUTS + 1);
            len = HEADER_LEN + cut;
            let mut h = header;
            h.payload_len = cut as u32;
            buf[..HEADER_LEN].copy_from_slice(&h.to_bytes());
        }
        let end = compare(&buf[..len], &set, tables).map_err(|e| match e {
            Differ::Frame(frame) => Failure::Mismatch { variant, frame },
            Differ::Loop(broken) => Failure::Check { variant, broken },
        })?;
        outcomes.streams += 1;
        match end {
            End::Ok => outcomes.ok += 1,
            End::Frame(vqtans::Error::ModelCorrupt) => outcomes.model_corrupt += 1,
            End::Frame(vqtans::Error::Truncated) => outcomes.truncated += 1,
            End::Frame(vqtans::Error::GroupChecksum { .. }) => outcomes.group_checksum += 1,
            End::Frame(vqtans::Error::PayloadCorrupt) => outcomes.payload_corrupt += 1,
            End::Finish => outcomes.at_finish += 1,
            End::Frame(_) => outcomes.other += 1,
        }
    }
    Ok(outcomes)
}

/// How a stream ended on both loops.
enum End {
    /// Decoded and verified.
    Ok,
    /// Failed before `finish`.
    Frame(vqtans::Error),
    /// Failed at `finish`.
    Finish,
}

/// Why [`compare`] failed.
enum Differ {
    /// The loops disagreed at this frame (or `finish`, as frame = frame count).
    Frame(u32),
    /// A side did not run the loop it was meant to.
    Loop(Broken),
}

/// Decodes `stream` with both loops side by side; fails at the first frame
/// (or `finish`) where they differ, or if the kernel side did not decode every
/// frame >= 1 it was given with the hand-written loop or the portable side
/// used it at all (else the check would compare a loop with itself).
fn compare(stream: &[u8], set: &TableSetRef<'_>, tables: DecodeTables<'_>) -> Result<End, Differ> {
    // One decoder at a time, each moved out of its `Result` once: two decoders
    // are 3.5 KiB of the micro:bit's 16 KiB, so no copies of them.
    let mut kernel = match SegmentDecoder::new(stream, set, tables) {
        Ok(k) => k,
        Err(a) => {
            return match SegmentDecoder::new(stream, set, tables) {
                Err(b) if a == b => Ok(End::Frame(a)),
                _ => Err(Differ::Frame(0)),
            }
        }
    };
    let Ok(mut portable) = SegmentDecoder::new(stream, set, tables) else { return Err(Differ::Frame(0)) };
    portable.use_portable_loop();
    let mut a = [0u16; FRAME_TOKENS];
    let mut b = [0u16; FRAME_TOKENS];
    let frames = kernel.header().frames;
    let mut end = None;
    let mut attempted = 0;
    for frame in 0..frames {
        let ra = kernel.next_frame(&mut a);
        let rb = portable.next_frame(&mut b);
        attempted += 1;
        // A frame that fails leaves its buffer unspecified.
        if ra != rb || (ra.is_ok() && a != b) {
            return Err(Differ::Frame(frame));
        }
        if let Err(e) = ra {
            end = Some(End::Frame(e));
            break;
        }
    }
    let raw = kernel.header().section_starts_in(attempted);
    checks::frame_loop(kernel.kernel_frames(), attempted, raw, true).map_err(Differ::Loop)?;
    checks::frame_loop(portable.kernel_frames(), attempted, raw, false).map_err(Differ::Loop)?;
    if let Some(end) = end {
        return Ok(end);
    }
    match (kernel.finish(), portable.finish()) {
        (Ok(()), Ok(())) => Ok(End::Ok),
        (Err(a), Err(b)) if a == b => Ok(End::Finish),
        _ => Err(Differ::Frame(frames)),
    }
}

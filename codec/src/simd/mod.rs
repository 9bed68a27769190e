//! Host-only SIMD decoding of context-model streams (x86-64 AVX-512 and AVX2,
//! aarch64 NEON), chosen at run time: AVX-512 where the CPU has F, BW, VL and VBMI,
//! else AVX2 (the AVX2 kernel stays selectable on every such CPU, for comparison).
//!
//! The context model decodes a frame row by row, and nothing in a row depends on
//! another column of the same row: the 16 class symbols of a row (16 interleaved
//! states, 16 contexts) decode in parallel, the bit groups they read follow from a
//! prefix sum of their bit counts, and so do the row's raw bits. The AVX2 kernel
//! (`avx2.rs`) does a whole row at once: gathers for the index words and the table
//! entries, per-lane variable shifts, a prefix sum across the 16 lanes, the row's
//! bits taken from 32-byte windows of the payload with byte shuffles, a masked
//! gather from the successor lists, and the own lists updated as 16-bit planes. It
//! takes every context-model table set: version 2 and 3 sections (a context map: one
//! more gather per 8 columns; 10-bit lists), 32-bit and 16-bit image entries. The
//! AVX-512 kernel (`avx512.rs`) does the same row in one register of 16 lanes with
//! about half the instructions: one gather, one 64-byte bit window read with
//! `vpermb`, the per-class arithmetic as register table lookups, mask registers for
//! every select. The NEON kernel (`neon.rs`, the `wide` crate's lanes plus `core::arch::aarch64`) does
//! the same work with what NEON has: lane loads where AVX2 gathers, table lookups
//! (`vqtbl`) for the context map and for the row's bits from one 64-byte window; its
//! module doc gives the design reasoning and the instruction and load counts. Both
//! share the table-set checks, the frame-to-frame state and the hand-over
//! (`state.rs`).
//!
//! The result is bit-identical to the scalar reference ([`crate::segment::decode`]),
//! errors included (`codec/tests/simd_equivalence.rs`, `codec/tests/neon_differential.rs`).
//! A kernel only reads a frame from the payload when it has room for the largest
//! possible frame after the current bit position, so it never reads past it; the
//! last frames of each section it decodes from a copy of the section's last bytes
//! followed by zeros (what the scalar reader invents past the end), checking after
//! each frame whether it read past the real bytes (`driver.rs`). Order-0 streams,
//! table sets a kernel declines and CPUs without the kernel's instructions go to the
//! scalar code, which can also take over the states, the bit position and the model
//! state exactly at any frame (the hand-over tests).
//!
//! [`decode_into_simd_report`] tells which kernel decoded how many frames; the tests
//! check with it that the kernels decode every frame.
//!
//! Where the cycles go, stage by stage, is measured in `BUDGET.md` (`cargo run
//! --release -p vqtans-benches --bin stage_budget`); the speeds of the paths against
//! one another and against zstd come from `cargo run --release -p vqtans-benches
//! --bin compare` (interleaved rounds; the README's speed table). The NEON path's
//! speed is unmeasured (the project's aarch64 tests run under QEMU, which cannot time
//! it); the same `compare` command prints NEON/scalar and NEON/zstd on an aarch64
//! machine.

mod driver;
mod state;

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx512;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[doc(hidden)]
pub mod budget;
#[cfg(target_arch = "aarch64")]
#[allow(unsafe_code)]
mod neon;

use crate::container::{Header, FRAME_TOKENS};
use crate::segment::decode_into;
use crate::table_set::TableSetRef;
use crate::tans::decode_table::DecodeTables;
use crate::Result;
use alloc::vec::Vec;
use driver::decode_into_kernel;

/// Which implementation decodes a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodePath {
    /// The portable scalar reference ([`crate::segment::decode_into`]).
    Scalar,
    /// The AVX2 kernel (x86-64 hosts whose CPU has AVX2), scalar for the stream tail.
    Avx2,
    /// The AVX-512 kernel (x86-64 hosts whose CPU has AVX-512 F, BW, VL and VBMI),
    /// scalar for the stream tail. A table set whose raw bit counts the kernel does
    /// not take (none a trainer makes) is decoded by the AVX2 kernel instead.
    Avx512,
    /// The NEON kernel (aarch64 hosts), scalar for the stream tail.
    Neon,
}

impl DecodePath {
    /// The fastest path this CPU supports.
    pub fn best() -> Self {
        if avx512_available() {
            DecodePath::Avx512
        } else if avx2_available() {
            DecodePath::Avx2
        } else if neon_available() {
            DecodePath::Neon
        } else {
            DecodePath::Scalar
        }
    }

    /// True if this CPU can run the path (the scalar one runs everywhere).
    pub fn available(self) -> bool {
        match self {
            DecodePath::Scalar => true,
            DecodePath::Avx2 => avx2_available(),
            DecodePath::Avx512 => avx512_available(),
            DecodePath::Neon => neon_available(),
        }
    }
}

/// The SIMD kernels this CPU can run, slowest first (the last is
/// [`DecodePath::best`]); empty where only the scalar code runs. The tests and the
/// fuzz target compare each of them with the scalar reference.
pub fn kernel_paths() -> Vec<DecodePath> {
    [DecodePath::Avx2, DecodePath::Avx512, DecodePath::Neon].into_iter().filter(|p| p.available()).collect()
}

/// True if this CPU can run the AVX2 decoder.
pub fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// True if this CPU can run the AVX-512 decoder (AVX-512 F, BW, VL and VBMI, and
/// AVX2).
pub fn avx512_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512vbmi")
            && std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// True if this CPU can run the NEON decoder (every aarch64 CPU that runs Linux
/// has NEON; it is detected at run time all the same).
pub fn neon_available() -> bool {
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("neon")
    }
    #[cfg(not(target_arch = "aarch64"))]
    {
        false
    }
}

/// Decodes a whole stream into a new vector with the fastest path this CPU has
/// (AVX2 or NEON if detected, else scalar). Same result as [`crate::segment::decode`], errors
/// included.
pub fn decode_simd(stream: &[u8], set: &TableSetRef<'_>, tables: DecodeTables<'_>) -> Result<Vec<u16>> {
    let (header, _) = Header::parse(stream)?;
    let mut out = alloc::vec![0u16; header.frames as usize * FRAME_TOKENS];
    decode_into_simd(stream, set, tables, &mut out)?;
    Ok(out)
}

/// Decodes a whole stream into `out` with the fastest path this CPU has. Same result
/// as [`crate::segment::decode_into`], errors included.
pub fn decode_into_simd(
    stream: &[u8],
    set: &TableSetRef<'_>,
    tables: DecodeTables<'_>,
    out: &mut [u16],
) -> Result<usize> {
    decode_into_simd_report(stream, set, tables, out).map(|(n, _)| n)
}

/// [`decode_into_simd`], also telling which implementation decoded which frames:
/// the tests check with it that the AVX2 or NEON kernel really decoded a stream.
pub fn decode_into_simd_report(
    stream: &[u8],
    set: &TableSetRef<'_>,
    tables: DecodeTables<'_>,
    out: &mut [u16],
) -> Result<(usize, SimdReport)> {
    decode_into_with_report(DecodePath::best(), stream, set, tables, out)
}

/// Decodes a whole stream into `out` with `path` (AVX2 and NEON fall back to scalar
/// when the CPU lacks them). Same result as [`crate::segment::decode_into`], errors included.
pub fn decode_into_with(
    path: DecodePath,
    stream: &[u8],
    set: &TableSetRef<'_>,
    tables: DecodeTables<'_>,
    out: &mut [u16],
) -> Result<usize> {
    decode_into_with_report(path, stream, set, tables, out).map(|(n, _)| n)
}

/// [`decode_into_with`], with the [`SimdReport`] of a stream that decoded.
pub fn decode_into_with_report(
    path: DecodePath,
    stream: &[u8],
    set: &TableSetRef<'_>,
    tables: DecodeTables<'_>,
    out: &mut [u16],
) -> Result<(usize, SimdReport)> {
    match path {
        DecodePath::Avx2 | DecodePath::Avx512 | DecodePath::Neon if path.available() => {
            decode_into_kernel(path, stream, set, tables, out, u32::MAX)
        }
        _ => decode_into_scalar(stream, set, tables, out),
    }
}

/// Which implementation decoded the frames of a stream: the SIMD kernel (AVX2,
/// AVX-512 or NEON) a leading run of each section's frames (all of them unless it
/// was told to stop), the scalar code the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimdReport {
    /// The kernel that decoded `simd_frames` ([`DecodePath::Scalar`] if none ran:
    /// a path the CPU lacks, a table set the kernels do not take, an order-0 stream).
    pub kernel: DecodePath,
    /// Frames the SIMD kernel decoded (frames `0..simd_frames`).
    pub simd_frames: u32,
    /// Frames the scalar code decoded (the others).
    pub scalar_frames: u32,
    /// The most bytes of a section left after the scalar code's first bit in it
    /// (after the kernel's last frame, or after the coder's initial states if the
    /// kernel decoded nothing there): below [`KERNEL_ROOM`] when the kernel stopped
    /// for room (only with a frame limit: it decodes a section's tail from a padded
    /// copy); larger if it declined for another reason (order-0 tables, tables it
    /// cannot use, a CPU without its instructions).
    pub bytes_left_at_handover: usize,
}

/// Payload bytes the AVX2 or AVX-512 kernel needs at most from a frame's first byte
/// on to decode that frame (the most a frame can read, a margin, and a group checksum
/// after the frame; the AVX-512 kernel's 64-byte bit window makes its margin the
/// larger): the frames that start later are a section's tail, which the kernel
/// decodes from a zero-padded copy.
#[cfg(target_arch = "x86_64")]
pub const KERNEL_ROOM: usize =
    max(avx2::FRAME_MARGIN, avx512::FRAME_MARGIN) + crate::container::GROUP_CHECK_BITS as usize / 8;

/// The larger of two sizes, in a constant.
#[cfg(target_arch = "x86_64")]
const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}
/// Payload bytes the NEON kernel needs at most from a frame's first byte on to
/// decode that frame (as for AVX2; its 64-byte bit window makes it 32 bytes more):
/// the frames that start later are a section's tail, which the kernel decodes from a
/// zero-padded copy.
#[cfg(target_arch = "aarch64")]
pub const KERNEL_ROOM: usize = neon::FRAME_MARGIN + crate::container::GROUP_CHECK_BITS as usize / 8;
/// No SIMD kernel on this target: the scalar code decodes everything.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub const KERNEL_ROOM: usize = usize::MAX;

/// The scalar reference, with its report (every frame scalar).
pub(super) fn decode_into_scalar(
    stream: &[u8],
    set: &TableSetRef<'_>,
    tables: DecodeTables<'_>,
    out: &mut [u16],
) -> Result<(usize, SimdReport)> {
    let n = decode_into(stream, set, tables, out)?;
    let (header, payload) = Header::parse(stream)?;
    let report = SimdReport {
        kernel: DecodePath::Scalar,
        simd_frames: 0,
        scalar_frames: header.frames,
        bytes_left_at_handover: payload.len(),
    };
    Ok((n, report))
}

/// Like [`decode_into_simd`], but hands over to the scalar decoder after at most
/// `simd_frames` frames: for tests of the hand-over at every frame.
#[doc(hidden)]
pub fn decode_into_simd_frames(
    stream: &[u8],
    set: &TableSetRef<'_>,
    tables: DecodeTables<'_>,
    out: &mut [u16],
    simd_frames: u32,
) -> Result<usize> {
    decode_into_path_frames(DecodePath::best(), stream, set, tables, out, simd_frames)
}

/// Like [`decode_into_with`], but hands over to the scalar decoder after at most
/// `simd_frames` frames: for tests of each kernel's hand-over at every frame.
#[doc(hidden)]
pub fn decode_into_path_frames(
    path: DecodePath,
    stream: &[u8],
    set: &TableSetRef<'_>,
    tables: DecodeTables<'_>,
    out: &mut [u16],
    simd_frames: u32,
) -> Result<usize> {
    match path {
        DecodePath::Avx2 | DecodePath::Avx512 | DecodePath::Neon if path.available() => {
            decode_into_kernel(path, stream, set, tables, out, simd_frames).map(|(n, _)| n)
        }
        _ => decode_into(stream, set, tables, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_token_crc_is_crc32_iso_hdlc() {
        let tokens: Vec<u16> = (0..10_000u32).map(|i| (i * 7919 % 1024) as u16).collect();
        let bytes: Vec<u8> = tokens.iter().flat_map(|t| t.to_le_bytes()).collect();
        let reference = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
        assert_eq!(crate::container::tokens_crc(&tokens), reference.checksum(&bytes));
        let mut split = crate::container::TokenChecksum::new();
        split.update(&tokens[..333]);
        split.update(&tokens[333..]);
        assert_eq!(split.finalize(), reference.checksum(&bytes));
        assert_eq!(crate::container::tokens_crc(&[]), reference.checksum(&[]));
    }
}

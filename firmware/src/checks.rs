//! What the device itself holds the decoder to, beyond correct tokens: the
//! hand-written frame loop (ARMv7E-M on the mps2-an386, ARMv6-M on the
//! microbit) really decodes where it applies (and the
//! portable loop really is the portable one when asked for), and the decode
//! stays within its instruction budget (and faster than the
//! portable loop). A broken check fails the run (`exit::failure`), so
//! `qemu-test.sh` goes red.
//!
//! The bounds are per board, today's figures and a small margin: a change
//! that makes the decoder faster lowers them in the same commit.

use vqtans::model::context::{ContextModel, ListCoding};
use vqtans::table_set::TableSetRef;
use vqtans::tans::decode_table::EntryWidth;

/// Most instructions per token of a whole decode from flash (1200 frames,
/// end-of-payload and group checks), in hundredths. mps2-an386 (Cortex-M4F,
/// hand-written ARMv7E-M frame loop): 56.9 and 54.9 with K = 192, 56.1 and
/// 54.2 with K = 64, well inside the 60-instruction target.
#[cfg(armv7em)]
pub const MAX_INSTRUCTIONS_PER_TOKEN_X100: u64 = 5850;
/// Most instructions per token of a whole decode from flash, in hundredths.
/// microbit (Cortex-M0, hand-written ARMv6-M frame loop; table sets of
/// `build-tables --max-bytes 131072`: K = 96, state log 8, 12 tables, 16-bit
/// entries, 10-bit lists; the first 600 frames: a whole segment does not fit
/// the flash with its table set): 93.45 and 89.85 (the portable loop: 128.02
/// and 123.97), well inside the 120-instruction target.
#[cfg(armv6m)]
pub const MAX_INSTRUCTIONS_PER_TOKEN_X100: u64 = 9550;

/// Most instructions per token of the streaming decode (model, group checks,
/// input buffer, hold-back; UART excluded), in hundredths. mps2-an386: 59.3
/// and 57.1.
#[cfg(armv7em)]
pub const MAX_LINK_INSTRUCTIONS_PER_TOKEN_X100: u64 = 6100;
/// Most instructions per token of the streaming decode, in hundredths.
/// microbit (whole segments, the same table sets and frame loop): 93.69 and
/// 90.20, well inside the 120-instruction target.
#[cfg(armv6m)]
pub const MAX_LINK_INSTRUCTIONS_PER_TOKEN_X100: u64 = 9575;

/// Most instructions per token of the streaming decode where the table set is
/// of a kind the hand-written loop does not decode (the portable loop runs),
/// in hundredths. mps2-an386 with the 64 KiB sets of `build-tables
/// --max-bytes 65536` (16-bit entries; the M4 hardware boards' size): 81.69
/// and 79.07.
#[cfg(armv7em)]
pub const MAX_LINK_PORTABLE_INSTRUCTIONS_PER_TOKEN_X100: u64 = 8400;

/// The streaming decode's bound for a table set that the hand-written frame
/// loop decodes (`kernel`) or not; `None` where none was measured (the
/// microbit: every set that fits its flash is of its loop's kind).
pub fn link_bound(kernel: bool) -> Option<u64> {
    #[cfg(armv7em)]
    let portable = Some(MAX_LINK_PORTABLE_INSTRUCTIONS_PER_TOKEN_X100);
    #[cfg(not(armv7em))]
    let portable = None;
    if kernel {
        Some(MAX_LINK_INSTRUCTIONS_PER_TOKEN_X100)
    } else {
        portable
    }
}

/// The hand-written frame loop of this board's core, as the logs name it.
#[cfg(armv7em)]
pub const KERNEL_NAME: &str = "ARMv7E-M";
/// The hand-written frame loop of this board's core, as the logs name it.
#[cfg(armv6m)]
pub const KERNEL_NAME: &str = "ARMv6-M";

/// True if the codec decodes frames >= 1 of table set `set` with a
/// hand-written frame loop on this board's core, by this firmware's own
/// reading of the codec's documentation: ARMv7E-M (the mps2-an386) for sets
/// of state log 10 with 32-bit entries, `u16` successor lists and one table
/// per context (what `build-tables` makes without a budget); ARMv6-M (the
/// microbit) for sets with 16-bit entries and 10-bit packed lists (what
/// `build-tables --max-bytes` makes for small budgets). Elsewhere the
/// portable loop runs.
pub fn kernel_applies(set: &TableSetRef<'_>) -> bool {
    let Ok(model) = ContextModel::from_table_set(set) else { return false };
    let (width, coding) = (set.entry_width(), model.list_coding());
    if cfg!(armv7em) {
        set.state_log() == 10 && width == EntryWidth::Wide && coding == ListCoding::U16 && model.is_identity_map()
    } else {
        cfg!(armv6m) && width == EntryWidth::Short && coding == ListCoding::Packed10
    }
}

/// A broken promise of the decoder.
#[derive(defmt::Format)]
pub enum Broken {
    /// The hand-written frame loop decoded `kernel_frames` frames where
    /// `expected` (every frame it was asked to decode but each section's
    /// first) should have gone
    /// through it; the portable loop ran instead.
    KernelSkipped { kernel_frames: u32, expected: u32 },
    /// A decoder that should not use the hand-written loop (told to use the
    /// portable one, or on a core or tables it does not apply to) ran it on
    /// `kernel_frames` frames.
    PortableUsedKernel { kernel_frames: u32 },
    /// The decode took more than its bound (`bound_x100`).
    TooManyInstructions { per_token_x100: u64, bound_x100: u64 },
    /// The hand-written loop took more instructions than the portable one.
    KernelSlower { kernel: u64, portable: u64 },
}

/// Checks which frame loop a decoder used: with `kernel` false none of its
/// frames went through the hand-written loop, else every frame of the
/// `attempted` frames it was asked to decode but the `raw` ones (the first
/// frame of each section: raw tokens, `Header::section_starts_in`) did.
pub fn frame_loop(kernel_frames: u32, attempted: u32, raw: u32, kernel: bool) -> Result<(), Broken> {
    let expected = if kernel { attempted.saturating_sub(raw) } else { 0 };
    match (kernel_frames == expected, kernel) {
        (true, _) => Ok(()),
        (false, false) => Err(Broken::PortableUsedKernel { kernel_frames }),
        (false, true) => Err(Broken::KernelSkipped { kernel_frames, expected }),
    }
}

/// Checks a whole decode's instruction count against `bound_x100`
/// instructions per token (in hundredths). The bounds are for release builds
/// (what `qemu-test.sh` and `build-boards.sh` build): a debug build (`cargo
/// run` without `--release`, unoptimised codec) logs the comparison and
/// passes.
pub fn within_bound(instructions: u64, tokens: u64, bound_x100: u64) -> Result<(), Broken> {
    if instructions * 100 > bound_x100 * tokens {
        let per_token_x100 = instructions * 100 / tokens.max(1);
        if cfg!(debug_assertions) {
            defmt::warn!(
                "debug build: {=u64} instructions per token x100, over the release bound {=u64}; \
                 not checked (build with --release to check it)",
                per_token_x100,
                bound_x100
            );
            return Ok(());
        }
        return Err(Broken::TooManyInstructions { per_token_x100, bound_x100 });
    }
    Ok(())
}

/// In a debug build, says that the instruction bound a preceding `ok` line
/// names was reported but not enforced ([`within_bound`]); nothing in a
/// release build.
pub fn note_bound_not_enforced() {
    if cfg!(debug_assertions) {
        defmt::warn!("debug build: the instruction bound above is not enforced (release builds enforce it)");
    }
}

/// Checks that the hand-written loop (`kernel` instructions for a whole
/// decode) beat the portable one (`portable`).
pub fn kernel_faster(kernel: u64, portable: u64) -> Result<(), Broken> {
    if kernel > portable {
        return Err(Broken::KernelSlower { kernel, portable });
    }
    Ok(())
}

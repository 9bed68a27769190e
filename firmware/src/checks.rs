//! What the device itself holds the decoder to, beyond correct tokens: the
//! hand-written ARMv7E-M frame loop really decodes where it applies (and the
//! portable loop really is the portable one when asked for), and the decode
//! stays within its instruction budget (and on the M4 faster than the
//! portable loop). A broken check fails the run (`exit::failure`), so
//! `qemu-test.sh` goes red.
//!
//! The bounds are per board, today's figures and a small margin: a change
//! that makes the decoder faster lowers them in the same commit.

/// Most instructions per token of a whole decode from flash (1200 frames,
/// end-of-payload and group checks), in hundredths. mps2-an386 (Cortex-M4F,
/// hand-written ARMv7E-M frame loop): 56.9 and 54.9 with K = 192, 56.1 and
/// 54.2 with K = 64, well inside the 60-instruction target.
#[cfg(board = "mps2-an386")]
pub const MAX_INSTRUCTIONS_PER_TOKEN_X100: u64 = 5850;
/// Most instructions per token of a whole decode from flash, in hundredths.
/// microbit (Cortex-M0, portable frame loop; K = 48, state log 6, the first
/// 600 frames: a whole segment does not fit the flash with its table set):
/// 113.5 and 109.5, inside the 120-instruction target.
#[cfg(board = "microbit")]
pub const MAX_INSTRUCTIONS_PER_TOKEN_X100: u64 = 11600;

/// Most instructions per token of the streaming decode (model, group checks,
/// input buffer, hold-back; UART excluded), in hundredths. mps2-an386: 59.3
/// and 57.1.
#[cfg(board = "mps2-an386")]
pub const MAX_LINK_INSTRUCTIONS_PER_TOKEN_X100: u64 = 6100;
/// Most instructions per token of the streaming decode, in hundredths.
/// microbit (whole segments, K = 48, state log 6): 114.2 and 110.5, inside
/// the 120-instruction target.
#[cfg(board = "microbit")]
pub const MAX_LINK_INSTRUCTIONS_PER_TOKEN_X100: u64 = 11650;

/// True if the codec decodes frames >= 1 of tables of state log `state_log`
/// with a hand-written frame loop on this board's core: ARMv7E-M (the
/// mps2-an386) with state log 10. Elsewhere the portable loop runs.
pub fn kernel_applies(state_log: u8) -> bool {
    cfg!(board = "mps2-an386") && state_log == 10
}

/// A broken promise of the decoder.
#[derive(defmt::Format)]
pub enum Broken {
    /// The hand-written frame loop decoded `kernel_frames` frames where
    /// `expected` (every frame >= 1 it was asked to decode) should have gone
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
/// frames went through the hand-written loop, else every frame >= 1 of the
/// `attempted` frames it was asked to decode (frame 0 is raw tokens) did.
pub fn frame_loop(kernel_frames: u32, attempted: u32, kernel: bool) -> Result<(), Broken> {
    let expected = if kernel { attempted.saturating_sub(1) } else { 0 };
    match (kernel_frames == expected, kernel) {
        (true, _) => Ok(()),
        (false, false) => Err(Broken::PortableUsedKernel { kernel_frames }),
        (false, true) => Err(Broken::KernelSkipped { kernel_frames, expected }),
    }
}

/// Checks a whole decode's instruction count against `bound_x100`
/// instructions per token (in hundredths).
pub fn within_bound(instructions: u64, tokens: u64, bound_x100: u64) -> Result<(), Broken> {
    if instructions * 100 > bound_x100 * tokens {
        return Err(Broken::TooManyInstructions { per_token_x100: instructions * 100 / tokens.max(1), bound_x100 });
    }
    Ok(())
}

/// Checks that the hand-written loop (`kernel` instructions for a whole
/// decode) beat the portable one (`portable`).
pub fn kernel_faster(kernel: u64, portable: u64) -> Result<(), Broken> {
    if kernel > portable {
        return Err(Broken::KernelSlower { kernel, portable });
    }
    Ok(())
}

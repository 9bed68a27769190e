//! What the device itself holds the decoder to, beyond correct tokens: the
//! hand-written ARMv7E-M frame loop really decodes (and the portable loop
//! really is the portable one when asked for), and the decode stays within
//! its instruction budget and faster than the portable loop. A broken check
//! fails the run (`exit::failure`), so `qemu-test.sh` goes red.

/// Most instructions per token of a whole decode (1200 frames, end-of-payload
/// and CRC checks), in hundredths: today's figures (56.9 and 54.9 with
/// K = 192, 56.1 and 54.2 with K = 64) and a small margin, well inside the
/// 60-instruction target. A change that makes the decoder faster lowers it
/// in the same commit.
pub const MAX_INSTRUCTIONS_PER_TOKEN_X100: u64 = 5850;

/// A broken promise of the decoder.
#[derive(defmt::Format)]
pub enum Broken {
    /// The hand-written frame loop decoded `kernel_frames` frames where
    /// `expected` (every frame >= 1 it was asked to decode) should have gone
    /// through it; the portable loop ran instead.
    KernelSkipped { kernel_frames: u32, expected: u32 },
    /// A decoder told to use the portable loop ran the hand-written one on
    /// `kernel_frames` frames.
    PortableUsedKernel { kernel_frames: u32 },
    /// The decode took more than [`MAX_INSTRUCTIONS_PER_TOKEN_X100`].
    TooManyInstructions { per_token_x100: u64 },
    /// The hand-written loop took more instructions than the portable one.
    KernelSlower { kernel: u64, portable: u64 },
}

/// Checks which frame loop a decoder used: with `portable` none of its
/// frames went through the hand-written loop, else every frame >= 1 of the
/// `attempted` frames it was asked to decode (frame 0 is raw tokens) did.
pub fn frame_loop(kernel_frames: u32, attempted: u32, portable: bool) -> Result<(), Broken> {
    let expected = if portable { 0 } else { attempted.saturating_sub(1) };
    match (kernel_frames == expected, portable) {
        (true, _) => Ok(()),
        (false, true) => Err(Broken::PortableUsedKernel { kernel_frames }),
        (false, false) => Err(Broken::KernelSkipped { kernel_frames, expected }),
    }
}

/// Checks a whole decode's instruction count (`kernel`, with the hand-written
/// loop) against the budget and against the same decode with the portable loop.
pub fn speed(kernel: u64, portable: u64, tokens: u64) -> Result<(), Broken> {
    if kernel * 100 > MAX_INSTRUCTIONS_PER_TOKEN_X100 * tokens {
        return Err(Broken::TooManyInstructions { per_token_x100: kernel * 100 / tokens.max(1) });
    }
    if kernel > portable {
        return Err(Broken::KernelSlower { kernel, portable });
    }
    Ok(())
}

//! Measuring time: the [`Ticks`] trait every board's clock implements
//! (`boards::Clock`: SysTick on the mps2-an386, TIMER0 on the microbit-v1,
//! the DWT cycle counter on the M4 boards), a busy-wait delay on top of it
//! ([`TickDelay`], `embedded_hal::delay::DelayNs`), and the calibration that
//! turns ticks into guest instructions under QEMU.
//!
//! Under `qemu-system-arm -icount shift=0` one guest instruction takes
//! exactly 1 ns of virtual time, so a clock of `f` Hz ticks every `1e9 / f`
//! guest instructions (40 at 25 MHz, 62.5 at 16 MHz); [`calibrate`] measures
//! this ratio at run time with a loop of known instruction count. On
//! hardware the same loop gives instructions per cycle of that loop only;
//! the firmware reports cycles there (`Board::counts_instructions`).

use core::arch::asm;

pub use crate::boards::Clock;
use crate::boards::BOARD;

/// A monotonic 64-bit tick counter.
pub trait Ticks {
    /// Ticks elapsed since the clock started.
    fn now(&self) -> u64;

    /// Runs `f` and returns its result with the ticks it took.
    fn measure<R>(&self, f: impl FnOnce() -> R) -> (R, u64) {
        let start = self.now();
        let result = f();
        let end = self.now();
        (result, end - start)
    }

    /// Reads the clock back to back until `ticks` have passed and returns the
    /// number of reads and the largest step between two of them, or `None` if
    /// it ever went backwards. Across a wrap of the underlying counter the
    /// largest step must stay a few ticks.
    #[allow(dead_code)] // the systick-wrap case (mps2-an386)
    fn check_monotonic(&self, ticks: u64) -> Option<(u64, u64)> {
        let start = self.now();
        let (mut last, mut reads, mut largest) = (start, 0u64, 0u64);
        while last - start < ticks {
            let now = self.now();
            if now < last {
                return None;
            }
            largest = largest.max(now - last);
            last = now;
            reads += 1;
        }
        Some((reads, largest))
    }
}

/// A busy-wait [`embedded_hal::delay::DelayNs`] on top of a clock.
pub struct TickDelay<'a, C: Ticks> {
    clock: &'a C,
}

impl<'a, C: Ticks> TickDelay<'a, C> {
    /// Creates a delay provider that reads `clock`.
    pub fn new(clock: &'a C) -> Self {
        TickDelay { clock }
    }
}

impl<C: Ticks> embedded_hal::delay::DelayNs for TickDelay<'_, C> {
    fn delay_ns(&mut self, ns: u32) {
        let ticks = (u64::from(ns) * u64::from(BOARD.tick_hz)).div_ceil(1_000_000_000);
        let start = self.clock.now();
        while self.clock.now() - start < ticks {}
    }
}

/// Result of [`calibrate`]: instructions executed per clock tick.
#[derive(Clone, Copy)]
pub struct Calibration {
    /// Instructions in the timed loop (difference of two runs).
    pub instructions: u64,
    /// Ticks those instructions took.
    pub ticks: u64,
}

impl Calibration {
    /// Instructions per tick, times 1000.
    pub fn milli_per_tick(&self) -> u64 {
        self.instructions * 1000 / self.ticks.max(1)
    }

    /// Converts a tick count into an instruction count with this ratio.
    pub fn instructions_for(&self, ticks: u64) -> u64 {
        ticks * self.instructions / self.ticks.max(1)
    }
}

/// Runs exactly `iterations` rounds of a two-instruction loop (`subs`,
/// `bne`), i.e. `2 * iterations` instructions plus a constant overhead.
#[inline(never)]
pub fn spin(iterations: u32) {
    let iterations = iterations.max(1);
    // SAFETY: register-only loop; touches no memory and no stack.
    unsafe {
        asm!(
            "2:",
            "subs {n}, {n}, #1",
            "bne 2b",
            n = inout(reg) iterations => _,
            options(nomem, nostack),
        );
    }
}

/// Loop length of the short calibration run; [`calibrate`] subtracts it from
/// the long run to cancel the call and measurement overhead.
const SHORT: u32 = 1_000;

/// Loop length that makes [`calibrate`] span more than one SysTick period
/// (2^24 ticks), exercising the wrap counting: 720 M instructions.
pub const WRAPPING_LOOP: u32 = 360_001_000;

/// Default calibration loop: 2 M instructions, 50 000 ticks at 40/tick
/// (32 000 at 62.5/tick).
pub const QUICK_LOOP: u32 = 1_001_000;

/// Measures instructions per clock tick with loops of known length
/// (`long` iterations versus a short run).
///
/// Under `-icount shift=0` the expected result is 40.000 at 25 MHz (the
/// mps2-an386) and 62.500 at 16 MHz (the microbit).
///
/// Both runs start right after a tick begins, so the result does not depend
/// on where in a tick the code before it happened to end.
pub fn calibrate(clock: &impl Ticks, long: u32) -> Calibration {
    let long = long.max(SHORT + 1);
    let next_tick = || {
        let now = clock.now();
        while clock.now() == now {}
    };
    next_tick();
    let ((), short_ticks) = clock.measure(|| spin(SHORT));
    next_tick();
    let ((), long_ticks) = clock.measure(|| spin(long));
    Calibration { instructions: 2 * u64::from(long - SHORT), ticks: long_ticks - short_ticks }
}

//! A statistical profiler: SysTick samples the interrupted program counter
//! (see `clock::systick::Clock::profile`) into a histogram over `.text`. The
//! mps2-an386 only: the other boards have no SysTick in use (the nRF51 has
//! none at all).
//!
//! Test instrumentation, not part of the decoder: the histogram is `.bss`
//! (32 KiB), which the firmware's static RAM figure includes and the
//! decoder's RAM figure does not; builds that never profile leave it out. [`dump`] logs every non-empty bin as
//! `prof <address> <samples>`; `profile.py` maps the addresses to source
//! lines with `llvm-addr2line`.

use core::ptr::addr_of;
use core::sync::atomic::{AtomicU16, AtomicU32, Ordering};

/// Histogram bins.
const BINS: usize = 16384;

extern "C" {
    /// Start and end of `.text` (cortex-m-rt).
    static __stext: u32;
    static __etext: u32;
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU16 = AtomicU16::new(0);
/// Samples per bin; bin `i` covers `[text_start + i << SHIFT, ...)`.
static HIST: [AtomicU16; BINS] = [ZERO; BINS];
/// log2 of the bin width in bytes (set by [`reset`]).
static SHIFT: AtomicU32 = AtomicU32::new(1);
/// Samples outside `.text` (e.g. in RAM) or lost to a saturated bin.
static OTHER: AtomicU32 = AtomicU32::new(0);
/// All samples.
static TOTAL: AtomicU32 = AtomicU32::new(0);

fn text() -> (u32, u32) {
    (addr_of!(__stext) as u32, addr_of!(__etext) as u32)
}

/// Clears the histogram and picks the narrowest bin width (at least one
/// 2-byte Thumb instruction) that covers `.text`.
pub fn reset() {
    let (start, end) = text();
    let mut shift = 1;
    while (((end - start) >> shift) as usize) >= BINS {
        shift += 1;
    }
    SHIFT.store(shift, Ordering::Relaxed);
    for bin in &HIST {
        bin.store(0, Ordering::Relaxed);
    }
    OTHER.store(0, Ordering::Relaxed);
    TOTAL.store(0, Ordering::Relaxed);
}

/// Adds one to `counter` (only the SysTick handler writes the counters
/// while profiling, so a load and a store do; ARMv6-M has no atomic add).
fn bump(counter: &AtomicU32) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

/// Records one sample at `pc` (called from the SysTick handler).
pub fn record(pc: u32) {
    bump(&TOTAL);
    let (start, end) = text();
    let pc = pc & !1;
    if pc < start || pc >= end {
        bump(&OTHER);
        return;
    }
    let bin = &HIST[(((pc - start) >> SHIFT.load(Ordering::Relaxed)) as usize) % BINS];
    let n = bin.load(Ordering::Relaxed);
    if n == u16::MAX {
        bump(&OTHER);
    } else {
        bin.store(n + 1, Ordering::Relaxed);
    }
}

/// Logs the histogram: one `prof` line per non-empty bin, then a total line.
pub fn dump(label: &str) {
    let (start, _) = text();
    let shift = SHIFT.load(Ordering::Relaxed);
    for (i, bin) in HIST.iter().enumerate() {
        let n = bin.load(Ordering::Relaxed);
        if n != 0 {
            defmt::info!("prof {=u32:#010x} {=u16}", start + ((i as u32) << shift), n);
        }
    }
    defmt::info!(
        "profile {=str}: {=u32} samples, {=u32} outside .text or saturated, bin {=u32} bytes",
        label,
        TOTAL.load(Ordering::Relaxed),
        OTHER.load(Ordering::Relaxed),
        1u32 << shift
    );
}

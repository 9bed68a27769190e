//! The M4 boards' clock: the DWT cycle counter (`CYCCNT`, 32 bits at the
//! core clock), extended to 64 bits in software. Its ticks are core cycles,
//! so the firmware reports cycles per token on these boards.
//!
//! Wrap rule: `CYCCNT` wraps every 2^32 cycles (67 s at 64 MHz, 23.9 s at
//! 180 MHz); a reading notices a wrap by comparing with the previous one, so
//! the clock must be read at least that often while it is used (every
//! measured interval and every wait of the link reads it far more often).
//! No interrupt is used. QEMU does not model the counter (the mps2-an386
//! uses SysTick).

use core::cell::Cell;

use cortex_m::peripheral::{DCB, DWT};

use crate::measure::Ticks;

/// The DWT cycle counter as a 64-bit tick counter.
pub struct Clock {
    /// The last 32-bit reading and the wraps counted so far.
    last: Cell<(u32, u32)>,
    _dwt: DWT,
}

impl Clock {
    /// Enables tracing (`DEMCR.TRCENA`) and starts the cycle counter from
    /// zero.
    pub fn start(mut dcb: DCB, mut dwt: DWT) -> Self {
        dcb.enable_trace();
        dwt.set_cycle_count(0);
        dwt.enable_cycle_counter();
        Clock { last: Cell::new((0, 0)), _dwt: dwt }
    }
}

impl Ticks for Clock {
    fn now(&self) -> u64 {
        let now = DWT::cycle_count();
        let (last, mut wraps) = self.last.get();
        if now < last {
            wraps += 1;
        }
        self.last.set((now, wraps));
        (u64::from(wraps) << 32) | u64::from(now)
    }
}

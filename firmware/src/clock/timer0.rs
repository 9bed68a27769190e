//! The micro:bit's clock: the nRF51's TIMER0 in timer mode, 32 bits,
//! prescaler 0 (16 MHz, from the HFCLK), free running, read with its
//! `CAPTURE[0]` task and extended to 64 bits in software. The nRF51 has no
//! SysTick (optional on ARMv6-M, absent in the nRF51), so this is what the
//! real chip counts with; QEMU's `microbit` models the same TIMER
//! (`hw/timer/nrf51_timer.c`: the counter follows QEMU's virtual clock, so
//! under `-icount shift=0` one tick is 62.5 guest instructions, the same
//! resolution SysTick gave at 16 MHz).
//!
//! Wrap rule: the 32-bit counter wraps every 2^32 / 16 MHz = 268 s; a
//! reading notices a wrap by comparing with the previous one, so the clock
//! must be read at least once per 268 s while it is used (every measured
//! interval and every wait of the link reads it far more often). No
//! interrupt is used.

use core::cell::Cell;
use core::ptr::{read_volatile, write_volatile};

use crate::measure::Ticks;

/// TIMER0's registers (nRF51 Series Reference Manual, "TIMER").
const BASE: usize = 0x4000_8000;
const TASKS_START: usize = 0x000;
const TASKS_STOP: usize = 0x004;
const TASKS_CLEAR: usize = 0x00C;
const TASKS_CAPTURE0: usize = 0x040;
const INTENCLR: usize = 0x308;
const MODE: usize = 0x504;
const BITMODE: usize = 0x508;
const PRESCALER: usize = 0x510;
const CC0: usize = 0x540;
/// `MODE`: timer (counts the prescaled HFCLK).
const MODE_TIMER: u32 = 0;
/// `BITMODE`: 32 bits.
const BITMODE_32: u32 = 3;

/// TIMER0 as a free-running 64-bit tick counter at 16 MHz.
pub struct Clock {
    /// The last 32-bit reading and the wraps counted so far.
    last: Cell<(u32, u32)>,
}

impl Clock {
    /// Takes TIMER0 (the caller owns it: `boards::init` runs once) and starts
    /// it from zero at 16 MHz, no interrupts.
    pub fn start() -> Self {
        write(TASKS_STOP, 1);
        write(INTENCLR, u32::MAX);
        write(MODE, MODE_TIMER);
        write(BITMODE, BITMODE_32);
        write(PRESCALER, 0);
        write(TASKS_CLEAR, 1);
        write(TASKS_START, 1);
        Clock { last: Cell::new((0, 0)) }
    }

    /// The 32-bit counter, captured into `CC[0]`.
    fn counter(&self) -> u32 {
        write(TASKS_CAPTURE0, 1);
        // SAFETY: TIMER0's CC[0] register, owned by this clock.
        unsafe { read_volatile((BASE + CC0) as *const u32) }
    }
}

impl Ticks for Clock {
    fn now(&self) -> u64 {
        let now = self.counter();
        let (last, mut wraps) = self.last.get();
        if now < last {
            wraps += 1;
        }
        self.last.set((now, wraps));
        (u64::from(wraps) << 32) | u64::from(now)
    }
}

fn write(offset: usize, value: u32) {
    // SAFETY: a TIMER0 register, owned by the clock.
    unsafe { write_volatile((BASE + offset) as *mut u32, value) }
}

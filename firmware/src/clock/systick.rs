//! The SysTick clock (mps2-an386): SysTick on the core clock, extended to
//! 64 bits; also the PC-sampling profiler's timer ([`Clock::profile`]).
//!
//! SysTick is a 24-bit down counter; [`Clock`] extends it to 64 bits by
//! counting wraps in the SysTick exception. The core clock is the board's
//! (`boards::Board::core_clock_hz`): 25 MHz on the mps2-an386, so one tick is
//! 40 ns of virtual time, 16 MHz on the microbit (62.5 ns). Under
//! `qemu-system-arm -icount shift=0` one guest instruction takes exactly
//! 1 ns of virtual time, so one tick is 40 (62.5) guest instructions;
//! [`calibrate`] measures this ratio at run time with a loop of known
//! instruction count.
//!
//! Only the QEMU reference board uses it: the real nRF51 has no SysTick
//! (optional on ARMv6-M; the microbit-v1 counts with TIMER0), and the M4
//! boards count cycles with the DWT.
//!
//! Accuracy rule: interrupts may be masked for at most half a SysTick period
//! (2^23 ticks, ~335 ms virtual) while a [`Clock`] is in use.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use cortex_m::peripheral::{syst::SystClkSource, SCB, SYST};

use crate::measure::Ticks;

/// SysTick reload value: the full 24-bit range.
const RELOAD: u32 = 0x00FF_FFFF;
/// Ticks per SysTick period.
const PERIOD: u64 = RELOAD as u64 + 1;

/// Number of SysTick wraps since [`Clock::start`].
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// True while [`Clock::profile`] runs: SysTick then samples the interrupted
/// program counter instead of counting wraps.
static PROFILING: AtomicBool = AtomicBool::new(false);

/// The SysTick exception entry: passes the exception frame (on the main
/// stack, which thread and handler mode both use here) to [`systick`]. It
/// branches rather than calls, so `lr` still holds EXC_RETURN and
/// [`systick`]'s return ends the exception. Exported under the vector name,
/// which overrides cortex-m-rt's `PROVIDE(SysTick = DefaultHandler)`.
#[cfg(armv7em)]
#[unsafe(naked)]
#[unsafe(export_name = "SysTick")]
unsafe extern "C" fn systick_entry() {
    core::arch::naked_asm!("mrs r0, msp", "b {handler}", handler = sym systick);
}

/// The SysTick exception entry on ARMv6-M, whose `b` reaches only 2 KiB: calls
/// [`systick`] with the exception frame and returns by popping EXC_RETURN
/// (saved from `lr`) into `pc`, which ends the exception.
#[cfg(armv6m)]
#[unsafe(naked)]
#[unsafe(export_name = "SysTick")]
unsafe extern "C" fn systick_entry() {
    core::arch::naked_asm!("mrs r0, msp", "push {{r7, lr}}", "bl {handler}", "pop {{r7, pc}}", handler = sym systick);
}

/// SysTick handler: counts a wrap, or records a profile sample.
extern "C" fn systick(frame: *const u32) {
    if PROFILING.load(Ordering::Relaxed) {
        // SAFETY: `frame` is the hardware-stacked exception frame
        // (r0-r3, r12, lr, pc, xpsr, ...); word 6 is the interrupted pc.
        let pc = unsafe { frame.add(6).read_volatile() };
        crate::profile::record(pc);
    } else {
        // Thread code writes WRAPS only with interrupts masked, so a load
        // and a store do (ARMv6-M has no atomic add).
        WRAPS.store(WRAPS.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }
}

/// A free-running 64-bit tick counter built on SysTick.
pub struct Clock {
    syst: SYST,
}

impl Clock {
    /// Takes SysTick and starts counting from zero at the core clock rate.
    pub fn start(mut syst: SYST) -> Self {
        syst.disable_counter();
        syst.disable_interrupt();
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        WRAPS.store(0, Ordering::Relaxed);
        syst.enable_interrupt();
        syst.enable_counter();
        Clock { syst }
    }

    /// Ticks elapsed since [`Clock::start`].
    fn read(&self) -> u64 {
        loop {
            let before = WRAPS.load(Ordering::Acquire);
            let current = SYST::get_current();
            let pending = SCB::is_pendst_pending();
            let after = WRAPS.load(Ordering::Acquire);
            if before != after {
                continue; // the SysTick handler ran in between: retry
            }
            if current == 0 {
                // The counter reached 0, which pends the wrap, and reloads only
                // on the next tick: RELOAD ticks of the period that ends here
                // have passed. Count that period once whether its exception is
                // still pending (`before` excludes it) or was taken (`before`
                // includes it); `RELOAD - current` with the new count read a
                // whole period (2^24 ticks) too high, which timed out the
                // link's waits now and then (research/link-flake.md).
                let done = match (pending, before) {
                    (true, wraps) => wraps,
                    // The tick after `start` cleared the counter: nothing yet.
                    (false, 0) => return 0,
                    (false, wraps) => wraps - 1,
                };
                return u64::from(done) * PERIOD + u64::from(RELOAD);
            }
            // A wrap that happened before `current` was read but whose
            // exception has not been taken yet (interrupts masked): the
            // counter has reloaded, so `current` is in the upper half.
            let wraps = u64::from(before) + u64::from(pending && current > RELOAD / 2);
            return wraps * PERIOD + u64::from(RELOAD - current);
        }
    }

    /// Runs `f` while SysTick fires every `period` ticks (`2..=2^24`) and
    /// records the interrupted program counter each time
    /// ([`crate::profile::record`]): a statistical profile, one sample per
    /// `period` ticks' worth of instructions under `-icount shift=0` (40 per
    /// tick on the mps2-an386).
    ///
    /// The clock does not count during `f`; afterwards it resumes at the next
    /// whole period, so it stays monotonic but skips the profiled time. Do not
    /// measure across this call.
    #[cfg_attr(not(feature = "profile"), allow(dead_code))]
    pub fn profile<R>(&mut self, period: u32, f: impl FnOnce() -> R) -> R {
        let period = period.clamp(2, RELOAD + 1);
        cortex_m::interrupt::free(|_| {
            PROFILING.store(true, Ordering::SeqCst);
            self.restart(period - 1);
        });
        let result = f();
        cortex_m::interrupt::free(|_| {
            PROFILING.store(false, Ordering::SeqCst);
            self.restart(RELOAD);
            WRAPS.store(WRAPS.load(Ordering::SeqCst) + 1, Ordering::SeqCst);
        });
        result
    }

    /// Reloads SysTick with `reload` and restarts it from there, dropping a
    /// pending SysTick exception. Call with interrupts masked.
    fn restart(&mut self, reload: u32) {
        self.syst.disable_counter();
        self.syst.set_reload(reload);
        self.syst.clear_current();
        SCB::clear_pendst();
        self.syst.enable_counter();
    }
}

impl Ticks for Clock {
    fn now(&self) -> u64 {
        self.read()
    }
}

#[cfg(board = "mps2-an386")]
/// Ticks over which the `systick-wrap` case reads the clock back to back
/// ([`Ticks::check_monotonic`]): one SysTick period and a little, so the
/// readings cross at least one wrap wherever they start.
pub const WRAP_CHECK_TICKS: u64 = PERIOD + 1_000;

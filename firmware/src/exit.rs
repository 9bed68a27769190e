//! Ending the run: success or failure, as the board ends a run (QEMU: its
//! exit status via semihosting; see each board's `exit`), and the panic,
//! HardFault and default exception handlers, which all end in [`failure`].
//!
//! Every error path exits QEMU with a non-zero status instead of hanging.

use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m_rt::{exception, ExceptionFrame};
use cortex_m_semihosting::debug;

/// Set by the first panic or fault, so that a failure while logging the
/// failure goes straight to the exit instead of recursing.
static FAILING: AtomicBool = AtomicBool::new(false);

/// Ends the run successfully (QEMU: exit status 0).
pub fn success() -> ! {
    crate::boards::this::exit(true)
}

/// Ends the run with a failure (QEMU: exit status 1).
pub fn failure() -> ! {
    crate::boards::this::exit(false)
}

/// Exits QEMU (or a semihosting debugger session) with status 0 if
/// `success`, else 1. Needs a semihosting host: without one the `BKPT`
/// faults.
#[allow(dead_code)]
pub fn semihosting_exit(success: bool) -> ! {
    debug::exit(if success { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    park()
}

/// Waits forever (where no host ends the run).
pub fn park() -> ! {
    loop {
        cortex_m::asm::nop();
    }
}

/// Returns true the first time it is called (with interrupts masked: ARMv6-M
/// has no atomic swap).
fn first_failure() -> bool {
    cortex_m::interrupt::free(|_| {
        let first = !FAILING.load(Ordering::SeqCst);
        FAILING.store(true, Ordering::SeqCst);
        first
    })
}

/// The QEMU boards' and the micro:bit's panic handler (the M4 boards use
/// `panic-probe`).
#[cfg(any(board = "mps2-an386", board = "microbit-v1"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if first_failure() {
        match info.location() {
            Some(at) => {
                defmt::error!("panic: {} ({=str}:{=u32})", defmt::Display2Format(&info.message()), at.file(), at.line())
            }
            None => defmt::error!("panic: {}", defmt::Display2Format(&info.message())),
        }
    }
    failure()
}

/// Called after `defmt::panic!` (and `defmt::unwrap!` etc.) has logged.
#[cfg(any(board = "mps2-an386", board = "microbit-v1"))]
#[defmt::panic_handler]
fn defmt_panic() -> ! {
    FAILING.store(true, Ordering::SeqCst);
    failure()
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    if first_failure() {
        log_hard_fault(frame);
    }
    failure()
}

/// Logs the stacked pc, lr and xpsr and the fault status registers.
#[cfg(armv7em)]
fn log_hard_fault(frame: &ExceptionFrame) {
    defmt::error!(
        "HardFault: pc={=u32:#010x} lr={=u32:#010x} xpsr={=u32:#010x} hfsr={=u32:#010x} cfsr={=u32:#010x}",
        frame.pc(),
        frame.lr(),
        frame.xpsr(),
        // SAFETY: plain reads of the SCB fault status registers.
        unsafe { (*cortex_m::peripheral::SCB::PTR).hfsr.read() },
        unsafe { (*cortex_m::peripheral::SCB::PTR).cfsr.read() },
    );
}

/// Logs the stacked pc, lr and xpsr (ARMv6-M has no fault status registers).
#[cfg(armv6m)]
fn log_hard_fault(frame: &ExceptionFrame) {
    defmt::error!("HardFault: pc={=u32:#010x} lr={=u32:#010x} xpsr={=u32:#010x}", frame.pc(), frame.lr(), frame.xpsr());
}

#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if first_failure() {
        defmt::error!("unexpected exception/interrupt, IRQn = {=i16}", irqn);
    }
    failure()
}

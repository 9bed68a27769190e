//! QEMU `mps2-an386` (Cortex-M4F, 25 MHz), the reference board: SysTick
//! clock (also the profiler's timer), CMSDK UART0 for the link and UART1 as
//! the idle UART, defmt over semihosting, exit through semihosting.

use crate::boards::Parts;
use crate::uart::cmsdk;

// The defmt global logger: frames go to the semihosting console.
use defmt_semihosting as _;

/// Names the board in the ELF's symbol table: `run.sh` (the cargo runner)
/// and `qemu-run.sh` read it to choose how to run the image.
#[used]
#[unsafe(no_mangle)]
static VQTANS_BOARD_MPS2_AN386: u8 = 0;

/// This board's figures.
pub const BOARD: &super::Board = &super::spec::MPS2_AN386;

/// SysTick on the core clock.
pub type Clock = crate::clock::systick::Clock;

/// The CMSDK APB UART.
pub type Port = cmsdk::Regs;

/// True: this board exists only in QEMU.
pub fn emulated() -> bool {
    true
}

/// SysTick started, UART0 (the link) and UART1 (idle) configured.
pub fn init() -> Option<Parts> {
    let cp = cortex_m::Peripherals::take()?;
    Some(Parts {
        clock: Clock::start(cp.SYST),
        link: cmsdk::Regs::take_link(crate::BAUD)?,
        idle: cmsdk::Regs::take_idle(crate::BAUD),
    })
}

/// Logs nothing: the boot line says all.
pub fn report() {}

/// Ends the run: QEMU exits with status 0 (`success`) or 1.
pub fn exit(success: bool) -> ! {
    crate::exit::semihosting_exit(success)
}

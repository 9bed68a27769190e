//! BBC micro:bit v1 (nRF51822, Cortex-M0, 16 MHz), in QEMU `microbit` or on
//! the board: the nRF51 UART for the link (the micro:bit's USB serial, P0.24
//! TX / P0.25 RX), no idle UART.

use crate::boards::Parts;
use crate::uart::nrf51;

// The defmt global logger: frames go to the semihosting console.
use defmt_semihosting as _;

/// Names the board in the ELF's symbol table: `run.sh` (the cargo runner)
/// and `qemu-run.sh` read it to choose how to run the image.
#[used]
#[unsafe(no_mangle)]
static VQTANS_BOARD_MICROBIT_V1: u8 = 0;

/// This board's figures.
pub const BOARD: &super::Board = &super::spec::MICROBIT_V1;

/// SysTick on the core clock.
pub type Clock = crate::clock::systick::Clock;

/// The nRF51 UART.
pub type Port = nrf51::Regs;

/// The clock started, the UART configured (receiver not yet started).
pub fn init() -> Option<Parts> {
    let cp = cortex_m::Peripherals::take()?;
    Some(Parts { clock: Clock::start(cp.SYST), link: nrf51::Regs::take_link(crate::BAUD)?, idle: None })
}

/// Ends the run: QEMU exits with status 0 (`success`) or 1.
pub fn exit(success: bool) -> ! {
    crate::exit::semihosting_exit(success)
}

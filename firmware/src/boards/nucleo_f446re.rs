//! ST Nucleo-F446RE (STM32F446RE, Cortex-M4F): 180 MHz from the ST-LINK's
//! 8 MHz clock output (HSE bypass) through the PLL, with the voltage
//! regulator's over-drive, 5 flash wait states, prefetch and the ART
//! accelerator's instruction and data caches on (all set by
//! `stm32f4xx-hal`'s `freeze` for 180 MHz); DWT cycles as the clock; USART2
//! on PA2 (TX) / PA3 (RX), the ST-LINK's USB virtual COM port; defmt over
//! RTT, panics through `panic-probe`.

use stm32f4xx_hal::pac::{self, USART2};
use stm32f4xx_hal::prelude::*;
use stm32f4xx_hal::rcc::Config;
use stm32f4xx_hal::serial::{Rx, Tx};

use crate::boards::Parts;
use crate::uart::hal::NbPort;

// The defmt global logger (RTT) and the panic handler (logs, then a fault
// that `probe-rs run` reports).
use defmt_rtt as _;
use panic_probe as _;

/// Names the board in the ELF's symbol table: `run.sh` (the cargo runner)
/// reads it to choose how to run the image.
#[used]
#[unsafe(no_mangle)]
static VQTANS_BOARD_NUCLEO_F446RE: u8 = 0;

/// This board's figures.
pub const BOARD: &super::Board = &super::spec::NUCLEO_F446RE;

/// The DWT cycle counter.
pub type Clock = crate::clock::dwt::Clock;

/// USART2's two halves.
pub type Port = NbPort<Tx<USART2>, Rx<USART2>>;

/// False: this image runs on the board only.
pub fn emulated() -> bool {
    false
}

/// Clocks to 180 MHz, the cycle counter, USART2 at `crate::BAUD`.
pub fn init() -> Option<Parts> {
    let cp = cortex_m::Peripherals::take()?;
    let dp = pac::Peripherals::take()?;
    let mut rcc = dp.RCC.freeze(
        Config::hse(8.MHz()).bypass_hse_oscillator().sysclk(BOARD.core_clock_hz.Hz()).pclk1(45.MHz()).pclk2(90.MHz()),
    );
    let gpioa = dp.GPIOA.split(&mut rcc);
    let serial = dp.USART2.serial((gpioa.pa2, gpioa.pa3), crate::BAUD.bps(), &mut rcc).ok()?;
    let (tx, rx) = serial.split();
    Some(Parts { clock: Clock::start(cp.DCB, cp.DWT), link: NbPort::new(tx, rx), idle: None })
}

/// Logs the clock and flash configuration as the hardware reports it.
pub fn report() {
    // SAFETY: plain reads of FLASH_ACR.
    let acr = unsafe { (*pac::FLASH::ptr()).acr().read() };
    defmt::info!(
        "Nucleo-F446RE: {=u32} Hz core; flash: {=u8} wait states, prefetch {=bool}, ART instruction cache {=bool}, \
         data cache {=bool}; log over RTT",
        BOARD.core_clock_hz,
        acr.latency().bits(),
        acr.prften().bit_is_set(),
        acr.icen().bit_is_set(),
        acr.dcen().bit_is_set()
    );
}

/// Ends the run: with a debugger attached (`probe-rs run`), its exit status
/// through semihosting; without one it stays where it is.
pub fn exit(success: bool) -> ! {
    if cortex_m::peripheral::DCB::is_debugger_attached() {
        crate::exit::semihosting_exit(success)
    }
    crate::exit::park()
}

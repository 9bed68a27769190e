//! Nordic nRF52840-DK (nRF52840, Cortex-M4F, 64 MHz): the crystal
//! oscillator on, the flash instruction cache on, DWT cycles as the clock,
//! UARTE0 through `nrf52840-hal` on the DK's interface-chip serial port
//! (P0.06 TX, P0.08 RX: the J-Link's USB virtual COM port), defmt over RTT,
//! panics through `panic-probe`.

use nrf52840_hal::gpio::{p0, Level};
use nrf52840_hal::pac::{self, UARTE0};
use nrf52840_hal::uarte::{Baudrate, Parity, Pins, Uarte, UarteRx, UarteTx};
use nrf52840_hal::Clocks;

use crate::boards::Parts;
use crate::uart::hal::IoPort;

// The defmt global logger (RTT) and the panic handler (logs, then a fault
// that `probe-rs run` reports).
use defmt_rtt as _;
use panic_probe as _;

/// Names the board in the ELF's symbol table: `run.sh` (the cargo runner)
/// reads it to choose how to run the image.
#[used]
#[unsafe(no_mangle)]
static VQTANS_BOARD_NRF52840_DK: u8 = 0;

/// This board's figures.
pub const BOARD: &super::Board = &super::spec::NRF52840_DK;

/// The DWT cycle counter.
pub type Clock = crate::clock::dwt::Clock;

/// UARTE0's two halves.
pub type Port = IoPort<UarteTx<UARTE0>, UarteRx<UARTE0>>;

/// False: this image runs on the board only.
pub fn emulated() -> bool {
    false
}

/// Bytes the UARTE's transmit DMA sends at a time.
const TX_CHUNK: usize = 64;

/// The clocks, the cache, the cycle counter and UARTE0 at `crate::BAUD`.
pub fn init() -> Option<Parts> {
    let cp = cortex_m::Peripherals::take()?;
    let p = pac::Peripherals::take()?;
    // The UART's baud rate follows the HFCLK: the 32 MHz crystal, not the
    // +-1.5 % RC oscillator. The core runs at 64 MHz either way.
    let _clocks = Clocks::new(p.CLOCK).enable_ext_hfosc();
    // Instruction cache for code in flash (off after reset).
    p.NVMC.icachecnf.write(|w| w.cacheen().enabled());
    let port0 = p0::Parts::new(p.P0);
    let pins = Pins {
        txd: port0.p0_06.into_push_pull_output(Level::High).degrade(),
        rxd: port0.p0_08.into_floating_input().degrade(),
        cts: None,
        rts: None,
    };
    let uarte = Uarte::new(p.UARTE0, pins, Parity::EXCLUDED, baudrate(crate::BAUD));
    let tx_buf = cortex_m::singleton!(: [u8; TX_CHUNK] = [0; TX_CHUNK])?;
    let rx_buf = cortex_m::singleton!(: [u8; 1] = [0; 1])?;
    let (tx, rx) = uarte.split(tx_buf, rx_buf).ok()?;
    Some(Parts { clock: Clock::start(cp.DCB, cp.DWT), link: IoPort::new(tx, rx), idle: None })
}

/// The UARTE's rate for `baud`: the nearest of 1,000,000, 115,200 and
/// 9,600 at or below it.
fn baudrate(baud: u32) -> Baudrate {
    match baud {
        1_000_000.. => Baudrate::BAUD1M,
        115_200.. => Baudrate::BAUD115200,
        _ => Baudrate::BAUD9600,
    }
}

/// Logs the configuration.
pub fn report() {
    defmt::info!("nRF52840-DK: 64 MHz core, HFCLK from the 32 MHz crystal, flash instruction cache on; log over RTT");
}

/// Ends the run: with a debugger attached (`probe-rs run`), its exit status
/// through semihosting; without one it stays where it is.
pub fn exit(success: bool) -> ! {
    if cortex_m::peripheral::DCB::is_debugger_attached() {
        crate::exit::semihosting_exit(success)
    }
    crate::exit::park()
}

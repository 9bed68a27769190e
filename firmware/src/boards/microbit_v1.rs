//! BBC micro:bit v1 (nRF51822, Cortex-M0, 16 MHz): one image for the board
//! and for QEMU `microbit`. TIMER0 is the clock (the nRF51 has no SysTick),
//! the nRF51 UART the link (the micro:bit's USB serial through its interface
//! chip: P0.24 TX, P0.25 RX), no idle UART.
//!
//! QEMU or the board is decided at boot by [`emulated`] (the factory device
//! ID), and changes only where the log goes (`log_tee`: RTT always, the
//! semihosting console too in QEMU) and how a run ends ([`exit`]); the
//! decoder, the clock and the UART run the same code in both.

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::boards::Parts;
use crate::uart::nrf51;

/// Names the board in the ELF's symbol table: `run.sh` (the cargo runner)
/// and `qemu-run.sh` read it to choose how to run the image.
#[used]
#[unsafe(no_mangle)]
static VQTANS_BOARD_MICROBIT_V1: u8 = 0;

/// This board's figures.
pub const BOARD: &super::Board = &super::spec::MICROBIT_V1;

/// TIMER0 at 16 MHz.
pub type Clock = crate::clock::timer0::Clock;

/// The nRF51 UART.
pub type Port = nrf51::Regs;

/// `FICR.DEVICEID[0..2]` (0x1000_0060): a random 64-bit number programmed
/// at the factory into every nRF51.
const FICR_DEVICEID: usize = 0x1000_0060;
/// The device ID QEMU 7.2's `microbit` reports (its fixed FICR content,
/// `hw/nvram/nrf51_nvm.c`; read back with the monitor's
/// `xp /2wx 0x10000060`): a real chip has this one with probability 2^-64.
const QEMU_DEVICEID: [u32; 2] = [0x0000_0003, 0x1234_5678];

/// CLOCK: start the 16 MHz crystal oscillator (the UART's baud rate and the
/// TIMER's ticks follow the HFCLK; the internal RC one is only +-2.5 %).
const CLOCK_TASKS_HFCLKSTART: usize = 0x4000_0000;
const CLOCK_EVENTS_HFCLKSTARTED: usize = 0x4000_0100;
/// Polls of `HFCLKSTARTED` before going on without it (the crystal starts in
/// ~0.8 ms on the board; QEMU models no CLOCK, so there it never reports).
const HFXO_POLLS: u32 = 20_000;

static QEMU: AtomicBool = AtomicBool::new(false);
static HFXO: AtomicBool = AtomicBool::new(false);

/// True if this image runs in QEMU, not on a micro:bit (decided once by
/// [`init`]).
pub fn emulated() -> bool {
    QEMU.load(Ordering::Relaxed)
}

/// Decides QEMU or board, starts the logger, the crystal, TIMER0 and the
/// UART (receiver not yet started).
pub fn init() -> Option<Parts> {
    // SAFETY: plain reads of the factory information (read-only flash).
    let id = unsafe { [read_volatile(FICR_DEVICEID as *const u32), read_volatile((FICR_DEVICEID + 4) as *const u32)] };
    let qemu = id == QEMU_DEVICEID;
    QEMU.store(qemu, Ordering::Relaxed);
    crate::log_tee::init(qemu);

    // SAFETY: the CLOCK peripheral's start task and event; nothing else
    // uses them.
    let started = unsafe {
        write_volatile(CLOCK_EVENTS_HFCLKSTARTED as *mut u32, 0);
        write_volatile(CLOCK_TASKS_HFCLKSTART as *mut u32, 1);
        (0..HFXO_POLLS).any(|_| read_volatile(CLOCK_EVENTS_HFCLKSTARTED as *const u32) != 0)
    };
    HFXO.store(started, Ordering::Relaxed);

    let link = nrf51::Regs::take_link(crate::BAUD)?;
    Some(Parts { clock: Clock::start(), link, idle: None })
}

/// Logs where the image runs and which clock source drives it.
pub fn report() {
    defmt::info!(
        "micro:bit v1: running in {=str}; HFCLK from the {=str}",
        if emulated() { "QEMU (semihosting console and RTT)" } else { "an nRF51822 (log over RTT)" },
        if HFXO.load(Ordering::Relaxed) { "16 MHz crystal" } else { "internal RC oscillator (crystal not confirmed)" }
    );
}

/// Ends the run. In QEMU: exit status 0 (`success`) or 1 through
/// semihosting. On the board: it stays where it is (a semihosting call
/// would fault without a debugger); the log over RTT has said how it ended.
pub fn exit(success: bool) -> ! {
    if emulated() {
        crate::exit::semihosting_exit(success)
    }
    crate::exit::park()
}

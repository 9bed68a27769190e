//! Registers of the nRF51 UART (nRF51 Series Reference Manual, "UART"), as
//! modelled by QEMU's `nrf51_soc.uart` (`hw/char/nrf51_uart.c`) on the
//! `microbit`: tasks start the transmitter and receiver, events say a byte
//! was sent (`TXDRDY`) or received (`RXDRDY`); a 6-byte receive FIFO.
//!
//! Transmit: write `TXD`, and before the next byte wait for `TXDRDY` and
//! clear it (QEMU drops a byte written while the previous one is still
//! pending, and the hardware reports nothing). Receive: clear `RXDRDY`, then
//! read `RXD` (reading pops the FIFO and raises `RXDRDY` again if more bytes
//! wait); in this order no arrival is missed.

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::AtomicBool;

/// Base address of the (only) UART.
const UART_BASE: usize = 0x4000_2000;

/// Register offsets.
mod reg {
    pub const TASKS_STARTRX: usize = 0x000;
    pub const TASKS_STARTTX: usize = 0x008;
    pub const EVENTS_RXDRDY: usize = 0x108;
    pub const EVENTS_TXDRDY: usize = 0x11C;
    pub const EVENTS_ERROR: usize = 0x124;
    pub const INTENCLR: usize = 0x308;
    pub const ERRORSRC: usize = 0x480;
    pub const ENABLE: usize = 0x500;
    pub const PSELTXD: usize = 0x50C;
    pub const PSELRXD: usize = 0x514;
    pub const RXD: usize = 0x518;
    pub const TXD: usize = 0x51C;
    pub const BAUDRATE: usize = 0x524;
}

/// `ENABLE` value that turns the UART on.
const ENABLE_UART: u32 = 4;
/// `ERRORSRC` bit: a byte arrived with the FIFO full (write one to clear).
const ERRORSRC_OVERRUN: u32 = 1 << 0;
/// The micro:bit's interface-chip UART pins: P0.24 (TX), P0.25 (RX).
const PIN_TXD: u32 = 24;
const PIN_RXD: u32 = 25;

static TAKEN: AtomicBool = AtomicBool::new(false);

/// The UART's registers, owned; transmitter started.
pub struct Regs {
    /// A byte was written and its `TXDRDY` not yet consumed.
    tx_pending: bool,
    rx_started: bool,
}

impl Regs {
    /// The UART for `baud` (see [`baudrate`]), or `None` if taken. The receiver starts with the first
    /// [`Regs::start_rx`].
    pub fn take_link(baud: u32) -> Option<Self> {
        if !super::claim(&TAKEN) {
            return None;
        }
        let mut regs = Regs { tx_pending: false, rx_started: false };
        regs.write(reg::INTENCLR, u32::MAX);
        regs.write(reg::PSELTXD, PIN_TXD);
        regs.write(reg::PSELRXD, PIN_RXD);
        regs.write(reg::BAUDRATE, baudrate(baud));
        regs.write(reg::ENABLE, ENABLE_UART);
        regs.write(reg::EVENTS_TXDRDY, 0);
        regs.write(reg::EVENTS_RXDRDY, 0);
        regs.write(reg::EVENTS_ERROR, 0);
        regs.write(reg::ERRORSRC, u32::MAX);
        regs.write(reg::TASKS_STARTTX, 1);
        Some(regs)
    }

    fn read(&self, offset: usize) -> u32 {
        // SAFETY: the UART's MMIO block, owned by `self`.
        unsafe { read_volatile((UART_BASE + offset) as *const u32) }
    }

    fn write(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `read`.
        unsafe { write_volatile((UART_BASE + offset) as *mut u32, value) }
    }
}

impl super::Port for Regs {
    /// Starts the receiver (once). Before this, QEMU holds the host's bytes
    /// back (a real nRF51 would lose them).
    fn start_rx(&mut self) {
        if !self.rx_started {
            self.write(reg::TASKS_STARTRX, 1);
            self.rx_started = true;
        }
    }

    /// The receiver has been started.
    fn rx_started(&self) -> bool {
        self.rx_started
    }

    /// A received byte is waiting.
    #[inline(always)]
    fn rx_ready(&mut self) -> bool {
        self.read(reg::EVENTS_RXDRDY) != 0
    }

    /// The next received byte (call when [`Regs::rx_ready`]).
    #[inline(always)]
    fn read_byte(&mut self) -> u8 {
        self.write(reg::EVENTS_RXDRDY, 0);
        self.read(reg::RXD) as u8
    }

    /// True (and cleared) if a received byte was lost.
    fn take_rx_overrun(&mut self) -> bool {
        if self.read(reg::ERRORSRC) & ERRORSRC_OVERRUN != 0 {
            self.write(reg::ERRORSRC, ERRORSRC_OVERRUN);
            return true;
        }
        false
    }

    /// The transmitter takes a byte: none pending, or the last one sent.
    #[inline(always)]
    fn tx_ready(&mut self) -> bool {
        !self.tx_pending || self.read(reg::EVENTS_TXDRDY) != 0
    }

    /// Sends `byte` (call when [`Regs::tx_ready`]).
    #[inline(always)]
    fn write_byte(&mut self, byte: u8) {
        self.write(reg::EVENTS_TXDRDY, 0);
        self.write(reg::TXD, u32::from(byte));
        self.tx_pending = true;
    }

    /// False: the nRF51's transmitter reports no errors.
    fn take_tx_overrun(&mut self) -> bool {
        false
    }
}

/// The `BAUDRATE` register value for `baud` (nRF51 reference manual): the
/// nearest of 1,000,000, 115,200 and 9,600 at or below it (9,600 at least).
fn baudrate(baud: u32) -> u32 {
    const RATES: [(u32, u32); 3] = [(1_000_000, 0x1000_0000), (115_200, 0x01D7_E000), (9_600, 0x0027_5000)];
    RATES.iter().find(|&&(rate, _)| rate <= baud).map_or(RATES[2].1, |&(_, value)| value)
}

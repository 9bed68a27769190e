//! Transmit-only driver for the CMSDK APB UART (ARM Cortex-M System Design
//! Kit), as modelled by QEMU's `cmsdk-apb-uart`.
//!
//! On `mps2-an386`, UART0 sits at `0x4000_4000` and QEMU connects it to the
//! first `-serial` backend (`serial_hd(0)`).

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicBool, Ordering};

use embedded_io::{ErrorKind, ErrorType, Write};

/// Base address of UART0 on mps2-an385/an386.
pub const UART0_BASE: usize = 0x4000_4000;

/// Peripheral clock of the APB UARTs (the board's SYSCLK, 25 MHz in QEMU).
pub const PCLK_HZ: u32 = 25_000_000;

/// Register offsets.
mod reg {
    pub const DATA: usize = 0x00;
    pub const STATE: usize = 0x04;
    pub const CTRL: usize = 0x08;
    pub const INTSTATUS: usize = 0x0C;
    pub const BAUDDIV: usize = 0x10;
}

/// STATE bits.
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_TX_OVERRUN: u32 = 1 << 2;
/// CTRL bits.
const CTRL_TX_EN: u32 = 1 << 0;
/// INTSTATUS: write-one-to-clear for all four interrupt sources.
const INTSTATUS_ALL: u32 = 0xF;
/// The UART needs a baud divider of at least 16.
const MIN_BAUDDIV: u32 = 16;

static UART0_TAKEN: AtomicBool = AtomicBool::new(false);

/// Errors reported by the UART.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum Error {
    /// A byte was written while the transmit buffer was still full, so the
    /// hardware dropped a byte.
    TxOverrun,
}

impl embedded_io::Error for Error {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

/// An owned, initialised UART with its transmitter enabled.
pub struct Uart {
    base: usize,
}

impl Uart {
    /// Takes UART0 and configures it for `baud` (transmit only, no
    /// interrupts). Returns `None` if UART0 was already taken.
    pub fn take_uart0(baud: u32) -> Option<Self> {
        if UART0_TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        let mut uart = Uart { base: UART0_BASE };
        uart.configure(baud);
        Some(uart)
    }

    fn configure(&mut self, baud: u32) {
        let div = (PCLK_HZ / baud.max(1)).max(MIN_BAUDDIV);
        self.write_reg(reg::CTRL, 0);
        self.write_reg(reg::INTSTATUS, INTSTATUS_ALL);
        // Clear stale overrun flags (write one to clear).
        self.write_reg(reg::STATE, STATE_TX_OVERRUN);
        self.write_reg(reg::BAUDDIV, div);
        self.write_reg(reg::CTRL, CTRL_TX_EN);
    }

    fn read_reg(&self, offset: usize) -> u32 {
        // SAFETY: `base` is the UART's MMIO block, owned by `self`.
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn write_reg(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `read_reg`.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }

    fn tx_full(&self) -> bool {
        self.read_reg(reg::STATE) & STATE_TX_FULL != 0
    }

    /// Reports (and clears) a transmit overrun.
    fn check_overrun(&mut self) -> Result<(), Error> {
        if self.read_reg(reg::STATE) & STATE_TX_OVERRUN != 0 {
            self.write_reg(reg::STATE, STATE_TX_OVERRUN);
            return Err(Error::TxOverrun);
        }
        Ok(())
    }
}

impl ErrorType for Uart {
    type Error = Error;
}

impl Write for Uart {
    /// Blocks until the first byte is accepted, then queues as many more as
    /// the transmitter takes without waiting.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        let Some((&first, rest)) = buf.split_first() else {
            return Ok(0);
        };
        while self.tx_full() {}
        self.write_reg(reg::DATA, u32::from(first));
        let mut sent = 1;
        for &byte in rest {
            if self.tx_full() {
                break;
            }
            self.write_reg(reg::DATA, u32::from(byte));
            sent += 1;
        }
        self.check_overrun()?;
        Ok(sent)
    }

    /// Waits until the transmit buffer is empty.
    fn flush(&mut self) -> Result<(), Error> {
        while self.tx_full() {}
        self.check_overrun()
    }
}

//! Registers of the CMSDK APB UART (ARM Cortex-M System Design Kit), as
//! modelled by QEMU's `cmsdk-apb-uart` on the `mps2-an386`: one transmit and
//! one receive byte, no FIFO.

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::AtomicBool;

/// Base address of UART0 on mps2-an385/an386 (the host link).
const UART0_BASE: usize = 0x4000_4000;
/// Base address of UART1 on mps2-an385/an386 (nothing connected in the tests).
const UART1_BASE: usize = 0x4000_5000;

/// Peripheral clock of the APB UARTs (the board's SYSCLK, 25 MHz in QEMU).
const PCLK_HZ: u32 = 25_000_000;

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
const STATE_RX_FULL: u32 = 1 << 1;
const STATE_TX_OVERRUN: u32 = 1 << 2;
const STATE_RX_OVERRUN: u32 = 1 << 3;
/// CTRL bits.
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;
/// INTSTATUS: write-one-to-clear for all four interrupt sources.
const INTSTATUS_ALL: u32 = 0xF;
/// The UART needs a baud divider of at least 16.
const MIN_BAUDDIV: u32 = 16;

static UART0_TAKEN: AtomicBool = AtomicBool::new(false);
static UART1_TAKEN: AtomicBool = AtomicBool::new(false);

/// One CMSDK UART's registers, owned; transmitter and receiver enabled.
pub struct Regs {
    base: usize,
}

impl Regs {
    /// UART0 for `baud`, or `None` if taken.
    pub fn take_link(baud: u32) -> Option<Self> {
        Self::take(&UART0_TAKEN, UART0_BASE, baud)
    }

    /// UART1 (nothing arrives there in the tests), or `None` if taken.
    pub fn take_idle(baud: u32) -> Option<Self> {
        Self::take(&UART1_TAKEN, UART1_BASE, baud)
    }

    fn take(taken: &AtomicBool, base: usize, baud: u32) -> Option<Self> {
        if !super::claim(taken) {
            return None;
        }
        let mut regs = Regs { base };
        let div = (PCLK_HZ / baud.max(1)).max(MIN_BAUDDIV);
        regs.write(reg::CTRL, 0);
        regs.write(reg::INTSTATUS, INTSTATUS_ALL);
        // Clear stale overrun flags (write one to clear).
        regs.write(reg::STATE, STATE_TX_OVERRUN | STATE_RX_OVERRUN);
        regs.write(reg::BAUDDIV, div);
        regs.write(reg::CTRL, CTRL_TX_EN | CTRL_RX_EN);
        Some(regs)
    }

    fn take_flag(&mut self, flag: u32) -> bool {
        if self.read(reg::STATE) & flag != 0 {
            self.write(reg::STATE, flag);
            return true;
        }
        false
    }

    fn read(&self, offset: usize) -> u32 {
        // SAFETY: `base` is the UART's MMIO block, owned by `self`.
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn write(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `read`.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }
}

impl super::Port for Regs {
    /// A received byte is waiting.
    #[inline(always)]
    fn rx_ready(&mut self) -> bool {
        self.read(reg::STATE) & STATE_RX_FULL != 0
    }

    /// The received byte (call when [`Regs::rx_ready`]).
    #[inline(always)]
    fn read_byte(&mut self) -> u8 {
        self.read(reg::DATA) as u8
    }

    /// True (and cleared) if a received byte was lost.
    fn take_rx_overrun(&mut self) -> bool {
        self.take_flag(STATE_RX_OVERRUN)
    }

    /// The transmitter takes a byte.
    #[inline(always)]
    fn tx_ready(&mut self) -> bool {
        self.read(reg::STATE) & STATE_TX_FULL == 0
    }

    /// Sends `byte` (call when [`Regs::tx_ready`]).
    #[inline(always)]
    fn write_byte(&mut self, byte: u8) {
        self.write(reg::DATA, u32::from(byte));
    }

    /// True (and cleared) if a byte was written while the transmitter was
    /// full, so one was dropped.
    fn take_tx_overrun(&mut self) -> bool {
        self.take_flag(STATE_TX_OVERRUN)
    }
}

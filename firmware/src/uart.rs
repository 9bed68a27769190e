//! Driver for the CMSDK APB UART (ARM Cortex-M System Design Kit), as
//! modelled by QEMU's `cmsdk-apb-uart`: transmit (`embedded_io::Write`) and
//! receive with a timeout ([`Receiver`], `embedded_io::Read`), both polled.
//!
//! On `mps2-an386`, UART0 sits at `0x4000_4000` and QEMU connects it to the
//! first `-serial` backend (`serial_hd(0)`); UART1 (`0x4000_5000`) has no
//! backend in the tests, so nothing ever arrives there (the receive
//! calibration uses that).
//!
//! The receiver holds one byte (no FIFO). QEMU only hands the UART a byte
//! when the previous one was read, so nothing is lost however slowly the
//! firmware reads; real hardware at a high baud rate would need the receive
//! interrupt and a ring buffer (or DMA) while the decoder works.

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicBool, Ordering};

use embedded_io::{ErrorKind, ErrorType, Read, Write};

use crate::measure::{Calibration, Clock};

/// Base address of UART0 on mps2-an385/an386.
pub const UART0_BASE: usize = 0x4000_4000;
/// Base address of UART1 on mps2-an385/an386.
pub const UART1_BASE: usize = 0x4000_5000;

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

/// Register-only loop iterations (2 instructions each) between two polls of
/// an empty receiver.
const POLL_GAP: u32 = 100;

static UART0_TAKEN: AtomicBool = AtomicBool::new(false);
static UART1_TAKEN: AtomicBool = AtomicBool::new(false);

/// Errors reported by the UART.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum Error {
    /// A byte was written while the transmit buffer was still full, so the
    /// hardware dropped a byte.
    TxOverrun,
    /// A byte arrived while the previous one was still unread: one was lost.
    RxOverrun,
    /// No byte arrived for the receiver's timeout.
    RxTimeout,
}

impl embedded_io::Error for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::RxTimeout => ErrorKind::TimedOut,
            Error::TxOverrun | Error::RxOverrun => ErrorKind::Other,
        }
    }
}

/// What the receiver did: bytes, and the polls that found no byte yet.
#[derive(Debug, Clone, Copy, Default, defmt::Format)]
pub struct RxCounts {
    /// Bytes received.
    pub bytes: u64,
    /// Times a byte was waited for (the receiver was empty when read).
    pub waits: u64,
    /// Polls in [`Uart::wait_rx`] that found no byte (each followed by a
    /// clock reading and a short spin).
    pub wait_polls: u64,
    /// Ticks spent in [`Receiver::read`] (waiting included).
    pub ticks: u64,
}

/// An owned, initialised UART with its transmitter and receiver enabled.
pub struct Uart {
    base: usize,
    rx: RxCounts,
    /// The last read ended on a timeout after some bytes: the next one fails
    /// at once unless a byte is already waiting.
    stalled: bool,
}

impl Uart {
    /// Takes UART0 and configures it for `baud` (transmit and receive, no
    /// interrupts). Returns `None` if UART0 was already taken.
    pub fn take_uart0(baud: u32) -> Option<Self> {
        Self::take(&UART0_TAKEN, UART0_BASE, baud)
    }

    /// Takes UART1 (see the module docs: nothing arrives there in the tests).
    pub fn take_uart1(baud: u32) -> Option<Self> {
        Self::take(&UART1_TAKEN, UART1_BASE, baud)
    }

    fn take(taken: &AtomicBool, base: usize, baud: u32) -> Option<Self> {
        if taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        let mut uart = Uart { base, rx: RxCounts::default(), stalled: false };
        uart.configure(baud);
        Some(uart)
    }

    fn configure(&mut self, baud: u32) {
        let div = (PCLK_HZ / baud.max(1)).max(MIN_BAUDDIV);
        self.write_reg(reg::CTRL, 0);
        self.write_reg(reg::INTSTATUS, INTSTATUS_ALL);
        // Clear stale overrun flags (write one to clear).
        self.write_reg(reg::STATE, STATE_TX_OVERRUN | STATE_RX_OVERRUN);
        self.write_reg(reg::BAUDDIV, div);
        self.write_reg(reg::CTRL, CTRL_TX_EN | CTRL_RX_EN);
    }

    /// A reader of this UART's receiver that fails with [`Error::RxTimeout`]
    /// when no byte arrives for `timeout` ticks of `clock`.
    pub fn receiver<'a>(&'a mut self, clock: &'a Clock, timeout: u64) -> Receiver<'a> {
        Receiver { uart: self, clock, timeout }
    }

    /// What the receiver did so far.
    pub fn rx_counts(&self) -> RxCounts {
        self.rx
    }

    fn rx_full(&self) -> bool {
        self.read_reg(reg::STATE) & STATE_RX_FULL != 0
    }

    /// Waits up to `timeout` ticks of `clock` for a byte to arrive: true if
    /// one did. Counts the wait and the polls that found no byte.
    ///
    /// Between polls it spins [`POLL_GAP`] register-only iterations: in QEMU
    /// every poll of a device register takes the lock the I/O thread needs to
    /// hand the UART its next byte, so polling without a gap slows the link.
    #[inline(never)]
    pub fn wait_rx(&mut self, clock: &Clock, timeout: u64) -> bool {
        self.rx.waits += 1;
        let deadline = clock.now() + timeout;
        loop {
            if self.rx_full() {
                return true;
            }
            self.rx.wait_polls += 1;
            if clock.now() >= deadline {
                return false;
            }
            crate::measure::spin(POLL_GAP);
        }
    }

    /// What waiting costs, measured on a receiver nothing arrives at (UART1),
    /// times 1000: instructions per poll of [`Uart::wait_rx`]'s loop (one
    /// wait of `ticks` ticks), and per wait besides its polls: 1,000 waits
    /// with no time to wait (each its entry, one poll without the spin, and
    /// its exit) less a poll without the spin. Instructions spent waiting are
    /// then about `polls * per_poll + waits * per_wait`.
    pub fn calibrate_wait(&mut self, clock: &Clock, cal: &Calibration, ticks: u64) -> WaitCost {
        const N: u64 = 1000;
        let per = |ticks: u64| cal.instructions_for(ticks) * 1000 / N;
        let before = self.rx;
        let start = clock.now();
        self.wait_rx(clock, ticks);
        let spent = clock.now() - start;
        let polls = (self.rx.wait_polls - before.wait_polls).max(1);
        let per_poll = cal.instructions_for(spent) * 1000 / polls;
        let ((), spins) = clock.measure(|| (0..N).for_each(|_| crate::measure::spin(POLL_GAP)));
        let ((), empty) = clock.measure(|| {
            (0..N).for_each(|_| {
                self.wait_rx(clock, 0);
            })
        });
        let per_wait = (per(empty) + per(spins)).saturating_sub(per_poll);
        WaitCost { per_poll_milli: per_poll, per_wait_milli: per_wait }
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

/// What waiting for a byte costs ([`Uart::calibrate_wait`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct WaitCost {
    /// Instructions per poll of the wait loop, times 1000.
    pub per_poll_milli: u64,
    /// Instructions per wait besides its polls, times 1000.
    pub per_wait_milli: u64,
}

impl WaitCost {
    /// Instructions spent waiting in `rx`'s waits and polls.
    pub fn waiting(&self, rx: &RxCounts) -> u64 {
        (rx.wait_polls * self.per_poll_milli + rx.waits * self.per_wait_milli) / 1000
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

/// Reads from a [`Uart`]'s receiver with a timeout (see [`Uart::receiver`]).
pub struct Receiver<'a> {
    uart: &'a mut Uart,
    clock: &'a Clock,
    timeout: u64,
}

impl ErrorType for Receiver<'_> {
    type Error = Error;
}

impl Read for Receiver<'_> {
    /// Fills `buf` as bytes arrive. Returns when it is full, or with the
    /// bytes so far when none has arrived for the timeout (then the next
    /// call fails at once unless a byte is waiting); fails with
    /// [`Error::RxTimeout`] if not even one byte arrived in time, and with
    /// [`Error::RxOverrun`] if the UART lost a byte.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let start = self.clock.now();
        let result = self.fill(buf);
        self.uart.rx.ticks += self.clock.now() - start;
        result
    }
}

impl Receiver<'_> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let uart = &mut *self.uart;
        let mut n = 0;
        for slot in buf.iter_mut() {
            if !uart.rx_full() {
                if uart.stalled && n == 0 {
                    return Err(Error::RxTimeout);
                }
                if !uart.wait_rx(self.clock, self.timeout) {
                    if n == 0 {
                        uart.stalled = true;
                        return Err(Error::RxTimeout);
                    }
                    uart.stalled = true;
                    break;
                }
            }
            *slot = uart.read_reg(reg::DATA) as u8;
            uart.stalled = false;
            n += 1;
        }
        uart.rx.bytes += n as u64;
        if uart.read_reg(reg::STATE) & STATE_RX_OVERRUN != 0 {
            uart.write_reg(reg::STATE, STATE_RX_OVERRUN);
            return Err(Error::RxOverrun);
        }
        Ok(n)
    }
}

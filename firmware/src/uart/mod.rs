//! The UART the host link is on: transmit (`embedded_io::Write`) and receive
//! with a timeout ([`Receiver`], `embedded_io::Read`), both polled, over the
//! board's UART, a byte-level [`Port`]:
//!
//! - `mps2-an386`: the CMSDK APB UART ([`cmsdk`]); UART0 at `0x4000_4000` is
//!   QEMU's first serial port (`serial_hd(0)`); UART1 (`0x4000_5000`) has no
//!   backend in the tests, so nothing ever arrives there (the receive
//!   calibration uses that).
//! - `microbit-v1`: the nRF51 UART ([`nrf51`]) at `0x4000_2000`, QEMU's first
//!   serial port and the micro:bit's USB serial; the only one, so the receive
//!   calibration runs on it before its receiver is started.
//! - `nrf52840-dk`, `nucleo-f446re`: the vendor HAL's UART through its
//!   `embedded-io` or `embedded-hal-nb` traits ([`hal`]).
//!
//! Flow control is the link protocol's (`vqtans::link`): each read first asks
//! the host for the bytes it takes, and the host sends no more, so bytes only
//! arrive while the receiver polls for them: a real UART holding one byte
//! (the F446's USART) or a few (the nRF UART's FIFO) loses none while the
//! firmware decodes or sends. (QEMU would hold bytes back anyway: it hands a
//! UART more only when it has room.)

#[cfg(any(board = "mps2-an386", board = "microbit-v1"))]
use core::sync::atomic::{AtomicBool, Ordering};

use embedded_io::{ErrorKind, ErrorType, Read, Write};
use vqtans::link::Message;

use crate::measure::{Calibration, Clock, Ticks};

#[cfg(board = "mps2-an386")]
pub mod cmsdk;
#[cfg(any(board = "nrf52840-dk", board = "nucleo-f446re"))]
pub mod hal;
#[cfg(board = "microbit-v1")]
pub mod nrf51;

use crate::boards::Port as BoardPort;

/// One UART, byte by byte, polled: what the link needs from a board.
pub trait Port {
    /// Starts the receiver if it is not running yet.
    fn start_rx(&mut self) {}
    /// True once the receiver runs.
    fn rx_started(&self) -> bool {
        true
    }
    /// A received byte is waiting.
    fn rx_ready(&mut self) -> bool;
    /// The next received byte (call when [`Port::rx_ready`]).
    fn read_byte(&mut self) -> u8;
    /// True (and cleared) if a received byte was lost.
    fn take_rx_overrun(&mut self) -> bool;
    /// The transmitter takes a byte.
    fn tx_ready(&mut self) -> bool;
    /// Sends `byte` (call when [`Port::tx_ready`]).
    fn write_byte(&mut self, byte: u8);
    /// Sends whatever the port still holds back (a HAL's transmit buffer).
    fn flush_tx(&mut self) {}
    /// True (and cleared) if a byte was dropped on the way out.
    fn take_tx_overrun(&mut self) -> bool;
}

/// Register-only loop iterations (2 instructions each) between two polls of
/// an empty receiver: 8-16 us on a 25 MHz core, well inside a byte time at
/// 115,200 baud. The same in QEMU and on a board. (A longer gap in test
/// builds once made the link's `RxTimeout` flake under host load rarer; the
/// cause was the clock's wrap tick, fixed in `measure::Clock::now`:
/// research/link-flake.md.)
const POLL_GAP: u32 = 100;

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
    /// The longest wait for a byte that arrived, in ticks (how close the link
    /// came to its timeout).
    pub longest_wait: u64,
}

/// Claims a peripheral: true the first time for `taken` (single core; the
/// check and the claim happen with interrupts masked, as ARMv6-M has no
/// atomic swap).
#[cfg(any(board = "mps2-an386", board = "microbit-v1"))]
fn claim(taken: &AtomicBool) -> bool {
    cortex_m::interrupt::free(|_| {
        let free = !taken.load(Ordering::Relaxed);
        taken.store(true, Ordering::Relaxed);
        free
    })
}

/// An owned, initialised UART with its transmitter enabled; its receiver is
/// enabled by the first [`Uart::receiver`] (on the CMSDK UART, at once).
pub struct Uart {
    regs: BoardPort,
    rx: RxCounts,
    /// The last read ended on a timeout after some bytes: the next one fails
    /// at once unless a byte is already waiting.
    stalled: bool,
    /// The session offset up to which the host was asked for bytes
    /// (`vqtans::link`): the host never sends past it.
    requested: u64,
}

impl Uart {
    /// The link over `port` (the board's, configured).
    pub fn new(regs: BoardPort) -> Self {
        Uart { regs, rx: RxCounts::default(), stalled: false, requested: 0 }
    }

    /// A reader of this UART's receiver that fails with [`Error::RxTimeout`]
    /// when no byte arrives for `timeout` ticks of `clock`. Starts the
    /// receiver if it is not running yet.
    pub fn receiver<'a>(&'a mut self, clock: &'a Clock, timeout: u64) -> Receiver<'a> {
        self.regs.start_rx();
        Receiver { uart: self, clock, timeout }
    }

    /// What the receiver did so far.
    pub fn rx_counts(&self) -> RxCounts {
        self.rx
    }

    /// Sends one message of the link protocol (`vqtans::link`) to the host.
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        self.write_all(&message.to_bytes()[..message.len()])
    }

    /// Asks the host again for the bytes asked for last (a host that opened
    /// its port after the request went out never saw it; one that did sends
    /// nothing more for it: offsets are absolute).
    /// The next read waits for its timeout again.
    pub fn repeat_request(&mut self) -> Result<(), Error> {
        self.stalled = false;
        self.send(Message::Request { upto: self.requested })
    }

    /// Waits up to `timeout` ticks of `clock` for a byte to arrive: true if
    /// one did. Counts the wait and the polls that found no byte.
    ///
    /// Between polls it spins [`POLL_GAP`] register-only iterations, so an
    /// empty receiver is not read back to back.
    #[inline(never)]
    pub fn wait_rx(&mut self, clock: &Clock, timeout: u64) -> bool {
        self.rx.waits += 1;
        let start = clock.now();
        let deadline = start + timeout;
        loop {
            if self.regs.rx_ready() {
                self.rx.longest_wait = self.rx.longest_wait.max(clock.now() - start);
                return true;
            }
            self.rx.wait_polls += 1;
            if clock.now() >= deadline {
                return false;
            }
            crate::measure::spin(POLL_GAP);
        }
    }

    /// What waiting for a byte costs ([`WaitCost`]), measured on a receiver
    /// nothing arrives at: the board's `idle` UART (UART1 on the mps2-an386),
    /// or where there is none (the microbit-v1) this UART before its receiver
    /// is started. Zero if neither is possible (the receiver already runs).
    pub fn wait_cost(&mut self, idle: Option<BoardPort>, clock: &Clock, cal: &Calibration) -> WaitCost {
        const TICKS: u64 = 250_000;
        match idle {
            Some(idle) => Uart::new(idle).calibrate_wait(clock, cal, TICKS),
            None if !self.regs.rx_started() => self.calibrate_wait(clock, cal, TICKS),
            None => WaitCost::default(),
        }
    }

    /// Instructions per poll of [`Uart::wait_rx`]'s loop (one wait of `ticks`
    /// ticks), and per wait besides its polls: 1,000 waits with no time to
    /// wait (each its entry, one poll without the spin, and its exit) less a
    /// poll without the spin; times 1000. Nothing may arrive meanwhile.
    fn calibrate_wait(&mut self, clock: &Clock, cal: &Calibration, ticks: u64) -> WaitCost {
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
        self.rx = before;
        let per_wait = (per(empty) + per(spins)).saturating_sub(per_poll);
        WaitCost { per_poll_milli: per_poll, per_wait_milli: per_wait }
    }
}

/// What waiting for a byte costs ([`Uart::wait_cost`]).
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
        while !self.regs.tx_ready() {}
        self.regs.write_byte(first);
        let mut sent = 1;
        for &byte in rest {
            if !self.regs.tx_ready() {
                break;
            }
            self.regs.write_byte(byte);
            sent += 1;
        }
        if self.regs.take_tx_overrun() {
            return Err(Error::TxOverrun);
        }
        Ok(sent)
    }

    /// Waits until the last byte written has left.
    fn flush(&mut self) -> Result<(), Error> {
        self.regs.flush_tx();
        while !self.regs.tx_ready() {}
        if self.regs.take_tx_overrun() {
            return Err(Error::TxOverrun);
        }
        Ok(())
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
        // The host sends only what was asked for, and only while this loop
        // polls for it: ask for what `buf` takes beyond what was asked before.
        let upto = uart.rx.bytes + buf.len() as u64;
        if upto > uart.requested {
            uart.requested = upto;
            uart.send(Message::Request { upto })?;
        }
        let mut n = 0;
        for slot in buf.iter_mut() {
            if !uart.regs.rx_ready() {
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
            *slot = uart.regs.read_byte();
            uart.stalled = false;
            n += 1;
        }
        uart.rx.bytes += n as u64;
        if uart.regs.take_rx_overrun() {
            return Err(Error::RxOverrun);
        }
        Ok(n)
    }
}

//! [`Port`]s over a vendor HAL's serial traits, the interface between the
//! hardware boards and the link:
//!
//! - [`IoPort`]: `embedded-io` (0.7, as nrf52840-hal has it) `Read +
//!   ReadReady` and `Write + WriteReady` (nrf52840-hal's UARTE halves).
//! - [`NbPort`]: `embedded-hal-nb` `serial::Read<u8>` and
//!   `serial::Write<u8>` (stm32f4xx-hal's USART halves).
//!
//! Both keep one received byte that was read to learn a byte was there, and
//! record a receive or transmit error as an overrun for [`Port`]'s
//! `take_*_overrun` (the link then fails with `RxOverrun`/`TxOverrun`).

use super::Port;

/// A UART whose halves implement the `embedded-io` traits.
#[cfg(board = "nrf52840-dk")]
pub struct IoPort<Tx, Rx> {
    tx: Tx,
    rx: Rx,
    byte: Option<u8>,
    rx_error: bool,
    tx_error: bool,
}

#[cfg(board = "nrf52840-dk")]
impl<Tx, Rx> IoPort<Tx, Rx> {
    /// The port over a transmitter and a receiver.
    pub fn new(tx: Tx, rx: Rx) -> Self {
        IoPort { tx, rx, byte: None, rx_error: false, tx_error: false }
    }
}

#[cfg(board = "nrf52840-dk")]
impl<Tx, Rx> Port for IoPort<Tx, Rx>
where
    Tx: embedded_io_07::Write + embedded_io_07::WriteReady,
    Rx: embedded_io_07::Read + embedded_io_07::ReadReady,
{
    fn rx_ready(&mut self) -> bool {
        if self.byte.is_some() {
            return true;
        }
        match self.rx.read_ready() {
            Ok(true) => {
                let mut one = [0u8];
                match self.rx.read(&mut one) {
                    Ok(1) => self.byte = Some(one[0]),
                    _ => self.rx_error = true,
                }
                self.byte.is_some()
            }
            Ok(false) => false,
            Err(_) => {
                self.rx_error = true;
                false
            }
        }
    }

    fn read_byte(&mut self) -> u8 {
        self.byte.take().unwrap_or(0)
    }

    fn take_rx_overrun(&mut self) -> bool {
        core::mem::take(&mut self.rx_error)
    }

    fn tx_ready(&mut self) -> bool {
        self.tx.write_ready().unwrap_or_else(|_| {
            self.tx_error = true;
            true
        })
    }

    fn write_byte(&mut self, byte: u8) {
        if self.tx.write(&[byte]).is_err() {
            self.tx_error = true;
        }
    }

    fn flush_tx(&mut self) {
        if self.tx.flush().is_err() {
            self.tx_error = true;
        }
    }

    fn take_tx_overrun(&mut self) -> bool {
        core::mem::take(&mut self.tx_error)
    }
}

/// A UART whose halves implement the `embedded-hal-nb` serial traits.
#[cfg(board = "nucleo-f446re")]
pub struct NbPort<Tx, Rx> {
    tx: Tx,
    rx: Rx,
    byte: Option<u8>,
    /// A byte handed over but not yet taken by the transmitter.
    pending: Option<u8>,
    rx_error: bool,
    tx_error: bool,
}

#[cfg(board = "nucleo-f446re")]
impl<Tx, Rx> NbPort<Tx, Rx> {
    /// The port over a transmitter and a receiver.
    pub fn new(tx: Tx, rx: Rx) -> Self {
        NbPort { tx, rx, byte: None, pending: None, rx_error: false, tx_error: false }
    }
}

#[cfg(board = "nucleo-f446re")]
impl<Tx, Rx> NbPort<Tx, Rx>
where
    Tx: embedded_hal_nb::serial::Write<u8>,
{
    /// Hands the pending byte to the transmitter if it takes it: true if
    /// none is pending afterwards.
    fn push(&mut self) -> bool {
        let Some(byte) = self.pending else { return true };
        match self.tx.write(byte) {
            Ok(()) => {
                self.pending = None;
                true
            }
            Err(nb::Error::WouldBlock) => false,
            Err(nb::Error::Other(_)) => {
                self.tx_error = true;
                self.pending = None;
                true
            }
        }
    }
}

#[cfg(board = "nucleo-f446re")]
impl<Tx, Rx> Port for NbPort<Tx, Rx>
where
    Tx: embedded_hal_nb::serial::Write<u8>,
    Rx: embedded_hal_nb::serial::Read<u8>,
{
    fn rx_ready(&mut self) -> bool {
        if self.byte.is_some() {
            return true;
        }
        match self.rx.read() {
            Ok(byte) => {
                self.byte = Some(byte);
                true
            }
            Err(nb::Error::WouldBlock) => false,
            Err(nb::Error::Other(_)) => {
                self.rx_error = true;
                false
            }
        }
    }

    fn read_byte(&mut self) -> u8 {
        self.byte.take().unwrap_or(0)
    }

    fn take_rx_overrun(&mut self) -> bool {
        core::mem::take(&mut self.rx_error)
    }

    fn tx_ready(&mut self) -> bool {
        self.push()
    }

    fn write_byte(&mut self, byte: u8) {
        if !self.push() {
            // Callers wait for tx_ready first; a byte still pending is lost.
            self.tx_error = true;
        }
        self.pending = Some(byte);
        self.push();
    }

    fn flush_tx(&mut self) {
        while !self.push() {}
        if nb::block!(self.tx.flush()).is_err() {
            self.tx_error = true;
        }
    }

    fn take_tx_overrun(&mut self) -> bool {
        core::mem::take(&mut self.tx_error)
    }
}

//! The boards' clocks, each a `measure::Ticks`: SysTick (the mps2-an386),
//! the nRF51's TIMER0 (the micro:bit) and the DWT cycle counter (the M4
//! boards).
#[cfg(any(board = "nrf52840-dk", board = "nucleo-f446re"))]
pub mod dwt;
#[cfg(board = "mps2-an386")]
pub mod systick;
#[cfg(board = "microbit-v1")]
pub mod timer0;

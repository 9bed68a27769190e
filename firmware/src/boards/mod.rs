//! The board layer: one module per board with its clock, its link UART and
//! its logger, and the figures of every board (`spec`). The board is chosen
//! by its cargo feature (`mps2-an386`, the default; `microbit-v1`,
//! `nrf52840-dk`, `nucleo-f446re`): `build.rs` turns the feature into
//! `cfg(board = "...")` and the board's core into `cfg(armv7em)` or
//! `cfg(armv6m)`. A feature whose target is not `--target` stops the build
//! here with a `compile_error!` naming the right one.
//!
//! What the rest of the firmware gets from a board ([`Parts`]): a clock
//! (`measure::Ticks`), the UART of the host link as a `uart::Port`
//! (embedded-io / embedded-hal-nb traits on the hardware boards), and, where
//! the board has one, an idle UART nothing arrives at.

// Some figures are read by build.rs only.
#[allow(dead_code)]
mod spec;

pub use spec::Board;

#[cfg(board = "microbit-v1")]
pub mod microbit_v1;
#[cfg(board = "mps2-an386")]
pub mod mps2_an386;
#[cfg(board = "nrf52840-dk")]
pub mod nrf52840_dk;
#[cfg(board = "nucleo-f446re")]
pub mod nucleo_f446re;

#[cfg(board = "microbit-v1")]
pub use microbit_v1 as this;
#[cfg(board = "mps2-an386")]
pub use mps2_an386 as this;
#[cfg(board = "nrf52840-dk")]
pub use nrf52840_dk as this;
#[cfg(board = "nucleo-f446re")]
pub use nucleo_f446re as this;

/// The board this firmware is built for.
pub const BOARD: &Board = this::BOARD;

/// The clock of this board.
pub type Clock = this::Clock;

/// The UART port of this board's host link.
pub type Port = this::Port;

/// What a board hands the firmware at boot.
pub struct Parts {
    /// The running clock.
    pub clock: Clock,
    /// The UART of the host link, configured for `crate::BAUD`, 8N1.
    pub link: Port,
    /// A UART of the same kind with nothing connected (for measuring what
    /// waiting costs), if the board has one.
    pub idle: Option<Port>,
}

/// Takes the board's peripherals, sets up its clocks and returns its parts.
/// `None` if called twice.
pub fn init() -> Option<Parts> {
    this::init()
}

// The board's feature and `--target` must match (`build.rs` sets
// `target_mismatch` when they do not).
#[cfg(all(target_mismatch, board = "mps2-an386"))]
compile_error!(
    "board mps2-an386 (QEMU, Cortex-M4F) needs --target thumbv7em-none-eabihf (the default): \
     `cargo build --release`; for the micro:bit add `--features microbit-v1 --target thumbv6m-none-eabi`"
);
#[cfg(all(target_mismatch, board = "microbit-v1"))]
compile_error!(
    "board microbit-v1 (nRF51822, Cortex-M0) needs --target thumbv6m-none-eabi: \
     `cargo build --release --features microbit-v1 --target thumbv6m-none-eabi`, or `cargo microbit`"
);
#[cfg(all(target_mismatch, board = "nrf52840-dk"))]
compile_error!(
    "board nrf52840-dk (nRF52840, Cortex-M4F) needs --target thumbv7em-none-eabihf: \
     `cargo build --release --features nrf52840-dk`, or `cargo nrf52840`"
);
#[cfg(all(target_mismatch, board = "nucleo-f446re"))]
compile_error!(
    "board nucleo-f446re (STM32F446RE, Cortex-M4F) needs --target thumbv7em-none-eabihf: \
     `cargo build --release --features nucleo-f446re`, or `cargo f446`"
);

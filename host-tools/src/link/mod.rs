//! The host end of the firmware's link (`host-tools link`): streams go to a
//! device over a serial port (or QEMU's pty or socket), and the frames it
//! verified come back and are compared with the originals.
//!
//! * [`port`]: opening the link (serial port, Unix socket, TCP), with timeouts.
//! * [`plan`]: per stream, what the device must send back, worked out on the
//!   host first (its own decoding, or the original `.npy`).
//! * [`session`]: sending and receiving, frame by frame, in the device's
//!   protocol (`firmware/src/link.rs`).

pub mod plan;
pub mod port;
pub mod session;

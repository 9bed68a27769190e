//! The library behind `host-tools` (and the Python package in `python/`):
//! reading segments from `.npy` files, folders and webdataset shards
//! ([`io`]), table-set files ([`tables`]), the passes that train tables and
//! measure streams ([`pass`], [`cmd`]), the training of table sets shared by
//! every front end ([`train`]), and the commands themselves ([`cmd`]),
//! which the `host-tools` binary dispatches to; [`link`] is the host end of
//! the firmware's UART link.
//!
//! Everything here reports failures as values naming the file, member and
//! problem; nothing writes an output except through [`io::output`] (atomic,
//! never over an input).

#[cfg(not(unix))]
compile_error!("host-tools needs a Unix system (file identities, FIFOs, signals)");

pub mod archives;
pub mod budget;
pub mod cmd;
pub mod diff;
pub mod io;
pub mod link;
pub mod message;
pub mod pass;
pub mod progress;
pub mod rate_parts;
pub mod tables;
pub mod train;
pub mod workers;

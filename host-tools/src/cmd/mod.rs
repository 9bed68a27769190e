//! The subcommands, one module each; each has an `Args` (clap) and a `run`.

pub mod args;
pub mod build_tables;
pub mod decode;
pub mod encode;
pub mod groups;
pub mod stats;
pub mod verify;

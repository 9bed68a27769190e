#![no_std]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod container;
pub mod error;
pub mod model;
pub mod segment;
pub mod table_set;
pub mod tans;

pub use error::{Error, Result};

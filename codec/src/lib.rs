#![no_std]
#![doc = include_str!("../README.md")]
// Unsafe code is allowed only in the host SIMD decoder (`simd`, core::arch) and in the
// ARMv7E-M and ARMv6-M frame loops (`model::context::kernel_v7em`, `kernel_v6m`,
// assembly).
#![deny(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod container;
pub mod error;
/// The stream, table-set and archive formats: the text of the crate's `FORMAT.md`.
#[doc = include_str!("../FORMAT.md")]
pub mod formats {}
mod groups;
pub mod link;
pub mod model;
pub mod segment;
#[cfg(feature = "std")]
pub mod simd;
pub mod stream;
pub mod table_set;
pub mod tans;

pub use error::{Error, Result};

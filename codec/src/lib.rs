#![no_std]
//! vqtans: lossless tANS compression of commaVQ tokens.
#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

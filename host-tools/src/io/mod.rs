//! Input/output layer of `host-tools`: everything that touches files.
//!
//! * [`tokens`]: the [`Segment`] type, the strict `.npy` parser and the
//!   int16 `.npy` writer used by `decode`.
//! * [`sources`]: turns command-line INPUT arguments (`.npy` files, folders,
//!   webdataset shards) into a lazy stream of segments.
//! * [`atomic`]: atomic output files that refuse to overwrite an input.
//! * [`error`]: the single error type [`IoError`], which always names the
//!   file and the problem.
//!
//! Nothing in here depends on the codec; the codec only ever sees
//! `Segment::tokens` (`frames * 128` values, each `0..=1023`).

pub mod atomic;
pub mod error;
pub mod sources;
pub mod tokens;

#[cfg(test)]
pub(crate) mod test_support;

// Convenience re-exports; allowed unused because a binary crate warns about
// every re-export it does not use.
#[allow(unused_imports)]
pub use atomic::{write_atomic, AtomicFile};
#[allow(unused_imports)]
pub use error::IoError;
#[allow(unused_imports)]
pub use sources::{read_npy_file, InputKind, Segments, Selection};
#[allow(unused_imports)]
pub use tokens::{read_segment, write_npy_i16, Segment};

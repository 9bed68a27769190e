//! Input/output layer of `host-tools`: everything that touches files.
//!
//! * [`tokens`]: the [`Segment`] type, the strict `.npy` parser (header and
//!   shape checked before any data is read) and the int16 `.npy` writer used
//!   by `decode`.
//! * [`sources`]: turns command-line INPUT arguments (`.npy` files, folders,
//!   webdataset shards, `-`) into a lazy stream of segments.
//! * [`shard`]: the one reader of shards, which checks every shard to its
//!   end (gzip CRC-32 and length, nothing after the end).
//! * [`shard_out`]: writing shards like the hub's, a `.json` member for
//!   every segment.
//! * [`remote`]: inputs on the network (`http(s)://` URLs, the hub's
//!   `hf://`), `--shards`, and the download cache; [`http`]: one download as
//!   a `Read` that resumes itself across dropped connections.
//! * [`input`]: opening inputs without ever blocking on a FIFO, and the
//!   identities of every file a command reads ([`InputSet`]).
//! * [`output`]: the one way results are written ([`Output`],
//!   [`FolderOutput`]): atomically, through devices and FIFOs, to stdout, or
//!   staged for folders; never over an input.
//! * [`temporaries`]: the temporaries of outputs, removed on errors, on
//!   SIGINT/SIGTERM/SIGHUP and (stale ones) by the next run.
//! * [`name`]: file names in messages (escaped) and as keys (UTF-8 only).
//! * [`error`]: the single error type [`IoError`], which always names the
//!   file and the problem.
//!
//! Nothing in here depends on the codec except the frame limit
//! ([`tokens::MAX_FRAMES`]); the codec only ever sees `Segment::tokens`
//! (`frames * 128` values, each `0..=1023`).

pub mod error;
pub mod http;
pub mod input;
pub mod name;
pub mod output;
pub mod remote;
pub mod shard;
pub mod shard_out;
pub mod sources;
pub mod temporaries;
pub mod tokens;

#[cfg(test)]
pub(crate) mod test_support;

// Convenience re-exports.
pub use error::IoError;
pub use input::{is_dash, read_capped, InputSet};
pub use name::show;
pub use output::{FolderOutput, Output};
pub use remote::FetchOptions;
pub use sources::{read_npy_file, read_npy_input, InputKind, Segments, Selection};
pub use tokens::{read_segment, write_npy_i16, Segment};

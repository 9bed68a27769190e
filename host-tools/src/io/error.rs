//! The error type of the I/O layer.

use std::path::PathBuf;

/// Every failure of the I/O layer.
///
/// Each variant names the file concerned (`file`, or `output`/`input`) and
/// the problem, so that its `Display` text is a complete message for the
/// user. For a member of a tar shard, `file` is the shard path joined with
/// the member name, e.g. `data-0000.tar.gz/abc_13.token.npy`.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The file could not be opened or read (an operating-system error, or a
    /// corrupt compressed stream while reading the data of a shard member).
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        /// The file that could not be read.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The file does not start with a valid `.npy` header (bad magic,
    /// unknown version, unparsable header dictionary, ...).
    #[error("{}: not a valid .npy file: {reason}", file.display())]
    BadHeader {
        /// The offending file.
        file: PathBuf,
        /// What is wrong with the header.
        reason: String,
    },

    /// The file ends inside the `.npy` header.
    #[error("{}: truncated .npy file: it ends inside the header", file.display())]
    TruncatedHeader {
        /// The offending file.
        file: PathBuf,
    },

    /// The file ends before the number of elements its header announces.
    #[error(
        "{}: truncated .npy file: the header announces {expected_bytes} bytes of data, \
         but only {actual_bytes} are present",
        file.display()
    )]
    TruncatedData {
        /// The offending file.
        file: PathBuf,
        /// Bytes of array data the header announces.
        expected_bytes: u64,
        /// Bytes of array data actually present.
        actual_bytes: u64,
    },

    /// There are bytes after the end of the array data; they would be lost
    /// by a round trip, so the file is rejected.
    #[error("{}: unexpected bytes after the end of the .npy array data", file.display())]
    TrailingData {
        /// The offending file.
        file: PathBuf,
    },

    /// The dtype is not a plain integer type of 1, 2, 4 or 8 bytes.
    #[error(
        "{}: unsupported dtype {descr}: expected an integer dtype \
         (int8/uint8/int16/uint16/int32/uint32/int64/uint64)",
        file.display()
    )]
    UnsupportedDtype {
        /// The offending file.
        file: PathBuf,
        /// The dtype as written in the header, e.g. `'<f4'`.
        descr: String,
    },

    /// The shape is neither `(N, 8, 16)` nor `(N, 128)`, or the array is too
    /// large to address.
    #[error("{}: wrong shape {shape:?}: expected (N, 8, 16) or (N, 128)", file.display())]
    WrongShape {
        /// The offending file.
        file: PathBuf,
        /// The shape as written in the header.
        shape: Vec<u64>,
    },

    /// The shape is valid but has zero frames.
    #[error("{}: empty segment: the array has 0 frames", file.display())]
    Empty {
        /// The offending file.
        file: PathBuf,
    },

    /// A token is outside `0..=1023` (negative or too large). The position
    /// is the logical one (frame, row 0..8, column 0..16) whatever the
    /// storage order or shape of the file.
    #[error(
        "{}: token value {value} at frame {frame} row {row} col {col} is outside 0..=1023",
        file.display()
    )]
    TokenOutOfRange {
        /// The offending file.
        file: PathBuf,
        /// Frame index, from 0.
        frame: usize,
        /// Row inside the frame, `0..8`.
        row: usize,
        /// Column inside the frame, `0..16`.
        col: usize,
        /// The value found.
        value: i128,
    },

    /// The tar (or gzip) structure of a shard is damaged or unreadable.
    #[error("{}: cannot read shard: {source}", file.display())]
    Shard {
        /// The shard.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// An INPUT argument is neither a folder, a `.npy` file nor a
    /// `.tar`/`.tar.gz`/`.tgz` shard.
    #[error(
        "{}: unsupported input: expected a .npy file, a folder of .npy files, \
         or a .tar/.tar.gz/.tgz webdataset shard",
        file.display()
    )]
    UnsupportedInput {
        /// The offending argument.
        file: PathBuf,
    },

    /// The output path resolves to one of the inputs.
    #[error(
        "refusing to write {}: it is the input file {}",
        output.display(),
        input.display()
    )]
    WouldOverwriteInput {
        /// The requested output path.
        output: PathBuf,
        /// The input it resolves to.
        input: PathBuf,
    },

    /// Creating, writing, syncing or renaming the output failed. On this
    /// error no file has been created or replaced at the output path.
    #[error("{}: cannot write: {source}", file.display())]
    Write {
        /// The output path.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

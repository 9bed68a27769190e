//! The error type of the I/O layer.

use std::path::PathBuf;

use super::name::{escape_controls, show};

/// Every failure of the I/O layer.
///
/// Each variant names the file concerned (`file`, or `output`/`input`) and
/// the problem, so that its `Display` text is a complete one-line message for
/// the user (paths are shown with [`show`]: invalid UTF-8 and control
/// characters escaped). For a member of a tar shard, `file` is the shard path
/// joined with the member name, e.g. `data-0000.tar.gz/abc_13.token.npy`.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The file could not be opened or read (an operating-system error, or a
    /// corrupt compressed stream while reading the data of a shard member).
    #[error("{}: cannot read: {source}", show(file))]
    Read {
        /// The file that could not be read.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The file does not start with a valid `.npy` header (bad magic,
    /// unknown version, unparsable header dictionary, ...).
    #[error("{}: not a valid .npy file: {reason}", show(file))]
    BadHeader {
        /// The offending file.
        file: PathBuf,
        /// What is wrong with the header.
        reason: String,
    },

    /// The file ends inside the `.npy` header.
    #[error("{}: truncated .npy file: it ends inside the header", show(file))]
    TruncatedHeader {
        /// The offending file.
        file: PathBuf,
    },

    /// The file ends before the number of elements its header announces.
    #[error(
        "{}: truncated .npy file: the header announces {expected_bytes} bytes of data, \
         but only {actual_bytes} are present",
        show(file)
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
    #[error("{}: unexpected bytes after the end of the .npy array data", show(file))]
    TrailingData {
        /// The offending file.
        file: PathBuf,
    },

    /// The dtype is not a plain integer type of 1, 2, 4 or 8 bytes.
    #[error(
        "{}: unsupported dtype {descr}: expected an integer dtype \
         (int8/uint8/int16/uint16/int32/uint32/int64/uint64)",
        show(file)
    )]
    UnsupportedDtype {
        /// The offending file.
        file: PathBuf,
        /// The dtype as written in the header, e.g. `'<f4'`.
        descr: String,
    },

    /// The shape is neither `(N, 8, 16)` nor `(N, 128)`.
    #[error("{}: wrong shape {shape:?}: expected (N, 8, 16) or (N, 128)", show(file))]
    WrongShape {
        /// The offending file.
        file: PathBuf,
        /// The shape as written in the header.
        shape: Vec<u64>,
    },

    /// The shape is `(N, 8, 16)` or `(N, 128)` with more frames than a segment
    /// may hold ([`super::tokens::MAX_FRAMES`]); found from the header, before
    /// any data is read.
    #[error(
        "{}: {frames} frames is more than a segment may hold (1..={max})",
        show(file),
        max = super::tokens::MAX_FRAMES
    )]
    TooManyFrames {
        /// The offending file.
        file: PathBuf,
        /// The frame count the header announces.
        frames: u64,
    },

    /// The shape is valid but has zero frames.
    #[error("{}: empty segment: the array has 0 frames", show(file))]
    Empty {
        /// The offending file.
        file: PathBuf,
    },

    /// A token is outside `0..=1023` (negative or too large). The position
    /// is the logical one (frame, row 0..8, column 0..16) whatever the
    /// storage order or shape of the file.
    #[error("{}: token value {value} at frame {frame} row {row} col {col} is outside 0..=1023", show(file))]
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

    /// The tar or gzip structure of a shard is damaged, truncated or followed by
    /// other data, or its gzip checksum (CRC-32 and length) does not match.
    /// Nothing read from such a shard can be trusted, so this is never skipped
    /// like a bad segment (see [`IoError::spoils_shard`]).
    #[error("{}: damaged shard: {problem}", show(file))]
    Shard {
        /// The shard.
        file: PathBuf,
        /// What is wrong, e.g. `the gzip checksum does not match`.
        problem: String,
    },

    /// An input exists but is not a regular file (a FIFO, device or socket),
    /// so it is not opened: reading a FIFO could block forever.
    #[error(
        "{}: is {kind}, not a regular file (inputs must be regular files; `-` reads standard input where \
         a command accepts it)",
        show(file)
    )]
    NotAFile {
        /// The offending path.
        file: PathBuf,
        /// What it is, e.g. `a FIFO`.
        kind: &'static str,
    },

    /// A file name from which no key can be made: not valid UTF-8, or with
    /// control characters (a key names an output file and is printed).
    #[error("{}: {problem}; rename it (keys are made from file names)", show(file))]
    UnusableName {
        /// The file, shown with its invalid bytes escaped.
        file: PathBuf,
        /// What is wrong with the name.
        problem: &'static str,
    },

    /// Two segments of one input have the same key, so their outputs would
    /// have the same name.
    #[error("{}: two segments have the key {key}; their streams would overwrite each other", show(file))]
    DuplicateKey {
        /// The input (folder or shard).
        file: PathBuf,
        /// The key.
        key: String,
    },

    /// A shard member `<key>.json` is larger than the reader keeps.
    #[error("{}: the .json member is {size} bytes, more than the {max} bytes kept for a segment", show(file))]
    JsonTooLarge {
        /// The member (shard path joined with the member name).
        file: PathBuf,
        /// Its size.
        size: u64,
        /// The limit ([`super::shard::MAX_JSON_BYTES`]).
        max: u64,
    },

    /// A remote input could not be downloaded: the server refused it (`4xx`),
    /// could not be reached or kept failing within the retries, or the file
    /// changed on the server while it was read. Names the input, the URL,
    /// the byte reached and the problem (and the shard member, where there is
    /// one). Like [`IoError::Shard`], it spoils what was read from the input.
    #[error(transparent)]
    Download(#[from] super::http::DownloadError),

    /// A remote INPUT argument (`http://`, `https://`, `hf://`) that cannot be
    /// used: not a valid URL, or not naming a `.npy` file or a shard.
    #[error("{}: {problem}", escape_controls(url))]
    BadUrl {
        /// The argument (shown escaped).
        url: String,
        /// What is wrong with it.
        problem: String,
    },

    /// With `--shards`, an INPUT that is not a base to take shards from.
    #[error(
        "{}: with --shards A..B each INPUT must be a base: a URL or hf:// prefix ending in `/`, or a folder \
         (the shards are its data-NNNN.tar.gz)",
        show(file)
    )]
    NotABase {
        /// The argument.
        file: PathBuf,
    },

    /// An INPUT argument is neither a folder, a `.npy` file nor a
    /// `.tar`/`.tar.gz`/`.tgz` shard.
    #[error(
        "{}: unsupported input: expected a .npy file, a folder of .npy files, \
         or a .tar/.tar.gz/.tgz webdataset shard (or an http://, https:// or hf:// URL of one)",
        show(file)
    )]
    UnsupportedInput {
        /// The offending argument.
        file: PathBuf,
    },

    /// The output path resolves to one of the inputs (same file, through any
    /// spelling, symlink or hard link).
    #[error("refusing to write {}: it is the input file {}", show(output), show(input))]
    WouldOverwriteInput {
        /// The requested output path.
        output: PathBuf,
        /// The input it resolves to.
        input: PathBuf,
    },

    /// The output cannot be written where it points: the filesystem root, a
    /// folder, a block device or socket, or a folder member that is not a
    /// regular file. Nothing was written.
    #[error("refusing to write {}: {reason}", show(file))]
    OutputRefused {
        /// The output path as given.
        file: PathBuf,
        /// Why.
        reason: String,
    },

    /// Creating, writing, syncing or renaming the output failed. On this
    /// error no file has been created or replaced at the output path.
    #[error("{}: cannot write: {source}", show(file))]
    Write {
        /// The output path.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl IoError {
    /// Whether the error means a whole shard is damaged, or an input could not
    /// be downloaded: everything already read from it is suspect, so a command
    /// must fail even where it skips bad segments (`build-tables --skip-bad`).
    pub fn spoils_shard(&self) -> bool {
        matches!(self, IoError::Shard { .. } | IoError::Download(_))
    }
}

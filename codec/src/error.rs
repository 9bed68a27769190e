//! The one error type of the codec: every failure on any input is a value of [`Error`],
//! never a panic.

use core::fmt;

/// Everything that can go wrong while building tables, encoding or decoding.
///
/// Each variant names one problem precisely, so tests can assert on the exact
/// variant and tools can print a message a user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// A histogram had no counts at all, so no table can describe it.
    EmptyHistogram,
    /// An alphabet was empty or larger than [`crate::tans::MAX_ALPHABET`].
    AlphabetSize { size: usize },
    /// A table log outside `MIN_TABLE_LOG..=state_log` (or above `MAX_TABLE_LOG`).
    TableLog { log: u8 },
    /// More symbols have non-zero counts than the table has slots.
    TooManySymbols { used: usize, slots: usize },
    /// A symbol was asked to be encoded with a table that gives it no slot.
    SymbolNotInTable { table: u16, symbol: u16 },
    /// A table index beyond the table set.
    NoSuchTable { table: u16 },
    /// A state index beyond the number of interleaved states.
    NoSuchState { state: u8 },
    /// The interleaved-state count is outside `1..=MAX_STATES`.
    StateCount { states: usize },
    /// A serialized table set could not be parsed (truncated, trailing bytes or bad encoding).
    TableSetEncoding,
    /// A serialized table set parsed but is inconsistent (counts do not sum to the
    /// table size, lengths disagree, ...).
    TableSetInvalid,
    /// A serialized table set's own checksum does not match: the file is damaged
    /// (or is not a table set at all).
    TableSetDamaged,
    /// A serialized table set of a format version this build does not read (its
    /// checksum matched, or it parsed as a format-1 set, but the format number is not
    /// the one that layout has).
    TableSetFormat { format: u16 },
    /// A compiled decode-table image does not match the table set it claims to be built from.
    CompiledTablesMismatch,
    /// A caller-provided buffer is too small; `needed` is the size required.
    BufferTooSmall { needed: usize },
    /// The stream does not start with the vqtans magic bytes.
    BadMagic,
    /// The stream uses a container format version this build does not know.
    UnsupportedVersion { version: u8 },
    /// The stream header is damaged (its own checksum does not match, or a reserved field is set).
    HeaderCorrupt,
    /// The stream was encoded with a different table set than the one supplied.
    TableSetMismatch { stream: u64, tables: u64 },
    /// The stream's shape is not `frames x 8 x 16` with `1..=MAX_FRAMES` frames.
    BadShape,
    /// The stream ended before the header or payload did.
    Truncated,
    /// Bytes follow the end of the payload.
    TrailingBytes,
    /// The entropy-coded payload is inconsistent: bits were left over or missing,
    /// or the coder's final states are not the ones the encoder started from.
    PayloadCorrupt,
    /// The model met an impossible symbol (e.g. an empty own-list entry): the payload is corrupt.
    ModelCorrupt,
    /// The decoded tokens do not match the checksum stored in the header (container
    /// format 1, whose one check covers the whole stream).
    ChecksumMismatch,
    /// The tokens decoded up to the end of checksum group `group` (counting from 0) do
    /// not match the checksum stored after it (container format 2): the group's frames
    /// are wrong, the frames of earlier groups passed their checks.
    GroupChecksum { group: u32 },
    /// A token value above 1023 was given to the encoder.
    TokenOutOfRange { index: usize, value: u16 },
    /// Token count is not a whole number of 128-token frames, or is zero or above `MAX_FRAMES` frames.
    TokenCount { count: usize },
    /// The model parameters in a table set are not understood by this build.
    UnknownModel,
    /// Decoding was asked for more frames than the stream holds.
    EndOfStream,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::EmptyHistogram => write!(f, "histogram has no counts"),
            Error::AlphabetSize { size } => write!(f, "alphabet size {size} outside 1..=1024"),
            Error::TableLog { log } => write!(f, "table log {log} out of range"),
            Error::TooManySymbols { used, slots } => {
                write!(f, "{used} symbols in use do not fit a table of {slots} slots")
            }
            Error::SymbolNotInTable { table, symbol } => {
                write!(f, "symbol {symbol} has no slot in table {table}")
            }
            Error::NoSuchTable { table } => write!(f, "table {table} is not in the table set"),
            Error::NoSuchState { state } => write!(f, "state {state} is not an interleaved state"),
            Error::StateCount { states } => write!(f, "{states} interleaved states is out of range"),
            Error::TableSetEncoding => write!(f, "table set blob is not valid postcard data"),
            Error::TableSetInvalid => write!(f, "table set is inconsistent"),
            Error::TableSetDamaged => {
                write!(f, "table set is damaged: its checksum does not match (or it is not a table set)")
            }
            Error::TableSetFormat { format } => write!(f, "table set format {format} is not known to this build"),
            Error::CompiledTablesMismatch => {
                write!(f, "compiled decode tables do not match the table set")
            }
            Error::BufferTooSmall { needed } => write!(f, "buffer too small, {needed} needed"),
            Error::BadMagic => write!(f, "not a vqtans stream (bad magic)"),
            Error::UnsupportedVersion { version } => {
                write!(f, "unsupported vqtans format version {version}")
            }
            Error::HeaderCorrupt => write!(f, "stream header is corrupt"),
            Error::TableSetMismatch { stream, tables } => {
                write!(f, "stream was encoded with table set {stream:016x}, but tables {tables:016x} were given")
            }
            Error::BadShape => write!(f, "stream shape is not frames x 8 x 16"),
            Error::Truncated => write!(f, "stream is truncated"),
            Error::TrailingBytes => write!(f, "unexpected bytes after the end of the stream"),
            Error::PayloadCorrupt => write!(f, "entropy-coded payload is corrupt"),
            Error::ModelCorrupt => write!(f, "payload decodes to an impossible model symbol"),
            Error::ChecksumMismatch => write!(f, "decoded tokens do not match the stored checksum"),
            Error::GroupChecksum { group } => {
                write!(f, "decoded tokens of group {group} do not match the group's checksum")
            }
            Error::TokenOutOfRange { index, value } => {
                write!(f, "token {index} has value {value}, above 1023")
            }
            Error::TokenCount { count } => {
                write!(f, "{count} tokens is not 1..=65536 whole frames of 128 tokens")
            }
            Error::UnknownModel => {
                write!(f, "table set describes a model this build does not know (tables from another vqtans version?)")
            }
            Error::EndOfStream => write!(f, "all frames of the stream were already decoded"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// Result alias used throughout the crate.
pub type Result<T> = core::result::Result<T, Error>;

//! vqtans archives (`.vqa`, format in `codec/FORMAT.md`, section "Archive"): the
//! streams of a whole split in one file, with the table set they were coded with
//! (so an archive is self-contained) and an index that is read with two seeks,
//! without reading any stream.
//!
//! * [`write::ArchiveWriter`] writes an archive front to back (no seeking), so it
//!   can go to a pipe; memory is the index only (about 100 bytes a segment).
//! * [`read::Archive`] opens one: header, table set, footer and index are checked
//!   (each has a CRC-32) before anything is returned; streams are then read one at
//!   a time with positional reads (several threads may read at once) and decoded
//!   with their own checks plus the token CRC-32 of the index.
//! * [`names`]: keys and file names that can never name a path outside an output
//!   folder.
//! * [`npy`]: the `.npy` bytes numpy writes for an int16 `(frames, 8, 16)` array.
//!
//! This crate depends on the codec only, so that the small static decoder that
//! ships inside a commaVQ challenge submission (`vqtans-unpack`) needs nothing
//! else.

pub mod error;
pub mod format;
pub mod names;
pub mod npy;
pub mod read;
pub mod write;

pub use error::{ArchiveError, Problem};
pub use format::Entry;
pub use read::{Archive, Reader, Tables};
pub use write::{ArchiveWriter, NewEntry};

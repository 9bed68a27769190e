//! Table sets: every table a stream needs, serialised with `postcard`, identified
//! by a hash, and loadable without a heap from a byte slice (e.g. flash).
//!
//! Wire format 2: the postcard serialisation of [`TableSetWire`] (format version,
//! state log, one table log per table, one little-endian `u16` alphabet size per
//! table, every table's normalised counts as little-endian `u16`s back to back, and an
//! opaque model section that the model layer ([`crate::model`]) interprets), followed
//! by the CRC-32/ISO-HDLC of those postcard bytes as a little-endian `u32`. Loading
//! checks that checksum before anything else, so a damaged file is refused as damaged
//! ([`Error::TableSetDamaged`]) instead of loading as a different, valid set. The
//! table-set id is the CRC-64/XZ of the whole blob (checksum included), so any change
//! to any table, or to the model parameters, changes the id.

use crate::tans::decode_table::{
    build_decode_table, decode_table_matches, DecodeEntry, DecodeTables, Entry, EntryWidth, ShortEntry,
};
use crate::tans::{NormalizedRef, MAX_TABLE_LOG, MIN_TABLE_LOG};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Version of the table-set wire format this build writes (it also reads format 1).
pub const TABLE_SET_FORMAT: u16 = 2;
/// The format of earlier builds: the postcard part alone, without a checksum. Still
/// read, so that streams coded with such tables keep decoding.
pub const TABLE_SET_FORMAT_1: u16 = 1;
/// Bytes of the CRC-32 that ends a table-set blob.
pub const CHECKSUM_LEN: usize = 4;
/// Largest number of tables in a set.
pub const MAX_TABLES: usize = 4096;

/// The serialised form; all variable parts are byte slices so it deserialises
/// zero-copy on `no_std`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TableSetWire<'a> {
    /// [`TABLE_SET_FORMAT`].
    pub format: u16,
    /// The state log shared by all tables.
    pub state_log: u8,
    /// Table log of each table.
    #[serde(borrow)]
    pub logs: &'a [u8],
    /// Alphabet size of each table, `u16` little-endian.
    #[serde(borrow)]
    pub alphabets: &'a [u8],
    /// Normalised counts of all tables, `u16` little-endian, table after table.
    #[serde(borrow)]
    pub counts: &'a [u8],
    /// Model parameters, interpreted by [`crate::model`].
    #[serde(borrow)]
    pub model: &'a [u8],
}

/// CRC-64/XZ with its lookup table built at compile time.
const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_XZ);
/// CRC-32/ISO-HDLC (the checksum of zip and gzip) for the blob's own checksum.
const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// The checksum that ends a table-set blob whose postcard part is `body`.
pub fn body_checksum(body: &[u8]) -> [u8; CHECKSUM_LEN] {
    CRC32.checksum(body).to_le_bytes()
}

/// Whether `blob` parses as a whole table set of format 1 (earlier builds: the
/// postcard part alone, without a checksum).
fn is_format_1(blob: &[u8]) -> bool {
    matches!(postcard::take_from_bytes::<TableSetWire<'_>>(blob), Ok((wire, rest)) if rest.is_empty() && wire.format == TABLE_SET_FORMAT_1)
}

/// The table-set id of a serialised blob: CRC-64/XZ of its bytes.
pub fn table_set_id(blob: &[u8]) -> u64 {
    CRC64.checksum(blob)
}

/// A validated, borrowed table set. Holding one guarantees every table is usable
/// (logs in range, alphabets of 1..=1024 symbols, counts summing to `2^log`) and that
/// the model section is one this build understands, consistent with the tables.
#[derive(Debug, Clone, Copy)]
pub struct TableSetRef<'a> {
    wire: TableSetWireRef<'a>,
    id: u64,
    format: u16,
    /// Bytes of the whole blob (checksum included).
    blob_len: usize,
    /// Width of the compiled image's entries ([`EntryWidth::of`]).
    width: EntryWidth,
}

#[derive(Debug, Clone, Copy)]
struct TableSetWireRef<'a> {
    state_log: u8,
    logs: &'a [u8],
    alphabets: &'a [u8],
    counts: &'a [u8],
    model: &'a [u8],
}

impl<'a> TableSetRef<'a> {
    /// Parses and validates a serialised table set.
    ///
    /// The checksum at the end is checked first: a blob whose checksum does not match
    /// is [`Error::TableSetDamaged`] (any truncation, any change of up to 32
    /// consecutive bits, and all but about one in 4 billion other changes), except that
    /// a blob that parses whole as a set of format 1 (earlier builds, no checksum) is
    /// read as one, so that streams coded with it keep decoding; damage to such a set
    /// cannot be told from a valid set ([`Self::format`] says which was read). Past
    /// the checksum, anything inconsistent (bad encoding or trailing bytes, another
    /// format version: [`Error::TableSetFormat`], lengths that disagree, counts not
    /// summing to the table size, a model section that does not fit) is an error too.
    /// A model section whose kind byte is unknown is accepted here (the tANS core does
    /// not need it) and refused with `UnknownModel` when a stream is coded with it.
    pub fn from_bytes(blob: &'a [u8]) -> Result<Self> {
        let (body, expected_format) = match blob.len().checked_sub(CHECKSUM_LEN) {
            Some(end) if body_checksum(&blob[..end]) == blob[end..] => (&blob[..end], TABLE_SET_FORMAT),
            _ if is_format_1(blob) => (blob, TABLE_SET_FORMAT_1),
            _ => return Err(Error::TableSetDamaged),
        };
        let (wire, rest): (TableSetWire<'a>, &[u8]) =
            postcard::take_from_bytes(body).map_err(|_| Error::TableSetEncoding)?;
        if !rest.is_empty() {
            return Err(Error::TableSetEncoding);
        }
        if wire.format != expected_format {
            return Err(Error::TableSetFormat { format: wire.format });
        }
        if !(MIN_TABLE_LOG..=MAX_TABLE_LOG).contains(&wire.state_log) {
            return Err(Error::TableLog { log: wire.state_log });
        }
        let n = wire.logs.len();
        if n == 0 || n > MAX_TABLES || wire.alphabets.len() != 2 * n {
            return Err(Error::TableSetInvalid);
        }
        let set = TableSetRef {
            wire: TableSetWireRef {
                state_log: wire.state_log,
                logs: wire.logs,
                alphabets: wire.alphabets,
                counts: wire.counts,
                model: wire.model,
            },
            id: table_set_id(blob),
            format: wire.format,
            blob_len: blob.len(),
            width: EntryWidth::Wide,
        };
        let mut offset = 0usize;
        for t in 0..n {
            let alphabet = set.alphabet(t);
            let end = offset + 2 * alphabet;
            let counts = wire.counts.get(offset..end).ok_or(Error::TableSetInvalid)?;
            NormalizedRef { log: wire.logs[t], counts_le: counts }.validate(wire.state_log)?;
            offset = end;
        }
        if offset != wire.counts.len() {
            return Err(Error::TableSetInvalid);
        }
        let set = TableSetRef { width: EntryWidth::of(set.state_log(), set.tables()), ..set };
        crate::model::validate_section(&set)?;
        Ok(set)
    }

    /// The table-set id.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// The wire format the set was read from: [`TABLE_SET_FORMAT`], or
    /// [`TABLE_SET_FORMAT_1`] for a set of an earlier build (no checksum, so damage to
    /// it could not be detected on load).
    pub fn format(&self) -> u16 {
        self.format
    }
    /// Number of tables.
    pub fn len(&self) -> usize {
        self.wire.logs.len()
    }
    /// Always false for a validated set.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The shared state log.
    pub fn state_log(&self) -> u8 {
        self.wire.state_log
    }
    /// The model section.
    pub fn model(&self) -> &'a [u8] {
        self.wire.model
    }
    /// Alphabet size of table `t` (`t < len()`).
    pub fn alphabet(&self, t: usize) -> usize {
        u16::from_le_bytes([self.wire.alphabets[2 * t], self.wire.alphabets[2 * t + 1]]) as usize
    }
    /// Table `t`, or `None` beyond the set.
    pub fn table(&self, t: usize) -> Option<NormalizedRef<'a>> {
        self.tables().nth(t)
    }
    /// Iterates over all tables in order.
    pub fn tables(&self) -> impl Iterator<Item = NormalizedRef<'a>> + '_ {
        let mut offset = 0usize;
        (0..self.len()).map(move |t| {
            let len = 2 * self.alphabet(t);
            let table = NormalizedRef { log: self.wire.logs[t], counts_le: &self.wire.counts[offset..offset + len] };
            offset += len;
            table
        })
    }

    /// Width of the compiled image's entries: a function of the set
    /// ([`EntryWidth::of`], `codec/FORMAT.md`).
    pub fn entry_width(&self) -> EntryWidth {
        self.width
    }

    /// Decode-table entries of the compiled image: `2^state_log` per table.
    pub fn compiled_entries(&self) -> usize {
        self.len() << self.state_log()
    }

    /// Number of 32-bit words the compiled image takes ([`DecodeEntry`] is the unit
    /// of storage): one per entry with 32-bit entries, one per two with 16-bit ones.
    pub fn compiled_len(&self) -> usize {
        self.compiled_bytes() / 4
    }

    /// Bytes of the compiled image: entries times their width.
    pub fn compiled_bytes(&self) -> usize {
        self.compiled_entries() * self.width.bytes()
    }

    /// Bytes of the serialised set (the blob it was loaded from, checksum included).
    pub fn blob_len(&self) -> usize {
        self.blob_len
    }

    /// Everything a device stores to decode with this set: the blob plus the
    /// compiled image ([`Self::blob_len`] + [`Self::compiled_bytes`]).
    pub fn device_footprint(&self) -> usize {
        self.blob_len + self.compiled_bytes()
    }

    /// Builds the decode tables into caller memory (at least [`Self::compiled_len`]
    /// words; entries of [`Self::entry_width`]) and returns them, ready for decoding.
    /// No heap is used.
    pub fn compile_into<'b>(&self, out: &'b mut [DecodeEntry]) -> Result<DecodeTables<'b>> {
        let needed = self.compiled_len();
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        let out = &mut out[..needed];
        match self.width {
            EntryWidth::Wide => self.build_entries(out)?,
            EntryWidth::Short => {
                // u32 words always reinterpret as twice as many u16 entries.
                let entries = bytemuck::try_cast_slice_mut::<_, ShortEntry>(out).map_err(|_| Error::TableSetInvalid)?;
                self.build_entries(entries)?
            }
        }
        Ok(self.tables_of(out))
    }

    fn build_entries<E: Entry>(&self, out: &mut [E]) -> Result<()> {
        let size = 1usize << self.state_log();
        for (table, entries) in self.tables().zip(out.chunks_exact_mut(size)) {
            build_decode_table(&table, self.state_log(), entries)?;
        }
        Ok(())
    }

    fn tables_of<'b>(&self, words: &'b [DecodeEntry]) -> DecodeTables<'b> {
        DecodeTables { words, width: self.width, n_tables: self.len(), state_log: self.state_log(), id: self.id }
    }

    /// Accepts a compiled image (e.g. produced at build time and stored in flash) after
    /// checking, entry by entry, that it is exactly what [`Self::compile_into`] builds
    /// from this set (so also its length and entry width). Uses no heap and about
    /// 2 KiB of stack.
    pub fn verify_compiled<'b>(&self, words: &'b [DecodeEntry]) -> Result<DecodeTables<'b>> {
        if words.len() != self.compiled_len() {
            return Err(Error::CompiledTablesMismatch);
        }
        let ok = match self.width {
            EntryWidth::Wide => self.entries_match(words),
            EntryWidth::Short => {
                bytemuck::try_cast_slice::<_, ShortEntry>(words).is_ok_and(|entries| self.entries_match(entries))
            }
        };
        if !ok {
            return Err(Error::CompiledTablesMismatch);
        }
        Ok(self.tables_of(words))
    }

    fn entries_match<E: Entry>(&self, entries: &[E]) -> bool {
        let size = 1usize << self.state_log();
        self.tables()
            .zip(entries.chunks_exact(size))
            .all(|(table, e)| decode_table_matches(&table, self.state_log(), e))
    }
}

#[cfg(feature = "alloc")]
pub use owned::TableSet;

#[cfg(feature = "alloc")]
mod owned {
    use super::*;
    use crate::tans::encode_table::EncodeTable;
    use alloc::vec::Vec;

    /// An owned table set, as the table builder makes it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TableSet {
        /// Shared state log (at least every table's log).
        pub state_log: u8,
        /// `(log, normalised counts)` per table.
        pub tables: Vec<(u8, Vec<u16>)>,
        /// Model parameters.
        pub model: Vec<u8>,
    }

    /// A table-set blob made of the postcard part `body` and its checksum (for tools
    /// and tests that build or alter the postcard part themselves).
    pub fn with_checksum(body: &[u8]) -> Vec<u8> {
        let mut blob = body.to_vec();
        blob.extend_from_slice(&body_checksum(body));
        blob
    }

    impl TableSet {
        /// Serialises to the wire format: the postcard part, then its checksum.
        pub fn to_bytes(&self) -> Result<Vec<u8>> {
            let logs: Vec<u8> = self.tables.iter().map(|(l, _)| *l).collect();
            let alphabets: Vec<u8> = self.tables.iter().flat_map(|(_, c)| (c.len() as u16).to_le_bytes()).collect();
            let counts: Vec<u8> =
                self.tables.iter().flat_map(|(_, c)| c.iter().flat_map(|v| v.to_le_bytes())).collect();
            let wire = TableSetWire {
                format: TABLE_SET_FORMAT,
                state_log: self.state_log,
                logs: &logs,
                alphabets: &alphabets,
                counts: &counts,
                model: &self.model,
            };
            let body = postcard::to_allocvec(&wire).map_err(|_| Error::TableSetEncoding)?;
            let blob = with_checksum(&body);
            // Refuse to produce a blob that would not load.
            TableSetRef::from_bytes(&blob)?;
            Ok(blob)
        }
    }

    /// Decode tables owned on the heap (host use).
    #[derive(Debug, Clone)]
    pub struct OwnedDecodeTables {
        words: Vec<DecodeEntry>,
        width: EntryWidth,
        id: u64,
        state_log: u8,
        n_tables: usize,
    }

    impl OwnedDecodeTables {
        /// Compiles the decode tables of a validated set.
        pub fn new(set: &TableSetRef<'_>) -> Result<Self> {
            let mut words = alloc::vec![DecodeEntry(0); set.compiled_len()];
            set.compile_into(&mut words)?;
            Ok(OwnedDecodeTables {
                words,
                width: set.entry_width(),
                id: set.id(),
                state_log: set.state_log(),
                n_tables: set.len(),
            })
        }
        /// Borrowed view for the decoder.
        pub fn view(&self) -> DecodeTables<'_> {
            DecodeTables {
                words: &self.words,
                width: self.width,
                n_tables: self.n_tables,
                state_log: self.state_log,
                id: self.id,
            }
        }
        /// The image as little-endian bytes, entries of the set's width back to back
        /// (`codec/FORMAT.md`): what a build script stores for a little-endian device,
        /// whatever the host's byte order.
        pub fn image_le_bytes(&self) -> Vec<u8> {
            match self.view().image() {
                crate::tans::decode_table::Image::Short(e) => e.iter().flat_map(|e| e.0.to_le_bytes()).collect(),
                crate::tans::decode_table::Image::Wide(e) => e.iter().flat_map(|e| e.0.to_le_bytes()).collect(),
            }
        }
    }

    /// Encode tables of a whole set.
    pub fn encode_tables(set: &TableSetRef<'_>) -> Vec<EncodeTable> {
        set.tables().map(|t| EncodeTable::new(&t)).collect()
    }
}

#[cfg(feature = "alloc")]
pub use owned::{encode_tables, with_checksum, OwnedDecodeTables};

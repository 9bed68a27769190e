//! Decode tables: one entry per state, and the compiled image of a whole table set.
//!
//! A table of log `l` under state log `M` (shift `k = M - l`) is used as if each of
//! its `2^l` slots were repeated `2^k` times (see [`crate::tans`]). Its decode table
//! is *expanded* to one entry per state `x < 2^M`, with the part of the next state
//! that depends on `x` folded into the entry's base:
//! ```text
//! slot entry s = (base, symbol, nb) of slot x >> k
//! entry[x]     = (base << k) + ((x & (2^k - 1)) << nb), symbol, nb
//! decoding     : e = entry[x];  x = e.base + read_bits(e.nb)
//! ```
//! so one decode step is a load, a bit read and an add, whatever the table's log.
//!
//! Entries are 32 bits ([`DecodeEntry`]: bits 0..16 `base`, bits 16..26 `symbol`,
//! bits 27..32 `nb_bits`), or 16 bits ([`ShortEntry`]: bits 0..8 `base`, bits 8..11
//! `nb_bits`, bits 11..16 `symbol`) for a table set where every entry fits them
//! ([`EntryWidth`]; the rule is a function of the set, `codec/FORMAT.md`).

use super::{floor_log2, spread, NormalizedRef, MAX_ALPHABET};
use crate::{Error, Result};

/// One decode-table entry of either width: how it is packed.
pub trait Entry: Copy + Default + PartialEq + bytemuck::Pod {
    /// The width these entries have.
    const WIDTH: EntryWidth;
    /// Packs an entry whose fields fit this width.
    fn pack(base: u32, symbol: u16, nb_bits: u32) -> Self;
    /// The next state before the read bits are added.
    fn base(self) -> u32;
    /// The decoded symbol.
    fn symbol(self) -> u16;
    /// How many bits the decoder reads after this symbol.
    fn nb_bits(self) -> u32;
}

/// One state of a decode table, packed into 4 bytes: bits 0..16 `base`, bits 16..26
/// `symbol`, bits 27..32 `nb_bits`. Also the unit a compiled image is stored in
/// (a 32-bit word holds one 32-bit entry or two 16-bit ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct DecodeEntry(pub u32);

impl DecodeEntry {
    /// Views a compiled image stored as bytes (e.g. `include_bytes!` in flash) as
    /// words, without copying: `None` unless `bytes` is 4-byte aligned and a whole
    /// number of words. The entries are read in the target's byte order, so an image
    /// written little-endian is only right on little-endian targets; either way
    /// [`crate::table_set::TableSetRef::verify_compiled`] refuses a wrong image.
    pub fn slice_from_bytes(bytes: &[u8]) -> Option<&[DecodeEntry]> {
        bytemuck::try_cast_slice(bytes).ok()
    }

    /// Packs an entry. `base < 2^16`, `symbol < 1024`, `nb_bits <= 15`.
    #[inline]
    pub const fn new(base: u32, symbol: u16, nb_bits: u32) -> Self {
        DecodeEntry(base | ((symbol as u32) << 16) | (nb_bits << 27))
    }
    /// The next state before the read bits are added.
    #[inline(always)]
    pub const fn base(self) -> u32 {
        self.0 & 0xFFFF
    }
    /// The decoded symbol.
    #[inline(always)]
    pub const fn symbol(self) -> u16 {
        ((self.0 >> 16) & 0x3FF) as u16
    }
    /// How many bits the decoder reads after this symbol.
    #[inline(always)]
    pub const fn nb_bits(self) -> u32 {
        self.0 >> 27
    }
}

impl Entry for DecodeEntry {
    const WIDTH: EntryWidth = EntryWidth::Wide;
    #[inline(always)]
    fn pack(base: u32, symbol: u16, nb_bits: u32) -> Self {
        DecodeEntry::new(base, symbol, nb_bits)
    }
    #[inline(always)]
    fn base(self) -> u32 {
        DecodeEntry::base(self)
    }
    #[inline(always)]
    fn symbol(self) -> u16 {
        DecodeEntry::symbol(self)
    }
    #[inline(always)]
    fn nb_bits(self) -> u32 {
        DecodeEntry::nb_bits(self)
    }
}

/// One state of a decode table in 2 bytes: bits 0..8 `base`, bits 8..11 `nb_bits`,
/// bits 11..16 `symbol`. Holds every entry of a table set of state log `M <= 8`
/// whose alphabets have at most 32 symbols and whose steps read at most 7 bits
/// ([`EntryWidth::of`]); then `base + 2^nb_bits <= 2^M <= 256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct ShortEntry(pub u16);

impl ShortEntry {
    /// Packs an entry. `base < 256`, `symbol < 32`, `nb_bits <= 7`.
    #[inline]
    pub const fn new(base: u32, symbol: u16, nb_bits: u32) -> Self {
        ShortEntry((base as u16 & 0xFF) | ((nb_bits as u16 & 7) << 8) | ((symbol & 31) << 11))
    }
}

impl Entry for ShortEntry {
    const WIDTH: EntryWidth = EntryWidth::Short;
    #[inline(always)]
    fn pack(base: u32, symbol: u16, nb_bits: u32) -> Self {
        ShortEntry::new(base, symbol, nb_bits)
    }
    #[inline(always)]
    fn base(self) -> u32 {
        (self.0 & 0xFF) as u32
    }
    #[inline(always)]
    fn symbol(self) -> u16 {
        self.0 >> 11
    }
    #[inline(always)]
    fn nb_bits(self) -> u32 {
        ((self.0 >> 8) & 7) as u32
    }
}

/// The width of a table set's decode entries: a function of the set alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryWidth {
    /// 16-bit entries ([`ShortEntry`]).
    Short,
    /// 32-bit entries ([`DecodeEntry`]).
    Wide,
}

/// Largest state log of a set with 16-bit entries.
pub const SHORT_MAX_STATE_LOG: u8 = 8;
/// Largest alphabet of a set with 16-bit entries.
pub const SHORT_MAX_ALPHABET: usize = 32;
/// Most bits one decode step of a set with 16-bit entries reads.
pub const SHORT_MAX_STEP_BITS: u32 = 7;

impl EntryWidth {
    /// Bytes per entry.
    pub const fn bytes(self) -> usize {
        match self {
            EntryWidth::Short => 2,
            EntryWidth::Wide => 4,
        }
    }

    /// The width of a set of state log `state_log` with `tables` (each valid for it):
    /// [`EntryWidth::Short`] iff `state_log <= 8`, every alphabet has at most 32
    /// symbols and no decode step reads more than 7 bits (a table of log `l` whose
    /// smallest non-zero count is `c` reads at most `l - floor(log2 c)` bits), else
    /// [`EntryWidth::Wide`].
    pub fn of<'a>(state_log: u8, mut tables: impl Iterator<Item = NormalizedRef<'a>>) -> Self {
        let fits = state_log <= SHORT_MAX_STATE_LOG
            && tables.all(|t| t.alphabet() <= SHORT_MAX_ALPHABET && t.max_step_bits() <= SHORT_MAX_STEP_BITS);
        if fits {
            EntryWidth::Short
        } else {
            EntryWidth::Wide
        }
    }
}

/// A compiled image of either width, as typed entries.
#[derive(Debug, Clone, Copy)]
pub enum Image<'a> {
    /// 16-bit entries.
    Short(&'a [ShortEntry]),
    /// 32-bit entries.
    Wide(&'a [DecodeEntry]),
}

impl<'a> Image<'a> {
    /// The image in `words` (32-bit storage units) with entries of `width`.
    pub fn new(words: &'a [DecodeEntry], width: EntryWidth) -> Self {
        match width {
            // u32 words always reinterpret as twice as many u16s.
            EntryWidth::Short => Image::Short(bytemuck::try_cast_slice(words).unwrap_or_default()),
            EntryWidth::Wide => Image::Wide(words),
        }
    }

    /// Entry `i` in the 32-bit layout, or `None` beyond the image.
    #[inline]
    pub fn get(&self, i: usize) -> Option<DecodeEntry> {
        match self {
            Image::Short(e) => e.get(i).map(|&e| DecodeEntry::new(e.base(), e.symbol(), e.nb_bits())),
            Image::Wide(e) => e.get(i).copied(),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match self {
            Image::Short(e) => e.len(),
            Image::Wide(e) => e.len(),
        }
    }

    /// True if the image has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Per-symbol occurrence counters, numbering each symbol's slots in slot order (the
/// numbering the encoder's state table uses too).
struct Occurrences {
    next: [u16; MAX_ALPHABET],
    log: u32,
}

impl Occurrences {
    fn new(table: &NormalizedRef<'_>) -> Self {
        let mut next = [0u16; MAX_ALPHABET];
        for (s, n) in next.iter_mut().enumerate().take(table.alphabet()) {
            *n = table.count(s) as u16;
        }
        Occurrences { next, log: table.log as u32 }
    }

    /// The slot entry (unexpanded, table log `l`) of the next slot holding `symbol`.
    fn next_slot_entry<E: Entry>(&mut self, symbol: u16) -> E {
        let n = &mut self.next[symbol as usize % MAX_ALPHABET];
        let x = *n as u32;
        *n += 1;
        // A count of 0 is never visited for a valid table; `max(1)` keeps damaged
        // input from dividing the log by zero.
        let nb = self.log.saturating_sub(floor_log2(x.max(1)));
        E::pack((x << nb).wrapping_sub(1u32 << self.log), symbol, nb)
    }
}

/// Entry `x` of the expanded table from its slot entry, for shift `k`.
#[inline]
fn expand<E: Entry>(slot: E, x: usize, k: u32) -> E {
    let low = (x as u32) & ((1u32 << k) - 1);
    E::pack((slot.base() << k) + (low << slot.nb_bits()), slot.symbol(), slot.nb_bits())
}

/// Fills `out` (exactly `2^state_log` entries) with the expanded decode table of
/// `table`, using no memory beyond `out` and a 2 KiB counter array.
///
/// The table must have been validated for `state_log` ([`NormalizedRef::validate`]),
/// and its entries must fit `E` (for [`ShortEntry`]: [`EntryWidth::of`] says so).
pub fn build_decode_table<E: Entry>(table: &NormalizedRef<'_>, state_log: u8, out: &mut [E]) -> Result<()> {
    let size = 1usize << state_log;
    if table.log > state_log {
        return Err(Error::TableLog { log: table.log });
    }
    if out.len() != size {
        return Err(Error::BufferTooSmall { needed: size });
    }
    let k = (state_log - table.log) as u32;
    let slots = 1usize << table.log;
    // The slot entries first, in out[..slots]: symbols in spreading order, then
    // bases and bit counts in slot order.
    spread::for_each_slot(table, |slot, symbol| out[slot] = E::pack(0, symbol, 0));
    let mut occurrences = Occurrences::new(table);
    for entry in out[..slots].iter_mut() {
        *entry = occurrences.next_slot_entry(entry.symbol());
    }
    // Expanded in place from the top: entry x reads slot x >> k, which is below x
    // (or x itself) and so not overwritten yet.
    for x in (0..size).rev() {
        out[x] = expand(out[x >> k], x, k);
    }
    Ok(())
}

/// True if `entries` is exactly the decode table [`build_decode_table`] makes from
/// `table` (validated for `state_log`, entries fitting `E`). Needs no buffer beyond a
/// 2 KiB counter array.
pub fn decode_table_matches<E: Entry>(table: &NormalizedRef<'_>, state_log: u8, entries: &[E]) -> bool {
    if entries.len() != 1usize << state_log || table.log > state_log {
        return false;
    }
    let k = (state_log - table.log) as u32;
    let mut symbols_ok = true;
    spread::for_each_slot(table, |slot, symbol| symbols_ok &= entries[slot << k].symbol() == symbol);
    if !symbols_ok {
        return false;
    }
    let mut occurrences = Occurrences::new(table);
    entries.chunks_exact(1 << k).enumerate().all(|(slot, expanded)| {
        let slot_entry: E = occurrences.next_slot_entry(expanded[0].symbol());
        expanded.iter().enumerate().all(|(i, &e)| e == expand(slot_entry, (slot << k) + i, k))
    })
}

/// One decode table as the decoder uses it: `2^M` expanded entries, one per state.
#[derive(Debug, Clone, Copy)]
pub struct TableView<'a> {
    entries: Image<'a>,
}

impl TableView<'_> {
    /// Entry `x` (a state below `2^M`) in the 32-bit layout; `None` beyond the table.
    #[inline(always)]
    pub fn get(&self, x: usize) -> Option<DecodeEntry> {
        self.entries.get(x)
    }
    /// Entries in the table (`2^M`).
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Never true for a table of a validated set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The compiled decode tables of a whole table set, in one slice of 32-bit words
/// that may live in flash: entries of the set's [`EntryWidth`] back to back in the
/// target's byte order (one 32-bit entry per word, or two 16-bit ones), table `t`
/// at entries `t << M .. (t + 1) << M` (`M` the state log).
///
/// Only the constructors in [`crate::table_set`] make one, after validating it, so a
/// `DecodeTables` always has `n_tables << state_log` consistent entries, and every
/// entry's `base + 2^nb_bits` is at most `2^state_log`: decoding keeps every state
/// below `2^state_log`.
#[derive(Debug, Clone, Copy)]
pub struct DecodeTables<'a> {
    pub(crate) words: &'a [DecodeEntry],
    pub(crate) width: EntryWidth,
    pub(crate) n_tables: usize,
    pub(crate) state_log: u8,
    pub(crate) id: u64,
}

impl<'a> DecodeTables<'a> {
    /// Number of tables.
    pub fn len(&self) -> usize {
        self.n_tables
    }
    /// True if the set has no tables (never the case for a validated set).
    pub fn is_empty(&self) -> bool {
        self.n_tables == 0
    }
    /// The state log shared by all tables.
    pub fn state_log(&self) -> u8 {
        self.state_log
    }
    /// The table-set id (hash of the serialized table set) these tables were built from.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// The width of the entries.
    pub fn width(&self) -> EntryWidth {
        self.width
    }
    /// The whole image as 32-bit words; what a build script writes to flash.
    pub fn words(&self) -> &'a [DecodeEntry] {
        self.words
    }
    /// The whole image as typed entries.
    #[inline]
    pub fn image(&self) -> Image<'a> {
        Image::new(self.words, self.width)
    }
    /// Table `t`, or `NoSuchTable`.
    #[inline]
    pub fn table(&self, t: usize) -> Result<TableView<'a>> {
        let size = 1usize << self.state_log;
        if t >= self.n_tables {
            return Err(Error::NoSuchTable { table: t as u16 });
        }
        // Every table's entries are in the image (checked when it was made or verified).
        let range = t * size..(t + 1) * size;
        let entries = match self.image() {
            Image::Short(e) => e.get(range).map(Image::Short),
            Image::Wide(e) => e.get(range).map(Image::Wide),
        };
        Ok(TableView { entries: entries.ok_or(Error::NoSuchTable { table: t as u16 })? })
    }
}

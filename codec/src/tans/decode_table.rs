//! Decode tables: one 4-byte entry per slot, and the compiled image of a whole table set.
//!
//! Entry layout (`u32`): bits 0..16 `base`, bits 16..26 `symbol`, bits 27..32 `nb_bits`.
//! Decoding a symbol with a table of log `l` under state log `M` (shift `k = M - l`):
//! ```text
//! e = entries[state >> k]
//! state = (e.base << k) + ((state & (2^k - 1)) << e.nb_bits) + read_bits(e.nb_bits)
//! ```

use super::{floor_log2, spread, NormalizedRef, MAX_ALPHABET};
use crate::{Error, Result};

/// One slot of a decode table, packed into 4 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct DecodeEntry(pub u32);

impl DecodeEntry {
    /// Views a compiled image stored as bytes (e.g. `include_bytes!` in flash) as
    /// entries, without copying: `None` unless `bytes` is 4-byte aligned and a whole
    /// number of words. The words are read in the target's byte order, so an image
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
    /// The state base before the read bits are added.
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

/// Fills `out` (exactly `2^log` entries) with the decode table of `table`.
///
/// The table must have been validated ([`NormalizedRef::validate`]).
pub fn build_decode_table(table: &NormalizedRef<'_>, out: &mut [DecodeEntry]) -> Result<()> {
    let size = 1usize << table.log;
    if out.len() != size {
        return Err(Error::BufferTooSmall { needed: size });
    }
    let mut next = [0u16; MAX_ALPHABET];
    for (s, n) in next.iter_mut().enumerate().take(table.alphabet()) {
        *n = table.count(s) as u16;
    }
    // Slot order, not spreading order, numbers the occurrences of a symbol: the
    // encoder's state table enumerates them the same way.
    spread::for_each_slot(table, |slot, symbol| out[slot] = DecodeEntry(symbol as u32));
    for entry in out.iter_mut() {
        let symbol = entry.0 as u16;
        let x = next[symbol as usize] as u32;
        next[symbol as usize] += 1;
        let nb = table.log as u32 - floor_log2(x);
        let base = (x << nb) - (1u32 << table.log);
        *entry = DecodeEntry::new(base, symbol, nb);
    }
    Ok(())
}

/// True if `entries` is exactly the decode table [`build_decode_table`] makes from
/// `table` (validated). Needs no buffer beyond a 2 KiB counter array.
pub fn decode_table_matches(table: &NormalizedRef<'_>, entries: &[DecodeEntry]) -> bool {
    if entries.len() != 1usize << table.log {
        return false;
    }
    let mut symbols_ok = true;
    spread::for_each_slot(table, |slot, symbol| symbols_ok &= entries[slot].symbol() == symbol);
    if !symbols_ok {
        return false;
    }
    let mut next = [0u16; MAX_ALPHABET];
    for (s, n) in next.iter_mut().enumerate().take(table.alphabet()) {
        *n = table.count(s) as u16;
    }
    entries.iter().all(|entry| {
        let symbol = entry.symbol();
        let x = next[symbol as usize] as u32;
        next[symbol as usize] += 1;
        let nb = table.log as u32 - floor_log2(x);
        *entry == DecodeEntry::new((x << nb) - (1u32 << table.log), symbol, nb)
    })
}

/// A table's place in a compiled image: index word `offset | (shift << 26)`.
#[inline]
pub(crate) const fn index_word(offset: u32, shift: u8) -> u32 {
    offset | ((shift as u32) << 26)
}

/// One decode table as the decoder uses it: its entries and its shift `M - log`.
#[derive(Debug, Clone, Copy)]
pub struct TableView<'a> {
    /// `2^log` entries.
    pub entries: &'a [DecodeEntry],
    /// `state_log - log`.
    pub shift: u32,
}

/// The compiled decode tables of a whole table set, in one slice of words that may
/// live in flash: `n_tables` index words, then every table's entries back to back.
///
/// Only the constructors in [`crate::table_set`] make one, after validating it, so a
/// `DecodeTables` always has consistent offsets, sizes and entries.
#[derive(Debug, Clone, Copy)]
pub struct DecodeTables<'a> {
    pub(crate) words: &'a [DecodeEntry],
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
    /// The whole image, index words first; what a build script writes to flash.
    pub fn words(&self) -> &'a [DecodeEntry] {
        self.words
    }
    /// Table `t`, or `NoSuchTable`.
    #[inline]
    pub fn table(&self, t: usize) -> Result<TableView<'a>> {
        if t >= self.n_tables {
            return Err(Error::NoSuchTable { table: t as u16 });
        }
        // Offsets and sizes were checked when the image was made or verified.
        let w = self.words[t].0;
        let offset = (w & 0x03FF_FFFF) as usize;
        let shift = w >> 26;
        let len = 1usize << (self.state_log as u32 - shift);
        Ok(TableView { entries: &self.words[offset..offset + len], shift })
    }
}

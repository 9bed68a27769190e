//! Decode tables: one 4-byte entry per state, and the compiled image of a whole table set.
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
//! Entry layout (`u32`): bits 0..16 `base`, bits 16..26 `symbol`, bits 27..32 `nb_bits`.

use super::{floor_log2, spread, NormalizedRef, MAX_ALPHABET};
use crate::{Error, Result};

/// One state of a decode table, packed into 4 bytes.
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
    fn next_slot_entry(&mut self, symbol: u16) -> DecodeEntry {
        let n = &mut self.next[symbol as usize % MAX_ALPHABET];
        let x = *n as u32;
        *n += 1;
        let nb = self.log - floor_log2(x);
        DecodeEntry::new((x << nb) - (1u32 << self.log), symbol, nb)
    }
}

/// Entry `x` of the expanded table from its slot entry, for shift `k`.
#[inline]
fn expand(slot: DecodeEntry, x: usize, k: u32) -> DecodeEntry {
    let low = (x as u32) & ((1u32 << k) - 1);
    DecodeEntry::new((slot.base() << k) + (low << slot.nb_bits()), slot.symbol(), slot.nb_bits())
}

/// Fills `out` (exactly `2^state_log` entries) with the expanded decode table of
/// `table`, using no memory beyond `out` and a 2 KiB counter array.
///
/// The table must have been validated for `state_log` ([`NormalizedRef::validate`]).
pub fn build_decode_table(table: &NormalizedRef<'_>, state_log: u8, out: &mut [DecodeEntry]) -> Result<()> {
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
    spread::for_each_slot(table, |slot, symbol| out[slot] = DecodeEntry(symbol as u32));
    let mut occurrences = Occurrences::new(table);
    for entry in out[..slots].iter_mut() {
        *entry = occurrences.next_slot_entry(entry.0 as u16);
    }
    // Expanded in place from the top: entry x reads slot x >> k, which is below x
    // (or x itself) and so not overwritten yet.
    for x in (0..size).rev() {
        out[x] = expand(out[x >> k], x, k);
    }
    Ok(())
}

/// True if `entries` is exactly the decode table [`build_decode_table`] makes from
/// `table` (validated for `state_log`). Needs no buffer beyond a 2 KiB counter array.
pub fn decode_table_matches(table: &NormalizedRef<'_>, state_log: u8, entries: &[DecodeEntry]) -> bool {
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
        let slot_entry = occurrences.next_slot_entry(expanded[0].symbol());
        expanded.iter().enumerate().all(|(i, &e)| e == expand(slot_entry, (slot << k) + i, k))
    })
}

/// One decode table as the decoder uses it: `2^M` expanded entries, one per state.
#[derive(Debug, Clone, Copy)]
pub struct TableView<'a> {
    /// `2^state_log` entries.
    pub entries: &'a [DecodeEntry],
}

/// The compiled decode tables of a whole table set, in one slice of words that may
/// live in flash: table `t` is entries `t << M .. (t + 1) << M` (`M` the state log).
///
/// Only the constructors in [`crate::table_set`] make one, after validating it, so a
/// `DecodeTables` always has `n_tables << state_log` consistent entries, and every
/// entry's `base + 2^nb_bits` is at most `2^state_log`: decoding keeps every state
/// below `2^state_log`.
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
    /// The whole image; what a build script writes to flash.
    pub fn words(&self) -> &'a [DecodeEntry] {
        self.words
    }
    /// Table `t`, or `NoSuchTable`.
    #[inline]
    pub fn table(&self, t: usize) -> Result<TableView<'a>> {
        let size = 1usize << self.state_log;
        if t >= self.n_tables {
            return Err(Error::NoSuchTable { table: t as u16 });
        }
        // Every table's entries are in the image (checked when it was made or verified).
        let entries = self.words.get(t * size..(t + 1) * size).ok_or(Error::NoSuchTable { table: t as u16 })?;
        Ok(TableView { entries })
    }
}

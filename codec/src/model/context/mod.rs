//! The context model (model kind 1): per-position recency lists, learned successor
//! lists and contexts from the previous frame and the row above.
//!
//! Each token of frame `t >= 1` at position `pos` (previous token `p = own[pos][0]`)
//! becomes one class symbol ([`classes`]), coded with the class table of its context
//! ([`contexts`]), plus raw bits for a successor-rank offset or an escaped token.
//! Frame 0 is sent as 10 raw bits per token.
//!
//! Decode order within a frame, row by row: the 16 class symbols of the row (column
//! `c` coded by interleaved state `c`), then the raw bits the row's tokens need, in
//! column order. The decoder's whole model state is [`ContextState`] (1,664 bytes).

pub mod classes;
pub mod contexts;
pub mod decode;
#[cfg(feature = "alloc")]
pub mod encode;
#[cfg(vqtans_v6m)]
mod kernel_v6m;
#[cfg(vqtans_v7em)]
mod kernel_v7em;
pub mod own_lists;
#[cfg(feature = "std")]
pub mod select;
#[cfg(feature = "std")]
pub mod train;

use crate::table_set::TableSetRef;
use crate::{Error, Result};
use classes::{buckets_for, Classes};
use contexts::CONTEXTS;

/// Model kind byte of the context model.
pub const KIND: u8 = 1;
/// Version 2 of the context model's section: `K` and `u16` successor lists, one
/// class table per context (100). Version 2 sends each token's raw bits right after
/// its class symbol (version 1, refused, sent a row's raw bits after its 16 class
/// symbols). The table builder writes it for 100 tables with `u16` lists (the
/// default), so those sets are the same bytes as before version 3 existed.
pub const VERSION_2: u8 = 2;
/// Version 3: version 2 plus the list coding (`u16` or 10-bit packed), the number
/// of class tables `T` (1..=100) and a 100-byte context map (`codec/FORMAT.md`).
pub const VERSION_3: u8 = 3;
/// Interleaved states: one per column.
pub const N_STATES: usize = crate::container::COLS;
/// The state log the table builder uses by default ([`train::TrainConfig`]); the
/// decoder has a loop specialised for it.
pub const DEFAULT_STATE_LOG: u8 = 10;
/// The successor list length the table builder uses by default; the decoder has a
/// loop specialised for it (with [`DEFAULT_STATE_LOG`]).
pub const DEFAULT_K: u32 = 192;
/// Size of the version-2 section header: kind, version, list length `K` (u16 LE).
pub const SECTION_HEADER: usize = 4;
/// Size of the version-3 section header: kind, version, `K` (u16 LE), list coding,
/// `T`, then the context map (100 bytes).
pub const SECTION_HEADER_V3: usize = 6 + CONTEXTS;

pub use decode::ContextState;

/// How the successor lists are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListCoding {
    /// Every entry a little-endian `u16` (`2 * 1024 * K` bytes; version 2 always).
    U16,
    /// Entry `i = p * K + r` at bits `10 i .. 10 i + 10` of the list area, least
    /// significant bit first (`1280 * K` bytes).
    Packed10,
}

impl ListCoding {
    /// The byte that names this coding in a version-3 section.
    pub const fn byte(self) -> u8 {
        match self {
            ListCoding::U16 => 0,
            ListCoding::Packed10 => 1,
        }
    }
    /// The coding named by `byte`, if any.
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(ListCoding::U16),
            1 => Some(ListCoding::Packed10),
            _ => None,
        }
    }
    /// Bytes of 1024 lists of `k` entries.
    pub const fn list_bytes(self, k: usize) -> usize {
        match self {
            ListCoding::U16 => 2 * 1024 * k,
            ListCoding::Packed10 => 1280 * k,
        }
    }
}

/// The context map of a version-2 section: table `c` for context `c`.
pub static IDENTITY_MAP: [u8; CONTEXTS] = {
    let mut m = [0u8; CONTEXTS];
    let mut c = 0;
    while c < CONTEXTS {
        m[c] = c as u8;
        c += 1;
    }
    m
};

/// The context model's parameters, borrowed from a validated table set.
#[derive(Debug, Clone, Copy)]
pub struct ContextModel<'a> {
    /// Successor list length `K`.
    k: usize,
    /// Successor lists: 1024 rows of `K` tokens, coded as `coding` says.
    pub(crate) successors: &'a [u8],
    /// How the lists are coded.
    coding: ListCoding,
    /// Class table of each of the 100 contexts (all below `n_tables`), borrowed from
    /// the section (the identity for version 2).
    pub(crate) map: &'a [u8; CONTEXTS],
    /// Number of class tables.
    n_tables: usize,
    /// True if `map` is the identity (one table per context, in context order).
    identity: bool,
    /// The class alphabet.
    classes: Classes,
    /// What the decoder needs of each class symbol (index `class % 32`; classes
    /// from the escape on act as the escape): see [`class_info`].
    pub(crate) info: [u32; 32],
}

/// Decoder information of class `s` of an alphabet with `buckets` buckets: bits 0-1
/// the kind, bits 4-7 the raw bits that follow, bits 8-19 the own-list rank (own
/// classes) or the successor bucket's lower edge.
pub(crate) const fn class_info(s: usize, buckets: usize) -> u32 {
    use classes::{kind, EDGES, OWN_DEPTH};
    if s == 0 {
        kind::COPY as u32
    } else if s < OWN_DEPTH {
        kind::OWN as u32 | ((s as u32) << 8)
    } else if s < OWN_DEPTH + buckets {
        let b = s - OWN_DEPTH;
        kind::SUCCESSOR as u32 | (classes::bucket_bits(b) << 4) | ((EDGES[b] as u32) << 8)
    } else {
        kind::ESCAPE as u32 | (10 << 4)
    }
}

impl<'a> ContextModel<'a> {
    /// Parses the model section of `set`: kind 1, version 2 or 3, an allowed `K`,
    /// 1024 successor lists of `K` tokens (`u16`, or 10-bit packed in version 3), a
    /// context map whose every entry is below `T` and that uses every table (version
    /// 3; version 2 is `T` = 100 and the identity map), and exactly `T` tables with
    /// the class alphabet. That every `u16` list entry is below 1024 was checked when
    /// the set was loaded (by [`TableSetRef::from_bytes`]), so parsing is cheap.
    pub fn from_table_set(set: &TableSetRef<'a>) -> Result<Self> {
        let section = set.model();
        if section.len() < SECTION_HEADER || section[0] != KIND {
            return Err(Error::UnknownModel);
        }
        let k = u16::from_le_bytes([section[2], section[3]]) as usize;
        let buckets = buckets_for(k).ok_or(Error::TableSetInvalid)?;
        let (coding, n_tables, map, successors): (_, _, &[u8; CONTEXTS], _) = match section[1] {
            VERSION_2 => (ListCoding::U16, CONTEXTS, &IDENTITY_MAP, &section[SECTION_HEADER..]),
            VERSION_3 => {
                let header = section.get(..SECTION_HEADER_V3).ok_or(Error::TableSetInvalid)?;
                let coding = ListCoding::from_byte(header[4]).ok_or(Error::TableSetInvalid)?;
                let n_tables = header[5] as usize;
                let map: &[u8; CONTEXTS] = header[6..].try_into().map_err(|_| Error::TableSetInvalid)?;
                if !(1..=CONTEXTS).contains(&n_tables) || !map_is_onto(map, n_tables) {
                    return Err(Error::TableSetInvalid);
                }
                (coding, n_tables, map, &section[SECTION_HEADER_V3..])
            }
            _ => return Err(Error::UnknownModel),
        };
        if successors.len() != coding.list_bytes(k) {
            return Err(Error::TableSetInvalid);
        }
        let classes = Classes { buckets };
        if set.len() != n_tables || (0..n_tables).any(|t| set.alphabet(t) != classes.alphabet()) {
            return Err(Error::TableSetInvalid);
        }
        let mut info = [0u32; 32];
        for (s, i) in info.iter_mut().enumerate() {
            *i = class_info(s, buckets);
        }
        let identity = *map == IDENTITY_MAP;
        Ok(ContextModel { k, successors, coding, map, n_tables, identity, classes, info })
    }

    /// Everything [`Self::from_table_set`] checks, and that every `u16` successor-list
    /// entry is a token (<= 1023; every 10-bit entry is one).
    pub(crate) fn validate(set: &TableSetRef<'_>) -> Result<()> {
        let model = ContextModel::from_table_set(set)?;
        if model.coding == ListCoding::U16
            && model.successors.chunks_exact(2).any(|b| u16::from_le_bytes([b[0], b[1]]) > crate::container::MAX_TOKEN)
        {
            return Err(Error::TableSetInvalid);
        }
        Ok(())
    }

    /// Successor list length.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The class alphabet.
    pub fn classes(&self) -> Classes {
        self.classes
    }

    /// How the successor lists are stored.
    pub fn list_coding(&self) -> ListCoding {
        self.coding
    }

    /// Number of class tables `T`.
    pub fn n_tables(&self) -> usize {
        self.n_tables
    }

    /// The class table of each context (`(gprev * 5 + nbb) * 5 + up`).
    pub fn context_map(&self) -> &'a [u8; CONTEXTS] {
        self.map
    }

    /// True for one table per context, table `c` for context `c` (every version-2 set).
    #[inline]
    pub fn is_identity_map(&self) -> bool {
        self.identity
    }

    /// Class table of context `ctx` (`< 100`).
    #[inline(always)]
    pub fn table_of(&self, ctx: usize) -> usize {
        self.map[ctx % CONTEXTS] as usize
    }

    /// Entry `rank` (`< K`) of the successor list of token `p` (`< 1024`).
    #[inline(always)]
    pub fn successor(&self, p: u16, rank: usize) -> u16 {
        let i = (p as usize & 1023) * self.k + rank;
        match self.coding {
            ListCoding::U16 => u16_entry(self.successors, i) as u16,
            ListCoding::Packed10 => packed_entry(self.successors, i) as u16,
        }
    }
}

/// True if every entry of `map` is below `n_tables` and every table has a context.
fn map_is_onto(map: &[u8; CONTEXTS], n_tables: usize) -> bool {
    let mut used = [false; CONTEXTS];
    for &t in map {
        match used.get_mut(t as usize) {
            Some(u) if (t as usize) < n_tables => *u = true,
            _ => return false,
        }
    }
    used[..n_tables].iter().all(|&u| u)
}

/// Entry `i` of `u16` lists (0 beyond them).
#[inline(always)]
pub(crate) fn u16_entry(lists: &[u8], i: usize) -> u32 {
    lists.get(2 * i..2 * i + 2).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]) as u32)
}

/// Entry `i` of 10-bit packed lists (0 beyond them): bits `10 i ..` sit in the two
/// bytes from `10 i / 8` on (`10 i mod 8` is even, at most 6).
#[inline(always)]
pub(crate) fn packed_entry(lists: &[u8], i: usize) -> u32 {
    let bit = 10 * i;
    let byte = bit >> 3;
    lists.get(byte..byte + 2).map_or(0, |b| (u16::from_le_bytes([b[0], b[1]]) as u32 >> (bit & 7)) & 0x3FF)
}

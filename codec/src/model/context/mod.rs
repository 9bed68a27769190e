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
#[cfg(vqtans_v7em)]
mod kernel_v7em;
pub mod own_lists;
#[cfg(feature = "std")]
pub mod train;

use crate::table_set::TableSetRef;
use crate::{Error, Result};
use classes::{buckets_for, Classes};
use contexts::CONTEXTS;

/// Model kind byte of the context model.
pub const KIND: u8 = 1;
/// Version of the context model's parameters layout and coding rules. Version 2 sends
/// each token's raw bits right after its class symbol (version 1 sent a row's raw bits
/// after its 16 class symbols).
pub const VERSION: u8 = 2;
/// Interleaved states: one per column.
pub const N_STATES: usize = crate::container::COLS;
/// The state log the table builder uses by default ([`train::TrainConfig`]); the
/// decoder has a loop specialised for it.
pub const DEFAULT_STATE_LOG: u8 = 10;
/// The successor list length the table builder uses by default; the decoder has a
/// loop specialised for it (with [`DEFAULT_STATE_LOG`]).
pub const DEFAULT_K: u32 = 192;
/// Size of the model section header: kind, version, list length `K` (u16 LE).
pub const SECTION_HEADER: usize = 4;

pub use decode::ContextState;

/// The context model's parameters, borrowed from a validated table set.
#[derive(Debug, Clone, Copy)]
pub struct ContextModel<'a> {
    /// Successor list length `K`.
    k: usize,
    /// Successor lists: 1024 rows of `K` little-endian `u16` tokens.
    pub(crate) successors: &'a [u8],
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
    /// Parses the model section of `set`: kind 1, version 1, an allowed `K`, 1024
    /// successor lists of `K` tokens, and exactly `CONTEXTS` tables with the class
    /// alphabet. That every list entry is below 1024 was checked when the set was
    /// loaded ([`ContextModel::validate`]), so parsing is cheap.
    pub fn from_table_set(set: &TableSetRef<'a>) -> Result<Self> {
        let section = set.model();
        if section.len() < SECTION_HEADER || section[0] != KIND || section[1] != VERSION {
            return Err(Error::UnknownModel);
        }
        let k = u16::from_le_bytes([section[2], section[3]]) as usize;
        let buckets = buckets_for(k).ok_or(Error::TableSetInvalid)?;
        let successors = &section[SECTION_HEADER..];
        if successors.len() != 1024 * k * 2 {
            return Err(Error::TableSetInvalid);
        }
        let classes = Classes { buckets };
        if set.len() != CONTEXTS || (0..CONTEXTS).any(|t| set.alphabet(t) != classes.alphabet()) {
            return Err(Error::TableSetInvalid);
        }
        let mut info = [0u32; 32];
        for (s, i) in info.iter_mut().enumerate() {
            *i = class_info(s, buckets);
        }
        Ok(ContextModel { k, successors, classes, info })
    }

    /// Everything [`Self::from_table_set`] checks, and that every successor-list entry
    /// is a token (<= 1023).
    pub(crate) fn validate(set: &TableSetRef<'_>) -> Result<()> {
        let model = ContextModel::from_table_set(set)?;
        if model.successors.chunks_exact(2).any(|b| u16::from_le_bytes([b[0], b[1]]) > crate::container::MAX_TOKEN) {
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

    /// Entry `rank` (`< K`) of the successor list of token `p` (`< 1024`).
    #[inline(always)]
    pub fn successor(&self, p: u16, rank: usize) -> u16 {
        let i = 2 * ((p as usize & 1023) * self.k + rank);
        u16::from_le_bytes([self.successors[i], self.successors[i + 1]])
    }
}

//! Device footprint of a table set: the serialised table set (postcard, as
//! `codec/FORMAT.md` describes it) plus the compiled decode image, both as the
//! firmware stores them in flash.

use crate::model::ListShape;
use vqtans::table_set::CHECKSUM_LEN;

/// Storage choices of a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub name: &'static str,
    /// Successor-list entries as 10-bit fields (else `u16`).
    pub packed_lists: bool,
    /// 16-bit decode entries where they fit (else always 32-bit).
    pub short_entries: bool,
    /// A 100-byte map from fine context to table (else exactly 100 tables).
    pub ctx_map: bool,
    /// Per-predecessor list lengths (tiered lists) allowed.
    pub tiered: bool,
    /// Two-hop list extensions allowed.
    pub two_hop: bool,
}

/// Today's format: `u16` lists, 32-bit entries, 100 contexts, uniform `K`.
pub const TODAY: Format =
    Format { name: "today", packed_lists: false, short_entries: false, ctx_map: false, tiered: false, two_hop: false };
/// Today's model section with 16-bit entries only.
pub const SHORT: Format = Format {
    name: "short-entries",
    packed_lists: false,
    short_entries: true,
    ctx_map: false,
    tiered: false,
    two_hop: false,
};
/// Packed lists and 16-bit entries, 100 contexts.
pub const PACKED: Format = Format {
    name: "packed+short",
    packed_lists: true,
    short_entries: true,
    ctx_map: false,
    tiered: false,
    two_hop: false,
};
/// Everything proposed: packed lists, 16-bit entries, a context map.
pub const PROPOSED: Format = Format {
    name: "packed+short+ctxmap",
    packed_lists: true,
    short_entries: true,
    ctx_map: true,
    tiered: false,
    two_hop: false,
};
/// Proposed plus two-hop list extensions.
pub const TWO_HOP: Format = Format {
    name: "proposed+twohop",
    packed_lists: true,
    short_entries: true,
    ctx_map: true,
    tiered: false,
    two_hop: true,
};
/// Proposed plus tiered lists.
pub const TIERED: Format = Format {
    name: "proposed+tiered",
    packed_lists: true,
    short_entries: true,
    ctx_map: true,
    tiered: true,
    two_hop: false,
};

fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Bits needed for values `0..=v`.
fn bits_for(v: u32) -> u32 {
    32 - v.leading_zeros()
}

/// Bytes of one decode entry for state log `m`, an alphabet of `alphabet` symbols and
/// every count at least `floor` (largest bit count per step `m - floor_log2(floor)`),
/// or `None` if the format cannot store such tables at all.
///
/// A 16-bit entry holds symbol, bit count and next-state base side by side (the base
/// needs all `m` bits): it fits when `symbol bits + count bits + m <= 16`.
pub fn entry_bytes(format: &Format, m: u8, alphabet: usize, floor: u16) -> usize {
    let sym_bits = bits_for(alphabet as u32 - 1);
    let max_nb = m as u32 - (31 - (floor as u32).leading_zeros());
    if format.short_entries && sym_bits + bits_for(max_nb) + m as u32 <= 16 {
        2
    } else {
        4
    }
}

/// Bytes of the serialised table set.
pub fn blob_bytes(format: &Format, shape: ListShape, tables: usize, alphabet: usize) -> Option<usize> {
    if !format.ctx_map && tables != 100 {
        return None;
    }
    match shape {
        ListShape::Uniform(_) => {}
        ListShape::Tiered { .. } if format.tiered => {}
        ListShape::TwoHop { .. } if format.two_hop => {}
        _ => return None,
    }
    let entries = shape.entries();
    let lists = if format.packed_lists { (entries * 10).div_ceil(8) } else { 2 * entries };
    // Kind, version, K (today); proposed sections add list/entry/context-set
    // parameters (4 bytes), the context map and the tiers' row index.
    let mut model = 4 + lists;
    if format != &TODAY {
        model += 4;
    }
    if tables != 100 {
        model += 100;
    }
    if matches!(shape, ListShape::Tiered { .. }) {
        model += 2 * 1024;
    }
    let counts = 2 * tables * alphabet;
    // Format byte, state log, the four byte strings, then the blob's CRC-32.
    Some(
        1 + 1
            + varint_len(tables)
            + tables
            + varint_len(2 * tables)
            + 2 * tables
            + varint_len(counts)
            + counts
            + varint_len(model)
            + model
            + CHECKSUM_LEN,
    )
}

/// Bytes of the compiled image.
pub fn image_bytes(format: &Format, tables: usize, m: u8, alphabet: usize, floor: u16) -> usize {
    (tables << m as usize) * entry_bytes(format, m, alphabet, floor)
}

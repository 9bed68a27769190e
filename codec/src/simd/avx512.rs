//! The AVX-512 kernel: one context-model frame at a time, each row's 16 tokens in
//! one register, bit-identical to the scalar reference as the AVX2 kernel is.
//!
//! It does the AVX2 kernel's work (see `avx2.rs`) with what AVX-512 F/BW/VL/VBMI
//! adds, so a row takes about half the instructions:
//! - all 16 columns in one 512-bit register of 32-bit lanes: one gather of 16
//!   decode entries instead of two of 8, one prefix sum over 16 lanes (four
//!   `valignd` steps, no carry between halves);
//! - the context map (100 bytes padded to 128) stays in two registers for the frame
//!   and is looked up with one `vpermi2b`, where AVX2 gathers it from memory;
//! - every bit of a row lies in one 64-byte window of the payload: one load, and one
//!   `vpermb` gives each lane the 4 bytes at its offset. Those 32 bits hold both the
//!   token's class bits and its raw bits (at most 7 + 15 + 10 = 32), so a row does
//!   one window lookup where AVX2 does four (two halves, class and raw bits apart);
//! - compares give mask registers: the kinds, the next row's contexts, the escape
//!   lanes, the successor lanes, the own-list ranks and the corruption flags are
//!   masked adds and masked moves instead of compare-and-blend;
//! - the context bases, the kinds and the tokens narrow and widen with
//!   `vpmovdb`/`vpmovdw`/`vpmovzx` instead of pack-and-permute.
//!
//! Memory safety rests on the same clamps as the AVX2 kernel's (see there): contexts
//! below 100 by construction, states masked to `M` bits, the image's size checked in
//! [`Kernel::new`], bit counts clamped to 15 and 10, successor indices clamped into
//! the lists, and the driver (`driver::Kernel::frame`) runs [`Kernel::rows`] only
//! with [`FRAME_MARGIN`] payload bytes left after the current position.

use core::arch::x86_64::*;

use super::state::{KernelState, TableFacts};
use crate::container::{COLS, FRAME_TOKENS, ROWS};
use crate::model::context::classes::OWN_DEPTH;
use crate::model::context::contexts::{CONTEXTS, UP_NONE};
use crate::model::context::{ContextModel, ListCoding};
use crate::tans::decode_table::{DecodeTables, Image};

/// Most bits one token reads: 15 class bits and 10 raw bits.
const TOKEN_BITS: usize = 15 + 10;
/// Bytes of a bit window: all 16 columns of a row.
pub(super) const WINDOW: usize = 64;
/// One window serves a row: the last lane's 4 bytes start at most 7 + 15 tokens in
/// (at that byte, rounded down: it is where the lane's bytes start).
#[allow(clippy::manual_div_ceil)]
const _: () = assert!((7 + 15 * TOKEN_BITS) / 8 + 4 <= WINDOW);
/// A lane's 4 bytes hold its class and raw bits from any bit offset within a byte.
const _: () = assert!(7 + TOKEN_BITS <= 32);
/// Last byte a window may start at, relative to the frame's first byte: the bit
/// position never passes 7 + 8 rows of class and raw bits.
pub(super) const MAX_WINDOW_START: usize = (ROWS * COLS * TOKEN_BITS).div_ceil(8);
/// Most payload bytes one frame reads from its first byte on.
pub(super) const FRAME_MAX_BYTES: usize = MAX_WINDOW_START + WINDOW;
/// Bytes the payload must have from the frame's first byte on for the kernel to run.
pub(super) const FRAME_MARGIN: usize = FRAME_MAX_BYTES + 8;
const _: () = assert!(FRAME_MARGIN >= (FRAME_TOKENS * 10).div_ceil(8) + 8, "frame 0 fits the margin too");
/// Kinds of table set ([`Kernel::variant`]), each with a copy of the row loop: a
/// context map, 16-bit image entries, 10-bit lists, and their combinations.
const MAP: u8 = 1;
const SHORT: u8 = 2;
const PACKED: u8 = 4;
const V_MS: u8 = MAP | SHORT;
const V_MP: u8 = MAP | PACKED;
const V_SP: u8 = SHORT | PACKED;
const V_MSP: u8 = MAP | SHORT | PACKED;

/// The context map padded to the 128 bytes two registers hold.
const MAP_BYTES: usize = 128;
const _: () = assert!(CONTEXTS <= MAP_BYTES);

/// What the kernel needs from the table set, checked once.
pub(super) struct Kernel<'a> {
    /// The compiled image: `T` tables of `2^M` entries (32 or 16 bits).
    image: Image<'a>,
    /// The context map padded to 128 bytes, if the set has one other than the
    /// identity.
    pub(super) map: Option<[u8; MAP_BYTES]>,
    /// Successor lists: 1024 x `k` entries coded as `coding`.
    successors: &'a [u8],
    coding: ListCoding,
    k: u32,
    /// Per class symbol `s = min(class, escape)` (32 entries, `s <= 30`): the kind,
    /// the raw bit count, the mask of that many bits, and the first successor rank
    /// of its bucket (0 for the other classes).
    pub(super) kind: [u32; 32],
    /// Entry 0 of the lists (as `u16`).
    first_successor: u16,
    pub(super) raw_bits: [u32; 32],
    pub(super) raw_mask: [u32; 32],
    pub(super) edge: [u32; 32],
    /// The escape class symbol `OWN_DEPTH + buckets`.
    pub(super) escape: u32,
    pub(super) state_mask: u32,
}

/// What the tail of a row (successors, own lists, tokens) needs from its head.
#[derive(Clone, Copy)]
struct RowTail {
    row: usize,
    /// Entry bits 16.. (the class symbol in the low 5 bits).
    class: __m512i,
    kinds: __m512i,
    /// Each lane's raw bits.
    raw: __m512i,
}

/// One frame's decoding work for one chain: the state it starts from, the payload
/// bytes from the frame's first byte on, and where its tokens go.
pub(super) struct Chain<'c> {
    /// The chain's state; `ks.bit % 8` is the bit position within the first byte.
    pub(super) ks: &'c mut KernelState,
    /// At least [`FRAME_MAX_BYTES`] readable bytes.
    pub(super) bytes: *const u8,
    pub(super) out: &'c mut [u16; FRAME_TOKENS],
}

impl<'a> Kernel<'a> {
    /// Checks everything the kernel's memory accesses rely on; `None` if anything is
    /// off (the scalar decoder then does the whole stream).
    pub(super) fn new(tables: &DecodeTables<'a>, model: &ContextModel<'a>) -> Option<Self> {
        let TableFacts { image, map, successors, coding, k, escape, state_mask } = TableFacts::new(tables, model)?;
        // A lane's 4 bytes hold 7 + 15 + 10 bits: the largest bucket (class
        // escape - 1) must not read more than 10 raw bits.
        if (escape - 1 - 6) / 2 > 10 {
            return None;
        }
        let map = map.map(|map| {
            let mut padded = [0u8; MAP_BYTES];
            padded[..CONTEXTS].copy_from_slice(map);
            padded
        });
        let own = OWN_DEPTH as u32;
        let kind = core::array::from_fn(|s| {
            let s = s as u32;
            u32::from(s >= 1) + u32::from(s >= own) + u32::from(s >= escape)
        });
        let raw_bits: [u32; 32] =
            core::array::from_fn(|s| if s as u32 >= escape { 10 } else { (s as u32).saturating_sub(6) >> 1 });
        let raw_mask = raw_bits.map(|n| (1u32 << n) - 1);
        // Bucket b = s - 4 starts at rank b for b < 2, else (2 | (b & 1)) << (b / 2 - 1).
        let edge = core::array::from_fn(|s| match (s as u32).checked_sub(own) {
            Some(b) if b >= 2 => (2 | (b & 1)) << (b / 2 - 1),
            Some(b) => b,
            None => 0,
        });
        let first_successor = u16::from_le_bytes([*successors.first()?, *successors.get(1)?]);
        Some(Kernel {
            image,
            map,
            successors,
            coding,
            k,
            kind,
            first_successor,
            raw_bits,
            raw_mask,
            edge,
            escape,
            state_mask,
        })
    }

    /// The 8 rows of one frame >= 1 of each of `N` independent chains, row by row
    /// interleaved (each chain's rows depend on one another, the chains do not, so
    /// an out-of-order core overlaps them). Returns per chain true if a symbol could
    /// not be resolved.
    ///
    /// # Safety
    /// The CPU must support AVX-512 F, BW, VL and VBMI (and so AVX2); every chain's
    /// `bytes` points to at least [`FRAME_MAX_BYTES`] readable bytes.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    pub(super) unsafe fn rows<const N: usize>(&self, chains: [Chain<'_>; N]) -> [bool; N] {
        // One copy of the row loop per kind of table set, so the loop tests nothing
        // about the set.
        // SAFETY: as this function's.
        unsafe {
            match self.variant() {
                0 => self.rows_as::<N, 0>(chains),
                MAP => self.rows_as::<N, MAP>(chains),
                SHORT => self.rows_as::<N, SHORT>(chains),
                PACKED => self.rows_as::<N, PACKED>(chains),
                V_MS => self.rows_as::<N, V_MS>(chains),
                V_MP => self.rows_as::<N, V_MP>(chains),
                V_SP => self.rows_as::<N, V_SP>(chains),
                _ => self.rows_as::<N, V_MSP>(chains),
            }
        }
    }

    /// The kind of table set: [`MAP`], [`SHORT`], [`PACKED`] or'd together.
    fn variant(&self) -> u8 {
        let map = if self.map.is_some() { MAP } else { 0 };
        let short = if let Image::Short(_) = self.image { SHORT } else { 0 };
        let packed = if let ListCoding::Packed10 = self.coding { PACKED } else { 0 };
        map | short | packed
    }

    /// [`Kernel::rows`] for a table set of kind `V` ([`Kernel::variant`]).
    ///
    /// # Safety
    /// As [`Kernel::rows`]; `V` is [`Kernel::variant`].
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    unsafe fn rows_as<const N: usize, const V: u8>(&self, mut chains: [Chain<'_>; N]) -> [bool; N] {
        let m = _mm_cvtsi32_si128(self.state_mask.count_ones() as i32);
        let state_mask = _mm512_set1_epi32(self.state_mask as i32);
        let base_field = _mm512_set1_epi32(0xFFFF);
        let escape = _mm512_set1_epi32(self.escape as i32);
        let fifteen = _mm512_set1_epi32(15);
        let zero = _mm512_setzero_si512();
        // SAFETY: each table has 32 u32 (two 64-byte loads); the map 128 bytes.
        let table = |t: &[u32; 32]| {
            (_mm512_loadu_si512(t.as_ptr() as *const _), _mm512_loadu_si512(t.as_ptr().add(16) as *const _))
        };
        let (kind_lo, kind_hi) = table(&self.kind);
        let (raw_bits_lo, raw_bits_hi) = table(&self.raw_bits);
        let (raw_mask_lo, raw_mask_hi) = table(&self.raw_mask);
        let (edge_lo, edge_hi) = table(&self.edge);
        let map = self.map.as_ref().map(|map| {
            (_mm512_loadu_si512(map.as_ptr() as *const _), _mm512_loadu_si512(map.as_ptr().add(64) as *const _))
        });

        // SAFETY (all loads and stores of this function): `states` has 16 u32,
        // `kinds` 128 u8, each plane of `own` and `out` 128 u16, accessed at offsets
        // row * 16 with row < 8.
        let bases: [[__m512i; ROWS]; N] = core::array::from_fn(|c| context_bases(&chains[c].ks.kinds));
        let mut x: [__m512i; N] =
            core::array::from_fn(|c| _mm512_loadu_si512(chains[c].ks.states.as_ptr() as *const _));
        // Bit positions relative to each frame's first byte.
        let mut pos: [usize; N] = core::array::from_fn(|c| chains[c].ks.bit % 8);
        let mut ctx: [__m512i; N] =
            core::array::from_fn(|c| _mm512_add_epi32(bases[c][0], _mm512_set1_epi32(UP_NONE as i32)));
        let mut bad: [__mmask16; N] = [0; N];

        // Each row in two parts: the head (entries, bit counts, offsets, bit window,
        // next states: the row-to-row chain) of every chain's row r is issued before
        // the tail (successor gather, own lists, stores) of row r - 1, so that the
        // scheduler holds the chains' heads together and the tails, whose inputs are
        // ready by then, fill the gaps instead of crowding them out.
        let mut tail: [Option<RowTail>; N] = [None; N];
        for r in 0..=ROWS {
            let mut next: [Option<RowTail>; N] = [None; N];
            if r < ROWS {
                let mut entries = [zero; N];
                for c in 0..N {
                    // 1. Entries at (table << M) + state. The map lookup takes the low
                    // byte of each lane (the context, below 100 by construction); the
                    // others look up entry 0 and are masked off.
                    let t = match map {
                        Some((lo, hi)) if V & MAP != 0 => {
                            _mm512_and_si512(_mm512_permutex2var_epi8(lo, ctx[c], hi), _mm512_set1_epi32(0xFF))
                        }
                        _ => ctx[c],
                    };
                    let idx = _mm512_add_epi32(_mm512_sll_epi32(t, m), _mm512_and_si512(x[c], state_mask));
                    // SAFETY: the table is below T (the context itself when there is no
                    // map: then T = CONTEXTS; else a map entry, checked below T in
                    // `TableFacts::new`), the masked state is below 2^M and the image has
                    // T << M entries, so the index is in the image.
                    entries[c] = self.entries_as::<V>(idx);
                }
                // 2. Class symbols, their kinds and the next row's contexts. A class
                // is below the set's alphabet (escape + 1 <= 31: every table's
                // alphabet is the model's, `ContextModel::from_table_set`, and the
                // image is compiled or verified from the set), so the per-class
                // lookups index straight by the entry's bits 16.. (they read the low
                // 5 bits of each lane).
                // 3. Bit counts: each token's class bits, then its raw bits; lane
                // offsets are the exclusive prefix sums of the two together.
                // Each step for every chain before the next step, so that the
                // scheduler takes in the chains' dependent steps side by side.
                let class: [__m512i; N] = core::array::from_fn(|c| _mm512_srli_epi32::<16>(entries[c]));
                let kinds: [__m512i; N] =
                    core::array::from_fn(|c| _mm512_permutex2var_epi32(kind_lo, class[c], kind_hi));
                if r + 1 < ROWS {
                    for c in 0..N {
                        ctx[c] = _mm512_add_epi32(bases[c][r + 1], kinds[c]);
                    }
                }
                let nb: [__m512i; N] =
                    core::array::from_fn(|c| _mm512_min_epu32(_mm512_srli_epi32::<27>(entries[c]), fifteen));
                let cnt: [__m512i; N] = core::array::from_fn(|c| {
                    _mm512_add_epi32(nb[c], _mm512_permutex2var_epi32(raw_bits_lo, class[c], raw_bits_hi))
                });
                let inclusive: [__m512i; N] = core::array::from_fn(|c| prefix_sum16(cnt[c], zero));
                for c in 0..N {
                    // Exclusive sums plus the bit position in the first byte: the
                    // inclusive sums plus (position - count), which is ready before the
                    // sums are (one add after the scan on the row-to-row chain).
                    let start = _mm512_set1_epi32((pos[c] % 8) as i32);
                    let off = _mm512_add_epi32(inclusive[c], _mm512_sub_epi32(start, cnt[c]));
                    let total = _mm_extract_epi32::<3>(_mm512_extracti32x4_epi32::<3>(inclusive[c])) as u32 as usize;

                    // 4. The row's bits from the window at `pos`: each lane's 4 bytes
                    // hold its class bits and then its raw bits. SAFETY: `bytes` has
                    // FRAME_MAX_BYTES readable bytes (this function's contract).
                    let (cbits, raw) =
                        window_bits(chains[c].bytes, pos[c], off, nb[c], class[c], (raw_mask_lo, raw_mask_hi));
                    pos[c] += total;
                    // New states: base + bits.
                    x[c] = _mm512_add_epi32(_mm512_and_si512(entries[c], base_field), cbits);
                    next[c] = Some(RowTail { row: r, class: class[c], kinds: kinds[c], raw });
                }
            }
            for c in 0..N {
                if let Some(RowTail { row, class, kinds, raw }) = tail[c] {
                    let ks = &mut *chains[c].ks;
                    // 5. Tokens, kinds and own lists.
                    _mm_storeu_si128(
                        ks.kinds.as_mut_ptr().add(row * COLS) as *mut __m128i,
                        _mm512_cvtepi32_epi8(kinds),
                    );
                    let sym = _mm512_and_si512(class, _mm512_set1_epi32(31));
                    let planes = ks.own_row(row).map(|p| p as *mut __m256i);
                    let l0 = _mm256_loadu_si256(planes[0]);
                    let esc = _mm512_cmpeq_epi32_mask(sym, escape);
                    let is_bucket = _mm512_cmpeq_epi32_mask(kinds, _mm512_set1_epi32(2));
                    let edge = _mm512_permutex2var_epi32(edge_lo, class, edge_hi);
                    let nt = self.successor_or_escape_as::<V>(
                        edge,
                        raw,
                        esc,
                        is_bucket,
                        _mm512_cvtepu16_epi32(l0),
                        &mut bad[c],
                    );
                    let tokens = update_own(&planes, l0, sym, _mm512_cvtepi32_epi16(nt), &mut bad[c]);
                    _mm256_storeu_si256(chains[c].out.as_mut_ptr().add(row * COLS) as *mut __m256i, tokens);
                }
            }
            tail = next;
        }

        core::array::from_fn(|c| {
            let ks = &mut *chains[c].ks;
            _mm512_storeu_si512(ks.states.as_mut_ptr() as *mut _, x[c]);
            ks.bit = (ks.bit & !7) + pos[c];
            bad[c] != 0
        })
    }

    /// The image entries at `idx` (each below the number of entries), in the 32-bit
    /// layout.
    ///
    /// # Safety
    /// The kernel's CPU features; every index is below the image's number of entries.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    pub(super) unsafe fn entries(&self, idx: __m512i) -> __m512i {
        // SAFETY: as this function's; the variant is the set's.
        unsafe {
            match self.image {
                Image::Wide(_) => self.entries_as::<0>(idx),
                Image::Short(_) => self.entries_as::<SHORT>(idx),
            }
        }
    }

    /// [`Kernel::entries`] for a table set of kind `V` ([`Kernel::variant`]).
    ///
    /// # Safety
    /// As [`Kernel::entries`]; `V` is [`Kernel::variant`].
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    unsafe fn entries_as<const V: u8>(&self, idx: __m512i) -> __m512i {
        match self.image {
            Image::Wide(words) if V & SHORT == 0 => _mm512_i32gather_epi32::<4>(idx, words.as_ptr() as *const i32),
            Image::Wide(_) => _mm512_setzero_si512(),
            Image::Short(_) if V & SHORT == 0 => _mm512_setzero_si512(),
            Image::Short(entries) => {
                // The 4 bytes ending with entry idx (or starting with it, for idx 0):
                // inside the image for every idx below its length.
                let byte = _mm512_max_epi32(
                    _mm512_sub_epi32(_mm512_add_epi32(idx, idx), _mm512_set1_epi32(2)),
                    _mm512_setzero_si512(),
                );
                let shift = _mm512_slli_epi32::<4>(_mm512_min_epu32(idx, _mm512_set1_epi32(1)));
                let g = _mm512_i32gather_epi32::<1>(byte, entries.as_ptr() as *const i32);
                let e = _mm512_and_si512(_mm512_srlv_epi32(g, shift), _mm512_set1_epi32(0xFFFF));
                let base = _mm512_and_si512(e, _mm512_set1_epi32(0xFF));
                let nb = _mm512_slli_epi32::<19>(_mm512_and_si512(e, _mm512_set1_epi32(0x700)));
                let symbol = _mm512_slli_epi32::<5>(_mm512_and_si512(e, _mm512_set1_epi32(0xF800)));
                _mm512_or_si512(_mm512_or_si512(base, nb), symbol)
            }
        }
    }

    /// Tokens of successor and escape lanes (other lanes: don't care), flagging
    /// successor ranks beyond the list in `bad`. `edge` is each lane's bucket's first
    /// rank, `raw` its raw bits (the offset in the bucket, or an escape's token),
    /// `own_front` entry 0 of each lane's own list.
    ///
    /// # Safety
    /// The kernel's CPU features.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    pub(super) unsafe fn successor_or_escape(
        &self,
        edge: __m512i,
        raw: __m512i,
        esc: __mmask16,
        is_bucket: __mmask16,
        own_front: __m512i,
        bad: &mut __mmask16,
    ) -> __m512i {
        // SAFETY: as this function's; the variant is the set's.
        unsafe {
            match self.coding {
                ListCoding::U16 => self.successor_or_escape_as::<0>(edge, raw, esc, is_bucket, own_front, bad),
                ListCoding::Packed10 => {
                    self.successor_or_escape_as::<PACKED>(edge, raw, esc, is_bucket, own_front, bad)
                }
            }
        }
    }

    /// [`Kernel::successor_or_escape`] for a table set of kind `V`
    /// ([`Kernel::variant`]).
    ///
    /// # Safety
    /// As [`Kernel::successor_or_escape`]; `V` is [`Kernel::variant`].
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    unsafe fn successor_or_escape_as<const V: u8>(
        &self,
        edge: __m512i,
        raw: __m512i,
        esc: __mmask16,
        is_bucket: __mmask16,
        own_front: __m512i,
        bad: &mut __mmask16,
    ) -> __m512i {
        let k_minus_1 = _mm512_set1_epi32(self.k as i32 - 1);
        let rank = _mm512_add_epi32(edge, raw);
        *bad |= _mm512_mask_cmpgt_epu32_mask(is_bucket, rank, k_minus_1);
        // Entry p * K + rank, both clamped into the lists (p <= 1023, rank <= K - 1):
        // p * K as one 16 x 16-bit multiply-add (p and K below 2^15).
        let p = _mm512_and_si512(own_front, _mm512_set1_epi32(1023));
        let idx =
            _mm512_add_epi32(_mm512_madd_epi16(p, _mm512_set1_epi32(self.k as i32)), _mm512_min_epu32(rank, k_minus_1));
        let successor = match self.coding {
            ListCoding::U16 | ListCoding::Packed10 if (V & PACKED == 0) != (self.coding == ListCoding::U16) => {
                _mm512_setzero_si512()
            }
            ListCoding::U16 => {
                // The 4 bytes ending with entry idx, gathered for idx >= 1 (their
                // address is inside the lists); entry 0 comes from `src`.
                let src = _mm512_set1_epi32((self.first_successor as i32) << 16);
                let load = _mm512_mask_test_epi32_mask(is_bucket, idx, idx);
                // SAFETY: 1 <= idx < 1024 * K for the lanes that load, so the 4 bytes
                // at 2 * idx - 2 are inside the lists (2 * 1024 * K bytes, checked in
                // `TableFacts::new`).
                let g = _mm512_mask_i32gather_epi32::<2>(
                    src,
                    load,
                    idx,
                    self.successors.as_ptr().wrapping_sub(2) as *const i32,
                );
                _mm512_srli_epi32::<16>(g)
            }
            ListCoding::Packed10 => {
                // The 4 bytes from the one holding bit 10 idx, or the last 4 bytes of
                // the lists if fewer follow it (the entry's 10 bits are inside them).
                let bit = _mm512_mullo_epi32(idx, _mm512_set1_epi32(10));
                let last = _mm512_set1_epi32(self.successors.len() as i32 - 4);
                let byte = _mm512_min_epi32(_mm512_srli_epi32::<3>(bit), last);
                // SAFETY: byte + 4 <= successors.len() by the `min`. Lanes outside
                // `is_bucket` load nothing.
                let g = _mm512_mask_i32gather_epi32::<1>(
                    _mm512_setzero_si512(),
                    is_bucket,
                    byte,
                    self.successors.as_ptr() as *const i32,
                );
                let shift = _mm512_sub_epi32(bit, _mm512_slli_epi32::<3>(byte));
                _mm512_and_si512(_mm512_srlv_epi32(g, shift), _mm512_set1_epi32(0x3FF))
            }
        };
        _mm512_mask_mov_epi32(successor, esc, raw)
    }
}

/// A row's bits from the 64-byte payload window at byte `pos / 8` of `bytes`:
/// one load, one `vpermb` giving each lane the 4 bytes at its bit offset `off`
/// (relative to the window's first byte), a shift by `off % 8`; returns the `nb`
/// class bits of each lane and the raw bits after them (as many as the `raw_mask`
/// table, two registers of 16 lanes, gives for the lane's class symbol `sym`).
///
/// # Safety
/// AVX-512 F, BW and VBMI; `bytes` points to at least [`FRAME_MAX_BYTES`] readable
/// bytes. `pos` only grows by the clamped bit counts, so the window starts at most
/// [`MAX_WINDOW_START`] bytes in (the `min` makes that hold whatever happens) and
/// ends within [`FRAME_MAX_BYTES`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
pub(super) unsafe fn window_bits(
    bytes: *const u8,
    pos: usize,
    off: __m512i,
    nb: __m512i,
    sym: __m512i,
    raw_mask: (__m512i, __m512i),
) -> (__m512i, __m512i) {
    // (1 << n) - 1 for n = 0..16.
    let nb_masks = _mm512_setr_epi32(0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 2047, 4095, 8191, 16383, 32767);
    // Each lane's first byte index in all four of its bytes, plus 0, 1, 2, 3.
    let spread = _mm512_set4_epi32(0x0C0C_0C0C, 0x0808_0808, 0x0404_0404, 0);
    let byte_steps = _mm512_set1_epi32(0x0302_0100);
    // SAFETY: inside the FRAME_MAX_BYTES bytes (this function's contract).
    let window = _mm512_loadu_si512(bytes.add((pos / 8).min(MAX_WINDOW_START)) as *const _);
    let index = _mm512_add_epi8(_mm512_shuffle_epi8(_mm512_srli_epi32::<3>(off), spread), byte_steps);
    let bits = _mm512_srlv_epi32(_mm512_permutexvar_epi8(index, window), _mm512_and_si512(off, _mm512_set1_epi32(7)));
    let cbits = _mm512_and_si512(bits, _mm512_permutexvar_epi32(nb, nb_masks));
    let raw = _mm512_and_si512(_mm512_srlv_epi32(bits, nb), _mm512_permutex2var_epi32(raw_mask.0, sym, raw_mask.1));
    (cbits, raw)
}

/// Context bases `(gprev * 5 + nbb) * 5` of the next frame as 32-bit lanes, per row,
/// from the kinds of the last frame (as `avx2::context_base_bytes` computes them):
/// all 8 rows in two registers, a row per 128-bit lane, so the horizontal neighbours
/// are byte shifts within lanes and the vertical ones lane shifts. Every base is at
/// most 95 whatever the kinds hold.
///
/// # Safety
/// AVX-512 F, BW and VBMI.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
pub(super) unsafe fn context_bases(kinds: &[u8; FRAME_TOKENS]) -> [__m512i; ROWS] {
    // Read 16 bytes at a time, as the kernel wrote them a row at a time: a wider load
    // than the stores it reads is not forwarded from them and waits until they have
    // all reached the cache, which stalls the start of every frame.
    // SAFETY: 8 x 16 bytes of the 128.
    let row = |r: usize| _mm_loadu_si128(kinds.as_ptr().add(r * COLS) as *const __m128i);
    let k: [__m512i; 2] = core::array::from_fn(|i| {
        let low = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(row(4 * i)), row(4 * i + 1));
        let high = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(row(4 * i + 2)), row(4 * i + 3));
        _mm512_inserti64x4::<1>(_mm512_castsi256_si512(low), high)
    });
    let one = _mm512_set1_epi8(1);
    let zero = _mm512_setzero_si512();
    // Per row: changed neighbours to the left, here and to the right.
    let h = k.map(|k| {
        let changed = _mm512_min_epu8(k, one);
        _mm512_add_epi8(_mm512_add_epi8(changed, _mm512_bslli_epi128::<1>(changed)), _mm512_bsrli_epi128::<1>(changed))
    });
    // Plus the rows above and below (none above row 0, none below row 7).
    let above = [_mm512_alignr_epi64::<6>(h[0], zero), _mm512_alignr_epi64::<6>(h[1], h[0])];
    let below = [_mm512_alignr_epi64::<2>(h[1], h[0]), _mm512_alignr_epi64::<2>(zero, h[1])];
    // nbb bucket * 5 of n = 0..9, and kind * 25 of kind = 0..3 (pshufb reads only the
    // low 4 bits of an index below 128, and gives 0 for the others).
    let nbb5 = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 5, 5, 10, 10, 10, 15, 15, 15, 20, 20, 20, 20, 20, 20, 20));
    let kind25 = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 25, 50, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75));
    let base: [__m512i; 2] = core::array::from_fn(|i| {
        let n = _mm512_add_epi8(_mm512_add_epi8(h[i], above[i]), below[i]);
        _mm512_add_epi8(_mm512_shuffle_epi8(kind25, k[i]), _mm512_shuffle_epi8(nbb5, n))
    });
    // Row r's 16 bytes, each into the low byte of a 32-bit lane.
    core::array::from_fn(|r| {
        let spread = _mm512_add_epi32(
            _mm512_set1_epi32(((r % 4) * 16) as i32),
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        );
        _mm512_maskz_permutexvar_epi8(0x1111_1111_1111_1111, spread, base[r / 4])
    })
}

/// Inclusive prefix sums of 16 lanes (`zero`: a zero register).
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn prefix_sum16(a: __m512i, zero: __m512i) -> __m512i {
    // alignr(a, zero, 16 - k): lane i takes lane i - k of `a`, zero below k.
    let a = _mm512_add_epi32(a, _mm512_alignr_epi32::<15>(a, zero));
    let a = _mm512_add_epi32(a, _mm512_alignr_epi32::<14>(a, zero));
    let a = _mm512_add_epi32(a, _mm512_alignr_epi32::<12>(a, zero));
    _mm512_add_epi32(a, _mm512_alignr_epi32::<8>(a, zero))
}

/// Resolves the tokens of one row and updates its own lists in place (`planes`: the
/// row's 16 entries of each rank; `l0` already loaded from `planes[0]`), given the
/// class symbols `sym` (32-bit lanes, <= escape) and the successor/escape tokens `nt`
/// (16 x u16), as `avx2::update_own` does, with mask registers. Flags an own-list
/// rank that is empty in `bad`. Returns the tokens.
///
/// # Safety
/// AVX-512 F, BW and VL; each of `planes` is valid for 32-byte loads and stores.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2")]
pub(super) unsafe fn update_own(
    planes: &[*mut __m256i; 4],
    l0: __m256i,
    sym: __m512i,
    nt: __m256i,
    bad: &mut __mmask16,
) -> __m256i {
    // SAFETY: the caller guarantees the planes are valid for 32 bytes.
    let l1 = _mm256_loadu_si256(planes[1]);
    let l2 = _mm256_loadu_si256(planes[2]);
    let l3 = _mm256_loadu_si256(planes[3]);
    // below[k]: lanes whose class is below k (own ranks 0..k).
    let below = |k: i32| _mm512_cmplt_epu32_mask(sym, _mm512_set1_epi32(k));
    let (below1, below2, below3, own) = (below(1), below(2), below(3), below(OWN_DEPTH as i32));
    // Own lanes: the entry at their rank.
    let own_token =
        _mm256_mask_mov_epi16(_mm256_mask_mov_epi16(_mm256_mask_mov_epi16(l3, below3, l2), below2, l1), below1, l0);
    *bad |= _mm256_mask_cmpeq_epi16_mask(own, own_token, _mm256_set1_epi16(-1));
    let token = _mm256_mask_mov_epi16(nt, own, own_token);
    // Entry k keeps its value where the rank taken is below k, else takes entry k - 1
    // (successor and escape tokens are new to the list: every entry moves down one).
    _mm256_storeu_si256(planes[0], token);
    _mm256_storeu_si256(planes[1], _mm256_mask_mov_epi16(l0, below1, l1));
    _mm256_storeu_si256(planes[2], _mm256_mask_mov_epi16(l1, below2, l2));
    _mm256_storeu_si256(planes[3], _mm256_mask_mov_epi16(l2, below3, l3));
    token
}

//! The AVX2 kernel: one context-model frame at a time, each row's 16 tokens at once.
//!
//! Lane `c` of a row works on column `c` (32-bit lanes: `a` = columns 0..8, `b` =
//! columns 8..16; 16-bit lanes: all 16 columns in one register). Per row:
//! 1. contexts `base + up`, where `up` is the kind the previous row just decoded;
//! 2. gather the 16 decode entries at `(table << M) + state` (expanded tables,
//!    one entry per state; `table` = the context, or for a set with a context map
//!    gathered from a table of `map[context] << M`; 16-bit entries are gathered as
//!    the 32 bits ending with them and widened to the 32-bit layout);
//! 3. class bit counts plus raw bit counts (bucket offset bits, or 10 for an escape),
//!    prefix-summed across the 16 lanes: every lane's bit offset for its class bits,
//!    its raw bits following;
//! 4. the bits of columns 0..8 lie in one 32-byte window of the payload, those of
//!    columns 8..16 in another: one load per window, then a byte shuffle gives each
//!    lane the 4 bytes at its offset; shift and mask give the bits (new states, raw
//!    values);
//! 5. successor tokens (one masked gather from the successor lists, `u16` or 10-bit
//!    packed) and the own lists, kept as four planes of 16-bit entries (rank 0..3 of
//!    all 128 positions), updated with compares and blends.
//!
//! Memory safety does not rest on the tables or the payload being well formed:
//! contexts stay below 100 by construction (bases from constant tables, kinds from
//! compares), states are masked to `M` bits, the image's size is checked once
//! in [`Kernel::new`], bit counts are clamped to 15 and 10 (the most a valid stream
//! has) so a frame never reads more than [`FRAME_MAX_BYTES`], successor indices are
//! clamped into the lists; and the driver (`driver::Kernel::frame`) runs
//! [`Kernel::rows`] only when the payload has [`FRAME_MARGIN`] bytes left after the
//! current position.

use core::arch::x86_64::*;

use super::state::{KernelState, TableFacts};
use crate::container::{COLS, FRAME_TOKENS, ROWS};
use crate::model::context::classes::OWN_DEPTH;
use crate::model::context::contexts::{CONTEXTS, UP_NONE};
use crate::model::context::{ContextModel, ListCoding};
use crate::tans::decode_table::{DecodeTables, Image};

/// Most bits one token reads: 15 class bits and 10 raw bits.
const TOKEN_BITS: usize = 15 + 10;
/// Bytes of a bit window: a lane reads 3 bytes at its byte offset (7 + 15 bits).
const WINDOW: usize = 32;
/// One window serves 8 columns: the last one's raw bits start at most 7 + 7 tokens +
/// 15 class bits in.
const _: () = assert!((7 + 7 * TOKEN_BITS + 15) / 8 + 3 <= WINDOW);
/// Last byte a window may start at, relative to the frame's first byte: the bit
/// position never passes 7 + 8 rows of class and raw bits.
pub(super) const MAX_WINDOW_START: usize = (ROWS * COLS * TOKEN_BITS).div_ceil(8);
/// Most payload bytes one frame reads from its first byte on.
pub(super) const FRAME_MAX_BYTES: usize = MAX_WINDOW_START + WINDOW;
/// Bytes the payload must have from the frame's first byte on for the kernel to run.
pub(super) const FRAME_MARGIN: usize = FRAME_MAX_BYTES + 8;
const _: () = assert!(FRAME_MARGIN >= (FRAME_TOKENS * 10).div_ceil(8) + 8, "frame 0 fits the margin too");

/// What the kernel needs from the table set, checked once.
pub(super) struct Kernel<'a> {
    /// The compiled image: `T` tables of `2^M` entries (32 or 16 bits).
    pub(super) image: Image<'a>,
    /// `map[context] << M` for each context, if the set has a context map other
    /// than the identity.
    pub(super) map_shifted: Option<[i32; CONTEXTS]>,
    /// Successor lists: 1024 x `k` entries coded as `coding`.
    successors: &'a [u8],
    coding: ListCoding,
    k: u32,
    /// The escape class symbol `OWN_DEPTH + buckets`.
    pub(super) escape: u32,
    pub(super) state_mask: u32,
}

impl<'a> Kernel<'a> {
    /// Checks everything the kernel's memory accesses rely on; `None` if anything is
    /// off (the scalar decoder then does the whole stream).
    pub(super) fn new(tables: &DecodeTables<'a>, model: &ContextModel<'a>) -> Option<Self> {
        let f = TableFacts::new(tables, model)?;
        let m = f.state_log();
        let map_shifted = f.map.map(|map| map.map(|t| (t as i32) << m));
        let TableFacts { image, successors, coding, k, escape, state_mask, .. } = f;
        Some(Kernel { image, map_shifted, successors, coding, k, escape, state_mask })
    }

    /// The 8 rows of a frame >= 1. Returns true if a symbol could not be resolved.
    ///
    /// # Safety
    /// AVX2 is available and `frame_bytes` points to at least [`FRAME_MAX_BYTES`]
    /// readable bytes; `ks.bit % 8` is the bit position within its first byte.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn rows(
        &self,
        ks: &mut KernelState,
        frame_bytes: *const u8,
        out: &mut [u16; FRAME_TOKENS],
    ) -> bool {
        let bases = context_bases(&ks.kinds);
        let m = _mm_cvtsi32_si128(self.state_mask.count_ones() as i32);
        let mask16 = _mm256_set1_epi32(0xFFFF);
        let state_mask = _mm256_set1_epi32(self.state_mask as i32);
        let escape = self.escape as i32;
        let class_field = _mm256_set1_epi32(0x03FF_0000);
        let escape_field = _mm256_set1_epi32(escape << 16);
        let fifteen = _mm256_set1_epi32(15);
        let zero = _mm256_setzero_si256();

        // SAFETY (all loads and stores of this function): `states` has 16 u32,
        // `kinds` 128 u8, each plane of `own` and `out` 128 u16, accessed at offsets
        // row * 16 with row < 8.
        let mut xa = _mm256_loadu_si256(ks.states.as_ptr() as *const __m256i);
        let mut xb = _mm256_loadu_si256(ks.states.as_ptr().add(8) as *const __m256i);
        // Bit position relative to the frame's first byte.
        let mut pos = ks.bit % 8;
        let mut ctx_a = _mm256_add_epi32(bases[0].0, _mm256_set1_epi32(UP_NONE as i32));
        let mut ctx_b = _mm256_add_epi32(bases[0].1, _mm256_set1_epi32(UP_NONE as i32));
        let mut bad = zero;

        for r in 0..ROWS {
            // 2. Entries.
            let xma = _mm256_and_si256(xa, state_mask);
            let xmb = _mm256_and_si256(xb, state_mask);
            // SAFETY: contexts are below CONTEXTS (bases <= 95 and kinds <= 3 by
            // construction), so the map gather reads inside `map_shifted`.
            let (tb_a, tb_b) = match &self.map_shifted {
                None => (_mm256_sll_epi32(ctx_a, m), _mm256_sll_epi32(ctx_b, m)),
                Some(map) => {
                    (_mm256_i32gather_epi32::<4>(map.as_ptr(), ctx_a), _mm256_i32gather_epi32::<4>(map.as_ptr(), ctx_b))
                }
            };
            let idx_a = _mm256_add_epi32(tb_a, xma);
            let idx_b = _mm256_add_epi32(tb_b, xmb);
            // SAFETY: the table is below T (the context itself when there is no map:
            // then T = CONTEXTS; else a map entry, checked below T in `new`), the masked
            // state is below 2^M and `new` checked that the image has T << M entries,
            // so the index is in the image.
            let (e_a, e_b) = self.entries(idx_a, idx_b);

            // 1 (next row). Kinds: (class >= 1) + (class >= 4) + (class >= escape),
            // straight from the entry's symbol field; the next row's contexts.
            let em_a = _mm256_and_si256(e_a, class_field);
            let em_b = _mm256_and_si256(e_b, class_field);
            let k1_a = _mm256_cmpgt_epi32(em_a, zero);
            let k1_b = _mm256_cmpgt_epi32(em_b, zero);
            let k2_a = _mm256_cmpgt_epi32(em_a, _mm256_set1_epi32(0x0003_FFFF));
            let k2_b = _mm256_cmpgt_epi32(em_b, _mm256_set1_epi32(0x0003_FFFF));
            let esc_a = _mm256_cmpgt_epi32(em_a, _mm256_set1_epi32(((escape - 1) << 16) | 0xFFFF));
            let esc_b = _mm256_cmpgt_epi32(em_b, _mm256_set1_epi32(((escape - 1) << 16) | 0xFFFF));
            let km_a = _mm256_add_epi32(k1_a, k2_a);
            let km_b = _mm256_add_epi32(k1_b, k2_b);
            if r + 1 < ROWS {
                ctx_a = _mm256_sub_epi32(_mm256_sub_epi32(bases[r + 1].0, esc_a), km_a);
                ctx_b = _mm256_sub_epi32(_mm256_sub_epi32(bases[r + 1].1, esc_b), km_b);
            }
            let kinds = pack_bytes(
                _mm256_sub_epi32(zero, _mm256_add_epi32(km_a, esc_a)),
                _mm256_sub_epi32(zero, _mm256_add_epi32(km_b, esc_b)),
            );
            _mm_storeu_si128(ks.kinds.as_mut_ptr().add(r * COLS) as *mut __m128i, kinds);

            // 3. Bit counts. Symbols beyond the escape act as the escape, as in the
            // scalar model. Raw bits: (class - 6) / 2 for successor buckets from 4 on,
            // none below, 10 for the escape.
            let nb_a = _mm256_min_epu32(_mm256_srli_epi32::<27>(e_a), fifteen);
            let nb_b = _mm256_min_epu32(_mm256_srli_epi32::<27>(e_b), fifteen);
            let sym_a = _mm256_srli_epi32::<16>(_mm256_min_epu32(em_a, escape_field));
            let sym_b = _mm256_srli_epi32::<16>(_mm256_min_epu32(em_b, escape_field));
            let six = _mm256_set1_epi32(6);
            let escape_extra = _mm256_set1_epi32(10 - ((escape - 6) >> 1));
            let rnb_a = _mm256_add_epi32(
                _mm256_srli_epi32::<1>(_mm256_max_epi32(_mm256_sub_epi32(sym_a, six), zero)),
                _mm256_and_si256(esc_a, escape_extra),
            );
            let rnb_b = _mm256_add_epi32(
                _mm256_srli_epi32::<1>(_mm256_max_epi32(_mm256_sub_epi32(sym_b, six), zero)),
                _mm256_and_si256(esc_b, escape_extra),
            );
            // Each token's class bits, then its raw bits: lane offsets are the
            // exclusive prefix sums of the two counts together.
            let cnt_a = _mm256_add_epi32(nb_a, rnb_a);
            let cnt_b = _mm256_add_epi32(nb_b, rnb_b);
            let (inc_a, inc_b) = prefix_sum16(cnt_a, cnt_b);
            let half = _mm256_extract_epi32::<7>(inc_a) as u32 as usize;
            let total = _mm256_extract_epi32::<7>(inc_b) as u32 as usize;
            let ex_a = _mm256_sub_epi32(inc_a, cnt_a);
            let ex_b = _mm256_sub_epi32(_mm256_sub_epi32(inc_b, cnt_b), _mm256_set1_epi32(half as i32));

            // 4. Columns 0..8 from the window at `pos`, columns 8..16 from the one
            // at `pos + half`. SAFETY: `pos` only grows by the clamped bit counts, so
            // every window starts at most MAX_WINDOW_START bytes in (the `min` makes
            // that hold whatever happens) and ends within FRAME_MAX_BYTES.
            let win_a = load_window(frame_bytes.add((pos / 8).min(MAX_WINDOW_START)));
            let off_a = _mm256_add_epi32(_mm256_set1_epi32((pos % 8) as i32), ex_a);
            let cbits_a = window_bits(win_a, off_a, nb_a);
            let raw_a = window_bits(win_a, _mm256_add_epi32(off_a, nb_a), rnb_a);
            let pos_b = pos + half;
            let win_b = load_window(frame_bytes.add((pos_b / 8).min(MAX_WINDOW_START)));
            let off_b = _mm256_add_epi32(_mm256_set1_epi32((pos_b % 8) as i32), ex_b);
            let cbits_b = window_bits(win_b, off_b, nb_b);
            let raw_b = window_bits(win_b, _mm256_add_epi32(off_b, nb_b), rnb_b);
            pos += total;

            // New states: base + bits.
            xa = _mm256_add_epi32(_mm256_and_si256(e_a, mask16), cbits_a);
            xb = _mm256_add_epi32(_mm256_and_si256(e_b, mask16), cbits_b);

            // 5. Tokens and own lists.
            let planes = ks.own_row(r).map(|p| p as *mut __m256i);
            let l0 = _mm256_loadu_si256(planes[0]);
            let nt_a = self.successor_or_escape(
                sym_a,
                raw_a,
                esc_a,
                _mm256_cvtepu16_epi32(_mm256_castsi256_si128(l0)),
                &mut bad,
            );
            let nt_b = self.successor_or_escape(
                sym_b,
                raw_b,
                esc_b,
                _mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(l0)),
                &mut bad,
            );
            let tokens = update_own(&planes, l0, pack_words(sym_a, sym_b), pack_words(nt_a, nt_b), &mut bad);
            _mm256_storeu_si256(out.as_mut_ptr().add(r * COLS) as *mut __m256i, tokens);
        }

        _mm256_storeu_si256(ks.states.as_mut_ptr() as *mut __m256i, xa);
        _mm256_storeu_si256(ks.states.as_mut_ptr().add(8) as *mut __m256i, xb);
        ks.bit = (ks.bit & !7) + pos;
        _mm256_testz_si256(bad, bad) == 0
    }

    /// The image entries at `idx_a`, `idx_b` (each below the number of entries), in
    /// the 32-bit layout.
    ///
    /// # Safety
    /// AVX2; every index is below the image's number of entries.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn entries(&self, idx_a: __m256i, idx_b: __m256i) -> (__m256i, __m256i) {
        match self.image {
            Image::Wide(words) => {
                let words = words.as_ptr() as *const i32;
                (_mm256_i32gather_epi32::<4>(words, idx_a), _mm256_i32gather_epi32::<4>(words, idx_b))
            }
            Image::Short(entries) => {
                let bytes = entries.as_ptr() as *const i32;
                (short_entries(bytes, idx_a), short_entries(bytes, idx_b))
            }
        }
    }

    /// Tokens of successor and escape classes for 8 lanes (other lanes: 0 or don't
    /// care), flagging successor ranks beyond the list in `bad`. `own_front` is entry
    /// 0 of each lane's own list.
    ///
    /// # Safety
    /// AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn successor_or_escape(
        &self,
        sym: __m256i,
        raw: __m256i,
        esc: __m256i,
        own_front: __m256i,
        bad: &mut __m256i,
    ) -> __m256i {
        let one = _mm256_set1_epi32(1);
        let two = _mm256_set1_epi32(2);
        let k = _mm256_set1_epi32(self.k as i32);
        let k_minus_1 = _mm256_set1_epi32(self.k as i32 - 1);
        // Bucket b = class - 4 starts at rank b for b < 2, else (2 | (b & 1)) << (b / 2 - 1);
        // for b < 2 the shift count wraps to 2^32 - 1 and the shifted value is 0.
        let b = _mm256_sub_epi32(sym, _mm256_set1_epi32(OWN_DEPTH as i32));
        let edge = _mm256_max_epi32(
            _mm256_sllv_epi32(
                _mm256_or_si256(_mm256_and_si256(b, one), two),
                _mm256_sub_epi32(_mm256_srli_epi32::<1>(b), one),
            ),
            b,
        );
        let rank = _mm256_add_epi32(edge, raw);
        let is_bucket = _mm256_andnot_si256(esc, _mm256_cmpgt_epi32(sym, _mm256_set1_epi32(OWN_DEPTH as i32 - 1)));
        *bad = _mm256_or_si256(*bad, _mm256_and_si256(is_bucket, _mm256_cmpgt_epi32(rank, k_minus_1)));
        // Entry p * K + rank, both clamped into the lists (p <= 1023, rank <= K - 1).
        let p = _mm256_and_si256(own_front, _mm256_set1_epi32(1023));
        let idx = _mm256_add_epi32(_mm256_mullo_epi32(p, k), _mm256_min_epu32(rank, k_minus_1));
        let (byte, shift, mask) = match self.coding {
            ListCoding::U16 => {
                // The 4 bytes ending with entry idx (or starting with it, for idx 0).
                let byte = _mm256_max_epi32(_mm256_sub_epi32(_mm256_add_epi32(idx, idx), two), _mm256_setzero_si256());
                (byte, _mm256_slli_epi32::<4>(_mm256_min_epu32(idx, one)), 0xFFFF)
            }
            ListCoding::Packed10 => {
                // The 4 bytes from the one holding bit 10 idx, or the last 4 bytes of
                // the lists if fewer follow it (the entry's 10 bits are inside them).
                let bit = _mm256_mullo_epi32(idx, _mm256_set1_epi32(10));
                let last = _mm256_set1_epi32(self.successors.len() as i32 - 4);
                let byte = _mm256_min_epi32(_mm256_srli_epi32::<3>(bit), last);
                (byte, _mm256_sub_epi32(bit, _mm256_slli_epi32::<3>(byte)), 0x3FF)
            }
        };
        // SAFETY: idx < 1024 * K, so byte + 4 <= successors.len() (checked in `new`:
        // 2 * 1024 * K or 1280 * K bytes; K >= 4 covers idx 0). Lanes outside
        // `is_bucket` load nothing.
        let g = _mm256_mask_i32gather_epi32::<1>(
            _mm256_setzero_si256(),
            self.successors.as_ptr() as *const i32,
            byte,
            is_bucket,
        );
        let successor = _mm256_and_si256(_mm256_srlv_epi32(g, shift), _mm256_set1_epi32(mask));
        _mm256_or_si256(successor, _mm256_and_si256(raw, esc))
    }
}

/// The 16-bit entries at `idx` (8 lanes) of an image at `bytes`, widened to the
/// 32-bit layout (base bits 0-15, symbol 16-25, bit count 27-31).
///
/// # Safety
/// AVX2; every index is below the image's number of entries (2 bytes each).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn short_entries(bytes: *const i32, idx: __m256i) -> __m256i {
    let one = _mm256_set1_epi32(1);
    // The 4 bytes ending with entry idx (or starting with it, for idx 0): inside the
    // image for every idx below its length.
    let byte =
        _mm256_max_epi32(_mm256_sub_epi32(_mm256_add_epi32(idx, idx), _mm256_set1_epi32(2)), _mm256_setzero_si256());
    let shift = _mm256_slli_epi32::<4>(_mm256_min_epu32(idx, one));
    // SAFETY: see above.
    let g = _mm256_i32gather_epi32::<1>(bytes, byte);
    let e = _mm256_and_si256(_mm256_srlv_epi32(g, shift), _mm256_set1_epi32(0xFFFF));
    let base = _mm256_and_si256(e, _mm256_set1_epi32(0xFF));
    let nb = _mm256_slli_epi32::<19>(_mm256_and_si256(e, _mm256_set1_epi32(0x700)));
    let symbol = _mm256_slli_epi32::<5>(_mm256_and_si256(e, _mm256_set1_epi32(0xF800)));
    _mm256_or_si256(_mm256_or_si256(base, nb), symbol)
}

/// Inclusive prefix sums of 16 lanes (`a` = lanes 0..8, `b` = lanes 8..16).
///
/// # Safety
/// The CPU must support AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn prefix_sum16(a: __m256i, b: __m256i) -> (__m256i, __m256i) {
    let a = _mm256_add_epi32(a, _mm256_slli_si256::<4>(a));
    let a = _mm256_add_epi32(a, _mm256_slli_si256::<8>(a));
    let a = _mm256_add_epi32(a, _mm256_shuffle_epi32::<0xFF>(_mm256_permute2x128_si256::<0x08>(a, a)));
    let b = _mm256_add_epi32(b, _mm256_slli_si256::<4>(b));
    let b = _mm256_add_epi32(b, _mm256_slli_si256::<8>(b));
    let b = _mm256_add_epi32(b, _mm256_shuffle_epi32::<0xFF>(_mm256_permute2x128_si256::<0x08>(b, b)));
    let b = _mm256_add_epi32(b, _mm256_permutevar8x32_epi32(a, _mm256_set1_epi32(7)));
    (a, b)
}

/// The 32 bytes at `p`: low half in both 128-bit lanes, high half in both.
///
/// # Safety
/// AVX2; 32 bytes at `p` are readable.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn load_window(p: *const u8) -> (__m256i, __m256i) {
    // SAFETY: the caller guarantees the 32 bytes are readable.
    let w = _mm256_loadu_si256(p as *const __m256i);
    (_mm256_permute2x128_si256::<0x00>(w, w), _mm256_permute2x128_si256::<0x11>(w, w))
}

/// Per lane, `nb` bits (`nb <= 15`) at bit offset `off` (`off / 8 <= 29`) of a
/// window from [`load_window`].
///
/// # Safety
/// The CPU must support AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn window_bits(window: (__m256i, __m256i), off: __m256i, nb: __m256i) -> __m256i {
    // Byte index of each lane's first byte, in all four of its bytes, plus 0,1,2,3.
    let first = _mm256_shuffle_epi8(
        _mm256_srli_epi32::<3>(off),
        _mm256_setr_epi8(
            0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12, 0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12,
        ),
    );
    let index = _mm256_add_epi8(first, _mm256_set1_epi32(0x0302_0100));
    let low = _mm256_shuffle_epi8(window.0, index);
    let high = _mm256_shuffle_epi8(window.1, index);
    let bytes = _mm256_blendv_epi8(low, high, _mm256_cmpgt_epi8(index, _mm256_set1_epi8(15)));
    let one = _mm256_set1_epi32(1);
    let mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, nb), one);
    _mm256_and_si256(_mm256_srlv_epi32(bytes, _mm256_and_si256(off, _mm256_set1_epi32(7))), mask)
}

/// 16 lanes of values <= 255 as 16 bytes.
///
/// # Safety
/// The CPU must support AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn pack_bytes(a: __m256i, b: __m256i) -> __m128i {
    let w = _mm256_permute4x64_epi64::<0xD8>(_mm256_packus_epi32(a, b));
    _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256::<1>(w))
}

/// 16 lanes of values <= 65535 as 16 `u16`s.
///
/// # Safety
/// The CPU must support AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn pack_words(a: __m256i, b: __m256i) -> __m256i {
    _mm256_permute4x64_epi64::<0xD8>(_mm256_packus_epi32(a, b))
}

/// Resolves the tokens of one row and updates its own lists in place (`planes`: the
/// row's 16 entries of each rank; `l0` already loaded from `planes[0]`), given the
/// class symbols `sym` (<= escape) and successor/escape tokens `nt` (16 x u16).
/// Flags an own-list rank that is empty in `bad`. Returns the tokens.
///
/// Own class `s < 4`: the token is entry `s`, moved to the front. Otherwise the token
/// goes to the front, removed from its rank if present (the entries of a list are
/// distinct), else dropping the last entry. Both are: entry `r` becomes the token,
/// then entries `0..r` move up one and the token becomes entry 0; entry `k` changes
/// exactly when `k <= r`.
///
/// # Safety
/// AVX2; each of `planes` is valid for 32-byte loads and stores.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn update_own(
    planes: &[*mut __m256i; 4],
    l0: __m256i,
    sym: __m256i,
    nt: __m256i,
    bad: &mut __m256i,
) -> __m256i {
    // SAFETY: the caller guarantees the planes are valid for 32 bytes.
    let l1 = _mm256_loadu_si256(planes[1]);
    let l2 = _mm256_loadu_si256(planes[2]);
    let l3 = _mm256_loadu_si256(planes[3]);
    let e0 = _mm256_cmpeq_epi16(sym, _mm256_setzero_si256());
    let e1 = _mm256_cmpeq_epi16(sym, _mm256_set1_epi16(1));
    let e2 = _mm256_cmpeq_epi16(sym, _mm256_set1_epi16(2));
    let e3 = _mm256_cmpeq_epi16(sym, _mm256_set1_epi16(3));
    let is_own = _mm256_cmpgt_epi16(_mm256_set1_epi16(OWN_DEPTH as i16), sym);
    // Own lanes: their entry (exactly one e_k is set); other lanes: 0.
    let own_token = _mm256_or_si256(
        _mm256_or_si256(_mm256_and_si256(e0, l0), _mm256_and_si256(e1, l1)),
        _mm256_or_si256(_mm256_and_si256(e2, l2), _mm256_and_si256(e3, l3)),
    );
    *bad = _mm256_or_si256(*bad, _mm256_and_si256(is_own, _mm256_cmpeq_epi16(own_token, _mm256_set1_epi16(-1))));
    let token = _mm256_or_si256(own_token, _mm256_andnot_si256(is_own, nt));
    // e_k: own lanes taking rank k. Successor and escape tokens are new to the list
    // (in a valid stream): every entry moves down one, the last drops off.
    // Entry k keeps its value where the rank taken is below k, else takes entry k - 1.
    let (q0, q1, q2) = (e0, e1, e2);
    let below2 = _mm256_or_si256(q0, q1);
    let below3 = _mm256_or_si256(below2, q2);
    _mm256_storeu_si256(planes[0], token);
    _mm256_storeu_si256(planes[1], _mm256_blendv_epi8(l0, l1, q0));
    _mm256_storeu_si256(planes[2], _mm256_blendv_epi8(l1, l2, below2));
    _mm256_storeu_si256(planes[3], _mm256_blendv_epi8(l2, l3, below3));
    token
}

/// Context bases `(gprev * 5 + nbb) * 5` of the next frame as 32-bit lanes, per row
/// (columns 0..8, 8..16), from the kinds of the last frame. Every base is at most 95
/// whatever the kinds hold.
///
/// # Safety
/// The CPU must support AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn context_bases(kinds: &[u8; FRAME_TOKENS]) -> [(__m256i, __m256i); ROWS] {
    context_base_bytes(kinds).map(|base| (_mm256_cvtepu8_epi32(base), _mm256_cvtepu8_epi32(_mm_srli_si128::<8>(base))))
}

/// Context bases `(gprev * 5 + nbb) * 5` of the next frame as 16 bytes per row (one
/// per column), from the kinds of the last frame. Every base is at most 95 whatever
/// the kinds hold.
///
/// # Safety
/// The CPU must support AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn context_base_bytes(kinds: &[u8; FRAME_TOKENS]) -> [__m128i; ROWS] {
    let one = _mm_set1_epi8(1);
    let mut rows = [_mm_setzero_si128(); ROWS];
    let mut h = [_mm_setzero_si128(); ROWS + 2];
    for r in 0..ROWS {
        // SAFETY: 16 bytes at r * 16 < 128 are inside `kinds`.
        rows[r] = _mm_loadu_si128(kinds.as_ptr().add(r * COLS) as *const __m128i);
        let changed = _mm_min_epu8(rows[r], one);
        h[r + 1] = _mm_add_epi8(_mm_add_epi8(changed, _mm_slli_si128::<1>(changed)), _mm_srli_si128::<1>(changed));
    }
    // nbb bucket * 5 of n = 0..9, and kind * 25 of kind = 0..3 (pshufb reads only the
    // low 4 bits of an index below 128, and gives 0 for the others).
    let nbb5 = _mm_setr_epi8(0, 5, 5, 10, 10, 10, 15, 15, 15, 20, 20, 20, 20, 20, 20, 20);
    let kind25 = _mm_setr_epi8(0, 25, 50, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75);
    let mut bases = [_mm_setzero_si128(); ROWS];
    for r in 0..ROWS {
        let n = _mm_add_epi8(_mm_add_epi8(h[r], h[r + 1]), h[r + 2]);
        bases[r] = _mm_add_epi8(_mm_shuffle_epi8(kind25, rows[r]), _mm_shuffle_epi8(nbb5, n));
    }
    bases
}

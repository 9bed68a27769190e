//! The NEON kernel (aarch64): one context-model frame at a time, each row's 16 tokens
//! at once, bit-identical to the scalar reference as the AVX2 kernel is.
//!
//! Lane `c` of a row works on column `c`: four `u32x4` quarters (columns `4q..4q+4`)
//! for the 32-bit work, two `u16x8` halves for the own lists and the tokens, one
//! 16-byte vector for contexts and kinds. Lane arithmetic (adds, compares, min/max,
//! per-lane shifts, selects) is the `wide` crate's; what it lacks comes from
//! `core::arch::aarch64`: the lane loads, table lookups (`vqtbl1q_u8`, `vqtbl4q_u8`,
//! `vqtbx4q_u8`), lane shifts across a vector (`vextq`) and narrowing/widening moves.
//! Per row:
//! 1. contexts `base + up` as 16 bytes, `up` being the kind the previous row just
//!    decoded; a set with a context map looks all 16 up at once in the map (100 bytes
//!    padded to 128: one `vqtbl4q_u8` for contexts below 64, one `vqtbx4q_u8` above);
//! 2. the 16 decode entries at `(table << M) + state`: NEON has no gather, so each
//!    lane's entry is one scalar-addressed load into its lane (`vld1q_lane_u32`; a
//!    16-bit entry is loaded as `u16` and widened to the 32-bit layout in vectors);
//! 3. class bit counts plus raw bit counts, prefix-summed across the 16 lanes (two
//!    `vextq` steps in each quarter, then each quarter's last lane carried into the
//!    next);
//! 4. every bit a row reads lies in one 64-byte window of the payload (one
//!    `vld1q_u8_x4`): each lane's 4 bytes at its byte offset come from one
//!    `vqtbl4q_u8` per quarter (class bits and raw bits: 8 lookups a row), then a
//!    per-lane shift and mask give the new states and the raw values;
//! 5. successor tokens (one lane load per token, from the successor lists, `u16` or
//!    10-bit packed; branch-free: the index is clamped into the lists, lanes that are
//!    not successor buckets discard what they loaded) and the own lists, kept as four
//!    planes of 16-bit entries and updated with compares and selects.
//!
//! # What it costs, and what it saves over scalar
//! Counted, not estimated: the release build of `host-tools` for aarch64 (rustc
//! 1.95, `-C target-cpu` generic) decoding the first 100 frames of
//! commaai-commavq_0 with tables trained on the other segment, under
//! `qemu-aarch64 -singlestep -d nochain,exec` (one log line per executed
//! instruction), each line attributed to its function by address. The kernel
//! decoded frames 1..=93 (744 rows) in 499,782 instructions of its row loop: **672
//! instructions a row, 42 a token** (44 a token for the whole kernel path, frame 0 and
//! the per-frame context bases included). The scalar reference decoded the 6 tail
//! frames in `decode_rows_default`: 31,952 instructions, **42 a token**. So the
//! kernel does not save instructions; the compiled loop spends many of them moving
//! lanes between vector and general registers for the 32 lane loads a row (NEON has
//! no gather: each load is a lane extract, an address add and a lane insert).
//!
//! Loads a token: 1 decode entry and 1 successor entry (scalar-addressed lane loads,
//! the successor one branch-free for every lane), 1/16 of a 64-byte window load, the
//! own-list planes (4 16-byte loads and 4 stores per 8 tokens); nothing from the
//! context map (its 128 bytes stay in 8 registers for the frame). The scalar
//! reference does the same two table loads a token.
//!
//! What it saves is the dependencies and branches, not instructions: the scalar loop
//! is serial (each token's bit position depends on the bit count of the token before
//! it) and branches on the class of every token (own list, successor bucket, escape:
//! data-dependent, mispredicted often on real streams), while the kernel has no
//! data-dependent branch inside a row, turns the serial bit-position chain of 16
//! tokens into one prefix sum, and reads a row's bits with 8 table lookups from one
//! window; its 32 loads a row are independent of one another, which an out-of-order
//! core overlaps. Whether that makes it faster on a real ARM core, and by how much,
//! is **unmeasured** (QEMU cannot time it); the AVX2 kernel's 3.1 to 3.4 times
//! scalar on x86-64 is no figure for it. `cargo run --release -p vqtans-benches
//! --bin compare` on an aarch64 machine prints NEON/scalar and NEON/zstd.
//!
//! Memory safety does not rest on the tables or the payload being well formed:
//! contexts stay below 100 by construction (bases from constant tables, kinds from
//! compares; table lookups yield 0 outside their table), states are masked to `M`
//! bits, the image's size is checked once in [`TableFacts::new`], bit counts are
//! clamped to 15 and at most 12 so a frame never reads more than
//! [`FRAME_MAX_BYTES`], successor indices are clamped into the lists; and
//! the driver (`driver::Kernel::frame`) runs [`Kernel::rows`] only when the payload
//! has [`FRAME_MARGIN`] bytes left after the current position.

use core::arch::aarch64::*;

use wide::{u16x8, u32x4};

use super::state::{KernelState, TableFacts};
use crate::container::{COLS, FRAME_TOKENS, ROWS};
use crate::model::context::contexts::{CONTEXTS, UP_NONE};
use crate::model::context::own_lists::EMPTY;
use crate::model::context::{ContextModel, ListCoding};
use crate::tans::decode_table::{DecodeTables, Image};

/// Most bits one token reads: 15 class bits and 10 raw bits (12 at most for a
/// damaged stream's bucket, still inside a window).
const TOKEN_BITS: usize = 15 + 10;
/// Bytes of a row's bit window (one `vld1q_u8_x4`, the table of `vqtbl4q_u8`).
const WINDOW: usize = 64;
/// One window serves a whole row: the last column's raw bits start at most 7 + 15
/// tokens + 15 class bits in, and a lane takes the 4 bytes from its first one.
const _: () = assert!((7 + 15 * TOKEN_BITS + 15) / 8 + 4 <= WINDOW);
/// Last byte a window may start at, relative to the frame's first byte: the bit
/// position never passes 7 + 8 rows of class and raw bits.
const MAX_WINDOW_START: usize = (ROWS * COLS * TOKEN_BITS).div_ceil(8);
/// Most payload bytes one frame reads from its first byte on.
const FRAME_MAX_BYTES: usize = MAX_WINDOW_START + WINDOW;
/// Bytes the payload must have from the frame's first byte on for the kernel to run.
pub(super) const FRAME_MARGIN: usize = FRAME_MAX_BYTES + 8;
const _: () = assert!(FRAME_MARGIN >= (FRAME_TOKENS * 10).div_ceil(8) + 8, "frame 0 fits the margin too");

/// What the kernel needs from the table set, checked once.
pub(super) struct Kernel<'a> {
    facts: TableFacts<'a>,
    /// The context map padded to 128 bytes (for two 64-byte table lookups), if the
    /// set has one other than the identity.
    map: Option<[u8; 128]>,
}

impl<'a> Kernel<'a> {
    /// Checks everything the kernel's memory accesses rely on; `None` if anything is
    /// off (the scalar decoder then does the whole stream).
    pub(super) fn new(tables: &DecodeTables<'a>, model: &ContextModel<'a>) -> Option<Self> {
        let facts = TableFacts::new(tables, model)?;
        let map = facts.map.map(|m| {
            let mut padded = [0u8; 128];
            padded[..CONTEXTS].copy_from_slice(m);
            padded
        });
        Some(Kernel { facts, map })
    }

    /// The 8 rows of a frame >= 1. Returns true if a symbol could not be resolved.
    ///
    /// # Safety
    /// NEON is available and `frame_bytes` points to at least [`FRAME_MAX_BYTES`]
    /// readable bytes; `ks.bit % 8` is the bit position within its first byte.
    #[target_feature(enable = "neon")]
    pub(super) unsafe fn rows(
        &self,
        ks: &mut KernelState,
        frame_bytes: *const u8,
        out: &mut [u16; FRAME_TOKENS],
    ) -> bool {
        let bases = context_bases(&ks.kinds);
        let m = self.facts.state_log();
        let state_mask = u32x4::splat(self.facts.state_mask);
        let escape = self.facts.escape;
        // SAFETY: the padded map has 128 bytes.
        let map = self.map.as_ref().map(|t| (vld1q_u8_x4(t.as_ptr()), vld1q_u8_x4(t.as_ptr().add(64))));
        let escape_extra = u32x4::splat(10 - ((escape - 6) >> 1));

        // SAFETY (all loads and stores of this function): `states` has 16 u32,
        // `kinds` 128 u8, each plane of `own` and `out` 128 u16, accessed at offsets
        // row * 16 (+ 4, 8, 12) with row < 8.
        let mut xq: [u32x4; 4] = [0, 1, 2, 3].map(|q| u32x4::from(vld1q_u32(ks.states.as_ptr().add(4 * q))));
        // Bit position relative to the frame's first byte.
        let mut pos = ks.bit % 8;
        let mut ctx = vaddq_u8(bases[0], vdupq_n_u8(UP_NONE));
        let mut bad32 = u32x4::ZERO;
        let mut bad16 = u16x8::ZERO;

        for r in 0..ROWS {
            // 2. Entries. Tables: the contexts themselves, or their map entries
            // (contexts are below 100 < 128: one of the two lookups holds each).
            let table = match map {
                None => ctx,
                Some((low, high)) => vqtbx4q_u8(vqtbl4q_u8(low, ctx), high, vsubq_u8(ctx, vdupq_n_u8(64))),
            };
            let tq = widen_bytes(table);
            // SAFETY: the table is below T (the context itself when there is no map:
            // then T = CONTEXTS; else a map entry, checked below T in `TableFacts::new`),
            // the masked state is below 2^M and `TableFacts::new` checked that the
            // image has T << M entries, so the index is in the image.
            let e: [u32x4; 4] = [0, 1, 2, 3].map(|q| {
                let idx = (tq[q] << m) + (xq[q] & state_mask);
                unsafe { self.entries(idx) }
            });

            // 1 (next row). Kinds: (class >= 1) + (class >= 4) + (class >= escape),
            // from the entry's symbol field; the next row's contexts.
            let raw_sym = e.map(|e| (e >> 16u32) & u32x4::splat(0x3FF));
            let esc = raw_sym.map(|s| s.simd_gt(u32x4::splat(escape - 1)));
            let kind: [u32x4; 4] = [0, 1, 2, 3].map(|q| {
                let one = u32x4::splat(1);
                (raw_sym[q].simd_gt(u32x4::ZERO) & one) + (raw_sym[q].simd_gt(u32x4::splat(3)) & one) + (esc[q] & one)
            });
            let kinds = narrow_to_bytes(kind);
            vst1q_u8(ks.kinds.as_mut_ptr().add(r * COLS), kinds);
            if r + 1 < ROWS {
                ctx = vaddq_u8(bases[r + 1], kinds);
            }

            // 3. Bit counts. Symbols beyond the escape act as the escape, as in the
            // scalar model. Raw bits: (class - 6) / 2 for successor buckets from 4 on,
            // none below, 10 for the escape.
            let nb = e.map(|e| (e >> 27u32).min(u32x4::splat(15)));
            let sym = raw_sym.map(|s| s.min(u32x4::splat(escape)));
            let rnb: [u32x4; 4] =
                [0, 1, 2, 3].map(|q| (sym[q].saturating_sub(u32x4::splat(6)) >> 1u32) + (esc[q] & escape_extra));
            // Each token's class bits, then its raw bits: lane offsets are the
            // exclusive prefix sums of the two counts together.
            let cnt: [u32x4; 4] = [0, 1, 2, 3].map(|q| nb[q] + rnb[q]);
            let inc = prefix_sum16(cnt);
            let total = inc[3].to_array()[3] as usize;

            // 4. All 16 columns from the window at `pos`. SAFETY: `pos` only grows by
            // the clamped bit counts, so the window starts at most MAX_WINDOW_START
            // bytes in (the `min` makes that hold whatever happens) and ends within
            // FRAME_MAX_BYTES.
            let window = vld1q_u8_x4(frame_bytes.add((pos / 8).min(MAX_WINDOW_START)));
            let bit0 = u32x4::splat((pos % 8) as u32);
            let mut raw = [u32x4::ZERO; 4];
            for q in 0..4 {
                let off = bit0 + inc[q] - cnt[q];
                let cbits = window_bits(window, off, nb[q]);
                raw[q] = window_bits(window, off + nb[q], rnb[q]);
                // New states: base + bits.
                xq[q] = (e[q] & u32x4::splat(0xFFFF)) + cbits;
            }
            pos += total;

            // 5. Tokens and own lists.
            let at = r * COLS;
            let planes = ks.own_row(r);
            let l0 = [vld1q_u16(planes[0]), vld1q_u16(planes[0].add(8))];
            let front = [
                vmovl_u16(vget_low_u16(l0[0])),
                vmovl_high_u16(l0[0]),
                vmovl_u16(vget_low_u16(l0[1])),
                vmovl_high_u16(l0[1]),
            ];
            let nt: [u32x4; 4] =
                [0, 1, 2, 3].map(|q| self.successor_or_escape(sym[q], raw[q], esc[q], front[q].into(), &mut bad32));
            for h in 0..2 {
                let sym16 = narrow_words(sym[2 * h], sym[2 * h + 1]);
                let nt16 = narrow_words(nt[2 * h], nt[2 * h + 1]);
                let half = planes.map(|p| p.add(8 * h));
                let tokens = update_own(&half, l0[h].into(), sym16, nt16, &mut bad16);
                vst1q_u16(out.as_mut_ptr().add(at + 8 * h), tokens.into());
            }
        }
        for (q, v) in xq.iter().enumerate() {
            vst1q_u32(ks.states.as_mut_ptr().add(4 * q), (*v).into());
        }
        ks.bit = (ks.bit & !7) + pos;
        // Any flagged lane (masks of 16 and 32 bits alike: any bit set).
        vmaxvq_u16(vorrq_u16(bad16.into(), vreinterpretq_u16_u32(bad32.into()))) != 0
    }

    /// The image entries at `idx` (each below the image's number of entries), in the
    /// 32-bit layout: one lane load each.
    ///
    /// # Safety
    /// NEON; every index is below the image's number of entries.
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn entries(&self, idx: u32x4) -> u32x4 {
        match self.facts.image {
            Image::Wide(words) => lane_loads_u32(words.as_ptr() as *const u32, idx),
            Image::Short(entries) => {
                let e = lane_loads_u16(entries.as_ptr() as *const u16, idx);
                // Base bits 0-7 stay, bit count 8-10 goes to 27-31, symbol 11-15 to
                // 16-25 (the 32-bit layout).
                (e & u32x4::splat(0xFF)) | ((e & u32x4::splat(0x700)) << 19u32) | ((e & u32x4::splat(0xF800)) << 5u32)
            }
        }
    }

    /// Tokens of successor and escape classes for 4 lanes (other lanes: 0 or don't
    /// care), flagging successor ranks beyond the list in `bad`. `own_front` is entry
    /// 0 of each lane's own list.
    ///
    /// # Safety
    /// NEON.
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn successor_or_escape(
        &self,
        sym: u32x4,
        raw: u32x4,
        esc: u32x4,
        own_front: u32x4,
        bad: &mut u32x4,
    ) -> u32x4 {
        let one = u32x4::splat(1);
        let k = u32x4::splat(self.facts.k);
        let k_minus_1 = u32x4::splat(self.facts.k - 1);
        // Bucket b = class - 4 starts at rank b for b < 2, else (2 | (b & 1)) << (b / 2 - 1);
        // for b < 2 the shift count wraps to 2^32 - 1 and the shifted value is 0.
        let b = sym - u32x4::splat(4);
        let edge = (b & one | u32x4::splat(2)).unbounded_shl((b >> 1u32) - one).max(b);
        let rank = edge + raw;
        let is_bucket = !esc & sym.simd_gt(u32x4::splat(3));
        *bad |= is_bucket & rank.simd_gt(k_minus_1);
        // Entry p * K + rank, both clamped into the lists (p <= 1023, rank <= K - 1).
        let p = own_front & u32x4::splat(1023);
        let idx = p * k + rank.min(k_minus_1);
        let lists = self.successors_ptr();
        // SAFETY: idx < 1024 * K, and `TableFacts::new` checked that the lists have
        // 2 * 1024 * K (u16) or 1280 * K (10-bit) bytes; K >= 4 covers the 4-byte
        // read of a 10-bit entry.
        let successor = match self.facts.coding {
            ListCoding::U16 => lane_loads_u16(lists as *const u16, idx),
            ListCoding::Packed10 => {
                // The 4 bytes from the one holding bit 10 idx, or the last 4 bytes of
                // the lists if fewer follow it (the entry's 10 bits are inside them).
                let bit = idx * u32x4::splat(10);
                let byte = (bit >> 3u32).min(u32x4::splat(self.facts.successors.len() as u32 - 4));
                let words = lane_loads_unaligned_u32(lists, byte);
                (words >> (bit - (byte << 3u32))) & u32x4::splat(0x3FF)
            }
        };
        (successor & is_bucket) | (raw & esc)
    }

    /// The successor lists' first byte.
    fn successors_ptr(&self) -> *const u8 {
        self.facts.successors.as_ptr()
    }
}

/// `base[idx[i]]` for each lane `i`, one lane load each (NEON has no gather).
///
/// # Safety
/// NEON; every `base + idx[i]` is readable.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn lane_loads_u32(base: *const u32, idx: u32x4) -> u32x4 {
    let i: uint32x4_t = idx.into();
    let v = vdupq_n_u32(0);
    let v = vld1q_lane_u32::<0>(base.add(vgetq_lane_u32::<0>(i) as usize), v);
    let v = vld1q_lane_u32::<1>(base.add(vgetq_lane_u32::<1>(i) as usize), v);
    let v = vld1q_lane_u32::<2>(base.add(vgetq_lane_u32::<2>(i) as usize), v);
    let v = vld1q_lane_u32::<3>(base.add(vgetq_lane_u32::<3>(i) as usize), v);
    v.into()
}

/// The 4 bytes at `base + byte[i]` (any alignment) as a little-endian `u32`, for
/// each lane `i`.
///
/// # Safety
/// NEON; the 4 bytes at each `base + byte[i]` are readable.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn lane_loads_unaligned_u32(base: *const u8, byte: u32x4) -> u32x4 {
    let b = byte.to_array();
    let load = |i: usize| u32::from_le((base.add(b[i] as usize) as *const u32).read_unaligned());
    u32x4::new([load(0), load(1), load(2), load(3)])
}

/// `base[idx[i]]` (16 bits, zero-extended) for each lane `i`.
///
/// # Safety
/// NEON; every `base + idx[i]` is readable.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn lane_loads_u16(base: *const u16, idx: u32x4) -> u32x4 {
    let i: uint32x4_t = idx.into();
    let v = vdupq_n_u16(0);
    // Into the even 16-bit lanes: the low halves of the 32-bit lanes.
    let v = vld1q_lane_u16::<0>(base.add(vgetq_lane_u32::<0>(i) as usize), v);
    let v = vld1q_lane_u16::<2>(base.add(vgetq_lane_u32::<1>(i) as usize), v);
    let v = vld1q_lane_u16::<4>(base.add(vgetq_lane_u32::<2>(i) as usize), v);
    let v = vld1q_lane_u16::<6>(base.add(vgetq_lane_u32::<3>(i) as usize), v);
    vreinterpretq_u32_u16(v).into()
}

/// Inclusive prefix sums of 16 lanes (quarter `q` = lanes `4q..4q+4`).
///
/// # Safety
/// NEON.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn prefix_sum16(cnt: [u32x4; 4]) -> [u32x4; 4] {
    let zero = vdupq_n_u32(0);
    let mut carry = zero;
    cnt.map(|c| {
        let a: uint32x4_t = c.into();
        // Lane i plus lane i - 1, then plus lanes i - 2 and i - 3.
        let a = vaddq_u32(a, vextq_u32::<3>(zero, a));
        let a = vaddq_u32(a, vextq_u32::<2>(zero, a));
        let a = vaddq_u32(a, carry);
        carry = vdupq_laneq_u32::<3>(a);
        a.into()
    })
}

/// Per lane, `nb` bits (`nb <= 15`) at bit offset `off` (`off / 8 <= 60`) of a
/// 64-byte window.
///
/// # Safety
/// NEON.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn window_bits(window: uint8x16x4_t, off: u32x4, nb: u32x4) -> u32x4 {
    // Each lane's 4 byte indices: its first byte in all four, plus 0, 1, 2, 3 (no
    // carry between the bytes: the first is below 64).
    let index = (off >> 3u32) * u32x4::splat(0x0101_0101) + u32x4::splat(0x0302_0100);
    let bytes: u32x4 = vreinterpretq_u32_u8(vqtbl4q_u8(window, vreinterpretq_u8_u32(index.into()))).into();
    let one = u32x4::splat(1);
    (bytes >> (off & u32x4::splat(7))) & ((one << nb) - one)
}

/// The 16 bytes as four quarters of 32-bit lanes.
///
/// # Safety
/// NEON.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn widen_bytes(v: uint8x16_t) -> [u32x4; 4] {
    let low = vmovl_u8(vget_low_u8(v));
    let high = vmovl_high_u8(v);
    [
        vmovl_u16(vget_low_u16(low)).into(),
        vmovl_high_u16(low).into(),
        vmovl_u16(vget_low_u16(high)).into(),
        vmovl_high_u16(high).into(),
    ]
}

/// Four quarters of 32-bit lanes holding values <= 255 as 16 bytes.
///
/// # Safety
/// NEON.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn narrow_to_bytes(q: [u32x4; 4]) -> uint8x16_t {
    let low: uint16x8_t = narrow_words(q[0], q[1]).into();
    let high: uint16x8_t = narrow_words(q[2], q[3]).into();
    vmovn_high_u16(vmovn_u16(low), high)
}

/// Two quarters of 32-bit lanes holding values <= 65535 as 8 `u16`s.
///
/// # Safety
/// NEON.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn narrow_words(a: u32x4, b: u32x4) -> u16x8 {
    vmovn_high_u32(vmovn_u32(a.into()), b.into()).into()
}

/// Resolves 8 tokens of a row and updates their own lists in place (`planes`: the 8
/// entries of each rank; `l0` already loaded from `planes[0]`), given the class
/// symbols `sym` (<= escape) and successor/escape tokens `nt`. Flags an own-list
/// rank that is empty in `bad`. Returns the tokens.
///
/// Own class `s < 4`: the token is entry `s`, moved to the front. Otherwise the token
/// goes to the front, every entry moves down one and the last drops off (a
/// successor or escape token is new to the list in a valid stream). Both are: entry
/// `k` keeps its value where the rank taken is below `k`, else takes entry `k - 1`.
///
/// # Safety
/// NEON; each of `planes` is valid for 8 `u16` loads and stores.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn update_own(planes: &[*mut u16; 4], l0: u16x8, sym: u16x8, nt: u16x8, bad: &mut u16x8) -> u16x8 {
    let l1: u16x8 = vld1q_u16(planes[1]).into();
    let l2: u16x8 = vld1q_u16(planes[2]).into();
    let l3: u16x8 = vld1q_u16(planes[3]).into();
    let e0 = sym.simd_eq(u16x8::splat(0));
    let e1 = sym.simd_eq(u16x8::splat(1));
    let e2 = sym.simd_eq(u16x8::splat(2));
    let e3 = sym.simd_eq(u16x8::splat(3));
    let is_own = sym.simd_lt(u16x8::splat(4));
    // Own lanes: their entry (exactly one e_k is set); other lanes: 0.
    let own_token = (e0 & l0) | (e1 & l1) | (e2 & l2) | (e3 & l3);
    *bad |= is_own & own_token.simd_eq(u16x8::splat(EMPTY));
    let token = own_token | (!is_own & nt);
    let below2 = e0 | e1;
    let below3 = below2 | e2;
    vst1q_u16(planes[0], token.into());
    vst1q_u16(planes[1], e0.select(l1, l0).into());
    vst1q_u16(planes[2], below2.select(l2, l1).into());
    vst1q_u16(planes[3], below3.select(l3, l2).into());
    token
}

/// Context bases `(gprev * 5 + nbb) * 5` of the next frame as 16 bytes per row, from
/// the kinds of the last frame. Every base is at most 95 whatever the kinds hold
/// (a table lookup gives 0 for an index beyond its table).
///
/// # Safety
/// NEON.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn context_bases(kinds: &[u8; FRAME_TOKENS]) -> [uint8x16_t; ROWS] {
    let one = vdupq_n_u8(1);
    let zero = vdupq_n_u8(0);
    let mut rows = [zero; ROWS];
    let mut h = [zero; ROWS + 2];
    for r in 0..ROWS {
        // SAFETY: 16 bytes at r * 16 < 128 are inside `kinds`.
        rows[r] = vld1q_u8(kinds.as_ptr().add(r * COLS));
        let changed = vminq_u8(rows[r], one);
        // Changed flags of the column itself and its left and right neighbours.
        h[r + 1] = vaddq_u8(vaddq_u8(changed, vextq_u8::<15>(zero, changed)), vextq_u8::<1>(changed, zero));
    }
    // nbb bucket * 5 of n = 0..9, and kind * 25 of kind = 0..3.
    const NBB5: [u8; 16] = [0, 5, 5, 10, 10, 10, 15, 15, 15, 20, 20, 20, 20, 20, 20, 20];
    const KIND25: [u8; 16] = [0, 25, 50, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75];
    let nbb5 = vld1q_u8(NBB5.as_ptr());
    let kind25 = vld1q_u8(KIND25.as_ptr());
    let mut bases = [zero; ROWS];
    for r in 0..ROWS {
        let n = vaddq_u8(vaddq_u8(h[r], h[r + 1]), h[r + 2]);
        bases[r] = vaddq_u8(vqtbl1q_u8(kind25, rows[r]), vqtbl1q_u8(nbb5, n));
    }
    bases
}

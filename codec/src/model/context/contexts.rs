//! Contexts of the class symbol: which of the model's 100 tables codes a token.
//!
//! `ctx = (gprev * 5 + nbb) * 5 + up`, where, with `g` the kind of a token
//! ([`super::classes::kind`]; every frame-0 token counts as an escape):
//! - `gprev` = kind at the same position in the previous frame (0..4);
//! - `nbb` = bucket of how many of the (up to 9) positions in the 3x3 block around
//!   this position changed (kind != copy) in the previous frame:
//!   0 -> 0, 1..=2 -> 1, 3..=5 -> 2, 6..=8 -> 3, 9 -> 4;
//! - `up` = kind of the token above in the current frame, or 4 in row 0.
//!
//! Nothing in a row depends on another token of the same row, so the 16 class
//! symbols of a row can be decoded in parallel.

use super::classes::kind;
use crate::container::{COLS, FRAME_TOKENS, ROWS};

/// Number of class contexts (and class tables).
pub const CONTEXTS: usize = 100;
/// Value of `up` in row 0.
pub const UP_NONE: u8 = 4;

/// Bytes of the kind plane: the `UP_NONE` row, then one kind per position.
const KIND_BYTES: usize = COLS + FRAME_TOKENS;

/// The kinds of one frame and the per-position context index of the next one:
/// 272 bytes.
///
/// One kind plane serves as both the previous frame (positions not decoded yet) and
/// the current one (positions already decoded): a context only reads the kind of
/// the row above in the current frame, everything from the previous frame is folded
/// into `cidx` when a frame ends.
///
/// Both planes are bytes, stored as little-endian words so that
/// [`KindPlanes::next_frame`] reads and writes four lanes with one aligned access
/// (cores without unaligned loads, such as ARMv6-M, would otherwise assemble each
/// word from four byte loads).
#[derive(Debug, Clone)]
#[repr(C)] // the ARMv7E-M kernel finds `cidx` right after `kinds`
pub struct KindPlanes {
    /// Bytes: `[COLS + pos]` is the kind of position `pos`; `[..COLS]` is `UP_NONE`,
    /// so `[pos]` is the `up` of position `pos`.
    pub(crate) kinds: [u32; KIND_BYTES / 4],
    /// Bytes: `gprev * 16 + n` of each position for the current frame, `n` the
    /// number of changed positions of its 3x3 block in the previous frame.
    pub(crate) cidx: [u32; FRAME_TOKENS / 4],
}

const _: () = assert!(KIND_BYTES % 4 == 0 && COLS % 4 == 0);

impl Default for KindPlanes {
    fn default() -> Self {
        let mut planes = KindPlanes { kinds: [0; KIND_BYTES / 4], cidx: [0; FRAME_TOKENS / 4] };
        let kinds = planes.kinds_mut();
        kinds.fill(kind::ESCAPE);
        kinds[..COLS].fill(UP_NONE);
        planes
    }
}

const fn nbb_bucket(n: u32) -> u8 {
    match n {
        0 => 0,
        1..=2 => 1,
        3..=5 => 2,
        6..=8 => 3,
        _ => 4,
    }
}

/// `CTX_BASE[gprev * 16 + n]` = `(gprev * 5 + nbb(n)) * 5` (`gprev < 4`, `n <= 9`;
/// other entries are never used and kept below 96 too, so any byte indexes it).
pub(crate) const CTX_BASE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let n = (i % 16) as u32;
        t[i] = ((i / 16 % 4) as u8 * 5 + nbb_bucket(if n > 9 { 9 } else { n })) * 5;
        i += 1;
    }
    t
};

impl KindPlanes {
    /// Ends a frame: its kinds become the previous ones and the context indices of
    /// the next frame are computed from them.
    pub fn next_frame(&mut self) {
        // Per row, 4 words of 4 byte lanes (one per column, the lowest lane the
        // leftmost): changed flags (0/1), then their sums over 3 rows (<= 3), then
        // over 3 columns (<= 9): no lane ever carries into the next.
        let word = |k: &[u32; KIND_BYTES / 4], r: usize, j: usize| u32::from_le(k[(COLS + r * COLS) / 4 + j]);
        let flags = |k: &[u32; KIND_BYTES / 4], r: usize| -> [u32; 4] {
            core::array::from_fn(|j| {
                let w = word(k, r, j);
                (w | (w >> 1)) & 0x0101_0101
            })
        };
        // Changed flags of the rows above, at and below row r (none outside).
        let (mut above, mut here) = ([0u32; 4], flags(&self.kinds, 0));
        for r in 0..ROWS {
            let below = if r + 1 < ROWS { flags(&self.kinds, r + 1) } else { [0; 4] };
            let v: [u32; 4] = core::array::from_fn(|j| above[j] + here[j] + below[j]);
            for j in 0..4 {
                let left = (v[j] << 8) | if j > 0 { v[j - 1] >> 24 } else { 0 };
                let right = (v[j] >> 8) | if j < 3 { v[j + 1] << 24 } else { 0 };
                let n = v[j] + left + right;
                let idx = n + (word(&self.kinds, r, j) << 4);
                self.cidx[r * COLS / 4 + j] = idx.to_le();
            }
            (above, here) = (here, below);
        }
    }

    /// Context of position `pos` (`< 128`) of the current frame; the row above must
    /// already have its kinds in place.
    #[inline(always)]
    pub fn context(&self, pos: usize) -> usize {
        let pos = pos % FRAME_TOKENS;
        (CTX_BASE[self.cidx()[pos] as usize] + self.kinds()[pos]) as usize
    }

    /// Records the kind of position `pos` in the current frame.
    #[inline(always)]
    pub fn set_kind(&mut self, pos: usize, k: u8) {
        self.kinds_mut()[COLS + pos % FRAME_TOKENS] = k;
    }

    /// Sets the kinds of a whole frame (as [`KindPlanes::set_kind`] on every position).
    pub fn set_frame_kinds(&mut self, kinds: &[u8; FRAME_TOKENS]) {
        self.kinds_mut()[COLS..].copy_from_slice(kinds);
    }

    /// The planes as the decoder's inner loop uses them: kinds (with the `UP_NONE`
    /// row in front) and context indices.
    #[inline(always)]
    pub(crate) fn planes(&mut self) -> (&mut [u8; KIND_BYTES], &[u8; FRAME_TOKENS]) {
        (bytemuck::cast_mut(&mut self.kinds), bytemuck::cast_ref(&self.cidx))
    }

    /// The kind plane's bytes.
    #[inline(always)]
    fn kinds(&self) -> &[u8; KIND_BYTES] {
        bytemuck::cast_ref(&self.kinds)
    }

    /// The kind plane's bytes, writable.
    #[inline(always)]
    fn kinds_mut(&mut self) -> &mut [u8; KIND_BYTES] {
        bytemuck::cast_mut(&mut self.kinds)
    }

    /// The context indices' bytes.
    #[inline(always)]
    fn cidx(&self) -> &[u8; FRAME_TOKENS] {
        bytemuck::cast_ref(&self.cidx)
    }
}

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

/// Kinds of the previous and current frame, and the per-position context base
/// `(gprev * 5 + nbb) * 5` of the current frame: 384 bytes.
#[derive(Debug, Clone)]
pub struct KindPlanes {
    /// Kind of each position in the previous frame.
    prev: [u8; FRAME_TOKENS],
    /// Kind of each position in the current frame (filled as it is decoded).
    pub(crate) cur: [u8; FRAME_TOKENS],
    /// Context base of each position for the current frame.
    base: [u8; FRAME_TOKENS],
}

impl Default for KindPlanes {
    fn default() -> Self {
        KindPlanes { prev: [kind::ESCAPE; FRAME_TOKENS], cur: [kind::ESCAPE; FRAME_TOKENS], base: [0; FRAME_TOKENS] }
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

/// `NBB[w]`: the `nbb` bucket of a 3x3 block whose changed flags are the 9 bits of
/// `w` (3 bits from each of three rows).
const NBB: [u8; 512] = {
    let mut t = [0u8; 512];
    let mut w = 0;
    while w < 512 {
        t[w] = nbb_bucket((w as u32).count_ones());
        w += 1;
    }
    t
};

impl KindPlanes {
    /// Ends a frame: the current kinds become the previous ones and the context bases
    /// of the next frame are computed from them.
    pub fn next_frame(&mut self) {
        core::mem::swap(&mut self.prev, &mut self.cur);
        // Changed flags of each row as a bit mask, shifted by one so that column c's
        // 3-wide neighbourhood is bits c..c+3; rows -1 and 8 are empty.
        let mut changed = [0u32; ROWS + 2];
        for (r, mask) in changed[1..=ROWS].iter_mut().enumerate() {
            for (c, &k) in self.prev[r * COLS..(r + 1) * COLS].iter().enumerate() {
                *mask |= ((k != kind::COPY) as u32) << (c + 1);
            }
        }
        for r in 0..ROWS {
            let (above, here, below) = (changed[r], changed[r + 1], changed[r + 2]);
            for c in 0..COLS {
                let pos = r * COLS + c;
                let block = ((above >> c) & 7) | (((here >> c) & 7) << 3) | (((below >> c) & 7) << 6);
                self.base[pos] = (self.prev[pos] * 5 + NBB[block as usize]) * 5;
            }
        }
    }

    /// Context of position `pos` (`< 128`) of the current frame; the row above must
    /// already have its kinds in place.
    #[inline(always)]
    pub fn context(&self, pos: usize) -> usize {
        let pos = pos % FRAME_TOKENS;
        let up = if pos >= COLS { self.cur[pos - COLS] } else { UP_NONE };
        (self.base[pos] + up) as usize
    }

    /// Records the kind of position `pos` in the current frame.
    #[inline(always)]
    pub fn set_kind(&mut self, pos: usize, k: u8) {
        self.cur[pos % FRAME_TOKENS] = k;
    }
}

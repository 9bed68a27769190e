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

#[inline(always)]
const fn nbb_bucket(n: u8) -> u8 {
    match n {
        0 => 0,
        1..=2 => 1,
        3..=5 => 2,
        6..=8 => 3,
        _ => 4,
    }
}

impl KindPlanes {
    /// Ends a frame: the current kinds become the previous ones and the context bases
    /// of the next frame are computed from them.
    pub fn next_frame(&mut self) {
        self.prev = self.cur;
        // Changed flags summed horizontally over 3 columns, then vertically over 3 rows.
        let mut hsum = [0u8; FRAME_TOKENS];
        for r in 0..ROWS {
            let row = &self.prev[r * COLS..(r + 1) * COLS];
            for c in 0..COLS {
                let changed = |cc: usize| (row[cc] != kind::COPY) as u8;
                let left = if c > 0 { changed(c - 1) } else { 0 };
                let right = if c + 1 < COLS { changed(c + 1) } else { 0 };
                hsum[r * COLS + c] = left + changed(c) + right;
            }
        }
        for r in 0..ROWS {
            for c in 0..COLS {
                let pos = r * COLS + c;
                let above = if r > 0 { hsum[pos - COLS] } else { 0 };
                let below = if r + 1 < ROWS { hsum[pos + COLS] } else { 0 };
                let n = above + hsum[pos] + below;
                self.base[pos] = (self.prev[pos] * 5 + nbb_bucket(n)) * 5;
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

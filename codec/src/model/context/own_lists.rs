//! Per-position recency lists: the last few distinct tokens seen at each of the
//! 128 positions, most recent first.

use super::classes::OWN_DEPTH;
use crate::container::FRAME_TOKENS;

/// Marks an empty list entry (no token has that rank yet).
pub const EMPTY: u16 = u16::MAX;

/// `FRAME_TOKENS` lists of `OWN_DEPTH` (= 4) tokens: 1 KiB. Each list is packed in
/// two `u32` words, `[e0 | e1 << 16, e2 | e3 << 16]`, so that moving an entry to the
/// front is a few 32-bit shifts (cheap on 32-bit cores too) and rank 0 (a copy)
/// needs no update at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnLists {
    lists: [[u32; 2]; FRAME_TOKENS],
}

const _: () = assert!(OWN_DEPTH == 4, "a list is packed into two u32");
const _: () = assert!(FRAME_TOKENS.is_power_of_two());

impl Default for OwnLists {
    fn default() -> Self {
        OwnLists { lists: [[u32::MAX; 2]; FRAME_TOKENS] }
    }
}

/// What [`OwnLists::observe`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The token was in the list at this rank (now at the front).
    Own(usize),
    /// The token was not in the list (now at its front); `front` was at the front.
    New {
        /// The token at the front of the list before.
        front: u16,
    },
}

impl OwnLists {
    /// The list at position `pos` (`< 128`), most recent first.
    #[inline(always)]
    pub fn list(&self, pos: usize) -> [u16; OWN_DEPTH] {
        let [lo, hi] = self.lists[pos % FRAME_TOKENS];
        [lo as u16, (lo >> 16) as u16, hi as u16, (hi >> 16) as u16]
    }

    /// Sets the list at position `pos` (`< 128`) to `list`, most recent first, exactly
    /// as given (empty entries and repeats included).
    pub fn set_list(&mut self, pos: usize, list: [u16; OWN_DEPTH]) {
        let [a, b, c, d] = list.map(u32::from);
        self.lists[pos % FRAME_TOKENS] = [a | b << 16, c | d << 16];
    }

    /// The lists as `2 * FRAME_TOKENS` words (`[lo, hi]` per position), for the
    /// hand-written frame loops (ARMv7E-M, ARMv6-M).
    #[cfg(any(vqtans_v7em, vqtans_v6m))]
    pub(crate) fn words_mut(&mut self) -> &mut [[u32; 2]; FRAME_TOKENS] {
        &mut self.lists
    }

    /// Entry 0 (the most recent token) of every list, in position order.
    #[inline]
    pub fn fronts(&self, out: &mut [u16; FRAME_TOKENS]) {
        for (token, list) in out.iter_mut().zip(&self.lists) {
            *token = list[0] as u16;
        }
    }

    /// Entry `rank` (`< OWN_DEPTH`) of list `pos`.
    #[inline(always)]
    pub fn get(&self, pos: usize, rank: usize) -> u16 {
        let rank = rank % OWN_DEPTH;
        (self.lists[pos % FRAME_TOKENS][rank >> 1] >> (16 * (rank & 1))) as u16
    }

    /// Entry 0 (the most recent token) of list `pos`.
    #[inline(always)]
    pub fn front(&self, pos: usize) -> u16 {
        self.lists[pos % FRAME_TOKENS][0] as u16
    }

    /// Rank of `token` in the list at `pos`, if present.
    #[inline]
    pub fn rank_of(&self, pos: usize, token: u16) -> Option<usize> {
        self.list(pos).iter().position(|&t| t == token)
    }

    /// Moves rank `rank` (`< OWN_DEPTH`) of list `pos` to the front and returns the
    /// token there (`EMPTY` if that entry was empty). Branches on the rank on 32-bit
    /// cores (cheap there), branch-free 64-bit arithmetic on hosts (where the rank is
    /// an unpredictable branch); both give the same lists.
    #[inline(always)]
    pub fn take(&mut self, pos: usize, rank: usize) -> u16 {
        let l = &mut self.lists[pos % FRAME_TOKENS];
        let (list, token) =
            if cfg!(target_pointer_width = "64") { take_shifts(*l, rank) } else { take_match(*l, rank) };
        *l = list;
        token
    }

    /// Moves rank `rank` (`< OWN_DEPTH`) of list `pos` to the front.
    #[inline(always)]
    pub fn promote(&mut self, pos: usize, rank: usize) {
        self.take(pos, rank);
    }

    /// Puts `token` at the front of list `pos`: removed first if present, otherwise
    /// the oldest entry drops off.
    #[inline(always)]
    pub fn push_front(&mut self, pos: usize, token: u16) {
        let l = &mut self.lists[pos % FRAME_TOKENS];
        let [lo, hi] = *l;
        let t = token as u32;
        if t == lo & 0xFFFF || t == lo >> 16 || t == hi & 0xFFFF {
            // Present at rank 0..=2 (rank 3 and absent are the same update).
            self.push_present(pos, token);
        } else {
            *l = [(lo << 16) | t, (hi << 16) | (lo >> 16)];
        }
    }

    /// The encoder's (and trainer's) update of list `pos` for the next token `token`,
    /// the decoder's in reverse: if `token` is in the list, moves it to the front and
    /// returns [`Seen::Own`] with its rank; else puts it at the front (the oldest entry
    /// drops off) and returns [`Seen::New`] with the token that was at the front
    /// before, the one whose successor list ranks `token`.
    #[inline(always)]
    pub fn observe(&mut self, pos: usize, token: u16) -> Seen {
        match self.rank_of(pos, token) {
            Some(rank) => {
                self.promote(pos, rank);
                Seen::Own(rank)
            }
            None => {
                let front = self.list(pos)[0];
                self.push_absent(pos, token);
                Seen::New { front }
            }
        }
    }

    /// Puts `token` at the front of list `pos` and drops the oldest entry, for a
    /// token known not to be in the list (then the same as [`OwnLists::push_front`]).
    /// A token that is in the list after all ends up in it twice, which only a
    /// damaged stream can cause and which harms nothing.
    #[inline(always)]
    pub fn push_absent(&mut self, pos: usize, token: u16) {
        let l = &mut self.lists[pos % FRAME_TOKENS];
        let [lo, hi] = *l;
        *l = [(lo << 16) | token as u32, (hi << 16) | (lo >> 16)];
    }

    #[cold]
    #[inline(never)]
    fn push_present(&mut self, pos: usize, token: u16) {
        if let Some(rank) = self.rank_of(pos, token) {
            self.promote(pos, rank);
        }
    }
}

/// [`OwnLists::take`] on one list, by cases.
#[inline(always)]
fn take_match(l: [u32; 2], rank: usize) -> ([u32; 2], u16) {
    let [lo, hi] = l;
    match rank % OWN_DEPTH {
        0 => (l, lo as u16),
        1 => {
            let lo = lo.rotate_right(16);
            ([lo, hi], lo as u16)
        }
        2 => {
            let t = hi & 0xFFFF;
            ([(lo << 16) | t, (hi & 0xFFFF_0000) | (lo >> 16)], t as u16)
        }
        _ => {
            let t = hi >> 16;
            ([(lo << 16) | t, (hi << 16) | (lo >> 16)], t as u16)
        }
    }
}

/// [`OwnLists::take`] on one list, with 64-bit shifts and no branch.
#[inline(always)]
fn take_shifts(l: [u32; 2], rank: usize) -> ([u32; 2], u16) {
    let v = l[0] as u64 | (l[1] as u64) << 32;
    let shift = 16 * (rank % OWN_DEPTH) as u32;
    let token = (v >> shift) & 0xFFFF;
    let before = v & ((1u64 << shift) - 1);
    // Entries above the taken one stay; `<< 1 << 15` keeps rank 3 (shift 48) in range.
    let above = (v >> shift >> 16) << 1 << 15 << shift;
    let v = above | (before << 16) | token;
    ([v as u32, (v >> 32) as u32], token as u16)
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_takes_agree() {
        let mut x = 99u32;
        for _ in 0..20_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let l = [x ^ 0x5A5A_1234, x.rotate_left(7)];
            for rank in 0..4 {
                assert_eq!(super::take_match(l, rank), super::take_shifts(l, rank));
            }
        }
    }

    use super::*;
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn move_to_front_rules() {
        let mut l = OwnLists::default();
        for t in [1, 2, 3, 4, 5] {
            l.push_front(7, t);
        }
        assert_eq!(l.list(7), [5, 4, 3, 2]);
        l.promote(7, 2);
        assert_eq!(l.list(7), [3, 5, 4, 2]);
        l.push_front(7, 4); // present: moves, nothing drops
        assert_eq!(l.list(7), [4, 3, 5, 2]);
        l.push_front(7, 9); // new: oldest drops
        assert_eq!(l.list(7), [9, 4, 3, 5]);
        assert_eq!(l.rank_of(7, 5), Some(3));
        assert_eq!(l.rank_of(7, 1023), None);
        l.promote(7, 0);
        assert_eq!(l.list(7), [9, 4, 3, 5]);
        l.promote(7, 3);
        assert_eq!(l.list(7), [5, 9, 4, 3]);
        assert_eq!(l.get(7, 1), 9);
        assert_eq!(l.list(0), [EMPTY; OWN_DEPTH]);
        assert_eq!(l.rank_of(0, 5), None);
    }

    #[test]
    fn packed_lists_match_a_plain_move_to_front() {
        // Compare against a straightforward Vec model on a pseudo-random sequence.
        let mut l = OwnLists::default();
        let mut plain: Vec<u16> = Vec::new();
        let mut x = 12345u32;
        for _ in 0..10_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let token = ((x >> 16) % 7) as u16 * 150;
            l.push_front(3, token);
            if let Some(i) = plain.iter().position(|&t| t == token) {
                plain.remove(i);
            }
            plain.insert(0, token);
            plain.truncate(OWN_DEPTH);
            let mut expect = [EMPTY; OWN_DEPTH];
            expect[..plain.len()].copy_from_slice(&plain);
            assert_eq!(l.list(3), expect);
        }
    }
}

//! Per-position recency lists: the last few distinct tokens seen at each of the
//! 128 positions, most recent first.

use super::classes::OWN_DEPTH;
use crate::container::FRAME_TOKENS;

/// Marks an empty list entry (no token has that rank yet).
pub const EMPTY: u16 = u16::MAX;

/// `FRAME_TOKENS` lists of `OWN_DEPTH` (= 4) tokens: 1 KiB. Each list is packed in
/// one `u64`, entry `i` in bits `16i..16i+16`, so moving an entry to the front is a
/// few shifts and masks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnLists {
    lists: [u64; FRAME_TOKENS],
}

const _: () = assert!(OWN_DEPTH == 4, "a list is packed into one u64");
const LANES: u64 = 0x0001_0001_0001_0001;

impl Default for OwnLists {
    fn default() -> Self {
        OwnLists { lists: [u64::MAX; FRAME_TOKENS] }
    }
}

impl OwnLists {
    /// The list at position `pos` (`< 128`), most recent first.
    #[inline(always)]
    pub fn list(&self, pos: usize) -> [u16; OWN_DEPTH] {
        let l = self.lists[pos % FRAME_TOKENS];
        [l as u16, (l >> 16) as u16, (l >> 32) as u16, (l >> 48) as u16]
    }

    /// Entry `rank` (`< OWN_DEPTH`) of list `pos`.
    #[inline(always)]
    pub fn get(&self, pos: usize, rank: usize) -> u16 {
        (self.lists[pos % FRAME_TOKENS] >> (16 * (rank % OWN_DEPTH))) as u16
    }

    /// Rank of `token` in the list at `pos`, if present.
    #[inline]
    pub fn rank_of(&self, pos: usize, token: u16) -> Option<usize> {
        // Lanes equal to `token` become zero; find the first zero lane.
        let v = self.lists[pos % FRAME_TOKENS] ^ (token as u64 * LANES);
        let zero = (v.wrapping_sub(LANES)) & !v & (LANES << 15);
        (zero != 0).then(|| zero.trailing_zeros() as usize / 16)
    }

    /// Moves rank `rank` (`< OWN_DEPTH`) of list `pos` to the front.
    #[inline(always)]
    pub fn promote(&mut self, pos: usize, rank: usize) {
        let l = &mut self.lists[pos % FRAME_TOKENS];
        let shift = 16 * (rank % OWN_DEPTH) as u32;
        let token = (*l >> shift) & 0xFFFF;
        let before = *l & ((1u64 << shift) - 1);
        let after = l.checked_shr(shift + 16).map_or(0, |a| a << (shift + 16));
        *l = after | (before << 16) | token;
    }

    /// Puts `token` at the front of list `pos`: removed first if present, otherwise
    /// the oldest entry drops off.
    #[inline(always)]
    pub fn push_front(&mut self, pos: usize, token: u16) {
        match self.rank_of(pos, token) {
            Some(rank) => self.promote(pos, rank),
            None => {
                let l = &mut self.lists[pos % FRAME_TOKENS];
                *l = (*l << 16) | token as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
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

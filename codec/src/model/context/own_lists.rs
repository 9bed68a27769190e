//! Per-position recency lists: the last few distinct tokens seen at each of the
//! 128 positions, most recent first.

use super::classes::OWN_DEPTH;
use crate::container::FRAME_TOKENS;

/// Marks an empty list entry (no token has that rank yet).
pub const EMPTY: u16 = u16::MAX;

/// `FRAME_TOKENS` lists of `OWN_DEPTH` tokens: 1 KiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnLists {
    lists: [[u16; OWN_DEPTH]; FRAME_TOKENS],
}

impl Default for OwnLists {
    fn default() -> Self {
        OwnLists { lists: [[EMPTY; OWN_DEPTH]; FRAME_TOKENS] }
    }
}

impl OwnLists {
    /// The list at position `pos` (`< 128`).
    #[inline(always)]
    pub fn list(&self, pos: usize) -> &[u16; OWN_DEPTH] {
        &self.lists[pos % FRAME_TOKENS]
    }

    /// Rank of `token` in the list at `pos`, if present.
    #[inline]
    pub fn rank_of(&self, pos: usize, token: u16) -> Option<usize> {
        self.list(pos).iter().position(|&t| t == token)
    }

    /// Moves rank `rank` (`< OWN_DEPTH`) of list `pos` to the front.
    #[inline(always)]
    pub fn promote(&mut self, pos: usize, rank: usize) {
        let list = &mut self.lists[pos % FRAME_TOKENS];
        let token = list[rank % OWN_DEPTH];
        let mut i = rank % OWN_DEPTH;
        while i > 0 {
            list[i] = list[i - 1];
            i -= 1;
        }
        list[0] = token;
    }

    /// Puts `token` at the front of list `pos`: removed first if present, otherwise
    /// the oldest entry drops off.
    #[inline(always)]
    pub fn push_front(&mut self, pos: usize, token: u16) {
        let rank = self.rank_of(pos, token).unwrap_or(OWN_DEPTH - 1);
        let list = &mut self.lists[pos % FRAME_TOKENS];
        list[rank] = token;
        self.promote(pos, rank);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_to_front_rules() {
        let mut l = OwnLists::default();
        for t in [1, 2, 3, 4, 5] {
            l.push_front(7, t);
        }
        assert_eq!(l.list(7), &[5, 4, 3, 2]);
        l.promote(7, 2);
        assert_eq!(l.list(7), &[3, 5, 4, 2]);
        l.push_front(7, 4); // present: moves, nothing drops
        assert_eq!(l.list(7), &[4, 3, 5, 2]);
        l.push_front(7, 9); // new: oldest drops
        assert_eq!(l.list(7), &[9, 4, 3, 5]);
        assert_eq!(l.rank_of(7, 5), Some(3));
        assert_eq!(l.list(0), &[EMPTY; OWN_DEPTH]);
    }
}

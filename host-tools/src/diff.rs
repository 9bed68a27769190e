//! Comparing token arrays and describing where they differ.

use std::fmt;

use crate::io::tokens::{COLS, TOKENS_PER_FRAME};

/// The first position where two token arrays differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Difference {
    /// Frame index, from 0.
    pub frame: usize,
    /// Row inside the frame, `0..8`.
    pub row: usize,
    /// Column inside the frame, `0..16`.
    pub col: usize,
    /// The token in the decoded stream.
    pub decoded: u16,
    /// The token in the original.
    pub original: u16,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "first difference at frame {} row {} col {}: decoded {}, original {}",
            self.frame, self.row, self.col, self.decoded, self.original
        )
    }
}

/// The first differing token of `decoded` and `original` over their common
/// length, `offset` being the index of their first token in the segment
/// (row-major, 128 tokens per frame). `None` if the common part is equal.
pub fn first_difference(decoded: &[u16], original: &[u16], offset: usize) -> Option<Difference> {
    let i = decoded.iter().zip(original).position(|(a, b)| a != b)?;
    let at = offset + i;
    Some(Difference {
        frame: at / TOKENS_PER_FRAME,
        row: at % TOKENS_PER_FRAME / COLS,
        col: at % COLS,
        decoded: decoded[i],
        original: original[i],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_logical_position() {
        let a = vec![5u16; 3 * 128];
        let mut b = a.clone();
        assert_eq!(first_difference(&a, &b, 0), None);
        b[128 + 2 * 16 + 7] = 9;
        let d = first_difference(&a, &b, 0).unwrap();
        assert_eq!((d.frame, d.row, d.col, d.decoded, d.original), (1, 2, 7, 5, 9));
        let d = first_difference(&a[128..256], &b[128..256], 128).unwrap();
        assert_eq!((d.frame, d.row, d.col), (1, 2, 7));
        assert_eq!(d.to_string(), "first difference at frame 1 row 2 col 7: decoded 5, original 9");
    }
}

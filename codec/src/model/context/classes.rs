//! Class symbols: what the context model codes with tANS for each token.
//!
//! Alphabet of `OWN_DEPTH + buckets(K) + 1` symbols:
//! - `0..OWN_DEPTH`: the token is at that rank of its position's own recency list
//!   (0 = same as the previous frame);
//! - `OWN_DEPTH + b`: the token is at a rank in bucket `b` of the previous token's
//!   successor list; the offset inside the bucket follows as raw bits;
//! - last: escape, the token follows as 10 raw bits.
//!
//! Successor buckets have log-scale edges 0,1,2,3,4,6,8,12,16,...,768 (two buckets per
//! power of two), so a bucket of size `2^k` sends `k` raw bits.

/// Depth of each position's own recency list.
pub const OWN_DEPTH: usize = 4;

/// Lower edges of the successor-rank buckets; bucket `b` covers `EDGES[b]..EDGES[b+1]`.
pub const EDGES: [u16; 21] = [0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024];

/// Token kind, used as context: how the token related to the position's past.
pub mod kind {
    /// Same token as the previous frame.
    pub const COPY: u8 = 0;
    /// Own recency-list rank 1..OWN_DEPTH.
    pub const OWN: u8 = 1;
    /// From the successor list.
    pub const SUCCESSOR: u8 = 2;
    /// Escape (new token sent raw); also every token of frame 0.
    pub const ESCAPE: u8 = 3;
    /// Number of kinds.
    pub const COUNT: u8 = 4;
}

/// Number of successor buckets for a list of `k` entries, if `k` is an allowed
/// length (an edge value from 4 to 768).
pub const fn buckets_for(k: usize) -> Option<usize> {
    let mut b = 4;
    while b < EDGES.len() - 1 {
        if EDGES[b] as usize == k {
            return Some(b);
        }
        b += 1;
    }
    None
}

/// Successor bucket of rank `r`.
#[inline]
pub fn bucket_of(rank: u16) -> usize {
    EDGES.partition_point(|&e| e <= rank) - 1
}

/// Raw offset bits sent after bucket `b`.
#[inline(always)]
pub const fn bucket_bits(b: usize) -> u32 {
    (EDGES[b + 1] - EDGES[b]).trailing_zeros()
}

/// The class alphabet for a successor list of `buckets` buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classes {
    /// Number of successor buckets.
    pub buckets: usize,
}

impl Classes {
    /// Number of class symbols.
    #[inline(always)]
    pub const fn alphabet(&self) -> usize {
        OWN_DEPTH + self.buckets + 1
    }
    /// The escape symbol.
    #[inline(always)]
    pub const fn escape(&self) -> u16 {
        (OWN_DEPTH + self.buckets) as u16
    }
    /// The kind of a class symbol.
    #[inline(always)]
    pub const fn kind(&self, class: u16) -> u8 {
        let c = class as usize;
        if c == 0 {
            kind::COPY
        } else if c < OWN_DEPTH {
            kind::OWN
        } else if c < OWN_DEPTH + self.buckets {
            kind::SUCCESSOR
        } else {
            kind::ESCAPE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_ranks_exactly() {
        for k in [4usize, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768] {
            let b = buckets_for(k).unwrap();
            assert_eq!(EDGES[b] as usize, k);
            for rank in 0..k as u16 {
                let bucket = bucket_of(rank);
                assert!(bucket < b);
                let lo = EDGES[bucket];
                assert!(rank >= lo && ((rank - lo) as u32) < (1 << bucket_bits(bucket)));
            }
        }
        assert_eq!(buckets_for(192), Some(15));
        assert_eq!(buckets_for(100), None);
        assert_eq!(buckets_for(1024), None);
    }

    #[test]
    fn kinds_of_classes() {
        let c = Classes { buckets: 15 };
        assert_eq!(c.alphabet(), 20);
        assert_eq!(c.kind(0), kind::COPY);
        assert_eq!(c.kind(3), kind::OWN);
        assert_eq!(c.kind(4), kind::SUCCESSOR);
        assert_eq!(c.kind(18), kind::SUCCESSOR);
        assert_eq!(c.kind(c.escape()), kind::ESCAPE);
    }
}

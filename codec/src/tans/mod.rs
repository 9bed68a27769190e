//! Table-based asymmetric numeral systems (tANS) with fixed, static tables.
//!
//! Conventions (see `codec/FORMAT.md` for the byte layout):
//! - A *table* describes one probability distribution over an alphabet of up to
//!   [`MAX_ALPHABET`] symbols as normalised counts summing to `2^log` (its *table log*).
//! - All tables of a table set share one *state log* `M >= log` of every table. Coder
//!   states live in `[0, 2^M)` (decoder form). A table of log `l < M` is used as if each
//!   of its slots were repeated `2^(M-l)` times, so a state is valid for every table of the
//!   set and each symbol may be coded with a different table (context coding), while each
//!   table keeps the size its statistics deserve.
//! - Several states are interleaved; which state codes which symbol is chosen by the
//!   caller (the model), identically on both sides.

pub mod bits;
pub mod decode_table;
pub mod decoder;
#[cfg(feature = "alloc")]
pub mod encode_table;
#[cfg(feature = "alloc")]
pub mod encoder;
#[cfg(feature = "std")]
pub mod normalize;
pub mod spread;

/// Largest alphabet a table may have (commaVQ tokens are 10-bit).
pub const MAX_ALPHABET: usize = 1024;
/// Smallest table log: the spreading step needs at least 16 slots to be odd.
pub const MIN_TABLE_LOG: u8 = 5;
/// Largest table log and state log. A decode entry stores `nb_bits <= 15` and a
/// 16-bit base, and a 64-bit bit buffer refilled to 56 bits always covers one read.
pub const MAX_TABLE_LOG: u8 = 15;
/// Largest number of interleaved states a stream may use.
pub const MAX_STATES: usize = 32;

/// One normalised table: counts per symbol summing to `2^log`.
#[derive(Debug, Clone, Copy)]
pub struct NormalizedRef<'a> {
    /// Table log: the counts sum to `1 << log`.
    pub log: u8,
    /// Little-endian `u16` count per symbol (`2 * alphabet` bytes).
    pub counts_le: &'a [u8],
}

impl<'a> NormalizedRef<'a> {
    /// Number of symbols in the alphabet.
    pub fn alphabet(&self) -> usize {
        self.counts_le.len() / 2
    }
    /// Normalised count of `symbol` (0 for symbols beyond the alphabet).
    pub fn count(&self, symbol: usize) -> u32 {
        match self.counts_le.get(2 * symbol..2 * symbol + 2) {
            Some(b) => u16::from_le_bytes([b[0], b[1]]) as u32,
            None => 0,
        }
    }
    /// Most bits one decode step with this table reads: `log - floor(log2 c)` for its
    /// smallest non-zero count `c` (0 for a table without any).
    pub fn max_step_bits(&self) -> u32 {
        let smallest = (0..self.alphabet()).map(|s| self.count(s)).filter(|&c| c > 0).min();
        smallest.map_or(0, |c| (self.log as u32).saturating_sub(floor_log2(c)))
    }

    /// Checks that this is a usable table for state log `state_log`:
    /// log in range, alphabet in range, counts summing to exactly `2^log`.
    pub fn validate(&self, state_log: u8) -> crate::Result<()> {
        if self.log < MIN_TABLE_LOG || self.log > state_log || state_log > MAX_TABLE_LOG {
            return Err(crate::Error::TableLog { log: self.log });
        }
        let n = self.alphabet();
        if n == 0 || n > MAX_ALPHABET || self.counts_le.len() % 2 != 0 {
            return Err(crate::Error::AlphabetSize { size: n });
        }
        let total: u32 = (0..n).map(|s| self.count(s)).sum();
        if total != 1u32 << self.log {
            return Err(crate::Error::TableSetInvalid);
        }
        Ok(())
    }
}

/// Integer floor of log2 for `x > 0`.
#[inline(always)]
pub(crate) fn floor_log2(x: u32) -> u32 {
    31 - x.leading_zeros()
}

//! The order-0 model: each token is one symbol of a single 1024-symbol table, coded
//! by [`N_STATES`] interleaved states in turn (token `i` by state `i % N_STATES`).
//! It is the reference that shows the coder's own overhead; real compression comes
//! from the context model.

use crate::container::FRAME_TOKENS;
use crate::table_set::TableSetRef;
use crate::tans::decode_table::DecodeTables;
use crate::tans::decoder::TansDecoder;
use crate::{Error, Result};

/// Interleaved states of the order-0 model.
pub const N_STATES: usize = 4;

/// Order-0 model parameters (none beyond the single table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order0;

impl Order0 {
    /// Checks the set is one table of 1024 symbols with a model section `[0]`.
    pub fn from_table_set(set: &TableSetRef<'_>) -> Result<Self> {
        if set.model() != [super::KIND_ORDER0] || set.len() != 1 || set.alphabet(0) != 1024 {
            return Err(Error::UnknownModel);
        }
        Ok(Order0)
    }

    /// Decodes one frame.
    #[inline]
    pub fn decode_frame(
        &self,
        coder: &mut TansDecoder<'_>,
        tables: &DecodeTables<'_>,
        out: &mut [u16; FRAME_TOKENS],
    ) -> Result<()> {
        let table = tables.table(0)?;
        for quad in out.chunks_exact_mut(N_STATES) {
            for (state, token) in quad.iter_mut().enumerate() {
                *token = coder.decode(state, table);
            }
        }
        Ok(())
    }

    /// The operations coding `tokens`.
    #[cfg(feature = "alloc")]
    pub fn ops(&self, tokens: &[u16]) -> alloc::vec::Vec<crate::tans::encoder::Op> {
        tokens
            .iter()
            .enumerate()
            .map(|(i, &t)| crate::tans::encoder::Op::Symbol { state: (i % N_STATES) as u8, table: 0, symbol: t })
            .collect()
    }
}

/// Builds an order-0 table set from token counts (1024 entries). Every token value
/// gets at least one slot, so any segment can be coded with the result.
#[cfg(feature = "std")]
pub fn build_table_set(counts: &[u64], log: u8) -> Result<crate::table_set::TableSet> {
    if counts.len() != 1024 {
        return Err(Error::AlphabetSize { size: counts.len() });
    }
    let norm = crate::tans::normalize::normalize_with_floor(counts, 1, log)?;
    Ok(crate::table_set::TableSet {
        state_log: log,
        tables: alloc::vec![(log, norm)],
        model: alloc::vec![super::KIND_ORDER0],
    })
}

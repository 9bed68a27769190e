//! The tANS decoder: reads symbols back in the order they were given to the encoder.
//!
//! It needs no heap: its whole state is the bit reader and one `u32` per interleaved
//! state ([`TansDecoder`] is about 160 bytes). Decoding never reads outside the
//! payload or the tables, whatever the payload holds; damage shows up as an error from
//! [`TansDecoder::finish`] (or from the model or checksum above it).

use super::bits::BitReader;
use super::decode_table::TableView;
use super::{MAX_STATES, MAX_TABLE_LOG, MIN_TABLE_LOG};
use crate::{Error, Result};

/// Decoder over one payload with up to [`MAX_STATES`] interleaved states.
#[derive(Debug, Clone)]
pub struct TansDecoder<'a> {
    reader: BitReader<'a>,
    states: [u32; MAX_STATES],
    n_states: usize,
}

impl<'a> TansDecoder<'a> {
    /// Starts decoding `payload` written with `n_states` states and `state_log`.
    pub fn new(payload: &'a [u8], n_states: usize, state_log: u8) -> Result<Self> {
        if n_states == 0 || n_states > MAX_STATES {
            return Err(Error::StateCount { states: n_states });
        }
        if !(MIN_TABLE_LOG..=MAX_TABLE_LOG).contains(&state_log) {
            return Err(Error::TableLog { log: state_log });
        }
        let mut reader = BitReader::new(payload);
        let mut states = [0u32; MAX_STATES];
        for s in states.iter_mut().take(n_states) {
            *s = reader.read(state_log as u32);
        }
        Ok(TansDecoder { reader, states, n_states })
    }

    /// Decodes one symbol with interleaved state `state` (taken modulo `MAX_STATES`;
    /// callers pass `state < n_states`) and table `table`.
    #[inline(always)]
    pub fn decode(&mut self, state: usize, table: TableView<'_>) -> u16 {
        let x = &mut self.states[state % MAX_STATES];
        let entry = table.entries[(*x >> table.shift) as usize];
        let nb = entry.nb_bits();
        let low = *x & ((1u32 << table.shift) - 1);
        *x = (entry.base() << table.shift) + (low << nb) + self.reader.read(nb);
        entry.symbol()
    }

    /// Reads `nb <= 16` raw bits (written by an `Op::Raw`).
    #[inline(always)]
    pub fn read_raw(&mut self, nb: u32) -> u16 {
        self.reader.read(nb) as u16
    }

    /// True once the decoder has read past the end of the payload (the stream is
    /// truncated or corrupt); models check this to stop early.
    pub fn overran(&self) -> bool {
        self.reader.overran()
    }

    /// Number of interleaved states.
    pub fn n_states(&self) -> usize {
        self.n_states
    }

    /// Checks the end of the payload: every bit consumed, padding zero, and every
    /// state back at the encoder's starting state.
    pub fn finish(&self) -> Result<()> {
        self.reader.finish()?;
        if self.states[..self.n_states].iter().any(|&s| s != 0) {
            return Err(Error::PayloadCorrupt);
        }
        Ok(())
    }
}

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

    /// Continues decoding `payload` at bit `bit` (`<= 8 * payload.len()`) with the
    /// given states (`states.len()` interleaved states), as if a decoder made by
    /// [`TansDecoder::new`] had consumed `bit` bits and ended in `states`. Used to hand
    /// a stream over from another decoding path, or to go on decoding a stream that
    /// arrives piece by piece (`payload` is then the part of it in a buffer).
    pub(crate) fn resume(payload: &'a [u8], bit: usize, states: &[u32], state_log: u8) -> Result<Self> {
        let n_states = states.len();
        if n_states == 0 || n_states > MAX_STATES {
            return Err(Error::StateCount { states: n_states });
        }
        if !(MIN_TABLE_LOG..=MAX_TABLE_LOG).contains(&state_log) {
            return Err(Error::TableLog { log: state_log });
        }
        let mut all = [0u32; MAX_STATES];
        all[..n_states].copy_from_slice(states);
        Ok(TansDecoder { reader: BitReader::at_bit(payload, bit), states: all, n_states })
    }

    /// The interleaved states.
    pub(crate) fn states(&self) -> &[u32] {
        &self.states[..self.n_states]
    }

    /// Number of payload bits consumed so far (counting zero bits read past its end).
    pub(crate) fn consumed_bits(&self) -> usize {
        self.reader.consumed_bits()
    }

    /// Decodes one symbol with interleaved state `state` (taken modulo `MAX_STATES`;
    /// callers pass `state < n_states`) and table `table` (of this decoder's state
    /// log: every state stays below `table.len()`).
    #[inline(always)]
    pub fn decode(&mut self, state: usize, table: TableView<'_>) -> u16 {
        let x = &mut self.states[state % MAX_STATES];
        // A state is always below 2^M, the table's length; a default entry (symbol 0,
        // no bits) would only stand in for a table of another state log.
        let entry = table.get(*x as usize).unwrap_or_default();
        *x = entry.base() + self.reader.read(entry.nb_bits());
        entry.symbol()
    }

    /// The bit reader and the states, for a model's inner loop.
    #[inline(always)]
    pub(crate) fn parts(&mut self) -> (&mut BitReader<'a>, &mut [u32; MAX_STATES]) {
        (&mut self.reader, &mut self.states)
    }

    /// Reads `nb <= 16` raw bits (written by an `Op::Raw`).
    #[inline(always)]
    pub fn read_raw(&mut self, nb: u32) -> u16 {
        self.reader.read(nb) as u16
    }

    /// Reads a 32-bit value written as two 16-bit raw operations, low half first (a
    /// group checksum). `Truncated` if that reads past the end of the payload.
    pub fn read_u32(&mut self) -> Result<u32> {
        let low = self.reader.read(16);
        let high = self.reader.read(16);
        if self.reader.overran() {
            return Err(Error::Truncated);
        }
        Ok(low | high << 16)
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

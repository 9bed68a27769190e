//! Encode tables: for each symbol, where its slots are, in slot order.

use super::{floor_log2, spread, NormalizedRef};
use crate::{Error, Result};
use alloc::vec;
use alloc::vec::Vec;

/// What the encoder needs of one table.
#[derive(Debug, Clone)]
pub struct EncodeTable {
    /// Table log.
    pub log: u8,
    /// `start[s]`: index in `slots` of symbol `s`'s first slot; `start[alphabet]` = table size.
    start: Vec<u32>,
    /// Slot indices of each symbol, symbol by symbol, each in increasing order.
    slots: Vec<u16>,
}

/// One coding step: the bits to emit and the next encoder state.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// The low `nb_bits` bits of the state before the step.
    pub bits: u32,
    /// Number of bits emitted.
    pub nb_bits: u32,
    /// New encoder state, in `[2^M, 2^(M+1))`.
    pub state: u32,
}

impl EncodeTable {
    /// Builds the encode table of a validated table.
    pub fn new(table: &NormalizedRef<'_>) -> Self {
        let n = table.alphabet();
        let mut start = vec![0u32; n + 1];
        for s in 0..n {
            start[s + 1] = start[s] + table.count(s);
        }
        let mut symbol_of_slot = vec![0u16; 1 << table.log];
        spread::for_each_slot(table, |slot, symbol| symbol_of_slot[slot] = symbol);
        let mut fill = start.clone();
        let mut slots = vec![0u16; 1 << table.log];
        for (slot, &s) in symbol_of_slot.iter().enumerate() {
            slots[fill[s as usize] as usize] = slot as u16;
            fill[s as usize] += 1;
        }
        EncodeTable { log: table.log, start, slots }
    }

    /// Normalised count of `symbol` (0 if it cannot be coded).
    #[inline]
    pub fn count(&self, symbol: u16) -> u32 {
        let s = symbol as usize;
        if s + 1 >= self.start.len() {
            return 0;
        }
        self.start[s + 1] - self.start[s]
    }

    /// Encodes `symbol` from encoder state `state` in `[2^M, 2^(M+1))`, `M = state_log`.
    ///
    /// `table_id` only labels the error if the symbol has no slot.
    #[inline]
    pub fn step(&self, state: u32, symbol: u16, state_log: u8, table_id: u16) -> Result<Step> {
        let count = self.count(symbol);
        if count == 0 {
            return Err(Error::SymbolNotInTable { table: table_id, symbol });
        }
        let shift = (state_log - self.log) as u32;
        let scaled = count << shift;
        let a = floor_log2(scaled);
        let mut nb = state_log as u32 - a;
        if (state >> nb) < scaled {
            nb -= 1;
        }
        let reduced = state >> nb; // in [scaled, 2 * scaled)
        let m = reduced - scaled;
        let occurrence = m >> shift;
        let low = m & ((1 << shift) - 1);
        let slot = self.slots[(self.start[symbol as usize] + occurrence) as usize] as u32;
        Ok(Step { bits: state & ((1u32 << nb) - 1), nb_bits: nb, state: (1u32 << state_log) + (slot << shift) + low })
    }
}

//! The tANS encoder: turns a sequence of (state, table, symbol) operations into a
//! payload that [`super::decoder::TansDecoder`] reads back in the same order.
//!
//! tANS encodes last-in first-out, so the encoder walks the operations backwards and
//! then lays the emitted bit groups down in decode order; the decoder then reads the
//! stream strictly forward. Payload layout: the `n_states` initial decoder states,
//! `state_log` bits each, then for each operation in order the bits its decode step
//! reads, then zero padding to a whole byte. Every state starts (on the encoder side)
//! at decoder state 0, so a decoder must end with every state back at 0.

use super::bits::BitWriter;
use super::encode_table::EncodeTable;
use super::{MAX_STATES, MAX_TABLE_LOG, MIN_TABLE_LOG};
use crate::{Error, Result};
use alloc::vec;
use alloc::vec::Vec;

/// One thing to put in the stream, in decode order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A symbol coded with interleaved state `state` and table `table`.
    Symbol {
        /// Interleaved state index, `< n_states`.
        state: u8,
        /// Table index in the table set.
        table: u16,
        /// The symbol, which must have a slot in that table.
        symbol: u16,
    },
    /// `bits` raw bits of `value` (`bits <= 16`), read with [`super::decoder::TansDecoder::read_raw`].
    Raw {
        /// The value, `< 2^bits`.
        value: u16,
        /// Number of bits.
        bits: u8,
    },
}

/// Encodes `ops` with `tables` (all sharing `state_log`) and `n_states` interleaved
/// states. Fails with `SymbolNotInTable`, `NoSuchTable`, `NoSuchState` (or
/// `TokenOutOfRange` for a raw value wider than its bit count) before producing
/// anything if an operation cannot be coded.
pub fn encode(tables: &[EncodeTable], state_log: u8, n_states: usize, ops: &[Op]) -> Result<Vec<u8>> {
    encode_with_costs(tables, state_log, n_states, ops, |_, _| {})
}

/// Like [`encode`], and calls `cost(op_index, bits)` with the exact number of payload
/// bits each operation takes (the initial states are not attributed to any op).
pub fn encode_with_costs(
    tables: &[EncodeTable],
    state_log: u8,
    n_states: usize,
    ops: &[Op],
    mut cost: impl FnMut(usize, u32),
) -> Result<Vec<u8>> {
    if n_states == 0 || n_states > MAX_STATES {
        return Err(Error::StateCount { states: n_states });
    }
    if !(MIN_TABLE_LOG..=MAX_TABLE_LOG).contains(&state_log) {
        return Err(Error::TableLog { log: state_log });
    }
    let top = 1u32 << state_log;
    let mut states = vec![top; n_states];
    // Bit groups in reverse decode order: value in the low 16 bits, count above.
    let mut groups: Vec<u32> = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate().rev() {
        let group = match *op {
            Op::Symbol { state, table, symbol } => {
                let t = tables.get(table as usize).ok_or(Error::NoSuchTable { table })?;
                if t.log > state_log {
                    return Err(Error::TableLog { log: t.log });
                }
                let x = states.get_mut(state as usize).ok_or(Error::NoSuchState { state })?;
                let step = t.step(*x, symbol, state_log, table)?;
                *x = step.state;
                step.bits | (step.nb_bits << 16)
            }
            Op::Raw { value, bits } => {
                if bits > 16 || (bits < 16 && value >> bits != 0) {
                    return Err(Error::TokenOutOfRange { index, value });
                }
                value as u32 | ((bits as u32) << 16)
            }
        };
        cost(index, group >> 16);
        groups.push(group);
    }
    let mut writer = BitWriter::new();
    for &s in &states {
        writer.write(s - top, state_log as u32);
    }
    for &g in groups.iter().rev() {
        writer.write(g & 0xFFFF, g >> 16);
    }
    Ok(writer.finish())
}

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

/// One symbol to code: which interleaved state codes it, with which table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    /// Interleaved state index, `< n_states`.
    pub state: u8,
    /// Table index in the table set.
    pub table: u16,
    /// The symbol, which must have a slot in that table.
    pub symbol: u16,
}

/// Encodes `ops` with `tables` (all sharing `state_log`) and `n_states` interleaved
/// states. Fails with `SymbolNotInTable`, `NoSuchTable` or `NoSuchState` before
/// producing anything if an operation cannot be coded.
pub fn encode(tables: &[EncodeTable], state_log: u8, n_states: usize, ops: &[Op]) -> Result<Vec<u8>> {
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
    for op in ops.iter().rev() {
        let table = tables.get(op.table as usize).ok_or(Error::NoSuchTable { table: op.table })?;
        if table.log > state_log {
            return Err(Error::TableLog { log: table.log });
        }
        let state = states.get_mut(op.state as usize).ok_or(Error::NoSuchState { state: op.state })?;
        let step = table.step(*state, op.symbol, state_log, op.table)?;
        *state = step.state;
        groups.push(step.bits | (step.nb_bits << 16));
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

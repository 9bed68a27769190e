//! Spreading: deciding which slot of a table holds which symbol.
//!
//! Slots are visited with a fixed odd step `5/8 * L + 3` modulo `L = 2^log` (the step
//! FSE uses; any odd step visits every slot exactly once), and symbols are laid down
//! in increasing symbol order, `count` slots each. The result scatters each symbol's
//! slots across the table, which keeps the coding cost close to the entropy.

use super::NormalizedRef;

/// The step between consecutive slots for a table of `1 << log` slots.
#[inline]
pub fn spread_step(log: u8) -> usize {
    let size = 1usize << log;
    (size >> 1) + (size >> 3) + 3
}

/// Calls `place(slot, symbol)` once for every slot of the table, in spreading order.
///
/// The table must be valid (counts summing to `2^log`, `log >= MIN_TABLE_LOG`); with
/// such a table every slot is visited exactly once.
pub fn for_each_slot(table: &NormalizedRef<'_>, mut place: impl FnMut(usize, u16)) {
    let size = 1usize << table.log;
    let mask = size - 1;
    let step = spread_step(table.log);
    let mut pos = 0usize;
    for symbol in 0..table.alphabet() {
        for _ in 0..table.count(symbol) {
            place(pos, symbol as u16);
            pos = (pos + step) & mask;
        }
    }
}

//! Decoding one frame with the context model, with no heap.

use super::classes::{kind, OWN_DEPTH};
use super::contexts::{KindPlanes, CTX_BASE};
use super::own_lists::OwnLists;
use super::{ContextModel, DEFAULT_K, DEFAULT_STATE_LOG};
use crate::container::{COLS, FRAME_TOKENS, ROWS};
use crate::tans::bits::WINDOW_SPAN;
use crate::tans::decode_table::DecodeTables;
use crate::tans::decoder::TansDecoder;
use crate::{Error, Result};

/// Everything the context model remembers between frames: own lists (1 KiB), kind
/// plane and context indexes (272 B) and a frame counter.
#[derive(Debug, Clone, Default)]
pub struct ContextState {
    pub(crate) own: OwnLists,
    pub(crate) kinds: KindPlanes,
    pub(crate) frame: u32,
}

impl ContextState {
    /// Decodes one frame into `out`.
    ///
    /// Errors: `ModelCorrupt` if the payload asks for an empty own-list entry or a
    /// successor rank beyond the list (only a damaged payload does).
    pub fn decode_frame(
        &mut self,
        model: &ContextModel<'_>,
        coder: &mut TansDecoder<'_>,
        tables: &DecodeTables<'_>,
        out: &mut [u16; FRAME_TOKENS],
    ) -> Result<()> {
        if self.frame == 0 {
            for (pos, token) in out.iter_mut().enumerate() {
                *token = coder.read_raw(10);
                self.own.push_front(pos, *token);
                self.kinds.set_kind(pos, kind::ESCAPE);
            }
        } else {
            // The default state log and list length get a copy of the loop with
            // both known at compile time (fewer instructions and registers on 32-bit
            // cores); any other goes through the same code with them in registers.
            if tables.state_log == DEFAULT_STATE_LOG && model.k() == DEFAULT_K as usize {
                self.decode_rows::<{ DEFAULT_STATE_LOG as u32 }, DEFAULT_K>(model, coder, tables)?;
            } else {
                self.decode_rows::<0, 0>(model, coder, tables)?;
            }
            self.own.fronts(out);
        }
        self.kinds.next_frame();
        self.frame += 1;
        Ok(())
    }

    /// Frames >= 1, row by row: the 16 class symbols (copy and own-list classes
    /// resolved on the spot), then the raw bits of the row's successor and escape
    /// tokens, in column order. The frame's tokens end up at the front of the own
    /// lists.
    ///
    /// Errors with `ModelCorrupt` if a symbol cannot be resolved (an empty own-list
    /// entry, a successor rank beyond the list), at once or when the frame is done.
    ///
    /// Written for few instructions per token on 32-bit cores: bits come from a
    /// [`BitWindow`](crate::tans::bits::BitWindow) (no refills), the 16 columns are
    /// unrolled (states and row entries at fixed offsets), one table load per class
    /// symbol at `(context << M) + state`, and a copy costs one store. `M` and `K`
    /// are the state log and list length, or 0 to take them from the tables.
    #[inline(never)]
    fn decode_rows<const M: u32, const K: u32>(
        &mut self,
        model: &ContextModel<'_>,
        coder: &mut TansDecoder<'_>,
        tables: &DecodeTables<'_>,
    ) -> Result<()> {
        let words = tables.words;
        let m = if M == 0 { tables.state_log as u32 } else { M };
        let k = if K == 0 { model.k() as u32 } else { K };
        let info = &model.info;
        let successors = model.successors;
        let (reader, coder_states) = coder.parts();
        let mut states = [0u32; COLS];
        states.copy_from_slice(&coder_states[..COLS]);
        let (kinds, cidx) = self.kinds.planes();
        let own = &mut self.own;
        // A frame reads at most 8 x 16 x (15 + 10) bits, well inside the window.
        const _: () = assert!(7 + ROWS * COLS * (15 + 10) < 8 * WINDOW_SPAN);
        let result = reader.with_window(|window, mut bit| {
            // Own-list tokens OR-ed together: an empty entry (0xFFFF) sets bit 15.
            let mut taken = 0u32;
            // Class symbols of the row's successor and escape tokens, by column
            // (entries of other columns are stale and never read).
            let mut row_class = [0u8; COLS];
            for r in 0..ROWS {
                let row = r * COLS;
                // Kinds of the row above (`UP_NONE` in row 0), then of this row.
                let (Some(row_kinds), Some(row_cidx)) = (kinds.get_mut(row..row + 2 * COLS), cidx.get(row..row + COLS))
                else {
                    break;
                };
                let mut pending = 0u32;
                unroll_columns!(C => {
                    // Context (gprev * 5 + nbb) * 5 + up, below 100 by construction;
                    // states stay below 2^M and the image has CONTEXTS tables, so the
                    // entry always exists.
                    let ctx = CTX_BASE[row_cidx[C] as usize] as u32 + row_kinds[C] as u32;
                    let Some(entry) = words.get(((ctx << m) + states[C]) as usize) else {
                        return (Err(Error::TableSetInvalid), bit);
                    };
                    let entry = entry.0;
                    let nb = entry >> 27;
                    states[C] = (entry & 0xFFFF) + window.read(bit, nb);
                    bit += nb;
                    // Class symbols are below the alphabet (20 symbols) by construction.
                    let class = (entry >> 16) & 0x1F;
                    if class == 0 {
                        row_kinds[COLS + C] = kind::COPY;
                    } else if class < OWN_DEPTH as u32 {
                        row_kinds[COLS + C] = kind::OWN;
                        taken |= own.take(row + C, class as usize) as u32;
                    } else {
                        pending |= 1 << C;
                        row_class[C] = class as u8;
                    }
                });
                while pending != 0 {
                    let c = pending.trailing_zeros() as usize % COLS;
                    pending &= pending - 1;
                    let pos = row + c;
                    let inf = info[row_class[c] as usize % 32];
                    let nb = (inf >> 4) & 15;
                    let raw = window.read(bit, nb);
                    bit += nb;
                    // Pending classes are successors (kind 2) or escapes (kind 3).
                    let token = if inf & 1 != 0 {
                        row_kinds[COLS + c] = kind::ESCAPE;
                        raw
                    } else {
                        row_kinds[COLS + c] = kind::SUCCESSOR;
                        let rank = (inf >> 8) + raw;
                        // The list's last rank is K - 1; a front token is below 1024
                        // unless the model already failed.
                        let i = 2 * (own.front(pos) as u32 * k + rank) as usize;
                        match successors.get(i..i + 2) {
                            Some(b) if rank < k => u16::from_le_bytes([b[0], b[1]]) as u32,
                            _ => return (Err(Error::ModelCorrupt), bit),
                        }
                    };
                    // Not in the list: a successor or escape token never is in a
                    // valid stream (it would have been coded as an own-list class).
                    own.push_absent(pos, token as u16);
                }
            }
            (Ok(taken), bit)
        });
        coder_states[..COLS].copy_from_slice(&states);
        if result? & 0x8000 != 0 {
            return Err(Error::ModelCorrupt);
        }
        Ok(())
    }
}

/// Runs `$body` once per column with `$c` a constant 0..16, so that every index by
/// column is a fixed offset.
macro_rules! unroll_columns {
    ($c:ident => $body:block) => {
        unroll_columns!(@each $c, $body, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
    };
    (@each $c:ident, $body:block, $($n:literal)*) => {
        $( { const $c: usize = $n; $body } )*
    };
}
use unroll_columns;
const _: () = assert!(COLS == 16, "unroll_columns! unrolls 16 columns");

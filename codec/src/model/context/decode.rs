//! Decoding one frame with the context model, with no heap.

use super::classes::{kind, EDGES, OWN_DEPTH};
use super::contexts::KindPlanes;
use super::own_lists::{OwnLists, EMPTY};
use super::ContextModel;
use crate::container::{COLS, FRAME_TOKENS, ROWS};
use crate::tans::decode_table::DecodeTables;
use crate::tans::decoder::TansDecoder;
use crate::{Error, Result};

/// Everything the context model remembers between frames: own lists (1 KiB), kind
/// planes (384 B) and a frame counter.
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
            let classes = model.classes();
            let escape = classes.escape() as usize;
            let k = model.k();
            let mut row_classes = [0u16; COLS];
            for r in 0..ROWS {
                for (c, class) in row_classes.iter_mut().enumerate() {
                    let pos = r * COLS + c;
                    *class = coder.decode_in(c, tables, self.kinds.context(pos));
                    // `classes.kind(class)` without branches (classes are unpredictable).
                    let kind = (*class > 0) as u8 + (*class >= OWN_DEPTH as u16) as u8 + (*class >= escape as u16) as u8;
                    self.kinds.set_kind(pos, kind);
                }
                for (c, &class) in row_classes.iter().enumerate() {
                    let pos = r * COLS + c;
                    // Symbols beyond the escape act as the escape.
                    let s = (class as usize).min(escape);
                    out[pos] = if s < OWN_DEPTH {
                        let token = self.own.get(pos, s);
                        if token == EMPTY {
                            return Err(Error::ModelCorrupt);
                        }
                        self.own.promote(pos, s);
                        token
                    } else {
                        // Raw bits: successor bucket b = s - 4 sends bucket_bits(b) =
                        // (s - 6) / 2 (none for b < 2), the escape 10.
                        let escaped = s == escape;
                        let nb = if escaped { 10 } else { (s.saturating_sub(6) >> 1) as u32 };
                        let raw = coder.read_raw(nb);
                        let token = if escaped {
                            raw
                        } else {
                            let rank = EDGES[(s - OWN_DEPTH).min(EDGES.len() - 1)] as usize + raw as usize;
                            if rank >= k {
                                return Err(Error::ModelCorrupt);
                            }
                            model.successor(self.own.get(pos, 0), rank)
                        };
                        self.own.push_front(pos, token);
                        token
                    };
                }
            }
        }
        self.kinds.next_frame();
        self.frame += 1;
        Ok(())
    }
}

//! Decoding one frame with the context model, with no heap.

use super::classes::{bucket_bits, kind, EDGES, OWN_DEPTH};
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
            let mut row_classes = [0u16; COLS];
            for r in 0..ROWS {
                for (c, class) in row_classes.iter_mut().enumerate() {
                    let pos = r * COLS + c;
                    let table = tables.table_unchecked_index(self.kinds.context(pos));
                    *class = coder.decode(c, table);
                    self.kinds.set_kind(pos, classes.kind(*class));
                }
                for (c, &class) in row_classes.iter().enumerate() {
                    let pos = r * COLS + c;
                    let cl = class as usize;
                    out[pos] = if cl < OWN_DEPTH {
                        let token = self.own.list(pos)[cl];
                        if token == EMPTY {
                            return Err(Error::ModelCorrupt);
                        }
                        self.own.promote(pos, cl);
                        token
                    } else {
                        let token = if cl < OWN_DEPTH + classes.buckets {
                            let b = cl - OWN_DEPTH;
                            let rank = EDGES[b] as usize + coder.read_raw(bucket_bits(b)) as usize;
                            if rank >= model.k() {
                                return Err(Error::ModelCorrupt);
                            }
                            model.successor(self.own.list(pos)[0], rank)
                        } else {
                            coder.read_raw(10)
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

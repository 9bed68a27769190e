//! Decoding one frame with the context model, with no heap.

use super::classes::{kind, OWN_DEPTH};
use super::contexts::{KindPlanes, CTX_BASE};
use super::own_lists::OwnLists;
use super::ContextModel;
use crate::container::{COLS, FRAME_TOKENS, ROWS};
use crate::tans::decode_table::{DecodeEntry, DecodeTables};
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
            self.decode_rows(model, coder, tables, out)?;
        }
        self.kinds.next_frame();
        self.frame += 1;
        Ok(())
    }

    /// Frames >= 1, row by row: the 16 class symbols (own-list classes resolved on
    /// the spot, the copy class with no list update), then the raw bits of the
    /// row's successor and escape tokens, in column order.
    ///
    /// A symbol the model cannot resolve makes the frame fail with `ModelCorrupt`
    /// once it is done (the same error the first such symbol would give).
    #[inline(always)]
    fn decode_rows(
        &mut self,
        model: &ContextModel<'_>,
        coder: &mut TansDecoder<'_>,
        tables: &DecodeTables<'_>,
        out: &mut [u16; FRAME_TOKENS],
    ) -> Result<()> {
        let words = tables.words;
        // The index words (100 of them, then table entries: a set's image always has
        // more than 128 words).
        let index: &[DecodeEntry; 128] =
            words.get(..128).and_then(|w| w.try_into().ok()).ok_or(Error::TableSetInvalid)?;
        let info = &model.info;
        let k = model.k() as u32;
        let successors = model.successors;
        let (reader, states) = coder.parts();
        let mut rd = reader.clone();
        let (kinds, cidx) = self.kinds.planes();
        let own = &mut self.own;
        // Every resolved token is OR-ed in: a valid one is below 1024, an empty own
        // entry is 0xFFFF (bit 15), a successor rank beyond the list makes
        // `k - 1 - rank` negative (bit 31).
        let mut acc = 0u32;
        for r in 0..ROWS {
            let mut pending = 0u32;
            let mut row_info = [0u32; COLS];
            for c in 0..COLS {
                let pos = r * COLS + c;
                // Context: (gprev * 5 + nbb) * 5 + up; below 100 by construction.
                let ctx = CTX_BASE[(cidx[pos] % 64) as usize] as usize + kinds[pos] as usize;
                let iw = index[ctx % 128].0;
                let shift = iw >> 26;
                let x = states[c];
                let slot = x >> shift;
                let entry = words[(iw & 0x03FF_FFFF) as usize + slot as usize].0;
                let nb = entry >> 27;
                let low = x - (slot << shift);
                states[c] = ((entry & 0xFFFF) << shift) + (low << nb) + rd.read(nb);
                let class = (entry >> 16) & 0x3FF;
                // Classes are below the alphabet (<= 24 symbols) by construction.
                let inf = info[(class % 32) as usize];
                kinds[COLS + pos] = (inf & 3) as u8;
                if class < OWN_DEPTH as u32 {
                    let token = own.take(pos, class as usize);
                    acc |= token as u32;
                    out[pos] = token;
                } else {
                    pending |= 1 << c;
                    row_info[c] = inf;
                }
            }
            while pending != 0 {
                let c = pending.trailing_zeros() as usize % COLS;
                pending &= pending - 1;
                let pos = r * COLS + c;
                let inf = row_info[c];
                let raw = rd.read((inf >> 4) & 15);
                let token = if inf & 3 == kind::ESCAPE as u32 {
                    raw as u16
                } else {
                    let rank = (inf >> 8) + raw;
                    acc |= (k - 1).wrapping_sub(rank);
                    let i = 2 * ((own.front(pos) as u32 & 1023) * k + rank) as usize;
                    match successors.get(i..i + 2) {
                        Some(b) => u16::from_le_bytes([b[0], b[1]]),
                        None => 0xFFFF,
                    }
                };
                acc |= token as u32;
                own.push_front(pos, token);
                out[pos] = token;
            }
        }
        *reader = rd;
        if acc & 0x8000_8000 != 0 {
            return Err(Error::ModelCorrupt);
        }
        Ok(())
    }
}

//! Decoding one frame with the context model, with no heap.

use super::classes::{kind, OWN_DEPTH};
use super::contexts::CONTEXTS;
use super::contexts::{KindPlanes, CTX_BASE};
use super::own_lists::OwnLists;
use super::{
    class_info, packed_entry, u16_entry, ContextModel, ListCoding, DEFAULT_K, DEFAULT_STATE_LOG, IDENTITY_MAP,
};
use crate::container::{COLS, FRAME_TOKENS, ROWS};
use crate::tans::bits::{low_bits, WINDOW_SPAN};
use crate::tans::decode_table::{DecodeEntry, DecodeTables, Entry, Image, ShortEntry};
use crate::tans::decoder::TansDecoder;
use crate::{Error, Result};

/// What a hand-written frame loop did with a frame's rows.
#[cfg(any(vqtans_v7em, vqtans_v6m))]
pub(crate) struct RowsDone {
    /// Bit offset in the window after the frame.
    pub bit: u32,
    /// Own-list tokens taken, OR-ed (bit 15 set if an empty entry was taken).
    pub taken: u32,
    /// False if an index the loop checks (context, image index) was out of range:
    /// impossible with a valid set; the frame is then abandoned.
    pub ok: bool,
}

/// Everything the context model remembers between frames: own lists (1 KiB), kind
/// plane and context indexes (272 B) and a frame counter.
#[derive(Debug, Clone, Default)]
pub struct ContextState {
    pub(crate) own: OwnLists,
    pub(crate) kinds: KindPlanes,
    pub(crate) frame: u32,
    /// Use the portable frame loop even where a hand-written one exists.
    pub(crate) portable: bool,
    /// Frames the hand-written frame loop decoded ([`Self::kernel_frames`]).
    pub(crate) kernel_frames: u16,
}

impl ContextState {
    /// The state before a section's first frame, as before a stream's (keeping
    /// `portable` and the count of kernel frames).
    pub(crate) fn restart(&mut self) {
        *self = ContextState { portable: self.portable, kernel_frames: self.kernel_frames, ..ContextState::default() };
    }

    /// Frames (>= 1) that a hand-written frame loop decoded, successfully or not
    /// (ARMv7E-M with tables of state log 10, 32-bit entries, `u16` lists and one table
    /// per context; ARMv6-M with tables of 16-bit entries and 10-bit lists); 0 on every
    /// other target and set, and with [`crate::segment::SegmentDecoder::use_portable_loop`]. Exact:
    /// a stream has at most 65,536 frames, so at most 65,535 go through a frame loop.
    /// The firmware checks with it that the kernel decoded every frame it should.
    pub fn kernel_frames(&self) -> u32 {
        u32::from(self.kernel_frames)
    }

    /// Decodes one frame into `out`.
    ///
    /// Errors: `ModelCorrupt` if the payload asks for an empty own-list entry (only a
    /// damaged payload does).
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
        } else if !self.decode_rows_kernel(model, coder, tables, out)? {
            // Sets with 32-bit entries, one table per context and u16 lists get copies
            // of the loop without the context map: one with the default state log and
            // list length, and the image and list sizes, known at compile time, one with
            // them in registers (fewer instructions and registers on 32-bit cores: on
            // the Cortex-M4, K = 64 sets decode in 68.2 instead of 77.1 instructions
            // per token; not on ARMv6-M, where flash is small and such sets do not
            // fit); any other set goes through the same code with the context map, once
            // per entry width.
            let (lists, coding, info, m, k) =
                (model.successors, model.list_coding(), &model.info, tables.state_log, model.k() as u32);
            match tables.image() {
                Image::Wide(words) => {
                    let default_words = <&[_; DEFAULT_IMAGE_LEN]>::try_from(words).ok();
                    let default_lists = <&[u8; DEFAULT_LISTS_LEN]>::try_from(lists).ok();
                    let plain = !cfg!(vqtans_v6m) && coding == ListCoding::U16 && model.is_identity_map();
                    match (default_words, default_lists) {
                        (Some(words), Some(lists)) if plain && m == DEFAULT_STATE_LOG => {
                            self.decode_rows_default(coder, words, lists, out)?
                        }
                        _ if plain => self.decode_rows_plain(coder, words, lists, info, m, k, out)?,
                        _ => self
                            .decode_rows_any::<DecodeEntry>(coder, words, lists, coding, model.map, info, m, k, out)?,
                    }
                }
                Image::Short(entries) => {
                    self.decode_rows_any::<ShortEntry>(coder, entries, lists, coding, model.map, info, m, k, out)?
                }
            }
        }
        self.kinds.next_frame();
        self.frame += 1;
        Ok(())
    }

    /// [`Self::decode_rows`] for the default state log and list length, one table
    /// per context and u16 lists.
    #[inline(never)]
    fn decode_rows_default(
        &mut self,
        coder: &mut TansDecoder<'_>,
        words: &[DecodeEntry; DEFAULT_IMAGE_LEN],
        successors: &[u8; DEFAULT_LISTS_LEN],
        out: &mut [u16; FRAME_TOKENS],
    ) -> Result<()> {
        let (m, k) = (DEFAULT_STATE_LOG as u32, DEFAULT_K);
        self.decode_rows::<_, false>(
            coder,
            words,
            successors,
            ListCoding::U16,
            &IDENTITY_MAP,
            &DEFAULT_CLASS_INFO,
            m,
            k,
            out,
        )
    }

    /// [`Self::decode_rows`] for 32-bit entries, one table per context and u16 lists,
    /// with any state log and list length (in registers): what `build-tables --k` or
    /// `--state-log` makes without a budget. Not on ARMv6-M (flash).
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn decode_rows_plain(
        &mut self,
        coder: &mut TansDecoder<'_>,
        words: &[DecodeEntry],
        successors: &[u8],
        info: &[u32; 32],
        state_log: u8,
        k: u32,
        out: &mut [u16; FRAME_TOKENS],
    ) -> Result<()> {
        let m = state_log as u32;
        self.decode_rows::<_, false>(coder, words, successors, ListCoding::U16, &IDENTITY_MAP, info, m, k, out)
    }

    /// [`Self::decode_rows`] by a hand-written kernel where there is one for this
    /// target and these tables (ARMv7E-M, state log 10, 32-bit entries, `u16` lists
    /// and one table per context: [`super::kernel_v7em`]), with the tokens into
    /// `out`. `Ok(false)` if there is none (nothing was read).
    #[cfg(vqtans_v7em)]
    fn decode_rows_kernel(
        &mut self,
        model: &ContextModel<'_>,
        coder: &mut TansDecoder<'_>,
        tables: &DecodeTables<'_>,
        out: &mut [u16; FRAME_TOKENS],
    ) -> Result<bool> {
        use super::kernel_v7em;
        let Image::Wide(words) = tables.image() else { return Ok(false) };
        let words = match <&[_; kernel_v7em::IMAGE_LEN]>::try_from(words) {
            Ok(words)
                if !self.portable
                    && tables.state_log as u32 == kernel_v7em::STATE_LOG
                    && model.list_coding() == ListCoding::U16
                    && model.is_identity_map() =>
            {
                words
            }
            _ => return Ok(false),
        };
        let k = model.k() as u32;
        self.run_frame_loop(coder, |own, kinds, states, window, bit| {
            kernel_v7em::decode_rows(
                own,
                kinds,
                states,
                window,
                bit,
                words,
                model.successors,
                k,
                &model.info,
                &CTX_BASE,
                out,
            )
        })
    }

    /// [`Self::decode_rows`] by the hand-written ARMv6-M kernel ([`super::kernel_v6m`])
    /// for sets with 16-bit entries and 10-bit packed lists (any state log, list
    /// length and context map), with the tokens into `out`. `Ok(false)` for other sets
    /// (nothing was read).
    #[cfg(vqtans_v6m)]
    #[inline(never)]
    fn decode_rows_kernel(
        &mut self,
        model: &ContextModel<'_>,
        coder: &mut TansDecoder<'_>,
        tables: &DecodeTables<'_>,
        out: &mut [u16; FRAME_TOKENS],
    ) -> Result<bool> {
        use super::kernel_v6m;
        let Image::Short(entries) = tables.image() else { return Ok(false) };
        // (The kernel itself refuses a state log it does not take.)
        if self.portable || model.list_coding() != ListCoding::Packed10 {
            return Ok(false);
        }
        self.run_frame_loop(coder, |own, kinds, states, window, bit| {
            kernel_v6m::decode_rows(
                own,
                kinds,
                states,
                window,
                bit,
                entries,
                tables.state_log,
                model.map,
                model.successors,
                model.k() as u32,
                &model.info,
                &CTX_BASE,
                out,
            )
        })
    }

    /// Runs a hand-written frame loop on the coder's window and states, and moves
    /// the reader and the states on by what it decoded. `frame_loop` decodes the rows
    /// of a frame >= 1 from the window (whose first bit is bit `bit` of its first
    /// byte) with the 16 states, or returns `None` if it does not take the tables;
    /// then `Ok(false)` and nothing was read or changed. Else the frame's result.
    #[cfg(any(vqtans_v7em, vqtans_v6m))]
    #[inline(always)]
    fn run_frame_loop(
        &mut self,
        coder: &mut TansDecoder<'_>,
        frame_loop: impl FnOnce(
            &mut OwnLists,
            &mut KindPlanes,
            &mut [u32; COLS],
            &[u8; crate::tans::bits::WINDOW_BYTES],
            u32,
        ) -> Option<RowsDone>,
    ) -> Result<bool> {
        let (reader, coder_states) = coder.parts();
        let mut states = [0u32; COLS];
        states.copy_from_slice(&coder_states[..COLS]);
        let (first_byte, bit) = reader.window_start();
        let mut padded = None;
        let window = reader.window(first_byte, &mut padded);
        let Some(done) = frame_loop(&mut self.own, &mut self.kinds, &mut states, window.bytes(), bit) else {
            return Ok(false);
        };
        self.kernel_frames = self.kernel_frames.saturating_add(1);
        reader.move_to(8 * first_byte + done.bit as usize);
        coder_states[..COLS].copy_from_slice(&states);
        rows_result(if done.ok { Ok(done.taken) } else { Err(Error::TableSetInvalid) })?;
        Ok(true)
    }

    /// No hand-written kernel on this target.
    #[cfg(not(any(vqtans_v7em, vqtans_v6m)))]
    #[inline(always)]
    fn decode_rows_kernel(
        &mut self,
        _model: &ContextModel<'_>,
        _coder: &mut TansDecoder<'_>,
        _tables: &DecodeTables<'_>,
        _out: &mut [u16; FRAME_TOKENS],
    ) -> Result<bool> {
        Ok(false)
    }

    /// [`Self::decode_rows`] for any state log, list length, list coding and context
    /// map, with entries `E`.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn decode_rows_any<E: Entry>(
        &mut self,
        coder: &mut TansDecoder<'_>,
        entries: &[E],
        successors: &[u8],
        coding: ListCoding,
        map: &[u8; CONTEXTS],
        info: &[u32; 32],
        state_log: u8,
        k: u32,
        out: &mut [u16; FRAME_TOKENS],
    ) -> Result<()> {
        self.decode_rows::<E, true>(coder, entries, successors, coding, map, info, state_log as u32, k, out)
    }

    /// Frames >= 1, token by token in row-major order: class symbol, then the raw
    /// bits of a successor or escape; each token goes to `out` and to the front of
    /// its own list. `entries` is the compiled image (state log `m`), `successors`
    /// the lists of length `k` coded as `coding`, `map` the table of each context
    /// (used if `MAPPED`, else table = context), `info` the class information
    /// ([`ContextModel`]).
    ///
    /// Errors with `ModelCorrupt` when the frame is done if it took an empty own-list
    /// entry (only a damaged payload does).
    ///
    /// Written for few instructions per token on 32-bit cores: bits come from a
    /// [`BitWindow`](crate::tans::bits::BitWindow) (no refills), one table load per
    /// class symbol at `(table << m) + state`, and a copy costs one load and two
    /// stores.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn decode_rows<E: Entry, const MAPPED: bool>(
        &mut self,
        coder: &mut TansDecoder<'_>,
        entries: &[E],
        successors: &[u8],
        coding: ListCoding,
        map: &[u8; CONTEXTS],
        info: &[u32; 32],
        m: u32,
        k: u32,
        out: &mut [u16; FRAME_TOKENS],
    ) -> Result<()> {
        let (reader, coder_states) = coder.parts();
        let mut states = [0u32; COLS];
        states.copy_from_slice(&coder_states[..COLS]);
        let (kinds, cidx) = self.kinds.planes();
        let own = &mut self.own;
        // A frame reads at most 8 x 16 x (15 + 10) bits, well inside the window.
        const _: () = assert!(7 + ROWS * COLS * (15 + 10) < 8 * WINDOW_SPAN);
        let (first_byte, mut bit) = reader.window_start();
        let mut padded = None;
        let window = reader.window(first_byte, &mut padded);
        let result = 'frame: {
            // Own-list tokens OR-ed together: an empty entry (0xFFFF) sets bit 15.
            let mut taken = 0u32;
            for r in 0..ROWS {
                let row = r * COLS;
                // Kinds of the row above (`UP_NONE` in row 0), then of this row.
                let (Some(row_kinds), Some(row_cidx), Some(row_out)) =
                    (kinds.get_mut(row..row + 2 * COLS), cidx.get(row..row + COLS), out.get_mut(row..row + COLS))
                else {
                    break;
                };
                unroll_columns!(C => {
                    // Context (gprev * 5 + nbb) * 5 + up, below 100 by construction,
                    // and its table (below the number of tables); states stay below
                    // 2^M and the image has a table of 2^M entries for each, so the
                    // entry always exists.
                    let ctx = CTX_BASE[row_cidx[C] as usize] as u32 + row_kinds[C] as u32;
                    let table = if !MAPPED {
                        ctx
                    } else if let Some(&t) = map.get(ctx as usize) {
                        t as u32
                    } else {
                        break 'frame Err(Error::TableSetInvalid);
                    };
                    let Some(&entry) = entries.get(((table << m) + states[C]) as usize) else {
                        break 'frame Err(Error::TableSetInvalid);
                    };
                    let nb = entry.nb_bits();
                    // One load serves the class bits (at most 15) and the raw bits
                    // that may follow (at most 10).
                    let bits = window.bits_at(bit);
                    states[C] = entry.base() + low_bits(bits, nb);
                    bit += nb;
                    // Class symbols are below the alphabet (at most 24 symbols) by
                    // construction.
                    let class = entry.symbol() as u32 & 0x1F;
                    let pos = row + C;
                    if class == 0 {
                        row_kinds[COLS + C] = kind::COPY;
                        row_out[C] = own.front(pos);
                    } else if class < OWN_DEPTH as u32 {
                        row_kinds[COLS + C] = kind::OWN;
                        let token = own.take(pos, class as usize);
                        taken |= token as u32;
                        row_out[C] = token;
                    } else {
                        // A successor (kind 2) or an escape (kind 3), with its raw bits.
                        let inf = info[class as usize];
                        let raw_nb = (inf >> 4) & 15;
                        let raw = low_bits(bits >> nb, raw_nb);
                        bit += raw_nb;
                        let token = if inf & 1 != 0 {
                            row_kinds[COLS + C] = kind::ESCAPE;
                            raw
                        } else {
                            row_kinds[COLS + C] = kind::SUCCESSOR;
                            // Buckets end at K exactly, so the rank is below K; the
                            // front token is below 1024 unless the model already failed,
                            // and the mask keeps even that inside the lists.
                            let rank = (inf >> 8) + raw;
                            let i = ((own.front(pos) as u32 & 1023) * k + rank) as usize;
                            match coding {
                                ListCoding::U16 => u16_entry(successors, i),
                                ListCoding::Packed10 => packed_entry(successors, i),
                            }
                        };
                        // Not in the list: a successor or escape token never is in a
                        // valid stream (it would have been coded as an own-list class).
                        own.push_absent(pos, token as u16);
                        row_out[C] = token as u16;
                    }
                });
            }
            Ok(taken)
        };
        reader.move_to(8 * first_byte + bit as usize);
        coder_states[..COLS].copy_from_slice(&states);
        rows_result(result)
    }
}

/// A frame's result from its rows' outcome: the own-list tokens they took, OR-ed
/// (`ModelCorrupt` if one was an empty entry, bit 15), or their error.
#[inline(always)]
fn rows_result(taken: Result<u32>) -> Result<()> {
    if taken? & 0x8000 != 0 {
        return Err(Error::ModelCorrupt);
    }
    Ok(())
}

/// Entries of the compiled image at the default state log.
const DEFAULT_IMAGE_LEN: usize = CONTEXTS << DEFAULT_STATE_LOG;
/// Bytes of the successor lists at the default list length.
const DEFAULT_LISTS_LEN: usize = 2 * 1024 * DEFAULT_K as usize;
/// The class information at the default list length (what
/// [`ContextModel::from_table_set`] computes for it).
const DEFAULT_CLASS_INFO: [u32; 32] = {
    let buckets = match super::classes::buckets_for(DEFAULT_K as usize) {
        Some(b) => b,
        None => panic!("the default K is an allowed list length"),
    };
    let mut info = [0u32; 32];
    let mut s = 0;
    while s < 32 {
        info[s] = class_info(s, buckets);
        s += 1;
    }
    info
};

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

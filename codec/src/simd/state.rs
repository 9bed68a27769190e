//! What every SIMD kernel (AVX2, NEON) shares: the table-set facts checked once
//! before a kernel may touch memory, the decoder state carried from frame to frame
//! (16 interleaved states, the bit position, the own lists as 16-bit planes, the last
//! frame's kinds), frame 0 (raw tokens), and the hand-over to the scalar model.

use crate::container::FRAME_TOKENS;
use crate::model::context::classes::{kind, OWN_DEPTH};
use crate::model::context::contexts::CONTEXTS;
use crate::model::context::own_lists::{OwnLists, EMPTY};
use crate::model::context::{ContextModel, ContextState, ListCoding};
use crate::tans::decode_table::{DecodeTables, Image};

/// What a kernel did with a frame (`driver::Kernel::frame`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FrameResult {
    /// The frame was decoded.
    Done,
    /// The frame holds a symbol the model cannot resolve (`ModelCorrupt`).
    ModelCorrupt,
    /// Too little payload is left for the kernel; nothing was changed.
    NoRoom,
}

impl FrameResult {
    /// The result of a frame whose rows were decoded, `corrupt` if a symbol could
    /// not be resolved.
    pub(super) fn of_rows(corrupt: bool) -> Self {
        if corrupt {
            FrameResult::ModelCorrupt
        } else {
            FrameResult::Done
        }
    }
}

/// The parts of a context-model table set a kernel reads, with every fact its
/// unchecked memory accesses rely on checked once ([`TableFacts::new`]).
pub(super) struct TableFacts<'a> {
    /// The compiled image: `T` tables of `2^M` entries (32 or 16 bits), exactly
    /// `T << M` entries.
    pub(super) image: Image<'a>,
    /// The context map (every entry below `T`), if it is not the identity (then
    /// `T` = [`CONTEXTS`]).
    pub(super) map: Option<&'a [u8; CONTEXTS]>,
    /// Successor lists: 1024 x `k` entries coded as `coding`, exactly
    /// `coding.list_bytes(k)` bytes.
    pub(super) successors: &'a [u8],
    pub(super) coding: ListCoding,
    /// List length, 4..=1024.
    pub(super) k: u32,
    /// The escape class symbol `OWN_DEPTH + buckets`, 8..=30.
    pub(super) escape: u32,
    /// `2^M - 1`, `M <= 15`.
    pub(super) state_mask: u32,
}

impl<'a> TableFacts<'a> {
    /// The facts of `model` and its compiled `tables`; `None` if anything a kernel
    /// relies on is off (the scalar decoder then does the whole stream).
    pub(super) fn new(tables: &DecodeTables<'a>, model: &ContextModel<'a>) -> Option<Self> {
        let image = tables.image();
        let m = tables.state_log() as u32;
        let n_tables = model.n_tables();
        if tables.len() != n_tables || !(1..=CONTEXTS).contains(&n_tables) || m > 15 || image.len() != n_tables << m {
            return None;
        }
        let k = model.k();
        let (successors, coding) = (model.successors, model.list_coding());
        if !(4..=1024).contains(&k) || successors.len() != coding.list_bytes(k) {
            return None;
        }
        let escape = model.classes().escape() as u32;
        if escape as usize != OWN_DEPTH + model.classes().buckets || !(8..=30).contains(&escape) {
            return None;
        }
        let map = model.context_map();
        if map.iter().any(|&t| t as usize >= n_tables) {
            return None;
        }
        let map = (!model.is_identity_map()).then_some(map);
        Some(TableFacts { image, map, successors, coding, k: k as u32, escape, state_mask: (1u32 << m) - 1 })
    }

    /// `M`, the state log.
    pub(super) fn state_log(&self) -> u32 {
        self.state_mask.count_ones()
    }
}

/// The decoder state a kernel carries from frame to frame.
pub(super) struct KernelState {
    /// Interleaved states, one per column.
    pub(super) states: [u32; crate::container::COLS],
    /// Bit position in the payload.
    pub(super) bit: usize,
    /// Own lists as planes: `own[r][pos]` is entry `r` of position `pos`'s list,
    /// [`EMPTY`] if unset.
    pub(super) own: [[u16; FRAME_TOKENS]; OWN_DEPTH],
    /// Kinds of the last decoded frame (each at most [`kind::ESCAPE`]).
    pub(super) kinds: [u8; FRAME_TOKENS],
}

impl KernelState {
    /// Where row `row`'s 16 entries of each own-list rank start (row `row` of each
    /// plane of `own`), for a kernel's row loads and stores. In bounds of the planes
    /// (16 entries from each) for `row < ROWS`.
    pub(super) fn own_row(&mut self, row: usize) -> [*mut u16; OWN_DEPTH] {
        debug_assert!(row < crate::container::ROWS);
        core::array::from_fn(|k| self.own[k].as_mut_ptr().wrapping_add(row * crate::container::COLS))
    }

    /// The state after the coder's initial states were read: `bit` bits consumed.
    pub(super) fn new(states: &[u32], bit: usize) -> Self {
        let mut s = [0u32; crate::container::COLS];
        for (d, &v) in s.iter_mut().zip(states) {
            *d = v;
        }
        KernelState { states: s, bit, own: [[EMPTY; FRAME_TOKENS]; OWN_DEPTH], kinds: [kind::ESCAPE; FRAME_TOKENS] }
    }

    /// What precedes a kernel's rows of a frame (`driver::Kernel::frame`): `Err(NoRoom)`
    /// (nothing changed) unless the payload has `margin` bytes from the current byte
    /// on plus room for `then_bits` more bits; frame 0 (`first`: raw tokens) decoded
    /// here, `Err(Done)`; else `Ok(start)`, the payload byte the frame's bits start
    /// in, with at least `margin` bytes from there on.
    pub(super) fn before_rows(
        &mut self,
        payload: &[u8],
        out: &mut [u16; FRAME_TOKENS],
        first: bool,
        then_bits: usize,
        margin: usize,
    ) -> Result<usize, FrameResult> {
        let start = self.bit / 8;
        let room = margin + then_bits.div_ceil(8);
        if start.checked_add(room).map_or(true, |end| end > payload.len()) {
            return Err(FrameResult::NoRoom);
        }
        if first {
            self.first_frame(payload, out);
            return Err(FrameResult::Done);
        }
        Ok(start)
    }

    /// Frame 0: 128 raw 10-bit tokens. The caller checked that the payload has
    /// room for them from the current position on (bytes past its end read as 0).
    pub(super) fn first_frame(&mut self, payload: &[u8], out: &mut [u16; FRAME_TOKENS]) {
        for (pos, token) in out.iter_mut().enumerate() {
            let byte = self.bit / 8;
            let mut word = [0u8; 4];
            if let Some(b) = payload.get(byte..byte + 4) {
                word.copy_from_slice(b);
            }
            let t = ((u32::from_le_bytes(word) >> (self.bit % 8)) & 0x3FF) as u16;
            self.bit += 10;
            *token = t;
            self.own[0][pos] = t;
            self.kinds[pos] = kind::ESCAPE;
        }
    }

    /// The scalar model state after `frames` (>= 1) decoded frames.
    pub(super) fn context_state(&self, frames: u32) -> ContextState {
        let mut own = OwnLists::default();
        for pos in 0..FRAME_TOKENS {
            own.set_list(pos, [self.own[0][pos], self.own[1][pos], self.own[2][pos], self.own[3][pos]]);
        }
        let mut state = ContextState { own, frame: frames, ..ContextState::default() };
        state.kinds.set_frame_kinds(&self.kinds);
        state.kinds.next_frame();
        state
    }
}

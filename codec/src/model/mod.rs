//! Models: how tokens become tANS symbols, and back.
//!
//! A table set's model section starts with one byte naming the model kind; the rest
//! are that model's parameters. Every model decodes a frame at a time into a
//! caller's buffer with a fixed-size state and no heap.

pub mod context;
pub mod order0;

use crate::container::FRAME_TOKENS;
use crate::table_set::TableSetRef;
use crate::tans::decode_table::DecodeTables;
use crate::tans::decoder::TansDecoder;
use crate::{Error, Result};

/// Model kind byte of the order-0 model.
pub const KIND_ORDER0: u8 = 0;

/// Checks the model section of a table set once, when the set is loaded: for a known
/// model kind, everything [`Model::from_table_set`] relies on (for the context model
/// this includes every successor-list entry). Unknown kinds pass; using them fails.
pub(crate) fn validate_section(set: &TableSetRef<'_>) -> Result<()> {
    match set.model().first() {
        Some(&KIND_ORDER0) => order0::Order0::from_table_set(set).map(|_| ()),
        Some(&context::KIND) => context::ContextModel::validate(set),
        _ => Ok(()),
    }
}

/// A model's parameters, parsed (and validated against the tables) from a table set.
#[derive(Debug, Clone, Copy)]
#[allow(clippy::large_enum_variant)] // no heap: the context model's parameters live inline
pub enum Model<'a> {
    /// Every token coded directly with one 1024-symbol table.
    Order0(order0::Order0),
    /// The context model.
    Context(context::ContextModel<'a>),
}

impl<'a> Model<'a> {
    /// Reads the model section of `set` and checks it fits the set's tables.
    pub fn from_table_set(set: &TableSetRef<'a>) -> Result<Self> {
        match set.model().first() {
            Some(&KIND_ORDER0) => Ok(Model::Order0(order0::Order0::from_table_set(set)?)),
            Some(&context::KIND) => Ok(Model::Context(context::ContextModel::from_table_set(set)?)),
            _ => Err(Error::UnknownModel),
        }
    }

    /// Number of interleaved states the model's streams use.
    pub fn n_states(&self) -> usize {
        match self {
            Model::Order0(_) => order0::N_STATES,
            Model::Context(_) => context::N_STATES,
        }
    }

    /// A fresh decoding state for one segment.
    pub fn decoder_state(&self) -> ModelDecoder<'a> {
        match self {
            Model::Order0(m) => ModelDecoder::Order0(*m),
            Model::Context(m) => ModelDecoder::Context(*m, context::ContextState::default()),
        }
    }
}

/// The decoder-side state of a model for one segment. Its size is fixed (at most
/// [`ModelDecoder::MAX_BYTES`]); it lives wherever the caller puts it.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // no heap: the context state lives inline on purpose
pub enum ModelDecoder<'a> {
    /// Order-0: no state beyond the parameters.
    Order0(order0::Order0),
    /// Context model: parameters and state.
    Context(context::ContextModel<'a>, context::ContextState),
}

impl<'a> ModelDecoder<'a> {
    /// Size of this state in bytes on this target.
    pub const MAX_BYTES: usize = core::mem::size_of::<Self>();

    /// Decodes one frame of 128 tokens into `out`.
    #[inline]
    pub fn decode_frame(
        &mut self,
        coder: &mut TansDecoder<'_>,
        tables: &DecodeTables<'_>,
        out: &mut [u16; FRAME_TOKENS],
    ) -> Result<()> {
        match self {
            ModelDecoder::Order0(m) => m.decode_frame(coder, tables, out),
            ModelDecoder::Context(m, state) => state.decode_frame(m, coder, tables, out),
        }
    }

    /// Frames the hand-written frame loop decoded
    /// ([`context::ContextState::kernel_frames`]); 0 for order-0.
    pub fn kernel_frames(&self) -> u32 {
        match self {
            ModelDecoder::Order0(_) => 0,
            ModelDecoder::Context(_, state) => state.kernel_frames(),
        }
    }

    /// Starts the model state afresh for the next section of a format-3 stream, as
    /// before a stream's first frame (keeping the portable-loop choice and the count
    /// of frames the hand-written loop decoded).
    pub fn restart(&mut self) {
        if let ModelDecoder::Context(_, state) = self {
            state.restart();
        }
    }

    /// Makes the context model use its portable frame loop even where a hand-written
    /// one exists (ARMv7E-M, ARMv6-M); both give the same results, and tests compare
    /// them.
    pub fn use_portable_loop(&mut self) {
        if let ModelDecoder::Context(_, state) = self {
            state.portable = true;
        }
    }
}

/// Encoder side of a model (host only): what it needs to turn tokens into operations.
#[cfg(feature = "alloc")]
#[allow(clippy::large_enum_variant)] // one per encoder, never in bulk
pub enum ModelEncoder<'a> {
    /// Order-0.
    Order0(order0::Order0),
    /// Context model, with an index of where each token sits in each successor list.
    Context(context::ContextModel<'a>, alloc::boxed::Box<context::encode::SuccessorIndex>),
}

#[cfg(feature = "alloc")]
impl<'a> ModelEncoder<'a> {
    /// Prepares encoding for `model`.
    pub fn new(model: &Model<'a>) -> Self {
        match model {
            Model::Order0(m) => ModelEncoder::Order0(*m),
            Model::Context(m) => {
                ModelEncoder::Context(*m, alloc::boxed::Box::new(context::encode::SuccessorIndex::new(m)))
            }
        }
    }

    /// The operations coding `tokens` (validated, whole frames), the model part each
    /// belongs to and where each frame ends.
    pub fn ops(&self, tokens: &[u16]) -> context::encode::ModelOps {
        match self {
            ModelEncoder::Order0(m) => {
                let ops = m.ops(tokens);
                let parts = alloc::vec![context::encode::Part::Order0; ops.len()];
                let frame_ends = (1..=tokens.len() / FRAME_TOKENS).map(|f| f * FRAME_TOKENS).collect();
                context::encode::ModelOps { ops, parts, frame_ends }
            }
            ModelEncoder::Context(m, index) => context::encode::ops(m, index, tokens),
        }
    }
}

//! Models: how tokens become tANS symbols, and back.
//!
//! A table set's model section starts with one byte naming the model kind; the rest
//! are that model's parameters. Every model decodes a frame at a time into a
//! caller's buffer with a fixed-size state and no heap.

pub mod order0;

use crate::tans::decode_table::DecodeTables;
use crate::tans::decoder::TansDecoder;
use crate::table_set::TableSetRef;
use crate::{Error, Result};

/// Model kind byte of the order-0 model.
pub const KIND_ORDER0: u8 = 0;

/// A model's parameters, parsed (and validated against the tables) from a table set.
#[derive(Debug, Clone, Copy)]
pub enum Model<'a> {
    /// Every token coded directly with one 1024-symbol table.
    Order0(order0::Order0),
    #[doc(hidden)]
    _Phantom(core::marker::PhantomData<&'a ()>),
}

impl<'a> Model<'a> {
    /// Reads the model section of `set` and checks it fits the set's tables.
    pub fn from_table_set(set: &TableSetRef<'a>) -> Result<Self> {
        match set.model().first() {
            Some(&KIND_ORDER0) => Ok(Model::Order0(order0::Order0::from_table_set(set)?)),
            _ => Err(Error::UnknownModel),
        }
    }

    /// Number of interleaved states the model's streams use.
    pub fn n_states(&self) -> usize {
        match self {
            Model::Order0(_) => order0::N_STATES,
            Model::_Phantom(_) => 1,
        }
    }

    /// A fresh decoding state for one segment.
    pub fn decoder_state(&self) -> ModelDecoder<'a> {
        match self {
            Model::Order0(m) => ModelDecoder::Order0(*m, 0),
            Model::_Phantom(p) => ModelDecoder::_Phantom(*p),
        }
    }

    /// The tANS operations that code `tokens` (validated, whole frames).
    #[cfg(feature = "alloc")]
    pub fn ops(&self, tokens: &[u16]) -> Result<alloc::vec::Vec<crate::tans::encoder::Op>> {
        match self {
            Model::Order0(m) => Ok(m.ops(tokens)),
            Model::_Phantom(_) => Err(Error::UnknownModel),
        }
    }
}

/// The decoder-side state of a model for one segment. Its size is fixed and
/// documented per model; it lives wherever the caller puts it (stack, `static`).
#[derive(Debug, Clone)]
pub enum ModelDecoder<'a> {
    /// Order-0: the parameters and the next symbol index.
    Order0(order0::Order0, usize),
    #[doc(hidden)]
    _Phantom(core::marker::PhantomData<&'a ()>),
}

impl<'a> ModelDecoder<'a> {
    /// Decodes one frame of 128 tokens into `out`.
    #[inline]
    pub fn decode_frame(
        &mut self,
        coder: &mut TansDecoder<'_>,
        tables: &DecodeTables<'_>,
        out: &mut [u16; crate::container::FRAME_TOKENS],
    ) -> Result<()> {
        match self {
            ModelDecoder::Order0(m, index) => m.decode_frame(coder, tables, index, out),
            ModelDecoder::_Phantom(_) => Err(Error::UnknownModel),
        }
    }
}

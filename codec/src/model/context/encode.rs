//! Encoding with the context model: tokens to tANS operations, mirroring the decoder
//! state step by step.

use super::classes::{bucket_bits, bucket_of, kind, EDGES, OWN_DEPTH};
use super::decode::ContextState;
use super::own_lists::Seen;
use super::ContextModel;
use crate::container::{COLS, FRAME_TOKENS, ROWS};
use crate::tans::encoder::Op;
use alloc::vec;
use alloc::vec::Vec;

/// What part of the model an operation belongs to (for statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// Class symbol of a token that copies the previous frame.
    ClassCopy,
    /// Class symbol of an own-list rank 1..
    ClassOwn,
    /// Class symbol of a successor-list token.
    ClassSuccessor,
    /// Class symbol of an escape.
    ClassEscape,
    /// Raw offset bits inside a successor bucket.
    SuccessorOffset,
    /// Raw 10-bit escaped token.
    EscapeToken,
    /// Raw 10-bit tokens of frame 0.
    FirstFrame,
    /// A token coded by the order-0 model.
    Order0,
    /// The checksum after a group of frames (container format 2).
    GroupCheck,
}

impl Part {
    /// Every part, in declaration order (`ALL[p as usize] == p`).
    pub const ALL: [Part; 9] = [
        Part::ClassCopy,
        Part::ClassOwn,
        Part::ClassSuccessor,
        Part::ClassEscape,
        Part::SuccessorOffset,
        Part::EscapeToken,
        Part::FirstFrame,
        Part::Order0,
        Part::GroupCheck,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Part::ClassCopy => "class:copy",
            Part::ClassOwn => "class:own",
            Part::ClassSuccessor => "class:successor",
            Part::ClassEscape => "class:escape",
            Part::SuccessorOffset => "successor-offset",
            Part::EscapeToken => "escape-token",
            Part::FirstFrame => "first-frame",
            Part::Order0 => "order0",
            Part::GroupCheck => "group-check",
        }
    }
}

/// Where each token sits in each successor list: `rank[p * 1024 + x]`, or `u16::MAX`.
pub struct SuccessorIndex {
    rank: Vec<u16>,
}

impl SuccessorIndex {
    /// Indexes the lists of `model`. Where a list holds a token twice, the lower rank wins.
    pub fn new(model: &ContextModel<'_>) -> Self {
        let mut rank = vec![u16::MAX; 1024 * 1024];
        for p in 0..1024u16 {
            for r in (0..model.k()).rev() {
                rank[p as usize * 1024 + model.successor(p, r) as usize] = r as u16;
            }
        }
        SuccessorIndex { rank }
    }
    /// Rank of `x` in the list of `p`.
    #[inline]
    pub fn rank(&self, p: u16, x: u16) -> Option<u16> {
        let r = self.rank[(p as usize & 1023) * 1024 + (x as usize & 1023)];
        (r != u16::MAX).then_some(r)
    }
}

/// One token's coding decision.
#[derive(Debug, Clone, Copy)]
struct Coded {
    class: u16,
    raw: Option<(u16, u8)>,
}

/// Produces the operations coding `tokens` (whole frames, values <= 1023), with the
/// model part of each operation and where each frame's operations end.
pub fn ops(model: &ContextModel<'_>, index: &SuccessorIndex, tokens: &[u16]) -> ModelOps {
    let classes = model.classes();
    let mut state = ContextState::default();
    let mut ops = Vec::with_capacity(tokens.len() * 5 / 4);
    let mut parts = Vec::with_capacity(tokens.len() * 5 / 4);
    let mut frame_ends = Vec::with_capacity(tokens.len() / FRAME_TOKENS);
    for (f, frame) in tokens.chunks_exact(FRAME_TOKENS).enumerate() {
        if f == 0 {
            for (pos, &t) in frame.iter().enumerate() {
                ops.push(Op::Raw { value: t, bits: 10 });
                parts.push(Part::FirstFrame);
                state.own.push_front(pos, t);
                state.kinds.set_kind(pos, kind::ESCAPE);
            }
        } else {
            for r in 0..ROWS {
                for c in 0..COLS {
                    let pos = r * COLS + c;
                    let x = frame[pos];
                    let coded = match state.own.observe(pos, x) {
                        Seen::Own(rank) => Coded { class: rank as u16, raw: None },
                        Seen::New { front } => match index.rank(front, x) {
                            Some(rank) => {
                                let b = bucket_of(rank);
                                Coded {
                                    class: (OWN_DEPTH + b) as u16,
                                    raw: Some((rank - EDGES[b], bucket_bits(b) as u8)),
                                }
                            }
                            None => Coded { class: classes.escape(), raw: Some((x, 10)) },
                        },
                    };
                    let table = model.table_of(state.kinds.context(pos)) as u16;
                    let k = classes.kind(coded.class);
                    state.kinds.set_kind(pos, k);
                    ops.push(Op::Symbol { state: c as u8, table, symbol: coded.class });
                    parts.push(match k {
                        kind::COPY => Part::ClassCopy,
                        kind::OWN => Part::ClassOwn,
                        kind::SUCCESSOR => Part::ClassSuccessor,
                        _ => Part::ClassEscape,
                    });
                    // The token's raw bits follow its class symbol.
                    if let Some((value, bits)) = coded.raw.filter(|&(_, bits)| bits > 0) {
                        ops.push(Op::Raw { value, bits });
                        parts.push(if k == kind::ESCAPE { Part::EscapeToken } else { Part::SuccessorOffset });
                    }
                }
            }
        }
        state.kinds.next_frame();
        state.frame += 1;
        frame_ends.push(ops.len());
    }
    ModelOps { ops, parts, frame_ends }
}

/// What a model makes of a segment's tokens, in decode order.
#[derive(Debug, Clone, Default)]
pub struct ModelOps {
    /// The operations.
    pub ops: Vec<Op>,
    /// The model part of each operation.
    pub parts: Vec<Part>,
    /// For each frame, the index in `ops` after its last operation.
    pub frame_ends: Vec<usize>,
}

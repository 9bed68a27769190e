//! Where a kernel's cycles go: each stage of the row loop timed on its own, in TSC
//! ticks per row of 16 tokens, on the inputs a real stream gives it (`BUDGET.md`;
//! `cargo run --release -p vqtans-benches --bin stage_budget` prints the table).
//!
//! `avx2` first decodes the stream's kernel frames with a copy of the AVX2 row loop
//! (`avx2::Kernel::rows`) that records every stage's inputs row by row (the copy's
//! tokens are checked against the scalar decoder's), then times each stage in a loop
//! over those recorded rows, calling the kernel's own stage functions: so the
//! contexts, states, bit counts and tables are those of real decoding, in the
//! order they come. A stage loop's rows are independent of each other (its
//! throughput cost, what adds up when the kernel is throughput-bound); the
//! `latency` lines chain each row's input to the previous row's output (an `and`
//! with a zero the compiler cannot see, then an `add`: two more 1-cycle operations
//! in the chain), a dependent-chain figure. Each figure is the median of
//! `reps` repetitions, interleaved: each repetition times every stage once, so
//! that a change in the machine's load hits every stage alike. The per-row stage
//! loops run over the first [`Config::rows`] recorded rows (more passes instead),
//! so that their inputs stay in cache as the real loop's do.
//!
//! `avx512` does the same for the AVX-512 kernel (`avx512::Kernel::rows`) and
//! returns the same [`Budget`] with the same stage names ([`STAGE_NAMES`]).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::arch::x86_64::*;
use core::hint::black_box;

use super::avx2::{self, Kernel, FRAME_MARGIN, MAX_WINDOW_START};
use super::avx512;
use super::state::{FrameResult, KernelState};
use super::{driver, DecodePath};
use crate::container::{Header, COLS, FRAME_TOKENS, GROUP_CHECK_BITS, HEADER_LEN, ROWS};
use crate::groups::GroupCheck;
use crate::model::context::contexts::UP_NONE;
use crate::model::Model;
use crate::table_set::TableSetRef;
use crate::tans::bits::BitReader;
use crate::tans::decode_table::DecodeTables;
use crate::{Error, Result};

/// The per-row stages of a kernel, in the order of [`Budget::stages`]' parts: (a)
/// to (g) per row, (h1) to (h3) per frame (given per row: a frame's cost / 8).
pub const STAGE_NAMES: [&str; 10] = [
    "a context map",
    "b entries",
    "c kinds, contexts, bit counts",
    "d prefix sum, total",
    "e bit windows, states",
    "f successors",
    "g own lists, packing, stores",
    "h1 context_bases",
    "h2 before_rows",
    "h3 group checksum",
];

/// What a [`Stage`] figure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// A stage's throughput cost: the parts add up to [`Measure::Sum`].
    Part,
    /// The sum of the parts' medians (and of their lows, of their highs).
    Sum,
    /// The whole decode of the stream (`decode_into_with`) per row of the stream.
    Whole,
    /// The whole minus the [`Measure::Reference`] (the kernel's frames timed as one):
    /// what the group checksum, the driver loop, the stream's opening and its scalar
    /// tail add to the kernel's frames.
    Rest,
    /// The kernel's frames timed as one (`driver::Kernel::frame`: rows, h1, h2), for
    /// comparison with the sum of the parts.
    Reference,
    /// A stage's dependent-chain cost (each row's input waits for the last output).
    Latency,
}

/// One line of a budget: TSC ticks per row of 16 tokens.
#[derive(Debug, Clone, Copy)]
pub struct Stage {
    /// The stage's name ([`STAGE_NAMES`] for the parts).
    pub name: &'static str,
    /// What the figure is.
    pub measure: Measure,
    /// Median over the repetitions.
    pub median: f64,
    /// Lowest repetition.
    pub low: f64,
    /// Highest repetition.
    pub high: f64,
}

/// A kernel's budget on one stream.
#[derive(Debug, Clone)]
pub struct Budget {
    /// The kernel's name.
    pub kernel: &'static str,
    /// Rows the kernel decoded (the stage loops' rows: frames 1.. before the tail).
    pub kernel_rows: usize,
    /// Rows of the stream (the [`Measure::Whole`] figure's rows).
    pub stream_rows: usize,
    /// Whether the table set has a context map (else stage (a) is two shifts).
    pub context_map: bool,
    /// The lines: the parts, their sum, the references, the whole, the rest, the
    /// latencies.
    pub stages: Vec<Stage>,
}

/// Repetitions and passes of each timing.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Repetitions of each timing (the median and range are over these).
    pub reps: usize,
    /// Passes over the recorded rows in one repetition of a stage loop (times
    /// the recorded rows / [`Config::rows`] when that cuts them).
    pub passes: usize,
    /// Recorded rows the per-row stage loops (a to g) run over: the first ones,
    /// so that a loop's inputs stay in the core's caches as the real loop's do
    /// (a loop over all ~9500 rows of a stream streams ~2.5 MiB of recorded
    /// vectors from beyond L2, which dominates the cheaper stages); 0: all.
    pub rows: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { reps: 21, passes: 8, rows: 1024 }
    }
}

/// The time-stamp counter.
fn tsc() -> u64 {
    // SAFETY: RDTSC exists on every x86-64 CPU and only reads the counter.
    unsafe { _rdtsc() }
}

/// Ticks `f` takes (its result kept from the optimiser).
fn ticks<R>(f: impl FnOnce() -> R) -> u64 {
    let t0 = tsc();
    black_box(f());
    tsc().wrapping_sub(t0)
}

/// A named timing: one repetition, in ticks per row.
type Timer<'t> = (&'static str, Measure, Box<dyn FnMut() -> f64 + 't>);

/// Two 8-lane halves of a row.
type Pair = [__m256i; 2];

/// The inputs of the bit-window stage for one row.
#[derive(Clone, Copy)]
struct WindowIn {
    /// Payload bytes the two windows start at.
    at: [usize; 2],
    /// Bit position within the first byte of each window.
    shift: [i32; 2],
    /// Exclusive prefix sums (bit offsets within each half).
    ex: Pair,
    nb: Pair,
    rnb: Pair,
    /// The entries (the new states' bases).
    e: Pair,
}

/// Every stage's inputs, row by row, from decoding a stream's kernel frames.
struct Trace {
    // Per row.
    ctx: Vec<Pair>,
    /// The states before the row.
    x: Vec<Pair>,
    /// `map[context] << M` of the row (stage (a)'s output).
    tb: Vec<Pair>,
    e: Vec<Pair>,
    /// The next row's context bases.
    next_base: Vec<Pair>,
    cnt: Vec<Pair>,
    win: Vec<WindowIn>,
    sym: Vec<Pair>,
    raw: Vec<Pair>,
    esc: Vec<Pair>,
    /// The row's own-list planes before the row.
    own: Vec<[[u16; COLS]; 4]>,
    /// Successor and escape tokens (stage (f)'s output).
    nt: Vec<Pair>,
    /// Kinds as 32-bit lanes (what `pack_bytes` packs).
    kinds32: Vec<Pair>,
    // Per kernel frame (frame 0 included).
    /// Kinds of the last frame, at the frame's start.
    kinds: Vec<[u8; FRAME_TOKENS]>,
    /// Bit position at the frame's start.
    start_bit: Vec<usize>,
    /// `then_bits` of the frame.
    then_bits: Vec<usize>,
    /// Where the group checksum after the frame is (if the frame ends a group).
    check_bit: Vec<usize>,
    /// The decoded tokens.
    tokens: Vec<u16>,
}

impl Trace {
    /// Keeps the first `n` rows of the per-row inputs (the per-frame ones all).
    fn truncate_rows(&mut self, n: usize) {
        self.ctx.truncate(n);
        self.x.truncate(n);
        self.tb.truncate(n);
        self.e.truncate(n);
        self.next_base.truncate(n);
        self.cnt.truncate(n);
        self.win.truncate(n);
        self.sym.truncate(n);
        self.raw.truncate(n);
        self.esc.truncate(n);
        self.own.truncate(n);
        self.nt.truncate(n);
        self.kinds32.truncate(n);
    }
}

/// The budget of the AVX2 kernel on `stream` (coded with `set`, `tables`); `None` if
/// the CPU lacks AVX2, the kernel does not take the set, or the stream has no frame
/// the kernel decodes (frame 0 aside). Errors are the stream's decode errors.
pub fn avx2(stream: &[u8], set: &TableSetRef<'_>, tables: DecodeTables<'_>, config: Config) -> Result<Option<Budget>> {
    if !super::avx2_available() {
        return Ok(None);
    }
    let crate::segment::Opened { header, model, coder, .. } = crate::segment::open(stream, set, &tables)?;
    let Model::Context(cm) = model else { return Ok(None) };
    let Some(kernel) = Kernel::new(&tables, &cm) else { return Ok(None) };
    // The same kernel as the driver runs it, for the "frame" line.
    let Some(framer) = driver::Kernel::new(DecodePath::Avx2, &tables, &cm) else { return Ok(None) };
    let payload = &stream[HEADER_LEN..];
    let init_states: Vec<u32> = coder.states().to_vec();
    let init_bit = coder.consumed_bits();
    // SAFETY: AVX2 is available (checked above).
    let mut trace = unsafe { record(&kernel, &header, payload, &init_states, init_bit)? };
    let frames = trace.kinds.len();
    let rows = trace.e.len();
    if rows == 0 {
        return Ok(None);
    }
    // The recording copy of the row loop decodes what the scalar decoder does.
    let reference = crate::segment::decode(stream, set, tables)?;
    if reference[..trace.tokens.len()] != trace.tokens[..] {
        return Err(Error::ModelCorrupt);
    }
    let stream_rows = header.frames as usize * ROWS;
    let passes = config.passes.max(1);
    let (loop_rows, loop_passes) = loop_rows(rows, config);
    trace.truncate_rows(loop_rows);
    let per_row = |t: u64, n: usize| t as f64 / n as f64;

    // Scratch the stage loops write to.
    let mut own = trace.own.clone();
    let mut whole_out = alloc::vec![0u16; header.frames as usize * FRAME_TOKENS];
    let init = init_states.as_slice();
    let mut out = alloc::vec![0u16; header.frames as usize * FRAME_TOKENS];
    let mut frame_out = [0u16; FRAME_TOKENS];
    let mut kinds_out = [0u8; FRAME_TOKENS];
    let mut ks = KernelState::new(init, init_bit);
    let (k, t) = (&kernel, &trace);

    // The parts, then the references and latencies; each returns ticks per row.
    let mut timers: Vec<Timer<'_>> = Vec::new();
    // SAFETY (every closure below): AVX2 is available (checked above); the loops
    // read the trace, the payload at recorded window starts (each at most
    // MAX_WINDOW_START past a frame start with FRAME_MARGIN bytes), and write
    // scratch buffers of the right sizes.
    let part = Measure::Part;
    timers.push((
        STAGE_NAMES[0],
        part,
        Box::new(move || per_row(ticks(|| unsafe { map_loop::<false>(k, t, loop_passes) }), loop_rows * loop_passes)),
    ));
    timers.push((
        STAGE_NAMES[1],
        part,
        Box::new(move || {
            per_row(ticks(|| unsafe { entries_loop::<false>(k, t, loop_passes) }), loop_rows * loop_passes)
        }),
    ));
    timers.push((
        STAGE_NAMES[2],
        part,
        Box::new(move || per_row(ticks(|| unsafe { kinds_loop(k, t, loop_passes) }), loop_rows * loop_passes)),
    ));
    timers.push((
        STAGE_NAMES[3],
        part,
        Box::new(move || per_row(ticks(|| unsafe { prefix_loop::<false>(t, loop_passes) }), loop_rows * loop_passes)),
    ));
    timers.push((
        STAGE_NAMES[4],
        part,
        Box::new(move || {
            per_row(ticks(|| unsafe { window_loop::<false>(t, payload, loop_passes) }), loop_rows * loop_passes)
        }),
    ));
    timers.push((
        STAGE_NAMES[5],
        part,
        Box::new(move || per_row(ticks(|| unsafe { successor_loop(k, t, loop_passes) }), loop_rows * loop_passes)),
    ));
    timers.push((
        STAGE_NAMES[6],
        part,
        Box::new(|| {
            per_row(
                ticks(|| unsafe { own_loop(t, &mut own, &mut frame_out, &mut kinds_out, loop_passes) }),
                loop_rows * loop_passes,
            )
        }),
    ));
    timers.push((
        STAGE_NAMES[7],
        part,
        Box::new(move || per_row(ticks(|| unsafe { bases_loop(t, passes) }), rows * passes)),
    ));
    timers.push(before_rows_timer(init, init_bit, payload, &t.start_bit, &t.then_bits, FRAME_MARGIN, passes));
    timers.push(check_timer(&header, payload, &t.tokens, &t.check_bit, passes));
    timers.push((
        "frame: a to g + h1 + h2 as one (Kernel::frame)",
        Measure::Reference,
        Box::new(|| {
            per_row(
                ticks(|| {
                    for _ in 0..passes {
                        ks = KernelState::new(init, init_bit);
                        for (f, frame) in out.chunks_exact_mut(FRAME_TOKENS).take(frames).enumerate() {
                            let frame: &mut [u16; FRAME_TOKENS] = frame.try_into().unwrap_or_else(|_| unreachable!());
                            let r = framer.frame(&mut ks, payload, frame, f == 0, trace.then_bits[f]);
                            black_box(r == FrameResult::Done);
                            if trace.then_bits[f] > 0 {
                                ks.bit += GROUP_CHECK_BITS as usize;
                            }
                        }
                    }
                }),
                rows * passes,
            )
        }),
    ));
    timers.push((
        "whole decode (decode_into_with Avx2)",
        Measure::Whole,
        Box::new(|| {
            per_row(
                ticks(|| {
                    let r = super::decode_into_with(DecodePath::Avx2, stream, set, tables, &mut whole_out);
                    black_box(r.is_ok());
                }),
                stream_rows,
            )
        }),
    ));
    let lat = Measure::Latency;
    timers.push((
        "a context map, latency",
        lat,
        Box::new(move || per_row(ticks(|| unsafe { map_loop::<true>(k, t, loop_passes) }), loop_rows * loop_passes)),
    ));
    timers.push((
        "b entries, latency",
        lat,
        Box::new(move || {
            per_row(ticks(|| unsafe { entries_loop::<true>(k, t, loop_passes) }), loop_rows * loop_passes)
        }),
    ));
    timers.push((
        "d prefix sum, latency",
        lat,
        Box::new(move || per_row(ticks(|| unsafe { prefix_loop::<true>(t, loop_passes) }), loop_rows * loop_passes)),
    ));
    timers.push((
        "e bit windows, latency",
        lat,
        Box::new(move || {
            per_row(ticks(|| unsafe { window_loop::<true>(t, payload, loop_passes) }), loop_rows * loop_passes)
        }),
    ));

    let stages = run(timers, config.reps);
    Ok(Some(Budget {
        kernel: "AVX2",
        kernel_rows: rows,
        stream_rows,
        context_map: kernel.map_shifted.is_some(),
        stages,
    }))
}

/// The budget of the AVX-512 kernel on `stream`, measured as `avx2` measures the
/// AVX2 kernel's (a recording copy of `avx512::Kernel::rows`, checked against the
/// scalar decoder, then each stage timed on the recorded rows with the kernel's own
/// functions), with the same stage names ([`STAGE_NAMES`]): (a) the map lookup
/// (`vpermi2b`, or nothing with the identity map) and the shift, (b) one 16-lane
/// entry gather, (c) class symbols, kinds and raw bit counts (`vpermt2d` lookups),
/// next contexts, (d) `prefix_sum16` and the total, (e) `window_bits` (one 64-byte
/// load, one `vpermb`) and the new states, (f) one masked 16-lane successor gather
/// (`successor_or_escape`), (g) `update_own`, the kinds and tokens narrowed and
/// stored, (h1) to (h3) as for AVX2. `None` if the CPU lacks AVX-512 F/BW/VL/VBMI,
/// the kernel does not take the set, or the stream has no frame the kernel decodes
/// (frame 0 aside). Errors are the stream's decode errors.
pub fn avx512(
    stream: &[u8],
    set: &TableSetRef<'_>,
    tables: DecodeTables<'_>,
    config: Config,
) -> Result<Option<Budget>> {
    if !super::avx512_available() {
        return Ok(None);
    }
    let crate::segment::Opened { header, model, coder, .. } = crate::segment::open(stream, set, &tables)?;
    let Model::Context(cm) = model else { return Ok(None) };
    let Some(kernel) = avx512::Kernel::new(&tables, &cm) else { return Ok(None) };
    // The same kernel as the driver runs it, for the "frame" line (AVX-512: the
    // kernel took the set just above).
    let Some(framer) = driver::Kernel::new(DecodePath::Avx512, &tables, &cm) else { return Ok(None) };
    let payload = &stream[HEADER_LEN..];
    let init_states: Vec<u32> = coder.states().to_vec();
    let init_bit = coder.consumed_bits();
    // SAFETY: the CPU has AVX-512 F, BW, VL, VBMI and AVX2 (checked above).
    let mut trace = unsafe { wide::record(&kernel, &header, payload, &init_states, init_bit)? };
    let frames = trace.frames.kinds.len();
    let rows = trace.e.len();
    if rows == 0 {
        return Ok(None);
    }
    // The recording copy of the row loop decodes what the scalar decoder does.
    let reference = crate::segment::decode(stream, set, tables)?;
    if reference[..trace.frames.tokens.len()] != trace.frames.tokens[..] {
        return Err(Error::ModelCorrupt);
    }
    let stream_rows = header.frames as usize * ROWS;
    let passes = config.passes.max(1);
    let per_row = |t: u64, n: usize| t as f64 / n as f64;
    let (loop_rows, loop_passes) = loop_rows(rows, config);
    trace.truncate_rows(loop_rows);

    // Scratch the stage loops write to.
    let mut own = trace.own.clone();
    let mut whole_out = alloc::vec![0u16; header.frames as usize * FRAME_TOKENS];
    let init = init_states.as_slice();
    let mut out = alloc::vec![0u16; header.frames as usize * FRAME_TOKENS];
    let mut frame_out = [0u16; FRAME_TOKENS];
    let mut kinds_out = [0u8; FRAME_TOKENS];
    let mut ks = KernelState::new(init, init_bit);
    let (k, t, ft) = (&kernel, &trace, &trace.frames);

    let mut timers: Vec<Timer<'_>> = Vec::new();
    // SAFETY (every closure below): the CPU has the kernel's features (checked
    // above); the loops read the trace, the payload at recorded frame starts (each
    // with avx512::FRAME_MARGIN bytes), and write scratch buffers of the right sizes.
    let part = Measure::Part;
    // The per-row stage loops' rows, and the kernel's rows (h1, frame).
    let (n, all) = (loop_rows * loop_passes, rows * passes);
    let passes_all = passes;
    let passes = loop_passes;
    timers.push((
        STAGE_NAMES[0],
        part,
        Box::new(move || per_row(ticks(|| unsafe { wide::map_loop::<false>(k, t, passes) }), n)),
    ));
    timers.push((
        STAGE_NAMES[1],
        part,
        Box::new(move || per_row(ticks(|| unsafe { wide::entries_loop::<false>(k, t, passes) }), n)),
    ));
    timers.push((
        STAGE_NAMES[2],
        part,
        Box::new(move || per_row(ticks(|| unsafe { wide::kinds_loop(k, t, passes) }), n)),
    ));
    timers.push((
        STAGE_NAMES[3],
        part,
        Box::new(move || per_row(ticks(|| unsafe { wide::prefix_loop::<false>(t, passes) }), n)),
    ));
    timers.push((
        STAGE_NAMES[4],
        part,
        Box::new(move || per_row(ticks(|| unsafe { wide::window_loop::<false>(k, t, payload, passes) }), n)),
    ));
    timers.push((
        STAGE_NAMES[5],
        part,
        Box::new(move || per_row(ticks(|| unsafe { wide::successor_loop(k, t, passes) }), n)),
    ));
    timers.push((
        STAGE_NAMES[6],
        part,
        Box::new(|| {
            per_row(ticks(|| unsafe { wide::own_loop(t, &mut own, &mut frame_out, &mut kinds_out, passes) }), n)
        }),
    ));
    timers.push((
        STAGE_NAMES[7],
        part,
        Box::new(move || per_row(ticks(|| unsafe { wide::bases_loop(t, passes_all) }), all)),
    ));
    timers.push(before_rows_timer(
        init,
        init_bit,
        payload,
        &ft.start_bit,
        &ft.then_bits,
        avx512::FRAME_MARGIN,
        passes_all,
    ));
    timers.push(check_timer(&header, payload, &ft.tokens, &ft.check_bit, passes_all));
    timers.push((
        "frame: a to g + h1 + h2 as one (Kernel::frame)",
        Measure::Reference,
        Box::new(|| {
            per_row(
                ticks(|| {
                    for _ in 0..passes_all {
                        ks = KernelState::new(init, init_bit);
                        for (f, frame) in out.chunks_exact_mut(FRAME_TOKENS).take(frames).enumerate() {
                            let frame: &mut [u16; FRAME_TOKENS] = frame.try_into().unwrap_or_else(|_| unreachable!());
                            let r = framer.frame(&mut ks, payload, frame, f == 0, ft.then_bits[f]);
                            black_box(r == FrameResult::Done);
                            if ft.then_bits[f] > 0 {
                                ks.bit += GROUP_CHECK_BITS as usize;
                            }
                        }
                    }
                }),
                all,
            )
        }),
    ));
    timers.push((
        "whole decode (decode_into_with Avx512)",
        Measure::Whole,
        Box::new(|| {
            per_row(
                ticks(|| {
                    let r = super::decode_into_with(DecodePath::Avx512, stream, set, tables, &mut whole_out);
                    black_box(r.is_ok());
                }),
                stream_rows,
            )
        }),
    ));
    let lat = Measure::Latency;
    timers.push((
        "a context map, latency",
        lat,
        Box::new(move || per_row(ticks(|| unsafe { wide::map_loop::<true>(k, t, passes) }), n)),
    ));
    timers.push((
        "b entries, latency",
        lat,
        Box::new(move || per_row(ticks(|| unsafe { wide::entries_loop::<true>(k, t, passes) }), n)),
    ));
    timers.push((
        "d prefix sum, latency",
        lat,
        Box::new(move || per_row(ticks(|| unsafe { wide::prefix_loop::<true>(t, passes) }), n)),
    ));
    timers.push((
        "e bit windows, latency",
        lat,
        Box::new(move || per_row(ticks(|| unsafe { wide::window_loop::<true>(k, t, payload, passes) }), n)),
    ));
    let stages = run(timers, config.reps);
    Ok(Some(Budget { kernel: "AVX-512", kernel_rows: rows, stream_rows, context_map: kernel.map.is_some(), stages }))
}

/// The recorded rows the per-row stage loops run over ([`Config::rows`] of the
/// `rows`) and their passes (more when the rows are cut, to time as many rows).
fn loop_rows(rows: usize, config: Config) -> (usize, usize) {
    let loop_rows = if config.rows == 0 { rows } else { rows.min(config.rows) };
    (loop_rows, config.passes.max(1) * (rows / loop_rows).max(1))
}

/// Stage (h2): `KernelState::before_rows` at every kernel frame's start (with the
/// kernel's `margin`), per row.
fn before_rows_timer<'t>(
    init: &'t [u32],
    init_bit: usize,
    payload: &'t [u8],
    start_bit: &'t [usize],
    then_bits: &'t [usize],
    margin: usize,
    passes: usize,
) -> Timer<'t> {
    let frames = start_bit.len();
    let mut ks = KernelState::new(init, init_bit);
    let mut out = [0u16; FRAME_TOKENS];
    let timer = move || {
        let t0 = tsc();
        for _ in 0..passes {
            let (start_bit, then_bits) = black_box((start_bit, then_bits));
            for f in 1..frames {
                ks.bit = start_bit[f];
                let r = ks.before_rows(payload, &mut out, false, then_bits[f], margin);
                black_box(r.is_ok());
            }
        }
        tsc().wrapping_sub(t0) as f64 / (frames.saturating_sub(1) * ROWS * passes) as f64
    };
    (STAGE_NAMES[8], Measure::Part, Box::new(timer))
}

/// Stage (h3): `GroupCheck::frame_done` over every frame's tokens (reading the
/// checksums at their recorded bit positions), per row.
fn check_timer<'t>(
    header: &'t Header,
    payload: &'t [u8],
    tokens: &'t [u16],
    check_bit: &'t [usize],
    passes: usize,
) -> Timer<'t> {
    let frames = tokens.len() / FRAME_TOKENS;
    let timer = move || {
        let t0 = tsc();
        for _ in 0..passes {
            let (tokens, check_bit) = black_box((tokens, check_bit));
            let mut check = GroupCheck::new(header);
            for (f, tokens) in tokens.chunks_exact(FRAME_TOKENS).enumerate() {
                let bit = check_bit[f];
                let r = check.frame_done(tokens, || {
                    let mut reader = BitReader::at_bit(payload, bit);
                    Ok(reader.read(16) | reader.read(16) << 16)
                });
                black_box(r.is_ok());
            }
        }
        tsc().wrapping_sub(t0) as f64 / (frames * ROWS * passes) as f64
    };
    (STAGE_NAMES[9], Measure::Part, Box::new(timer))
}

/// Runs `timers` (a warm-up round, then `reps` interleaved repetitions) and makes
/// the budget's lines: each timer's median and range, the sum of the parts after
/// them, and the whole minus the reference before the latencies.
fn run(mut timers: Vec<Timer<'_>>, reps: usize) -> Vec<Stage> {
    // A warm-up round, then the interleaved repetitions.
    for (_, _, f) in timers.iter_mut() {
        f();
    }
    let reps = reps.max(1);
    let mut samples: Vec<Vec<f64>> = timers.iter().map(|_| Vec::with_capacity(reps)).collect();
    for _ in 0..reps {
        for ((_, _, f), s) in timers.iter_mut().zip(samples.iter_mut()) {
            s.push(f());
        }
    }
    let mut stages: Vec<Stage> = timers
        .iter()
        .zip(samples)
        .map(|(&(name, measure, _), s)| {
            let (median, low, high) = spread(s);
            Stage { name, measure, median, low, high }
        })
        .collect();
    drop(timers);
    let parts: Vec<&Stage> = stages.iter().filter(|s| s.measure == Measure::Part).collect();
    let sum = Stage {
        name: "sum of a to h3",
        measure: Measure::Sum,
        median: parts.iter().map(|s| s.median).sum(),
        low: parts.iter().map(|s| s.low).sum(),
        high: parts.iter().map(|s| s.high).sum(),
    };
    let whole = stages.iter().find(|s| s.measure == Measure::Whole).copied();
    let at = stages.iter().position(|s| s.measure != Measure::Part).unwrap_or(stages.len());
    stages.insert(at, sum);
    let reference = stages.iter().find(|s| s.measure == Measure::Reference).copied();
    if let (Some(w), Some(f)) = (whole, reference) {
        let rest = Stage {
            name: "h3 + h4 within the whole (whole - frame)",
            measure: Measure::Rest,
            median: w.median - f.median,
            low: w.low - f.high,
            high: w.high - f.low,
        };
        let at = stages.iter().position(|s| s.measure == Measure::Latency).unwrap_or(stages.len());
        stages.insert(at, rest);
    }
    stages
}

/// The median of `values` and their lowest and highest.
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[0], values[values.len() - 1])
}

/// Decodes the kernel frames of a stream (as `decode_into_kernel` does) with
/// [`record_rows`], recording every stage's inputs.
///
/// # Safety
/// AVX2 is available.
#[target_feature(enable = "avx2")]
unsafe fn record(
    kernel: &Kernel<'_>,
    header: &crate::container::Header,
    payload: &[u8],
    states: &[u32],
    bit: usize,
) -> Result<Trace> {
    let mut t = Trace {
        ctx: Vec::new(),
        x: Vec::new(),
        tb: Vec::new(),
        e: Vec::new(),
        next_base: Vec::new(),
        cnt: Vec::new(),
        win: Vec::new(),
        sym: Vec::new(),
        raw: Vec::new(),
        esc: Vec::new(),
        own: Vec::new(),
        nt: Vec::new(),
        kinds32: Vec::new(),
        kinds: Vec::new(),
        start_bit: Vec::new(),
        then_bits: Vec::new(),
        check_bit: Vec::new(),
        tokens: Vec::new(),
    };
    let mut ks = KernelState::new(states, bit);
    let mut check = GroupCheck::new(header);
    let mut frame = [0u16; FRAME_TOKENS];
    for f in 0..header.frames as usize {
        let then_bits = if check.next_ends_group() { GROUP_CHECK_BITS as usize } else { 0 };
        let (kinds, start_bit) = (ks.kinds, ks.bit);
        match ks.before_rows(payload, &mut frame, f == 0, then_bits, FRAME_MARGIN) {
            Err(FrameResult::Done) => {}
            Err(_) => break,
            // SAFETY: AVX2 (this function's contract); `before_rows` checked that
            // the payload has FRAME_MARGIN bytes from `start` on.
            Ok(start) => {
                if unsafe { record_rows(kernel, &mut ks, payload, start, &mut frame, &mut t) } {
                    return Err(Error::ModelCorrupt);
                }
            }
        }
        t.kinds.push(kinds);
        t.start_bit.push(start_bit);
        t.then_bits.push(then_bits);
        t.check_bit.push(ks.bit);
        check.frame_done(&frame, || {
            let mut reader = BitReader::at_bit(payload, ks.bit);
            let value = reader.read(16) | reader.read(16) << 16;
            ks.bit += GROUP_CHECK_BITS as usize;
            Ok(value)
        })?;
        t.tokens.extend_from_slice(&frame);
    }
    Ok(t)
}

/// A copy of `avx2::Kernel::rows` that records each stage's inputs in `t`.
/// Returns true if a symbol could not be resolved.
///
/// # Safety
/// AVX2 is available; the payload has `FRAME_MARGIN` bytes from `start` on.
#[target_feature(enable = "avx2")]
unsafe fn record_rows(
    k: &Kernel<'_>,
    ks: &mut KernelState,
    payload: &[u8],
    start: usize,
    out: &mut [u16; FRAME_TOKENS],
    t: &mut Trace,
) -> bool {
    // SAFETY (all raw accesses): as in `avx2::Kernel::rows`.
    let frame_bytes = unsafe { payload.as_ptr().add(start) };
    let bases = avx2::context_bases(&ks.kinds);
    let m = _mm_cvtsi32_si128(k.state_mask.count_ones() as i32);
    let mask16 = _mm256_set1_epi32(0xFFFF);
    let state_mask = _mm256_set1_epi32(k.state_mask as i32);
    let escape = k.escape as i32;
    let class_field = _mm256_set1_epi32(0x03FF_0000);
    let escape_field = _mm256_set1_epi32(escape << 16);
    let fifteen = _mm256_set1_epi32(15);
    let zero = _mm256_setzero_si256();
    let mut xa = unsafe { _mm256_loadu_si256(ks.states.as_ptr() as *const __m256i) };
    let mut xb = unsafe { _mm256_loadu_si256(ks.states.as_ptr().add(8) as *const __m256i) };
    let mut pos = ks.bit % 8;
    let mut ctx_a = _mm256_add_epi32(bases[0].0, _mm256_set1_epi32(UP_NONE as i32));
    let mut ctx_b = _mm256_add_epi32(bases[0].1, _mm256_set1_epi32(UP_NONE as i32));
    let mut bad = zero;
    for r in 0..ROWS {
        t.ctx.push([ctx_a, ctx_b]);
        t.x.push([xa, xb]);
        let xma = _mm256_and_si256(xa, state_mask);
        let xmb = _mm256_and_si256(xb, state_mask);
        let (tb_a, tb_b) = match &k.map_shifted {
            None => (_mm256_sll_epi32(ctx_a, m), _mm256_sll_epi32(ctx_b, m)),
            Some(map) => unsafe {
                (_mm256_i32gather_epi32::<4>(map.as_ptr(), ctx_a), _mm256_i32gather_epi32::<4>(map.as_ptr(), ctx_b))
            },
        };
        t.tb.push([tb_a, tb_b]);
        let (e_a, e_b) = unsafe { k.entries(_mm256_add_epi32(tb_a, xma), _mm256_add_epi32(tb_b, xmb)) };
        t.e.push([e_a, e_b]);
        let next = bases[(r + 1).min(ROWS - 1)];
        t.next_base.push([next.0, next.1]);

        let em_a = _mm256_and_si256(e_a, class_field);
        let em_b = _mm256_and_si256(e_b, class_field);
        let k1_a = _mm256_cmpgt_epi32(em_a, zero);
        let k1_b = _mm256_cmpgt_epi32(em_b, zero);
        let k2_a = _mm256_cmpgt_epi32(em_a, _mm256_set1_epi32(0x0003_FFFF));
        let k2_b = _mm256_cmpgt_epi32(em_b, _mm256_set1_epi32(0x0003_FFFF));
        let esc_a = _mm256_cmpgt_epi32(em_a, _mm256_set1_epi32(((escape - 1) << 16) | 0xFFFF));
        let esc_b = _mm256_cmpgt_epi32(em_b, _mm256_set1_epi32(((escape - 1) << 16) | 0xFFFF));
        let km_a = _mm256_add_epi32(k1_a, k2_a);
        let km_b = _mm256_add_epi32(k1_b, k2_b);
        if r + 1 < ROWS {
            ctx_a = _mm256_sub_epi32(_mm256_sub_epi32(bases[r + 1].0, esc_a), km_a);
            ctx_b = _mm256_sub_epi32(_mm256_sub_epi32(bases[r + 1].1, esc_b), km_b);
        }
        let kd_a = _mm256_sub_epi32(zero, _mm256_add_epi32(km_a, esc_a));
        let kd_b = _mm256_sub_epi32(zero, _mm256_add_epi32(km_b, esc_b));
        t.kinds32.push([kd_a, kd_b]);
        let kinds = avx2::pack_bytes(kd_a, kd_b);
        unsafe { _mm_storeu_si128(ks.kinds.as_mut_ptr().add(r * COLS) as *mut __m128i, kinds) };

        let nb_a = _mm256_min_epu32(_mm256_srli_epi32::<27>(e_a), fifteen);
        let nb_b = _mm256_min_epu32(_mm256_srli_epi32::<27>(e_b), fifteen);
        let sym_a = _mm256_srli_epi32::<16>(_mm256_min_epu32(em_a, escape_field));
        let sym_b = _mm256_srli_epi32::<16>(_mm256_min_epu32(em_b, escape_field));
        let six = _mm256_set1_epi32(6);
        let escape_extra = _mm256_set1_epi32(10 - ((escape - 6) >> 1));
        let rnb_a = _mm256_add_epi32(
            _mm256_srli_epi32::<1>(_mm256_max_epi32(_mm256_sub_epi32(sym_a, six), zero)),
            _mm256_and_si256(esc_a, escape_extra),
        );
        let rnb_b = _mm256_add_epi32(
            _mm256_srli_epi32::<1>(_mm256_max_epi32(_mm256_sub_epi32(sym_b, six), zero)),
            _mm256_and_si256(esc_b, escape_extra),
        );
        let cnt_a = _mm256_add_epi32(nb_a, rnb_a);
        let cnt_b = _mm256_add_epi32(nb_b, rnb_b);
        t.cnt.push([cnt_a, cnt_b]);
        let (inc_a, inc_b) = avx2::prefix_sum16(cnt_a, cnt_b);
        let half = _mm256_extract_epi32::<7>(inc_a) as u32 as usize;
        let total = _mm256_extract_epi32::<7>(inc_b) as u32 as usize;
        let ex_a = _mm256_sub_epi32(inc_a, cnt_a);
        let ex_b = _mm256_sub_epi32(_mm256_sub_epi32(inc_b, cnt_b), _mm256_set1_epi32(half as i32));

        let pos_b = pos + half;
        let at = [(pos / 8).min(MAX_WINDOW_START), (pos_b / 8).min(MAX_WINDOW_START)];
        t.win.push(WindowIn {
            at: [start + at[0], start + at[1]],
            shift: [(pos % 8) as i32, (pos_b % 8) as i32],
            ex: [ex_a, ex_b],
            nb: [nb_a, nb_b],
            rnb: [rnb_a, rnb_b],
            e: [e_a, e_b],
        });
        let win_a = unsafe { avx2::load_window(frame_bytes.add(at[0])) };
        let off_a = _mm256_add_epi32(_mm256_set1_epi32((pos % 8) as i32), ex_a);
        let cbits_a = avx2::window_bits(win_a, off_a, nb_a);
        let raw_a = avx2::window_bits(win_a, _mm256_add_epi32(off_a, nb_a), rnb_a);
        let win_b = unsafe { avx2::load_window(frame_bytes.add(at[1])) };
        let off_b = _mm256_add_epi32(_mm256_set1_epi32((pos_b % 8) as i32), ex_b);
        let cbits_b = avx2::window_bits(win_b, off_b, nb_b);
        let raw_b = avx2::window_bits(win_b, _mm256_add_epi32(off_b, nb_b), rnb_b);
        pos += total;
        xa = _mm256_add_epi32(_mm256_and_si256(e_a, mask16), cbits_a);
        xb = _mm256_add_epi32(_mm256_and_si256(e_b, mask16), cbits_b);

        t.own.push([0, 1, 2, 3].map(|p| ks.own[p][r * COLS..r * COLS + COLS].try_into().unwrap_or([0; COLS])));
        t.sym.push([sym_a, sym_b]);
        t.raw.push([raw_a, raw_b]);
        t.esc.push([esc_a, esc_b]);
        let planes = [0, 1, 2, 3].map(|p| unsafe { ks.own[p].as_mut_ptr().add(r * COLS) as *mut __m256i });
        let l0 = unsafe { _mm256_loadu_si256(planes[0]) };
        let nt_a = unsafe {
            k.successor_or_escape(sym_a, raw_a, esc_a, _mm256_cvtepu16_epi32(_mm256_castsi256_si128(l0)), &mut bad)
        };
        let nt_b = unsafe {
            k.successor_or_escape(
                sym_b,
                raw_b,
                esc_b,
                _mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(l0)),
                &mut bad,
            )
        };
        t.nt.push([nt_a, nt_b]);
        let tokens = unsafe {
            avx2::update_own(&planes, l0, avx2::pack_words(sym_a, sym_b), avx2::pack_words(nt_a, nt_b), &mut bad)
        };
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(r * COLS) as *mut __m256i, tokens) };
    }
    unsafe {
        _mm256_storeu_si256(ks.states.as_mut_ptr() as *mut __m256i, xa);
        _mm256_storeu_si256(ks.states.as_mut_ptr().add(8) as *mut __m256i, xb);
    }
    ks.bit = (ks.bit & !7) + pos;
    _mm256_testz_si256(bad, bad) == 0
}

/// A zero vector the compiler cannot see through: `and` with it makes a dependency
/// on a value without changing the result.
#[inline]
#[target_feature(enable = "avx2")]
fn hidden_zero() -> __m256i {
    black_box(_mm256_setzero_si256())
}

/// Stage (a): `map[context] << M` (a gather from `map_shifted`, or two shifts without
/// a map). `CHAIN`: each row's contexts wait for the last row's result.
///
/// # Safety
/// AVX2; the trace's contexts are below `CONTEXTS` (they come from real decoding).
#[target_feature(enable = "avx2")]
unsafe fn map_loop<const CHAIN: bool>(k: &Kernel<'_>, t: &Trace, passes: usize) -> __m256i {
    let m = _mm_cvtsi32_si128(k.state_mask.count_ones() as i32);
    let z = hidden_zero();
    let (mut acc, mut last) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    for _ in 0..passes {
        let t = black_box(t);
        for c in &t.ctx {
            let (mut ca, mut cb) = (c[0], c[1]);
            if CHAIN {
                ca = _mm256_add_epi32(ca, _mm256_and_si256(last, z));
                cb = _mm256_add_epi32(cb, _mm256_and_si256(last, z));
            }
            let (a, b) = match &k.map_shifted {
                None => (_mm256_sll_epi32(ca, m), _mm256_sll_epi32(cb, m)),
                // SAFETY: contexts below CONTEXTS (this function's contract).
                Some(map) => unsafe {
                    (_mm256_i32gather_epi32::<4>(map.as_ptr(), ca), _mm256_i32gather_epi32::<4>(map.as_ptr(), cb))
                },
            };
            last = _mm256_or_si256(a, b);
            acc = _mm256_add_epi32(acc, _mm256_add_epi32(a, b));
        }
    }
    black_box(acc)
}

/// Stage (b): masked states plus table bases, then `Kernel::entries`. `CHAIN`:
/// each row's indices wait for the last row's entries.
///
/// # Safety
/// AVX2; the trace's table bases and states are real (so the indices are in the
/// image).
#[target_feature(enable = "avx2")]
unsafe fn entries_loop<const CHAIN: bool>(k: &Kernel<'_>, t: &Trace, passes: usize) -> __m256i {
    let state_mask = _mm256_set1_epi32(k.state_mask as i32);
    let z = hidden_zero();
    let (mut acc, mut last) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    for _ in 0..passes {
        let t = black_box(t);
        for (tb, x) in t.tb.iter().zip(&t.x) {
            let (mut xa, mut xb) = (x[0], x[1]);
            if CHAIN {
                xa = _mm256_add_epi32(xa, _mm256_and_si256(last, z));
                xb = _mm256_add_epi32(xb, _mm256_and_si256(last, z));
            }
            let idx_a = _mm256_add_epi32(tb[0], _mm256_and_si256(xa, state_mask));
            let idx_b = _mm256_add_epi32(tb[1], _mm256_and_si256(xb, state_mask));
            // SAFETY: the indices of real decoding are in the image.
            let (a, b) = unsafe { k.entries(idx_a, idx_b) };
            last = _mm256_or_si256(a, b);
            acc = _mm256_add_epi32(acc, _mm256_add_epi32(a, b));
        }
    }
    black_box(acc)
}

/// Stage (c): kinds, the next row's contexts, class and raw bit counts (the
/// arithmetic of `Kernel::rows` between the entries and the prefix sum).
///
/// # Safety
/// AVX2.
#[target_feature(enable = "avx2")]
unsafe fn kinds_loop(k: &Kernel<'_>, t: &Trace, passes: usize) -> __m256i {
    let escape = k.escape as i32;
    let class_field = _mm256_set1_epi32(0x03FF_0000);
    let escape_field = _mm256_set1_epi32(escape << 16);
    let fifteen = _mm256_set1_epi32(15);
    let zero = _mm256_setzero_si256();
    let mut acc = zero;
    for _ in 0..passes {
        let t = black_box(t);
        for (e, base) in t.e.iter().zip(&t.next_base) {
            let mut sums = zero;
            for h in 0..2 {
                let em = _mm256_and_si256(e[h], class_field);
                let k1 = _mm256_cmpgt_epi32(em, zero);
                let k2 = _mm256_cmpgt_epi32(em, _mm256_set1_epi32(0x0003_FFFF));
                let esc = _mm256_cmpgt_epi32(em, _mm256_set1_epi32(((escape - 1) << 16) | 0xFFFF));
                let km = _mm256_add_epi32(k1, k2);
                let ctx = _mm256_sub_epi32(_mm256_sub_epi32(base[h], esc), km);
                let kd = _mm256_sub_epi32(zero, _mm256_add_epi32(km, esc));
                let nb = _mm256_min_epu32(_mm256_srli_epi32::<27>(e[h]), fifteen);
                let sym = _mm256_srli_epi32::<16>(_mm256_min_epu32(em, escape_field));
                let rnb = _mm256_add_epi32(
                    _mm256_srli_epi32::<1>(_mm256_max_epi32(_mm256_sub_epi32(sym, _mm256_set1_epi32(6)), zero)),
                    _mm256_and_si256(esc, _mm256_set1_epi32(10 - ((escape - 6) >> 1))),
                );
                let cnt = _mm256_add_epi32(nb, rnb);
                sums = _mm256_add_epi32(
                    sums,
                    _mm256_add_epi32(_mm256_add_epi32(ctx, kd), _mm256_add_epi32(_mm256_add_epi32(sym, rnb), cnt)),
                );
            }
            acc = _mm256_xor_si256(acc, sums);
        }
    }
    black_box(acc)
}

/// Stage (d): `prefix_sum16`, the two extracted totals, the exclusive offsets and
/// the bit position. `CHAIN`: each row's counts wait for the last row's sums.
///
/// # Safety
/// AVX2.
#[target_feature(enable = "avx2")]
unsafe fn prefix_loop<const CHAIN: bool>(t: &Trace, passes: usize) -> __m256i {
    let z = hidden_zero();
    let (mut acc, mut last) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    let mut pos = 0usize;
    for _ in 0..passes {
        let t = black_box(t);
        for c in &t.cnt {
            let (mut ca, mut cb) = (c[0], c[1]);
            if CHAIN {
                ca = _mm256_add_epi32(ca, _mm256_and_si256(last, z));
                cb = _mm256_add_epi32(cb, _mm256_and_si256(last, z));
            }
            let (inc_a, inc_b) = avx2::prefix_sum16(ca, cb);
            let half = _mm256_extract_epi32::<7>(inc_a) as u32 as usize;
            let total = _mm256_extract_epi32::<7>(inc_b) as u32 as usize;
            let ex_a = _mm256_sub_epi32(inc_a, ca);
            let ex_b = _mm256_sub_epi32(_mm256_sub_epi32(inc_b, cb), _mm256_set1_epi32(half as i32));
            pos += total;
            last = _mm256_or_si256(ex_a, ex_b);
            acc = _mm256_add_epi32(acc, _mm256_add_epi32(ex_a, ex_b));
        }
    }
    black_box(pos);
    black_box(acc)
}

/// Stage (e): the two windows (`load_window`), four `window_bits`, the new states.
/// `CHAIN`: each row's offsets wait for the last row's bits.
///
/// # Safety
/// AVX2; the trace's window starts come from decoding `payload` (32 bytes readable
/// from each).
#[target_feature(enable = "avx2")]
unsafe fn window_loop<const CHAIN: bool>(t: &Trace, payload: &[u8], passes: usize) -> __m256i {
    let mask16 = _mm256_set1_epi32(0xFFFF);
    let z = hidden_zero();
    let (mut acc, mut last) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    for _ in 0..passes {
        let t = black_box(t);
        for w in &t.win {
            let mut sums = _mm256_setzero_si256();
            for h in 0..2 {
                // SAFETY: a recorded window start (this function's contract).
                let win = unsafe { avx2::load_window(payload.as_ptr().add(w.at[h])) };
                let mut off = _mm256_add_epi32(_mm256_set1_epi32(w.shift[h]), w.ex[h]);
                if CHAIN {
                    off = _mm256_add_epi32(off, _mm256_and_si256(last, z));
                }
                let cbits = avx2::window_bits(win, off, w.nb[h]);
                let raw = avx2::window_bits(win, _mm256_add_epi32(off, w.nb[h]), w.rnb[h]);
                let x = _mm256_add_epi32(_mm256_and_si256(w.e[h], mask16), cbits);
                sums = _mm256_add_epi32(sums, _mm256_add_epi32(x, raw));
            }
            last = sums;
            acc = _mm256_xor_si256(acc, sums);
        }
    }
    black_box(acc)
}

/// Stage (f): `Kernel::successor_or_escape` for both halves, with each lane's own
/// list front from plane 0.
///
/// # Safety
/// AVX2.
#[target_feature(enable = "avx2")]
unsafe fn successor_loop(k: &Kernel<'_>, t: &Trace, passes: usize) -> __m256i {
    let mut acc = _mm256_setzero_si256();
    let mut bad = _mm256_setzero_si256();
    for _ in 0..passes {
        let t = black_box(t);
        for i in 0..t.sym.len() {
            // SAFETY: 32 bytes of a [[u16; 16]; 4].
            let l0 = unsafe { _mm256_loadu_si256(t.own[i][0].as_ptr() as *const __m256i) };
            let (sym, raw, esc) = (t.sym[i], t.raw[i], t.esc[i]);
            // SAFETY: AVX2 (this function's contract).
            let (a, b) = unsafe {
                (
                    k.successor_or_escape(
                        sym[0],
                        raw[0],
                        esc[0],
                        _mm256_cvtepu16_epi32(_mm256_castsi256_si128(l0)),
                        &mut bad,
                    ),
                    k.successor_or_escape(
                        sym[1],
                        raw[1],
                        esc[1],
                        _mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(l0)),
                        &mut bad,
                    ),
                )
            };
            acc = _mm256_add_epi32(acc, _mm256_add_epi32(a, b));
        }
    }
    black_box(bad);
    black_box(acc)
}

/// Stage (g): the kinds packed and stored (`pack_bytes`), symbols and tokens packed
/// (`pack_words`), `update_own` on a copy of the row's planes, the tokens stored.
///
/// # Safety
/// AVX2; `own` has as many rows as the trace.
#[target_feature(enable = "avx2")]
unsafe fn own_loop(
    t: &Trace,
    own: &mut [[[u16; COLS]; 4]],
    out: &mut [u16; FRAME_TOKENS],
    kinds: &mut [u8; FRAME_TOKENS],
    passes: usize,
) -> __m256i {
    let mut bad = _mm256_setzero_si256();
    for _ in 0..passes {
        let t = black_box(t);
        for (i, planes) in own.iter_mut().enumerate().take(t.sym.len()) {
            let r = i % ROWS;
            let (sym, nt, kd) = (t.sym[i], t.nt[i], t.kinds32[i]);
            // SAFETY: 16 bytes at r * 16 < 128 of `kinds`, 32 at r * 16 of `out`,
            // and each plane is 16 u16.
            unsafe {
                _mm_storeu_si128(kinds.as_mut_ptr().add(r * COLS) as *mut __m128i, avx2::pack_bytes(kd[0], kd[1]));
                let planes = [0, 1, 2, 3].map(|p| planes[p].as_mut_ptr() as *mut __m256i);
                let l0 = _mm256_loadu_si256(planes[0]);
                let tokens = avx2::update_own(
                    &planes,
                    l0,
                    avx2::pack_words(sym[0], sym[1]),
                    avx2::pack_words(nt[0], nt[1]),
                    &mut bad,
                );
                _mm256_storeu_si256(out.as_mut_ptr().add(r * COLS) as *mut __m256i, tokens);
            }
        }
        black_box(&mut *out);
        black_box(&mut *kinds);
    }
    black_box(bad)
}

/// Stage (h1): `context_bases` of every kernel frame's kinds (rows per frame: 8).
///
/// # Safety
/// AVX2.
#[target_feature(enable = "avx2")]
unsafe fn bases_loop(t: &Trace, passes: usize) -> __m256i {
    let mut acc = _mm256_setzero_si256();
    for _ in 0..passes {
        let t = black_box(t);
        for kinds in &t.kinds[1..] {
            let bases = avx2::context_bases(kinds);
            for (a, b) in bases {
                acc = _mm256_add_epi32(acc, _mm256_add_epi32(a, b));
            }
        }
    }
    black_box(acc)
}

/// The AVX-512 kernel's recording copy of its row loop and its stage loops (the
/// counterparts of the AVX2 ones above).
mod wide {
    use alloc::vec::Vec;
    use core::arch::x86_64::*;
    use core::hint::black_box;

    use super::super::avx512::{self, Kernel, FRAME_MARGIN};
    use super::super::state::{FrameResult, KernelState};
    use crate::container::{Header, COLS, FRAME_TOKENS, GROUP_CHECK_BITS, ROWS};
    use crate::groups::GroupCheck;
    use crate::model::context::contexts::UP_NONE;
    use crate::tans::bits::BitReader;
    use crate::{Error, Result};

    /// The kernel's per-class tables and context map, in registers.
    #[derive(Clone, Copy)]
    struct Regs {
        kind: (__m512i, __m512i),
        raw_bits: (__m512i, __m512i),
        raw_mask: (__m512i, __m512i),
        edge: (__m512i, __m512i),
        map: Option<(__m512i, __m512i)>,
    }

    impl Regs {
        /// Loads the kernel's tables as `Kernel::rows` does.
        ///
        /// # Safety
        /// AVX-512 F.
        #[target_feature(enable = "avx512f")]
        unsafe fn new(k: &Kernel<'_>) -> Self {
            // SAFETY: each table has 32 u32 (two 64-byte loads); the map 128 bytes.
            let table = |t: &[u32; 32]| unsafe {
                (_mm512_loadu_si512(t.as_ptr() as *const _), _mm512_loadu_si512(t.as_ptr().add(16) as *const _))
            };
            let map = k.map.as_ref().map(|map| unsafe {
                (_mm512_loadu_si512(map.as_ptr() as *const _), _mm512_loadu_si512(map.as_ptr().add(64) as *const _))
            });
            Regs {
                kind: table(&k.kind),
                raw_bits: table(&k.raw_bits),
                raw_mask: table(&k.raw_mask),
                edge: table(&k.edge),
                map,
            }
        }

        /// Stage (a): the table of each lane's context (the map's byte, or the
        /// context itself), shifted left by `m`.
        ///
        /// # Safety
        /// AVX-512 F, BW, VBMI.
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
        unsafe fn table_shifted(&self, ctx: __m512i, m: __m128i) -> __m512i {
            let t = match self.map {
                None => ctx,
                Some((lo, hi)) => _mm512_and_si512(_mm512_permutex2var_epi8(lo, ctx, hi), _mm512_set1_epi32(0xFF)),
            };
            _mm512_sll_epi32(t, m)
        }
    }

    /// The inputs of the bit-window stage for one row.
    #[derive(Clone, Copy)]
    pub(super) struct WindowIn {
        /// Payload byte of the frame's first byte.
        start: usize,
        /// Bit position relative to it.
        pos: usize,
        /// Each lane's bit offset within the window (exclusive prefix sums plus
        /// `pos % 8`).
        off: __m512i,
        nb: __m512i,
        sym: __m512i,
        /// The entries (the new states' bases).
        e: __m512i,
    }

    /// Per kernel frame (frame 0 included).
    pub(super) struct Frames {
        /// Kinds of the last frame, at the frame's start.
        pub(super) kinds: Vec<[u8; FRAME_TOKENS]>,
        /// Bit position at the frame's start.
        pub(super) start_bit: Vec<usize>,
        /// `then_bits` of the frame.
        pub(super) then_bits: Vec<usize>,
        /// Where the group checksum after the frame is (if the frame ends a group).
        pub(super) check_bit: Vec<usize>,
        /// The decoded tokens.
        pub(super) tokens: Vec<u16>,
    }

    /// Every stage's inputs, row by row, from decoding a stream's kernel frames.
    pub(super) struct Trace {
        ctx: Vec<__m512i>,
        /// The states before the row.
        x: Vec<__m512i>,
        /// Stage (a)'s output: `table << M`.
        tb: Vec<__m512i>,
        pub(super) e: Vec<__m512i>,
        /// The next row's context bases.
        next_base: Vec<__m512i>,
        cnt: Vec<__m512i>,
        win: Vec<WindowIn>,
        sym: Vec<__m512i>,
        kinds: Vec<__m512i>,
        raw: Vec<__m512i>,
        /// The row's own-list planes before the row.
        pub(super) own: Vec<[[u16; COLS]; 4]>,
        /// Successor and escape tokens (stage (f)'s output).
        nt: Vec<__m512i>,
        pub(super) frames: Frames,
    }

    impl Trace {
        /// Keeps the first `n` rows of the per-row inputs (the per-frame ones all).
        pub(super) fn truncate_rows(&mut self, n: usize) {
            self.ctx.truncate(n);
            self.x.truncate(n);
            self.tb.truncate(n);
            self.e.truncate(n);
            self.next_base.truncate(n);
            self.cnt.truncate(n);
            self.win.truncate(n);
            self.sym.truncate(n);
            self.kinds.truncate(n);
            self.raw.truncate(n);
            self.own.truncate(n);
            self.nt.truncate(n);
        }
    }

    /// Decodes the kernel frames of a stream (as `decode_into_kernel` does) with
    /// [`record_rows`], recording every stage's inputs.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW, VL, VBMI and AVX2.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    pub(super) unsafe fn record(
        kernel: &Kernel<'_>,
        header: &Header,
        payload: &[u8],
        states: &[u32],
        bit: usize,
    ) -> Result<Trace> {
        let mut t = Trace {
            ctx: Vec::new(),
            x: Vec::new(),
            tb: Vec::new(),
            e: Vec::new(),
            next_base: Vec::new(),
            cnt: Vec::new(),
            win: Vec::new(),
            sym: Vec::new(),
            kinds: Vec::new(),
            raw: Vec::new(),
            own: Vec::new(),
            nt: Vec::new(),
            frames: Frames {
                kinds: Vec::new(),
                start_bit: Vec::new(),
                then_bits: Vec::new(),
                check_bit: Vec::new(),
                tokens: Vec::new(),
            },
        };
        let mut ks = KernelState::new(states, bit);
        let mut check = GroupCheck::new(header);
        let mut frame = [0u16; FRAME_TOKENS];
        for f in 0..header.frames as usize {
            let then_bits = if check.next_ends_group() { GROUP_CHECK_BITS as usize } else { 0 };
            let (kinds, start_bit) = (ks.kinds, ks.bit);
            match ks.before_rows(payload, &mut frame, f == 0, then_bits, FRAME_MARGIN) {
                Err(FrameResult::Done) => {}
                Err(_) => break,
                // SAFETY: the CPU's features (this function's contract);
                // `before_rows` checked that the payload has FRAME_MARGIN bytes
                // from `start` on.
                Ok(start) => {
                    if unsafe { record_rows(kernel, &mut ks, payload, start, &mut frame, &mut t) } {
                        return Err(Error::ModelCorrupt);
                    }
                }
            }
            let fr = &mut t.frames;
            fr.kinds.push(kinds);
            fr.start_bit.push(start_bit);
            fr.then_bits.push(then_bits);
            fr.check_bit.push(ks.bit);
            check.frame_done(&frame, || {
                let mut reader = BitReader::at_bit(payload, ks.bit);
                let value = reader.read(16) | reader.read(16) << 16;
                ks.bit += GROUP_CHECK_BITS as usize;
                Ok(value)
            })?;
            fr.tokens.extend_from_slice(&frame);
        }
        Ok(t)
    }

    /// A copy of `avx512::Kernel::rows` (one chain) that records each stage's
    /// inputs in `t`. Returns true if a symbol could not be resolved.
    ///
    /// # Safety
    /// The CPU's features as for [`record`]; the payload has `FRAME_MARGIN` bytes
    /// from `start` on.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    unsafe fn record_rows(
        k: &Kernel<'_>,
        ks: &mut KernelState,
        payload: &[u8],
        start: usize,
        out: &mut [u16; FRAME_TOKENS],
        t: &mut Trace,
    ) -> bool {
        // SAFETY (all raw accesses): as in `avx512::Kernel::rows`.
        let bytes = unsafe { payload.as_ptr().add(start) };
        let regs = unsafe { Regs::new(k) };
        let m = _mm_cvtsi32_si128(k.state_mask.count_ones() as i32);
        let state_mask = _mm512_set1_epi32(k.state_mask as i32);
        let base_field = _mm512_set1_epi32(0xFFFF);
        let class_field = _mm512_set1_epi32(0x03FF_0000);
        let escape_field = _mm512_set1_epi32((k.escape << 16) as i32);
        let escape = _mm512_set1_epi32(k.escape as i32);
        let fifteen = _mm512_set1_epi32(15);
        let zero = _mm512_setzero_si512();
        let bases = unsafe { super::super::avx512::context_bases(&ks.kinds) };
        let mut x = unsafe { _mm512_loadu_si512(ks.states.as_ptr() as *const _) };
        let mut pos = ks.bit % 8;
        let mut ctx = _mm512_add_epi32(bases[0], _mm512_set1_epi32(UP_NONE as i32));
        let mut bad: __mmask16 = 0;
        for r in 0..ROWS {
            t.ctx.push(ctx);
            t.x.push(x);
            let tb = unsafe { regs.table_shifted(ctx, m) };
            t.tb.push(tb);
            let e = unsafe { k.entries(_mm512_add_epi32(tb, _mm512_and_si512(x, state_mask))) };
            t.e.push(e);
            t.next_base.push(bases[(r + 1).min(ROWS - 1)]);

            let sym = _mm512_srli_epi32::<16>(_mm512_min_epu32(_mm512_and_si512(e, class_field), escape_field));
            let kinds = _mm512_permutex2var_epi32(regs.kind.0, sym, regs.kind.1);
            if r + 1 < ROWS {
                ctx = _mm512_add_epi32(bases[r + 1], kinds);
            }
            unsafe {
                _mm_storeu_si128(ks.kinds.as_mut_ptr().add(r * COLS) as *mut __m128i, _mm512_cvtepi32_epi8(kinds))
            };

            let nb = _mm512_min_epu32(_mm512_srli_epi32::<27>(e), fifteen);
            let rnb = _mm512_permutex2var_epi32(regs.raw_bits.0, sym, regs.raw_bits.1);
            let cnt = _mm512_add_epi32(nb, rnb);
            t.cnt.push(cnt);
            let inc = unsafe { avx512::prefix_sum16(cnt, zero) };
            let total = _mm_extract_epi32::<3>(_mm512_extracti32x4_epi32::<3>(inc)) as u32 as usize;
            let off = _mm512_add_epi32(_mm512_sub_epi32(inc, cnt), _mm512_set1_epi32((pos % 8) as i32));

            t.win.push(WindowIn { start, pos, off, nb, sym, e });
            let (cbits, raw) = unsafe { avx512::window_bits(bytes, pos, off, nb, sym, regs.raw_mask) };
            pos += total;
            x = _mm512_add_epi32(_mm512_and_si512(e, base_field), cbits);

            t.own.push([0, 1, 2, 3].map(|p| ks.own[p][r * COLS..r * COLS + COLS].try_into().unwrap_or([0; COLS])));
            let planes = [0, 1, 2, 3].map(|p| unsafe { ks.own[p].as_mut_ptr().add(r * COLS) as *mut __m256i });
            let l0 = unsafe { _mm256_loadu_si256(planes[0]) };
            let esc = _mm512_cmpeq_epi32_mask(sym, escape);
            let is_bucket = _mm512_cmpeq_epi32_mask(kinds, _mm512_set1_epi32(2));
            let edge = _mm512_permutex2var_epi32(regs.edge.0, sym, regs.edge.1);
            let nt = unsafe { k.successor_or_escape(edge, raw, esc, is_bucket, _mm512_cvtepu16_epi32(l0), &mut bad) };
            t.sym.push(sym);
            t.kinds.push(kinds);
            t.raw.push(raw);
            t.nt.push(nt);
            let tokens = unsafe { avx512::update_own(&planes, l0, sym, _mm512_cvtepi32_epi16(nt), &mut bad) };
            unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(r * COLS) as *mut __m256i, tokens) };
        }
        unsafe { _mm512_storeu_si512(ks.states.as_mut_ptr() as *mut _, x) };
        ks.bit = (ks.bit & !7) + pos;
        bad != 0
    }

    /// A zero vector the compiler cannot see through.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn hidden_zero() -> __m512i {
        black_box(_mm512_setzero_si512())
    }

    /// Stage (a): the map lookup (`vpermi2b`, or nothing with the identity map)
    /// and the shift by `M`. `CHAIN`: each row's contexts wait for the last row's
    /// result.
    ///
    /// # Safety
    /// The kernel's CPU features.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    pub(super) unsafe fn map_loop<const CHAIN: bool>(k: &Kernel<'_>, t: &Trace, passes: usize) -> __m512i {
        // SAFETY: the kernel's CPU features (this function's contract).
        let regs = unsafe { Regs::new(k) };
        let m = _mm_cvtsi32_si128(k.state_mask.count_ones() as i32);
        let z = hidden_zero();
        let (mut acc, mut last) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        for _ in 0..passes {
            let t = black_box(t);
            for &c in &t.ctx {
                let c = if CHAIN { _mm512_add_epi32(c, _mm512_and_si512(last, z)) } else { c };
                // SAFETY: as above.
                last = unsafe { regs.table_shifted(c, m) };
                acc = _mm512_add_epi32(acc, last);
            }
        }
        black_box(acc)
    }

    /// Stage (b): masked states plus table bases, then `Kernel::entries` (one
    /// 16-lane gather). `CHAIN`: each row's indices wait for the last row's entries.
    ///
    /// # Safety
    /// The kernel's CPU features; the trace's table bases and states are real (so
    /// the indices are in the image).
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    pub(super) unsafe fn entries_loop<const CHAIN: bool>(k: &Kernel<'_>, t: &Trace, passes: usize) -> __m512i {
        let state_mask = _mm512_set1_epi32(k.state_mask as i32);
        let z = hidden_zero();
        let (mut acc, mut last) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        for _ in 0..passes {
            let t = black_box(t);
            for (&tb, &x) in t.tb.iter().zip(&t.x) {
                let x = if CHAIN { _mm512_add_epi32(x, _mm512_and_si512(last, z)) } else { x };
                // SAFETY: the indices of real decoding are in the image.
                last = unsafe { k.entries(_mm512_add_epi32(tb, _mm512_and_si512(x, state_mask))) };
                acc = _mm512_add_epi32(acc, last);
            }
        }
        black_box(acc)
    }

    /// Stage (c): class symbols, kinds (`vpermt2d`), the next row's contexts, class
    /// and raw bit counts (`vpermt2d`): the arithmetic of `Kernel::rows` between
    /// the entries and the prefix sum.
    ///
    /// # Safety
    /// The kernel's CPU features.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    pub(super) unsafe fn kinds_loop(k: &Kernel<'_>, t: &Trace, passes: usize) -> __m512i {
        // SAFETY: the kernel's CPU features (this function's contract).
        let regs = unsafe { Regs::new(k) };
        let class_field = _mm512_set1_epi32(0x03FF_0000);
        let escape_field = _mm512_set1_epi32((k.escape << 16) as i32);
        let fifteen = _mm512_set1_epi32(15);
        let mut acc = _mm512_setzero_si512();
        for _ in 0..passes {
            let t = black_box(t);
            for (&e, &base) in t.e.iter().zip(&t.next_base) {
                let sym = _mm512_srli_epi32::<16>(_mm512_min_epu32(_mm512_and_si512(e, class_field), escape_field));
                let kinds = _mm512_permutex2var_epi32(regs.kind.0, sym, regs.kind.1);
                let ctx = _mm512_add_epi32(base, kinds);
                let nb = _mm512_min_epu32(_mm512_srli_epi32::<27>(e), fifteen);
                let rnb = _mm512_permutex2var_epi32(regs.raw_bits.0, sym, regs.raw_bits.1);
                let cnt = _mm512_add_epi32(nb, rnb);
                acc = _mm512_xor_si512(acc, _mm512_add_epi32(_mm512_add_epi32(ctx, sym), cnt));
            }
        }
        black_box(acc)
    }

    /// Stage (d): `prefix_sum16`, the extracted total, the lane offsets and the bit
    /// position. `CHAIN`: each row's counts wait for the last row's offsets.
    ///
    /// # Safety
    /// AVX-512 F.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    pub(super) unsafe fn prefix_loop<const CHAIN: bool>(t: &Trace, passes: usize) -> __m512i {
        let z = hidden_zero();
        let zero = _mm512_setzero_si512();
        let (mut acc, mut last) = (zero, zero);
        let mut pos = 0usize;
        for _ in 0..passes {
            let t = black_box(t);
            for &c in &t.cnt {
                let c = if CHAIN { _mm512_add_epi32(c, _mm512_and_si512(last, z)) } else { c };
                // SAFETY: AVX-512 F (this function's contract).
                let inc = unsafe { avx512::prefix_sum16(c, zero) };
                let total = _mm_extract_epi32::<3>(_mm512_extracti32x4_epi32::<3>(inc)) as u32 as usize;
                last = _mm512_add_epi32(_mm512_sub_epi32(inc, c), _mm512_set1_epi32((pos % 8) as i32));
                pos += total;
                acc = _mm512_add_epi32(acc, last);
            }
        }
        black_box(pos);
        black_box(acc)
    }

    /// Stage (e): `avx512::window_bits` (one 64-byte load, one `vpermb`, shifts and
    /// masks, the raw-mask lookup) and the new states. `CHAIN`: each row's offsets
    /// wait for the last row's bits.
    ///
    /// # Safety
    /// The kernel's CPU features; the trace's frame starts come from decoding
    /// `payload` (FRAME_MARGIN bytes readable from each).
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    pub(super) unsafe fn window_loop<const CHAIN: bool>(
        k: &Kernel<'_>,
        t: &Trace,
        payload: &[u8],
        passes: usize,
    ) -> __m512i {
        // SAFETY: the kernel's CPU features (this function's contract).
        let regs = unsafe { Regs::new(k) };
        let base_field = _mm512_set1_epi32(0xFFFF);
        let z = hidden_zero();
        let (mut acc, mut last) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        for _ in 0..passes {
            let t = black_box(t);
            for w in &t.win {
                let off = if CHAIN { _mm512_add_epi32(w.off, _mm512_and_si512(last, z)) } else { w.off };
                // SAFETY: a recorded frame start with FRAME_MARGIN bytes (this
                // function's contract).
                let (cbits, raw) = unsafe {
                    avx512::window_bits(payload.as_ptr().add(w.start), w.pos, off, w.nb, w.sym, regs.raw_mask)
                };
                let x = _mm512_add_epi32(_mm512_and_si512(w.e, base_field), cbits);
                last = _mm512_add_epi32(x, raw);
                acc = _mm512_xor_si512(acc, last);
            }
        }
        black_box(acc)
    }

    /// Stage (f): the escape and bucket masks, the bucket edges (`vpermt2d`) and
    /// `Kernel::successor_or_escape` (one masked 16-lane gather), with each lane's
    /// own list front from plane 0.
    ///
    /// # Safety
    /// The kernel's CPU features.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    pub(super) unsafe fn successor_loop(k: &Kernel<'_>, t: &Trace, passes: usize) -> __m512i {
        // SAFETY: the kernel's CPU features (this function's contract).
        let regs = unsafe { Regs::new(k) };
        let escape = _mm512_set1_epi32(k.escape as i32);
        let two = _mm512_set1_epi32(2);
        let mut acc = _mm512_setzero_si512();
        let mut bad: __mmask16 = 0;
        for _ in 0..passes {
            let t = black_box(t);
            for i in 0..t.sym.len() {
                // SAFETY: 32 bytes of a [[u16; 16]; 4].
                let l0 = unsafe { _mm256_loadu_si256(t.own[i][0].as_ptr() as *const __m256i) };
                let (sym, kinds) = (t.sym[i], t.kinds[i]);
                let esc = _mm512_cmpeq_epi32_mask(sym, escape);
                let is_bucket = _mm512_cmpeq_epi32_mask(kinds, two);
                let edge = _mm512_permutex2var_epi32(regs.edge.0, sym, regs.edge.1);
                // SAFETY: the kernel's CPU features.
                let nt = unsafe {
                    k.successor_or_escape(edge, t.raw[i], esc, is_bucket, _mm512_cvtepu16_epi32(l0), &mut bad)
                };
                acc = _mm512_add_epi32(acc, nt);
            }
        }
        black_box(bad);
        black_box(acc)
    }

    /// Stage (g): the kinds narrowed and stored (`vpmovdb`), `update_own` on a copy
    /// of the row's planes with the successor tokens narrowed (`vpmovdw`), the
    /// tokens stored.
    ///
    /// # Safety
    /// The kernel's CPU features; `own` has as many rows as the trace.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    pub(super) unsafe fn own_loop(
        t: &Trace,
        own: &mut [[[u16; COLS]; 4]],
        out: &mut [u16; FRAME_TOKENS],
        kinds: &mut [u8; FRAME_TOKENS],
        passes: usize,
    ) -> __mmask16 {
        let mut bad: __mmask16 = 0;
        for _ in 0..passes {
            let t = black_box(t);
            for (i, planes) in own.iter_mut().enumerate().take(t.sym.len()) {
                let r = i % ROWS;
                // SAFETY: 16 bytes at r * 16 < 128 of `kinds`, 32 at r * 16 of
                // `out`, and each plane is 16 u16.
                unsafe {
                    _mm_storeu_si128(
                        kinds.as_mut_ptr().add(r * COLS) as *mut __m128i,
                        _mm512_cvtepi32_epi8(t.kinds[i]),
                    );
                    let planes = [0, 1, 2, 3].map(|p| planes[p].as_mut_ptr() as *mut __m256i);
                    let l0 = _mm256_loadu_si256(planes[0]);
                    let tokens = avx512::update_own(&planes, l0, t.sym[i], _mm512_cvtepi32_epi16(t.nt[i]), &mut bad);
                    _mm256_storeu_si256(out.as_mut_ptr().add(r * COLS) as *mut __m256i, tokens);
                }
            }
            black_box(&mut *out);
            black_box(&mut *kinds);
        }
        black_box(bad)
    }

    /// Stage (h1): `context_base_bytes` of every kernel frame's kinds widened to
    /// 32-bit lanes (`vpmovzxbd`), as `Kernel::rows` does (rows per frame: 8).
    ///
    /// # Safety
    /// The kernel's CPU features.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2")]
    pub(super) unsafe fn bases_loop(t: &Trace, passes: usize) -> __m512i {
        let mut acc = _mm512_setzero_si512();
        for _ in 0..passes {
            let t = black_box(t);
            for kinds in &t.frames.kinds[1..] {
                // SAFETY: AVX2 (this function's contract).
                let bases = unsafe { super::super::avx512::context_bases(kinds) };
                for b in bases {
                    acc = _mm512_add_epi32(acc, b);
                }
            }
        }
        black_box(acc)
    }
}

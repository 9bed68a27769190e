//! Decoding the segments in flash: place the tables (copied to RAM where the
//! build reserved room, `resident`), load and check them, stream every frame
//! out of the UART, then measure the decoder (instructions per token, a
//! per-phase breakdown and a PC-sampling profile) and its RAM.
//!
//! Nothing here uses a heap. The decoder state ([`SegmentDecoder`]) and the
//! frame buffers are locals of [`stream_out`]; its stack high-water mark is
//! the decoder's RAM.

use core::hint::black_box;
use core::mem::size_of;

use embedded_io::Write;
use vqtans::container::{Check, Header, Sections, TokenChecksum, FRAME_TOKENS};
use vqtans::model::context::contexts::KindPlanes;
use vqtans::model::Model;
use vqtans::segment::SegmentDecoder;
use vqtans::table_set::TableSetRef;
use vqtans::tans::decode_table::DecodeTables;
use vqtans::tans::decoder::TansDecoder;

use crate::boards::BOARD;
use crate::checks::{self, Broken, MAX_INSTRUCTIONS_PER_TOKEN_X100};
use crate::measure::{Calibration, Clock, Ticks};
use crate::resident::{Place, Resident};
use crate::segments::{image_words, Segment};
use crate::{memory, uart};

/// Most RAM the decoder may use (state, buffers and stack), in bytes.
pub const RAM_BUDGET: usize = BOARD.decode_ram_budget;
/// SysTick period while profiling: one sample per 13 * 40 = 520 instructions.
#[cfg(all(board = "mps2-an386", feature = "profile"))]
const PROFILE_PERIOD_TICKS: u32 = 13;

/// Why a segment failed.
#[derive(defmt::Format)]
pub enum Failure {
    /// The table-set blob did not load.
    Tables(#[defmt(Display2Format)] vqtans::Error),
    /// The compiled image is not 4-byte aligned or not whole words.
    ImageLayout,
    /// The compiled image does not match the table set.
    Image(#[defmt(Display2Format)] vqtans::Error),
    /// Decoding failed; `frame` frames had been decoded (and sent) before.
    Decode {
        frame: u32,
        #[defmt(Display2Format)]
        error: vqtans::Error,
    },
    /// The UART reported an error.
    Uart(uart::Error),
    /// The decoder used more RAM than [`RAM_BUDGET`].
    RamBudget { bytes: usize },
    /// A check of `checks` failed.
    Check(Broken),
}

/// Buffers of the streaming loop: one decoded frame and its bytes.
const FRAME_BUFFERS: usize = 2 * FRAME_TOKENS * size_of::<u16>();

/// Decodes `seg` (its tables placed by `resident`), sends its tokens out of
/// `uart` (each as `u16` LE, frame by frame) and logs the measurements.
/// Returns the number of tokens sent.
///
/// Not inlined: its locals stay out of `main`'s frame, which exists
/// before the stack is painted (and on the microbit every byte counts).
#[inline(never)]
pub fn run(
    seg: &Segment,
    resident: &mut Resident,
    uart: &mut uart::Uart,
    clock: &mut Clock,
    cal: &Calibration,
) -> Result<u64, Failure> {
    let name = seg.name;
    defmt::info!(
        "segment {=str}: tables {=usize} B, image {=usize} B, stream {=usize} B in flash",
        name,
        seg.tables.len(),
        seg.image.len(),
        seg.stream.len()
    );
    let (placed, copy_ticks) = clock.measure(|| resident.place(seg.tables, seg.image));
    match placed.place {
        Place::Ram => defmt::info!(
            "segment {=str}: tables in RAM: table set and image copied from flash in {=u64} instructions \
             (RAM for tables {=usize} B): every decode read of tables goes to RAM",
            name,
            cal.instructions_for(copy_ticks),
            Resident::capacity()
        ),
        Place::Flash => defmt::info!(
            "segment {=str}: tables in flash: the {=str} has {=usize} B of RAM for tables",
            name,
            BOARD.name,
            Resident::capacity()
        ),
    }

    // Tables: validate the postcard blob, then check the compiled image
    // against it (entry by entry).
    let ((set, load_ticks), load_stack) =
        memory::measure_stack(|| clock.measure(|| TableSetRef::from_bytes(placed.tables)));
    let set = set.map_err(Failure::Tables)?;
    let words = image_words(placed.image).ok_or(Failure::ImageLayout)?;
    let ((tables, verify_ticks), verify_stack) = memory::measure_stack(|| clock.measure(|| set.verify_compiled(words)));
    let tables = tables.map_err(Failure::Image)?;
    defmt::info!(
        "segment {=str}: table set {=u64:016x} ({=usize} tables) loaded in {=u64} instructions ({=usize} B stack), \
         compiled image verified in {=u64} instructions ({=usize} B stack)",
        name,
        set.id(),
        set.len(),
        cal.instructions_for(load_ticks),
        load_stack,
        cal.instructions_for(verify_ticks),
        verify_stack
    );

    // The real run: frame by frame into a bounded buffer, out of the UART.
    let kernel = checks::kernel_applies(&set);
    let (streamed, stream_stack) = memory::measure_stack(|| stream_out(seg.stream, &set, tables, kernel, uart, clock));
    let stats = streamed?;
    let tokens = u64::from(stats.frames) * FRAME_TOKENS as u64;
    defmt::info!(
        "segment {=str}: decoded and sent {=u32} frames ({=u64} tokens); checksum and end of stream verified",
        name,
        stats.frames,
        tokens
    );
    defmt::info!(
        "segment {=str}: streaming: decode {=u64} instructions ({}/token), UART {=u64} instructions ({}/token)",
        name,
        cal.instructions_for(stats.decode_ticks),
        Per(cal.instructions_for(stats.decode_ticks), tokens),
        cal.instructions_for(stats.uart_ticks),
        Per(cal.instructions_for(stats.uart_ticks), tokens),
    );

    // RAM: the decoder state and buffers are locals of `stream_out`, so its
    // stack peak is the decoder's whole RAM use (nothing static).
    let decoder_bytes = size_of::<SegmentDecoder<'static, 'static>>();
    let ram = stream_stack.max(verify_stack).max(load_stack);
    defmt::info!(
        "segment {=str}: RAM: size_of SegmentDecoder {=usize} B + frame buffers {=usize} B, \
         stack peak during decode {=usize} B (includes both), table load/verify peak {=usize} B",
        name,
        decoder_bytes,
        FRAME_BUFFERS,
        stream_stack,
        verify_stack.max(load_stack)
    );
    if ram > RAM_BUDGET {
        return Err(Failure::RamBudget { bytes: ram });
    }
    defmt::info!("segment {=str}: decoder RAM {=usize} B, budget {=usize} B: ok", name, ram, RAM_BUDGET);

    // Instructions per token of the decoder alone (no UART, no per-frame
    // timestamps): one interval around a whole decode.
    let (decoded, ticks) = clock.measure(|| decode_only(seg.stream, &set, tables, false));
    let (frames, kernel_frames, raw) = decoded.map_err(|error| Failure::Decode { frame: 0, error })?;
    let tokens = u64::from(frames) * FRAME_TOKENS as u64;
    let instructions = cal.instructions_for(ticks);
    defmt::info!(
        "segment {=str}: decode {=u64} tokens in {=u64} {=str} = {=u64} instructions = {} instructions/token \
         (bound {}, tables in {}); {=str} frame loop: {=u32} of {=u32} frames",
        name,
        tokens,
        ticks,
        BOARD.ticks,
        instructions,
        Per(instructions, tokens),
        Per(MAX_INSTRUCTIONS_PER_TOKEN_X100, 100),
        placed.place,
        checks::KERNEL_NAME,
        kernel_frames,
        frames
    );
    checks::frame_loop(kernel_frames, frames, raw, kernel).map_err(Failure::Check)?;
    if BOARD.counts_instructions {
        checks::within_bound(instructions, tokens, MAX_INSTRUCTIONS_PER_TOKEN_X100).map_err(Failure::Check)?;
    } else {
        // On hardware the clock counts core cycles (DWT): the figure that
        // means something there. The instruction bound is QEMU's.
        defmt::info!(
            "segment {=str}: decode {=u64} tokens in {=u64} {=str} = {} {=str}/token at {=u32} Hz (tables in {})",
            name,
            tokens,
            ticks,
            BOARD.ticks,
            Per(ticks, tokens),
            BOARD.ticks,
            BOARD.core_clock_hz,
            placed.place
        );
    }

    if placed.place == Place::Ram {
        // The same decode with the tables read from flash: under QEMU the
        // count is the same (no wait states are modelled).
        let flash = TableSetRef::from_bytes(seg.tables)
            .and_then(|set| Ok((set, image_words(seg.image).ok_or(vqtans::Error::CompiledTablesMismatch)?)))
            .and_then(|(set, words)| Ok((set, set.verify_compiled(words)?)));
        let (flash_set, flash_tables) = flash.map_err(Failure::Image)?;
        let (decoded, ticks) = clock.measure(|| decode_only(seg.stream, &flash_set, flash_tables, false));
        decoded.map_err(|error| Failure::Decode { frame: 0, error })?;
        defmt::info!(
            "segment {=str}: with the tables read from flash instead: {} instructions/token (QEMU models no \
             flash wait states)",
            name,
            Per(cal.instructions_for(ticks), tokens)
        );
    }

    if kernel {
        // The same decode with the portable frame loop instead of the
        // hand-written one (for comparison; the tokens are the same).
        let (portable, ticks) = clock.measure(|| decode_only(seg.stream, &set, tables, true));
        let (_, portable_kernel_frames, _) = portable.map_err(|error| Failure::Decode { frame: 0, error })?;
        let portable_instructions = cal.instructions_for(ticks);
        defmt::info!(
            "segment {=str}: with the portable frame loop instead: {} instructions/token",
            name,
            Per(portable_instructions, tokens)
        );
        checks::frame_loop(portable_kernel_frames, frames, raw, false).map_err(Failure::Check)?;
        checks::kernel_faster(instructions, portable_instructions).map_err(Failure::Check)?;
        defmt::info!(
            "segment {=str}: checks: every frame >= 1 by the {=str} loop, at most {} instructions/token, \
             faster than the portable loop: ok",
            name,
            checks::KERNEL_NAME,
            Per(MAX_INSTRUCTIONS_PER_TOKEN_X100, 100)
        );
        checks::note_bound_not_enforced();
    } else {
        defmt::info!(
            "segment {=str}: checks: the portable frame loop (no hand-written one for this core and tables), \
             at most {} instructions/token: ok",
            name,
            Per(MAX_INSTRUCTIONS_PER_TOKEN_X100, 100)
        );
        checks::note_bound_not_enforced();
    }

    let p = phases(seg.stream, &set, tables, clock).map_err(|error| Failure::Decode { frame: 0, error })?;
    let per = |ticks: u64| Per(cal.instructions_for(ticks), tokens);
    let parts = cal.instructions_for(p.setup + p.frame0 + p.frames + p.crc);
    defmt::info!(
        "segment {=str}: phase setup (SegmentDecoder::new: header, model check, coder) {}/token",
        name,
        per(p.setup)
    );
    defmt::info!(
        "segment {=str}: phase model first frame of each section (raw 10-bit tokens) {}/token",
        name,
        per(p.frame0)
    );
    defmt::info!(
        "segment {=str}: phase model other frames (class symbols, own/successor lists, raw bits, kind planes) {}/token",
        name,
        per(p.frames)
    );
    defmt::info!(
        "segment {=str}: phase   of which kind-plane update (KindPlanes::next_frame) {}/token",
        name,
        per(p.kinds)
    );
    defmt::info!("segment {=str}: phase token CRC-32 (TokenChecksum::update) {}/token", name, per(p.crc));
    defmt::info!(
        "segment {=str}: phase sum of the parts {}/token vs the whole decode {}/token (parts run as separate \
         loops, so code layout and inlining differ slightly)",
        name,
        Per(parts, tokens),
        Per(instructions, tokens)
    );

    // Where the instructions go: a PC-sampling profile of another decode
    // (SysTick samples the program counter), with the `profile` feature.
    #[cfg(all(board = "mps2-an386", feature = "profile"))]
    {
        use crate::profile;
        profile::reset();
        let profiled = clock.profile(PROFILE_PERIOD_TICKS, || decode_only(seg.stream, &set, tables, false));
        profiled.map_err(|error| Failure::Decode { frame: 0, error })?;
        profile::dump(name);
    }

    Ok(tokens)
}

/// Counts of [`stream_out`].
struct StreamStats {
    frames: u32,
    /// Ticks in `next_frame` and `finish`.
    decode_ticks: u64,
    /// Ticks in UART writes.
    uart_ticks: u64,
}

/// Decodes `stream` frame by frame and writes each frame's tokens (`u16`
/// LE) to the UART as soon as it is decoded. Frames are only known correct
/// once their group's checksum has been checked (after the group's last
/// frame; for the last group, with `finish`'s end checks); an error
/// there (or earlier) is returned after the frames already sent.
#[inline(never)]
fn stream_out(
    stream: &[u8],
    set: &TableSetRef<'_>,
    tables: DecodeTables<'_>,
    kernel: bool,
    uart: &mut uart::Uart,
    clock: &Clock,
) -> Result<StreamStats, Failure> {
    let mut decoder = SegmentDecoder::new(stream, set, tables).map_err(|error| Failure::Decode { frame: 0, error })?;
    let frames = decoder.header().frames;
    let mut frame = [0u16; FRAME_TOKENS];
    let mut bytes = [0u8; 2 * FRAME_TOKENS];
    let mut stats = StreamStats { frames, decode_ticks: 0, uart_ticks: 0 };
    for f in 0..frames {
        let (decoded, ticks) = clock.measure(|| decoder.next_frame(&mut frame));
        decoded.map_err(|error| Failure::Decode { frame: f, error })?;
        stats.decode_ticks += ticks;
        for (pair, token) in bytes.chunks_exact_mut(2).zip(&frame) {
            pair.copy_from_slice(&token.to_le_bytes());
        }
        let (sent, ticks) = clock.measure(|| uart.write_all(&bytes));
        sent.map_err(Failure::Uart)?;
        stats.uart_ticks += ticks;
    }
    let raw = decoder.header().section_starts_in(frames);
    checks::frame_loop(decoder.kernel_frames(), frames, raw, kernel).map_err(Failure::Check)?;
    let (finished, ticks) = clock.measure(|| decoder.finish());
    finished.map_err(|error| Failure::Decode { frame: frames, error })?;
    stats.decode_ticks += ticks;
    uart.flush().map_err(Failure::Uart)?;
    Ok(stats)
}

/// Decodes and verifies `stream` without sending anything (with the portable
/// frame loop if `portable`); returns the number of frames, how many of them
/// the hand-written frame loop decoded, and how many start a section (raw
/// tokens).
#[inline(never)]
fn decode_only(
    stream: &[u8],
    set: &TableSetRef<'_>,
    tables: DecodeTables<'_>,
    portable: bool,
) -> vqtans::Result<(u32, u32, u32)> {
    let mut decoder = SegmentDecoder::new(stream, set, tables)?;
    if portable {
        decoder.use_portable_loop();
    }
    let mut frame = [0u16; FRAME_TOKENS];
    let frames = decoder.header().frames;
    for _ in 0..frames {
        decoder.next_frame(&mut frame)?;
    }
    let kernel_frames = decoder.kernel_frames();
    decoder.finish()?;
    Ok((frames, kernel_frames, decoder.header().section_starts_in(frames)))
}

/// Ticks of the decoder's parts, each measured on its own over a whole
/// segment.
struct Phases {
    /// `SegmentDecoder::new`: header check, model check, coder start.
    setup: u64,
    /// The model's decode of each section's first frame (raw 10-bit tokens).
    frame0: u64,
    /// The model's decode of the other frames (tANS class symbols, own and
    /// successor lists, raw bits, per-frame kind-plane update).
    frames: u64,
    /// `KindPlanes::next_frame` alone, once per frame (included in the two
    /// above).
    kinds: u64,
    /// The token CRC-32 (`TokenChecksum::update`) of every frame, which
    /// `SegmentDecoder::next_frame` adds to the model's work.
    crc: u64,
}

/// Runs the decoder's parts separately through the codec's public API.
#[inline(never)]
fn phases(stream: &[u8], set: &TableSetRef<'_>, tables: DecodeTables<'_>, clock: &Clock) -> vqtans::Result<Phases> {
    let (decoder, setup) = clock.measure(|| SegmentDecoder::new(stream, set, tables));
    black_box(decoder?);

    let (header, payload) = Header::parse(stream)?;
    let sections = Sections::parse(&header, payload)?;
    let model = Model::from_table_set(set)?;
    let mut frame = [0u16; FRAME_TOKENS];

    // Container formats 2 and 3: a group checksum follows the last frame of
    // each group (read here, checked by the whole decode above). Format 3:
    // each section is coded on its own (coder and model state from scratch,
    // its first frame raw tokens).
    let group_frames = header.group_frames();
    let groups = matches!(header.check, Check::Groups { .. } | Check::Sections { .. });
    let (mut frame0, mut frames) = (0, 0);
    for s in 0..header.sections() {
        let range = header.section_range(s);
        let ends_group = |f: u32| groups && ((f + 1).is_multiple_of(group_frames) || f + 1 == range.end);
        let mut coder = TansDecoder::new(&payload[sections.range(s)], model.n_states(), set.state_log())?;
        let mut state = model.decoder_state();
        let (first, ticks) = clock.measure(|| state.decode_frame(&mut coder, &tables, &mut frame));
        first?;
        frame0 += ticks;
        if ends_group(range.start) {
            coder.read_u32()?;
        }
        let (rest, ticks) = clock.measure(|| {
            for f in range.start + 1..range.end {
                state.decode_frame(&mut coder, &tables, &mut frame)?;
                if ends_group(f) {
                    coder.read_u32()?;
                }
            }
            Ok::<(), vqtans::Error>(())
        });
        rest?;
        frames += ticks;
        coder.finish()?;
    }

    let mut checksum = TokenChecksum::new();
    let ((), crc) = clock.measure(|| {
        for _ in 0..header.frames {
            checksum.update(black_box(&frame));
        }
    });
    black_box(checksum.finalize());

    let mut planes = KindPlanes::default();
    let ((), kinds) = clock.measure(|| {
        for _ in 0..header.frames {
            black_box(&mut planes).next_frame();
        }
    });
    Ok(Phases { setup, frame0, frames, kinds, crc })
}

/// `a / b` with two decimals, for the log.
pub struct Per(pub u64, pub u64);

impl defmt::Format for Per {
    fn format(&self, f: defmt::Formatter<'_>) {
        let hundredths = self.0 * 100 / self.1.max(1);
        defmt::write!(f, "{=u64}.{=u64:02}", hundredths / 100, hundredths % 100);
    }
}

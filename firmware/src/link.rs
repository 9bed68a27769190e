//! Streaming mode: streams arrive over UART0, verified tokens go back out of it,
//! in the link protocol of `vqtans::link`.
//!
//! Only table sets (and their compiled images) are in flash
//! (`VQTANS_FW_LINK_TABLES`); at boot they are copied to RAM where the build
//! reserved room (`resident`). The host sends streams back to back, each byte
//! only once the receiver asked for it (a `Request` before each read, see
//! `uart`): nothing arrives while the firmware decodes or sends, so a real
//! UART never overruns. For each stream the firmware reads the header, picks
//! the table set by the header's table-set id, and decodes with
//! `vqtans::stream::StreamDecoder`, which pulls the payload through its 1 KiB
//! input buffer and hands out a group of frames only once the group's
//! checksum (and, for the last group, the end of the payload) has been
//! checked. Each verified group goes out of UART0 as a `Group` message and its
//! frames of `u16` LE tokens. On the first failure the firmware logs the
//! stream, the group and the error, sends a `Failed` message naming the group
//! and nothing more, and fails the run.
//!
//! Timeout: a read fails when no byte arrives for [`TIMEOUT_TICKS`] clock
//! ticks. Inside a stream that is a link failure; before a stream's first byte
//! it means the host has no more streams, and the session ends. The session's
//! first header is waited for [`first_header_waits`] times as long, the
//! request repeated after each timeout (the host may open its port after the
//! first request went out: a board's USB serial port drops what nobody reads).
//!
//! Nothing here uses a heap: the decoder, the held frames and the output
//! buffer are locals of [`stream_one`], whose stack peak is the streaming
//! path's RAM.
//!
//! RAM on the microbit (16 KiB in all): `StreamDecoder` 2,752 B (1 KiB of it
//! the input buffer) + 20 held frames (5,120 B: one group at the encoder's
//! default group size) + one output frame (256 B) + the stack of a frame
//! decode fit with room to spare, so the held frames stay one default group.

use core::mem::size_of;

use embedded_io::Write;
use vqtans::container::{Header, FRAME_TOKENS};
use vqtans::link::{Message, NO_GROUP};
use vqtans::stream::{read_header, Frame, StreamDecoder, StreamError, INPUT_BYTES};
use vqtans::table_set::TableSetRef;
use vqtans::tans::decode_table::DecodeTables;

use crate::boards::BOARD;
use crate::checks::{self, Broken};
use crate::measure::{Calibration, Clock, Ticks};
use crate::resident::{Place, Resident};
use crate::segments::{image_words, LINK_TABLES};
use crate::uart::{self, RxCounts, Uart, WaitCost};
use crate::{decode::Per, memory};

/// Frames held back per group (the encoder's default group size); a stream
/// with larger groups is refused before decoding.
pub const HELD_FRAMES: usize = 20;
/// Most RAM the streaming path may use: decoder state, input buffer, held
/// frames and stack peak.
pub const RAM_BUDGET: usize = BOARD.link_ram_budget;
/// Link timeout: 500 ms in clock ticks (12,500,000 SysTick ticks on the
/// mps2-an386, 8,000,000 TIMER0 ticks on the microbit-v1; in QEMU 500 M
/// guest instructions under `-icount shift=0`, 1 ns each).
///
/// In QEMU: waiting is a busy poll, so virtual time advances only
/// as fast as QEMU executes the wait loop (about 120 M instructions per
/// second on the test machine, less under load), and this timeout is seconds
/// of real silence on the link. The host program queues the whole stream in
/// the socket before the firmware needs it, so the gaps the firmware sees are
/// QEMU's own delivery. Measured (each stream's log line `longest wait for a
/// byte`): inside a stream under 500,000 ticks; the first byte of a session
/// waits longer (the host program and QEMU start up: up to 5,700,000 ticks
/// measured), hence [`FIRST_TIMEOUT_TICKS`]. (Under host load the link once
/// timed out inside streams now and then: the clock's wrap tick read a whole
/// SysTick period too high, fixed in [`crate::measure::Clock::now`]; see
/// research/link-flake.md.) On a real device
/// the same value is 500 ms of wall time, more than 5,000 byte times
/// at 115,200 baud.
pub const TIMEOUT_TICKS: u64 = BOARD.tick_hz as u64 * TIMEOUT_MS as u64 / 1000;
/// The link timeout in milliseconds of the board's clock.
pub const TIMEOUT_MS: u32 = 500;
/// How many [`TIMEOUT_TICKS`] the session's first header is waited for, the
/// request repeated after each: 8 (4 s) in QEMU, which starts the firmware
/// once the host program is connected; 120 (60 s) on a board, for a person
/// to start `host-tools link` after flashing.
pub fn first_header_waits() -> u32 {
    if crate::boards::this::emulated() {
        8
    } else {
        120
    }
}
/// Most table sets in flash.
const MAX_SETS: usize = 4;

/// Why the session failed.
#[derive(defmt::Format)]
pub enum Failure {
    /// More table sets in flash than [`MAX_SETS`].
    TooManySets,
    /// A table set in flash did not load or its image did not verify.
    Tables {
        name: &'static str,
        #[defmt(Display2Format)]
        error: vqtans::Error,
    },
    /// No stream header came for the session's first wait: no host sent.
    NoHost,
    /// A stream's header could not be read or is bad.
    Header {
        stream: u32,
        #[defmt(Display2Format)]
        error: StreamError<uart::Error>,
    },
    /// No table set in flash has the stream's table-set id.
    NoTables { stream: u32, id: u64 },
    /// The stream cannot be decoded here (e.g. groups larger than
    /// [`HELD_FRAMES`]).
    Refused {
        stream: u32,
        #[defmt(Display2Format)]
        error: vqtans::Error,
    },
    /// Decoding failed in group `group`, after `verified` frames had been
    /// verified and sent.
    Stream {
        stream: u32,
        group: u32,
        verified: u32,
        #[defmt(Display2Format)]
        error: StreamError<uart::Error>,
    },
    /// Sending tokens failed.
    Uart(uart::Error),
    /// The streaming path used more RAM than [`RAM_BUDGET`].
    RamBudget { bytes: usize },
    /// A check of `checks` failed.
    Check(Broken),
}

/// A table set in flash, loaded and verified.
#[derive(Clone, Copy)]
struct Loaded {
    name: &'static str,
    set: TableSetRef<'static>,
    tables: DecodeTables<'static>,
}

/// What one stream cost.
#[derive(Default)]
struct StreamStats {
    frames: u32,
    groups: u32,
    /// Ticks in `next_group` (reading included).
    decode_ticks: u64,
    /// Of which in the UART receiver.
    rx_ticks: u64,
    /// Ticks sending tokens.
    tx_ticks: u64,
    rx_bytes: u64,
    rx_waits: u64,
    rx_wait_polls: u64,
    /// The longest wait for a byte in the session so far, in ticks.
    longest_wait: u64,
}

/// Runs a session: streams until the link goes quiet between two streams.
/// Returns the number of tokens sent.
///
/// Not inlined: its locals stay out of `main`'s frame, which exists
/// before the stack is painted (and on the microbit every byte counts).
#[inline(never)]
pub fn run(
    uart: &mut Uart,
    idle: Option<crate::boards::Port>,
    resident: &mut Resident,
    clock: &Clock,
    cal: &Calibration,
) -> Result<u64, Failure> {
    let sets = load_sets(resident)?;

    // What waiting for a byte costs, measured where nothing arrives, to tell
    // the receiver's waiting from its work below.
    let wait = uart.wait_cost(idle, clock, cal);
    defmt::info!(
        "link: timeout {=u64} ticks ({=u64} instructions); receiver waiting: {=u64}.{=u64:03} instructions per poll, \
         {=u64}.{=u64:03} per wait",
        TIMEOUT_TICKS,
        cal.instructions_for(TIMEOUT_TICKS),
        wait.per_poll_milli / 1000,
        wait.per_poll_milli % 1000,
        wait.per_wait_milli / 1000,
        wait.per_wait_milli % 1000
    );

    let mut tokens = 0u64;
    let mut stream = 0u32;
    loop {
        match next_stream(stream, &sets, uart, clock, &wait, cal) {
            Ok(Some(sent)) => tokens += sent,
            Ok(None) => return Ok(tokens),
            Err(failure) => {
                // The host learns of the failure at once rather than from the
                // silence after it (the log says why). If even this cannot be
                // sent, the failure already says so.
                let group = match failure {
                    Failure::Stream { group, .. } => group,
                    _ => NO_GROUP,
                };
                let _ = uart.send(Message::Failed { group }).and_then(|()| uart.flush());
                return Err(failure);
            }
        }
        stream += 1;
    }
}

/// Reads stream `stream`'s header, decodes the stream and reports it. Returns
/// the tokens sent, or `None` if the host sent no more streams.
fn next_stream(
    stream: u32,
    sets: &[Option<Loaded>; MAX_SETS],
    uart: &mut Uart,
    clock: &Clock,
    wait: &WaitCost,
    cal: &Calibration,
) -> Result<Option<u64>, Failure> {
    let before = uart.rx_counts();
    let mut waits = if stream == 0 { first_header_waits() } else { 1 };
    if stream == 0 {
        defmt::info!(
            "link: waiting up to {=u32} ms for the host's first stream (host-tools link --port ...)",
            waits * TIMEOUT_MS
        );
    }
    let header = loop {
        match read_header(&mut uart.receiver(clock, TIMEOUT_TICKS)) {
            Ok(h) => break h,
            Err(StreamError::Link { error: uart::Error::RxTimeout, .. }) if uart.rx_counts().bytes == before.bytes => {
                waits -= 1;
                if waits > 0 {
                    uart.repeat_request().map_err(Failure::Uart)?;
                    continue;
                }
                if stream == 0 {
                    return Err(Failure::NoHost);
                }
                defmt::info!(
                    "link: quiet for {=u64} ticks after stream {=u32}: session over",
                    TIMEOUT_TICKS,
                    stream - 1
                );
                return Ok(None);
            }
            Err(error) => return Err(Failure::Header { stream, error }),
        }
    };
    let Some(loaded) = sets.iter().flatten().find(|s| s.set.id() == header.table_set_id) else {
        defmt::error!("stream {=u32}: no table set {=u64:016x} in flash", stream, header.table_set_id);
        return Err(Failure::NoTables { stream, id: header.table_set_id });
    };
    defmt::info!(
        "stream {=u32}: table set {=str} {=u64:016x}, container format {=u8}, {=u32} frames in {=u32} groups of {=u32} in {=u32} section(s), payload {=u32} B",
        stream,
        loaded.name,
        header.table_set_id,
        header.version(),
        header.frames,
        header.groups(),
        header.group_frames(),
        header.sections(),
        header.payload_len
    );
    let (result, stack) = memory::measure_stack(|| stream_one(stream, header, loaded, uart, clock));
    let stats = result?;
    report(stream, &stats, stack, checks::kernel_applies(&loaded.set), wait, cal)?;
    Ok(Some(u64::from(stats.frames) * FRAME_TOKENS as u64))
}

/// Places every table set in flash (copied to RAM where the build reserved
/// room), loads it and verifies its compiled image. Not inlined: the
/// verification's counters (2 KiB) stay out of the streaming path's stack.
#[inline(never)]
fn load_sets(resident: &mut Resident) -> Result<[Option<Loaded>; MAX_SETS], Failure> {
    let mut sets = [None; MAX_SETS];
    if LINK_TABLES.len() > MAX_SETS {
        return Err(Failure::TooManySets);
    }
    for (slot, blob) in sets.iter_mut().zip(LINK_TABLES) {
        let fail = |error| Failure::Tables { name: blob.name, error };
        let placed = resident.place(blob.tables, blob.image);
        let set = TableSetRef::from_bytes(placed.tables).map_err(fail)?;
        let words = image_words(placed.image).ok_or(fail(vqtans::Error::CompiledTablesMismatch))?;
        let tables = set.verify_compiled(words).map_err(fail)?;
        let footprint = blob.tables.len() + blob.image.len();
        match placed.place {
            Place::Ram => defmt::info!(
                "link: table set {=str} {=u64:016x} ({=usize} B with its image) copied to RAM, compiled image \
                 verified: every decode read of tables goes to RAM",
                blob.name,
                set.id(),
                footprint
            ),
            Place::Flash => defmt::info!(
                "link: table set {=str} {=u64:016x} ({=usize} B with its image) in flash (the {=str} has {=usize} B \
                 of RAM for tables), compiled image verified",
                blob.name,
                set.id(),
                footprint,
                BOARD.name,
                Resident::capacity()
            ),
        }
        *slot = Some(Loaded { name: blob.name, set, tables });
    }
    Ok(sets)
}

/// Decodes one stream whose header was read, sending each verified group.
#[inline(never)]
fn stream_one(
    stream: u32,
    header: Header,
    loaded: &Loaded,
    uart: &mut Uart,
    clock: &Clock,
) -> Result<StreamStats, Failure> {
    let mut held: [Frame; HELD_FRAMES] = [[0; FRAME_TOKENS]; HELD_FRAMES];
    // Used where `new` put it (a `match` moving it out would keep a second
    // copy of its 2.75 KB in this frame).
    let mut made = StreamDecoder::new(header, &loaded.set, loaded.tables, &mut held);
    let decoder = match &mut made {
        Ok(decoder) => decoder,
        Err(error) => return Err(Failure::Refused { stream, error: *error }),
    };
    let mut bytes = [0u8; 2 * FRAME_TOKENS];
    let mut stats = StreamStats::default();
    // The payload's input (the header's 32 bytes were read before).
    let rx_start = uart.rx_counts();
    loop {
        let (group, ticks) = clock.measure(|| decoder.next_group(&mut uart.receiver(clock, TIMEOUT_TICKS)));
        stats.decode_ticks += ticks;
        let rx = uart.rx_counts();
        stats.rx_ticks = rx.ticks - rx_start.ticks;
        stats.rx_bytes = rx.bytes - rx_start.bytes;
        stats.rx_waits = rx.waits - rx_start.waits;
        stats.rx_wait_polls = rx.wait_polls - rx_start.wait_polls;
        stats.longest_wait = rx.longest_wait;
        let group = match group {
            Ok(Some(group)) => group,
            Ok(None) => {
                uart.flush().map_err(Failure::Uart)?;
                return Ok(stats);
            }
            Err(error) => {
                let group = error.group().unwrap_or(0);
                return Err(Failure::Stream { stream, group, verified: stats.frames, error });
            }
        };
        let start = clock.now();
        let frames = Message::Group { frames: group.frames.len() as u16 };
        uart.send(frames).map_err(Failure::Uart)?;
        for frame in group.frames {
            for (pair, token) in bytes.chunks_exact_mut(2).zip(frame) {
                pair.copy_from_slice(&token.to_le_bytes());
            }
            uart.write_all(&bytes).map_err(Failure::Uart)?;
        }
        stats.tx_ticks += clock.now() - start;
        stats.frames += group.frames.len() as u32;
        stats.groups += 1;
    }
}

/// Logs what a stream cost and checks the RAM budget.
/// `kernel`: the stream's table set is of the kind this core's hand-written
/// frame loop decodes (the bound depends on it).
fn report(
    stream: u32,
    stats: &StreamStats,
    stack: usize,
    kernel: bool,
    wait: &WaitCost,
    cal: &Calibration,
) -> Result<(), Failure> {
    let tokens = u64::from(stats.frames) * FRAME_TOKENS as u64;
    defmt::info!(
        "stream {=u32}: decoded and sent {=u32} frames ({=u64} tokens) in {=u32} groups, each verified before it was sent",
        stream,
        stats.frames,
        tokens,
        stats.groups
    );
    let decode = cal.instructions_for(stats.decode_ticks - stats.rx_ticks);
    defmt::info!(
        "stream {=u32}: decode {} instructions/token (model, group checks, input buffer, hold-back; UART excluded)",
        stream,
        Per(decode, tokens)
    );
    let rx_all = cal.instructions_for(stats.rx_ticks);
    let waiting =
        wait.waiting(&RxCounts { waits: stats.rx_waits, wait_polls: stats.rx_wait_polls, ..RxCounts::default() });
    let rx_work = rx_all.saturating_sub(waiting);
    defmt::info!(
        "stream {=u32}: UART input (payload) {=u64} B ({} B/token): {} instructions/token ({} per byte) besides \
         waiting; {=u64} waits with {=u64} polls ({=u64} instructions)",
        stream,
        stats.rx_bytes,
        Per(stats.rx_bytes, tokens),
        Per(rx_work, tokens),
        Per(rx_work, stats.rx_bytes),
        stats.rx_waits,
        stats.rx_wait_polls,
        waiting
    );
    defmt::info!(
        "stream {=u32}: decode + UART input {} instructions/token; UART output {} instructions/token",
        stream,
        Per(decode + rx_work, tokens),
        Per(cal.instructions_for(stats.tx_ticks), tokens)
    );
    defmt::info!(
        "stream {=u32}: longest wait for a byte so far: {=u64} ticks (the link timeout is {=u64})",
        stream,
        stats.longest_wait,
        TIMEOUT_TICKS
    );
    if BOARD.counts_instructions {
        let frame_loop = if kernel { checks::KERNEL_NAME } else { "portable" };
        match checks::link_bound(kernel) {
            Some(bound) => {
                checks::within_bound(decode, tokens, bound).map_err(Failure::Check)?;
                defmt::info!(
                    "stream {=u32}: checks: decode at most {} instructions/token: ok (frame loop: {=str})",
                    stream,
                    Per(bound, 100),
                    frame_loop
                );
            }
            None => defmt::info!(
                "stream {=u32}: checks: no instruction bound for the {=str} frame loop on this core",
                stream,
                frame_loop
            ),
        }
        checks::note_bound_not_enforced();
    } else {
        // On hardware the clock counts core cycles (DWT): report those; the
        // instruction figures above are cycles scaled by the calibration
        // loop's instructions per cycle, and the bounds are QEMU's.
        defmt::info!(
            "stream {=u32}: decode {} {=str}/token at {=u32} Hz (model, group checks, input buffer, hold-back; UART \
             excluded); UART output {} {=str}/token",
            stream,
            Per(stats.decode_ticks - stats.rx_ticks, tokens),
            BOARD.ticks,
            BOARD.core_clock_hz,
            Per(stats.tx_ticks, tokens),
            BOARD.ticks
        );
    }
    let state = size_of::<StreamDecoder<'static, 'static>>();
    let held = HELD_FRAMES * size_of::<Frame>();
    defmt::info!(
        "stream {=u32}: RAM: StreamDecoder {=usize} B (of which input buffer {=usize} B) + held frames {=usize} B + \
         output frame {=usize} B; stack peak {=usize} B (includes all of them), budget {=usize} B: {=str}",
        stream,
        state,
        INPUT_BYTES,
        held,
        2 * FRAME_TOKENS,
        stack,
        RAM_BUDGET,
        if stack <= RAM_BUDGET { "ok" } else { "EXCEEDED" }
    );
    if stack > RAM_BUDGET {
        return Err(Failure::RamBudget { bytes: stack });
    }
    Ok(())
}

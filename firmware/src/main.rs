//! vqtans firmware: one program for four boards, chosen by cargo feature
//! (`boards`): QEMU `mps2-an386` (Cortex-M4F, the reference board), the BBC
//! micro:bit v1 (nRF51822, Cortex-M0; the same image in QEMU `microbit`), the
//! nRF52840-DK and the Nucleo-F446RE (Cortex-M4F). Each board module gives
//! the clock, the link UART, the logger and how a run ends; the memory map
//! and budgets are in `boards/spec.rs`; which checks apply in `checks`.
//!
//! Decodes the vqtans segments that `build.rs` put in flash (table set,
//! compiled decode tables, encoded stream) frame by frame, with no heap, and
//! sends each frame's tokens out of UART0 as `u16` little-endian; the host
//! compares them with the original `.npy`. Table sets are copied to RAM at
//! boot where they fit (`resident`). Logs go out with `defmt` (semihosting
//! in QEMU, RTT on hardware). It measures the decoder (instructions per token
//! under QEMU's `-icount shift=0`, DWT cycles per token on the M4 boards, RAM
//! by stack painting) and ends the run: success, or failure on any decode
//! error, panic or fault.
//!
//! A build with link table sets instead (`VQTANS_FW_LINK_TABLES`) receives
//! streams over UART0 and sends back the tokens of each group once verified
//! (`link`). A build with neither sends a placeholder payload, which tests
//! the UART path byte-exactly on its own.

#![no_std]
#![no_main]

mod boards;
mod checks;
mod clock;
mod decode;
mod exit;
#[cfg(feature = "kernel-check")]
mod kernel_check;
mod link;
#[cfg(board = "microbit-v1")]
mod log_tee;
mod measure;
mod memory;
// Only the `profile` feature takes samples; the SysTick handler refers to it always.
#[cfg(board = "mps2-an386")]
#[cfg_attr(not(feature = "profile"), allow(dead_code))]
mod profile;
mod resident;
mod segments;
mod uart;

use cortex_m_rt::entry;
use embedded_hal::delay::DelayNs;
use embedded_io::Write;
use measure::Ticks;

/// Baud rate programmed into the UARTs (QEMU does not pace them by it).
pub const BAUD: u32 = 115_200;

#[entry]
fn main() -> ! {
    // First thing: paint the free stack so the high-water mark is meaningful.
    let painted = memory::paint_stack();

    let boards::Parts { mut clock, link, idle } = boards::init().unwrap_or_else(|| exit::failure());
    let board = boards::BOARD;
    boards::this::report();
    defmt::info!(
        "vqtans firmware up on {=str} ({=str}): flash {=usize} B ({=usize} B reserved for code, {=usize} B budget \
         for tables and streams), RAM {=usize} B ({=usize} B for table sets); painted {=usize} stack bytes",
        board.name,
        board.target,
        board.flash_bytes,
        board.code_reserve,
        board.flash_budget(),
        board.ram_bytes,
        board.tables_ram_budget,
        painted
    );

    // The firmware's own flash use must stay within the board's code reserve,
    // which the build's flash budget for tables assumes (boards.rs).
    let (used, embedded) = (memory::flash_used(), segments::embedded_bytes());
    let code = used.saturating_sub(embedded);
    defmt::info!(
        "flash: {=usize} B used: table sets, images and streams {=usize} B, code and constants {=usize} B \
         (reserve {=usize} B)",
        used,
        embedded,
        code,
        board.code_reserve
    );
    if code > board.code_reserve {
        defmt::error!("flash: the code outgrew its reserve; raise code_reserve in src/boards.rs");
        exit::failure();
    }

    // The wrapping loop costs ~1.5 s of host time, so it is opt-in.
    let loop_len = if cfg!(feature = "long-calibration") { measure::WRAPPING_LOOP } else { measure::QUICK_LOOP };
    let cal = measure::calibrate(&clock, loop_len);
    defmt::info!(
        "calibration: {=u64} instructions in {=u64} {=str} = {=u64}.{=u64:03} instructions per tick",
        cal.instructions,
        cal.ticks,
        board.ticks,
        cal.milli_per_tick() / 1000,
        cal.milli_per_tick() % 1000,
    );
    if cfg!(feature = "long-calibration") {
        // Back-to-back readings across a SysTick wrap: never backwards, never
        // a jump (the wrap tick once read a whole period too high).
        #[cfg(board = "mps2-an386")]
        match clock.check_monotonic(clock::systick::WRAP_CHECK_TICKS) {
            Some((reads, largest)) if largest < 1_000 => {
                defmt::info!(
                    "clock: {=u64} back-to-back reads across a SysTick wrap, largest step {=u64} ticks",
                    reads,
                    largest
                )
            }
            Some((_, largest)) => {
                defmt::error!("clock: a reading jumped {=u64} ticks ahead across a SysTick wrap", largest);
                exit::failure();
            }
            None => {
                defmt::error!("clock: a reading went backwards across a SysTick wrap");
                exit::failure();
            }
        }
    }
    let mut delay = measure::TickDelay::new(&clock);
    let (_, delay_ticks) = clock.measure(|| delay.delay_us(100));
    defmt::info!("delay_us(100) took {=u64} ticks", delay_ticks);

    let mut uart = uart::Uart::new(link);
    let mut resident = resident::Resident::take().unwrap_or_else(|| exit::failure());

    if !segments::LINK_TABLES.is_empty() {
        match link::run(&mut uart, idle, &mut resident, &clock, &cal) {
            Ok(tokens) => defmt::info!("link: all streams decoded and verified: {=u64} tokens sent", tokens),
            Err(e) => {
                defmt::error!("link: FAILED: {}", e);
                exit::failure();
            }
        }
    } else if segments::SEGMENTS.is_empty() {
        let data = segments::PLACEHOLDER;
        let ((sent, ticks), stack) = memory::measure_stack(|| clock.measure(|| send(&mut uart, data)));
        if let Err(e) = sent {
            defmt::panic!("UART write failed: {}", e);
        }
        defmt::info!(
            "sent {=usize} placeholder bytes in {=u64} ticks (~{=u64} instructions), {=usize} stack bytes",
            data.len(),
            ticks,
            cal.instructions_for(ticks),
            stack,
        );
    } else if cfg!(feature = "kernel-check") {
        #[cfg(feature = "kernel-check")]
        check_kernel();
    } else {
        let mut tokens = 0;
        for seg in segments::SEGMENTS {
            match decode::run(seg, &mut resident, &mut uart, &mut clock, &cal) {
                Ok(n) => tokens += n,
                Err(e) => {
                    defmt::error!("segment {=str}: FAILED: {}", seg.name, e);
                    exit::failure();
                }
            }
        }
        defmt::info!(
            "all {=usize} segment(s) decoded and verified: {=u64} tokens sent",
            segments::SEGMENTS.len(),
            tokens
        );
    }

    memory::report_size::<uart::Uart>("uart::Uart");
    memory::report_size::<measure::Clock>("measure::Clock");
    memory::report_statics();
    memory::report_stack();
    exit::success()
}

/// Compares the hand-written frame loop with the portable one on every segment,
/// intact and damaged (see `kernel_check`); fails on the first difference.
#[cfg(feature = "kernel-check")]
fn check_kernel() {
    const N: usize = kernel_check::MAX_STREAM;
    let Some(buffer) = cortex_m::singleton!(: [u8; N] = [0; N]) else { exit::failure() };
    for seg in segments::SEGMENTS {
        match kernel_check::run(seg, buffer) {
            Ok(n) => defmt::info!(
                "kernel-check: segment {=str}: {=usize} streams, kernel and portable loop agree ({})",
                seg.name,
                n.streams,
                n
            ),
            Err(e) => {
                defmt::error!("kernel-check: segment {=str}: FAILED: {}", seg.name, e);
                exit::failure();
            }
        }
    }
}

/// Writes `data` to the UART and waits until the last byte has left.
///
/// With the `fail-test` or `fault-test` feature it sends half the data and
/// then fails on purpose.
fn send(uart: &mut uart::Uart, data: &[u8]) -> Result<(), uart::Error> {
    if cfg!(any(feature = "fail-test", feature = "fault-test")) {
        uart.write_all(&data[..data.len() / 2])?;
        uart.flush()?;
        inject_failure();
    }
    uart.write_all(data)?;
    uart.flush()
}

/// Test hook: a deliberate panic.
#[cfg(feature = "fail-test")]
fn inject_failure() -> ! {
    panic!("deliberate failure (feature fail-test) after half the payload");
}

/// Test hook: a deliberate HardFault (undefined instruction).
#[cfg(all(feature = "fault-test", not(feature = "fail-test")))]
fn inject_failure() -> ! {
    cortex_m::asm::udf()
}

/// Test hook: nothing in normal builds.
#[cfg(not(any(feature = "fail-test", feature = "fault-test")))]
fn inject_failure() {}

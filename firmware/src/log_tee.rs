//! The micro:bit's defmt logger: every frame goes to an RTT up channel named
//! `defmt` (what `probe-rs run` reads and decodes on the board), and, when
//! the image runs in QEMU, to the semihosting console as well (QEMU prints
//! it on stdout; `qemu-run.sh` decodes it with `defmt-print`).
//!
//! One image serves both: whether it runs in QEMU is decided at boot
//! ([`crate::boards::this::emulated`]), never at build time, and semihosting
//! is used only then, because on the board without a debugger a semihosting
//! call (`BKPT 0xAB`) would fault. The RTT channel drops data while no probe
//! reads it and the buffer is full (`NoBlockSkip`), so the firmware never
//! waits for a host.
//!
//! This is a logger of its own rather than the `defmt-rtt` crate because a
//! program has exactly one defmt global logger and this one has to write to
//! two places; the RTT side is the `rtt-target` crate, the framing is
//! defmt's own [`defmt::Encoder`].

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m::register::primask;
use cortex_m_semihosting::hio::{self, HostStream};
use rtt_target::{rtt_init, ChannelMode, UpChannel};

/// Bytes of the RTT up buffer (of 16 KiB of RAM).
const RTT_BYTES: usize = 512;

/// The logger's state: used only inside [`Logger`]'s critical section.
struct State {
    encoder: defmt::Encoder,
    rtt: Option<UpChannel>,
    semihosting: Option<HostStream>,
    /// Interrupts were enabled when the frame began.
    restore: bool,
}

struct Shared(UnsafeCell<State>);

// SAFETY: only touched with interrupts masked, on a single core.
unsafe impl Sync for Shared {}

static STATE: Shared =
    Shared(UnsafeCell::new(State { encoder: defmt::Encoder::new(), rtt: None, semihosting: None, restore: false }));
/// A frame is being written (reentrance is a bug: defmt would interleave).
static BUSY: AtomicBool = AtomicBool::new(false);

/// Sets up the RTT channel, and the semihosting console if `qemu`. Call
/// once, before the first log line (frames logged before are dropped).
pub fn init(qemu: bool) {
    let channels = rtt_init! { up: { 0: { size: RTT_BYTES, mode: ChannelMode::NoBlockSkip, name: "defmt" } } };
    let console = if qemu { hio::hstdout().ok() } else { None };
    cortex_m::interrupt::free(|_| {
        // SAFETY: interrupts masked and no frame in progress (BUSY is only
        // set inside a frame, which masks interrupts too).
        let state = unsafe { &mut *STATE.0.get() };
        state.rtt = Some(channels.up.0);
        state.semihosting = console;
    });
}

#[defmt::global_logger]
struct Logger;

// SAFETY: acquire masks interrupts and refuses reentrance, so the state is
// used by one frame at a time; release restores the interrupt mask.
unsafe impl defmt::Logger for Logger {
    fn acquire() {
        let enabled = primask::read().is_active();
        cortex_m::interrupt::disable();
        if BUSY.load(Ordering::Relaxed) {
            // A log call inside a log call (e.g. from a fault handler while
            // logging): drop it rather than corrupt the frame in progress.
            if enabled {
                // SAFETY: interrupts were enabled before this call.
                unsafe { cortex_m::interrupt::enable() };
            }
            panic!("defmt logger re-entered");
        }
        BUSY.store(true, Ordering::Relaxed);
        // SAFETY: interrupts masked, BUSY claimed.
        let state = unsafe { &mut *STATE.0.get() };
        state.restore = enabled;
        let (encoder, rtt, console) = (&mut state.encoder, &mut state.rtt, &mut state.semihosting);
        encoder.start_frame(|bytes| emit(rtt, console, bytes));
    }

    unsafe fn flush() {}

    unsafe fn release() {
        // SAFETY: inside the frame acquire began.
        let state = unsafe { &mut *STATE.0.get() };
        let (encoder, rtt, console) = (&mut state.encoder, &mut state.rtt, &mut state.semihosting);
        encoder.end_frame(|bytes| emit(rtt, console, bytes));
        let restore = state.restore;
        BUSY.store(false, Ordering::Relaxed);
        if restore {
            // SAFETY: interrupts were enabled when the frame began.
            unsafe { cortex_m::interrupt::enable() };
        }
    }

    unsafe fn write(bytes: &[u8]) {
        // SAFETY: inside the frame acquire began.
        let state = unsafe { &mut *STATE.0.get() };
        let (encoder, rtt, console) = (&mut state.encoder, &mut state.rtt, &mut state.semihosting);
        encoder.write(bytes, |bytes| emit(rtt, console, bytes));
    }
}

/// Writes encoded bytes to RTT and, in QEMU, to the semihosting console.
fn emit(rtt: &mut Option<UpChannel>, console: &mut Option<HostStream>, bytes: &[u8]) {
    if let Some(channel) = rtt {
        channel.write(bytes);
    }
    if let Some(console) = console {
        // A console that fails stays silent; the run goes on.
        let _ = console.write_all(bytes);
    }
}

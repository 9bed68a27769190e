//! `host-tools link`: streams to a device running the firmware's streaming
//! mode, and the frames it verified back, compared with the originals.
//!
//! `link --port PORT --tables T... STREAM... [--expect ORIGINAL.npy...] [-o OUT.npy...]`
//!
//! PORT is a serial port (a board's `/dev/ttyACM0`, or a pty such as QEMU's
//! `-serial pty`), a Unix socket (QEMU's `-chardev socket,path=P,server=on`:
//! what `firmware/qemu-test.sh` uses) or a TCP `host:port` (`-serial
//! tcp:...,server=on`). The streams are sent back to back, each byte only
//! once the device asked for it (the flow control of `vqtans::link`: a board
//! does not read its UART while it decodes), while the device's verified
//! groups are received; every frame is compared as it arrives with the
//! original's (`--expect`, one `.npy` per stream) or, without it, with what
//! the host's own decoder makes of the stream with the table set. The host
//! decodes each stream first anyway, so for a damaged or cut-short stream it
//! says where the device must stop.
//!
//! Output: a line per stream as it comes back whole (frames, groups, time,
//! frames/s, bytes/s each way) and a closing line for the session. With `-o`
//! (one per stream) each stream's frames are written as an int16 `(frames, 8,
//! 16)` `.npy` file (byte-identical to a numpy-saved original), atomically,
//! and only once every stream came back whole and right: the device sends
//! only verified groups, but a session that fails writes nothing.
//!
//! Exit status: 0 when every stream came back whole and identical; 1 on the
//! first frame that differs, when the device stops sending before a stream's
//! last frame (it reported a failure, closed the link, or nothing came for
//! `--timeout`), when it does not speak the link protocol, or when
//! an input is wrong; one line names the stream, the frame and the group, and
//! what the host's decoder makes of that group. 2 for a usage error.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Result};

use super::args::parse_seconds;
use crate::io::{write_npy_i16, InputSet, Output};
use crate::link::plan::{plan, StreamPlan};
use crate::link::port;
use crate::link::session::{self, Failure, FailureKind, StreamDone, FRAME_BYTES};
use crate::tables::TableFile;

/// Options of `link`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The device: a serial port (`/dev/ttyACM0`, a pty), a Unix socket, or a
    /// TCP `host:port`.
    #[arg(long, value_name = "PORT")]
    pub port: String,
    /// A table set the streams were encoded with (repeatable: each stream
    /// names its own by id). The device must hold the same.
    #[arg(long, value_name = "TABLES", required = true)]
    pub tables: Vec<PathBuf>,
    /// The streams to send, in order, back to back.
    #[arg(value_name = "STREAM", required = true)]
    pub streams: Vec<PathBuf>,
    /// The original `.npy` of each stream, in the same order: the frames that
    /// come back must equal them (without it: the host's decoding of the
    /// stream).
    #[arg(long, value_name = "ORIGINAL.npy", num_args = 1..)]
    pub expect: Vec<PathBuf>,
    /// Write each stream's frames to this `.npy` file (one per stream, in
    /// order), once the whole session succeeded.
    #[arg(short = 'o', long = "output", value_name = "OUT.npy", num_args = 1..)]
    pub output: Vec<PathBuf>,
    /// Seconds to wait for the next byte from the device (or for the device
    /// to take one) before giving up.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub timeout: Duration,
    /// Baud rate of a serial port (a pty or socket ignores it).
    #[arg(long, value_name = "N", default_value_t = 115_200)]
    pub baud: u32,
}

/// Runs `link`.
pub fn run(args: &Args) -> Result<()> {
    let n = args.streams.len();
    for (what, given) in [("--expect", args.expect.len()), ("-o", args.output.len())] {
        if given != 0 && given != n {
            return Err(super::usage(format!("{what} takes one file per STREAM: {given} given for {n} stream(s)")));
        }
    }
    let tables = args.tables.iter().map(|t| TableFile::load(t)).collect::<Result<Vec<_>>>()?;
    let mut inputs = InputSet::new();
    inputs.extend(args.tables.iter().chain(&args.streams).chain(&args.expect));
    let outputs = args.output.iter().map(|o| Output::plan(o, &inputs)).collect::<Result<Vec<_>, _>>()?;
    let plans = args
        .streams
        .iter()
        .enumerate()
        .map(|(i, s)| plan(s, &tables, args.expect.get(i).map(PathBuf::as_path)))
        .collect::<Result<Vec<_>>>()?;
    for (i, p) in plans.iter().enumerate() {
        if let Some(present) = p.cut_short {
            println!(
                "stream {i} ({}) is cut short: {present} of its {} payload bytes; the host's decoder verifies {} of \
                 its {} frames ({})",
                p.name,
                p.header.payload_len,
                p.verified_frames,
                p.frames(),
                p.host_failure.as_deref().unwrap_or("every group")
            );
        } else if let Some(failure) = &p.host_failure {
            println!(
                "stream {i} ({}) is damaged: the host's decoder verifies {} of its {} frames ({failure})",
                p.name,
                p.verified_frames,
                p.frames()
            );
        }
    }
    let link = port::open(&args.port, args.baud, args.timeout)?;
    let sent: usize = plans.iter().map(|p| p.bytes.len()).sum();
    println!("link: {n} stream(s), {sent} bytes, over {}", link.what);
    let mut received = Vec::with_capacity(n);
    let elapsed = session::run(link, &plans, |done| {
        println!("{}", stream_line(done, &plans[done.stream]));
        received.push(done.tokens.clone());
    })
    .map_err(|f| describe(&f, &plans))?;
    for ((output, tokens), plan) in outputs.into_iter().zip(&received).zip(&plans) {
        let shown = output.shown();
        output.write(&write_npy_i16(tokens, plan.frames() as usize), &inputs)?;
        println!("wrote {} frames to {shown}", plan.frames());
    }
    let frames: u64 = plans.iter().map(|p| u64::from(p.frames())).sum();
    let back = frames * FRAME_BYTES as u64;
    println!(
        "link: all {n} stream(s) came back whole and identical: {frames} frames in {:.2} s, {}; {}",
        elapsed.as_secs_f64(),
        rate(frames, elapsed, "frames/s"),
        rates(sent as u64, back, elapsed)
    );
    Ok(())
}

/// The line for a stream that came back.
fn stream_line(done: &StreamDone, plan: &StreamPlan) -> String {
    let frames = u64::from(plan.frames());
    format!(
        "stream {} ({}): {frames} frames in {} groups back, identical to {}; {:.2} s, {}; {}",
        done.stream,
        plan.name,
        plan.header.groups(),
        plan.expected_from,
        done.elapsed.as_secs_f64(),
        rate(frames, done.elapsed, "frames/s"),
        rates(plan.bytes.len() as u64, frames * FRAME_BYTES as u64, done.elapsed)
    )
}

/// `N UNIT` per second over `elapsed`, one decimal.
fn rate(count: u64, elapsed: Duration, unit: &str) -> String {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        format!("{:.1} {unit}", count as f64 / secs)
    } else {
        format!("- {unit}")
    }
}

/// Bytes per second each way.
fn rates(sent: u64, received: u64, elapsed: Duration) -> String {
    format!("{} sent, {} received", rate(sent, elapsed, "B/s"), rate(received, elapsed, "B/s"))
}

/// The one-line message of a failed session.
fn describe(failure: &Failure, plans: &[StreamPlan]) -> anyhow::Error {
    let plan = &plans[failure.stream];
    let frame = failure.frame;
    let group = plan.group_of(frame);
    let at = format!("stream {} ({}) frame {frame}, group {group}", failure.stream, plan.name);
    match &failure.kind {
        FailureKind::Mismatch(d) => {
            anyhow!("{at}: the device sent a frame that differs from {}: {d}", plan.expected_from)
        }
        FailureKind::Unverified => anyhow!(
            "{at}: the device sent a frame of a group that does not verify on the host ({})",
            plan.host_failure.as_deref().unwrap_or("none")
        ),
        FailureKind::GroupSize { sent, expected } => {
            anyhow!("{at}: the device announced a group of {sent} frames where the stream's group has {expected}")
        }
        FailureKind::Stopped { stop, partial } => {
            let whole = frame / plan.header.group_frames();
            let bytes = if *partial > 0 { format!(" and {partial} bytes of the next") } else { String::new() };
            let host = match &plan.host_failure {
                Some(h) if plan.verified_frames == frame => format!("the host's decoder also stops there ({h})"),
                Some(h) => format!("the host's decoder verifies {} frames ({h})", plan.verified_frames),
                None => "the stream is intact on the host: the device refused or failed it (see its log)".into(),
            };
            anyhow!(
                "{at}: {stop}; it sent {frame} of {} frames ({whole} groups){bytes}, identical to {}; {host}",
                plan.frames(),
                plan.expected_from
            )
        }
    }
}

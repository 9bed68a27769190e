//! One session with the device in the link protocol of `vqtans::link`: the
//! streams are sent back to back on one thread, but never past the offset the
//! device last asked for (it reads its UART only while it waits for bytes, and
//! a real UART holds one or a few); the other thread receives the device's
//! messages, passes its requests on to the sending thread, and compares each
//! verified group's frames, as they arrive, with the plan's. A group's size
//! must be the stream's (the host knows it from each header), and a device
//! that reports a failure ends the session at once.

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use vqtans::link::{Message, Parsed, NO_GROUP};

use super::plan::StreamPlan;
use super::port::{is_timeout, Link};
use crate::diff::{first_difference, Difference};
use crate::io::tokens::TOKENS_PER_FRAME;

/// Bytes of one frame on the link.
pub const FRAME_BYTES: usize = vqtans::link::FRAME_BYTES;
const _: () = assert!(FRAME_BYTES == 2 * TOKENS_PER_FRAME);

/// Why the device's frames stopped coming.
#[derive(Debug)]
pub enum Stop {
    /// The other end closed the link (QEMU exited): end of file, or a reset
    /// after the last byte.
    Closed,
    /// Nothing arrived for the link's timeout; `asked` is false if the device
    /// never asked for a byte in the whole session.
    Silent { timeout: Duration, asked: bool },
    /// Reading failed otherwise (a serial port hung up, a board was unplugged).
    Lost(io::Error),
    /// The device reported a failure in this group ([`NO_GROUP`]: before the
    /// stream's first group).
    Failed { group: u32 },
    /// A byte where a message begins is no message of the protocol.
    Garbled(u8),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Closed => f.write_str("the device closed the link"),
            Stop::Silent { timeout, asked: true } => {
                write!(f, "no byte from the device for {} s", timeout.as_secs_f64())
            }
            Stop::Silent { timeout, asked: false } => write!(
                f,
                "no byte from the device for {} s: it never asked for the stream (is its link image running, \
                 on this port, at this baud rate?)",
                timeout.as_secs_f64()
            ),
            Stop::Lost(e) => write!(f, "the link failed: {e}"),
            Stop::Failed { group: NO_GROUP } => {
                f.write_str("the device refused the stream before its first group (its log says why)")
            }
            Stop::Failed { group } => write!(f, "the device failed in group {group} (its log says why)"),
            Stop::Garbled(byte) => write!(
                f,
                "the device sent byte 0x{byte:02x} where a message begins: not the link protocol of this \
                 host-tools (firmware of another version?)"
            ),
        }
    }
}

/// How a session failed, in stream `stream` (an index into the plans) at
/// frame `frame` (the first frame not received whole and right).
#[derive(Debug)]
pub struct Failure {
    /// The stream.
    pub stream: usize,
    /// Frames of the stream received whole and identical to the expected ones.
    pub frame: u32,
    /// What happened there.
    pub kind: FailureKind,
}

/// What went wrong at [`Failure::frame`].
#[derive(Debug)]
pub enum FailureKind {
    /// The frames stopped coming; `partial` bytes of the next frame had arrived.
    Stopped { stop: Stop, partial: usize },
    /// The device sent a frame that differs from the expected one.
    Mismatch(Difference),
    /// The device sent a frame of a group that does not verify on the host.
    Unverified,
    /// The device announced a group of `sent` frames where the stream's group
    /// has `expected`.
    GroupSize { sent: u16, expected: u32 },
}

/// A stream that came back whole and right.
pub struct StreamDone {
    /// Its index among the plans.
    pub stream: usize,
    /// Its tokens as received (`frames * 128`).
    pub tokens: Vec<u16>,
    /// From the end of the previous stream (or the start of the session) to
    /// its last byte.
    pub elapsed: Duration,
}

/// Runs the session: sends every planned stream over `link` as the device
/// asks for it and receives each stream's groups, comparing every frame with
/// the plan's as it arrives; `done` is called for each stream once it came
/// back whole and right. Never waits longer than the link's timeout for a
/// byte, and never sends a byte the device has not asked for.
///
/// Returns the whole session's time, or the first [`Failure`] (a frame that
/// differs is reported at once).
pub fn run(link: Link, plans: &[StreamPlan], mut done: impl FnMut(&StreamDone)) -> Result<Duration, Failure> {
    let Link { reader, writer, timeout, .. } = link;
    let payload: Vec<u8> = plans.iter().flat_map(|p| p.bytes.iter().copied()).collect();
    let start = Instant::now();
    // Sending runs on its own thread, so that a write held up by a slow port
    // never holds up reading what the device sends meanwhile. A write that
    // makes no progress for the link's timeout ends the thread; the receiving
    // side then reports the silence.
    let (requests, asked) = mpsc::channel();
    std::thread::spawn(move || send_as_asked(writer, &payload, &asked));
    let mut receiver = Receiver { reader, held: Vec::new(), timeout, requests, asked: false };
    let mut last = start;
    let mut bytes = [0u8; FRAME_BYTES];
    let mut frame = [0u16; TOKENS_PER_FRAME];
    for (stream, plan) in plans.iter().enumerate() {
        let mut tokens = Vec::with_capacity(plan.frames() as usize * TOKENS_PER_FRAME);
        let mut f = 0;
        while f < plan.frames() {
            let fail = |f, kind| Failure { stream, frame: f, kind };
            let expected = plan.header.group_frames().min(plan.frames() - f);
            match receiver.next_group() {
                Ok(frames) if u32::from(frames) == expected => {}
                Ok(frames) => return Err(fail(f, FailureKind::GroupSize { sent: frames, expected })),
                Err(stop) => return Err(fail(f, FailureKind::Stopped { stop, partial: 0 })),
            }
            for _ in 0..expected {
                if let Err((stop, partial)) = receiver.fill(&mut bytes) {
                    return Err(fail(f, FailureKind::Stopped { stop, partial }));
                }
                for (token, pair) in frame.iter_mut().zip(bytes.chunks_exact(2)) {
                    *token = u16::from_le_bytes([pair[0], pair[1]]);
                }
                let at = f as usize * TOKENS_PER_FRAME;
                if let Some(expected) = plan.expected.get(at..at + TOKENS_PER_FRAME) {
                    if let Some(d) = first_difference(&frame, expected, at) {
                        return Err(fail(f, FailureKind::Mismatch(d)));
                    }
                }
                if f >= plan.verified_frames {
                    return Err(fail(f, FailureKind::Unverified));
                }
                tokens.extend_from_slice(&frame);
                f += 1;
            }
        }
        let now = Instant::now();
        done(&StreamDone { stream, tokens, elapsed: now - last });
        last = now;
    }
    Ok(last - start)
}

/// The sending thread: for each offset the device asks for, sends `payload`
/// up to it (a request for no more than was sent already sends nothing).
/// Ends when the receiving side is done, or a write fails.
fn send_as_asked(mut writer: Box<dyn Write + Send>, payload: &[u8], asked: &mpsc::Receiver<u64>) {
    let mut sent = 0usize;
    while let Ok(upto) = asked.recv() {
        let end = usize::try_from(upto).unwrap_or(usize::MAX).min(payload.len());
        if end > sent {
            if writer.write_all(&payload[sent..end]).and_then(|()| writer.flush()).is_err() {
                return;
            }
            sent = end;
        }
    }
}

/// The reading end, with the bytes read past what was taken so far.
struct Receiver {
    reader: Box<dyn Read + Send>,
    held: Vec<u8>,
    /// The link's timeout (for messages).
    timeout: Duration,
    /// The device's requests, to the sending thread.
    requests: mpsc::Sender<u64>,
    /// The device asked for bytes at least once.
    asked: bool,
}

impl Receiver {
    /// The frame count of the next group the device announces (requests are
    /// passed to the sending thread on the way), or why none came: a
    /// failure it reported, or the link's.
    fn next_group(&mut self) -> Result<u16, Stop> {
        loop {
            let (message, len) = match Message::parse(&self.held) {
                Parsed::Message(message, len) => (message, len),
                Parsed::Incomplete(need) => {
                    self.read_until(need).map_err(|(stop, _)| stop)?;
                    continue;
                }
                Parsed::Unknown(byte) => return Err(Stop::Garbled(byte)),
            };
            self.held.drain(..len);
            match message {
                Message::Request { upto } => {
                    self.asked = true;
                    // The sending thread is gone only after a failed write;
                    // the silence that follows is reported instead.
                    let _ = self.requests.send(upto);
                }
                Message::Group { frames } => return Ok(frames),
                Message::Failed { group } => return Err(Stop::Failed { group }),
            }
        }
    }

    /// Fills `frame` with the next bytes from the device, or says why they did
    /// not come and how many of them had.
    fn fill(&mut self, frame: &mut [u8; FRAME_BYTES]) -> Result<(), (Stop, usize)> {
        self.read_until(FRAME_BYTES)?;
        frame.copy_from_slice(&self.held[..FRAME_BYTES]);
        self.held.drain(..FRAME_BYTES);
        Ok(())
    }

    /// Reads until at least `n` bytes are held, or says why they did not come
    /// and how many were held.
    fn read_until(&mut self, n: usize) -> Result<(), (Stop, usize)> {
        let mut chunk = [0u8; 4096];
        while self.held.len() < n {
            match self.reader.read(&mut chunk) {
                // A socket whose other end closed with bytes of ours unread
                // (the firmware stopped reading, then QEMU exited) reports a
                // reset once the bytes sent before it were read.
                Ok(0) => return Err((Stop::Closed, self.held.len())),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Err((Stop::Closed, self.held.len())),
                Ok(n) => self.held.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    return Err((Stop::Silent { timeout: self.timeout, asked: self.asked }, self.held.len()))
                }
                Err(e) => return Err((Stop::Lost(e), self.held.len())),
            }
        }
        Ok(())
    }
}

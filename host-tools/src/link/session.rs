//! One session with the device: every stream sent back to back on one thread,
//! the verified frames received and compared on the other, stream after
//! stream, as the device protocol has them (`firmware/src/link.rs`): the
//! device answers each checksum group, once verified, with its frames as
//! 128 `u16` little-endian tokens each, and after the first failure sends
//! nothing more. There is no other framing: the host knows from each header
//! how many frames to expect, so bytes are assigned to streams and frames by
//! count alone.

use std::fmt;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use super::plan::StreamPlan;
use super::port::{is_timeout, Link};
use crate::diff::{first_difference, Difference};
use crate::io::tokens::TOKENS_PER_FRAME;

/// Bytes of one frame on the link.
pub const FRAME_BYTES: usize = 2 * TOKENS_PER_FRAME;

/// Why the device's frames stopped coming.
#[derive(Debug)]
pub enum Stop {
    /// The other end closed the link (QEMU exited): end of file, or a reset
    /// after the last byte.
    Closed,
    /// Nothing arrived for the link's timeout.
    Silent(Duration),
    /// Reading failed otherwise (a serial port hung up, a board was unplugged).
    Lost(io::Error),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Closed => f.write_str("the device closed the link"),
            Stop::Silent(t) => write!(f, "no byte from the device for {} s", t.as_secs_f64()),
            Stop::Lost(e) => write!(f, "the link failed: {e}"),
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

/// Runs the session: sends every planned stream over `link` and receives
/// each stream's frames, comparing every frame with the plan's as it
/// arrives; `done` is called for each stream once it came back whole and
/// right. Never waits longer than the link's timeout for a byte.
///
/// Returns every stream's tokens and the whole session's time, or the first
/// [`Failure`] (a frame that differs is reported at once).
pub fn run(link: Link, plans: &[StreamPlan], mut done: impl FnMut(&StreamDone)) -> Result<Duration, Failure> {
    let Link { reader, mut writer, timeout, .. } = link;
    let payload: Vec<u8> = plans.iter().flat_map(|p| p.bytes.iter().copied()).collect();
    let start = Instant::now();
    // Sending runs alongside receiving: the device answers a group while the
    // next one is still on its way, and a device blocked on sending (its
    // host not reading) would stop reading in turn. A write that makes no
    // progress for the link's timeout ends the thread; the receiving side
    // then reports the silence.
    std::thread::spawn(move || writer.write_all(&payload).and_then(|()| writer.flush()));
    let mut receiver = Receiver { reader, held: Vec::new(), timeout };
    let mut last = start;
    let mut bytes = [0u8; FRAME_BYTES];
    let mut frame = [0u16; TOKENS_PER_FRAME];
    for (stream, plan) in plans.iter().enumerate() {
        let mut tokens = Vec::with_capacity(plan.frames() as usize * TOKENS_PER_FRAME);
        for f in 0..plan.frames() {
            let fail = |kind| Failure { stream, frame: f, kind };
            if let Err((stop, partial)) = receiver.fill(&mut bytes) {
                return Err(fail(FailureKind::Stopped { stop, partial }));
            }
            for (token, pair) in frame.iter_mut().zip(bytes.chunks_exact(2)) {
                *token = u16::from_le_bytes([pair[0], pair[1]]);
            }
            let at = f as usize * TOKENS_PER_FRAME;
            if let Some(expected) = plan.expected.get(at..at + TOKENS_PER_FRAME) {
                if let Some(d) = first_difference(&frame, expected, at) {
                    return Err(fail(FailureKind::Mismatch(d)));
                }
            }
            if f >= plan.verified_frames {
                return Err(fail(FailureKind::Unverified));
            }
            tokens.extend_from_slice(&frame);
        }
        let now = Instant::now();
        done(&StreamDone { stream, tokens, elapsed: now - last });
        last = now;
    }
    Ok(last - start)
}

/// The reading end, with the bytes read past the frame being filled.
struct Receiver {
    reader: Box<dyn Read + Send>,
    held: Vec<u8>,
    /// The link's timeout (for messages).
    timeout: Duration,
}

impl Receiver {
    /// Fills `frame` with the next bytes from the device, or says why they did
    /// not come and how many of them had.
    fn fill(&mut self, frame: &mut [u8; FRAME_BYTES]) -> Result<(), (Stop, usize)> {
        let mut chunk = [0u8; 4096];
        while self.held.len() < FRAME_BYTES {
            match self.reader.read(&mut chunk) {
                // A socket whose other end closed with bytes of ours unread
                // (the firmware stopped reading, then QEMU exited) reports a
                // reset once the bytes sent before it were read.
                Ok(0) => return Err((Stop::Closed, self.held.len())),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Err((Stop::Closed, self.held.len())),
                Ok(n) => self.held.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => return Err((Stop::Silent(self.timeout), self.held.len())),
                Err(e) => return Err((Stop::Lost(e), self.held.len())),
            }
        }
        frame.copy_from_slice(&self.held[..FRAME_BYTES]);
        self.held.drain(..FRAME_BYTES);
        Ok(())
    }
}

//! `host-tools link` against a fake device implemented here with the codec's
//! streaming decoder (`vqtans::stream`, the same code the firmware runs): over
//! a pty (the serial-port path a real board takes), a Unix socket (what
//! `firmware/qemu-test.sh` uses with QEMU) and TCP. The real segments are
//! encoded leave-one-out, as in the firmware tests. The device's behaviour
//! (intact, damaged, cut short, a wrong token, silence) is fixed by the test,
//! so every outcome and message is exact.

mod common;

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::Duration;

use common::{host_tools, real, run_ok, tables_from};
use vqtans::link::{Message, NO_GROUP};
use vqtans::stream::{read_header, Frame, StreamDecoder};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};

/// Frames per checksum group of the encoder's streams.
const GROUP: u32 = 20;

/// The files of the tests: per real segment i, tables from the other segment,
/// the stream of segment i with them, and the original `.npy`.
struct Files {
    dir: PathBuf,
    tables: [PathBuf; 2],
    streams: [PathBuf; 2],
}

fn files() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("link-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tables = [tables_from(1), tables_from(0)];
        let streams = [0, 1].map(|i| {
            let out = dir.join(format!("seg{i}.vqt"));
            run_ok(&[&"encode", &"--tables", &tables[i], &"-o", &out, &real(i)]);
            out
        });
        Files { dir, tables, streams }
    })
}

/// A fresh path in the test folder.
fn path(name: &str) -> PathBuf {
    files().dir.join(name)
}

/// What the fake device does.
#[derive(Clone, Copy)]
enum Device {
    /// As the firmware: each verified group back, nothing after a failure.
    Honest,
    /// As `Honest`, but token 3 of frame `frame` is sent one higher.
    FlipToken { frame: u32 },
    /// As `Honest`, but sends every request twice.
    AsksTwice,
    /// Sends a zero byte where its first message should begin.
    Garbled,
    /// As `Honest`, but announces and sends each group one frame short.
    ShortGroups,
    /// Reads everything and never answers (never asks for a byte).
    Mute,
}

/// The fake device's UART: each read first asks the host for the bytes it
/// takes (a `Request`, as the firmware's receiver does), and every byte that
/// arrives is checked against what was asked for: a host that sends past the
/// last request would overrun a real UART, and the device fails the session
/// saying so.
struct Uart<L> {
    link: L,
    /// Bytes that arrived and were not taken yet.
    staged: Vec<u8>,
    /// Bytes taken by reads so far (the session offset).
    taken: u64,
    /// The offset asked for last.
    requested: u64,
    /// Send each request twice (as a device whose host may have missed one).
    twice: bool,
    /// Set when the host sent past a request.
    overrun: Option<String>,
    /// The pty's slave side, held open until the host's first byte arrives
    /// (the host has the port open by then; held longer, it would keep the
    /// link from ending when the host closes it).
    slave: Option<File>,
}

#[derive(Debug)]
struct LinkDown;

impl embedded_io::Error for LinkDown {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

impl<L> embedded_io::ErrorType for Uart<L> {
    type Error = LinkDown;
}

impl<L: Read + Write> Uart<L> {
    fn send(&mut self, message: Message) -> io::Result<()> {
        self.link.write_all(&message.to_bytes()[..message.len()])
    }
}

impl<L: Read + Write> embedded_io::Read for Uart<L> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkDown> {
        let upto = self.taken + buf.len() as u64;
        if upto > self.requested {
            self.requested = upto;
            for _ in 0..if self.twice { 2 } else { 1 } {
                self.send(Message::Request { upto }).map_err(|_| LinkDown)?;
            }
        }
        while self.staged.is_empty() {
            let mut chunk = [0u8; 4096];
            match self.link.read(&mut chunk) {
                Ok(0) => return Ok(0),
                Ok(n) => {
                    self.staged.extend_from_slice(&chunk[..n]);
                    self.slave = None;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(LinkDown),
            }
            let arrived = self.taken + self.staged.len() as u64;
            if arrived > self.requested {
                self.overrun =
                    Some(format!("the host sent up to byte {arrived}, past the {} asked for", self.requested));
                return Err(LinkDown);
            }
        }
        let n = buf.len().min(self.staged.len());
        buf[..n].copy_from_slice(&self.staged[..n]);
        self.staged.drain(..n);
        self.taken += n as u64;
        Ok(n)
    }
}

/// Serves one session on `link` with the table sets of `files()`: streams
/// until the link ends or a stream fails (then it sends `Failed`, as the
/// firmware does); returns how many frames it sent, or the overrun it saw.
fn serve<L: Read + Write>(link: L, slave: Option<File>, device: Device) -> Result<u32, String> {
    let blobs: Vec<Vec<u8>> = files().tables.iter().map(|t| std::fs::read(t).unwrap()).collect();
    let sets: Vec<TableSetRef<'_>> = blobs.iter().map(|b| TableSetRef::from_bytes(b).unwrap()).collect();
    let compiled: Vec<OwnedDecodeTables> = sets.iter().map(|s| OwnedDecodeTables::new(s).unwrap()).collect();
    let mut uart = Uart {
        link,
        staged: Vec::new(),
        taken: 0,
        requested: 0,
        twice: matches!(device, Device::AsksTwice),
        overrun: None,
        slave,
    };
    let mut sent = 0;
    if let Device::Garbled = device {
        let _ = uart.link.write_all(&[0]);
    }
    if let Device::Mute | Device::Garbled = device {
        let mut sink = [0u8; 4096];
        while matches!(uart.link.read(&mut sink), Ok(n) if n > 0) {}
        return Ok(0);
    }
    let failed = loop {
        let Ok(header) = read_header(&mut uart) else { break NO_GROUP };
        let Some(i) = sets.iter().position(|s| s.id() == header.table_set_id) else { break NO_GROUP };
        let mut held: Vec<Frame> = vec![[0; 128]; GROUP as usize];
        let mut decoder = StreamDecoder::new(header, &sets[i], compiled[i].view(), &mut held).unwrap();
        let failed = loop {
            let group = match decoder.next_group(&mut uart) {
                Ok(Some(group)) => group,
                Ok(None) => break None,
                Err(e) => break Some(e.group().unwrap_or(NO_GROUP)),
            };
            let frames = match device {
                Device::ShortGroups => &group.frames[1..],
                _ => group.frames,
            };
            let mut bytes = Message::Group { frames: frames.len() as u16 }.to_bytes()[..3].to_vec();
            for (k, frame) in frames.iter().enumerate() {
                for (t, token) in frame.iter().enumerate() {
                    let flip = matches!(device, Device::FlipToken { frame } if frame == group.first_frame + k as u32);
                    let token = if flip && t == 3 { token + 1 } else { *token };
                    bytes.extend_from_slice(&token.to_le_bytes());
                }
            }
            if uart.link.write_all(&bytes).is_err() {
                return Ok(sent);
            }
            sent += group.frames.len() as u32;
        };
        if let Some(group) = failed {
            break group;
        }
    };
    if let Some(overrun) = uart.overrun {
        return Err(overrun);
    }
    let _ = uart.send(Message::Failed { group: failed });
    Ok(sent)
}

/// A pty: the fake device on its master (in a thread), and the slave's path
/// for `link --port`. The master stays open until the session ends. The
/// slave is put in raw mode and held open here first, as a USB serial port
/// is: the device's first request waits in it, unaltered (a pty's default
/// line discipline would echo it back and translate its bytes), until `link`
/// opens the port.
fn pty_device(device: Device) -> (String, JoinHandle<Result<u32, String>>) {
    // SAFETY: plain libc calls on fresh descriptors; ptsname_r writes at most
    // the buffer's length; tcgetattr fills the termios before it is read.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt: {}", io::Error::last_os_error());
        assert_eq!(libc::grantpt(fd), 0);
        assert_eq!(libc::unlockpt(fd), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
        let slave = std::ffi::CStr::from_ptr(name.as_ptr()).to_str().unwrap().to_string();
        let master = File::from_raw_fd(fd);
        let held = File::options().read(true).write(true).open(&slave).unwrap();
        let mut raw = std::mem::MaybeUninit::<libc::termios>::uninit();
        assert_eq!(libc::tcgetattr(held.as_raw_fd(), raw.as_mut_ptr()), 0);
        let mut raw = raw.assume_init();
        libc::cfmakeraw(&mut raw);
        assert_eq!(libc::tcsetattr(held.as_raw_fd(), libc::TCSANOW, &raw), 0);
        (slave, std::thread::spawn(move || serve(master, Some(held), device)))
    }
}

/// A Unix socket the fake device listens on (it closes the link when its
/// session ends, as QEMU does when the firmware exits).
fn unix_device(
    name: &str,
    device: Device,
    read_timeout: Option<Duration>,
) -> (String, JoinHandle<Result<u32, String>>) {
    let sock = path(name);
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock).unwrap();
    let handle = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(read_timeout).unwrap();
        serve(conn, None, device)
    });
    (sock.to_str().unwrap().to_string(), handle)
}

/// The same over TCP on 127.0.0.1 (a port the system picks).
fn tcp_device(device: Device, read_timeout: Option<Duration>) -> (String, JoinHandle<Result<u32, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let handle = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(read_timeout).unwrap();
        serve(conn, None, device)
    });
    (port, handle)
}

/// Runs `host-tools link --port PORT ARGS...`; returns the status code, stdout and stderr.
fn link(port: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> (i32, String, String) {
    let out = host_tools()
        .arg("link")
        .arg("--port")
        .arg(port)
        .args(args)
        .timeout(Duration::from_secs(600))
        .output()
        .expect("run host-tools link");
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().expect("exited"), text(out.stdout), text(out.stderr))
}

/// The stream of segment `i` with byte `at` inverted, as a file.
fn damaged(i: usize, at: usize, name: &str) -> PathBuf {
    let mut bytes = std::fs::read(&files().streams[i]).unwrap();
    bytes[at] ^= 0xff;
    let out = path(name);
    std::fs::write(&out, bytes).unwrap();
    out
}

/// The byte ranges `host-tools groups` gives for segment `i`'s stream.
fn group_bytes(i: usize) -> Vec<(usize, usize)> {
    let f = files();
    let out = run_ok(&[&"groups", &"--tables", &f.tables[i], &f.streams[i]]);
    out.lines()
        .filter(|l| l.starts_with("group "))
        .map(|l| {
            let range = l.split_whitespace().nth(7).unwrap();
            let (a, b) = range.split_once("..").unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect()
}

#[test]
fn two_streams_over_a_pty_come_back_identical_and_are_written_out() {
    let f = files();
    let (port, device) = pty_device(Device::Honest);
    let outs = [path("pty-back-0.npy"), path("pty-back-1.npy")];
    let (code, stdout, stderr) = link(
        &port,
        &[
            &"--tables",
            &f.tables[0],
            &"--tables",
            &f.tables[1],
            &f.streams[0],
            &f.streams[1],
            &"--expect",
            &real(0),
            &real(1),
            &"-o",
            &outs[0],
            &outs[1],
            &"--timeout",
            &"120",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("over serial port {port} at 115200 baud")), "{stdout}");
    for (i, out) in outs.iter().enumerate() {
        let line = format!(
            "stream {i} ({}): 1200 frames in 60 groups back, identical to {}; ",
            f.streams[i].display(),
            real(i).display()
        );
        assert!(stdout.contains(&line), "{line:?} not in {stdout}");
        // What came back, written out, is the original file byte for byte.
        assert_eq!(std::fs::read(out).unwrap(), std::fs::read(real(i)).unwrap());
    }
    assert!(stdout.contains("link: all 2 stream(s) came back whole and identical: 2400 frames in "), "{stdout}");
    assert!(stdout.contains(" frames/s; ") && stdout.contains(" B/s sent, "), "{stdout}");
    assert_eq!(device.join().unwrap(), Ok(2400));
}

#[test]
fn without_expect_the_frames_are_compared_with_the_hosts_decoding() {
    let f = files();
    let (port, device) = unix_device("plain.sock", Device::Honest, None);
    let (code, stdout, stderr) = link(&port, &[&"--tables", &f.tables[1], &f.streams[1]]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("over Unix socket {port}")), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "stream 0 ({}): 1200 frames in 60 groups back, identical to the host's decoding; ",
            f.streams[1].display()
        )),
        "{stdout}"
    );
    assert_eq!(device.join().unwrap(), Ok(1200));
}

#[test]
fn a_damaged_stream_comes_back_up_to_its_bad_group_and_fails() {
    let f = files();
    let (start, end) = group_bytes(0)[7];
    let stream = damaged(0, (start + end) / 2, "damaged.vqt");
    let out = path("damaged-back.npy");
    let (port, device) = unix_device("damaged.sock", Device::Honest, None);
    let (code, stdout, stderr) = link(&port, &[&"--tables", &f.tables[0], &stream, &"--expect", &real(0), &"-o", &out]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "stream 0 ({}) is damaged: the host's decoder verifies 140 of its 1200 frames (group 7: ",
            stream.display()
        )),
        "{stdout}"
    );
    let want = format!(
        "error: stream 0 ({}) frame 140, group 7: the device failed in group 7 (its log says why); it sent 140 of \
         1200 frames (7 groups), identical to {}; the host's decoder also stops there (group 7: ",
        stream.display(),
        real(0).display()
    );
    assert!(stderr.starts_with(&want), "{want:?} is not the start of {stderr:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!out.exists(), "a failed session wrote {}", out.display());
    assert_eq!(device.join().unwrap(), Ok(140));
}

#[test]
fn a_stream_cut_short_gives_exactly_its_whole_groups_over_tcp() {
    let f = files();
    let full = std::fs::read(&f.streams[1]).unwrap();
    let cut = full.len() / 2;
    let whole = group_bytes(1).iter().filter(|(_, end)| *end <= cut).count() as u32;
    assert!(whole > 0 && whole < 60);
    let stream = path("half.vqt");
    std::fs::write(&stream, &full[..cut]).unwrap();
    // The device gives up on a silent link after 2 s (as the firmware does
    // after its link timeout), says so and closes it. link sends what the
    // device asks for up to the cut, so the device sees silence only after
    // it.
    let (port, device) = tcp_device(Device::Honest, Some(Duration::from_secs(2)));
    let (code, stdout, stderr) =
        link(&port, &[&"--tables", &f.tables[1], &stream, &"--expect", &real(1), &"--timeout", &"120"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains(&format!("over TCP {port}")), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "stream 0 ({}) is cut short: {} of its {} payload bytes",
            stream.display(),
            cut - 32,
            full.len() - 32
        )),
        "{stdout}"
    );
    let frames = whole * GROUP;
    let want = format!(
        "error: stream 0 ({}) frame {frames}, group {whole}: the device failed in group {whole} (its log says why); \
         it sent {frames} of 1200 frames ({whole} groups), identical to {}; the host's decoder also stops there \
         (group {whole}: ",
        stream.display(),
        real(1).display()
    );
    assert!(stderr.starts_with(&want), "{want:?} is not the start of {stderr:?}");
    assert_eq!(device.join().unwrap(), Ok(frames));
}

#[test]
fn a_frame_that_differs_is_named_at_once() {
    let f = files();
    let (port, _device) = unix_device("flip.sock", Device::FlipToken { frame: 25 }, None);
    let (code, _, stderr) = link(&port, &[&"--tables", &f.tables[0], &f.streams[0], &"--expect", &real(0)]);
    assert_eq!(code, 1);
    let original = run_original_token(0, 25, 3);
    let want = format!(
        "error: stream 0 ({}) frame 25, group 1: the device sent a frame that differs from {}: first difference at \
         frame 25 row 0 col 3: decoded {}, original {original}\n",
        f.streams[0].display(),
        real(0).display(),
        original + 1
    );
    assert_eq!(stderr, want);
}

/// Token `t` of frame `frame` of real segment `i`.
fn run_original_token(i: usize, frame: usize, t: usize) -> u16 {
    let bytes = std::fs::read(real(i)).unwrap();
    let at = common::HEADER + (frame * 128 + t) * 2;
    i16::from_le_bytes([bytes[at], bytes[at + 1]]) as u16
}

#[test]
fn a_silent_device_times_out_instead_of_hanging() {
    let f = files();
    let (port, _device) = pty_device(Device::Mute);
    let (code, _, stderr) = link(&port, &[&"--tables", &f.tables[0], &f.streams[0], &"--timeout", &"1"]);
    assert_eq!(code, 1);
    let want = format!(
        "error: stream 0 ({}) frame 0, group 0: no byte from the device for 1 s: it never asked for the stream (is \
         its link image running, on this port, at this baud rate?); it sent 0 of 1200 frames (0 groups), identical \
         to the host's decoding; the stream is intact on the host: the device refused or failed it (see its log)\n",
        f.streams[0].display()
    );
    assert_eq!(stderr, want);
}

#[test]
fn wrong_inputs_fail_before_anything_is_sent() {
    let f = files();
    // Usage: --expect and -o take one file per stream (exit 2).
    let (code, _, stderr) =
        link("/nonexistent/port", &[&"--tables", &f.tables[0], &f.streams[0], &f.streams[0], &"--expect", &real(0)]);
    assert_eq!(code, 2);
    assert_eq!(stderr, "error: --expect takes one file per STREAM: 1 given for 2 stream(s)\n");
    // A stream of another table set.
    let (code, _, stderr) = link("/nonexistent/port", &[&"--tables", &f.tables[0], &f.streams[1]]);
    assert_eq!(code, 1);
    assert!(stderr.contains(" which is none of --tables: "), "{stderr}");
    // An original that the stream does not decode to.
    let (code, _, stderr) =
        link("/nonexistent/port", &[&"--tables", &f.tables[0], &f.streams[0], &"--expect", &real(1)]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("does not decode to") && stderr.contains("on the host either: first difference at frame 0"),
        "{stderr}"
    );
    // A port that is nothing.
    let (code, _, stderr) = link("/nonexistent/port", &[&"--tables", &f.tables[0], &f.streams[0]]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("error: /nonexistent/port: no such serial port or socket (nor a host:port): "),
        "{stderr}"
    );
}

#[test]
fn a_request_sent_twice_asks_for_nothing_more() {
    // A device repeats a request when its host may have missed it (a board's
    // first, sent before the port was opened): offsets are absolute, so the
    // host sends each byte once, and never one that was not asked for (the
    // fake device fails the session on any byte past its last request).
    let f = files();
    let (port, device) = pty_device(Device::AsksTwice);
    let (code, stdout, stderr) = link(
        &port,
        &[&"--tables", &f.tables[0], &"--tables", &f.tables[1], &f.streams[0], &f.streams[1], &"--timeout", &"120"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("link: all 2 stream(s) came back whole and identical: 2400 frames in "), "{stdout}");
    assert_eq!(device.join().unwrap(), Ok(2400));
}

#[test]
fn a_device_that_does_not_speak_the_protocol_is_named_as_such() {
    let f = files();
    for (device, want) in [
        (Device::Garbled, "the device sent byte 0x00 where a message begins: not the link protocol of this host-tools"),
        (Device::ShortGroups, "the device announced a group of 19 frames where the stream's group has 20"),
    ] {
        let (port, _device) = unix_device("odd.sock", device, None);
        let (code, _, stderr) = link(&port, &[&"--tables", &f.tables[0], &f.streams[0], &"--timeout", &"120"]);
        assert_eq!(code, 1);
        let want = format!("error: stream 0 ({}) frame 0, group 0: {want}", f.streams[0].display());
        assert!(stderr.starts_with(&want), "{want:?} is not the start of {stderr:?}");
    }
}

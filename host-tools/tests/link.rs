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
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::Duration;

use common::{host_tools, real, run_ok, tables_from};
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
    /// Reads everything and never answers.
    Mute,
}

/// The fake device's reader: a `std::io::Read` as an `embedded_io::Read`.
struct Rx<'a, R>(&'a mut R);

#[derive(Debug)]
struct LinkDown;

impl embedded_io::Error for LinkDown {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

impl<R> embedded_io::ErrorType for Rx<'_, R> {
    type Error = LinkDown;
}

impl<R: Read> embedded_io::Read for Rx<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkDown> {
        loop {
            match self.0.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(LinkDown),
            }
        }
    }
}

/// Serves one session on `link` with the table sets of `files()`: streams
/// until the link ends or a stream fails; returns how many frames it sent.
fn serve<L: Read + Write>(mut link: L, device: Device) -> u32 {
    let blobs: Vec<Vec<u8>> = files().tables.iter().map(|t| std::fs::read(t).unwrap()).collect();
    let sets: Vec<TableSetRef<'_>> = blobs.iter().map(|b| TableSetRef::from_bytes(b).unwrap()).collect();
    let compiled: Vec<OwnedDecodeTables> = sets.iter().map(|s| OwnedDecodeTables::new(s).unwrap()).collect();
    let mut sent = 0;
    if let Device::Mute = device {
        let mut sink = [0u8; 4096];
        while matches!(link.read(&mut sink), Ok(n) if n > 0) {}
        return 0;
    }
    loop {
        let Ok(header) = read_header(&mut Rx(&mut link)) else { return sent };
        let Some(i) = sets.iter().position(|s| s.id() == header.table_set_id) else { return sent };
        let mut held: Vec<Frame> = vec![[0; 128]; GROUP as usize];
        let mut decoder = StreamDecoder::new(header, &sets[i], compiled[i].view(), &mut held).unwrap();
        loop {
            let group = match decoder.next_group(&mut Rx(&mut link)) {
                Ok(Some(group)) => group,
                Ok(None) => break,
                Err(_) => return sent,
            };
            let mut bytes = Vec::new();
            for (k, frame) in group.frames.iter().enumerate() {
                for (t, token) in frame.iter().enumerate() {
                    let flip = matches!(device, Device::FlipToken { frame } if frame == group.first_frame + k as u32);
                    let token = if flip && t == 3 { token + 1 } else { *token };
                    bytes.extend_from_slice(&token.to_le_bytes());
                }
            }
            if link.write_all(&bytes).is_err() {
                return sent;
            }
            sent += group.frames.len() as u32;
        }
    }
}

/// A pty: the fake device on its master (in a thread), and the slave's path
/// for `link --port`. The master stays open until the session ends.
fn pty_device(device: Device) -> (String, JoinHandle<u32>) {
    // SAFETY: plain libc calls on a fresh descriptor; ptsname_r writes at most
    // the buffer's length.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt: {}", io::Error::last_os_error());
        assert_eq!(libc::grantpt(fd), 0);
        assert_eq!(libc::unlockpt(fd), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
        let slave = std::ffi::CStr::from_ptr(name.as_ptr()).to_str().unwrap().to_string();
        let master = File::from_raw_fd(fd);
        (slave, std::thread::spawn(move || serve(master, device)))
    }
}

/// A Unix socket the fake device listens on (it closes the link when its
/// session ends, as QEMU does when the firmware exits).
fn unix_device(name: &str, device: Device, read_timeout: Option<Duration>) -> (String, JoinHandle<u32>) {
    let sock = path(name);
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock).unwrap();
    let handle = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(read_timeout).unwrap();
        serve(conn, device)
    });
    (sock.to_str().unwrap().to_string(), handle)
}

/// The same over TCP on 127.0.0.1 (a port the system picks).
fn tcp_device(device: Device, read_timeout: Option<Duration>) -> (String, JoinHandle<u32>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let handle = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(read_timeout).unwrap();
        serve(conn, device)
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
    assert_eq!(device.join().unwrap(), 2400);
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
    assert_eq!(device.join().unwrap(), 1200);
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
        "error: stream 0 ({}) frame 140, group 7: the device closed the link; it sent 140 of 1200 frames (7 groups), \
         identical to {}; the host's decoder also stops there (group 7: ",
        stream.display(),
        real(0).display()
    );
    assert!(stderr.starts_with(&want), "{want:?} is not the start of {stderr:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!out.exists(), "a failed session wrote {}", out.display());
    assert_eq!(device.join().unwrap(), 140);
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
    // after its link timeout) and closes it. link writes the whole half
    // stream into the socket at once, so the device sees silence only after
    // the cut.
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
        "error: stream 0 ({}) frame {frames}, group {whole}: the device closed the link; it sent {frames} of 1200 \
         frames ({whole} groups), identical to {}; the host's decoder also stops there (group {whole}: ",
        stream.display(),
        real(1).display()
    );
    assert!(stderr.starts_with(&want), "{want:?} is not the start of {stderr:?}");
    assert_eq!(device.join().unwrap(), frames);
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
        "error: stream 0 ({}) frame 0, group 0: no byte from the device for 1 s; it sent 0 of 1200 frames (0 groups), \
         identical to the host's decoding; the stream is intact on the host: the device refused or failed it (see its \
         log)\n",
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

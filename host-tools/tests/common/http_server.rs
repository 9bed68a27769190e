//! A small HTTP/1.1 file server for the tests of remote inputs, listening on
//! 127.0.0.1 only, with byte-level control of its faults: connections
//! dropped after K bytes, `Range` ignored, error statuses, stalls, a file
//! cut at a byte, a file replaced between requests, a required bearer token,
//! zeros without end after a file, bytes trickling one at a time. `If-Range`
//! is honoured (a validator that is not the file's gets the whole file).
//! Every request is logged for the tests to check. One thread per
//! connection; every response closes its connection. Dropping the server
//! stops it (stalled connections end within 100 ms).

#![allow(dead_code)] // each test uses a different subset

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A file served, with its `ETag` and `Last-Modified` (if any). With a
/// `Last-Modified`, answers carry a `Date` a day later ([`DATE`]).
#[derive(Debug, Clone)]
pub struct Resource {
    pub body: Vec<u8>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The `Date` of every answer about a file with a `Last-Modified`.
pub const DATE: &str = "Sun, 06 Dec 2026 12:00:00 GMT";

impl Resource {
    /// A file with the `ETag` `"v1"`.
    pub fn new(body: Vec<u8>) -> Resource {
        Resource { body, etag: Some("\"v1\"".to_string()), last_modified: None }
    }

    /// A file without `ETag` nor `Last-Modified`: nothing tells its versions
    /// apart.
    pub fn bare(body: Vec<u8>) -> Resource {
        Resource { body, etag: None, last_modified: None }
    }

    /// A file with a `Last-Modified` only.
    pub fn modified(body: Vec<u8>, last_modified: &str) -> Resource {
        Resource { body, etag: None, last_modified: Some(last_modified.to_string()) }
    }
}

/// How the server misbehaves. Counts are of requests to any path, from 0.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// `(K, N)`: the first N responses close the connection after K bytes of
    /// body (the headers announce the whole length).
    pub drop_after: Option<(usize, usize)>,
    /// Answer every request with `200` and the whole file.
    pub ignore_range: bool,
    /// Answer a range request with the bytes from one before the start.
    pub misplaced_range: bool,
    /// `(code, N)`: the first N requests get this status.
    pub status: Option<(u16, usize)>,
    /// `(K, N)`: the first N responses stall for good (until the server
    /// stops) after K bytes of body; `K = None`: before any header.
    pub stall: Option<(Option<usize>, usize)>,
    /// Never send the bytes from this offset of the file on (the connection
    /// closes there; the headers announce the whole length).
    pub cut_at: Option<usize>,
    /// From the second request on, the files are these.
    pub replaced: Option<HashMap<String, Resource>>,
    /// Requests must carry `Authorization: Bearer <token>` (else `401`).
    pub token: Option<String>,
    /// After the body, send this many zero bytes more (the connection closes
    /// when the client stops reading); the answer has no `Content-Length`
    /// unless `zeros_announced`.
    pub endless_zeros: Option<usize>,
    /// With `endless_zeros`: the `Content-Length` of the file is sent
    /// anyway (the zeros go beyond what the answer promised).
    pub zeros_announced: bool,
    /// Send the body one byte at a time, this long apart (for at most 60 s).
    pub trickle: Option<Duration>,
    /// `(FROM, TO)`: requests for path FROM are answered `302 Found`,
    /// `Location: TO` (`/TO` unless TO is a URL; `{port}` in it is replaced
    /// by the server's port). With a redirect, the token is required for
    /// FROM only, as a hub redirecting to signed storage URLs does.
    pub redirect: Option<(String, String)>,
}

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub path: String,
    /// The start of `Range: bytes=N-`, if sent.
    pub range: Option<u64>,
    /// The `If-Range` header, if sent.
    pub if_range: Option<String>,
    pub authorization: Option<String>,
    /// The status answered (0 for a stall before the headers).
    pub status: u16,
}

struct Shared {
    port: u16,
    files: HashMap<String, Resource>,
    faults: Faults,
    log: Mutex<Vec<Logged>>,
    requests: AtomicUsize,
    /// Zero bytes written by `endless_zeros`.
    zeros_sent: AtomicUsize,
    stop: AtomicBool,
}

/// A running server; stops when dropped.
pub struct Server {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `files` (path without leading `/` -> file) on 127.0.0.1 at a
    /// free port.
    pub fn start(files: HashMap<String, Resource>, faults: Faults) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            port,
            files,
            faults,
            log: Mutex::new(Vec::new()),
            requests: AtomicUsize::new(0),
            zeros_sent: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let acceptor = std::thread::spawn({
            let shared = Arc::clone(&shared);
            move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = Arc::clone(&shared);
                    std::thread::spawn(move || serve(stream, &shared));
                }
            }
        });
        Server { port, shared, acceptor: Some(acceptor) }
    }

    /// `http://127.0.0.1:PORT/` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests so far.
    pub fn log(&self) -> Vec<Logged> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The zero bytes written so far by [`Faults::endless_zeros`].
    pub fn zeros_sent(&self) -> usize {
        self.shared.zeros_sent.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Reads the request head: `(path, headers lower-cased)`.
fn read_head(stream: &TcpStream) -> Option<(String, HashMap<String, String>)> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?, parts.next()?);
    if method != "GET" {
        return None;
    }
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    Some((target.trim_start_matches('/').to_string(), headers))
}

fn serve(mut stream: TcpStream, shared: &Shared) {
    let Some((path, headers)) = read_head(&stream) else { return };
    let n = shared.requests.fetch_add(1, Ordering::SeqCst);
    let faults = &shared.faults;
    let range = headers.get("range").and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse::<u64>().ok());
    let authorization = headers.get("authorization").cloned();
    let if_range = headers.get("if-range").cloned();
    let log = |status: u16| {
        let entry = Logged {
            path: path.clone(),
            range,
            if_range: if_range.clone(),
            authorization: authorization.clone(),
            status,
        };
        shared.log.lock().unwrap().push(entry);
    };
    let stall = |stream: &mut TcpStream| {
        let start = Instant::now();
        while !shared.stop.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = stream.shutdown(Shutdown::Both);
    };

    let redirected = faults.redirect.as_ref().filter(|(from, _)| &path == from).map(|(_, to)| to);
    if let Some(token) = &faults.token {
        let needed = redirected.is_some() || faults.redirect.is_none();
        if needed && authorization.as_deref() != Some(&format!("Bearer {token}")) {
            log(401);
            return respond_status(&mut stream, 401);
        }
    }
    if let Some(to) = redirected {
        log(302);
        let to = to.replace("{port}", &shared.port.to_string());
        let location = if to.starts_with("http") { to } else { format!("/{to}") };
        let head =
            format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    if let Some((code, times)) = faults.status {
        if n < times {
            log(code);
            return respond_status(&mut stream, code);
        }
    }
    let files = match &faults.replaced {
        Some(replaced) if n > 0 => replaced,
        _ => &shared.files,
    };
    let Some(resource) = files.get(&path) else {
        log(404);
        return respond_status(&mut stream, 404);
    };
    if let Some((None, times)) = faults.stall {
        if n < times {
            log(0);
            return stall(&mut stream);
        }
    }
    let len = resource.body.len();
    // If-Range names another version: the whole file, as RFC 9110 says.
    let stale = if_range
        .as_ref()
        .is_some_and(|v| Some(v) != resource.etag.as_ref() && Some(v) != resource.last_modified.as_ref());
    let range = if stale { None } else { range };
    let start = match range {
        Some(start) if faults.misplaced_range => start.saturating_sub(1) as usize,
        Some(start) if !faults.ignore_range => start as usize,
        _ => 0,
    };
    let mut head = String::new();
    let status = if start == 0 && (range.is_none() || faults.ignore_range) {
        head.push_str(&format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n"));
        200
    } else if start >= len {
        head.push_str(&format!("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\n"));
        head.push_str("Content-Length: 0\r\n");
        416
    } else {
        head.push_str(&format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{len}\r\nContent-Length: {}\r\n",
            len - 1,
            len - start
        ));
        206
    };
    log(status);
    if let Some(etag) = &resource.etag {
        head.push_str(&format!("ETag: {etag}\r\n"));
    }
    if let Some(modified) = &resource.last_modified {
        head.push_str(&format!("Last-Modified: {modified}\r\nDate: {DATE}\r\n"));
    }
    if faults.endless_zeros.is_some() && !faults.zeros_announced {
        // Close-delimited: no promise of a length.
        head = head.lines().filter(|l| !l.starts_with("Content-Length")).map(|l| format!("{l}\r\n")).collect();
    }
    head.push_str("Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n");
    if stream.write_all(head.as_bytes()).is_err() || status == 416 {
        return;
    }
    let mut body = &resource.body[start.min(len)..];
    if let Some(cut) = faults.cut_at {
        body = &body[..cut.saturating_sub(start).min(body.len())];
    }
    if let Some((k, times)) = faults.drop_after {
        if n < times {
            body = &body[..k.min(body.len())];
        }
    }
    if let Some((Some(k), times)) = faults.stall {
        if n < times {
            let _ = stream.write_all(&body[..k.min(body.len())]);
            let _ = stream.flush();
            return stall(&mut stream);
        }
    }
    if let Some(interval) = faults.trickle {
        let start = Instant::now();
        for byte in body.chunks(1) {
            if shared.stop.load(Ordering::SeqCst) || start.elapsed() > Duration::from_secs(60) {
                break;
            }
            if stream.write_all(byte).and_then(|()| stream.flush()).is_err() {
                break;
            }
            std::thread::sleep(interval);
        }
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    let _ = stream.write_all(body);
    if let Some(zeros) = faults.endless_zeros {
        let chunk = vec![0u8; 1 << 16];
        let mut left = zeros;
        while left > 0 && !shared.stop.load(Ordering::SeqCst) {
            let n = left.min(chunk.len());
            if stream.write_all(&chunk[..n]).is_err() {
                break;
            }
            shared.zeros_sent.fetch_add(n, Ordering::SeqCst);
            left -= n;
        }
    }
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

fn respond_status(stream: &mut TcpStream, code: u16) {
    let reason = match code {
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let text = format!("{code} {reason}\n");
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

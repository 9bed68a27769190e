//! One file downloaded over HTTP(S) as a [`Read`] that resumes by itself.
//!
//! [`HttpBody`] hands out the bytes of one URL in order, from byte 0 to the
//! end, whatever happens to the connections underneath (the client is
//! `ureq`, with rustls), and never bytes of two versions of the file:
//!
//! * A connection that drops, times out (connect or read, [`Fetch::timeout`])
//!   or a server answering `408`, `429` or `5xx` is retried after a wait
//!   (0.25 s, doubling up to 8 s). At most [`Fetch::retries`] failures in a
//!   row without a new byte: then [`DownloadError`]. Every byte received
//!   counts as progress, so a long download survives any number of drops
//!   that each move it forward.
//! * A retry from byte `N > 0` asks for `Range: bytes=N-` only when the first
//!   answer gave a strong validator: an `ETag` not marked weak (`W/`), else
//!   a `Last-Modified` at least one second before the answer's `Date`
//!   (RFC 9110, 8.8.2.2); it is sent as `If-Range`, so that a server whose
//!   file changed answers with the whole new file. A `206` must carry the
//!   same validator, start at byte `N` and give the same total length.
//! * Otherwise (no strong validator, or a `200` answer to a `Range`
//!   request) the file is read again from byte 0: its first `N` bytes must
//!   be those already handed out (their SHA-256 is compared) before any new
//!   byte is handed out, so the bytes handed out are always those of one
//!   answer of the server, whole.
//! * What the server says about the file must stay the same: its length
//!   (`Content-Length` of a `200`, the total of `Content-Range` of a `206`),
//!   its `ETag` and its `Last-Modified` (a header sent once must be sent
//!   again with the same value). Otherwise the file changed on the server
//!   (or the server is broken) and the download fails at once with a
//!   message saying "changed on the server".
//! * A body never goes past the length its answer announced.
//! * The whole download (every request, retry and wait) must end within
//!   [`Fetch::deadline`]; a server sending a byte now and then cannot hold
//!   it longer. Past it the download fails at once.
//! * Any other `4xx` (`404`, `401`, ...) and anything else unexpected is a
//!   [`DownloadError`] at once.
//! * A body shorter than its announced length is resumed; a body without a
//!   length (chunked, or ending with the connection) ends where the server
//!   ends it: the reader above (gzip and tar checks, the `.npy` parser)
//!   notices a file cut short.
//! * Redirects (`301`, `302`, `303`, `307`, `308`, at most [`MAX_REDIRECTS`]
//!   per request) are followed here, not by the client: the
//!   `Authorization` header (the hub's token, sent only when the caller
//!   gives one) goes to the origin of the URL asked for only (same scheme,
//!   host and port), never to another one a redirect leads to, and never
//!   appears in a message.
//!
//! Every error names the URL (as given and as requested) and the byte offset
//! reached. Once the file was read to its end, [`HttpBody::version`] gives
//! its length, validators and SHA-256 (what the download cache keeps).

use std::fmt;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use ureq::http::{header, HeaderMap, HeaderName, StatusCode, Uri};

use super::name::escape_controls;

/// Wait before the first retry; it doubles with each failure in a row.
const FIRST_WAIT: Duration = Duration::from_millis(250);
/// Longest wait between two attempts.
const LONGEST_WAIT: Duration = Duration::from_secs(8);
/// Redirects followed for one request, at most.
pub const MAX_REDIRECTS: usize = 10;

/// How a download behaves on faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    /// Failures in a row (without a new byte) retried before giving up.
    pub retries: u32,
    /// Connect timeout, and longest wait for any read from the server.
    pub timeout: Duration,
    /// Longest time one download may take, from its first request to its
    /// last byte, retries and waits included.
    pub deadline: Duration,
}

/// What to download. Its `Debug` form leaves the token out.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    /// The input as the user named it (`hf://...` or the URL), for messages.
    pub shown: String,
    /// The URL requested.
    pub url: String,
    /// A bearer token to send (`Authorization: Bearer ...`) to the origin of
    /// `url` only, never shown.
    pub bearer: Option<String>,
    /// What to add to a `401`/`403` message (e.g. how to give a token).
    pub auth_hint: Option<String>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("shown", &self.shown)
            .field("url", &self.url)
            .field("bearer", &self.bearer.as_ref().map(|_| "(hidden)"))
            .field("auth_hint", &self.auth_hint)
            .finish()
    }
}

/// A download that failed: the input, the URL, the byte reached and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadError {
    /// The input as the user named it.
    pub shown: String,
    /// The URL requested (the same as `shown` for an `http(s)://` input).
    pub url: String,
    /// Bytes of the file received and handed on before the failure.
    pub offset: u64,
    /// What went wrong, e.g. `the server answered 404 Not Found`.
    pub problem: String,
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = escape_controls(&self.shown);
        let problem = escape_controls(&self.problem);
        if self.url == self.shown {
            write!(f, "{shown}: cannot download (at byte {}): {problem}", self.offset)
        } else {
            write!(f, "{shown}: cannot download {} (at byte {}): {problem}", escape_controls(&self.url), self.offset)
        }
    }
}

impl std::error::Error for DownloadError {}

impl DownloadError {
    /// The download error inside an I/O error, if it holds one (as
    /// [`HttpBody`]'s read errors do).
    pub fn of(error: &io::Error) -> Option<&DownloadError> {
        error.get_ref().and_then(|inner| inner.downcast_ref::<DownloadError>())
    }

    /// This error as an I/O error (what [`Read`] returns).
    pub fn into_io(self) -> io::Error {
        io::Error::other(self)
    }
}

/// A file as downloaded whole: what the server said about it and what was
/// received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Bytes received (the length the server announced, when it did).
    pub length: u64,
    /// The server's `ETag`, if it sent one.
    pub etag: Option<String>,
    /// The server's `Last-Modified`, if it sent one.
    pub last_modified: Option<String>,
    /// SHA-256 of the bytes received.
    pub sha256: [u8; 32],
}

/// Whether a failed attempt may be retried.
enum Fault {
    /// A dropped connection, a timeout, a `5xx`: try again.
    Transient(String),
    /// A `4xx`, a changed file, the deadline: give up at once.
    Permanent(String),
}

/// A restart from byte 0 whose first bytes are being compared with those
/// already handed out.
struct PrefixCheck {
    /// SHA-256 of the bytes handed out.
    expected: [u8; 32],
    /// Hash of the bytes of the new answer dropped so far.
    seen: Sha256,
}

/// The bytes of one URL, resumed across failures (see the module doc).
pub struct HttpBody {
    agent: ureq::Agent,
    target: Target,
    fetch: Fetch,
    /// When the download started (for [`Fetch::deadline`]).
    started: Instant,
    /// Bytes handed out so far.
    pos: u64,
    /// The file's length, once a response told it.
    total: Option<u64>,
    /// The `ETag` and `Last-Modified` of the answer the bytes come from.
    etag: Option<String>,
    last_modified: Option<String>,
    /// The strong validator of that answer (an `ETag` or a `Last-Modified`),
    /// if it has one: sent as `If-Range`.
    validator: Option<String>,
    body: Option<ureq::BodyReader<'static>>,
    /// Bytes of the current body to drop (it restarted from byte 0).
    skip: u64,
    /// The check of those dropped bytes.
    prefix: Option<PrefixCheck>,
    /// SHA-256 of the bytes handed out.
    hasher: Sha256,
    /// Failures in a row without a new byte.
    failures: u32,
    /// The server said the file ends at `pos`.
    ended: bool,
}

impl HttpBody {
    /// Requests `target` (retrying as `fetch` says) and returns the body
    /// ready to read from byte 0.
    ///
    /// Errors: the [`DownloadError`] of the first request that cannot
    /// succeed (a `404` at once; a server that cannot be reached, after the
    /// retries or at the deadline).
    pub fn open(target: Target, fetch: Fetch) -> Result<HttpBody, DownloadError> {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_resolve(Some(fetch.timeout))
            .timeout_connect(Some(fetch.timeout))
            .timeout_per_read(Some(fetch.timeout))
            .timeout_per_write(Some(fetch.timeout))
            // Redirects are followed by `request`, which decides where the
            // token goes.
            .max_redirects(0)
            .accept_encoding("identity")
            .user_agent(concat!("vqtans-host-tools/", env!("CARGO_PKG_VERSION")))
            .build();
        let mut body = HttpBody {
            agent: ureq::Agent::new_with_config(config),
            target,
            fetch,
            started: Instant::now(),
            pos: 0,
            total: None,
            etag: None,
            last_modified: None,
            validator: None,
            body: None,
            skip: 0,
            prefix: None,
            hasher: Sha256::new(),
            failures: 0,
            ended: false,
        };
        body.connect()?;
        Ok(body)
    }

    /// The file's length, when the server announced it.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// The file as received, once every byte of it was handed out (the
    /// reader returned 0); `None` before.
    pub fn version(&self) -> Option<Version> {
        let done = self.skip == 0 && self.prefix.is_none() && (self.ended || self.total == Some(self.pos));
        done.then(|| Version {
            length: self.pos,
            etag: self.etag.clone(),
            last_modified: self.last_modified.clone(),
            sha256: self.hasher.clone().finalize().into(),
        })
    }

    fn error(&self, problem: String) -> DownloadError {
        DownloadError { shown: self.target.shown.clone(), url: self.target.url.clone(), offset: self.pos, problem }
    }

    /// Time left before the deadline, or the deadline's fault.
    fn remaining(&self) -> Result<Duration, Fault> {
        match self.fetch.deadline.checked_sub(self.started.elapsed()) {
            Some(left) if !left.is_zero() => Ok(left),
            _ => Err(Fault::Permanent(self.late())),
        }
    }

    fn past_deadline(&self) -> bool {
        self.started.elapsed() >= self.fetch.deadline
    }

    /// The problem of a download past its deadline.
    fn late(&self) -> String {
        format!(
            "the download did not end within its deadline of {} s (--http-deadline){}",
            self.fetch.deadline.as_secs_f64(),
            match self.total {
                Some(total) => format!("; {} of {total} bytes were received", self.pos),
                None => String::new(),
            }
        )
    }

    /// Makes requests until one gives a body to read from `pos` (or says the
    /// file ends there).
    fn connect(&mut self) -> Result<(), DownloadError> {
        loop {
            match self.attempt() {
                Ok(()) => return Ok(()),
                Err(Fault::Permanent(problem)) => return Err(self.error(problem)),
                Err(Fault::Transient(problem)) => self.retry(problem)?,
            }
        }
    }

    /// Counts a failure; waits before the next attempt, or gives up.
    fn retry(&mut self, problem: String) -> Result<(), DownloadError> {
        self.body = None;
        if self.past_deadline() {
            return Err(self.error(self.late()));
        }
        self.failures += 1;
        if self.failures > self.fetch.retries {
            let tries = match self.fetch.retries {
                0 => "no retry allowed (--retries 0)".to_string(),
                1 => "after 1 retry without progress".to_string(),
                n => format!("after {n} retries without progress"),
            };
            return Err(self.error(format!("{problem} ({tries})")));
        }
        let wait = FIRST_WAIT.saturating_mul(1 << (self.failures - 1).min(16)).min(LONGEST_WAIT);
        eprintln!(
            "warning: {}: {} at byte {}; retrying in {:.2} s ({}/{})",
            escape_controls(&self.target.shown),
            escape_controls(&problem),
            self.pos,
            wait.as_secs_f64(),
            self.failures,
            self.fetch.retries
        );
        // Never past the deadline: the next attempt then reports it.
        let left = self.fetch.deadline.saturating_sub(self.started.elapsed());
        std::thread::sleep(wait.min(left));
        Ok(())
    }

    /// A fault of a request that got no answer.
    fn fault(&self, error: ureq::Error) -> Fault {
        if self.past_deadline() {
            Fault::Permanent(self.late())
        } else {
            classify(error)
        }
    }

    /// One request with the headers `extra`, following redirects; the token
    /// goes only to the origin of the target URL.
    fn request(&self, extra: &[(HeaderName, String)]) -> Result<ureq::http::Response<ureq::Body>, Fault> {
        let home = origin(&self.target.url);
        let mut url = self.target.url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let left = self.remaining()?;
            let mut request = self.agent.get(&url);
            for (name, value) in extra {
                request = request.header(name, value);
            }
            if let Some(token) = &self.target.bearer {
                if home.is_some() && origin(&url) == home {
                    request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
                }
            }
            let response = request.config().timeout_global(Some(left)).build().call().map_err(|e| self.fault(e))?;
            let status = response.status();
            if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
                return Ok(response);
            }
            let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
            let location = location
                .ok_or_else(|| Fault::Permanent(format!("the server answered {} without a Location", show(status))))?;
            url = redirect_target(&url, location)
                .ok_or_else(|| Fault::Permanent(format!("the server redirected to a bad location ({location:?})")))?;
        }
        Err(Fault::Permanent(format!("more than {MAX_REDIRECTS} redirects in a row")))
    }

    /// One request for the bytes from `pos` on.
    fn attempt(&mut self) -> Result<(), Fault> {
        if self.pos == 0 {
            // Nothing handed out yet: any version of the file will do.
            self.total = None;
            self.etag = None;
            self.last_modified = None;
            self.validator = None;
        }
        let resume = self.pos > 0;
        let mut extra = Vec::new();
        if resume {
            if let Some(validator) = &self.validator {
                extra.push((header::RANGE, format!("bytes={}-", self.pos)));
                extra.push((header::IF_RANGE, validator.clone()));
            }
        }
        let ranged = !extra.is_empty();
        let response = self.request(&extra)?;
        let status = response.status();
        let headers = response.headers();
        match status.as_u16() {
            200 => {
                self.same_version(headers)?;
                let length = content_length(headers)?;
                self.check_total(length)?;
                if resume {
                    // The whole file again: its first bytes must be those
                    // handed out; they are dropped.
                    self.skip = self.pos;
                    let expected = self.hasher.clone().finalize().into();
                    self.prefix = Some(PrefixCheck { expected, seen: Sha256::new() });
                } else {
                    self.skip = 0;
                    self.prefix = None;
                }
            }
            206 if ranged => {
                self.same_version(headers)?;
                let (first, last, total) = content_range(headers)?;
                if first != self.pos {
                    return Err(Fault::Permanent(format!(
                        "asked for the bytes from {}, the server sent them from {first}",
                        self.pos
                    )));
                }
                self.check_total(total)?;
                if let (Some(last), Some(length)) = (last, content_length(headers)?) {
                    if last < first || length != last - first + 1 {
                        return Err(Fault::Permanent(format!(
                            "the server's Content-Range ({first}-{last}) and Content-Length ({length}) disagree"
                        )));
                    }
                }
                self.skip = 0;
                self.prefix = None;
            }
            206 => {
                return Err(Fault::Permanent(
                    "the server answered 206 Partial Content to a request for the whole file".into(),
                ))
            }
            416 if ranged => {
                // Nothing from `pos` on: the end, if the file is `pos` long.
                let total = content_range(headers).ok().and_then(|(_, _, total)| total);
                if self.total.is_none() && total == Some(self.pos) {
                    self.total = total;
                    self.ended = true;
                    return Ok(());
                }
                return Err(Fault::Permanent(format!(
                    "the server has no bytes from {} on ({status}): the file changed on the server",
                    self.pos
                )));
            }
            408 | 429 | 500..=599 => return Err(Fault::Transient(format!("the server answered {}", show(status)))),
            401 | 403 => {
                let hint = self.target.auth_hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default();
                return Err(Fault::Permanent(format!("the server answered {}{hint}", show(status))));
            }
            _ => return Err(Fault::Permanent(format!("the server answered {}", show(status)))),
        }
        self.body = Some(response.into_body().into_reader());
        Ok(())
    }

    /// Checks that an answer describes the version of the file the bytes
    /// handed out come from (the first answer, from byte 0, sets it).
    fn same_version(&mut self, headers: &HeaderMap) -> Result<(), Fault> {
        let text = |name: HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (etag, last_modified) = (text(header::ETAG), text(header::LAST_MODIFIED));
        if self.pos == 0 {
            self.validator = strong_validator(etag.as_deref(), last_modified.as_deref(), headers);
            self.etag = etag;
            self.last_modified = last_modified;
            return Ok(());
        }
        for (what, known, now) in [("ETag", &self.etag, &etag), ("Last-Modified", &self.last_modified, &last_modified)]
        {
            if let Some(known) = known {
                if now.as_ref() != Some(known) {
                    let now = now.as_deref().unwrap_or("none");
                    return Err(Fault::Permanent(format!(
                        "the file changed on the server while it was read ({what} {known}, now {now})"
                    )));
                }
            }
        }
        Ok(())
    }

    fn check_total(&mut self, total: Option<u64>) -> Result<(), Fault> {
        match (self.total, total) {
            (Some(known), Some(now)) if known != now => Err(Fault::Permanent(format!(
                "the file changed on the server while it was read ({known} bytes, now {now})"
            ))),
            (None, Some(now)) if now < self.pos => Err(Fault::Permanent(format!(
                "the file changed on the server while it was read ({} bytes read, now {now} bytes long)",
                self.pos
            ))),
            (None, now) => {
                self.total = now;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Counts `data` (at the start of the caller's buffer) as handed out.
    fn hand_out(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len() as u64;
        if let Some(total) = self.total {
            if self.pos + n > total {
                let problem = format!("the server sent more than the {total} bytes it announced");
                return Err(self.error(problem).into_io());
            }
        }
        self.hasher.update(data);
        self.pos += n;
        self.failures = 0;
        Ok(data.len())
    }

    /// Drops `data`, bytes of a restarted answer already handed out, and
    /// compares them once all were seen.
    fn drop_known(&mut self, data: &[u8]) -> io::Result<()> {
        let Some(check) = self.prefix.as_mut() else { return Ok(()) };
        check.seen.update(data);
        self.skip -= data.len() as u64;
        if self.skip == 0 {
            let check = self.prefix.take().expect("present");
            if <[u8; 32]>::from(check.seen.finalize()) != check.expected {
                let problem = format!(
                    "the file changed on the server while it was read: read again from its start, its first {} \
                     bytes differ from those read before",
                    self.pos
                );
                return Err(self.error(problem).into_io());
            }
        }
        Ok(())
    }
}

impl Read for HttpBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.skip == 0 && (self.ended || self.total == Some(self.pos)) {
                return Ok(0);
            }
            let Some(body) = self.body.as_mut() else {
                self.connect().map_err(DownloadError::into_io)?;
                continue;
            };
            match body.read(buf) {
                Ok(0) => {
                    self.body = None;
                    match self.total {
                        Some(total) => {
                            let problem = format!("the connection ended before the end of the file ({total} bytes)");
                            self.retry(problem).map_err(DownloadError::into_io)?;
                        }
                        None if self.skip > 0 => {
                            let problem = "the file changed on the server: it is shorter than what was read".into();
                            return Err(self.error(problem).into_io());
                        }
                        // No length announced: the server ends the file here.
                        None => {
                            self.ended = true;
                            return Ok(0);
                        }
                    }
                }
                Ok(n) if self.skip > 0 => {
                    let dropped = self.skip.min(n as u64) as usize;
                    self.drop_known(&buf[..dropped])?;
                    if dropped < n {
                        buf.copy_within(dropped..n, 0);
                        return self.hand_out(&buf[..n - dropped]);
                    }
                }
                Ok(n) => return self.hand_out(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if self.past_deadline() => {
                    self.body = None;
                    return Err(self.error(self.late()).into_io());
                }
                Err(e) => {
                    let problem = match self.total {
                        Some(total) => {
                            format!(
                                "the connection failed before the end of the file ({total} bytes): {}",
                                ureq_text(&e)
                            )
                        }
                        None => format!("the connection failed: {}", ureq_text(&e)),
                    };
                    self.retry(problem).map_err(DownloadError::into_io)?;
                }
            }
        }
    }
}

/// The strong validator of an answer with these headers, if it has one: an
/// `ETag` not marked weak; else, without any `ETag`, a `Last-Modified` at
/// least one second before the answer's `Date` (RFC 9110, 8.8.2.2).
fn strong_validator(etag: Option<&str>, last_modified: Option<&str>, headers: &HeaderMap) -> Option<String> {
    if let Some(etag) = etag {
        return (!etag.starts_with("W/")).then(|| etag.to_string());
    }
    let last_modified = last_modified?;
    let date = headers.get(header::DATE).and_then(|v| v.to_str().ok())?;
    let (modified, date) = (httpdate::parse_http_date(last_modified).ok()?, httpdate::parse_http_date(date).ok()?);
    let strong = date.duration_since(modified).is_ok_and(|d| d >= Duration::from_secs(1));
    strong.then(|| last_modified.to_string())
}

/// The origin of `url`: scheme and host in lower case, and port (80 or 443
/// when none is written). `None` for anything but an `http(s)` URL with a
/// host.
fn origin(url: &str) -> Option<(String, String, u16)> {
    let uri = Uri::try_from(url).ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let host = uri.host().filter(|h| !h.is_empty())?.to_ascii_lowercase();
    Some((scheme, host, uri.port_u16().unwrap_or(default)))
}

/// The URL a redirect from `base` to `location` leads to (RFC 3986 reference
/// resolution: an absolute `http(s)` URL, `//host/path`, `/path`, `?query` or
/// a path relative to `base`'s folder; dot segments are left to the server,
/// a fragment is dropped). `None` if the result is not an `http(s)` URL.
fn redirect_target(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    let location = location.split('#').next().unwrap_or("");
    let uri = Uri::try_from(base).ok()?;
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?.as_str();
    let has_scheme = location
        .split_once(':')
        .is_some_and(|(s, _)| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)));
    let target = if has_scheme {
        location.to_string()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else if location.starts_with('?') || location.is_empty() {
        format!("{scheme}://{authority}{}{location}", uri.path())
    } else {
        let folder = &uri.path()[..=uri.path().rfind('/').unwrap_or(0)];
        let folder = if folder.is_empty() { "/" } else { folder };
        format!("{scheme}://{authority}{folder}{location}")
    };
    origin(&target).map(|_| target)
}

/// `404 Not Found`.
fn show(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// The text of an error from ureq's body reader (which wraps ureq errors).
fn ureq_text(e: &io::Error) -> String {
    match e.get_ref() {
        Some(inner) => inner.to_string(),
        None => e.to_string(),
    }
}

/// Errors of a request that got no response.
fn classify(error: ureq::Error) -> Fault {
    use ureq::Error as E;
    let text = error.to_string();
    match error {
        E::Timeout(_) | E::Io(_) | E::ConnectionFailed | E::HostNotFound | E::Protocol(_) => {
            Fault::Transient(format!("no answer: {text}"))
        }
        _ => Fault::Permanent(text),
    }
}

/// `Content-Length`, if present.
fn content_length(headers: &HeaderMap) -> Result<Option<u64>, Fault> {
    let Some(value) = headers.get(header::CONTENT_LENGTH) else { return Ok(None) };
    let parsed = value.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok());
    parsed.map(Some).ok_or_else(|| Fault::Permanent(format!("the server sent a bad Content-Length ({value:?})")))
}

/// `Content-Range: bytes FIRST-LAST/TOTAL` as `(FIRST, Some(LAST), TOTAL)`
/// (`TOTAL` `None` for `*`), or `bytes */TOTAL` as `(0, None, Some(TOTAL))`.
fn content_range(headers: &HeaderMap) -> Result<(u64, Option<u64>, Option<u64>), Fault> {
    let bad = |what: &str| Fault::Permanent(format!("the server sent a bad Content-Range ({what:?})"));
    let value = headers.get(header::CONTENT_RANGE).ok_or_else(|| bad("none"))?;
    let text = value.to_str().map_err(|_| bad("not text"))?.trim();
    let rest = text.strip_prefix("bytes ").ok_or_else(|| bad(text))?;
    let (range, total) = rest.split_once('/').ok_or_else(|| bad(text))?;
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| bad(text));
    let total = if total.trim() == "*" { None } else { Some(number(total)?) };
    if range.trim() == "*" {
        return Ok((0, None, total));
    }
    let (first, last) = range.split_once('-').ok_or_else(|| bad(text))?;
    let (first, last) = (number(first)?, number(last)?);
    if total.is_some_and(|t| last >= t) {
        return Err(bad(text));
    }
    Ok((first, Some(last), total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::http::HeaderValue;

    fn range(text: &str) -> Option<(u64, Option<u64>, Option<u64>)> {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_RANGE, HeaderValue::from_str(text).unwrap());
        content_range(&headers).ok()
    }

    #[test]
    fn content_ranges_are_parsed_strictly() {
        assert_eq!(range("bytes 100-199/200"), Some((100, Some(199), Some(200))));
        assert_eq!(range("bytes 0-0/*"), Some((0, Some(0), None)));
        assert_eq!(range("bytes */1234"), Some((0, None, Some(1234))));
        assert_eq!(range("bytes 100-200/200"), None);
        assert_eq!(range("items 1-2/3"), None);
        assert_eq!(range("bytes 1-x/3"), None);
    }

    #[test]
    fn redirects_resolve_against_the_url_they_come_from() {
        let base = "http://h:8/a/b/c.tar?x=1";
        let to = |location: &str| redirect_target(base, location);
        assert_eq!(to("https://cdn.example/s?sig=2").as_deref(), Some("https://cdn.example/s?sig=2"));
        assert_eq!(to("//other:9/p").as_deref(), Some("http://other:9/p"));
        assert_eq!(to("/root/x").as_deref(), Some("http://h:8/root/x"));
        assert_eq!(to("d.tar").as_deref(), Some("http://h:8/a/b/d.tar"));
        assert_eq!(to("?y=2").as_deref(), Some("http://h:8/a/b/c.tar?y=2"));
        assert_eq!(to("/p#frag").as_deref(), Some("http://h:8/p"));
        assert_eq!(to("ftp://h/x"), None);
        assert_eq!(to("file:///etc/passwd"), None);
    }

    #[test]
    fn origins_differ_by_scheme_host_or_port() {
        let o = |u: &str| origin(u);
        assert_eq!(o("http://H:80/x"), o("http://h/y"));
        assert_eq!(o("https://h/x"), o("HTTPS://h:443/"));
        assert_ne!(o("http://127.0.0.1:1000/x"), o("http://127.0.0.1:1001/x"));
        assert_ne!(o("http://h/x"), o("https://h/x"));
        assert_ne!(o("http://h/x"), o("http://h.example/x"));
        assert_eq!(o("ftp://h/x"), None);
    }

    #[test]
    fn only_strong_validators_are_sent_as_if_range() {
        let headers = |date: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::DATE, HeaderValue::from_str(date).unwrap());
            h
        };
        let lm = "Sat, 05 Dec 2026 10:00:00 GMT";
        let later = headers("Sat, 05 Dec 2026 10:00:01 GMT");
        assert_eq!(strong_validator(Some("\"v1\""), Some(lm), &later).as_deref(), Some("\"v1\""));
        assert_eq!(strong_validator(Some("W/\"v1\""), Some(lm), &later), None);
        assert_eq!(strong_validator(None, Some(lm), &later).as_deref(), Some(lm));
        // Modified in the second of the answer: maybe twice in that second.
        assert_eq!(strong_validator(None, Some(lm), &headers(lm)), None);
        assert_eq!(strong_validator(None, Some(lm), &HeaderMap::new()), None);
        assert_eq!(strong_validator(None, None, &later), None);
    }

    #[test]
    fn the_token_is_never_shown() {
        let target = Target {
            shown: "hf://x".into(),
            url: "https://h/x".into(),
            bearer: Some("hf_secret".into()),
            auth_hint: None,
        };
        assert!(!format!("{target:?}").contains("hf_secret"));
    }

    #[test]
    fn messages_name_the_input_the_url_and_the_offset() {
        let e = DownloadError { shown: "u".into(), url: "u".into(), offset: 7, problem: "gone".into() };
        assert_eq!(e.to_string(), "u: cannot download (at byte 7): gone");
        let e = DownloadError { shown: "hf://x\n".into(), url: "https://h/x".into(), ..e };
        assert_eq!(e.to_string(), "hf://x\\n: cannot download https://h/x (at byte 7): gone");
        let io = e.clone().into_io();
        assert_eq!(DownloadError::of(&io), Some(&e));
    }
}

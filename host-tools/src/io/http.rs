//! One file downloaded over HTTP(S) as a [`Read`] that resumes by itself.
//!
//! [`HttpBody`] hands out the bytes of one URL in order, from byte 0 to the
//! end, whatever happens to the connections underneath (the client is
//! `ureq`, with rustls):
//!
//! * A connection that drops, times out (connect or read, [`Fetch::timeout`])
//!   or a server answering `408`, `429` or `5xx` is retried after a wait
//!   (0.25 s, doubling up to 8 s), with `Range: bytes=N-` from the byte `N`
//!   reached. At most [`Fetch::retries`] failures in a row without a new
//!   byte: then [`DownloadError`]. Every byte received counts as progress, so
//!   a long download survives any number of drops that each move it forward.
//! * A server that ignores `Range` (answers `200` with the whole file) is
//!   read from its start again and the first `N` bytes are dropped.
//! * What the server says about the file must stay the same: its length
//!   (`Content-Length` of a `200`, the total of `Content-Range` of a `206`)
//!   and its `ETag` when it sends one; a `206` must start at the byte asked
//!   for. Otherwise the file changed on the server (or the server is broken)
//!   and the download fails at once: bytes of two versions are never mixed.
//! * Any other `4xx` (`404`, `401`, ...) and anything else unexpected is a
//!   [`DownloadError`] at once.
//! * A body shorter than its announced length is resumed; a body without a
//!   length (chunked, or ending with the connection) ends where the server
//!   ends it: the reader above (gzip and tar checks, the `.npy` parser)
//!   notices a file cut short.
//!
//! Every error names the URL (as given and as requested) and the byte offset
//! reached. An `Authorization` header (the hub's token) is sent only when the
//! caller gives one, is kept across redirects only to the same host, and
//! never appears in a message.

use std::fmt;
use std::io::{self, Read};
use std::time::Duration;

use ureq::config::RedirectAuthHeaders;
use ureq::http::{header, HeaderMap, StatusCode};

use super::name::escape_controls;

/// Wait before the first retry; it doubles with each failure in a row.
const FIRST_WAIT: Duration = Duration::from_millis(250);
/// Longest wait between two attempts.
const LONGEST_WAIT: Duration = Duration::from_secs(8);

/// How a download behaves on faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    /// Failures in a row (without a new byte) retried before giving up.
    pub retries: u32,
    /// Connect timeout, and longest wait for any read from the server.
    pub timeout: Duration,
}

/// What to download. Its `Debug` form leaves the token out.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    /// The input as the user named it (`hf://...` or the URL), for messages.
    pub shown: String,
    /// The URL requested.
    pub url: String,
    /// A bearer token to send (`Authorization: Bearer ...`), never shown.
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

/// Whether a failed attempt may be retried.
enum Fault {
    /// A dropped connection, a timeout, a `5xx`: try again.
    Transient(String),
    /// A `4xx`, a changed file: give up at once.
    Permanent(String),
}

/// The bytes of one URL, resumed across failures (see the module doc).
pub struct HttpBody {
    agent: ureq::Agent,
    target: Target,
    fetch: Fetch,
    /// Bytes handed out so far.
    pos: u64,
    /// The file's length, once a response told it.
    total: Option<u64>,
    etag: Option<String>,
    body: Option<ureq::BodyReader<'static>>,
    /// Bytes of the current body to drop (it restarted from byte 0).
    skip: u64,
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
    /// retries).
    pub fn open(target: Target, fetch: Fetch) -> Result<HttpBody, DownloadError> {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_resolve(Some(fetch.timeout))
            .timeout_connect(Some(fetch.timeout))
            .timeout_per_read(Some(fetch.timeout))
            .timeout_per_write(Some(fetch.timeout))
            .redirect_auth_headers(RedirectAuthHeaders::SameHost)
            .accept_encoding("identity")
            .user_agent(concat!("vqtans-host-tools/", env!("CARGO_PKG_VERSION")))
            .build();
        let mut body = HttpBody {
            agent: ureq::Agent::new_with_config(config),
            target,
            fetch,
            pos: 0,
            total: None,
            etag: None,
            body: None,
            skip: 0,
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

    fn error(&self, problem: String) -> DownloadError {
        DownloadError { shown: self.target.shown.clone(), url: self.target.url.clone(), offset: self.pos, problem }
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
        std::thread::sleep(wait);
        Ok(())
    }

    /// One request for the bytes from `pos` on.
    fn attempt(&mut self) -> Result<(), Fault> {
        let mut request = self.agent.get(&self.target.url);
        if self.pos > 0 {
            request = request.header(header::RANGE, format!("bytes={}-", self.pos));
        }
        if let Some(token) = &self.target.bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = request.call().map_err(classify)?;
        let status = response.status();
        let headers = response.headers();
        match status.as_u16() {
            200 => {
                self.check_etag(headers)?;
                let length = content_length(headers)?;
                self.check_total(length)?;
                // The whole file again: drop what was already handed out.
                self.skip = self.pos;
            }
            206 => {
                self.check_etag(headers)?;
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
            }
            416 => {
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

    fn check_etag(&mut self, headers: &HeaderMap) -> Result<(), Fault> {
        let Some(etag) = headers.get(header::ETAG).and_then(|v| v.to_str().ok()) else { return Ok(()) };
        match &self.etag {
            Some(known) if known != etag => Err(Fault::Permanent(format!(
                "the file changed on the server while it was read (ETag {known}, now {etag})"
            ))),
            Some(_) => Ok(()),
            None => {
                self.etag = Some(etag.to_string());
                Ok(())
            }
        }
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
}

impl Read for HttpBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.ended || self.total == Some(self.pos) {
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
                    self.skip -= dropped as u64;
                    if dropped < n {
                        buf.copy_within(dropped..n, 0);
                        return Ok(self.advance(n - dropped));
                    }
                }
                Ok(n) => return Ok(self.advance(n)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
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

impl HttpBody {
    /// Counts `n` new bytes handed out.
    fn advance(&mut self, n: usize) -> usize {
        self.pos += n as u64;
        self.failures = 0;
        n
    }
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

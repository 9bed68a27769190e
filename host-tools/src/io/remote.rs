//! Inputs on the network: `http://` and `https://` URLs, the hub's `hf://`
//! shorthand, shard selection (`--shards`) and the download cache
//! (`--cache`).
//!
//! * A URL is an input like a file: its kind comes from the last segment of
//!   its path (query and fragment left out, percent-escapes decoded): `.npy`
//!   is one segment (key as for a file), `.tar`, `.tar.gz`, `.tgz` a
//!   webdataset shard. It is downloaded as it is read ([`super::http`]:
//!   resumed with `Range` across dropped connections, timeouts and `5xx`),
//!   and the shard reader works on it exactly as on a file: gzip and tar
//!   streamed, one member in memory, every shard read to its end and checked.
//! * `hf://[datasets/|spaces/|models/]ORG/REPO[@REVISION]/PATH` is the file
//!   `PATH` of a repository on the hub, at `REVISION` (default `main`), as
//!   the hub's own client (`huggingface_hub.hf_hub_url`) spells it:
//!   `{HF_ENDPOINT}/[datasets/|spaces/]ORG/REPO/resolve/{REVISION}/{PATH}`,
//!   with `HF_ENDPOINT` from the environment (default
//!   `https://huggingface.co`). When `HF_TOKEN` is set, it is sent to the
//!   hub's origin (the scheme, host and port of `HF_ENDPOINT`) as
//!   `Authorization: Bearer ...`: never to other URLs, never to another
//!   origin a redirect leads to, never shown.
//! * `--shards A..B` with a base (a URL or `hf://` prefix ending in `/`, or a
//!   local folder) stands for the shards `data-%04d.tar.gz` numbered `A` to
//!   `B - 1` under it ([`expand_shards`]), the hub's naming of commaVQ.
//! * `--cache DIR` keeps each remote input once it was read completely and
//!   passed every check (a shard: gzip CRC-32 and length of every member, tar
//!   structure, nothing after the end; a `.npy`: header, shape, values, no
//!   trailing bytes), with as many bytes as the server announced. The copy
//!   is written beside its place as a temporary and renamed into place
//!   (`DIR/<16 hex digits of a hash of the URL>-<file name>`): a partial or
//!   unverified download is never kept. Beside it, `<that name>.meta.json`
//!   (written the same way, after it) records the URL, the length, the
//!   server's `ETag` and `Last-Modified` and the SHA-256 of the bytes. The
//!   next run reads the copy instead of the network (and says so on stderr)
//!   only if both are regular files (a symbolic link is never followed,
//!   neither to read nor to write: it is replaced) and the copy has the
//!   recorded URL, length and SHA-256; otherwise it is downloaded again and
//!   replaced. A copy used gets the same checks as a download.

use std::cell::RefCell;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::error::IoError;
use super::http::{DownloadError, Fetch, HttpBody, Target, Version};
use super::input::open_regular;
use super::name::escape_controls;
use super::sources::{npy_key, InputKind};
use super::temporaries::{remove_stale, TempFile};
use super::tokens::{read_segment, Segment};

/// The hub's address unless `HF_ENDPOINT` says otherwise.
pub const DEFAULT_HUB: &str = "https://huggingface.co";

/// The revision of an `hf://` input that names none.
pub const DEFAULT_REVISION: &str = "main";

/// The largest shard index `--shards` takes, plus one (names have 4 digits).
pub const SHARD_LIMIT: u32 = 10_000;

/// Failures in a row retried by default (`--retries`).
pub const DEFAULT_RETRIES: u32 = 5;

/// Default connect and read timeout (`--http-timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default longest time of one download, retries included (`--http-deadline`).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(3600);

/// Largest sidecar read from the cache (they hold about 300 bytes).
const MAX_RECORD_BYTES: u64 = 64 << 10;

/// How remote inputs are fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Retries and timeouts of every download.
    pub http: Fetch,
    /// Where completed downloads are kept (`--cache`), if anywhere.
    pub cache: Option<PathBuf>,
}

impl Default for FetchOptions {
    fn default() -> FetchOptions {
        let http = Fetch { retries: DEFAULT_RETRIES, timeout: DEFAULT_TIMEOUT, deadline: DEFAULT_DEADLINE };
        FetchOptions { http, cache: None }
    }
}

/// Whether the INPUT argument `arg` is remote: it starts with `http://`,
/// `https://` or `hf://` (scheme in any case). Nothing is checked further.
pub fn is_remote(arg: &Path) -> bool {
    let bytes = arg.as_os_str().as_encoded_bytes();
    ["http://", "https://", "hf://"]
        .iter()
        .any(|scheme| bytes.len() >= scheme.len() && bytes[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes()))
}

/// The name of shard `index` of a split: `data-%04d.tar.gz`.
pub fn shard_file_name(index: u32) -> String {
    format!("data-{index:04}.tar.gz")
}

/// Parses `A..B` (half-open, as Rust ranges: `0..2` is shards 0 and 1),
/// `0 <= A < B <= 10000`.
pub fn parse_shard_range(text: &str) -> Result<Range<u32>, String> {
    let bad = || format!("expected A..B with 0 <= A < B <= {SHARD_LIMIT} (shards A to B-1), not {text:?}");
    let (a, b) = text.split_once("..").ok_or_else(bad)?;
    let (a, b): (u32, u32) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
    if a >= b || b > SHARD_LIMIT {
        return Err(bad());
    }
    Ok(a..b)
}

/// Each base of `bases` followed by the shard names of `range`
/// ([`shard_file_name`]), base by base. A base is a URL or `hf://` prefix
/// ending in `/`, or a local folder.
///
/// Errors: [`IoError::NotABase`] for an argument that is neither.
pub fn expand_shards<P: AsRef<Path>>(bases: &[P], range: &Range<u32>) -> Result<Vec<PathBuf>, IoError> {
    let mut inputs = Vec::new();
    for base in bases {
        let base = base.as_ref();
        if is_remote(base) {
            let text = base.to_str().filter(|t| t.ends_with('/'));
            let text = text.ok_or_else(|| IoError::NotABase { file: base.to_path_buf() })?;
            inputs.extend(range.clone().map(|i| PathBuf::from(format!("{text}{}", shard_file_name(i)))));
        } else if base.is_dir() {
            inputs.extend(range.clone().map(|i| base.join(shard_file_name(i))));
        } else {
            return Err(IoError::NotABase { file: base.to_path_buf() });
        }
    }
    Ok(inputs)
}

/// A remote INPUT argument, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteInput {
    /// The argument as given, for messages.
    pub shown: String,
    /// The URL requested.
    pub url: String,
    /// Whether it is an `hf://` input (the hub's token is sent).
    pub hub: bool,
    /// The last segment of the URL's path, decoded: the file name.
    pub name: String,
    /// [`InputKind::Npy`] or [`InputKind::Shard`], from the name.
    pub kind: InputKind,
}

impl RemoteInput {
    /// Parses a remote argument ([`is_remote`]); `hf://` is resolved with
    /// `HF_ENDPOINT` as it is now.
    ///
    /// Errors: [`IoError::BadUrl`] for an argument that is not UTF-8, not a
    /// valid `http(s)` URL or `hf://` path, or whose name is not that of a
    /// `.npy` file or shard (a base ending in `/` is refused with a hint to
    /// use `--shards`).
    pub fn parse(arg: &Path) -> Result<RemoteInput, IoError> {
        let shown = arg
            .to_str()
            .ok_or_else(|| IoError::BadUrl { url: super::name::show(arg), problem: "is not valid UTF-8".into() })?;
        let bad = |problem: String| IoError::BadUrl { url: shown.to_string(), problem };
        let (url, hub) = match strip_scheme(shown, "hf://") {
            Some(spec) => (hub_url(spec, &hub_endpoint()).map_err(bad)?, true),
            None => (shown.to_string(), false),
        };
        let uri = ureq::http::Uri::try_from(url.as_str()).map_err(|e| bad(format!("not a valid URL ({e})")))?;
        let scheme_ok =
            uri.scheme_str().is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
        if !scheme_ok || uri.host().map_or(true, str::is_empty) {
            return Err(bad(format!("not an http:// or https:// URL with a host ({url})")));
        }
        let path = uri.path();
        if path.ends_with('/') {
            return Err(bad(
                "names a folder, not a file: give --shards A..B to read the shards data-NNNN.tar.gz under it".into(),
            ));
        }
        let last = path.rsplit('/').next().unwrap_or("");
        let name = percent_decode(last).ok_or_else(|| bad("its file name is not valid UTF-8 once decoded".into()))?;
        if name.is_empty() || name.contains(['/', '\0']) {
            return Err(bad(format!("{name:?} is not a usable file name")));
        }
        let lower = name.to_ascii_lowercase();
        let kind = if lower.ends_with(".npy") {
            InputKind::Npy
        } else if lower.ends_with(".tar") || lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
            InputKind::Shard
        } else {
            return Err(bad("expected a URL of a .npy file or of a .tar/.tar.gz/.tgz webdataset shard".into()));
        };
        Ok(RemoteInput { shown: shown.to_string(), url, hub, name, kind })
    }

    /// The key of a remote `.npy` file, as for a local one ([`npy_key`]).
    pub fn key(&self) -> Result<String, IoError> {
        npy_key(Path::new(&self.name)).map_err(|_| IoError::BadUrl {
            url: self.shown.clone(),
            problem: "its file name holds control characters and cannot be a key".into(),
        })
    }

    /// Where the cache keeps this input: `DIR/<hash of the URL>-<file name>`
    /// (a name made of `A-Za-z0-9._-` only).
    pub fn cache_entry(&self, dir: &Path) -> PathBuf {
        let safe: String = self
            .name
            .chars()
            .take(100)
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
            .collect();
        dir.join(format!("{:016x}-{}", fnv1a(self.url.as_bytes()), safe.trim_start_matches('.')))
    }

    /// The download of this input: its URL, and the hub's token if it goes
    /// to the hub.
    fn target(&self) -> Target {
        let token = self.hub.then(|| std::env::var("HF_TOKEN").ok()).flatten().filter(|t| !t.is_empty());
        let auth_hint = self.hub.then(|| match token {
            Some(_) => "the token in HF_TOKEN was sent and refused".to_string(),
            None => "a gated or private repository needs a token in HF_TOKEN".to_string(),
        });
        Target { shown: self.shown.clone(), url: self.url.clone(), bearer: token, auth_hint }
    }
}

/// `text` minus `scheme`, compared in any case.
fn strip_scheme<'t>(text: &'t str, scheme: &str) -> Option<&'t str> {
    let head = text.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme).then(|| &text[scheme.len()..])
}

/// `HF_ENDPOINT` without trailing `/`, or [`DEFAULT_HUB`].
pub fn hub_endpoint() -> String {
    match std::env::var("HF_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => endpoint.trim().trim_end_matches('/').to_string(),
        _ => DEFAULT_HUB.to_string(),
    }
}

/// The URL of `spec` (an `hf://` argument without `hf://`) on the hub at
/// `endpoint`, as `huggingface_hub.hf_hub_url` makes it: the revision
/// percent-encoded whole (`refs/pr/1` -> `refs%2Fpr%2F1`), the path with its
/// `/` kept.
pub fn hub_url(spec: &str, endpoint: &str) -> Result<String, String> {
    let (prefix, rest) = if let Some(rest) = spec.strip_prefix("datasets/") {
        ("datasets/", rest)
    } else if let Some(rest) = spec.strip_prefix("spaces/") {
        ("spaces/", rest)
    } else if let Some(rest) = spec.strip_prefix("models/") {
        ("", rest)
    } else {
        ("", spec)
    };
    let usage = || "expected hf://[datasets/]ORG/REPO[@REVISION]/PATH".to_string();
    let (org, rest) = rest.split_once('/').ok_or_else(usage)?;
    let end = rest.find(['@', '/']).ok_or_else(usage)?;
    let repo = &rest[..end];
    let (revision, path) = match rest[end..].strip_prefix('@') {
        Some(after) => {
            // Revisions with a `/` of their own: refs/pr/N, refs/convert/NAME.
            let parts = if after.starts_with("refs/pr/") || after.starts_with("refs/convert/") { 3 } else { 1 };
            let mut cut = 0;
            for _ in 0..parts {
                cut += after[cut..].find('/').map(|i| i + 1).ok_or_else(usage)?;
            }
            let revision = percent_decode(&after[..cut - 1]).ok_or_else(|| "the revision is not UTF-8".to_string())?;
            (revision, &after[cut..])
        }
        None => (DEFAULT_REVISION.to_string(), &rest[end + 1..]),
    };
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid(org) || !valid(repo) || revision.is_empty() {
        return Err(usage());
    }
    Ok(format!(
        "{endpoint}/{prefix}{org}/{repo}/resolve/{}/{}",
        percent_encode(&revision, false),
        percent_encode(path, true)
    ))
}

/// `%XX`-encodes every byte but `A-Za-z0-9-._~` (and `/` when `keep_slash`).
fn percent_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (others kept as they are); `None` if the result is
/// not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// FNV-1a, 64 bits: a stable name for a URL in the cache.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// Prints a note about remote inputs on stderr (one line, escaped).
fn note(text: &str) {
    eprintln!("note: {}", escape_controls(text));
}

/// The bytes of an input, opened, and what to do once they were all read
/// and checked.
pub struct Opened {
    /// The bytes, from the first.
    pub reader: Box<dyn Read>,
    /// Call [`Completion::verified`] once everything was read and checked.
    pub completion: Completion,
}

impl Opened {
    /// A local file (nothing to do when done).
    pub fn file(file: File) -> Opened {
        Opened { reader: Box::new(file), completion: Completion { cache: None } }
    }
}

/// What happens once an input was read completely and passed its checks:
/// a download being kept is moved into the cache.
pub struct Completion {
    cache: Option<Rc<RefCell<CacheWrite>>>,
}

impl Completion {
    /// The input was read to its end and passed every check: a download
    /// kept for the cache is committed if it has the announced size (a
    /// problem with the cache is a warning; the run goes on).
    pub fn verified(self) {
        let Some(cache) = self.cache else { return };
        let mut cache = cache.borrow_mut();
        if let Err(problem) = cache.commit() {
            eprintln!("warning: {}: not cached: {}", escape_controls(&cache.shown), escape_controls(&problem));
        }
    }
}

/// A download being copied into the cache.
struct CacheWrite {
    shown: String,
    url: String,
    entry: PathBuf,
    temp: Option<TempFile>,
    written: u64,
    /// The download ended (its reader returned 0): the file as received.
    ended: Option<Option<Version>>,
    failed: Option<String>,
}

impl CacheWrite {
    fn start(dir: &Path, input: &RemoteInput) -> std::io::Result<CacheWrite> {
        std::fs::create_dir_all(dir)?;
        remove_stale(dir);
        let temp = TempFile::new_in(dir)?;
        Ok(CacheWrite {
            shown: input.shown.clone(),
            url: input.url.clone(),
            entry: input.cache_entry(dir),
            temp: Some(temp),
            written: 0,
            ended: None,
            failed: None,
        })
    }

    /// Moves the copy into place, then its record beside it; the old record
    /// is removed first, so a copy never sits beside the record of another.
    /// Symbolic links under either name are replaced, never followed.
    fn commit(&mut self) -> Result<(), String> {
        let temp = self.temp.take().ok_or("already committed")?;
        if let Some(problem) = self.failed.take() {
            return Err(problem);
        }
        let version = match &self.ended {
            None => return Err("the download was not read to its end".into()),
            Some(None) => return Err("the download did not end cleanly".into()),
            Some(Some(version)) => version.clone(),
        };
        if version.length != self.written {
            return Err(format!("{} bytes were received, {} written", version.length, self.written));
        }
        temp.as_file().sync_all().map_err(|e| format!("cannot write the copy: {e}"))?;
        let record = record_path(&self.entry);
        match std::fs::remove_file(&record) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("cannot remove the old record {}: {e}", record.display()))
            }
            _ => {}
        }
        temp.persist(&self.entry).map_err(|e| format!("cannot write {}: {e}", self.entry.display()))?;
        let text = serde_json::json!({
            "url": self.url,
            "length": version.length,
            "etag": version.etag,
            "last_modified": version.last_modified,
            "sha256": hex(&version.sha256),
        })
        .to_string();
        let dir = self.entry.parent().unwrap_or(Path::new("."));
        let write_record = || -> std::io::Result<()> {
            let temp = TempFile::new_in(dir)?;
            temp.as_file().write_all(text.as_bytes())?;
            temp.as_file().sync_all()?;
            temp.persist(&record)
        };
        write_record().map_err(|e| format!("cannot write its record {}: {e}", record.display()))?;
        note(&format!("{}: kept in the cache as {}", self.shown, self.entry.display()));
        Ok(())
    }
}

/// A download that also writes what it reads into the cache's temporary.
struct Tee {
    body: HttpBody,
    cache: Rc<RefCell<CacheWrite>>,
}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.body.read(buf)?;
        let mut cache = self.cache.borrow_mut();
        if n == 0 && !buf.is_empty() {
            cache.ended = Some(self.body.version());
        } else if cache.failed.is_none() {
            let Some(temp) = cache.temp.as_ref() else { return Ok(n) };
            match temp.as_file().write_all(&buf[..n]) {
                Ok(()) => cache.written += n as u64,
                Err(e) => cache.failed = Some(format!("cannot write the copy: {e}")),
            }
        }
        Ok(n)
    }
}

/// Starts downloading `input` (the first request is made here).
fn download(input: &RemoteInput, fetch: &FetchOptions) -> Result<Opened, IoError> {
    let body = HttpBody::open(input.target(), fetch.http.clone())?;
    let Some(dir) = &fetch.cache else {
        return Ok(Opened { reader: Box::new(body), completion: Completion { cache: None } });
    };
    match CacheWrite::start(dir, input) {
        Ok(cache) => {
            let cache = Rc::new(RefCell::new(cache));
            let completion = Completion { cache: Some(Rc::clone(&cache)) };
            Ok(Opened { reader: Box::new(Tee { body, cache }), completion })
        }
        Err(e) => {
            let shown = escape_controls(&input.shown);
            eprintln!("warning: {shown}: not cached: cannot write into {}: {e}", dir.display());
            Ok(Opened { reader: Box::new(body), completion: Completion { cache: None } })
        }
    }
}

/// Opens the input's bytes when called: on the thread that reads them.
pub type Opener = Box<dyn FnOnce() -> Result<Opened, IoError> + Send>;

/// Where the bytes of the INPUT `arg` come from: its name in messages (the
/// path of a local file or cached copy, else the argument) and an
/// [`Opener`]. A remote input with a copy in the cache that matches its
/// record is read from there (said on stderr; the copy is opened and its
/// SHA-256 checked here); otherwise it is downloaded when opened (and kept
/// in the cache once verified, with `--cache`). Nothing else is read here.
///
/// Errors: those of [`RemoteInput::parse`].
pub fn locate(arg: &Path, fetch: &FetchOptions) -> Result<(PathBuf, Opener), IoError> {
    let local = |path: PathBuf| -> Opener { Box::new(move || open_regular(&path).map(|(file, _)| Opened::file(file))) };
    if !is_remote(arg) {
        return Ok((arg.to_path_buf(), local(arg.to_path_buf())));
    }
    let input = RemoteInput::parse(arg)?;
    if let Some((entry, file)) = cached(&input, fetch) {
        note(&format!("{}: reading the cached copy {} (delete it to download again)", input.shown, entry.display()));
        return Ok((entry, Box::new(move || Ok(Opened::file(file)))));
    }
    let fetch = fetch.clone();
    let name = PathBuf::from(&input.shown);
    Ok((name, Box::new(move || download(&input, &fetch))))
}

/// The record of the cached copy `entry`: `<entry>.meta.json`.
pub fn record_path(entry: &Path) -> PathBuf {
    let mut name = entry.as_os_str().to_owned();
    name.push(".meta.json");
    PathBuf::from(name)
}

/// The cached copy of `input`, opened at its start, if the cache holds one
/// that matches its record; a copy there that does not is said on stderr
/// and not used.
fn cached(input: &RemoteInput, fetch: &FetchOptions) -> Option<(PathBuf, File)> {
    let entry = input.cache_entry(fetch.cache.as_deref()?);
    match check_cached(&entry, &input.url) {
        Ok(found) => found.map(|file| (entry, file)),
        Err(problem) => {
            let entry = entry.display();
            note(&format!("{}: the cached copy {entry} is not used ({problem}); downloading it again", input.shown));
            None
        }
    }
}

/// Opens `path` for reading if it is a regular file, never through a
/// symbolic link (nor waiting on a FIFO). `Ok(None)` if nothing is there.
fn open_cache_file(path: &Path, what: &str) -> Result<Option<File>, String> {
    let opened = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path);
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(format!("{what} is a symbolic link")),
        Err(e) => return Err(format!("cannot open {what}: {e}")),
    };
    match file.metadata() {
        Ok(meta) if meta.is_file() => Ok(Some(file)),
        Ok(_) => Err(format!("{what} is not a regular file")),
        Err(e) => Err(format!("cannot read {what}: {e}")),
    }
}

/// The copy at `entry` of the file at `url`, checked against its record:
/// `Ok(None)` if there is none, `Err` saying why the one there is not used.
fn check_cached(entry: &Path, url: &str) -> Result<Option<File>, String> {
    let Some(mut file) = open_cache_file(entry, "it")? else { return Ok(None) };
    let record = record_path(entry);
    let shown = record.display();
    let text = match open_cache_file(&record, &format!("its record {shown}"))? {
        None => return Err(format!("its record {shown} is missing")),
        Some(f) => {
            let mut text = String::new();
            f.take(MAX_RECORD_BYTES).read_to_string(&mut text).map_err(|e| format!("cannot read {shown}: {e}"))?;
            text
        }
    };
    let unreadable = || format!("its record {shown} is not one written by host-tools");
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|_| unreadable())?;
    let (Some(recorded_url), Some(length), Some(sha256)) =
        (doc["url"].as_str(), doc["length"].as_u64(), doc["sha256"].as_str())
    else {
        return Err(unreadable());
    };
    if recorded_url != url {
        return Err(format!("its record {shown} is of another URL"));
    }
    let size = file.metadata().map_err(|e| format!("cannot read it: {e}"))?.len();
    if size != length {
        return Err(format!("it has {size} bytes, its record {length}"));
    }
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| format!("cannot read it: {e}"))?;
    if hex(&hasher.finalize()) != sha256 {
        return Err(format!("its SHA-256 is not the one in its record {shown}"));
    }
    file.seek(SeekFrom::Start(0)).map_err(|e| format!("cannot read it: {e}"))?;
    Ok(Some(file))
}

/// `bytes` in lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the remote `.npy` INPUT `arg` (or its cached copy) as one segment
/// keyed `key`.
///
/// Errors: those of [`locate`] and [`read_segment`]; a download that fails
/// is [`IoError::Download`].
pub fn read_npy(arg: &Path, key: String, fetch: &FetchOptions) -> Result<Segment, IoError> {
    let (name, open) = locate(arg, fetch)?;
    let Opened { reader, completion } = open()?;
    let segment = read_segment(std::io::BufReader::new(reader), key, &name).map_err(|e| match e {
        IoError::Read { source, .. } if DownloadError::of(&source).is_some() => {
            IoError::Download(DownloadError::of(&source).expect("checked").clone())
        }
        e => e,
    })?;
    completion.verified();
    Ok(segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_paths_resolve_like_the_hubs_client() {
        let hub = |spec: &str| hub_url(spec, "https://huggingface.co");
        assert_eq!(
            hub("datasets/commaai/commavq/data-0003.tar.gz").unwrap(),
            "https://huggingface.co/datasets/commaai/commavq/resolve/main/data-0003.tar.gz"
        );
        assert_eq!(
            hub("datasets/commaai/commavq@v1.0/sub dir/x.npy").unwrap(),
            "https://huggingface.co/datasets/commaai/commavq/resolve/v1.0/sub%20dir/x.npy"
        );
        assert_eq!(
            hub("datasets/commaai/commavq@refs/pr/12/data-0000.tar.gz").unwrap(),
            "https://huggingface.co/datasets/commaai/commavq/resolve/refs%2Fpr%2F12/data-0000.tar.gz"
        );
        assert_eq!(
            hub("datasets/o/r@refs%2Fpr%2F1/a.tar").unwrap(),
            "https://huggingface.co/datasets/o/r/resolve/refs%2Fpr%2F1/a.tar"
        );
        assert_eq!(hub("org/model/w.npy").unwrap(), "https://huggingface.co/org/model/resolve/main/w.npy");
        assert_eq!(hub("models/org/model/w.npy").unwrap(), "https://huggingface.co/org/model/resolve/main/w.npy");
        assert_eq!(hub("spaces/o/s/a.tar").unwrap(), "https://huggingface.co/spaces/o/s/resolve/main/a.tar");
        for bad in ["datasets/commaai", "datasets/commaai/commavq", "datasets/a b/c/d.tar", "datasets/o/r@/x.tar"] {
            assert!(hub(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_classified_by_the_name_at_the_end_of_their_path() {
        let parse = |s: &str| RemoteInput::parse(Path::new(s));
        let shard = parse("https://example.org/a/data-0001.tar.gz?sig=x#y").unwrap();
        assert_eq!((shard.kind, shard.name.as_str(), shard.hub), (InputKind::Shard, "data-0001.tar.gz", false));
        let npy = parse("HTTP://example.org/seg%20one.token.npy").unwrap();
        assert_eq!((npy.kind, npy.key().unwrap().as_str()), (InputKind::Npy, "seg one"));
        assert!(matches!(parse("https://example.org/readme.txt"), Err(IoError::BadUrl { .. })));
        assert!(matches!(parse("https://example.org/dir/"), Err(IoError::BadUrl { .. })));
        assert!(matches!(parse("http:///x.npy"), Err(IoError::BadUrl { .. })));
        assert!(matches!(parse("https://example.org/%FF.npy"), Err(IoError::BadUrl { .. })));
        assert!(matches!(parse("https://example.org/..%2Fx.npy"), Err(IoError::BadUrl { .. })));
        assert!(matches!(parse("hf://datasets/x"), Err(IoError::BadUrl { .. })));
        assert!(is_remote(Path::new("Https://x")) && is_remote(Path::new("hf://x")));
        assert!(!is_remote(Path::new("http:/x.npy")) && !is_remote(Path::new("./http://x")));
    }

    #[test]
    fn shard_ranges_and_bases_expand_to_shard_names() {
        assert_eq!(parse_shard_range("0..2"), Ok(0..2));
        assert_eq!(parse_shard_range("38..40"), Ok(38..40));
        for bad in ["2..2", "3..1", "0..10001", "1", "a..b", "0..=2"] {
            assert!(parse_shard_range(bad).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let bases = [PathBuf::from("hf://datasets/commaai/commavq/"), dir.path().to_path_buf()];
        let inputs = expand_shards(&bases, &(9..11)).unwrap();
        assert_eq!(
            inputs,
            [
                PathBuf::from("hf://datasets/commaai/commavq/data-0009.tar.gz"),
                PathBuf::from("hf://datasets/commaai/commavq/data-0010.tar.gz"),
                dir.path().join("data-0009.tar.gz"),
                dir.path().join("data-0010.tar.gz"),
            ]
        );
        for bad in ["hf://datasets/commaai/commavq", "http://h/data-0000.tar.gz", "no/such/folder"] {
            assert!(matches!(expand_shards(&[bad], &(0..1)), Err(IoError::NotABase { .. })), "{bad}");
        }
    }

    #[test]
    fn cache_entries_are_safe_names_that_differ_by_url() {
        let parse = |s: &str| RemoteInput::parse(Path::new(s)).unwrap();
        let dir = Path::new("/c");
        let a = parse("http://h/x/..%20%3Cevil%3E%0A.tar").cache_entry(dir);
        assert_eq!(a.parent(), Some(dir));
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)), "{name}");
        let b = parse("http://h/y/data-0000.tar.gz").cache_entry(dir);
        let c = parse("http://h/z/data-0000.tar.gz").cache_entry(dir);
        assert_ne!(b, c);
        assert!(b.to_str().unwrap().ends_with("-data-0000.tar.gz"));
    }
}

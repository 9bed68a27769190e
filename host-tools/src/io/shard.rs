//! The one reader of webdataset shards (`.tar`, `.tar.gz`, `.tgz`), used by
//! every command.
//!
//! A shard is read as a stream by a background thread (a tar stream borrows
//! its archive, so a thread plus a bounded channel is what turns it into an
//! owned iterator), never extracted nor loaded whole. Gzip is detected from
//! the magic bytes, not the name. The bytes come from a file or, for a
//! remote shard, from a download as it arrives ([`super::remote`]): the
//! reader is the same, and so are its checks; a download that fails is
//! reported as [`IoError::Download`] (naming the URL, the byte reached and
//! the member), and a download kept for the cache is committed only once the
//! shard passed every check.
//!
//! What the reader guarantees:
//! * Every shard is read to its very end, also when a command needs only some
//!   of its segments: after the tar end-of-archive the rest of the data is
//!   read and must be zeros (tar padding); through gzip, every member's
//!   CRC-32 and length are checked, and bytes after the last member must be
//!   zeros (as `gzip -t` accepts) and nothing else. Either padding may be at
//!   most [`MAX_PADDING_BYTES`] long (one tar record), so a file or a server
//!   sending zeros without end is refused as soon as the bound is passed.
//!   Only then does it report
//!   [`ShardItem::End`]; until then a command must not trust what it got
//!   from the shard.
//! * Damage to the shard itself (gzip data or checksum, tar structure, an
//!   archive that ends early, data after the end) is one
//!   [`IoError::Shard`] naming the shard, the problem and, where known, the
//!   member, after which nothing more comes from the shard.
//! * A bad `.npy` member (wrong shape, bad value, ...) is that member's error
//!   and the shard goes on.
//! * A segment's `<key>.json` member (webdataset keeps the members of a key
//!   next to each other, in any order) is paired with its `<key>.token.npy`
//!   ([`Segment::json`]), when it is directly before or after it; a `.json` of
//!   more than [`MAX_JSON_BYTES`] makes that segment an error. A token member is
//!   sent once the next member (or the end) shows whether its `.json` follows.
//! * Memory is bounded whatever the shard holds: members are read as streams
//!   (a `.npy` member through [`read_segment`], which checks its shape before
//!   reading data), and the tar extensions that the `tar` crate would read
//!   whole are read here with a bound: a GNU long name of at most
//!   [`MAX_NAME_BYTES`], PAX headers and GNU long link names of at most
//!   [`MAX_EXTENSION_BYTES`]. GNU sparse members and PAX size overrides
//!   (members over 8 GiB) are refused as damage.

use std::cell::{Cell, RefCell};
use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use flate2::bufread::GzDecoder;

use super::error::IoError;
use super::http::DownloadError;
use super::input::open_regular;
use super::name::{key_text, show_bytes};
use super::remote::{Opened, Opener};
use super::tokens::{read_segment, Segment};

/// Suffix of the members that hold a segment's tokens.
pub const TOKEN_SUFFIX: &[u8] = b".token.npy";

/// Segments a shard reader keeps ready ahead of the consumer.
const READ_AHEAD: usize = 4;

/// Longest member name taken from a GNU long-name entry (Linux's `PATH_MAX`).
pub const MAX_NAME_BYTES: u64 = 4096;

/// Suffix of a segment's metadata member.
pub const JSON_SUFFIX: &[u8] = b".json";

/// Largest `.json` member kept with a segment (the hub's are about 60 bytes).
pub const MAX_JSON_BYTES: u64 = 64 << 10;

/// Largest PAX extended header or GNU long link name read.
pub const MAX_EXTENSION_BYTES: u64 = 64 << 10;

/// Most zero bytes accepted after the tar end-of-archive block, and after
/// the last gzip member: one tar record (20 blocks of 512 bytes), the most
/// that `tar` and Python's `tarfile` pad an archive with.
pub const MAX_PADDING_BYTES: u64 = 10_240;

/// What a shard reader sends.
#[derive(Debug)]
pub enum ShardItem {
    /// A wanted `.token.npy` member: its key (`None` if its name is not UTF-8)
    /// and its segment or error.
    Member { key: Option<String>, result: Result<Segment, IoError> },
    /// The shard is damaged ([`IoError::Shard`]); nothing follows.
    Damaged(IoError),
    /// The shard was read to its end and passed every check; nothing follows.
    End,
}

/// The key of a member called `name` (raw bytes), if it holds tokens: its
/// file name without directories and without `.token.npy`. `Err` for a token
/// member whose name is not UTF-8 or holds control characters.
pub fn member_key(name: &[u8], member_file: &Path) -> Option<Result<String, IoError>> {
    let file_name = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
    let key = file_name.strip_suffix(TOKEN_SUFFIX)?;
    if key.is_empty() {
        return None;
    }
    Some(key_text(key, member_file).map(str::to_string))
}

/// A shard being read by its thread. Dropping it stops the thread at its next
/// member.
pub struct ShardStream {
    rx: Receiver<ShardItem>,
    path: PathBuf,
    cancel: Arc<AtomicBool>,
    skip_rest: Arc<AtomicBool>,
}

impl ShardStream {
    /// Starts reading the local shard at `path`, sending the members whose
    /// key `wants` accepts.
    pub fn spawn(path: PathBuf, wants: Arc<dyn Fn(&str) -> bool + Send + Sync>) -> ShardStream {
        let file = path.clone();
        let open: Opener = Box::new(move || open_regular(&file).map(|(file, _)| Opened::file(file)));
        ShardStream::spawn_from(path, open, wants)
    }

    /// Starts reading the shard that `open` opens on the reader thread (a
    /// file, a cached copy or a download, see [`super::remote::locate`]),
    /// named `path` in messages, sending the members whose key `wants`
    /// accepts. Once the shard was read to its end and passed every check,
    /// its [`super::remote::Completion`] is told so.
    pub fn spawn_from(path: PathBuf, open: Opener, wants: Arc<dyn Fn(&str) -> bool + Send + Sync>) -> ShardStream {
        let (tx, rx) = sync_channel(READ_AHEAD);
        let cancel = Arc::new(AtomicBool::new(false));
        let skip_rest = Arc::new(AtomicBool::new(false));
        let flags = Flags { cancel: Arc::clone(&cancel), skip_rest: Arc::clone(&skip_rest) };
        let spawned = std::thread::Builder::new().name("shard-reader".into()).spawn({
            let tx = tx.clone();
            let path = path.clone();
            move || {
                let last = read_shard(&path, open, &*wants, &flags, &tx);
                let _ = tx.send(last);
            }
        });
        if let Err(e) = spawned {
            let _ = tx.send(ShardItem::Damaged(damaged(&path, format!("cannot start its reader: {e}"))));
        }
        ShardStream { rx, path, cancel, skip_rest }
    }

    /// The next item. A reader that stopped without saying why (it panicked)
    /// is reported as damage, so a shard is never taken as complete without
    /// [`ShardItem::End`].
    pub fn next(&self) -> ShardItem {
        self.rx.recv().unwrap_or_else(|_| ShardItem::Damaged(damaged(&self.path, "its reader stopped unexpectedly")))
    }

    /// Reads the rest of the shard without decoding any member, to check its
    /// end; returns the error if the shard turns out damaged.
    pub fn finish(self) -> Result<(), IoError> {
        self.skip_rest.store(true, Ordering::Relaxed);
        loop {
            match self.next() {
                ShardItem::Member { .. } => continue,
                ShardItem::Damaged(e) => return Err(e),
                ShardItem::End => return Ok(()),
            }
        }
    }
}

impl Drop for ShardStream {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

struct Flags {
    /// Stop now: nobody listens.
    cancel: Arc<AtomicBool>,
    /// Decode no more members; read on to check the end.
    skip_rest: Arc<AtomicBool>,
}

fn damaged(path: &Path, problem: impl Into<String>) -> IoError {
    IoError::Shard { file: path.to_path_buf(), problem: problem.into() }
}

/// What the readers under the tar layer saw: the download that failed, the
/// first gzip problem, and whether the decompressed data ended.
#[derive(Default)]
struct Seen {
    download: RefCell<Option<DownloadError>>,
    gzip_problem: RefCell<Option<String>>,
    at_end: Cell<bool>,
}

/// The shard's bytes as opened, noting a failed download (whatever the
/// layers above make of the error).
struct Source {
    inner: Box<dyn Read>,
    seen: Rc<Seen>,
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if let Some(download) = DownloadError::of(e) {
                self.seen.download.borrow_mut().get_or_insert_with(|| download.clone());
            }
        })
    }
}

/// The decompressed (or plain) tar data, noting where it ends.
struct Tracked<R> {
    inner: R,
    seen: Rc<Seen>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.seen.at_end.set(true);
        }
        Ok(n)
    }
}

/// The data of all gzip members of a file, one after the other. flate2 checks
/// each member's CRC-32 and length when the member ends; after the last
/// member only zero bytes may follow.
struct GzipMembers<R: BufRead> {
    decoder: Option<GzDecoder<R>>,
    seen: Rc<Seen>,
}

impl<R: BufRead> GzipMembers<R> {
    fn fail(&self, problem: String) -> io::Error {
        self.seen.gzip_problem.borrow_mut().get_or_insert(problem.clone());
        io::Error::new(io::ErrorKind::InvalidData, problem)
    }

    /// After a member: starts the next one, or checks that only zeros follow.
    fn next_member(&mut self, mut inner: R) -> io::Result<()> {
        let rest = inner.fill_buf().map_err(|e| self.fail(format!("cannot read: {e}")))?;
        if rest.starts_with(&[0x1f, 0x8b]) {
            self.decoder = Some(GzDecoder::new(inner));
            return Ok(());
        }
        let mut zeros = 0u64;
        loop {
            let rest = inner.fill_buf().map_err(|e| self.fail(format!("cannot read: {e}")))?;
            if rest.is_empty() {
                return Ok(());
            }
            if rest.iter().any(|&b| b != 0) {
                return Err(self.fail(
                    "there is data after the end of the gzip stream (what `gzip -t` calls trailing garbage)".into(),
                ));
            }
            let n = rest.len();
            zeros += n as u64;
            if zeros > MAX_PADDING_BYTES {
                return Err(self.fail(format!(
                    "more than {MAX_PADDING_BYTES} zero bytes follow the end of the gzip stream (at most one tar \
                     record of padding is accepted)"
                )));
            }
            inner.consume(n);
        }
    }
}

impl<R: BufRead> Read for GzipMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(decoder) = self.decoder.as_mut() else { return Ok(0) };
            match decoder.read(buf) {
                Ok(0) => {
                    let inner = self.decoder.take().expect("present").into_inner();
                    self.next_member(inner)?;
                }
                Ok(n) => return Ok(n),
                Err(e) => {
                    let text = e.to_string();
                    let problem = if e.kind() == io::ErrorKind::UnexpectedEof {
                        "the gzip data ends early (the file is truncated)".to_string()
                    } else if text.contains("checksum") {
                        "the gzip checksum (CRC-32 and length) does not match the data: it is damaged".to_string()
                    } else {
                        format!("the gzip data is damaged ({text})")
                    };
                    return Err(self.fail(problem));
                }
            }
        }
    }
}

/// The bytes of a `.json` member, or why it was not kept.
type JsonMember = Result<Vec<u8>, IoError>;

/// Pairs token members with the `.json` of the same key (the same member name
/// before the suffix) right before or after them, other members of any kind in
/// between: a token member is held until the next `.json` or token member (or
/// the end) shows whether its `.json` follows. Memory: one segment and one
/// `.json` at most.
#[derive(Default)]
struct Pairing {
    /// A `.json` read just before: its member name minus `.json`, and its bytes
    /// (or the error of a `.json` too large).
    before: Option<(Vec<u8>, JsonMember)>,
    /// A token member not sent yet: its name minus `.token.npy`, key, segment.
    held: Option<(Vec<u8>, String, Result<Segment, IoError>)>,
}

impl Pairing {
    /// A token member was read (after [`Pairing::send_held`]): it takes the
    /// `.json` read before it if that is its own, and waits.
    fn token(&mut self, stem: Vec<u8>, key: String, mut result: Result<Segment, IoError>) {
        if let Some((json_stem, json)) = self.before.take() {
            if json_stem == stem {
                attach(&mut result, json);
            }
        }
        self.held = Some((stem, key, result));
    }

    /// A `.json` member (`json` is `None` when its key is not wanted): it goes to
    /// the held token member of its key, or waits for the next member. Returns
    /// `false` if nobody listens any more.
    fn json(&mut self, stem: &[u8], json: Option<JsonMember>, tx: &SyncSender<ShardItem>) -> bool {
        if let Some((held_stem, _, result)) = &mut self.held {
            if held_stem == stem {
                if let Some(json) = json {
                    attach(result, json);
                }
                return self.flush(tx);
            }
        }
        if !self.flush(tx) {
            return false;
        }
        self.before = json.map(|json| (stem.to_vec(), json));
        true
    }

    /// Sends the held token member, if any, and forgets a `.json` read before.
    /// Returns `false` if nobody listens any more.
    fn flush(&mut self, tx: &SyncSender<ShardItem>) -> bool {
        self.before = None;
        self.send_held(tx)
    }

    /// Sends the held token member, if any. Returns `false` if nobody listens
    /// any more.
    fn send_held(&mut self, tx: &SyncSender<ShardItem>) -> bool {
        match self.held.take() {
            Some((_, key, result)) => tx.send(ShardItem::Member { key: Some(key), result }).is_ok(),
            None => true,
        }
    }
}

/// Gives a segment its `.json`, or makes it that `.json`'s error.
fn attach(result: &mut Result<Segment, IoError>, json: JsonMember) {
    match (result.as_mut(), json) {
        (Ok(segment), Ok(json)) => segment.json = Some(json),
        (Ok(_), Err(e)) => *result = Err(e),
        (Err(_), _) => {}
    }
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Body of the reader thread: sends the wanted members and returns the last
/// item ([`ShardItem::End`] or [`ShardItem::Damaged`]), or `End` early if
/// cancelled (nobody listens then).
fn read_shard(
    path: &Path,
    open: Opener,
    wants: &dyn Fn(&str) -> bool,
    flags: &Flags,
    tx: &SyncSender<ShardItem>,
) -> ShardItem {
    let Opened { reader, completion } = match open() {
        Ok(opened) => opened,
        Err(e @ IoError::Download(_)) => return ShardItem::Damaged(e),
        Err(e) => return ShardItem::Damaged(damaged(path, e.to_string())),
    };
    let seen = Rc::new(Seen::default());
    let mut buffered = BufReader::with_capacity(1 << 16, Source { inner: reader, seen: Rc::clone(&seen) });
    let gzip = match buffered.fill_buf() {
        Ok(head) => head.starts_with(&[0x1f, 0x8b]),
        Err(e) => match DownloadError::of(&e) {
            Some(download) => return ShardItem::Damaged(IoError::Download(download.clone())),
            None => return ShardItem::Damaged(damaged(path, format!("cannot read: {e}"))),
        },
    };
    let data: Box<dyn Read> = if gzip {
        Box::new(GzipMembers { decoder: Some(GzDecoder::new(buffered)), seen: Rc::clone(&seen) })
    } else {
        Box::new(buffered)
    };
    let mut archive = tar::Archive::new(Tracked { inner: data, seen: Rc::clone(&seen) });
    // What went wrong, from the first problem the layers below saw.
    let explain = |e: io::Error, member: &Option<String>| -> ShardItem {
        let place = match member {
            Some(m) => format!(" (at member {m})"),
            None => String::new(),
        };
        if let Some(download) = seen.download.borrow_mut().take() {
            return ShardItem::Damaged(IoError::Download(DownloadError {
                problem: download.problem + &place,
                ..download
            }));
        }
        let problem = match seen.gzip_problem.borrow_mut().take() {
            Some(gzip) => gzip,
            None if seen.at_end.get() => "the archive ends early (the file is truncated)".to_string(),
            None if member.is_none() => "it is not a tar archive (its first header is invalid)".to_string(),
            None => format!("the tar data is damaged ({e})"),
        };
        ShardItem::Damaged(damaged(path, problem + &place))
    };

    // Raw entries: the extensions are handled below, with bounds.
    let mut entries = match archive.entries() {
        Ok(entries) => entries.raw(true),
        Err(e) => return explain(e, &None),
    };
    let mut member: Option<String> = None;
    let mut pairing = Pairing::default();
    // From a GNU long-name entry or a PAX header, for the next member.
    let mut next_name: Option<Vec<u8>> = None;
    let mut next_size: Option<u64> = None;
    loop {
        if flags.cancel.load(Ordering::Relaxed) {
            return ShardItem::End;
        }
        let mut entry = match entries.next() {
            None => break,
            Some(Ok(entry)) => entry,
            Some(Err(e)) => return explain(e, &member),
        };
        let kind = entry.header().entry_type();
        let size = entry.size();
        if kind.is_gnu_longname()
            || kind.is_gnu_longlink()
            || kind.is_pax_local_extensions()
            || kind.is_pax_global_extensions()
        {
            let (what, cap) = if kind.is_gnu_longname() {
                ("GNU long name", MAX_NAME_BYTES)
            } else if kind.is_gnu_longlink() {
                ("GNU long link name", MAX_EXTENSION_BYTES)
            } else {
                ("PAX header", MAX_EXTENSION_BYTES)
            };
            let place = match &member {
                Some(m) => format!(" (after member {m})"),
                None => String::new(),
            };
            if size > cap {
                return ShardItem::Damaged(damaged(
                    path,
                    format!("a {what} of {size} bytes is larger than {cap} bytes{place}"),
                ));
            }
            let mut data = Vec::with_capacity(size as usize);
            if let Err(e) = entry.read_to_end(&mut data) {
                return explain(e, &member);
            }
            if (data.len() as u64) < size {
                return explain(io::Error::from(io::ErrorKind::UnexpectedEof), &member);
            }
            if kind.is_gnu_longname() {
                let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                data.truncate(end);
                next_name = Some(data);
            } else if kind.is_pax_local_extensions() {
                for record in tar::PaxExtensions::new(&data) {
                    let Ok(record) = record else {
                        return ShardItem::Damaged(damaged(path, format!("a PAX header is malformed{place}")));
                    };
                    match record.key_bytes() {
                        b"path" => next_name = Some(record.value_bytes().to_vec()),
                        b"size" => {
                            let value = record.value().ok().and_then(|v| v.parse().ok());
                            next_size = Some(value.unwrap_or(u64::MAX));
                        }
                        _ => {}
                    }
                }
            }
            continue;
        }
        let name = next_name.take().unwrap_or_else(|| entry.path_bytes().into_owned());
        member = Some(show_bytes(&name));
        let place = format!(" (at member {})", show_bytes(&name));
        if kind.is_gnu_sparse() {
            return ShardItem::Damaged(damaged(path, format!("sparse members are not supported{place}")));
        }
        if next_size.take().is_some_and(|pax| pax != size) {
            return ShardItem::Damaged(damaged(
                path,
                format!("a PAX size overrides the header's (members over 8 GiB are not supported){place}"),
            ));
        }
        if !kind.is_file() || flags.skip_rest.load(Ordering::Relaxed) {
            continue;
        }
        let member_file = path.join(OsStr::from_bytes(&name));
        if let Some(stem) = name.strip_suffix(JSON_SUFFIX) {
            // A `.json`: for the token member before it, or the one after it.
            let wanted = member_key(&[stem, TOKEN_SUFFIX].concat(), &member_file)
                .is_some_and(|key| key.is_ok_and(|key| wants(&key)));
            let json = if !wanted {
                None
            } else if size > MAX_JSON_BYTES {
                Some(Err(IoError::JsonTooLarge { file: member_file, size, max: MAX_JSON_BYTES }))
            } else {
                let mut data = Vec::with_capacity(size as usize);
                match entry.read_to_end(&mut data) {
                    Err(e) => return explain(e, &member),
                    Ok(n) if (n as u64) < size => {
                        return explain(io::Error::from(io::ErrorKind::UnexpectedEof), &member)
                    }
                    Ok(_) => Some(Ok(data)),
                }
            };
            if !pairing.json(stem, json, tx) {
                return ShardItem::End;
            }
            continue;
        }
        let key = match member_key(&name, &member_file) {
            None => continue,
            Some(Err(e)) => {
                if !pairing.send_held(tx) || tx.send(ShardItem::Member { key: None, result: Err(e) }).is_err() {
                    return ShardItem::End;
                }
                continue;
            }
            Some(Ok(key)) if !wants(&key) => continue,
            Some(Ok(key)) => key,
        };
        if !pairing.send_held(tx) {
            return ShardItem::End;
        }
        let mut counted = Counted { inner: entry, count: 0 };
        let result = read_segment(&mut counted, key.clone(), &member_file);
        match result {
            // An I/O error inside the member's data is the shard's.
            Err(IoError::Read { source, .. }) => return explain(source, &member),
            // The member ended before its size: the archive did.
            Err(IoError::TruncatedHeader { .. } | IoError::TruncatedData { .. }) if counted.count < size => {
                return explain(io::Error::from(io::ErrorKind::UnexpectedEof), &member)
            }
            result => {
                let stem = name.strip_suffix(TOKEN_SUFFIX).unwrap_or(&name).to_vec();
                pairing.token(stem, key, result);
            }
        }
    }
    if !pairing.flush(tx) {
        return ShardItem::End;
    }
    if next_name.is_some() || next_size.is_some() {
        return ShardItem::Damaged(damaged(path, "a GNU long name or PAX header describes no member (truncated?)"));
    }
    // Past the end-of-archive: read to the end (checking gzip), zeros only,
    // at most one record of them.
    let mut rest = archive.into_inner();
    let mut buf = vec![0u8; 1 << 16];
    let mut zeros = 0u64;
    loop {
        match rest.read(&mut buf) {
            Ok(0) => {
                completion.verified();
                return ShardItem::End;
            }
            Ok(n) if buf[..n].iter().all(|&b| b == 0) => {
                zeros += n as u64;
                if zeros > MAX_PADDING_BYTES {
                    return ShardItem::Damaged(damaged(
                        path,
                        format!(
                            "more than {MAX_PADDING_BYTES} zero bytes follow the end of the tar archive (at most one \
                             tar record of padding is accepted)"
                        ),
                    ));
                }
            }
            Ok(_) => {
                return ShardItem::Damaged(damaged(
                    path,
                    "there is data after the end of the tar archive (two archives joined together?)",
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return explain(e, &member),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::test_support::write_shard;

    #[test]
    fn zero_padding_after_the_end_is_at_most_one_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shard");
        let members = [("k.json".to_string(), b"{}".to_vec())];
        for (gzip, after) in [(true, "gzip stream"), (false, "tar archive")] {
            write_shard(&path, &members, gzip);
            let bytes = std::fs::read(&path).unwrap();
            // The tar crate ends an archive with two zero blocks; the reader
            // takes the first as its end, the second counts as padding.
            let room = if gzip { MAX_PADDING_BYTES } else { MAX_PADDING_BYTES - 512 } as usize;
            for extra in [room, room + 1] {
                std::fs::write(&path, [&bytes[..], &vec![0; extra]].concat()).unwrap();
                let result = ShardStream::spawn(path.clone(), Arc::new(|_: &str| false)).finish();
                if extra == room {
                    assert!(result.is_ok(), "{after}: {result:?}");
                    continue;
                }
                let Err(IoError::Shard { problem, .. }) = result else { panic!("{after}: {result:?}") };
                let expected = format!("more than {MAX_PADDING_BYTES} zero bytes follow the end of the {after}");
                assert!(problem.starts_with(&expected), "{problem}");
            }
        }
    }
}

//! Turning INPUT arguments into a lazy stream of [`Segment`]s.
//!
//! An INPUT is one of:
//! * a `.npy` file: one segment, key = file name minus `.npy` (any case) and
//!   minus a `.token` suffix (`abc_13.token.npy` and `abc_13.npy` both give
//!   `abc_13`);
//! * `-`: one `.npy` array read from standard input, key `stdin` (only where
//!   a command reads its inputs once);
//! * a folder: every regular file directly inside it whose name ends in
//!   `.npy` (not recursive; shards, FIFOs and devices inside the folder are
//!   not read), in byte order of file name, each as above;
//! * a webdataset shard `*.tar`, `*.tar.gz` or `*.tgz`, read by the one shard
//!   reader ([`super::shard`]): every regular member whose name ends in
//!   `.token.npy` is a segment whose key is the member name minus that suffix
//!   and minus any directory prefix; other members are skipped. The shard is
//!   always read to its end and checked (gzip CRC-32 and length, nothing after
//!   the end), also when `--only`/`--limit` need no more of it;
//! * an `http://` or `https://` URL, or an `hf://` path on the hub, of a
//!   `.npy` file or a shard (classified by the name at the end of the URL's
//!   path; see [`super::remote`]): read as it downloads, exactly as the same
//!   file on disk, including a shard's checks to its end (the rest of a shard
//!   is downloaded for them). `--shards A..B` replaces each INPUT, then a base
//!   (a URL or `hf://` prefix ending in `/`, or a folder), by its shards
//!   `data-%04d.tar.gz` numbered `A` to `B - 1` ([`Selection::shards`]).
//!
//! An INPUT that is neither (a FIFO, a device, a socket, another name) is
//! refused when the inputs are opened, before anything is read. File names
//! that are not UTF-8 are refused (keys are made from them), never converted
//! lossily.
//!
//! [`Segments`] yields the segments of all inputs in argument order. Memory
//! is one segment at a time (plus a few read ahead for a shard), whatever
//! the number of segments; only the list of `.npy` paths of folder inputs is
//! held up front. Keys are not checked for duplicates across inputs here:
//! commands that need unique keys (`encode`, `pack`) check them, and since
//! `--only` is a filter that never ends the reading early, they see every
//! copy of a selected key.

use std::collections::{HashSet, VecDeque};
use std::io::BufReader;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::IoError;
use super::input::{is_dash, kind_of, open_regular};
use super::name::utf8_name;
use super::remote::{self, is_remote, FetchOptions, RemoteInput};
use super::shard::{ShardItem, ShardStream};
use super::tokens::{read_segment, Segment};

/// Which shards and segments to yield, and how remote inputs are fetched.
///
/// A segment is wanted when its key is not in `exclude` and, if `only` is
/// non-empty, is in `only`. `limit` caps the number of items yielded
/// overall (errors included). `shards` turns the inputs into bases of
/// shards. The default reads every segment of the inputs as given, and
/// downloads with [`FetchOptions::default`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Yield at most this many items in total.
    pub limit: Option<usize>,
    /// Keys to skip.
    pub exclude: Vec<String>,
    /// If non-empty, the only keys to yield. Every input is still read (a
    /// filter, not a search that stops at the first match), so a key that two
    /// inputs hold is yielded twice and a command that refuses duplicate keys
    /// (`encode`, `pack`) refuses it with `--only` too, instead of keeping
    /// one copy silently.
    pub only: Vec<String>,
    /// With `Some(a..b)`, every INPUT is a base and stands for its shards
    /// `data-%04d.tar.gz` numbered `a` to `b - 1` (`--shards`, see
    /// [`remote::expand_shards`]).
    pub shards: Option<Range<u32>>,
    /// How remote inputs are downloaded (retries, timeouts, cache).
    pub fetch: FetchOptions,
}

/// The kind of an INPUT argument, as decided by [`InputKind::of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A single `.npy` file.
    Npy,
    /// `-`: one `.npy` array on standard input.
    Stdin,
    /// A folder of `.npy` files (not recursive).
    Folder,
    /// A webdataset tar shard, gzip-compressed or not.
    Shard,
}

/// The key of a segment read from standard input.
pub const STDIN_KEY: &str = "stdin";

/// How standard input is named in messages.
pub const STDIN_NAME: &str = "standard input";

impl InputKind {
    /// Classifies `path`: `-` is [`InputKind::Stdin`]; a directory is a
    /// [`InputKind::Folder`]; a regular file is classified by its name (case
    /// insensitively): `.npy` is [`InputKind::Npy`], `.tar`/`.tar.gz`/`.tgz`
    /// is [`InputKind::Shard`]. A remote input ([`remote::is_remote`]) is
    /// classified by the name at the end of its URL, without any request.
    ///
    /// Errors: [`IoError::Read`] if `path` does not exist or cannot be
    /// inspected, [`IoError::NotAFile`] for a FIFO, device or socket (not
    /// opened, so this never blocks), [`IoError::UnsupportedInput`] for any
    /// other name; [`IoError::BadUrl`] for a remote input that is not usable.
    pub fn of(path: &Path) -> Result<InputKind, IoError> {
        if is_dash(path) {
            return Ok(InputKind::Stdin);
        }
        if is_remote(path) {
            return Ok(RemoteInput::parse(path)?.kind);
        }
        let meta = std::fs::metadata(path).map_err(|e| IoError::Read { file: path.to_path_buf(), source: e })?;
        if meta.is_dir() {
            return Ok(InputKind::Folder);
        }
        if !meta.is_file() {
            return Err(IoError::NotAFile { file: path.to_path_buf(), kind: kind_of(&meta) });
        }
        let name = path.file_name().map(|n| n.as_encoded_bytes().to_ascii_lowercase()).unwrap_or_default();
        if name.ends_with(b".npy") {
            Ok(InputKind::Npy)
        } else if name.ends_with(b".tar") || name.ends_with(b".tar.gz") || name.ends_with(b".tgz") {
            Ok(InputKind::Shard)
        } else {
            Err(IoError::UnsupportedInput { file: path.to_path_buf() })
        }
    }
}

/// The key of a `.npy` file: its file name minus `.npy` (any case) and then
/// minus a `.token` suffix if present.
///
/// Errors: [`IoError::UnusableName`] if the name is not UTF-8.
pub fn npy_key(path: &Path) -> Result<String, IoError> {
    let name = utf8_name(path)?;
    let stem = match name.len().checked_sub(4) {
        Some(cut) if name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(".npy") => &name[..cut],
        _ => name,
    };
    Ok(stem.strip_suffix(".token").unwrap_or(stem).to_string())
}

/// Reads one `.npy` file (or standard input for `-`) as a segment keyed by
/// [`npy_key`] (or [`STDIN_KEY`]); a remote one is downloaded with the
/// default [`FetchOptions`] (see [`read_npy_input`]).
///
/// Errors: those of [`open_regular`] and [`npy_key`], otherwise those of
/// [`read_segment`].
pub fn read_npy_file(path: &Path) -> Result<Segment, IoError> {
    read_npy_input(path, &FetchOptions::default())
}

/// [`read_npy_file`], a remote `.npy` file being downloaded (or read from
/// the cache) as `fetch` says.
///
/// Errors: those of [`read_npy_file`]; [`IoError::BadUrl`] and
/// [`IoError::Download`] for a remote file.
pub fn read_npy_input(path: &Path, fetch: &FetchOptions) -> Result<Segment, IoError> {
    if is_dash(path) {
        return read_segment(BufReader::new(std::io::stdin().lock()), STDIN_KEY, Path::new(STDIN_NAME));
    }
    if is_remote(path) {
        let key = RemoteInput::parse(path)?.key()?;
        return remote::read_npy(path, key, fetch);
    }
    let key = npy_key(path)?;
    let (file, _) = open_regular(path)?;
    read_segment(BufReader::new(file), key, path)
}

/// `exclude`/`only` as hash sets.
#[derive(Debug, Default)]
struct KeyFilter {
    exclude: HashSet<String>,
    only: HashSet<String>,
}

impl KeyFilter {
    fn wants(&self, key: &str) -> bool {
        !self.exclude.contains(key) && (self.only.is_empty() || self.only.contains(key))
    }
}

/// One unit of work, in argument order.
#[derive(Debug)]
enum Job {
    Npy {
        path: PathBuf,
        key: String,
    },
    Stdin,
    Shard {
        path: PathBuf,
    },
    /// A folder member that cannot be read as a segment (e.g. its name is not
    /// UTF-8); yielded as its error in its turn.
    Bad(IoError),
}

/// The segments of a list of INPUT arguments, in order, as an iterator of
/// `Result<Segment, IoError>`.
///
/// * Lazy: each `.npy` file is read when its turn comes; a shard is
///   streamed by one background thread at most a few segments ahead.
///   Dropping the iterator early stops that thread.
/// * A bad file or member yields one `Err` and iteration continues with the
///   next one; a damaged shard yields one [`IoError::Shard`]
///   ([`IoError::spoils_shard`]) and its remaining members are skipped.
/// * A shard is read to its end before the iterator moves past it (or ends),
///   so the iterator ending without a shard error means every shard passed
///   its checks.
/// * `Send`, so it can feed rayon directly (`segments.par_bridge()`), or
///   be enumerated first to keep the input order.
pub struct Segments {
    jobs: VecDeque<Job>,
    filter: Arc<KeyFilter>,
    remaining: Option<usize>,
    only_pending: HashSet<String>,
    current: Option<ShardStream>,
    len_hint: Option<usize>,
    files: Vec<PathBuf>,
    has_stdin: bool,
    fetch: FetchOptions,
}

impl Segments {
    /// Expands the bases of `--shards` ([`Selection::shards`]), classifies
    /// every input (see [`InputKind::of`]) and lists folders. Nothing is
    /// downloaded here.
    ///
    /// Errors (before anything is read): [`IoError::Read`] for a missing
    /// input or unreadable folder, [`IoError::NotAFile`] for a FIFO, device
    /// or socket, [`IoError::UnsupportedInput`] for an argument of unknown
    /// kind, [`IoError::UnusableName`] for a `.npy` argument whose name is not
    /// UTF-8, [`IoError::BadUrl`] for a remote input that is not usable,
    /// [`IoError::NotABase`] for an INPUT that is not a base with `--shards`.
    pub fn open<P: AsRef<Path>>(inputs: &[P], selection: &Selection) -> Result<Segments, IoError> {
        let expanded;
        let inputs: Vec<&Path> = match &selection.shards {
            Some(range) => {
                expanded = remote::expand_shards(inputs, range)?;
                expanded.iter().map(PathBuf::as_path).collect()
            }
            None => inputs.iter().map(AsRef::as_ref).collect(),
        };
        let mut jobs = VecDeque::new();
        let mut files = Vec::new();
        let mut has_stdin = false;
        for input in inputs {
            if is_remote(input) {
                let remote = RemoteInput::parse(input)?;
                if let Some(cache) = &selection.fetch.cache {
                    // A cached copy is read like an input: never an output.
                    files.push(remote.cache_entry(cache));
                }
                jobs.push_back(match remote.kind {
                    InputKind::Npy => Job::Npy { path: input.to_path_buf(), key: remote.key()? },
                    _ => Job::Shard { path: input.to_path_buf() },
                });
                continue;
            }
            match InputKind::of(input)? {
                InputKind::Npy => {
                    jobs.push_back(Job::Npy { path: input.to_path_buf(), key: npy_key(input)? });
                    files.push(input.to_path_buf());
                }
                InputKind::Stdin => {
                    jobs.push_back(Job::Stdin);
                    has_stdin = true;
                }
                InputKind::Shard => {
                    jobs.push_back(Job::Shard { path: input.to_path_buf() });
                    files.push(input.to_path_buf());
                }
                InputKind::Folder => {
                    for path in list_npy_files(input)? {
                        files.push(path.clone());
                        jobs.push_back(match npy_key(&path) {
                            Ok(key) => Job::Npy { path, key },
                            Err(e) => Job::Bad(e),
                        });
                    }
                }
            }
        }
        let filter = Arc::new(KeyFilter {
            exclude: selection.exclude.iter().cloned().collect(),
            only: selection.only.iter().cloned().collect(),
        });
        let mut segments = Segments {
            jobs,
            only_pending: filter.only.clone(),
            filter,
            remaining: selection.limit,
            current: None,
            len_hint: None,
            files,
            has_stdin,
            fetch: selection.fetch.clone(),
        };
        segments.len_hint = segments.count_up_front();
        Ok(segments)
    }

    /// Every file the iterator may read (`.npy` files, folder members,
    /// shards, the cached copies of remote inputs), as paths, for
    /// [`super::InputSet`]. URLs are not files and are not listed.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Whether one of the inputs is standard input (`-`).
    pub fn reads_stdin(&self) -> bool {
        self.has_stdin
    }

    /// The keys of the segments known before reading (`.npy` files and folder
    /// members, selection applied; shard members are known only when read).
    pub fn known_keys(&self) -> Vec<String> {
        self.jobs
            .iter()
            .filter_map(|job| match job {
                Job::Npy { key, .. } if self.filter.wants(key) => Some(key.clone()),
                _ => None,
            })
            .collect()
    }

    /// The exact number of items (segments and per-file errors) the
    /// iterator will yield in total, when it is known without reading any
    /// data: `Some` when no input is a shard, `None` otherwise (use a
    /// spinner). It takes `limit`, `exclude` and `only` into account.
    pub fn len_hint(&self) -> Option<usize> {
        self.len_hint
    }

    /// Keys of `only` that have not been yielded (yet), sorted. After the
    /// iterator is exhausted these are the requested keys that no input
    /// contained.
    pub fn unmatched_only(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.only_pending.iter().cloned().collect();
        keys.sort();
        keys
    }

    fn count_up_front(&self) -> Option<usize> {
        let mut count = 0;
        for job in &self.jobs {
            if self.remaining == Some(count) {
                break;
            }
            match job {
                Job::Shard { .. } => return None,
                Job::Npy { key, .. } if self.filter.wants(key) => count += 1,
                Job::Stdin if self.filter.wants(STDIN_KEY) => count += 1,
                Job::Bad(_) => count += 1,
                Job::Npy { .. } | Job::Stdin => {}
            }
        }
        Some(count)
    }

    fn finished(&self) -> bool {
        self.remaining == Some(0)
    }

    fn emit(&mut self, key: Option<String>, item: Result<Segment, IoError>) -> Result<Segment, IoError> {
        if let Some(n) = &mut self.remaining {
            *n -= 1;
        }
        if let Some(key) = key {
            self.only_pending.remove(&key);
        }
        item
    }
}

impl Iterator for Segments {
    type Item = Result<Segment, IoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished() {
            self.jobs.clear();
            // A shard in progress is read to its end and checked all the same.
            return self.current.take().and_then(|stream| stream.finish().err()).map(Err);
        }
        loop {
            if let Some(stream) = &self.current {
                match stream.next() {
                    ShardItem::Member { key, result } => return Some(self.emit(key, result)),
                    ShardItem::Damaged(e) => {
                        self.current = None;
                        return Some(Err(e));
                    }
                    ShardItem::End => self.current = None,
                }
            }
            match self.jobs.pop_front()? {
                Job::Npy { path, key } => {
                    if self.filter.wants(&key) {
                        let item = if is_remote(&path) {
                            remote::read_npy(&path, key.clone(), &self.fetch)
                        } else {
                            open_regular(&path).and_then(|(f, _)| read_segment(BufReader::new(f), key.clone(), &path))
                        };
                        return Some(self.emit(Some(key), item));
                    }
                }
                Job::Stdin => {
                    if self.filter.wants(STDIN_KEY) {
                        let item = read_npy_file(Path::new("-"));
                        return Some(self.emit(Some(STDIN_KEY.to_string()), item));
                    }
                }
                Job::Bad(e) => return Some(self.emit(None, Err(e))),
                Job::Shard { path } => {
                    let filter = Arc::clone(&self.filter);
                    let wants = Arc::new(move |key: &str| filter.wants(key));
                    match remote::locate(&path, &self.fetch) {
                        Ok((name, open)) => self.current = Some(ShardStream::spawn_from(name, open, wants)),
                        Err(e) => return Some(self.emit(None, Err(e))),
                    }
                }
            }
        }
    }
}

/// Regular files (symlinks followed) directly in `dir` whose name ends in
/// `.npy` (any case), sorted by file name.
fn list_npy_files(dir: &Path) -> Result<Vec<PathBuf>, IoError> {
    let read_err = |e| IoError::Read { file: dir.to_path_buf(), source: e };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        if !entry.file_name().as_encoded_bytes().to_ascii_lowercase().ends_with(b".npy") {
            continue;
        }
        let path = entry.path();
        if std::fs::metadata(&path).map(|m| m.is_file()).unwrap_or(false) {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::shard::member_key;
    use crate::io::test_support::{npy_bytes, real_file, write_shard, REAL_FILES};
    use crate::io::tokens::write_npy_i16;

    const KEYS: [&str; 2] = ["aaaa0000_1", "3b41c0fa8959aea6c118e5714f412a2e_13"];

    fn real_segments() -> Vec<Segment> {
        REAL_FILES.iter().map(|n| read_npy_file(&real_file(n)).unwrap()).collect()
    }

    /// A webdataset-style shard built from the two real files, with a
    /// `.json` and an ignored `.pose.npy` member per key, under a directory
    /// prefix for the second key.
    fn make_shard(dir: &Path, name: &str, gzip: bool) -> PathBuf {
        let mut members = Vec::new();
        for (i, file) in REAL_FILES.iter().enumerate() {
            let prefix = if i == 1 { "sub/dir/" } else { "" };
            let key = KEYS[i];
            members.push((format!("{prefix}{key}.json"), br#"{"fps": 20}"#.to_vec()));
            members.push((format!("{prefix}{key}.token.npy"), std::fs::read(real_file(file)).unwrap()));
            members.push((format!("{prefix}{key}.pose.npy"), npy_bytes("<f4", false, &[1200, 6], &[0; 7200])));
        }
        let path = dir.join(name);
        write_shard(&path, &members, gzip);
        path
    }

    fn collect(inputs: &[PathBuf], sel: &Selection) -> Vec<Segment> {
        Segments::open(inputs, sel).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn shard_gz_tgz_tar_yield_token_members_only() {
        let dir = tempfile::tempdir().unwrap();
        let real = real_segments();
        for (name, gzip) in [("data-0000.tar.gz", true), ("data-0001.tgz", true), ("data-0002.tar", false)] {
            let shard = make_shard(dir.path(), name, gzip);
            let segs = Segments::open(&[&shard], &Selection::default()).unwrap();
            assert_eq!(segs.len_hint(), None, "shards have unknown length");
            let segs: Vec<Segment> = segs.map(Result::unwrap).collect();
            assert_eq!(segs.len(), 2, "{name}");
            for (i, seg) in segs.iter().enumerate() {
                assert_eq!(seg.key, KEYS[i]);
                assert_eq!((seg.frames, &seg.tokens), (real[i].frames, &real[i].tokens));
            }
        }
    }

    #[test]
    fn shard_selection_limit_exclude_only() {
        let dir = tempfile::tempdir().unwrap();
        let shard = make_shard(dir.path(), "s.tar.gz", true);
        let keys = |sel: Selection| -> Vec<String> {
            collect(std::slice::from_ref(&shard), &sel).into_iter().map(|s| s.key).collect()
        };
        assert_eq!(keys(Selection { limit: Some(1), ..Default::default() }), [KEYS[0]]);
        assert_eq!(keys(Selection { exclude: vec![KEYS[0].into()], ..Default::default() }), [KEYS[1]]);
        assert_eq!(keys(Selection { only: vec![KEYS[1].into()], ..Default::default() }), [KEYS[1]]);

        let mut segs =
            Segments::open(&[&shard], &Selection { only: vec![KEYS[0].into(), "nope".into()], ..Default::default() })
                .unwrap();
        assert_eq!(segs.next().unwrap().unwrap().key, KEYS[0]);
        assert!(segs.next().is_none());
        assert_eq!(segs.unmatched_only(), ["nope"]);
    }

    #[test]
    fn only_yields_every_copy_of_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let first = make_shard(dir.path(), "a.tar.gz", true);
        let second = make_shard(dir.path(), "b.tar", false);
        let only = Selection { only: vec![KEYS[0].into()], ..Default::default() };
        let keys: Vec<String> = collect(&[first, second], &only).into_iter().map(|s| s.key).collect();
        assert_eq!(keys, [KEYS[0], KEYS[0]]);
        let single = real_file(REAL_FILES[0]);
        let only = Selection { only: vec!["commaai-commavq_0".into()], ..Default::default() };
        let segs = Segments::open(&[&single, &single], &only).unwrap();
        assert_eq!(segs.len_hint(), Some(2));
        assert_eq!(segs.count(), 2);
    }

    #[test]
    fn early_drop_of_shard_stream_does_not_hang() {
        let dir = tempfile::tempdir().unwrap();
        let shard = make_shard(dir.path(), "s.tar.gz", true);
        let mut segs = Segments::open(&[&shard, &shard, &shard], &Selection::default()).unwrap();
        segs.next().unwrap().unwrap();
        drop(segs);
    }

    #[test]
    fn files_and_folders_with_keys_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let real = real_segments();
        let folder = dir.path().join("segs");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("b_2.token.npy"), real[1].to_npy()).unwrap();
        std::fs::write(folder.join("a_1.npy"), real[0].to_npy()).unwrap();
        std::fs::write(folder.join("notes.json"), b"{}").unwrap();
        std::fs::create_dir(folder.join("nested.npy")).unwrap(); // a folder, not a file
        let single = real_file(REAL_FILES[0]);

        let inputs = vec![folder.clone(), single.clone()];
        let segs = Segments::open(&inputs, &Selection::default()).unwrap();
        assert_eq!(segs.len_hint(), Some(3));
        let segs: Vec<Segment> = segs.map(Result::unwrap).collect();
        let keys: Vec<&str> = segs.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["a_1", "b_2", "commaai-commavq_0"]);
        assert_eq!(segs[1].tokens, real[1].tokens);

        for (sel, expect) in [
            (Selection { limit: Some(2), ..Default::default() }, 2),
            (Selection { exclude: vec!["a_1".into()], ..Default::default() }, 2),
            (Selection { only: vec!["b_2".into()], ..Default::default() }, 1),
            (Selection { only: vec!["b_2".into()], limit: Some(0), ..Default::default() }, 0),
        ] {
            let segs = Segments::open(&inputs, &sel).unwrap();
            assert_eq!(segs.len_hint(), Some(expect), "{sel:?}");
            assert_eq!(segs.count(), expect, "{sel:?}");
        }
    }

    #[test]
    fn mixed_inputs_stream_in_argument_order() {
        let dir = tempfile::tempdir().unwrap();
        let shard = make_shard(dir.path(), "s.tgz", true);
        let single = real_file(REAL_FILES[1]);
        let segs = collect(&[single, shard], &Selection { limit: Some(2), ..Default::default() });
        let keys: Vec<&str> = segs.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["mattseabrook-commavq_0", KEYS[0]]);
    }

    #[test]
    fn shard_with_first_ten_frames_and_bad_member() {
        let dir = tempfile::tempdir().unwrap();
        let real = real_segments();
        let ten = write_npy_i16(&real[0].tokens[..1280], 10);
        let mut bad = ten.clone();
        bad.truncate(bad.len() - 2);
        let path = dir.path().join("t.tar");
        write_shard(
            &path,
            &[("x_1.token.npy".into(), ten), ("x_2.token.npy".into(), bad), ("x_3.token.npy".into(), real[1].to_npy())],
            false,
        );
        let items: Vec<_> = Segments::open(&[&path], &Selection::default()).unwrap().collect();
        assert_eq!(items.len(), 3);
        let first = items[0].as_ref().unwrap();
        assert_eq!((first.key.as_str(), first.frames, &first.tokens[..]), ("x_1", 10, &real[0].tokens[..1280]));
        match &items[1] {
            Err(IoError::TruncatedData { file, .. }) => {
                assert_eq!(file, &path.join("x_2.token.npy"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(items[2].as_ref().unwrap().tokens, real[1].tokens);
    }

    #[test]
    fn damaged_shard_reports_shard_error() {
        let dir = tempfile::tempdir().unwrap();
        let shard = make_shard(dir.path(), "s.tar.gz", true);
        let bytes = std::fs::read(&shard).unwrap();
        let cut = dir.path().join("cut.tar.gz");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let items: Vec<_> = Segments::open(&[&cut], &Selection::default()).unwrap().collect();
        assert!(
            matches!(
                items.last(),
                Some(Err(IoError::Shard { .. } | IoError::Read { .. } | IoError::TruncatedData { .. }))
            ),
            "{items:?}"
        );
        assert!(items.len() <= 2);
    }

    #[test]
    fn bad_inputs_are_rejected_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("x.txt");
        std::fs::write(&txt, b"hi").unwrap();
        assert!(matches!(Segments::open(&[&txt], &Selection::default()), Err(IoError::UnsupportedInput { .. })));
        let missing = dir.path().join("missing.npy");
        assert!(matches!(Segments::open(&[&missing], &Selection::default()), Err(IoError::Read { .. })));
    }

    #[test]
    fn bad_file_yields_error_then_continues() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.npy"), npy_bytes("<f4", false, &[1, 128], &[0; 128])).unwrap();
        std::fs::write(dir.path().join("b.npy"), write_npy_i16(&[5; 128], 1)).unwrap();
        let items: Vec<_> = Segments::open(&[dir.path()], &Selection::default()).unwrap().collect();
        assert!(matches!(&items[0], Err(IoError::UnsupportedDtype { file, .. }) if file.ends_with("a.npy")));
        assert_eq!(items[1].as_ref().unwrap().key, "b");
    }

    #[test]
    fn keys_from_names() {
        assert_eq!(npy_key(Path::new("/x/abc_13.token.npy")).unwrap(), "abc_13");
        assert_eq!(npy_key(Path::new("abc.NPY")).unwrap(), "abc");
        assert_eq!(npy_key(Path::new("a.b.npy")).unwrap(), "a.b");
        let key = |name: &[u8]| member_key(name, Path::new("s.tar")).map(Result::unwrap);
        assert_eq!(key(b"./d/abc_13.token.npy").as_deref(), Some("abc_13"));
        assert_eq!(key(b"abc_13.pose.npy"), None);
        assert_eq!(key(b"abc_13.json"), None);
        assert_eq!(key(b"d/.token.npy"), None);
        use std::os::unix::ffi::OsStrExt;
        let odd = Path::new(std::ffi::OsStr::from_bytes(b"/x/\xFF.npy"));
        assert!(matches!(npy_key(odd), Err(IoError::UnusableName { .. })));
        assert!(matches!(member_key(b"d/\xFF.token.npy", Path::new("s.tar")), Some(Err(IoError::UnusableName { .. }))));
    }

    #[test]
    fn segments_can_feed_rayon() {
        use rayon::iter::{ParallelBridge, ParallelIterator};
        fn assert_send<T: Send>(_: &T) {}
        let dir = tempfile::tempdir().unwrap();
        let shard = make_shard(dir.path(), "s.tar.gz", true);
        let segs = Segments::open(&[shard.clone(), real_file(REAL_FILES[0])], &Selection::default()).unwrap();
        assert_send(&segs);
        let total: usize = segs.par_bridge().map(|s| s.unwrap().frames).sum();
        assert_eq!(total, 3600);
    }
}

//! The one way host-tools writes its results: [`Output`] for a single file,
//! [`FolderOutput`] for a folder of files. Both are planned (resolved and
//! checked) before a command does its work, and written only after all of it
//! succeeded.
//!
//! Where a single output goes, by what the path is:
//! * `-`, or the very file standard output already is (`/dev/stdout`,
//!   `/dev/fd/1`, ...): written to standard output.
//! * An existing character device or FIFO (`/dev/null`, a named pipe): opened
//!   for writing and written through, never replaced. Opening a FIFO waits for
//!   a reader, like any program writing to it.
//! * A regular file, or nothing yet: written to a temporary file in the same
//!   folder, `fsync`ed and renamed over the destination, so readers see the
//!   old file or the complete new one and a failed run leaves nothing. A
//!   symlink is followed to its final target, and that target is replaced;
//!   the link stays a link.
//! * Anything else is refused: a folder, a block device, a socket, a path
//!   directly in the filesystem root `/`.
//!
//! Never over an input: a destination that is one of the command's inputs
//! ([`InputSet`], by device and inode and by canonical path, so also through
//! symlinks, hard links and other spellings) is refused, when planning and
//! again just before writing.
//!
//! A folder output (encode of a folder or shard, unpack) is staged: every file goes
//! to a temporary folder beside the output (inside it when the output folder
//! already exists), and only when all of them are written are they moved into
//! place, by one rename of the whole folder (new output folder) or one rename
//! per file (existing folder; every destination is checked before the first).
//! A failed or interrupted run removes the staging folder: no output file
//! appears and no new folder remains. A signal during the moves waits for them
//! to finish, and once they are done it no longer stops the run
//! ([`super::temporaries`]); only SIGKILL (or a crash) can cut the moves into
//! an existing folder between two files.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use super::error::IoError;
use super::input::{is_dash, kind_of, FileId, InputSet};
use super::name::show;
use super::temporaries::{create_inside, pause_for_tests, remove_stale, TempFile, TempFolder};

/// How many symlinks are followed before giving up (as Linux does).
const MAX_SYMLINKS: usize = 40;

/// Where a planned single output goes.
#[derive(Debug)]
enum Dest {
    /// Standard output.
    Stdout,
    /// An existing character device or FIFO, written through.
    Through(PathBuf),
    /// A regular file (or none yet) at `target`, replaced atomically;
    /// `target` has no symlink in its last component and a canonical folder.
    Replace { target: PathBuf },
}

/// A single output file, planned.
#[derive(Debug)]
pub struct Output {
    named: PathBuf,
    dest: Dest,
}

fn write_err(file: &Path, source: io::Error) -> IoError {
    IoError::Write { file: file.to_path_buf(), source }
}

fn refused(file: &Path, reason: impl Into<String>) -> IoError {
    IoError::OutputRefused { file: file.to_path_buf(), reason: reason.into() }
}

/// Whether `meta` is the file standard output is.
fn is_stdout(meta: &std::fs::Metadata) -> bool {
    let Ok(fd) = io::stdout().as_fd().try_clone_to_owned() else { return false };
    File::from(fd).metadata().is_ok_and(|m| FileId::of(&m) == FileId::of(meta))
}

/// The folder of `path` ( `.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `named` with symlinks followed until a path that is not a symlink (it may
/// not exist), with its folder made canonical.
fn final_target(named: &Path) -> Result<PathBuf, IoError> {
    let mut path = named.to_path_buf();
    let mut hops = 0;
    loop {
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_SYMLINKS {
                    return Err(refused(named, "too many levels of symbolic links"));
                }
                let link = std::fs::read_link(&path).map_err(|e| write_err(named, e))?;
                path = folder_of(&path).join(link);
            }
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(e) => return Err(write_err(named, e)),
        }
    }
    let name = path.file_name().ok_or_else(|| refused(named, "it does not name a file"))?.to_owned();
    let folder = folder_of(&path).canonicalize().map_err(|e| write_err(named, e))?;
    if folder.parent().is_none() {
        return Err(refused(named, "host-tools does not write directly into the filesystem root /"));
    }
    Ok(folder.join(name))
}

impl Output {
    /// Resolves and checks the output `named` (see the module documentation)
    /// against `inputs`, and removes stale temporaries of earlier runs in its
    /// folder. Nothing is written.
    ///
    /// Errors: [`IoError::WouldOverwriteInput`], [`IoError::OutputRefused`],
    /// [`IoError::Write`] (e.g. its folder does not exist).
    pub fn plan(named: &Path, inputs: &InputSet) -> Result<Output, IoError> {
        let out = |dest| Ok(Output { named: named.to_path_buf(), dest });
        if is_dash(named) {
            return out(Dest::Stdout);
        }
        match std::fs::metadata(named) {
            Ok(meta) if is_stdout(&meta) => return out(Dest::Stdout),
            Ok(meta) => {
                let t = meta.file_type();
                if t.is_char_device() || t.is_fifo() {
                    return out(Dest::Through(named.to_path_buf()));
                }
                if !t.is_file() {
                    return Err(refused(
                        named,
                        format!(
                            "it is {}; outputs are regular files (replaced atomically), character devices or \
                             FIFOs (written through), or `-` for standard output",
                            kind_of(&meta)
                        ),
                    ));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(write_err(named, e)),
        }
        let target = final_target(named)?;
        inputs.refuse(named, &target)?;
        remove_stale(folder_of(&target));
        out(Dest::Replace { target })
    }

    /// Whether the output is standard output (then a command prints its
    /// summary on stderr, so that it does not mix with the data).
    pub fn is_stdout(&self) -> bool {
        matches!(self.dest, Dest::Stdout)
    }

    /// The output for messages: `standard output`, or the path as given.
    pub fn shown(&self) -> String {
        match self.dest {
            Dest::Stdout => "standard output".to_string(),
            _ => show(&self.named),
        }
    }

    /// Writes `bytes` to the planned destination: standard output, through the
    /// device or FIFO, or atomically replacing the regular file (after checking
    /// again that it is none of `inputs`).
    ///
    /// Errors: [`IoError::WouldOverwriteInput`] or [`IoError::Write`]; a
    /// replaced file is then unchanged and no temporary remains.
    pub fn write(self, bytes: &[u8], inputs: &InputSet) -> Result<(), IoError> {
        let named = &self.named;
        match &self.dest {
            Dest::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes).and_then(|()| out.flush()).map_err(|e| write_err(named, e))
            }
            Dest::Through(path) => std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|mut f| f.write_all(bytes))
                .map_err(|e| write_err(named, e)),
            Dest::Replace { target } => {
                inputs.refuse(named, target)?;
                let folder = folder_of(target);
                let temp = TempFile::new_in(folder).map_err(|e| write_err(named, e))?;
                temp.as_file().write_all(bytes).map_err(|e| write_err(named, e))?;
                temp.as_file().sync_all().map_err(|e| write_err(named, e))?;
                temp.persist_output(target).map_err(|e| write_err(named, e))?;
                pause_for_tests("output-committed");
                sync_folder(folder).map_err(|e| write_err(named, e))
            }
        }
    }
}

impl Output {
    /// Starts writing the output piece by piece, for outputs too large to hold
    /// in memory: to standard output or through the device or FIFO as it comes
    /// (as [`Output::write`] does), or to a temporary file in the destination's
    /// folder that [`OutputStream::commit`] renames over it. Dropping the
    /// stream without committing removes the temporary: nothing appears.
    ///
    /// Errors: [`IoError::WouldOverwriteInput`] or [`IoError::Write`].
    pub fn stream(self, inputs: &InputSet) -> Result<OutputStream, IoError> {
        let named = self.named.clone();
        let sink = match &self.dest {
            Dest::Stdout => Sink::Stdout(io::stdout()),
            Dest::Through(path) => {
                Sink::Through(std::fs::OpenOptions::new().write(true).open(path).map_err(|e| write_err(&named, e))?)
            }
            Dest::Replace { target } => {
                inputs.refuse(&named, target)?;
                Sink::Temp(TempFile::new_in(folder_of(target)).map_err(|e| write_err(&named, e))?)
            }
        };
        Ok(OutputStream { output: self, sink: io::BufWriter::with_capacity(1 << 20, sink) })
    }
}

/// Where an [`OutputStream`] writes.
enum Sink {
    Stdout(io::Stdout),
    Through(File),
    Temp(TempFile),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(out) => out.write(buf),
            Sink::Through(file) => file.write(buf),
            Sink::Temp(temp) => temp.as_file().write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.flush(),
            Sink::Through(file) => file.flush(),
            Sink::Temp(temp) => temp.as_file().flush(),
        }
    }
}

impl io::Seek for Sink {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        match self {
            Sink::Temp(temp) => temp.as_file().seek(pos),
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this output cannot seek (standard output, a device or a FIFO); give a file name",
            )),
        }
    }
}

impl io::Seek for OutputStream {
    /// Seeks within a regular-file output (its temporary); other outputs refuse.
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.sink.seek(pos)
    }
}

/// An output being written piece by piece ([`Output::stream`]); `Write` errors
/// are the operating system's, [`OutputStream::commit`] names the output.
pub struct OutputStream {
    output: Output,
    sink: io::BufWriter<Sink>,
}

impl Write for OutputStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sink.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }
}

impl OutputStream {
    /// The output for messages (see [`Output::shown`]).
    pub fn shown(&self) -> String {
        self.output.shown()
    }

    /// A `Write` error of this stream as the output's error.
    pub fn error(&self, source: io::Error) -> IoError {
        write_err(&self.output.named, source)
    }

    /// Finishes the output: flushes it, and for a regular file `fsync`s the
    /// temporary and renames it over the destination (after checking again that
    /// it is none of `inputs`).
    pub fn commit(self, inputs: &InputSet) -> Result<(), IoError> {
        let named = self.output.named.clone();
        let sink = self.sink.into_inner().map_err(|e| write_err(&named, e.into_error()))?;
        match (sink, &self.output.dest) {
            (Sink::Temp(temp), Dest::Replace { target }) => {
                inputs.refuse(&named, target)?;
                temp.as_file().sync_all().map_err(|e| write_err(&named, e))?;
                temp.persist_output(target).map_err(|e| write_err(&named, e))?;
                pause_for_tests("output-committed");
                sync_folder(folder_of(target)).map_err(|e| write_err(&named, e))
            }
            (mut sink, _) => sink.flush().map_err(|e| write_err(&named, e)),
        }
    }
}

/// `syncfs` of the filesystem holding `folder`: every file written there is on
/// disk when this returns (one call for all the files of a folder output).
fn sync_filesystem(folder: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let dir = File::open(folder)?;
    // SAFETY: `dir` is an open file descriptor for the duration of the call.
    if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `fsync`s a folder, so that renames in it are durable.
fn sync_folder(folder: &Path) -> io::Result<()> {
    File::open(folder)?.sync_all()
}

/// Where a folder output's files go in the end.
#[derive(Debug)]
enum Place {
    /// A new folder at `target`: the staging folder is renamed to it.
    New { target: PathBuf },
    /// An existing folder: each file is renamed into it.
    Existing { folder: PathBuf },
}

/// A folder of output files, staged (see the module documentation).
pub struct FolderOutput {
    named: PathBuf,
    staging: TempFolder,
    place: Place,
}

impl FolderOutput {
    /// Resolves and checks the output folder `named`: it must be an existing
    /// folder or not exist yet (its parent must exist); it must not be `/` nor
    /// directly in `/`. Files `expected` that are already known are checked
    /// as destinations now ([`FolderOutput::commit`] checks all again). Stale
    /// temporaries are removed and the staging folder is created.
    ///
    /// Errors: [`IoError::OutputRefused`], [`IoError::WouldOverwriteInput`],
    /// [`IoError::Write`].
    pub fn plan(named: &Path, inputs: &InputSet, expected: &[String]) -> Result<FolderOutput, IoError> {
        if is_dash(named) {
            return Err(refused(named, "a folder of streams cannot go to standard output"));
        }
        let root = || refused(named, "host-tools does not write directly into the filesystem root /");
        let (place, parent) = match std::fs::metadata(named) {
            Ok(meta) if meta.is_dir() => {
                let folder = named.canonicalize().map_err(|e| write_err(named, e))?;
                if folder.parent().is_none() {
                    return Err(root());
                }
                for name in expected {
                    check_destination(&named.join(name), &folder.join(name), inputs)?;
                }
                (Place::Existing { folder: folder.clone() }, folder)
            }
            Ok(meta) => {
                return Err(refused(
                    named,
                    format!(
                        "it exists and is {}, not a folder (a folder or shard INPUT is encoded to a folder of \
                         streams)",
                        kind_of(&meta)
                    ),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if std::fs::symlink_metadata(named).is_ok() {
                    return Err(refused(named, "it is a symlink to nothing"));
                }
                let name = named.file_name().ok_or_else(|| refused(named, "it does not name a folder"))?;
                let parent = folder_of(named).canonicalize().map_err(|e| write_err(named, e))?;
                if parent.parent().is_none() {
                    return Err(root());
                }
                (Place::New { target: parent.join(name) }, parent)
            }
            Err(e) => return Err(write_err(named, e)),
        };
        remove_stale(&parent);
        let staging = TempFolder::new_in(&parent).map_err(|e| write_err(named, e))?;
        Ok(FolderOutput { named: named.to_path_buf(), staging, place })
    }

    /// The output folder as given, for messages.
    pub fn shown(&self) -> String {
        show(&self.named)
    }

    /// The path file `name` will have once committed (for messages).
    pub fn final_path(&self, name: &str) -> PathBuf {
        self.named.join(name)
    }

    /// Writes file `name` (a plain file name, each written once) into the
    /// staging folder (made durable, with the whole filesystem, by one
    /// `syncfs` in [`FolderOutput::commit`]: one sync instead of one per file).
    /// Safe to call from several threads.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), IoError> {
        let final_path = self.final_path(name);
        let mut file = self.create(name)?;
        file.write_all(bytes).map_err(|e| write_err(&final_path, e))
    }

    /// Creates file `name` (a plain file name, each created once) in the
    /// staging folder, for a file written piece by piece (made durable by
    /// [`FolderOutput::commit`]). Safe to call from several threads.
    pub fn create(&self, name: &str) -> Result<File, IoError> {
        let path = self.staging.path().join(name);
        create_inside(|| File::create_new(&path)).map_err(|e| write_err(&self.final_path(name), e))
    }

    /// Moves the files `names` (all that were written) into place: checks
    /// every destination first (none may be an input, a folder, a symlink or
    /// another non-regular file), then renames the staging folder to a new
    /// output folder, or each file into the existing one. A signal during the
    /// moves waits for them to finish.
    pub fn commit(self, names: &[String], inputs: &InputSet) -> Result<(), IoError> {
        let named = self.named.clone();
        sync_filesystem(self.staging.path()).map_err(|e| write_err(&named, e))?;
        pause_for_tests("before-commit");
        let committed = self.move_into_place(names, inputs);
        if committed.is_ok() {
            pause_for_tests("output-committed");
        }
        committed
    }

    /// The moves of [`FolderOutput::commit`].
    fn move_into_place(self, names: &[String], inputs: &InputSet) -> Result<(), IoError> {
        let named = self.named.clone();
        match &self.place {
            Place::New { target } => {
                let target = target.clone();
                self.staging
                    .commit(|staging| {
                        sync_folder(staging)?;
                        if std::fs::symlink_metadata(&target).is_ok() {
                            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "it appeared during the run"));
                        }
                        std::fs::rename(staging, &target)?;
                        sync_folder(folder_of(&target))
                    })
                    .map_err(|e| write_err(&named, e))
            }
            Place::Existing { folder } => {
                for name in names {
                    check_destination(&named.join(name), &folder.join(name), inputs)?;
                }
                let folder = folder.clone();
                self.staging
                    .commit(|staging| {
                        for name in names {
                            std::fs::rename(staging.join(name), folder.join(name))?;
                        }
                        std::fs::remove_dir(staging)?;
                        sync_folder(&folder)
                    })
                    .map_err(|e| write_err(&named, e))
            }
        }
    }
}

/// A file of a folder output may replace only a regular file that is none of
/// the inputs.
fn check_destination(named: &Path, dest: &Path, inputs: &InputSet) -> Result<(), IoError> {
    match std::fs::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(write_err(named, e)),
        Ok(meta) if meta.is_file() => inputs.refuse(named, dest),
        Ok(meta) => Err(refused(
            named,
            format!("it exists and is {}; files of a folder output replace only regular files", kind_of(&meta)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    }

    #[test]
    fn writes_and_replaces_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.vqt");
        let none = InputSet::new();
        Output::plan(&out, &none).unwrap().write(b"first", &none).unwrap();
        Output::plan(&out, &none).unwrap().write(b"second", &none).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"second");
        assert_eq!(entries(dir.path()), ["out.vqt"]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        if let Some(umask) = status.lines().find_map(|l| l.strip_prefix("Umask:")) {
            assert_eq!(mode, 0o666 & !u32::from_str_radix(umask.trim(), 8).unwrap(), "mode {mode:o}");
        }
    }

    #[test]
    fn symlink_is_followed_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.npy");
        let link = dir.path().join("link.npy");
        symlink("real.npy", &link).unwrap();
        let none = InputSet::new();
        // Dangling: the target is created.
        Output::plan(&link, &none).unwrap().write(b"one", &none).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"one");
        Output::plan(&link, &none).unwrap().write(b"two", &none).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"two");
        // To an input: refused.
        let mut inputs = InputSet::new();
        inputs.add(&real);
        assert!(matches!(Output::plan(&link, &inputs), Err(IoError::WouldOverwriteInput { .. })));
    }

    #[test]
    fn long_names_work() {
        let dir = tempfile::tempdir().unwrap();
        let none = InputSet::new();
        for len in [244, 250, 255] {
            let out = dir.path().join("x".repeat(len));
            Output::plan(&out, &none).unwrap().write(b"data", &none).unwrap();
            assert_eq!(std::fs::read(&out).unwrap(), b"data");
        }
    }

    #[test]
    fn root_and_folders_are_refused() {
        let none = InputSet::new();
        for p in ["/", "/x.vqt"] {
            assert!(matches!(Output::plan(Path::new(p), &none), Err(IoError::OutputRefused { .. })), "{p}");
            assert!(matches!(FolderOutput::plan(Path::new(p), &none, &[]), Err(IoError::OutputRefused { .. })));
        }
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(Output::plan(dir.path(), &none), Err(IoError::OutputRefused { .. })));
    }

    #[test]
    fn staged_folder_appears_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let none = InputSet::new();
        let out = dir.path().join("new");
        let names = vec!["a.vqt".to_string(), "b.vqt".to_string()];
        let staged = FolderOutput::plan(&out, &none, &[]).unwrap();
        staged.write("a.vqt", b"a").unwrap();
        drop(staged); // a failed run
        assert_eq!(entries(dir.path()), Vec::<String>::new());
        let staged = FolderOutput::plan(&out, &none, &[]).unwrap();
        staged.write("a.vqt", b"a").unwrap();
        staged.write("b.vqt", b"b").unwrap();
        staged.commit(&names, &none).unwrap();
        assert_eq!(entries(dir.path()), ["new"]);
        assert_eq!(entries(&out), names);
        // Into the existing folder: replaces a.vqt, keeps other files.
        std::fs::write(out.join("keep.txt"), b"k").unwrap();
        let staged = FolderOutput::plan(&out, &none, &[]).unwrap();
        staged.write("a.vqt", b"A").unwrap();
        staged.commit(&names[..1], &none).unwrap();
        assert_eq!(entries(&out), ["a.vqt", "b.vqt", "keep.txt"]);
        assert_eq!(std::fs::read(out.join("a.vqt")).unwrap(), b"A");
        // A destination that is a symlink or folder is refused before any move.
        symlink("keep.txt", out.join("c.vqt")).unwrap();
        let staged = FolderOutput::plan(&out, &none, &[]).unwrap();
        staged.write("a.vqt", b"X").unwrap();
        staged.write("c.vqt", b"X").unwrap();
        let both = vec!["a.vqt".to_string(), "c.vqt".to_string()];
        assert!(matches!(staged.commit(&both, &none), Err(IoError::OutputRefused { .. })));
        assert_eq!(std::fs::read(out.join("a.vqt")).unwrap(), b"A");
        assert_eq!(entries(&out), ["a.vqt", "b.vqt", "c.vqt", "keep.txt"]);
    }
}

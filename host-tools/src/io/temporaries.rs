//! Temporary files and folders of outputs being written, and their removal
//! on every way a run can end.
//!
//! Every temporary is named `.vqtans-<pid>-<random>.tmp` (about 30 bytes,
//! whatever the output's name, so any legal output name works) and lives in
//! the folder its output goes to, so that it can be renamed into place.
//!
//! * Normal end or error: the owner ([`TempFile`], [`TempFolder`]) removes it
//!   when dropped, or renames it into place.
//! * SIGINT, SIGTERM, SIGHUP: [`install_signal_handlers`] starts a thread that,
//!   on the first of these signals, removes every live temporary and exits with
//!   status 128 + the signal number (130, 143, 129). Creating and committing
//!   temporaries happen under the same lock as that removal, so a signal never
//!   leaves a temporary behind nor interrupts a commit half-way: a commit either
//!   completes before the exit or does not start. Once the command's output is
//!   in place ([`TempFile::persist_output`], [`TempFolder::commit`]) a signal no
//!   longer stops the run: it ends with its own status (0 when it succeeded), so
//!   the exit status always matches what is on disk.
//! * SIGKILL, a crash or a power cut cannot be caught: temporaries of that run
//!   stay, and the moves into an existing folder (one rename per file) may be
//!   cut between two files. The next run that writes into the same folder
//!   removes the temporaries whose process is no longer running
//!   ([`remove_stale`]).
//!
//! For tests, `VQTANS_TEST_PAUSE=<point>` makes the run stop for a while at a
//! named point ([`pause_for_tests`]), so that a test can signal it there.

use std::fs::Permissions;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tempfile::{NamedTempFile, TempDir};

/// Start of every temporary's name.
pub const PREFIX: &str = ".vqtans-";
/// End of every temporary's name.
pub const SUFFIX: &str = ".tmp";

/// Live temporaries, whether the process is exiting on a signal, and whether
/// the command's output is in place.
struct Registry {
    exiting: bool,
    output_done: bool,
    live: Vec<PathBuf>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { exiting: false, output_done: false, live: Vec::new() });

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

fn interrupted() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "interrupted by a signal")
}

/// `.vqtans-<pid>-<random>.tmp`, with mode `mode` minus the umask.
fn builder(mode: u32) -> tempfile::Builder<'static, 'static> {
    static OWN_PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let prefix = OWN_PREFIX.get_or_init(|| format!("{PREFIX}{}-", std::process::id()));
    let mut b = tempfile::Builder::new();
    b.prefix(prefix).suffix(SUFFIX).rand_bytes(8).permissions(Permissions::from_mode(mode));
    b
}

/// Runs `create` and records the path it returns as live, under the registry
/// lock (so a signal cannot come between the two).
fn create_registered<T>(create: impl FnOnce() -> io::Result<T>, path: impl Fn(&T) -> &Path) -> io::Result<T> {
    let mut reg = registry();
    if reg.exiting {
        return Err(interrupted());
    }
    let made = create()?;
    reg.live.push(path(&made).to_path_buf());
    Ok(made)
}

/// Runs `create` (which creates a file inside a live temporary folder) under
/// the registry lock, so that nothing is created in a temporary folder once
/// its removal on a signal has begun. Fails without running it when the
/// process is exiting on a signal.
pub fn create_inside<T>(create: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let reg = registry();
    if reg.exiting {
        return Err(interrupted());
    }
    create()
}

fn forget(path: &Path) {
    let mut reg = registry();
    if let Some(i) = reg.live.iter().position(|p| p == path) {
        reg.live.swap_remove(i);
    }
}

/// Runs `commit` (which moves the temporary at `path` into place) under the
/// registry lock, then forgets `path`; if `output` and the commit succeeded,
/// records that the command's output is in place (a signal then no longer
/// stops the run). Fails without running it when the process is exiting on a
/// signal.
fn commit_registered<T>(path: &Path, output: bool, commit: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let mut reg = registry();
    if reg.exiting {
        return Err(interrupted());
    }
    let done = commit()?;
    if let Some(i) = reg.live.iter().position(|p| p == path) {
        reg.live.swap_remove(i);
    }
    reg.output_done |= output;
    Ok(done)
}

/// Set when a signal came and was ignored (the outputs were in place).
static IGNORED_SIGNAL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// With `VQTANS_TEST_PAUSE` set to `point`: says `test pause: <point>` on
/// stderr and waits up to 60 seconds, or until a signal came that was ignored
/// (a test signals the process meanwhile). Does nothing otherwise.
pub fn pause_for_tests(point: &str) {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};
    if std::env::var_os("VQTANS_TEST_PAUSE").is_some_and(|p| p == point) {
        eprintln!("test pause: {point}");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) && !IGNORED_SIGNAL.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A temporary file in a given folder, removed when dropped unless persisted.
pub struct TempFile {
    file: Option<NamedTempFile>,
    path: PathBuf,
}

impl TempFile {
    /// Creates `.vqtans-<pid>-<random>.tmp` in `dir`, mode `0o666` minus the
    /// umask (like a file made by `File::create`).
    pub fn new_in(dir: &Path) -> io::Result<TempFile> {
        let file = create_registered(|| builder(0o666).tempfile_in(dir), |f| f.path())?;
        let path = file.path().to_path_buf();
        Ok(TempFile { file: Some(file), path })
    }

    /// The open file.
    pub fn as_file(&self) -> &std::fs::File {
        self.file.as_ref().expect("present until persisted").as_file()
    }

    /// Renames the temporary to `target` (replacing what is there) under the
    /// registry lock.
    pub fn persist(self, target: &Path) -> io::Result<()> {
        self.persist_as(target, false)
    }

    /// [`TempFile::persist`] for the command's output: once it is in place, a
    /// signal no longer stops the run.
    pub fn persist_output(self, target: &Path) -> io::Result<()> {
        self.persist_as(target, true)
    }

    fn persist_as(mut self, target: &Path, output: bool) -> io::Result<()> {
        let file = self.file.take().expect("present until persisted");
        let path = self.path.clone();
        let result = commit_registered(&path, output, || file.persist(target).map(drop).map_err(|e| e.error));
        // On failure the NamedTempFile was dropped by `persist`'s error, which
        // removed the file; it is forgotten either way.
        forget(&path);
        result
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            drop(file);
            forget(&self.path);
        }
    }
}

/// A temporary folder (a staging area for several outputs), removed with its
/// contents when dropped unless kept.
pub struct TempFolder {
    dir: Option<TempDir>,
    path: PathBuf,
}

impl TempFolder {
    /// Creates `.vqtans-<pid>-<random>.tmp/` in `parent`, mode `0o777` minus
    /// the umask (like `mkdir`), so that it can become an output folder as is.
    pub fn new_in(parent: &Path) -> io::Result<TempFolder> {
        let dir = create_registered(|| builder(0o777).tempdir_in(parent), |d| d.path())?;
        let path = dir.path().to_path_buf();
        Ok(TempFolder { dir: Some(dir), path })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `commit` (which moves the folder or its contents into place: the
    /// command's output) under the registry lock; on success the folder is no
    /// longer removed on drop (`commit` took care of it) and is forgotten, and
    /// a signal no longer stops the run.
    pub fn commit(mut self, commit: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
        let path = self.path.clone();
        commit_registered(&path, true, || commit(&path))?;
        if let Some(dir) = self.dir.take() {
            // Already moved or emptied by `commit`: nothing left to remove.
            let _ = dir.keep();
        }
        Ok(())
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            drop(dir);
            forget(&self.path);
        }
    }
}

/// Removes every live temporary and exits with `code`, unless the command's
/// output is already in place: then returns at once, and the run ends with its
/// own status. Waits for a create or commit in progress; none can start once
/// the removal began.
pub fn remove_all_and_exit(code: i32) {
    let mut reg = registry();
    if reg.output_done {
        IGNORED_SIGNAL.store(true, std::sync::atomic::Ordering::SeqCst);
        return;
    }
    reg.exiting = true;
    for path in reg.live.drain(..) {
        remove(&path);
    }
    // The guard is held until the process ends.
    std::process::exit(code)
}

fn remove(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// Catches SIGINT, SIGTERM and SIGHUP: on the first, removes every live
/// temporary and exits with 128 + the signal number; once the command's output
/// is in place they are ignored (the run is ending with its own status).
pub fn install_signal_handlers() -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        for signal in signals.forever() {
            remove_all_and_exit(128 + signal);
        }
    })?;
    Ok(())
}

/// The pid in a temporary's name, if `name` is one.
fn temp_pid(name: &[u8]) -> Option<i32> {
    let rest = name.strip_prefix(PREFIX.as_bytes())?.strip_suffix(SUFFIX.as_bytes())?;
    let dash = rest.iter().position(|&b| b == b'-')?;
    std::str::from_utf8(&rest[..dash]).ok()?.parse().ok().filter(|&p| p > 0)
}

/// Whether process `pid` exists (on this machine, in this pid namespace).
fn running(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for the process; it sends nothing.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Removes the temporaries in `dir` left by runs of host-tools whose process no
/// longer exists (killed with SIGKILL, crashed). Temporaries of running
/// processes, including this one, are kept. Errors are ignored: this is
/// housekeeping.
pub fn remove_stale(dir: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let own = std::process::id() as i32;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if let Some(pid) = temp_pid(name.as_bytes()) {
            if pid != own && !running(pid) {
                remove(&entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let t = TempFile::new_in(dir.path()).unwrap();
        let name = t.path.file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.len() <= 40, "{name}");
        assert_eq!(temp_pid(name.as_bytes()), Some(std::process::id() as i32));
        assert!(registry().live.contains(&t.path));
        drop(t);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(!registry().live.iter().any(|p| p.starts_with(dir.path())));
        assert_eq!(temp_pid(b".vqtans-12-abc.tmp"), Some(12));
        assert_eq!(temp_pid(b".vqtans-x-abc.tmp"), None);
        assert_eq!(temp_pid(b".other-12-abc.tmp"), None);
    }

    #[test]
    fn stale_temporaries_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // A process that has ended: a child we waited for.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale_file = dir.path().join(format!(".vqtans-{dead}-abcdefgh.tmp"));
        let stale_dir = dir.path().join(format!(".vqtans-{dead}-ijklmnop.tmp"));
        std::fs::write(&stale_file, b"x").unwrap();
        std::fs::create_dir(&stale_dir).unwrap();
        std::fs::write(stale_dir.join("a.vqt"), b"x").unwrap();
        let live = dir.path().join(format!(".vqtans-{}-qrstuvwx.tmp", std::process::id()));
        std::fs::write(&live, b"x").unwrap();
        let other = dir.path().join("keep.vqt");
        std::fs::write(&other, b"x").unwrap();
        remove_stale(dir.path());
        assert!(!stale_file.exists() && !stale_dir.exists());
        assert!(live.exists() && other.exists());
    }

    #[test]
    fn persisted_file_is_in_place_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let t = TempFile::new_in(dir.path()).unwrap();
        std::io::Write::write_all(&mut t.as_file(), b"data").unwrap();
        let path = t.path.clone();
        t.persist(&dir.path().join("out.vqt")).unwrap();
        assert_eq!(std::fs::read(dir.path().join("out.vqt")).unwrap(), b"data");
        assert!(!registry().live.contains(&path));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

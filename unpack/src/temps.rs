//! The temporaries of `vqtans-unpack`'s outputs, and their removal on every way
//! a run can end.
//!
//! Each output is written to `OUTPUT_DIR/.vqtans-unpack-<pid>-<n>.tmp` and renamed
//! into place only when every segment verified ([`move_all`]).
//!
//! * A failed run removes its temporaries ([`remove_all`]).
//! * SIGINT, SIGTERM, SIGHUP ([`catch_signals`]): before the moves, the temporaries
//!   are removed and the process exits with 128 + the signal number (130, 143,
//!   129), leaving OUTPUT_DIR as it was. The moves hold the same lock, so a signal
//!   during them waits for them to finish; once they are done it is ignored and the
//!   run ends with its own status (0). The exit status always matches OUTPUT_DIR.
//! * SIGKILL or a crash cannot be caught: temporaries stay, and the moves (one
//!   rename per file) may be cut between two files, leaving some complete files in
//!   place. The next run into the same folder removes the temporaries of runs
//!   whose process no longer exists ([`remove_stale`]).
//!
//! For tests, `VQTANS_TEST_PAUSE=<point>` makes the run stop for a while at a named
//! point ([`pause_for_tests`]: `staged`, `moved`), so that a test can signal it
//! there.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Start of every temporary's name.
const PREFIX: &str = ".vqtans-unpack-";
/// End of every temporary's name.
const SUFFIX: &str = ".tmp";

/// The temporaries (with their targets), whether a signal is being handled, and
/// whether every output is in place.
struct State {
    exiting: bool,
    done: bool,
    moves: Vec<(PathBuf, PathBuf)>,
}

static STATE: Mutex<State> = Mutex::new(State { exiting: false, done: false, moves: Vec::new() });

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The temporary for output `n` in `dir`.
pub fn temp_path(dir: &Path, n: usize) -> PathBuf {
    dir.join(format!("{PREFIX}{}-{n}{SUFFIX}", std::process::id()))
}

/// Creates the temporary `temp` (which must not exist) for `target` and records
/// it, under the lock a signal takes: a signal never leaves it behind. Fails once a
/// signal is being handled.
pub fn create(temp: &Path, target: &Path) -> Result<File, String> {
    let mut s = state();
    if s.exiting {
        return Err("interrupted by a signal".into());
    }
    let file = File::create_new(temp).map_err(|e| format!("{}: cannot write: {e}", temp.display()))?;
    s.moves.push((temp.to_path_buf(), target.to_path_buf()));
    Ok(file)
}

/// Removes every temporary (a failed run).
pub fn remove_all() {
    for (temp, _) in state().moves.drain(..) {
        let _ = std::fs::remove_file(temp);
    }
}

/// Renames every temporary to its target, under the lock a signal takes; then a
/// signal no longer stops the run. On a failed rename the temporaries not yet
/// moved are removed and the error names the target.
pub fn move_all() -> Result<(), String> {
    let mut s = state();
    let moves = std::mem::take(&mut s.moves);
    for (n, (temp, target)) in moves.iter().enumerate() {
        if let Err(e) = std::fs::rename(temp, target) {
            for (left, _) in &moves[n..] {
                let _ = std::fs::remove_file(left);
            }
            return Err(format!("{}: cannot rename into place: {e}", target.display()));
        }
    }
    s.done = true;
    Ok(())
}

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and so in the threads
/// it starts afterwards: call it first) and starts a thread that waits for them:
/// on one, unless every output is in place, it removes the temporaries and exits
/// with 128 + the signal number.
pub fn catch_signals() -> Result<(), String> {
    // SAFETY: sigemptyset/sigaddset fill a zeroed sigset_t; pthread_sigmask and
    // sigwait get valid pointers to it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, signal);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err("cannot block signals".into());
        }
        std::thread::Builder::new()
            .spawn(move || loop {
                let mut signal = 0;
                if libc::sigwait(&set, &mut signal) == 0 {
                    on_signal(signal);
                }
            })
            .map_err(|e| format!("cannot start the signal thread: {e}"))?;
    }
    Ok(())
}

/// Removes the temporaries and exits with 128 + `signal`, unless every output is
/// in place (then the run ends with its own status).
fn on_signal(signal: i32) {
    let mut s = state();
    if s.done {
        IGNORED_SIGNAL.store(true, std::sync::atomic::Ordering::SeqCst);
        return;
    }
    s.exiting = true;
    for (temp, _) in s.moves.drain(..) {
        let _ = std::fs::remove_file(temp);
    }
    // The lock is held until the process ends: nothing more is created.
    std::process::exit(128 + signal);
}

/// Removes the temporaries in `dir` left by runs whose process no longer exists
/// (killed with SIGKILL, crashed). Errors are ignored: this is housekeeping.
pub fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let own = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_pid) else { continue };
        // SAFETY: kill with signal 0 only checks whether the process exists.
        let running = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if pid != own && !running {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The pid in a temporary's name `.vqtans-unpack-<pid>-<n>.tmp`, if `name` is one.
fn temp_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let (pid, n) = rest.split_once('-')?;
    n.parse::<usize>().ok()?;
    pid.parse().ok().filter(|&p| p > 0 && p <= i32::MAX as u32)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_recognised() {
        let name = temp_path(Path::new("d"), 7);
        let name = name.file_name().unwrap().to_str().unwrap();
        assert_eq!(temp_pid(name), Some(std::process::id()));
        assert_eq!(temp_pid(".vqtans-unpack-12-3.tmp"), Some(12));
        for other in [".vqtans-unpack-x-3.tmp", ".vqtans-unpack-12-x.tmp", ".vqtans-12-abc.tmp", "a.npy"] {
            assert_eq!(temp_pid(other), None, "{other}");
        }
    }
}

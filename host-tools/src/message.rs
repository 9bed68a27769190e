//! Turning an error and its causes into one line for the user, and the last
//! resort for bugs.

use std::sync::atomic::{AtomicBool, Ordering};

pub use crate::io::name::escape_controls;

/// `error` followed by its causes, separated by `: `, leaving out a cause
/// whose text the message already contains (the I/O layer's errors repeat
/// their source in their own text).
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Replaces the default panic message (several lines, a backtrace hint) by
/// one line on stderr, printed once; the process then ends with status 101 as
/// for any panic, after unwinding (which removes the temporaries of outputs).
/// Panics are bugs: every input error is an error value, never a panic.
pub fn install_panic_hook() {
    static PRINTED: AtomicBool = AtomicBool::new(false);
    std::panic::set_hook(Box::new(|info| {
        if PRINTED.swap(true, Ordering::SeqCst) {
            return;
        }
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("error: internal error in host-tools (a bug, please report it): {}{at}", escape_controls(what));
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_causes_are_left_out() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = anyhow::Error::new(crate::io::IoError::Read { file: "x.npy".into(), source: io });
        assert_eq!(describe(&e), "x.npy: cannot read: gone");
        let e = e.context("while testing");
        assert_eq!(describe(&e), "while testing: x.npy: cannot read: gone");
    }
}

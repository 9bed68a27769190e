//! Progress display on stderr for long-running work.
//!
//! A bar when the amount of work is known up front, a spinner otherwise. Both
//! go to stderr and are hidden entirely when stderr is not a terminal (pipes,
//! CI logs, tests), so they never mix with the results printed on stdout.
//! Warnings printed while a bar is shown go through [`warn`], which clears
//! the bar first.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress indicator for `what` (e.g. `"pass 1"`): a bar of `len` steps
/// when `len` is known, else a spinner counting steps. Hidden when stderr is
/// not a terminal.
pub fn segments_bar(what: &str, len: Option<usize>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => ProgressBar::new(n as u64).with_style(
            ProgressStyle::with_template("{msg:>10} [{wide_bar:.cyan/blue}] {pos}/{len} segments {elapsed} eta {eta}")
                .expect("constant template")
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{msg:>10} {spinner} {pos} segments {elapsed}").expect("constant template"),
        ),
    };
    bar.set_message(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A spinner for one step of unknown length (e.g. building successor
/// lists). Hidden when stderr is not a terminal.
pub fn step_spinner(what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner()
        .with_style(ProgressStyle::with_template("{msg:>10} {spinner} {elapsed}").expect("constant template"));
    bar.set_message(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Prints `message` as a warning on stderr without garbling `bar` (the bar
/// is cleared, the line printed, the bar redrawn), with control characters
/// escaped. Printed even when the bar is hidden.
pub fn warn(bar: &ProgressBar, message: &str) {
    bar.suspend(|| eprintln!("warning: {}", crate::io::name::escape_controls(message)));
}

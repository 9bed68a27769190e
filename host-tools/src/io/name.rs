//! File names and text as they may safely appear in a one-line message.
//!
//! File names are bytes on Unix and may hold anything but `/` and NUL: invalid
//! UTF-8, newlines, terminal escape sequences. [`show`] renders a path so that the
//! message stays one line of printable text and names the file exactly (invalid
//! bytes as `\xNN`, control characters escaped); [`escape_controls`] does the same
//! for any text (e.g. an error message of a library that quotes raw bytes);
//! [`utf8_name`] is the one place where a file name becomes a key, refusing names
//! that are not UTF-8 instead of converting them lossily.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use vqtans_archive::error::needs_escape;

use super::error::IoError;

/// `path` as one line of printable text: valid UTF-8 as is, except control
/// and format characters ([`escape_controls`]), which are escaped like Rust
/// string literals (`\n`, `\u{1b}`, `\u{202e}`);
/// each byte that is not part of valid UTF-8 as `\xNN`. Two different paths give
/// two different texts unless one of them already contains such escapes.
pub fn show(path: &Path) -> String {
    show_bytes(path.as_os_str().as_bytes())
}

/// [`show`] for an [`OsStr`].
pub fn show_os(name: &OsStr) -> String {
    show_bytes(name.as_bytes())
}

/// `bytes` rendered as [`show`] does.
pub fn show_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&escape_controls(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// `text` with every control character (C0, DEL, C1: line breaks, tabs,
/// escape sequences, NUL), format character (bidirectional overrides and
/// isolates such as U+202E, zero-width characters: Unicode category Cf) and
/// line or paragraph separator escaped as in a Rust string literal
/// ([`vqtans_archive::error::needs_escape`]), so it prints as one line, cannot
/// drive the terminal and cannot make a name display as another. Other
/// characters, including U+FFFD, are kept.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// `name` (the bytes of a file or member name) as text a key can be made
/// of: valid UTF-8 without control characters; `file` names it in errors.
///
/// Errors: [`IoError::UnusableName`], never a lossy conversion.
pub fn key_text<'n>(name: &'n [u8], file: &Path) -> Result<&'n str, IoError> {
    let unusable = |problem| IoError::UnusableName { file: file.to_path_buf(), problem };
    let text = std::str::from_utf8(name).map_err(|_| unusable("the file name is not valid UTF-8"))?;
    if text.chars().any(char::is_control) {
        return Err(unusable("the file name contains control characters"));
    }
    Ok(text)
}

/// The final component of `path` as text a key can be made of (see
/// [`key_text`]).
///
/// Errors: [`IoError::UnusableName`] naming `path` (escaped);
/// [`IoError::UnsupportedInput`] if `path` has no final component (`/`,
/// `..`).
pub fn utf8_name(path: &Path) -> Result<&str, IoError> {
    let name = path.file_name().ok_or_else(|| IoError::UnsupportedInput { file: path.to_path_buf() })?;
    key_text(name.as_bytes(), path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn shows_bytes_and_controls_escaped() {
        let p = Path::new(OsStr::from_bytes(b"dir/a\xFF\xFEb\nc\x1b[31m\xC3\xA9.npy"));
        assert_eq!(show(p), "dir/a\\xFF\\xFEb\\nc\\u{1b}[31m\u{e9}.npy");
        assert_eq!(show(Path::new("plain/name.npy")), "plain/name.npy");
        assert_eq!(escape_controls("a\tb\u{0}c\u{7f}"), "a\\tb\\0c\\u{7f}");
        assert_eq!(escape_controls("evil\u{202e}ypn.exe\u{2066}"), "evil\\u{202e}ypn.exe\\u{2066}");
    }

    #[test]
    fn non_utf8_names_are_refused() {
        let p = Path::new(OsStr::from_bytes(b"/x/\xFF.npy"));
        match utf8_name(p) {
            Err(e @ IoError::UnusableName { .. }) => assert!(e.to_string().contains("\\xFF.npy"), "{e}"),
            other => panic!("{other:?}"),
        }
        match utf8_name(Path::new("/x/a\nb.npy")) {
            Err(e @ IoError::UnusableName { .. }) => assert!(e.to_string().contains("control characters"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(utf8_name(Path::new("/x/a.npy")).unwrap(), "a.npy");
    }
}

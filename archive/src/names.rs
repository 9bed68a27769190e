//! Keys and file names that are safe to turn into paths.
//!
//! A segment is written out as `DIR/<file_name>` (or `DIR/<key>.npy`), and in
//! shards as `<key>.token.npy` and `<key>.json`; so both must be one plain file
//! name: never empty, `.` or `..`, never holding `/`, `\`, NUL or another control
//! character, at most [`MAX_NAME_BYTES`] bytes. [`check_key`] and
//! [`check_file_name`] are applied when an archive is written and again when it is
//! read, so a path-like name (`../x`, `/etc/x`, `a/b`) never writes outside an
//! output folder, whoever made the archive.

/// Longest file name (bytes) most filesystems allow.
pub const MAX_NAME_BYTES: usize = 255;

/// The longest suffix a key gets as a file name (`.token.npy`).
const LONGEST_KEY_SUFFIX: usize = ".token.npy".len();

/// Checks that `key` is safe as a file name stem. Errors say why (one line).
pub fn check_key(key: &str) -> Result<(), String> {
    check(key, "key", MAX_NAME_BYTES - LONGEST_KEY_SUFFIX)
}

/// Checks that `name` (a `.json`'s `file_name`) is safe as a file name.
pub fn check_file_name(name: &str) -> Result<(), String> {
    check(name, "file_name", MAX_NAME_BYTES)
}

fn check(name: &str, what: &str, max: usize) -> Result<(), String> {
    let shown = crate::error::escape(name);
    if name.is_empty() {
        return Err(format!("an empty {what} cannot name a file"));
    }
    if name == "." || name == ".." {
        return Err(format!("{what} {shown:?} names a folder, not a file"));
    }
    if name.contains('/') || name.contains('\\') {
        return Err(format!(
            "{what} {shown:?} is path-like (it holds / or \\); segments are only ever written as plain file \
             names inside the output folder"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("{what} {shown:?} holds a control character (or NUL)"));
    }
    if name.len() > max {
        return Err(format!("{what} {shown:?} is {} bytes long, more than the {max} a file name may have", name.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_like_names_are_refused() {
        for bad in ["", ".", "..", "../x", "/abs", "a/b", "a\\b", "a\0b", "a\nb", "\u{1b}[2J"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_key(&"k".repeat(246)).is_err());
        assert!(check_key(&"k".repeat(245)).is_ok());
        assert!(check_file_name(&"k".repeat(255)).is_ok());
        for good in ["3b41c0fa8959aea6c118e5714f412a2e_13", "a.npy", "..x", "x..", "é"] {
            assert!(check_key(good).is_ok(), "{good:?}");
            assert!(check_file_name(good).is_ok(), "{good:?}");
        }
    }
}

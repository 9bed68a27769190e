//! The error of every archive operation: which archive, which segment (if one),
//! and what is wrong.

use core::fmt;

/// An archive error: `archive` as shown to the user, the key of the segment
/// concerned (`None` for the archive as a whole), and the problem. Its `Display`
/// text is one complete line, e.g. `split.vqa: segment abc_13: the stream is
/// damaged: ...`.
#[derive(Debug)]
pub struct ArchiveError {
    /// The archive, as the user named it.
    pub archive: String,
    /// The key of the segment concerned, if the problem is one segment's.
    pub key: Option<String>,
    /// What is wrong.
    pub problem: Problem,
}

/// What can be wrong with an archive or one of its segments.
#[derive(Debug)]
pub enum Problem {
    /// The file could not be read or written (an operating-system error).
    Io(std::io::Error),
    /// The file does not start with the archive magic `VQAR`.
    NotAnArchive,
    /// An archive format version this build does not know.
    UnsupportedVersion(u8),
    /// The header's CRC-32 does not match, or a reserved field is set.
    HeaderDamaged,
    /// The file is shorter than its header, table set and footer, or its footer
    /// points outside it: it was cut short (or is not an archive).
    Truncated,
    /// The embedded table set is not valid (damaged, unknown model, ...).
    Tables(vqtans::Error),
    /// The embedded table set is not the one the header names.
    TablesMismatch {
        /// The id in the header.
        header: u64,
        /// The id of the embedded blob.
        blob: u64,
    },
    /// The footer's CRC-32 or magic does not match: the end of the file is
    /// damaged or missing.
    FooterDamaged,
    /// The index does not match its CRC-32, or does not describe the file.
    IndexDamaged(String),
    /// Two segments have the same key (when writing: the second one).
    DuplicateKey,
    /// Two segments would be written to the same file name.
    DuplicateName(String),
    /// No segment has the key asked for.
    KeyNotFound,
    /// A key or file name that could name a path outside an output folder.
    UnsafeName(String),
    /// A stream does not go with this archive (other tables, other frame count,
    /// not a stream at all).
    StreamMismatch(String),
    /// The stream of a segment is damaged: the codec's error.
    StreamDamaged(vqtans::Error),
    /// The stream decoded, but not to the tokens the index records.
    TokensCrcMismatch {
        /// CRC-32 of the decoded tokens.
        decoded: u32,
        /// CRC-32 in the index.
        indexed: u32,
    },
    /// A frame range that the segment does not have.
    BadFrameRange(String),
    /// Something the format cannot hold (a stream over 4 GiB, too many segments).
    TooLarge(String),
}

impl ArchiveError {
    /// An error of the archive as a whole.
    pub fn whole(archive: &str, problem: Problem) -> ArchiveError {
        ArchiveError { archive: archive.to_string(), key: None, problem }
    }

    /// An error of the segment `key`.
    pub fn segment(archive: &str, key: &str, problem: Problem) -> ArchiveError {
        ArchiveError { archive: archive.to_string(), key: Some(key.to_string()), problem }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Io(e) => write!(f, "{e}"),
            Problem::NotAnArchive => write!(f, "not a vqtans archive (it does not start with VQAR)"),
            Problem::UnsupportedVersion(v) => {
                write!(f, "archive format version {v} is not one this build reads (it reads version 1)")
            }
            Problem::HeaderDamaged => write!(f, "the archive header is damaged (its CRC-32 does not match)"),
            Problem::Truncated => {
                write!(f, "the archive is truncated (it ends before its footer, or its footer points past its end)")
            }
            Problem::Tables(e) => write!(f, "the embedded table set is not valid: {e}"),
            Problem::TablesMismatch { header, blob } => write!(
                f,
                "the embedded table set is {blob:016x}, but the header says {header:016x}: the archive is damaged"
            ),
            Problem::FooterDamaged => {
                write!(f, "the archive footer is damaged or missing (its magic or CRC-32 does not match; truncated?)")
            }
            Problem::IndexDamaged(why) => write!(f, "the archive index is damaged: {why}"),
            Problem::DuplicateKey => write!(f, "the key is used twice (keys must be unique in an archive)"),
            Problem::DuplicateName(name) => write!(f, "two segments would be written to the same file {name}"),
            Problem::KeyNotFound => write!(f, "no segment has this key"),
            Problem::UnsafeName(why) => write!(f, "{why}"),
            Problem::StreamMismatch(why) => write!(f, "the stream does not go with the archive: {why}"),
            Problem::StreamDamaged(e) => write!(f, "the stream is damaged: {e}"),
            Problem::TokensCrcMismatch { decoded, indexed } => {
                write!(f, "the stream decodes to tokens with CRC-32 {decoded:08x}, but the index records {indexed:08x}")
            }
            Problem::BadFrameRange(why) => write!(f, "{why}"),
            Problem::TooLarge(why) => write!(f, "{why}"),
        }
    }
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}: segment {}: {}", self.archive, escape(key), self.problem),
            None => write!(f, "{}: {}", self.archive, self.problem),
        }
    }
}

impl std::error::Error for ArchiveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Problem::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Whether `c` is escaped in messages and listings: a control character (C0,
/// DEL, C1: line breaks, escape sequences), a format character (Unicode general
/// category Cf: the bidirectional overrides and isolates U+202A..U+202E,
/// U+2066..U+2069, the marks U+200E/U+200F, zero-width characters...) or a line
/// or paragraph separator (U+2028, U+2029). None of them shows as itself: each
/// could break a line, drive a terminal or make a name display as another.
/// Without the feature `unicode-names` (the static challenge decoder) every
/// non-ASCII character is escaped: a superset, without the category table.
#[cfg(feature = "unicode-names")]
pub fn needs_escape(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    c.is_control()
        || matches!(
            c.general_category(),
            GeneralCategory::Format | GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator
        )
}

/// Whether `c` is escaped in messages and listings: without the feature
/// `unicode-names`, every control and every non-ASCII character (a superset of
/// what the feature escapes, so nothing can break a line, drive a terminal or
/// reorder what is shown).
#[cfg(not(feature = "unicode-names"))]
pub fn needs_escape(c: char) -> bool {
    c.is_control() || !c.is_ascii()
}

/// `text` with the characters of [`needs_escape`] escaped (`\n`, `\u{1b}`,
/// `\u{202e}`, ...), for messages and listings: a key or name from a damaged
/// or crafted archive must not break a line, drive a terminal or reorder
/// what is shown.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "unicode-names")]
    fn controls_and_format_characters_are_escaped() {
        assert_eq!(escape("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
        assert_eq!(
            escape("x\u{202e}y\u{200e}\u{2066}\u{2069}\u{200b}\u{feff}\u{2028}z"),
            "x\\u{202e}y\\u{200e}\\u{2066}\\u{2069}\\u{200b}\\u{feff}\\u{2028}z"
        );
        assert_eq!(escape("plain é 日本 key_13"), "plain é 日本 key_13");
    }

    #[test]
    #[cfg(not(feature = "unicode-names"))]
    fn without_the_category_table_every_non_ascii_character_is_escaped() {
        assert_eq!(escape("a\nb\u{202e}é key_13"), "a\\nb\\u{202e}\\u{e9} key_13");
    }
}

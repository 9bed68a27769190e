//! Archives (`.vqa`) as host-tools commands see them: opened with the inputs'
//! rules (a regular file, never a FIFO) and named as the user gave them.

use std::path::Path;

use anyhow::Result;
use vqtans_archive::format::{Footer, FOOTER_LEN, MAGIC};
use vqtans_archive::Archive;

use crate::io::input::open_regular;
use crate::io::show;

/// File extension of archives.
pub const ARCHIVE_EXT: &str = "vqa";

/// Whether `path` is a regular file that is meant as an archive (how `verify`
/// and `stats` tell an archive from a stream or a segment): it starts with the
/// archive magic `VQAR`, or its name ends in `.vqa`, or it ends with a valid
/// archive footer. So an archive whose first bytes are damaged is still read
/// (and refused) as an archive, with a message about the archive.
pub fn is_archive(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    if crate::io::is_dash(path) || !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    if path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case(ARCHIVE_EXT)) {
        return true;
    }
    let Ok(mut file) = std::fs::File::open(path) else { return false };
    let mut magic = [0u8; 4];
    if file.read_exact(&mut magic).is_ok() && magic == MAGIC {
        return true;
    }
    let mut foot = [0u8; FOOTER_LEN];
    file.seek(SeekFrom::End(-(FOOTER_LEN as i64))).and_then(|_| file.read_exact(&mut foot)).is_ok()
        && Footer::parse(&foot).is_some()
}

/// Opens and checks the archive at `path` ([`Archive::from_file`]): errors name
/// it as given.
pub fn open(path: &Path) -> Result<Archive> {
    let (file, _) = open_regular(path)?;
    Ok(Archive::from_file(file, &show(path))?)
}

/// Opens the archive at `path`, or the one inside the challenge submission
/// zip at `path` with the zip's parts ([`crate::rate_parts::open_submission`]).
pub fn open_any(path: &Path) -> Result<(Archive, Option<crate::rate_parts::ZipParts>)> {
    if crate::rate_parts::is_zip(path) {
        let (archive, zip) = crate::rate_parts::open_submission(path)?;
        return Ok((archive, Some(zip)));
    }
    Ok((open(path)?, None))
}

/// `tokens * 10 / (bytes * 8)`: the compression rate against 10-bit tokens.
pub fn rate(tokens: u64, bytes: u64) -> f64 {
    tokens as f64 * 10.0 / (bytes as f64 * 8.0)
}

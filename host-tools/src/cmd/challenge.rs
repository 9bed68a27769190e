//! The commaVQ compression challenge's submission format, for `pack
//! --challenge`.
//!
//! The challenge (commaai/commavq, `compression/`) unzips the submission into a
//! folder, runs `OUTPUT_DIR=<that folder> python <that folder>/decompress.py`
//! from another working directory, then loads `<that folder>/<file_name>` for
//! every segment of its shards (`file_name` from each segment's `.json`) and
//! compares it with the original tokens. Its rate is the original size (10 bits
//! a token) over the size of the whole zip.
//!
//! The zip holds [`ARCHIVE_NAME`] (stored: it is already compressed), the
//! statically linked decoder [`DECODER_NAME`] and [`SCRIPT_NAME`] (both
//! deflated). The script needs only Python's standard library: it finds the
//! decoder and the archive beside itself (from `__file__`), makes the decoder
//! executable (in case the unzip did not keep the mode) and runs it, which
//! writes `OUTPUT_DIR/<file_name>` for every segment as `np.save` would and
//! exits non-zero if any segment does not verify.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::pack::Packed;
use crate::io::input::read_capped;
use crate::io::show;

/// The archive's name in the zip.
pub const ARCHIVE_NAME: &str = "split.vqa";
/// The decoder's name in the zip.
pub const DECODER_NAME: &str = "vqtans-unpack";
/// The script the challenge runs.
pub const SCRIPT_NAME: &str = "decompress.py";

/// Every file of the zip, which the challenge unzips into the folder the
/// segments are then written to.
pub const MEMBERS: [&str; 3] = [SCRIPT_NAME, DECODER_NAME, ARCHIVE_NAME];

/// Checks that a segment whose output file is `output` (its `file_name`, or
/// `<key>.npy`) can be written beside the submission's own files: it must not
/// be one of [`MEMBERS`] (in any letter case, for case-insensitive
/// filesystems), or decompressing would overwrite the decoder, the script or
/// the archive while using them. Errors say why (one line; the caller names
/// the segment).
pub fn check_output_name(output: &str) -> Result<(), String> {
    match MEMBERS.iter().find(|member| member.eq_ignore_ascii_case(output)) {
        Some(member) => Err(format!(
            "its output file {} is the submission's own {member} (the zip holds {}), so decompressing would \
             overwrite it; rename the segment's file_name",
            crate::io::name::escape_controls(output),
            MEMBERS.join(", ")
        )),
        None => Ok(()),
    }
}

/// Where `pack --challenge` looks for the decoder, relative to the folder of the
/// running `host-tools` (`target/<profile>/`): the build that
/// `scripts/test.sh` makes.
pub const DECODER_BUILD: &str = "../x86_64-unknown-linux-musl/challenge/vqtans-unpack";

/// How to build the decoder, for messages.
pub const BUILD_COMMAND: &str =
    "cargo build --locked --profile challenge --target x86_64-unknown-linux-musl -p vqtans-unpack";

/// Largest decoder accepted.
const MAX_DECODER_BYTES: u64 = 64 << 20;

/// The script: stdlib only, paths from `__file__`, `OUTPUT_DIR` from the
/// environment (default: its own folder, which is what the challenge sets).
/// When the decoder cannot be run (missing, not executable) it prints one
/// line naming it, never a traceback, and exits with status 1; otherwise it
/// exits with the decoder's status.
pub const SCRIPT: &str = r#"#!/usr/bin/env python3
"""Decompresses this commaVQ compression-challenge submission (made by vqtans:
`host-tools pack --challenge`).

Writes every segment of split.vqa to $OUTPUT_DIR/<file_name> (the file_name of the
segment's .json) with the bytes np.save writes for an int16 (1200, 8, 16) array, by
running the statically linked decoder vqtans-unpack that lies beside this script.
Every segment is verified (checksums per second of video, the CRC-32 of its tokens)
before anything is written; the exit status is non-zero if one does not verify.
Needs only the Python standard library; works from any working directory.
"""
import os
import stat
import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
decoder = here / "vqtans-unpack"
archive = here / "split.vqa"
output_dir = Path(os.environ.get("OUTPUT_DIR") or here)

try:
    decoder.chmod(decoder.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    status = subprocess.run([str(decoder), str(archive), str(output_dir)]).returncode
except OSError as e:
    sys.exit(f"decompress.py: cannot run the decoder {decoder}: {e.strerror or e}")
# A decoder stopped by signal N exits as a shell reports it: 128 + N.
sys.exit(status if status >= 0 else 128 - status)
"#;

/// The decoder to ship: a statically linked x86-64 Linux executable.
pub struct Decoder {
    /// Where it was found.
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl Decoder {
    /// The decoder at `given`, else at `$VQTANS_DECODER`, else at
    /// [`DECODER_BUILD`] from the running program's folder; checked to be a
    /// static x86-64 ELF executable (no program interpreter).
    ///
    /// Errors: none found (saying how to build it), unreadable, or not static.
    pub fn find(given: Option<&Path>) -> Result<Decoder> {
        let path = match given {
            Some(path) => path.to_path_buf(),
            None => match std::env::var_os("VQTANS_DECODER") {
                Some(path) => PathBuf::from(path),
                None => {
                    let exe = std::env::current_exe().context("cannot tell where host-tools is")?;
                    let built = exe.parent().unwrap_or(Path::new(".")).join(DECODER_BUILD);
                    if !built.is_file() {
                        bail!(
                            "pack --challenge needs the static decoder, and there is none at {}: build it with \
                             `{BUILD_COMMAND}` (scripts/setup.sh installs the target), or give --decoder PATH",
                            show(&built)
                        );
                    }
                    built
                }
            },
        };
        let bytes = read_capped(&path, MAX_DECODER_BYTES, "decoder")?;
        check_static_elf(&bytes).map_err(|why| anyhow::anyhow!("{}: not a usable decoder: {why}", show(&path)))?;
        Ok(Decoder { path, bytes })
    }
}

/// Checks that `bytes` are a 64-bit little-endian x86-64 ELF executable without
/// a program interpreter (`PT_INTERP`): one that runs with nothing installed.
pub fn check_static_elf(bytes: &[u8]) -> Result<(), String> {
    let u16_at = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
    let u64_at = |at: usize| bytes.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    if !bytes.starts_with(b"\x7fELF\x02\x01") {
        return Err("it is not a 64-bit little-endian ELF file".into());
    }
    if u16_at(18) != Some(0x3e) {
        return Err("it is not an x86-64 program".into());
    }
    if !matches!(u16_at(16), Some(2 | 3)) {
        return Err("it is not an executable".into());
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(32), u16_at(54), u16_at(56)) else {
        return Err("its ELF header is truncated".into());
    };
    for i in 0..u64::from(phnum) {
        let at = phoff.checked_add(i * u64::from(phentsize)).and_then(|a| usize::try_from(a).ok());
        match at.and_then(u32_at) {
            None => return Err("its program headers are truncated".into()),
            Some(3) => {
                return Err(format!(
                    "it is dynamically linked (it names a program interpreter), so it would need a C library on \
                     the evaluating machine; build the static one with `{BUILD_COMMAND}`"
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Sizes in a written zip.
#[derive(Debug, Clone, Copy, Default)]
pub struct Zipped {
    /// The whole zip.
    pub zip_bytes: u64,
    /// The archive member (stored).
    pub archive_bytes: u64,
    /// The decoder (before it is deflated into the zip).
    pub decoder_bytes: u64,
}

/// Writes the submission zip to `out`: the archive (read from `archive`,
/// stored), the decoder and the script (deflated, mode 0755).
pub fn write_zip<W: Write + Seek>(out: &mut W, archive: &mut File, decoder: &Decoder) -> io::Result<Zipped> {
    let start = out.stream_position()?;
    let mut zip = ZipWriter::new(&mut *out);
    let executable =
        SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).unix_permissions(0o755);
    let fail = |e: zip::result::ZipError| io::Error::other(e.to_string());
    zip.start_file(SCRIPT_NAME, executable).map_err(fail)?;
    zip.write_all(SCRIPT.as_bytes())?;
    zip.start_file(DECODER_NAME, executable).map_err(fail)?;
    zip.write_all(&decoder.bytes)?;
    let archive_len = archive.metadata()?.len();
    let stored = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .unix_permissions(0o644)
        .large_file(archive_len >= u64::from(u32::MAX));
    zip.start_file(ARCHIVE_NAME, stored).map_err(fail)?;
    io::copy(&mut archive.take(archive_len), &mut zip)?;
    zip.finish().map_err(fail)?;
    let zip_bytes = out.stream_position()? - start;
    Ok(Zipped { zip_bytes, archive_bytes: archive_len, decoder_bytes: decoder.bytes.len() as u64 })
}

/// The summary of `pack --challenge`: the zip and the rate as the challenge's
/// evaluate.py computes it (original bytes, 10 bits a token, over the zip's).
pub fn summary(packed: &Packed, zipped: &Zipped, shown: &str) -> String {
    let original = packed.tokens * 10 / 8;
    format!(
        "packed {} segments, {} tokens -> {} ({} bytes: archive {} bytes, the rest the decoder ({} bytes before \
         deflate), {SCRIPT_NAME} and the zip's headers); challenge rate = original bytes / zip bytes = {} / {} = \
         {:.3}\n",
        packed.segments,
        packed.tokens,
        shown,
        zipped.zip_bytes,
        zipped.archive_bytes,
        zipped.decoder_bytes,
        original,
        zipped.zip_bytes,
        original as f64 / zipped.zip_bytes as f64
    )
}

//! Where the bytes of a commaVQ challenge submission go, and the rates they
//! give: printed by `ls` and `stats` of an archive or of a submission zip
//! (`scripts/challenge-check.py` prints the same breakdown from the zip).
//!
//! The parts: the zip's total; the decoder `vqtans-unpack` (deflated in the
//! zip); the table set; the streams; and the rest (`decompress.py`, the
//! archive's header, index and footer, the zip's headers). Rates are the
//! challenge's: original bytes (10 bits a token; 192,000 B for a segment of
//! 1,200 frames) over compressed bytes.
//!
//! The projection to the challenge's 5,000 segments keeps the fixed part and
//! scales the per-segment part at the rate measured here:
//! `P = (streams + index) / n` bytes per segment (a stream and its index
//! entry), `F = zip - (streams + index)` fixed bytes (decoder, script, table
//! set, archive header and footer, zip headers), and
//! `rate(5000) = 5000 * O / (F + 5000 * P)` with `O = original bytes / n`.
//!
//! For a `.vqa` archive (not a zip) the zip is the one `pack --challenge`
//! would write around it with the decoder it would ship ([`Decoder::find`]):
//! the decoder and `decompress.py` are deflated into an in-memory zip beside
//! an empty archive member, whose size plus the archive's is exactly the
//! zip's (a stored member adds its bytes and nothing else below 4 GiB).

use std::fs::File;
use std::io::{Cursor, Seek, Write};
use std::path::Path;

use anyhow::{Context, Result};
use vqtans_archive::format::{FOOTER_LEN, HEADER_LEN};
use vqtans_archive::Archive;

use crate::cmd::challenge::{self, Decoder, ARCHIVE_NAME, DECODER_NAME, SCRIPT_NAME};
use crate::io::input::open_regular;
use crate::io::show;

/// The challenge's number of segments (commaai/commavq `compression/`: the
/// two shards data-0000 and data-0001 of 2,500 segments each).
pub const CHALLENGE_SEGMENTS: u64 = 5_000;

/// The zip around an archive: its total and the members other than the
/// archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipParts {
    /// The whole zip.
    pub zip: u64,
    /// The decoder as stored in the zip (deflated).
    pub decoder: u64,
    /// The decoder before deflate.
    pub decoder_raw: u64,
    /// `decompress.py` as stored in the zip.
    pub script: u64,
}

/// The parts of an archive, and of the zip around it when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// Segments.
    pub segments: u64,
    /// Their tokens.
    pub tokens: u64,
    /// The whole archive.
    pub archive: u64,
    /// The embedded table set.
    pub table_set: u64,
    /// All streams.
    pub streams: u64,
    /// The zip, when known.
    pub zip: Option<ZipParts>,
}

/// The archive's header and footer.
const FRAME: u64 = (HEADER_LEN + FOOTER_LEN) as u64;

/// `x` with thousands separated by commas, and one decimal unless it is whole.
fn grouped_1(x: f64) -> String {
    let tenths = (x * 10.0).round() as u64;
    match tenths % 10 {
        0 => grouped(tenths / 10),
        d => format!("{}.{d}", grouped(tenths / 10)),
    }
}

/// Thousands separated by commas.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Parts {
    /// The parts of `archive` (no zip).
    pub fn of_archive(archive: &Archive) -> Parts {
        Parts {
            segments: archive.entries().len() as u64,
            tokens: archive.entries().iter().map(|e| u64::from(e.frames) * 128).sum(),
            archive: archive.size(),
            table_set: archive.tables().blob().len() as u64,
            streams: archive.entries().iter().map(|e| u64::from(e.length)).sum(),
            zip: None,
        }
    }

    /// Original bytes: 10 bits a token.
    pub fn original(&self) -> u64 {
        self.tokens * 10 / 8
    }

    /// The index: what is left of the archive besides its header, table set,
    /// streams and footer.
    pub fn index(&self) -> u64 {
        self.archive.saturating_sub(self.table_set + self.streams + FRAME)
    }

    /// The text report (complete lines, at most 100 columns).
    pub fn report(&self) -> String {
        let o = self.original();
        let rate = |bytes: u64| o as f64 / bytes as f64;
        let g = grouped;
        // One part: its name and its bytes; with a rate, the original bytes over them.
        let part = |label: &str, bytes: u64| format!("  {label:<13}{:>12}", g(bytes));
        let rated = |label: &str, bytes: u64, what: &str| {
            format!("{}  {what} {} / {} = {:.3}\n", part(label, bytes), g(o), g(bytes), rate(bytes))
        };
        let table_set = format!("{}\n", part("table set", self.table_set));
        let streams = rated("streams", self.streams, "streams-only rate");
        let mut s = String::new();
        let Some(zip) = self.zip else {
            s += "archive by part (bytes; no submission zip: the decoder was not found):\n";
            s += &rated("archive", self.archive, "rate");
            s += &table_set;
            s += &streams;
            s += &format!("{}  (archive index, header and footer)\n", part("other", self.index() + FRAME));
            return s;
        };
        let other = zip.zip.saturating_sub(zip.decoder + self.table_set + self.streams);
        let zip_headers = zip.zip.saturating_sub(zip.decoder + zip.script + self.archive);
        s += "challenge submission by part (bytes):\n";
        s += &rated("zip total", zip.zip, "rate");
        s += &format!("{}  (vqtans-unpack, {} before deflate)\n", part("decoder", zip.decoder), g(zip.decoder_raw));
        s += &table_set;
        s += &streams;
        s += &format!(
            "{}  (decompress.py {}, archive index/header/footer {}, zip headers {})\n",
            part("other", other),
            g(zip.script),
            g(self.index() + FRAME),
            g(zip_headers)
        );
        let n = self.segments.max(1);
        let variable = self.streams + self.index();
        let fixed = zip.zip.saturating_sub(variable);
        // In whole bytes: F + 5000 * (streams + index) / n, rounded.
        let projected = (u128::from(fixed) * u128::from(n)
            + u128::from(CHALLENGE_SEGMENTS) * u128::from(variable)
            + u128::from(n) / 2)
            / u128::from(n);
        let projected = projected as u64;
        let per_segment = variable as f64 / n as f64;
        let original_per_segment = o as f64 / n as f64;
        let c = g(CHALLENGE_SEGMENTS);
        s += &format!(
            "projected to {c} segments: zip = F + {c} x P = {} + {c} x {} = {}\n",
            g(fixed),
            grouped_1(per_segment),
            g(projected)
        );
        s += &format!(
            "  rate = {c} x {} / {} = {:.3}\n",
            grouped_1(original_per_segment),
            g(projected),
            CHALLENGE_SEGMENTS as f64 * original_per_segment / projected as f64
        );
        s += &format!(
            "  (P = (streams + index) / {n} segments, F = zip - streams - index: decoder, table set, the rest)\n"
        );
        s
    }

    /// The parts as JSON (`zip` is null when not known).
    pub fn to_json(&self) -> serde_json::Value {
        let zip = self.zip.map(|z| {
            serde_json::json!({
                "bytes": z.zip, "decoder_bytes": z.decoder, "decoder_raw_bytes": z.decoder_raw,
                "script_bytes": z.script, "rate": self.original() as f64 / z.zip as f64,
            })
        });
        serde_json::json!({
            "segments": self.segments,
            "original_bytes": self.original(),
            "archive_bytes": self.archive,
            "table_set_bytes": self.table_set,
            "streams_bytes": self.streams,
            "index_bytes": self.index(),
            "streams_rate": self.original() as f64 / self.streams as f64,
            "zip": zip,
        })
    }
}

/// The zip `pack --challenge` would write around an archive of `archive_len`
/// bytes with `decoder`: built in memory with an empty archive member.
///
/// Errors: the in-memory zip cannot be written or read back (a bug).
pub fn projected_zip(decoder: &Decoder, archive_len: u64) -> Result<ZipParts> {
    let mut empty = tempfile::tempfile().context("cannot create a temporary file")?;
    let mut out = Cursor::new(Vec::new());
    let zipped = challenge::write_zip(&mut out, &mut empty, decoder).context("cannot build the zip in memory")?;
    let mut parts = member_sizes(&mut out)?;
    parts.zip = zipped.zip_bytes + archive_len;
    Ok(parts)
}

/// Sizes of the decoder and script members of a submission zip.
fn member_sizes<R: std::io::Read + Seek>(zip: &mut R) -> Result<ZipParts> {
    let zip_len = zip.seek(std::io::SeekFrom::End(0))?;
    let mut z = zip::ZipArchive::new(zip).context("not a zip file")?;
    let mut size = |name: &str| -> Result<(u64, u64)> {
        let member = z.by_name(name).with_context(|| format!("it has no member {name}"))?;
        Ok((member.compressed_size(), member.size()))
    };
    let (decoder, decoder_raw) = size(DECODER_NAME)?;
    let (script, _) = size(SCRIPT_NAME)?;
    Ok(ZipParts { zip: zip_len, decoder, decoder_raw, script })
}

/// Whether `path` is a zip file (it starts with a local file header).
pub fn is_zip(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
        && File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok()
        && magic == *b"PK\x03\x04"
}

/// Opens the archive inside the submission zip at `path` (its `split.vqa`
/// member, copied to an unnamed temporary file) and measures the zip.
///
/// Errors: not a zip, a member missing, the archive damaged; each names
/// `path`.
pub fn open_submission(path: &Path) -> Result<(Archive, ZipParts)> {
    let (mut file, _) = open_regular(path)?;
    let parts = member_sizes(&mut file).with_context(|| format!("{}: not a challenge submission", show(path)))?;
    let mut z = zip::ZipArchive::new(&mut file).with_context(|| format!("{}: not a zip file", show(path)))?;
    let mut member = z
        .by_name(ARCHIVE_NAME)
        .with_context(|| format!("{}: not a challenge submission: it has no member {ARCHIVE_NAME}", show(path)))?;
    let mut temp = tempfile::tempfile().context("cannot create a temporary file")?;
    std::io::copy(&mut member, &mut temp).with_context(|| format!("{}: cannot read {ARCHIVE_NAME}", show(path)))?;
    temp.flush()?;
    let name = format!("{}/{ARCHIVE_NAME}", show(path));
    Ok((Archive::from_file(temp, &name)?, parts))
}

/// The parts of `archive`, with the parts of the submission `zip` it came
/// from; for an archive alone, the zip is projected with the decoder `pack --challenge`
/// would ship, when it is found (else left out).
pub fn measure(archive: &Archive, zip: Option<ZipParts>) -> Parts {
    let mut parts = Parts::of_archive(archive);
    parts.zip = match zip {
        Some(zip) => Some(zip),
        None => Decoder::find(None).ok().and_then(|d| projected_zip(&d, parts.archive).ok()),
    };
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(891_308), "891,308");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn without_a_zip_the_archive_parts_are_given() {
        let parts =
            Parts { segments: 1, tokens: 1200 * 128, archive: 64 + 10 + 90 + 6, table_set: 10, streams: 90, zip: None };
        let want = [
            "archive by part (bytes; no submission zip: the decoder was not found):",
            "  archive               170  rate 192,000 / 170 = 1129.412",
            "  table set              10",
            "  streams                90  streams-only rate 192,000 / 90 = 2133.333",
            "  other                  70  (archive index, header and footer)",
        ];
        assert_eq!(parts.report().lines().collect::<Vec<_>>(), want);
        assert_eq!(parts.to_json()["zip"], serde_json::Value::Null);
        assert_eq!(parts.to_json()["index_bytes"], 6);
    }

    #[test]
    fn projection_follows_the_formula() {
        // 2 segments of 1200 frames, 100 B of index.
        let parts = Parts {
            segments: 2,
            tokens: 2 * 1200 * 128,
            archive: 64 + 1000 + 180_000 + 100,
            table_set: 1000,
            streams: 180_000,
            zip: Some(ZipParts {
                zip: 64 + 1000 + 180_100 + 5000 + 300,
                decoder: 5000,
                decoder_raw: 9000,
                script: 200,
            }),
        };
        assert_eq!(parts.index(), 100);
        let text = parts.report();
        // P = 180,100 / 2 = 90,050; F = 186,464 - 180,100 = 6,364;
        // zip(5000) = 6,364 + 5000 * 90,050 = 450,256,364; rate = 5000 * 192,000 / that.
        let rate = 5000.0 * 192_000.0 / 450_256_364.0;
        let want = [
            "challenge submission by part (bytes):",
            "  zip total         186,464  rate 384,000 / 186,464 = 2.059",
            "  decoder             5,000  (vqtans-unpack, 9,000 before deflate)",
            "  table set           1,000",
            "  streams           180,000  streams-only rate 384,000 / 180,000 = 2.133",
            "  other                 464  (decompress.py 200, archive index/header/footer 164, zip headers 100)",
            "projected to 5,000 segments: zip = F + 5,000 x P = 6,364 + 5,000 x 90,050 = 450,256,364",
            &format!("  rate = 5,000 x 192,000 / 450,256,364 = {rate:.3}"),
            "  (P = (streams + index) / 2 segments, F = zip - streams - index: decoder, table set, the rest)",
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), want);
        assert!(text.lines().all(|l| l.len() <= 100), "{text}");
        assert_eq!(grouped_1(85_609.5), "85,609.5");
    }
}

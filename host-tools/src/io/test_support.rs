//! Test helpers: locations of the real data files and fixture builders. The
//! integration tests include this file too (`tests/common/mod.rs`).

use std::path::{Path, PathBuf};

/// The two real commaVQ segments used by the tests.
pub(crate) const REAL_FILES: [&str; 2] = ["commaai-commavq_0.npy", "mattseabrook-commavq_0.npy"];

/// The folder of the real data files: `$VQTANS_DATA_DIR`, by default
/// `shared/data/commavq` beside the checkout.
pub(crate) fn data_dir() -> PathBuf {
    std::env::var_os("VQTANS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/commavq"))
}

/// Path of a real data file: `<data_dir>/<name>`.
pub(crate) fn real_file(name: &str) -> PathBuf {
    let path = data_dir().join(name);
    assert!(path.is_file(), "real data file {} is missing (set VQTANS_DATA_DIR)", path.display());
    path
}

/// Hand-built `.npy` v1.0 bytes: dtype `descr` (e.g. `">u4"`), the given
/// order flag and shape, and `values` stored in the given order. Float and
/// bool dtypes are written as zeros of the right size.
pub(crate) fn npy_bytes(descr: &str, fortran: bool, shape: &[u64], values: &[i128]) -> Vec<u8> {
    let shape_text = match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
    };
    let order = if fortran { "True" } else { "False" };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape_text}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());

    let big = descr.starts_with('>');
    let kind = descr.as_bytes()[1];
    let size: usize = descr[2..].parse().unwrap();
    for &v in values {
        let mut le = match kind {
            b'i' | b'u' => (v as u128).to_le_bytes()[..size].to_vec(),
            _ => vec![0; size],
        };
        if big {
            le.reverse();
        }
        out.extend_from_slice(&le);
    }
    out
}

/// Writes a tar shard at `path` (gzip-compressed when `gzip`) holding the
/// given `(member name, contents)` pairs in order, as regular files.
pub(crate) fn write_shard(path: &Path, members: &[(String, Vec<u8>)], gzip: bool) {
    let file = std::fs::File::create(path).unwrap();
    if gzip {
        let gz = append_members(flate2::write::GzEncoder::new(file, flate2::Compression::fast()), members);
        gz.finish().unwrap();
    } else {
        append_members(file, members);
    }
}

/// Writes `members` as a tar archive to `sink` and returns it, the archive finished.
fn append_members<W: std::io::Write>(sink: W, members: &[(String, Vec<u8>)]) -> W {
    let mut builder = tar::Builder::new(sink);
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, &data[..]).unwrap();
    }
    builder.into_inner().unwrap()
}

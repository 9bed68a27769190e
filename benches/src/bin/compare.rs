//! Compares vqtans with zstd -19 and xz -9e on commaVQ token files.
//!
//! ```text
//! cargo run --release -p vqtans-benches --bin compare -- FILES...
//! ```
//!
//! Each FILE is a `.npy` array of shape `(frames, 8, 16)`. vqtans codes each file
//! with tables trained on all the OTHER files (leave-one-out; with a single file the
//! tables are trained on that file itself, which flatters vqtans). The peers code the
//! array transposed to `(8, 16, frames)`, C order, `int16` little-endian (each
//! position's time series contiguous). Sizes count the whole compressed file (for
//! vqtans: the 32-byte header and the payload; the shared tables are not counted).
//! Rates are on a 10-bit basis: `tokens * 10 / (bytes * 8)`. Decode speeds are the
//! median of several timed runs after a warm-up, in tokens per second, output
//! allocation included for every codec. Without arguments the two real segments in
//! `shared/data/commavq` are used. The SIMD path is the CPU's (AVX2 on x86-64, NEON
//! on aarch64, where the NEON/scalar and NEON/zstd ratios are printed too).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use vqtans::segment::{decode, decode_simd, Encoder};
use vqtans::simd::DecodePath;
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};
use vqtans_benches::{leave_one_out_blobs, median_time, read_npy, real_segment_paths, transposed_i16_le};

/// Timed runs per measurement (the median is reported).
const REPS: usize = 15;
/// Fewer for xz, which is slow.
const XZ_REPS: usize = 5;

/// One codec on one file: compressed bytes and median decode time.
#[derive(Clone, Copy, Default)]
struct Result1 {
    bytes: usize,
    decode: Duration,
}

#[derive(Default)]
struct Row {
    name: String,
    tokens: usize,
    scalar: Result1,
    simd: Result1,
    zstd: Result1,
    xz: Result1,
}

fn zstd_19(raw: &[u8]) -> Result1 {
    let packed = zstd::bulk::compress(raw, 19).expect("zstd compress");
    let check = zstd::bulk::decompress(&packed, raw.len()).expect("zstd decompress");
    assert_eq!(check, raw, "zstd round trip");
    Result1 { bytes: packed.len(), decode: median_time(REPS, || zstd::bulk::decompress(&packed, raw.len()).unwrap()) }
}

fn xz_9e(raw: &[u8]) -> Result1 {
    let stream = xz2::stream::Stream::new_easy_encoder(9 | lzma_sys::LZMA_PRESET_EXTREME, xz2::stream::Check::Crc64)
        .expect("xz encoder");
    let mut encoder = xz2::write::XzEncoder::new_stream(Vec::new(), stream);
    encoder.write_all(raw).expect("xz compress");
    let packed = encoder.finish().expect("xz compress");
    let unpack = || {
        let mut out = Vec::with_capacity(raw.len());
        xz2::read::XzDecoder::new(&packed[..]).read_to_end(&mut out).expect("xz decompress");
        out
    };
    assert_eq!(unpack(), raw, "xz round trip");
    Result1 { bytes: packed.len(), decode: median_time(XZ_REPS, unpack) }
}

fn rate(tokens: usize, bytes: usize) -> f64 {
    tokens as f64 * 10.0 / (bytes as f64 * 8.0)
}

fn speed(tokens: usize, t: Duration) -> f64 {
    tokens as f64 / t.as_secs_f64()
}

fn main() -> ExitCode {
    let mut paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        paths = real_segment_paths();
        println!(
            "no files given: using {}",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let mut segments = Vec::new();
    for p in &paths {
        match read_npy(p) {
            Ok(t) => segments.push(t),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if segments.len() == 1 {
        println!(
            "only one file: its tables are trained on itself (not leave-one-out), so its vqtans rate is optimistic"
        );
    } else {
        println!(
            "vqtans tables: leave-one-out (each file coded with tables trained on the other {})",
            segments.len() - 1
        );
    }
    println!(
        "SIMD decode path on this CPU: {:?}; decode times: median of {REPS} runs (xz: {XZ_REPS})",
        DecodePath::best()
    );
    let blobs = leave_one_out_blobs(&segments);

    let mut rows = Vec::new();
    for ((path, tokens), blob) in paths.iter().zip(&segments).zip(&blobs) {
        let set = TableSetRef::from_bytes(blob).expect("tables");
        let tables = OwnedDecodeTables::new(&set).expect("tables");
        let stream = Encoder::new(&set).and_then(|e| e.encode(tokens)).expect("vqtans encode");
        let scalar_out = decode(&stream, &set, tables.view()).expect("vqtans decode");
        let simd_out = decode_simd(&stream, &set, tables.view()).expect("vqtans SIMD decode");
        assert!(scalar_out == *tokens && simd_out == *tokens, "vqtans round trip");
        let raw = transposed_i16_le(tokens);
        rows.push(Row {
            name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            tokens: tokens.len(),
            scalar: Result1 {
                bytes: stream.len(),
                decode: median_time(REPS, || decode(&stream, &set, tables.view()).unwrap()),
            },
            simd: Result1 {
                bytes: stream.len(),
                decode: median_time(REPS, || decode_simd(&stream, &set, tables.view()).unwrap()),
            },
            zstd: zstd_19(&raw),
            xz: xz_9e(&raw),
        });
    }
    let mut total = Row { name: "total".into(), ..Row::default() };
    for r in &rows {
        total.tokens += r.tokens;
        for (t, x) in
            [(&mut total.scalar, r.scalar), (&mut total.simd, r.simd), (&mut total.zstd, r.zstd), (&mut total.xz, r.xz)]
        {
            t.bytes += x.bytes;
            t.decode += x.decode;
        }
    }

    println!();
    println!(
        "{:<28} {:>9} | {:>9} {:>6} {:>9} {:>9} | {:>9} {:>6} {:>9} | {:>9} {:>6} {:>9}",
        "file",
        "tokens",
        "vqtans B",
        "rate",
        "scalar/s",
        "SIMD/s",
        "zstd B",
        "rate",
        "decode/s",
        "xz B",
        "rate",
        "decode/s"
    );
    let m = |tokens: usize, t: Duration| format!("{:.1}M", speed(tokens, t) / 1e6);
    for r in rows.iter().chain(std::iter::once(&total)) {
        println!(
            "{:<28} {:>9} | {:>9} {:>6.3} {:>9} {:>9} | {:>9} {:>6.3} {:>9} | {:>9} {:>6.3} {:>9}",
            r.name,
            r.tokens,
            r.simd.bytes,
            rate(r.tokens, r.simd.bytes),
            m(r.tokens, r.scalar.decode),
            m(r.tokens, r.simd.decode),
            r.zstd.bytes,
            rate(r.tokens, r.zstd.bytes),
            m(r.tokens, r.zstd.decode),
            r.xz.bytes,
            rate(r.tokens, r.xz.bytes),
            m(r.tokens, r.xz.decode),
        );
    }
    let s = |x: Result1| speed(total.tokens, x.decode);
    println!();
    println!("vqtans SIMD decode speed / scalar decode speed = {:.2}", s(total.simd) / s(total.scalar));
    println!("vqtans SIMD decode speed / xz decode speed = {:.2}", s(total.simd) / s(total.xz));
    println!("vqtans SIMD decode speed / zstd decode speed = {:.2}", s(total.simd) / s(total.zstd));
    if DecodePath::best() == DecodePath::Neon {
        // On aarch64 the SIMD path is the NEON kernel: the figures the README lists
        // as unmeasured (the project's aarch64 tests run under QEMU, which cannot
        // time them).
        println!("vqtans NEON decode speed / scalar decode speed = {:.2}", s(total.simd) / s(total.scalar));
        println!("vqtans NEON decode speed / zstd decode speed = {:.2}", s(total.simd) / s(total.zstd));
    }
    ExitCode::SUCCESS
}

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
//! Rates are on a 10-bit basis: `tokens * 10 / (bytes * 8)`.
//!
//! Timing is interleaved, so that a change in the machine's load hits every path
//! alike: after a warm-up, each of `--rounds N` rounds (default 15) decodes every
//! file once with each path in turn (vqtans scalar, vqtans SIMD, zstd, xz), output
//! allocation included for every codec. The table gives each path's median time
//! in tokens per second; each ratio (e.g. SIMD / zstd) is the median of the
//! per-round ratios, with the lowest and highest round, per file and for the
//! totals. On x86-64 the vqtans paths are also given in TSC ticks per token
//! (the time-stamp counter runs at a fixed rate, not the core's current clock;
//! its rate is printed). The CPU's name is printed first. Without file
//! arguments the two real segments in `shared/data/commavq` are used. The SIMD
//! path is the CPU's (AVX2 on x86-64, NEON on aarch64, where the NEON/scalar and
//! NEON/zstd ratios are printed too). On a CPU whose SIMD path is AVX-512, the
//! AVX2 kernel (the SIMD path before AVX-512) is timed too, as one more path of
//! each round, and the SIMD/AVX2 ratio printed.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use vqtans::segment::{decode, decode_simd, Encoder};
use vqtans::simd::{decode_into_with, DecodePath};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};
use vqtans_benches::{leave_one_out_blobs, read_npy, real_segment_paths, transposed_i16_le};

/// Rounds of interleaved timing unless `--rounds N` says otherwise.
const ROUNDS: usize = 15;

/// The paths timed, in the order each round runs them (AVX2 only where the SIMD
/// path is AVX-512: [`avx2_baseline`]).
const PATHS: [&str; 5] = ["scalar", "SIMD", "AVX2", "zstd", "xz"];
const SCALAR: usize = 0;
const SIMD: usize = 1;
const AVX2: usize = 2;
const ZSTD: usize = 3;
const XZ: usize = 4;

/// True if the AVX2 kernel is timed as a path of its own: where the SIMD path is
/// AVX-512 and AVX2 is the kernel it replaced.
fn avx2_baseline() -> bool {
    DecodePath::best() == DecodePath::Avx512
}

/// The paths timed on this CPU, in order.
fn timed_paths() -> Vec<usize> {
    (0..PATHS.len()).filter(|&p| p != AVX2 || avx2_baseline()).collect()
}

/// One file, ready to decode with every path.
struct Prepared {
    name: String,
    tokens: usize,
    /// The vqtans stream.
    stream: Vec<u8>,
    raw_len: usize,
    zstd: Vec<u8>,
    xz: Vec<u8>,
}

/// One decode by path `p` of `file`.
fn decode_once(p: usize, file: &Prepared, set: &TableSetRef<'_>, tables: &OwnedDecodeTables) {
    match p {
        SCALAR => {
            std::hint::black_box(decode(&file.stream, set, tables.view()).unwrap());
        }
        SIMD => {
            std::hint::black_box(decode_simd(&file.stream, set, tables.view()).unwrap());
        }
        AVX2 => {
            let mut out = vec![0u16; file.tokens];
            decode_into_with(DecodePath::Avx2, &file.stream, set, tables.view(), &mut out).unwrap();
            std::hint::black_box(out);
        }
        ZSTD => {
            std::hint::black_box(zstd::bulk::decompress(&file.zstd, file.raw_len).unwrap());
        }
        _ => {
            let mut out = Vec::with_capacity(file.raw_len);
            xz2::read::XzDecoder::new(&file.xz[..]).read_to_end(&mut out).unwrap();
            std::hint::black_box(out);
        }
    }
}

fn zstd_19(raw: &[u8]) -> Vec<u8> {
    let packed = zstd::bulk::compress(raw, 19).expect("zstd compress");
    let check = zstd::bulk::decompress(&packed, raw.len()).expect("zstd decompress");
    assert_eq!(check, raw, "zstd round trip");
    packed
}

fn xz_9e(raw: &[u8]) -> Vec<u8> {
    let stream = xz2::stream::Stream::new_easy_encoder(9 | lzma_sys::LZMA_PRESET_EXTREME, xz2::stream::Check::Crc64)
        .expect("xz encoder");
    let mut encoder = xz2::write::XzEncoder::new_stream(Vec::new(), stream);
    encoder.write_all(raw).expect("xz compress");
    let packed = encoder.finish().expect("xz compress");
    let mut out = Vec::with_capacity(raw.len());
    xz2::read::XzDecoder::new(&packed[..]).read_to_end(&mut out).expect("xz decompress");
    assert_eq!(out, raw, "xz round trip");
    packed
}

/// The time-stamp counter (x86-64), else nothing.
fn tsc() -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC exists on every x86-64 CPU and only reads the counter.
        Some(unsafe { core::arch::x86_64::_rdtsc() })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// The CPU's model name (Linux `/proc/cpuinfo`), or what is known without it.
fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Model"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| format!("unknown ({})", std::env::consts::ARCH))
}

/// The median of `values` and their lowest and highest.
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[0], values[values.len() - 1])
}

/// `median (lowest-highest)` of per-round ratios `a / b` of times (so that the
/// ratio is of speeds: `b`'s time over `a`'s).
fn ratio_line(faster: &[Duration], slower: &[Duration]) -> String {
    let ratios = faster.iter().zip(slower).map(|(f, s)| s.as_secs_f64() / f.as_secs_f64()).collect();
    let (median, low, high) = spread(ratios);
    format!("{median:.2} ({low:.2}-{high:.2})")
}

/// The median of `times`.
fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn rate(tokens: usize, bytes: usize) -> f64 {
    tokens as f64 * 10.0 / (bytes as f64 * 8.0)
}

fn speed(tokens: usize, t: Duration) -> f64 {
    tokens as f64 / t.as_secs_f64()
}

fn main() -> ExitCode {
    let mut rounds = ROUNDS;
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--rounds" {
            match args.next().and_then(|n| n.to_str().and_then(|n| n.parse::<usize>().ok())).filter(|&n| n > 0) {
                Some(n) => rounds = n,
                None => {
                    eprintln!("error: --rounds takes a positive number");
                    return ExitCode::from(2);
                }
            }
        } else {
            paths.push(PathBuf::from(arg));
        }
    }
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
    println!("CPU: {}", cpu_name());
    println!(
        "SIMD decode path on this CPU: {:?}; decode times: {rounds} interleaved rounds (each decodes every file once \
         with every path in turn), after a warm-up",
        DecodePath::best()
    );
    let blobs = leave_one_out_blobs(&segments);
    // Each file's table set, compiled once for the checks and the timing.
    let views: Vec<(TableSetRef<'_>, OwnedDecodeTables)> = blobs
        .iter()
        .map(|blob| {
            let set = TableSetRef::from_bytes(blob).expect("tables");
            let tables = OwnedDecodeTables::new(&set).expect("tables");
            (set, tables)
        })
        .collect();

    let mut files = Vec::new();
    for ((path, tokens), (set, tables)) in paths.iter().zip(&segments).zip(&views) {
        let stream = Encoder::new(set).and_then(|e| e.encode(tokens)).expect("vqtans encode");
        let scalar_out = decode(&stream, set, tables.view()).expect("vqtans decode");
        let simd_out = decode_simd(&stream, set, tables.view()).expect("vqtans SIMD decode");
        assert!(scalar_out == *tokens && simd_out == *tokens, "vqtans round trip");
        let raw = transposed_i16_le(tokens);
        files.push(Prepared {
            name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            tokens: tokens.len(),
            zstd: zstd_19(&raw),
            xz: xz_9e(&raw),
            raw_len: raw.len(),
            stream,
        });
    }

    // times[file][path][round]; ticks[file][path][round] for the vqtans paths.
    let mut times = vec![vec![Vec::with_capacity(rounds); PATHS.len()]; files.len()];
    let mut ticks = vec![vec![Vec::with_capacity(rounds); AVX2 + 1]; files.len()];
    let paths = timed_paths();
    for (file, (set, tables)) in files.iter().zip(&views) {
        for &p in &paths {
            decode_once(p, file, set, tables);
        }
    }
    let (tsc_start, clock_start) = (tsc(), Instant::now());
    for _ in 0..rounds {
        for (i, (file, (set, tables))) in files.iter().zip(&views).enumerate() {
            for &p in &paths {
                let (t0, c0) = (Instant::now(), tsc());
                decode_once(p, file, set, tables);
                let (c1, elapsed) = (tsc(), t0.elapsed());
                times[i][p].push(elapsed);
                if let (Some(c0), Some(c1), true) = (c0, c1, p <= AVX2) {
                    ticks[i][p].push(c1.wrapping_sub(c0) as f64 / file.tokens as f64);
                }
            }
        }
    }
    let tsc_per_ns = tsc()
        .zip(tsc_start)
        .map(|(end, start)| end.wrapping_sub(start) as f64 / clock_start.elapsed().as_nanos() as f64);
    // The totals' time per round and path: the sum over the files.
    let total_times: Vec<Vec<Duration>> = (0..PATHS.len())
        .map(|p| (0..times[0][p].len()).map(|r| times.iter().map(|f| f[p][r]).sum()).collect())
        .collect();
    let total_tokens: usize = files.iter().map(|f| f.tokens).sum();

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
    let m = |tokens: usize, t: &[Duration]| format!("{:.1}M", speed(tokens, median(t)) / 1e6);
    let sum = |f: fn(&Prepared) -> usize| files.iter().map(f).sum::<usize>();
    let rows = files
        .iter()
        .zip(&times)
        .map(|(f, t)| (f.name.as_str(), f.tokens, f.stream.len(), f.zstd.len(), f.xz.len(), t.as_slice()))
        .chain(std::iter::once((
            "total",
            total_tokens,
            sum(|f| f.stream.len()),
            sum(|f| f.zstd.len()),
            sum(|f| f.xz.len()),
            total_times.as_slice(),
        )));
    for (name, tokens, vqtans, zstd, xz, t) in rows {
        println!(
            "{:<28} {:>9} | {:>9} {:>6.3} {:>9} {:>9} | {:>9} {:>6.3} {:>9} | {:>9} {:>6.3} {:>9}",
            name,
            tokens,
            vqtans,
            rate(tokens, vqtans),
            m(tokens, &t[SCALAR]),
            m(tokens, &t[SIMD]),
            zstd,
            rate(tokens, zstd),
            m(tokens, &t[ZSTD]),
            xz,
            rate(tokens, xz),
            m(tokens, &t[XZ]),
        );
    }

    println!();
    println!("per-round speed ratios, median (lowest-highest) over {rounds} rounds:");
    let simd_name = if DecodePath::best() == DecodePath::Neon { "NEON" } else { "SIMD" };
    for (name, t) in files
        .iter()
        .map(|f| f.name.as_str())
        .zip(times.iter().map(Vec::as_slice))
        .chain([("total", total_times.as_slice())])
    {
        let avx2 =
            if avx2_baseline() { format!(", SIMD/AVX2 {}", ratio_line(&t[SIMD], &t[AVX2])) } else { String::new() };
        println!(
            "  {name}: {simd_name}/scalar {}, {simd_name}/zstd {}, {simd_name}/xz {}{avx2}",
            ratio_line(&t[SIMD], &t[SCALAR]),
            ratio_line(&t[SIMD], &t[ZSTD]),
            ratio_line(&t[SIMD], &t[XZ])
        );
    }
    if let Some(rate) = tsc_per_ns {
        println!(
            "TSC ticks per token, median (lowest-highest) over {rounds} rounds (the TSC ran at {rate:.3} ticks/ns):"
        );
        for (file, t) in files.iter().zip(&ticks) {
            let line = |v: &Vec<f64>| {
                let (m, lo, hi) = spread(v.clone());
                format!("{m:.2} ({lo:.2}-{hi:.2})")
            };
            let avx2 = if avx2_baseline() { format!(", AVX2 {}", line(&t[AVX2])) } else { String::new() };
            println!("  {}: scalar {}, {simd_name} {}{avx2}", file.name, line(&t[SCALAR]), line(&t[SIMD]));
        }
    }
    println!();
    let total = |p: usize| ratio_line(&total_times[SIMD], &total_times[p]);
    println!(
        "vqtans SIMD decode speed / scalar decode speed = {} (median of per-round ratios, lowest-highest)",
        total(SCALAR)
    );
    println!("vqtans SIMD decode speed / xz decode speed = {}", total(XZ));
    println!("vqtans SIMD decode speed / zstd decode speed = {}", total(ZSTD));
    if avx2_baseline() {
        println!("vqtans SIMD (AVX-512) decode speed / AVX2 kernel decode speed = {}", total(AVX2));
    }
    if DecodePath::best() == DecodePath::Neon {
        // On aarch64 the SIMD path is the NEON kernel: the figures the README lists
        // as unmeasured (the project's aarch64 tests run under QEMU, which cannot
        // time them).
        println!("vqtans NEON decode speed / scalar decode speed = {}", total(SCALAR));
        println!("vqtans NEON decode speed / zstd decode speed = {}", total(ZSTD));
    }
    ExitCode::SUCCESS
}

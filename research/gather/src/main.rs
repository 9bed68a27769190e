//! AVX2 gathers against scalar loads for table lookups shaped like the AVX2 kernel's
//! decode-entry lookups: rows of 16 lanes, each lane's index depending on the entry it
//! loaded in the previous row (as a tANS state does), in tables of 4 KiB to 1 MiB.
//!
//! ```text
//! cargo run --release --manifest-path research/gather/Cargo.toml
//! ```
//!
//! Prints, per table size, nanoseconds and TSC ticks per lookup for: two 8-lane
//! `vpgatherdd` per row; 16 scalar loads per row written to a lane array and loaded
//! back as two vectors (the htscodecs 1.6 replacement for gathers). The two give the
//! same checksum (asserted). Each figure is the median of 15 interleaved rounds.

use std::arch::x86_64::*;
use std::hint::black_box;
use std::time::Instant;

/// Rows per timed run.
const ROWS: usize = 200_000;
const ROUNDS: usize = 15;

/// A table of `len` pseudo-random entries (xorshift).
fn table(len: usize) -> Vec<u32> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u32
        })
        .collect()
}

/// The wrapping sum of the 8 lanes of `v` (the runs' checksum).
#[target_feature(enable = "avx2")]
unsafe fn lane_sum(v: __m256i) -> u32 {
    let mut lanes = [0u32; 8];
    _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, v);
    lanes.iter().fold(0, |s, &l| s.wrapping_add(l))
}

/// Rows of 16 dependent lookups with gathers: returns a checksum.
#[target_feature(enable = "avx2")]
unsafe fn with_gathers(t: &[u32], rows: usize) -> u32 {
    let mask = _mm256_set1_epi32((t.len() - 1) as i32);
    let mut a = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let mut b = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
    let mut sum = _mm256_setzero_si256();
    for r in 0..rows {
        let step = _mm256_set1_epi32(r as i32);
        let ea = _mm256_i32gather_epi32::<4>(t.as_ptr() as *const i32, a);
        let eb = _mm256_i32gather_epi32::<4>(t.as_ptr() as *const i32, b);
        sum = _mm256_add_epi32(sum, _mm256_xor_si256(ea, eb));
        a = _mm256_and_si256(_mm256_add_epi32(ea, step), mask);
        b = _mm256_and_si256(_mm256_add_epi32(eb, step), mask);
    }
    lane_sum(sum)
}

/// The same with 16 scalar loads per row through a lane array.
#[target_feature(enable = "avx2")]
unsafe fn with_scalar_loads(t: &[u32], rows: usize) -> u32 {
    let mask = _mm256_set1_epi32((t.len() - 1) as i32);
    let mut a = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let mut b = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
    let mut sum = _mm256_setzero_si256();
    let mut idx = [0u32; 16];
    let mut got = [0u32; 16];
    for r in 0..rows {
        let step = _mm256_set1_epi32(r as i32);
        _mm256_storeu_si256(idx.as_mut_ptr() as *mut __m256i, a);
        _mm256_storeu_si256(idx.as_mut_ptr().add(8) as *mut __m256i, b);
        for l in 0..16 {
            // Indices are masked to the table's length above.
            *got.get_unchecked_mut(l) = *t.get_unchecked(*idx.get_unchecked(l) as usize);
        }
        let ea = _mm256_loadu_si256(got.as_ptr() as *const __m256i);
        let eb = _mm256_loadu_si256(got.as_ptr().add(8) as *const __m256i);
        sum = _mm256_add_epi32(sum, _mm256_xor_si256(ea, eb));
        a = _mm256_and_si256(_mm256_add_epi32(ea, step), mask);
        b = _mm256_and_si256(_mm256_add_epi32(eb, step), mask);
    }
    lane_sum(sum)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    assert!(is_x86_feature_detected!("avx2"), "needs AVX2");
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!("CPU: {cpu}; {ROWS} rows of 16 dependent lookups per run, median of {ROUNDS} interleaved rounds");
    println!(
        "{:>10} | {:>12} {:>12} | {:>12} {:>12} | {:>7}",
        "table", "gather ns", "gather tsc", "scalar ns", "scalar tsc", "g/s"
    );
    for kib in [4usize, 16, 64, 256, 1024] {
        let t = table(kib * 1024 / 4);
        // SAFETY: AVX2 was detected above.
        let (g, s) = unsafe { (with_gathers(&t, 1000), with_scalar_loads(&t, 1000)) };
        assert_eq!(g, s, "the two give the same lookups");
        let (mut gn, mut gt, mut sn, mut st) = (vec![], vec![], vec![], vec![]);
        let lookups = (ROWS * 16) as f64;
        for _ in 0..ROUNDS {
            for (ns, tsc, f) in [
                (&mut gn, &mut gt, with_gathers as unsafe fn(&[u32], usize) -> u32),
                (&mut sn, &mut st, with_scalar_loads),
            ] {
                let t0 = Instant::now();
                // SAFETY: AVX2 was detected above; rdtsc only reads the counter.
                let c0 = unsafe { _rdtsc() };
                black_box(unsafe { f(black_box(&t), ROWS) });
                let c1 = unsafe { _rdtsc() };
                ns.push(t0.elapsed().as_nanos() as f64 / lookups);
                tsc.push((c1 - c0) as f64 / lookups);
            }
        }
        let (gn, gt, sn, st) = (median(gn), median(gt), median(sn), median(st));
        println!("{:>7} KiB | {gn:>12.3} {gt:>12.3} | {sn:>12.3} {st:>12.3} | {:>7.2}", kib, gn / sn);
    }
}

//! Encode and decode throughput (tokens/s) on the real segments with leave-one-out
//! tables: scalar decode versus the SIMD path (AVX2 where the CPU has it); and the
//! bare tANS core (order-0 tables) decoding.
//!
//! `cargo bench -p vqtans-benches --bench codec` (about a minute).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vqtans::segment::{decode, decode_simd, Encoder};
use vqtans::simd::DecodePath;
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};
use vqtans_benches::{leave_one_out_blobs, read_npy, real_segment_paths};

struct Case {
    name: String,
    tokens: Vec<u16>,
    blob: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let paths = real_segment_paths();
    let segments: Vec<Vec<u16>> = paths.iter().map(|p| read_npy(p).unwrap_or_else(|e| panic!("{e}"))).collect();
    let blobs = leave_one_out_blobs(&segments);
    paths
        .iter()
        .zip(segments)
        .zip(blobs)
        .map(|((p, tokens), blob)| Case {
            name: p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            tokens,
            blob,
        })
        .collect()
}

fn codec(c: &mut Criterion) {
    let cases = cases();
    println!("decode paths: scalar and {:?}", DecodePath::best());

    let mut group = c.benchmark_group("encode");
    for case in &cases {
        let set = TableSetRef::from_bytes(&case.blob).unwrap();
        let encoder = Encoder::new(&set).unwrap();
        group.throughput(Throughput::Elements(case.tokens.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(&case.name), |b| {
            b.iter(|| encoder.encode(&case.tokens).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("decode");
    for case in &cases {
        let set = TableSetRef::from_bytes(&case.blob).unwrap();
        let tables = OwnedDecodeTables::new(&set).unwrap();
        let stream = Encoder::new(&set).unwrap().encode(&case.tokens).unwrap();
        assert_eq!(decode_simd(&stream, &set, tables.view()).unwrap(), case.tokens);
        group.throughput(Throughput::Elements(case.tokens.len() as u64));
        group.bench_function(BenchmarkId::new("scalar", &case.name), |b| {
            b.iter(|| decode(&stream, &set, tables.view()).unwrap())
        });
        group.bench_function(BenchmarkId::new("simd", &case.name), |b| {
            b.iter(|| decode_simd(&stream, &set, tables.view()).unwrap())
        });
    }
    group.finish();

    // The bare tANS core: order-0 tables (one 1024-symbol table, 4 interleaved states),
    // learned from the other segment.
    let mut group = c.benchmark_group("order0-decode");
    for (i, case) in cases.iter().enumerate() {
        let other = &cases[(i + 1) % cases.len()].tokens;
        let mut counts = vec![0u64; 1024];
        for &t in other {
            counts[t as usize] += 1;
        }
        let blob = vqtans::model::order0::build_table_set(&counts, 12).unwrap().to_bytes().unwrap();
        let set = TableSetRef::from_bytes(&blob).unwrap();
        let tables = OwnedDecodeTables::new(&set).unwrap();
        let stream = Encoder::new(&set).unwrap().encode(&case.tokens).unwrap();
        group.throughput(Throughput::Elements(case.tokens.len() as u64));
        group.bench_function(BenchmarkId::new("scalar", &case.name), |b| {
            b.iter(|| decode(&stream, &set, tables.view()).unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = codec
}
criterion_main!(benches);

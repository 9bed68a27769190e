//! Writes the seed inputs kept in `seeds/`: valid streams for every fixture (with the
//! selector byte `decode_stream` expects), inputs of `simd_matches_scalar` for every
//! fixture and of `stream_matches_frames`, and table sets of every model kind (order-0, the context model with
//! default and other parameters and as a compact version-3 set with 16-bit entries,
//! and, as a postcard part without its checksum, a kind this build does not know),
//! each checked to
//! code `load_table_set`'s probe tokens so that the fuzzer starts from sets that
//! reach its round trip. Run with `cargo run --bin make_seeds` from `codec/fuzz`
//! (the pinned nightly of `rust-toolchain.toml`).

#[path = "common.rs"]
mod common;

use common::Fixture;
use vqtans::model::context::train::{train_in_memory, TrainConfig};
use vqtans::segment::{decode, Encoder};
use vqtans::table_set::{OwnedDecodeTables, TableSet, TableSetRef, CHECKSUM_LEN};

fn main() {
    // The default fixture's set is what `train_in_memory` makes from its tokens
    // (so the seeds made with it before the training was shared still fit it).
    let training = common::synthetic_tokens(60, 7);
    let reference = train_in_memory(&[&training], &TrainConfig::default()).unwrap().to_bytes().unwrap();
    assert!(common::context_blob() == reference, "the shared training changed the default fixture");
    let fixtures = Fixture::all();
    for (i, fixture) in fixtures.iter().enumerate() {
        for frames in [1usize, 3] {
            let tokens = common::synthetic_tokens(frames, 11 + frames as u64);
            let stream = fixture.encoder.encode(&tokens).unwrap();
            let mut seed = vec![i as u8];
            seed.extend_from_slice(&stream);
            std::fs::write(format!("seeds/decode_stream/model{i}-frames{frames}"), seed).unwrap();
        }
    }
    std::fs::write("seeds/decode_mutated/example", [0x85u8, 3, 9, 200, 17, 42, 7, 7, 1, 2, 3, 4, 5]).unwrap();

    // simd_matches_scalar: fixture, mode (even: arbitrary payload behind a valid
    // header; odd: a valid stream, damaged where the rest says).
    for i in 0..fixtures.len() as u8 {
        std::fs::write(format!("seeds/simd_matches_scalar/model{i}-payload"), [&[i, 6][..], &[0x5A; 400]].concat())
            .unwrap();
        std::fs::write(format!("seeds/simd_matches_scalar/model{i}-damaged"), [i, 41, 100, 0, 200, 2]).unwrap();
    }

    // stream_matches_frames: [mode, seed, ...]. Mode bits 0-1 pick the fixture, bits 2-3
    // the case (0 forged header, 1 damaged valid stream, 2 raw bytes), bits 4-7 the
    // frame count; the seed picks chunk sizes and the container format / group size.
    std::fs::create_dir_all("seeds/stream_matches_frames").unwrap();
    for (name, mode, seed) in [("forged-v2", 0xF1u8, 0x43u8), ("damaged-pairs", 0x73, 0x08), ("damaged-v1", 0x89, 0x10)]
    {
        let mut input = vec![mode, seed];
        input.extend((0..64u32).map(|i| (i * 97 + 13) as u8));
        std::fs::write(format!("seeds/stream_matches_frames/{name}"), input).unwrap();
    }
    let stream = fixtures[1].encoder.encode(&common::synthetic_tokens(25, 3)).unwrap();
    // Mode 0x09: fixture 1 (whose stream this is), case 2 (raw bytes).
    let mut raw = vec![0x09u8, 0x02];
    raw.extend_from_slice(&stream);
    std::fs::write("seeds/stream_matches_frames/raw-valid", raw).unwrap();

    // load_table_set: a model kind this build does not know loads (the tANS core
    // does not need it). The seed is the postcard part without the checksum:
    // `load_table_set` appends one.
    let small = TableSet { state_log: 7, tables: vec![(5, vec![20, 10, 2, 0]), (7, vec![100, 28])], model: vec![0xEE] };
    let blob = small.to_bytes().unwrap();
    std::fs::write("seeds/load_table_set/small", &blob[..blob.len() - CHECKSUM_LEN]).unwrap();
    // Sets of every known model that code the probe tokens: order-0 (every token
    // present), the context model with a short list at the default state log and
    // with other parameters. (The default K = 192 makes a 400 KB set, which would
    // slow every run; the other targets decode with one.)
    let probe = common::probe_tokens();
    let mut counts: Vec<u64> = vec![1; 1024];
    for &t in &probe {
        counts[t as usize] += 20;
    }
    let order0 = vqtans::model::order0::build_table_set(&counts, 11).unwrap().to_bytes().unwrap();
    let training = common::synthetic_tokens(60, 7);
    let context = |k, state_log| {
        let config = TrainConfig { k, state_log, ..TrainConfig::default() };
        train_in_memory(&[&training], &config).unwrap().to_bytes().unwrap()
    };
    for (name, blob) in [
        ("order0", order0),
        ("context-k4", context(4, 10)),
        ("context-k16-log11", context(16, 11)),
        ("context-v3-short", common::context_blob_compact()),
    ] {
        let set = TableSetRef::from_bytes(&blob).unwrap();
        let stream = Encoder::new(&set).unwrap().encode(&probe).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let tables = OwnedDecodeTables::new(&set).unwrap();
        assert_eq!(decode(&stream, &set, tables.view()).unwrap(), probe, "{name}");
        std::fs::write(format!("seeds/load_table_set/{name}"), blob).unwrap();
    }
}

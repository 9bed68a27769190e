//! Writes the seed inputs kept in `seeds/`: valid streams for every fixture (with the
//! selector byte `decode_stream` expects) and small valid table sets. Run with
//! `cargo +nightly run --bin make_seeds` from `codec/fuzz`.

#[path = "common.rs"]
mod common;

use common::Fixture;
use vqtans::table_set::TableSet;

fn main() {
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
    let mut raw = vec![0x0Au8, 0x02];
    raw.extend_from_slice(&stream);
    std::fs::write("seeds/stream_matches_frames/raw-valid", raw).unwrap();
    // A model kind this build does not know loads (the tANS core does not need it).
    let small = TableSet { state_log: 7, tables: vec![(5, vec![20, 10, 2, 0]), (7, vec![100, 28])], model: vec![0xEE] };
    std::fs::write("seeds/load_table_set/small", small.to_bytes().unwrap()).unwrap();
}

//! Writes the seed inputs kept in `seeds/`: valid streams for every fixture (with the
//! selector byte `decode_stream` expects) and a small valid table set (its postcard
//! part). Run with `cargo +nightly run --bin make_seeds` from `codec/fuzz`.

#[path = "common.rs"]
mod common;

use common::Fixture;
use vqtans::table_set::{TableSet, CHECKSUM_LEN};

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
    // A model kind this build does not know loads (the tANS core does not need it).
    // The seed is the postcard part without the checksum: `load_table_set` appends one.
    let small = TableSet { state_log: 7, tables: vec![(5, vec![20, 10, 2, 0]), (7, vec![100, 28])], model: vec![0xEE] };
    let blob = small.to_bytes().unwrap();
    std::fs::write("seeds/load_table_set/small", &blob[..blob.len() - CHECKSUM_LEN]).unwrap();
}

//! Order-0 round trips over the real segments, and the coder's overhead against the
//! empirical entropy (printed; run with `--nocapture` to see the figures, which
//! `scripts/readme-figures.py` puts into the README).

mod common;

use vqtans::model::order0::build_table_set;
use vqtans::segment::{decode, EncodeOptions, Encoder};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};
use vqtans::tans::normalize::entropy_bits;

#[test]
fn order0_round_trip_is_exact_and_close_to_entropy() {
    for (name, tokens) in common::real_segments() {
        let counts = common::counts(&tokens);
        let blob = build_table_set(&counts, 12).unwrap().to_bytes().unwrap();
        let set = TableSetRef::from_bytes(&blob).unwrap();
        let tables = OwnedDecodeTables::new(&set).unwrap();
        // Container format 1: the payload is the coder's output alone (format 2 adds
        // 32 bits of group checksum per 20 frames, which are not the coder's cost).
        let v1 = EncodeOptions { version_1: true, ..EncodeOptions::default() };
        let stream = Encoder::with_options(&set, v1).unwrap().encode(&tokens).unwrap();
        let back = decode(&stream, &set, tables.view()).unwrap();
        assert_eq!(back, tokens, "{name}");
        let entropy = entropy_bits(&counts) / tokens.len() as f64;
        let payload_bits = (stream.len() - vqtans::container::HEADER_LEN) as f64 * 8.0 / tokens.len() as f64;
        let overhead = payload_bits / entropy - 1.0;
        println!("{name}: entropy {entropy:.4} bits/token, coded {payload_bits:.4}, overhead {:.3}%", overhead * 100.0);
        // Table precision (log 12 for ~1000 used symbols) plus every symbol's floor slot.
        assert!(overhead < 0.002, "{name}: overhead {overhead}");
    }
}

#[test]
fn order0_leave_one_out_round_trip() {
    let segs = common::real_segments();
    for (i, (name, tokens)) in segs.iter().enumerate() {
        let other = &segs[1 - i].1;
        let blob = build_table_set(&common::counts(other), 11).unwrap().to_bytes().unwrap();
        let set = TableSetRef::from_bytes(&blob).unwrap();
        let tables = OwnedDecodeTables::new(&set).unwrap();
        let stream = Encoder::new(&set).unwrap().encode(tokens).unwrap();
        assert_eq!(&decode(&stream, &set, tables.view()).unwrap(), tokens, "{name}");
    }
}

//! The context model on the real segments: exact round trips, leave-one-out.

mod common;

use vqtans::model::context::train::{train_in_memory, TrainConfig};
use vqtans::segment::{decode, Encoder};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};

#[test]
fn leave_one_out_round_trip_and_rate() {
    let segs = common::real_segments();
    for (i, (name, tokens)) in segs.iter().enumerate() {
        let other = &segs[1 - i].1;
        let blob = train_in_memory(&[other], &TrainConfig::default()).unwrap().to_bytes().unwrap();
        let set = TableSetRef::from_bytes(&blob).unwrap();
        let tables = OwnedDecodeTables::new(&set).unwrap();
        let (stream, parts) = Encoder::new(&set).unwrap().encode_with_stats(tokens).unwrap();
        assert_eq!(&decode(&stream, &set, tables.view()).unwrap(), tokens, "{name}");
        let rate = tokens.len() as f64 * 10.0 / (stream.len() as f64 * 8.0);
        println!("{name}: {} bytes, rate {rate:.4}, tables {} bytes, parts {parts:?}", stream.len(), blob.len());
    }
}

#[path = "../tests/common/mod.rs"]
mod common;
use vqtans::model::context::train::*;
use vqtans::segment::Encoder;
use vqtans::table_set::TableSetRef;
fn main() {
    let segs = common::real_segments();
    let args: Vec<f64> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let mut cfg = TrainConfig::default();
    if args.len() >= 4 { cfg.blend = args[0]; cfg.two_step = args[1]; cfg.log_tolerance = args[2]; cfg.k = args[3] as usize; }
    if args.len() >= 5 { cfg.state_log = args[4] as u8; }
    for i in 0..2 {
        let set = train_in_memory(&[&segs[1 - i].1], &cfg).unwrap();
        let blob = set.to_bytes().unwrap();
        let sref = TableSetRef::from_bytes(&blob).unwrap();
        let stream = Encoder::new(&sref).unwrap().encode(&segs[i].1).unwrap();
        println!("{} rate {:.4} blob {}", segs[i].0, segs[i].1.len() as f64 * 10.0 / (stream.len() as f64 * 8.0), blob.len());
    }
}

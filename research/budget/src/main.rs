//! Footprint against rate for the context model's size parameters, measured
//! leave-one-out on the two real segments, and a simulation of picking the parameters
//! for a flash budget from held-out data inside the training set.
//!
//! `cargo run --release --locked -- all` (from `research/budget`): sweep, then report.
//! `sweep` writes `results/sweep.csv`; `report` reads it and writes `results/report.md`;
//! `validate` checks this program's model against the codec's own training and
//! encoder at two configurations; `stats` prints list statistics.

mod data;
mod footprint;
mod model;
mod report;

use data::{real_segments, Segment, FRAME};
use model::{
    build_tables, coding_events, context_sets, fine_counts, rate, stream_bytes, training_events, CtxSet, Learned,
    ListShape,
};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// List lengths swept.
const KS: [usize; 12] = [8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384];
/// State logs swept.
const MS: std::ops::RangeInclusive<u8> = 5..=10;

/// One measurement: a training set, a measured segment, a configuration.
#[derive(Debug, Clone)]
pub struct Record {
    pub dir: String,
    pub shape: String,
    pub k: usize,
    pub entries: usize,
    pub ctx: String,
    pub tables: usize,
    pub alphabet: usize,
    pub m: u8,
    pub floor: u16,
    pub tokens: usize,
    pub bytes: usize,
    /// Stream bytes estimated from the held-out class histogram alone (no coding).
    pub ideal: usize,
}

impl Record {
    pub const HEADER: &'static str = "dir,shape,k,entries,ctx,tables,alphabet,m,floor,tokens,bytes,ideal";
    fn to_csv(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            self.dir,
            self.shape,
            self.k,
            self.entries,
            self.ctx,
            self.tables,
            self.alphabet,
            self.m,
            self.floor,
            self.tokens,
            self.bytes,
            self.ideal
        )
    }
    pub fn from_csv(line: &str) -> Record {
        let f: Vec<&str> = line.split(',').collect();
        Record {
            dir: f[0].into(),
            shape: f[1].into(),
            k: f[2].parse().unwrap(),
            entries: f[3].parse().unwrap(),
            ctx: f[4].into(),
            tables: f[5].parse().unwrap(),
            alphabet: f[6].parse().unwrap(),
            m: f[7].parse().unwrap(),
            floor: f[8].parse().unwrap(),
            tokens: f[9].parse().unwrap(),
            bytes: f[10].parse().unwrap(),
            ideal: f[11].parse().unwrap(),
        }
    }
}

/// Training segments and the segment measured with what they learn.
struct Direction<'a> {
    name: String,
    train: Vec<&'a Segment>,
    measure: &'a Segment,
}

/// (state log, slot floor) pairs measured: every log with floor 1; floor 2 at log 8
/// and floor 4 at log 9 (what 16-bit entries need there).
fn logs_and_floors(alphabet: usize) -> Vec<(u8, u16)> {
    let mut v: Vec<(u8, u16)> = MS.map(|m| (m, 1)).collect();
    v.push((8, 2));
    if alphabet <= 16 {
        v.push((9, 4));
    }
    v
}

/// The list shapes swept: uniform lengths, and tiered lists (long lists for the
/// predecessors that start the most changes, short or none for the rest).
fn shapes() -> Vec<ListShape> {
    let mut v: Vec<ListShape> = KS.iter().map(|&k| ListShape::Uniform(k)).collect();
    for k_hi in [64, 128, 192] {
        for n_hi in [256, 512] {
            for k_lo in [0, 8, 16, 32] {
                v.push(ListShape::Tiered { k_hi, n_hi, k_lo });
            }
        }
    }
    // Two-hop extensions whose virtual length is an allowed list length.
    for (k, i, k2) in [
        (8, 7, 8),
        (16, 14, 8),
        (16, 15, 16),
        (24, 21, 8),
        (32, 12, 8),
        (32, 20, 8),
        (32, 14, 16),
        (32, 22, 16),
        (32, 30, 16),
        (32, 23, 32),
        (48, 13, 16),
        (48, 21, 16),
        (64, 12, 16),
        (64, 20, 16),
        (64, 28, 16),
        (96, 18, 16),
        (128, 16, 16),
        (128, 24, 16),
    ] {
        for interleave in [false, true] {
            v.push(ListShape::TwoHop { k, i, k2, interleave });
        }
    }
    v
}

/// Context sets measured with a list shape: all of them for uniform lists, the full
/// set and two coarse ones for tiered lists.
fn sets_for(shape: ListShape, all: &[CtxSet]) -> Vec<CtxSet> {
    match shape {
        ListShape::Uniform(_) => all.to_vec(),
        ListShape::Tiered { .. } => {
            all.iter().filter(|s| ["g4n5u5", "g4n3u3", "g3n3u2"].contains(&s.name.as_str())).cloned().collect()
        }
        ListShape::TwoHop { .. } => all
            .iter()
            .filter(|s| {
                ["g4n5u5", "g4n4u5", "g4n5u2", "g4n4u2", "g4n3u2", "g4n5u1", "g4n4u1", "g4n1u2"]
                    .contains(&s.name.as_str())
            })
            .cloned()
            .collect(),
    }
}

fn measure(dir: &Direction<'_>, sets: &[CtxSet]) -> Vec<Record> {
    let train: Vec<&[u16]> = dir.train.iter().map(|s| s.tokens.as_slice()).collect();
    let learned = Learned::new(&train);
    let tokens = &dir.measure.tokens;
    let mut out = Vec::new();
    for shape in shapes() {
        let alphabet = vqtans::model::context::classes::Classes {
            buckets: vqtans::model::context::classes::buckets_for(shape.k()).unwrap(),
        }
        .alphabet();
        let counts = fine_counts(&training_events(&train, shape, &learned), alphabet);
        let events = coding_events(tokens, shape, &learned);
        let held_out = fine_counts(&events, alphabet);
        // Raw bits: successor offsets, escapes, frame 0 and the group checksums.
        let raw_bits: usize = events.iter().map(|e| e.raw_bits as usize).sum::<usize>()
            + 10 * FRAME
            + 8 * model::group_check_bytes(tokens.len() / FRAME);
        let mut shape_sets = sets_for(shape, sets);
        if let ListShape::Uniform(_) = shape {
            // Partitions merged greedily on this direction's training counts.
            let maps = model::greedy_maps(&counts, alphabet);
            for t in [2usize, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 50, 64, 80] {
                shape_sets.push(CtxSet::from_map(format!("greedy{t}"), &maps[t - 1]));
            }
        }
        for set in shape_sets {
            for (m, floor) in logs_and_floors(alphabet) {
                let tables = build_tables(&counts, alphabet, &set, m, floor);
                let bytes = stream_bytes(&tokens[..FRAME], &events, &set, &tables, m);
                let ideal = model::estimated_bytes(&held_out, alphabet, raw_bits, &set, &tables, m);
                out.push(Record {
                    dir: dir.name.clone(),
                    shape: shape.label(),
                    k: shape.k(),
                    entries: shape.entries(),
                    ctx: set.name.clone(),
                    tables: set.tables(),
                    alphabet,
                    m,
                    floor,
                    tokens: tokens.len(),
                    bytes,
                    ideal,
                });
            }
        }
    }
    out
}

fn write_atomic(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn results_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("results")
}

fn sweep(threads: usize) {
    let [a, b] = real_segments();
    let halves = |s: &Segment, n1: &'static str, n2: &'static str| {
        let h = s.n_frames() / 2;
        (s.frames(n1, 0, h), s.frames(n2, h, s.n_frames()))
    };
    let (a1, a2) = halves(&a, "commaai-1", "commaai-2");
    let (b1, b2) = halves(&b, "matt-1", "matt-2");
    let dir = |name: &str, train: &[&'static Segment], measure: &'static Segment| Direction {
        name: name.into(),
        train: train.to_vec(),
        measure,
    };
    // The segments live for the whole run.
    let [a, b, a1, a2, b1, b2]: [&'static Segment; 6] = [a, b, a1, a2, b1, b2].map(|s| &*Box::leak(Box::new(s)));
    let dirs = [
        dir("loo:commaai", &[b], a),
        dir("loo:matt", &[a], b),
        dir("cv:commaai:1", &[a1], a2),
        dir("cv:commaai:2", &[a2], a1),
        dir("cv:matt:1", &[b1], b2),
        dir("cv:matt:2", &[b2], b1),
    ];
    let sets = context_sets();
    let next = AtomicUsize::new(0);
    let records = Mutex::new(Vec::new());
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(d) = dirs.get(i) else { break };
                let r = measure(d, &sets);
                eprintln!("{}: {} configurations, {:.0} s", d.name, r.len(), start.elapsed().as_secs_f64());
                records.lock().unwrap().push((i, r));
            });
        }
    });
    let mut records = records.into_inner().unwrap();
    records.sort_by_key(|(i, _)| *i);
    let mut csv = String::from(Record::HEADER);
    csv.push('\n');
    for r in records.iter().flat_map(|(_, r)| r) {
        csv.push_str(&r.to_csv());
        csv.push('\n');
    }
    write_atomic(&results_dir().join("sweep.csv"), &csv);
}

fn read_sweep() -> Vec<Record> {
    let path = results_dir().join("sweep.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (run `sweep` first)", path.display()));
    text.lines().skip(1).filter(|l| !l.is_empty()).map(Record::from_csv).collect()
}

/// The codec's own training and encoder against this program's, at the default and at
/// `K = 32, M = 7`: same tables, same stream length; and the footprint formula against
/// the real blob.
fn validate() {
    use vqtans::model::context::train::{train_in_memory, TrainConfig};
    use vqtans::segment::Encoder;
    use vqtans::table_set::TableSetRef;
    let [a, b] = real_segments();
    let full = context_sets().into_iter().find(|s| s.is_identity()).unwrap();
    for (k, m) in [(192usize, 10u8), (32, 7)] {
        for (train, measure) in [(&b, &a), (&a, &b)] {
            let config = TrainConfig { k, state_log: m, ..TrainConfig::default() };
            let set = train_in_memory(&[&train.tokens], &config).unwrap();
            let blob = set.to_bytes().unwrap();
            let set_ref = TableSetRef::from_bytes(&blob).unwrap();
            let stream = Encoder::new(&set_ref).unwrap().encode(&measure.tokens).unwrap();

            let learned = Learned::new(&[&train.tokens]);
            let shape = ListShape::Uniform(k);
            let alphabet = set.tables[0].1.len();
            let counts = fine_counts(&training_events(&[&train.tokens], shape, &learned), alphabet);
            let tables = build_tables(&counts, alphabet, &full, m, 1);
            let events = coding_events(&measure.tokens, shape, &learned);
            let bytes = stream_bytes(&measure.tokens[..FRAME], &events, &full, &tables, m);
            let lists_same = (0..1024u16).all(|p| {
                let mine = learned.final_list(p, k);
                let model = &set.model[4 + 2 * k * p as usize..4 + 2 * k * (p as usize + 1)];
                mine.iter().zip(model.chunks_exact(2)).all(|(&t, b)| t == u16::from_le_bytes([b[0], b[1]]))
            });
            let blob_formula = footprint::blob_bytes(&footprint::TODAY, shape, 100, alphabet).unwrap();
            println!(
                "K={k} M={m} {} from {}: codec stream {} B, here {} B; tables {}; lists {}; blob {} B, formula {} B; \
                 rate {:.4}",
                measure.name,
                train.name,
                stream.len(),
                bytes,
                if tables == set.tables { "identical" } else { "DIFFER" },
                if lists_same { "identical" } else { "DIFFER" },
                blob.len(),
                blob_formula,
                rate(measure.tokens.len(), stream.len()),
            );
            assert_eq!(stream.len(), bytes);
            assert!(tables == set.tables && lists_same);
            assert_eq!(blob.len(), blob_formula);
        }
    }
    println!("validate: ok");
}

/// How skewed predecessors are, and where successors sit in the lists.
fn stats() {
    let [a, b] = real_segments();
    for (train, measure) in [(&b, &a), (&a, &b)] {
        let learned = Learned::new(&[&train.tokens]);
        // Token kinds (what the decoder's per-token path depends on) at some K.
        for k in [32usize, 48, 64, 96, 192] {
            let shape = ListShape::Uniform(k);
            let events = coding_events(&measure.tokens, shape, &learned);
            let escape = vqtans::model::context::classes::buckets_for(k).unwrap() + 4;
            let mut kinds = [0usize; 4];
            for e in &events {
                let c = e.class as usize;
                kinds[if c == 0 {
                    0
                } else if c < 4 {
                    1
                } else if c < escape {
                    2
                } else {
                    3
                }] += 1;
            }
            let n = events.len() as f64;
            println!(
                "{} K={k}: copy {:.1}%, own {:.1}%, successor {:.1}%, escape {:.1}% of {} tokens after frame 0",
                measure.name,
                100.0 * kinds[0] as f64 / n,
                100.0 * kinds[1] as f64 / n,
                100.0 * kinds[2] as f64 / n,
                100.0 * kinds[3] as f64 / n,
                events.len()
            );
        }
        // Changed tokens (not in the own list) by the training-frequency rank of p,
        // and by successor rank.
        let mut own = vqtans::model::context::own_lists::OwnLists::default();
        let (mut by_p, mut by_rank, mut n) = (vec![0u64; 1024], vec![0u64; model::KMAX + 1], 0u64);
        for (f, frame) in measure.tokens.chunks_exact(FRAME).enumerate() {
            for (pos, &x) in frame.iter().enumerate() {
                if f > 0 && own.rank_of(pos, x).is_none() {
                    let p = own.list(pos)[0];
                    by_p[learned.freq_rank[p as usize] as usize] += 1;
                    let r = learned.final_list(p, model::KMAX).iter().position(|&t| t == x).unwrap_or(model::KMAX);
                    by_rank[r] += 1;
                    n += 1;
                }
                own.push_front(pos, x);
            }
        }
        println!("{} (lists from {}): {n} tokens not in the own list", measure.name, train.name);
        let mut line = String::from("  share whose p is among the N most frequent predecessors:");
        for top in [64, 128, 256, 384, 512, 768] {
            let s: u64 = by_p[..top].iter().sum();
            line += &format!(" N={top}: {:.1}%", 100.0 * s as f64 / n as f64);
        }
        println!("{line}");
        let mut line = String::from("  share found in the first K list entries:");
        for k in KS {
            let s: u64 = by_rank[..k].iter().sum();
            line += &format!(" {k}: {:.1}%", 100.0 * s as f64 / n as f64);
        }
        println!("{line}");
        // Two-hop extension: ranks K.. of p are the first K2 entries of the lists of
        // p's first I successors (no storage; duplicates waste code space).
        for (k, i, k2) in
            [(16, 16, 8), (16, 16, 16), (32, 32, 8), (32, 32, 16), (32, 16, 32), (48, 48, 16), (64, 64, 16)]
        {
            let mut own = vqtans::model::context::own_lists::OwnLists::default();
            let (mut hit, mut first_new) = (0u64, 0u64);
            for (f, frame) in measure.tokens.chunks_exact(FRAME).enumerate() {
                for (pos, &x) in frame.iter().enumerate() {
                    if f > 0 && own.rank_of(pos, x).is_none() {
                        let p = own.list(pos)[0];
                        let list = learned.final_list(p, k);
                        if list.contains(&x) {
                            hit += 1;
                        } else if list[..i].iter().any(|&s| learned.final_list(s, k2).contains(&x)) {
                            hit += 1;
                            first_new += 1;
                        }
                    }
                    own.push_front(pos, x);
                }
            }
            let size = k + i * k2;
            let real: u64 = by_rank[..size.min(model::KMAX)].iter().sum();
            println!(
                "  two-hop K={k} + {i}x{k2} (virtual {size}): found {:.1}% ({:.1}% by the extension); a real list of {size}: {:.1}%",
                100.0 * hit as f64 / n as f64,
                100.0 * first_new as f64 / n as f64,
                100.0 * real as f64 / n as f64
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads = std::env::var("BUDGET_THREADS").ok().and_then(|t| t.parse().ok()).unwrap_or(2);
    match args.get(1).map(String::as_str).unwrap_or("all") {
        "validate" => validate(),
        "stats" => stats(),
        "sweep" => sweep(threads),
        "report" => report::write(&read_sweep(), &results_dir().join("report.md")),
        "all" => {
            validate();
            sweep(threads);
            report::write(&read_sweep(), &results_dir().join("report.md"));
        }
        other => {
            eprintln!("unknown command {other}: use all, validate, sweep, report or stats");
            std::process::exit(2);
        }
    }
}

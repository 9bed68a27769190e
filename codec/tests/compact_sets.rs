//! Table sets made small (context model section version 3, 16-bit decode entries,
//! 10-bit successor lists, context maps): they round-trip the real segments on every
//! decode path, their parts are checked on load, their footprint is what the
//! selection predicts, and the default set is still the version-2 set it was.

mod common;

use std::sync::OnceLock;
use vqtans::model::context::select::{blob_bytes, candidates, footprint_bound, KClassCounts, KMAX, KS};
use vqtans::model::context::train::{
    greedy_maps, train_in_memory, ClassCounts, SuccessorLists, TrainConfig, TransitionCounts,
};
use vqtans::model::context::{ContextModel, ListCoding, IDENTITY_MAP};
use vqtans::model::Model;
use vqtans::segment::{decode, Encoder};
use vqtans::simd::{decode_into_simd_report, decode_simd, DecodePath};
use vqtans::table_set::{OwnedDecodeTables, TableSet, TableSetRef};
use vqtans::tans::decode_table::{DecodeEntry, EntryWidth};
use vqtans::Error;

/// A config of 10-bit lists with `tables` tables.
fn packed(k: usize, state_log: u8, slot_floor: u16, tables: usize) -> TrainConfig {
    TrainConfig { k, state_log, slot_floor, tables, list_coding: ListCoding::Packed10, ..TrainConfig::default() }
}

/// The sets the tests use, trained on the whole mattseabrook segment: (config,
/// expected entry width).
fn configs() -> Vec<(TrainConfig, EntryWidth)> {
    vec![
        // The 128 KiB choice of research/budget.md: 16-bit entries, 12 tables.
        (packed(96, 8, 2, 12), EntryWidth::Short),
        // 32-bit entries with a context map.
        (packed(256, 10, 1, 24), EntryWidth::Wide),
        // One table per context, but 10-bit lists: version 3 with the identity map.
        (packed(48, 7, 1, 100), EntryWidth::Short),
        // u16 lists with a context map; one table.
        (TrainConfig { k: 64, state_log: 6, tables: 3, ..TrainConfig::default() }, EntryWidth::Short),
        (TrainConfig { k: 8, state_log: 9, tables: 1, ..TrainConfig::default() }, EntryWidth::Wide),
    ]
}

/// Blobs trained so far, by their config's debug form.
type Trained = std::sync::Mutex<Vec<(String, Vec<u8>)>>;

fn trained(config: &TrainConfig) -> Vec<u8> {
    static SETS: OnceLock<Trained> = OnceLock::new();
    let key = format!("{config:?}");
    let sets = SETS.get_or_init(Default::default);
    if let Some((_, blob)) = sets.lock().unwrap().iter().find(|(k, _)| *k == key) {
        return blob.clone();
    }
    let segs = common::real_segments();
    let blob = train_in_memory(&[&segs[1].1], config).unwrap().to_bytes().unwrap();
    sets.lock().unwrap().push((key, blob.clone()));
    blob
}

#[test]
fn compact_sets_round_trip_on_every_decode_path() {
    let segs = common::real_segments();
    let tokens = &segs[0].1;
    for (config, width) in configs() {
        let blob = trained(&config);
        let set = TableSetRef::from_bytes(&blob).unwrap();
        assert_eq!(set.entry_width(), width, "{config:?}");
        let v2 = config.list_coding == ListCoding::U16 && config.tables == 100;
        assert_eq!(set.model()[1], if v2 { 2 } else { 3 }, "{config:?}");
        let Model::Context(model) = Model::from_table_set(&set).unwrap() else { panic!("not a context model") };
        assert_eq!((model.k(), model.n_tables(), model.list_coding()), (config.k, config.tables, config.list_coding));
        assert_eq!(set.len(), config.tables);

        let tables = OwnedDecodeTables::new(&set).unwrap();
        let stream = Encoder::new(&set).unwrap().encode(tokens).unwrap();
        assert_eq!(&decode(&stream, &set, tables.view()).unwrap(), tokens, "{config:?}");
        assert_eq!(&decode_simd(&stream, &set, tables.view()).unwrap(), tokens, "{config:?}");
        let mut out = vec![0u16; tokens.len()];
        let (_, report) = decode_into_simd_report(&stream, &set, tables.view(), &mut out).unwrap();
        if DecodePath::best() != DecodePath::Scalar {
            // The AVX2 or NEON kernel decodes these sets too: all but the stream's tail.
            assert!(report.scalar_frames <= 16, "{config:?}: {report:?}");
        } else {
            assert_eq!(report.simd_frames, 0);
        }
        let rate = tokens.len() as f64 * 10.0 / (8.0 * stream.len() as f64);
        println!(
            "{config:?}: {width:?} entries, footprint {} B (blob {} + image {}), leave-one-out rate {rate:.4}, \
             {report:?}",
            set.device_footprint(),
            set.blob_len(),
            set.compiled_bytes()
        );
    }
}

#[test]
fn damaged_compact_streams_fail_the_same_on_every_path() {
    let segs = common::real_segments();
    let tokens = &segs[0].1[..200 * 128];
    for (config, _) in configs() {
        let blob = trained(&config);
        let set = TableSetRef::from_bytes(&blob).unwrap();
        let tables = OwnedDecodeTables::new(&set).unwrap();
        let stream = Encoder::new(&set).unwrap().encode(tokens).unwrap();
        for i in (40..stream.len()).step_by(stream.len() / 23) {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut damaged = stream.clone();
                damaged[i] ^= flip;
                let scalar = decode(&damaged, &set, tables.view());
                assert_eq!(scalar, decode_simd(&damaged, &set, tables.view()), "{config:?}: byte {i} ^ {flip:#x}");
                // Every damaged payload byte is an error, never tokens (right or
                // wrong). Which error depends on where the changed bits send the
                // decoder (an impossible symbol, a group whose tokens fail its
                // checksum, a payload that ends early or leaves bits over), so
                // the test accepts exactly the errors of payload damage.
                assert!(
                    matches!(
                        scalar,
                        Err(Error::ModelCorrupt
                            | Error::GroupChecksum { .. }
                            | Error::Truncated
                            | Error::PayloadCorrupt)
                    ),
                    "{config:?}: byte {i} ^ {flip:#x}: {:?}",
                    scalar.map(|t| t.len())
                );
            }
        }
    }
}

#[test]
fn entry_width_is_a_function_of_the_set() {
    // State log 8: 16-bit entries only if every class of every table has 2 slots.
    let floor1 = trained(&packed(96, 8, 1, 12));
    let set = TableSetRef::from_bytes(&floor1).unwrap();
    let smallest = set.tables().flat_map(|t| (0..t.alphabet()).map(move |s| t.count(s))).min().unwrap();
    let expect = if smallest >= 2 { EntryWidth::Short } else { EntryWidth::Wide };
    assert_eq!(set.entry_width(), expect);
    for (config, width) in configs() {
        let blob = trained(&config);
        let set = TableSetRef::from_bytes(&blob).unwrap();
        assert_eq!(set.entry_width(), width);
        assert_eq!(set.compiled_entries(), config.tables << config.state_log);
        assert_eq!(set.compiled_bytes(), set.compiled_entries() * width.bytes());
        assert_eq!(set.compiled_len() * 4, set.compiled_bytes());
        assert_eq!(set.device_footprint(), blob.len() + set.compiled_bytes());
        // The image a device stores is the entries' little-endian bytes.
        let tables = OwnedDecodeTables::new(&set).unwrap();
        let bytes = tables.image_le_bytes();
        assert_eq!(bytes.len(), set.compiled_bytes());
        let words: Vec<DecodeEntry> =
            bytes.chunks_exact(4).map(|b| DecodeEntry(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))).collect();
        set.verify_compiled(&words).unwrap();
    }
}

#[test]
fn short_images_are_verified_entry_by_entry() {
    let blob = trained(&packed(96, 8, 2, 12));
    let set = TableSetRef::from_bytes(&blob).unwrap();
    let mut words = vec![DecodeEntry(0); set.compiled_len()];
    let good = set.compile_into(&mut words).unwrap().words().to_vec();
    assert!(set.verify_compiled(&good).is_ok());
    assert_eq!(
        set.compile_into(&mut vec![DecodeEntry(0); set.compiled_len() - 1]).unwrap_err(),
        Error::BufferTooSmall { needed: set.compiled_len() }
    );
    for i in [0, 1, good.len() / 2, good.len() - 1] {
        for mask in [1u32, 0x8000, 0x1_0000, 0x8000_0000] {
            let mut bad = good.clone();
            bad[i].0 ^= mask;
            assert_eq!(set.verify_compiled(&bad).unwrap_err(), Error::CompiledTablesMismatch, "word {i} ^ {mask:#x}");
        }
    }
    assert_eq!(set.verify_compiled(&good[1..]).unwrap_err(), Error::CompiledTablesMismatch);
    // A 32-bit image of the same tables is not this set's image.
    let wide = vec![DecodeEntry(0); 2 * set.compiled_len()];
    assert_eq!(set.verify_compiled(&wide).unwrap_err(), Error::CompiledTablesMismatch);
}

/// The set of `config` with its model section changed by `change` (and the table
/// list by `tables`), as `to_bytes` would serialise it: the error loading refuses it
/// with.
fn altered(config: &TrainConfig, change: impl FnOnce(&mut Vec<u8>), tables: impl FnOnce(&mut TableSet)) -> Error {
    let segs = common::real_segments();
    let mut set = train_in_memory(&[&segs[1].1[..100 * 128]], config).unwrap();
    change(&mut set.model);
    tables(&mut set);
    set.to_bytes().unwrap_err()
}

#[test]
fn version_3_sections_are_checked_on_load() {
    let config = packed(16, 6, 1, 4);
    let none = |_: &mut TableSet| {};
    // Section: kind, version, K (2), coding, T, 100-byte map, lists.
    assert_eq!(altered(&config, |m| m[4] = 2, none), Error::TableSetInvalid, "unknown list coding");
    assert_eq!(altered(&config, |m| m[5] = 0, none), Error::TableSetInvalid, "no tables");
    assert_eq!(altered(&config, |m| m[5] = 101, none), Error::TableSetInvalid, "more than 100 tables");
    assert_eq!(altered(&config, |m| m[5] = 5, none), Error::TableSetInvalid, "T is not the number of tables");
    assert_eq!(altered(&config, |m| m[6 + 17] = 4, none), Error::TableSetInvalid, "map entry beyond T");
    assert_eq!(altered(&config, |m| m[6..106].fill(0), none), Error::TableSetInvalid, "tables without context");
    assert_eq!(altered(&config, |m| m[1] = 4, none), Error::UnknownModel, "version 4");
    assert_eq!(
        altered(
            &config,
            |m| {
                m.pop();
            },
            none
        ),
        Error::TableSetInvalid,
        "lists one byte short"
    );
    assert_eq!(altered(&config, |m| m.push(0), none), Error::TableSetInvalid, "lists one byte long");
    assert_eq!(altered(&config, |m| m.truncate(50), none), Error::TableSetInvalid, "map cut short");
    // A version-2 section (u16 lists of zeros) with fewer than 100 tables.
    let v2 = |m: &mut Vec<u8>| {
        *m = vec![1, 2, 16, 0];
        m.resize(4 + 2 * 1024 * 16, 0);
    };
    assert_eq!(altered(&config, v2, none), Error::TableSetInvalid, "version 2 needs 100 tables");
    // Tables of another alphabet.
    assert_eq!(
        altered(&config, |_| {}, |set| set.tables[0] = (6, vec![32; 2])),
        Error::TableSetInvalid,
        "wrong alphabet"
    );
}

#[test]
fn ten_bit_lists_hold_the_same_tokens_as_u16_lists() {
    let u16_set = trained(&TrainConfig { k: 64, state_log: 6, tables: 3, ..TrainConfig::default() });
    let packed_set = trained(&packed(64, 6, 1, 3));
    let a = TableSetRef::from_bytes(&u16_set).unwrap();
    let b = TableSetRef::from_bytes(&packed_set).unwrap();
    let (ma, mb) = (ContextModel::from_table_set(&a).unwrap(), ContextModel::from_table_set(&b).unwrap());
    assert_eq!(ma.context_map(), mb.context_map());
    assert_eq!(a.model().len() - b.model().len(), 1024 * 64 * 2 - 1280 * 64);
    for p in 0..1024u16 {
        for r in 0..64 {
            assert_eq!(ma.successor(p, r), mb.successor(p, r), "p {p} rank {r}");
        }
    }
    // Same tables: only the list coding differs.
    assert!(a.tables().zip(b.tables()).all(|(x, y)| x.log == y.log && x.counts_le == y.counts_le));
}

#[test]
fn the_default_set_keeps_its_version_2_section() {
    let segs = common::real_segments();
    let tokens = &segs[1].1[..300 * 128];
    let default = train_in_memory(&[tokens], &TrainConfig::default()).unwrap();
    assert_eq!(&default.model[..2], &[1, 2]);
    assert_eq!(default.model.len(), 4 + 2 * 1024 * 192);
    assert_eq!(default.tables.len(), 100);
    // One table per context with 10-bit lists: version 3, identity map, same tables.
    let packed100 = train_in_memory(&[tokens], &packed(192, 10, 1, 100)).unwrap();
    assert_eq!(&packed100.model[..2], &[1, 3]);
    assert_eq!(&packed100.model[6..106], &IDENTITY_MAP[..]);
    assert_eq!(packed100.tables, default.tables);
    let blob = packed100.to_bytes().unwrap();
    let set = TableSetRef::from_bytes(&blob).unwrap();
    assert!(ContextModel::from_table_set(&set).unwrap().is_identity_map());
}

#[test]
fn greedy_maps_merge_into_each_number_of_tables() {
    let segs = common::real_segments();
    let tokens = &segs[1].1[..300 * 128];
    let mut transitions = TransitionCounts::default();
    transitions.add_segment(tokens);
    let config = TrainConfig::default();
    let folds = vqtans::model::context::train::FoldLists::build(&transitions, &config).unwrap();
    let mut classes = ClassCounts::new(config.k).unwrap();
    classes.add_segment(&folds, tokens);
    let maps = greedy_maps(classes.counts(), classes.classes().alphabet());
    assert_eq!(maps.len(), 100);
    assert_eq!(maps[99], IDENTITY_MAP);
    for (i, map) in maps.iter().enumerate() {
        // Tables numbered 0.. in order of their first context: each new table is the
        // next number.
        let mut next = 0u8;
        for &t in map {
            assert!(t <= next, "{} tables: {map:?}", i + 1);
            next = next.max(t + 1);
        }
        assert_eq!(next as usize, i + 1);
    }
    // Merging only joins groups: contexts together at t tables stay together below.
    for t in 1..100 {
        for a in 0..100 {
            for b in 0..100 {
                if maps[t][a] == maps[t][b] {
                    assert_eq!(maps[t - 1][a], maps[t - 1][b]);
                }
            }
        }
    }
    // The identity map blends as the model always did.
    assert_eq!(classes.blended(60.0), classes.blended_mapped(60.0, &IDENTITY_MAP, 100));
}

#[test]
fn footprint_formula_is_exact() {
    let segs = common::real_segments();
    let tokens = &segs[1].1[..200 * 128];
    let all = candidates();
    // Every state log and floor, each with a short, middle and long list and 1, 12 or
    // 100 tables.
    let picked = all.iter().filter(|c| [(8, 1), (96, 12), (384, 100)].contains(&(c.k, c.tables)));
    for c in picked {
        let config = c.config();
        let blob = train_in_memory(&[tokens], &config).unwrap().to_bytes().unwrap();
        assert_eq!(blob_bytes(&config).unwrap(), blob.len(), "{c:?}");
        let set = TableSetRef::from_bytes(&blob).unwrap();
        assert!(set.device_footprint() <= footprint_bound(&config), "{c:?}");
        if c.state_log != 8 || c.slot_floor == 2 {
            assert_eq!(set.device_footprint(), footprint_bound(&config), "{c:?}");
        }
    }
    // And for the default (version-2) set: 397,534 + 409,600 bytes.
    assert_eq!(footprint_bound(&TrainConfig::default()), 397_534 + 409_600);
}

#[test]
fn counts_for_every_k_at_once_are_each_ks_counts() {
    let segs = common::real_segments();
    let (train, held) = (&segs[1].1[..300 * 128], &segs[0].1[..150 * 128]);
    let mut transitions = TransitionCounts::default();
    transitions.add_segment(train);
    let lists = SuccessorLists::build(&transitions.all(), KMAX, 1.0, 8.0).unwrap();
    let mut all = KClassCounts::default();
    all.add_sequence(held, |_, p, x| lists.rank(p, x));
    assert_eq!(all.tokens(), held.len() as u64);
    for k in KS {
        let short = lists.truncated(k).unwrap();
        let mut one = ClassCounts::new(k).unwrap();
        one.add_segment_ranked(held, |_, p, x| short.rank(p, x));
        assert_eq!(all.class_counts(k).unwrap(), one, "K = {k}");
        // The lists of a length are the first entries of the longest ones.
        let built = SuccessorLists::build(&transitions.all(), k, 1.0, 8.0).unwrap();
        assert!((0..1024).all(|p| built.list(p) == short.list(p)), "K = {k}");
    }
    // Raw bits: 10 per frame-0 token and escape, the bucket offsets of successors.
    assert!(all.raw_bits(8) > all.raw_bits(384));
}

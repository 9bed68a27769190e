//! Property tests of the tANS core: normalisation invariants, and exact round trips
//! of random symbol strings over random tables, with per-symbol table switching and
//! random interleaved states.

use proptest::prelude::*;
use vqtans::table_set::{encode_tables, OwnedDecodeTables, TableSet, TableSetRef};
use vqtans::tans::decoder::TansDecoder;
use vqtans::tans::encoder::{encode, Op};
use vqtans::tans::normalize::{choose_log, normalize};
use vqtans::Error;

fn histogram() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(prop_oneof![3 => Just(0u64), 5 => 0u64..5, 3 => 0u64..100_000], 1..=1024)
        .prop_filter("some count", |h| h.iter().any(|&c| c > 0))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn normalized_counts_sum_to_table_size(h in histogram(), log in 5u8..=15) {
        let used = h.iter().filter(|&&c| c > 0).count();
        match normalize(&h, log) {
            Ok(norm) => {
                prop_assert_eq!(norm.iter().map(|&n| n as u64).sum::<u64>(), 1u64 << log);
                for (&c, &n) in h.iter().zip(&norm) {
                    prop_assert_eq!(c > 0, n > 0, "used symbols and only they get slots");
                }
            }
            Err(e) => prop_assert_eq!(e, Error::TooManySymbols { used, slots: 1 << log }),
        }
    }

    #[test]
    fn random_strings_round_trip_with_table_switching(
        hists in prop::collection::vec(histogram(), 1..6),
        state_log in 10u8..=15,
        n_states in 1usize..=32,
        picks in prop::collection::vec((any::<u32>(), any::<u32>(), any::<u8>()), 0..3000),
    ) {
        // Tables of different logs (each no larger than the state log).
        let mut tables = Vec::new();
        for h in &hists {
            let max = state_log.min(12);
            let log = choose_log(h, max, 0.01).unwrap_or(max);
            let log = if h.iter().filter(|&&c| c > 0).count() > 1 << log { state_log } else { log };
            tables.push((log, normalize(h, log).unwrap()));
        }
        let set = TableSet { state_log, tables: tables.clone(), model: vec![] };
        let blob = set.to_bytes().unwrap();
        let set_ref = TableSetRef::from_bytes(&blob).unwrap();
        // Random symbols drawn among each table's coded symbols.
        let ops: Vec<Op> = picks.iter().map(|&(t, s, st)| {
            let t = t as usize % tables.len();
            let used: Vec<u16> = tables[t].1.iter().enumerate().filter(|(_, &n)| n > 0).map(|(i, _)| i as u16).collect();
            Op::Symbol { state: st % n_states as u8, table: t as u16, symbol: used[s as usize % used.len()] }
        }).collect();
        let payload = encode(&encode_tables(&set_ref), state_log, n_states, &ops).unwrap();
        let compiled = OwnedDecodeTables::new(&set_ref).unwrap();
        let view = compiled.view();
        let mut dec = TansDecoder::new(&payload, n_states, state_log).unwrap();
        for op in &ops {
            let Op::Symbol { state, table, symbol } = *op else { unreachable!() };
            prop_assert_eq!(dec.decode(state as usize, view.table(table as usize).unwrap()), symbol);
        }
        prop_assert_eq!(dec.finish(), Ok(()));
    }

    #[test]
    fn table_set_blobs_never_panic_when_damaged(h in histogram(), cut in any::<usize>(), flip in any::<(usize, u8)>()) {
        let log = 12u8.max(if h.iter().filter(|&&c| c > 0).count() > 4096 { 15 } else { 12 });
        let set = TableSet { state_log: log, tables: vec![(log, normalize(&h, log).unwrap())], model: vec![7] };
        let blob = set.to_bytes().unwrap();
        let cut = cut % blob.len();
        prop_assert!(TableSetRef::from_bytes(&blob[..cut]).is_err());
        let mut bad = blob.clone();
        bad[flip.0 % blob.len()] ^= flip.1 | 1;
        // The checksum catches every change of one byte.
        prop_assert_eq!(TableSetRef::from_bytes(&bad).unwrap_err(), vqtans::Error::TableSetDamaged);
    }
}

#[test]
fn zero_count_symbol_is_refused_by_the_encoder() {
    let set = TableSet {
        state_log: 5,
        tables: vec![(5, {
            let mut n = vec![0u16; 4];
            n[1] = 32;
            n
        })],
        model: vec![],
    };
    let blob = set.to_bytes().unwrap();
    let set_ref = TableSetRef::from_bytes(&blob).unwrap();
    let ops = [Op::Symbol { state: 0, table: 0, symbol: 2 }];
    assert_eq!(encode(&encode_tables(&set_ref), 5, 4, &ops), Err(Error::SymbolNotInTable { table: 0, symbol: 2 }));
}

#[test]
fn single_symbol_table_costs_no_bits() {
    let set = TableSet {
        state_log: 11,
        tables: vec![(5, {
            let mut n = vec![0u16; 3];
            n[2] = 32;
            n
        })],
        model: vec![],
    };
    let blob = set.to_bytes().unwrap();
    let set_ref = TableSetRef::from_bytes(&blob).unwrap();
    let ops = vec![Op::Symbol { state: 0, table: 0, symbol: 2 }; 10_000];
    let payload = encode(&encode_tables(&set_ref), 11, 1, &ops).unwrap();
    assert_eq!(payload.len(), 2, "only the initial state (11 bits) is stored");
}

#[test]
fn compiled_image_is_verified_against_its_set() {
    let h: Vec<u64> = (0..300).map(|i| (i * 37 % 101) as u64).collect();
    let set = TableSet {
        state_log: 12,
        tables: vec![(10, normalize(&h, 10).unwrap()), (12, normalize(&h, 12).unwrap())],
        model: vec![],
    };
    let blob = set.to_bytes().unwrap();
    let set_ref = TableSetRef::from_bytes(&blob).unwrap();
    let compiled = OwnedDecodeTables::new(&set_ref).unwrap();
    let mut words = compiled.view().words().to_vec();
    assert!(set_ref.verify_compiled(&words).is_ok());
    words[100].0 ^= 1 << 16;
    assert_eq!(set_ref.verify_compiled(&words).unwrap_err(), Error::CompiledTablesMismatch);
}

//! Damaged streams and bad inputs give the exact error, never a panic or wrong data.

mod common;

use vqtans::container::{HEADER_LEN, MAX_FRAMES};
use vqtans::model::order0::build_table_set;
use vqtans::segment::{decode, Encoder};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};
use vqtans::Error;

struct Fixture {
    blob: Vec<u8>,
    tokens: Vec<u16>,
    stream: Vec<u8>,
}

/// A real segment cut to 50 frames, coded with a table from the other segment.
fn fixture() -> Fixture {
    let segs = common::real_segments();
    let tokens = segs[0].1[..50 * 128].to_vec();
    let blob = build_table_set(&common::counts(&segs[1].1), 11).unwrap().to_bytes().unwrap();
    let set = TableSetRef::from_bytes(&blob).unwrap();
    let stream = Encoder::new(&set).unwrap().encode(&tokens).unwrap();
    Fixture { blob, tokens, stream }
}

fn try_decode(blob: &[u8], stream: &[u8]) -> Result<Vec<u16>, Error> {
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    decode(stream, &set, tables.view())
}

#[test]
fn intact_stream_decodes() {
    let f = fixture();
    assert_eq!(try_decode(&f.blob, &f.stream).unwrap(), f.tokens);
}

#[test]
fn other_tables_are_refused_by_id() {
    let f = fixture();
    let segs = common::real_segments();
    let other = build_table_set(&common::counts(&segs[0].1), 11).unwrap().to_bytes().unwrap();
    let err = try_decode(&other, &f.stream).unwrap_err();
    assert!(matches!(err, Error::TableSetMismatch { .. }), "{err:?}");
}

#[test]
fn truncation_anywhere_is_an_error() {
    let f = fixture();
    assert_eq!(try_decode(&f.blob, &[]), Err(Error::Truncated));
    assert_eq!(try_decode(&f.blob, &f.stream[..2]), Err(Error::Truncated));
    assert_eq!(try_decode(&f.blob, &f.stream[..HEADER_LEN - 1]), Err(Error::Truncated));
    for cut in [HEADER_LEN, HEADER_LEN + 1, f.stream.len() / 2, f.stream.len() - 1] {
        assert_eq!(try_decode(&f.blob, &f.stream[..cut]), Err(Error::Truncated), "cut at {cut}");
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let f = fixture();
    let mut s = f.stream.clone();
    s.push(0);
    assert_eq!(try_decode(&f.blob, &s), Err(Error::TrailingBytes));
}

#[test]
fn header_damage_is_named() {
    let f = fixture();
    let mut s = f.stream.clone();
    s[0] = b'X';
    assert_eq!(try_decode(&f.blob, &s), Err(Error::BadMagic));
    let mut s = f.stream.clone();
    s[4] = 9;
    assert_eq!(try_decode(&f.blob, &s), Err(Error::UnsupportedVersion { version: 9 }));
    for i in 5..HEADER_LEN {
        let mut s = f.stream.clone();
        s[i] ^= 0x10;
        assert_eq!(try_decode(&f.blob, &s), Err(Error::HeaderCorrupt), "byte {i}");
    }
}

#[test]
fn payload_damage_never_passes() {
    let f = fixture();
    let mut failures = 0;
    for i in (HEADER_LEN..f.stream.len()).step_by(7) {
        for bit in [0u8, 3, 7] {
            let mut s = f.stream.clone();
            s[i] ^= 1 << bit;
            match try_decode(&f.blob, &s) {
                Ok(tokens) => panic!("flip at byte {i} bit {bit} decoded Ok ({} tokens)", tokens.len()),
                Err(Error::PayloadCorrupt | Error::GroupChecksum { .. } | Error::Truncated | Error::ModelCorrupt) => {
                    failures += 1
                }
                Err(e) => panic!("unexpected error {e:?}"),
            }
        }
    }
    assert!(failures > 100);
}

#[test]
fn encoder_refuses_bad_tokens() {
    let f = fixture();
    let set = TableSetRef::from_bytes(&f.blob).unwrap();
    let enc = Encoder::new(&set).unwrap();
    let mut t = f.tokens.clone();
    t[300] = 1024;
    assert_eq!(enc.encode(&t), Err(Error::TokenOutOfRange { index: 300, value: 1024 }));
    assert_eq!(enc.encode(&f.tokens[..100]), Err(Error::TokenCount { count: 100 }));
    assert_eq!(enc.encode(&[]), Err(Error::TokenCount { count: 0 }));
    let too_many = vec![0u16; (MAX_FRAMES as usize + 1) * 128];
    assert_eq!(enc.encode(&too_many), Err(Error::TokenCount { count: too_many.len() }));
}

//! Arbitrary bytes as a table set: loading validates or refuses, never panics. The
//! bytes are tried as given (almost always refused by the set's checksum) and as the
//! postcard part of a set, with a matching checksum appended, so that the checks
//! behind the checksum are fuzzed too. A set that loads must compile and verify its
//! own image, decode arbitrary bytes without panicking, and, if its model is one this
//! build knows, code a small block of tokens ([`common::probe_tokens`]) and decode it
//! back exactly, on the scalar and the SIMD path (unless its tables cannot code a
//! symbol the tokens need: a table may give a symbol no share).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vqtans::segment::{decode, decode_simd, Encoder};
use vqtans::table_set::{with_checksum, OwnedDecodeTables, TableSetRef};
use vqtans::Error;

static TOKENS: OnceLock<Vec<u16>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    load(data);
    load(&with_checksum(data));
});

fn load(data: &[u8]) {
    let Ok(set) = TableSetRef::from_bytes(data) else { return };
    let tables = OwnedDecodeTables::new(&set).expect("a validated set compiles");
    set.verify_compiled(tables.view().words()).expect("its own image verifies");
    let _ = decode(&[0u8; 64], &set, tables.view());
    let encoder = match Encoder::new(&set) {
        Ok(encoder) => encoder,
        // Loading accepts model kinds this build does not know; nothing codes them.
        Err(Error::UnknownModel) => return,
        Err(e) => panic!("a set that loaded with a known model has no encoder: {e:?}"),
    };
    let tokens = TOKENS.get_or_init(common::probe_tokens);
    let stream = match encoder.encode(tokens) {
        Ok(stream) => stream,
        Err(Error::SymbolNotInTable { .. }) => return,
        Err(e) => panic!("encoding with a set that loaded failed: {e:?}"),
    };
    assert_eq!(decode(&stream, &set, tables.view()).as_ref(), Ok(tokens), "scalar round trip");
    assert_eq!(decode_simd(&stream, &set, tables.view()).as_ref(), Ok(tokens), "SIMD round trip");
}

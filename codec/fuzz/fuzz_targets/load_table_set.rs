//! Arbitrary bytes as a table set: loading validates or refuses, never panics; a set
//! that loads must compile and verify, and decoding a small stream with it must end.
//! The bytes are tried as given (almost always refused by the set's checksum) and as
//! the postcard part of a set, with a matching checksum appended, so that the checks
//! behind the checksum are fuzzed too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vqtans::table_set::{with_checksum, OwnedDecodeTables, TableSetRef};

fuzz_target!(|data: &[u8]| {
    load(data);
    load(&with_checksum(data));
});

fn load(data: &[u8]) {
    let Ok(set) = TableSetRef::from_bytes(data) else { return };
    let tables = OwnedDecodeTables::new(&set).expect("a validated set compiles");
    set.verify_compiled(tables.view().words()).expect("its own image verifies");
    let _ = vqtans::segment::decode(&[0u8; 64], &set, tables.view());
}

//! Arbitrary bytes as a table set: loading validates or refuses, never panics; a set
//! that loads must compile and verify, and decoding a small stream with it must end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};

fuzz_target!(|data: &[u8]| {
    let Ok(set) = TableSetRef::from_bytes(data) else { return };
    let tables = OwnedDecodeTables::new(&set).expect("a validated set compiles");
    set.verify_compiled(tables.view().words()).expect("its own image verifies");
    let _ = vqtans::segment::decode(&[0u8; 64], &set, tables.view());
});

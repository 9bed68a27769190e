//! Table sets the fuzz targets decode with: built deterministically, no files needed.

use vqtans::table_set::{OwnedDecodeTables, TableSetRef};

/// A fixed order-0 table set with a skewed distribution (some symbols cost 1-2 bits,
/// others the maximum), so random payloads exercise every code length.
pub fn order0_blob() -> Vec<u8> {
    let counts: Vec<u64> = (0..1024u64).map(|i| if i < 8 { 50_000 >> i } else { (i * 7919) % 13 }).collect();
    vqtans::model::order0::build_table_set(&counts, 11).unwrap().to_bytes().unwrap()
}

/// Decodes `stream` with `blob`; returns the tokens if it decoded and verified.
pub fn decode(blob: &[u8], stream: &[u8]) -> Option<Vec<u16>> {
    let set = TableSetRef::from_bytes(blob).ok()?;
    let tables = OwnedDecodeTables::new(&set).ok()?;
    vqtans::segment::decode(stream, &set, tables.view()).ok()
}

//! Streams of container format version 1 (written by earlier builds, see
//! `tests/data/README.md`) still decode, token for token, on every host path.

mod common;

use vqtans::segment::{decode, decode_into, decode_simd, SegmentDecoder};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};
use vqtans::Error;

const TABLES: &[u8] = include_bytes!("data/v1-k4.vqtt");
const STREAM: &[u8] = include_bytes!("data/v1-commaai-50.vqt");
const FRAMES: usize = 50;

/// Frames 0..50 of the commaai segment: what the fixture stream holds.
fn expected() -> Vec<u16> {
    common::real_segments()[0].1[..FRAMES * 128].to_vec()
}

#[test]
fn version_1_stream_decodes_on_every_path() {
    let set = TableSetRef::from_bytes(TABLES).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    let want = expected();
    assert_eq!(decode(STREAM, &set, tables.view()).unwrap(), want);
    assert_eq!(decode_simd(STREAM, &set, tables.view()).unwrap(), want);
    let mut out = vec![0u16; want.len()];
    assert_eq!(decode_into(STREAM, &set, tables.view(), &mut out), Ok(want.len()));
    assert_eq!(out, want);

    let mut decoder = SegmentDecoder::new(STREAM, &set, tables.view()).unwrap();
    let mut frame = [0u16; 128];
    for f in 0..FRAMES {
        decoder.next_frame(&mut frame).unwrap();
        assert_eq!(&frame[..], &want[f * 128..(f + 1) * 128], "frame {f}");
    }
    assert_eq!(decoder.next_frame(&mut frame), Err(Error::EndOfStream));
    decoder.finish().unwrap();
}

#[test]
fn damaged_version_1_stream_is_refused() {
    let set = TableSetRef::from_bytes(TABLES).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    let mut s = STREAM.to_vec();
    let mid = 32 + (s.len() - 32) / 2;
    s[mid] ^= 0x10;
    let scalar = decode(&s, &set, tables.view());
    assert!(scalar.is_err(), "{scalar:?}");
    assert_eq!(decode_simd(&s, &set, tables.view()), scalar);
}

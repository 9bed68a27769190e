//! Container format 3: the frames cut into independent sections. What it costs on
//! the real segments (leave-one-out), that each section is exactly a format-2 stream
//! of its frames, that every decoder gives the same tokens for any number of
//! sections, and that damaged headers and section tables are refused with the same
//! error on every path.

mod common;

use std::num::NonZeroU16;
use vqtans::container::{Check, Header, Sections, DEFAULT_SECTIONS, HEADER_LEN, MAX_SECTIONS};
use vqtans::segment::{decode, EncodeOptions, Encoder, SegmentDecoder};
use vqtans::simd::{decode_into_with, kernel_paths, DecodePath};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};
use vqtans::Error;

/// The real segments, each with leave-one-out tables.
fn real() -> &'static [common::Real] {
    common::real_leave_one_out()
}

fn options(group_frames: u16, sections: u8) -> EncodeOptions {
    EncodeOptions { group_frames: NonZeroU16::new(group_frames).unwrap(), sections, ..EncodeOptions::default() }
}

fn encode_with(blob: &[u8], tokens: &[u16], options: EncodeOptions) -> Vec<u8> {
    let set = TableSetRef::from_bytes(blob).unwrap();
    Encoder::with_options(&set, options).unwrap().encode(tokens).unwrap()
}

/// The result of every decoder on `stream`: the whole-stream decoder, the frame-by-
/// frame one (with the frames it verified) and every SIMD kernel this CPU has; panics
/// if they differ.
fn every_decoder(blob: &[u8], stream: &[u8]) -> Result<Vec<u16>, Error> {
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    let whole = decode(stream, &set, tables.view());
    let frames = Header::parse(stream).map(|(h, _)| h.frames as usize).unwrap_or(1);
    let mut out = vec![0u16; frames * 128];
    for path in kernel_paths().into_iter().chain([DecodePath::Scalar]) {
        let r = decode_into_with(path, stream, &set, tables.view(), &mut out).map(|n| out[..n].to_vec());
        assert_eq!(whole, r, "{path:?}");
    }
    if let Ok(mut d) = SegmentDecoder::new(stream, &set, tables.view()) {
        let (tokens, result) = common::frames_then_finish(&mut d);
        assert_eq!(whole, result.map(|()| tokens), "frame by frame");
    }
    whole
}

#[test]
fn two_sections_cost_at_most_0_3_percent_leave_one_out() {
    for (name, tokens, blob) in real() {
        let one = encode_with(blob, tokens, options(20, 1));
        let two = encode_with(blob, tokens, EncodeOptions::default());
        let (header, _) = Header::parse(&two).unwrap();
        assert_eq!(header.check, Check::Sections { group_frames: 20, sections: DEFAULT_SECTIONS });
        assert_eq!((two[4], header.section_frames(), header.section_range(1)), (3, 600, 600..1200));
        let cost = two.len() as f64 / one.len() as f64 - 1.0;
        let rate = |s: &[u8]| tokens.len() as f64 * 10.0 / (s.len() as f64 * 8.0);
        println!(
            "{name}: 1 section {} B (rate {:.4}), 2 sections {} B (rate {:.4}): +{:.3}%",
            one.len(),
            rate(&one),
            two.len(),
            rate(&two),
            100.0 * cost
        );
        assert!(cost > 0.0 && cost < 0.003, "{name}: {cost}");
        assert_eq!(&every_decoder(blob, &two).unwrap(), tokens, "{name}");
    }
}

/// Each section is coded on its own: its bytes are exactly the payload of a format-2
/// stream of its frames alone, and the section table gives their lengths.
#[test]
fn each_section_is_a_format_2_payload_of_its_frames() {
    let (_, tokens, blob) = &real()[1];
    let tokens = &tokens[..230 * 128];
    for (g, sections) in [(20u16, 2u8), (20, 3), (20, 4), (7, 4), (1, 2), (100, 2)] {
        let stream = encode_with(blob, tokens, options(g, sections));
        let (header, payload) = Header::parse(&stream).unwrap();
        assert_eq!(header.sections(), u32::from(sections), "G {g}");
        let table = Sections::parse(&header, payload).unwrap();
        assert_eq!(table.range(0).start, 4 * (usize::from(sections) - 1));
        assert_eq!(table.range(u32::from(sections) - 1).end, payload.len());
        let mut frames = 0;
        for s in 0..header.sections() {
            let range = header.section_range(s);
            assert_eq!(range.start, frames, "sections follow each other");
            assert!(!range.is_empty() && (range.start % u32::from(g) == 0), "G {g} section {s}: {range:?}");
            frames = range.end;
            let alone = encode_with(blob, &tokens[range.start as usize * 128..range.end as usize * 128], options(g, 1));
            assert_eq!(&payload[table.range(s)], &alone[HEADER_LEN..], "G {g}, {sections} sections: section {s}");
        }
        assert_eq!(frames, 230);
        assert_eq!(&every_decoder(blob, &stream).unwrap(), tokens, "G {g}, {sections} sections");
    }
}

/// Fewer sections than asked where the groups do not allow more (every section whole
/// groups, none empty), format 2 for one group.
#[test]
fn sections_follow_the_groups() {
    let (_, tokens, blob) = &real()[0];
    for (frames, g, asked, want) in
        [(1usize, 20u16, 2u8, 1u32), (20, 20, 2, 1), (21, 20, 2, 2), (40, 20, 4, 2), (60, 20, 4, 3), (80, 20, 4, 4)]
    {
        let t = &tokens[..frames * 128];
        let stream = encode_with(blob, t, options(g, asked));
        let (header, _) = Header::parse(&stream).unwrap();
        assert_eq!(header.sections(), want, "{frames} frames, G {g}, {asked} asked");
        assert_eq!(stream[4], if want == 1 { 2 } else { 3 });
        assert_eq!(&every_decoder(blob, &stream).unwrap(), t);
    }
    // More than MAX_SECTIONS asked: MAX_SECTIONS.
    let stream = encode_with(blob, &tokens[..400 * 128], options(20, MAX_SECTIONS + 3));
    assert_eq!(Header::parse(&stream).unwrap().0.sections(), u32::from(MAX_SECTIONS));
}

#[test]
fn damaged_format_3_headers_and_section_tables_are_refused_on_every_path() {
    let (_, tokens, blob) = &real()[0];
    let tokens = &tokens[..100 * 128];
    let stream = encode_with(blob, tokens, options(20, 3));
    let header = Header::parse(&stream).unwrap().0;
    let remade = |edit: &dyn Fn(&mut [u8])| {
        let mut s = stream.clone();
        let mut h = header.to_bytes();
        edit(&mut h);
        // A header with a valid checksum over the edited bytes.
        let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&h[..28]);
        h[28..32].copy_from_slice(&crc.to_le_bytes());
        s[..HEADER_LEN].copy_from_slice(&h);
        s
    };
    for (what, s) in [
        ("0 sections", remade(&|h| h[26] = 0)),
        ("1 section", remade(&|h| h[26] = 1)),
        ("more than MAX_SECTIONS", remade(&|h| h[26] = MAX_SECTIONS + 1)),
        ("an empty section (5 groups in 4)", remade(&|h| h[26] = 4)),
        ("reserved byte 27", remade(&|h| h[27] = 1)),
        ("group size 0", remade(&|h| h[24..26].copy_from_slice(&[0, 0]))),
    ] {
        assert_eq!(every_decoder(blob, &s), Err(Error::HeaderCorrupt), "{what}");
    }
    // The section table: a length of 0, one reaching past the payload, lengths that
    // leave the last section empty, each a damaged payload.
    let payload_len = stream.len() - HEADER_LEN;
    for (what, at, value) in [
        ("section 0 empty", 0usize, 0u32),
        ("section 1 empty", 4, 0),
        ("past the payload", 0, u32::MAX),
        ("last section empty", 4, (payload_len - 8) as u32 - u32::from_le_bytes(stream[32..36].try_into().unwrap())),
    ] {
        let mut s = stream.clone();
        s[HEADER_LEN + at..HEADER_LEN + at + 4].copy_from_slice(&value.to_le_bytes());
        assert_eq!(every_decoder(blob, &s), Err(Error::PayloadCorrupt), "{what}");
    }
    // A length one off: the sections no longer end where the table says.
    for delta in [-1i64, 1] {
        let mut s = stream.clone();
        let len = u32::from_le_bytes(s[32..36].try_into().unwrap()) as i64 + delta;
        s[32..36].copy_from_slice(&(len as u32).to_le_bytes());
        assert!(every_decoder(blob, &s).is_err(), "section 0 length {delta:+}");
    }
    // A payload shorter than the table: cut short, in group 0.
    let cut = remade(&|h| h[20..24].copy_from_slice(&3u32.to_le_bytes()));
    let cut = &cut[..HEADER_LEN + 3];
    assert_eq!(every_decoder(blob, cut), Err(Error::Truncated));
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    let mut d = SegmentDecoder::new(cut, &set, tables.view()).unwrap();
    assert_eq!(d.next_frame(&mut [0u16; 128]), Err(Error::Truncated));
    assert_eq!((d.current_group(), d.verified_frames()), (0, 0));
}

/// A damaged section fails where the frame-by-frame decoder says, and the sections
/// before it stay verified: damage in section 1 leaves all of section 0's frames
/// verified.
#[test]
fn damage_in_a_later_section_leaves_the_earlier_ones_verified() {
    let (_, tokens, blob) = &real()[1];
    let tokens = &tokens[..200 * 128];
    let stream = encode_with(blob, tokens, options(20, 2));
    let (header, payload) = Header::parse(&stream).unwrap();
    let table = Sections::parse(&header, payload).unwrap();
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    let section_1 = table.range(1);
    let mut errors = 0;
    for at in (section_1.start + 20..section_1.end).step_by(97) {
        let mut s = stream.clone();
        s[HEADER_LEN + at] ^= 0x10;
        let Err(e) = every_decoder(blob, &s) else { continue };
        errors += 1;
        let mut d = SegmentDecoder::new(&s, &set, tables.view()).unwrap();
        let mut frame = [0u16; 128];
        while d.next_frame(&mut frame).is_ok() {}
        assert!(d.verified_frames() >= 100, "{e:?} at {at}: {} verified", d.verified_frames());
        assert!(d.current_group() >= 5, "{e:?} at {at}: group {}", d.current_group());
    }
    assert!(errors > 10, "{errors}");
}

//! Container format 2: group checksums. Their layout (the running CRC-32 after every
//! group), their cost on the real segments, and what decoders make of them: a damaged
//! group is named, the groups before it are verified, nothing after it is.

mod common;

use std::num::NonZeroU16;
use vqtans::container::{tokens_crc, Check, Header, HEADER_LEN};
use vqtans::model::Model;
use vqtans::segment::{decode, decode_simd, EncodeOptions, Encoder, SegmentDecoder};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};
use vqtans::tans::decoder::TansDecoder;
use vqtans::Error;

/// The real segments, each with leave-one-out tables.
fn real() -> &'static [common::Real] {
    common::real_leave_one_out()
}

/// Container format 2 (one section) with groups of `group_frames` frames: what these
/// tests check (format 3 cuts the frames into sections: `codec/tests/sections.rs`).
fn options(group_frames: u16) -> EncodeOptions {
    EncodeOptions { group_frames: NonZeroU16::new(group_frames).unwrap(), sections: 1, ..EncodeOptions::default() }
}

fn encode_with(blob: &[u8], tokens: &[u16], options: EncodeOptions) -> Vec<u8> {
    let set = TableSetRef::from_bytes(blob).unwrap();
    Encoder::with_options(&set, options).unwrap().encode(tokens).unwrap()
}

/// Where each group's bits end in the payload (after its checksum), from an intact
/// stream.
fn group_ends(blob: &[u8], stream: &[u8]) -> Vec<usize> {
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    let mut d = SegmentDecoder::new(stream, &set, tables.view()).unwrap();
    let g = d.header().group_frames();
    let mut ends = Vec::new();
    let mut frame = [0u16; 128];
    for f in 0..d.header().frames {
        d.next_frame(&mut frame).unwrap();
        if (f + 1) % g == 0 || f + 1 == d.header().frames {
            ends.push(d.consumed_bits());
        }
    }
    d.finish().unwrap();
    ends
}

#[test]
fn group_checksums_cost_at_most_0_3_percent_at_20_frames() {
    println!("segment: format-1 bytes; format-2 bytes and cost for G = 5, 20, 60");
    for (name, tokens, blob) in real() {
        let v1 = encode_with(blob, tokens, EncodeOptions { version_1: true, ..EncodeOptions::default() });
        let mut line = format!("{name}: {} B", v1.len());
        for g in [5u16, 20, 60] {
            let v2 = encode_with(blob, tokens, options(g));
            let groups = tokens.len().div_ceil(128 * g as usize);
            // 4 bytes per group, give or take the last byte's padding.
            assert!((v2.len() as i64 - v1.len() as i64 - 4 * groups as i64).abs() <= 1, "G {g}");
            let cost = (v2.len() - v1.len()) as f64 / v1.len() as f64;
            let rate = tokens.len() as f64 * 10.0 / (v2.len() as f64 * 8.0);
            line +=
                &format!("; G {g}: {} B, +{} B = {:.3}%, rate {rate:.3}", v2.len(), v2.len() - v1.len(), 100.0 * cost);
            if g == 20 {
                assert!(cost <= 0.003, "{name}: group checksums at G = 20 cost {:.3}%", 100.0 * cost);
            }
        }
        println!("{line}");
    }
}

#[test]
fn each_group_check_is_the_running_crc_of_the_tokens_so_far() {
    // Decoded by hand, following codec/FORMAT.md: frames of a group, then 2 x 16 raw
    // bits (low half first) holding the CRC-32 of every token from frame 0 on.
    let (_, tokens, blob) = &real()[0];
    let tokens = &tokens[..47 * 128];
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    for g in [1usize, 5, 20, 47, 100] {
        let stream = encode_with(blob, tokens, options(g as u16));
        let (header, payload) = Header::parse(&stream).unwrap();
        assert_eq!(header.check, Check::Groups { group_frames: g as u16 });
        assert_eq!(stream[4], 2, "container format 2");
        assert_eq!(&stream[24..28], &[g as u8, (g >> 8) as u8, 0, 0]);
        let model = Model::from_table_set(&set).unwrap();
        let mut coder = TansDecoder::new(payload, model.n_states(), set.state_log()).unwrap();
        let mut state = model.decoder_state();
        let mut frame = [0u16; 128];
        for f in 0..47 {
            state.decode_frame(&mut coder, &tables.view(), &mut frame).unwrap();
            assert_eq!(&frame[..], &tokens[f * 128..(f + 1) * 128]);
            if (f + 1) % g == 0 || f + 1 == 47 {
                let low = coder.read_raw(16) as u32;
                let high = coder.read_raw(16) as u32;
                assert_eq!(low | high << 16, tokens_crc(&tokens[..(f + 1) * 128]), "G {g}, after frame {f}");
            }
        }
        coder.finish().unwrap();
    }
    // The last group's checksum is format 1's whole-stream checksum.
    let v1 = encode_with(blob, tokens, EncodeOptions { version_1: true, ..EncodeOptions::default() });
    let (h1, _) = Header::parse(&v1).unwrap();
    assert_eq!(h1.check, Check::WholeStream { tokens_crc: tokens_crc(tokens) });
    assert_eq!(v1[4], 1);
}

#[test]
fn damaged_format_2_headers_are_refused() {
    let (_, tokens, blob) = &real()[0];
    let stream = encode_with(blob, &tokens[..30 * 128], options(20));
    let remade = |edit: &dyn Fn(&mut [u8])| {
        let mut s = stream.clone();
        edit(&mut s[..HEADER_LEN]);
        let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&s[..28]);
        s[28..32].copy_from_slice(&crc.to_le_bytes());
        s
    };
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    for (what, s) in [
        ("reserved byte 26", remade(&|h| h[26] = 1)),
        ("reserved byte 27", remade(&|h| h[27] = 0x80)),
        ("group size 0", remade(&|h| h[24..26].copy_from_slice(&[0, 0]))),
    ] {
        assert_eq!(decode(&s, &set, tables.view()), Err(Error::HeaderCorrupt), "{what}");
        assert_eq!(Header::from_bytes(s[..HEADER_LEN].try_into().unwrap()), Err(Error::HeaderCorrupt), "{what}");
    }
    // Any group size 1..=65535 is valid, also beyond the frame count.
    let s = remade(&|h| h[24..26].copy_from_slice(&[0xFF, 0xFF]));
    assert_eq!(Header::parse(&s).unwrap().0.check, Check::Groups { group_frames: 65535 });
}

#[test]
fn every_group_size_round_trips_on_every_path() {
    let (_, tokens, blob) = &real()[1];
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    for frames in [1usize, 2, 19, 20, 21, 61] {
        for g in [1u16, 2, 7, 20, 60, 61, 65535] {
            let t = &tokens[..frames * 128];
            let stream = encode_with(blob, t, options(g));
            assert_eq!(&decode(&stream, &set, tables.view()).unwrap(), t, "{frames} frames, G {g}");
            assert_eq!(&decode_simd(&stream, &set, tables.view()).unwrap(), t, "{frames} frames, G {g}");
        }
    }
}

/// Decodes `stream` frame by frame; the frames decoded before the first error, the
/// error (of `next_frame` or `finish`), the group it names and the verified frames.
fn frame_by_frame(blob: &[u8], stream: &[u8]) -> (Vec<u16>, Result<(), Error>, u32, u32) {
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    let mut d = SegmentDecoder::new(stream, &set, tables.view()).unwrap();
    let mut out = Vec::new();
    let mut frame = [0u16; 128];
    let mut result = Ok(());
    for _ in 0..d.header().frames {
        let before = d.verified_frames();
        if let Err(e) = d.next_frame(&mut frame) {
            // After an error the decoder only repeats it.
            assert_eq!(d.next_frame(&mut frame), Err(e));
            assert_eq!(d.verified_frames(), before);
            result = Err(e);
            break;
        }
        out.extend_from_slice(&frame);
    }
    if result.is_ok() {
        result = d.finish();
    }
    (out, result, d.current_group(), d.verified_frames())
}

#[test]
fn a_damaged_group_is_named_and_the_groups_before_it_are_verified() {
    let (_, tokens, blob) = &real()[0];
    let tokens = &tokens[..200 * 128];
    let stream = encode_with(blob, tokens, options(20));
    let ends = group_ends(blob, &stream);
    assert_eq!(ends.len(), 10);
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    for k in 0..10 {
        let start = if k == 0 { 0 } else { ends[k - 1] };
        // A byte well inside the group's bits (not its checksum).
        let byte = HEADER_LEN + (start + (ends[k] - 32 - start) / 2) / 8;
        for bit in [0u8, 5] {
            let mut s = stream.clone();
            s[byte] ^= 1 << bit;
            let (out, result, group, verified) = frame_by_frame(blob, &s);
            let err = result.unwrap_err();
            assert!(
                matches!(err, Error::GroupChecksum { group } if group == k as u32)
                    || matches!(err, Error::ModelCorrupt | Error::Truncated | Error::PayloadCorrupt),
                "group {k}: {err:?}"
            );
            assert_eq!(group, k as u32, "group {k}: {err:?}");
            assert_eq!(verified, 20 * k as u32);
            assert!(out.len() >= verified as usize * 128);
            assert_eq!(&out[..verified as usize * 128], &tokens[..verified as usize * 128]);
            // The whole-stream decoders give the same error.
            assert_eq!(decode(&s, &set, tables.view()), Err(err));
            assert_eq!(decode_simd(&s, &set, tables.view()), Err(err));
        }
    }
    // Damage in a group's checksum is that group's failure too.
    let mut s = stream.clone();
    s[HEADER_LEN + (ends[4] - 16) / 8] ^= 0x04;
    let (_, result, group, verified) = frame_by_frame(blob, &s);
    assert_eq!((result, group, verified), (Err(Error::GroupChecksum { group: 4 }), 4, 80));
}

#[test]
fn the_last_group_is_verified_with_the_end_of_the_payload() {
    let (_, tokens, blob) = &real()[0];
    let tokens = &tokens[..50 * 128];
    let stream = encode_with(blob, tokens, options(20));
    // Intact: every frame verified after finish.
    let (out, result, _, verified) = frame_by_frame(blob, &stream);
    assert_eq!((&out[..], result, verified), (tokens, Ok(()), 50));
    // Zero bytes after the payload (header re-made to include them): every group
    // checksum matches, the end of the payload does not.
    let mut s = stream.clone();
    s.extend([0u8; 3]);
    let mut h = Header::parse(&stream).unwrap().0;
    h.payload_len += 3;
    s[..HEADER_LEN].copy_from_slice(&h.to_bytes());
    let (out, result, group, verified) = frame_by_frame(blob, &s);
    assert_eq!((&out[..], result, group, verified), (tokens, Err(Error::PayloadCorrupt), 2, 40));
    // The payload cut inside the last checksum: truncated, in the last group.
    let mut s = stream[..stream.len() - 2].to_vec();
    h.payload_len = (s.len() - HEADER_LEN) as u32;
    s[..HEADER_LEN].copy_from_slice(&h.to_bytes());
    let (_, result, group, verified) = frame_by_frame(blob, &s);
    assert_eq!((result, group, verified), (Err(Error::Truncated), 2, 40));
}

#[test]
fn a_format_1_stream_is_one_group() {
    let (_, tokens, blob) = &real()[0];
    let tokens = &tokens[..30 * 128];
    let v1 = EncodeOptions { version_1: true, ..EncodeOptions::default() };
    let stream = encode_with(blob, tokens, v1);
    let (out, result, group, verified) = frame_by_frame(blob, &stream);
    assert_eq!((&out[..], result, group, verified), (tokens, Ok(()), 0, 30));
    let mut s = stream.clone();
    s[HEADER_LEN + 2000] ^= 0x10;
    let (_, result, group, verified) = frame_by_frame(blob, &s);
    assert!(result.is_err());
    assert_eq!((group, verified), (0, 0));
}

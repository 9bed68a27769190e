//! The streaming decoder (`vqtans::stream`): streams pulled through a reader that
//! hands out small random-sized chunks decode byte-exactly, groups are handed out
//! only once verified, and every damage gives the error and group the frame-by-frame
//! decoder gives, with nothing handed out from the failing group on.

mod common;

use std::num::NonZeroU16;
use vqtans::container::{Header, HEADER_LEN};
use vqtans::segment::{EncodeOptions, Encoder, SegmentDecoder};
use vqtans::stream::{read_header, Frame, StreamDecoder, StreamError, INPUT_BYTES};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};
use vqtans::Error;

/// The real segments, each with leave-one-out tables.
fn real() -> &'static [common::Real] {
    common::real_leave_one_out()
}

/// The reader's error: the link went silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timeout;

impl embedded_io::Error for Timeout {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::TimedOut
    }
}

/// A link: hands out `bytes` in random chunks of 1..=`max_chunk` bytes, then either
/// ends (reads return 0) or times out.
struct Link<'a> {
    bytes: &'a [u8],
    pos: usize,
    rng: u64,
    max_chunk: usize,
    time_out_at_end: bool,
}

impl<'a> Link<'a> {
    fn new(bytes: &'a [u8], seed: u64, max_chunk: usize) -> Self {
        Link { bytes, pos: 0, rng: seed | 1, max_chunk, time_out_at_end: false }
    }
}

impl embedded_io::ErrorType for Link<'_> {
    type Error = Timeout;
}

impl embedded_io::Read for Link<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Timeout> {
        if self.pos == self.bytes.len() && self.time_out_at_end {
            return Err(Timeout);
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let n = (1 + self.rng as usize % self.max_chunk).min(buf.len()).min(self.bytes.len() - self.pos);
        buf[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// What streaming one stream gave: the verified frames handed out (as tokens), and
/// the error that stopped it, if any.
#[derive(PartialEq, Eq)]
struct Streamed {
    tokens: Vec<u16>,
    error: Option<StreamError<Timeout>>,
}

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let crc = vqtans::container::tokens_crc(&self.tokens);
        write!(f, "{} frames (CRC {crc:08x}), error {:?}", self.tokens.len() / 128, self.error)
    }
}

/// Streams one stream from `link` with `set`, holding `held` frames per group.
fn stream_one(link: &mut Link<'_>, blob: &[u8], held: usize) -> Streamed {
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    let mut frames: Vec<Frame> = vec![[0; 128]; held];
    let mut tokens = Vec::new();
    let header = match read_header(link) {
        Ok(h) => h,
        Err(e) => return Streamed { tokens, error: Some(e) },
    };
    let mut decoder = match StreamDecoder::new(header, &set, tables.view(), &mut frames) {
        Ok(d) => d,
        Err(error) => return Streamed { tokens, error: Some(StreamError::Codec { error, group: None }) },
    };
    let mut expect_group = 0;
    loop {
        match decoder.next_group(link) {
            Ok(Some(group)) => {
                assert_eq!(group.index, expect_group);
                assert_eq!(group.first_frame as usize, tokens.len() / 128);
                expect_group += 1;
                for f in group.frames {
                    tokens.extend_from_slice(f);
                }
                assert_eq!(decoder.verified_frames() as usize, tokens.len() / 128);
            }
            Ok(None) => return Streamed { tokens, error: None },
            Err(e) => {
                // Nothing more after a failure.
                assert!(matches!(decoder.next_group(link), Err(StreamError::Stopped)));
                return Streamed { tokens, error: Some(e) };
            }
        }
    }
}

/// What the frame-by-frame decoder says of a whole stream in memory, in the
/// streaming decoder's terms: the verified frames, and the error with its group.
fn reference(blob: &[u8], stream: &[u8]) -> Streamed {
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    let mut d = match SegmentDecoder::new(stream, &set, tables.view()) {
        Ok(d) => d,
        Err(error) => return Streamed { tokens: vec![], error: Some(StreamError::Codec { error, group: None }) },
    };
    let (mut all, result) = common::frames_then_finish(&mut d);
    all.truncate(d.verified_frames() as usize * 128);
    Streamed {
        tokens: all,
        error: result.err().map(|error| StreamError::Codec { error, group: Some(d.current_group()) }),
    }
}

fn encode(blob: &[u8], tokens: &[u16], group_frames: u16) -> Vec<u8> {
    let set = TableSetRef::from_bytes(blob).unwrap();
    let options = EncodeOptions { group_frames: NonZeroU16::new(group_frames).unwrap(), ..EncodeOptions::default() };
    Encoder::with_options(&set, options).unwrap().encode(tokens).unwrap()
}

#[test]
fn real_segments_stream_back_to_back_byte_exactly() {
    // Both segments, one after the other on one link, each with its own tables.
    let streams: Vec<Vec<u8>> = real().iter().map(|(_, tokens, blob)| encode(blob, tokens, 20)).collect();
    let wire: Vec<u8> = streams.concat();
    for (seed, max_chunk) in [(1u64, 1usize), (2, 7), (3, 64), (4, 700), (5, 5000)] {
        let mut link = Link::new(&wire, seed, max_chunk);
        for (i, (name, tokens, blob)) in real().iter().enumerate() {
            let got = stream_one(&mut link, blob, 20);
            assert_eq!(got.error, None, "{name}");
            assert!(got.tokens == *tokens, "{name}: tokens differ");
            // Nothing was read past the stream's end.
            assert_eq!(link.pos, streams[..=i].iter().map(Vec::len).sum::<usize>(), "{name}");
        }
    }
    println!(
        "StreamDecoder: {} B of state (input buffer {INPUT_BYTES} B) + 20 held frames {} B on this target",
        StreamDecoder::STATE_BYTES,
        20 * 256
    );
    const { assert!(StreamDecoder::STATE_BYTES <= 4096) };
}

/// Format 2 (one section) and format 3 with 2 to 4 sections stream back exactly, and
/// damage anywhere (the section table included) gives the frame-by-frame decoder's
/// error in the same group, with the same frames handed out before it.
#[test]
fn every_section_count_streams_and_fails_like_the_frame_by_frame_decoder() {
    let (_, tokens, blob) = &real()[1];
    let tokens = &tokens[..200 * 128];
    let set = TableSetRef::from_bytes(blob).unwrap();
    for sections in [1u8, 2, 3, 4] {
        let options =
            EncodeOptions { group_frames: NonZeroU16::new(20).unwrap(), sections, ..EncodeOptions::default() };
        let stream = Encoder::with_options(&set, options).unwrap().encode(tokens).unwrap();
        assert_eq!(Header::parse(&stream).unwrap().0.sections(), u32::from(sections));
        let got = stream_one(&mut Link::new(&stream, u64::from(sections), 333), blob, 20);
        assert_eq!(got.error, None, "{sections} sections");
        assert!(got.tokens == tokens, "{sections} sections: tokens differ");
        for i in (HEADER_LEN..stream.len()).step_by(173) {
            let mut s = stream.clone();
            s[i] ^= 1 << (i % 8);
            let got = stream_one(&mut Link::new(&s, i as u64, 211), blob, 20);
            assert_eq!(got, reference(blob, &s), "{sections} sections, flip at {i}");
        }
    }
}

#[test]
fn any_group_size_streams_and_larger_groups_than_the_buffer_are_refused() {
    let (_, tokens, blob) = &real()[1];
    for (frames, g, held) in
        [(1usize, 1u16, 1usize), (7, 1, 1), (61, 7, 7), (61, 60, 60), (61, 65535, 61), (45, 20, 64)]
    {
        let t = &tokens[..frames * 128];
        let stream = encode(blob, t, g);
        let got = stream_one(&mut Link::new(&stream, frames as u64, 97), blob, held);
        assert_eq!(got.error, None, "{frames} frames, G {g}");
        assert!(got.tokens == t, "{frames} frames, G {g}");
    }
    let stream = encode(blob, &tokens[..100 * 128], 20);
    let got = stream_one(&mut Link::new(&stream, 9, 50), blob, 19);
    assert_eq!(got.error, Some(StreamError::Codec { error: Error::BufferTooSmall { needed: 20 }, group: None }));
    assert!(got.tokens.is_empty());
}

#[test]
fn format_1_streams_are_one_group() {
    const TABLES: &[u8] = include_bytes!("data/v1-k4.vqtt");
    const STREAM: &[u8] = include_bytes!("data/v1-commaai-50.vqt");
    let want = &common::real_segments()[0].1[..50 * 128];
    let got = stream_one(&mut Link::new(STREAM, 3, 40), TABLES, 50);
    assert_eq!(got.error, None);
    assert!(got.tokens == want);
    let got = stream_one(&mut Link::new(STREAM, 3, 40), TABLES, 49);
    assert_eq!(got.error, Some(StreamError::Codec { error: Error::BufferTooSmall { needed: 50 }, group: None }));
    // Damaged: nothing is handed out.
    let mut s = STREAM.to_vec();
    s[HEADER_LEN + 1500] ^= 0x20;
    let got = stream_one(&mut Link::new(&s, 3, 40), TABLES, 50);
    assert_eq!(got, reference(TABLES, &s));
    assert!(got.tokens.is_empty() && got.error.is_some());
}

#[test]
fn damage_gives_the_frame_by_frame_decoders_error_and_group() {
    let (_, tokens, blob) = &real()[0];
    let tokens = &tokens[..300 * 128];
    let stream = encode(blob, tokens, 20);
    let payload = stream.len() - HEADER_LEN;
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    let mut compare = |s: &[u8], what: &str| {
        let want = reference(blob, s);
        let got = stream_one(&mut Link::new(s, s.len() as u64, 300), blob, 20);
        assert_eq!(got, want, "{what}");
        if let Some(e) = got.error {
            let name = format!("{e:?}");
            let name = name.split(['{', ',']).nth(1).unwrap_or("").trim().trim_start_matches("error: ").to_string();
            *seen.entry(name.split(' ').next().unwrap_or("").to_string()).or_default() += 1;
        }
    };
    for i in (HEADER_LEN..stream.len()).step_by(41) {
        let mut s = stream.clone();
        s[i] ^= 1 << (i % 8);
        compare(&s, &format!("flip at {i}"));
    }
    // Header re-made for a shorter payload, and for zero bytes after the payload
    // (a few: inside the input buffer; many: more than it holds).
    for keep in [0usize, 1, 100, payload / 2, payload - 5, payload - 1] {
        let mut s = stream[..HEADER_LEN + keep].to_vec();
        let mut h = Header::parse(&stream).unwrap().0;
        h.payload_len = keep as u32;
        s[..HEADER_LEN].copy_from_slice(&h.to_bytes());
        compare(&s, &format!("payload cut to {keep}"));
    }
    for extra in [1usize, 3, 600, 3000] {
        let mut s = stream.clone();
        s.extend(std::iter::repeat(0).take(extra));
        let mut h = Header::parse(&stream).unwrap().0;
        h.payload_len += extra as u32;
        s[..HEADER_LEN].copy_from_slice(&h.to_bytes());
        compare(&s, &format!("{extra} zero bytes appended"));
    }
    println!("errors: {seen:?}");
    for e in ["GroupChecksum", "PayloadCorrupt", "Truncated"] {
        assert!(seen.contains_key(e), "no case gave {e}: {seen:?}");
    }
}

#[test]
fn a_link_that_ends_or_goes_silent_fails_in_the_group_being_received() {
    let (_, tokens, blob) = &real()[1];
    let stream = encode(blob, tokens, 20);
    for cut in [0usize, 5, HEADER_LEN, HEADER_LEN + 1, 20_000, stream.len() / 2, stream.len() - 1] {
        for time_out in [false, true] {
            let mut link = Link::new(&stream[..cut], cut as u64, 200);
            link.time_out_at_end = time_out;
            let got = stream_one(&mut link, blob, 20);
            assert!(got.tokens == tokens[..got.tokens.len()], "cut {cut}: handed-out frames differ");
            assert_eq!(got.tokens.len() % (20 * 128), 0, "cut {cut}: whole groups only");
            let done = (got.tokens.len() / (20 * 128)) as u32;
            let group = (cut >= HEADER_LEN).then_some(done);
            let want = if time_out {
                StreamError::Link { error: Timeout, group }
            } else {
                StreamError::Codec { error: Error::Truncated, group }
            };
            assert_eq!(got.error, Some(want), "cut {cut}");
            // Every group whose bits (and the decoder's look-ahead) arrived was handed out.
            if cut > HEADER_LEN + 1000 {
                let arrived = cut - HEADER_LEN - 600;
                assert!(got.tokens.len() as f64 / tokens.len() as f64 > (arrived as f64 / stream.len() as f64) - 0.03);
            }
        }
    }
}

#[test]
fn bad_headers_and_other_tables_are_refused_before_decoding() {
    let (_, tokens, blob) = &real()[0];
    let other = &real()[1].2;
    let stream = encode(blob, &tokens[..40 * 128], 20);
    let got = stream_one(&mut Link::new(&stream, 1, 64), other, 20);
    assert!(matches!(got.error, Some(StreamError::Codec { error: Error::TableSetMismatch { .. }, group: None })));
    assert!(got.tokens.is_empty());
    let mut s = stream.clone();
    s[9] ^= 1;
    let got = stream_one(&mut Link::new(&s, 1, 64), blob, 20);
    assert_eq!(got.error, Some(StreamError::Codec { error: Error::HeaderCorrupt, group: None }));
    let mut s = stream.clone();
    s[0] = b'X';
    let got = stream_one(&mut Link::new(&s, 1, 64), blob, 20);
    assert_eq!(got.error, Some(StreamError::Codec { error: Error::BadMagic, group: None }));
}

//! The streaming decoder (`vqtans::stream`, the path a device takes for a stream that
//! arrives over a link) against the frame-by-frame decoder: arbitrary payloads behind
//! a valid header, valid streams (both container formats, several group sizes) with
//! damage, and arbitrary bytes on the link, each delivered in chunks of sizes the
//! input chooses. It must never panic or loop; it must hand out exactly the frames of
//! the groups the frame-by-frame decoder verifies, and fail with the same error in
//! the same group; a link that ends early fails with `Truncated` after handing out
//! only verified frames.
#![no_main]

#[path = "common.rs"]
mod common;

use common::Fixture;
use libfuzzer_sys::fuzz_target;
use vqtans::segment::SegmentDecoder;
use vqtans::stream::{read_header, Frame, StreamDecoder, StreamError};

/// Hands out `bytes` in chunks of 1..=`max` bytes chosen by a generator, then ends.
struct Link<'a> {
    bytes: &'a [u8],
    pos: usize,
    rng: u64,
    max: usize,
}

impl embedded_io::ErrorType for Link<'_> {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Link<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let n = (1 + self.rng as usize % self.max).min(buf.len()).min(self.bytes.len() - self.pos);
        buf[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Verified tokens handed out, and the error with its group.
type Outcome = (Vec<u16>, Option<(vqtans::Error, Option<u32>)>);

fn streamed(fixture: &Fixture, link: &mut Link<'_>) -> Outcome {
    let mut held: Vec<Frame> = vec![[0; 128]; 64];
    let mut tokens = Vec::new();
    let codec = |e: StreamError<core::convert::Infallible>| match e {
        StreamError::Codec { error, group } => (error, group),
        other => panic!("unexpected {other:?}"),
    };
    let header = match read_header(link) {
        Ok(h) => h,
        Err(e) => return (tokens, Some(codec(e))),
    };
    let mut decoder = match StreamDecoder::new(header, &fixture.set, fixture.tables.view(), &mut held) {
        Ok(d) => d,
        Err(e) => return (tokens, Some((e, None))),
    };
    loop {
        match decoder.next_group(link) {
            Ok(Some(group)) => group.frames.iter().for_each(|f| tokens.extend_from_slice(f)),
            Ok(None) => return (tokens, None),
            Err(e) => return (tokens, Some(codec(e))),
        }
    }
}

fn reference(fixture: &Fixture, stream: &[u8]) -> Outcome {
    let mut d = match SegmentDecoder::new(stream, &fixture.set, fixture.tables.view()) {
        Ok(d) => d,
        Err(e) => return (vec![], Some((e, None))),
    };
    let mut all = Vec::new();
    let mut frame = [0u16; 128];
    let mut result = Ok(());
    for _ in 0..d.header().frames {
        result = d.next_frame(&mut frame);
        if result.is_err() {
            break;
        }
        all.extend_from_slice(&frame);
    }
    if result.is_ok() {
        result = d.finish();
    }
    all.truncate(d.verified_frames() as usize * 128);
    (all, result.err().map(|e| (e, Some(d.current_group()))))
}

fuzz_target!(|data: &[u8]| {
    let Some((&[mode, seed], rest)) = data.split_first_chunk::<2>() else { return };
    let fixture = Fixture::get(mode as usize);
    let max = [1, 3, 17, 200, 4096][seed as usize % 5];
    let link = |bytes| Link { bytes, pos: 0, rng: seed as u64 | 0x100, max };
    match (mode >> 2) % 3 {
        0 => {
            // Arbitrary payload behind a valid header (either format).
            let frames = 1 + (mode as u32 >> 4) % 40;
            let stream = fixture.forge_stream(frames, seed >> 5, rest);
            let got = streamed(fixture, &mut link(&stream));
            assert_eq!(got, reference(fixture, &stream), "forged stream");
        }
        1 => {
            // A valid stream, damaged in place or cut short.
            let frames = 1 + (mode as usize >> 4) % 12;
            let tokens = common::synthetic_tokens(frames, rest.len() as u64 + 5);
            let mut stream = fixture.encoder_for(seed >> 3).encode(&tokens).unwrap();
            let mut cut = stream.len();
            for pair in rest.chunks(2).take(8) {
                let at = pair[0] as usize * stream.len() / 256;
                match pair.get(1).copied().unwrap_or(0) % 4 {
                    0 | 1 => stream[at] ^= 1 << (pair[0] % 8),
                    2 => stream[at] = pair[0],
                    _ => cut = cut.min(at),
                }
            }
            let got = streamed(fixture, &mut link(&stream[..cut]));
            let want = reference(fixture, &stream);
            if cut == stream.len() {
                assert_eq!(got, want, "damaged stream");
            } else {
                // The link ended early: some of the groups verified in the whole
                // stream, then an error.
                assert!(got.1.is_some(), "a cut stream decoded");
                assert!(want.0.starts_with(&got.0), "a cut stream handed out unverified frames");
            }
        }
        _ => {
            // Arbitrary bytes on the link.
            let _ = streamed(fixture, &mut link(rest));
        }
    }
});

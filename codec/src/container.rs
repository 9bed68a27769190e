//! The container: a fixed 32-byte header in front of one segment's payload.
//! The byte layout is specified in `codec/FORMAT.md`.

use crate::{Error, Result};

/// First four bytes of every vqtans stream.
pub const MAGIC: [u8; 4] = *b"VQTA";
/// Container format version written by this build.
pub const FORMAT_VERSION: u8 = 1;
/// Header size in bytes.
pub const HEADER_LEN: usize = 32;
/// Token rows per frame.
pub const ROWS: usize = 8;
/// Token columns per frame.
pub const COLS: usize = 16;
/// Tokens per frame.
pub const FRAME_TOKENS: usize = ROWS * COLS;
/// Most frames one stream may hold (about 55 minutes at 20 fps); a bound that keeps
/// a damaged header from asking a decoder for unbounded work or memory.
pub const MAX_FRAMES: u32 = 1 << 16;
/// Largest token value (tokens are 10-bit).
pub const MAX_TOKEN: u16 = 1023;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// What the header says about a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Number of interleaved coder states.
    pub n_states: u8,
    /// Number of frames (each `ROWS x COLS` tokens).
    pub frames: u32,
    /// Id of the table set the stream was encoded with.
    pub table_set_id: u64,
    /// Payload length in bytes.
    pub payload_len: u32,
    /// CRC-32 of the decoded tokens, each as little-endian `u16`.
    pub tokens_crc: u32,
}

impl Header {
    /// Serialises the header.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&MAGIC);
        b[4] = FORMAT_VERSION;
        b[5] = self.n_states;
        b[6] = ROWS as u8;
        b[7] = COLS as u8;
        b[8..12].copy_from_slice(&self.frames.to_le_bytes());
        b[12..20].copy_from_slice(&self.table_set_id.to_le_bytes());
        b[20..24].copy_from_slice(&self.payload_len.to_le_bytes());
        b[24..28].copy_from_slice(&self.tokens_crc.to_le_bytes());
        let crc = CRC32.checksum(&b[..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Parses the header of `stream` and returns it with the payload, checking magic,
    /// version, header checksum, shape and that the payload is exactly the rest of
    /// the stream. Checks in that order, so a foreign file reports `BadMagic`.
    pub fn parse(stream: &[u8]) -> Result<(Header, &[u8])> {
        if stream.len() < 4 || stream[..4] != MAGIC {
            return Err(if stream.len() < 4 && MAGIC.starts_with(stream) { Error::Truncated } else { Error::BadMagic });
        }
        if stream.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let b = &stream[..HEADER_LEN];
        if b[4] != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion { version: b[4] });
        }
        let crc = u32::from_le_bytes([b[28], b[29], b[30], b[31]]);
        if CRC32.checksum(&b[..28]) != crc {
            return Err(Error::HeaderCorrupt);
        }
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let header = Header {
            n_states: b[5],
            frames: u32_at(8),
            table_set_id: u64::from_le_bytes([b[12], b[13], b[14], b[15], b[16], b[17], b[18], b[19]]),
            payload_len: u32_at(20),
            tokens_crc: u32_at(24),
        };
        if b[6] as usize != ROWS || b[7] as usize != COLS || header.frames == 0 || header.frames > MAX_FRAMES {
            return Err(Error::BadShape);
        }
        let payload = &stream[HEADER_LEN..];
        let len = header.payload_len as usize;
        if payload.len() < len {
            return Err(Error::Truncated);
        }
        if payload.len() > len {
            return Err(Error::TrailingBytes);
        }
        Ok((header, payload))
    }
}

/// Running CRC-32 of decoded tokens (each as little-endian `u16`). On hosts (`std`)
/// the same CRC is computed by `crc32fast` (SIMD carry-less multiply); elsewhere by
/// a slice-by-4 table walk over pairs of tokens (4 KiB of constant tables).
pub struct TokenChecksum(#[cfg(not(feature = "std"))] u32, #[cfg(feature = "std")] crc32fast::Hasher);

/// Slice-by-4 tables of CRC-32/ISO-HDLC (reflected polynomial `0xEDB88320`):
/// `CRC_TABLES[0]` is the byte-wise table, `CRC_TABLES[k][b]` the CRC of byte `b`
/// followed by `k` zero bytes.
const CRC_TABLES: [[u32; 256]; 4] = {
    let mut t = [[0u32; 256]; 4];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
            bit += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < 4 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            i += 1;
        }
        k += 1;
    }
    t
};

/// Adds `tokens` (each as `u16` LE) to the running (pre-inverted) CRC `crc`.
#[cfg_attr(feature = "std", allow(dead_code))]
#[inline]
fn crc_tokens(mut crc: u32, tokens: &[u16]) -> u32 {
    let [t0, t1, t2, t3] = &CRC_TABLES;
    let mut pairs = tokens.chunks_exact(2);
    for pair in &mut pairs {
        crc ^= pair[0] as u32 | (pair[1] as u32) << 16;
        crc = t3[(crc & 0xFF) as usize]
            ^ t2[((crc >> 8) & 0xFF) as usize]
            ^ t1[((crc >> 16) & 0xFF) as usize]
            ^ t0[(crc >> 24) as usize];
    }
    for &t in pairs.remainder() {
        for b in t.to_le_bytes() {
            crc = (crc >> 8) ^ t0[((crc ^ b as u32) & 0xFF) as usize];
        }
    }
    crc
}

impl TokenChecksum {
    /// A fresh checksum.
    pub fn new() -> Self {
        #[cfg(not(feature = "std"))]
        return TokenChecksum(!0);
        #[cfg(feature = "std")]
        return TokenChecksum(crc32fast::Hasher::new());
    }
    /// Adds tokens.
    pub fn update(&mut self, tokens: &[u16]) {
        #[cfg(not(feature = "std"))]
        {
            self.0 = crc_tokens(self.0, tokens);
        }
        #[cfg(feature = "std")]
        {
            const CHUNK: usize = 16 * FRAME_TOKENS;
            let mut bytes = [0u8; 2 * CHUNK];
            for chunk in tokens.chunks(CHUNK) {
                for (b, t) in bytes.chunks_exact_mut(2).zip(chunk) {
                    b.copy_from_slice(&t.to_le_bytes());
                }
                self.0.update(&bytes[..2 * chunk.len()]);
            }
        }
    }
    /// The checksum of everything added.
    pub fn finalize(self) -> u32 {
        #[cfg(not(feature = "std"))]
        return !self.0;
        #[cfg(feature = "std")]
        return self.0.finalize();
    }
}

impl Default for TokenChecksum {
    fn default() -> Self {
        Self::new()
    }
}

/// CRC-32 of `tokens` as the header stores it.
pub fn tokens_crc(tokens: &[u16]) -> u32 {
    let mut c = TokenChecksum::new();
    c.update(tokens);
    c.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_crc_of_tokens_matches_the_byte_wise_crc() {
        let tokens: alloc::vec::Vec<u16> = (0..1001u32).map(|i| ((i * 7919) % 1024) as u16).collect();
        for split in [0usize, 1, 2, 3, 128, 129, 1000, 1001] {
            let (a, b) = tokens.split_at(split);
            let crc = !crc_tokens(crc_tokens(!0, a), b);
            let bytes: alloc::vec::Vec<u8> = tokens.iter().flat_map(|t| t.to_le_bytes()).collect();
            assert_eq!(crc, CRC32.checksum(&bytes), "split {split}");
            assert_eq!(crc, tokens_crc(&tokens));
        }
    }
}

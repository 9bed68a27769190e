//! The container: a fixed 32-byte header in front of one segment's payload.
//! The byte layout is specified in `codec/FORMAT.md`.

use crate::{Error, Result};

/// First four bytes of every vqtans stream.
pub const MAGIC: [u8; 4] = *b"VQTA";
/// Container format version 2: group checksums in the payload, one coded section.
/// Written for streams of one checksum group, and on request
/// (`EncodeOptions::sections` 1).
pub const FORMAT_VERSION: u8 = 2;
/// Container format version 3: as format 2, with the frames cut into 2 to
/// [`MAX_SECTIONS`] independent sections (each coded on its own, so a decoder may
/// decode them at the same time). Written by default for streams of two or more
/// checksum groups.
pub const FORMAT_VERSION_SECTIONS: u8 = 3;
/// Most sections a format-3 stream has.
pub const MAX_SECTIONS: u8 = 4;
/// Sections the encoder cuts a stream into unless told otherwise (fewer if the
/// stream has fewer checksum groups).
pub const DEFAULT_SECTIONS: u8 = 2;
/// The earlier container format version, one token checksum in the header; still decoded.
pub const FORMAT_VERSION_1: u8 = 1;
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
/// Frames per checksum group the encoder uses unless told otherwise (one second of
/// video at 20 fps).
pub const DEFAULT_GROUP_FRAMES: u16 = 20;
/// Payload bits of one group checksum (container format 2).
pub const GROUP_CHECK_BITS: u32 = 32;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// How a stream proves its tokens right: the part of the header that differs between
/// container format versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Format 1: the CRC-32 of all decoded tokens, in the header; checked after the
    /// last frame, so the whole stream is one group.
    WholeStream {
        /// CRC-32 of the decoded tokens, each as little-endian `u16`.
        tokens_crc: u32,
    },
    /// Format 2: after every `group_frames` frames (and after the last frame) the
    /// payload holds the running CRC-32 of all tokens so far.
    Groups {
        /// Frames per group, `1..=65535`.
        group_frames: u16,
    },
    /// Format 3: groups as in format 2, and the frames cut into `sections`
    /// consecutive sections of whole groups ([`Header::section_frames`]), each coded
    /// on its own: its own coder states, model state from scratch, and running
    /// checksum from its first token. The payload starts with the byte length of
    /// every section but the last ([`Sections`]).
    Sections {
        /// Frames per group, `1..=65535`.
        group_frames: u16,
        /// Sections, `2..=MAX_SECTIONS`, none of them empty.
        sections: u8,
    },
}

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
    /// How the tokens are checked (and so the container format version).
    pub check: Check,
}

impl Header {
    /// The container format version of this header.
    pub fn version(&self) -> u8 {
        match self.check {
            Check::WholeStream { .. } => FORMAT_VERSION_1,
            Check::Groups { .. } => FORMAT_VERSION,
            Check::Sections { .. } => FORMAT_VERSION_SECTIONS,
        }
    }

    /// Number of independently coded sections (1 for formats 1 and 2).
    pub fn sections(&self) -> u32 {
        match self.check {
            Check::Sections { sections, .. } => u32::from(sections),
            _ => 1,
        }
    }

    /// Frames of every section but the last, which has the rest (at least one):
    /// `ceil(groups / sections)` whole groups, or all frames of a stream of one
    /// section.
    pub fn section_frames(&self) -> u32 {
        (self.groups().div_ceil(self.sections()) * self.group_frames()).min(self.frames)
    }

    /// The frames of section `s` (`s < sections()`).
    pub fn section_range(&self, s: u32) -> core::ops::Range<u32> {
        let per = self.section_frames();
        let start = (s * per).min(self.frames);
        let end = if s + 1 >= self.sections() { self.frames } else { ((s + 1) * per).min(self.frames) };
        start..end
    }

    /// How many of the first `n` frames start a section: those are decoded from raw
    /// tokens (as a stream's frame 0), the others by the frame loops.
    pub fn section_starts_in(&self, n: u32) -> u32 {
        (0..self.sections()).filter(|&s| self.section_range(s).start < n).count() as u32
    }

    /// Bytes of the section table at the start of the payload: the `u32` byte length
    /// of every section but the last (0 for formats 1 and 2).
    pub fn section_table_len(&self) -> usize {
        4 * (self.sections() as usize - 1)
    }

    /// Frames per checksum group (the last group may have fewer): `group_frames` of a
    /// format-2 stream, all frames of a format-1 stream (whose one check comes after
    /// the last frame); never more than the stream's frames, and at least 1.
    pub fn group_frames(&self) -> u32 {
        let g = match self.check {
            Check::WholeStream { .. } => self.frames,
            Check::Groups { group_frames } | Check::Sections { group_frames, .. } => u32::from(group_frames),
        };
        g.min(self.frames).max(1)
    }

    /// Number of checksum groups (the last one may be shorter).
    pub fn groups(&self) -> u32 {
        self.frames.div_ceil(self.group_frames())
    }

    /// The group frame `frame` belongs to.
    pub fn group_of(&self, frame: u32) -> u32 {
        frame / self.group_frames()
    }

    /// Serialises the header.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&MAGIC);
        b[4] = self.version();
        b[5] = self.n_states;
        b[6] = ROWS as u8;
        b[7] = COLS as u8;
        b[8..12].copy_from_slice(&self.frames.to_le_bytes());
        b[12..20].copy_from_slice(&self.table_set_id.to_le_bytes());
        b[20..24].copy_from_slice(&self.payload_len.to_le_bytes());
        match self.check {
            Check::WholeStream { tokens_crc } => b[24..28].copy_from_slice(&tokens_crc.to_le_bytes()),
            // Bytes 26..28 are reserved (zero).
            Check::Groups { group_frames } => b[24..26].copy_from_slice(&group_frames.to_le_bytes()),
            // Byte 27 is reserved (zero).
            Check::Sections { group_frames, sections } => {
                b[24..26].copy_from_slice(&group_frames.to_le_bytes());
                b[26] = sections;
            }
        }
        let crc = CRC32.checksum(&b[..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Parses the header of `stream` and returns it with the payload, checking magic,
    /// version, header checksum, shape (and, in format 2, the group size and reserved
    /// bytes) and that the payload is exactly the rest of the stream. Checks in that
    /// order, so a foreign file reports `BadMagic`.
    pub fn parse(stream: &[u8]) -> Result<(Header, &[u8])> {
        if stream.len() < 4 || stream[..4] != MAGIC {
            return Err(if stream.len() < 4 && MAGIC.starts_with(stream) { Error::Truncated } else { Error::BadMagic });
        }
        let bytes = stream.first_chunk::<HEADER_LEN>().ok_or(Error::Truncated)?;
        let header = Header::from_bytes(bytes)?;
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

    /// Parses a header on its own (for a stream that arrives piece by piece): magic,
    /// version, header checksum, shape, and in format 2 the group size (at least 1)
    /// and reserved bytes (zero), in that order. Says nothing about the payload.
    pub fn from_bytes(b: &[u8; HEADER_LEN]) -> Result<Header> {
        if b[..4] != MAGIC {
            return Err(Error::BadMagic);
        }
        if ![FORMAT_VERSION_1, FORMAT_VERSION, FORMAT_VERSION_SECTIONS].contains(&b[4]) {
            return Err(Error::UnsupportedVersion { version: b[4] });
        }
        let crc = u32::from_le_bytes([b[28], b[29], b[30], b[31]]);
        if CRC32.checksum(&b[..28]) != crc {
            return Err(Error::HeaderCorrupt);
        }
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let group_frames = u16::from_le_bytes([b[24], b[25]]);
        let check = match b[4] {
            FORMAT_VERSION_1 => Check::WholeStream { tokens_crc: u32_at(24) },
            FORMAT_VERSION => Check::Groups { group_frames },
            _ => Check::Sections { group_frames, sections: b[26] },
        };
        let header = Header {
            n_states: b[5],
            frames: u32_at(8),
            table_set_id: u64::from_le_bytes([b[12], b[13], b[14], b[15], b[16], b[17], b[18], b[19]]),
            payload_len: u32_at(20),
            check,
        };
        if b[6] as usize != ROWS || b[7] as usize != COLS || header.frames == 0 || header.frames > MAX_FRAMES {
            return Err(Error::BadShape);
        }
        match check {
            Check::Groups { group_frames } if group_frames == 0 || b[26] != 0 || b[27] != 0 => {
                return Err(Error::HeaderCorrupt)
            }
            // Sections of whole groups, none empty: the first `sections - 1` take
            // ceil(groups / sections) groups each and leave the last at least one.
            Check::Sections { group_frames, sections }
                if group_frames == 0
                    || !(2..=MAX_SECTIONS).contains(&sections)
                    || b[27] != 0
                    || (u32::from(sections) - 1) * header.groups().div_ceil(u32::from(sections)) >= header.groups() =>
            {
                return Err(Error::HeaderCorrupt)
            }
            _ => {}
        }
        Ok(header)
    }
}

/// Where each section of a stream lies in its payload: after the section table, the
/// sections back to back, each as long as the table says (the last one to the end of
/// the payload). A format-1 or format-2 stream is one section: the whole payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sections {
    count: u32,
    /// Byte offset in the payload where section `s` ends (`ends[count - 1]` is the
    /// payload length the header gives).
    ends: [u32; MAX_SECTIONS as usize],
    /// Where section 0 starts: the section table's length.
    first: u32,
}

impl Sections {
    /// Reads the section table at the start of `payload` (which may be shorter than
    /// the header says, for a stream cut short: the table itself must be there).
    ///
    /// Errors: `Truncated` if the table is not all there; `PayloadCorrupt` if a
    /// section would be empty or reach past the payload the header gives.
    pub fn parse(header: &Header, payload: &[u8]) -> Result<Self> {
        let count = header.sections();
        let first = header.section_table_len() as u32;
        let total = header.payload_len;
        let table = payload.get(..first as usize).ok_or(Error::Truncated)?;
        let mut ends = [total; MAX_SECTIONS as usize];
        let mut at = first;
        for (end, len) in ends.iter_mut().zip(table.chunks_exact(4)) {
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
            // Every section holds at least its coder's initial states, and the last
            // one must keep at least a byte.
            match at.checked_add(len) {
                Some(e) if len > 0 && e < total => {
                    *end = e;
                    at = e;
                }
                _ => return Err(Error::PayloadCorrupt),
            }
        }
        Ok(Sections { count, ends, first })
    }

    /// The one section of a format-1 or format-2 stream (for a format-3 stream: a
    /// placeholder until [`Sections::parse`] read its table).
    pub fn whole(header: &Header) -> Self {
        Sections { count: 1, ends: [header.payload_len; MAX_SECTIONS as usize], first: 0 }
    }

    /// Number of sections.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The bytes of section `s` in the payload (`s < count()`).
    pub fn range(&self, s: u32) -> core::ops::Range<usize> {
        let s = s as usize;
        let start = if s == 0 { self.first } else { self.ends[s - 1] };
        start as usize..self.ends[s] as usize
    }

    /// The table of sections of the given byte lengths (all but the last are
    /// written), for the encoder.
    #[cfg(feature = "alloc")]
    pub fn table(lengths: &[usize]) -> Result<alloc::vec::Vec<u8>> {
        let mut table = alloc::vec::Vec::with_capacity(4 * lengths.len().saturating_sub(1));
        for &len in lengths.iter().take(lengths.len().saturating_sub(1)) {
            table.extend_from_slice(&u32::try_from(len).map_err(|_| Error::PayloadCorrupt)?.to_le_bytes());
        }
        Ok(table)
    }
}

/// Running CRC-32 of decoded tokens (each as little-endian `u16`). On hosts (`std`)
/// the same CRC is computed by `crc32fast` (SIMD carry-less multiply); on ARMv6-M
/// byte by byte (1 KiB of constant table: with 8 low registers the slice-by-4 walk
/// costs as many instructions and 3 KiB more flash); elsewhere by a slice-by-4 table
/// walk over pairs of tokens (4 KiB of constant tables).
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

/// Adds `tokens` (each as `u16` LE) to the running (pre-inverted) CRC `crc`: the
/// byte-wise walk on ARMv6-M, slice-by-4 elsewhere.
#[cfg_attr(feature = "std", allow(dead_code))]
#[inline]
fn crc_tokens(crc: u32, tokens: &[u16]) -> u32 {
    #[cfg(vqtans_v6m)]
    return crc_tokens_bytewise(crc, tokens);
    #[cfg(not(vqtans_v6m))]
    return crc_tokens_sliced(crc, tokens);
}

/// [`crc_tokens`] by slice-by-4 over pairs of tokens.
#[cfg(any(not(vqtans_v6m), test))]
#[cfg_attr(feature = "std", allow(dead_code))]
#[inline]
fn crc_tokens_sliced(mut crc: u32, tokens: &[u16]) -> u32 {
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

/// [`crc_tokens`] byte by byte with the byte-wise table, four tokens per loop step.
#[cfg(any(vqtans_v6m, test))]
#[inline]
fn crc_tokens_bytewise(mut crc: u32, tokens: &[u16]) -> u32 {
    let table = &CRC_TABLES[0];
    let byte = |crc: u32| (crc >> 8) ^ table[(crc & 0xFF) as usize];
    let mut quads = tokens.chunks_exact(4);
    for quad in &mut quads {
        for pair in quad.chunks_exact(2) {
            crc ^= pair[0] as u32 | (pair[1] as u32) << 16;
            crc = byte(byte(byte(byte(crc))));
        }
    }
    for &t in quads.remainder() {
        crc ^= t as u32;
        crc = byte(byte(crc));
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
        // Tokens in memory are their little-endian bytes already.
        #[cfg(all(feature = "std", target_endian = "little"))]
        self.0.update(bytemuck::cast_slice(tokens));
        #[cfg(all(feature = "std", not(target_endian = "little")))]
        {
            const CHUNK: usize = FRAME_TOKENS;
            let mut bytes = [0u8; 2 * CHUNK];
            for chunk in tokens.chunks(CHUNK) {
                for (b, t) in bytes.chunks_exact_mut(2).zip(chunk) {
                    b.copy_from_slice(&t.to_le_bytes());
                }
                self.0.update(&bytes[..2 * chunk.len()]);
            }
        }
    }
    /// The checksum of everything added so far (adding more continues from it).
    pub fn value(&self) -> u32 {
        #[cfg(not(feature = "std"))]
        return !self.0;
        #[cfg(feature = "std")]
        return self.0.clone().finalize();
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
    fn table_crcs_of_tokens_match_the_byte_wise_crc() {
        let tokens: alloc::vec::Vec<u16> = (0..1001u32).map(|i| ((i * 7919) % 1024) as u16).collect();
        let bytes: alloc::vec::Vec<u8> = tokens.iter().flat_map(|t| t.to_le_bytes()).collect();
        for walk in [crc_tokens_sliced, crc_tokens_bytewise, crc_tokens] {
            for split in [0usize, 1, 2, 3, 4, 5, 7, 128, 129, 1000, 1001] {
                let (a, b) = tokens.split_at(split);
                let crc = !walk(walk(!0, a), b);
                assert_eq!(crc, CRC32.checksum(&bytes), "split {split}");
                assert_eq!(crc, tokens_crc(&tokens));
            }
        }
    }
}

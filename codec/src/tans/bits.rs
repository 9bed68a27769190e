//! The bit stream: bits are written and read forward, least significant bit first.
//!
//! The reader never touches memory outside its slice: past the end it supplies
//! zero bits and remembers how many it invented, so a truncated stream is detected
//! by [`BitReader::finish`] instead of being read out of bounds.

use crate::{Error, Result};

/// Bytes in the bit buffer.
const WORD: usize = core::mem::size_of::<usize>();
/// Bits in the bit buffer.
const BITS: u32 = usize::BITS;

/// Forward LSB-first bit reader over a byte slice.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` to load into `buffer`.
    pos: usize,
    /// Bits not yet consumed, the next one in bit 0 (a machine word: 64 bits on
    /// hosts, 32 on microcontrollers).
    buffer: usize,
    /// Number of valid bits in `buffer`.
    available: u32,
    /// Zero bytes supplied past the end of `data`.
    invented: usize,
}

impl<'a> BitReader<'a> {
    /// A reader positioned at the first bit of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        let mut r = BitReader { data, pos: 0, buffer: 0, available: 0, invented: 0 };
        r.refill();
        r
    }

    /// Ensures at least `BITS - 8` bits are buffered (56 or 24). Also right after a refill: bits of
    /// `buffer` above `available` are zero or the stream's next bits, so OR-ing a word
    /// in again is harmless. Only the tail path can leave `available` at 64, and once
    /// it is taken the fast path never is again (`pos + 8 > len` stays true), so the
    /// fast path's shift is always below 64.
    #[inline(always)]
    fn refill(&mut self) {
        if let Some(chunk) = self.data.get(self.pos..self.pos + WORD) {
            let mut bytes = [0u8; WORD];
            bytes.copy_from_slice(chunk);
            let word = usize::from_le_bytes(bytes);
            self.buffer |= word << self.available;
            let bytes = (BITS - 1 - self.available) >> 3;
            self.pos += bytes as usize;
            self.available |= BITS - 8;
        } else {
            self.refill_tail();
        }
    }

    #[cold]
    fn refill_tail(&mut self) {
        while self.available <= BITS - 8 {
            let byte = match self.data.get(self.pos) {
                Some(&b) => {
                    self.pos += 1;
                    b
                }
                None => {
                    self.invented += 1;
                    0
                }
            };
            self.buffer |= (byte as usize) << self.available;
            self.available += 8;
        }
    }

    /// A reader positioned at bit `bit` of `data`. Reading on from there behaves
    /// exactly like a reader made by [`BitReader::new`] that has already read `bit`
    /// bits, including [`BitReader::finish`] and [`BitReader::overran`]; past the end
    /// of `data`, it is a reader that has read up to 64 zero bits beyond the end (which
    /// is all `finish` and `overran` can tell apart).
    pub(crate) fn at_bit(data: &'a [u8], bit: usize) -> Self {
        let start = bit.min(8 * data.len());
        let mut r = BitReader { data, pos: start / 8, buffer: 0, available: 0, invented: 0 };
        r.refill();
        r.read((start % 8) as u32);
        let mut beyond = bit.saturating_sub(8 * data.len()).min(64);
        while beyond > 0 {
            let n = beyond.min(16);
            r.read(n as u32);
            beyond -= n;
        }
        r
    }

    /// Where a [`BitWindow`] on the next bits starts: a byte of the data (possibly
    /// past its end) and the offset of the next bit in the window. Read bits with
    /// [`BitReader::window`], then continue with [`BitReader::move_to`].
    #[inline(always)]
    pub(crate) fn window_start(&self) -> (usize, u32) {
        let bit = self.consumed_bits();
        (bit / 8, (bit % 8) as u32)
    }

    /// A window from byte `byte` of the data: borrowed from the data where it has
    /// `WINDOW_BYTES` bytes there, else a copy of the rest, zero padded, kept in
    /// `padded` (the caller's slot, `None` until needed, so the usual case copies
    /// nothing).
    #[inline(always)]
    pub(crate) fn window<'p>(&self, byte: usize, padded: &'p mut Option<[u8; WINDOW_BYTES]>) -> BitWindow<'p>
    where
        'a: 'p,
    {
        match self.data.get(byte..).and_then(|rest| rest.first_chunk()) {
            Some(bytes) => BitWindow { bytes },
            None => BitWindow { bytes: padded.insert(self.padded_bytes(byte)) },
        }
    }

    /// The data from byte `byte` on, zero padded to a window's length.
    #[cold]
    fn padded_bytes(&self, byte: usize) -> [u8; WINDOW_BYTES] {
        let mut padded = [0u8; WINDOW_BYTES];
        let rest = self.data.get(byte..).unwrap_or(&[]);
        let n = rest.len().min(WINDOW_BYTES);
        padded[..n].copy_from_slice(&rest[..n]);
        padded
    }

    /// Continues at bit `bit` of the data, as if the bits before it had been read
    /// (bits past the end count as invented zero bits).
    #[inline]
    pub(crate) fn move_to(&mut self, bit: usize) {
        *self = BitReader::at_bit(self.data, bit);
    }

    /// Reads `nb` bits (`nb <= 24`) as an integer, first bit least significant.
    #[inline(always)]
    pub fn read(&mut self, nb: u32) -> u32 {
        // On hosts an unpredictable branch costs more than refilling every time; on
        // microcontrollers it is the other way round.
        if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) || self.available < nb {
            self.refill();
        }
        let value = (self.buffer & ((1usize << nb) - 1)) as u32;
        self.buffer >>= nb;
        self.available -= nb;
        value
    }

    /// True if more bits were read than the stream holds (so far).
    pub fn overran(&self) -> bool {
        self.invented * 8 > self.available as usize
    }

    /// Number of bits consumed so far, counting invented zero bits (once the reader
    /// has overrun the data, the count may fall short of what was asked for).
    pub fn consumed_bits(&self) -> usize {
        (self.pos + self.invented) * 8 - self.available as usize
    }

    /// Checks that the stream was consumed exactly: `Truncated` if bits were read past
    /// the end, `PayloadCorrupt` if whole bytes were left unread or the padding bits
    /// of the last byte are not zero.
    pub fn finish(&self) -> Result<()> {
        let consumed = self.consumed_bits();
        let total = self.data.len() * 8;
        if consumed > total {
            return Err(Error::Truncated);
        }
        if total - consumed >= 8 {
            // Whole bytes of the payload were never read.
            return Err(Error::PayloadCorrupt);
        }
        // Remaining bits (padding) must be zero: they are all in `buffer`.
        let pad = (total - consumed) as u32;
        if pad > 0 && self.buffer & ((1usize << pad) - 1) != 0 {
            return Err(Error::PayloadCorrupt);
        }
        Ok(())
    }
}

/// Bytes a [`BitWindow`] may start a 4-byte load at: reads use byte offsets modulo
/// this, so they stay inside the window whatever the offset.
pub const WINDOW_SPAN: usize = 512;
/// Bytes in a [`BitWindow`].
pub const WINDOW_BYTES: usize = WINDOW_SPAN + 4;

/// A fixed stretch of the bit stream read at explicit bit offsets: no refill, no
/// bounds check, a few instructions per read on any core. Made by the crate's
/// frame loops from a [`BitReader`].
#[derive(Debug, Clone, Copy)]
pub struct BitWindow<'w> {
    bytes: &'w [u8; WINDOW_BYTES],
}

impl<'w> BitWindow<'w> {
    /// The window's bytes.
    #[cfg_attr(not(any(vqtans_v7em, vqtans_v6m)), allow(dead_code))]
    pub(crate) fn bytes(&self) -> &'w [u8; WINDOW_BYTES] {
        self.bytes
    }

    /// The bits from bit offset `bit` (`< 8 * WINDOW_SPAN`) on, first bit least
    /// significant: at least 25 of them are the stream's (the rest are zero).
    /// Offsets beyond the span wrap around (never out of the window).
    #[inline(always)]
    pub fn bits_at(&self, bit: u32) -> u32 {
        let i = (bit >> 3) as usize % WINDOW_SPAN;
        let word = u32::from_le_bytes([self.bytes[i], self.bytes[i + 1], self.bytes[i + 2], self.bytes[i + 3]]);
        word >> (bit & 7)
    }

    /// The `nb` bits (`nb <= 25`) at bit offset `bit` (`< 8 * WINDOW_SPAN`).
    #[inline(always)]
    pub fn read(&self, bit: u32, nb: u32) -> u32 {
        low_bits(self.bits_at(bit), nb)
    }
}

/// The low `nb` bits (`nb < 32`) of `value`.
#[inline(always)]
pub fn low_bits(value: u32, nb: u32) -> u32 {
    value & !(u32::MAX << nb)
}

/// Forward LSB-first bit writer into a growable byte vector.
#[cfg(feature = "alloc")]
#[derive(Debug, Default, Clone)]
pub struct BitWriter {
    bytes: alloc::vec::Vec<u8>,
    buffer: u64,
    pending: u32,
}

#[cfg(feature = "alloc")]
impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends the low `nb` bits of `value` (`nb <= 32`; higher bits of `value` must be 0).
    #[inline]
    pub fn write(&mut self, value: u32, nb: u32) {
        debug_assert!(nb <= 32 && (nb == 32 || value >> nb == 0));
        self.buffer |= (value as u64) << self.pending;
        self.pending += nb;
        while self.pending >= 8 {
            self.bytes.push(self.buffer as u8);
            self.buffer >>= 8;
            self.pending -= 8;
        }
    }
    /// Number of bits written so far.
    pub fn bit_len(&self) -> usize {
        self.bytes.len() * 8 + self.pending as usize
    }
    /// Pads the last byte with zero bits and returns the bytes.
    pub fn finish(mut self) -> alloc::vec::Vec<u8> {
        if self.pending > 0 {
            self.bytes.push(self.buffer as u8);
        }
        self.bytes
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn writes_and_reads_back() {
        let mut w = BitWriter::new();
        let items: Vec<(u32, u32)> = (0..1000u32).map(|i| (i % 13, (i * 7) % 14 + 1)).collect();
        for &(v, nb) in &items {
            w.write(v & ((1 << nb) - 1), nb);
        }
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes);
        for &(v, nb) in &items {
            assert_eq!(r.read(nb), v & ((1 << nb) - 1));
        }
        r.finish().unwrap();
    }

    #[test]
    fn a_reader_at_a_bit_continues_like_one_that_read_up_to_it() {
        let bytes: Vec<u8> = (0..40u32).map(|i| (i * 37 + 11) as u8).collect();
        for start in 0..=bytes.len() * 8 + 9 {
            let mut a = BitReader::new(&bytes);
            let mut left = start;
            while left > 0 {
                let n = left.min(13);
                a.read(n as u32);
                left -= n;
            }
            let mut b = BitReader::at_bit(&bytes, start);
            assert_eq!(a.finish(), b.finish(), "start {start}");
            for nb in [1u32, 7, 13, 0, 5, 16, 3] {
                assert_eq!(a.read(nb), b.read(nb), "start {start}");
                assert_eq!(a.overran(), b.overran(), "start {start}");
                assert_eq!(a.finish(), b.finish(), "start {start}");
            }
        }
    }

    #[test]
    fn a_window_reads_what_the_reader_reads() {
        let bytes: Vec<u8> = (0..700u32).map(|i| (i * 151 + 7) as u8).collect();
        let counts = [3u32, 0, 15, 10, 1, 7, 12, 25, 9];
        for start in (0..bytes.len() * 8 + 40).step_by(37) {
            let mut reader = BitReader::at_bit(&bytes, start);
            let (first_byte, mut bit) = reader.window_start();
            let mut padded = None;
            let window = reader.window(first_byte, &mut padded);
            let mut expect = BitReader::at_bit(&bytes, start);
            for (i, &nb) in counts.iter().cycle().take(60).enumerate() {
                let nb = if i % 2 == 0 { nb.min(24) } else { nb };
                let word = window.bits_at(bit);
                let value = low_bits(word, nb.min(16));
                let mut want = expect.read(nb.min(16));
                if nb > 16 {
                    want |= expect.read(nb - 16) << 16;
                    assert_eq!(low_bits(word, nb), want, "start {start}, read {i}");
                } else {
                    assert_eq!(value, want, "start {start}, read {i}");
                }
                bit += nb;
            }
            reader.move_to(8 * first_byte + bit as usize);
            assert_eq!(reader.finish(), expect.finish(), "start {start}");
            assert_eq!(reader.overran(), expect.overran(), "start {start}");
            assert_eq!(reader.read(13), expect.read(13), "start {start}");
        }
    }

    #[test]
    fn detects_overrun_and_leftovers() {
        let bytes = [0xFFu8, 0x01];
        let mut r = BitReader::new(&bytes);
        r.read(9);
        assert_eq!(r.finish(), Ok(()));
        r.read(8);
        assert_eq!(r.finish(), Err(Error::Truncated));
        let r = BitReader::new(&bytes);
        assert_eq!(r.finish(), Err(Error::PayloadCorrupt));
        let mut r = BitReader::new(&bytes);
        r.read(8);
        assert_eq!(r.finish(), Err(Error::PayloadCorrupt));
    }
}

//! Candidate code shapes of the frame loop and the token checksum, each a small
//! `#[no_mangle]` function, compiled for ARMv6-M to count their instructions
//! (`count.sh`). Array sizes are powers of two and indexes are masked so that no
//! bounds check or division blurs the count.
#![no_std]

/// Successor-list entry as today: `u16` LE read from bytes (no alignment known).
#[no_mangle]
pub fn list_u16_bytes(lists: &[u8; 1 << 18], p: u32, rank: u32, k: u32) -> u32 {
    let i = ((2 * ((p & 1023) * k + rank)) & ((1 << 18) - 2)) as usize;
    u16::from_le_bytes([lists[i], lists[i + 1]]) as u32
}

/// Successor-list entry from an aligned `u16` view.
#[no_mangle]
pub fn list_u16_aligned(lists: &[u16; 1 << 17], p: u32, rank: u32, k: u32) -> u32 {
    lists[(((p & 1023) * k + rank) & ((1 << 17) - 1)) as usize] as u32
}

/// Successor-list entry packed in 10 bits, LSB first: entry `i` at bits `10i..10i+10`.
#[no_mangle]
pub fn list_p10(lists: &[u8; 1 << 18], p: u32, rank: u32, k: u32) -> u32 {
    let bit = 10 * ((p & 1023) * k + rank);
    let b = ((bit >> 3) & ((1 << 18) - 2)) as usize;
    ((lists[b] as u32 | (lists[b + 1] as u32) << 8) >> (bit & 7)) & 1023
}

/// One decode step with a 32-bit entry (base 0-15, symbol 16-20, nb 27-31): new state
/// from the window bits, class, bit count.
#[no_mangle]
pub fn step_entry32(img: &[u32; 1 << 14], ctx: u32, state: u32, bits: u32, out: &mut [u32; 3]) {
    let e = img[(((ctx << 7) + state) & ((1 << 14) - 1)) as usize];
    let nb = e >> 27;
    out[0] = (e & 0xFFFF) + (bits & !(u32::MAX << nb));
    out[1] = (e >> 16) & 0x1F;
    out[2] = nb;
}

/// The same with a 16-bit entry (base 0-7, nb 8-10, symbol 11-15).
#[no_mangle]
pub fn step_entry16(img: &[u16; 1 << 14], ctx: u32, state: u32, bits: u32, out: &mut [u32; 3]) {
    let e = img[(((ctx << 7) + state) & ((1 << 14) - 1)) as usize] as u32;
    let nb = (e >> 8) & 7;
    out[0] = (e & 0xFF) + (bits & !(u32::MAX << nb));
    out[1] = e >> 11;
    out[2] = nb;
}

/// Bit window at `bit` as today: four byte loads.
#[no_mangle]
pub fn window_bytes(w: &[u8; 1 << 12], bit: u32) -> u32 {
    let i = ((bit >> 3) & ((1 << 12) - 4)) as usize;
    u32::from_le_bytes([w[i], w[i + 1], w[i + 2], w[i + 3]]) >> (bit & 7)
}

/// Bit window at `bit` from two aligned words.
#[no_mangle]
pub fn window_words(w: &[u32; 1 << 10], bit: u32) -> u32 {
    let i = ((bit >> 5) & ((1 << 10) - 2)) as usize;
    let s = bit & 31;
    let hi = if s == 0 { 0 } else { w[i + 1] << (32 - s) };
    (w[i] >> s) | hi
}

/// CRC-32 (ISO-HDLC) byte-wise table.
static CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut b = 0;
        while b < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
            b += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Token CRC over one frame, byte-wise (1 KiB table), two tokens per step.
#[no_mangle]
pub fn crc_bytewise(mut crc: u32, tokens: &[u16; 128]) -> u32 {
    for pair in tokens.chunks_exact(2) {
        crc ^= pair[0] as u32 | (pair[1] as u32) << 16;
        for _ in 0..4 {
            crc = (crc >> 8) ^ CRC_TABLE[(crc & 0xFF) as usize];
        }
    }
    crc
}

/// A Fletcher-style pair of sums over one frame (what a cheaper check would cost).
#[no_mangle]
pub fn sums(mut a: u32, mut b: u32, tokens: &[u16; 128]) -> (u32, u32) {
    for &t in tokens {
        a += t as u32;
        b += a;
    }
    (a, b)
}

//! The wire protocol between a decoding device and its host over a serial link
//! (the firmware's streaming mode and `host-tools link`).
//!
//! The host sends streams back to back (each a container header and its
//! payload, nothing between them) but only as far as the device has asked
//! for: the device reads its UART only while it waits inside a read, and a
//! real UART holds one byte (a few in a FIFO), so bytes sent while the device
//! decodes or sends would be lost. The device therefore pulls: before each
//! read it sends a [`Message::Request`] naming the session offset up to which
//! it now has room, and the host never sends past the highest offset asked
//! for. Offsets are absolute (bytes since the session's first byte), so a
//! request sent twice, or re-sent because the host was not listening yet, asks
//! for nothing more.
//!
//! The device answers each checksum group, once it has verified it, with a
//! [`Message::Group`] header followed by that many frames of 128 `u16`
//! little-endian tokens, and after its first failure sends a
//! [`Message::Failed`] and nothing more in the session.
//!
//! Device to host, each message a tag byte then its fields, little-endian:
//!
//! | tag   | fields                      | meaning                                              |
//! |-------|-----------------------------|------------------------------------------------------|
//! | `'R'` | `u64` offset                | send the session's bytes up to this offset (exclusive) |
//! | `'G'` | `u16` frames, then the frames | a verified group: `frames` x 256 bytes follow       |
//! | `'F'` | `u32` group                 | failed in this group ([`NO_GROUP`]: before any group, e.g. its header or table set); nothing follows |
//!
//! Host to device: the session's bytes, never past the highest requested
//! offset. Everything here is `no_std` and allocation-free.

/// Tag of [`Message::Request`].
pub const REQUEST: u8 = b'R';
/// Tag of [`Message::Group`].
pub const GROUP: u8 = b'G';
/// Tag of [`Message::Failed`].
pub const FAILED: u8 = b'F';
/// The group of a [`Message::Failed`] that came before the stream's first
/// group (its header was bad, or no table set has its id).
pub const NO_GROUP: u32 = u32::MAX;
/// Bytes of one frame of tokens on the link (128 `u16`).
pub const FRAME_BYTES: usize = 256;
/// The longest message header (tag and fields, without a group's frames).
pub const MAX_HEADER: usize = 9;

/// A message from the device (without a group's frames, which follow it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// The device has room for the session's bytes up to `upto` (exclusive).
    Request { upto: u64 },
    /// A verified group of `frames` frames follows.
    Group { frames: u16 },
    /// Decoding failed in `group` ([`NO_GROUP`] before the first group); the
    /// device sends nothing more.
    Failed { group: u32 },
}

/// What [`Message::parse`] makes of the bytes it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// A message, and how many bytes it took.
    Message(Message, usize),
    /// The bytes begin a message but do not hold all of it: at least this
    /// many bytes are needed.
    Incomplete(usize),
    /// The first byte is no message tag: not this protocol (an older
    /// firmware, or line noise).
    Unknown(u8),
}

impl Message {
    /// The message's bytes: the first [`Message::len`] of the array.
    pub fn to_bytes(self) -> [u8; MAX_HEADER] {
        let mut out = [0u8; MAX_HEADER];
        match self {
            Message::Request { upto } => {
                out[0] = REQUEST;
                out[1..9].copy_from_slice(&upto.to_le_bytes());
            }
            Message::Group { frames } => {
                out[0] = GROUP;
                out[1..3].copy_from_slice(&frames.to_le_bytes());
            }
            Message::Failed { group } => {
                out[0] = FAILED;
                out[1..5].copy_from_slice(&group.to_le_bytes());
            }
        }
        out
    }

    /// The number of bytes of the message (tag and fields).
    pub const fn len(self) -> usize {
        match self {
            Message::Request { .. } => 9,
            Message::Group { .. } => 3,
            Message::Failed { .. } => 5,
        }
    }

    /// Never true: a message has at least its tag (for clippy's `len`
    /// convention).
    pub const fn is_empty(self) -> bool {
        false
    }

    /// Reads the message at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Parsed {
        let Some(&tag) = bytes.first() else {
            return Parsed::Incomplete(1);
        };
        let need = match tag {
            REQUEST => 9,
            GROUP => 3,
            FAILED => 5,
            other => return Parsed::Unknown(other),
        };
        let Some(fields) = bytes.get(1..need) else {
            return Parsed::Incomplete(need);
        };
        let message = match tag {
            REQUEST => Message::Request { upto: u64::from_le_bytes(fields.try_into().unwrap_or([0; 8])) },
            GROUP => Message::Group { frames: u16::from_le_bytes([fields[0], fields[1]]) },
            _ => Message::Failed { group: u32::from_le_bytes([fields[0], fields[1], fields[2], fields[3]]) },
        };
        Parsed::Message(message, need)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_reads_back_from_its_bytes() {
        for m in [
            Message::Request { upto: 0 },
            Message::Request { upto: 0x0102_0304_0506_0708 },
            Message::Group { frames: 20 },
            Message::Failed { group: 7 },
            Message::Failed { group: NO_GROUP },
        ] {
            let bytes = m.to_bytes();
            assert_eq!(Message::parse(&bytes[..m.len()]), Parsed::Message(m, m.len()));
            for cut in 0..m.len() {
                let need = if cut == 0 { 1 } else { m.len() };
                assert_eq!(Message::parse(&bytes[..cut]), Parsed::Incomplete(need));
            }
        }
        assert_eq!(Message::parse(&[0x41, 0, 0]), Parsed::Unknown(0x41));
    }
}

//! What `build.rs` put in flash: the segments to decode (table set, compiled
//! decode-table image, encoded stream), or the table sets for streams that
//! arrive over the link, and the placeholder payload used when the build has
//! neither; and how much RAM it reserved for copies of the table sets.

use vqtans::tans::decode_table::DecodeEntry;

/// One segment embedded in flash.
pub struct Segment {
    /// The stream's file stem, for the log.
    pub name: &'static str,
    /// Table-set blob (postcard), as `host-tools build-tables` wrote it.
    pub tables: &'static [u8],
    /// Compiled decode tables of `tables`: little-endian `u32` words, 4-byte
    /// aligned (made by `build.rs` with the host build of the codec).
    pub image: &'static [u8],
    /// The encoded segment, as `host-tools encode` wrote it.
    pub stream: &'static [u8],
}

/// A table set in flash for streams that arrive over the link.
pub struct TableBlob {
    /// The table-set file's stem, for the log.
    pub name: &'static str,
    /// Table-set blob (postcard).
    pub tables: &'static [u8],
    /// Its compiled decode tables, as in [`Segment::image`].
    pub image: &'static [u8],
}

/// Gives `include_bytes!` data 4-byte alignment (used by the generated list;
/// unused in a build without segments).
#[allow(dead_code)]
#[repr(C, align(4))]
struct Aligned<T: ?Sized>(T);

/// The segments, in the order given to the build (`VQTANS_FW_TABLES` /
/// `VQTANS_FW_STREAM`); empty when the build named none.
pub static SEGMENTS: &[Segment] = include!(concat!(env!("OUT_DIR"), "/segments.rs"));

/// The table sets for streams received over UART0 (`VQTANS_FW_LINK_TABLES`);
/// empty unless the build is for the streaming mode.
pub static LINK_TABLES: &[TableBlob] = include!(concat!(env!("OUT_DIR"), "/link_tables.rs"));

include!(concat!(env!("OUT_DIR"), "/placement.rs"));

/// Sent out of UART0 when there is no segment: 565 bytes covering every byte
/// value, so the UART path is tested byte-exactly on its own.
pub static PLACEHOLDER: &[u8] = include_bytes!("../data/placeholder.bin");

/// Flash bytes of everything embedded for decoding: table sets, compiled
/// images and streams.
pub fn embedded_bytes() -> usize {
    let segments: usize = SEGMENTS.iter().map(|s| s.tables.len() + s.image.len() + s.stream.len()).sum();
    let link: usize = LINK_TABLES.iter().map(|t| t.tables.len() + t.image.len()).sum();
    segments + link
}

/// Views a compiled image as decode entries, or `None` if `bytes` is not
/// 4-byte aligned or not a whole number of words.
pub fn image_words(bytes: &'static [u8]) -> Option<&'static [DecodeEntry]> {
    #[cfg(not(target_endian = "little"))]
    compile_error!("the image holds little-endian words");
    DecodeEntry::slice_from_bytes(bytes)
}

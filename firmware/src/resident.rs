//! Where the decoder reads its tables from: RAM or flash.
//!
//! Flash on a real part costs wait states on every random read (5-6 at full
//! clock on an STM32F4, with a few cache lines), and the decoder reads the
//! compiled image and the successor lists at random. When the table sets and
//! their images fit the board's RAM budget for them
//! (`boards::Board::tables_ram_budget`), `build.rs` reserves that much RAM
//! ([`TABLES_RAM_BYTES`]) and the firmware copies each table set there before
//! it loads it, as a real device would at boot: every decode read of tables
//! then goes to RAM. Otherwise (the microbit: 16 KiB of RAM) they stay in
//! flash. The code, and the codec's small constant tables (token CRC, context
//! bases: ~5 KiB), stay in flash either way.
//!
//! QEMU models no wait states, so instruction counts are the same both ways
//! (`decode.rs` measures both to show it); the point is the real device.

use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::segments::TABLES_RAM_BYTES;

/// The RAM reserved for table sets, word aligned (zeroed with `.bss`).
#[repr(C, align(4))]
struct Arena([u8; TABLES_RAM_BYTES]);

static mut ARENA: Arena = Arena([0; TABLES_RAM_BYTES]);
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Where a table set is read from while decoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Copied to RAM at boot.
    Ram,
    /// In flash, where the build put it.
    Flash,
}

impl defmt::Format for Place {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Place::Ram => defmt::write!(f, "RAM"),
            Place::Flash => defmt::write!(f, "flash"),
        }
    }
}

/// A table set and its compiled image where the decoder reads them.
#[derive(Clone, Copy)]
pub struct Placed {
    /// The table-set blob.
    pub tables: &'static [u8],
    /// The compiled image, 4-byte aligned.
    pub image: &'static [u8],
    /// Where both are.
    pub place: Place,
}

/// The RAM for table sets: hands out copies until it is used up.
pub struct Resident {
    free: &'static mut [u8],
}

impl Resident {
    /// The RAM reserved for table sets; `None` after the first call.
    pub fn take() -> Option<Self> {
        let first = cortex_m::interrupt::free(|_| {
            let first = !TAKEN.load(Ordering::Relaxed);
            TAKEN.store(true, Ordering::Relaxed);
            first
        });
        // SAFETY: the only reference to ARENA ever made, once (TAKEN).
        first.then(|| Resident { free: unsafe { &mut (*addr_of_mut!(ARENA)).0 } })
    }

    /// Bytes reserved in all (0: the tables stay in flash).
    pub fn capacity() -> usize {
        TABLES_RAM_BYTES
    }

    /// The table set `tables` with its compiled `image` (both in flash)
    /// where the decoder should read them: copies in RAM if the build
    /// reserved RAM for table sets and this one still fits, else the flash
    /// ones.
    pub fn place(&mut self, tables: &'static [u8], image: &'static [u8]) -> Placed {
        let need = tables.len().next_multiple_of(4) + image.len().next_multiple_of(4);
        if need > self.free.len() {
            return Placed { tables, image, place: Place::Flash };
        }
        let (tables, image) = (self.copy(tables), self.copy(image));
        Placed { tables, image, place: Place::Ram }
    }

    /// Copies `bytes` to the front of the free RAM (which fits them), keeping
    /// the rest word aligned.
    fn copy(&mut self, bytes: &[u8]) -> &'static [u8] {
        let free = core::mem::take(&mut self.free);
        let (dst, rest) = free.split_at_mut(bytes.len().next_multiple_of(4));
        self.free = rest;
        dst[..bytes.len()].copy_from_slice(bytes);
        &dst[..bytes.len()]
    }
}

//! The boards (QEMU machines) the firmware is built for, and the memory
//! budgets of each: the one place for these figures. `build.rs` includes this
//! file too (it refuses table sets over the flash budget and decides where
//! the tables live); the firmware logs and checks against the same values.
//!
//! The board follows from the build target: `thumbv7em-none-eabihf` is the
//! `mps2-an386` (Cortex-M4F), `thumbv6m-none-eabi` the `microbit`
//! (nRF51822, Cortex-M0). `build.rs` sets `cfg(board = "...")` accordingly.

/// One board: memory sizes, what the firmware keeps for itself, the clock.
#[derive(Debug)]
pub struct Board {
    /// QEMU machine name (`qemu-system-arm -machine`), also the `board` cfg value.
    pub name: &'static str,
    /// The Rust target its core needs.
    pub target: &'static str,
    /// Code memory in bytes (flash, or on the mps2 the SSRAM used as flash).
    pub flash_bytes: usize,
    /// Data RAM in bytes.
    pub ram_bytes: usize,
    /// Flash kept for the firmware itself (vectors, code, constants, defmt
    /// strings): everything the device stores for decoding must fit the rest,
    /// [`Board::flash_budget`].
    pub code_reserve: usize,
    /// RAM that table sets may take when they are copied from flash at boot:
    /// what is left after the stack (decoder state, buffers) and the
    /// firmware's statics. Zero where nothing fits.
    pub tables_ram_budget: usize,
    /// RAM the decoder may use when decoding a stream in flash (state,
    /// frame buffers and stack), checked on the device.
    pub decode_ram_budget: usize,
    /// RAM the streaming path may use (decoder state, input buffer, held
    /// frames, output buffer and stack), checked on the device.
    pub link_ram_budget: usize,
    /// Core clock in Hz (SysTick counts it).
    pub core_clock_hz: u32,
}

impl Board {
    /// Flash for table sets, their compiled images and any stream kept in
    /// flash: flash minus the code reserve.
    pub const fn flash_budget(&self) -> usize {
        self.flash_bytes - self.code_reserve
    }
}

/// QEMU `mps2-an386` (same map as AN385): Cortex-M4F at 25 MHz. Checked
/// against QEMU 7.2 `info mtree`: 0x0000_0000..0x003f_ffff ZBT SSRAM1 (4 MiB,
/// code memory, used as flash), 0x2000_0000..0x203f_ffff ZBT SSRAM2&3 (4 MiB,
/// data memory); 0x0040_0000 and 0x2040_0000 are mirrors, 0x2100_0000 is
/// 16 MiB PSRAM (unused); CMSDK UART0 at 0x4000_4000, UART1 at 0x4000_5000.
pub const MPS2_AN386: Board = Board {
    name: "mps2-an386",
    target: "thumbv7em-none-eabihf",
    flash_bytes: 4 << 20,
    ram_bytes: 4 << 20,
    // The firmware's code and constants are ~70 KB here (checked at boot).
    code_reserve: 256 << 10,
    // 1 MiB for the stack, the profiler's histogram (32 KiB) and the
    // kernel-check buffer (192 KiB).
    tables_ram_budget: 3 << 20,
    decode_ram_budget: 32 << 10,
    link_ram_budget: 16 << 10,
    core_clock_hz: 25_000_000,
};

/// QEMU `microbit` (BBC micro:bit v1): nRF51822, Cortex-M0 at 16 MHz.
/// Checked against QEMU 7.2 `info mtree`: 0x0000_0000..0x0003_ffff
/// `nrf51_soc.flash` (256 KiB), 0x2000_0000..0x2000_3fff `nrf51.sram`
/// (16 KiB), UART at 0x4000_2000, TIMER0-2 at 0x4000_8000.., SysTick at
/// 0xe000_e010 (QEMU's ARMv7-M container always provides one; the real
/// nRF51 has none, and would be timed with TIMER0 instead).
pub const MICROBIT: Board = Board {
    name: "microbit",
    target: "thumbv6m-none-eabi",
    flash_bytes: 256 << 10,
    ram_bytes: 16 << 10,
    // The firmware's code and constants are ~66 KB here (checked at boot).
    code_reserve: 72 << 10,
    // 16 KiB of RAM: the streaming path alone takes ~12 KiB.
    tables_ram_budget: 0,
    decode_ram_budget: 8 << 10,
    // What is left of 16 KiB after the frames below it (~1.5 KiB) and the
    // statics (28 B).
    link_ram_budget: 14 << 10,
    core_clock_hz: 16_000_000,
};

/// Every board, for `build.rs`.
#[allow(dead_code)]
pub const ALL: [&Board; 2] = [&MPS2_AN386, &MICROBIT];

/// The board this firmware is built for.
#[cfg(board = "mps2-an386")]
#[allow(dead_code)]
pub const BOARD: &Board = &MPS2_AN386;
/// The board this firmware is built for.
#[cfg(board = "microbit")]
#[allow(dead_code)]
pub const BOARD: &Board = &MICROBIT;

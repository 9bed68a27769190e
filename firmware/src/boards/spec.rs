//! The boards the firmware is built for and the figures of each: memory map,
//! memory budgets, core clock, how it is flashed and run. The one place for
//! these figures: `build.rs` includes this file too (it writes the linker's
//! `memory.x` from it, refuses table sets over the flash budget and decides
//! where the tables live); the firmware logs and checks against the same
//! values.
//!
//! The board is chosen by a cargo feature of the same name, never from the
//! target triple (`build.rs` checks the triple against [`Board::target`]).
//! How each board's image is run (QEMU, or `probe-rs run --chip <chip>`) is
//! in `run.sh`, the cargo runner.

/// One board: memory sizes, what the firmware keeps for itself, the clock.
#[derive(Debug)]
pub struct Board {
    /// The board's name: its cargo feature and the `board` cfg value.
    pub name: &'static str,
    /// The Rust target its core needs.
    pub target: &'static str,
    /// Address of the code memory (flash).
    pub flash_origin: usize,
    /// Code memory in bytes (flash, or on the mps2 the SSRAM used as flash).
    pub flash_bytes: usize,
    /// Address of the data RAM.
    pub ram_origin: usize,
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
    /// Core clock in Hz.
    pub core_clock_hz: u32,
    /// What the firmware's clock counts: its ticks, for the log
    /// (`SysTick ticks`, `TIMER0 ticks`, `DWT cycles`).
    pub ticks: &'static str,
    /// Ticks of the clock per second.
    pub tick_hz: u32,
    /// True if the board runs in QEMU under `-icount shift=0`, where guest
    /// instructions are counted exactly and the instruction bounds of
    /// `checks` apply; on hardware the clock counts time (DWT: cycles).
    pub counts_instructions: bool,
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
/// The QEMU reference board: nobody owns one (it is an FPGA image).
pub const MPS2_AN386: Board = Board {
    name: "mps2-an386",
    target: "thumbv7em-none-eabihf",
    flash_origin: 0,
    flash_bytes: 4 << 20,
    ram_origin: 0x2000_0000,
    ram_bytes: 4 << 20,
    // The firmware's code and constants are ~85 KB here (checked at boot).
    code_reserve: 256 << 10,
    // 1 MiB for the stack, the profiler's histogram (32 KiB) and the
    // kernel-check buffer (192 KiB).
    tables_ram_budget: 3 << 20,
    decode_ram_budget: 32 << 10,
    link_ram_budget: 16 << 10,
    core_clock_hz: 25_000_000,
    ticks: "SysTick ticks",
    tick_hz: 25_000_000,
    counts_instructions: true,
};

/// BBC micro:bit v1: nRF51822 (QFAA), Cortex-M0 at 16 MHz, 256 KiB flash,
/// 16 KiB RAM; QEMU `microbit` models it. Checked against QEMU 7.2
/// `info mtree`: 0x0000_0000..0x0003_ffff `nrf51_soc.flash`,
/// 0x2000_0000..0x2000_3fff `nrf51.sram`, UART at 0x4000_2000, TIMER0-2 at
/// 0x4000_8000... One image runs in QEMU and on the board.
pub const MICROBIT_V1: Board = Board {
    name: "microbit-v1",
    target: "thumbv6m-none-eabi",
    flash_origin: 0,
    flash_bytes: 256 << 10,
    ram_origin: 0x2000_0000,
    ram_bytes: 16 << 10,
    // The firmware's code and constants are ~66 KB here (checked at boot).
    code_reserve: 72 << 10,
    // 16 KiB of RAM: the streaming path alone takes ~12 KiB.
    tables_ram_budget: 0,
    decode_ram_budget: 8 << 10,
    // What is left of 16 KiB after the frames below it (~1.5 KiB) and the
    // statics.
    link_ram_budget: 14 << 10,
    core_clock_hz: 16_000_000,
    ticks: "TIMER0 ticks",
    tick_hz: 16_000_000,
    counts_instructions: true,
};

/// Nordic nRF52840-DK (PCA10056): nRF52840, Cortex-M4F at 64 MHz, 1 MiB
/// flash, 256 KiB RAM (nRF52840 Product Specification, "Memory").
pub const NRF52840_DK: Board = Board {
    name: "nrf52840-dk",
    target: "thumbv7em-none-eabihf",
    flash_origin: 0,
    flash_bytes: 1 << 20,
    ram_origin: 0x2000_0000,
    ram_bytes: 256 << 10,
    code_reserve: 128 << 10,
    // 256 KiB: 64 KiB for the stack, the statics and the RTT buffer; the
    // 128 KiB table set fits with its image.
    tables_ram_budget: 192 << 10,
    decode_ram_budget: 32 << 10,
    link_ram_budget: 16 << 10,
    core_clock_hz: 64_000_000,
    ticks: "DWT cycles",
    tick_hz: 64_000_000,
    counts_instructions: false,
};

/// ST Nucleo-F446RE: STM32F446RE, Cortex-M4F at 180 MHz (from the ST-LINK's
/// 8 MHz clock output), 512 KiB flash at 0x0800_0000, 128 KiB RAM
/// (RM0390, "Memory map"; SRAM1 112 KiB + SRAM2 16 KiB, contiguous).
pub const NUCLEO_F446RE: Board = Board {
    name: "nucleo-f446re",
    target: "thumbv7em-none-eabihf",
    flash_origin: 0x0800_0000,
    flash_bytes: 512 << 10,
    ram_origin: 0x2000_0000,
    ram_bytes: 128 << 10,
    code_reserve: 128 << 10,
    // 128 KiB: 48 KiB for the stack, the statics and the RTT buffer; its
    // 64 KiB table set fits with its image.
    tables_ram_budget: 80 << 10,
    decode_ram_budget: 32 << 10,
    link_ram_budget: 16 << 10,
    core_clock_hz: 180_000_000,
    ticks: "DWT cycles",
    tick_hz: 180_000_000,
    counts_instructions: false,
};

/// Every board, for `build.rs` and `build-boards.sh`.
#[allow(dead_code)]
pub const ALL: [&Board; 4] = [&MPS2_AN386, &MICROBIT_V1, &NRF52840_DK, &NUCLEO_F446RE];

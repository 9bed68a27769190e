//! RAM accounting: stack painting and high-water mark, static RAM use and
//! the size of individual objects.
//!
//! Stack painting is done in assembly, between the stack's lowest address
//! (`_stack_end`) and the current stack pointer. Nothing below the stack
//! pointer belongs to any Rust object, so writing there is sound; an
//! interrupt that fires during the painting uses the region below the stack
//! pointer and is simply painted over afterwards (its use before painting is
//! not counted). The scan is assembly as well, so no Rust reference ever
//! points at unowned memory.

use core::arch::asm;
use core::ptr::addr_of;

/// Word written over the free stack.
const PAINT: u32 = 0x5CA1_AB1E;

extern "C" {
    /// Lowest address of the stack region (cortex-m-rt / flip-link).
    static _stack_end: u32;
    /// Initial stack pointer: the top of the stack region.
    static _stack_start: u32;
    /// Start of `.data`: the first statically allocated RAM byte.
    static __sdata: u32;
    /// End of `.uninit`: the last statically allocated RAM byte plus one.
    static __euninit: u32;
    /// End of `.data` in RAM.
    static __edata: u32;
    /// Where `.data`'s initial values start in flash (after `.rodata`).
    static __sidata: u32;
}

fn stack_bottom() -> usize {
    (addr_of!(_stack_end) as usize + 3) & !3
}

fn stack_top() -> usize {
    addr_of!(_stack_start) as usize
}

/// Fills the free part of the stack with a pattern; returns bytes painted.
///
/// Call it first thing in `main`; the high-water mark then covers
/// everything that runs afterwards.
pub fn paint_stack() -> usize {
    let bottom = stack_bottom();
    let end: usize;
    // SAFETY: writes only words in [bottom, sp), memory no Rust object owns
    // (see module docs); uses no stack itself.
    unsafe {
        asm!(
            "mov {end}, sp",
            "2:",
            "cmp {p}, {end}",
            "bhs 3f",
            "str {pat}, [{p}]",
            "adds {p}, {p}, #4",
            "b 2b",
            "3:",
            p = inout(reg) bottom => _,
            end = out(reg) end,
            pat = in(reg) PAINT,
            options(nostack),
        );
    }
    end.saturating_sub(bottom)
}

/// Lowest stack address that was ever written since [`paint_stack`].
pub fn stack_low_water() -> usize {
    let mut p = stack_bottom();
    // SAFETY: reads only words in [bottom, sp); uses no stack itself.
    unsafe {
        asm!(
            "mov {end}, sp",
            "2:",
            "cmp {p}, {end}",
            "bhs 3f",
            "ldr {w}, [{p}]",
            "cmp {w}, {pat}",
            "bne 3f",
            "adds {p}, {p}, #4",
            "b 2b",
            "3:",
            p = inout(reg) p,
            end = out(reg) _,
            w = out(reg) _,
            pat = in(reg) PAINT,
            options(nostack, readonly),
        );
    }
    p
}

/// Current stack pointer.
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register.
    unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}

/// Runs `f` and returns its result with the peak stack bytes it used
/// (measured from the caller's stack pointer, so it includes the closure's
/// call frame). Repaints the free stack first, which also resets the
/// high-water mark of [`stack_peak`] to what runs from here on.
pub fn measure_stack<R>(f: impl FnOnce() -> R) -> (R, usize) {
    paint_stack();
    let base = stack_pointer();
    let result = call_outlined(f);
    (result, base.saturating_sub(stack_low_water()))
}

/// Calls `f` in a frame of its own. Without this, `f`'s locals could be
/// inlined into the caller's frame, which exists before the painting.
#[inline(never)]
fn call_outlined<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Peak stack use in bytes since [`paint_stack`].
pub fn stack_peak() -> usize {
    stack_top() - stack_low_water()
}

/// Logs the stack high-water mark; warns if the whole stack was used.
pub fn report_stack() {
    let low = stack_low_water();
    let size = stack_top() - stack_bottom();
    defmt::info!("stack: peak {=usize} bytes of {=usize} (lowest touched {=usize:#010x})", stack_peak(), size, low);
    if low <= stack_bottom() {
        defmt::warn!("stack: no painted word left; the stack may have overflowed");
    }
}

/// Logs the statically allocated RAM (`.data` + `.bss` + `.uninit`), and
/// how much of it is the RAM reserved for table sets (`resident`).
pub fn report_statics() {
    let (start, end) = (addr_of!(__sdata) as usize, addr_of!(__euninit) as usize);
    defmt::info!(
        "static RAM: {=usize} bytes, of which {=usize} for table sets copied from flash",
        end - start,
        crate::resident::Resident::capacity()
    );
}

/// Flash bytes the image takes: vectors, code, constants (the embedded
/// table sets and streams among them) and `.data`'s initial values, from
/// the start of the board's flash.
pub fn flash_used() -> usize {
    let end = addr_of!(__sidata) as usize + (addr_of!(__edata) as usize - addr_of!(__sdata) as usize);
    end - crate::boards::BOARD.flash_origin
}

/// Logs `core::mem::size_of::<T>()`: the RAM one `T` takes (as a static or on
/// the stack), not counting anything it points to.
pub fn report_size<T>(name: &str) {
    defmt::info!("size_of {=str}: {=usize} bytes", name, core::mem::size_of::<T>());
}

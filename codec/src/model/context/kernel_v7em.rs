//! The context model's frame loop in Thumb-2 assembly for ARMv7E-M cores
//! (Cortex-M4, M7), for table sets of state log 10 with 32-bit entries, `u16`
//! successor lists and one class table per context (what `build-tables` makes by
//! default; any successor list length). Other sets (a context map, 10-bit lists,
//! 16-bit entries, another state log) go through the portable loop. It does exactly what the portable loop in
//! [`super::decode`] does ([`ContextState::decode_rows`](super::ContextState)), with
//! about a quarter fewer instructions: a Cortex-M4 has 13 free registers, and the
//! portable code, compiled, keeps reloading pointers and constants that here stay in
//! registers, with the 16 columns unrolled so that every per-column address is an
//! immediate offset.
//!
//! Built only for `thumbv7em` targets (the build script sets `vqtans_v7em`). The
//! firmware's QEMU tests decode the real segments with it and compare it, result for
//! result, with the portable loop on damaged streams.
//!
//! Memory safety rests on checks inside the kernel, not on well-formed input: the
//! table index is compared with the image length, the successor index with the lists'
//! length (passed with them), the window offset is masked to the window, the class to
//! the 32-entry class information, and every other address comes from the row and
//! column counters.
#![allow(unsafe_code)]

use super::contexts::{KindPlanes, CONTEXTS};
use super::decode::RowsDone;
use super::own_lists::OwnLists;
use crate::container::{COLS, FRAME_TOKENS, ROWS};
use crate::tans::bits::{WINDOW_BYTES, WINDOW_SPAN};
use crate::tans::decode_table::DecodeEntry;

/// State log the kernel is written for.
pub(crate) const STATE_LOG: u32 = 10;
/// Entries of the compiled image (`CONTEXTS << STATE_LOG`).
pub(crate) const IMAGE_LEN: usize = CONTEXTS << STATE_LOG;

// The constants below are written into the assembly.
const _: () = assert!(IMAGE_LEN == 102_400);
const _: () = assert!(ROWS == 8 && COLS == 16 && FRAME_TOKENS == 128 && WINDOW_SPAN == 512 && WINDOW_BYTES >= 516);
const _: () = assert!(core::mem::size_of::<OwnLists>() == 8 * FRAME_TOKENS);
const _: () = assert!(
    core::mem::offset_of!(KindPlanes, kinds) == 0 && core::mem::offset_of!(KindPlanes, cidx) == COLS + FRAME_TOKENS
);
const _: () = assert!(core::mem::offset_of!(KernelArgs, bit) == 28 && core::mem::offset_of!(KernelArgs, out) == 40);
const _: () =
    assert!(core::mem::offset_of!(KernelArgs, k) == 44 && core::mem::offset_of!(KernelArgs, list_entries) == 48);

/// What the kernel reads and writes; field offsets are fixed in the assembly.
#[repr(C)]
struct KernelArgs {
    /// Own lists: 128 x `[lo, hi]` words.
    own: *mut u32,
    /// The [`BitWindow`](crate::tans::bits::BitWindow) bytes (516).
    window: *const u8,
    /// The compiled image ([`IMAGE_LEN`] entries).
    words: *const u32,
    /// Successor lists (`2 * list_entries` bytes, little-endian `u16`s, any alignment).
    successors: *const u8,
    /// Class information, 32 words.
    info: *const u32,
    /// `CTX_BASE`, 256 bytes.
    ctx_base: *const u8,
    /// Kind planes: kinds (144 bytes), then context indexes (128 bytes).
    kinds: *mut u8,
    /// Bit offset in the window, in and out.
    bit: u32,
    /// Own-list tokens taken, OR-ed (out).
    taken: u32,
    /// The 16 coder states, in and out.
    states: *mut u32,
    /// The frame's 128 tokens (out).
    out: *mut u16,
    /// Successor list length.
    k: u32,
    /// Entries in all the successor lists (`1024 * k`).
    list_entries: u32,
}

extern "C" {
    /// Decodes the 8 rows of a frame >= 1. Returns 0, or 1 if a table index fell
    /// outside the image (impossible with a valid image; the frame is then
    /// abandoned).
    fn vqtans_v7em_rows(args: *mut KernelArgs) -> u32;
}

/// Decodes the rows of a frame >= 1 like the portable loop, for a table set of
/// state log 10 (the image's type carries its size) with successor lists of `k`
/// (`successors` holds exactly `1024 * k` entries), and writes the frame's tokens to
/// `out`. `None` if `successors` does not have that length.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_rows(
    own: &mut OwnLists,
    kinds: &mut KindPlanes,
    states: &mut [u32; COLS],
    window: &[u8; WINDOW_BYTES],
    bit: u32,
    words: &[DecodeEntry; IMAGE_LEN],
    successors: &[u8],
    k: u32,
    info: &[u32; 32],
    ctx_base: &[u8; 256],
    out: &mut [u16; FRAME_TOKENS],
) -> Option<RowsDone> {
    let list_entries = 1024 * k;
    if successors.len() != 2 * list_entries as usize {
        return None;
    }
    let mut args = KernelArgs {
        own: own.words_mut().as_mut_ptr() as *mut u32,
        window: window.as_ptr(),
        words: words.as_ptr() as *const u32,
        successors: successors.as_ptr(),
        info: info.as_ptr(),
        ctx_base: ctx_base.as_ptr(),
        kinds: kinds as *mut KindPlanes as *mut u8,
        bit,
        taken: 0,
        states: states.as_mut_ptr(),
        out: out.as_mut_ptr(),
        k,
        list_entries,
    };
    // SAFETY: every pointer comes from a live borrow of the size the kernel assumes
    // (the types, the length check and the assertions above fix them); the kernel
    // only writes the own lists, the kinds (not the context indexes), the states,
    // `out` and `args`, and checks every data-dependent index against its array
    // (module docs).
    let status = unsafe { vqtans_v7em_rows(&mut args) };
    Some(RowsDone { bit: args.bit, taken: args.taken, ok: status == 0 })
}

// Registers in the row loop:
//   r0  bit offset in the window        r1  window
//   r2  image                           r3  tokens of the row (out)
//   r4  own lists of the row            r5  kind planes + 16 * row
//   r8  CTX_BASE
//   r6 r7 r9 r10 r11 r12 lr  scratch
// Stack: [sp, #0..64) states, [sp, #64] taken, [sp, #68] info, [sp, #72] successor
// lists, [sp, #76] args, [sp, #80] kind planes + 128 (where the rows end), [sp, #84]
// k, [sp, #88] entries in the successor lists.
core::arch::global_asm!(
    r#"
    .syntax unified
    .thumb
    .text
    .p2align 2
    .global vqtans_v7em_rows
    .type vqtans_v7em_rows, %function
    .thumb_func
vqtans_v7em_rows:
    push    {{r4-r11, lr}}
    sub     sp, sp, #96
    str     r0, [sp, #76]
    ldr     r1, [r0, #36]
    ldm     r1!, {{r2-r9}}
    stm     sp, {{r2-r9}}
    ldm     r1, {{r2-r9}}
    add     r1, sp, #32
    stm     r1, {{r2-r9}}
    movs    r1, #0
    str     r1, [sp, #64]
    ldr     r1, [r0, #16]
    str     r1, [sp, #68]
    ldr     r1, [r0, #12]
    str     r1, [sp, #72]
    ldr     r1, [r0, #44]
    str     r1, [sp, #84]
    ldr     r1, [r0, #48]
    str     r1, [sp, #88]
    ldr     r4, [r0, #0]
    ldr     r1, [r0, #4]
    ldr     r2, [r0, #8]
    ldr     r8, [r0, #20]
    ldr     r5, [r0, #24]
    ldr     r3, [r0, #40]
    ldr     r0, [r0, #28]
    add     r6, r5, #128
    str     r6, [sp, #80]

    .macro VQTANS_COLUMN c
    ldrb    r6, [r5, #(144 + \c)]
    ldrb    r7, [r5, #\c]
    ldr     r10, [sp, #(4 * \c)]
    ldrb    r6, [r8, r6]
    add     r6, r6, r7
    add     r6, r10, r6, lsl #10
    cmp     r6, #102400
    bhs     .Lvqtans_bad_index
    ldr     r6, [r2, r6, lsl #2]
    ubfx    r10, r0, #3, #9
    ldr     r10, [r1, r10]
    and     r11, r0, #7
    lsr     r10, r10, r11
    lsr     r11, r6, #27
    add     r0, r0, r11
    rsb     r12, r11, #32
    lsl     r9, r10, r12
    lsr     r9, r9, r12
    uxtah   r9, r9, r6
    str     r9, [sp, #(4 * \c)]
    ands    r7, r6, #0x1F0000
    bne     1f
    strb    r7, [r5, #(16 + \c)]
    ldrh    r9, [r4, #(8 * \c)]
    strh    r9, [r3, #(2 * \c)]
    b       9f
1:
    lsr     r7, r7, #16
    add     lr, r4, #(8 * \c)
    cmp     r7, #4
    bhs     2f
    movs    r9, #1
    strb    r9, [r5, #(16 + \c)]
    ldrd    r9, r12, [lr]
    cmp     r7, #2
    beq     3f
    bhi     4f
    ror     r9, r9, #16
    str     r9, [lr]
    uxth    r7, r9
    b       5f
3:
    uxth    r7, r12
    pkhtb   r12, r12, r9, asr #16
    orr     r9, r7, r9, lsl #16
    strd    r9, r12, [lr]
    b       5f
4:
    lsr     r7, r12, #16
    lsl     r12, r12, #16
    orr     r12, r12, r9, lsr #16
    orr     r9, r7, r9, lsl #16
    strd    r9, r12, [lr]
5:
    strh    r7, [r3, #(2 * \c)]
    ldr     r9, [sp, #64]
    orr     r9, r9, r7
    str     r9, [sp, #64]
    b       9f
2:
    ldr     r9, [sp, #68]
    ldr     r9, [r9, r7, lsl #2]
    lsr     r10, r10, r11
    ubfx    r11, r9, #4, #4
    add     r0, r0, r11
    rsb     r11, r11, #32
    lsl     r10, r10, r11
    lsr     r10, r10, r11
    ldrd    r7, r12, [lr]
    tst     r9, #1
    bne     6f
    movs    r11, #2
    strb    r11, [r5, #(16 + \c)]
    add     r10, r10, r9, lsr #8
    ubfx    r9, r7, #0, #10
    ldr     r11, [sp, #84]
    mla     r10, r9, r11, r10
    ldr     r11, [sp, #88]
    ldr     r9, [sp, #72]
    cmp     r10, r11
    ite     lo
    ldrhlo  r10, [r9, r10, lsl #1]
    movhs   r10, #0
    b       7f
6:
    movs    r11, #3
    strb    r11, [r5, #(16 + \c)]
7:
    strh    r10, [r3, #(2 * \c)]
    lsl     r12, r12, #16
    orr     r12, r12, r7, lsr #16
    orr     r7, r10, r7, lsl #16
    strd    r7, r12, [lr]
9:
    .endm

.Lvqtans_row:
    VQTANS_COLUMN 0
    VQTANS_COLUMN 1
    VQTANS_COLUMN 2
    VQTANS_COLUMN 3
    VQTANS_COLUMN 4
    VQTANS_COLUMN 5
    VQTANS_COLUMN 6
    VQTANS_COLUMN 7
    VQTANS_COLUMN 8
    VQTANS_COLUMN 9
    VQTANS_COLUMN 10
    VQTANS_COLUMN 11
    VQTANS_COLUMN 12
    VQTANS_COLUMN 13
    VQTANS_COLUMN 14
    VQTANS_COLUMN 15
    add     r4, r4, #128
    add     r5, r5, #16
    add     r3, r3, #32
    ldr     r6, [sp, #80]
    cmp     r5, r6
    bne     .Lvqtans_row
    movs    r6, #0
    b       .Lvqtans_done
.Lvqtans_bad_index:
    movs    r6, #1
.Lvqtans_done:
    ldr     r7, [sp, #76]
    str     r0, [r7, #28]
    ldr     r0, [sp, #64]
    str     r0, [r7, #32]
    ldr     r1, [r7, #36]
    ldm     sp, {{r2-r5, r8-r11}}
    stm     r1!, {{r2-r5, r8-r11}}
    add     r0, sp, #32
    ldm     r0, {{r2-r5, r8-r11}}
    stm     r1, {{r2-r5, r8-r11}}
    mov     r0, r6
    add     sp, sp, #96
    pop     {{r4-r11, pc}}
    .purgem VQTANS_COLUMN
    .size vqtans_v7em_rows, . - vqtans_v7em_rows
"#
);

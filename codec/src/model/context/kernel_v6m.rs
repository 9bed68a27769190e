//! The context model's frame loop in Thumb-1 assembly for ARMv6-M cores (Cortex-M0,
//! M0+, M1), for table sets with 16-bit decode entries and 10-bit packed successor
//! lists (what `build-tables --max-bytes` makes for small budgets: state log at most 8,
//! any list length, any context map). Other sets go through the portable loop. It does
//! exactly what the portable loop in [`super::decode`] does
//! ([`ContextState::decode_rows`](super::ContextState)), in about two thirds of the
//! instructions (on the real segments' frames about 73 instead of 107 per token, the
//! whole decode 93.5 instead of 128.0): compiled for ARMv6-M's 8 low registers, the
//! portable loop spills
//! states, pointers and constants around every token and reads each token's bits from
//! the window with four byte loads, where this loop keeps a 32-bit bit buffer in a
//! register (refilled two bytes at a time, about once every three tokens) and has
//! every per-column address as an immediate offset (the 16 columns of a row
//! unrolled).
//!
//! Built only for `thumbv6m` targets (the build script sets `vqtans_v6m`). The
//! firmware's QEMU tests decode the real segments with it on the `microbit` board and
//! compare it, result for result, with the portable loop on damaged streams.
//!
//! Memory safety rests on checks and masks inside the kernel, not on well-formed
//! input: the context is compared with the context map's length before the map is
//! read, the image index with the image length, the byte offset of a successor-list
//! entry with the lists' length (passed with them), the class (5 bits of an entry)
//! indexes the 32-entry class information, the front token is masked to 10 bits; the
//! bit buffer loads at most three bytes per token (only when it holds at most 16
//! bits), so it never reads past byte 2 + 3 * 128 = 386 of the 516-byte window; every
//! other address comes from the row and column counters.
#![allow(unsafe_code)]

use super::contexts::{KindPlanes, CONTEXTS};
use super::decode::RowsDone;
use super::own_lists::OwnLists;
use crate::container::{COLS, FRAME_TOKENS, ROWS};
use crate::tans::bits::WINDOW_BYTES;
use crate::tans::decode_table::{ShortEntry, SHORT_MAX_STATE_LOG};

/// Largest state log the kernel takes (that of every set with 16-bit entries).
pub(crate) const MAX_STATE_LOG: u8 = SHORT_MAX_STATE_LOG;

// The constants below are written into the assembly.
const _: () = assert!(ROWS == 8 && COLS == 16 && FRAME_TOKENS == 128 && WINDOW_BYTES >= 2 + 3 * FRAME_TOKENS);
const _: () = assert!(CONTEXTS == 100);
const _: () = assert!(core::mem::size_of::<OwnLists>() == 8 * FRAME_TOKENS);
const _: () = assert!(
    core::mem::offset_of!(KindPlanes, kinds) == 0 && core::mem::offset_of!(KindPlanes, cidx) == COLS + FRAME_TOKENS
);
const _: () = assert!(
    core::mem::offset_of!(KernelArgs, image_len) == 12
        && core::mem::offset_of!(KernelArgs, lists_end) == 24
        && core::mem::offset_of!(KernelArgs, bit) == 40
        && core::mem::offset_of!(KernelArgs, out) == 56
        && core::mem::offset_of!(KernelArgs, state_log) == 60
);

/// What the kernel reads and writes; field offsets are fixed in the assembly.
#[repr(C)]
struct KernelArgs {
    /// Own lists: 128 x `[lo, hi]` words.
    own: *mut u32,
    /// The [`BitWindow`](crate::tans::bits::BitWindow) bytes (516).
    window: *const u8,
    /// The compiled image (16-bit entries).
    image: *const u16,
    /// Entries in the image.
    image_len: u32,
    /// The context map: the table of each of the 100 contexts.
    map: *const u8,
    /// Successor lists (10-bit packed, any alignment).
    lists: *const u8,
    /// Bytes in the lists minus one: a two-byte read may start below it.
    lists_end: u32,
    /// Successor list length.
    k: u32,
    /// Class information, 32 words.
    info: *const u32,
    /// `CTX_BASE`, 256 bytes.
    ctx_base: *const u8,
    /// Bit offset in the window: in, the first bit's (0..8); out, after the frame.
    bit: u32,
    /// Own-list tokens taken, OR-ed (out).
    taken: u32,
    /// The 16 coder states, in and out.
    states: *mut u32,
    /// Kind planes: kinds (144 bytes), then context indexes (128 bytes).
    kinds: *mut u8,
    /// The frame's 128 tokens (out).
    out: *mut u16,
    /// State log of the image: table `t` starts at entry `t << state_log`.
    state_log: u32,
}

extern "C" {
    /// Decodes the 8 rows of a frame >= 1. Returns 0, or 1 if a context fell
    /// outside the map or an image index outside the image (impossible with a
    /// valid image; the frame is then abandoned).
    fn vqtans_v6m_rows(args: *mut KernelArgs) -> u32;
}

/// Decodes the rows of a frame >= 1 like the portable loop, for a table set with
/// 16-bit entries (`image`, state log `state_log`), context map `map` and 10-bit
/// packed successor lists of `k` (`successors` holds exactly `1280 * k` bytes), and
/// writes the frame's tokens to `out`. The window's first bit is bit `bit` (`< 8`)
/// of its first byte. `None` if `successors` does not have that length, `bit` or
/// `state_log` is out of range (nothing was read).
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_rows(
    own: &mut OwnLists,
    kinds: &mut KindPlanes,
    states: &mut [u32; COLS],
    window: &[u8; WINDOW_BYTES],
    bit: u32,
    image: &[ShortEntry],
    state_log: u8,
    map: &[u8; CONTEXTS],
    successors: &[u8],
    k: u32,
    info: &[u32; 32],
    ctx_base: &[u8; 256],
    out: &mut [u16; FRAME_TOKENS],
) -> Option<RowsDone> {
    if successors.len() != 1280 * k as usize || successors.len() < 2 || bit >= 8 || state_log > MAX_STATE_LOG {
        return None;
    }
    let image_len = u32::try_from(image.len()).ok()?;
    let mut args = KernelArgs {
        own: own.words_mut().as_mut_ptr() as *mut u32,
        window: window.as_ptr(),
        image: image.as_ptr() as *const u16,
        image_len,
        map: map.as_ptr(),
        lists: successors.as_ptr(),
        lists_end: successors.len() as u32 - 1,
        k,
        info: info.as_ptr(),
        ctx_base: ctx_base.as_ptr(),
        bit,
        taken: 0,
        states: states.as_mut_ptr(),
        kinds: kinds as *mut KindPlanes as *mut u8,
        out: out.as_mut_ptr(),
        state_log: state_log as u32,
    };
    // SAFETY: every pointer comes from a live borrow of the size the kernel assumes
    // (the types, the checks above and the assertions fix them); the kernel only
    // writes the own lists, the kinds (not the context indexes), the states, `out`
    // and `args`, and checks every data-dependent index (module docs).
    let status = unsafe { vqtans_v6m_rows(&mut args) };
    Some(RowsDone { bit: args.bit, taken: args.taken, ok: status == 0 })
}

// Registers while decoding a row:
//   r0  bit buffer (next bit in bit 0)     r1  bits in the buffer (17..32 after a refill)
//   r2  kind planes + 16 * row             r3  own lists of the row
//   r4 r5 r6 r7  scratch
//   r8  next window byte                   r9  image
//   r10 lists' bytes minus one             r11 tokens of the row (out)
//   r12 image entries                      lr  return address of the row
// Stack: [sp, #0..64) states, [sp, #64] taken, [sp, #68] info, [sp, #72] lists,
// [sp, #76] k, [sp, #80] CTX_BASE, [sp, #84] context map, [sp, #88] args,
// [sp, #92] kind planes + 128 (where the rows end), [sp, #96] state log.
//
// Per column (token at row r, column c): refill the bit buffer to at least 17 bits
// (a class symbol reads at most 7, the raw bits after it at most 10); context =
// CTX_BASE[cidx] + up (checked against the map's 100 entries); image index =
// (map[ctx] << state log) + state (checked against the image); entry = base (bits
// 0-7), nb (bits 8-10), class (bits 11-15); state = base + nb bits. Class 0 copies
// the own list's front, 1-3 take an own-list entry, the rest read their raw bits:
// escape (class information bit 0) is the raw token, successor the list entry of
// rank edge + raw of the front token (the 10 bits at bit 10 * i of the lists, read
// as two bytes: byte 5i / 4, shift 2 * (5i mod 4)).
core::arch::global_asm!(
    r#"
    .syntax unified
    .thumb
    .text
    .p2align 2
    .global vqtans_v6m_rows
    .type vqtans_v6m_rows, %function
    .thumb_func
vqtans_v6m_rows:
    push    {{r4-r7, lr}}
    mov     r4, r8
    mov     r5, r9
    mov     r6, r10
    mov     r7, r11
    push    {{r4-r7}}
    sub     sp, #104
    str     r0, [sp, #88]
    @ states in
    ldr     r1, [r0, #48]
    mov     r6, sp
    ldm     r1!, {{r2-r5}}
    stm     r6!, {{r2-r5}}
    ldm     r1!, {{r2-r5}}
    stm     r6!, {{r2-r5}}
    ldm     r1!, {{r2-r5}}
    stm     r6!, {{r2-r5}}
    ldm     r1!, {{r2-r5}}
    stm     r6!, {{r2-r5}}
    movs    r1, #0
    str     r1, [sp, #64]
    ldr     r1, [r0, #32]
    str     r1, [sp, #68]
    ldr     r1, [r0, #20]
    str     r1, [sp, #72]
    ldr     r1, [r0, #28]
    str     r1, [sp, #76]
    ldr     r1, [r0, #36]
    str     r1, [sp, #80]
    ldr     r1, [r0, #16]
    str     r1, [sp, #84]
    ldr     r1, [r0, #60]
    str     r1, [sp, #96]
    ldr     r1, [r0, #8]
    mov     r9, r1
    ldr     r1, [r0, #12]
    mov     r12, r1
    ldr     r1, [r0, #24]
    mov     r10, r1
    ldr     r1, [r0, #56]
    mov     r11, r1
    ldr     r2, [r0, #52]
    movs    r1, #128
    adds    r1, r2, r1
    str     r1, [sp, #92]
    ldr     r3, [r0, #0]
    @ bit buffer: the window's first two bytes, less the bits before the first
    ldr     r4, [r0, #4]
    ldrb    r5, [r4, #0]
    ldrb    r6, [r4, #1]
    adds    r4, #2
    mov     r8, r4
    lsls    r6, r6, #8
    orrs    r5, r6
    ldr     r6, [r0, #40]
    lsrs    r5, r6
    movs    r1, #16
    subs    r1, r1, r6
    mov     r0, r5

.Lvqtans_v6m_row:
    bl      .Lvqtans_v6m_row_body
    adds    r2, #16
    adds    r3, #128
    mov     r4, r11
    adds    r4, #32
    mov     r11, r4
    ldr     r4, [sp, #92]
    cmp     r2, r4
    bne     .Lvqtans_v6m_row
    movs    r6, #0
    b       .Lvqtans_v6m_done
.Lvqtans_v6m_bad_index:
    movs    r6, #1
.Lvqtans_v6m_done:
    @ bits consumed since the window's first byte
    ldr     r7, [sp, #88]
    mov     r4, r8
    ldr     r5, [r7, #4]
    subs    r4, r4, r5
    lsls    r4, r4, #3
    subs    r4, r4, r1
    str     r4, [r7, #40]
    ldr     r4, [sp, #64]
    str     r4, [r7, #44]
    @ states out
    ldr     r1, [r7, #48]
    mov     r7, sp
    ldm     r7!, {{r2-r5}}
    stm     r1!, {{r2-r5}}
    ldm     r7!, {{r2-r5}}
    stm     r1!, {{r2-r5}}
    ldm     r7!, {{r2-r5}}
    stm     r1!, {{r2-r5}}
    ldm     r7!, {{r2-r5}}
    stm     r1!, {{r2-r5}}
    mov     r0, r6
    add     sp, #104
    pop     {{r4-r7}}
    mov     r8, r4
    mov     r9, r5
    mov     r10, r6
    mov     r11, r7
    pop     {{r4-r7, pc}}

    .macro VQTANS_V6M_COLUMN c
    @ at least 17 bits in the buffer
    cmp     r1, #16
    bhi     10f
    mov     r4, r8
    ldrb    r5, [r4, #0]
    ldrb    r6, [r4, #1]
    adds    r4, #2
    lsls    r6, r6, #8
    orrs    r5, r6
    lsls    r5, r1
    orrs    r0, r5
    adds    r1, #16
    cmp     r1, #16
    bhi     9f
    ldrb    r5, [r4, #0]
    adds    r4, #1
    lsls    r5, r1
    orrs    r0, r5
    adds    r1, #8
9:
    mov     r8, r4
10:
    @ context, its table and the image index
    movs    r4, #(144 + \c)
    ldrb    r4, [r2, r4]
    ldr     r5, [sp, #80]
    ldrb    r4, [r5, r4]
    ldrb    r5, [r2, #\c]
    adds    r4, r4, r5
    cmp     r4, #99
    bhi     19f
    ldr     r5, [sp, #84]
    ldrb    r4, [r5, r4]
    ldr     r5, [sp, #96]
    lsls    r4, r5
    ldr     r5, [sp, #(4 * \c)]
    adds    r4, r4, r5
    cmp     r4, r12
    bhs     19f
    lsls    r4, r4, #1
    mov     r5, r9
    ldrh    r4, [r5, r4]
    @ next state = base + nb bits
    lsls    r5, r4, #21
    lsrs    r5, r5, #29
    subs    r1, r1, r5
    uxtb    r6, r4
    adds    r6, r6, r0
    lsrs    r0, r5
    mov     r7, r0
    lsls    r7, r5
    subs    r6, r6, r7
    str     r6, [sp, #(4 * \c)]
    lsrs    r4, r4, #11
    bne     20f
    @ class 0: copy (kind 0)
    strb    r4, [r2, #(16 + \c)]
    ldr     r5, [r3, #(8 * \c)]
    mov     r6, r11
    strh    r5, [r6, #(2 * \c)]
    b       90f
19:
    bl      .Lvqtans_v6m_bad_index
20:
    cmp     r4, #4
    bhs     30f
    @ classes 1-3: own-list rank (kind 1)
    movs    r5, #1
    strb    r5, [r2, #(16 + \c)]
    ldr     r5, [r3, #(8 * \c)]
    cmp     r4, #2
    beq     22f
    bhi     23f
    movs    r7, #16
    rors    r5, r7
    str     r5, [r3, #(8 * \c)]
    uxth    r7, r5
    b       29f
22:
    ldr     r6, [r3, #(8 * \c + 4)]
    uxth    r7, r6
    lsrs    r4, r5, #16
    lsls    r5, r5, #16
    orrs    r5, r7
    lsrs    r6, r6, #16
    lsls    r6, r6, #16
    orrs    r6, r4
    b       28f
23:
    ldr     r6, [r3, #(8 * \c + 4)]
    lsrs    r7, r6, #16
    lsrs    r4, r5, #16
    lsls    r5, r5, #16
    orrs    r5, r7
    lsls    r6, r6, #16
    orrs    r6, r4
28:
    str     r5, [r3, #(8 * \c)]
    str     r6, [r3, #(8 * \c + 4)]
29:
    mov     r4, r11
    strh    r7, [r4, #(2 * \c)]
    ldr     r4, [sp, #64]
    orrs    r4, r7
    str     r4, [sp, #64]
    b       90f
30:
    @ successor or escape: raw bits, rank = edge + raw (escape: edge 0)
    lsls    r4, r4, #2
    ldr     r5, [sp, #68]
    ldr     r4, [r5, r4]
    lsls    r5, r4, #24
    lsrs    r5, r5, #28
    subs    r1, r1, r5
    lsrs    r6, r4, #8
    adds    r6, r6, r0
    lsrs    r0, r5
    mov     r7, r0
    lsls    r7, r5
    subs    r6, r6, r7
    lsrs    r4, r4, #1
    bcs     40f
    @ successor (kind 2): entry i = (front & 1023) * k + rank
    movs    r5, #2
    strb    r5, [r2, #(16 + \c)]
    ldr     r4, [r3, #(8 * \c)]
    lsls    r7, r4, #22
    lsrs    r7, r7, #22
    ldr     r5, [sp, #76]
    muls    r7, r5, r7
    adds    r7, r7, r6
    lsls    r5, r7, #2
    adds    r7, r7, r5
    lsrs    r5, r7, #2
    cmp     r5, r10
    bhs     39f
    ldr     r6, [sp, #72]
    adds    r6, r6, r5
    ldrb    r5, [r6, #1]
    ldrb    r6, [r6, #0]
    lsls    r5, r5, #8
    orrs    r6, r5
    lsls    r7, r7, #30
    lsrs    r7, r7, #29
    lsrs    r6, r7
    lsls    r6, r6, #22
    lsrs    r6, r6, #22
    b       50f
39:
    movs    r6, #0
    b       50f
40:
    @ escape (kind 3): the raw bits are the token
    movs    r5, #3
    strb    r5, [r2, #(16 + \c)]
    ldr     r4, [r3, #(8 * \c)]
50:
    @ token r6 to the front of the own list (lo word in r4), and out
    ldr     r5, [r3, #(8 * \c + 4)]
    lsls    r5, r5, #16
    lsrs    r7, r4, #16
    orrs    r5, r7
    str     r5, [r3, #(8 * \c + 4)]
    lsls    r4, r4, #16
    orrs    r4, r6
    str     r4, [r3, #(8 * \c)]
    mov     r4, r11
    strh    r6, [r4, #(2 * \c)]
90:
    .endm

    .p2align 1
.Lvqtans_v6m_row_body:
    VQTANS_V6M_COLUMN 0
    VQTANS_V6M_COLUMN 1
    VQTANS_V6M_COLUMN 2
    VQTANS_V6M_COLUMN 3
    VQTANS_V6M_COLUMN 4
    VQTANS_V6M_COLUMN 5
    VQTANS_V6M_COLUMN 6
    VQTANS_V6M_COLUMN 7
    VQTANS_V6M_COLUMN 8
    VQTANS_V6M_COLUMN 9
    VQTANS_V6M_COLUMN 10
    VQTANS_V6M_COLUMN 11
    VQTANS_V6M_COLUMN 12
    VQTANS_V6M_COLUMN 13
    VQTANS_V6M_COLUMN 14
    VQTANS_V6M_COLUMN 15
    bx      lr
    .purgem VQTANS_V6M_COLUMN
    .size vqtans_v6m_rows, . - vqtans_v6m_rows
"#
);

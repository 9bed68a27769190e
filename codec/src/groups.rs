//! Checksum groups: which decoded frames are known to be right, and when.
//!
//! A format-2 stream holds, after the last frame of every group of `G` frames (and
//! after the stream's last frame), the running CRC-32 of all tokens decoded so far;
//! a format-1 stream holds one CRC-32 of all tokens in its header, so it is one group
//! of all its frames. [`GroupCheck`] follows a decoder frame by frame: it keeps the
//! running CRC, compares it where a group ends, and counts the frames whose group has
//! passed its check. Every decode path (frame by frame, whole stream, AVX2, from a
//! link) uses it, so they agree on the order of checks and on the errors.
//!
//! The last group is only verified together with the end of the payload (coder back
//! in its initial states, payload consumed exactly), which the decoder checks after
//! the last frame.
//!
//! In a format-3 stream every section starts its running CRC afresh (its tokens
//! only), so sections can be checked independently; the groups are numbered across
//! the whole stream.

use crate::container::{Check, Header, TokenChecksum};
use crate::{Error, Result};

/// The running token checksum of one stream and the progress of its groups.
pub(crate) struct GroupCheck {
    checksum: TokenChecksum,
    check: Check,
    /// Frames in the stream.
    frames: u32,
    /// Frames per group (all of them for format 1).
    group_frames: u32,
    /// Frames decoded (and added to the checksum) so far.
    done: u32,
    /// Frames left in the current group, the next one included (`1..=group_frames`):
    /// a count instead of `done % group_frames`, as cores without a divider (ARMv6-M)
    /// would call a division routine for every frame.
    group_left: u32,
    /// Frames of the groups that passed their checks.
    verified: u32,
    /// Frames per section (all of them for formats 1 and 2).
    section_frames: u32,
    /// Frames left in the current section, the next one included; 0 once a
    /// section's last frame is done and before the next section's first.
    section_left: u32,
    /// The first failure; nothing is checked after it.
    failed: Option<Error>,
}

impl GroupCheck {
    /// The checks of the stream `header` describes, before its first frame.
    pub(crate) fn new(header: &Header) -> Self {
        GroupCheck {
            checksum: TokenChecksum::new(),
            check: header.check,
            frames: header.frames,
            group_frames: header.group_frames(),
            done: 0,
            group_left: header.group_frames(),
            verified: 0,
            section_frames: header.section_frames(),
            section_left: header.section_frames(),
            failed: None,
        }
    }

    /// True if the next frame is the first of a section other than the first (the
    /// decoder then checks the end of the section before and starts the next).
    pub(crate) fn next_starts_section(&self) -> bool {
        self.section_left == 0 && self.done < self.frames
    }

    /// Frames decoded so far.
    pub(crate) fn frames_done(&self) -> u32 {
        self.done
    }

    /// Frames of the groups that passed their checks (the last group counts only
    /// once [`GroupCheck::finish`] passed).
    pub(crate) fn verified_frames(&self) -> u32 {
        self.verified
    }

    /// The group of the next frame, or after the last frame the last group (whose end
    /// checks are left); after a failure, the group that failed.
    pub(crate) fn current_group(&self) -> u32 {
        self.done.min(self.frames.saturating_sub(1)) / self.group_frames
    }

    /// The first failure, if any.
    pub(crate) fn failed(&self) -> Option<Error> {
        self.failed
    }

    /// Records `error` as the stream's failure (in the current group) and returns it.
    pub(crate) fn fail(&mut self, error: Error) -> Error {
        *self.failed.get_or_insert(error)
    }

    /// True if the next frame ends a group of a format-2 or format-3 stream (its
    /// checksum follows it in the payload).
    pub(crate) fn next_ends_group(&self) -> bool {
        matches!(self.check, Check::Groups { .. } | Check::Sections { .. })
            && (self.group_left == 1 || self.done + 1 == self.frames)
    }

    /// Adds the next frame's tokens. If that frame ends a group of a format-2 stream,
    /// reads the stored checksum with `stored` and compares it with the running one:
    /// `GroupChecksum { group }` if they differ (or `stored`'s error, e.g. `Truncated`).
    /// A group other than the last is then verified.
    pub(crate) fn frame_done(&mut self, tokens: &[u16], stored: impl FnOnce() -> Result<u32>) -> Result<()> {
        let ends_group = self.next_ends_group();
        if self.section_left == 0 {
            self.checksum = TokenChecksum::new();
            self.section_left = self.section_frames;
        }
        self.section_left -= 1;
        if !tokens.is_empty() {
            self.checksum.update(tokens);
        }
        if ends_group {
            let group = self.done / self.group_frames;
            let value = stored().map_err(|e| self.fail(e))?;
            if value != self.checksum.value() {
                return Err(self.fail(Error::GroupChecksum { group }));
            }
        }
        self.done += 1;
        self.group_left = if self.group_left > 1 { self.group_left - 1 } else { self.group_frames };
        if ends_group && self.done < self.frames {
            self.verified = self.done;
        }
        Ok(())
    }

    /// Adds tokens to the running checksum without counting frames: a decoder that
    /// hands [`GroupCheck::frame_done`] a group's tokens at once (with no tokens for
    /// the group's other frames) adds those of an unfinished group with this.
    #[cfg(feature = "std")]
    pub(crate) fn add_tokens(&mut self, tokens: &[u16]) {
        self.checksum.update(tokens);
    }

    /// After the last frame, once the decoder checked the end of the payload: compares
    /// a format-1 stream's tokens with the header's checksum (`ChecksumMismatch`), and
    /// marks every frame verified. `EndOfStream` if frames are missing.
    pub(crate) fn finish(&mut self) -> Result<()> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.done != self.frames {
            return Err(Error::EndOfStream);
        }
        if let Check::WholeStream { tokens_crc } = self.check {
            if self.checksum.value() != tokens_crc {
                return Err(self.fail(Error::ChecksumMismatch));
            }
        }
        self.verified = self.frames;
        Ok(())
    }
}

"""`vqtans.decode(..., frames=slice(a, b))`: frames a..b of a real segment,
decoded only through the checksum group holding frame b - 1."""

from __future__ import annotations

import numpy as np
import pytest

import vqtans


def test_frames_600_to_660_of_a_real_segment(streams, loo_tables, real_arrays):
    got = vqtans.decode(streams[0], loo_tables[0], frames=slice(600, 660))
    assert got.dtype == np.int16 and got.shape == (60, 8, 16)
    np.testing.assert_array_equal(got, real_arrays[0][600:660])
    out = np.full((60, 8, 16), -1, np.int16)
    assert vqtans.decode(streams[1], loo_tables[1], frames=slice(600, 660), out=out) is out
    np.testing.assert_array_equal(out, real_arrays[1][600:660])


@pytest.mark.parametrize(
    "frames, expected",
    [
        (slice(0, 1), slice(0, 1)),
        (slice(19, 21), slice(19, 21)),  # across a group boundary
        (slice(1199, 1200), slice(1199, 1200)),  # the last frame: the end checks run
        (slice(None, 45), slice(0, 45)),
        (slice(1150, None), slice(1150, 1200)),
        (slice(-60, -20), slice(1140, 1180)),
        (slice(None), slice(0, 1200)),  # the whole stream (the AVX2 path)
        (slice(0, 1200, 1), slice(0, 1200)),
    ],
)
def test_every_form_of_slice(streams, loo_tables, real_arrays, frames, expected):
    got = vqtans.decode(streams[0], loo_tables[0], frames=frames)
    np.testing.assert_array_equal(got, real_arrays[0][expected])


def test_only_the_groups_through_the_last_frame_are_decoded(streams, loo_tables, real_arrays):
    # Damage in the last group: frames before it still decode (their groups
    # verify), a range reaching into it raises, as the whole stream does.
    damaged = bytearray(streams[0])
    damaged[-3] ^= 0x40
    got = vqtans.decode(bytes(damaged), loo_tables[0], frames=slice(600, 660))
    np.testing.assert_array_equal(got, real_arrays[0][600:660])
    np.testing.assert_array_equal(
        vqtans.decode(bytes(damaged), loo_tables[0], frames=slice(1100, 1180)), real_arrays[0][1100:1180]
    )
    for frames in (slice(1170, 1200), slice(1199, 1200), None):
        with pytest.raises(vqtans.DecodeError) as info:
            vqtans.decode(bytes(damaged), loo_tables[0], frames=frames)
        assert info.value.kind == "GroupChecksum"
        assert str(info.value) == "stream: decoded tokens of group 59 do not match the group's checksum"
    # Other tables: refused before any frame, as for the whole stream.
    with pytest.raises(vqtans.DecodeError) as info:
        vqtans.decode(streams[0], loo_tables[1], frames=slice(0, 20))
    assert info.value.kind == "TableSetMismatch"


@pytest.mark.parametrize(
    "frames, error, message",
    [
        (slice(660, 600), ValueError, r"frames: slice\(660, 600, None\) is empty or reversed"),
        (slice(600, 600), ValueError, r"is empty or reversed \(frames a..b, half-open, needs a < b\)"),
        (slice(1190, 1201), ValueError, r"reaches outside the 1200 frames \(0..1200\) of the stream"),
        (slice(-1201, 5), ValueError, r"reaches outside the 1200 frames"),
        (slice(0, 60, 2), ValueError, r"frames: slice step must be 1 \(or None\), got 2"),
        (slice(60, 0, -1), ValueError, r"frames: slice step must be 1"),
        (slice(0.5, 60), TypeError, r"frames: slice start must be an int or None, got 0.5"),
        ((600, 660), TypeError, r"frames: expected a slice, e.g. slice\(600, 660\), got tuple"),
        (range(600, 660), TypeError, r"frames: expected a slice.*got range"),
    ],
)
def test_bad_slices_are_refused(streams, loo_tables, frames, error, message):
    with pytest.raises(error, match=message):
        vqtans.decode(streams[0], loo_tables[0], frames=frames)


def test_out_must_fit_the_slice(streams, loo_tables):
    with pytest.raises(ValueError, match=r"out: shape \[1200, 8, 16\] does not fit the stream: expected \(60, 8, 16\)"):
        vqtans.decode(streams[0], loo_tables[0], frames=slice(600, 660), out=np.zeros((1200, 8, 16), np.int16))

"""A damaged, truncated or foreign stream raises `vqtans.DecodeError` with the
codec's error kind; decode never returns wrong data."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import vqtans

HEADER_LEN = 32


def decode_error(stream, tables, **kw) -> vqtans.DecodeError:
    with pytest.raises(vqtans.DecodeError) as info:
        vqtans.decode(stream, tables, **kw)
    assert isinstance(info.value, ValueError)
    return info.value


def test_truncated_streams(streams, loo_tables):
    stream, tables = streams[0], loo_tables[0]
    for cut in (0, 1, 5, HEADER_LEN - 1):
        assert decode_error(stream[:cut], tables).kind == "Truncated", cut
    for cut in (HEADER_LEN, HEADER_LEN + 1, len(stream) // 2, len(stream) - 4, len(stream) - 1):
        e = decode_error(stream[:cut], tables)
        assert e.kind == "Truncated", (cut, e.kind)
        assert str(e) == "stream: stream is truncated"


def test_trailing_bytes_bad_magic_and_header_damage(streams, loo_tables):
    stream, tables = streams[1], loo_tables[1]
    assert decode_error(stream + b"\x00", tables).kind == "TrailingBytes"
    assert decode_error(b"XXXX" + stream[4:], tables).kind == "BadMagic"
    for byte in range(4, HEADER_LEN):
        damaged = bytearray(stream)
        damaged[byte] ^= 0x04
        e = decode_error(bytes(damaged), tables)
        assert e.kind in ("HeaderCorrupt", "UnsupportedVersion"), (byte, e.kind)


def test_other_tables_are_a_table_set_mismatch(streams, loo_tables):
    e = decode_error(streams[0], loo_tables[1])
    assert e.kind == "TableSetMismatch"
    assert loo_tables[0].id in str(e) and loo_tables[1].id in str(e)


def test_bit_flips_in_the_payload_never_decode(streams, loo_tables, real_arrays):
    """A flipped bit anywhere in the payload: every one of ~1500 sampled
    positions raises DecodeError (a group checksum or the coder's end checks)."""
    stream, tables = streams[0], loo_tables[0]
    out = np.empty((1200, 8, 16), np.int16)
    kinds = set()
    bits = range(HEADER_LEN * 8, len(stream) * 8, 523)
    for bit in bits:
        damaged = bytearray(stream)
        damaged[bit // 8] ^= 1 << (bit % 8)
        kinds.add(decode_error(bytes(damaged), tables, out=out).kind)
    assert len(bits) > 1400
    assert kinds <= {"GroupChecksum", "PayloadCorrupt", "ModelCorrupt", "Truncated"}, kinds
    assert "GroupChecksum" in kinds
    # `out` held unspecified contents; a good stream fills it right again.
    np.testing.assert_array_equal(vqtans.decode(stream, tables, out=out), real_arrays[0])


def test_decode_error_keeps_kind_and_message_through_pickle(streams, loo_tables):
    e = decode_error(streams[0][:-1], loo_tables[0])
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is vqtans.DecodeError
    assert (str(again), again.kind) == (str(e), e.kind)
    # Raised by user code, kind defaults to "".
    assert vqtans.DecodeError("message").kind == ""


def test_stream_frames_checks_the_header(streams):
    with pytest.raises(vqtans.DecodeError) as info:
        vqtans.stream_frames(streams[0][:10])
    assert info.value.kind == "Truncated"
    with pytest.raises(vqtans.DecodeError) as info:
        vqtans.stream_frames(streams[0][:-1])  # the header's payload length is checked
    assert info.value.kind == "Truncated"
    damaged = bytearray(streams[0])
    damaged[-1] ^= 1
    assert vqtans.stream_frames(bytes(damaged)) == 1200  # the payload is not decoded

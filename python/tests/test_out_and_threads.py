"""`decode(..., out=)` and decoding from several threads."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import vqtans


def test_out_is_filled_and_returned(streams, loo_tables, real_arrays):
    out = np.full((1200, 8, 16), -5, np.int16)
    got = vqtans.decode(streams[1], loo_tables[1], out=out)
    assert got is out
    np.testing.assert_array_equal(out, real_arrays[1])
    # Reused for another stream of the same length.
    assert vqtans.decode(streams[0], loo_tables[0], out=out) is out
    np.testing.assert_array_equal(out, real_arrays[0])
    # A C-contiguous view into a bigger array works too.
    big = np.zeros((1300, 8, 16), np.int16)
    vqtans.decode(streams[0], loo_tables[0], out=big[50:1250])
    np.testing.assert_array_equal(big[50:1250], real_arrays[0])
    assert not big[:50].any() and not big[1250:].any()


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: np.zeros((1200, 8, 16), np.int32), TypeError, "out: expected a numpy int16 array, got dtype int32"),
        (lambda: np.zeros((1200, 8, 16), np.uint16), TypeError, "out: expected a numpy int16 array"),
        (lambda: np.zeros((1200, 8, 16), np.float32), TypeError, "out: expected a numpy int16 array"),
        (lambda: [[0] * 16] * 8, TypeError, "out: expected a numpy int16 array, got list"),
        (lambda: bytearray(1200 * 256), TypeError, "out: expected a numpy int16 array, got bytearray"),
        (lambda: np.zeros((1199, 8, 16), np.int16), ValueError, r"out: shape \[1199, 8, 16\] does not fit"),
        (lambda: np.zeros((1200, 128), np.int16), ValueError, r"expected \(1200, 8, 16\)"),
        (lambda: np.zeros((1200, 8, 16), np.int16, order="F"), ValueError, "out: must be C-contiguous"),
        (lambda: np.zeros((2400, 8, 16), np.int16)[::2], ValueError, "out: must be C-contiguous"),
        (lambda: np.zeros((1200, 8, 16), ">i2"), TypeError, "out: expected a numpy int16 array"),
    ],
)
def test_a_wrong_out_is_refused_before_decoding(streams, loo_tables, make, error, message):
    with pytest.raises(error, match=message):
        vqtans.decode(streams[0], loo_tables[0], out=make())


def test_a_read_only_out_is_refused_and_left_alone(streams, loo_tables):
    out = np.zeros((1200, 8, 16), np.int16)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out:.*writeable"):
        vqtans.decode(streams[0], loo_tables[0], out=out)
    assert not out.any()


def test_two_threads_decode_the_same_arrays(streams, loo_tables, real_arrays):
    jobs = [(i % 2) for i in range(24)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda i: (i, vqtans.decode(streams[i], loo_tables[i])), jobs))
    for i, decoded in results:
        np.testing.assert_array_equal(decoded, real_arrays[i])


def test_two_threads_encode_and_decode_with_shared_tables(real_arrays, loo_tables, streams):
    tables = loo_tables[0]

    def round_trip(i):
        tokens = real_arrays[i]
        stream = vqtans.encode(tokens, tables)
        return stream, vqtans.decode(stream, tables)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(round_trip, [0, 1] * 4))
    for i, (stream, decoded) in zip([0, 1] * 4, results):
        np.testing.assert_array_equal(decoded, real_arrays[i])
        if i == 0:
            assert stream == streams[0]


def test_the_same_out_from_two_threads_is_never_shared(streams, loo_tables, real_arrays):
    """Two threads decode *different* segments into one `out`, started together
    round after round: each call either completes (returning `out`) or is
    refused before writing, with the one message, while the other holds `out`;
    after each round `out` holds exactly the segment of a call that completed,
    never a mix of the two (which decodes writing `out` at the same time leave
    when one overtakes the other)."""
    rounds = 200
    out = np.zeros((1200, 8, 16), np.int16)
    start, done = threading.Barrier(3), threading.Barrier(3)
    outcomes: list[list[str]] = [[], []]

    def writer(i: int) -> None:
        try:
            for r in range(rounds):
                start.wait()
                if r % 2 != i:  # the two take turns at starting first
                    time.sleep(0.0002)
                try:
                    got = vqtans.decode(streams[i], loo_tables[i], out=out)
                    outcomes[i].append("ok" if got is out else "returned another array")
                except ValueError as e:
                    outcomes[i].append("busy" if str(e) == "out: The given array is already borrowed" else repr(e))
                done.wait()
        except threading.BrokenBarrierError:
            pass  # the test failed and stopped the rounds

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    seen = set()
    try:
        for r in range(rounds):
            out.fill(-1)
            start.wait()
            done.wait()
            got = (outcomes[0][r], outcomes[1][r])
            assert set(got) <= {"ok", "busy"}, f"round {r}: {got}"
            completed = [i for i in range(2) if got[i] == "ok"]
            assert completed, f"round {r}: both decodes were refused"
            whole = [i for i in range(2) if np.array_equal(out, real_arrays[i])]
            if len(completed) == 1:
                assert whole == completed, f"round {r}: {got}, but out is not the segment of the one that completed"
            else:
                # Both completed, one after the other: `out` is the later one's.
                assert len(whole) == 1, f"round {r}: {got}, and out is a mix of the two segments"
            seen.add(got)
    finally:
        start.abort()
        done.abort()
        for t in threads:
            t.join()
    print("outcomes seen:", sorted(seen))

"""vqtans: lossless compression of commaVQ driving-video tokens.

A commaVQ segment is an array of tokens shaped ``(frames, 8, 16)`` with values
``0..1023``. vqtans codes it with a fixed table set (trained once on other
segments) into a stream of about a fifth of the int16 size, and decodes it back
exactly::

    import numpy as np, vqtans
    tokens = np.load("segment.npy")                       # (1200, 8, 16) int16
    tables = vqtans.build_tables(["train_shard.tar.gz"])  # or vqtans.Tables.load(path)
    stream = vqtans.encode(tokens, tables)                # bytes
    assert (vqtans.decode(stream, tables) == tokens).all()

Everything runs in the Rust codec and tools of the project (the same code as
the ``host-tools`` command line, so the same inputs give the same bytes).
``vqtans.numcodecs.VqTans`` is a numcodecs codec for zarr stores.
"""

from vqtans._errors import DecodeError
from vqtans._native import (
    DEFAULT_GROUP_FRAMES,
    MAX_FRAMES,
    Tables,
    __version__,
    build_tables,
    decode,
    encode,
    stream_frames,
)

__all__ = [
    "DEFAULT_GROUP_FRAMES",
    "MAX_FRAMES",
    "DecodeError",
    "Tables",
    "__version__",
    "build_tables",
    "decode",
    "encode",
    "stream_frames",
]

"""vqtans: lossless compression of commaVQ driving-video tokens.

A commaVQ segment is an array of tokens shaped ``(frames, 8, 16)`` with values
``0..1023``. vqtans codes it with a fixed table set (trained once on other
segments) into a stream of about 30 % of the int16 size (measured on the two
bundled real segments with leave-one-out tables), and decodes it back
exactly::

    import numpy as np, vqtans
    tokens = np.load("segment.npy")                       # (1200, 8, 16) int16
    tables = vqtans.build_tables(["train_shard.tar.gz"])  # or vqtans.Tables.load(path)
    stream = vqtans.encode(tokens, tables)                # bytes
    assert (vqtans.decode(stream, tables) == tokens).all()

Everything runs in the Rust codec and tools of the project (the same code as
the ``host-tools`` command line, so the same inputs give the same bytes).
``vqtans.decode(stream, tables, frames=slice(a, b))`` decodes only frames
``a..b`` (through the checksum group holding frame ``b - 1``).
``vqtans.Archive(path)`` reads a ``.vqa`` archive (``host-tools pack``) by key,
and ``vqtans.Clips(archives, frames=20)`` is a map-style dataset of
fixed-length clips for training loops. ``vqtans.numcodecs.VqTans`` (zarr
format 2) and ``vqtans.zarr3.VqTans`` (zarr format 3) are zarr codecs whose
stores carry their table set.

Run Python from outside the checkout's ``python/`` folder: there, the folder
``vqtans/`` of the sources shadows the installed package, which has the
compiled module.
"""

import os as _os
from importlib import import_module as _import_module

try:
    _import_module("vqtans._native")
except ModuleNotFoundError as _e:  # the sources without the compiled module (test_package)
    if _e.name != "vqtans._native":
        raise
    _here = _os.path.dirname(_os.path.abspath(__file__))
    raise ImportError(
        f"vqtans was imported from the source folder {_here}, which has no compiled module "
        "(vqtans._native): the current directory (or sys.path) shadows the installed package. "
        "Run Python from another folder than the checkout's python/, or install the package "
        "(pip install ./python, or bash scripts/setup.sh for the project's .venv)."
    ) from _e

from vqtans._codec_tables import register_tables
from vqtans._errors import DecodeError, TablesNotFoundError
from vqtans._native import (
    DEFAULT_GROUP_FRAMES,
    Archive,
    MAX_FRAMES,
    Tables,
    __version__,
    build_tables,
    decode,
    encode,
    stream_frames,
)
from vqtans.clips import Clips

__all__ = [
    "DEFAULT_GROUP_FRAMES",
    "MAX_FRAMES",
    "Archive",
    "Clips",
    "DecodeError",
    "TablesNotFoundError",
    "Tables",
    "__version__",
    "build_tables",
    "register_tables",
    "decode",
    "encode",
    "stream_frames",
]

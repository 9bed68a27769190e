"""Type stubs of the native module (Rust, PyO3); see the doc strings there."""

import os
from typing import Iterable, Optional, Union

import numpy as np
import numpy.typing as npt

_Path = Union[str, "os.PathLike[str]"]
_BytesLike = Union[bytes, bytearray, memoryview, "npt.NDArray[np.uint8]", object]

__version__: str
DEFAULT_GROUP_FRAMES: int
MAX_FRAMES: int

class Tables:
    """A validated vqtans table set; immutable, shareable between threads, picklable."""

    @staticmethod
    def load(path: _Path) -> "Tables": ...
    @staticmethod
    def from_bytes(data: _BytesLike) -> "Tables": ...
    def save(self, path: _Path) -> None: ...
    def to_bytes(self) -> bytes: ...
    def __bytes__(self) -> bytes: ...
    @property
    def id(self) -> str:
        """The table-set id as 16 lowercase hex digits."""
    @property
    def model(self) -> str: ...
    @property
    def device_footprint(self) -> int:
        """Bytes a device stores to decode: the table set plus its compiled decode image."""
    def __len__(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

def build_tables(
    segments: Iterable[Union["npt.NDArray[np.integer]", _Path]],
    *,
    k: Optional[int] = None,
    threads: Optional[int] = None,
    max_bytes: Optional[int] = None,
) -> Tables: ...
def encode(tokens: "npt.NDArray[np.integer]", tables: Tables, *, group_frames: int = 20) -> bytes: ...
def decode(
    stream: _BytesLike, tables: Tables, *, out: Optional["npt.NDArray[np.int16]"] = None
) -> "npt.NDArray[np.int16]": ...
def stream_frames(stream: _BytesLike) -> int: ...

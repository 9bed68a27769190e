"""The exception raised for a stream or table set that does not decode."""

from __future__ import annotations


class DecodeError(ValueError):
    """A vqtans stream or table set could not be decoded: it is damaged,
    truncated, of an unknown format, or (for a stream) was encoded with other
    tables. Nothing was returned.

    ``kind`` is the codec's error kind, the name of the Rust ``vqtans::Error``
    variant, e.g. ``"Truncated"``, ``"TableSetMismatch"``, ``"GroupChecksum"``,
    ``"PayloadCorrupt"``, ``"BadMagic"``, ``"TableSetDamaged"``.
    """

    kind: str

    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self):  # keeps `kind` through pickling (multiprocessing)
        return (type(self), (str(self), self.kind))


class TablesNotFoundError(LookupError):
    """A zarr codec's table set is not embedded in the store and is found
    neither in this process nor in ``$VQTANS_TABLES_PATH``; ``tables_id`` is
    its id (16 hex digits), which the message names too."""

    tables_id: str

    def __init__(self, message: str, tables_id: str = "") -> None:
        super().__init__(message)
        self.tables_id = tables_id

    def __str__(self) -> str:  # LookupError's KeyError-like quoting does not apply
        return str(self.args[0]) if self.args else ""

    def __reduce__(self):
        return (type(self), (str(self), self.tables_id))

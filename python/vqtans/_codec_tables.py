"""The table set of a zarr codec (numcodecs for zarr format 2, ``vqtans.zarr3``
for format 3): carried in the codec's configuration, or found by its id.

A codec's configuration always names its table set by id (``tables_id``, the
16 hex digits of ``Tables.id``) and by default embeds it (``tables_base64``,
the table-set file's bytes in base64, about 530 KB of metadata per array for
a context-model set), so a store opens anywhere vqtans is installed, with no
file beside it. A codec made with ``embed_tables=False`` stores the id only;
reading then finds the set, in this order:

1. a set registered in this process with ``register_tables(tables)``, or
   already used by a codec in it (embedded sets are registered when read);
2. the set embedded in the configuration, if any;
3. a file ``<id>.vqtt`` in one of the folders of the environment variable
   ``VQTANS_TABLES_PATH`` (separated by ``os.pathsep``, as ``PATH``).

When none has it, reading a chunk raises ``TablesNotFoundError`` naming the
id (opening the store itself succeeds: the set is looked up at the first
chunk read or written, so zarr reports the real cause).
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from pathlib import Path
from typing import Any, Optional, Union

from vqtans._errors import TablesNotFoundError
from vqtans._native import Tables

__all__ = ["TablesNotFoundError", "register_tables", "resolve", "tables_config", "from_argument"]

ENV_PATH = "VQTANS_TABLES_PATH"
SUFFIX = ".vqtt"

_lock = threading.Lock()
_registered: dict[str, Tables] = {}


def register_tables(tables: Tables) -> None:
    """Makes ``tables`` known to every vqtans codec of this process by its id,
    so that stores written with ``embed_tables=False`` and this set decode."""
    if not isinstance(tables, Tables):
        raise TypeError(f"register_tables: expected a vqtans.Tables, got {type(tables).__name__}")
    with _lock:
        _registered.setdefault(tables.id, tables)


def from_argument(tables: Union[Tables, str, "os.PathLike[str]"]) -> Tables:
    """A codec's ``tables`` argument (a ``Tables``, or the path of a table-set
    file, read now) as ``Tables``, registered by its id."""
    if not isinstance(tables, Tables):
        if not isinstance(tables, (str, os.PathLike)):
            raise TypeError(f"tables: expected a vqtans.Tables or a path, got {type(tables).__name__}")
        tables = Tables.load(tables)
    register_tables(tables)
    return tables


def tables_config(tables: Tables, embed: bool) -> dict[str, Any]:
    """The configuration entries naming (and with ``embed``, holding) ``tables``."""
    config: dict[str, Any] = {"tables_id": tables.id}
    if embed:
        config["tables_base64"] = base64.b64encode(tables.to_bytes()).decode("ascii")
    return config


def _check_id(tables_id: Any) -> str:
    if not (isinstance(tables_id, str) and len(tables_id) == 16 and all(c in "0123456789abcdef" for c in tables_id)):
        raise ValueError(f"vqtans codec: tables_id {tables_id!r} is not a table-set id (16 lowercase hex digits)")
    return tables_id


def resolve(tables_id: str, tables_base64: Optional[str]) -> Tables:
    """The table set ``tables_id`` (see the module documentation for where it
    is looked for).

    Errors: ``TablesNotFoundError`` (a ``LookupError``) naming the id when it
    is nowhere; ``vqtans.DecodeError`` when the embedded set is damaged or is
    not the set ``tables_id``."""
    tables_id = _check_id(tables_id)
    with _lock:
        known = _registered.get(tables_id)
    if known is not None:
        return known
    if tables_base64 is not None:
        try:
            blob = base64.b64decode(tables_base64, validate=True)
        except (binascii.Error, TypeError, ValueError) as e:
            raise ValueError(f"vqtans codec: the embedded table set {tables_id} is not valid base64: {e}") from None
        tables = Tables.from_bytes(blob)
        if tables.id != tables_id:
            from vqtans._errors import DecodeError

            raise DecodeError(
                f"vqtans codec: the embedded table set is {tables.id}, but the configuration names {tables_id}: "
                "the store's metadata is damaged",
                "TableSetMismatch",
            )
        register_tables(tables)
        return tables
    searched = [Path(d) for d in os.environ.get(ENV_PATH, "").split(os.pathsep) if d]
    for folder in searched:
        candidate = folder / f"{tables_id}{SUFFIX}"
        if candidate.is_file():
            tables = Tables.load(candidate)
            if tables.id == tables_id:
                register_tables(tables)
                return tables
    where = ", ".join(str(d) for d in searched) if searched else f"${ENV_PATH} is not set"
    raise TablesNotFoundError(
        f"vqtans codec: table set {tables_id} not found: the store does not embed it, it is not registered in "
        f"this process (vqtans.register_tables), and no folder of ${ENV_PATH} holds {tables_id}{SUFFIX} ({where})",
        tables_id,
    )

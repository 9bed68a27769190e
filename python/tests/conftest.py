"""Fixtures of the vqtans Python tests: the real segments, the host-tools binary
(built from this checkout), and table sets built once per session."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import vqtans

REPO = Path(__file__).resolve().parents[2]
REAL_FILES = ("commaai-commavq_0.npy", "mattseabrook-commavq_0.npy")


def data_dir() -> Path:
    """`$VQTANS_DATA_DIR`, by default `shared/data/commavq` beside the checkout
    (as for the Rust tests)."""
    return Path(os.environ.get("VQTANS_DATA_DIR", REPO.parent / "shared" / "data" / "commavq"))


@pytest.fixture(scope="session")
def real_paths() -> list[Path]:
    paths = [data_dir() / name for name in REAL_FILES]
    for p in paths:
        assert p.is_file(), f"real data file {p} is missing (set VQTANS_DATA_DIR)"
    return paths


@pytest.fixture(scope="session")
def real_arrays(real_paths) -> list[np.ndarray]:
    arrays = [np.load(p) for p in real_paths]
    for a in arrays:
        a.flags.writeable = False  # shared by the tests: none may change them
    return arrays


@pytest.fixture(scope="session")
def host_tools() -> Path:
    """The release `host-tools` binary of this checkout, built if it is not up
    to date (a no-op after `cargo test --release --workspace`)."""
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "-q", "-p", "host-tools", "--bin", "host-tools"],
        cwd=REPO,
        check=True,
    )
    binary = REPO / "target" / "release" / "host-tools"
    assert binary.is_file(), binary
    return binary


def run_host_tools(binary: Path, *args) -> str:
    """Runs host-tools, asserts success, returns stdout."""
    out = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, f"host-tools {args} failed: {out.stderr}"
    return out.stdout


@pytest.fixture(scope="session")
def loo_tables(real_arrays) -> list[vqtans.Tables]:
    """Leave-one-out tables: entry i was trained on every real segment but i."""
    return [
        vqtans.build_tables([a for j, a in enumerate(real_arrays) if j != i]) for i in range(len(real_arrays))
    ]


@pytest.fixture(scope="session")
def streams(real_arrays, loo_tables) -> list[bytes]:
    """Each real segment encoded with its leave-one-out tables."""
    return [vqtans.encode(a, t) for a, t in zip(real_arrays, loo_tables)]


@pytest.fixture(scope="session")
def archive_path(host_tools, real_paths, loo_tables, tmp_path_factory) -> Path:
    """Both real segments packed by `host-tools pack` into one archive, coded
    with the leave-one-out tables of segment 0 (keys: the files' stems)."""
    folder = tmp_path_factory.mktemp("archive")
    tables = folder / "tables.vqtt"
    loo_tables[0].save(tables)
    path = folder / "real.vqa"
    run_host_tools(host_tools, "pack", "-o", path, "--tables", tables, *real_paths)
    return path


@pytest.fixture(scope="session")
def real_by_key(real_paths, real_arrays) -> dict[str, np.ndarray]:
    """The real segments by archive key (file stem)."""
    return {p.stem: a for p, a in zip(real_paths, real_arrays)}

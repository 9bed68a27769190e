"""The package as installed: its API names, type stubs, and the README's
example run as written."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import vqtans
import vqtans._native
from conftest import REPO, data_dir

PACKAGE = Path(vqtans.__file__).parent

API = {"build_tables", "Tables", "encode", "decode", "DecodeError", "stream_frames"}


def test_the_api_names_exist():
    assert API <= set(vqtans.__all__)
    for name in vqtans.__all__:
        assert hasattr(vqtans, name), name
    assert issubclass(vqtans.DecodeError, ValueError)
    assert {"load", "from_bytes", "save", "to_bytes", "id"} <= set(dir(vqtans.Tables))
    assert re.fullmatch(r"\d+\.\d+\.\d+", vqtans.__version__)
    for f in (vqtans.encode, vqtans.decode, vqtans.build_tables, vqtans.Tables.load):
        assert f.__doc__ and len(f.__doc__) > 80, f


def test_type_stubs_cover_the_native_module():
    assert (PACKAGE / "py.typed").is_file()
    stub = ast.parse((PACKAGE / "_native.pyi").read_text())
    declared = set()
    for node in stub.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
    public = {n for n in dir(vqtans._native) if not n.startswith("_") or n == "__version__"}
    assert public <= declared, public - declared
    (tables,) = [n for n in stub.body if isinstance(n, ast.ClassDef) and n.name == "Tables"]
    methods = {n.name for n in tables.body if isinstance(n, ast.FunctionDef)}
    assert methods >= {m for m in dir(vqtans.Tables) if not m.startswith("_")}


def readme_python_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_as_written(tmp_path):
    code = readme_python_example()
    assert len(code.strip().splitlines()) == 5
    # As written, from the checkout's root, with the data where the README says
    # (or where $VQTANS_DATA_DIR points).
    default = "../shared/data/commavq/"
    assert default in code
    code = code.replace(default, str(data_dir()) + os.sep)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr

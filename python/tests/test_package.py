"""The package as installed: its API names, type stubs, and the README's
example run as written."""

from __future__ import annotations

import ast
import inspect
import os
import pydoc
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

import vqtans
import vqtans._native
from conftest import REPO, data_dir

PACKAGE = Path(vqtans.__file__).parent

API = {"build_tables", "Tables", "encode", "decode", "DecodeError", "stream_frames", "Archive", "Clips"}


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


def test_help_shows_the_default_group_size():
    assert "group_frames=20" in str(inspect.signature(vqtans.encode))
    assert vqtans.DEFAULT_GROUP_FRAMES == 20
    shown = pydoc.render_doc(vqtans.encode, renderer=pydoc.plaintext)
    assert "group_frames=20" in shown and "Ellipsis" not in shown
    assert "frames=None" in str(inspect.signature(vqtans.decode))


def test_the_module_docstring_states_the_measured_size(streams, real_arrays):
    ratio = sum(map(len, streams)) / sum(a.astype(np.int16).nbytes for a in real_arrays)
    assert 0.295 <= ratio < 0.305, ratio  # leave-one-out tables on the real segments: 30.1 %
    assert "about 30 % of the int16 size (measured on the two bundled real segments" in " ".join(
        vqtans.__doc__.split()
    )


def test_stubs_type_streams_as_buffers():
    stub = (PACKAGE / "_native.pyi").read_text()
    assert "from collections.abc import Buffer as _Buffer" in stub
    assert "_BytesLike = _Buffer" in stub and "object]" not in stub
    tree = ast.parse(stub)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for name, arg in (("decode", "stream"), ("stream_frames", "stream")):
        (annotation,) = [a.annotation for a in functions[name].args.args if a.arg == arg]
        assert ast.unparse(annotation) == "_BytesLike", name
    (archive,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Archive"]
    methods = {n.name for n in archive.body if isinstance(n, ast.FunctionDef)}
    assert methods >= {m for m in dir(vqtans.Archive) if not m.startswith("_")}


def test_running_from_the_source_folder_says_what_shadows_the_package(tmp_path):
    # The package's sources without the compiled module, as in python/ of a
    # checkout: importing them says why it fails and what to do.
    sources = tmp_path / "python"
    shutil.copytree(PACKAGE, sources / "vqtans", ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    out = subprocess.run([sys.executable, "-c", "import vqtans"], cwd=sources, capture_output=True, text=True)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: vqtans was imported from the source folder ")
    assert "shadows the installed package" in last and "Run Python from another folder than the checkout's python/" in last

"""Imported from its source folder (python/ as the working directory, where
ndarray_patches/ has no compiled _core), the package says to install it
instead of Python's "circular import" message."""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def source_folder():
    """python/ of the repository: $NDARRAY_PATCHES_SOURCE (set by
    .ci/wheel-test, which runs a copy of the tests), else the folder above
    these tests when it holds the package's source."""
    for d in (os.environ.get("NDARRAY_PATCHES_SOURCE"), os.path.join(HERE, "..")):
        if d and os.path.isfile(os.path.join(d, "ndarray_patches", "__init__.py")):
            return os.path.abspath(d)
    return None


def test_import_from_the_source_folder_says_to_install():
    src = source_folder()
    if src is None:
        pytest.skip("the package's source folder python/ was not found (set NDARRAY_PATCHES_SOURCE)")
    pkg = os.path.join(src, "ndarray_patches")
    if any(f.startswith("_core") and not f.endswith(".pyi") for f in os.listdir(pkg)):
        pytest.skip(f"{pkg} holds a compiled _core (maturin develop?): the source folder imports")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run(
        [sys.executable, "-c", "import ndarray_patches"],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode != 0, r.stdout + r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ndarray_patches is imported from its source folder"), r.stderr
    assert "pip install ./python" in last and "dist/ndarray_patches-*.whl" in last, last
    assert "circular import" not in r.stderr, r.stderr

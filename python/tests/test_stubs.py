"""The .pyi stubs match the installed package (mypy's stubtest)."""

import subprocess
import sys

import pytest

pytest.importorskip("mypy")


def test_stubs_match_the_runtime():
    r = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "ndarray_patches", "--ignore-missing-stub"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr

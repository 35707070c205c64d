"""The README's scikit-learn streaming example runs and learns."""

import importlib.util
import os

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("PIL")

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "examples", "sklearn_stream.py")


def test_sklearn_stream_learns_edges(capsys):
    spec = importlib.util.spec_from_file_location("sklearn_stream", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    accuracy, baseline = mod.main(["--tile", "1", "--window", "7"])
    out = capsys.readouterr().out
    assert "never built" in out and "held-out accuracy" in out
    assert accuracy > baseline + 0.15, (accuracy, baseline)

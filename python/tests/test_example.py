"""The README's scikit-learn examples run and learn: SGDClassifier.partial_fit
on streamed windows, a RandomForest on sampled windows run on every window."""

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


def test_pixel_classifier_quick(tmp_path, capsys):
    """The RandomForest example on a 128x128 crop: its PNGs, the numbers it
    prints, and map_chunks's map equal to the forest on the whole matrix."""
    import re

    import numpy as np
    from PIL import Image

    import ndarray_patches as nd

    spec = importlib.util.spec_from_file_location(
        "pixel_classifier", os.path.join(HERE, "..", "examples", "pixel_classifier.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    r = mod.main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out

    img = r["image"]
    assert img.shape == (128, 128, 3) and img.dtype == np.uint8
    p = nd.Patches(img, (15, 15), axis=(0, 1))
    assert r["proba"].shape == r["labels"].shape == p.grid == (114, 114)
    # The map is the forest on every window, in row order.
    X = p.to_matrix(np.float32)
    assert r["proba"].dtype == np.float32
    np.testing.assert_allclose(r["proba"].reshape(-1), r["model"].predict_proba(X)[:, 1], rtol=1e-6)
    assert r["held_out_accuracy"] > 0.85, out

    for f in r["files"]:
        png = Image.open(f)
        assert png.mode == "L" and png.size == (114, 114)
    assert {os.path.basename(f) for f in r["files"]} == {"proba.png", "labels.png"}
    saved = np.asarray(Image.open(tmp_path / "proba.png"))
    np.testing.assert_array_equal(saved, np.round(r["proba"] * 255).astype(np.uint8))

    # The printed numbers: peak RSS and the size of the matrix never built.
    m = re.search(r"peak RSS ([\d,]+) MiB in ([\d.]+) s; .* never built: ([\d,]+) MiB", out)
    assert m, out
    rss, seconds, never = (float(g.replace(",", "")) for g in m.groups())
    assert rss == round(r["peak_rss_mib"]) and 0 < rss < 4096
    assert r["matrix_bytes"] == p.matrix_bytes(np.float32) == 12996 * 675 * 4
    assert never == round(r["matrix_bytes"] / 2**20)
    assert seconds > 0
    assert "12,996 windows of 675 values" in out
    assert f"accuracy {r['held_out_accuracy']:.3f} on the 3,306 held-out windows" in out
    assert "map_chunks(predict_proba)" in out and "sampled with mask=" in out

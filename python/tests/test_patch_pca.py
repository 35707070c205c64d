"""The whole-image patch PCA example runs small (``--quick``: a 128x128 crop)
and its figures agree with numpy on the materialized patch matrix."""

import importlib.util
import os

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("scipy")
pytest.importorskip("PIL")

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "examples", "patch_pca.py")


def test_patch_pca_quick(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("patch_pca", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    results = mod.main(["--quick", "--components", "8", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "principal angle" in out and "np.linalg.eigh" in out

    import ndarray_patches as nd
    from PIL import Image

    assert [r["k"] for r in results] == [8, 16]
    img = np.asarray(Image.open(mod.DEFAULT_IMAGE).convert("L"))
    h, w = img.shape
    crop = img[h // 2 - 64 : h // 2 + 64, w // 2 - 64 : w // 2 + 64]
    for r in results:
        k = r["k"]
        X = nd.Patches(crop, (k, k)).to_matrix(dtype=np.float64)
        cov = np.cov(X, rowvar=False)
        scale = np.abs(cov).max()
        assert np.abs(r["cov"] - cov).max() <= 1e-10 * scale
        assert np.allclose(r["mean"], X.mean(axis=0), rtol=0, atol=1e-12 * np.abs(X).max())
        V = r["components"]
        assert V.shape == (k * k, 8)
        assert np.allclose(V.T @ V, np.eye(8), atol=1e-10)
        # The first component: one-signed, the local mean; the exact and the
        # sampled PCA agree on it.
        assert (V[:, 0] > 0).all()
        assert r["sklearn_cos"][0] > 0.99
        # The projections are (X - mean) @ V.
        Y = (X - X.mean(axis=0)) @ V
        assert np.abs(r["projections"] - Y).max() <= 1e-4 * np.abs(Y).max()
        for name in (f"components_{k}x{k}.png", f"projections_{k}x{k}.png"):
            png = Image.open(tmp_path / name)
            assert png.mode == "L" and min(png.size) > 2 * k

"""axis= on Patches: windows over chosen axes, the others taken whole into the
patch (the crate's patches_along), against scikit-learn and numpy (issue 19,
item 4)."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import ndarray_patches as nd


def test_rgb_image_matches_extract_patches_2d():
    image = pytest.importorskip("sklearn.feature_extraction.image")
    rng = np.random.default_rng(0)
    img = rng.random((20, 17, 3)).astype(np.float32)
    p = nd.Patches(img, (5, 4), axis=(0, 1))
    ref = image.extract_patches_2d(img, (5, 4))
    n = ref.shape[0]
    assert p.grid == (16, 14) and p.patch_shape == (5, 4, 3) and p.patch_len == 60
    assert len(p) == n and p.axis == (0, 1)
    np.testing.assert_array_equal(p.to_matrix(), ref.reshape(n, -1))
    np.testing.assert_array_equal(p.view().reshape(n, 5, 4, 3), ref)
    for r in (0, 17, n - 1, -1):
        np.testing.assert_array_equal(p[r], ref[r])
    np.testing.assert_array_equal(
        np.concatenate([c for _, c in p.chunks(rows=50)]), ref.reshape(n, -1)
    )
    np.testing.assert_allclose(
        p.map_chunks(lambda X: X.sum(axis=1), dtype=np.float64),
        ref.reshape(n, -1).sum(axis=1, dtype=np.float64).reshape(p.grid),
    )
    assert p.position(15) == (1, 1, 0) and p.row_of((1, 1, 0)) == 15
    X = ref.reshape(n, -1).astype(np.float64)
    np.testing.assert_allclose(p.gram(), X.T @ X, rtol=1e-10)
    np.testing.assert_allclose(p.mean(), X.mean(axis=0), rtol=1e-10)
    assert "axis=(0, 1)" in repr(p)


def test_batch_axes_against_sliding_window_view():
    rng = np.random.default_rng(1)
    x = rng.random((3, 12, 10))
    p = nd.Patches(x, (4, 3), step=(2, 1), axis=(-2, -1))
    ref = sliding_window_view(x, (4, 3), axis=(1, 2))[:, ::2, :]
    assert p.grid == ref.shape[:3] and p.patch_shape == (4, 3)
    np.testing.assert_array_equal(p.view(), ref)
    np.testing.assert_array_equal(p.to_matrix(), ref.reshape(-1, 12))
    rows, X = p.sample(5, seed=2)
    np.testing.assert_array_equal(X, ref.reshape(-1, 12)[rows])


def test_one_axis_and_errors():
    x = np.arange(5 * 8, dtype=np.int32).reshape(5, 8)
    p = nd.Patches(x, 3, axis=1)
    np.testing.assert_array_equal(p.view(), sliding_window_view(x, 3, axis=1))
    with pytest.raises(nd.PatchError, match=r"axis=2 for Patches: axis 2 is out of range"):
        nd.Patches(x, 3, axis=2)
    with pytest.raises(nd.PatchError):
        nd.Patches(x, (3, 3), axis=(1, 0))  # not increasing
    with pytest.raises(nd.PatchError, match="has length 2, but 1 is needed"):
        nd.Patches(x, (3, 3), axis=1)
    with pytest.raises(TypeError, match="axis must be"):
        nd.Patches(x, 3, axis="1")

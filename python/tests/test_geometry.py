"""The binding's geometry object: what Python asks instead of computing
(issue 19, item 1)."""

import numpy as np
import pytest

import ndarray_patches as nd
from ndarray_patches import _core
from conftest import reference_matrix


def test_moments_merge_like_numpy_on_the_whole_matrix():
    rng = np.random.default_rng(0)
    img = 1e6 + rng.random((40, 30))
    X = reference_matrix(img, (3, 3), (1, 1), (1, 1))
    # rows 0..12 of origins from img[:15], 13..37 from img[13:]
    parts = np.stack([nd.Patches(img[a:b], 3)._core.moments(True) for a, b in ((0, 15), (13, 40))])
    m = _core.merge_moments(parts, 9)
    n = m[0]
    assert n == len(X)
    np.testing.assert_allclose(m[1:10], X.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(m[10:].reshape(9, 9) / (n - 1), np.cov(X - 1e6, rowvar=False), rtol=1e-7, atol=1e-9)
    one = nd.Patches(img[:3, :3], 3)._core.moments(True)
    assert one[0] == 1 and (one[10:] == 0).all()


@pytest.mark.parametrize("edge", ["valid", "shift"])
def test_blocks_own_every_window_once(edge):
    img = np.zeros((61, 47))
    p = nd.Patches(img, (5, 4), step=(3, 5), edge=edge)
    chunks, depth, owned = p._core.blocks([[13] * 4 + [9], [10] * 4 + [7]])
    assert depth == [4, 3]
    assert [sum(c) for c in chunks] == [61, 47] and all(min(c) >= e for c, e in zip(chunks, (5, 4)))
    for k in range(2):
        assert sum(o[0] for o in owned[k]) == p.grid[k]
    with pytest.raises(nd.PatchError, match="chunks has 1 axes"):
        p._core.blocks([[61]])


def test_view_and_window_layouts_come_from_the_crate():
    img = np.arange(10 * 12, dtype=np.int64).reshape(10, 12)[::-1, ::2]  # negative strides
    p = nd.Patches(img, (3, 2), step=(2, 1), dilation=(1, 2))
    shape, strides = p._core.view_layout()
    assert tuple(shape) == p.grid + p.patch_shape
    ref = np.lib.stride_tricks.sliding_window_view(img, (3, 3))[::2, :, :, ::2]
    np.testing.assert_array_equal(p.view(), ref)
    for r in range(len(p)):
        np.testing.assert_array_equal(p.get(r), ref.reshape(-1, 3, 2)[r])


def test_unknown_dask_chunks_are_a_clear_error():
    da = pytest.importorskip("dask.array")
    import ndarray_patches.dask as ndd

    x = da.from_array(np.arange(100.0), chunks=10)
    x = x[x > 3]  # unknown chunk sizes
    with pytest.raises(nd.PatchError, match=r"ndarray_patches\.dask\.gram has unknown chunk sizes"):
        ndd.gram(x, 3)

"""``edge="same"`` and ``"cover"`` in ndarray_patches.dask: every function
against the same call on ``nd.padded(img, ...)`` (whose padding is tested
against numpy.pad), for every numpy.pad mode, widths wider than the array,
steps, dilations, chunks smaller than the window and N-D arrays."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import ndarray_patches as nd  # noqa: E402
import ndarray_patches.dask as ndd  # noqa: E402
from ndarray_patches import _core  # noqa: E402

MODES = ["constant", "edge", "reflect", "symmetric", "wrap"]


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


NUMPY2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


def source_index(mode, x, n):
    """Where padded position ``x`` (``x - before``, may be negative or past
    the end) reads from in an axis of length ``n``, ``-1`` for a constant:
    the periodic definitions, written here independently of numpy."""
    if 0 <= x < n:
        return x
    if mode == "constant":
        return -1
    if mode == "edge":
        return min(max(x, 0), n - 1)
    if mode == "wrap":
        return x % n
    if mode == "reflect":
        if n == 1:
            return 0
        r = x % (2 * (n - 1))
        return r if r < n else 2 * (n - 1) - r
    r = x % (2 * n)  # symmetric
    return r if r < n else 2 * n - 1 - r


@pytest.mark.parametrize("mode", MODES)
def test_pad_runs_follow_numpy_pad(mode):
    """Against the periodic definitions, and against numpy.pad itself on
    numpy 2 (numpy 1.x pads reflect and symmetric differently once the two
    widths differ and exceed the axis; the crate follows numpy 2)."""
    rng = np.random.default_rng(MODES.index(mode))
    for _ in range(300):
        n = int(rng.integers(1, 9))
        b, a = (int(w) for w in rng.integers(0, 30, size=2))
        want = [source_index(mode, x, n) for x in range(-b, n + a)]
        got = []
        for first, length, step in _core.pad_runs(n, b, a, mode):
            got += [-1] * length if first < 0 else list(range(first, first + step * length, step))
        assert got == want, (n, b, a)
        if NUMPY2:
            kw = {"constant_values": -1} if mode == "constant" else {}
            assert np.pad(np.arange(n), (b, a), mode=mode, **kw).tolist() == want, (n, b, a)


def check(img, chunks, patch, step=1, dilation=1, edge="same", mode="reflect", cval=0):
    """Every function of ndarray_patches.dask against nd.padded."""
    x = da.from_array(img, chunks=chunks)
    p = nd.padded(img, patch, step, dilation, edge=edge, mode=mode, cval=cval)
    X = p.to_matrix(np.float64)
    kw = dict(step=step, dilation=dilation, edge=edge, mode=mode, cval=cval)
    w = np.random.default_rng(0).standard_normal(p.patch_len)
    s = ndd.patch_dot(x, patch, w, **kw)
    assert s.shape == p.grid
    np.testing.assert_allclose(s.compute(), (X @ w).reshape(p.grid), rtol=1e-9, atol=1e-9)
    m = ndd.map_chunks(x, patch, lambda c: c[:, [0, -1]], dtype=np.float64, **kw)
    np.testing.assert_array_equal(m.compute(), X[:, [0, -1]].reshape(p.grid + (2,)))
    np.testing.assert_allclose(ndd.gram(x, patch, **kw), X.T @ X, rtol=1e-10)
    np.testing.assert_allclose(ndd.mean(x, patch, **kw), X.mean(axis=0), rtol=1e-10, atol=1e-12)
    if len(p) > 1:
        np.testing.assert_allclose(
            ndd.covariance(x, patch, **kw), np.cov(X, rowvar=False), rtol=1e-8, atol=1e-8
        )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "shape,chunks,patch,step,dilation",
    [
        ((37, 29), (10, 8), (5, 5), 1, 1),
        ((31, 40), (7, 9), (4, 6), (2, 3), 1),  # even patch: one more after
        ((26, 23), (6, 5), (3, 3), 1, (3, 2)),  # dilation
        ((5, 4), (2, 3), (9, 11), 1, 1),  # widths wider than the array
        ((3, 2), (1, 1), (7, 7), (2, 1), (2, 3)),  # far wider, 1-element chunks
        ((12, 10, 3), (5, 4, 3), (3, 3, 3), (2, 2, 1), 1),
    ],
)
def test_same_against_padded(mode, shape, chunks, patch, step, dilation):
    rng = np.random.default_rng(sum(shape) + MODES.index(mode))
    img = rng.random(shape) * 10
    check(img, chunks, patch, step, dilation, "same", mode, cval=2.5)


@pytest.mark.parametrize("mode", ["constant", "reflect", "wrap"])
def test_cover_against_padded(mode):
    img = np.random.default_rng(1).random((29, 34))
    check(img, (9, 10), (6, 5), (4, 7), 1, "cover", mode, cval=-1.0)


def test_integer_images_and_cval():
    img = (np.arange(20 * 18) % 251).astype(np.uint8).reshape(20, 18)
    check(img, (6, 7), (5, 3), 1, 1, "same", "constant", cval=200)
    check(img, (6, 7), (5, 3), 2, 1, "same", "symmetric")


def test_reflect_means_numpy_reflect():
    """The issue's trap: dask's boundary="reflect" is numpy's "symmetric";
    here mode="reflect" is numpy's, on every border pixel of a 3x3 box
    filter."""
    img = np.random.default_rng(3).random((64, 48))
    x = da.from_array(img, chunks=16)
    got = ndd.patch_dot(x, (3, 3), np.full(9, 1 / 9), edge="same", mode="reflect").compute()
    padded = np.pad(img, 1, mode="reflect")
    want = sum(padded[i : i + 64, j : j + 48] for i in range(3) for j in range(3)) / 9
    assert got.shape == img.shape
    np.testing.assert_allclose(got, want, rtol=1e-12)
    sym = ndd.patch_dot(x, (3, 3), np.full(9, 1 / 9), edge="same", mode="symmetric").compute()
    assert not np.allclose(sym[0], want[0])


def test_padding_is_lazy_and_keeps_the_blocks():
    """A large dask array is padded in the graph, not in memory, and the
    result is chunked like x."""
    x = da.zeros((40_000, 40_000), chunks=10_000, dtype=np.float32)  # 6.4 GB, never built
    s = ndd.patch_dot(x, (15, 15), np.ones(225, np.float32), edge="same", mode="reflect")
    assert s.shape == x.shape and len(s.chunks[0]) == 4
    assert float(s[:3, :3].compute().sum()) == 0.0


def test_errors():
    x = da.zeros((10, 10), chunks=5)
    with pytest.raises(nd.PatchError, match="unknown mode 'bogus'"):
        ndd.gram(x, 3, edge="same", mode="bogus")
    with pytest.raises(nd.PatchError, match="unknown mode"):
        ndd.map_chunks(x, 3, lambda c: c[:, 0], edge="same", mode=3)
    with pytest.raises(nd.PatchError, match="zero"):
        ndd.mean(x, (3, 0), edge="same")
    empty = da.zeros((0, 10), chunks=5)
    with pytest.raises(nd.PatchError, match="empty|length 0|axis 0"):
        ndd.gram(empty, 3, edge="same", mode="reflect")

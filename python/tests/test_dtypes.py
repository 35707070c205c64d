"""Every numpy dtype a source may have, against numpy (issue 19, item 2)."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import ndarray_patches as nd

DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
          np.uint64, np.bool_, np.float32, np.float64]


def source(dtype, shape=(9, 11)):
    rng = np.random.default_rng(3)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)
    return rng.standard_normal(shape).astype(dt)


def reference(a, patch, step):
    v = sliding_window_view(a, patch)[:: step[0], :: step[1]]
    return v.reshape(-1, patch[0] * patch[1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_to_matrix_keeps_dtype(dtype):
    a = source(dtype)
    p = nd.Patches(a, (3, 4), step=(2, 1))
    m = p.to_matrix()
    assert m.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(m, reference(a, (3, 4), (2, 1)))


@pytest.mark.parametrize("out", [np.float32, np.float64])
@pytest.mark.parametrize("dtype", DTYPES)
def test_to_matrix_converts_as_astype(dtype, out):
    a = source(dtype)
    p = nd.Patches(a, (3, 4), step=(2, 1))
    m = p.to_matrix(dtype=out)
    assert m.dtype == np.dtype(out)
    np.testing.assert_array_equal(m, reference(a, (3, 4), (2, 1)).astype(out))


@pytest.mark.parametrize("dtype", DTYPES)
def test_chunks_and_get(dtype):
    a = source(dtype)
    p = nd.Patches(a, (2, 3))
    ref = reference(a, (2, 3), (1, 1))
    for dt in (None, np.float64):
        got = np.concatenate([c for _, c in p.chunks(rows=7, dtype=dt)])
        want = ref if dt is None else ref.astype(dt)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(p.get(5).ravel(), ref[5])
    idx, rows = p.sample(4, seed=1)
    np.testing.assert_array_equal(rows, ref[idx])


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_algebra_in_float(dtype):
    a = source(dtype, (6, 7))
    p = nd.Patches(a, (2, 2))
    x = reference(a, (2, 2), (1, 1)).astype(np.float64)
    w = np.arange(4, dtype=np.float64)
    np.testing.assert_allclose(p.dot(w, dtype=np.float64), x @ w, rtol=1e-12)
    np.testing.assert_allclose(p.gram(dtype=np.float64), x.T @ x, rtol=1e-12)
    np.testing.assert_allclose(p.mean(dtype=np.float64), x.mean(axis=0), rtol=1e-12)
    x32 = reference(a, (2, 2), (1, 1)).astype(np.float32)
    np.testing.assert_allclose(p.dot(w.astype(np.float32), dtype=np.float32),
                               x32 @ w.astype(np.float32), rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_padded_every_dtype(dtype):
    a = source(dtype, (5, 6))
    p = nd.padded(a, 3, edge="same", mode="reflect")
    assert p.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(p.source, np.pad(a, 1, mode="reflect"))


def test_arange_int64_and_bool_mask():
    p = nd.Patches(np.arange(10), 3)
    assert p.to_matrix().dtype == np.int64
    np.testing.assert_array_equal(p.to_matrix()[-1], [7, 8, 9])
    m = nd.Patches(np.arange(10) % 3 == 0, 2).to_matrix(dtype=np.float32)
    np.testing.assert_array_equal(m[:, 0], (np.arange(9) % 3 == 0).astype(np.float32))

"""Products and statistics of the virtual patch matrix against numpy on the
built matrix; seeded sampling."""

import numpy as np
import pytest

import ndarray_patches as nd
from conftest import reference_matrix

DTYPES = [np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64]


def image(dtype, shape=(23, 19), seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 200).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_products(dtype):
    img = image(dtype)
    p = nd.Patches(img, (4, 3), step=(2, 1), dilation=(1, 2))
    X = reference_matrix(img, (4, 3), (2, 1), (1, 2)).astype(np.float64)
    rng = np.random.default_rng(1)
    w = rng.standard_normal(p.patch_len)
    W = rng.standard_normal((p.patch_len, 5))
    v = rng.standard_normal(len(p))
    np.testing.assert_allclose(p.dot(w), X @ w, rtol=1e-10)
    np.testing.assert_allclose(p.matmul(W), X @ W, rtol=1e-10)
    np.testing.assert_allclose(p.t_dot(v), X.T @ v, rtol=1e-10)
    # float32 arithmetic when asked (or by numpy's promotion)
    y32 = p.dot(w.astype(np.float32))
    assert y32.dtype == np.result_type(dtype, np.float32)
    np.testing.assert_allclose(p.dot(w, dtype=np.float32), X @ w, rtol=2e-4, atol=1e-2)
    assert p.dot(w, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("dtype", DTYPES)
def test_statistics(dtype):
    img = image(dtype, seed=2) + (100 if np.dtype(dtype).kind == "f" else 0)
    img = img.astype(dtype)
    p = nd.Patches(img, (3, 3))
    X = reference_matrix(img, (3, 3), (1, 1), (1, 1)).astype(np.float64)
    np.testing.assert_allclose(p.gram(), X.T @ X, rtol=1e-12)
    np.testing.assert_allclose(p.mean(), X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(p.covariance(), np.cov(X, rowvar=False), rtol=1e-9, atol=1e-9)
    assert p.gram(np.float32).dtype == np.float32
    np.testing.assert_allclose(p.covariance(np.float32), np.cov(X, rowvar=False), rtol=1e-3, atol=1e-2)


def test_covariance_of_large_means_keeps_its_digits():
    rng = np.random.default_rng(3)
    img = 1e6 + rng.random((40, 40))
    p = nd.Patches(img, 2)
    X = reference_matrix(img, (2, 2), (1, 1), (1, 1))
    np.testing.assert_allclose(p.covariance(), np.cov(X - 1e6, rowvar=False), rtol=1e-7)


def test_sample_is_seeded_and_distinct():
    img = np.arange(400, dtype=np.float32).reshape(20, 20)
    p = nd.Patches(img, 5)
    rows, X = p.sample(50, seed=7)
    rows2, X2 = p.sample(50, seed=7)
    np.testing.assert_array_equal(rows, rows2)
    np.testing.assert_array_equal(X, X2)
    assert not np.array_equal(rows, p.sample(50, seed=8)[0])
    assert len(set(rows.tolist())) == 50 and rows.dtype == np.int64
    np.testing.assert_array_equal(X, p.to_matrix()[rows])
    assert X.dtype == np.float32
    all_rows, _ = p.sample(len(p), seed=1)
    assert sorted(all_rows.tolist()) == list(range(len(p)))


def test_sample_with_replacement_weights_and_mask():
    img = np.zeros((12, 12), np.uint8)
    p = nd.Patches(img, 3)  # grid 10x10
    r, _ = p.sample(500, replace=True, seed=0)
    assert len(r) == 500 and len(set(r.tolist())) < 100
    w = np.zeros(p.grid)
    w[2, 3] = 1.0
    w[7, 7] = 3.0
    r, _ = p.sample(2000, replace=True, weights=w)
    counts = np.bincount(r, minlength=len(p))
    assert set(np.nonzero(counts)[0].tolist()) == {23, 77}
    assert 2.4 < counts[77] / counts[23] < 3.8
    m = np.zeros(p.grid, bool)
    m[:, 0] = True
    r, _ = p.sample(10, mask=m)
    assert sorted(r.tolist()) == list(range(0, 100, 10))
    # weights and mask together: the mask zeroes weights
    r, _ = p.sample(1, weights=w, mask=~(np.arange(100).reshape(10, 10) == 77))
    assert r.tolist() == [23]


def test_method_argument():
    # Every method the crate offers agrees with numpy on the matrix, and a
    # method that cannot compute a call says so in Python's terms.
    img = np.random.default_rng(11).random((40, 36))
    p = nd.Patches(img, (6, 5))
    X = p.to_matrix()
    w = np.random.default_rng(12).random(30)
    W = np.random.default_rng(13).random((30, 3))
    v = np.random.default_rng(14).random(len(p))
    for m in ("auto", "gemm", "displacement"):
        np.testing.assert_allclose(p.gram(method=m), X.T @ X, rtol=1e-10)
        np.testing.assert_allclose(p.mean(method=m), X.mean(axis=0), rtol=1e-10)
        np.testing.assert_allclose(p.covariance(method=m), np.cov(X, rowvar=False), rtol=1e-8, atol=1e-12)
    for m in ("auto", "gemm", "fft"):
        np.testing.assert_allclose(p.dot(w, method=m), X @ w, rtol=1e-10)
        np.testing.assert_allclose(p.matmul(W, method=m), X @ W, rtol=1e-10)
        np.testing.assert_allclose(p.t_dot(v, method=m), X.T @ v, rtol=1e-10)
    with pytest.raises(nd.PatchError, match=r'Patches.gram: method must be "auto", "gemm", "displacement" or "fft", not "blas"'):
        p.gram(method="blas")
    with pytest.raises(nd.PatchError, match=r'method="fft" cannot compute this: .*use method="auto" or "gemm"'):
        p.gram(method="fft")
    with pytest.raises(nd.PatchError, match=r'method="displacement" cannot compute this'):
        p.dot(w, method="displacement")

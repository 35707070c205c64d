"""Patches.mean_covariance and Patches.project against numpy on the
materialized matrix, on every layout and method."""

import numpy as np
import pytest

import ndarray_patches as nd
from conftest import reference_matrix


def sources():
    rng = np.random.default_rng(11)
    base = rng.random((40, 36)) * 50 + 1000  # bright, low contrast
    yield "C", base
    yield "F", np.asfortranarray(base)
    yield "sliced", base[::2, 1::1]
    yield "reversed", base[::-1, ::-1]
    yield "uint8", (base * 7 % 251).astype(np.uint8)


@pytest.mark.parametrize("name,img", list(sources()))
@pytest.mark.parametrize("method", ["auto", "gemm", "displacement"])
@pytest.mark.parametrize("patch,step,dilation", [((3, 3), (1, 1), (1, 1)), ((4, 5), (2, 3), (1, 2))])
def test_mean_covariance_is_mean_and_covariance(name, img, method, patch, step, dilation):
    p = nd.Patches(img, patch, step, dilation)
    X = reference_matrix(img, patch, step, dilation).astype(np.float64)
    mean, cov = p.mean_covariance(method=method)
    assert mean.dtype == cov.dtype == np.float64
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-12)
    ref = np.cov(X, rowvar=False)
    np.testing.assert_allclose(cov, ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    m32, c32 = p.mean_covariance(np.float32, method=method)
    assert m32.dtype == c32.dtype == np.float32
    np.testing.assert_allclose(m32, mean, rtol=1e-6)


def test_mean_covariance_errors():
    p = nd.Patches(np.zeros((4, 4)), 4)
    with pytest.raises(nd.PatchError, match="2"):
        p.mean_covariance()
    with pytest.raises(nd.PatchError, match="method"):
        nd.Patches(np.zeros((5, 5)), 2).mean_covariance(method="bogus")
    with pytest.raises(nd.PatchError, match="fft"):
        nd.Patches(np.zeros((5, 5)), 2).mean_covariance(method="fft")


@pytest.mark.parametrize("method", ["auto", "gemm", "fft"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_project_is_the_centred_projection(method, dtype):
    rng = np.random.default_rng(3)
    img = (rng.random((48, 40)) + 100).astype(dtype)
    p = nd.Patches(img, (7, 6))
    X = p.to_matrix(np.float64)
    mu = X.mean(axis=0)
    evals, evecs = np.linalg.eigh(np.cov(X, rowvar=False))
    C = evecs[:, ::-1][:, :5].T.astype(dtype)
    S = p.project(C, method=method)
    assert S.shape == p.grid + (5,) and S.dtype == dtype
    want = ((X - mu) @ C.T.astype(np.float64)).reshape(p.grid + (5,))
    tol = 1e-4 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(S, want, rtol=0, atol=tol * np.abs(X).max())
    # an explicit mean (scikit-learn's PCA.mean_), and none at all
    m = rng.random(p.patch_len)
    np.testing.assert_allclose(
        p.project(C, mean=m, method=method, dtype=np.float64),
        ((X - m) @ C.T.astype(np.float64)).reshape(p.grid + (5,)),
        rtol=1e-9,
    )


def test_project_matches_scikit_learn_pca():
    sklearn = pytest.importorskip("sklearn.decomposition")
    rng = np.random.default_rng(4)
    img = rng.random((30, 30))
    p = nd.Patches(img, (4, 4))
    X = p.to_matrix(np.float64)
    pca = sklearn.PCA(6).fit(X)
    S = p.project(pca.components_, mean=pca.mean_)
    np.testing.assert_allclose(S.reshape(-1, 6), pca.transform(X), rtol=1e-8, atol=1e-10)


def test_project_with_windowed_axes():
    """An RGB image with axis=(0, 1): the channels are in the patch, the
    grid is 2-D and the result (*grid, k)."""
    img = np.random.default_rng(5).random((20, 18, 3))
    p = nd.Patches(img, (3, 3), axis=(0, 1))
    X = p.to_matrix(np.float64)
    C = np.random.default_rng(6).standard_normal((2, p.patch_len))
    S = p.project(C)
    assert S.shape == p.grid + (2,) == (18, 16, 2)
    np.testing.assert_allclose(S.reshape(-1, 2), (X - X.mean(axis=0)) @ C.T, rtol=1e-9, atol=1e-9)


def test_project_errors():
    p = nd.Patches(np.zeros((6, 6)), 2)
    with pytest.raises(nd.PatchError, match=r"components for Patches.project has shape \(3, 5\)"):
        p.project(np.zeros((3, 5)))
    with pytest.raises(nd.PatchError, match="components for Patches.project must have 2 axes"):
        p.project(np.zeros(4))
    with pytest.raises(nd.PatchError, match=r"mean for Patches.project has shape \(3,\)"):
        p.project(np.zeros((1, 4)), mean=np.zeros(3))

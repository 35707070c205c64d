"""ndarray_patches.dask on a real distributed LocalCluster (worker
processes), against numpy on the whole image."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import ndarray_patches as nd  # noqa: E402
import ndarray_patches.dask as ndd  # noqa: E402
from conftest import local_cluster, reference_matrix  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with local_cluster() as c:
        yield c


def test_runs_on_worker_processes(client):
    info = client.scheduler_info()
    assert len(info["workers"]) == 2
    import os

    pids = set(client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids


@pytest.mark.parametrize(
    "shape,chunks,patch,step,dilation,dtype",
    [
        ((97, 83), (30, 25), (9, 9), 1, 1, np.float32),
        ((64, 70), (20, 16), (5, 3), (2, 3), 1, np.uint8),
        ((50, 61), (13, 40), (3, 4), 1, (2, 1), np.float64),
        ((40, 30, 3), (16, 11, 3), (4, 4, 3), 1, 1, np.int16),  # channels in one chunk
        ((33, 40), (4, 7), (6, 6), 1, 1, np.float64),  # chunks smaller than the window
    ],
)
def test_against_numpy_on_the_whole_image(client, shape, chunks, patch, step, dilation, dtype):
    rng = np.random.default_rng(sum(shape))
    img = (rng.random(shape) * 100).astype(dtype)
    x = da.from_array(img, chunks=chunks)
    nd_ = len(shape)
    step_t = (step,) * nd_ if isinstance(step, int) else step
    dil_t = (dilation,) * nd_ if isinstance(dilation, int) else dilation
    X = reference_matrix(img, patch, step_t, dil_t).astype(np.float64)
    grid = nd.Patches(img, patch, step, dilation).grid
    w = rng.standard_normal(X.shape[1])

    s = ndd.patch_dot(x, patch, w, step=step, dilation=dilation)
    assert s.shape == grid
    got = s.compute()
    np.testing.assert_allclose(got, (X @ w).reshape(grid), rtol=1e-5, atol=1e-4)

    np.testing.assert_allclose(ndd.gram(x, patch, step, dilation), X.T @ X, rtol=1e-10)
    np.testing.assert_allclose(ndd.mean(x, patch, step, dilation), X.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(
        ndd.covariance(x, patch, step, dilation), np.cov(X, rowvar=False), rtol=1e-8, atol=1e-8
    )


def test_covariance_of_large_means(client):
    rng = np.random.default_rng(5)
    img = 1e6 + rng.random((60, 60))
    X = reference_matrix(img, (3, 3), (1, 1), (1, 1))
    got = ndd.covariance(da.from_array(img, chunks=17), 3)
    np.testing.assert_allclose(got, np.cov(X - 1e6, rowvar=False), rtol=1e-7)


def test_errors_before_any_task():
    x = da.zeros((10, 10), chunks=5)
    with pytest.raises(nd.PatchError, match="larger than the array"):
        ndd.gram(x, 11)
    with pytest.raises(nd.PatchError):
        ndd.patch_dot(x, 3, np.ones(8))
    with pytest.raises(nd.PatchError, match="unsupported dtype"):
        ndd.gram(da.zeros((10, 10), chunks=5, dtype=np.float16), 3)


@pytest.mark.parametrize("edge,step", [("valid", 1), ("valid", (2, 3)), ("shift", (4, 5))])
def test_map_chunks_on_the_cluster_against_the_in_memory_result(client, edge, step):
    rng = np.random.default_rng(7)
    img = rng.random((53, 61)).astype(np.float32)
    x = da.from_array(img, chunks=(20, 17))
    W = rng.standard_normal((25, 3)).astype(np.float32)
    p = nd.Patches(img, (5, 5), step=step, edge=edge)
    lazy = ndd.map_chunks(x, (5, 5), lambda X: X @ W, step=step, edge=edge, rows=7)
    assert lazy.shape == p.grid + (3,)
    want = p.map_chunks(lambda X: X @ W)
    # float32 X @ W rounds by BLAS blocking (chunks of other sizes): to the
    # largest value, not element by element.
    np.testing.assert_allclose(lazy.compute(), want, rtol=0, atol=1e-5 * np.abs(want).max())
    one = ndd.map_chunks(x, (5, 5), lambda X: X.max(axis=1), step=step, edge=edge)
    assert one.shape == p.grid and one.dtype == np.float32
    if edge == "valid":
        X = reference_matrix(img, (5, 5), p.step, (1, 1))
        np.testing.assert_array_equal(one.compute(), X.max(axis=1).reshape(p.grid))
    else:
        np.testing.assert_array_equal(one.compute(), p.to_matrix().max(axis=1).reshape(p.grid))


def test_map_chunks_with_a_scikit_learn_model(client):
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(8)
    img = rng.random((48, 40))
    p = nd.Patches(img, 4)
    _, Xs = p.sample(200, seed=1)
    clf = LogisticRegression().fit(Xs, Xs[:, 5] > 0.5)
    lazy = ndd.map_chunks(da.from_array(img, chunks=(16, 13)), 4, clf.predict_proba, dtype=np.float64)
    np.testing.assert_allclose(lazy.compute(), p.map_chunks(clf.predict_proba, dtype=np.float64), rtol=1e-10)
    with pytest.raises(nd.PatchError, match=r"fn of ndarray_patches\.dask\.map_chunks returned shape \(\)"):
        ndd.map_chunks(da.from_array(img, chunks=16), 4, np.sum)

"""map_chunks (a function or a model on every window, grid-shaped) and len()
of the chunk iterators (issue 19, item 3), against numpy on the whole matrix."""

import numpy as np
import pytest

import ndarray_patches as nd
from conftest import reference_matrix


@pytest.mark.parametrize("rows", [None, 1, 7, 64, 10**6])
@pytest.mark.parametrize("step", [(1, 1), (2, 3)])
def test_one_value_per_row(rows, step):
    rng = np.random.default_rng(0)
    img = rng.random((23, 19)).astype(np.float32)
    p = nd.Patches(img, (4, 5), step=step)
    X = reference_matrix(img, (4, 5), step, (1, 1)).astype(np.float64)
    got = p.map_chunks(lambda c: c.sum(axis=1, dtype=np.float64), rows=rows)
    assert got.shape == p.grid and got.dtype == np.float64
    np.testing.assert_allclose(got, X.sum(axis=1).reshape(p.grid), rtol=1e-6)


def test_k_values_per_row_and_chunk_dtype():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 1000, (30, 40)).astype(np.uint16)
    p = nd.Patches(img, 5, step=2)
    W = rng.standard_normal((25, 3))
    X = reference_matrix(img, (5, 5), (2, 2), (1, 1)).astype(np.float64)
    got = p.map_chunks(lambda c: c @ W, rows=13, dtype=np.float64)
    assert got.shape == p.grid + (3,)
    np.testing.assert_allclose(got, (X @ W).reshape(p.grid + (3,)))
    seen = set()

    def f(c):
        seen.add(c.dtype)
        return c[:, 0]

    first = p.map_chunks(f, dtype=None)  # the source's dtype
    assert seen == {np.dtype(np.uint16)} and first.dtype == np.uint16
    np.testing.assert_array_equal(first, X[:, 0].reshape(p.grid))


def test_results_that_are_views_of_the_reused_chunk():
    # fn may return a view of its chunk: it is copied out before the buffer
    # is refilled.
    img = np.arange(20 * 20, dtype=np.float64).reshape(20, 20)
    p = nd.Patches(img, 3)
    X = reference_matrix(img, (3, 3), (1, 1), (1, 1))
    np.testing.assert_array_equal(p.map_chunks(lambda c: c[:, 4], rows=9, dtype=np.float64),
                                  X[:, 4].reshape(p.grid))
    np.testing.assert_array_equal(p.map_chunks(lambda c: c[:, :2], rows=10, dtype=np.float64),
                                  X[:, :2].reshape(p.grid + (2,)))


def test_shift_edge_and_3d():
    rng = np.random.default_rng(2)
    img = rng.random((11, 9, 7))
    p = nd.Patches(img, (3, 4, 2), step=(4, 3, 2), edge="shift")
    got = p.map_chunks(lambda c: c.max(axis=1), rows=4, dtype=np.float64)
    np.testing.assert_array_equal(got, p.to_matrix().max(axis=1).reshape(p.grid))


def test_a_scikit_learn_model_on_every_window():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    img = rng.random((40, 50)).astype(np.float32)
    p = nd.Patches(img, 5)
    _, Xs = p.sample(300, seed=1)
    y = Xs.mean(axis=1) > np.median(Xs.mean(axis=1))
    clf = LogisticRegression().fit(Xs, y)
    full = reference_matrix(img, (5, 5), (1, 1), (1, 1))
    np.testing.assert_array_equal(p.map_chunks(clf.predict, rows=100), clf.predict(full).reshape(p.grid))
    np.testing.assert_allclose(
        p.map_chunks(clf.predict_proba), clf.predict_proba(full).reshape(p.grid + (2,)), rtol=1e-6
    )
    assert sklearn  # used


def test_errors_name_the_argument_and_the_method():
    p = nd.Patches(np.zeros((6, 6), np.float32), 2)
    for rows in (0, -5):
        with pytest.raises(nd.PatchError, match=rf"rows={rows} for Patches\.map_chunks: rows must be positive"):
            p.map_chunks(np.sum, rows=rows)
    with pytest.raises(nd.PatchError, match=r"fn of Patches\.map_chunks returned shape \(\) for a chunk of 25 rows"):
        p.map_chunks(np.sum)
    with pytest.raises(TypeError, match=r"fn of Patches\.map_chunks must be callable"):
        p.map_chunks(3)
    with pytest.raises(nd.PatchError, match="unsupported output dtype int8"):
        p.map_chunks(np.sum, dtype=np.int8)
    ks = iter([2, 3, 3])
    with pytest.raises(nd.PatchError, match="same number of columns"):
        p.map_chunks(lambda c: np.zeros((len(c), next(ks))), rows=10)
    with pytest.raises(ZeroDivisionError):  # fn's own errors propagate
        p.map_chunks(lambda c: 1 / 0, rows=3)
    # and the Patches stays usable
    assert p.map_chunks(lambda c: c.sum(axis=1)).shape == (5, 5)


def test_len_of_the_iterators():
    p = nd.Patches(np.zeros((30, 30), np.float32), 4)  # 27 * 27 = 729 rows
    it = p.chunks(rows=100)
    assert len(it) == 8
    next(it)
    assert len(it) == 7
    assert len(list(it)) == 7 and len(it) == 0
    assert len(p.chunks(rows=100, start=700)) == 1
    assert len(p.chunks(rows=100, start=729)) == 0
    assert len(p.chunks()) == 1  # 16 MiB of float32 hold every row
    sh = p.shuffled(rows=50, seed=1)
    assert len(sh) == 15
    next(sh)
    assert len(sh) == 14 and sum(1 for _ in sh) == 14
    assert len(p.shuffled(rows=10, start=5, stop=26)) == 3


def test_a_linear_model_by_dot_equals_its_decision_function():
    """The docstring's advice: a linear model's scores on every window by
    the crate's dot, equal to decision_function through map_chunks."""
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(12)
    img = rng.random((60, 50)).astype(np.float32)
    p = nd.Patches(img, 7)
    _, Xs = p.sample(400, seed=2)
    clf = LogisticRegression(max_iter=300).fit(Xs, Xs[:, 24] > 0.5)
    want = p.map_chunks(clf.decision_function, rows=100)
    got = (p.dot(clf.coef_.ravel()) + clf.intercept_).reshape(p.grid)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads():
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def test_fn_beside_a_fill_has_one_blas_thread_and_the_limits_come_back():
    # 39 chunks: the call probes, so the chunks that run beside a fill see
    # one BLAS thread, the others the process's setting; afterwards the
    # setting is as before, also when fn raises.
    img = np.random.default_rng(3).random((50, 50)).astype(np.float32)
    p = nd.Patches(img, (3, 3))
    before = _blas_threads()
    if not before:
        pytest.skip("no BLAS library that threadpoolctl controls")
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        seen = []

        def fn(x):
            seen.append(max(_blas_threads()))
            return x @ np.ones(9, np.float32)

        got = p.map_chunks(fn, rows=60)
        np.testing.assert_allclose(got.ravel(), reference_matrix(img, (3, 3), (1, 1), (1, 1)).sum(axis=1), rtol=1e-5)
        assert len(seen) == -(-len(p) // 60) and seen[0] == 1  # chunk 0 runs beside the first fill
        # chunks 1 to 3 probe fn beside the fill, 4 to 6 fn on its own
        assert set(seen) <= {1, 2} and seen[:4] == [1] * 4 and seen[4:7] == [2] * 3
        assert _blas_threads() == [2] * len(before)
        calls = []

        def bad(x):
            calls.append(max(_blas_threads()))
            if len(calls) == 3:
                raise ValueError("stop")
            return x[:, 0]

        with pytest.raises(ValueError, match="stop"):
            p.map_chunks(bad, rows=60)
        assert calls[0] == 1
        assert _blas_threads() == [2] * len(before)
    assert _blas_threads() == before


def test_calls_from_other_threads_leave_the_blas_setting():
    import threading

    img = np.random.default_rng(4).random((60, 60)).astype(np.float32)
    p = nd.Patches(img, (3, 3))
    before = _blas_threads()
    out = {}

    def work(k):
        out[k] = p.map_chunks(lambda x: x @ np.full(9, k, np.float32), rows=50)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    want = reference_matrix(img, (3, 3), (1, 1), (1, 1)).sum(axis=1).reshape(58, 58)
    for k in range(1, 5):
        np.testing.assert_allclose(out[k], k * want, rtol=1e-5)
    assert _blas_threads() == before

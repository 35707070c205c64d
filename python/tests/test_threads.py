"""The GIL is released during fills, and a forked child can use the pool
after its parent did."""

import multiprocessing
import threading
import time

import numpy as np
import pytest

import ndarray_patches as nd


def share_during(call):
    """The share of its free-running speed at which another Python thread
    counts while `call` runs: about 1 if `call` releases the GIL (and leaves
    it a core), about 0 if it holds the GIL."""
    state = {"n": 0, "stop": False}

    def spin():
        while not state["stop"]:
            state["n"] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        n0 = state["n"]
        time.sleep(0.2)  # sleeping releases the GIL: the free-running rate
        rate = (state["n"] - n0) / 0.2
        before = state["n"]
        t0 = time.perf_counter()
        call()
        elapsed = time.perf_counter() - t0
        during = state["n"] - before
    finally:
        state["stop"] = True
        t.join()
    return during / (rate * elapsed), elapsed


@pytest.fixture
def one_thread():
    # The fill on one core, the counting thread on the other.
    nd.set_num_threads(1)
    yield
    nd.set_num_threads()


def test_gil_released_during_to_matrix_and_gram(one_thread):
    img = np.random.default_rng(0).random((700, 700)).astype(np.float32)
    p = nd.Patches(img, (16, 16))  # a 450 MB matrix
    share, elapsed = share_during(p.to_matrix)
    assert elapsed > 0.05
    assert share > 0.3, (share, elapsed)
    # Long enough under either method: displacement sums take about 50 ms on
    # the 700x700 image, too close to the bound, so a 2000x2000 one (8x).
    big = np.random.default_rng(1).random((2000, 2000)).astype(np.float32)
    share, elapsed = share_during(lambda: nd.Patches(big, 16).gram())
    assert elapsed > 0.05
    assert share > 0.3, (share, elapsed)


def test_a_call_that_holds_the_gil_is_seen():
    # The control: the same measure of a C loop that holds the GIL
    # (sum over a range) is near 0, so the test above can fail.
    share, elapsed = share_during(lambda: sum(range(20_000_000)))
    assert elapsed > 0.05
    assert share < 0.15, (share, elapsed)


def _child(q):
    img = np.arange(200 * 200, dtype=np.float32).reshape(200, 200)
    p = nd.Patches(img, 8)
    q.put((float(p.to_matrix().sum()), float(p.gram()[0, 0]), nd.get_num_threads()))


def test_forked_child_uses_its_own_pool():
    img = np.arange(200 * 200, dtype=np.float32).reshape(200, 200)
    p = nd.Patches(img, 8)
    want = (float(p.to_matrix().sum()), float(p.gram()[0, 0]))  # the parent used the pool
    ctx = multiprocessing.get_context("fork")
    for _ in range(2):
        q = ctx.Queue()
        child = ctx.Process(target=_child, args=(q,))
        child.start()
        child.join(60)
        if child.is_alive():
            child.kill()
            pytest.fail("the forked child hung (rayon pool of the parent?)")
        assert child.exitcode == 0
        got = q.get(timeout=5)
        assert got[:2] == want
        assert got[2] >= 1


def _child_iterates(it, q):
    q.put([(s, c.copy()) for s, c in it])


def test_forked_child_continues_an_iterator():
    img = np.arange(100 * 100, dtype=np.float32).reshape(100, 100)
    p = nd.Patches(img, 5)
    want = p.to_matrix()
    it = p.chunks(rows=1000)
    s0, c0 = next(it)  # the parent has used its pool
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    child = ctx.Process(target=_child_iterates, args=(it, q))
    child.start()
    got = q.get(timeout=60)
    child.join(60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung (the parent's pool?)")
    assert child.exitcode == 0
    assert s0 == 0 and [s for s, _ in got] == list(range(1000, len(p), 1000))
    np.testing.assert_array_equal(np.concatenate([c0] + [c for _, c in got]), want)
    # the parent's iterator is unaffected
    rest = list(it)
    np.testing.assert_array_equal(np.concatenate([c0] + [c for _, c in rest]), want)


def test_set_num_threads():
    try:
        nd.set_num_threads(1)
        assert nd.get_num_threads() == 1
        img = np.random.default_rng(1).random((64, 64))
        np.testing.assert_array_equal(nd.Patches(img, 5).to_matrix().shape, (3600, 25))
        nd.set_num_threads(3)
        assert nd.get_num_threads() == 3
    finally:
        nd.set_num_threads()
    assert nd.get_num_threads() >= 1


def test_set_num_threads_during_an_iteration():
    img = np.arange(60 * 60, dtype=np.float64).reshape(60, 60)
    p = nd.Patches(img, 3)
    try:
        it = p.chunks(rows=500)
        first = [next(it)]
        nd.set_num_threads(1)  # the pending chunk runs on the old pool
        rest = list(it)
        assert nd.get_num_threads() == 1
    finally:
        nd.set_num_threads()
    np.testing.assert_array_equal(np.concatenate([c for _, c in first + rest]), p.to_matrix())

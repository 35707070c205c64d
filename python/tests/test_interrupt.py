"""Ctrl-C during a long call.

A timer thread sends SIGINT 0.5 s into a call that takes over 10 s (or, for
calls bounded by memory, as long as the memory allows); the call must raise
KeyboardInterrupt within 2 s of the signal, and the same objects must then
give the right results. The crate checks a stop token between its units of
work (chunks, copy blocks, displacement tiles); the binding checks for
signals every 50 ms while the pool works.
"""

import os
import signal
import threading
import time

import numpy as np
import pytest

import ndarray_patches as nd

DELAY = 0.5
WITHIN = 2.0

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGINT") or os.name != "posix",
    reason="needs POSIX signals",
)


def interrupted(call, delay=DELAY):
    """Seconds from the signal to KeyboardInterrupt; fails if `call`
    returns without one."""
    assert threading.current_thread() is threading.main_thread()
    sent = []

    def send():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(delay, send)
    timer.start()
    try:
        call()
        # A call shorter than the delay: the signal is still to come.
        time.sleep(delay + WITHIN)
    except KeyboardInterrupt:
        took = time.perf_counter() - sent[0]
        print(f"KeyboardInterrupt {took:.3f} s after SIGINT")  # pytest -s shows it
        return took
    finally:
        timer.cancel()
    pytest.fail("no KeyboardInterrupt")


def swv(img, patch):
    return np.lib.stride_tricks.sliding_window_view(img, patch)


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(7).random((640, 640), dtype=np.float32)


def test_gemm_gram(image):
    # GEMM over every chunk of 362k rows of 1521: about 20 s on 2 cores.
    p = nd.Patches(image, 39)
    took = interrupted(lambda: p.gram(dtype=np.float32, method="gemm"))
    assert took < WITHIN, took
    # The same object, right afterwards.
    ref = swv(image, (39, 39)).reshape(-1, 1521)
    np.testing.assert_allclose(p.mean(), ref.mean(axis=0, dtype=np.float64), rtol=1e-9)
    np.testing.assert_array_equal(p.to_matrix(start=1000, stop=1010), ref[1000:1010])


def test_gemm_dot_and_t_dot(image):
    p = nd.Patches(image, 39)
    # 1.4e11 multiply-adds by GEMM per call: several seconds each.
    W = np.ones((1521, 256), np.float32)
    took = interrupted(lambda: [p.matmul(W, method="gemm") for _ in range(100)])
    assert took < WITHIN, took
    v = np.ones(len(p), np.float32)
    took = interrupted(lambda: [p.t_dot(v, method="gemm") for _ in range(1000)])
    assert took < WITHIN, took
    got = p.t_dot(v, dtype=np.float64)
    ref = swv(image, (39, 39)).reshape(-1, 1521).sum(axis=0, dtype=np.float64)
    np.testing.assert_allclose(got, ref, rtol=1e-9)


def test_displacement_covariance():
    # Displacement sums over a 3-D volume: about 10-20 s on 2 cores.
    v = np.random.default_rng(3).random((176, 176, 176), dtype=np.float32)
    p = nd.Patches(v, 14)
    took = interrupted(lambda: p.covariance())
    assert took < WITHIN, took
    small = nd.Patches(v[:20, :20, :20], 4)
    ref = swv(v[:20, :20, :20], (4, 4, 4)).reshape(-1, 64).astype(np.float64)
    np.testing.assert_allclose(small.covariance(), np.cov(ref, rowvar=False), atol=1e-10)


def test_to_matrix():
    # As long as memory allows (about 1 GiB): the signal may come after it.
    img = np.random.default_rng(1).random((430, 430), dtype=np.float32)
    p = nd.Patches(img, 39)
    took = interrupted(lambda: [p.to_matrix() for _ in range(50)], delay=0.2)
    assert took < WITHIN, took
    np.testing.assert_array_equal(p.to_matrix(start=5, stop=7), swv(img, (39, 39)).reshape(-1, 1521)[5:7])


def test_map_chunks():
    img = np.random.default_rng(2).random((300, 300), dtype=np.float32)
    p = nd.Patches(img, 9)

    def slow(chunk):
        time.sleep(0.05)
        return chunk.sum(axis=1)

    took = interrupted(lambda: p.map_chunks(slow, rows=100))
    assert took < WITHIN, took
    got = p.map_chunks(lambda c: c.sum(axis=1), rows=1000)
    np.testing.assert_allclose(got, swv(img, (9, 9)).sum(axis=(2, 3)), rtol=1e-5)


def test_iteration():
    img = np.random.default_rng(4).random((300, 300), dtype=np.float32)
    p = nd.Patches(img, 9)

    def walk(it):
        for _ in it:
            time.sleep(0.01)

    assert interrupted(lambda: walk(p.chunks(rows=10))) < WITHIN
    assert interrupted(lambda: walk(p.shuffled(rows=10, seed=1))) < WITHIN
    n = sum(len(c) for _, c in p.chunks(rows=1000))
    assert n == len(p)


def test_fold_add_rows_is_never_half_done():
    # Adding rows is not stopped half-way (a fold with some bands added
    # would be wrong): the rows are added, then KeyboardInterrupt is raised.
    img = np.random.default_rng(5).random((2000, 2000), dtype=np.float32)
    p = nd.Patches(img, 16, step=4)
    X = p.to_matrix()
    f = nd.Fold(img.shape, 16, step=4)
    took = interrupted(lambda: [f.add_rows(0, X) for _ in range(1000)], delay=0.3)
    assert took < WITHIN, took
    # Every add_rows that ran added all its rows: the mean is the image.
    np.testing.assert_allclose(f.finish(), img, rtol=1e-6)

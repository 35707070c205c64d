"""Many Python threads at once (issue 20, item 3): eight threads on one
`Patches` and on separate ones give what sequential calls give; several
threads adding to one `Fold` never tear it; changing the pool's size while
other threads compute neither deadlocks nor changes results."""

import threading

import numpy as np
import pytest

import ndarray_patches as nd

THREADS = 8


def in_threads(fn, n=THREADS, timeout=120):
    """Runs fn(i) on n threads started together; returns the results in
    order, re-raises the first exception."""
    out, errs = [None] * n, []
    start = threading.Barrier(n)

    def body(i):
        try:
            start.wait()
            out[i] = fn(i)
        except BaseException as e:  # noqa: BLE001 - re-raised below
            errs.append(e)

    ts = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout)
        assert not t.is_alive(), "a thread did not finish: deadlock?"
    if errs:
        raise errs[0]
    return out


def image(seed, shape=(96, 80)):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def every_call(p):
    """Results of the calls issue 20 names, as comparable arrays."""
    chunks = np.concatenate([c for _, c in p.chunks(rows=97)])
    rows, batches = zip(*p.shuffled(rows=64, seed=3))
    order = np.concatenate(rows)
    shuffled = np.empty((len(p), p.patch_len), np.float32)
    shuffled[order] = np.concatenate(batches)
    return {
        "to_matrix": p.to_matrix(),
        "chunks": chunks,
        "shuffled": shuffled,
        "gram": p.gram(),
        "mean": p.mean(),
        "dot": p.dot(np.arange(p.patch_len, dtype=np.float32)),
    }


EXACT = ("to_matrix", "chunks", "shuffled")


def same(a, b):
    """Copies bit for bit; sums to rounding (the threads share the work
    dynamically, so the order of a sum's partials varies between calls)."""
    assert a.keys() == b.keys()
    for k in a:
        if k in EXACT:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        else:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=0, err_msg=k)


def test_one_patches_shared_by_eight_threads():
    p = nd.Patches(image(0), (7, 5), step=(1, 2))
    want = every_call(p)
    for got in in_threads(lambda i: every_call(p)):
        same(got, want)


def test_eight_threads_on_their_own_patches():
    ps = [nd.Patches(image(i), (6, 6), dilation=(1, 2), edge="shift", step=5) for i in range(THREADS)]
    want = [every_call(p) for p in ps]
    for got, w in zip(in_threads(lambda i: every_call(ps[i])), want):
        same(got, w)


def test_one_fold_from_many_threads_never_tears():
    img = image(1, (64, 64)).astype(np.float64)
    p = nd.Patches(img, (8, 8))
    m = p.to_matrix()
    want = nd.Fold(img.shape, (8, 8))
    want.add_rows(0, m)
    want = want.finish()
    fold = nd.Fold(img.shape, (8, 8))
    bounds = np.linspace(0, len(m), THREADS + 1).astype(int)

    def add(i):
        # Each thread its own rows, in several calls.
        for a in range(bounds[i], bounds[i + 1], 50):
            b = min(a + 50, bounds[i + 1])
            fold.add_rows(a, m[a:b])

    in_threads(add)
    np.testing.assert_allclose(fold.finish(), want, rtol=1e-12)
    np.testing.assert_allclose(fold.finish(), img, rtol=1e-12)


def test_set_num_threads_while_others_compute():
    p = nd.Patches(image(2, (200, 200)), (9, 9))
    want = p.gram()
    stop = threading.Event()

    def flip():
        k = 0
        while not stop.is_set():
            nd.set_num_threads(1 + k % 2)
            k += 1

    t = threading.Thread(target=flip)
    t.start()
    try:
        got = in_threads(lambda i: p.gram(), n=4)
    finally:
        stop.set()
        t.join(30)
        nd.set_num_threads()
    assert not t.is_alive()
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-12)

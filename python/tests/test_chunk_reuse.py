"""Patches.chunks() refills a chunk it handed out two chunks ago only when
nothing else refers to it: a loop that drops its chunks writes into two
arrays, and a chunk anyone still holds (the chunk, a view of it, a buffer)
is never written again."""

import gc

import numpy as np
import pytest

import ndarray_patches as nd


@pytest.fixture
def p():
    img = np.random.default_rng(0).random((40, 33)).astype(np.float32)
    return nd.Patches(img, (5, 4), step=(1, 2))


def test_a_loop_that_drops_its_chunks_reuses_two_arrays(p):
    X = p.to_matrix()
    ids, got = [], []
    for start, c in p.chunks(rows=50):
        ids.append(id(c))
        got.append((start, c.copy()))
        del c
    assert len(set(ids)) <= 3  # two arrays and, if shorter, the last chunk
    assert ids[2] == ids[0] and ids[3] == ids[1]
    np.testing.assert_array_equal(np.concatenate([c for _, c in got]), X)
    assert [s for s, _ in got] == list(range(0, len(p), 50))


def test_kept_chunks_are_never_rewritten(p):
    X = p.to_matrix()
    kept = list(p.chunks(rows=37))
    assert len({id(c) for _, c in kept}) == len(kept)
    for start, c in kept:
        np.testing.assert_array_equal(c, X[start : start + len(c)])


def test_a_chunk_made_read_only_is_not_refilled(p):
    X = p.to_matrix()
    got = []
    for start, c in p.chunks(rows=20):
        got.append(c.copy())
        c.flags.writeable = False  # then dropped: refilling it would fail
    np.testing.assert_array_equal(np.concatenate(got), X)


@pytest.mark.parametrize("hold", ["view", "memoryview", "frombuffer", "kept"])
def test_a_chunk_still_referred_to_is_not_rewritten(p, hold):
    X = p.to_matrix()
    it = p.chunks(rows=20)
    start, c = next(it)
    if hold == "view":
        h = c[:3]
    elif hold == "memoryview":
        h = memoryview(c)
    elif hold == "frombuffer":
        h = np.frombuffer(c, dtype=np.float32)
    else:
        h = None
    before = np.array(c, copy=True)
    if hold != "kept":
        del c
        gc.collect()
    for _ in it:
        pass
    want = X[start : start + 20]
    np.testing.assert_array_equal(before, want)
    if hold == "view":
        np.testing.assert_array_equal(h, want[:3])
    elif hold == "memoryview":
        np.testing.assert_array_equal(np.asarray(h), want)
    elif hold == "frombuffer":
        np.testing.assert_array_equal(h, want.reshape(-1))
    else:
        np.testing.assert_array_equal(c, want)


def test_dtypes_and_the_short_last_chunk(p):
    for dt in (np.float64, np.float32):
        X = p.to_matrix(dt)
        out = np.empty_like(X)
        for start, c in p.chunks(rows=64, dtype=dt):
            assert c.dtype == dt
            out[start : start + len(c)] = c
        np.testing.assert_array_equal(out, X)

"""Rows, views, chunks and positions against numpy's sliding_window_view on
random shapes, steps, dilations, dtypes and layouts."""

import numpy as np
import pytest

import ndarray_patches as nd
from conftest import layouts, random_array, random_geometry, reference, reference_matrix

DTYPES = [np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64]


CASES = [(seed, dt) for seed in range(8) for dt in DTYPES]


@pytest.mark.parametrize("seed,dtype", CASES)
def test_matrix_view_chunks_positions(seed, dtype):
    rng = np.random.default_rng(seed)
    ndim = [1, 2, 2, 3][seed % 4]
    shape = tuple(int(n) for n in rng.integers(3, 14, size=ndim))
    for name, a in layouts(rng, shape, dtype):
        patch, step, dil = random_geometry(rng, shape)
        p = nd.Patches(a, patch, step=step, dilation=dil)
        ref = reference(a, patch, step, dil)
        refm = reference_matrix(a, patch, step, dil)
        msg = f"{name} {shape} {patch} {step} {dil}"
        assert p.grid == ref.shape[:ndim], msg
        assert len(p) == refm.shape[0] and p.patch_len == refm.shape[1], msg
        v = p.view()
        assert v.shape == ref.shape and not v.flags.writeable, msg
        np.testing.assert_array_equal(v, ref, err_msg=msg)
        m = p.to_matrix()
        assert m.dtype == a.dtype and m.flags.c_contiguous, msg
        np.testing.assert_array_equal(m, refm, err_msg=msg)
        for out in (np.float32, np.float64):
            np.testing.assert_array_equal(p.to_matrix(out), refm.astype(out), err_msg=msg)
        # chunks == matrix, any chunk size, any range
        rows = int(rng.integers(1, len(p) + 2))
        got = list(p.chunks(rows=rows, dtype=np.float64))
        assert [s for s, _ in got] == list(range(0, len(p), rows)), msg
        np.testing.assert_array_equal(np.concatenate([c for _, c in got]), refm.astype(np.float64))
        lo = int(rng.integers(0, len(p) + 1))
        hi = int(rng.integers(lo, len(p) + 1))
        sub = list(p.chunks(rows=3, dtype=a.dtype, start=lo, stop=hi))
        if hi > lo:
            np.testing.assert_array_equal(np.concatenate([c for _, c in sub]), refm[lo:hi])
            assert sub[0][0] == lo
        else:
            assert sub == []
        np.testing.assert_array_equal(p.to_matrix(start=lo, stop=hi), refm[lo:hi])
        # positions: origin of row r is its grid index times the step
        pos = p.positions()
        grid_idx = np.stack(np.unravel_index(np.arange(len(p)), p.grid), axis=1)
        np.testing.assert_array_equal(pos, grid_idx * np.array(step))
        np.testing.assert_array_equal(p.positions(lo, hi), pos[lo:hi])
        r = int(rng.integers(0, len(p)))
        assert p.position(r) == tuple(pos[r])
        np.testing.assert_array_equal(p.get(r).reshape(-1), refm[r])
        with pytest.raises(IndexError):
            p.get(len(p))


def test_write_rows_into_buffers(rng):
    img = random_array(rng, (40, 30), np.uint8)
    p = nd.Patches(img, (5, 4), step=2)
    refm = reference_matrix(img, (5, 4), (2, 2), (1, 1))
    out = np.full((7, p.patch_len), -1.0, np.float32)
    p.write_rows(10, out)
    np.testing.assert_array_equal(out, refm[10:17].astype(np.float32))
    # a non-contiguous (F-order) buffer works too
    f = np.asfortranarray(np.zeros((5, p.patch_len), np.uint8))
    p.write_rows(len(p) - 5, f)
    np.testing.assert_array_equal(f, refm[-5:])
    # a buffer reused across calls: every call overwrites it
    buf = np.empty((16, p.patch_len), np.float64)
    for s in range(0, len(p) - 16, 16):
        p.write_rows(s, buf)
        np.testing.assert_array_equal(buf, refm[s : s + 16])


def test_single_number_means_every_axis(rng):
    img = random_array(rng, (9, 10, 11), np.float32)
    a = nd.Patches(img, 3, step=2, dilation=2)
    b = nd.Patches(img, (3, 3, 3), step=(2, 2, 2), dilation=(2, 2, 2))
    assert a.grid == b.grid
    np.testing.assert_array_equal(a.to_matrix(), b.to_matrix())


def test_conversions_round_like_astype():
    big = np.array([[16777217, -16777219, 2**31 - 1, -(2**31)]], np.int32)
    p = nd.Patches(big, (1, 2))
    np.testing.assert_array_equal(p.to_matrix(np.float32), reference_matrix(big, (1, 2), (1, 1), (1, 1)).astype(np.float32))
    f = np.array([1.0 + 2.0**-30, 3.4e38, 1e-46, np.nan, -np.inf])
    q = nd.Patches(f, 2)
    got = q.to_matrix(np.float32)
    want = reference_matrix(f, (2,), (1,), (1,)).astype(np.float32)
    np.testing.assert_array_equal(got, want)


def test_default_chunks_are_16_mebibytes():
    img = np.zeros((300, 300), np.uint8)
    p = nd.Patches(img, (16, 16))
    sizes = {c.shape[0] for _, c in p.chunks()}
    # 16 MiB of float32 output: 16384 rows of 256 floats
    assert max(sizes) == min(len(p), (16 << 20) // (256 * 4))
    assert sum(c.shape[0] for _, c in p.chunks()) == len(p)


def test_chunks_snapshot_the_source_unless_copy_false():
    img = np.arange(100, dtype=np.float64).reshape(10, 10)
    it = nd.Patches(img, 2).chunks(rows=9)
    _, first = next(it)
    img[:] = -1  # written by "another thread" during the iteration
    rest = np.concatenate([c for _, c in it])
    assert (rest >= 0).all()  # the snapshot taken by chunks()
    img2 = np.arange(100, dtype=np.float64).reshape(10, 10)
    it2 = nd.Patches(img2, 2, copy=False).chunks(rows=9)
    next(it2)
    img2[:] = -1
    assert (np.concatenate([c for _, c in it2]) == -1).all()


def test_iterator_keeps_its_source_alive():
    import gc

    def make():
        img = np.arange(64, dtype=np.float32).reshape(8, 8)
        return nd.Patches(img, 3, copy=False).chunks(rows=5)

    it = make()
    gc.collect()
    total = np.concatenate([c for _, c in it])
    np.testing.assert_array_equal(total, reference_matrix(np.arange(64, dtype=np.float32).reshape(8, 8), (3, 3), (1, 1), (1, 1)))


def test_matrix_bytes_and_repr():
    p = nd.Patches(np.zeros((4096, 4096), np.uint8), 39)
    assert p.matrix_bytes() == 4058 * 4058 * 1521
    assert p.matrix_bytes(np.float32) == 4 * p.matrix_bytes()
    assert "grid=(4058, 4058)" in repr(p)


def test_snapshot_of_a_broadcast_source_stays_small():
    img = np.broadcast_to(np.arange(2**14, dtype=np.float64), (2**14, 2**14))  # 2 GiB if copied
    snap = nd._snapshot(img)
    assert snap.strides == (0, 8) and not np.shares_memory(snap, img)
    assert snap.shape == img.shape and (snap[5] == img[5]).all()
    p = nd.Patches(img, 4)
    start, chunk = next(iter(p.chunks(rows=3)))
    np.testing.assert_array_equal(chunk[0], np.tile(np.arange(4.0), 4))


def test_chunks_iterator_protocol():
    img = np.arange(30 * 30, dtype=np.uint16).reshape(30, 30)
    p = nd.Patches(img, 4)
    it = p.chunks(rows=100, dtype=np.float64)
    assert iter(it) is it  # an iterator, not just an iterable
    got = list(it)
    assert list(it) == []  # exhausted stays exhausted
    np.testing.assert_array_equal(np.concatenate([c for _, c in got]), p.to_matrix(np.float64))
    # abandoned half way: nothing hangs, a new iterator starts over
    it = p.chunks(rows=7)
    next(it)
    del it
    assert sum(len(c) for _, c in p.chunks(rows=7)) == len(p)
    # chunks are independent arrays the caller may keep and modify
    a, b = [c for _, c in p.chunks(rows=300)][:2]
    a[:] = -1
    assert (b >= 0).all()

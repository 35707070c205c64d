"""edge="shift": the windows of "valid" plus, on every axis where the step
stops short of the end, one more window moved back to end on the last
element. Every reader against an independent numpy reference (origins per
axis, rows gathered by plain indexing) over dtypes and layouts; padded and
Fold with the same edge; Dask; bad edges."""

import itertools

import numpy as np
import pytest

import ndarray_patches as nd
from ndarray_patches import _core
from conftest import layouts, random_geometry

DTYPES = [np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64]


# -- the reference -----------------------------------------------------------


def shift_origins(n, extent, step):
    """0, s, 2s, ... while o + extent <= n, then n - extent if the last one
    stops short of the end."""
    o = list(range(0, n - extent + 1, step))
    if o[-1] + extent < n:
        o.append(n - extent)
    return o


def reference(a, patch, step, dilation):
    """(origins, matrix): every window's origin and its elements, C order."""
    ext = [d * (p - 1) + 1 for p, d in zip(patch, dilation)]
    per_axis = [shift_origins(n, e, s) for n, e, s in zip(a.shape, ext, step)]
    origins = list(itertools.product(*per_axis))
    rows = [
        a[np.ix_(*[o + d * np.arange(p) for o, p, d in zip(org, patch, dilation)])].reshape(-1)
        for org in origins
    ]
    grid = tuple(len(o) for o in per_axis)
    m = np.array(rows, dtype=a.dtype).reshape(len(origins), int(np.prod(patch)))
    return grid, np.array(origins, dtype=np.int64).reshape(len(origins), a.ndim), m


def is_shifted(shape, patch, step, dilation):
    return any(
        (n - (d * (p - 1) + 1)) % s != 0 for n, p, s, d in zip(shape, patch, step, dilation)
    )


def test_the_reference_itself():
    assert shift_origins(10, 4, 4) == [0, 4, 6]
    assert shift_origins(10, 4, 3) == [0, 3, 6]
    assert shift_origins(4, 4, 2) == [0]
    assert shift_origins(5, 1, 3) == [0, 3, 4]


# -- a known output ----------------------------------------------------------


def test_arange_10_patch_4_step_4():
    p = nd.Patches(np.arange(10, dtype=np.int32), 4, step=4, edge="shift")
    assert p.edge == "shift" and p.grid == (3,) and len(p) == 3 and p.patch_len == 4
    want = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [6, 7, 8, 9]])
    np.testing.assert_array_equal(p.to_matrix(), want)
    np.testing.assert_array_equal(p.to_matrix(np.float32), want.astype(np.float32))
    np.testing.assert_array_equal(p.positions(), [[0], [4], [6]])
    assert [p.position(r) for r in range(3)] == [(0,), (4,), (6,)]
    assert p.get(2).tolist() == [6, 7, 8, 9] and not p.get(2).flags.writeable
    np.testing.assert_array_equal(np.concatenate([c for _, c in p.chunks(rows=2)]), want)
    out = np.empty((1, 4), np.float64)
    p.write_rows(2, out)
    np.testing.assert_array_equal(out, [[6, 7, 8, 9]])
    assert "edge='shift'" in repr(p)
    # Valid drops the last window.
    v = nd.Patches(np.arange(10, dtype=np.int32), 4, step=4)
    assert v.edge == "valid" and len(v) == 2 and "edge" not in repr(v)
    np.testing.assert_array_equal(v.to_matrix(), want[:2])


def test_valid_is_the_default_and_shift_adds_nothing_when_the_step_reaches_the_end():
    img = np.arange(10 * 13, dtype=np.float32).reshape(10, 13)
    a = nd.Patches(img, (4, 4), step=(3, 3))  # 10 - 4 and 13 - 4 are multiples of 3
    b = nd.Patches(img, (4, 4), step=(3, 3), edge="shift")
    assert a.grid == b.grid == (3, 4)
    np.testing.assert_array_equal(a.to_matrix(), b.to_matrix())
    np.testing.assert_array_equal(a.view(), b.view())  # a strided view exists
    np.testing.assert_array_equal(nd.Patches(img, 3, edge="valid").to_matrix(), nd.Patches(img, 3).to_matrix())


# -- every reader, every dtype and layout --------------------------------------

CASES = [(seed, dt) for seed in range(6) for dt in DTYPES]


@pytest.mark.parametrize("seed,dtype", CASES)
def test_rows_chunks_write_rows_positions(seed, dtype):
    rng = np.random.default_rng(1000 + seed)
    ndim = [1, 2, 2, 3][seed % 4]
    shape = tuple(int(n) for n in rng.integers(3, 14, size=ndim))
    shifted_seen = False
    for name, a in layouts(rng, shape, dtype):
        patch, step, dil = random_geometry(rng, shape, max_step=5)
        p = nd.Patches(a, patch, step=step, dilation=dil, edge="shift")
        grid, origins, refm = reference(a, patch, step, dil)
        msg = f"{name} {shape} {patch} {step} {dil}"
        shifted_seen |= is_shifted(shape, patch, step, dil)
        assert p.grid == grid and len(p) == refm.shape[0] and p.patch_len == refm.shape[1], msg
        m = p.to_matrix()
        assert m.dtype == a.dtype and m.flags.c_contiguous, msg
        np.testing.assert_array_equal(m, refm, err_msg=msg)
        for out in (np.float32, np.float64):
            np.testing.assert_array_equal(p.to_matrix(out), refm.astype(out), err_msg=msg)
        lo = int(rng.integers(0, len(p) + 1))
        hi = int(rng.integers(lo, len(p) + 1))
        np.testing.assert_array_equal(p.to_matrix(start=lo, stop=hi), refm[lo:hi], err_msg=msg)
        # chunks: any size, any range, with and without the snapshot
        rows = int(rng.integers(1, len(p) + 2))
        for copy in (True, False):
            q = nd.Patches(a, patch, step=step, dilation=dil, edge="shift", copy=copy)
            got = list(q.chunks(rows=rows, dtype=np.float64))
            assert [s for s, _ in got] == list(range(0, len(p), rows)), msg
            np.testing.assert_array_equal(np.concatenate([c for _, c in got]), refm.astype(np.float64))
        sub = list(p.chunks(rows=3, dtype=a.dtype, start=lo, stop=hi))
        if hi > lo:
            np.testing.assert_array_equal(np.concatenate([c for _, c in sub]), refm[lo:hi], err_msg=msg)
        # write_rows into C and F buffers of every output dtype
        n = hi - lo
        for out_dt in (a.dtype, np.float32, np.float64):
            for order in ("C", "F"):
                out = np.full((n, p.patch_len), 77, out_dt, order=order)
                p.write_rows(lo, out)
                np.testing.assert_array_equal(out, refm[lo:hi].astype(out_dt), err_msg=msg)
        # positions, position, get
        np.testing.assert_array_equal(p.positions(), origins, err_msg=msg)
        np.testing.assert_array_equal(p.positions(lo, hi), origins[lo:hi], err_msg=msg)
        for r in {0, len(p) - 1, int(rng.integers(0, len(p)))}:
            assert p.position(r) == tuple(origins[r]), msg
            np.testing.assert_array_equal(p.get(r).reshape(-1), refm[r], err_msg=msg)
            assert p.get(r).shape == patch
        with pytest.raises(IndexError):
            p.get(len(p))
        # the strided view: only when no last window is moved back
        if is_shifted(shape, patch, step, dil):
            with pytest.raises(nd.PatchError, match="no strided view"):
                p.view()
        else:
            v = p.view()
            assert v.shape == grid + patch
            np.testing.assert_array_equal(v.reshape(len(p), -1), refm, err_msg=msg)
    assert shifted_seen


@pytest.mark.parametrize("dtype", DTYPES)
def test_products_and_statistics(dtype):
    rng = np.random.default_rng(7)
    base = (rng.random((23, 19)) * 200).astype(dtype)
    patch, step, dil = (4, 3), (3, 4), (1, 2)
    for name, img in [
        ("C", base),
        ("F", np.asfortranarray(base)),
        ("reversed", base[::-1, ::-1]),
        ("sliced", np.pad(base, 3)[3:-3, 3:-3]),
        ("broadcast", np.broadcast_to(base[:1], base.shape)),
    ]:
        p = nd.Patches(img, patch, step=step, dilation=dil, edge="shift")
        _, _, X = reference(img, patch, step, dil)
        X = X.astype(np.float64)
        assert is_shifted(img.shape, patch, step, dil)
        w = rng.standard_normal(p.patch_len)
        W = rng.standard_normal((p.patch_len, 5))
        v = rng.standard_normal(len(p))
        np.testing.assert_allclose(p.dot(w), X @ w, rtol=1e-10, err_msg=name)
        np.testing.assert_allclose(p.matmul(W), X @ W, rtol=1e-10, err_msg=name)
        np.testing.assert_allclose(p.t_dot(v), X.T @ v, rtol=1e-10, err_msg=name)
        np.testing.assert_allclose(p.dot(w, dtype=np.float32), X @ w, rtol=2e-4, atol=1e-2)
        np.testing.assert_allclose(p.gram(), X.T @ X, rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(p.mean(), X.mean(axis=0), rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(
            p.covariance(), np.cov(X, rowvar=False), rtol=1e-9, atol=1e-9, err_msg=name
        )
        np.testing.assert_allclose(p.gram(np.float32), X.T @ X, rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_shuffled_and_sample(dtype):
    rng = np.random.default_rng(3)
    base = (rng.random((17, 13)) * 200).astype(dtype)
    for name, img in [("C", base), ("F", np.asfortranarray(base)), ("reversed", base[::-1])]:
        p = nd.Patches(img, (4, 3), step=(3, 2), dilation=(1, 2), edge="shift")
        _, _, X = reference(img, (4, 3), (3, 2), (1, 2))
        for out in (None, np.float64):
            seen = []
            for rows, batch in p.shuffled(rows=5, seed=11, dtype=out or img.dtype):
                np.testing.assert_array_equal(batch, X[rows].astype(batch.dtype), err_msg=name)
                seen += rows.tolist()
            assert sorted(seen) == list(range(len(p))) and seen != sorted(seen), name
        rows, S = p.sample(6, seed=2)
        np.testing.assert_array_equal(S, X[rows], err_msg=name)
        last = np.zeros(p.grid, bool)
        last[-1, -1] = True  # only the moved-back corner window
        rows, S = p.sample(1, mask=last)
        assert rows.tolist() == [len(p) - 1]
        np.testing.assert_array_equal(S[0], X[-1])


def test_a_huge_broadcast_source_costs_nothing():
    a = np.broadcast_to(np.arange(3, dtype=np.uint8)[:, None], (3, 2**40))
    p = nd.Patches(a, (2, 8), step=(2, 3), edge="shift")
    assert p.grid == (2, (2**40 - 8) // 3 + 2)
    assert p.position(len(p) - 1) == (1, 2**40 - 8)
    np.testing.assert_array_equal(p.positions(len(p) - 2, len(p))[:, 1], [((2**40 - 8) // 3) * 3, 2**40 - 8])
    np.testing.assert_array_equal(p.to_matrix(start=len(p) - 1)[0], [1] * 8 + [2] * 8)
    with pytest.raises(nd.PatchError, match="no strided view"):
        p.view()


# -- padded and Fold ------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["constant", "reflect", "wrap"])
def test_padded_shift_pads_nothing(dtype, mode):
    img = (np.random.default_rng(4).random((11, 14)) * 100).astype(dtype)
    p = nd.padded(img, (4, 5), step=(3, 4), dilation=(1, 2), edge="shift", mode=mode, cval=9)
    assert p.edge == "shift"
    np.testing.assert_array_equal(p.source, img)
    assert not np.shares_memory(p.source, img)
    grid, origins, X = reference(img, (4, 5), (3, 4), (1, 2))
    assert p.grid == grid
    np.testing.assert_array_equal(p.to_matrix(), X)
    np.testing.assert_array_equal(p.positions(), origins)
    q = nd.Patches(img, (4, 5), step=(3, 4), dilation=(1, 2), edge="shift")
    np.testing.assert_array_equal(q.to_matrix(), p.to_matrix())
    # the padded policies still give valid grids over their padded copy
    assert nd.padded(img, 3, edge="same").edge == "valid"


@pytest.mark.parametrize(
    "shape,patch,step",
    [
        ((10,), (4,), (4,)),
        ((17, 14), (5, 5), (3, 3)),
        ((17, 14), (5, 6), (5, 4)),  # tiles that touch: step == patch
        ((16, 16), (6, 6), (4, 4)),
        ((9, 10, 7), (4, 3, 7), (3, 2, 1)),
        ((13, 11), (13, 4), (1, 4)),  # one window on an axis
    ],
)
def test_fold_mean_rebuilds_the_image_from_its_tiles(shape, patch, step):
    img = np.random.default_rng(5).random(shape)
    tiles = nd.Patches(img, patch, step=step, edge="shift")
    f = nd.Fold(shape, patch, step=step, edge="shift")
    assert len(f) == len(tiles) and f.patch_len == tiles.patch_len
    # rows in any order and in several calls
    for start, rows in reversed(list(tiles.chunks(rows=3, dtype=np.float64))):
        f.add_rows(start, rows)
    np.testing.assert_allclose(f.finish("mean"), img, rtol=1e-12)
    # sum: each element counted once per tile covering it
    g = nd.Fold(shape, patch, step=step, edge="shift")
    g.add_rows(0, np.ones((len(tiles), tiles.patch_len)))
    count = np.zeros(shape)
    _, origins, _ = reference(img, patch, step, (1,) * len(shape))
    for o in origins:
        count[tuple(slice(k, k + p) for k, p in zip(o, patch))] += 1
    np.testing.assert_array_equal(g.finish("sum"), count)
    assert count.min() >= 1


def test_fold_shift_with_gaps_and_a_model_per_tile():
    img = np.random.default_rng(6).random((20, 23))
    # step > patch: gaps, but the last row and column are covered
    tiles = nd.Patches(img, (3, 3), step=(5, 6), edge="shift")
    f = nd.Fold(img.shape, (3, 3), step=(5, 6), edge="shift")
    f.add_rows(0, tiles.to_matrix(np.float64).reshape(len(tiles), 3, 3))
    out = f.finish("mean")
    covered = out != 0
    np.testing.assert_allclose(out[covered], img[covered])
    assert covered[-1, :].any() and covered[:, -1].any() and covered[-1, -1]
    assert not covered.all()
    # a "model" per tile (its mean), stitched: overlaps average the predictions
    t = nd.Patches(img, (8, 8), step=6, edge="shift")
    pred = np.repeat(t.dot(np.full(64, 1 / 64))[:, None], 64, axis=1)
    f = nd.Fold(img.shape, 8, step=6, edge="shift")
    f.add_rows(0, pred.astype(np.float32))
    out = f.finish("mean")
    assert out.shape == img.shape and np.isfinite(out).all() and (out > 0).all()


# -- bad edges ------------------------------------------------------------------


@pytest.mark.parametrize("edge", ["same", "cover"])
def test_patches_refuses_the_padded_edges(edge):
    with pytest.raises(nd.PatchError) as e:
        nd.Patches(np.zeros((8, 8), np.float32), 3, edge=edge)
    msg = str(e.value)
    assert "'valid'" in msg and "'shift'" in msg and "padded" in msg


@pytest.mark.parametrize("edge", ["Shift", "bogus", "", None, 1, ("shift",)])
def test_bad_edge_strings(edge):
    img = np.zeros((8, 8), np.float32)
    with pytest.raises(nd.PatchError, match="unknown edge"):
        nd.Patches(img, 3, edge=edge)
    with pytest.raises(nd.PatchError, match="'shift'"):
        nd.padded(img, 3, edge=edge)
    with pytest.raises(nd.PatchError, match="'shift'"):
        nd.Fold(img.shape, 3, edge=edge)


def test_the_extension_checks_the_edge_too():
    img = np.zeros((8, 8), np.float32)
    with pytest.raises(nd.PatchError, match="use 'valid' or 'shift'"):
        _core.Geometry(img, [3, 3], [1, 1], [1, 1], "same")
    with pytest.raises(nd.PatchError, match="'shift'"):
        _core.padded(img, [3, 3], [1, 1], [1, 1], "bogus", "constant", np.zeros(1, np.float32))
    with pytest.raises(nd.PatchError, match="'shift'"):
        _core._Fold([8, 8], [3, 3], [1, 1], [1, 1], "bogus")


def test_shift_errors_like_valid():
    img = np.zeros((5, 6), np.float32)
    with pytest.raises(nd.PatchError, match="larger than the array"):
        nd.Patches(img, (6, 2), edge="shift")
    with pytest.raises(nd.PatchError, match="step is zero"):
        nd.Patches(img, 2, step=(0, 1), edge="shift")
    with pytest.raises(nd.PatchError, match="larger than the array"):
        nd.Fold(img.shape, (6, 2), edge="shift")


# -- Dask -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,chunks,patch,step,dilation",
    [
        ((60, 50), (20, 25), (8, 8), (8, 8), (1, 1)),
        ((61, 47), (13, 10), (5, 4), (3, 5), (1, 1)),
        ((40, 33), (7, 9), (3, 4), (4, 3), (2, 1)),  # dilation; blocks merged to an extent
        ((30, 29), (30, 29), (7, 7), (5, 6), (1, 1)),  # one block
        # last blocks hold no origin k*step, only the moved-back window
        ((25, 31), ((15, 10), (26, 5)), (5, 4), (7, 6), (1, 1)),
        ((24, 18, 3), (10, 7, 3), (4, 4, 3), (3, 4, 1), (1, 1, 1)),
    ],
)
def test_dask_shift_against_numpy(shape, chunks, patch, step, dilation):
    da = pytest.importorskip("dask.array")
    import dask

    import ndarray_patches.dask as ndd

    rng = np.random.default_rng(sum(shape))
    img = rng.random(shape) * 100
    x = da.from_array(img, chunks=chunks)
    grid, _, X = reference(img, patch, step, dilation)
    assert is_shifted(shape, patch, step, dilation)
    w = rng.standard_normal(X.shape[1])
    with dask.config.set(scheduler="synchronous"):
        s = ndd.patch_dot(x, patch, w, step=step, dilation=dilation, edge="shift")
        assert s.shape == grid
        np.testing.assert_allclose(s.compute(), (X @ w).reshape(grid), rtol=1e-10)
        np.testing.assert_allclose(ndd.gram(x, patch, step, dilation, edge="shift"), X.T @ X, rtol=1e-10)
        np.testing.assert_allclose(ndd.mean(x, patch, step, dilation, edge="shift"), X.mean(axis=0), rtol=1e-10)
        np.testing.assert_allclose(
            ndd.covariance(x, patch, step, dilation, edge="shift"),
            np.cov(X, rowvar=False),
            rtol=1e-8,
            atol=1e-8,
        )
        # valid is still the default
        valid = nd.Patches(img, patch, step, dilation)
        assert ndd.patch_dot(x, patch, w, step=step, dilation=dilation).shape == valid.grid


def test_dask_refuses_unknown_edges():
    da = pytest.importorskip("dask.array")
    import ndarray_patches.dask as ndd

    x = da.zeros((10, 10), chunks=5)
    with pytest.raises(nd.PatchError, match="unknown edge"):
        ndd.gram(x, 3, edge="bogus")
    with pytest.raises(nd.PatchError, match="unknown edge"):
        ndd.patch_dot(x, 3, np.ones(9), edge="bogus")

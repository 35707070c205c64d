"""Fold's reductions (mean, sum, max, min, last), window weights (Hann,
Gaussian, custom), finish(dtype=) and place, against a numpy reference that
loops over the windows (issue 19, item 4); their error messages."""

import itertools
import threading

import numpy as np
import pytest

import ndarray_patches as nd

# -- the reference: numpy alone, one window at a time ------------------------


def extent(patch, dilation):
    return tuple(d * (p - 1) + 1 for p, d in zip(patch, dilation))


def layout(shape, patch, step, dilation, edge):
    """(padded shape, padding before, origins per axis in padded coordinates)
    of the windows of ``edge``, derived here from the definitions."""
    ext = extent(patch, dilation)
    padded, before, origins = [], [], []
    for n, e, s in zip(shape, ext, step):
        if edge == "valid":
            o = list(range(0, n - e + 1, s))
            padded.append(n), before.append(0)
        elif edge == "shift":
            o = list(range(0, n - e + 1, s))
            if o[-1] != n - e:
                o.append(n - e)  # one more window, moved back to end on the border
            padded.append(n), before.append(0)
        elif edge == "same":
            b = (e - 1) // 2  # a window centred on every step-th element
            o = list(range(0, n, s))
            padded.append(max(n + e - 1, o[-1] + e)), before.append(b)
        origins.append(o)
    return tuple(padded), tuple(before), origins


def hann(patch):
    w = np.ones(patch)
    for k, n in enumerate(patch):
        a = np.sin(np.pi * (np.arange(n) + 1) / (n + 1)) ** 2
        w = w * a.reshape([-1 if i == k else 1 for i in range(len(patch))])
    return w


def gaussian(patch, sigma):
    w = np.ones(patch)
    for k, n in enumerate(patch):
        c = (n - 1) / 2
        a = np.exp(-((np.arange(n) - c) ** 2) / (2 * sigma**2))
        w = w * a.reshape([-1 if i == k else 1 for i in range(len(patch))])
    return w


def ref_fold(shape, patch, step, dilation, edge, rows, reduction, weights=None):
    padded, before, origins = layout(shape, patch, step, dilation, edge)
    w = np.ones(patch) if weights is None else np.asarray(weights, float).reshape(patch)
    total = np.zeros(padded)
    count = np.zeros(padded)
    ext = np.full(padded, np.nan)
    seen = np.zeros(padded, bool)
    last = np.zeros(padded)
    grid = list(itertools.product(*origins))
    assert len(grid) == len(rows)
    for r, o in enumerate(grid):
        ix = np.ix_(*[o[k] + dilation[k] * np.arange(patch[k]) for k in range(len(patch))])
        x = np.asarray(rows[r], float).reshape(patch)
        np.add.at(total, ix, w * x)
        np.add.at(count, ix, w)
        if reduction == "max":
            np.fmax.at(ext, ix, x)
        elif reduction == "min":
            np.fmin.at(ext, ix, x)
        seen[ix] = True
        last[ix] = x  # rows in order: the later window wins
    crop = tuple(slice(b, b + n) for b, n in zip(before, shape))
    if reduction in ("mean", "sum"):
        out = np.where(count > 0, total / np.where(count > 0, count, 1), 0.0) if reduction == "mean" else np.where(count > 0, total, 0.0)
    elif reduction in ("max", "min"):
        out = np.where(seen, ext, 0.0)
    else:
        out = np.where(seen, last, 0.0)
    return out[crop]


def ref_place(shape, patch, step, dilation, edge, values, anchor):
    padded, before, origins = layout(shape, patch, step, dilation, edge)
    ext = extent(patch, dilation)
    off = [(e - 1) // 2 if anchor == "centre" else 0 for e in ext]
    out = np.zeros(tuple(shape) + values.shape[1:])
    for r, o in enumerate(itertools.product(*origins)):
        at = tuple(o[k] + off[k] - before[k] for k in range(len(shape)))
        if all(0 <= i < n for i, n in zip(at, shape)):
            out[at] = values[r]
    return out


# -- reductions and weights --------------------------------------------------

GEOMETRIES = [
    # shape, patch, step, dilation
    ((11, 13), (4, 3), (3, 2), (1, 1)),
    ((12, 10), (3, 3), (2, 3), (2, 1)),
    ((17,), (5,), (3,), (1,)),
    ((6, 7, 5), (2, 3, 2), (2, 2, 1), (1, 1, 2)),
]
EDGES = ["valid", "same", "shift"]
REDUCTIONS = ["mean", "sum", "max", "min", "last"]


def fill(f, rows, rng, chunk=5):
    """Adds ``rows`` to ``f`` in chunks, in a shuffled order of chunks."""
    starts = list(range(0, len(rows), chunk))
    rng.shuffle(starts)
    for s in starts:
        f.add_rows(s, rows[s : s + chunk])


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: "x".join(map(str, g[0])))
@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reduction_matches_numpy(geometry, edge, reduction):
    shape, patch, step, dilation = geometry
    rng = np.random.default_rng(7)
    f = nd.Fold(shape, patch, step=step, dilation=dilation, edge=edge, reduction=reduction)
    assert f.reduction == reduction
    rows = rng.standard_normal((len(f), f.patch_len))
    # Repeated values make ties for max, min; the order for last matters.
    rows[::3] = np.round(rows[::3])
    fill(f, rows, rng)
    want = ref_fold(shape, patch, step, dilation, edge, rows, reduction)
    out = f.finish()
    assert out.dtype == np.float64 and out.shape == shape
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    out32 = f.finish(dtype=np.float32)
    assert out32.dtype == np.float32
    np.testing.assert_array_equal(out32, out.astype(np.float32))


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: "x".join(map(str, g[0])))
@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("weights", ["hann", "gaussian", "custom", "flat"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_weights_match_numpy(geometry, edge, weights, reduction):
    shape, patch, step, dilation = geometry
    rng = np.random.default_rng(3)
    kw = {}
    if weights == "hann":
        w, arg = hann(patch), "hann"
    elif weights == "gaussian":
        w, arg = gaussian(patch, 1.3), "gaussian"
        kw = dict(sigma=1.3)
    else:
        w = rng.random(patch)
        w.flat[0] = 0.0  # a zero weight: that element of every window counts nothing
        arg = w if weights == "custom" else w.ravel().tolist()
    f = nd.Fold(shape, patch, step=step, dilation=dilation, edge=edge, reduction=reduction,
                weights=arg, **kw)
    rows = rng.standard_normal((len(f), f.patch_len)).astype(np.float32)
    fill(f, rows, rng)
    want = ref_fold(shape, patch, step, dilation, edge, rows, reduction, w)
    np.testing.assert_allclose(f.finish(), want, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(f.finish(dtype="float32"), want, rtol=1e-5, atol=1e-5)


def test_weighted_mean_of_a_constant_is_the_constant():
    for weights, kw in [("hann", {}), ("gaussian", dict(sigma=2.0)), (np.arange(1, 65.0).reshape(8, 8), {})]:
        f = nd.Fold((40, 40), 8, step=5, edge="shift", weights=weights, **kw)
        f.add_rows(0, np.full((len(f), 64), 3.5))
        np.testing.assert_allclose(f.finish(), 3.5, rtol=1e-12)


def test_finish_sum_on_a_weighted_mean_fold_gives_the_weighted_sums():
    shape, patch = (9, 10), (3, 4)
    rng = np.random.default_rng(5)
    f = nd.Fold(shape, patch, step=2, weights="hann")
    rows = rng.random((len(f), f.patch_len))
    f.add_rows(0, rows)
    for r in ("mean", "sum"):
        want = ref_fold(shape, patch, (2, 2), (1, 1), "valid", rows, r, hann(patch))
        np.testing.assert_allclose(f.finish(r), want, rtol=1e-12)
    s = nd.Fold(shape, patch, step=2, reduction="sum")
    s.add_rows(0, rows)
    np.testing.assert_allclose(s.finish("mean"), ref_fold(shape, patch, (2, 2), (1, 1), "valid", rows, "mean"))
    # finish does not consume the fold: more rows follow.
    f.add_rows(0, rows[:1])
    assert f.finish("sum")[0, 0] == pytest.approx(2 * rows[0, 0] * hann(patch)[0, 0])


def test_last_is_the_highest_row_whatever_the_order_of_calls():
    f = nd.Fold((3,), 2, reduction="last")
    f.add_rows(1, [[2.0, 2.0]])
    f.add_rows(0, [[1.0, 5.0]])
    np.testing.assert_array_equal(f.finish(), [1.0, 2.0, 2.0])


def test_max_min_nan_and_uncovered():
    f = nd.Fold((5,), 2, step=3, reduction="max")  # windows at 0 and 3: element 2 uncovered
    f.add_rows(0, [[np.nan, 1.0], [np.nan, np.nan]])
    out = f.finish()
    assert np.isnan(out[0]) and out[1] == 1.0 and out[2] == 0.0 and np.isnan(out[3:]).all()
    g = nd.Fold((4,), 2, reduction="min")
    g.add_rows(0, [[np.nan, 4.0], [3.0, np.nan], [5.0, 6.0]])
    np.testing.assert_array_equal(g.finish(), [np.nan, 3.0, 5.0, 6.0])


def test_same_folds_back_the_image_by_every_reduction():
    img = np.random.default_rng(9).random((15, 12))
    for r in ("mean", "max", "min", "last"):  # every contribution to an element is equal
        f = nd.Fold(img.shape, (5, 4), step=(2, 3), edge="same", reduction=r)
        p = nd.padded(img, (5, 4), step=(2, 3), edge="same", mode="reflect")
        for start, rows in p.chunks(rows=7, dtype=np.float32):
            f.add_rows(start, rows)
        np.testing.assert_allclose(f.finish(dtype=np.float32), img.astype(np.float32), rtol=1e-6)


def test_threads_adding_to_a_max_fold():
    rng = np.random.default_rng(11)
    f = nd.Fold((64, 64), 8, step=2, reduction="max")
    rows = rng.random((len(f), 64))
    want = ref_fold((64, 64), (8, 8), (2, 2), (1, 1), "valid", rows, "max")
    threads = [threading.Thread(target=lambda a=a: f.add_rows(a, rows[a : a + 100]))
               for a in range(0, len(f), 100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(f.finish(), want)


# -- place -------------------------------------------------------------------


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: "x".join(map(str, g[0])))
@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("anchor", ["centre", "origin"])
def test_place_matches_numpy(geometry, edge, anchor):
    shape, patch, step, dilation = geometry
    rng = np.random.default_rng(4)
    f = nd.Fold(shape, patch, step=step, dilation=dilation, edge=edge)
    v = rng.standard_normal(len(f))
    out = f.place(v, anchor=anchor)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, ref_place(shape, patch, step, dilation, edge, v, anchor))
    v32 = v.astype(np.float32)
    assert f.place(v32, anchor).dtype == np.float32
    vec = rng.standard_normal((len(f), 3)).astype(np.float32)
    maps = f.place(vec, anchor)
    assert maps.shape == shape + (3,) and maps.dtype == np.float32
    np.testing.assert_array_equal(maps, ref_place(shape, patch, step, dilation, edge, vec, anchor))


def test_place_same_step_1_is_a_full_map_and_center_is_centre():
    img = np.random.default_rng(0).random((9, 8))
    p = nd.padded(img, (3, 5), edge="same", mode="edge")
    f = nd.Fold(img.shape, (3, 5), edge="same")
    m = p.to_matrix().mean(axis=1)
    np.testing.assert_array_equal(f.place(m), m.reshape(img.shape))
    np.testing.assert_array_equal(f.place(m, "center"), f.place(m, "centre"))
    np.testing.assert_array_equal(f.place(list(range(len(f)))), np.arange(72.0).reshape(9, 8))
    # Independent of the rows added, and of the reduction.
    g = nd.Fold(img.shape, (3, 5), edge="same", reduction="max")
    g.add_rows(0, p.to_matrix())
    np.testing.assert_array_equal(g.place(m), f.place(m))


# -- messages ----------------------------------------------------------------


def raises(exc, match, f):
    with pytest.raises(exc) as e:
        f()
    assert match in str(e.value), str(e.value)
    return str(e.value)


def test_messages_name_the_argument_and_the_method():
    f = nd.Fold((3,), 2)
    raises(nd.PatchError, "Fold.add_rows: rows has 1 columns, but a patch has 2 elements",
           lambda: f.add_rows(0, np.zeros((0,))))
    raises(nd.PatchError, "Fold.add_rows: rows has 3 columns, but a patch has 2 elements",
           lambda: f.add_rows(0, np.ones((1, 3), np.float32)))
    raises(nd.PatchIndexError, "Fold.add_rows: rows 1..3 are out of range for 2 patches",
           lambda: f.add_rows(1, np.ones((2, 2))))
    raises(nd.PatchIndexError, "Fold.add_rows: start -1 is negative", lambda: f.add_rows(-1, np.ones((1, 2))))
    raises(nd.PatchError, "Fold.add_rows: rows must hold real numbers", lambda: f.add_rows(0, np.ones((1, 2), complex)))
    raises(nd.PatchError, "Fold: reduction must be 'mean', 'sum', 'max', 'min' or 'last', not 'median'",
           lambda: nd.Fold((3,), 2, reduction="median"))
    raises(nd.PatchError, "Fold.finish: reduction must be", lambda: f.finish("median"))
    raises(nd.PatchError, "Fold.finish: reduction must be", lambda: f.finish(np.ones(2)))
    raises(nd.PatchError, "Fold.finish: reduction='max' on a fold built with reduction='mean'",
           lambda: f.finish("max"))
    m = nd.Fold((3,), 2, reduction="max")
    raises(nd.PatchError, "Fold.finish: reduction='mean' on a fold built with reduction='max'",
           lambda: m.finish("mean"))
    raises(nd.PatchError, "Fold.finish: dtype must be float32 or float64, not int32",
           lambda: f.finish(dtype=np.int32))
    raises(TypeError, "Fold.finish: dtype", lambda: f.finish(dtype="no such dtype"))
    for r in ("max", "min", "last"):
        raises(nd.PatchError, f"Fold: window weights blend contributions, so they apply to "
               f"reduction='mean' or 'sum' only; reduction='{r}' takes none",
               lambda: nd.Fold((3,), 2, reduction=r, weights="hann"))
    raises(nd.PatchError, "Fold: weights has shape (3,), but the patch shape is (2, 2)",
           lambda: nd.Fold((4, 4), 2, weights=np.ones(3)))
    raises(nd.PatchError, "Fold: weights has shape (2, 2), but the patch shape is (3, 3)",
           lambda: nd.Fold((4, 4), 3, weights=np.ones((2, 2))))
    raises(nd.PatchError, "Fold: weights has shape (1048576, 1048576)",
           lambda: nd.Fold((4, 4), 2, weights=np.broadcast_to(1.0, (2**20, 2**20))))
    raises(nd.PatchError, "Fold: window weight 1 (row-major) is negative",
           lambda: nd.Fold((4, 4), 2, weights=[[1, -1], [1, 1]]))
    raises(nd.PatchError, "Fold: every window weight is 0", lambda: nd.Fold((4,), 2, weights=[0, 0]))
    raises(nd.PatchError, "Fold: weights must be None, 'hann', 'gaussian'", lambda: nd.Fold((4,), 2, weights="hamming"))
    raises(nd.PatchError, "Fold: weights must be None, 'hann', 'gaussian' or an array of real numbers",
           lambda: nd.Fold((4,), 2, weights=np.ones(2, complex)))
    raises(nd.PatchError, "Fold: weights='gaussian' needs sigma=", lambda: nd.Fold((4,), 2, weights="gaussian"))
    raises(nd.PatchError, "Fold: sigma= is for weights='gaussian' only, not weights='hann'",
           lambda: nd.Fold((4,), 2, weights="hann", sigma=1.0))
    raises(nd.PatchError, "Fold: sigma= is for weights='gaussian' only, not weights=None",
           lambda: nd.Fold((4,), 2, sigma=1.0))
    raises(nd.PatchError, "Fold: the Gaussian window's sigma is -1; it must be finite and positive",
           lambda: nd.Fold((4,), 2, weights="gaussian", sigma=-1))
    raises(TypeError, "Fold: sigma must be a number", lambda: nd.Fold((4,), 2, weights="gaussian", sigma="wide"))
    raises(nd.PatchError, "Fold.place: values has 3 rows, but the fold has 2 windows",
           lambda: f.place(np.ones(3)))
    raises(nd.PatchError, "Fold.place: values must hold one value per window",
           lambda: f.place(np.ones((2, 1, 1))))
    raises(nd.PatchError, "Fold.place: anchor must be 'centre' (or 'center') or 'origin', not 'corner'",
           lambda: f.place(np.ones(2), anchor="corner"))
    raises(nd.PatchError, "Fold.place: values must hold real numbers", lambda: f.place(np.array(["a", "b"])))

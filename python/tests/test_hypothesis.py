"""Property tests with Hypothesis (issue 20, item 5).

1. Random shapes, dtypes, layouts (C, F, sliced, reversed, transposed,
   broadcast), patch, step, dilation and edge: every reader against numpy
   alone (``sliding_window_view`` and plain indexing), ``padded`` against
   ``np.pad``.
2. Hostile arguments to every public function, in a child process under a
   4 GiB address-space limit (an allocation that aborts would kill pytest):
   only ``TypeError``, ``ValueError`` (``PatchError``), ``IndexError``,
   ``OverflowError`` and ``MemoryError`` may leave the package.

CI runs the ``ci`` profile (a fixed number of examples, no deadline); set
``NDP_HYPOTHESIS=long`` for the long run (``scripts/hypothesis-long``).
"""

import itertools
import os
import pathlib
import resource
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import ndarray_patches as nd

settings.register_profile(
    "ci", max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "long", max_examples=int(os.environ.get("NDP_EXAMPLES", "100000")), deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("NDP_HYPOTHESIS", "ci"))

DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
          np.int64, np.uint64, np.float32, np.float64]
LAYOUTS = ["C", "F", "sliced", "reversed", "transposed", "broadcast"]


# -- the independent reference ------------------------------------------------


def origins(n, extent, step, edge):
    """Window origins along one axis: 0, s, 2s, ... while they fit, plus
    (edge="shift") one moved back to end on the last element."""
    o = list(range(0, n - extent + 1, step))
    if edge == "shift" and o and o[-1] + extent < n:
        o.append(n - extent)
    return o


def reference(a, patch, step, dilation, edge):
    ext = [d * (p - 1) + 1 for p, d in zip(patch, dilation)]
    per_axis = [origins(n, e, s, edge) for n, e, s in zip(a.shape, ext, step)]
    grid = tuple(len(o) for o in per_axis)
    plen = int(np.prod(patch))
    rows = [
        a[np.ix_(*[o + d * np.arange(p) for o, p, d in zip(org, patch, dilation)])].reshape(-1)
        for org in itertools.product(*per_axis)
    ]
    m = np.array(rows, dtype=a.dtype).reshape(len(rows), plen)
    shifted = any(o[-1] % s != 0 for o, s in zip(per_axis, step))
    return grid, list(itertools.product(*per_axis)), m, shifted


@st.composite
def cases(draw, max_ndim=3, max_side=9):
    ndim = draw(st.integers(1, max_ndim))
    shape = tuple(draw(st.lists(st.integers(1, max_side), min_size=ndim, max_size=ndim)))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    layout = draw(st.sampled_from(LAYOUTS))
    patch, step, dil = [], [], []
    for n in shape:
        d = draw(st.integers(1, 3))
        p = draw(st.integers(1, max(1, (n - 1) // d + 1)))
        patch.append(p)
        dil.append(d)
        step.append(draw(st.integers(1, 5)))
    edge = draw(st.sampled_from(["valid", "shift"]))
    seed = draw(st.integers(0, 2**32 - 1))
    return shape, dtype, layout, tuple(patch), tuple(step), tuple(dil), edge, seed


def make_source(shape, dtype, layout, seed):
    rng = np.random.default_rng(seed)

    def rand(s):
        if dtype.kind == "b":
            return rng.integers(0, 2, size=s).astype(bool)
        if dtype.kind == "f":
            return (rng.standard_normal(s) * 100).astype(dtype)
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=s, endpoint=True, dtype=dtype)

    if layout == "C":
        return rand(shape)
    if layout == "F":
        return np.asfortranarray(rand(shape))
    if layout == "transposed":
        return np.ascontiguousarray(rand(shape).T).T
    big = rand(tuple(2 * n + 1 for n in shape))
    if layout == "sliced":
        return big[tuple(slice(1, 1 + 2 * n, 2) for n in shape)]
    if layout == "reversed":
        return big[tuple(slice(2 * n, 0, -2) for n in shape)]
    return np.broadcast_to(rand((1,) + shape[1:]), shape)  # broadcast axis 0


# -- 1. every reader against numpy --------------------------------------------


@given(cases())
def test_readers_match_numpy(case):
    shape, dtype, layout, patch, step, dil, edge, seed = case
    a = make_source(shape, dtype, layout, seed)
    grid, orgs, want, shifted = reference(a, patch, step, dil, edge)
    p = nd.Patches(a, patch, step=step, dilation=dil, edge=edge)
    assert p.grid == grid
    assert len(p) == want.shape[0]
    assert p.patch_len == want.shape[1]
    m = p.to_matrix()
    assert m.dtype == a.dtype
    np.testing.assert_array_equal(m, want)
    np.testing.assert_array_equal(p.to_matrix(np.float64), want.astype(np.float64))
    np.testing.assert_array_equal(p.positions(), np.array(orgs, dtype=np.int64).reshape(-1, a.ndim))
    for r in {0, len(p) // 2, len(p) - 1}:
        np.testing.assert_array_equal(p.get(r).reshape(-1), want[r])
        assert tuple(p.position(r)) == orgs[r]
        assert p.row_of(orgs[r]) == r
    np.testing.assert_array_equal(p[-1].reshape(-1), want[-1])
    rows = 1 + seed % 7
    got = list(p.chunks(rows=rows, dtype=np.float64))
    assert [s for s, _ in got] == list(range(0, len(p), rows))
    np.testing.assert_array_equal(np.concatenate([c for _, c in got]), want.astype(np.float64))
    if shifted:  # a moved-back window is not on the strided lattice
        with pytest.raises(nd.PatchError):
            p.view()
    else:
        np.testing.assert_array_equal(p.view().reshape(len(p), -1), want)


@given(cases(max_side=12))
def test_linear_algebra_matches_numpy(case):
    shape, dtype, layout, patch, step, dil, edge, seed = case
    assume(dtype.kind != "b")
    a = make_source(shape, dtype, layout, seed)
    _, _, want, _ = reference(a, patch, step, dil, edge)
    x = want.astype(np.float64)
    p = nd.Patches(a, patch, step=step, dilation=dil, edge=edge)
    scale = max(1.0, float(np.abs(x).max())) ** 2 * len(x)
    np.testing.assert_allclose(p.gram(), x.T @ x, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(p.mean(), x.mean(axis=0), rtol=0, atol=1e-12 * scale)
    if len(x) > 1:
        np.testing.assert_allclose(p.covariance(), np.cov(x, rowvar=False).reshape(x.shape[1], -1),
                                   rtol=0, atol=1e-10 * scale)
    w = np.random.default_rng(seed).standard_normal(x.shape[1])
    np.testing.assert_allclose(p.dot(w, dtype=np.float64), x @ w, rtol=0, atol=1e-12 * scale)


PAD_MODES = ["constant", "edge", "reflect", "symmetric", "wrap"]


@given(cases(max_ndim=2), st.sampled_from(PAD_MODES))
def test_padded_same_matches_np_pad(case, mode):
    shape, dtype, layout, patch, _, dil, _, seed = case
    a = make_source(shape, dtype, layout, seed)
    ext = [d * (p - 1) + 1 for p, d in zip(patch, dil)]
    widths = [((e - 1) // 2, e - 1 - (e - 1) // 2) for e in ext]
    if mode in ("reflect",):
        assume(all(n > 1 for n in shape))
    padded_ref = np.pad(a, widths, mode=mode)
    _, _, want, _ = reference(padded_ref, patch, (1,) * a.ndim, dil, "valid")
    p = nd.padded(a, patch, dilation=dil, edge="same", mode=mode)
    assert p.grid == a.shape
    np.testing.assert_array_equal(p.to_matrix(), want)


# -- 2. hostile arguments, in a child under an address-space limit -----------

HOSTILE = os.path.join(os.path.dirname(__file__), "hostile_args.py")


def _limit():
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


# What the deterministic sweep still finds (none: arrays of more than 32
# axes, rust-numpy's limit, are a PatchError since issue 20 item 7). Exact:
# a new violation fails, and so does a fixed one still listed here.
SWEEP_OPEN: set = set()


def run_hostile(what):
    env = dict(os.environ, RUST_BACKTRACE="0")
    env.setdefault("NDP_HYPOTHESIS", "ci")
    r = subprocess.run(
        [sys.executable, HOSTILE, what], capture_output=True, text=True, preexec_fn=_limit, env=env,
        cwd=pathlib.Path(HOSTILE).parent, timeout=900,
    )
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout[-4000:]}\n{r.stderr[-6000:]}"
    if what == "random":  # the count, shown with pytest -s (scripts/hypothesis-long)
        print(r.stderr.strip().splitlines()[-1])
    return r.stdout


def test_hostile_arguments_sweep():
    import json

    bad = json.loads(run_hostile("sweep"))
    assert set(bad) == SWEEP_OPEN, {k: bad.get(k, "fixed: remove it from SWEEP_OPEN")
                                    for k in set(bad) ^ SWEEP_OPEN}


def test_hostile_arguments_random():
    run_hostile("random")

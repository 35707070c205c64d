"""Windows of Dask arrays: images bigger than one machine.

Each block gets a halo of the window's extent minus one on its trailing
side (``dask.array.overlap`` with ``boundary="none"``, the recipe of
``dask.array.lib.stride_tricks.sliding_window_view``), so that every window
whose origin lies in the block lies in the halo'd block. Each task then
computes per-window values (:func:`patch_dot`) or partial sums
(:func:`gram`, :func:`mean`, :func:`covariance`) with the Rust kernels of
:class:`ndarray_patches.Patches`, never the block's patch matrix: memory per
task is the block, its halo and a few 1 MiB chunks. Partial sums are added by
dask's tree reduction.

>>> import numpy as np, dask.array as da, ndarray_patches.dask as ndd
>>> img = np.random.default_rng(0).random((60, 50))
>>> x = da.from_array(img, chunks=(20, 25))
>>> w = np.full(9, 1 / 9)                                # 3x3 box filter
>>> s = ndd.patch_dot(x, (3, 3), w)                      # lazy, grid-shaped
>>> s.shape, s.chunks
((58, 48), ((20, 20, 18), (25, 23)))
>>> import ndarray_patches as nd
>>> bool(np.allclose(s.compute(), nd.Patches(img, 3).dot(w).reshape(58, 48)))
True
>>> G = ndd.gram(x, (3, 3))                              # numpy (9, 9)
>>> bool(np.allclose(G, nd.Patches(img, 3).gram()))
True

Windows may have a step and a dilation: blocks then start their windows at
the first origin of the global grid inside them, so results never depend on
the chunking.

``edge="shift"`` (as for :class:`ndarray_patches.Patches`) is supported by
every function here: on each axis where the step stops short of the end, the
last block also owns the window moved back to end on the last element, and
every other block stops its windows at its own last origin.

>>> t = ndd.patch_dot(x, (8, 8), np.full(64, 1 / 64), step=8, edge="shift")
>>> t.shape                                              # 60 = 7*8 + 4, 50 = 6*8 + 2
(8, 7)
>>> ref = nd.Patches(img, 8, step=8, edge="shift").dot(np.full(64, 1 / 64))
>>> bool(np.allclose(t.compute(), ref.reshape(8, 7)))
True
"""

from __future__ import annotations

import math
from typing import Sequence, Tuple, Union

import numpy as np

try:
    import dask.array as da
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError(
        "ndarray_patches.dask needs dask: pip install 'dask[array]' distributed "
        "(or the package's [dask] extra)"
    )

from . import Patches, PatchError, _axes, _grid_edge

__all__ = ["patch_dot", "gram", "mean", "covariance"]

Shape = Union[int, Sequence[int]]


class _Plan:
    """The windows of a dask array: validated geometry, rechunked source,
    its trailing halo and the windows each block owns."""

    def __init__(self, x, patch: Shape, step: Shape, dilation: Shape, edge: str) -> None:
        if not isinstance(x, da.Array):
            x = da.asarray(x)
        nd = x.ndim
        self.patch = _axes(patch, nd, "patch shape")
        self.step = _axes(step, nd, "step")
        self.dilation = _axes(dilation, nd, "dilation")
        self.edge = _grid_edge(edge)
        # Validate with the crate's messages, at no cost: a zero-stride
        # stand-in of the array's shape and dtype.
        probe = Patches(
            np.broadcast_to(np.zeros((), x.dtype), x.shape),
            self.patch,
            self.step,
            self.dilation,
            copy=False,
            edge=self.edge,
        )
        self.grid = probe.grid
        self.patch_len = probe.patch_len
        self.len = len(probe)
        self.extent = tuple(d * (p - 1) + 1 for p, d in zip(self.patch, self.dilation))
        # Origins k * step (Valid), per axis; with edge="shift", an axis whose
        # grid has one more, the window at n - extent (moved back).
        valid = tuple((n - e) // s + 1 for n, e, s in zip(x.shape, self.extent, self.step))
        self.shifted = tuple(g > v for g, v in zip(self.grid, valid))
        # Every block must be at least one extent long, so that the halo
        # comes from the next block alone and the last block holds a window.
        chunks = tuple(_min_chunks(c, e) for c, e in zip(x.chunks, self.extent))
        if chunks != x.chunks:
            x = x.rechunk(chunks)
        self.x = x
        self.starts = tuple(tuple(np.cumsum((0,) + c[:-1]).tolist()) for c in chunks)
        # Windows whose origin lies in each block, per axis: the origins
        # k*step, and the moved-back one (origin n - extent, in the last
        # block: every block is at least one extent long).
        self.counts = tuple(
            tuple(
                _origins_in(b, b + c, s, v) + (sh and i == len(ch) - 1)
                for i, (b, c) in enumerate(zip(starts, ch))
            )
            for starts, ch, s, v, sh in zip(self.starts, chunks, self.step, valid, self.shifted)
        )
        depth = {k: (0, e - 1) for k, e in enumerate(self.extent)}
        self.halo = da.overlap.overlap(x, depth=depth, boundary="none")

    def kwargs(self):
        return dict(
            patch=self.patch,
            step=self.step,
            dilation=self.dilation,
            edge=self.edge,
            starts=self.starts,
            counts=self.counts,
            shifted=self.shifted,
        )


def _min_chunks(chunks: Tuple[int, ...], m: int) -> Tuple[int, ...]:
    """Merges neighbouring chunks until each is at least ``m`` long (or
    there is one chunk)."""
    out: list = []
    for c in chunks:
        if out and out[-1] < m:
            out[-1] += c
        else:
            out.append(c)
    if len(out) > 1 and out[-1] < m:
        last = out.pop()
        out[-1] += last
    return tuple(out)


def _origins_in(lo: int, hi: int, step: int, grid: int) -> int:
    """#{k < grid : lo <= k * step < hi}."""
    first = -(-lo // step)
    last = min(-(-hi // step), grid)
    return max(last - first, 0)


def _block_patches(block, block_id, patch, step, dilation, edge, starts, counts, shifted):
    """The Patches of the windows a block owns, or None if it owns none."""
    idx = tuple(block_id[k] for k in range(len(patch)))
    if any(counts[k][i] == 0 for k, i in enumerate(idx)):
        return None
    cut = []
    for k, i in enumerate(idx):
        s, e = step[k], dilation[k] * (patch[k] - 1) + 1
        n = counts[k][i]
        if shifted[k] and i == len(starts[k]) - 1:
            # The last block (no halo after it) owns the moved-back window;
            # the block's own Shift grid adds it at the block's end.
            if n == 1:  # only that one: a block one extent long
                cut.append(slice(block.shape[k] - e, None))
            else:  # from the first origin k*step in the block
                cut.append(slice((-starts[k][i]) % s, None))
        else:
            # From the first global origin in the block to the end of its
            # last window: the grid fits exactly, Shift adds nothing.
            o = (-starts[k][i]) % s
            cut.append(slice(o, o + (n - 1) * s + e))
    local = block[tuple(cut)]
    p = Patches(local, patch, step, dilation, copy=False, edge=edge)
    want = tuple(counts[k][i] for k, i in enumerate(idx))
    if p.grid != want:  # cannot happen with the halo above; keep it loud
        raise AssertionError(f"block {idx}: grid {p.grid}, expected {want}")
    return p


def _dot_block(block, w, out_dtype, block_id=None, **kw):
    p = _block_patches(block, block_id, **kw)
    counts = tuple(kw["counts"][k][i] for k, i in enumerate(block_id))
    if p is None:
        return np.zeros(counts, out_dtype)
    return p.dot(w, dtype=out_dtype).reshape(counts)


def patch_dot(
    x, patch: Shape, w, step: Shape = 1, dilation: Shape = 1, dtype=None, edge: str = "valid"
) -> da.Array:
    """One value per window: ``X @ w``, shaped like the window grid, as a
    lazy dask array (chunked like ``x``). ``w`` has ``patch_len`` weights in
    C order over the window (a linear filter, a linear classifier's score).
    The dtype follows :meth:`ndarray_patches.Patches.dot`; ``edge`` is
    ``"valid"`` or ``"shift"``, as for :class:`ndarray_patches.Patches`.

    >>> import numpy as np, dask.array as da, ndarray_patches.dask as ndd
    >>> x = da.ones((10, 10), chunks=5, dtype=np.float32)
    >>> ndd.patch_dot(x, 2, np.ones(4, np.float32), step=2).compute()[0]
    array([4., 4., 4., 4., 4.], dtype=float32)
    """
    plan = _Plan(x, patch, step, dilation, edge)
    w = np.asarray(w)
    if w.shape != (plan.patch_len,):
        raise PatchError(
            f"w has shape {w.shape}, but ({plan.patch_len},) is needed (one weight per patch element)"
        )
    if dtype is None:
        dtype = np.result_type(plan.x.dtype, np.float32, w.dtype)
    dtype = np.dtype(dtype)
    return da.map_blocks(
        _dot_block,
        plan.halo,
        w=w,
        out_dtype=dtype,
        dtype=dtype,
        chunks=plan.counts,
        meta=np.empty((0,) * plan.x.ndim, dtype),
        **plan.kwargs(),
    )


def _stat_block(block, what, shift=None, block_id=None, **kw):
    """Partial sums of one block, packed in a vector, with ``ndim`` leading
    length-1 axes for dask's block structure."""
    nd = len(kw["patch"])
    p = _block_patches(block, block_id, **kw)
    pl = math.prod(kw["patch"])
    if what == "gram":
        v = np.zeros((pl, pl)) if p is None else p.gram(np.float64)
        out = v.reshape(-1)
    elif what == "mean":
        out = np.zeros(1 + pl)
        if p is not None:
            out[0] = len(p)
            out[1:] = p.mean(np.float64) * len(p)
    else:  # covariance, about the shift K (the image's first window)
        K = shift
        out = np.zeros(1 + pl + pl * pl)
        if p is not None:
            n = len(p)
            mu = p.mean(np.float64) - K
            m2 = p.covariance(np.float64) * (n - 1) if n > 1 else np.zeros((pl, pl))
            out[0] = n
            out[1 : 1 + pl] = n * mu
            # Σ (x - K)(x - K)ᵀ over the block, from its stable covariance
            out[1 + pl :] = (m2 + n * np.outer(mu, mu)).reshape(-1)
    return out.reshape((1,) * nd + out.shape)


def _reduce(plan: _Plan, what: str, width: int, **extra) -> np.ndarray:
    nd = plan.x.ndim
    parts = da.map_blocks(
        _stat_block,
        plan.halo,
        what=what,
        dtype=np.float64,
        chunks=tuple((1,) * len(c) for c in plan.x.chunks) + ((width,),),
        new_axis=nd,
        meta=np.empty((0,) * (nd + 1), np.float64),
        **plan.kwargs(),
        **extra,
    )
    return np.asarray(parts.sum(axis=tuple(range(nd))).compute())


def gram(
    x, patch: Shape, step: Shape = 1, dilation: Shape = 1, edge: str = "valid"
) -> np.ndarray:
    """``X.T @ X`` of the virtual patch matrix of a dask array, in float64:
    per-block Gram matrices summed (a numpy array, computed now). ``edge``:
    ``"valid"`` or ``"shift"``, here and in :func:`mean` and
    :func:`covariance`.

    >>> import numpy as np, dask.array as da, ndarray_patches.dask as ndd
    >>> ndd.gram(da.ones((8, 8), chunks=4), 2)
    array([[49., 49., 49., 49.],
           [49., 49., 49., 49.],
           [49., 49., 49., 49.],
           [49., 49., 49., 49.]])
    """
    plan = _Plan(x, patch, step, dilation, edge)
    pl = plan.patch_len
    return _reduce(plan, "gram", pl * pl).reshape(pl, pl)


def mean(
    x, patch: Shape, step: Shape = 1, dilation: Shape = 1, edge: str = "valid"
) -> np.ndarray:
    """The mean window, flattened, in float64 (a numpy array).

    >>> import numpy as np, dask.array as da, ndarray_patches.dask as ndd
    >>> x = da.from_array(np.arange(16.0).reshape(4, 4), chunks=2)
    >>> ndd.mean(x, 2)
    array([ 5.,  6.,  9., 10.])
    """
    plan = _Plan(x, patch, step, dilation, edge)
    v = _reduce(plan, "mean", 1 + plan.patch_len)
    return v[1:] / v[0]


def covariance(
    x, patch: Shape, step: Shape = 1, dilation: Shape = 1, edge: str = "valid"
) -> np.ndarray:
    """``np.cov(X, rowvar=False)`` of the virtual patch matrix, in float64
    (a numpy array). Each block's covariance comes from the crate's stable
    kernel; blocks are combined about the image's first window, so large
    means do not cancel the variance's digits. Needs 2 windows.

    >>> import numpy as np, dask.array as da, ndarray_patches.dask as ndd
    >>> img = np.random.default_rng(1).random((30, 30)) + 1000
    >>> C = ndd.covariance(da.from_array(img, chunks=10), 3)
    >>> import ndarray_patches as nd
    >>> bool(np.allclose(C, nd.Patches(img, 3).covariance()))
    True
    """
    plan = _Plan(x, patch, step, dilation, edge)
    if plan.len < 2:
        raise PatchError(f"needs at least 2 patches, there are {plan.len}")
    pl = plan.patch_len
    first = tuple(slice(0, e) for e in plan.extent)
    K = Patches(np.asarray(plan.x[first].compute()), plan.patch, 1, plan.dilation).to_matrix(
        np.float64, 0, 1
    )[0]
    v = _reduce(plan, "covariance", 1 + pl + pl * pl, shift=K)
    n, s, q = v[0], v[1 : 1 + pl], v[1 + pl :].reshape(pl, pl)
    return (q - np.outer(s, s) / n) / (n - 1)

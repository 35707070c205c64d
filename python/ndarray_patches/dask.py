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

``edge="same"`` (one window centred on every ``step``-th element) and
``edge="cover"`` pad ``x`` lazily first, as :func:`ndarray_patches.padded`
does: ``mode`` is numpy.pad's (``"constant"`` with ``cval``, ``"edge"``,
``"reflect"``, ``"symmetric"``, ``"wrap"``), whatever dask's ``boundary=``
calls it (dask's ``"reflect"`` is numpy's ``"symmetric"``). The widths and
the indices padded come from the crate, so the result equals the same call
on ``nd.padded(img, ...)`` for any width, even one wider than the array.

>>> m = ndd.map_chunks(x, (5, 5), lambda X: X.mean(axis=1), edge="same", mode="reflect")
>>> m.shape                                              # one per element
(60, 50)
>>> ref = nd.padded(img, (5, 5), edge="same", mode="reflect").dot(np.full(25, 1 / 25))
>>> bool(np.allclose(m.compute(), ref.reshape(60, 50)))
True
"""

from __future__ import annotations

import functools
import math
from typing import Any, Sequence, Union

import numpy as np

try:
    import dask.array as da
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError(
        "ndarray_patches.dask needs dask: pip install 'dask[array]' distributed "
        "(or the package's [dask] extra)"
    )

from . import Patches, PatchError, _axes, _check_ndim, _core, _dtype

__all__ = ["patch_dot", "map_chunks", "gram", "mean", "covariance"]

Shape = Union[int, Sequence[int]]


class _Plan:
    """The windows of a dask array: validated geometry, rechunked source,
    its trailing halo and the windows each block owns (all from
    ``_core``)."""

    def __init__(
        self,
        x,
        patch: Shape,
        step: Shape,
        dilation: Shape,
        edge: Any,
        where: str,
        mode: Any = "constant",
        cval: Any = 0,
    ) -> None:
        if not isinstance(x, da.Array):
            x = da.asarray(x)
        _check_ndim(x.ndim, f"x for ndarray_patches.dask.{where}")
        if any(isinstance(c, float) and math.isnan(c) for cs in x.chunks for c in cs):
            raise PatchError(
                f"x for ndarray_patches.dask.{where} has unknown chunk sizes (nan); "
                "call x.compute_chunk_sizes() first"
            )
        nd = x.ndim
        self.patch = _axes(patch, nd, "patch shape")
        self.step = _axes(step, nd, "step")
        self.dilation = _axes(dilation, nd, "dilation")
        # "same" and "cover" pad x lazily (as numpy.pad, with the crate's
        # widths and indices); the windows are then those of the padded
        # array, under the edge the crate names for it.
        before, after, edge = _core.padding(
            list(x.shape), list(self.patch), list(self.step), list(self.dilation), edge, mode
        )
        if any(before) or any(after):
            x = _pad(x, before, after, mode, cval)
        # Validate with the crate's messages, at no cost: a zero-stride
        # stand-in of the array's shape and dtype.
        probe = Patches(
            np.broadcast_to(np.zeros((), x.dtype), x.shape),
            self.patch,
            self.step,
            self.dilation,
            copy=False,
            edge=edge,
        )
        self.edge = probe.edge
        self.grid = probe.grid
        self.patch_len = probe.patch_len
        self.len = len(probe)
        # Blocks at least one extent long (the halo then comes from the next
        # block alone), the halo, and per axis and block the windows whose
        # origin lies in the block: (count, lo, hi) of the halo'd block.
        merged, depth, owned = probe._core.blocks([list(c) for c in x.chunks])
        chunks = tuple(tuple(c) for c in merged)
        if chunks != x.chunks:
            x = x.rechunk(chunks)
        self.x = x
        self.owned = tuple(tuple(tuple(o) for o in own) for own in owned)
        self.counts = tuple(tuple(o[0] for o in own) for own in self.owned)
        self.halo = da.overlap.overlap(
            x, depth={k: (0, d) for k, d in enumerate(depth)}, boundary="none"
        )

    def kwargs(self):
        return dict(
            patch=self.patch,
            step=self.step,
            dilation=self.dilation,
            edge=self.edge,
            owned=self.owned,
        )


def _pad(x, before, after, mode, cval):
    """``x`` padded as ``numpy.pad(x, zip(before, after), mode)`` (dask's
    own ``pad`` differs from numpy's once a width exceeds the axis): each
    axis is a concatenation of slices of ``x`` and constant blocks, runs
    the crate reads off its padding of the axis's indices."""
    c = np.array([cval], dtype=x.dtype)[0]
    for k in range(x.ndim):
        if before[k] == 0 and after[k] == 0:
            continue
        pieces = []
        for first, length, step in _core.pad_runs(x.shape[k], before[k], after[k], mode):
            if first < 0:
                shape = x.shape[:k] + (length,) + x.shape[k + 1 :]
                chunks = x.chunks[:k] + ((length,),) + x.chunks[k + 1 :]
                pieces.append(da.full(shape, c, dtype=x.dtype, chunks=chunks))
                continue
            stop = first + step * length
            sl = slice(first, None if stop < 0 else stop, step)
            pieces.append(x[(slice(None),) * k + (sl,)])
        x = da.concatenate(pieces, axis=k)
    return x


def _block_patches(block, block_id, patch, step, dilation, edge, owned):
    """The Patches of the windows a block owns, or None if it owns none."""
    own = [owned[k][block_id[k]] for k in range(len(patch))]
    if any(count == 0 for count, _, _ in own):
        return None
    local = block[tuple(slice(lo, hi) for _, lo, hi in own)]
    p = Patches(local, patch, step, dilation, copy=False, edge=edge)
    want = tuple(count for count, _, _ in own)
    if p.grid != want:  # cannot happen with the halo above; keep it loud
        raise AssertionError(f"block {tuple(block_id)}: grid {p.grid}, expected {want}")
    return p


def _counts(block_id, owned):
    return tuple(owned[k][block_id[k]][0] for k in range(len(owned)))


def _dot_block(block, w, out_dtype, block_id=None, **kw):
    p = _block_patches(block, block_id, **kw)
    counts = _counts(block_id, kw["owned"])
    if p is None:
        return np.zeros(counts, out_dtype)
    return p.dot(w, dtype=out_dtype).reshape(counts)


def patch_dot(
    x,
    patch: Shape,
    w,
    step: Shape = 1,
    dilation: Shape = 1,
    dtype=None,
    edge: str = "valid",
    mode: str = "constant",
    cval=0,
) -> da.Array:
    """One value per window: ``X @ w``, shaped like the window grid, as a
    lazy dask array (chunked like ``x``). ``w`` has ``patch_len`` weights in
    C order over the window (a linear filter, a linear classifier's score).
    The dtype follows :meth:`ndarray_patches.Patches.dot`; ``edge`` is
    ``"valid"`` or ``"shift"``, as for :class:`ndarray_patches.Patches`,
    or ``"same"`` or ``"cover"`` with numpy.pad's ``mode`` and ``cval``
    (see the module's documentation).

    >>> import numpy as np, dask.array as da, ndarray_patches.dask as ndd
    >>> x = da.ones((10, 10), chunks=5, dtype=np.float32)
    >>> ndd.patch_dot(x, 2, np.ones(4, np.float32), step=2).compute()[0]
    array([4., 4., 4., 4., 4.], dtype=float32)
    """
    plan = _Plan(x, patch, step, dilation, edge, "patch_dot", mode, cval)
    w = np.asarray(w)
    if w.shape != (plan.patch_len,):
        raise PatchError(
            f"w has shape {w.shape}, but ({plan.patch_len},) is needed (one weight per patch element)"
        )
    if dtype is None:
        dtype = np.result_type(plan.x.dtype, np.float32, w.dtype)
    dtype = _dtype(dtype, "ndarray_patches.dask.patch_dot")
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


def _map_block(block, fn, rows, chunk_dtype, k, out_dtype, block_id=None, **kw):
    p = _block_patches(block, block_id, **kw)
    shape = _counts(block_id, kw["owned"]) + (() if k is None else (k,))
    if p is None:
        return np.zeros(shape, out_dtype)
    return p.map_chunks(fn, rows=rows, dtype=chunk_dtype).astype(out_dtype, copy=False).reshape(shape)


def map_chunks(
    x,
    patch: Shape,
    fn,
    step: Shape = 1,
    dilation: Shape = 1,
    edge: str = "valid",
    rows=None,
    dtype=np.float32,
    mode: str = "constant",
    cval=0,
) -> da.Array:
    """``fn`` (a model's ``predict``, ``predict_proba``, ...) on every window
    of a dask array: a lazy dask array shaped like the window grid
    (``grid``, or ``grid + (k,)`` when ``fn`` returns ``(rows, k)``),
    chunked like ``x``. Each task runs
    :meth:`ndarray_patches.Patches.map_chunks` on the windows its block owns
    (chunks of ``rows`` rows of ``dtype``); ``fn`` travels to the workers, so
    it must pickle (distributed uses cloudpickle: lambdas do). ``fn`` is
    first called once here on a row of zeros, for the result's shape and
    dtype. ``edge``: ``"valid"``, ``"shift"``, or ``"same"`` or ``"cover"``
    with numpy.pad's ``mode`` and ``cval``.

    >>> import numpy as np, dask.array as da, ndarray_patches.dask as ndd
    >>> x = da.from_array(np.arange(100.0).reshape(10, 10), chunks=5)
    >>> m = ndd.map_chunks(x, (3, 3), lambda X: X.max(axis=1), dtype=np.float64)
    >>> m.shape, m.chunks, float(m.compute()[0, 0])
    ((8, 8), ((5, 3), (5, 3)), 22.0)
    """
    if not callable(fn):
        raise TypeError(
            f"fn of ndarray_patches.dask.map_chunks must be callable, not {type(fn).__name__}"
        )
    plan = _Plan(x, patch, step, dilation, edge, "map_chunks", mode, cval)
    chunk_dtype = _dtype(dtype, "ndarray_patches.dask.map_chunks")
    r = np.asarray(fn(np.zeros((1, plan.patch_len), chunk_dtype)))
    if r.ndim not in (1, 2) or r.shape[0] != 1:
        raise PatchError(
            f"fn of ndarray_patches.dask.map_chunks returned shape {r.shape} for a chunk of 1 "
            "row: it must return one value per row, shape (1,), or (1, k)"
        )
    k = None if r.ndim == 1 else r.shape[1]
    nd = plan.x.ndim
    extra = () if k is None else ((k,),)
    return da.map_blocks(
        _map_block,
        plan.halo,
        fn=fn,
        rows=rows,
        chunk_dtype=chunk_dtype,
        k=k,
        out_dtype=r.dtype,
        dtype=r.dtype,
        chunks=plan.counts + extra,
        new_axis=None if k is None else [nd],
        meta=np.empty((0,) * (nd + len(extra)), r.dtype),
        **plan.kwargs(),
    )


def _stat_block(block, what, patch_len, block_id=None, **kw):
    """Partial results of one block, packed in a vector, with ``ndim``
    leading length-1 axes for dask's block structure: the Gram matrix, or
    the block's mergeable moments from ``_core`` (``n``, the sum and, for
    the covariance, the centred second moment)."""
    nd = len(kw["patch"])
    p = _block_patches(block, block_id, **kw)
    pl = patch_len
    if what == "gram":
        out = (np.zeros((pl, pl)) if p is None else p.gram(np.float64)).reshape(-1)
    else:
        second = what == "covariance"
        if p is None:
            out = np.zeros(1 + pl + (pl * pl if second else 0))
        else:
            out = p._core.moments(second)
    return out.reshape((1,) * nd + out.shape)


def _parts(plan: _Plan, what: str, width: int):
    nd = plan.x.ndim
    return da.map_blocks(
        _stat_block,
        plan.halo,
        what=what,
        patch_len=plan.patch_len,
        dtype=np.float64,
        chunks=tuple((1,) * len(c) for c in plan.x.chunks) + ((width,),),
        new_axis=nd,
        meta=np.empty((0,) * (nd + 1), np.float64),
        **plan.kwargs(),
    )


def _reduce(plan: _Plan, what: str, width: int) -> np.ndarray:
    """Partial sums added by dask's tree reduction."""
    parts = _parts(plan, what, width)
    return np.asarray(parts.sum(axis=tuple(range(plan.x.ndim))).compute())


def _merge(x, axis=None, keepdims=False, patch_len=0):
    """Moments of several blocks merged into one (in ``_core``)."""
    m = _core.merge_moments(np.ascontiguousarray(x.reshape(-1, x.shape[-1])), patch_len)
    return m.reshape((1,) * (x.ndim - 1) + m.shape) if keepdims else m


def _keep(x, axis=None, keepdims=True):
    return x


def gram(
    x,
    patch: Shape,
    step: Shape = 1,
    dilation: Shape = 1,
    edge: str = "valid",
    mode: str = "constant",
    cval=0,
) -> np.ndarray:
    """``X.T @ X`` of the virtual patch matrix of a dask array, in float64:
    per-block Gram matrices summed (a numpy array, computed now). ``edge``:
    ``"valid"``, ``"shift"``, or ``"same"`` or ``"cover"`` with numpy.pad's
    ``mode`` and ``cval``, here and in :func:`mean` and :func:`covariance`.

    >>> import numpy as np, dask.array as da, ndarray_patches.dask as ndd
    >>> ndd.gram(da.ones((8, 8), chunks=4), 2)
    array([[49., 49., 49., 49.],
           [49., 49., 49., 49.],
           [49., 49., 49., 49.],
           [49., 49., 49., 49.]])
    """
    plan = _Plan(x, patch, step, dilation, edge, "gram", mode, cval)
    pl = plan.patch_len
    return _reduce(plan, "gram", pl * pl).reshape(pl, pl)


def mean(
    x,
    patch: Shape,
    step: Shape = 1,
    dilation: Shape = 1,
    edge: str = "valid",
    mode: str = "constant",
    cval=0,
) -> np.ndarray:
    """The mean window, flattened, in float64 (a numpy array).

    >>> import numpy as np, dask.array as da, ndarray_patches.dask as ndd
    >>> x = da.from_array(np.arange(16.0).reshape(4, 4), chunks=2)
    >>> ndd.mean(x, 2)
    array([ 5.,  6.,  9., 10.])
    """
    plan = _Plan(x, patch, step, dilation, edge, "mean", mode, cval)
    v = _reduce(plan, "mean", 1 + plan.patch_len)
    return v[1:] / v[0]


def covariance(
    x,
    patch: Shape,
    step: Shape = 1,
    dilation: Shape = 1,
    edge: str = "valid",
    mode: str = "constant",
    cval=0,
) -> np.ndarray:
    """``np.cov(X, rowvar=False)`` of the virtual patch matrix, in float64
    (a numpy array). Each block's moments (count, sum, centred second
    moment) come from the crate's stable kernel and are merged pairwise
    (Chan, Golub and LeVeque), so large means do not cancel the variance's
    digits. Needs 2 windows.

    >>> import numpy as np, dask.array as da, ndarray_patches.dask as ndd
    >>> img = np.random.default_rng(1).random((30, 30)) + 1000
    >>> C = ndd.covariance(da.from_array(img, chunks=10), 3)
    >>> import ndarray_patches as nd
    >>> bool(np.allclose(C, nd.Patches(img, 3).covariance()))
    True
    """
    plan = _Plan(x, patch, step, dilation, edge, "covariance", mode, cval)
    if plan.len < 2:
        raise PatchError(f"needs at least 2 patches, there are {plan.len}")
    pl = plan.patch_len
    merge = functools.partial(_merge, patch_len=pl)
    parts = _parts(plan, "covariance", 1 + pl + pl * pl)
    v = da.reduction(
        parts,
        chunk=_keep,
        combine=merge,
        aggregate=merge,
        axis=tuple(range(plan.x.ndim)),
        dtype=np.float64,
        concatenate=True,
        meta=np.empty((0,), np.float64),
    ).compute()
    n, m2 = v[0], v[1 + pl :].reshape(pl, pl)
    return m2 / (n - 1)

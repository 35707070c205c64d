"""Every window of a numpy array: zero-copy views, a fast parallel patch
matrix, bounded-memory streaming, and linear algebra on the virtual patch
matrix, from the Rust crate ``ndarray-patches``.

>>> import numpy as np, ndarray_patches as nd
>>> img = np.arange(100 * 100, dtype=np.float32).reshape(100, 100)
>>> p = nd.Patches(img, (39, 39))          # every 39x39 window, step 1
>>> p.grid, len(p), p.patch_len
((62, 62), 3844, 1521)
>>> p.view().shape                          # zero copy
(62, 62, 39, 39)
>>> X = p.to_matrix()                       # numpy's row order, in parallel
>>> X.shape, bool(X[63, 0] == img[1, 1])
((3844, 1521), True)

Rows are numbered row-major over the grid of window origins and each row
lists its window's elements row-major (C order): row ``r`` equals numpy's
``sliding_window_view(img, patch).reshape(-1, prod(patch))[r]`` for step 1
and dilation 1.

The windows stay inside the array (``edge="valid"``); ``edge="shift"``
adds, on each axis the step does not take to the end, one window moved back
to end on the last element (tiles of a whole image, no padding), and
:func:`padded` gives TensorFlow's ``"same"`` and ``"cover"``.

Sources may have any number of axes, any layout (C or F order, sliced,
negative strides, broadcast) and any of the dtypes int8 to int64, uint8 to
uint64, bool, float32 and float64; outputs keep the source's dtype unless
``dtype=np.float32`` or ``np.float64`` converts during the copy (numpy's
``astype``).
Every fill runs in Rust with the GIL released, on a thread pool owned by the
process (rebuilt in a ``fork``-ed child, so ``multiprocessing`` works); see
:func:`set_num_threads`. Bad requests raise :class:`PatchError`, a
``ValueError``.
"""

from __future__ import annotations

try:  # From the source folder (python/ as the cwd) there is no compiled _core.
    from . import _core
except ImportError:
    import importlib.machinery as _m, os as _os  # noqa: E401

    _dir = _os.path.dirname(__file__)
    if any(_os.path.exists(_os.path.join(_dir, "_core" + s)) for s in _m.EXTENSION_SUFFIXES):
        raise
    raise ImportError(
        f"ndarray_patches is imported from its source folder ({_dir}), which has no compiled "
        "extension: install the package (`pip install ./python` from the repository root, or a "
        "built wheel: `pip install dist/ndarray_patches-*.whl`) and run Python from another "
        "folder than the source folder python/"
    ) from None

import math
import numbers
import operator
import threading
from typing import Iterator, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._core import PatchError, PatchIndexError, PatchMemoryError, PatchOverflowError

__version__ = "0.1.0"

__all__ = [
    "Patches",
    "Fold",
    "padded",
    "reconstruct",
    "set_num_threads",
    "get_num_threads",
    "PatchError",
    "PatchIndexError",
    "PatchOverflowError",
    "PatchMemoryError",
]

_SUPPORTED = tuple(
    np.dtype(t)
    for t in (
        np.int8, np.int16, np.int32, np.int64,
        np.uint8, np.uint16, np.uint32, np.uint64,
        np.bool_, np.float32, np.float64,
    )
)
_REAL = (np.dtype(np.float32), np.dtype(np.float64))

Shape = Union[int, Sequence[int]]


def _check_ndim(ndim: int, what: str) -> None:
    """A :class:`PatchError` naming ``what`` (e.g. "img for Patches") for
    more axes than the extension takes (numpy 2 allows 64, the Rust numpy
    crate 32)."""
    if ndim > _core.MAX_NDIM:
        raise PatchError(
            f"{what} has {ndim} axes: ndarray_patches supports at most {_core.MAX_NDIM} "
            f"(numpy allows 64, the Rust numpy crate {_core.MAX_NDIM})"
        )


def _flag(value, name: str, where: str) -> bool:
    """``bool(value)``, with a :class:`TypeError` naming the argument where
    it has no truth value (an array of several elements)."""
    try:
        return bool(value)
    except Exception:
        raise TypeError(
            f"{name} for {where} must be True or False, not {type(value).__name__}"
        ) from None


def _source(img, where: str = "Patches") -> np.ndarray:
    a = np.asarray(img)
    _check_ndim(a.ndim, f"img for {where}")
    if a.dtype.kind in "fc" and a.dtype not in _SUPPORTED:
        raise PatchError(
            f"unsupported dtype {a.dtype} of img for {where}: convert it first, "
            "e.g. img.astype(np.float32)"
            + (" (or take img.real or abs(img))" if a.dtype.kind == "c" else "")
        )
    if a.dtype not in _SUPPORTED or not a.dtype.isnative:
        raise PatchError(
            f"unsupported dtype {a.dtype} of img for {where}: the source must be an "
            "integer (int8 to int64, uint8 to uint64), bool, float32 or float64 "
            "(native byte order; convert with img.astype(img.dtype.newbyteorder('=')))"
        )
    if a.ndim == 0:
        raise PatchError("a 0-d array has no patches; give an array with at least one axis")
    return a


def _axes(value: Shape, ndim: int, name: str) -> Tuple[int, ...]:
    """A per-axis tuple: a single number means every axis."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        out = (operator.index(value),) * ndim
    else:
        try:
            out = tuple(operator.index(v) for v in value)
        except TypeError:
            raise TypeError(f"{name} must be an int or a sequence of ints, not {value!r}") from None
    for k, v in enumerate(out):
        if v < 0:
            raise PatchError(f"{name} is negative on axis {k}; it must be at least 1")
    return out


def _axis_arg(axis: Shape, ndim: int) -> Tuple[int, ...]:
    """numpy's ``axis=``: an int or a sequence, negative from the end."""
    given = axis
    if isinstance(axis, (numbers.Integral, np.integer)) and not isinstance(axis, bool):
        axis = (axis,)
    try:
        ax = tuple(operator.index(k) for k in axis)
    except TypeError:
        raise TypeError(f"axis must be an int or a sequence of ints, not {axis!r}") from None
    for k in ax:
        if not -ndim <= k < ndim:
            raise PatchError(
                f"axis={given!r} for Patches: axis {k} is out of range for an array of {ndim} axes"
            )
    return tuple(k + ndim if k < 0 else k for k in ax)


def _index(value, name: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None


def _dtype(value, where: str) -> np.dtype:
    """``np.dtype(value)``; anything numpy cannot read is a TypeError naming
    the argument and the method (numpy's parser raises even SyntaxError for
    some strings, such as ``","``)."""
    try:
        return np.dtype(value)
    except Exception as e:  # noqa: BLE001 - TypeError, ValueError, SyntaxError, ...
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise TypeError(
            f"dtype for {where} must be a numpy dtype, not {shown} ({type(e).__name__}: {e})"
        ) from None


class Patches:
    """Every window of ``img`` of shape ``patch``, with ``step`` between
    neighbouring window origins and ``dilation`` between the elements of a
    window (per axis; a single number means every axis).

    Creating it costs O(1) and copies nothing. The patch matrix has one row
    per window, ``len(p)`` rows of ``p.patch_len`` elements; it is built by
    :meth:`to_matrix`, streamed by :meth:`chunks` and :meth:`write_rows`, and
    multiplied without being built by :meth:`dot`, :meth:`gram`, ...

    ``edge``: ``"valid"`` (the default) keeps the windows inside the array
    whose origins are multiples of ``step``; they may stop short of the end
    when the step does not reach it. ``"shift"`` adds, on every axis where
    the last window stops short, one more window moved back so that it ends
    on the last element (origin ``n - extent``): tiles of a whole image with
    no padding, for running a model on overlapping tiles and stitching its
    output with :class:`Fold` (``edge="shift"``). Every method follows the
    edge, except :meth:`view` when a last window is moved back (no strides
    describe such a grid: a :class:`PatchError`; use :meth:`get` or the
    matrix). ``"same"`` and ``"cover"`` need a padded copy: see
    :func:`padded`.

    ``axis``: windows over these axes only (numpy's ``sliding_window_view``
    ``axis=``; ``patch``, ``step`` and ``dilation`` then have one entry per
    windowed axis). Axes before the first windowed one are batch axes of
    the grid; every other axis is taken whole into the patch: an ``(H, W,
    C)`` image with ``axis=(0, 1)`` gives patches ``(ph, pw, C)``, the rows
    of scikit-learn's ``extract_patches_2d(img, (ph, pw)).reshape(n, -1)``.

    >>> import numpy as np, ndarray_patches as nd
    >>> rgb = np.zeros((32, 32, 3), np.uint8)
    >>> q = nd.Patches(rgb, (8, 8), axis=(0, 1))
    >>> q.grid, q.patch_shape, q.patch_len
    ((25, 25), (8, 8, 3), 192)

    ``copy``: iterators made by :meth:`chunks` run between your Python
    statements, while other Python threads may write ``img``; with
    ``copy=True`` (the default) each :meth:`chunks` call takes one private
    copy of the source (``patch_len`` times smaller than the matrix) and
    yields rows of that snapshot. ``copy=False`` streams from ``img`` itself:
    no copy, but writes to ``img`` during the iteration show up in later
    chunks (and a write racing with a fill gives torn rows). Calls that
    return at once (:meth:`to_matrix`, :meth:`write_rows`, the products) read
    ``img`` directly.

    >>> import numpy as np, ndarray_patches as nd
    >>> img = np.arange(6 * 8, dtype=np.uint8).reshape(6, 8)
    >>> p = nd.Patches(img, (3, 3), step=(1, 2))
    >>> p.grid, len(p), p.patch_len
    ((4, 3), 12, 9)
    >>> p.to_matrix()[1]                      # the window at grid (0, 1)
    array([ 2,  3,  4, 10, 11, 12, 18, 19, 20], dtype=uint8)
    >>> nd.Patches(img, 2, dilation=3).grid   # 2x2 windows spanning 4x4
    (3, 5)

    Shift: step 4 leaves 8 and 9 out of 0..9; one more window ends on 9.

    >>> t = nd.Patches(np.arange(10, dtype=np.int32), 4, step=4, edge="shift")
    >>> t
    Patches(shape=(10,), dtype=int32, patch=(4,), step=(4,), dilation=(1,), edge='shift', grid=(3,))
    >>> t.to_matrix()
    array([[0, 1, 2, 3],
           [4, 5, 6, 7],
           [6, 7, 8, 9]], dtype=int32)
    >>> t.positions().ravel().tolist(), t.position(2), t.get(2).tolist()
    ([0, 4, 6], (6,), [6, 7, 8, 9])
    """

    def __init__(
        self,
        img,
        patch: Shape,
        step: Shape = 1,
        dilation: Shape = 1,
        copy: bool = True,
        edge: str = "valid",
        axis: Optional[Shape] = None,
    ) -> None:
        a = _source(img)
        axes = None if axis is None else _axis_arg(axis, a.ndim)
        nw = a.ndim if axes is None else len(axes)
        self._a = a
        self._copy = _flag(copy, "copy", "Patches")
        self._step = _axes(step, nw, "step")
        self._dilation = _axes(dilation, nw, "dilation")
        # The validated windows: everything below asks them.
        self._core = _core.Geometry(
            a,
            list(_axes(patch, nw, "patch shape")),
            list(self._step),
            list(self._dilation),
            edge,
            None if axes is None else list(axes),
        )
        self._grid = self._core.grid
        self._len = len(self._core)

    # -- geometry ----------------------------------------------------------

    @property
    def grid(self) -> Tuple[int, ...]:
        """The number of window positions on each axis."""
        return self._grid

    @property
    def patch_shape(self) -> Tuple[int, ...]:
        """The shape of a window (with ``axis``: the windowed axes' sizes
        and the whole axes after the first windowed one, in source order)."""
        return self._core.patch_shape

    @property
    def axis(self) -> Optional[Tuple[int, ...]]:
        """The windowed axes (``None``: every axis)."""
        ax = self._core.axis
        return None if ax is None else tuple(ax)

    @property
    def step(self) -> Tuple[int, ...]:
        """The distance between neighbouring window origins, per axis."""
        return self._step

    @property
    def dilation(self) -> Tuple[int, ...]:
        """The distance between neighbouring elements of a window, per axis."""
        return self._dilation

    @property
    def edge(self) -> str:
        """The edge policy of the grid: ``"valid"`` or ``"shift"``."""
        return self._core.edge

    @property
    def patch_len(self) -> int:
        """The number of elements of a window: the matrix's row length."""
        return self._core.patch_len

    @property
    def dtype(self) -> np.dtype:
        """The source's dtype."""
        return self._a.dtype

    @property
    def source(self) -> np.ndarray:
        """The array the windows are read from (not a copy)."""
        return self._a

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i: int) -> np.ndarray:
        """``p[i]``: window ``i`` as :meth:`get` gives it; negative ``i``
        counts from the end, and an ``IndexError`` past either end.

        >>> import numpy as np, ndarray_patches as nd
        >>> p = nd.Patches(np.arange(10, dtype=np.int16), 3)
        >>> p[0].tolist(), p[-1].tolist()
        ([0, 1, 2], [7, 8, 9])
        """
        i = _index(i, "i")
        n = self._len
        if not -n <= i < n:
            raise PatchIndexError(
                f"index i={i} for Patches[i] is out of range: there are {n} windows"
            )
        return self.get(i + n if i < 0 else i)

    def __iter__(self) -> Iterator[np.ndarray]:
        """The windows in row order, each as :meth:`get` gives it.

        >>> import numpy as np, ndarray_patches as nd
        >>> [w.tolist() for w in nd.Patches(np.arange(4, dtype=np.uint8), 2, step=2)]
        [[0, 1], [2, 3]]
        """
        for r in range(self._len):
            yield self.get(r)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """``np.asarray(p)``: the zero-copy window view of :meth:`view`
        (shape ``grid + patch_shape``); a :class:`PatchError` where no
        strided view exists (``edge="shift"`` with a moved-back window).

        >>> import numpy as np, ndarray_patches as nd
        >>> np.asarray(nd.Patches(np.arange(5, dtype=np.int64), 2)).shape
        (4, 2)
        """
        v = self.view()
        if dtype is not None and _dtype(dtype, "np.asarray(Patches)") != v.dtype:
            if copy is False:
                raise ValueError(
                    f"np.asarray(Patches, dtype={_dtype(dtype, 'np.asarray(Patches)')}, copy=False): a conversion "
                    "copies; use p.to_matrix(dtype=...) or copy=None"
                )
            return v.astype(dtype)
        return v.copy() if copy else v

    def __repr__(self) -> str:
        edge = "" if self.edge == "valid" else f"edge={self.edge!r}, "
        axis = "" if self.axis is None else f"axis={self.axis}, "
        return (
            f"Patches(shape={self._a.shape}, dtype={self._a.dtype}, {axis}"
            f"patch={self.patch_shape}, step={self._step}, dilation={self._dilation}, "
            f"{edge}grid={self._grid})"
        )

    def matrix_bytes(self, dtype=None) -> int:
        """The size in bytes of the whole patch matrix in ``dtype`` (default:
        the source's), which :meth:`to_matrix` would allocate.

        >>> import numpy as np, ndarray_patches as nd
        >>> p = nd.Patches(np.zeros((4096, 4096), np.float32), 39)
        >>> p.matrix_bytes() / 2**30                           # GiB
        93.30...
        """
        return self._core.matrix_bytes(self._out_dtype(dtype))

    # -- views and rows ----------------------------------------------------

    def view(self) -> np.ndarray:
        """A read-only numpy view of shape ``grid + patch_shape`` into the
        source: ``view()[i, j]`` is the window at grid position ``(i, j)``.
        No copy.

        >>> import numpy as np, ndarray_patches as nd
        >>> img = np.arange(16).reshape(4, 4).astype(np.int32)
        >>> v = nd.Patches(img, (2, 2), step=2).view()
        >>> v.shape, v[1, 0].tolist(), v.flags.writeable
        ((2, 2, 2, 2), [[8, 9], [12, 13]], False)

        With ``edge="shift"``, a grid whose last window is moved back has no
        strided view: a :class:`PatchError` (read its windows with
        :meth:`get`, :meth:`to_matrix`, :meth:`chunks`, ...). A shift grid
        the step takes to the end has one.

        >>> nd.Patches(img, 2, step=3, edge="shift").view()
        Traceback (most recent call last):
        ...
        ndarray_patches.PatchError: no strided view holds edge="shift" windows: ...
        >>> nd.Patches(img, 2, step=2, edge="shift").view().shape
        (2, 2, 2, 2)
        """
        shape, strides = self._core.view_layout()
        return np.lib.stride_tricks.as_strided(
            self._a, shape=shape, strides=strides, writeable=False
        )

    def get(self, r: int) -> np.ndarray:
        """Window ``r`` (row ``r`` of the matrix) as a read-only view of
        shape ``patch_shape`` into the source, no copy.

        >>> import numpy as np, ndarray_patches as nd
        >>> p = nd.Patches(np.arange(16).reshape(4, 4).astype(np.uint8), 2, step=2)
        >>> p.get(3).tolist()
        [[10, 11], [14, 15]]
        """
        origin, shape, strides = self._core.window_layout(_index(r, "r"))
        base = self._a[tuple(slice(o, None) for o in origin)]
        return np.lib.stride_tricks.as_strided(base, shape=shape, strides=strides, writeable=False)

    def row_of(self, origin: Sequence[int]) -> Optional[int]:
        """The row of the window whose origin (index of its first element in
        the source) is ``origin``, one index per axis; ``None`` if no window
        starts there (off the steps, or past the last window). The inverse
        of :meth:`position`.

        >>> import numpy as np, ndarray_patches as nd
        >>> p = nd.Patches(np.zeros((10, 10), np.uint8), 4, step=3)
        >>> p.row_of((3, 6)), p.row_of((3, 5))
        (5, None)
        """
        return self._core.row_of(list(_axes(origin, self._a.ndim, "origin")))

    def position(self, r: int) -> Tuple[int, ...]:
        """The origin (index in the source of the first element) of window
        ``r``.

        >>> import numpy as np, ndarray_patches as nd
        >>> nd.Patches(np.zeros((10, 10), np.uint8), 4, step=3).position(5)
        (3, 6)
        """
        return self._core.position(_index(r, "r"))

    def _out_dtype(self, dtype) -> np.dtype:
        # Checked by _core: the source's dtype, float32 or float64.
        return self._a.dtype if dtype is None else _dtype(dtype, "Patches")

    @staticmethod
    def _rows_arg(start, stop) -> Tuple[int, Optional[int]]:
        return _index(start, "start"), None if stop is None else _index(stop, "stop")

    def to_matrix(self, dtype=None, start: int = 0, stop: Optional[int] = None) -> np.ndarray:
        """The patch matrix (rows ``start:stop``, default all): a new C-order
        ``(rows, patch_len)`` array of ``dtype`` (the source's by default;
        float32 or float64 convert during the copy), filled in parallel.

        >>> import numpy as np, ndarray_patches as nd
        >>> img = np.arange(12, dtype=np.uint8).reshape(3, 4)
        >>> nd.Patches(img, (2, 2)).to_matrix(np.float32)[:2]
        array([[0., 1., 4., 5.],
               [1., 2., 5., 6.]], dtype=float32)
        """
        return self._core.to_matrix(self._out_dtype(dtype), *self._rows_arg(start, stop))

    def write_rows(self, start: int, out: np.ndarray) -> None:
        """Writes rows ``start:start + len(out)`` into ``out``, a writeable
        2-D array of ``patch_len`` columns and of the source's dtype, float32
        or float64 (C-contiguous is fastest): the buffer-reusing path.

        >>> import numpy as np, ndarray_patches as nd
        >>> p = nd.Patches(np.arange(10, dtype=np.int16), 3)
        >>> out = np.empty((2, 3), np.float64)
        >>> p.write_rows(4, out)
        >>> out
        array([[4., 5., 6.],
               [5., 6., 7.]])
        """
        self._core.write_rows(_index(start, "start"), out)

    def chunks(
        self,
        rows: Optional[int] = None,
        dtype=np.float32,
        start: int = 0,
        stop: Optional[int] = None,
    ) -> Iterator[Tuple[int, np.ndarray]]:
        """Rows ``start:stop`` of the patch matrix as ``(first_row, chunk)``
        pairs, each chunk a ``(<= rows, patch_len)`` array of ``dtype``
        (float32 by default) that nothing else refers to: memory stays at
        the source plus a few chunks however many windows there are. A
        chunk the loop has dropped (no variable, view or buffer refers to
        it) is refilled two chunks later instead of allocating a new one; a
        chunk kept, or a view of it, is never written again.
        ``rows=None`` picks 16 MiB chunks (the package's one default: tens
        of thousands of rows for a scikit-learn model's ``partial_fit``).
        Arguments are checked here, not at the first ``next()``. The
        iterator has ``len()``: the number of chunks still to come.

        With ``copy=True`` (see :class:`Patches`) the source is copied once,
        here, and the chunks come from that snapshot.

        >>> import numpy as np, ndarray_patches as nd
        >>> img = np.random.default_rng(0).random((64, 64))
        >>> p = nd.Patches(img, (8, 8))
        >>> total = 0
        >>> for start, chunk in p.chunks(rows=1000):
        ...     total += chunk.shape[0]
        >>> total == len(p), chunk.dtype
        (True, dtype('float32'))
        """
        dt = self._out_dtype(dtype)
        start, stop = self._rows_arg(start, stop)
        rows = self._core.chunk_rows(None if rows is None else _index(rows, "rows"), dt, "Patches.chunks")
        self._core.positions(start, start)  # checks start before a snapshot
        return self._snap().chunks(start, stop, rows, dt)

    def _snap(self):
        """The geometry over a private copy of the source (``copy=True``)."""
        return self._core.with_source(_snapshot(self._a)) if self._copy else self._core

    def map_chunks(self, fn, rows: Optional[int] = None, dtype=np.float32) -> np.ndarray:
        """``fn`` on every window, a chunk of rows at a time: calls
        ``fn(chunk)`` on consecutive ``(<= rows, patch_len)`` chunks of the
        patch matrix in ``dtype`` (float32 by default) and returns the
        results in row order, shaped like the grid: ``grid`` when ``fn``
        returns one value per row (a model's ``predict``), ``grid + (k,)``
        when it returns ``(rows, k)`` (``predict_proba``). The result's dtype
        is that of ``fn``'s first result.

        While ``fn`` runs on one chunk, the next is filled in Rust with the
        GIL released (two buffers, reused: copy a chunk if ``fn`` keeps
        it), unless that is measured slower: with twelve chunks or more,
        the call times chunks 1 to 3 with ``fn`` beside the fill, then
        chunks 4 to 6 with ``fn`` then the fill, and does what was faster
        (by the medians) from then on. Beside a fill, ``fn`` runs with its
        BLAS and OpenMP libraries on one thread (through threadpoolctl,
        when it is installed; scikit-learn installs it; in calls from the
        main thread), restored when it returns: their threads would
        otherwise spin on the cores the fill needs (a linear model's
        product on every core lost more to the fill than the overlap
        saved). A linear model needs no chunks at all: ``p.dot(clf.coef_.ravel()) + clf.intercept_`` gives
        ``decision_function``'s scores from the crate's linear algebra
        (measured 17x faster than numpy's best loop over bands of rows,
        2048², 15x15).
        ``rows=None`` picks 16 MiB chunks (tens of thousands of rows: a
        model's per-call overhead is then small). Memory: two chunks and
        the result, never the matrix.

        >>> import numpy as np, ndarray_patches as nd
        >>> img = np.arange(36, dtype=np.float32).reshape(6, 6)
        >>> p = nd.Patches(img, (3, 3))
        >>> p.map_chunks(lambda X: X.max(axis=1), rows=5)        # grid-shaped
        array([[14., 15., 16., 17.],
               [20., 21., 22., 23.],
               [26., 27., 28., 29.],
               [32., 33., 34., 35.]], dtype=float32)
        >>> p.map_chunks(lambda X: X[:, [0, 8]]).shape           # (rows, k)
        (4, 4, 2)
        """
        if not callable(fn):
            raise TypeError(f"fn of Patches.map_chunks must be callable, not {type(fn).__name__}")
        rows = None if rows is None else _index(rows, "rows")
        return self._core.map_chunks(fn, rows, self._out_dtype(dtype), _OneThreadBeside(fn))

    def shuffled(
        self,
        rows: Optional[int] = None,
        seed: int = 0,
        dtype=np.float32,
        start: int = 0,
        stop: Optional[int] = None,
    ) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """One shuffled epoch of rows ``start:stop``, for training on
        minibatches: every window exactly once, in a random order fixed by
        ``seed``, as ``(row_numbers, batch)`` pairs. ``row_numbers`` is an
        int64 array of the batch's rows (row ``i`` of ``batch`` is window
        ``row_numbers[i]``: index labels with it), ``batch`` a new
        ``(<= rows, patch_len)`` array of ``dtype`` (float32 by default).
        ``rows=None`` picks 16 MiB batches. Use a new ``seed`` per epoch.
        The iterator has ``len()``: the number of batches still to come.

        The order is the Rust crate's ``Rows::shuffled`` with
        ``StdRng::seed_from_u64(seed)``, so both languages give the same
        epochs. Memory: 8 bytes per row for the order, plus one batch.
        Shuffled batches read windows from all over the image, so they come
        slower than :meth:`chunks` (about 2x for a 1000x1000 image).

        >>> import numpy as np, ndarray_patches as nd
        >>> img = np.arange(100, dtype=np.float32).reshape(10, 10)
        >>> p = nd.Patches(img, (3, 3))
        >>> seen = []
        >>> for rows, X in p.shuffled(rows=16, seed=3):
        ...     assert (X == p.to_matrix()[rows]).all()
        ...     seen += rows.tolist()
        >>> sorted(seen) == list(range(len(p))), seen != sorted(seen)
        (True, True)
        """
        dt = self._out_dtype(dtype)
        start, stop = self._rows_arg(start, stop)
        seed = _index(seed, "seed")
        if seed < 0:
            raise PatchError(f"seed={seed} for Patches.shuffled must be >= 0")
        rows = self._core.chunk_rows(None if rows is None else _index(rows, "rows"), dt, "Patches.shuffled")
        self._core.positions(start, start)  # checks start before a snapshot
        return self._snap().shuffled(start, stop, rows, seed, dt)

    def positions(self, start: int = 0, stop: Optional[int] = None) -> np.ndarray:
        """The origins (first element's index in the source) of the windows
        of rows ``start:stop``: an int64 array of shape ``(rows, ndim)``.

        >>> import numpy as np, ndarray_patches as nd
        >>> p = nd.Patches(np.zeros((10, 10), np.uint8), 4, step=3)
        >>> p.positions(4, 6).tolist()
        [[3, 3], [3, 6]]
        """
        return self._core.positions(*self._rows_arg(start, stop))

    def sample(
        self,
        n: int,
        seed: int = 0,
        replace: bool = False,
        weights=None,
        mask=None,
    ) -> Tuple[np.ndarray, np.ndarray]:
        """``n`` random windows, seeded: ``(rows, matrix)`` with the drawn
        row numbers (int64, in the order drawn) and their patch rows (the
        source's dtype). Distinct windows unless ``replace``; ``weights``
        (one per window, grid-shaped or flat, >= 0) draws proportionally,
        ``mask`` (booleans, same shape) only where true. Without replacement,
        asking for more windows than can be drawn is a :class:`PatchError`.

        >>> import numpy as np, ndarray_patches as nd
        >>> img = np.arange(100, dtype=np.float32).reshape(10, 10)
        >>> p = nd.Patches(img, (3, 3))
        >>> rows, X = p.sample(5, seed=1)
        >>> X.shape, len(set(rows.tolist()))
        ((5, 9), 5)
        >>> bool((X == p.to_matrix()[rows]).all())
        True
        >>> m = np.zeros(p.grid, bool); m[0, :2] = True
        >>> sorted(p.sample(2, mask=m)[0].tolist())
        [0, 1]
        """
        n = _index(n, "n")
        if n < 0:
            raise PatchError(f"cannot draw {n} patches")
        w = None
        if weights is not None:
            w = self._per_window(np.array(weights, dtype=np.float64), "weights")
        if mask is not None:
            m = self._per_window(np.asarray(mask, dtype=bool), "mask")
            w = m.astype(np.float64) if w is None else np.where(m, w, 0.0)
        replace = _flag(replace, "replace", "Patches.sample")
        return self._core.sample(n, _index(seed, "seed"), replace, w)

    def _per_window(self, a: np.ndarray, name: str) -> np.ndarray:
        """``a`` (one value per window: grid-shaped or flat) flattened."""
        if a.shape not in (self._grid, (self._len,)):
            raise PatchError(
                f"{name} for Patches.sample has shape {a.shape}, but one value per window is "
                f"needed: the grid's shape {self._grid} (or ({self._len},) flat)"
            )
        return a.reshape(-1)

    # -- linear algebra on the virtual matrix X ----------------------------

    def _lin(self, dtype, *operands) -> np.dtype:
        if dtype is None:
            dt = np.result_type(self._a.dtype, np.float32, *operands)
        else:
            dt = _dtype(dtype, "the linear algebra of Patches")
        if dt not in _REAL:
            raise PatchError(f"unsupported dtype {dt} for linear algebra: use float32 or float64")
        return dt

    def _operand(self, x, ndim: int, name: str):
        a = np.asarray(x)
        if a.ndim != ndim:
            raise PatchError(f"{name} must have {ndim} axes, it has {a.ndim}")
        return a

    def dot(self, w, dtype=None, method: str = "auto") -> np.ndarray:
        """``X @ w``: one value per window, the window's dot product with
        ``w`` (``patch_len`` weights, C order over the window). The dtype is
        numpy's promotion of the source, float32 and ``w`` unless given.

        ``method``: how it is computed; ``"auto"`` (the default) lets the
        crate's cost model choose, ``"gemm"`` streams chunks of X through a
        matrix product (any rows), ``"displacement"`` (``gram``, ``mean``,
        ``covariance``) sums over the displacements between window offsets,
        ``"fft"`` (``dot``, ``matmul``, ``t_dot``) correlates by FFT; the
        last two need every window. The results agree to rounding.

        >>> import numpy as np, ndarray_patches as nd
        >>> img = np.arange(25, dtype=np.float64).reshape(5, 5)
        >>> nd.Patches(img, (2, 2)).dot(np.full(4, 0.25))[:3]     # box means
        array([3., 4., 5.])
        """
        w = self._operand(w, 1, "w")
        dt = self._lin(dtype, w.dtype)
        return self._core.dot(np.ascontiguousarray(w, dt), dt.name, method)

    def matmul(self, W, dtype=None, method: str = "auto") -> np.ndarray:
        """``X @ W`` for ``W`` of shape ``(patch_len, k)``: a filter bank, one
        row of ``k`` responses per window.

        >>> import numpy as np, ndarray_patches as nd
        >>> img = np.arange(16, dtype=np.float32).reshape(4, 4)
        >>> W = np.stack([np.ones(4), np.arange(4)], axis=1).astype(np.float32)
        >>> nd.Patches(img, 2).matmul(W)[0]
        array([10., 24.], dtype=float32)
        """
        W = self._operand(W, 2, "W")
        dt = self._lin(dtype, W.dtype)
        return self._core.matmul(np.ascontiguousarray(W, dt), dt.name, method)

    def t_dot(self, v, dtype=None, method: str = "auto") -> np.ndarray:
        """``X.T @ v`` for ``v`` with one value per window: the windows
        summed with weights ``v`` (a gradient, or ``Xᵀy`` of least squares).

        >>> import numpy as np, ndarray_patches as nd
        >>> p = nd.Patches(np.arange(5, dtype=np.float64), 2)
        >>> p.t_dot(np.ones(4))
        array([ 6., 10.])
        """
        v = self._operand(v, 1, "v")
        dt = self._lin(dtype, v.dtype)
        return self._core.t_dot(np.ascontiguousarray(v, dt), dt.name, method)

    def gram(self, dtype=np.float64, method: str = "auto") -> np.ndarray:
        """``X.T @ X``, ``(patch_len, patch_len)``, without building X.

        ``method``: as for :meth:`dot` (``"displacement"`` applies here).

        >>> import numpy as np, ndarray_patches as nd
        >>> p = nd.Patches(np.arange(4, dtype=np.float64), 2)     # rows [0 1] [1 2] [2 3]
        >>> p.gram()
        array([[ 5.,  8.],
               [ 8., 14.]])
        """
        dt = self._lin(dtype)
        return self._core.gram(dt.name, method)

    def mean(self, dtype=np.float64, method: str = "auto") -> np.ndarray:
        """The mean window, flattened (``X.mean(axis=0)``).

        >>> import numpy as np, ndarray_patches as nd
        >>> nd.Patches(np.arange(9, dtype=np.uint8).reshape(3, 3), 2).mean()
        array([2., 3., 5., 6.])
        """
        dt = self._lin(dtype)
        return self._core.mean(dt.name, method)

    def covariance(self, dtype=np.float64, method: str = "auto") -> np.ndarray:
        """``np.cov(X, rowvar=False)``: the covariance of the window
        elements, computed in chunks, never building X (needs 2 windows).

        >>> import numpy as np, ndarray_patches as nd
        >>> img = np.random.default_rng(0).random((20, 20))
        >>> p = nd.Patches(img, (3, 3))
        >>> bool(np.allclose(p.covariance(), np.cov(p.to_matrix(), rowvar=False)))
        True
        """
        dt = self._lin(dtype)
        return self._core.covariance(dt.name, method)

    def mean_covariance(self, dtype=np.float64, method: str = "auto") -> Tuple[np.ndarray, np.ndarray]:
        """``(mean, covariance)`` from one pass over the windows: what
        :meth:`mean` and :meth:`covariance` return (the covariance's pass sums
        the windows anyway), for a PCA or a whitening of every window.

        >>> import numpy as np, ndarray_patches as nd
        >>> img = np.random.default_rng(0).random((20, 20))
        >>> p = nd.Patches(img, (3, 3))
        >>> mean, cov = p.mean_covariance()
        >>> bool(np.allclose(mean, p.mean()) and np.allclose(cov, p.covariance()))
        True
        """
        dt = self._lin(dtype)
        return self._core.mean_covariance(dt.name, method)

    def project(self, components, mean=None, dtype=None, method: str = "auto") -> np.ndarray:
        """Every window's centred projection onto ``components``:
        ``(X - mean) @ components.T``, shaped ``grid + (k,)`` (one image of
        ``k`` responses per component on the window grid).

        ``components`` is ``(k, patch_len)``, one component per row
        (scikit-learn's ``PCA.components_``, or eigenvectors transposed).
        ``mean`` is ``(patch_len,)`` (``PCA.mean_``); ``None`` (the default)
        uses the mean window of these patches (:meth:`mean`). ``X @
        components.T`` is computed as :meth:`matmul` does (by FFT for large
        windows), and the mean's projection subtracted from it: no matrix
        is built. The dtype and ``method`` are those of :meth:`matmul`.

        >>> import numpy as np, ndarray_patches as nd
        >>> img = np.random.default_rng(0).random((32, 32))
        >>> p = nd.Patches(img, (5, 5))
        >>> mean, cov = p.mean_covariance()
        >>> components = np.linalg.eigh(cov)[1][:, ::-1][:, :4].T   # top 4
        >>> S = p.project(components)
        >>> S.shape                                   # grid + (k,)
        (28, 28, 4)
        >>> X = p.to_matrix(np.float64)
        >>> bool(np.allclose(S.reshape(-1, 4), (X - mean) @ components.T))
        True
        """
        C = self._operand(components, 2, "components for Patches.project")
        if C.shape[1] != self.patch_len:
            raise PatchError(
                f"components for Patches.project has shape {C.shape}, but (k, {self.patch_len}) "
                f"is needed: one component of patch_len = {self.patch_len} elements per row"
            )
        dt = self._lin(dtype, C.dtype)
        if mean is None:
            mu = self.mean(np.float64, method if method != "fft" else "auto")
        else:
            mu = np.asarray(mean, dtype=np.float64)
            if mu.shape != (self.patch_len,):
                raise PatchError(
                    f"mean for Patches.project has shape {mu.shape}, but ({self.patch_len},) "
                    "is needed: one value per patch element"
                )
        S = self._core.matmul(np.ascontiguousarray(C.T, dt), dt.name, method)
        S -= (mu @ C.T.astype(np.float64)).astype(dt)
        return S.reshape(self._grid + (C.shape[0],))


def _snapshot(a: np.ndarray) -> np.ndarray:
    """A private copy of ``a``, copied by the crate's threads; broadcast
    (stride-0) axes stay broadcast."""
    if 0 not in a.strides or a.size == 0:
        return _core.snapshot(a)
    core = a[tuple(slice(0, 1) if st == 0 else slice(None) for st in a.strides)]
    return np.broadcast_to(_core.snapshot(core), a.shape)


def padded(
    img,
    patch: Shape,
    step: Shape = 1,
    dilation: Shape = 1,
    edge: str = "same",
    mode: str = "constant",
    cval=0,
) -> Patches:
    """The windows of ``img`` under an edge policy: a :class:`Patches` over a
    padded copy of ``img``.

    ``edge``: ``"valid"`` (only windows inside the array), ``"same"`` (one
    window centred on every ``step``-th element, as TensorFlow's and
    torch's ``"same"``), ``"cover"`` (the grid reaches every element; pads
    after the end only) or ``"shift"`` (pads nothing: the windows of
    ``"valid"`` plus, where the step stops short of the end, one moved back
    to end on the last element; the result has ``edge="shift"``, the same
    windows as ``Patches(img, ..., edge="shift")`` over a copy). ``mode``: how the borders are filled, with
    numpy.pad's names: ``"constant"`` (``cval``), ``"edge"``,
    ``"reflect"``, ``"symmetric"``, ``"wrap"``. The padded array is
    ``p.source``.

    >>> import numpy as np, ndarray_patches as nd
    >>> img = np.arange(25, dtype=np.float32).reshape(5, 5)
    >>> p = nd.padded(img, (3, 3), edge="same", mode="reflect")
    >>> p.grid, p.view()[0, 0].tolist()          # centred on img[0, 0]
    ((5, 5), [[6.0, 5.0, 6.0], [1.0, 0.0, 1.0], [6.0, 5.0, 6.0]])
    >>> nd.padded(img, 2, step=2, edge="cover").grid
    (3, 3)
    >>> nd.padded(img, 2, step=2, edge="shift").positions()[:, 1].tolist()
    [0, 2, 3, 0, 2, 3, 0, 2, 3]
    """
    a = _source(img, "padded")
    nd = a.ndim
    g = (
        list(_axes(patch, nd, "patch shape")),
        list(_axes(step, nd, "step")),
        list(_axes(dilation, nd, "dilation")),
    )
    c = np.array([cval], dtype=a.dtype)
    out, grid_edge = _core.padded(a, *g, edge, mode, c)
    return Patches(out, g[0], g[1], g[2], copy=False, edge=grid_edge)


class Fold:
    """Puts patch rows back onto an image of ``shape`` (reconstruction): the
    windows are those of ``patch``, ``step``, ``dilation`` under ``edge``
    (as made by :class:`Patches` for ``"valid"`` and ``"shift"``, by
    :func:`padded` for ``"same"`` and ``"cover"``). Add rows in any order
    and in any number of calls with :meth:`add_rows`, then :meth:`finish`.
    Several threads may add to one fold: their calls take turns (each runs
    whole, with the GIL released). Holds two arrays of the padded shape,
    allocated with the first rows, never the rows.

    ``reduction`` says how the contributions to each element combine:

    - ``"mean"`` (the default): overlaps averaged (scikit-learn's
      reconstruction), or blended by the window ``weights``;
    - ``"sum"``: their (weighted) sum (torch's ``fold``);
    - ``"max"``, ``"min"``: the largest or smallest (a NaN counts only
      where every contribution is NaN);
    - ``"last"``: the contribution of the covering window with the highest
      row number, whatever the order in which rows were added.

    ``weights`` (``"mean"`` and ``"sum"`` only: they blend contributions,
    the other reductions take none): ``None`` (every element counts 1),
    ``"hann"`` (per axis ``sin(pi (j + 1) / (size + 1))**2``, a Hann window
    without its zero end points), ``"gaussian"`` with ``sigma=`` (per axis
    ``exp(-(j - c)**2 / (2 sigma**2))``, ``c`` the patch's middle, ``sigma``
    in elements), or an array of one weight ``>= 0`` per patch element
    (the patch's shape, or flat: ``patch_len`` elements). Elements whose
    contributions all have weight 0 count as uncovered.

    >>> import numpy as np, ndarray_patches as nd
    >>> img = np.random.default_rng(0).random((16, 16))
    >>> f = nd.Fold(img.shape, (8, 8), step=4, edge="same")
    >>> p = nd.padded(img, (8, 8), step=4, edge="same", mode="reflect")
    >>> for start, rows in p.chunks(rows=5, dtype=np.float64):
    ...     f.add_rows(start, rows)
    >>> bool(np.allclose(f.finish(), img))
    True

    Tiles of a whole image without padding (``edge="shift"``): a model's
    output per tile, stitched back with a Hann-weighted mean (smooth seams);
    with a step at most the patch every element is covered.

    >>> tiles = nd.Patches(img, (6, 6), step=4, edge="shift")
    >>> tiles.grid, tiles.positions()[:4, 1].tolist()      # 0, 4, 8 and 10
    ((4, 4), [0, 4, 8, 10])
    >>> f = nd.Fold(img.shape, (6, 6), step=4, edge="shift", weights="hann")
    >>> f.add_rows(0, 2 * tiles.to_matrix(np.float64))      # the "model": x2
    >>> out = f.finish(dtype=np.float32)
    >>> out.dtype, bool(np.allclose(out, 2 * img, rtol=1e-6))
    (dtype('float32'), True)

    The largest of every window's values, back on the image:

    >>> m = nd.Fold((1, 5), (1, 3), reduction="max")
    >>> m.add_rows(0, [[1, 5, 2], [3, 1, 4], [2, 2, 2]])
    >>> m.finish().tolist()
    [[1.0, 5.0, 2.0, 4.0, 2.0]]
    """

    def __init__(
        self,
        shape: Sequence[int],
        patch: Shape,
        step: Shape = 1,
        dilation: Shape = 1,
        edge: str = "valid",
        reduction: str = "mean",
        weights=None,
        sigma: Optional[float] = None,
    ) -> None:
        shape = tuple(_index(n, "shape") for n in shape)
        _check_ndim(len(shape), "shape for Fold")
        if any(n < 0 for n in shape):
            raise PatchError(f"negative image shape {shape}")
        nd = len(shape)
        if weights is not None and not isinstance(weights, str):
            w = np.asarray(weights)
            if w.dtype.kind not in "biuf":
                raise PatchError(
                    f"Fold: weights must be None, 'hann', 'gaussian' or an array of real "
                    f"numbers of the patch's shape, not an array of dtype {w.dtype}"
                )
            weights = w
        self.shape = shape
        self._f = _core._Fold(
            list(shape),
            list(_axes(patch, nd, "patch shape")),
            list(_axes(step, nd, "step")),
            list(_axes(dilation, nd, "dilation")),
            edge,
            reduction,
            weights,
            sigma,
        )
        self._len, self._patch_len = self._f.dims()
        self._lock = threading.Lock()  # one call at a time into _f

    def __len__(self) -> int:
        return self._len

    @property
    def patch_len(self) -> int:
        """The length of a row."""
        return self._patch_len

    @property
    def reduction(self) -> str:
        """The reduction chosen at construction."""
        return self._f.reduction

    def add_rows(self, start: int, rows) -> None:
        """Adds rows ``start:start + len(rows)`` of the patch matrix:
        ``(n, patch_len)``, or ``(n, *patch)``; float32 or float64 (other
        dtypes are converted to float64)."""
        start = _index(start, "start")
        if start < 0:
            raise PatchIndexError(f"Fold.add_rows: start {start} is negative")
        r = np.asarray(rows)
        if r.ndim != 2:
            if r.ndim < 1:
                raise PatchError("Fold.add_rows: rows must have at least one axis")
            r = r.reshape(r.shape[0], math.prod(r.shape[1:]))  # no -1: it may be empty
        if r.dtype not in _REAL:
            r = _real_array(r, "rows", "Fold.add_rows")
        with self._lock:
            self._f.add_rows(start, r)

    def finish(self, reduction: Optional[str] = None, dtype=np.float64) -> np.ndarray:
        """The image (of ``shape``, ``dtype`` float64 or float32, converted
        in Rust): the contributions so far reduced by the fold's reduction;
        elements no window covered are 0. The fold can take more rows
        afterwards.

        ``reduction`` (default: the fold's own) may switch between
        ``"mean"`` and ``"sum"`` on a fold built with either (they share one
        accumulator: ``finish("sum")`` on a weighted ``"mean"`` fold gives
        the weighted sums); ``"max"``, ``"min"`` and ``"last"`` are chosen
        when the fold is built, ``Fold(..., reduction="max")``, and such a
        fold finishes only with its own.

        >>> import numpy as np, ndarray_patches as nd
        >>> f = nd.Fold((3,), 2)                    # two windows of 2 on 3 elements
        >>> f.add_rows(0, [[1.0, 1.0], [2.0, 2.0]])
        >>> f.finish().tolist(), f.finish("sum").tolist()
        ([1.0, 1.5, 2.0], [1.0, 3.0, 2.0])
        >>> f.finish(dtype=np.float32).dtype
        dtype('float32')
        """
        try:
            dt = np.dtype(dtype)
        except Exception:  # noqa: BLE001 - numpy raises even SyntaxError
            raise TypeError(
                f"Fold.finish: dtype must be float32 or float64, not {dtype!r}"
            ) from None
        with self._lock:
            return self._f.finish(reduction, dt.name)

    def place(self, values, anchor: str = "centre") -> np.ndarray:
        """One value per window written at one element of the window, its
        ``anchor``: ``"centre"`` (``(extent - 1) // 2`` past the window's
        origin on each axis: the element an ``edge="same"`` window is
        centred on; ``"center"`` is the same) or ``"origin"`` (the window's
        first element). ``values`` holds one value per window in row order,
        ``(n,)``, or one vector, ``(n, k)``: the result is of ``shape``, or
        ``shape + (k,)``; float32 values give float32, others float64.
        Elements no anchor landed on are 0, and anchors in the padding of
        ``"same"`` or ``"cover"`` are dropped. With ``edge="same"`` and step
        1 this is a per-pixel map of per-window results. Independent of the
        rows added.

        >>> import numpy as np, ndarray_patches as nd
        >>> img = np.arange(25, dtype=np.float64).reshape(5, 5)
        >>> p = nd.padded(img, (3, 3), edge="same", mode="reflect")
        >>> sd = p.to_matrix().std(axis=1)             # one value per window
        >>> f = nd.Fold(img.shape, (3, 3), edge="same")
        >>> bool((f.place(sd) == sd.reshape(5, 5)).all())
        True
        >>> nd.Fold((5,), 3).place(np.array([1.0, 2.0, 3.0]), anchor="origin").tolist()
        [1.0, 2.0, 3.0, 0.0, 0.0]
        """
        v = np.asarray(values)
        if v.ndim not in (1, 2):
            raise PatchError(
                "Fold.place: values must hold one value per window, shape (n,), or one "
                f"vector per window, shape (n, k); it has shape {v.shape}"
            )
        if v.dtype not in _REAL:
            v = _real_array(v, "values", "Fold.place")
        with self._lock:
            return self._f.place(v, anchor)


def _real_array(a: np.ndarray, name: str, call: str) -> np.ndarray:
    """``a`` as float64, or a :class:`PatchError` naming ``name`` and
    ``call`` for what is not real numbers (complex, strings, objects that
    are not numbers)."""
    if a.dtype.kind in "biufO":
        try:
            return a.astype(np.float64)
        except (TypeError, ValueError):
            pass
    raise PatchError(
        f"{call}: {name} must hold real numbers (float32, float64, integers or bool), "
        f"not dtype {a.dtype}"
    )


def reconstruct(patches, image_shape: Sequence[int]) -> np.ndarray:
    """scikit-learn's ``reconstruct_from_patches_2d``, for any number of
    axes: ``patches`` holds every window of an image of ``image_shape``
    (step 1), shape ``(n, *patch)``, in row order; overlaps are averaged.
    float32 patches give float32, others float64.

    >>> import numpy as np, ndarray_patches as nd
    >>> img = np.arange(20, dtype=np.float64).reshape(4, 5)
    >>> P = nd.Patches(img, (2, 3)).view().reshape(-1, 2, 3)
    >>> bool((nd.reconstruct(P, img.shape) == img).all())
    True
    """
    p = np.asarray(patches)
    shape = tuple(_index(n, "image_shape") for n in image_shape)
    _check_ndim(len(shape), "image_shape for reconstruct")
    if p.ndim != len(shape) + 1:
        raise PatchError(
            f"patches must have shape (n, *patch) with {len(shape)} patch axes, "
            f"it has shape {p.shape}"
        )
    if any(n < 0 for n in shape):
        raise PatchError(f"negative image shape {shape}")
    if p.dtype not in _REAL:
        p = p.astype(np.float64)
    # Explicit columns: numpy cannot infer -1 for an array of no elements.
    rows = p.reshape(p.shape[0], math.prod(p.shape[1:]))
    return _core.reconstruct(rows, list(shape), list(p.shape[1:]))


def set_num_threads(n: Optional[int] = None) -> None:
    """Sets the number of threads that fill and multiply (``None`` or 0:
    the cores, or ``RAYON_NUM_THREADS``). Each process (and each forked
    child) has its own pool.

    >>> import ndarray_patches as nd
    >>> nd.set_num_threads(1); nd.get_num_threads()
    1
    >>> nd.set_num_threads()
    """
    n = 0 if n is None else _index(n, "n")
    if n < 0:
        raise ValueError(f"n={n} for set_num_threads: cannot use a negative number of threads")
    import os  # here, not at the top (the import check lives there)

    cores = os.cpu_count() or 1
    if n > 4 * cores:
        raise ValueError(
            f"n={n} for set_num_threads: at most {4 * cores} threads "
            f"(4 x the {cores} cores); use None for the cores"
        )
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads of this process's pool."""
    return _core.get_num_threads()


class _OneThreadBeside:
    """``fn`` with the BLAS and OpenMP libraries limited to one thread while
    it runs (threadpoolctl, when installed), for the chunks of
    ``Patches.map_chunks`` that run beside a fill. The limits are process
    wide and threadpoolctl sets them from one thread at a time, so only
    calls from the main thread limit (a call from another thread, a Dask
    worker's, runs ``fn`` as it is)."""

    def __init__(self, fn):
        self.fn = fn
        self.controller = None

    def __call__(self, chunk):
        if self.controller is None:
            self.controller = False
            if threading.current_thread() is threading.main_thread():
                try:
                    from threadpoolctl import ThreadpoolController
                except ImportError:
                    pass
                else:
                    self.controller = ThreadpoolController()
        if not self.controller:
            return self.fn(chunk)
        with self.controller.limit(limits=1):
            return self.fn(chunk)

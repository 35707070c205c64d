"""scikit-learn conventions: :class:`PatchExtractor`, a drop-in for
``sklearn.feature_extraction.image.PatchExtractor`` that extracts with
:class:`ndarray_patches.Patches` (the patch matrix filled in parallel, in
Rust) and adds ``step=``.

>>> import numpy as np
>>> from ndarray_patches.sklearn import PatchExtractor
>>> faces = np.arange(2 * 6 * 5, dtype=np.uint8).reshape(2, 6, 5)   # 2 images
>>> P = PatchExtractor(patch_size=(3, 3)).fit_transform(faces)
>>> P.shape, P.dtype                     # scikit-learn's: every window, float64
((24, 3, 3), dtype('float64'))
>>> P[1]                                 # image 0, the window at (0, 1)
array([[ 1.,  2.,  3.],
       [ 6.,  7.,  8.],
       [11., 12., 13.]])
>>> PatchExtractor(patch_size=(3, 3), step=2).transform(faces).shape
(8, 3, 3)
>>> rgb = np.zeros((1, 32, 32, 3), np.float32)                     # channels last
>>> PatchExtractor(patch_size=(8, 8), max_patches=10, random_state=0).transform(rgb).shape
(10, 8, 8, 3)

scikit-learn is not required: without it the class has the same methods
(``fit``, ``transform``, ``fit_transform``, ``get_params``, ``set_params``)
but is no ``BaseEstimator``.
"""

from __future__ import annotations

import numbers
from typing import Any, Dict, Optional, Tuple

import numpy as np

from . import Patches, PatchError

try:  # Optional: the estimator API when scikit-learn is there.
    from sklearn.base import BaseEstimator as _BaseEstimator
    from sklearn.base import TransformerMixin as _TransformerMixin

    _BASES: Tuple[type, ...] = (_TransformerMixin, _BaseEstimator)
except ImportError:  # pragma: no cover - depends on the environment

    class _Params:
        """``get_params`` / ``set_params`` / ``fit_transform`` as
        scikit-learn's ``BaseEstimator`` and ``TransformerMixin`` give them."""

        _PARAMS: Tuple[str, ...] = ()

        def get_params(self, deep: bool = True) -> Dict[str, Any]:
            return {k: getattr(self, k) for k in self._PARAMS}

        def set_params(self, **params: Any):
            for k, v in params.items():
                if k not in self._PARAMS:
                    raise ValueError(
                        f"Invalid parameter {k!r} for estimator {type(self).__name__}: "
                        f"valid parameters are {list(self._PARAMS)}"
                    )
                setattr(self, k, v)
            return self

        def fit_transform(self, X, y=None, **fit_params: Any):
            return self.fit(X, y, **fit_params).transform(X)

        def __repr__(self) -> str:
            args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._PARAMS)
            return f"{type(self).__name__}({args})"

    _BASES = (_Params,)

__all__ = ["PatchExtractor"]

_WHERE = "PatchExtractor"


def _is_int(v) -> bool:
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


def _pair(value, name: str) -> Tuple[int, int]:
    """``(height, width)`` from a pair of ints (``step`` also takes one int)."""
    pair = (value, value) if name == "step" and _is_int(value) else value
    if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(_is_int(v) for v in pair):
        want = "an int or a pair of ints" if name == "step" else "a tuple of two ints (height, width)"
        raise PatchError(f"{name}={value!r} for {_WHERE}: must be {want}")
    out = (int(pair[0]), int(pair[1]))
    if min(out) < 1:
        raise PatchError(f"{name}={value!r} for {_WHERE}: every entry must be at least 1")
    return out


def _max_patches(value):
    if value is None:
        return None
    if _is_int(value):
        if value >= 1:
            return int(value)
    elif isinstance(value, (numbers.Real, np.floating)) and not isinstance(value, (bool, np.bool_)):
        if 0 < value < 1:
            return float(value)
    raise PatchError(
        f"max_patches={value!r} for {_WHERE}: must be None, an int >= 1 (patches per image) "
        "or a float in (0, 1) (a fraction of each image's windows)"
    )


def _random_state(random_state):
    """The generator ``random_state`` means, as scikit-learn's
    ``check_random_state`` reads it (and a numpy ``Generator``)."""
    if random_state is None or random_state is np.random:
        return np.random.mtrand._rand
    if _is_int(random_state):
        return np.random.RandomState(int(random_state))
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        return random_state
    raise PatchError(
        f"random_state={random_state!r} for {_WHERE}: must be None, an int, a "
        "numpy.random.RandomState or a numpy.random.Generator"
    )


def _seeds(random_state, n: int) -> np.ndarray:
    """``n`` seeds for :meth:`Patches.sample`, one per image."""
    rs = _random_state(random_state)
    top = np.iinfo(np.int64).max
    if isinstance(rs, np.random.Generator):
        return rs.integers(0, top, size=n, dtype=np.int64)
    return rs.randint(0, top, size=n, dtype=np.int64)


class PatchExtractor(*_BASES):  # type: ignore[misc]
    """Extracts patches from a collection of images: scikit-learn's
    ``PatchExtractor`` (same arguments, methods and output) on
    :class:`ndarray_patches.Patches`, plus ``step``.

    ``patch_size``: ``(height, width)``; ``None`` takes scikit-learn's
    default ``(image_height // 10, image_width // 10)``. ``step``: the
    distance between neighbouring window origins, one int or ``(down,
    across)``; 1 (every window) by default. ``max_patches``: ``None`` for
    every window; an int ``n`` for ``n`` windows per image (all of them,
    in a random order, if the image has no more); a float in (0, 1) for
    ``int(max_patches * windows)`` per image. ``random_state``: ``None``,
    an int, a ``numpy.random.RandomState`` (or ``Generator``) that seeds the
    draw.

    ``transform(X)`` takes ``X`` of shape ``(n_samples, height, width)`` or
    ``(n_samples, height, width, n_channels)`` (any dtype numpy converts to
    float64, NaN and infinity refused as scikit-learn does) and returns a
    float64 array ``(n_patches, ph, pw)`` or ``(n_patches, ph, pw,
    n_channels)`` (a single channel is dropped), the patches of image 0 in
    row order over the grid of windows, then image 1, ...

    With ``max_patches=None`` the output is scikit-learn's exactly (order,
    shape, dtype) for ``step=1``. With ``max_patches`` the draw is this
    package's seeded :meth:`Patches.sample` (distinct windows per image,
    seeds taken from ``random_state``), not scikit-learn's (which draws
    window positions with replacement from ``random_state``): the same count
    and shape, the same ``random_state`` gives the same patches, but not
    scikit-learn's patches.

    Stateless: ``fit`` only checks the parameters (``transform`` checks them
    too). In a ``Pipeline``, flatten before a model that wants 2-D input, as
    with scikit-learn's:

    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from ndarray_patches.sklearn import PatchExtractor
    >>> imgs = np.random.default_rng(0).random((3, 20, 20))
    >>> pipe = make_pipeline(
    ...     PatchExtractor(patch_size=(5, 5), step=(1, 2)),
    ...     FunctionTransformer(lambda P: P.reshape(len(P), -1)),
    ...     PCA(n_components=4),
    ... )
    >>> pipe.fit_transform(imgs).shape               # 3 images x 16 x 8 windows
    (384, 4)
    >>> PatchExtractor(patch_size=(50, 5)).transform(imgs)
    Traceback (most recent call last):
    ...
    ndarray_patches.PatchError: patch_size=(50, 5) (step=1) for PatchExtractor does not fit X of shape (3, 20, 20): ...
    """

    _PARAMS = ("patch_size", "max_patches", "random_state", "step")

    def __init__(
        self,
        *,
        patch_size: Optional[Tuple[int, int]] = None,
        max_patches=None,
        random_state=None,
        step=1,
    ) -> None:
        self.patch_size = patch_size
        self.max_patches = max_patches
        self.random_state = random_state
        self.step = step

    def _checked(self):
        ps = None if self.patch_size is None else _pair(self.patch_size, "patch_size")
        if self.max_patches is not None:
            _random_state(self.random_state)
        return ps, _pair(self.step, "step"), _max_patches(self.max_patches)

    def fit(self, X, y=None):
        """Checks the parameters; ``X`` and ``y`` are not used. Returns
        ``self``."""
        self._checked()
        return self

    def transform(self, X) -> np.ndarray:
        """The patches of every image of ``X`` (``(n_samples, height,
        width[, n_channels])``): float64, ``(n_patches, ph, pw[,
        n_channels])``."""
        ps, step, max_patches = self._checked()
        X = _images(X)
        if ps is None:  # scikit-learn's default
            ps = (X.shape[1] // 10, X.shape[2] // 10)
            if min(ps) < 1:
                raise PatchError(
                    f"patch_size=None for {_WHERE} means (height // 10, width // 10) = {ps} for "
                    f"X of shape {X.shape}, an empty patch: give patch_size"
                )
        shape = X.shape
        # (n, height, width, channels), as scikit-learn reshapes it: a view
        # for 3 or 4 axes.
        X = X.reshape(X.shape[:3] + (int(np.prod(X.shape[3:], dtype=np.int64)),))
        try:  # the windows over (height, width); channels whole in each patch
            p = Patches(X, ps, step=step, copy=False, axis=(1, 2))
        except PatchError as e:
            raise PatchError(
                f"patch_size={self.patch_size!r} (step={self.step!r}) for {_WHERE} "
                f"does not fit X of shape {shape}: {e}"
            ) from None
        if max_patches is None:
            rows = p.to_matrix(np.float64)
        else:
            rows = _sample(X, ps, step, max_patches, _seeds(self.random_state, len(X)))
        out = rows.reshape((len(rows),) + p.patch_shape)  # (n, ph, pw, channels)
        # scikit-learn drops a single channel.
        return out.reshape(out.shape[:3]) if out.shape[3] == 1 else out

    def _more_tags(self) -> Dict[str, Any]:  # scikit-learn < 1.6
        return {"X_types": ["3darray"], "requires_fit": False}

    def __sklearn_tags__(self):  # scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.requires_fit = False
        return tags


def _images(X) -> np.ndarray:
    """``X`` as an array of images, as scikit-learn's ``check_array`` takes
    it (numeric, finite, at least one sample)."""
    a = np.asarray(X)
    if a.dtype.kind == "O":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise PatchError(f"X for {_WHERE}.transform is not numeric: {e}") from None
    if a.dtype.kind == "c":
        raise PatchError(f"X for {_WHERE}.transform is complex ({a.dtype}): complex data is not supported")
    if a.dtype.kind not in "biuf":
        raise PatchError(f"X for {_WHERE}.transform has dtype {a.dtype}, which is not numeric")
    if a.dtype.kind == "f" and a.dtype.itemsize < 4:
        a = a.astype(np.float32)  # float16: exact in float32, which Patches reads
    elif not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    if a.ndim < 3:
        raise PatchError(
            f"X for {_WHERE}.transform has shape {a.shape}: it must be (n_samples, height, "
            "width) or (n_samples, height, width, n_channels); one image of shape (height, "
            "width) is X[None]"
        )
    if a.shape[0] < 1:
        raise PatchError(f"X for {_WHERE}.transform has shape {a.shape}: it has no image")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise PatchError(f"X for {_WHERE}.transform contains NaN or infinity")
    return a


def _sample(X, ps, step, max_patches, seeds) -> np.ndarray:
    """``max_patches`` windows of each image, float64 rows, image after
    image."""
    parts = []
    for image, seed in zip(X, seeds):
        p = Patches(image, ps, step=step, copy=False, axis=(0, 1))
        n = len(p)
        k = min(max_patches, n) if isinstance(max_patches, int) else int(max_patches * n)
        parts.append(p.sample(k, seed=int(seed))[1])
    return np.concatenate(parts).astype(np.float64, copy=False)

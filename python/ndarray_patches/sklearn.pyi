"""Type stubs of ndarray_patches.sklearn.

At run time ``PatchExtractor`` also derives from scikit-learn's
``TransformerMixin`` and ``BaseEstimator`` when scikit-learn is installed;
the stub lists the methods it has either way (scikit-learn has no stubs)."""

from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

_RandomState = Union[None, int, np.random.RandomState, np.random.Generator]

class PatchExtractor:
    patch_size: Optional[Tuple[int, int]]
    max_patches: Union[None, int, float]
    random_state: _RandomState
    step: Union[int, Tuple[int, int]]
    def __init__(
        self,
        *,
        patch_size: Optional[Tuple[int, int]] = None,
        max_patches: Union[None, int, float] = None,
        random_state: _RandomState = None,
        step: Union[int, Tuple[int, int]] = 1,
    ) -> None: ...
    def fit(self, X: npt.ArrayLike, y: Any = None) -> PatchExtractor: ...
    def transform(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]: ...
    def fit_transform(self, X: npt.ArrayLike, y: Any = None, **fit_params: Any) -> npt.NDArray[np.float64]: ...
    def get_params(self, deep: bool = True) -> Dict[str, Any]: ...
    def set_params(self, **params: Any) -> PatchExtractor: ...

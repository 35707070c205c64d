"""Type stubs of the extension module (private: use ``ndarray_patches``)."""

from typing import List, Optional, Tuple, final

import numpy as np
import numpy.typing as npt

class PatchError(ValueError): ...
class PatchIndexError(PatchError, IndexError): ...
class PatchOverflowError(PatchError, OverflowError): ...
class PatchMemoryError(PatchError, MemoryError): ...

def check_strided(
    a: np.ndarray, patch: List[int], step: List[int], dilation: List[int], edge: str
) -> None: ...
def shape(
    a: np.ndarray, patch: List[int], step: List[int], dilation: List[int], edge: str
) -> Tuple[List[int], int]: ...
def write_rows(
    a: np.ndarray,
    patch: List[int],
    step: List[int],
    dilation: List[int],
    edge: str,
    start: int,
    out: np.ndarray,
) -> None: ...
def default_chunk_rows(
    a: np.ndarray,
    patch: List[int],
    step: List[int],
    dilation: List[int],
    edge: str,
    dtype: str,
) -> int: ...
def positions(
    a: np.ndarray,
    patch: List[int],
    step: List[int],
    dilation: List[int],
    edge: str,
    start: int,
    stop: int,
) -> npt.NDArray[np.int64]: ...
def row_of(
    a: np.ndarray,
    patch: List[int],
    step: List[int],
    dilation: List[int],
    edge: str,
    origin: List[int],
) -> Optional[int]: ...
def shuffled_order(
    a: np.ndarray,
    patch: List[int],
    step: List[int],
    dilation: List[int],
    edge: str,
    start: int,
    stop: int,
    seed: int,
) -> npt.NDArray[np.int64]: ...
def select(
    a: np.ndarray,
    patch: List[int],
    step: List[int],
    dilation: List[int],
    edge: str,
    indices: npt.NDArray[np.int64],
    dtype: str,
) -> np.ndarray: ...
def sample(
    a: np.ndarray,
    patch: List[int],
    step: List[int],
    dilation: List[int],
    edge: str,
    n: int,
    seed: int,
    replace: bool,
    weights: Optional[npt.NDArray[np.float64]],
) -> Tuple[npt.NDArray[np.int64], np.ndarray]: ...
def product(
    a: np.ndarray,
    patch: List[int],
    step: List[int],
    dilation: List[int],
    edge: str,
    op: str,
    operand: np.ndarray,
    dtype: str,
) -> np.ndarray: ...
def stat(
    a: np.ndarray,
    patch: List[int],
    step: List[int],
    dilation: List[int],
    edge: str,
    op: str,
    dtype: str,
) -> np.ndarray: ...
def padded(
    a: np.ndarray,
    patch: List[int],
    step: List[int],
    dilation: List[int],
    edge: str,
    mode: str,
    cval: np.ndarray,
) -> np.ndarray: ...
def reconstruct(rows: np.ndarray, shape: List[int], patch: List[int]) -> np.ndarray: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...

@final
class _Fold:
    def __new__(
        cls,
        shape: List[int],
        patch: List[int],
        step: List[int],
        dilation: List[int],
        edge: str,
    ) -> _Fold: ...
    def dims(self) -> Tuple[int, int]: ...
    def add_rows(self, start: int, rows: np.ndarray) -> None: ...
    def finish(self, mean: bool) -> npt.NDArray[np.float64]: ...


import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view


def reference(a, patch, step, dilation):
    """The windows by numpy alone: grid + patch shaped."""
    ext = tuple(d * (p - 1) + 1 for p, d in zip(patch, dilation))
    v = sliding_window_view(a, ext)
    return v[tuple(slice(None, None, s) for s in step) + tuple(slice(None, None, d) for d in dilation)]


def reference_matrix(a, patch, step, dilation):
    v = reference(a, patch, step, dilation)
    n = int(np.prod(v.shape[: a.ndim]))
    return np.ascontiguousarray(v).reshape(n, int(np.prod(patch)))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)

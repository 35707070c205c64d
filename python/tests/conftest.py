import contextlib

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


# Random sources and geometries shared by test_parity.py and test_shift.py.


def random_array(rng, shape, dtype):
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal(shape) * 1000).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


def layouts(rng, shape, dtype):
    """The same logical shape in several memory layouts."""
    base = random_array(rng, shape, dtype)
    yield "C", base
    yield "F", np.asfortranarray(base)
    big = random_array(rng, tuple(2 * n + 1 for n in shape), dtype)
    yield "sliced", big[tuple(slice(1, 1 + 2 * n, 2) for n in shape)]
    yield "reversed", big[tuple(slice(2 * n, 0, -2) for n in shape)]
    yield "transposed", np.ascontiguousarray(base.T).T
    # A broadcast axis (stride 0) on axis 0.
    row = random_array(rng, (1,) + shape[1:], dtype)
    yield "broadcast", np.broadcast_to(row, shape)


def random_geometry(rng, shape, max_step=3):
    """Patch, step and dilation that fit ``shape``; steps up to ``max_step``
    (larger ones often leave a remainder: ``edge="shift"``)."""
    patch, step, dil = [], [], []
    for n in shape:
        d = int(rng.integers(1, 3))
        p = int(rng.integers(1, max(2, (n - 1) // d + 2)))
        while d * (p - 1) + 1 > n:
            p -= 1
        patch.append(max(p, 1))
        step.append(int(rng.integers(1, max_step + 1)))
        dil.append(d)
    return tuple(patch), tuple(step), tuple(dil)


@contextlib.contextmanager
def local_cluster():
    """A distributed client on two worker processes (one thread each, 1 GiB
    each, nannies that restart a worker that dies)."""
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        memory_limit="1GiB",
        dashboard_address=None,
    )
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()

"""A Dask worker dies in the middle of `ndarray_patches.dask.gram`,
`patch_dot` and `map_chunks` (issue 20, item 6): distributed reschedules its tasks on a
restarted worker, and the results equal the in-process crate's."""

import os
import threading
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import ndarray_patches as nd  # noqa: E402
import ndarray_patches.dask as ndd  # noqa: E402
from conftest import local_cluster  # noqa: E402

DELAY = 0.05  # seconds per input block: the computation lasts a few seconds


def slow_block(b):
    time.sleep(DELAY)
    return b


@pytest.fixture()
def cluster():
    with local_cluster() as c:  # its nannies restart a worker that dies
        yield c


def kill_one_worker_during(client, compute, after=1.0):
    """Runs `compute()` while a timer kills one worker process `after`
    seconds in; returns (result, the killed worker's address)."""
    victim = sorted(client.scheduler_info()["workers"])[0]
    killed = threading.Event()

    def kill():
        try:
            client.run(os._exit, 1, workers=[victim])
        except Exception:  # noqa: BLE001 - the worker dies under the call
            pass
        killed.set()

    t = threading.Timer(after, kill)
    t.start()
    t0 = time.perf_counter()
    try:
        result = compute()
    finally:
        t.join()
    elapsed = time.perf_counter() - t0
    assert killed.is_set()
    assert elapsed > after, f"the computation ended ({elapsed:.2f} s) before the kill"
    return result, victim


def slow_input(img, chunks):
    return da.from_array(img, chunks=chunks).map_blocks(slow_block, dtype=img.dtype)


def test_gram_survives_a_lost_worker(cluster):
    img = np.random.default_rng(0).random((256, 256))
    x = slow_input(img, 32)  # 64 blocks, about 1.6 s on two workers
    G, victim = kill_one_worker_during(cluster, lambda: ndd.gram(x, (5, 5), step=(1, 2)))
    np.testing.assert_allclose(G, nd.Patches(img, (5, 5), step=(1, 2)).gram(), rtol=1e-12)
    assert victim not in cluster.scheduler_info()["workers"], "no worker died"


def test_patch_dot_survives_a_lost_worker(cluster):
    img = np.random.default_rng(1).random((256, 256)).astype(np.float32)
    x = slow_input(img, 32)
    w = np.random.default_rng(2).random(49).astype(np.float32)
    s, victim = kill_one_worker_during(
        cluster, lambda: ndd.patch_dot(x, (7, 7), w, edge="shift", step=3).compute()
    )
    p = nd.Patches(img, (7, 7), step=3, edge="shift")
    np.testing.assert_allclose(s, p.dot(w).reshape(p.grid), rtol=1e-5)
    assert victim not in cluster.scheduler_info()["workers"], "no worker died"


def test_map_chunks_survives_a_lost_worker(cluster):
    img = np.random.default_rng(3).random((256, 256)).astype(np.float32)
    x = slow_input(img, 32)
    W = np.random.default_rng(4).random((25, 2)).astype(np.float32)

    def model(X):
        return np.tanh(X @ W)

    y, victim = kill_one_worker_during(
        cluster, lambda: ndd.map_chunks(x, (5, 5), model, step=2).compute()
    )
    want = nd.Patches(img, (5, 5), step=2).map_chunks(model)
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)
    assert victim not in cluster.scheduler_info()["workers"], "no worker died"

"""map_chunks against the best hand-written numpy band loop: a model on every
15x15 window of a 2048x2048 image (issue 19's "Done when").

    python python/bench_map_chunks.py [size] [--rows N]

Prints seconds per method for a RandomForest (predict_proba) and a linear
model (decision_function), and the ratio numpy / map_chunks.
"""

import os
import sys
import time

# This file sits beside the package's sources (python/ndarray_patches, with
# no compiled _core): import the installed package, not those.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

import ndarray_patches as nd  # noqa: E402

size = int(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else 2048
rows = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else None
K = 15
rng = np.random.default_rng(0)
img = rng.random((size, size)).astype(np.float32)
p = nd.Patches(img, K)
_, Xs = p.sample(5000, seed=1)
y = Xs[:, K * K // 2] > 0.5
models = {
    "RandomForest.predict_proba": RandomForestClassifier(n_estimators=20, max_depth=8, n_jobs=1, random_state=0).fit(Xs, y).predict_proba,
    "LogisticRegression.decision_function": LogisticRegression(max_iter=200).fit(Xs, y).decision_function,
}


def band_loop(f, band):
    """numpy's best bounded loop: a band of grid rows at a time, copied."""
    g = size - K + 1
    out = None
    for r0 in range(0, g, band):
        r1 = min(r0 + band, g)
        X = np.ascontiguousarray(sliding_window_view(img[r0 : r1 + K - 1], (K, K))).reshape(-1, K * K)
        res = f(X)
        if out is None:
            out = np.empty((g * g,) + res.shape[1:], res.dtype)
        out[r0 * g : r1 * g] = res
    return out.reshape((g, g) + out.shape[1:])


for name, f in models.items():
    best = {}
    for band in (8, 16, 32, 64):
        t = time.perf_counter()
        ref = band_loop(f, band)
        best[band] = time.perf_counter() - t
    band = min(best, key=best.get)
    t = time.perf_counter()
    got = p.map_chunks(f, rows=rows)
    tm = time.perf_counter() - t
    assert got.shape == ref.shape and np.allclose(got, ref, rtol=1e-4, atol=1e-5)
    print(
        f"{name}: numpy band loop best {best[band]:.2f} s (band {band} grid rows; "
        + ", ".join(f"{b}: {s:.2f}" for b, s in best.items())
        + f"), map_chunks {tm:.2f} s: {best[band] / tm:.2f}x"
    )

"""The default chunk size for Python callees, measured (issue 19 item 3).

    python python/bench_chunk_size.py [--quick]

For chunk sizes from 0.5 to 64 MiB of float32 rows, one run, interleaved
(best of --repeat runs each):

- stream: every W5 window (4096x4096 float32, 39x39, step 8) through
  ``Patches.chunks()`` (copy=True, the default), the consumer doing nothing;
- sum: the same with ``chunk.sum(axis=1)`` per chunk (a light numpy callee);
- forest: ``map_chunks(RandomForestClassifier.predict_proba)`` on every
  15x15 window of a 1024x1024 image (scikit-learn's per-call overhead);
- linear: ``map_chunks(LogisticRegression.decision_function)`` on the same.

Prints seconds per size and, per workload, each size's time over the best
size's, so the default can be read off: the size within a few percent of the
best for every workload.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]

import numpy as np  # noqa: E402

import ndarray_patches as nd  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--quick", action="store_true")
ap.add_argument("--repeat", type=int, default=3)
args = ap.parse_args()

MIB = [0.5, 1, 2, 4, 8, 16, 32, 64]
rng = np.random.default_rng(0)
w5 = rng.random((4096, 4096), dtype=np.float32)
p5 = nd.Patches(w5, 39, step=8)
small = rng.random((512 if args.quick else 1024,) * 2, dtype=np.float32)
p15 = nd.Patches(small, 15)
workloads = {
    "stream": lambda rows: sum(c.shape[0] for _, c in p5.chunks(rows=rows)),
    "sum": lambda rows: sum(float(c.sum(axis=1)[0]) for _, c in p5.chunks(rows=rows)),
}
try:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    _, Xs = p15.sample(5000, seed=1)
    y = Xs[:, 112] > 0.5
    forest = RandomForestClassifier(n_estimators=20, max_depth=8, n_jobs=1, random_state=0).fit(Xs, y)
    linear = LogisticRegression(max_iter=200).fit(Xs, y)
    workloads["forest"] = lambda rows: p15.map_chunks(forest.predict_proba, rows=rows)
    workloads["linear"] = lambda rows: p15.map_chunks(linear.decision_function, rows=rows)
except ImportError:
    print("scikit-learn not installed: stream and sum only")

rows_of = {
    name: {m: max(1, int(m * 2**20) // (4 * (p5 if name in ("stream", "sum") else p15).patch_len)) for m in MIB}
    for name in workloads
}
best = {name: {m: float("inf") for m in MIB} for name in workloads}
for _ in range(args.repeat):
    for m in MIB:
        for name, f in workloads.items():
            t = time.perf_counter()
            f(rows_of[name][m])
            best[name][m] = min(best[name][m], time.perf_counter() - t)

print(f"{'MiB':>6} " + " ".join(f"{n:>16}" for n in workloads))
for m in MIB:
    cells = []
    for name in workloads:
        b = min(best[name].values())
        cells.append(f"{best[name][m]:7.3f} s {best[name][m] / b:5.2f}x")
    print(f"{m:>6} " + " ".join(f"{c:>16}" for c in cells))
print("rows per chunk at each size:", {n: rows_of[n] for n in workloads})

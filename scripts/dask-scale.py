#!/usr/bin/env python3
"""The Dask scale check of issue 20 (a script, not part of the test suite).

A 16384x16384 float32 image (1 GiB) is written to a zarr store on disk,
read back with ``dask.array.from_zarr`` (2048x2048 chunks), and two worker
processes with a 512 MiB memory limit each compute ``gram``,
``covariance``, ``patch_dot`` and ``map_chunks`` (a linear model with
three outputs on every 15x15 window) of its windows with
``ndarray_patches.dask``. Prints each call's time, each worker's peak RSS
(which must stay under its limit, and no worker may be restarted), and
checks the results against the in-process crate on the whole image (gram,
covariance) and on crops (patch_dot, map_chunks).

    target/py-venv/bin/pip install zarr     # once
    target/py-venv/bin/python scripts/dask-scale.py [--side 16384] [--dir /tmp]

About 5 minutes here (2 cores); needs about 2.5 GiB of disk and of memory
for the in-process reference.
"""

import argparse
import resource
import shutil
import sys
import tempfile
import time

import numpy as np


def worker_peak_mib():
    # Linux: ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=16384)
    ap.add_argument("--chunk", type=int, default=2048)
    ap.add_argument("--dir", default=None, help="where the zarr store goes (default: a temp dir)")
    ap.add_argument("--limit", default="512MiB")
    args = ap.parse_args()

    import dask.array as da
    import distributed
    import zarr

    import ndarray_patches as nd
    import ndarray_patches.dask as ndd

    n, c = args.side, args.chunk
    where = tempfile.mkdtemp(prefix="ndp-zarr-", dir=args.dir)
    store = f"{where}/image.zarr"
    try:
        t0 = time.perf_counter()
        z = zarr.open_array(store, mode="w", shape=(n, n), chunks=(c, c), dtype="f4")
        rng = np.random.default_rng(0)
        for i in range(0, n, c):  # a band at a time: the writer never holds the image
            band = rng.random((min(c, n - i), n), dtype=np.float32)
            band += np.linspace(0, 4, n, dtype=np.float32)  # some structure
            z[i : i + c] = band
        print(f"zarr store  {n}x{n} float32 ({n * n * 4 / 2**30:.2f} GiB) written in "
              f"{time.perf_counter() - t0:.1f} s to {store}")

        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True,
            memory_limit=args.limit, dashboard_address=None,
        )
        client = distributed.Client(cluster)
        workers0 = set(client.scheduler_info()["workers"])
        x = da.from_zarr(store)
        print(f"cluster     2 workers x 1 thread, memory_limit {args.limit} each; "
              f"dask chunks {x.chunksize}")

        w = np.random.default_rng(1).standard_normal(15 * 15).astype(np.float32)
        W3 = np.random.default_rng(2).standard_normal((15 * 15, 3)).astype(np.float32)

        def model(X):  # a linear model with three outputs, as a user's fn
            return np.tanh(X @ W3)

        results, times = {}, {}
        calls = {
            "gram 16x16": lambda: ndd.gram(x, (16, 16)),
            "covariance 16x16": lambda: ndd.covariance(x, (16, 16)),
            "patch_dot 15x15": lambda: ndd.patch_dot(x, (15, 15), w).to_zarr(
                f"{where}/dot.zarr", overwrite=True, return_stored=False, compute=True
            ),
            "map_chunks 15x15": lambda: ndd.map_chunks(x, (15, 15), model).to_zarr(
                f"{where}/model.zarr", overwrite=True, return_stored=False, compute=True
            ),
        }
        for name, f in calls.items():
            t0 = time.perf_counter()
            results[name] = f()
            times[name] = time.perf_counter() - t0
            print(f"{name:<18}{times[name]:8.1f} s")
        peaks = client.run(worker_peak_mib)
        restarted = workers0 != set(client.scheduler_info()["workers"])
        client.close()
        cluster.close()

        # The references, in this process (not limited).
        img = zarr.open_array(store, mode="r")[:]
        p = nd.Patches(img, (16, 16))
        ok = True
        for name, ref in (("gram 16x16", p.gram()), ("covariance 16x16", p.covariance())):
            err = float(np.abs(results[name] - ref).max() / np.abs(ref).max())
            ok &= err < 1e-12
            print(f"{name:<18}relative error against the in-process crate {err:.1e}")
        dot = zarr.open_array(f"{where}/dot.zarr", mode="r")
        for (a, b) in ((0, 0), (n // 2 - 700, n // 3), (n - 1200, n - 1200)):
            crop = img[a : a + 1200, b : b + 1200]
            q = nd.Patches(crop, (15, 15))
            want = q.dot(w).reshape(q.grid)
            got = dot[a : a + q.grid[0], b : b + q.grid[1]]
            err = float(np.abs(got - want).max() / np.abs(want).max())
            ok &= err < 1e-5
            print(f"patch_dot crop at ({a}, {b}): relative error {err:.1e}")
            want = q.map_chunks(model)
            got = zarr.open_array(f"{where}/model.zarr", mode="r")[
                a : a + q.grid[0], b : b + q.grid[1]
            ]
            err = float(np.abs(got - want).max())
            ok &= err < 1e-5
            print(f"map_chunks crop at ({a}, {b}): largest difference {err:.1e}")
        limit_mib = float(args.limit.rstrip("MiB")) if args.limit.endswith("MiB") else None
        for addr, mib in sorted(peaks.items()):
            print(f"worker {addr}: peak RSS {mib:.0f} MiB (limit {args.limit})")
            if limit_mib is not None:
                ok &= mib < limit_mib
        print(f"workers restarted: {restarted}")
        ok &= not restarted
        print("OK" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

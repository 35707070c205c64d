"""Measures the Python package's targets in one run (not part of the tests).

    python python/bench.py            # everything (about 2-4 minutes)
    python python/bench.py --quick    # skip the Dask run

1. to_matrix vs numpy's ascontiguousarray(sliding_window_view(...)).reshape:
   W2 (1024x1024 float32, 16x16) and W5 (4096x4096 float32, 39x39, step 8).
2. Streaming all of W5 through Patches.chunks() (the consumer does nothing)
   vs the best pure-numpy bounded-memory loop (strips of grid rows through
   sliding_window_view + ascontiguousarray), each in a fresh process for its
   peak RSS.
3. ndarray_patches.dask.gram on an 8192x8192 float32 dask array in 1024x1024
   blocks, 9x9 windows (a 21 GB virtual matrix), on a 2-worker LocalCluster
   with memory_limit 1 GiB: time and the workers' peak RSS.

Timings are the best of a few runs, taken alternately.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

# This file sits beside the package's sources (python/ndarray_patches, with
# no compiled _core): import the installed package, not those.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

import ndarray_patches as nd  # noqa: E402


def peak_rss_mib():
    """This process's peak RSS: VmHWM (ru_maxrss would include the peak of
    the parent that forked it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_of(fns, repeat):
    """Best wall time of each function, runs interleaved."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, f in enumerate(fns):
            t = time.perf_counter()
            r = f()
            best[i] = min(best[i], time.perf_counter() - t)
            del r
    return best


def numpy_matrix(img, patch, step):
    v = sliding_window_view(img, patch)[::step, ::step]
    return np.ascontiguousarray(v).reshape(-1, patch[0] * patch[1])


def bench_to_matrix(name, shape, patch, step, repeat):
    img = np.random.default_rng(0).random(shape, dtype=np.float32)
    p = nd.Patches(img, patch, step=step)
    a, b = numpy_matrix(img, patch, step), p.to_matrix()
    assert np.array_equal(a, b)
    del a, b
    t_nd, t_np = best_of([p.to_matrix, lambda: numpy_matrix(img, patch, step)], repeat)
    # The same copies into a buffer that exists already (no first touch of
    # fresh memory): the copy loops alone.
    out = np.empty((len(p), p.patch_len), np.float32)
    view4 = sliding_window_view(img, patch)[::step, ::step]
    out4 = out.reshape(view4.shape)
    r_nd, r_np = best_of([lambda: p.write_rows(0, out), lambda: np.copyto(out4, view4)], repeat)
    out = out4 = None  # free the buffer before the fresh-matrix runs
    gb = p.matrix_bytes() / 1e9
    print(
        f"{name}: into a reused buffer: write_rows {r_nd * 1e3:7.1f} ms ({gb / r_nd:5.2f} GB/s)   "
        f"np.copyto {r_np * 1e3:7.1f} ms ({gb / r_np:5.2f} GB/s)   ratio {r_np / r_nd:4.2f}x"
    )
    print(
        f"{name}: to_matrix {t_nd * 1e3:7.1f} ms ({gb / t_nd:5.2f} GB/s)   numpy "
        f"{t_np * 1e3:7.1f} ms ({gb / t_np:5.2f} GB/s)   ratio {t_np / t_nd:4.2f}x   "
        f"[{p.matrix_bytes() / 2**20:,.0f} MiB matrix]"
    )
    return dict(
        workload=name,
        ndarray_patches_s=t_nd,
        numpy_s=t_np,
        ratio=t_np / t_nd,
        reused_buffer_ratio=r_np / r_nd,
    )


# -- streaming W5, each variant in its own process for its peak RSS ----------

W5 = dict(shape=(4096, 4096), patch=(39, 39), step=8)


def stream_child(kind, strip_rows):
    img = np.random.default_rng(0).random(W5["shape"], dtype=np.float32)
    patch, step = W5["patch"], W5["step"]
    base = peak_rss_mib()
    rows = 0
    t = time.perf_counter()
    if kind in ("chunks", "chunks-nocopy"):
        p = nd.Patches(img, patch, step=step, copy=(kind == "chunks"))
        for start, chunk in p.chunks():
            rows += chunk.shape[0]
    else:
        gh = (img.shape[0] - patch[0]) // step + 1
        for g0 in range(0, gh, strip_rows):
            g1 = min(g0 + strip_rows, gh)
            strip = img[g0 * step : (g1 - 1) * step + patch[0]]
            m = numpy_matrix(strip, patch, step)
            rows += m.shape[0]
    dt = time.perf_counter() - t
    print(json.dumps(dict(seconds=dt, rows=rows, base_mib=base, peak_mib=peak_rss_mib())))


def run_child(kind, strip_rows=0):
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(strip_rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_stream(repeat):
    runs = {"chunks": [], "chunks-nocopy": []}
    strips = [1, 2, 4, 8]
    for s in strips:
        runs[f"numpy strips of {s} grid rows"] = []
    for _ in range(repeat):
        runs["chunks"].append(run_child("chunks"))
        runs["chunks-nocopy"].append(run_child("chunks-nocopy"))
        for s in strips:
            runs[f"numpy strips of {s} grid rows"].append(run_child("numpy", s))
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in runs.items()}
    image_mib = W5["shape"][0] * W5["shape"][1] * 4 / 2**20
    for k, r in best.items():
        print(
            f"W5 stream, {k:30s}: {r['seconds']:6.3f} s  peak RSS {r['peak_mib']:6.0f} MiB "
            f"(+{r['peak_mib'] - r['base_mib']:.0f} MiB over the process with its "
            f"{image_mib:.0f} MiB image)"
        )
    np_best = min((r for k, r in best.items() if k.startswith("numpy")), key=lambda r: r["seconds"])
    ours = best["chunks"]
    nocopy = best["chunks-nocopy"]
    print(
        f"W5 stream: chunks {np_best['seconds'] / ours['seconds']:.2f}x the speed of the best numpy "
        f"loop (copy=False: {np_best['seconds'] / nocopy['seconds']:.2f}x)"
    )
    return dict(
        chunks=ours,
        chunks_nocopy=nocopy,
        numpy_best=np_best,
        ratio=np_best["seconds"] / ours["seconds"],
        ratio_nocopy=np_best["seconds"] / nocopy["seconds"],
    )


# -- Dask ------------------------------------------------------------------


def bench_dask():
    import dask.array as da
    from distributed import Client, LocalCluster

    import ndarray_patches.dask as ndd

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB", dashboard_address=None
    ) as cluster, Client(cluster) as client:
        x = da.random.RandomState(0).random_sample((8192, 8192), chunks=1024).astype(np.float32)
        virtual = (8192 - 8) ** 2 * 81 * 4
        t = time.perf_counter()
        G = ndd.gram(x, (9, 9))
        dt = time.perf_counter() - t
        peaks = client.run(peak_rss_mib)
        status = {w: s["status"] if isinstance(s, dict) else s for w, s in client.run(lambda: "running").items()}
        # a spot check against numpy on one block's windows
        blk = np.asarray(x[:100, :100].compute(), dtype=np.float64)
        Xb = numpy_matrix(blk, (9, 9), 1)
        assert np.allclose(nd.Patches(blk, 9).gram(), Xb.T @ Xb)
    print(
        f"Dask gram 8192x8192 float32, 1024 blocks, 9x9 ({virtual / 1e9:.1f} GB virtual matrix): "
        f"{dt:.1f} s on 2 workers; worker peak RSS "
        + ", ".join(f"{v:.0f} MiB" for v in peaks.values())
        + f" (limit 1024 MiB); G {G.shape}, finite: {bool(np.isfinite(G).all())}"
    )
    return dict(seconds=dt, worker_peak_mib=list(peaks.values()), workers=len(status))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        stream_child(args.child[0], int(args.child[1]))
        return
    try:
        from threadpoolctl import threadpool_info

        for lib in threadpool_info():
            print(
                f"numpy BLAS: {lib.get('internal_api')} {lib.get('version')} "
                f"{lib.get('architecture', '')} threads={lib.get('num_threads')}"
            )
    except ImportError:
        print("threadpoolctl not installed: BLAS unknown")
    print(
        f"numpy {np.__version__}, ndarray_patches {nd.__version__}, {os.cpu_count()} cores, "
        f"{nd.get_num_threads()} threads; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}"
    )
    results = {}
    results["W2"] = bench_to_matrix("W2 1024x1024 16x16", (1024, 1024), (16, 16), 1, args.repeat)
    results["W5"] = bench_to_matrix("W5 4096x4096 39x39 step 8", (4096, 4096), (39, 39), 8, args.repeat)
    results["stream"] = bench_stream(max(1, args.repeat // 2))
    if not args.quick:
        results["dask"] = bench_dask()
    print(json.dumps(results, default=float))


if __name__ == "__main__":
    main()

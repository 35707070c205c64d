#!/usr/bin/env python3
"""The crate against its peers, in one invocation: numpy's strided copy
(`ascontiguousarray(sliding_window_view(..)[::s, ::s]).reshape(-1, plen)`),
numpy's `X.T @ X` on a materialized X (BLAS time only), scikit-learn's
`reconstruct_from_patches_2d`, then the crate's criterion benches
(`flatten`, `linalg`, `fold`), and one table of ratios and GB/s.

Run from the repository root with a Python that has numpy and scikit-learn
(`bash scripts/test` makes one: `target/py-venv/bin/python benches/peers.py`).
`--quick` shortens criterion's measurement; `--linalg` runs only the linear
algebra (issue 18's workloads: numpy's `X.T @ X`, `X @ W`, `X @ w`,
`X.T @ V` and `X.T @ v` on a materialized X, BLAS time only, against the
crate's `gram`, `covariance`, `dot` and `t_dot`). Not part of the
test suite. Ratios are ours / numpy in throughput (above 1: the crate is
faster); measure on a quiet machine and compare within one run only. Some
machines set `OPENBLAS_CORETYPE` or `OPENBLAS_L2_SIZE`: unset them for
numpy's own kernel (`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ...`);
the BLAS line printed first names the kernel threadpoolctl sees.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRITERION = ROOT / "target" / "criterion"

# The reference workloads of benches/flatten.rs (all float32).
WORKLOADS = {
    "W2": ((1024, 1024), (16, 16), (1, 1)),
    "W3": ((2048, 2048), (8, 8), (4, 4)),
    "W4": ((512, 512, 3), (32, 32, 3), (1, 1, 1)),
    "W5": ((4096, 4096), (39, 39), (8, 8)),
}


def median_time(f, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def numpy_matrix(img, patch, step):
    v = sliding_window_view(img, patch)
    v = v[tuple(slice(None, None, s) for s in step)]
    return np.ascontiguousarray(v).reshape(-1, int(np.prod(patch)))


def criterion_median(group, bench):
    """Median time in seconds from criterion's saved estimates, or None."""
    f = CRITERION / group / bench / "new" / "estimates.json"
    if not f.exists():  # bench_function("a/b") is saved as a_b
        f = CRITERION / group / bench.replace("/", "_") / "new" / "estimates.json"
    if not f.exists():
        return None
    return json.loads(f.read_text())["median"]["point_estimate"] / 1e9


LINALG_FILTER = r"^linalg_(W2/(gram|covariance)/virtual|W2/gram/gemm|W6/.*|3x3/.*|rows/.*)$"


def run_benches(quick, only_linalg=False):
    """Runs the criterion benches; returns the linalg bench's printed lines
    (peak heap of the virtual products)."""
    extra = ["--warm-up-time", "1", "--measurement-time", "3"] if quick else []
    printed = []
    benches = [
        ("flatten", r"^W[2-5]/(to_matrix|write_rows_reused|memcpy/.*)$"),
        ("stream", r"^stream_W[25]/(par_for_each_chunk|memcpy_reused_chunk_all_threads)$"),
        ("linalg", LINALG_FILTER),
        ("fold", r"^fold_W2/(fold_mean.*|to_matrix)$"),
    ]
    if only_linalg:
        benches = [b for b in benches if b[0] == "linalg"]
    for bench, filt in benches:
        cmd = ["cargo", "bench", "--locked", "--bench", bench, "--", *extra, filt]
        print("$", " ".join(cmd), flush=True)
        out = subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
        printed += [line for line in out.splitlines() if line.startswith("peak heap")]
    return printed


def mem_available():
    """Bytes of memory available (Linux), or None."""
    try:
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def numpy_linalg():
    """numpy's X.T @ X (BLAS time only, X built beforehand) on issue 18's
    workloads: {name: (seconds, note)}."""
    rng = np.random.default_rng(0)
    out = {}
    img = rng.random((1024, 1024), dtype=np.float32)
    x = numpy_matrix(img, (16, 16), (1, 1))
    out["W2 gram f32"] = (median_time(lambda: x.T @ x, 3), "")
    half = x[: x.shape[0] // 2]
    out["W2 rows 0..n/2 gram f32"] = (median_time(lambda: half.T @ half, 3), "")
    del x, half
    x = numpy_matrix(img, (3, 3), (1, 1))
    out["3x3 gram f32"] = (median_time(lambda: x.T @ x, 3), "")
    w9 = rng.standard_normal((9, 16)).astype(np.float32)
    out["3x3 matmul k16 f32"] = (median_time(lambda: x @ w9, 3), "f32 X @ W")
    del x
    # W6: 532900 x 1521 f32 is 3.2 GB; X.T @ X on all of it if it fits
    # twice over, else on the first rows, scaled linearly (X.T @ X costs
    # rows x 1521² multiply-adds).
    img = rng.random((768, 768), dtype=np.float32)
    v = sliding_window_view(img, (39, 39)).reshape(-1, 39 * 39)
    n = v.shape[0]
    avail = mem_available()
    m = n if avail is not None and avail > 2.5 * n * 1521 * 4 else 131072
    x = np.ascontiguousarray(v[:m])
    t = median_time(lambda: x.T @ x, 3 if m < n else 2) * n / m
    note = "" if m == n else f"(on {m} of {n} rows, scaled x{n / m:.2f})"
    out["W6 covariance f64"] = (t, f"numpy f32 X.T @ X {note}".strip())
    # X @ W (16 filters) and X @ w: rows x 1521 x k multiply-adds, scaled
    # linearly like X.T @ X when X is cut.
    w16 = rng.standard_normal((1521, 16)).astype(np.float32)
    w1 = np.ascontiguousarray(w16[:, 0])
    t = median_time(lambda: x @ w16, 5) * n / m
    out["W6 matmul k16 f32"] = (t, f"numpy f32 X @ W {note}".strip())
    t = median_time(lambda: x @ w1, 5) * n / m
    out["W6 dot f32"] = (t, f"numpy f32 X @ w {note}".strip())
    v16 = rng.standard_normal((m, 16)).astype(np.float32)
    t = median_time(lambda: x.T @ v16, 5) * n / m
    out["W6 t_matmul k16 f32"] = (t, f"numpy f32 X.T @ V {note}".strip())
    v1 = np.ascontiguousarray(v16[:, 0])
    t = median_time(lambda: x.T @ v1, 5) * n / m
    out["W6 t_dot f32"] = (t, f"numpy f32 X.T @ v {note}".strip())
    del x
    return out


def linalg_table(np_times, printed):
    """The crate against numpy on issue 18's workloads, from one run."""
    rows = [
        ("W2 gram f32", "linalg_W2", "gram/virtual", 10),
        ("W2 gram f32 (GEMM forced)", "linalg_W2", "gram/gemm", None),
        ("W6 covariance f64", "linalg_W6", "covariance_f64/virtual", 50),
        ("W6 matmul k16 f32", "linalg_W6", "matmul_k16_f32/virtual", 5),
        ("W6 matmul k16 f32 (GEMM forced)", "linalg_W6", "matmul_k16_f32/gemm", None),
        ("W6 dot f32", "linalg_W6", "dot_f32/virtual", 4),
        ("W6 dot f32 (GEMM forced)", "linalg_W6", "dot_f32/gemm", None),
        ("W6 t_matmul k16 f32", "linalg_W6", "t_matmul_k16_f32/virtual", None),
        ("W6 t_dot f32", "linalg_W6", "t_dot_f32/virtual", None),
        ("3x3 gram f32", "linalg_3x3", "gram/virtual", None),
        ("3x3 gram f32 (GEMM forced)", "linalg_3x3", "gram/gemm", None),
        ("3x3 matmul k16 f32", "linalg_3x3", "matmul_k16/virtual", None),
        ("3x3 matmul k16 f32 (GEMM forced)", "linalg_3x3", "matmul_k16/gemm", None),
        ("W2 rows 0..n/2 gram f32", "linalg_rows", "gram_half/virtual", None),
    ]
    print()
    print(f"{'workload':34} {'crate s':>9} {'numpy s':>9} {'numpy/crate':>12} {'target':>7}  numpy")
    for name, group, bench, target in rows:
        ours = criterion_median(group, bench)
        key = name.replace(" (GEMM forced)", "")
        t_np, note = np_times.get(key, (None, ""))
        ratio = f"{t_np / ours:.1f}x" if ours and t_np else "-"
        tgt = f">={target}x" if target else ""
        fmt = lambda t: f"{t:.4f}" if t else "-"
        print(f"{name:34} {fmt(ours):>9} {fmt(t_np):>9} {ratio:>12} {tgt:>7}  {note or 'f32 X.T @ X'}")
    for line in printed:
        print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter criterion runs")
    ap.add_argument("--no-cargo", action="store_true", help="reuse target/criterion")
    ap.add_argument("--linalg", action="store_true", help="only the linear algebra (issue 18)")
    args = ap.parse_args()

    try:
        from threadpoolctl import threadpool_info

        blas = [f"{i['internal_api']} {i['version']} ({i.get('architecture')}, {i['num_threads']} threads)"
                for i in threadpool_info() if i["user_api"] == "blas"]
    except ImportError:
        blas = ["unknown (pip install threadpoolctl)"]
    print(f"numpy {np.__version__}; BLAS: {', '.join(blas) or 'none'}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '-')}; "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '-')}", flush=True)
    try:
        print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
    except OSError:
        pass

    if args.linalg:
        np_times = numpy_linalg()
        for name, (t, note) in np_times.items():
            print(f"numpy {name}: {t:.3f} s {note}", flush=True)
        printed = run_benches(args.quick, only_linalg=True) if not args.no_cargo else []
        linalg_table(np_times, printed)
        return 0

    rng = np.random.default_rng(0)
    peers = {}
    for name, (shape, patch, step) in WORKLOADS.items():
        img = rng.random(shape, dtype=np.float32)
        x = numpy_matrix(img, patch, step)
        nbytes = x.nbytes
        del x
        t = median_time(lambda: numpy_matrix(img, patch, step), 5)
        peers[name] = (nbytes, t)
        print(f"numpy {name}: {nbytes / t / 1e9:.2f} GB/s", flush=True)

    # X.T @ X with X materialized (BLAS only), and sklearn's reconstruction.
    img = rng.random((1024, 1024), dtype=np.float32)
    x = numpy_matrix(img, (16, 16), (1, 1))
    t_gram = median_time(lambda: x.T @ x, 3)
    t_recon = None
    try:
        from sklearn.feature_extraction.image import reconstruct_from_patches_2d

        patches = x.reshape(-1, 16, 16)
        t_recon = median_time(lambda: reconstruct_from_patches_2d(patches, (1024, 1024)), 3)
    except ImportError:
        pass
    del x

    printed = run_benches(args.quick) if not args.no_cargo else []

    print()
    print("GB/s of patch matrix written; 'huge 2t' is a fresh huge-page buffer filled by every thread")
    print(f"{'workload':9} {'ours GB/s':>10} {'numpy GB/s':>11} {'ours/numpy':>11} "
          f"{'huge 2t':>8} {'ours/huge':>10} {'memcpy fresh':>13} {'memcpy reused':>14} "
          f"{'write_rows reused':>18}")
    for name, (nbytes, t_np) in peers.items():
        ours = criterion_median(name, "to_matrix")
        fresh = criterion_median(name, "memcpy/fresh")
        reused = criterion_median(name, "memcpy/reused")
        wr = criterion_median(name, "write_rows_reused")
        huge = criterion_median(name, "memcpy/fresh_huge_2threads")
        gbs = lambda t: f"{nbytes / t / 1e9:.2f}" if t else "-"
        ratio = f"{t_np / ours:.2f}x" if ours else "-"
        vs_huge = f"{huge / ours:.2f}x" if ours and huge else "-"
        print(f"{name:9} {gbs(ours):>10} {gbs(t_np):>11} {ratio:>11} {gbs(huge):>8} {vs_huge:>10} "
              f"{gbs(fresh):>13} {gbs(reused):>14} {gbs(wr):>18}")
    print()
    for name in ("W2", "W5"):
        par = criterion_median(f"stream_{name}", "par_for_each_chunk")
        ref = criterion_median(f"stream_{name}", "memcpy_reused_chunk_all_threads")
        if par and ref:
            print(f"streaming {name}: par_for_each_chunk / memcpy into reused chunks on every "
                  f"thread = {ref / par:.2f}x of its throughput")
    g = criterion_median("linalg_W2", "gram/virtual")
    cov = criterion_median("linalg_W2", "covariance/virtual")
    if g and cov:
        print(f"covariance W2 f32: {cov:.3f} s = {cov / g:.2f}x the time of gram")
    for line in printed:
        print(line)
    if g:
        print(f"gram W2 f32: virtual {g:.3f} s vs numpy X.T @ X {t_gram:.3f} s "
              f"(BLAS only, X materialized): ours/numpy {t_gram / g:.2f}x")
    else:
        print(f"gram W2 f32: numpy X.T @ X {t_gram:.3f} s (no criterion figure)")
    if criterion_median("linalg_W6", "covariance_f64/virtual"):
        print("(issue 18's workloads against numpy: benches/peers.py --linalg)")
    f = criterion_median("fold_W2", "fold_mean")
    fp = criterion_median("fold_W2", "fold_mean_par")
    if t_recon is not None and f:
        print(f"fold W2 mean, add_rows on one thread: {f:.3f} s vs sklearn "
              f"reconstruct_from_patches_2d {t_recon:.3f} s: ours/sklearn {t_recon / f:.1f}x")
    if fp:
        vs = f" ({f / fp:.2f}x the one-thread fold)" if f else ""
        sk = f", ours/sklearn {t_recon / fp:.1f}x" if t_recon is not None else ""
        print(f"fold W2 mean, fold_into on 2 threads: {fp:.3f} s{vs}{sk}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

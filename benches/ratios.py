#!/usr/bin/env python3
"""Prints throughput ratios from criterion's saved estimates (run after
`cargo bench`). Dev tool only: the test suite does not need Python."""
import json, pathlib, sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
def t(group, bench):
    f = root / group / bench / "new" / "estimates.json"
    return json.loads(f.read_text())["median"]["point_estimate"] if f.exists() else None

pairs = [
    ("write_rows_reused_1thread", "memcpy/reused", "write_rows 1 thread / memcpy reused (target >= 0.8)"),
    ("to_matrix", "memcpy/fresh", "to_matrix (all cores) / memcpy fresh 1 thread (target > 1)"),
    ("to_matrix", "ndarray_windows_naive", "to_matrix / naive ndarray (target >= 2)"),
    ("write_rows_reused", "memcpy/reused", "write_rows all cores / memcpy reused"),
    ("for_each_chunk", "memcpy_reused_chunk", "for_each_chunk / memcpy cache-sized, 1 thread"),
    ("for_each_chunk", "to_matrix", "for_each_chunk / to_matrix (target >= 2)"),
    ("par_for_each_chunk", "to_matrix", "par_for_each_chunk / to_matrix"),
    ("for_each_chunk_1thread", "memcpy_reused_chunk", "for_each_chunk 1 thread / memcpy cache-sized, 1 thread (target >= 0.7)"),
    ("matmul_k16/virtual", "matmul_k16/materialized", "matmul k=16 virtual / to_matrix-then-dot (target >= 1)"),
    ("gram/virtual", "gram/materialized", "gram virtual / to_matrix-then-dot (target >= 1)"),
    ("fold_mean", "to_matrix", "fold (stream + add_rows + Mean) / to_matrix"),
    ("fold_mean_par", "fold_mean", "fold fold_into 2 threads / add_rows 1 thread (target >= 1.8)"),
    ("fold_mean_par_rows", "fold_mean", "fold add_rows 2 threads / add_rows 1 thread"),
    ("to_matrix", "same_to_matrix", "valid to_matrix / same to_matrix incl. padding, per byte (target <= 1.3)"),
]
for group in sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "report"):
    for a, b, label in pairs:
        ta, tb = t(group, a), t(group, b)
        if ta and tb:
            print(f"{group:12} {label:55} {tb / ta:6.2f}x")

"""Whole-image patch PCA: the exact mean and covariance of every 16x16 and
every 39x39 window of the bundled camera image (the patch matrix is never
built), their eigenvectors with numpy's ``eigh``, beside scikit-learn's
``PCA`` fitted on a random sample of windows, and every window's projection
onto the components.

    pip install ./python scikit-learn pillow
    python python/examples/patch_pca.py                 # 16x16 and 39x39
    python python/examples/patch_pca.py --sizes 8,16 --components 16 --out /tmp/pca
    python python/examples/patch_pca.py --quick         # a 128x128 crop, seconds

For each window size k:

1. ``Patches.mean()`` and ``Patches.covariance()`` (float64) of all the
   windows: displacement sums, one pass over the image per displacement
   between two elements of a window, chosen by the crate's cost model.
2. ``np.linalg.eigh`` of the k² x k² covariance, sorted by variance, each
   eigenvector signed so that its largest entry is positive (as in the Rust
   example); the top K (default 16) as a PNG mosaic
   (``components_KxK.png``, each tile stretched from its smallest entry,
   black, to its largest, white).
3. scikit-learn's ``PCA`` (its default ``svd_solver="auto"``) on a random
   sample of windows (``Patches.sample``, default 20,000): its time, and
   how close its components are to the exact ones: ``|cos|`` of each pair
   of components and the largest principal angle between the exact and the
   sampled top-j subspaces, j = 1, 4, 8, K (``scipy.linalg.subspace_angles``).
4. Every window's projection onto the components, ``(X - 1 mean) @ V``
   (``Patches.matmul``: one map per component, shaped like the grid of
   windows), beside numpy on the materialized matrix when it is under
   ``--max-matrix-mib`` (default 512), written as a PNG mosaic
   (``projections_KxK.png``, half resolution, mid-grey = 0, each map
   clipped at its 99.5th percentile of ``|y|``).

Files go to ``target/patch_pca_py/`` at the repository's root unless
``--out DIR`` says where. ``examples/patch_pca.rs`` is the same in Rust.
"""

import argparse
import os
import resource
import time

import numpy as np
from PIL import Image
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

import ndarray_patches as nd

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_IMAGE = os.path.join(HERE, "..", "..", "examples", "data", "camera.png")
DEFAULT_OUT = os.path.join(HERE, "..", "..", "target", "patch_pca_py")


def timed(f, *args, **kwargs):
    """``(f(*args, **kwargs), seconds)``."""
    t = time.perf_counter()
    r = f(*args, **kwargs)
    return r, time.perf_counter() - t


def eigen(cov):
    """Eigenvalues (descending) and eigenvectors (columns, same order) of a
    symmetric matrix, each vector signed so that its largest entry is
    positive."""
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    big = vectors[np.abs(vectors).argmax(axis=0), np.arange(vectors.shape[1])]
    return values, vectors * np.where(big < 0, -1.0, 1.0)


def signed_to_u8(a, limit):
    """Signed values to grey levels: 0 is mid-grey, +-limit white and black."""
    limit = limit if limit > 0 else 1.0
    return np.round(127.5 + 127.5 * np.clip(a / limit, -1.0, 1.0)).astype(np.uint8)


def stretch_to_u8(a):
    """Each value's place between the smallest (black) and the largest (white)."""
    lo, hi = a.min(), a.max()
    return np.round(255 * (a - lo) / (hi - lo if hi > lo else 1.0)).astype(np.uint8)


def mosaic(tiles, cols, scale=1, gap=4):
    """Equal tiles in a grid of ``cols`` columns, enlarged ``scale`` times
    (nearest neighbour), ``gap`` white pixels between and around them."""
    h, w = tiles[0].shape
    th, tw = h * scale, w * scale
    cols = min(cols, len(tiles))
    rows = -(-len(tiles) // cols)
    out = np.full((rows * (th + gap) + gap, cols * (tw + gap) + gap), 255, np.uint8)
    for t, tile in enumerate(tiles):
        y0, x0 = gap + (t // cols) * (th + gap), gap + (t % cols) * (tw + gap)
        out[y0 : y0 + th, x0 : x0 + tw] = np.kron(tile, np.ones((scale, scale), np.uint8))
    return out


def half(a):
    """The mean of each 2x2 block (odd edges dropped)."""
    h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
    return a[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_size(img, k, args):
    """Everything for k x k windows; returns the figures the test checks."""
    p = nd.Patches(img, (k, k))
    n, pl = len(p), p.patch_len
    gh, gw = p.grid
    kc = min(args.components, pl)
    print(
        f"\n{k}x{k}    {n:,} windows of {pl} values (grid {gh}x{gw}); the float32 patch matrix "
        f"would be {p.matrix_bytes(np.float32) / 2**20:,.0f} MiB"
    )

    # 1. Exact moments of every window.
    (mean, cov), t_mom = timed(lambda: (p.mean(), p.covariance()))
    print(f"moments  ndarray_patches mean + covariance (all windows)   {t_mom:8.3f} s")

    # 2. Exact principal components.
    (values, vectors), t_eig = timed(eigen, cov)
    total = values.sum()
    print(
        f"eigen    np.linalg.eigh of {pl}x{pl}                        {t_eig:8.3f} s; the top {kc} "
        f"components hold {100 * values[:kc].sum() / total:.1f}% of the variance (first three: "
        + ", ".join(f"{100 * v / total:.1f}%" for v in values[:3])
        + ")"
    )
    V = vectors[:, :kc]
    tiles = [stretch_to_u8(v.reshape(k, k)) for v in V.T]
    path = os.path.join(args.out, f"components_{k}x{k}.png")
    Image.fromarray(mosaic(tiles, 8, max(1, 80 // k))).save(path)
    print(f"wrote    {path}")

    # 3. scikit-learn's PCA on a random sample of windows.
    m = min(args.sample, n)
    (_, Xs), t_sample = timed(p.sample, m, seed=args.seed)
    pca = PCA(n_components=kc, random_state=args.seed)  # svd_solver="auto"
    _, t_pca = timed(pca.fit, Xs.astype(np.float64))
    solver = getattr(pca, "_fit_svd_solver", "auto")  # the one "auto" chose
    cos = np.abs(np.sum(pca.components_.T * V, axis=0))
    # The largest principal angle between the exact and the sampled top-j
    # subspaces: near j = K it also measures how close lambda_K and
    # lambda_K+1 are (nearly equal eigenvalues mix under any perturbation).
    angles = {
        j: float(np.degrees(subspace_angles(pca.components_[:j].T, V[:, :j]).max()))
        for j in sorted({1, min(4, kc), min(8, kc), kc})
    }
    print(
        f"sklearn  PCA(n_components={kc}) ({solver} solver) on {m:,} sampled windows "
        f"{t_pca:8.3f} s (+ {t_sample:.3f} s to sample); exact moments + eigh {t_mom + t_eig:.3f} s"
    )
    print(
        "compare  |cos| of components 1..{}: {}".format(
            min(kc, 8), " ".join(f"{c:.3f}" for c in cos[:8])
        )
    )
    print(
        "compare  largest principal angle, exact vs sampled top-j subspace: "
        + ", ".join(f"j={j} {a:.1f} deg" for j, a in angles.items())
        + (f" (lambda_{kc}/lambda_{kc + 1} = {values[kc - 1] / values[kc]:.3f})" if kc < pl else "")
    )

    # 4. Every window's projection onto the components.
    W = np.ascontiguousarray(V, np.float32)
    Y, t_mm = timed(p.matmul, W, dtype=np.float32)
    line = f"project  Patches.matmul, {n:,}x{pl} @ {pl}x{kc} (float32)    {t_mm:8.3f} s"
    if p.matrix_bytes(np.float32) <= args.max_matrix_mib * 2**20:
        X, t_build = timed(p.to_matrix, dtype=np.float32)
        Y_np, t_np = timed(np.matmul, X, W)
        del X
        diff = np.abs(Y - Y_np).max() / np.abs(Y_np).max()
        line += (
            f"; numpy X @ W {t_np:.3f} s (+ {t_build:.3f} s to build X); "
            f"largest difference {diff:.1e} (relative)"
        )
    else:
        line += f"; numpy skipped (X over --max-matrix-mib {args.max_matrix_mib})"
    print(line)
    Y = Y.astype(np.float64) - mean @ V
    maps = []
    for c in range(kc):
        m_c = Y[:, c].reshape(gh, gw)
        maps.append(signed_to_u8(half(m_c), np.quantile(np.abs(m_c), 0.995)))
    path = os.path.join(args.out, f"projections_{k}x{k}.png")
    Image.fromarray(mosaic(maps, 4)).save(path)
    print(f"wrote    {path}")
    return {
        "k": k,
        "n": n,
        "mean": mean,
        "cov": cov,
        "values": values,
        "components": V,
        "sklearn_cos": cos,
        "angles_deg": angles,
        "projections": Y,
        "seconds": {"moments": t_mom, "eigh": t_eig, "sklearn": t_pca, "matmul": t_mm},
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", default=DEFAULT_IMAGE)
    ap.add_argument("--out", default=DEFAULT_OUT, help="where the PNGs go")
    ap.add_argument("--sizes", default="16,39", help="window sides, comma-separated")
    ap.add_argument("--components", type=int, default=16)
    ap.add_argument("--sample", type=int, default=20000, help="windows for sklearn's PCA")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-matrix-mib", type=int, default=512)
    ap.add_argument("--quick", action="store_true", help="a 128x128 crop, sizes 8 and 16")
    args = ap.parse_args(argv)
    if args.components < 1:
        ap.error("--components must be at least 1")
    sizes = [int(s) for s in args.sizes.split(",")]

    img = np.asarray(Image.open(args.image).convert("L"))
    if args.quick:
        h, w = img.shape
        img = np.ascontiguousarray(img[h // 2 - 64 : h // 2 + 64, w // 2 - 64 : w // 2 + 64])
        sizes = [8, 16] if args.sizes == ap.get_default("sizes") else sizes
        args.sample = min(args.sample, 2000)
    os.makedirs(args.out, exist_ok=True)
    print(
        f"image    {os.path.basename(args.image)} {img.shape} uint8; "
        f"{nd.get_num_threads()} threads; writing to {os.path.abspath(args.out)}"
    )
    results = [run_size(img, k, args) for k in sizes]
    print(f"\nmemory   peak RSS {peak_rss_mib():.0f} MiB")
    return results


if __name__ == "__main__":
    main()

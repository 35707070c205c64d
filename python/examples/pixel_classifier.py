"""A RandomForest per-pixel classifier: trained on sampled windows of a
photograph, then run on every window of it, without ever building the
patch matrix.

    pip install "./python[examples]"
    python python/examples/pixel_classifier.py              # astronaut.png at 2x: 1,020,100 windows
    python python/examples/pixel_classifier.py --scale 8    # 4096x4096: 16.7 million windows
    python python/examples/pixel_classifier.py --quick      # a 128x128 crop, seconds

The feature vector of a pixel is the 15x15 RGB window around it (675 values,
``Patches(img, (15, 15), axis=(0, 1))``: the channels are taken whole into
each window). Its label is a simple rule: "bright" when the mean luminance
of the window (the image smoothed by a 15x15 box) is above the median, which
``Patches.dot`` computes for every window without the matrix. The model only
sees the raw pixels.

1. Training windows are drawn with ``Patches.sample(n, mask=...)``: half
   from the bright windows and half from the dark ones (class balance), all
   from the left three quarters of the image; the right quarter is held out.
   scikit-learn's ``RandomForestClassifier`` (which has no ``partial_fit``)
   is fitted on them.
2. ``Patches.map_chunks`` runs the forest's ``predict_proba`` on every
   window, 16 MiB chunks filled in Rust while the forest works on the
   previous one, keeping the probability of "bright" as float32: a
   grid-shaped ``(H - 14, W - 14)`` array (``map_chunks(clf.predict_proba)``
   would give ``(H - 14, W - 14, 2)``).
3. The probability of "bright" is written as ``proba.png`` (0 black, 1
   white; pixel ``(i, j)`` is the window centred on image pixel ``(i + 7, j
   + 7)``), the rule's labels as ``labels.png``, into
   ``target/pixel_classifier_py/`` at the repository's root or ``--out DIR``.

It prints the time of each step, the held-out accuracy, and the peak
resident memory of the process beside the size of the float32 patch matrix
that a ``reshape`` would have needed.
"""

import argparse
import os
import resource
import time

import numpy as np
from PIL import Image
from sklearn.ensemble import RandomForestClassifier

import ndarray_patches as nd

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_IMAGE = os.path.join(HERE, "..", "..", "examples", "data", "astronaut.png")
DEFAULT_OUT = os.path.join(HERE, "..", "..", "target", "pixel_classifier_py")
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601, as Pillow's convert("L")


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def load(path, scale, quick):
    img = Image.open(path).convert("RGB")
    if scale != 1:
        img = img.resize((img.width * scale, img.height * scale), Image.BICUBIC)
    a = np.asarray(img)
    if quick:  # the middle 128x128
        h, w = a.shape[:2]
        a = np.ascontiguousarray(a[h // 2 - 64 : h // 2 + 64, w // 2 - 64 : w // 2 + 64])
    return a


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", default=DEFAULT_IMAGE)
    ap.add_argument("--out", default=DEFAULT_OUT, help="where the PNGs go")
    ap.add_argument("--scale", type=int, default=2, help="enlarge the photograph Nx (bicubic)")
    ap.add_argument("--window", type=int, default=15, help="window side (odd)")
    ap.add_argument("--train", type=int, default=20000, help="training windows")
    ap.add_argument("--trees", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="a 128x128 crop, 2000 windows, 20 trees")
    args = ap.parse_args(argv)
    if args.window < 1 or args.window % 2 == 0:
        ap.error("--window must be odd and positive")
    if args.scale < 1:
        ap.error("--scale must be at least 1")
    if args.quick:
        args.scale, args.train, args.trees = 1, min(args.train, 2000), min(args.trees, 20)

    t_start = time.perf_counter()
    img = load(args.image, args.scale, args.quick)
    k = args.window
    p = nd.Patches(img, (k, k), axis=(0, 1))  # uint8 windows (k, k, 3); float32 rows on copy
    gh, gw = p.grid
    never_built = p.matrix_bytes(np.float32)
    print(
        f"image    {os.path.basename(args.image)} {'crop ' if args.quick else ''}{img.shape} "
        f"{img.dtype}; {k}x{k} windows with the channels: grid {p.grid}, {len(p):,} windows "
        f"of {p.patch_len} values; {nd.get_num_threads()} threads"
    )

    # Labels: the mean luminance of every window, X @ w without X.
    t = time.perf_counter()
    w = np.kron(np.full(k * k, 1.0 / (k * k)), LUMA)  # C order over (k, k, 3)
    smooth = p.dot(w, dtype=np.float32).reshape(p.grid)
    y = smooth > np.median(smooth)  # grid-shaped, True = bright
    t_labels = time.perf_counter() - t
    print(f"labels   bright = window mean luminance above its median {np.median(smooth):.1f} "
          f"({y.mean():.1%} of windows), by Patches.dot in {t_labels:.2f} s")

    # Training windows: balanced classes, left three quarters only (masks).
    t = time.perf_counter()
    train_area = np.zeros(p.grid, bool)
    train_area[:, : 3 * gw // 4] = True
    parts, labels = [], []
    for cls, mask, seed in ((1, train_area & y, args.seed), (0, train_area & ~y, args.seed + 1)):
        n = min(args.train // 2, int(mask.sum()))
        _, X = p.sample(n, seed=seed, mask=mask)
        parts.append(X)
        labels.append(np.full(n, cls, np.int8))
    X = np.concatenate(parts).astype(np.float32)
    labels = np.concatenate(labels)
    t_sample = time.perf_counter() - t

    t = time.perf_counter()
    clf = RandomForestClassifier(
        n_estimators=args.trees, max_depth=12, min_samples_leaf=5, n_jobs=-1, random_state=args.seed
    )
    clf.fit(X, labels)
    t_fit = time.perf_counter() - t
    print(
        f"train    {len(X):,} windows sampled with mask= (half bright, half dark, left 3/4 of "
        f"the image) in {t_sample:.2f} s; RandomForest of {args.trees} trees fitted in {t_fit:.1f} s"
    )

    # Every window, grid-shaped, never the matrix.
    t = time.perf_counter()
    bright = list(clf.classes_).index(1)
    proba = p.map_chunks(lambda X: clf.predict_proba(X)[:, bright].astype(np.float32))
    t_predict = time.perf_counter() - t
    held = ~train_area
    accuracy = float(((proba > 0.5) == y)[held].mean())
    print(
        f"predict  every window: Patches.map_chunks(predict_proba) -> {proba.shape} {proba.dtype} in "
        f"{t_predict:.1f} s ({len(p) / t_predict:,.0f} windows/s)"
    )
    print(f"accuracy {accuracy:.3f} on the {int(held.sum()):,} held-out windows (right quarter)")

    os.makedirs(args.out, exist_ok=True)
    proba_png = os.path.join(args.out, "proba.png")
    labels_png = os.path.join(args.out, "labels.png")
    Image.fromarray(np.round(proba * 255).astype(np.uint8)).save(proba_png)
    Image.fromarray(y.astype(np.uint8) * 255).save(labels_png)
    print(f"wrote    {os.path.abspath(proba_png)} (P(bright)), {os.path.abspath(labels_png)}")

    seconds = time.perf_counter() - t_start
    rss = peak_rss_mib()
    print(
        f"memory   peak RSS {rss:,.0f} MiB in {seconds:.1f} s; the float32 patch matrix "
        f"({len(p):,} x {p.patch_len}) never built: {never_built / 2**20:,.0f} MiB"
    )
    return {
        "image": img,
        "model": clf,
        "proba": proba,
        "labels": y,
        "held_out_accuracy": accuracy,
        "peak_rss_mib": rss,
        "matrix_bytes": never_built,
        "seconds": {"labels": t_labels, "sample": t_sample, "fit": t_fit, "predict": t_predict,
                    "total": seconds},
        "files": [proba_png, labels_png],
    }


if __name__ == "__main__":
    main()

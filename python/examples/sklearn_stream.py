"""Train a per-pixel edge detector with scikit-learn's SGDClassifier.partial_fit
on every window of the bundled camera image, streamed in 16 MiB chunks: the
patch matrix is never built.

The label of a pixel is "edge" when the Sobel gradient magnitude there is in
the top quarter of the image; the model never sees the gradient, only the
window of raw pixels around the pixel (as absolute differences from the
centre pixel, computed per chunk). Windows whose centre lies in the top three
quarters of the image train the model, the bottom quarter is held out.

    pip install ./python scikit-learn pillow
    python python/examples/sklearn_stream.py            # camera.png tiled 2x2
    python python/examples/sklearn_stream.py --tile 4 --window 21
"""

import argparse
import os
import resource
import time

import numpy as np
from PIL import Image
from sklearn.linear_model import SGDClassifier

import ndarray_patches as nd

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_IMAGE = os.path.join(HERE, "..", "..", "examples", "data", "camera.png")


def sobel_magnitude(img):
    """|G| of the 3x3 Sobel operator, 0 on the one-pixel border."""
    a = img.astype(np.float32)
    gx = np.zeros_like(a)
    gy = np.zeros_like(a)
    gx[1:-1, 1:-1] = (
        (a[:-2, 2:] + 2 * a[1:-1, 2:] + a[2:, 2:]) - (a[:-2, :-2] + 2 * a[1:-1, :-2] + a[2:, :-2])
    )
    gy[1:-1, 1:-1] = (
        (a[2:, :-2] + 2 * a[2:, 1:-1] + a[2:, 2:]) - (a[:-2, :-2] + 2 * a[:-2, 1:-1] + a[:-2, 2:])
    )
    return np.hypot(gx, gy)


def features(chunk, centre):
    """In place: |x - centre pixel| / 255 for every element of each window."""
    chunk -= chunk[:, centre : centre + 1]
    np.abs(chunk, out=chunk)
    chunk *= 1.0 / 255.0
    return chunk


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", default=DEFAULT_IMAGE)
    ap.add_argument("--tile", type=int, default=2, help="tile the image NxN (bigger problem)")
    ap.add_argument("--window", type=int, default=15, help="window size (odd)")
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args(argv)

    img = np.asarray(Image.open(args.image).convert("L"))
    img = np.tile(img, (args.tile, args.tile))
    k = args.window
    r = k // 2
    p = nd.Patches(img, (k, k))  # u8 windows; float32 rows during the copy
    gh, gw = p.grid
    # Label of window (i, j): the Sobel magnitude at its centre pixel.
    mag = sobel_magnitude(img)[r : r + gh, r : r + gw]
    threshold = np.quantile(mag, 0.75)
    y = (mag > threshold).astype(np.int8).reshape(-1)  # row order = window order

    split = (3 * gh // 4) * gw  # windows centred in the top 3/4 train
    centre = r * k + r
    print(
        f"image {img.shape} uint8, {k}x{k} windows: {len(p):,} windows of {p.patch_len} values; "
        f"the float32 patch matrix would be {p.matrix_bytes(np.float32) / 2**20:,.0f} MiB"
    )
    print(f"train rows 0..{split:,}, held out {split:,}..{len(p):,}; edges: {y.mean():.1%} of pixels")

    clf = SGDClassifier(loss="log_loss", alpha=1e-5, learning_rate="optimal", random_state=0)
    t0 = time.perf_counter()
    seen = 0
    for epoch in range(args.epochs):
        next_report = 0.0
        for start, chunk in p.chunks(dtype=np.float32, stop=split):
            features(chunk, centre)
            clf.partial_fit(chunk, y[start : start + len(chunk)], classes=[0, 1])
            seen += len(chunk)
            done = (start + len(chunk)) / split
            if done >= next_report:
                print(
                    f"  epoch {epoch + 1}: {done:6.1%} of training windows, "
                    f"{seen / (time.perf_counter() - t0):,.0f} windows/s, peak RSS {peak_rss_mib():.0f} MiB"
                )
                next_report += 0.25

    correct = total = 0
    for start, chunk in p.chunks(dtype=np.float32, start=split):
        pred = clf.predict(features(chunk, centre))
        correct += int((pred == y[start : start + len(chunk)]).sum())
        total += len(chunk)
    baseline = 1 - y[split:].mean()
    print(f"held-out accuracy {correct / total:.3f} on {total:,} windows (always 'no edge': {baseline:.3f})")
    print(
        f"peak RSS {peak_rss_mib():.0f} MiB; the {p.matrix_bytes(np.float32) / 2**20:,.0f} MiB "
        f"patch matrix was never built ({time.perf_counter() - t0:.1f} s)"
    )
    return correct / total, baseline


if __name__ == "__main__":
    main()

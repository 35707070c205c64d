"""Edge policies and padding against numpy.pad; Fold."""

import numpy as np
import pytest

import ndarray_patches as nd
from conftest import reference_matrix

MODES = ["constant", "edge", "reflect", "symmetric", "wrap"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("patch,dilation", [((3, 3), (1, 1)), ((4, 5), (1, 1)), ((3, 2), (2, 3))])
def test_same_matches_numpy_pad(mode, patch, dilation):
    img = np.random.default_rng(0).random((11, 13)).astype(np.float32)
    ext = [d * (p - 1) + 1 for p, d in zip(patch, dilation)]
    pads = [((e - 1) // 2, e - 1 - (e - 1) // 2) for e in ext]
    kw = dict(constant_values=7) if mode == "constant" else {}
    want = np.pad(img, pads, mode=mode, **kw)
    p = nd.padded(img, patch, dilation=dilation, edge="same", mode=mode, cval=7)
    np.testing.assert_array_equal(p.source, want)
    assert p.grid == img.shape
    np.testing.assert_array_equal(p.to_matrix(), reference_matrix(want, patch, (1, 1), dilation))


def test_same_with_step_is_centred_on_every_step_th_element():
    img = np.arange(15 * 16, dtype=np.float64).reshape(15, 16)
    p = nd.padded(img, 5, step=4, edge="same", mode="edge")
    assert p.grid == (4, 4)  # ceil(15/4), ceil(16/4)
    v = p.view()
    for i in range(4):
        for j in range(4):
            assert v[i, j, 2, 2] == img[4 * i, 4 * j]


def test_cover_reaches_every_element():
    img = np.ones((9, 10), np.uint8)
    p = nd.padded(img, (4, 4), step=(3, 3), edge="cover", mode="constant", cval=0)
    assert p.grid == (3, 3)  # origins 0, 3, 6 cover 0..9
    assert p.source.shape == (10, 10)
    assert p.source[:9, :10].all() and not p.source[9:].any()


def test_valid_is_plain_patches():
    img = np.random.default_rng(1).random((8, 9))
    a = nd.padded(img, 3, step=2, edge="valid")
    b = nd.Patches(img, 3, step=2)
    np.testing.assert_array_equal(a.to_matrix(), b.to_matrix())


@pytest.mark.parametrize("edge", ["valid", "same", "cover"])
def test_fold_mean_inverts_extraction(edge):
    img = np.random.default_rng(2).random((17, 14))
    step = 3
    f = nd.Fold(img.shape, (5, 5), step=step, edge=edge)
    p = nd.padded(img, 5, step=step, edge=edge, mode="reflect")
    assert len(f) == len(p) and f.patch_len == 25
    for start, rows in p.chunks(rows=7, dtype=np.float32):
        f.add_rows(start, rows)
    out = f.finish("mean")
    covered = out != 0
    np.testing.assert_allclose(out[covered], img[covered], rtol=1e-6)
    if edge != "valid":
        assert covered.all()


def test_fold_sum_counts_overlaps():
    f = nd.Fold((4, 5), (2, 2))
    f.add_rows(0, np.ones((len(f), 2, 2)))  # (n, *patch) rows are accepted
    want = np.array([[1, 2, 2, 2, 1], [2, 4, 4, 4, 2], [2, 4, 4, 4, 2], [1, 2, 2, 2, 1]], float)
    np.testing.assert_array_equal(f.finish("sum"), want)
    np.testing.assert_array_equal(f.finish("mean"), np.ones((4, 5)))
    f.add_rows(0, np.ones((1, 4), np.int32))  # more rows after finish; ints converted
    assert f.finish("sum")[0, 0] == 2

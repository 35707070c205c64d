"""Shuffled epochs: every window once, each batch equal to the reference
rows it names, seeded and reproducible, on every dtype and layout."""

import numpy as np
import pytest

import ndarray_patches as nd
from conftest import reference_matrix

DTYPES = [np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64]


def layouts(img):
    yield "C", img
    yield "F", np.asfortranarray(img)
    yield "reversed", img[::-1, ::-1]
    yield "sliced", np.pad(img, 3)[3:-3:1, 3:-3]
    yield "broadcast", np.broadcast_to(img[:1], img.shape)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_row_once_and_equal_to_the_reference(dtype):
    rng = np.random.default_rng(0)
    base = (rng.random((17, 13)) * 200).astype(dtype)
    for name, img in layouts(base):
        p = nd.Patches(img, (4, 3), step=(2, 1), dilation=(1, 2))
        X = reference_matrix(img, (4, 3), (2, 1), (1, 2))
        for out in (None, np.float64):
            seen = []
            for rows, batch in p.shuffled(rows=7, seed=5, dtype=out or img.dtype):
                assert rows.dtype == np.int64 and batch.shape == (len(rows), p.patch_len)
                assert batch.dtype == (out or img.dtype)
                np.testing.assert_array_equal(batch, X[rows].astype(batch.dtype), err_msg=name)
                assert len(rows) == 7 or len(seen) + len(rows) == len(p)
                seen += rows.tolist()
            assert sorted(seen) == list(range(len(p))), name


def test_seeded_epochs():
    p = nd.Patches(np.arange(400, dtype=np.float32).reshape(20, 20), 3)
    order = lambda seed: np.concatenate([r for r, _ in p.shuffled(rows=50, seed=seed)])
    assert (order(1) == order(1)).all()
    assert not (order(1) == order(2)).all()
    assert not (order(1) == np.arange(len(p))).all()
    # Batch size does not change the order.
    assert (np.concatenate([r for r, _ in p.shuffled(rows=7, seed=1)]) == order(1)).all()


def test_sub_range_and_empty():
    p = nd.Patches(np.zeros((12, 12), np.uint8), 3)
    rows = np.concatenate([r for r, _ in p.shuffled(rows=8, start=30, stop=70)])
    assert sorted(rows.tolist()) == list(range(30, 70))
    assert list(p.shuffled(start=5, stop=5)) == []


def test_bad_arguments():
    p = nd.Patches(np.zeros((8, 8), np.float32), 3)
    with pytest.raises(nd.PatchError, match="rows must be positive"):
        p.shuffled(rows=0)
    with pytest.raises(nd.PatchError, match="seed"):
        p.shuffled(seed=-1)
    with pytest.raises(TypeError):
        p.shuffled(rows=2.5)
    with pytest.raises(IndexError):
        p.shuffled(start=0, stop=len(p) + 1)

"""p[i], iteration and np.asarray(p) against numpy's sliding_window_view (issue 19, item 4)."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import ndarray_patches as nd


def ref(a, patch, step):
    return sliding_window_view(a, patch)[:: step[0], :: step[1]]


@pytest.mark.parametrize("step", [(1, 1), (2, 3)])
def test_getitem_negative_and_iter(step):
    a = np.arange(7 * 9, dtype=np.int32).reshape(7, 9)
    p = nd.Patches(a, (3, 2), step=step)
    r = ref(a, (3, 2), step).reshape(-1, 3, 2)
    assert len(p) == len(r)
    for i in range(-len(r), len(r)):
        np.testing.assert_array_equal(p[i], r[i])
    got = list(p)
    assert len(got) == len(r)
    for w, want in zip(got, r):
        np.testing.assert_array_equal(w, want)
    for bad in (len(r), -len(r) - 1):
        with pytest.raises(IndexError, match=r"Patches\[i\]"):
            p[bad]
    with pytest.raises(nd.PatchIndexError):
        p[len(r)]


def test_asarray_is_the_zero_copy_view():
    a = np.arange(8 * 8, dtype=np.float32).reshape(8, 8)
    p = nd.Patches(a, (3, 3), step=2)
    v = np.asarray(p)
    np.testing.assert_array_equal(v, ref(a, (3, 3), (2, 2)))
    assert np.shares_memory(v, a)
    assert np.asarray(p, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(np.array(p), v)


def test_asarray_shift_without_view():
    p = nd.Patches(np.arange(16, dtype=np.uint8).reshape(4, 4), 2, step=3, edge="shift")
    with pytest.raises(nd.PatchError, match="no strided view"):
        np.asarray(p)
    # the windows are still there one by one
    assert p[-1].tolist() == [[10, 11], [14, 15]]


@pytest.mark.parametrize("edge", ["valid", "shift"])
def test_row_of_inverts_position(edge):
    p = nd.Patches(np.zeros((10, 11), np.uint8), (4, 3), step=(3, 2), edge=edge)
    for r in range(len(p)):
        assert p.row_of(p.position(r)) == r
    assert p.row_of((1, 0)) is None
    assert p.row_of((9, 0)) is None
    with pytest.raises(nd.PatchError, match=r"origin=.* for Patches\.row_of"):
        p.row_of((0, 0, 0))

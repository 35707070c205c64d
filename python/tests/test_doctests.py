"""The examples in the docstrings run and give what they show."""

import doctest

import pytest

import ndarray_patches
import ndarray_patches.dask
import ndarray_patches.sklearn


@pytest.mark.parametrize("module", [ndarray_patches, ndarray_patches.dask, ndarray_patches.sklearn])
def test_docstring_examples(module):
    r = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert r.attempted >= 5
    assert r.failed == 0

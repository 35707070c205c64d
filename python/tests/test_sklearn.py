"""scikit-learn parity: extract_patches_2d and reconstruct_from_patches_2d."""

import numpy as np
import pytest
from sklearn.feature_extraction.image import extract_patches_2d, reconstruct_from_patches_2d

import ndarray_patches as nd


@pytest.mark.parametrize("shape,patch", [((20, 17), (4, 5)), ((16, 16, 3), (5, 5)), ((9, 30, 4), (9, 2))])
def test_extract_patches_2d(shape, patch):
    rng = np.random.default_rng(0)
    img = rng.random(shape)
    want = extract_patches_2d(img, patch)
    full = patch + img.shape[2:]  # channels: the whole last axis
    p = nd.Patches(img, full)
    got = p.to_matrix().reshape((len(p),) + full)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(p.view().reshape(want.shape), want)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_extract_patches_2d_rgb_u8(dtype):
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, size=(24, 20, 3)).astype(dtype)
    want = extract_patches_2d(img, (6, 6))
    got = nd.Patches(img, (6, 6, 3)).to_matrix(np.float32).reshape(want.shape)
    np.testing.assert_array_equal(got, want.astype(np.float32))


@pytest.mark.parametrize("shape,patch", [((20, 17), (4, 5)), ((12, 11, 3), (3, 4, 3))])
def test_reconstruct_from_patches_2d(shape, patch):
    rng = np.random.default_rng(2)
    img = rng.random(shape)
    patches = extract_patches_2d(img, patch[:2])
    noisy = patches + rng.normal(0, 0.1, patches.shape)  # not exactly consistent patches
    want = reconstruct_from_patches_2d(noisy, shape)
    got = nd.reconstruct(noisy, shape)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert got.dtype == np.float64
    assert nd.reconstruct(noisy.astype(np.float32), shape).dtype == np.float32


def test_fold_mean_matches_reconstruct_in_chunks():
    rng = np.random.default_rng(3)
    img = rng.random((30, 25))
    patches = extract_patches_2d(img, (5, 5)) * 2.0
    f = nd.Fold(img.shape, (5, 5))
    rows = patches.reshape(len(patches), -1)
    for start in range(0, len(rows), 97):
        f.add_rows(start, rows[start : start + 97])
    np.testing.assert_allclose(f.finish("mean"), reconstruct_from_patches_2d(patches, img.shape), atol=1e-12)

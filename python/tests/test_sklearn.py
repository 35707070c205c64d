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


# -- ndarray_patches.sklearn.PatchExtractor against scikit-learn's ------------

import zlib  # noqa: E402

from sklearn.feature_extraction.image import PatchExtractor as SkPatchExtractor  # noqa: E402

from ndarray_patches.sklearn import PatchExtractor  # noqa: E402


def images(rng, shape, dtype):
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal(shape) * 100).astype(dtype)
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) < 0.5
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


SHAPES = [(3, 23, 19), (2, 17, 24, 3), (2, 16, 15, 1), (1, 12, 13, 2, 2)]
SIZES = [(1, 1), (3, 5), (8, 8), (7, 2), "whole", None]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64, np.int16, np.uint64, np.bool_])
@pytest.mark.parametrize("patch_size", SIZES, ids=str)
def test_patch_extractor_equals_sklearn(shape, dtype, patch_size):
    rng = np.random.default_rng(zlib.crc32(repr((shape, np.dtype(dtype).name, patch_size)).encode()))
    X = images(rng, shape, dtype)
    ps = shape[1:3] if patch_size == "whole" else patch_size
    want = SkPatchExtractor(patch_size=ps).fit_transform(X)
    got = PatchExtractor(patch_size=ps).fit_transform(X)
    assert got.dtype == want.dtype == np.float64
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("layout", ["F", "sliced", "reversed", "list"])
def test_patch_extractor_any_layout(layout):
    rng = np.random.default_rng(5)
    base = images(rng, (3, 30, 28, 3), np.float32)
    X = {
        "F": np.asfortranarray(base),
        "sliced": base[:, ::2, 1::2],
        "reversed": base[::-1, :, ::-1],
        "list": base.tolist(),
    }[layout]
    want = SkPatchExtractor(patch_size=(4, 3)).transform(X)
    np.testing.assert_array_equal(PatchExtractor(patch_size=(4, 3)).transform(X), want)


@pytest.mark.parametrize("dtype", [np.float16, ">f4", ">u2", np.int64, "object"])
def test_patch_extractor_other_inputs_equal_sklearn(dtype):
    """Inputs Patches does not read directly (float16, big-endian, object
    arrays) are converted first, to scikit-learn's result."""
    rng = np.random.default_rng(6)
    X = (rng.random((2, 14, 13, 3)) * 200).astype(np.float16).astype(dtype)
    want = SkPatchExtractor(patch_size=(5, 4)).transform(X)
    got = PatchExtractor(patch_size=(5, 4)).transform(X)
    assert got.dtype == want.dtype == np.float64
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", [(2, 31, 29), (2, 31, 29, 3)], ids=str)
@pytest.mark.parametrize("step", [2, (3, 1), (1, 4), (5, 7)], ids=str)
def test_patch_extractor_step_is_every_step_th_window(shape, step):
    rng = np.random.default_rng(7)
    X = images(rng, shape, np.uint8)
    ps = (6, 5)
    s = (step, step) if isinstance(step, int) else step
    every = SkPatchExtractor(patch_size=ps).transform(X)
    gh, gw = shape[1] - ps[0] + 1, shape[2] - ps[1] + 1
    want = every.reshape((shape[0], gh, gw) + every.shape[1:])[:, :: s[0], :: s[1]]
    want = want.reshape((-1,) + every.shape[1:])
    got = PatchExtractor(patch_size=ps, step=step).transform(X)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)


def per_image_windows(X, ps):
    """Every window of each image, as a set of byte strings (float64 rows)."""
    every = SkPatchExtractor(patch_size=ps).transform(X)
    n = len(every) // len(X)
    return [{r.tobytes() for r in every[i * n : (i + 1) * n]} for i in range(len(X))], n


@pytest.mark.parametrize("shape", [(3, 20, 18), (2, 20, 18, 3)], ids=str)
@pytest.mark.parametrize("max_patches", [1, 7, 40, 0.05, 0.5, 0.999])
def test_patch_extractor_max_patches(shape, max_patches):
    rng = np.random.default_rng(11)
    X = images(rng, shape, np.float32)  # continuous values: every window distinct
    ps = (5, 4)
    windows, n = per_image_windows(X, ps)
    k = min(max_patches, n) if isinstance(max_patches, int) else int(max_patches * n)
    want_shape = SkPatchExtractor(patch_size=ps, max_patches=max_patches, random_state=0).transform(X).shape
    pe = PatchExtractor(patch_size=ps, max_patches=max_patches, random_state=0)
    got = pe.fit_transform(X)
    assert got.shape == want_shape == (len(X) * k,) + ps + shape[3:]
    assert got.dtype == np.float64
    for i in range(len(X)):
        rows = {r.tobytes() for r in got[i * k : (i + 1) * k]}
        assert len(rows) == k  # distinct windows
        assert rows <= windows[i]  # real windows of image i
    np.testing.assert_array_equal(pe.transform(X), got)  # reproducible
    again = PatchExtractor(patch_size=ps, max_patches=max_patches, random_state=0).transform(X)
    np.testing.assert_array_equal(again, got)
    if 1 < k < n:
        other = PatchExtractor(patch_size=ps, max_patches=max_patches, random_state=1).transform(X)
        assert not np.array_equal(other, got)


def test_patch_extractor_max_patches_past_the_windows_gives_all_of_them():
    rng = np.random.default_rng(12)
    X = images(rng, (2, 9, 8), np.float64)
    windows, n = per_image_windows(X, (3, 3))
    got = PatchExtractor(patch_size=(3, 3), max_patches=10 * n, random_state=3).transform(X)
    assert got.shape == (2 * n, 3, 3)
    for i in range(2):
        assert {r.tobytes() for r in got[i * n : (i + 1) * n]} == windows[i]


def test_patch_extractor_max_patches_with_step():
    rng = np.random.default_rng(13)
    X = images(rng, (2, 30, 30), np.float32)
    every = PatchExtractor(patch_size=(4, 4), step=3).transform(X)
    n = len(every) // 2
    assert n == 9 * 9
    got = PatchExtractor(patch_size=(4, 4), step=3, max_patches=0.5, random_state=0).transform(X)
    k = int(0.5 * n)
    assert got.shape == (2 * k, 4, 4)
    for i in range(2):
        allowed = {r.tobytes() for r in every[i * n : (i + 1) * n]}
        assert {r.tobytes() for r in got[i * k : (i + 1) * k]} <= allowed


@pytest.mark.parametrize(
    "random_state",
    [None, 0, np.int64(4), np.random.RandomState(0), np.random.default_rng(0)],
    ids=["None", "int", "np.int64", "RandomState", "Generator"],
)
def test_patch_extractor_random_states(random_state):
    X = images(np.random.default_rng(14), (2, 12, 12), np.float64)
    got = PatchExtractor(patch_size=(3, 3), max_patches=5, random_state=random_state).transform(X)
    assert got.shape == (10, 3, 3)


def test_patch_extractor_random_state_instance_advances_like_sklearn():
    """A RandomState instance is consumed: two calls differ, as scikit-learn's."""
    X = images(np.random.default_rng(15), (1, 20, 20), np.float64)
    pe = PatchExtractor(patch_size=(3, 3), max_patches=5, random_state=np.random.RandomState(0))
    assert not np.array_equal(pe.transform(X), pe.transform(X))
    fresh = PatchExtractor(patch_size=(3, 3), max_patches=5, random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(
        fresh.transform(X),
        PatchExtractor(patch_size=(3, 3), max_patches=5, random_state=np.random.RandomState(0)).transform(X),
    )


def test_patch_extractor_estimator_api():
    from sklearn.base import BaseEstimator, TransformerMixin, clone

    pe = PatchExtractor(patch_size=(4, 4), max_patches=3, random_state=0, step=2)
    assert isinstance(pe, BaseEstimator) and isinstance(pe, TransformerMixin)
    assert pe.get_params() == dict(patch_size=(4, 4), max_patches=3, random_state=0, step=2)
    assert set(pe.get_params()) == set(SkPatchExtractor().get_params()) | {"step"}
    c = clone(pe)
    assert c is not pe and c.get_params() == pe.get_params()
    assert pe.set_params(step=1, max_patches=None) is pe and pe.step == 1
    assert repr(pe) == "PatchExtractor(patch_size=(4, 4), random_state=0)"
    X = images(np.random.default_rng(0), (1, 10, 10), np.uint8)
    assert pe.fit(X) is pe
    sk_tags = SkPatchExtractor().__sklearn_tags__()
    tags = pe.__sklearn_tags__()
    assert tags.input_tags == sk_tags.input_tags and tags.requires_fit == sk_tags.requires_fit
    from sklearn.utils.estimator_checks import check_estimator

    with pytest.warns(Warning):  # 3-D input: scikit-learn skips its checks, as for its own
        check_estimator(PatchExtractor())


def flatten(P):
    return P.reshape(len(P), -1)


def test_patch_extractor_in_a_pipeline_with_pca():
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X = images(np.random.default_rng(16), (4, 24, 20, 3), np.uint8)
    ours = make_pipeline(PatchExtractor(patch_size=(6, 6)), FunctionTransformer(flatten), PCA(5))
    theirs = make_pipeline(SkPatchExtractor(patch_size=(6, 6)), FunctionTransformer(flatten), PCA(5))
    Y = ours.fit_transform(X)
    np.testing.assert_allclose(Y, theirs.fit_transform(X), rtol=1e-10, atol=1e-8)
    assert Y.shape == (4 * 19 * 15, 5)
    np.testing.assert_allclose(
        ours[-1].components_, theirs[-1].components_, rtol=1e-10, atol=1e-12
    )


def test_patch_extractor_in_a_pipeline_with_kmeans_and_grid_search():
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    X = images(np.random.default_rng(17), (6, 16, 16), np.float32)

    def pipe(extractor):
        return Pipeline(
            [
                ("patches", extractor),
                ("flat", FunctionTransformer(flatten)),
                ("km", MiniBatchKMeans(n_clusters=4, n_init=1, random_state=0)),
            ]
        )

    ours = pipe(PatchExtractor(patch_size=(4, 4))).fit(X)
    theirs = pipe(SkPatchExtractor(patch_size=(4, 4))).fit(X)
    np.testing.assert_allclose(ours[-1].cluster_centers_, theirs[-1].cluster_centers_, rtol=1e-5, atol=1e-5)
    # Parameters reachable through the pipeline (step, max_patches, random_state).
    search = GridSearchCV(
        pipe(PatchExtractor(patch_size=(4, 4), max_patches=20, random_state=0)),
        {"patches__step": [1, 2], "patches__patch_size": [(3, 3), (4, 4)]},
        cv=2,
    ).fit(X)
    assert search.best_params_["patches__step"] in (1, 2)


def test_patch_extractor_default_patch_size_is_sklearns():
    X = images(np.random.default_rng(18), (2, 45, 62), np.float64)
    got = PatchExtractor().transform(X)
    assert got.shape[1:] == (4, 6)
    np.testing.assert_array_equal(got, SkPatchExtractor().transform(X))


@pytest.mark.parametrize(
    "kwargs,X,message",
    [
        (dict(patch_size=(3, 3, 3)), None, "patch_size=(3, 3, 3) for PatchExtractor: must be a tuple of two ints"),
        (dict(patch_size=5), None, "patch_size=5 for PatchExtractor: must be a tuple of two ints"),
        (dict(patch_size=(2.5, 3)), None, "patch_size=(2.5, 3) for PatchExtractor: must be a tuple of two ints"),
        (dict(patch_size=(0, 3)), None, "patch_size=(0, 3) for PatchExtractor: every entry must be at least 1"),
        (dict(patch_size=(21, 3)), None, "patch_size=(21, 3) (step=1) for PatchExtractor does not fit X of shape (2, 20, 10): patch extent 21"),
        (dict(patch_size=(3, 11)), None, "patch_size=(3, 11) (step=1) for PatchExtractor does not fit X of shape (2, 20, 10): patch extent 11"),
        (dict(step=0), None, "step=0 for PatchExtractor: every entry must be at least 1"),
        (dict(step=(1, 2, 3)), None, "step=(1, 2, 3) for PatchExtractor: must be an int or a pair of ints"),
        (dict(max_patches=0), None, "max_patches=0 for PatchExtractor: must be None, an int >= 1"),
        (dict(max_patches=1.0), None, "max_patches=1.0 for PatchExtractor: must be None, an int >= 1"),
        (dict(max_patches=-3), None, "max_patches=-3 for PatchExtractor"),
        (dict(max_patches="all"), None, "max_patches='all' for PatchExtractor"),
        (dict(max_patches=True), None, "max_patches=True for PatchExtractor"),
        (dict(max_patches=2, random_state="seed"), None, "random_state='seed' for PatchExtractor: must be None, an int"),
        (dict(), np.zeros((20, 10)), "X for PatchExtractor.transform has shape (20, 10): it must be (n_samples, height, width)"),
        (dict(), np.zeros((0, 20, 10)), "X for PatchExtractor.transform has shape (0, 20, 10): it has no image"),
        (dict(patch_size=(2, 2)), np.full((1, 20, 10), np.nan), "X for PatchExtractor.transform contains NaN or infinity"),
        (dict(patch_size=(2, 2)), np.zeros((1, 20, 10), np.complex64), "X for PatchExtractor.transform is complex"),
        (dict(patch_size=(2, 2)), np.zeros((1, 4, 4), "U1"), "X for PatchExtractor.transform has dtype <U1, which is not numeric"),
        (dict(), np.zeros((1, 9, 30)), "patch_size=None for PatchExtractor means (height // 10, width // 10) = (0, 3)"),
    ],
)
def test_patch_extractor_errors_name_the_argument(kwargs, X, message):
    X = np.zeros((2, 20, 10)) if X is None else X
    pe = PatchExtractor(**kwargs)
    with pytest.raises(ValueError) as e:
        pe.fit_transform(X)
    assert isinstance(e.value, nd.PatchError)
    assert message in str(e.value), str(e.value)
    if "X for" not in message and "does not fit" not in message and "patch_size=None" not in message:
        with pytest.raises(nd.PatchError, match="for PatchExtractor"):
            pe.fit(X)  # fit checks the parameters, as scikit-learn's


def test_patch_extractor_without_sklearn():
    """The module imports and works when scikit-learn cannot be imported."""
    import subprocess
    import sys

    code = """
import sys
sys.modules["sklearn"] = None          # import sklearn fails
import numpy as np
from ndarray_patches.sklearn import PatchExtractor
pe = PatchExtractor(patch_size=(2, 2))
assert [c.__name__ for c in type(pe).__mro__] == ["PatchExtractor", "_Params", "object"]
assert pe.get_params() == dict(patch_size=(2, 2), max_patches=None, random_state=None, step=1)
assert pe.set_params(step=2) is pe
X = np.arange(2 * 5 * 5, dtype=np.float64).reshape(2, 5, 5)
P = pe.fit_transform(X)
assert P.shape == (8, 2, 2) and P.dtype == np.float64 and P[1].tolist() == [[2, 3], [7, 8]]
assert repr(pe) == "PatchExtractor(patch_size=(2, 2), max_patches=None, random_state=None, step=2)"
try:
    pe.set_params(size=3)
except ValueError as e:
    assert "size" in str(e)
else:
    raise AssertionError("set_params(size=3) passed")
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr

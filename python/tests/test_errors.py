"""Bad input raises PatchError (a ValueError), IndexError or OverflowError with
the crate's message, never a Rust panic."""

import numpy as np
import pytest

import ndarray_patches as nd


def no_panic(excinfo):
    # pyo3's PanicException derives from BaseException, not Exception.
    assert isinstance(excinfo.value, Exception)
    assert type(excinfo.value).__name__ != "PanicException"


def test_patch_error_is_a_value_error():
    assert issubclass(nd.PatchError, ValueError)
    assert issubclass(nd.PatchIndexError, nd.PatchError) and issubclass(nd.PatchIndexError, IndexError)
    assert issubclass(nd.PatchOverflowError, nd.PatchError) and issubclass(nd.PatchOverflowError, OverflowError)
    assert issubclass(nd.PatchMemoryError, nd.PatchError) and issubclass(nd.PatchMemoryError, MemoryError)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(patch=(11, 3)), "patch extent 11 on axis 0 is larger than the array's length 10 on that axis"),
        (dict(patch=(0, 3)), "patch shape is zero on axis 0; it must be at least 1"),
        (dict(patch=(2, 2), step=(1, 0)), "step is zero on axis 1; it must be at least 1"),
        (dict(patch=(2, 2), dilation=(0, 1)), "dilation is zero on axis 0; it must be at least 1"),
        (dict(patch=(4, 4), dilation=(4, 1)), "patch extent 13 on axis 0 is larger than the array's length 10 on that axis"),
        (dict(patch=(2, 2, 2)), "patch shape has 3 axes but the array has 2"),
        (dict(patch=(2, 2), step=(1, 1, 1)), "step has 3 axes but the array has 2"),
        (dict(patch=(-2, 2)), "patch shape is negative on axis 0"),
    ],
)
def test_bad_geometry(kwargs, message):
    img = np.zeros((10, 20), np.float32)
    with pytest.raises(nd.PatchError) as e:
        nd.Patches(img, **kwargs)
    no_panic(e)
    assert message in str(e.value)


@pytest.mark.parametrize("dtype", [np.float16, np.complex64, ">f4", object])
def test_unsupported_dtypes(dtype):
    with pytest.raises(nd.PatchError, match="unsupported dtype .* of img for Patches") as e:
        nd.Patches(np.zeros((4, 4), dtype), 2)
    assert "astype" in str(e.value)


@pytest.mark.parametrize("dtype", [np.float16, np.complex128])
def test_float16_complex_say_astype(dtype):
    with pytest.raises(nd.PatchError, match=r"img\.astype\(np\.float32\)"):
        nd.Patches(np.zeros((4, 4), dtype), 2)
    with pytest.raises(nd.PatchError, match="of img for padded"):
        nd.padded(np.zeros((4, 4), dtype), 2, edge="same")


def test_unsupported_output_dtype():
    p = nd.Patches(np.zeros((4, 4), np.float32), 2)
    with pytest.raises(nd.PatchError, match="unsupported output dtype int16"):
        p.to_matrix(np.int16)
    with pytest.raises(nd.PatchError, match="unsupported output dtype"):
        p.write_rows(0, np.zeros((1, 4), np.int32))
    with pytest.raises(nd.PatchError, match="linear algebra"):
        p.gram(np.int32)


def test_zero_d_and_empty():
    with pytest.raises(nd.PatchError):
        nd.Patches(np.float32(3), ())
    with pytest.raises(nd.PatchError, match="larger than the array"):
        nd.Patches(np.zeros((0, 5)), (1, 1))


def test_rows_out_of_range_are_index_errors():
    p = nd.Patches(np.zeros((10, 10), np.float32), 3)  # 64 rows
    for call in (
        lambda: p.to_matrix(start=60, stop=65),
        lambda: p.to_matrix(start=5, stop=4),
        lambda: p.chunks(start=65),
        lambda: p.positions(-1),
        lambda: p.write_rows(60, np.zeros((5, 9), np.float32)),
        lambda: p.write_rows(-1, np.zeros((1, 9), np.float32)),
    ):
        with pytest.raises(IndexError) as e:
            call()
        assert isinstance(e.value, nd.PatchError)
        no_panic(e)
    with pytest.raises(IndexError, match="rows 60..65 are out of range for 64 patches"):
        p.write_rows(60, np.zeros((5, 9), np.float32))


def test_write_rows_bad_buffers():
    p = nd.Patches(np.zeros((10, 10), np.float32), 3)
    with pytest.raises(nd.PatchError, match="output rows have 8 columns but a patch has 9 elements"):
        p.write_rows(0, np.zeros((2, 8), np.float32))
    with pytest.raises(nd.PatchError, match="2-D"):
        p.write_rows(0, np.zeros(9, np.float32))
    ro = np.zeros((2, 9), np.float32)
    ro.flags.writeable = False
    with pytest.raises(nd.PatchError, match="read-only"):
        p.write_rows(0, ro)


def test_huge_arguments_overflow():
    img = np.zeros((10, 10), np.uint8)
    with pytest.raises(OverflowError):
        nd.Patches(img, (2**70, 2))
    with pytest.raises(nd.PatchError) as e:
        nd.Patches(img, 2, dilation=(2**62, 1))
    no_panic(e)


def test_chunk_rows_and_sample_errors():
    p = nd.Patches(np.zeros((6, 6), np.float64), 3)  # 16 patches
    with pytest.raises(nd.PatchError, match="rows must be positive"):
        p.chunks(rows=0)
    with pytest.raises(nd.PatchError, match="needs at least 17 patches, there are 16"):
        p.sample(17)
    with pytest.raises(nd.PatchError):
        p.sample(2, weights=-np.ones(16))
    with pytest.raises(nd.PatchError):
        p.sample(2, weights=np.ones(15))
    with pytest.raises(nd.PatchError):
        p.sample(3, mask=np.eye(4, dtype=bool)[:2].ravel().tolist() + [False] * 8)


def test_operand_shapes():
    p = nd.Patches(np.zeros((6, 6), np.float32), 3)
    with pytest.raises(nd.PatchError, match="has length 8"):
        p.dot(np.ones(8, np.float32))
    with pytest.raises(nd.PatchError):
        p.matmul(np.ones((8, 2), np.float32))
    with pytest.raises(nd.PatchError):
        p.t_dot(np.ones(15))
    with pytest.raises(nd.PatchError, match="needs at least 2 patches"):
        nd.Patches(np.zeros((3, 3)), 3).covariance()


def test_pad_fold_reconstruct_errors():
    img = np.zeros((4, 4), np.float32)
    with pytest.raises(nd.PatchError, match="unknown edge"):
        nd.padded(img, 2, edge="full")
    with pytest.raises(nd.PatchError, match="unknown mode"):
        nd.padded(img, 2, mode="mean")
    with pytest.raises(nd.PatchError, match="larger than the array"):
        nd.padded(img, 5, edge="valid")
    with pytest.raises(nd.PatchError):
        nd.Fold((4, 4), (5, 5))
    f = nd.Fold((4, 4), (2, 2))  # 9 patches of 4
    with pytest.raises(IndexError):
        f.add_rows(8, np.ones((2, 4)))
    with pytest.raises(nd.PatchError, match="columns"):
        f.add_rows(0, np.ones((2, 5)))
    with pytest.raises(nd.PatchError, match="reduction"):
        f.finish("max")
    with pytest.raises(nd.PatchError):
        nd.reconstruct(np.ones((5, 2, 2)), (3, 3))
    with pytest.raises(nd.PatchError):
        nd.reconstruct(np.ones((4, 4)), (3, 3))


def test_matrices_that_cannot_exist():
    # Broadcast sources: no memory behind them, and no allocation is tried
    # that could succeed (2 PiB is past any address space).
    img = np.broadcast_to(np.float64(1.0), (2**16, 2**16))
    p = nd.Patches(img, 256)
    with pytest.raises(MemoryError, match="stream the rows instead") as e:
        p.to_matrix()
    assert isinstance(e.value, nd.PatchError)
    huge = nd.Patches(np.broadcast_to(np.uint8(0), (2**31, 2**31)), 2**16)
    with pytest.raises(OverflowError) as e:
        huge.to_matrix()
    assert isinstance(e.value, nd.PatchError)
    assert huge.matrix_bytes() > 2**63  # Python ints do not overflow
    # and the streaming path works on the same geometry
    start, chunk = next(iter(p.chunks(rows=2)))
    assert start == 0 and chunk.shape == (2, 65536) and (chunk == 1).all()


def test_out_that_overlaps_the_source_is_refused():
    img = np.arange(16, dtype=np.float32).reshape(4, 4)
    p = nd.Patches(img, (1, 4), copy=False)  # 4 rows of 4: img itself has that shape
    with pytest.raises(nd.PatchError, match="overlap the source") as e:
        p.write_rows(0, img)
    no_panic(e)
    np.testing.assert_array_equal(img, np.arange(16, dtype=np.float32).reshape(4, 4))


@pytest.mark.parametrize("rows", [0, -5])
def test_chunk_rows_must_be_positive(rows):
    p = nd.Patches(np.zeros((6, 6), np.float32), 2)
    with pytest.raises(nd.PatchError, match=rf"rows={rows} for Patches\.chunks: rows must be positive"):
        list(p.chunks(rows=rows))
    with pytest.raises(nd.PatchError, match=rf"rows={rows} for Patches\.shuffled: rows must be positive"):
        list(p.shuffled(rows=rows))


def test_set_num_threads_bound():
    import os

    bound = 4 * (os.cpu_count() or 1)
    with pytest.raises(ValueError, match=rf"set_num_threads: at most {bound} threads"):
        nd.set_num_threads(10000 + bound)
    with pytest.raises(ValueError, match="set_num_threads"):
        nd.set_num_threads(-1)
    nd.set_num_threads(bound)
    nd.set_num_threads()


def test_mask_and_weights_of_the_wrong_shape_name_the_grid():
    p = nd.Patches(np.zeros((60, 60), np.float32), 4)  # grid (57, 57)
    with pytest.raises(nd.PatchError, match=r"mask for Patches\.sample has shape \(60, 60\), .*grid's shape \(57, 57\) \(or \(3249,\) flat\)"):
        p.sample(3, mask=np.ones((60, 60), bool))
    with pytest.raises(nd.PatchError, match=r"weights for Patches\.sample has shape \(15,\)"):
        p.sample(3, weights=np.ones(15))
    rows, _ = p.sample(3, mask=np.ones(3249, bool), weights=np.ones((57, 57)))
    assert len(rows) == 3

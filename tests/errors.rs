//! Bad input is a clear error from `try_` methods and the same message in a
//! panic from their twins; never undefined behaviour.

use ndarray::{Array, Array1, Array2, ArrayD, IxDyn};
use ndarray_patches::prelude::*;
use ndarray_patches::{Argument, PatchError};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn panic_message(f: impl FnOnce()) -> String {
    let e = catch_unwind(AssertUnwindSafe(f)).expect_err("should panic");
    e.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn zero_patch_step_dilation() {
    let a = Array2::<f32>::zeros((5, 5));
    let zero = |argument, axis| PatchError::Zero { argument, axis };
    assert_eq!(
        a.try_patches((0, 2)).unwrap_err(),
        zero(Argument::PatchShape, 0)
    );
    assert_eq!(
        a.patches((2, 2)).try_step((1, 0)).unwrap_err(),
        zero(Argument::Step, 1)
    );
    assert_eq!(
        a.patches((2, 2)).try_dilation((0, 1)).unwrap_err(),
        zero(Argument::Dilation, 0)
    );
    assert_eq!(
        panic_message(|| {
            let _ = a.patches((2, 2)).step((1, 0));
        }),
        "step is zero on axis 1; it must be at least 1"
    );
}

#[test]
fn patch_larger_than_array() {
    let a = Array2::<u8>::zeros((5, 7));
    assert_eq!(
        a.try_patches((5, 8)).unwrap_err(),
        PatchError::PatchTooLarge {
            axis: 1,
            extent: 8,
            len: 7
        }
    );
    // Through dilation: extent 2*(3-1)+1 = 5 > 4.
    let b = Array1::<u8>::zeros(4);
    assert_eq!(
        b.patches(3).try_dilation(2).unwrap_err(),
        PatchError::PatchTooLarge {
            axis: 0,
            extent: 5,
            len: 4
        }
    );
    assert_eq!(
        panic_message(|| {
            a.patches((6, 1));
        }),
        "patch extent 6 on axis 0 is larger than the array's length 5 on that axis"
    );
}

#[test]
fn empty_arrays_are_an_error_not_ub() {
    let a = Array2::<f64>::zeros((0, 10));
    assert_eq!(
        a.try_patches((1, 1)).unwrap_err(),
        PatchError::PatchTooLarge {
            axis: 0,
            extent: 1,
            len: 0
        }
    );
    let d = ArrayD::<f64>::zeros(IxDyn(&[3, 0, 2]));
    assert!(matches!(
        d.try_patches(IxDyn(&[1, 1, 1])),
        Err(PatchError::PatchTooLarge { axis: 1, .. })
    ));
}

#[test]
fn zero_dimensional_array_has_one_patch() {
    let a = Array::from_elem((), 7u16);
    let p = a.patches(());
    assert_eq!((p.len(), p.patch_len()), (1, 1));
    assert_eq!(p.to_matrix(), ndarray::array![[7]]);
    assert_eq!(p.view()[()], 7);
}

#[test]
fn wrong_number_of_axes() {
    let a = ArrayD::<i32>::zeros(IxDyn(&[4, 4, 4]));
    assert_eq!(
        a.try_patches(IxDyn(&[2, 2])).unwrap_err(),
        PatchError::WrongNdim {
            argument: Argument::PatchShape,
            expected: 3,
            found: 2
        }
    );
    let p = a.patches(IxDyn(&[2, 2, 2]));
    assert_eq!(
        p.clone().try_step(IxDyn(&[1, 1, 1, 1])).unwrap_err(),
        PatchError::WrongNdim {
            argument: Argument::Step,
            expected: 3,
            found: 4
        }
    );
    assert_eq!(
        p.try_dilation(IxDyn(&[1])).unwrap_err(),
        PatchError::WrongNdim {
            argument: Argument::Dilation,
            expected: 3,
            found: 1
        }
    );
}

#[test]
fn overflowing_sizes() {
    let a = Array1::<u8>::zeros(10);
    assert_eq!(
        a.patches(2).try_dilation(usize::MAX).unwrap_err(),
        PatchError::Overflow {
            quantity: "patch extent"
        }
    );
    // A broadcast source whose patch matrix cannot be addressed.
    let one = Array1::<u64>::zeros(1);
    let huge = one.broadcast(usize::MAX / 4).unwrap();
    let p = huge.patches(1 << 40);
    assert!(matches!(
        p.try_to_matrix(),
        Err(PatchError::Overflow { .. })
    ));
    assert!(matches!(p.try_view(), Err(PatchError::Overflow { .. })));
    assert!(matches!(
        p.try_chunks(1 << 30),
        Err(PatchError::Overflow { .. })
    ));
    assert!(panic_message(|| {
        p.to_matrix();
    })
    .contains("overflows"));
    // Small chunks of the same virtual matrix are fine: nothing huge is allocated.
    let first = p.try_chunks(1).unwrap();
    assert_eq!(first.len(), p.len());
}

#[test]
fn huge_step_is_one_position_not_an_overflow() {
    let a = Array2::from_shape_fn((6, 6), |(i, j)| i * 6 + j);
    let p = a.patches((3, 3)).step((usize::MAX, usize::MAX));
    assert_eq!(p.len(), 1);
    assert_eq!(
        p.to_matrix().row(0).to_vec(),
        vec![0, 1, 2, 6, 7, 8, 12, 13, 14]
    );
}

#[test]
fn write_rows_out_of_range_or_wrong_width() {
    let a = Array2::<f32>::zeros((6, 6));
    let p = a.patches((3, 3)); // 16 patches of 9
    let mut buf = Array2::<f32>::zeros((4, 9));
    assert_eq!(
        p.try_write_rows(13, buf.view_mut()),
        Err(PatchError::RowsOutOfRange {
            start: 13,
            rows: 4,
            len: 16
        })
    );
    assert_eq!(
        p.try_write_rows(usize::MAX, buf.view_mut()),
        Err(PatchError::RowsOutOfRange {
            start: usize::MAX,
            rows: 4,
            len: 16
        })
    );
    let mut narrow = Array2::<f32>::zeros((4, 8));
    assert_eq!(
        p.try_write_rows(0, narrow.view_mut()),
        Err(PatchError::RowWidth {
            expected: 9,
            found: 8
        })
    );
    assert_eq!(
        panic_message(|| p.write_rows(13, buf.view_mut())),
        "rows 13..13+4 are out of range for 16 patches"
    );
    // An empty output is fine anywhere up to len.
    p.write_rows(16, buf.slice_mut(ndarray::s![..0, ..]));
}

#[test]
fn get_out_of_range() {
    let a = Array1::<u8>::zeros(5);
    let p = a.patches(2);
    assert_eq!(
        p.try_get(4).unwrap_err(),
        PatchError::RowsOutOfRange {
            start: 4,
            rows: 1,
            len: 4
        }
    );
    assert_eq!(
        panic_message(|| {
            p.get(4);
        }),
        "rows 4..4+1 are out of range for 4 patches"
    );
}

#[test]
fn chunks_of_zero_rows() {
    let a = Array1::<u8>::zeros(5);
    assert_eq!(
        a.patches(2).try_chunks(0).unwrap_err(),
        PatchError::ZeroChunkRows
    );
}

#[test]
fn errors_are_std_errors() {
    fn takes(_: &dyn std::error::Error) {}
    takes(&PatchError::ZeroChunkRows);
}

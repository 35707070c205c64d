//! Bad input is a clear error from `try_` methods and the same message in a
//! panic from their twins; never undefined behaviour.

use ndarray::{Array, Array1, Array2, ArrayD, Ix0, IxDyn};
use ndarray_patches::prelude::*;
use ndarray_patches::{pad, try_pad, Argument, Edge, Fold, Pad, PatchError, Window, WindowWeights};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn panic_message(f: impl FnOnce()) -> String {
    let e = catch_unwind(AssertUnwindSafe(f)).expect_err("should panic");
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
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
    // Padding an empty array by reading it, padded views and folds of an
    // empty shape: EmptyArray, with the empty axis.
    let e = Array2::<f64>::zeros((3, 0));
    for mode in [Pad::Edge, Pad::Reflect, Pad::Symmetric, Pad::Wrap] {
        assert_eq!(
            try_pad(&e, 1, 2, mode).unwrap_err(),
            PatchError::EmptyArray { axis: 1 }
        );
    }
    // A constant needs no element to read: the padded array is all padding.
    assert_eq!(
        try_pad(&e, 1, (0, 2), Pad::Constant(4.0)).unwrap(),
        Array2::from_elem((4, 3), 4.0)
    );
    for edge in [Edge::Valid, Edge::Same, Edge::Cover] {
        for mode in [Pad::Constant(0.0), Pad::Edge] {
            assert_eq!(
                e.try_padded(&Window::new((1, 1)), edge, mode).unwrap_err(),
                PatchError::EmptyArray { axis: 1 }
            );
        }
        assert_eq!(
            Fold::try_new((0, 9), &Window::new((1, 1)), edge).unwrap_err(),
            PatchError::EmptyArray { axis: 0 }
        );
    }
    assert_eq!(
        d.try_padded(&Window::new(IxDyn(&[1, 1, 1])), Edge::Same, Pad::Wrap)
            .unwrap_err(),
        PatchError::EmptyArray { axis: 1 }
    );
    assert_eq!(
        panic_message(|| {
            e.padded(&Window::new((1, 1)), Edge::Same, Pad::Edge);
        }),
        "the array is empty (axis 1 has length 0)"
    );
}

#[test]
fn zero_dimensional_array_has_one_patch() {
    let a = Array::from_elem((), 7u16);
    let p = a.patches(Ix0());
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
    assert!(panic_message(|| {
        p.chunks(1 << 30);
    })
    .contains("overflows"));
    assert!(panic_message(|| {
        p.to_matrix();
    })
    .contains("overflows"));
    // Small chunks of the same virtual matrix are fine: nothing huge is allocated.
    let first = p.chunks(1);
    assert_eq!(first.len(), p.len());
    // Sizes are checked in the output type: 2^31 patches of 2^30 u8 are
    // 2^61 bytes (addressable), but 2^64 bytes as f64.
    let small = Array1::<u8>::zeros(1);
    let wide = small.broadcast((1 << 31) + (1 << 30) - 1).unwrap();
    let q = wide.patches(1 << 30);
    assert_eq!(q.len(), 1 << 31);
    assert_eq!(q.matrix_bytes(), Ok(1 << 61));
    assert!(matches!(
        q.cast::<f64>().matrix_bytes(),
        Err(PatchError::Overflow { .. })
    ));
    assert!(matches!(
        q.map_elems(|x: u8| f64::from(x)).try_to_matrix(),
        Err(PatchError::Overflow { .. })
    ));
    assert_eq!(q.chunks(1 << 32).len(), 1); // 2^62 bytes of u8: fine
                                            // Addressable but not allocatable: an error, not an abort.
    assert!(matches!(
        q.try_to_matrix(),
        Err(PatchError::OutOfMemory { bytes, .. }) if bytes == 1 << 61
    ));
    assert!(panic_message(|| {
        q.cast::<f64>().chunks(1 << 32);
    })
    .contains("overflows"));
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
            end: 17,
            len: 16
        })
    );
    assert_eq!(
        p.try_write_rows(usize::MAX, buf.view_mut()),
        Err(PatchError::RowsOutOfRange {
            start: usize::MAX,
            end: usize::MAX,
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
        p.cast::<f64>()
            .try_write_rows(0, Array2::<f64>::zeros((4, 10)).view_mut()),
        Err(PatchError::RowWidth {
            expected: 9,
            found: 10
        })
    );
    assert_eq!(
        panic_message(|| p.write_rows(13, buf.view_mut())),
        "rows 13..17 are out of range for 16 patches"
    );
    // An empty output is fine anywhere up to len.
    p.write_rows(16, buf.slice_mut(ndarray::s![..0, ..]));
}

#[test]
fn get_and_position_out_of_range() {
    let a = Array1::<u8>::zeros(5);
    let p = a.patches(2); // 4 patches
    assert!(p.get(4).is_none());
    assert!(p.get(usize::MAX).is_none());
    assert_eq!(p.get(3).unwrap().len(), 2);
    assert_eq!(p.position(4), None);
    assert_eq!(p.position(3).unwrap().origin, ndarray::Dim([3]));
    // One row out of range: its own message.
    assert_eq!(
        p.try_select(&[1, 4]).unwrap_err(),
        PatchError::RowNotInSet {
            row: 4,
            start: 0,
            end: 4
        }
    );
    assert_eq!(
        panic_message(|| {
            p.select(&[4]);
        }),
        "row 4 is not in the rows 0..4 it was selected from"
    );
}

#[test]
fn error_messages() {
    // Every variant's Display, as the panicking twins print it.
    let cases: Vec<(PatchError, &str)> = vec![
        (
            PatchError::Zero {
                argument: Argument::Dilation,
                axis: 2,
            },
            "dilation is zero on axis 2; it must be at least 1",
        ),
        (
            PatchError::PatchTooLarge {
                axis: 0,
                extent: 9,
                len: 4,
            },
            "patch extent 9 on axis 0 is larger than the array's length 4 on that axis",
        ),
        (
            PatchError::EmptyArray { axis: 3 },
            "the array is empty (axis 3 has length 0)",
        ),
        (
            PatchError::WrongNdim {
                argument: Argument::PadBefore,
                expected: 3,
                found: 2,
            },
            "padding before has 2 axes but the array has 3 axes",
        ),
        (
            PatchError::WrongNdim {
                argument: Argument::PadAfter,
                expected: 1,
                found: 2,
            },
            "padding after has 2 axes but the array has 1 axis",
        ),
        (
            PatchError::WrongNdim {
                argument: Argument::PatchShape,
                expected: 2,
                found: 1,
            },
            "patch shape has 1 axis but the array has 2 axes",
        ),
        (
            PatchError::Overflow {
                quantity: "padded shape",
            },
            "padded shape overflows the machine's address range",
        ),
        (
            PatchError::RowsOutOfRange {
                start: 7,
                end: 2,
                len: 10,
            },
            "row range 7..2 is decreasing",
        ),
        (
            PatchError::RowsOutOfRange {
                start: 10,
                end: 11,
                len: 10,
            },
            "row 10 is out of range for 10 patches",
        ),
        (
            PatchError::RowsOutOfRange {
                start: 8,
                end: 12,
                len: 10,
            },
            "rows 8..12 are out of range for 10 patches",
        ),
        (
            PatchError::RowWidth {
                expected: 9,
                found: 8,
            },
            "output rows have 8 columns but a patch has 9 elements",
        ),
        (
            PatchError::ShapeMismatch {
                operand: "w (length)",
                expected: 9,
                found: 8,
            },
            "w (length) has length 8, but 9 is needed",
        ),
        (
            PatchError::WeightsShape {
                expected: vec![3, 3],
                found: vec![3, 2],
            },
            "window weights have shape [3, 2], but the patch shape is [3, 3]",
        ),
        (
            PatchError::InvalidSamplingWeight { row: 4 },
            "the sampling weight of patch 4 is negative, infinite or NaN",
        ),
        (
            PatchError::InvalidWindowWeight { element: 5 },
            "window weight 5 (row-major) is negative, infinite or NaN",
        ),
        (
            PatchError::InvalidSigma { sigma: -1.5 },
            "the Gaussian window's sigma is -1.5; it must be finite and positive",
        ),
        (
            PatchError::InvalidSigma { sigma: f64::NAN },
            "the Gaussian window's sigma is NaN; it must be finite and positive",
        ),
        (
            PatchError::NotEnoughPatches {
                needed: 5,
                found: 3,
            },
            "needs at least 5 patches, there are 3",
        ),
        (
            PatchError::OutOfMemory {
                bytes: 3 << 29,
                what: "the patch matrix",
            },
            "could not allocate 1610612736 bytes (1.5 GiB) for the patch matrix; stream the rows \
             instead (for_each_chunk, par_for_each_chunk, par_map_chunks, write_rows)",
        ),
        (
            PatchError::InvalidAxes {
                axes: vec![2, 1],
                ndim: 4,
            },
            "windowed axes must be strictly increasing, but 1 comes after 2 (axes [2, 1])",
        ),
        (
            PatchError::InvalidAxes {
                axes: vec![],
                ndim: 1,
            },
            "no windowed axes given; name at least one of the array's 1 axis",
        ),
        (
            PatchError::ZeroWindowWeights,
            "every window weight is 0 (a Gaussian's sigma too small for its window?); \
             nothing would be folded",
        ),
    ];
    for (e, msg) in cases {
        assert_eq!(e.to_string(), msg, "{e:?}");
    }
}

#[test]
fn pad_with_the_wrong_number_of_axes() {
    let d = ArrayD::<u8>::zeros(IxDyn(&[2, 2, 2]));
    assert_eq!(
        try_pad(&d, IxDyn(&[1, 1]), IxDyn(&[1, 1, 1]), Pad::Edge).unwrap_err(),
        PatchError::WrongNdim {
            argument: Argument::PadBefore,
            expected: 3,
            found: 2
        }
    );
    assert_eq!(
        try_pad(&d, vec![1, 1, 1], vec![1, 1, 1, 1], Pad::Constant(0)).unwrap_err(),
        PatchError::WrongNdim {
            argument: Argument::PadAfter,
            expected: 3,
            found: 4
        }
    );
    assert_eq!(
        panic_message(|| {
            pad(&d, &[1usize, 2][..], 1, Pad::Reflect);
        }),
        "padding before has 2 axes but the array has 3 axes"
    );
    // A single number is every axis, whatever their number.
    assert_eq!(try_pad(&d, 1, 2, Pad::Edge).unwrap().shape(), &[5, 5, 5]);
}

#[test]
fn window_weights_errors() {
    let w = Window::new((3, 3));
    let f = Fold::new((5, 5), &w, Edge::Valid);
    assert_eq!(
        f.clone()
            .try_weighted(WindowWeights::Custom(Array2::ones((3, 2))))
            .unwrap_err(),
        PatchError::WeightsShape {
            expected: vec![3, 3],
            found: vec![3, 2]
        }
    );
    let mut bad = Array2::<f64>::ones((3, 3));
    bad[[1, 2]] = -0.5;
    assert_eq!(
        f.clone()
            .try_weighted(WindowWeights::Custom(bad.clone()))
            .unwrap_err(),
        PatchError::InvalidWindowWeight { element: 5 }
    );
    bad[[1, 2]] = 1.0;
    bad[[2, 0]] = f64::INFINITY;
    assert_eq!(
        f.clone()
            .try_weighted(WindowWeights::Custom(bad))
            .unwrap_err(),
        PatchError::InvalidWindowWeight { element: 6 }
    );
    for sigma in [0.0, -1.0, f64::INFINITY] {
        assert_eq!(
            f.clone()
                .try_weighted(WindowWeights::Gaussian(sigma))
                .unwrap_err(),
            PatchError::InvalidSigma { sigma }
        );
    }
    assert!(matches!(
        f.clone().try_weighted(WindowWeights::Gaussian(f64::NAN)),
        Err(PatchError::InvalidSigma { sigma }) if sigma.is_nan()
    ));
    assert_eq!(
        panic_message(|| {
            let _ = f.clone().weighted(WindowWeights::Gaussian(-2.0));
        }),
        "the Gaussian window's sigma is -2; it must be finite and positive"
    );
    assert_eq!(
        f.clone()
            .try_weighted(WindowWeights::Custom(Array2::zeros((3, 3))))
            .unwrap_err(),
        PatchError::ZeroWindowWeights
    );
    // Valid weights are accepted.
    assert!(f
        .clone()
        .try_weighted(WindowWeights::Custom(Array2::from_elem((3, 3), 0.5)))
        .is_ok());
    assert!(f.try_weighted(WindowWeights::Gaussian(0.7)).is_ok());
}

#[test]
fn errors_are_std_errors() {
    fn takes(e: &dyn std::error::Error) -> String {
        e.to_string()
    }
    assert_eq!(
        takes(&PatchError::EmptyArray { axis: 0 }),
        "the array is empty (axis 0 has length 0)"
    );
}

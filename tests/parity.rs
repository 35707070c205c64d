//! Parity with numpy, scikit-image and scikit-learn: expected outputs made
//! once by `tests/parity_gen.py` and pasted here.

use ndarray::{array, Array, Array1, Array2, Array3, IxDyn};
use ndarray_patches::prelude::*;

#[test]
fn numpy_sliding_window_view_2d() {
    // np.ascontiguousarray(sliding_window_view(np.arange(20).reshape(4, 5), (2, 3))).reshape(-1, 6)
    let a = Array::from_iter(0..20)
        .into_shape_with_order((4, 5))
        .unwrap();
    let expected = array![
        [0, 1, 2, 5, 6, 7],
        [1, 2, 3, 6, 7, 8],
        [2, 3, 4, 7, 8, 9],
        [5, 6, 7, 10, 11, 12],
        [6, 7, 8, 11, 12, 13],
        [7, 8, 9, 12, 13, 14],
        [10, 11, 12, 15, 16, 17],
        [11, 12, 13, 16, 17, 18],
        [12, 13, 14, 17, 18, 19]
    ];
    let p = a.patches((2, 3));
    assert_eq!(p.to_matrix(), expected);
    // The 4-D view is numpy's sliding_window_view itself.
    let v = p.view();
    assert_eq!(v.shape(), &[3, 3, 2, 3]);
    assert_eq!(
        v.to_owned().into_shape_with_order((9, 6)).unwrap(),
        expected
    );
}

#[test]
fn numpy_sliding_window_view_3d() {
    // sliding_window_view(np.arange(24).reshape(2, 3, 4), (2, 2, 3)).reshape(-1, 12)
    let a = Array::from_iter(0..24)
        .into_shape_with_order((2, 3, 4))
        .unwrap();
    let expected = array![
        [0, 1, 2, 4, 5, 6, 12, 13, 14, 16, 17, 18],
        [1, 2, 3, 5, 6, 7, 13, 14, 15, 17, 18, 19],
        [4, 5, 6, 8, 9, 10, 16, 17, 18, 20, 21, 22],
        [5, 6, 7, 9, 10, 11, 17, 18, 19, 21, 22, 23]
    ];
    assert_eq!(a.patches((2, 2, 3)).to_matrix(), expected);
    assert_eq!(
        a.into_dyn().patches(IxDyn(&[2, 2, 3])).to_matrix(),
        expected
    );
}

#[test]
fn numpy_1d_with_step() {
    // sliding_window_view(np.arange(8), 3)[::2]
    let a = Array1::from_iter(0..8);
    assert_eq!(
        a.patches(3).step(2).to_matrix(),
        array![[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    );
}

#[test]
fn skimage_view_as_windows_with_step() {
    // view_as_windows(np.arange(42).reshape(7, 6), (3, 2), step=(2, 3)).reshape(-1, 6)
    let a = Array::from_iter(0..42)
        .into_shape_with_order((7, 6))
        .unwrap();
    let expected = array![
        [0, 1, 6, 7, 12, 13],
        [3, 4, 9, 10, 15, 16],
        [12, 13, 18, 19, 24, 25],
        [15, 16, 21, 22, 27, 28],
        [24, 25, 30, 31, 36, 37],
        [27, 28, 33, 34, 39, 40]
    ];
    let p = a.patches((3, 2)).step((2, 3));
    assert_eq!(p.grid(), ndarray::Dim([3, 2]));
    assert_eq!(p.to_matrix(), expected);
}

#[test]
fn sklearn_extract_patches_2d_multichannel() {
    // extract_patches_2d(np.arange(36).reshape(3, 4, 3), (2, 2)).reshape(-1, 12)
    let a: Array3<i64> = Array::from_iter(0..36)
        .into_shape_with_order((3, 4, 3))
        .unwrap();
    let expected = array![
        [0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17],
        [3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 19, 20],
        [6, 7, 8, 9, 10, 11, 18, 19, 20, 21, 22, 23],
        [12, 13, 14, 15, 16, 17, 24, 25, 26, 27, 28, 29],
        [15, 16, 17, 18, 19, 20, 27, 28, 29, 30, 31, 32],
        [18, 19, 20, 21, 22, 23, 30, 31, 32, 33, 34, 35]
    ];
    assert_eq!(a.patches((2, 2, 3)).to_matrix(), expected);
}

#[test]
fn torch_unfold_dilation() {
    // torch.nn.functional.unfold(arange(30).reshape(1, 1, 5, 6), (2, 2), dilation=(2, 3)).T
    let a = Array::from_iter(0..30)
        .into_shape_with_order((5, 6))
        .unwrap();
    let expected = array![
        [0, 3, 12, 15],
        [1, 4, 13, 16],
        [2, 5, 14, 17],
        [6, 9, 18, 21],
        [7, 10, 19, 22],
        [8, 11, 20, 23],
        [12, 15, 24, 27],
        [13, 16, 25, 28],
        [14, 17, 26, 29]
    ];
    assert_eq!(a.patches((2, 2)).dilation((2, 3)).to_matrix(), expected);
    assert_eq!(a.patches(2).dilation((2, 3)).to_matrix(), expected);
}

#[test]
fn design_doc_shapes() {
    let img = Array2::<f32>::zeros((100, 100));
    let p = img.patches((39, 39));
    assert_eq!(p.view().shape(), &[62, 62, 39, 39]);
    assert_eq!(img.patches(39).view().shape(), &[62, 62, 39, 39]);
    assert_eq!(p.to_matrix().dim(), (3844, 1521));
    // The view points into the image: no copy.
    assert_eq!(p.view().as_ptr(), img.as_ptr());
}

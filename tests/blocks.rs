//! Blocks: read-only tiles equal skimage's view_as_blocks; mutable blocks
//! cover each element at most once, in order and in parallel.

use ndarray::{array, Array2, Array3, ArrayD, IxDyn};
use ndarray_patches::prelude::*;
use ndarray_patches::PatchError;

#[test]
fn skimage_view_as_blocks() {
    // view_as_blocks(np.arange(16).reshape(4, 4), (2, 2)).reshape(-1, 4)
    let a = Array2::from_shape_fn((4, 4), |(i, j)| 4 * i + j);
    assert_eq!(
        a.blocks((2, 2)).to_matrix(),
        array![[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
    );
    // One number is a square block.
    assert_eq!(a.blocks(2).to_matrix(), a.blocks((2, 2)).to_matrix());
    assert_eq!(a.blocks(2).window(), a.blocks([2, 2]).window());
    assert_eq!(a.blocks(2).window().step, ndarray::Dim([2, 2]));
    let d = a.into_dyn();
    assert_eq!(
        d.blocks(2).to_matrix(),
        array![[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
    );
}

#[test]
fn single_number_mutable_blocks() {
    let mut a = Array2::<i32>::zeros((7, 8));
    let mut b = Array2::<i32>::zeros((7, 8));
    let mut d = ArrayD::<i32>::zeros(IxDyn(&[7, 8]));
    assert_eq!(a.blocks_mut(3).grid(), ndarray::Dim([2, 2]));
    for (k, mut blk) in a.blocks_mut(3).into_iter().enumerate() {
        blk.fill(k as i32 + 1);
    }
    for (k, mut blk) in b.blocks_mut((3, 3)).into_iter().enumerate() {
        blk.fill(k as i32 + 1);
    }
    d.blocks_mut(3)
        .par_for_each(|k, mut blk| blk.fill(k as i32 + 1));
    assert_eq!(a, b);
    assert_eq!(d, b.into_dyn());
}

#[test]
fn mutable_blocks_in_order_and_remainder_untouched() {
    let mut a = Array2::<i32>::zeros((7, 8));
    let b = a.blocks_mut((3, 3));
    assert_eq!((b.len(), b.grid()), (4, ndarray::Dim([2, 2])));
    for (k, mut blk) in b.into_iter().enumerate() {
        blk.fill(k as i32 + 1);
    }
    for ((i, j), &v) in a.indexed_iter() {
        let want = if i < 6 && j < 6 {
            (i / 3 * 2 + j / 3) as i32 + 1
        } else {
            0
        };
        assert_eq!(v, want, "({i}, {j})");
    }
}

#[test]
fn parallel_blocks_each_element_once() {
    let mut a = Array3::<u32>::zeros((16, 18, 3));
    a.blocks_mut((4, 6, 3))
        .par_for_each(|k, mut b| b.mapv_inplace(|x| x + 1 + 100 * k as u32));
    // Every element written exactly once, with its block's number.
    for ((i, j, _), &v) in a.indexed_iter() {
        assert_eq!(v, 1 + 100 * (i / 4 * 3 + j / 6) as u32);
    }
    let mut d = ArrayD::<u8>::zeros(IxDyn(&[4, 4, 4, 4]));
    d.blocks_mut(IxDyn(&[2, 2, 2, 2]))
        .par_for_each(|k, mut b| b.fill(k as u8));
    assert_eq!(d[IxDyn(&[3, 3, 3, 3])], 15);
}

#[test]
fn bad_blocks() {
    let mut a = Array2::<u8>::zeros((4, 4));
    assert!(matches!(
        a.try_blocks((5, 2)),
        Err(PatchError::PatchTooLarge { .. })
    ));
    assert!(matches!(
        a.try_blocks_mut((2, 0)),
        Err(PatchError::Zero { .. })
    ));
    let mut d = ArrayD::<u8>::zeros(IxDyn(&[4, 4]));
    assert!(matches!(
        d.try_blocks_mut(IxDyn(&[2])),
        Err(PatchError::WrongNdim { .. })
    ));
}

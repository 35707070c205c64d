//! `row_of` against an independent enumeration: every source index is the
//! origin of the window whose first element it is, or of none.

use ndarray::{ArrayD, IxDyn};
use ndarray_patches::prelude::*;
use proptest::prelude::*;

mod common;

proptest! {
    #[test]
    fn row_of_inverts_position(
        dims in proptest::collection::vec((1usize..9, 1usize..4, 1usize..4, 1usize..3), 1..4)
    ) {
        let shape: Vec<usize> = dims.iter().map(|d| d.0).collect();
        let patch: Vec<usize> = dims.iter().map(|d| d.1).collect();
        let step: Vec<usize> = dims.iter().map(|d| d.2).collect();
        let dil: Vec<usize> = dims.iter().map(|d| d.3).collect();
        let a = ArrayD::<u8>::zeros(IxDyn(&shape));
        let Ok(p) = a.try_patches(patch.clone()).and_then(|p| p.try_step(step.clone())).and_then(|p| p.try_dilation(dil.clone())) else {
            return Ok(());
        };
        // The origins of rows 0, 1, ... by nested loops: per axis, the
        // multiples of the step whose window fits, in row-major order.
        let per_axis: Vec<Vec<usize>> = (0..shape.len())
            .map(|k| (0..shape[k]).step_by(step[k]).filter(|&o| o + dil[k] * (patch[k] - 1) < shape[k]).collect())
            .collect();
        let lens: Vec<usize> = per_axis.iter().map(|o| o.len()).collect();
        let expected: Vec<Vec<usize>> = common::indices(&lens)
            .into_iter()
            .map(|g| g.iter().enumerate().map(|(k, &i)| per_axis[k][i]).collect())
            .collect();
        prop_assert_eq!(expected.len(), p.len());
        for idx in common::indices(&shape) {
            let want = expected.iter().position(|o| *o == idx);
            prop_assert_eq!(p.row_of(idx.clone()), want, "origin {:?}", idx);
        }
        for r in 0..p.len() {
            let origin = p.position(r).unwrap().origin;
            prop_assert_eq!(p.row_of(origin), Some(r));
        }
    }
}

#[test]
fn fixed_dimensions_and_single_numbers() {
    let img = ndarray::Array2::<f32>::zeros((9, 9));
    let p = img.patches(3).step(2); // origins 0, 2, 4, 6
    assert_eq!(p.row_of((6, 6)), Some(15));
    assert_eq!(p.row_of(2), Some(5)); // (2, 2)
    assert_eq!(p.row_of((8, 0)), None);
    assert_eq!(p.row_of((1, 0)), None);
    let v = ndarray::Array1::<u8>::zeros(7);
    assert_eq!(v.patches(3).row_of(4), Some(4));
    assert_eq!(v.patches(3).row_of(5), None);
}

//! Reconstruction: parity with scikit-learn, and extraction then fold returns
//! every covered element for random geometries, edge policies, pad modes and
//! window weights, with the covered set equal to an independent enumeration.

use ndarray::{array, Array, Array1, Array2, ArrayD, ArrayView2, Dimension, IxDyn};
use ndarray_patches::prelude::*;
use ndarray_patches::{
    reconstruct, Anchor, Edge, Fold, Pad, PatchError, Reduction, Window, WindowWeights,
};
use proptest::prelude::*;

#[test]
fn sklearn_reconstruct_from_patches_2d() {
    // Patches of arange(20).reshape(4, 5) multiplied by 1..9 (so overlaps
    // disagree), then reconstruct_from_patches_2d(p, (4, 5)).
    let rows = array![
        [0.0, 1.0, 2.0, 5.0, 6.0, 7.0],
        [2.0, 4.0, 6.0, 12.0, 14.0, 16.0],
        [6.0, 9.0, 12.0, 21.0, 24.0, 27.0],
        [20.0, 24.0, 28.0, 40.0, 44.0, 48.0],
        [30.0, 35.0, 40.0, 55.0, 60.0, 65.0],
        [42.0, 48.0, 54.0, 72.0, 78.0, 84.0],
        [70.0, 77.0, 84.0, 105.0, 112.0, 119.0],
        [88.0, 96.0, 104.0, 128.0, 136.0, 144.0],
        [108.0, 117.0, 126.0, 153.0, 162.0, 171.0]
    ];
    let expected = array![
        [0.0, 1.5, 4.0, 7.5, 12.0],
        [12.5, 18.0, 24.5, 32.0, 40.5],
        [55.0, 66.0, 78.0, 91.0, 105.0],
        [105.0, 120.0, 136.0, 153.0, 171.0]
    ];
    let got: Array2<f64> = reconstruct(&rows, (4, 5), (2, 3));
    assert!((&got - &expected).iter().all(|d| d.abs() < 1e-9), "{got}");
}

#[test]
fn sum_is_torch_fold() {
    // torch.nn.functional.fold of ones: the number of windows covering each
    // element (3x3 windows, step 2, on 5x6... padded to cover).
    let mut f = Fold::new((5, 5), &Window::new((3, 3)).step((2, 2)), Edge::Valid);
    f.add_rows(0, &Array2::<f32>::ones((4, 9)));
    let sum = f.finish::<f32>(Reduction::Sum).image;
    assert_eq!(
        sum,
        array![
            [1., 1., 2., 1., 1.],
            [1., 1., 2., 1., 1.],
            [2., 2., 4., 2., 2.],
            [1., 1., 2., 1., 1.],
            [1., 1., 2., 1., 1.]
        ]
    );
}

/// Per axis: the source indices some window covers.
fn covered_1d(n: usize, p: usize, s: usize, d: usize, edge: Edge) -> Vec<bool> {
    let e = d * (p - 1) + 1;
    let (before, after) = match edge {
        Edge::Valid => (0, 0),
        Edge::Same => ((e - 1) / 2, e - 1 - (e - 1) / 2),
        _ => (
            0,
            if n <= e {
                e - n
            } else {
                (n - e).div_ceil(s) * s + e - n
            },
        ),
    };
    let len = n + before + after;
    let mut cov = vec![false; n];
    let mut o = 0;
    while o + e <= len {
        for j in 0..p {
            let i = (o + j * d) as isize - before as isize;
            if i >= 0 && (i as usize) < n {
                cov[i as usize] = true;
            }
        }
        o += s;
    }
    cov
}

fn edge_of(k: u8) -> Edge {
    [Edge::Valid, Edge::Same, Edge::Cover][k as usize % 3]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn extract_then_fold_returns_covered_elements(
        shape in prop::collection::vec(1usize..12, 1..4),
        ps in prop::collection::vec((1usize..5, 1usize..4, 1usize..3), 3),
        edge in 0u8..3,
        mode in 0u8..5,
        weights in 0u8..3,
        chunk in 1usize..30,
    ) {
        let nd = shape.len();
        let (patch, step, dil): (Vec<_>, Vec<_>, Vec<_>) =
            (ps[..nd].iter().map(|t| t.0).collect(), ps[..nd].iter().map(|t| t.1).collect(), ps[..nd].iter().map(|t| t.2).collect());
        let edge = edge_of(edge);
        let x = ArrayD::from_shape_fn(IxDyn(&shape), |i| (i.as_array_view().iter().fold(7usize, |h, &v| h * 31 + v) % 1000) as f64);
        let w = Window::new(IxDyn(&patch)).step(IxDyn(&step)).dilation(IxDyn(&dil));
        let pad = [Pad::Constant(-5.0), Pad::Edge, Pad::Reflect, Pad::Symmetric, Pad::Wrap][mode as usize];
        let Ok(padded) = x.try_padded(&w, edge, pad) else {
            // Only a Valid window larger than the array is refused.
            prop_assert!(edge == Edge::Valid);
            prop_assert!(Fold::try_new(IxDyn(&shape), &w, edge).is_err());
            return Ok(());
        };
        let p = padded.patches();
        let mut fold = Fold::new(IxDyn(&shape), &w, edge);
        prop_assert_eq!(fold.len(), p.len());
        fold = match weights {
            0 => fold,
            1 => fold.weighted(WindowWeights::Hann),
            _ => fold.weighted(WindowWeights::Gaussian(1.5)),
        };
        let mut counts = Fold::new(IxDyn(&shape), &w, edge);
        p.for_each_chunk(chunk, |start, rows: ArrayView2<'_, f64>| {
            fold.add_rows(start, &rows);
            counts.add_values(start, &Array1::<f64>::ones(rows.nrows()));
        });
        let out = fold.finish::<f64>(Reduction::Mean);
        let n_cover = counts.finish::<f64>(Reduction::Sum);
        // The covered set is the product of the per-axis covered sets.
        let per_axis: Vec<Vec<bool>> = (0..nd).map(|k| covered_1d(shape[k], patch[k], step[k], dil[k], edge)).collect();
        for (idx, &c) in out.covered.indexed_iter() {
            let want = (0..nd).all(|k| per_axis[k][idx[k]]);
            prop_assert_eq!(c, want, "at {:?}", idx);
            if c {
                prop_assert!((out.image[&idx] - x[&idx]).abs() < 1e-9);
                prop_assert!(n_cover.image[&idx] >= 1.0);
            } else {
                prop_assert_eq!(out.image[&idx], 0.0);
            }
        }
        prop_assert_eq!(out.uncovered, out.covered.iter().filter(|&&c| !c).count());
    }
}

#[test]
fn same_map_of_predictions_covers_every_pixel() {
    let img = Array2::from_shape_fn((9, 11), |(i, j)| (i * 11 + j) as f32);
    for k in [2usize, 3, 4] {
        let w = Window::new((k, k));
        let p = img.padded(&w, Edge::Same, Pad::Edge);
        // The value of each window: its centre element, read from the window.
        let c = (k - 1) / 2;
        let vals: Array1<f32> = p.patches().iter().map(|x| x[[c, c]]).collect();
        let map = Fold::new((9, 11), &w, Edge::Same).place(&vals, Anchor::Centre);
        assert_eq!(map.uncovered, 0);
        assert_eq!(map.image, img, "k={k}");
    }
    // Larger steps: spread and averaged over the footprints.
    let w = Window::new((4, 4)).step((4, 4));
    let mut f = Fold::new((9, 11), &w, Edge::Cover);
    f.add_values(0, &Array::from_iter((0..9).map(f64::from)));
    let out = f.finish::<f64>(Reduction::Mean);
    assert_eq!(out.uncovered, 0);
    assert_eq!(out.image[[5, 9]], 5.0);
}

#[test]
fn bad_folds() {
    let w = Window::new((3, 3));
    assert!(matches!(
        Fold::try_new((2, 9), &w, Edge::Valid),
        Err(PatchError::PatchTooLarge { .. })
    ));
    assert_eq!(
        Fold::try_new((0, 9), &w, Edge::Same).unwrap_err(),
        PatchError::EmptyArray { axis: 0 }
    );
    assert_eq!(
        Fold::try_new((4, 0), &w, Edge::Cover).unwrap_err(),
        PatchError::EmptyArray { axis: 1 }
    );
    let mut f = Fold::new((5, 5), &w, Edge::Valid);
    assert_eq!(
        f.try_add_rows(0, &Array2::<f32>::zeros((1, 8))),
        Err(PatchError::RowWidth {
            expected: 9,
            found: 8
        })
    );
    assert!(f.try_add_rows(8, &Array2::<f32>::zeros((2, 9))).is_err());
    assert_eq!(
        f.clone()
            .try_weighted(WindowWeights::Custom(Array2::ones((3, 2))))
            .unwrap_err(),
        PatchError::WeightsShape {
            expected: vec![3, 3],
            found: vec![3, 2]
        }
    );
    assert!(matches!(
        f.clone().try_weighted(WindowWeights::Gaussian(f64::NAN)),
        Err(PatchError::InvalidSigma { sigma }) if sigma.is_nan()
    ));
    let mut negative = Array2::<f64>::ones((3, 3));
    negative[[2, 1]] = -1.0;
    assert_eq!(
        f.clone()
            .try_weighted(WindowWeights::Custom(negative))
            .unwrap_err(),
        PatchError::InvalidWindowWeight { element: 7 }
    );
    assert!(
        ndarray_patches::try_reconstruct(&Array2::<f64>::zeros((8, 9)), (5, 5), (3, 3)).is_err()
    );
    // Non-contiguous rows are accepted.
    let rows = Array2::<f64>::ones((9, 9));
    f.add_rows(0, &rows.t());
}

#[test]
fn vectors_per_patch_become_channels() {
    let img = Array2::from_shape_fn((6, 7), |(i, j)| (i * 7 + j) as f64);
    let w = Window::new((3, 3));
    let p = img.padded(&w, Edge::Same, Pad::Edge);
    // Two "scores" per window: its centre and twice its centre.
    let scores = Array2::from_shape_fn((p.patches().len(), 2), |(r, c)| {
        p.patches().get(r).unwrap()[[1, 1]] * (c + 1) as f64
    });
    let placed = Fold::new((6, 7), &w, Edge::Same).place_vectors(&scores, Anchor::Centre);
    let (maps, covered) = (placed.maps, placed.covered);
    assert_eq!(maps.shape(), &[6, 7, 2]);
    assert!(covered.iter().all(|&c| c));
    assert_eq!(maps.index_axis(ndarray::Axis(2), 0), img);
    assert_eq!(maps.index_axis(ndarray::Axis(2), 1), &img * 2.0);
}

#[test]
fn single_number_window_steps_fold_like_tuples() {
    // A window's step and dilation given as one number fold exactly as the
    // per-axis forms, and patches of the padded image come back.
    let img = Array2::from_shape_fn((9, 10), |(i, j)| ((i * 10 + j) % 17) as f64);
    let one = Window::new((3, 3)).step(2).dilation(2);
    let tuple = Window::new((3, 3)).step((2, 2)).dilation((2, 2));
    assert_eq!(one, tuple);
    let p = img.padded(&one, Edge::Same, Pad::Reflect);
    assert_eq!(
        p.patches().to_matrix(),
        img.padded(&tuple, Edge::Same, Pad::Reflect)
            .patches()
            .to_matrix()
    );
    let mut f = Fold::new((9, 10), &one, Edge::Same);
    f.add_rows(0, &p.patches().to_matrix());
    let out = f.finish::<f64>(Reduction::Mean);
    // Same with step 2 and dilation 2 centres a window on every second
    // element and reads every second one: the even (i, j) are covered.
    for ((i, j), &c) in out.covered.indexed_iter() {
        assert_eq!(c, i % 2 == 0 && j % 2 == 0, "({i}, {j})");
        if c {
            assert_eq!(out.image[[i, j]], img[[i, j]]);
        }
    }
    assert_eq!(out.uncovered, 90 - 25);
}

#[test]
fn zero_dimensional_fold() {
    // A 0-axis image has one 0-axis patch; values and rows fold onto it.
    let w = Window::new(());
    let mut f = Fold::new((), &w, Edge::Valid);
    f.add_values(0, &array![2.5]);
    f.add_rows(0, &array![[3.5]]);
    assert_eq!(f.finish::<f64>(Reduction::Mean).image[()], 3.0);
}

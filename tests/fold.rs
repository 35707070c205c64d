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
    let mut f =
        Fold::new((5, 5), &Window::new((3, 3)).step((2, 2)), Edge::Valid).reducing(Reduction::Sum);
    f.add_rows(0, &Array2::<f32>::ones((4, 9)));
    let sum = f.finish::<f32>().image;
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

/// Per axis, from the edge policies' definitions: the padding before the
/// array and the window origins in the padded array (Shift: the Valid
/// origins, plus `n - e` if they do not reach the end).
fn origins_1d(n: usize, p: usize, s: usize, d: usize, edge: Edge) -> (usize, Vec<usize>) {
    let e = d * (p - 1) + 1;
    let (before, len) = padding_1d(n, p, s, d, edge);
    let mut origins: Vec<usize> = (0..len).step_by(s).take_while(|o| o + e <= len).collect();
    if edge == Edge::Shift && origins.last().is_some_and(|&o| o + e < n) {
        origins.push(n - e);
    }
    (before, origins)
}

/// Per axis: the source indices some window covers.
fn covered_1d(n: usize, p: usize, s: usize, d: usize, edge: Edge) -> Vec<bool> {
    let (before, origins) = origins_1d(n, p, s, d, edge);
    let mut cov = vec![false; n];
    for o in origins {
        for j in 0..p {
            let i = (o + j * d) as isize - before as isize;
            if i >= 0 && (i as usize) < n {
                cov[i as usize] = true;
            }
        }
    }
    cov
}

fn edge_of(k: u8) -> Edge {
    [Edge::Valid, Edge::Same, Edge::Cover, Edge::Shift][k as usize % 4]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn extract_then_fold_returns_covered_elements(
        shape in prop::collection::vec(1usize..12, 1..4),
        ps in prop::collection::vec((1usize..5, 1usize..4, 1usize..3), 3),
        edge in 0u8..4,
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
            // Only an unpadded window larger than the array is refused.
            prop_assert!(matches!(edge, Edge::Valid | Edge::Shift));
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
        let mut counts = Fold::new(IxDyn(&shape), &w, edge).reducing(Reduction::Sum);
        p.for_each_chunk(chunk, |start, rows: ArrayView2<'_, f64>| {
            fold.add_rows(start, &rows);
            counts.add_values(start, &Array1::<f64>::ones(rows.nrows()));
        });
        let out = fold.finish::<f64>();
        let n_cover = counts.finish::<f64>();
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
    let out = f.finish::<f64>();
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
    let out = f.finish::<f64>();
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
    assert_eq!(f.finish::<f64>().image[()], 3.0);
}

/// Per axis, from the edge policies' definitions: the padding before the
/// array and the padded length.
fn padding_1d(n: usize, p: usize, s: usize, d: usize, edge: Edge) -> (usize, usize) {
    let e = d * (p - 1) + 1;
    match edge {
        Edge::Valid | Edge::Shift => (0, n),
        Edge::Same => ((e - 1) / 2, n + e - 1),
        _ => (
            0,
            if n <= e {
                e
            } else {
                n + (n - e).div_ceil(s) * s + e - n
            },
        ),
    }
}

/// Row-major decode of `r` over `dims`.
fn unravel(mut r: usize, dims: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; dims.len()];
    for k in (0..dims.len()).rev() {
        idx[k] = r % dims[k];
        r /= dims[k];
    }
    idx
}

/// The fold by nested loops over windows (in row order) and their
/// elements: the image and the covered mask.
#[allow(clippy::too_many_arguments)]
fn naive_fold(
    shape: &[usize],
    patch: &[usize],
    step: &[usize],
    dil: &[usize],
    edge: Edge,
    rows: &Array2<f64>,
    weights: Option<&ArrayD<f64>>,
    reduction: Reduction,
) -> (ArrayD<f64>, ArrayD<bool>) {
    let nd = shape.len();
    let pads: Vec<_> = (0..nd)
        .map(|k| origins_1d(shape[k], patch[k], step[k], dil[k], edge))
        .collect();
    let grid: Vec<usize> = pads.iter().map(|(_, o)| o.len()).collect();
    assert_eq!(rows.nrows(), grid.iter().product::<usize>());
    let (mut sum, mut weight) = (ArrayD::zeros(IxDyn(shape)), ArrayD::zeros(IxDyn(shape)));
    let mut value = ArrayD::from_elem(IxDyn(shape), f64::NAN);
    let mut covered = ArrayD::from_elem(IxDyn(shape), false);
    let plen: usize = patch.iter().product();
    for r in 0..rows.nrows() {
        let g = unravel(r, &grid);
        'elements: for c in 0..plen {
            let j = unravel(c, patch);
            let mut at = vec![0; nd];
            for k in 0..nd {
                let i = (pads[k].1[g[k]] + j[k] * dil[k]) as isize - pads[k].0 as isize;
                if i < 0 || i as usize >= shape[k] {
                    continue 'elements;
                }
                at[k] = i as usize;
            }
            let x = rows[[r, c]];
            let w = weights.map_or(1.0, |w| w[IxDyn(&j)]);
            let at = IxDyn(&at);
            sum[at.clone()] += w * x;
            weight[at.clone()] += w;
            let v: &mut f64 = &mut value[at.clone()];
            *v = match reduction {
                Reduction::Max if !covered[at.clone()] || x > *v => x,
                Reduction::Min if !covered[at.clone()] || x < *v => x,
                Reduction::Last => x, // rows in increasing order
                _ => *v,
            };
            covered[at] = true;
        }
    }
    let image = match reduction {
        Reduction::Sum | Reduction::Mean => {
            covered = weight.mapv(|w: f64| w > 0.0);
            ndarray::Zip::from(&sum)
                .and(&weight)
                .map_collect(|&s, &w| match (reduction, w > 0.0) {
                    (_, false) => 0.0,
                    (Reduction::Sum, true) => s,
                    _ => s / w,
                })
        }
        _ => ndarray::Zip::from(&value)
            .and(&covered)
            .map_collect(|&v, &c| if c { v } else { 0.0 }),
    };
    (image, covered)
}

/// A permutation of `0..n` from `seed` (Fisher-Yates on an LCG).
fn shuffled(n: usize, mut seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        v.swap(i, (seed >> 33) as usize % (i + 1));
    }
    v
}

const REDUCTIONS: [Reduction; 5] = [
    Reduction::Sum,
    Reduction::Mean,
    Reduction::Max,
    Reduction::Min,
    Reduction::Last,
];

/// A pool of `threads` rayon threads.
fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// A fold's image and coverage, the image as bits.
fn bits(f: Fold<IxDyn>) -> (ArrayD<u64>, ArrayD<bool>) {
    let out = f.finish::<f64>();
    (out.image.mapv(f64::to_bits), out.covered)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Every reduction against the nested loops, rows (or one value per
    /// window) added in chunks in a shuffled order, on a pool of 1 to 3
    /// threads.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn reductions_match_nested_loops_in_any_chunk_order(
        shape in prop::collection::vec(1usize..10, 1..4),
        ps in prop::collection::vec((1usize..5, 1usize..4, 1usize..3), 3),
        edge in 0u8..4,
        reduction in 0usize..5,
        weighted in any::<bool>(),
        values in any::<bool>(),
        threads in 1usize..4,
        chunk in 1usize..20,
        seed in any::<u64>(),
    ) {
        let nd = shape.len();
        let (patch, step, dil): (Vec<_>, Vec<_>, Vec<_>) =
            (ps[..nd].iter().map(|t| t.0).collect(), ps[..nd].iter().map(|t| t.1).collect(), ps[..nd].iter().map(|t| t.2).collect());
        let edge = edge_of(edge);
        let reduction = REDUCTIONS[reduction];
        let additive = matches!(reduction, Reduction::Sum | Reduction::Mean);
        let weighted = weighted && additive;
        let w = Window::new(IxDyn(&patch)).step(IxDyn(&step)).dilation(IxDyn(&dil));
        let Ok(fold) = Fold::try_new(IxDyn(&shape), &w, edge) else {
            prop_assert!(matches!(edge, Edge::Valid | Edge::Shift));
            return Ok(());
        };
        let mut fold = fold.reducing(reduction);
        let hann = weighted.then(|| {
            ArrayD::from_shape_fn(IxDyn(&patch), |j| {
                (0..nd).map(|k| (std::f64::consts::PI * (j[k] + 1) as f64 / (patch[k] + 1) as f64).sin().powi(2)).product::<f64>()
            })
        });
        if weighted {
            fold = fold.weighted(WindowWeights::Hann);
        }
        let (n, plen) = (fold.len(), fold.patch_len());
        // Small integers, so overlaps tie and disagree; a value per window
        // is a row of copies.
        let per_window = Array1::from_shape_fn(n, |r| ((r * 7919 + 13) % 11) as f64 - 5.0);
        let rows = if values {
            Array2::from_shape_fn((n, plen), |(r, _)| per_window[r])
        } else {
            Array2::from_shape_fn((n, plen), |(r, c)| ((r * 31 + c * 17 + seed as usize % 7) % 13) as f64 - 6.0)
        };
        let starts: Vec<usize> = (0..n).step_by(chunk).collect();
        pool(threads).install(|| {
            for k in shuffled(starts.len(), seed) {
                let (a, b) = (starts[k], (starts[k] + chunk).min(n));
                if values {
                    fold.add_values(a, &per_window.slice(ndarray::s![a..b]));
                } else {
                    fold.add_rows(a, &rows.slice(ndarray::s![a..b, ..]));
                }
            }
        });
        let out = fold.finish::<f64>();
        let (want, covered) = naive_fold(&shape, &patch, &step, &dil, edge, &rows, hann.as_ref(), reduction);
        prop_assert_eq!(&out.covered, &covered);
        prop_assert_eq!(out.uncovered, covered.iter().filter(|&&c| !c).count());
        if additive {
            for (g, w) in out.image.iter().zip(&want) {
                prop_assert!((g - w).abs() <= 1e-9 * (1.0 + w.abs()), "{} vs {}", g, w);
            }
        } else {
            prop_assert_eq!(&out.image, &want);
        }
    }

    /// `add_rows` (in chunks or all at once) and `fold_into` on pools of
    /// several threads give the one-thread result to the bit, for every
    /// reduction, for all rows or a range of them.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn parallel_folds_are_bit_identical(
        shape in prop::collection::vec(1usize..14, 1..4),
        ps in prop::collection::vec((1usize..5, 1usize..4, 1usize..3), 3),
        edge in 0u8..4,
        reduction in 0usize..5,
        weighted in any::<bool>(),
        threads in 2usize..6,
        cut in (0.0f64..1.0, 0.0f64..1.0),
    ) {
        let nd = shape.len();
        let (patch, step, dil): (Vec<_>, Vec<_>, Vec<_>) =
            (ps[..nd].iter().map(|t| t.0).collect(), ps[..nd].iter().map(|t| t.1).collect(), ps[..nd].iter().map(|t| t.2).collect());
        let edge = edge_of(edge);
        let reduction = REDUCTIONS[reduction];
        let w = Window::new(IxDyn(&patch)).step(IxDyn(&step)).dilation(IxDyn(&dil));
        let x = ArrayD::from_shape_fn(IxDyn(&shape), |i| (i.as_array_view().iter().fold(7usize, |h, &v| h * 31 + v) % 1000) as f32 / 7.0);
        let Ok(padded) = x.try_padded(&w, edge, Pad::Symmetric) else {
            return Ok(());
        };
        let p = padded.patches();
        let (a, b) = ((cut.0 * p.len() as f64) as usize, (cut.1 * p.len() as f64) as usize);
        let range = a.min(b)..a.max(b);
        let mut fold = Fold::new(IxDyn(&shape), &w, edge).reducing(reduction);
        if weighted && matches!(reduction, Reduction::Sum | Reduction::Mean) {
            fold = fold.weighted(WindowWeights::Gaussian(1.3));
        }
        let (mut one, mut chunks, mut whole, mut into) = (fold.clone(), fold.clone(), fold.clone(), fold);
        let rows = p.rows(range.clone());
        pool(1).install(|| rows.for_each_chunk(7, |start, rows| one.add_rows(start, &rows)));
        pool(threads).install(|| {
            rows.for_each_chunk(50, |start, rows| chunks.add_rows(start, &rows));
            whole.add_rows(range.start, &rows.to_matrix());
            rows.fold_into(&mut into);
        });
        let want = bits(one);
        prop_assert_eq!(bits(chunks), want.clone());
        prop_assert_eq!(bits(whole), want.clone());
        prop_assert_eq!(bits(into), want);
    }
}

/// Images large enough for `add_rows`, `add_values` and `fold_into` to
/// split their work: every reduction, weighted or not, gives the same bits
/// on 1, 2 and 3 threads, and the nested loops' result.
#[test]
#[cfg_attr(miri, ignore)]
fn every_reduction_is_bit_identical_on_1_2_3_threads() {
    // Shape, patch, step, dilation, edge.
    type Case = (
        &'static [usize],
        &'static [usize],
        &'static [usize],
        &'static [usize],
        Edge,
    );
    let cases: [Case; 3] = [
        (&[120, 90], &[6, 5], &[1, 2], &[1, 1], Edge::Same),
        (
            &[30, 24, 18],
            &[3, 4, 2],
            &[1, 1, 2],
            &[2, 1, 1],
            Edge::Cover,
        ),
        (&[20000], &[7], &[1], &[2], Edge::Shift),
    ];
    for (shape, patch, step, dil, edge) in cases {
        let w = Window::new(IxDyn(patch))
            .step(IxDyn(step))
            .dilation(IxDyn(dil));
        let x = ArrayD::from_shape_fn(IxDyn(shape), |i| {
            (i.as_array_view().iter().fold(7usize, |h, &v| h * 31 + v) % 1000) as f64 / 7.0
        });
        let p = x.padded(&w, edge, Pad::Reflect);
        let p = p.patches();
        let matrix = p.to_matrix();
        let n = p.len();
        assert!(
            n * p.patch_len() > 100_000,
            "{shape:?}: {n} x {} is too small to split",
            p.patch_len()
        );
        let values = Array1::from_shape_fn(n, |r| ((r * 7919 + 13) % 11) as f64 - 5.0);
        for reduction in REDUCTIONS {
            for weighted in [false, true] {
                if weighted && !matches!(reduction, Reduction::Sum | Reduction::Mean) {
                    continue;
                }
                let mut fold = Fold::new(IxDyn(shape), &w, edge).reducing(reduction);
                if weighted {
                    fold = fold.weighted(WindowWeights::Hann);
                }
                let run = |threads: usize| {
                    let (mut whole, mut chunks, mut into, mut vals) =
                        (fold.clone(), fold.clone(), fold.clone(), fold.clone());
                    pool(threads).install(|| {
                        whole.add_rows(0, &matrix);
                        for a in (0..n).step_by(2000) {
                            let b = (a + 2000).min(n);
                            chunks.add_rows(a, &matrix.slice(ndarray::s![a..b, ..]));
                        }
                        p.fold_into(&mut into);
                        vals.add_values(0, &values);
                    });
                    [bits(whole), bits(chunks), bits(into), bits(vals)]
                };
                let one = run(1);
                assert_eq!(one[1], one[0], "{reduction:?}: chunks and whole");
                assert_eq!(one[2], one[0], "{reduction:?}: fold_into and add_rows");
                for threads in [2, 3] {
                    assert_eq!(run(threads), one, "{reduction:?} on {threads} threads");
                }
                if !weighted {
                    let (want, covered) =
                        naive_fold(shape, patch, step, dil, edge, &matrix, None, reduction);
                    let mut f = fold.clone();
                    pool(2).install(|| f.add_rows(0, &matrix));
                    let out = f.finish::<f64>();
                    assert_eq!(out.covered, covered, "{reduction:?}");
                    for (g, w) in out.image.iter().zip(&want) {
                        assert!((g - w).abs() <= 1e-9 * (1.0 + w.abs()), "{reduction:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn reductions_chosen_before_rows() {
    // 1-D, windows of 3 step 1 on 5 elements: rows 0..3.
    let rows = array![[1.0, 9.0, 2.0], [4.0, 3.0, 8.0], [7.0, 0.0, 5.0]];
    let fold = |r: Reduction| {
        let mut f = Fold::new(5, &Window::new(3), Edge::Valid).reducing(r);
        f.add_rows(2, &rows.slice(ndarray::s![2.., ..]));
        f.add_rows(0, &rows.slice(ndarray::s![..2, ..]));
        f.finish::<f64>().image.to_vec()
    };
    assert_eq!(fold(Reduction::Max), vec![1.0, 9.0, 7.0, 8.0, 5.0]);
    assert_eq!(fold(Reduction::Min), vec![1.0, 4.0, 2.0, 0.0, 5.0]);
    assert_eq!(fold(Reduction::Last), vec![1.0, 4.0, 7.0, 0.0, 5.0]);
    assert_eq!(fold(Reduction::Sum), vec![1.0, 13.0, 12.0, 8.0, 5.0]);
    // NaN counts only where every contribution is NaN.
    let mut f = Fold::new(3, &Window::new(2), Edge::Valid).reducing(Reduction::Max);
    f.add_rows(0, &array![[f64::NAN, f64::NAN], [1.0, f64::NAN]]);
    let out = f.finish::<f64>().image;
    assert!(out[0].is_nan() && out[1] == 1.0 && out[2].is_nan());
}

/// The panic message of `f`.
fn panic_message(f: impl FnOnce()) -> String {
    *std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_err()
        .downcast::<String>()
        .unwrap()
}

#[test]
fn reduction_misuse() {
    let f = Fold::new((6, 6), &Window::new((3, 3)), Edge::Valid);
    // Weights take Sum and Mean only, in either order of the builders.
    let max = f.clone().reducing(Reduction::Max);
    assert_eq!(
        max.clone().try_weighted(WindowWeights::Hann).unwrap_err(),
        PatchError::WeightedReduction { reduction: "Max" }
    );
    let weighted = f.clone().weighted(WindowWeights::Hann);
    let msg = panic_message(|| drop(weighted.clone().reducing(Reduction::Last)));
    assert!(msg.contains("Last") && msg.contains("weights"), "{msg}");
    assert!(weighted
        .clone()
        .reducing(Reduction::Sum)
        .try_finish::<f64>()
        .is_ok());
    // Back from Max to Mean before rows.
    assert!(max.reducing(Reduction::Mean).try_finish::<f64>().is_ok());
    // Sum and Mean share the rows added; another reduction cannot take them.
    let mut mean = f.clone();
    mean.add_rows(0, &Array2::<f64>::ones((16, 9)));
    let sum = mean.clone().reducing(Reduction::Sum).finish::<f64>().image;
    assert_eq!((sum[[0, 0]], sum[[2, 2]]), (1.0, 9.0));
    assert_eq!(mean.clone().finish::<f64>().image[[2, 2]], 1.0);
    let msg = panic_message(|| drop(mean.reducing(Reduction::Max)));
    assert!(
        msg.contains("Max") && msg.contains("before adding rows"),
        "{msg}"
    );
    // Patches of another geometry.
    let img = Array2::<f32>::zeros((6, 6));
    let mut f = Fold::new((6, 6), &Window::new((3, 3)), Edge::Same);
    assert_eq!(
        img.patches((3, 3)).try_fold_into(&mut f),
        Err(PatchError::GeometryMismatch {
            what: "array shape",
            expected: vec![8, 8],
            found: vec![6, 6]
        })
    );
    assert_eq!(
        img.padded(&Window::new((3, 3)).dilation(2), Edge::Same, Pad::Edge)
            .patches()
            .rows(0..0)
            .try_fold_into(&mut f)
            .unwrap_err(),
        PatchError::GeometryMismatch {
            what: "array shape",
            expected: vec![8, 8],
            found: vec![10, 10]
        }
    );
}

/// A Gaussian so narrow that sigma² underflows: the limit (the centre only)
/// for an odd patch, no weight at all for an even one; never NaN.
#[test]
fn gaussian_narrower_than_f64() {
    let img = Array1::from_iter((0..12).map(f64::from));
    let p = img.patches(3);
    let mut f = Fold::new(12, &p.window(), Edge::Valid)
        .try_weighted(WindowWeights::Gaussian(1e-300))
        .unwrap();
    f.add_rows(0, &p.to_matrix());
    let out = f.finish::<f64>();
    // Only the centre of each window counts: the first and last elements
    // are nobody's centre.
    assert_eq!(out.uncovered, 2);
    assert_eq!(
        out.image.slice(ndarray::s![1..11]),
        img.slice(ndarray::s![1..11])
    );
    let even = Fold::new(12, &img.patches(4).window(), Edge::Valid)
        .try_weighted(WindowWeights::Gaussian(1e-300));
    assert_eq!(even.unwrap_err(), PatchError::ZeroWindowWeights);
}

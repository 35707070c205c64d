//! `patches_along`: windows over chosen axes only. numpy's known outputs
//! (made by `tests/parity_gen.py`, pasted), a property test against a
//! nested-loop reference over random axes and layouts, the bad-axes errors
//! and the view's shape.

mod common;

use common::{indices, Layout, Source};
use ndarray::{array, Array, Array2, Array3, Array4, ArrayD, ArrayViewD, Axis, Dimension, IxDyn};
use ndarray_patches::prelude::*;
use ndarray_patches::{Argument, PatchError};
use proptest::prelude::*;

/// The rows and the view agree with `expected` (numpy's view in this
/// crate's axis order, rows of the patch in C order), and the view has
/// `shape`.
fn check(p: &ndarray_patches::PatchesAlong<'_, i64>, expected: &Array2<i64>, shape: &[usize]) {
    assert_eq!(&p.to_matrix(), expected);
    let v = p.view();
    assert_eq!(v.shape(), shape);
    assert_eq!(
        v.to_owned()
            .into_shape_with_order((p.len(), p.patch_len()))
            .unwrap(),
        expected
    );
    let grid = p.grid().ndim();
    assert_eq!(v.shape()[..grid], *p.grid().slice());
    assert_eq!(v.shape()[grid..], *p.patch_shape().slice());
}

fn arange(n: i64) -> ndarray::Array1<i64> {
    Array::from_iter(0..n)
}

#[test]
fn numpy_nhwc_batch_with_step() {
    // along(arange(120).reshape(2,4,5,3), (2,3), axes=(1,2), step=(2,2)), with
    // along(x, shape, axes, step) = np.ascontiguousarray(np.transpose(
    //     sliding_window_view(x, shape, axis=axes)[:, ::2, ::2], (0, 1, 2, 4, 5, 3)))
    let x = arange(120).into_shape_with_order((2, 4, 5, 3)).unwrap();
    let expected = array![
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 19, 20, 21, 22, 23],
        [6, 7, 8, 9, 10, 11, 12, 13, 14, 21, 22, 23, 24, 25, 26, 27, 28, 29],
        [30, 31, 32, 33, 34, 35, 36, 37, 38, 45, 46, 47, 48, 49, 50, 51, 52, 53],
        [36, 37, 38, 39, 40, 41, 42, 43, 44, 51, 52, 53, 54, 55, 56, 57, 58, 59],
        [60, 61, 62, 63, 64, 65, 66, 67, 68, 75, 76, 77, 78, 79, 80, 81, 82, 83],
        [66, 67, 68, 69, 70, 71, 72, 73, 74, 81, 82, 83, 84, 85, 86, 87, 88, 89],
        [90, 91, 92, 93, 94, 95, 96, 97, 98, 105, 106, 107, 108, 109, 110, 111, 112, 113],
        [96, 97, 98, 99, 100, 101, 102, 103, 104, 111, 112, 113, 114, 115, 116, 117, 118, 119]
    ];
    let p = x.patches_along((1, 2), (2, 3)).step(2);
    assert_eq!(p.grid(), IxDyn(&[2, 2, 2]));
    assert_eq!(p.patch_shape(), IxDyn(&[2, 3, 3]));
    check(&p, &expected, &[2, 2, 2, 2, 3, 3]);
    // The same with the step per axis, and on IxDyn.
    check(
        &x.patches_along([1, 2], (2, 3)).step((2, 2)),
        &expected,
        &[2, 2, 2, 2, 3, 3],
    );
    let xd = x.clone().into_dyn();
    check(
        &xd.patches_along(vec![1, 2], vec![2, 3]).step(vec![2, 2]),
        &expected,
        &[2, 2, 2, 2, 3, 3],
    );
}

#[test]
fn numpy_hwc_image() {
    // along(arange(24).reshape(3,4,2), (2,2), axes=(0,1)): transpose (0, 1, 3, 4, 2)
    let y = arange(24).into_shape_with_order((3, 4, 2)).unwrap();
    let expected = array![
        [0, 1, 2, 3, 8, 9, 10, 11],
        [2, 3, 4, 5, 10, 11, 12, 13],
        [4, 5, 6, 7, 12, 13, 14, 15],
        [8, 9, 10, 11, 16, 17, 18, 19],
        [10, 11, 12, 13, 18, 19, 20, 21],
        [12, 13, 14, 15, 20, 21, 22, 23]
    ];
    let p = y.patches_along((0, 1), 2);
    check(&p, &expected, &[2, 3, 2, 2, 2]);
    // scikit-learn's extract_patches_2d rows, as the full 3-D window gives.
    assert_eq!(y.patches((2, 2, 2)).to_matrix(), expected);
}

#[test]
fn numpy_nchw_channels_are_batch_axes() {
    // along(arange(24).reshape(1,2,3,4), (2,2), axes=(2,3)): numpy's own order
    let z = arange(24).into_shape_with_order((1, 2, 3, 4)).unwrap();
    let expected = array![
        [0, 1, 4, 5],
        [1, 2, 5, 6],
        [2, 3, 6, 7],
        [4, 5, 8, 9],
        [5, 6, 9, 10],
        [6, 7, 10, 11],
        [12, 13, 16, 17],
        [13, 14, 17, 18],
        [14, 15, 18, 19],
        [16, 17, 20, 21],
        [17, 18, 21, 22],
        [18, 19, 22, 23]
    ];
    let p = z.patches_along((2, 3), 2);
    assert_eq!(p.grid(), IxDyn(&[1, 2, 2, 3]));
    check(&p, &expected, &[1, 2, 2, 3, 2, 2]);
}

#[test]
fn torch_unfold_order_and_permuted_channels() {
    // along(arange(24).reshape(1,2,3,4), (1,2,2), axes=(0,2,3)), equal to
    // torch unfold(arange(24).reshape(1,2,3,4), (2,2))[0].T (torch's
    // definition with numpy indexing): channels outermost in a row.
    let z = arange(24).into_shape_with_order((1, 2, 3, 4)).unwrap();
    let torch = array![
        [0, 1, 4, 5, 12, 13, 16, 17],
        [1, 2, 5, 6, 13, 14, 17, 18],
        [2, 3, 6, 7, 14, 15, 18, 19],
        [4, 5, 8, 9, 16, 17, 20, 21],
        [5, 6, 9, 10, 17, 18, 21, 22],
        [6, 7, 10, 11, 18, 19, 22, 23]
    ];
    let p = z.patches_along((0, 2, 3), (1, 2, 2));
    assert_eq!(p.grid(), IxDyn(&[1, 2, 3]));
    assert_eq!(p.patch_shape(), IxDyn(&[1, 2, 2, 2]));
    check(&p, &torch, &[1, 2, 3, 1, 2, 2, 2]);
    // NHWC as a zero-copy view: C in the patch, innermost, the same
    // elements as torch's columns in (ph, pw, C) order.
    let nhwc = z.view().permuted_axes([0, 2, 3, 1]);
    let q = nhwc.patches_along((1, 2), 2);
    assert_eq!(q.grid(), IxDyn(&[1, 2, 3]));
    assert_eq!(q.patch_shape(), IxDyn(&[2, 2, 2]));
    let m = q.to_matrix();
    for r in 0..6 {
        for (i, j, c) in itertools(2, 2, 2) {
            assert_eq!(m[[r, (i * 2 + j) * 2 + c]], torch[[r, (c * 2 + i) * 2 + j]]);
        }
    }
    assert_eq!(q.view().as_ptr(), z.as_ptr());
}

fn itertools(a: usize, b: usize, c: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    (0..a).flat_map(move |i| (0..b).flat_map(move |j| (0..c).map(move |k| (i, j, k))))
}

#[test]
fn numpy_whole_axis_between_windowed_axes() {
    // along(arange(24).reshape(3,2,4), (2,3), axes=(0,2)): transpose (0, 2, 3, 1, 4)
    let w = arange(24).into_shape_with_order((3, 2, 4)).unwrap();
    let expected = array![
        [0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14],
        [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15],
        [8, 9, 10, 12, 13, 14, 16, 17, 18, 20, 21, 22],
        [9, 10, 11, 13, 14, 15, 17, 18, 19, 21, 22, 23]
    ];
    let p = w.patches_along((0, 2), (2, 3));
    assert_eq!(p.patch_shape(), IxDyn(&[2, 2, 3]));
    check(&p, &expected, &[2, 2, 2, 2, 3]);
}

/// The reference's answer: grid, patch shape, rows, and each row's origin.
type Expected = (Vec<usize>, Vec<usize>, Vec<Vec<i32>>, Vec<Vec<usize>>);

/// A random case: source shape, windowed axes, (size, step, dilation) per
/// windowed axis, layout.
type Case = (Vec<usize>, Vec<usize>, Vec<(usize, usize, usize)>, Layout);

/// The reference: nested loops over explicit indices. Grid axes are the
/// batch axes then the windowed axes; patch axes every axis from the first
/// windowed one on.
fn reference(
    a: &ArrayViewD<'_, i32>,
    windowed: &[usize],
    size: &[usize],
    step: &[usize],
    dil: &[usize],
) -> Expected {
    let nd = a.ndim();
    let b = windowed[0];
    let at = |k: usize| windowed.iter().position(|&w| w == k);
    let mut grid = Vec::new();
    for k in 0..nd {
        if k < b {
            grid.push(a.shape()[k]);
        } else if let Some(i) = at(k) {
            let e = dil[i] * (size[i] - 1) + 1;
            grid.push((a.shape()[k] - e) / step[i] + 1);
        }
    }
    let patch: Vec<usize> = (b..nd)
        .map(|k| at(k).map_or(a.shape()[k], |i| size[i]))
        .collect();
    let (mut rows, mut origins) = (Vec::new(), Vec::new());
    for g in indices(&grid) {
        // The source index of grid index g, patch index j.
        let index = |j: &[usize]| -> Vec<usize> {
            let mut gi = 0;
            (0..nd)
                .map(|k| {
                    if k < b {
                        gi += 1;
                        g[gi - 1]
                    } else if let Some(i) = at(k) {
                        gi += 1;
                        g[gi - 1] * step[i] + j[k - b] * dil[i]
                    } else {
                        j[k - b]
                    }
                })
                .collect()
        };
        origins.push(index(&vec![0; patch.len()]));
        rows.push(
            indices(&patch)
                .iter()
                .map(|j| a[IxDyn(&index(j))])
                .collect(),
        );
    }
    (grid, patch, rows, origins)
}

fn layout(nd: usize) -> impl Strategy<Value = Layout> {
    (
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(any::<bool>(), nd),
        proptest::collection::vec(prop_oneof![4 => Just(false), 1 => Just(true)], nd),
    )
        .prop_map(|(fortran, sliced, reversed, broadcast)| Layout {
            fortran,
            sliced,
            reversed,
            broadcast,
        })
}

/// ndim 2..=4, a non-empty subset of the axes, and per windowed axis a
/// size, step and dilation that fit.
fn case() -> impl Strategy<Value = Case> {
    (2usize..=4)
        .prop_flat_map(|nd| {
            (
                proptest::collection::vec(1usize..=5, nd),
                1u32..(1 << nd),
                proptest::collection::vec((1usize..=4, 1usize..=3, 1usize..=2), nd),
                layout(nd),
            )
        })
        .prop_map(|(shape, mask, wins, layout)| {
            let windowed: Vec<usize> = (0..shape.len()).filter(|k| mask & (1 << k) != 0).collect();
            // Shrink each window until its extent fits the axis.
            let wins = windowed
                .iter()
                .map(|&k| {
                    let (mut p, s, mut d) = wins[k];
                    while d * (p - 1) + 1 > shape[k] {
                        if d > 1 {
                            d -= 1;
                        } else {
                            p -= 1;
                        }
                    }
                    (p, s, d)
                })
                .collect();
            (shape, windowed, wins, layout)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn matches_the_nested_loop_reference((shape, windowed, wins, layout) in case()) {
        let src = Source::new(&shape, layout);
        let a = src.view();
        let size: Vec<usize> = wins.iter().map(|w| w.0).collect();
        let step: Vec<usize> = wins.iter().map(|w| w.1).collect();
        let dil: Vec<usize> = wins.iter().map(|w| w.2).collect();
        let (grid, patch, rows, origins) = reference(&a, &windowed, &size, &step, &dil);

        let p = a
            .patches_along(windowed.clone(), size.clone())
            .step(step.clone())
            .dilation(dil.clone());
        prop_assert_eq!(p.axes(), &windowed[..]);
        prop_assert_eq!(p.grid(), IxDyn(&grid));
        prop_assert_eq!(p.patch_shape(), IxDyn(&patch));
        prop_assert_eq!(p.len(), rows.len());
        prop_assert_eq!(p.patch_len(), patch.iter().product::<usize>());

        let m = p.to_matrix();
        let flat: Vec<i32> = rows.iter().flatten().copied().collect();
        prop_assert_eq!(m.iter().copied().collect::<Vec<_>>(), flat.clone());

        let v = p.view();
        let full: Vec<usize> = grid.iter().chain(&patch).copied().collect();
        prop_assert_eq!(v.shape(), &full[..]);
        prop_assert_eq!(v.iter().copied().collect::<Vec<_>>(), flat);

        let chunked = p.par_map_chunks(3, |c| c.sum_axis(Axis(1)));
        let sums: Vec<i32> = rows.iter().map(|r| r.iter().sum()).collect();
        prop_assert_eq!(chunked.to_vec(), sums.clone());
        let map = p.map_windows(|w| w.sum());
        prop_assert_eq!(map.shape(), &grid[..]);
        prop_assert_eq!(map.iter().copied().collect::<Vec<_>>(), sums);

        for (r, (row, origin)) in rows.iter().zip(&origins).enumerate() {
            let w = p.get(r).unwrap();
            prop_assert_eq!(w.shape(), &patch[..]);
            prop_assert_eq!(&w.iter().copied().collect::<Vec<_>>(), row);
            let pos = p.position(r).unwrap();
            prop_assert_eq!(pos.row, r);
            prop_assert_eq!(&pos.origin, &IxDyn(origin));
            // The view at the grid index, patch index 0, is the row's first element.
            let mut at = pos.grid.slice().to_vec();
            at.resize(full.len(), 0);
            prop_assert_eq!(v[IxDyn(&at)], row[0]);
        }
        prop_assert!(p.get(rows.len()).is_none());
        let from_iter: Vec<Vec<i32>> = p.iter().map(|w| w.iter().copied().collect()).collect();
        prop_assert_eq!(&from_iter, &rows);
        let grids: Vec<IxDyn> = p.positions().map(|q| q.grid).collect();
        let expected: Vec<IxDyn> = indices(&grid).iter().map(|g| IxDyn(g)).collect();
        prop_assert_eq!(&grids, &expected);
        // Every reader and conversion reports the same shapes: a cast, a
        // range of rows, a selection.
        let cast = p.cast::<f64>();
        let cmap = cast.map_windows(|w| w.sum());
        prop_assert_eq!(cmap.shape(), &grid[..]);
        let as_f64: Vec<f64> = map.iter().map(|&x| f64::from(x)).collect();
        prop_assert_eq!(cmap.iter().copied().collect::<Vec<_>>(), as_f64);
        let half = rows.len() / 2;
        let tail: Vec<IxDyn> = p.rows(half..).cast::<f64>().positions().map(|q| q.grid).collect();
        prop_assert_eq!(&tail[..], &expected[half..]);
        let picked: Vec<usize> = (0..rows.len()).rev().step_by(3).collect();
        let sel: Vec<IxDyn> = p.select(&picked).positions().map(|q| q.grid).collect();
        let want: Vec<IxDyn> = picked.iter().map(|&r| expected[r].clone()).collect();
        prop_assert_eq!(sel, want);
        if let Some(r) = rows.len().checked_sub(1) {
            prop_assert_eq!(p.position(r).unwrap().grid, expected[r].clone());
        }
        // A single number for every windowed axis.
        let q = a.patches_along(windowed.clone(), 1).step(1).dilation(1);
        prop_assert_eq!(q.patch_len(), patch.iter().product::<usize>() / size.iter().product::<usize>());
    }
}

#[test]
fn bad_axes_are_errors_naming_the_numbers() {
    let a = Array3::<u8>::zeros((4, 5, 6));
    let cases: [(Vec<usize>, &str); 5] = [
        (
            vec![],
            "no windowed axes given; name at least one of the array's 3 axes",
        ),
        (
            vec![1, 3],
            "windowed axis 3 is out of range for an array of 3 axes (axes [1, 3])",
        ),
        (vec![1, 1], "windowed axis 1 is given twice (axes [1, 1])"),
        (
            vec![2, 0],
            "windowed axes must be strictly increasing, but 0 comes after 2 (axes [2, 0])",
        ),
        (
            vec![0, 2, 1],
            "windowed axes must be strictly increasing, but 1 comes after 2 (axes [0, 2, 1])",
        ),
    ];
    for (axes, message) in cases {
        let size = vec![2; axes.len()];
        let err = a.try_patches_along(axes.clone(), size).unwrap_err();
        assert_eq!(err, PatchError::InvalidAxes { axes, ndim: 3 });
        assert_eq!(err.to_string(), message);
    }
    // Out of range is reported before a repeat.
    let err = a.try_patches_along([1, 1, 7], 2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "windowed axis 7 is out of range for an array of 3 axes (axes [1, 1, 7])"
    );
    let one = ndarray::Array1::<u8>::zeros(4);
    assert_eq!(
        one.try_patches_along(1, 2).unwrap_err().to_string(),
        "windowed axis 1 is out of range for an array of 1 axis (axes [1])"
    );
    // A 0-d array has no axis to window.
    let scalar = ndarray::arr0(1u8);
    assert_eq!(
        scalar.try_patches_along(0, 1).unwrap_err(),
        PatchError::InvalidAxes {
            axes: vec![0],
            ndim: 0
        }
    );
}

#[test]
#[should_panic(expected = "windowed axis 1 is given twice (axes [1, 1])")]
fn the_panicking_twin_says_the_same() {
    let _ = Array3::<u8>::zeros((4, 5, 6)).patches_along([1, 1], 2);
}

#[test]
fn counts_sizes_and_empty_axes() {
    let a = Array4::<u8>::zeros((2, 5, 6, 3));
    let err = a.try_patches_along((1, 2), (2, 2, 2)).unwrap_err();
    assert_eq!(
        err,
        PatchError::ShapeMismatch {
            operand: "the window shape (one size per windowed axis)",
            expected: 2,
            found: 3
        }
    );
    assert_eq!(
        err.to_string(),
        "the window shape (one size per windowed axis) has length 3, but 2 is needed"
    );
    let p = a.patches_along((1, 2), 2);
    assert_eq!(
        p.clone().try_step([1, 2, 3]).unwrap_err().to_string(),
        "the step (one per windowed axis) has length 3, but 2 is needed"
    );
    assert_eq!(
        p.clone().try_dilation(vec![1]).unwrap_err().to_string(),
        "the dilation (one per windowed axis) has length 1, but 2 is needed"
    );
    // Zero sizes, steps and dilations and windows too large name the source axis.
    assert_eq!(
        a.try_patches_along((1, 2), (2, 0)).unwrap_err(),
        PatchError::Zero {
            argument: Argument::PatchShape,
            axis: 2
        }
    );
    assert_eq!(
        p.clone().try_step((1, 0)).unwrap_err(),
        PatchError::Zero {
            argument: Argument::Step,
            axis: 2
        }
    );
    assert_eq!(
        p.clone().try_dilation((0, 1)).unwrap_err(),
        PatchError::Zero {
            argument: Argument::Dilation,
            axis: 1
        }
    );
    assert_eq!(
        a.try_patches_along((1, 2), (6, 2)).unwrap_err(),
        PatchError::PatchTooLarge {
            axis: 1,
            extent: 6,
            len: 5
        }
    );
    // An empty non-windowed axis (batch or whole) is an empty array.
    let empty_batch = Array3::<u8>::zeros((0, 5, 3));
    assert_eq!(
        empty_batch.try_patches_along(1, 2).unwrap_err(),
        PatchError::EmptyArray { axis: 0 }
    );
    let empty_whole = Array3::<u8>::zeros((4, 5, 0));
    assert_eq!(
        empty_whole.try_patches_along(1, 2).unwrap_err(),
        PatchError::EmptyArray { axis: 2 }
    );
}

#[test]
fn view_drops_only_the_rule_s_singleton_axes() {
    // N = 1 and C = 1 are data: they stay, as numpy keeps them.
    let a = Array::from_iter(0..20i32)
        .into_shape_with_order((1, 4, 5, 1))
        .unwrap();
    let p = a.patches_along((1, 2), (2, 3));
    assert_eq!(p.grid(), IxDyn(&[1, 3, 3]));
    assert_eq!(p.patch_shape(), IxDyn(&[2, 3, 1]));
    assert_eq!(p.view().shape(), &[1, 3, 3, 2, 3, 1]);
    assert_eq!(p.get(0).unwrap().shape(), &[2, 3, 1]);
    // A window of 1 along an axis of length 1 is a windowed axis: it stays.
    let p = a.patches_along((0, 1, 2), (1, 2, 3));
    assert_eq!(p.view().shape(), &[1, 3, 3, 1, 2, 3, 1]);
    // A window covering a whole windowed axis: grid 1 there, kept.
    let p = a.patches_along((1, 2), (4, 5));
    assert_eq!(p.view().shape(), &[1, 1, 1, 4, 5, 1]);
    // The last axis only: every leading axis is a batch axis.
    let b = ArrayD::<i32>::zeros(IxDyn(&[2, 3, 7]));
    let p = b.patches_along(2, 3);
    assert_eq!(p.view().shape(), &[2, 3, 5, 3]);
    // The first axis only: every other axis whole.
    let p = b.patches_along(0, 1);
    assert_eq!(p.view().shape(), &[2, 1, 3, 7]);
    assert_eq!(p.to_matrix().dim(), (2, 21));
}

#[test]
fn works_on_every_array_kind_and_borrows_the_source() {
    let a = Array3::from_shape_fn((3, 6, 2), |(n, i, c)| (100 * n + 10 * i + c) as i64);
    let p = a.patches_along(1, 3).step(3);
    assert_eq!(p.view().as_ptr(), a.as_ptr());
    // Row 3: batch 1, window 1 (origin 3): rows 3..6, both channels.
    assert_eq!(
        p.to_matrix().row(3).to_vec(),
        vec![130, 131, 140, 141, 150, 151]
    );
    let f = a.t().to_owned().reversed_axes(); // F-order copy of a
    assert_eq!(f.patches_along(1, 3).step(3).to_matrix(), p.to_matrix());
    assert_eq!(
        a.view().patches_along(1, 3).step(3).rows(1..3).to_matrix(),
        p.to_matrix().slice(ndarray::s![1..3, ..])
    );
    let dbg = format!("{p:?}");
    assert!(dbg.contains("PatchesAlong") && dbg.contains("axes: [1]"));
}

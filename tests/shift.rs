//! `Edge::Shift` (tiling that covers every element without padding) against
//! an independent nested-loop reference: every way of reading the windows,
//! for random shapes, steps, dilations and source layouts (C, F, sliced,
//! reversed, broadcast), plus hand-computed known outputs.

mod common;

use common::{indices, Case, Source};
use ndarray::{
    array, s, Array1, Array2, ArrayD, ArrayView2, ArrayViewD, Dim, Dimension, IxDyn, ShapeBuilder,
};
use ndarray_patches::prelude::*;
use ndarray_patches::{Edge, Fold, Pad, PatchError, Reduction, Window};
use proptest::prelude::*;

/// Per axis: the origins `0, s, 2s, ..` whose window fits, then `n - e` if
/// those stop short of the last element (the definition of Shift, as
/// empatches and tiler tile an image). `None` if no window fits.
fn shift_origins(n: usize, p: usize, s: usize, d: usize) -> Option<Vec<usize>> {
    let e = d * (p - 1) + 1;
    if e > n {
        return None;
    }
    let mut o: Vec<usize> = (0..).map(|i| i * s).take_while(|&o| o + e <= n).collect();
    if o.last().unwrap() + e < n {
        o.push(n - e);
    }
    Some(o)
}

/// The reference rows: nested loops over the origins and the patch's
/// elements.
fn reference(
    a: &ArrayViewD<'_, i32>,
    origins: &[Vec<usize>],
    patch: &[usize],
    dil: &[usize],
) -> Vec<Vec<i32>> {
    let grid: Vec<usize> = origins.iter().map(Vec::len).collect();
    indices(&grid)
        .into_iter()
        .map(|g| {
            indices(patch)
                .into_iter()
                .map(|j| {
                    let idx: Vec<usize> = (0..g.len())
                        .map(|k| origins[k][g[k]] + j[k] * dil[k])
                        .collect();
                    a[IxDyn(&idx)]
                })
                .collect()
        })
        .collect()
}

/// Lengths up to 11 and steps up to 5, so that most axes end short of a
/// step; dilations up to 3.
fn case() -> impl Strategy<Value = Case> {
    common::case(1..=3, 11, 5, 3)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Every reader agrees with the reference: views of single patches,
    /// positions and their inverse, the matrix, chunks, reused buffers of
    /// any layout, selections, conversions and sub-ranges.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn every_reader_matches_nested_loops(
        c in case(),
        chunk in 1usize..40,
        cut in (0.0f64..1.0, 0.0f64..1.0),
        pick in prop::collection::vec(0.0f64..1.0, 0..12),
    ) {
        let src = Source::new(&c.shape, c.layout.clone());
        let a = src.view();
        let nd = c.shape.len();
        let origins: Vec<Vec<usize>> = (0..nd)
            .map(|k| shift_origins(c.shape[k], c.patch[k], c.step[k], c.dil[k]).unwrap())
            .collect();
        let rows = reference(&a, &origins, &c.patch, &c.dil);
        let p = a
            .patches(IxDyn(&c.patch))
            .step(IxDyn(&c.step))
            .dilation(IxDyn(&c.dil))
            .edge(Edge::Shift);
        // The edge survives a later step or dilation.
        let again = a.patches(IxDyn(&c.patch)).edge(Edge::Shift).step(IxDyn(&c.step)).dilation(IxDyn(&c.dil));
        prop_assert_eq!(again.grid(), p.grid());
        let grid: Vec<usize> = origins.iter().map(Vec::len).collect();
        prop_assert_eq!(p.grid(), IxDyn(&grid));
        prop_assert_eq!(p.len(), rows.len());
        let plen = p.patch_len();
        let expected = Array2::from_shape_vec((rows.len(), plen), rows.concat()).unwrap();

        // Every element is in some window.
        let mut covered = ArrayD::from_elem(IxDyn(&c.shape), false);
        for g in indices(&grid) {
            for j in indices(&c.patch) {
                let idx: Vec<usize> = (0..nd).map(|k| origins[k][g[k]] + j[k] * c.dil[k]).collect();
                covered[IxDyn(&idx)] = true;
            }
        }
        // When tiles touch or overlap (no dilation, step <= patch); else
        // the gaps between windows or between a window's taps stay out.
        if (0..nd).all(|k| c.dil[k] == 1 && c.step[k] <= c.patch[k]) {
            prop_assert!(covered.iter().all(|&x| x));
        }

        // Positions, get, iter, par_iter, row_of.
        let pos: Vec<_> = p.positions().collect();
        prop_assert_eq!(pos.len(), rows.len());
        for (r, g) in indices(&grid).iter().enumerate() {
            let origin: Vec<usize> = (0..nd).map(|k| origins[k][g[k]]).collect();
            prop_assert_eq!(pos[r].row, r);
            prop_assert_eq!(pos[r].grid.slice(), &g[..]);
            prop_assert_eq!(pos[r].origin.slice(), &origin[..]);
            prop_assert_eq!(&p.position(r).unwrap(), &pos[r]);
            prop_assert_eq!(p.row_of(IxDyn(&origin)), Some(r));
            let w: Vec<i32> = p.get(r).unwrap().iter().copied().collect();
            prop_assert_eq!(&w, &rows[r]);
        }
        for idx in indices(&c.shape) {
            let want = pos.iter().position(|q| q.origin.slice() == &idx[..]);
            prop_assert_eq!(p.row_of(IxDyn(&idx)), want);
        }
        let it: Vec<Vec<i32>> = p.iter().map(|w| w.iter().copied().collect()).collect();
        prop_assert_eq!(&it, &rows);
        {
            use rayon::prelude::*;
            let par: Vec<Vec<i32>> = p.par_iter().map(|w| w.iter().copied().collect()).collect();
            prop_assert_eq!(&par, &rows);
        }

        // The matrix, chunks, parallel chunks, map_windows.
        prop_assert_eq!(&p.to_matrix(), &expected);
        let mut start = 0;
        for (at, block) in p.chunks(chunk) {
            prop_assert_eq!(at, start);
            prop_assert_eq!(&block, &expected.slice(s![at..at + block.nrows(), ..]));
            start += block.nrows();
        }
        prop_assert_eq!(start, p.len());
        let sums = p.par_map_chunks(chunk, |m| m.sum_axis(ndarray::Axis(1)));
        prop_assert_eq!(sums, expected.sum_axis(ndarray::Axis(1)));
        let firsts = p.map_windows(|w| w.iter().next().copied().unwrap());
        let want_first: Vec<i32> = rows.iter().map(|r| r[0]).collect();
        prop_assert_eq!(firsts.iter().copied().collect::<Vec<_>>(), want_first);

        // A sub-range into C, F and strided outputs, with and without a
        // conversion; a selection.
        let (x, y) = ((cut.0 * p.len() as f64) as usize, (cut.1 * p.len() as f64) as usize);
        let (lo, hi) = (x.min(y), x.max(y));
        let want = expected.slice(s![lo..hi, ..]);
        prop_assert_eq!(&p.rows(lo..hi).to_matrix(), &want);
        let mut out_f = Array2::from_elem((hi - lo, plen).f(), -1);
        p.write_rows(lo, out_f.view_mut());
        prop_assert_eq!(&out_f, &want);
        let mut wide = Array2::from_elem((hi - lo, 2 * plen), f64::NAN);
        p.cast::<f64>().write_rows(lo, wide.slice_mut(s![.., ..;2]));
        prop_assert_eq!(&wide.slice(s![.., ..;2]), &want.mapv(f64::from));
        let picked: Vec<usize> = pick.iter().map(|&f| (f * p.len() as f64) as usize).collect();
        let sel = p.select(&picked).to_matrix();
        for (k, &r) in picked.iter().enumerate() {
            prop_assert_eq!(sel.row(k), expected.row(r));
        }

        // The virtual products read the same rows.
        let x = expected.mapv(f64::from);
        let w = Array1::from_shape_fn(plen, |j| (j % 5) as f64 - 2.0);
        prop_assert_eq!(p.cast::<f64>().dot(&w), x.dot(&w));
        let v = Array1::from_shape_fn(p.len(), |r| (r % 3) as f64);
        prop_assert_eq!(p.cast::<f64>().t_dot(&v), x.t().dot(&v));
        let g = p.cast::<f64>().gram();
        prop_assert!((&g - &x.t().dot(&x)).iter().all(|d| d.abs() < 1e-6));

        // The padded path: Shift pads nothing and gives the same windows.
        let w = Window::new(IxDyn(&c.patch)).step(IxDyn(&c.step)).dilation(IxDyn(&c.dil));
        let padded = a.padded(&w, Edge::Shift, Pad::Constant(-7));
        prop_assert_eq!(padded.array(), &a);
        prop_assert!(padded.before().slice().iter().all(|&b| b == 0));
        prop_assert_eq!(&padded.patches().to_matrix(), &expected);

        // The strided view exists exactly when no last window moved back.
        let regular = (0..nd).all(|k| origins[k].iter().enumerate().all(|(i, &o)| o == i * c.step[k]));
        match p.try_view() {
            Ok(v) => {
                prop_assert!(regular);
                let vals: Vec<i32> = v.iter().copied().collect();
                prop_assert_eq!(vals, rows.concat());
            }
            Err(PatchError::ShiftedGrid { axis, back }) => {
                prop_assert!(!regular);
                let last = *origins[axis].last().unwrap();
                prop_assert_eq!(last + back, (origins[axis].len() - 1) * c.step[axis]);
                prop_assert!((0..axis).all(|k| origins[k].iter().enumerate().all(|(i, &o)| o == i * c.step[k])));
            }
            Err(e) => prop_assert!(false, "unexpected {}", e),
        }
    }

    /// Tiles, a prediction per tile, stitched back: the mean of the tiles is
    /// the image on every pixel, and the parallel extract-and-fold agrees to
    /// the bit.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn tiles_fold_back_to_the_image(
        shape in prop::collection::vec(1usize..15, 1..4),
        tile in prop::collection::vec((1usize..6, 1usize..6), 3),
        threads in 2usize..5,
    ) {
        let nd = shape.len();
        let patch: Vec<usize> = (0..nd).map(|k| tile[k].0.min(shape[k])).collect();
        // Tiles that touch or overlap: step <= patch.
        let step: Vec<usize> = (0..nd).map(|k| tile[k].1.min(patch[k])).collect();
        let x = ArrayD::from_shape_fn(IxDyn(&shape), |i| (i.as_array_view().iter().fold(3usize, |h, &v| h * 17 + v) % 97) as f64);
        let w = Window::new(IxDyn(&patch)).step(IxDyn(&step));
        let p = x.patches(IxDyn(&patch)).step(IxDyn(&step)).edge(Edge::Shift);
        let mut fold = Fold::new(IxDyn(&shape), &w, Edge::Shift);
        prop_assert_eq!(fold.len(), p.len());
        let mut max = fold.clone().reducing(Reduction::Max);
        let mut par = fold.clone();
        p.for_each_chunk(5, |start, rows: ArrayView2<'_, f64>| {
            fold.add_rows(start, &rows);
            max.add_rows(start, &rows);
        });
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| p.fold_into(&mut par));
        let mean = fold.clone().finish::<f64>();
        prop_assert_eq!(mean.uncovered, 0);
        for (g, want) in mean.image.iter().zip(x.iter()) {
            prop_assert!((g - want).abs() < 1e-9);
        }
        prop_assert_eq!(&max.finish::<f64>().image, &x);
        let bits = |f: Fold<IxDyn>| f.finish::<f64>().image.mapv(f64::to_bits);
        prop_assert_eq!(bits(par), bits(fold));
    }
}

#[test]
fn known_tiles() {
    // 1-D: Valid stops at origin 4 (10 = 4 + 4 + 2); Shift adds 6.
    let a = Array1::from_iter(0..10);
    let p = a.patches(4).step(4).edge(Edge::Shift);
    assert_eq!(
        p.to_matrix(),
        array![[0, 1, 2, 3], [4, 5, 6, 7], [6, 7, 8, 9]]
    );
    assert_eq!(p.row_of(6), Some(2));
    assert_eq!(p.row_of(8), None);
    // Where the step reaches the end, Shift is Valid.
    assert_eq!(a.patches(4).step(3).edge(Edge::Shift).len(), 3);
    assert!(a.patches(4).step(3).edge(Edge::Shift).try_view().is_ok());

    // 2-D, 5 x 7, 3 x 3 tiles, step 3: rows 0, 2; columns 0, 3, 4.
    let img = ndarray::Array2::from_shape_fn((5, 7), |(i, j)| 10 * i + j);
    let p = img.patches(3).step(3).edge(Edge::Shift);
    assert_eq!(p.grid(), Dim([2, 3]));
    let origins: Vec<_> = p.positions().map(|q| q.origin).collect();
    assert_eq!(
        origins,
        vec![
            Dim([0, 0]),
            Dim([0, 3]),
            Dim([0, 4]),
            Dim([2, 0]),
            Dim([2, 3]),
            Dim([2, 4])
        ]
    );
    assert_eq!(p.get(5).unwrap(), img.slice(s![2..5, 4..7]));
    assert_eq!(
        p.to_matrix().row(2).to_vec(),
        vec![4, 5, 6, 14, 15, 16, 24, 25, 26]
    );
    // The view is refused with the axis and how far its last window moved.
    assert_eq!(
        p.try_view().unwrap_err(),
        PatchError::ShiftedGrid { axis: 0, back: 1 }
    );
    // Switching back to Valid drops the extra windows.
    assert_eq!(p.edge(Edge::Valid).grid(), Dim([1, 2]));
}

/// The tiles of a large image: the 1 KiB row chunks go through the tiled
/// copy order (a 1024-wide f32 image), which must stop before the
/// moved-back last window of each grid row.
#[test]
#[cfg_attr(miri, ignore = "a 1 MiB image")]
fn tiled_copy_order_stops_before_the_moved_back_window() {
    let img = Array2::from_shape_fn((520, 1024), |(i, j)| (i * 1024 + j) as f32);
    let p = img.patches(16).step(10).edge(Edge::Shift);
    // (520 - 16) / 10 + 1 = 51 and (1024 - 16) / 10 + 1 = 101 steps, plus
    // the moved-back last windows.
    assert_eq!(p.grid(), Dim([52, 102]));
    let m = p.to_matrix();
    let mut chunked = Array2::zeros(m.dim());
    p.for_each_chunk(256, |start, c| {
        chunked
            .slice_mut(s![start..start + c.nrows(), ..])
            .assign(&c)
    });
    for (r, q) in p.positions().enumerate() {
        let o = q.origin;
        let want = img.slice(s![o[0]..o[0] + 16, o[1]..o[1] + 16]);
        let want: Vec<f32> = want.iter().copied().collect();
        assert_eq!(m.row(r).to_vec(), want, "row {r}");
        assert_eq!(chunked.row(r).to_vec(), want, "chunked row {r}");
    }
}

#[test]
fn padded_policies_are_refused_by_edge() {
    let img = Array2::<u8>::zeros((8, 8));
    for edge in [Edge::Same, Edge::Cover] {
        let r =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| img.patches(3).edge(edge)));
        let msg = *r.unwrap_err().downcast::<String>().unwrap();
        assert!(msg.contains("needs padding"), "{msg}");
    }
    // A window larger than the array is an error, as for Valid.
    assert_eq!(
        img.try_padded(&Window::new((9, 3)), Edge::Shift, Pad::Edge)
            .unwrap_err(),
        PatchError::PatchTooLarge {
            axis: 0,
            extent: 9,
            len: 8
        }
    );
    assert!(Fold::try_new((8, 8), &Window::new((3, 9)), Edge::Shift).is_err());
    // The view's panic names the policy and what to use instead.
    let p = img.patches(3).step(2).edge(Edge::Shift);
    let msg = PatchError::ShiftedGrid { axis: 0, back: 1 }.to_string();
    assert!(
        msg.contains("Edge::Shift") && msg.contains("axis 0"),
        "{msg}"
    );
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.view().len()));
    assert_eq!(*r.unwrap_err().downcast::<String>().unwrap(), msg);
}

/// A Fold of Shift windows takes only Shift patches: the Valid ones of the
/// same window have another grid.
#[test]
fn fold_refuses_patches_of_another_edge() {
    let img = Array2::<f32>::ones((10, 10));
    let w = Window::new((4, 4)).step(4);
    let mut f = Fold::new((10, 10), &w, Edge::Shift).reducing(Reduction::Sum);
    assert!(matches!(
        img.patches(4).step(4).try_fold_into(&mut f),
        Err(PatchError::GeometryMismatch { .. })
    ));
    assert!(img
        .patches(4)
        .step(4)
        .edge(Edge::Shift)
        .try_fold_into(&mut f)
        .is_ok());
    let out = f.finish::<f32>();
    // Columns and rows 6, 7 are in two tiles on their axis.
    assert_eq!(out.image[[0, 0]], 1.0);
    assert_eq!(out.image[[0, 6]], 2.0);
    assert_eq!(out.image[[7, 7]], 4.0);
    assert_eq!(out.uncovered, 0);
}

/// A huge step with a moved-back last window: the step is never walked
/// (two windows, the first and the last), so every reader flattens it.
#[test]
fn huge_steps_flatten() {
    use ndarray::Array1;
    let a = Array1::from_iter(0..10i32);
    for step in [usize::MAX, 1 << 62, 11] {
        let p = a.patches(3).step(step).edge(Edge::Shift);
        assert_eq!(p.grid(), ndarray::Dim([2]));
        let want = ndarray::array![[0, 1, 2], [7, 8, 9]];
        assert_eq!(p.try_to_matrix().unwrap(), want);
        assert_eq!(
            p.select(&[1, 0]).to_matrix(),
            ndarray::array![[7, 8, 9], [0, 1, 2]]
        );
        assert_eq!(p.chunks(1).map(|(_, c)| c).collect::<Vec<_>>().len(), 2);
        assert_eq!(p.map_windows(|w| w[0]), ndarray::array![0, 7]);
        let y = p.cast::<f64>().try_dot(&Array1::from_elem(3, 1.0)).unwrap();
        assert_eq!(y, ndarray::array![3.0, 24.0]);
    }
    let b = ndarray::Array2::from_shape_fn((3, 5), |(i, j)| (i * 5 + j) as i32);
    let p = b.patches(2).step(1 << 62).edge(Edge::Shift);
    assert_eq!(p.grid(), ndarray::Dim([2, 2]));
    let x = p.to_matrix();
    assert_eq!(x.row(3).to_vec(), vec![8, 9, 13, 14]);
    assert_eq!(x.row(1).to_vec(), vec![3, 4, 8, 9]);
    // Three windows: the step is walked once, and fits.
    let c = Array1::from_iter(0..10i64);
    let p = c.patches(2).step(5).edge(Edge::Shift);
    assert_eq!(p.to_matrix(), ndarray::array![[0, 1], [5, 6], [8, 9]]);
}

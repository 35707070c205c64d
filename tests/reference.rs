//! Property tests: every public way of reading patches agrees with an
//! independent nested-loop reference, for random shapes, patch shapes,
//! steps, dilations and source layouts (C, F, sliced, reversed, broadcast).

mod common;

use common::{indices, reference, Case, Layout, Source};
use ndarray::{Array2, ArrayViewD, Axis, Dim, Dimension, Ix1, Ix2, Ix3, Ix4, IxDyn, ShapeBuilder};
use ndarray_patches::prelude::*;
use ndarray_patches::{pad, Edge, Pad, Window};
use proptest::prelude::*;

/// Lengths up to 9, steps up to 4, dilations up to 3 per axis.
fn case(ndim: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Case> {
    common::case(ndim, 9, 4, 3)
}

/// Checks every reader on a dynamic-dimensional source.
fn check_dyn(c: &Case, chunk_rows: usize, wr: (usize, usize)) -> Result<(), TestCaseError> {
    let src = Source::new(&c.shape, c.layout.clone());
    let a = src.view();
    let (grid, rows) =
        reference(&a, &c.patch, &c.step, &c.dil).expect("strategy makes patches fit");
    let p = a
        .patches(IxDyn(&c.patch))
        .step(IxDyn(&c.step))
        .dilation(IxDyn(&c.dil));
    prop_assert_eq!(p.grid(), IxDyn(&grid));
    prop_assert_eq!(p.len(), rows.len());
    prop_assert_eq!(p.patch_len(), rows[0].len());

    // view(): element [i.., j..] is element j of patch i.
    let v = p.view();
    let mut vshape = grid.clone();
    vshape.extend_from_slice(&c.patch);
    prop_assert_eq!(v.shape(), &vshape[..]);
    for (r, gi) in indices(&grid).iter().enumerate() {
        for (e, pj) in indices(&c.patch).iter().enumerate() {
            let mut idx = gi.clone();
            idx.extend_from_slice(pj);
            prop_assert_eq!(v[IxDyn(&idx)], rows[r][e]);
        }
    }
    // get / iter / iter().rev() / par_iter
    for (r, row) in rows.iter().enumerate() {
        let g = p.get(r).expect("r < len");
        prop_assert_eq!(g.shape(), &c.patch[..]);
        prop_assert_eq!(&g.iter().copied().collect::<Vec<_>>(), row);
    }
    prop_assert!(p.get(rows.len()).is_none());
    prop_assert!(p.get(usize::MAX).is_none());
    let it: Vec<Vec<i32>> = p.iter().map(|w| w.iter().copied().collect()).collect();
    prop_assert_eq!(&it, &rows);
    let mut back: Vec<Vec<i32>> = p
        .iter()
        .rev()
        .map(|w| w.iter().copied().collect())
        .collect();
    back.reverse();
    prop_assert_eq!(&back, &rows);
    {
        use rayon::prelude::*;
        let par: Vec<Vec<i32>> = p.par_iter().map(|w| w.iter().copied().collect()).collect();
        prop_assert_eq!(&par, &rows);
    }
    // to_matrix
    let expected = Array2::from_shape_vec((rows.len(), rows[0].len()), rows.concat()).unwrap();
    prop_assert_eq!(&p.to_matrix(), &expected);
    // chunks: (start, block), consecutive from 0
    let mut start = 0;
    for (at, block) in p.chunks(chunk_rows) {
        let n = block.nrows();
        prop_assert_eq!(at, start);
        prop_assert!(n >= 1 && n <= chunk_rows);
        prop_assert_eq!(&block, &expected.slice(ndarray::s![start..start + n, ..]));
        start += n;
    }
    prop_assert_eq!(start, p.len());
    prop_assert_eq!(p.chunks(chunk_rows).len(), p.len().div_ceil(chunk_rows));
    // write_rows into C-order, F-order and column-sliced outputs
    let s0 = wr.0 % p.len();
    let n = wr.1 % (p.len() - s0 + 1);
    let want = expected.slice(ndarray::s![s0..s0 + n, ..]);
    let mut out_c = Array2::from_elem((n, p.patch_len()), -1);
    p.write_rows(s0, out_c.view_mut());
    prop_assert_eq!(&out_c, &want);
    let mut out_f = Array2::from_elem((n, p.patch_len()).f(), -1);
    p.write_rows(s0, out_f.view_mut());
    prop_assert_eq!(&out_f, &want);
    let mut wide = Array2::from_elem((n, 2 * p.patch_len()), -1);
    p.write_rows(s0, wide.slice_mut(ndarray::s![.., ..;2]));
    prop_assert_eq!(&wide.slice(ndarray::s![.., ..;2]), &want);
    prop_assert!(wide.slice(ndarray::s![.., 1..;2]).iter().all(|&x| x == -1));

    // Conversions during the copy (the converting loop, never memcpy):
    // `cast` (From) and `map_elems` (a closure) equal the reference rows
    // converted afterwards, into new matrices, chunks and every output
    // layout.
    prop_assert_eq!(&p.cast::<f64>().to_matrix(), &expected.mapv(f64::from));
    prop_assert_eq!(&p.cast::<i64>().to_matrix(), &expected.mapv(i64::from));
    let affine = |x: i32| x as f32 * 0.5 - 3.0;
    prop_assert_eq!(&p.map_elems(affine).to_matrix(), &expected.mapv(affine));
    let mut start = 0;
    for (at, block) in p.map_elems(affine).chunks(chunk_rows) {
        prop_assert_eq!(at, start);
        let want_block = expected.slice(ndarray::s![start..start + block.nrows(), ..]);
        prop_assert_eq!(&block, &want_block.mapv(affine));
        start += block.nrows();
    }
    prop_assert_eq!(start, p.len());
    let want64 = want.mapv(f64::from);
    let mut out_c = Array2::from_elem((n, p.patch_len()), f64::NAN);
    p.cast::<f64>().write_rows(s0, out_c.view_mut());
    prop_assert_eq!(&out_c, &want64);
    let mut out_f = Array2::from_elem((n, p.patch_len()).f(), f32::NAN);
    p.map_elems(affine).write_rows(s0, out_f.view_mut());
    prop_assert_eq!(&out_f, &want.mapv(affine));
    let mut wide = Array2::from_elem((n, 2 * p.patch_len()), f64::NAN);
    p.cast::<f64>()
        .write_rows(s0, wide.slice_mut(ndarray::s![.., ..;2]));
    prop_assert_eq!(&wide.slice(ndarray::s![.., ..;2]), &want64);
    prop_assert!(wide
        .slice(ndarray::s![.., 1..;2])
        .iter()
        .all(|x| x.is_nan()));

    // f64 -> f32 (which `From` cannot do) and u8 normalisation, on sources
    // of the same layout, against the reference of those sources.
    let src64 = src.map(|&x| f64::from(x) / 7.0 + 0.1);
    let a64 = src64.view();
    let (_, rows64) = reference(&a64, &c.patch, &c.step, &c.dil).unwrap();
    let p64 = a64
        .patches(IxDyn(&c.patch))
        .step(IxDyn(&c.step))
        .dilation(IxDyn(&c.dil));
    let got: Vec<f32> = p64
        .map_elems(|x: f64| x as f32)
        .to_matrix()
        .into_iter()
        .collect();
    let want32: Vec<f32> = rows64.concat().iter().map(|&x| x as f32).collect();
    prop_assert_eq!(got, want32);
    let src8 = src.map(|&x| (x.rem_euclid(256)) as u8);
    let a8 = src8.view();
    let (_, rows8) = reference(&a8, &c.patch, &c.step, &c.dil).unwrap();
    let p8 = a8
        .patches(IxDyn(&c.patch))
        .step(IxDyn(&c.step))
        .dilation(IxDyn(&c.dil));
    let norm = |x: u8| f32::from(x) / 255.0;
    let got: Vec<f32> = p8.map_elems(norm).to_matrix().into_iter().collect();
    prop_assert_eq!(
        got,
        rows8.concat().into_iter().map(norm).collect::<Vec<_>>()
    );
    let got: Vec<f32> = p8.cast::<f32>().to_matrix().into_iter().collect();
    prop_assert_eq!(
        got,
        rows8
            .concat()
            .into_iter()
            .map(f32::from)
            .collect::<Vec<_>>()
    );
    Ok(())
}

/// The same on a fixed-dimensional source: the view has the fixed type.
fn check_fixed<D>(c: &Case) -> Result<(), TestCaseError>
where
    D: ndarray_patches::PatchDim + ndarray_patches::PerAxis<D>,
{
    let src = Source::new(&c.shape, c.layout.clone());
    let a = src.view().into_dimensionality::<D>().unwrap();
    let (_, rows) = reference(&src.view(), &c.patch, &c.step, &c.dil).unwrap();
    let dim = |v: &[usize]| IxDyn(v).into_dimensionality::<D>().unwrap();
    let p = a
        .patches(dim(&c.patch))
        .step(dim(&c.step))
        .dilation(dim(&c.dil));
    let m = p.to_matrix();
    prop_assert_eq!(m.nrows(), rows.len());
    for (r, row) in rows.iter().enumerate() {
        prop_assert_eq!(&m.row(r).to_vec(), row);
    }
    let v = p.view();
    prop_assert_eq!(v.ndim(), 2 * c.shape.len());
    let flat: Vec<i32> = v.iter().copied().collect();
    prop_assert_eq!(&flat, &rows.concat());
    // Conversions on the fixed-dimensional source.
    let conv: Vec<f64> = p.cast::<f64>().to_matrix().into_iter().collect();
    prop_assert_eq!(conv, flat.iter().map(|&x| f64::from(x)).collect::<Vec<_>>());
    let conv: Vec<u16> = p
        .map_elems(|x: i32| (x % 1000) as u16)
        .to_matrix()
        .into_iter()
        .collect();
    prop_assert_eq!(
        conv,
        flat.iter().map(|&x| (x % 1000) as u16).collect::<Vec<_>>()
    );
    // The window reports the geometry it was given.
    let w = p.window();
    prop_assert_eq!(w.patch, dim(&c.patch));
    prop_assert_eq!(w.step, dim(&c.step));
    prop_assert_eq!(w.dilation, dim(&c.dil));
    Ok(())
}

trait IntoDimExt {
    fn into_dimensionality<D: Dimension>(self) -> Option<D>;
}
impl IntoDimExt for IxDyn {
    fn into_dimensionality<D: Dimension>(self) -> Option<D> {
        D::from_dimension(&self)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn dyn_sources_match_reference(c in case(0..=4), chunk in 1usize..50, wr in (0usize..1000, 0usize..1000)) {
        check_dyn(&c, chunk, wr)?;
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn fixed_dims_match_reference(c1 in case(1..=1), c2 in case(2..=2), c3 in case(3..=3), c4 in case(4..=4)) {
        check_fixed::<Ix1>(&c1)?;
        check_fixed::<Ix2>(&c2)?;
        check_fixed::<Ix3>(&c3)?;
        check_fixed::<Ix4>(&c4)?;
    }
}

/// Larger arrays exercise the parallel split of `to_matrix` and `write_rows`
/// (many rayon tasks) on every layout.
#[test]
#[cfg_attr(miri, ignore)]
fn parallel_split_matches_reference() {
    for layout in [
        Layout::default(),
        Layout {
            fortran: true,
            ..Layout::default()
        },
        Layout {
            sliced: true,
            reversed: vec![true, false],
            ..Layout::default()
        },
        Layout {
            reversed: vec![false, true],
            broadcast: vec![true, false],
            ..Layout::default()
        },
    ] {
        let src = Source::new(&[120, 150], layout);
        let a = src.view();
        let (_, rows) = reference(&a, &[9, 7], &[2, 1], &[1, 2]).unwrap();
        let p = a
            .patches(IxDyn(&[9, 7]))
            .step(IxDyn(&[2, 1]))
            .dilation(IxDyn(&[1, 2]));
        let m = p.to_matrix();
        assert_eq!(
            m,
            Array2::from_shape_vec((rows.len(), 63), rows.concat()).unwrap()
        );
        let mut out = Array2::zeros((p.len() - 5, 63).f());
        p.write_rows(5, out.view_mut());
        assert_eq!(out, m.slice(ndarray::s![5.., ..]));
        let blocks: Vec<Array2<i32>> = p.chunks(777).map(|(_, c)| c).collect();
        let views: Vec<_> = blocks.iter().map(|c| c.view()).collect();
        let stacked = ndarray::concatenate(Axis(0), &views).unwrap();
        assert_eq!(stacked, m);
    }
}

/// Rows 4 KiB apart (1024 i32 per row) take the tiled copy order; it must
/// give the same rows, also with steps, dilations, reversed and sliced
/// sources, and for row ranges that start and end in the middle of a grid
/// line.
#[test]
#[cfg_attr(miri, ignore)]
fn tiled_order_matches_reference() {
    /// Patch shape, step, dilation, layout.
    type Case = (&'static [usize], &'static [usize], &'static [usize], Layout);
    let cases: [Case; 4] = [
        (&[10, 3], &[1, 1], &[1, 1], Layout::default()),
        (&[12, 2], &[2, 3], &[1, 2], Layout::default()),
        (
            &[9, 4],
            &[1, 1],
            &[2, 1],
            Layout {
                reversed: vec![true, true],
                ..Layout::default()
            },
        ),
        (
            &[10, 4],
            &[1, 2],
            &[1, 1],
            Layout {
                reversed: vec![false, true],
                ..Layout::default()
            },
        ),
    ];
    for (patch, step, dil, layout) in cases {
        let src = Source::new(&[40, 1024], layout.clone());
        let a = src.view();
        let (_, rows) = reference(&a, patch, step, dil).unwrap();
        let p = a
            .patches(IxDyn(patch))
            .step(IxDyn(step))
            .dilation(IxDyn(dil));
        let expected = Array2::from_shape_vec((rows.len(), rows[0].len()), rows.concat()).unwrap();
        assert_eq!(
            p.to_matrix(),
            expected,
            "{patch:?} {step:?} {dil:?} {layout:?}"
        );
        let grid_w = p.grid()[1];
        for (s, n) in [(grid_w - 5, 11), (3, 2 * grid_w + 7), (p.len() - 9, 9)] {
            let mut out = Array2::zeros((n, p.patch_len()));
            p.write_rows(s, out.view_mut());
            assert_eq!(out, expected.slice(ndarray::s![s..s + n, ..]));
        }
        let mut next = 0;
        p.for_each_chunk(37, |start, c| {
            assert_eq!(start, next);
            assert_eq!(c, expected.slice(ndarray::s![start..start + c.nrows(), ..]));
            next += c.nrows();
        });
    }
    // Sliced with step 2 and offset 1: rows 8 KiB apart, columns strided.
    let src = Source::new(
        &[20, 1024],
        Layout {
            sliced: true,
            ..Layout::default()
        },
    );
    let a = src.view();
    let (_, rows) = reference(&a, &[10, 4], &[1, 1], &[1, 1]).unwrap();
    let m = a.patches(IxDyn(&[10, 4])).to_matrix();
    assert_eq!(m.iter().copied().collect::<Vec<_>>(), rows.concat());
}

/// The reference matrix of `a` with the same patch, step and dilation on
/// every axis.
fn uniform_reference(a: &ArrayViewD<'_, i32>, p: usize, s: usize, d: usize) -> Array2<i32> {
    let nd = a.ndim();
    let (_, rows) = reference(a, &vec![p; nd], &vec![s; nd], &vec![d; nd]).unwrap();
    Array2::from_shape_vec((rows.len(), rows[0].len()), rows.concat()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A single number means that number on every axis: for the patch
    /// shape, step, dilation, blocks, a window's step and dilation, and pad
    /// widths, on fixed and dynamic dimensions, equal to the per-axis forms
    /// (tuples, arrays, `Dim`, `IxDyn`, `&[usize]`, `Vec<usize>`) and to the
    /// reference.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn single_numbers_equal_per_axis_forms(
        p in 1usize..4,
        s in 1usize..4,
        d in 1usize..3,
        extra in prop::collection::vec(0usize..5, 4),
        fortran in any::<bool>(),
        reversed in prop::collection::vec(any::<bool>(), 4),
        pad_widths in (0usize..4, 0usize..4),
    ) {
        let e = d * (p - 1) + 1;
        let shape: Vec<usize> = extra.iter().map(|x| e + x).collect();
        let layout = |nd: usize| Layout { fortran, reversed: reversed[..nd].to_vec(), ..Layout::default() };
        let (b, f) = pad_widths;

        // Dynamic dimensions, 1 to 4 axes.
        for nd in 1..=4 {
            let src = Source::new(&shape[..nd], layout(nd));
            let a = src.view();
            let want = uniform_reference(&a, p, s, d);
            let single = a.patches(p).step(s).dilation(d);
            prop_assert_eq!(&single.to_matrix(), &want);
            let v = vec![p; nd];
            let per_axis = a.patches(&v[..]).step(vec![s; nd]).dilation(IxDyn(&vec![d; nd]));
            prop_assert_eq!(&per_axis.to_matrix(), &want);
            prop_assert_eq!(single.window(), per_axis.window());
            prop_assert_eq!(single.window(), Window::new(IxDyn(&v)).step(s).dilation(d));
            prop_assert_eq!(&single.window().step, &IxDyn(&vec![s; nd]));
            prop_assert_eq!(&a.blocks(p).to_matrix(), &uniform_reference(&a, p, p, 1));
            prop_assert_eq!(&a.blocks(vec![p; nd]).to_matrix(), &uniform_reference(&a, p, p, 1));
            let padded = pad(&a, b, f, Pad::Reflect);
            prop_assert_eq!(&padded, &pad(&a, vec![b; nd], &vec![f; nd][..], Pad::Reflect));
            let padded_shape: Vec<usize> = a.shape().iter().map(|n| n + b + f).collect();
            prop_assert_eq!(padded.shape(), &padded_shape[..]);
        }

        // Fixed dimensions: 1 to 4 axes against their tuples, arrays, Dims.
        let src = Source::new(&shape[..1], layout(1));
        let a1 = src.view().into_dimensionality::<Ix1>().unwrap();
        let want = uniform_reference(&src.view(), p, s, d);
        prop_assert_eq!(&a1.patches(p).step(s).dilation(d).to_matrix(), &want);
        prop_assert_eq!(&a1.patches([p]).step(Dim([s])).dilation([d]).to_matrix(), &want);

        let src = Source::new(&shape[..2], layout(2));
        let a2 = src.view().into_dimensionality::<Ix2>().unwrap();
        let want = uniform_reference(&src.view(), p, s, d);
        let single = a2.patches(p).step(s).dilation(d);
        prop_assert_eq!(&single.to_matrix(), &want);
        prop_assert_eq!(&a2.patches((p, p)).step([s, s]).dilation(Dim([d, d])).to_matrix(), &want);
        prop_assert_eq!(single.window(), Window::new((p, p)).step((s, s)).dilation((d, d)));
        prop_assert_eq!(single.window().dilation, Dim([d, d]));
        prop_assert_eq!(&a2.blocks(p).to_matrix(), &a2.blocks((p, p)).to_matrix());
        prop_assert_eq!(&a2.blocks(p).to_matrix(), &uniform_reference(&src.view(), p, p, 1));
        prop_assert_eq!(pad(&a2, b, f, Pad::Symmetric), pad(&a2, (b, b), [f, f], Pad::Symmetric));
        let w = Window::new((p, p)).step(s).dilation(d);
        prop_assert_eq!(&w, &Window::new((p, p)).step((s, s)).dilation((d, d)));
        let same = a2.padded(&w, Edge::Same, Pad::Edge);
        let same_tuple = a2.padded(&Window::new((p, p)).step((s, s)).dilation((d, d)), Edge::Same, Pad::Edge);
        prop_assert_eq!(&same.patches().to_matrix(), &same_tuple.patches().to_matrix());

        let src = Source::new(&shape[..3], layout(3));
        let a3 = src.view().into_dimensionality::<Ix3>().unwrap();
        let want = uniform_reference(&src.view(), p, s, d);
        prop_assert_eq!(&a3.patches(p).step(s).dilation(d).to_matrix(), &want);
        prop_assert_eq!(&a3.patches((p, p, p)).step([s, s, s]).dilation((d, d, d)).to_matrix(), &want);
        prop_assert_eq!(pad(&a3, b, f, Pad::Wrap), pad(&a3, (b, b, b), (f, f, f), Pad::Wrap));

        let src = Source::new(&shape, layout(4));
        let a4 = src.view().into_dimensionality::<Ix4>().unwrap();
        let want = uniform_reference(&src.view(), p, s, d);
        prop_assert_eq!(&a4.patches(p).step(s).dilation(d).to_matrix(), &want);
        prop_assert_eq!(&a4.patches((p, p, p, p)).step(Dim([s; 4])).dilation([d; 4]).to_matrix(), &want);

        // Tuples also give per-axis values on dynamic dimensions.
        let a2d = a2.view().into_dyn();
        prop_assert_eq!(&a2d.patches((p, p)).step((s, s)).dilation([d, d]).to_matrix(), &single.to_matrix());
    }
}

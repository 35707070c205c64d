//! Property tests: every public way of reading patches agrees with an
//! independent nested-loop reference, for random shapes, patch shapes,
//! steps, dilations and source layouts (C, F, sliced, reversed, broadcast).

mod common;

use common::{indices, reference, Layout, Source};
use ndarray::{Array2, Axis, Dimension, Ix1, Ix2, Ix3, Ix4, IxDyn, ShapeBuilder};
use ndarray_patches::prelude::*;
use proptest::prelude::*;

/// One random case: shape, patch, step, dilation, layout.
#[derive(Clone, Debug)]
struct Case {
    shape: Vec<usize>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dil: Vec<usize>,
    layout: Layout,
}

fn axis() -> impl Strategy<Value = (usize, usize, usize, usize)> {
    (1usize..=9, 1usize..=4, 1usize..=3).prop_flat_map(|(n, s, d)| {
        // patch p with extent d*(p-1)+1 <= n
        let pmax = (n - 1) / d + 1;
        (Just(n), 1..=pmax, Just(s), Just(d))
    })
}

fn case(ndim: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Case> {
    ndim.prop_flat_map(|nd| {
        (
            prop::collection::vec(axis(), nd),
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(any::<bool>(), nd),
            prop::collection::vec(prop::bool::weighted(0.2), nd),
        )
    })
    .prop_map(|(axes, fortran, sliced, reversed, broadcast)| Case {
        shape: axes.iter().map(|a| a.0).collect(),
        patch: axes.iter().map(|a| a.1).collect(),
        step: axes.iter().map(|a| a.2).collect(),
        dil: axes.iter().map(|a| a.3).collect(),
        layout: Layout {
            fortran,
            sliced,
            reversed,
            broadcast,
        },
    })
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
        let g = p.get(r);
        prop_assert_eq!(g.shape(), &c.patch[..]);
        prop_assert_eq!(&g.iter().copied().collect::<Vec<_>>(), row);
    }
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
    // chunks
    let mut start = 0;
    for block in p.chunks(chunk_rows) {
        let n = block.nrows();
        prop_assert!(n >= 1 && n <= chunk_rows);
        prop_assert_eq!(&block, &expected.slice(ndarray::s![start..start + n, ..]));
        start += n;
    }
    prop_assert_eq!(start, p.len());
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
    Ok(())
}

/// The same on a fixed-dimensional source: the view has the fixed type.
fn check_fixed<D>(c: &Case) -> Result<(), TestCaseError>
where
    D: ndarray_patches::PatchDim,
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
    prop_assert_eq!(flat, rows.concat());
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
        let blocks: Vec<Array2<i32>> = p.chunks(777).collect();
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

//! Shuffled epochs: every row exactly once, batches of the size asked for,
//! each batch's rows equal to the nested-loop reference of the rows it
//! names, on every layout, for ranges and conversions; reproducible from a
//! seed, different from one epoch to the next.
#![cfg(feature = "rand")]

mod common;

use std::sync::Mutex;

use common::{reference, Layout, Source};
use ndarray::{Array1, Array2, ArrayView2, IxDyn};
use ndarray_patches::prelude::*;
use ndarray_patches::rand::rngs::StdRng;
use ndarray_patches::rand::SeedableRng;
use ndarray_patches::Rows;
use proptest::prelude::*;

fn layout() -> impl Strategy<Value = Layout> {
    common::layouts(3, 0.2)
}

/// The named layouts: C, F, sliced, reversed, broadcast, and a mix.
fn named_layouts() -> Vec<Layout> {
    vec![
        Layout::default(),
        Layout {
            fortran: true,
            ..Layout::default()
        },
        Layout {
            sliced: true,
            ..Layout::default()
        },
        Layout {
            reversed: vec![true, false, true],
            ..Layout::default()
        },
        Layout {
            broadcast: vec![false, true, false],
            ..Layout::default()
        },
        Layout {
            fortran: true,
            sliced: true,
            reversed: vec![false, true, true],
            broadcast: vec![true, false, false],
        },
    ]
}

/// A batch as rows of plain vectors.
fn rows_of<T: Copy>(b: ArrayView2<'_, T>) -> Vec<Vec<T>> {
    b.outer_iter().map(|r| r.to_vec()).collect()
}

/// Checks one epoch of `r` (rows `s..e`) delivered by all three methods in
/// batches of `rows`: the order is a permutation of the range, batches have
/// `rows` rows but the last, each batch's rows are `want` at its indices
/// (converted by `conv`), and the three methods agree with `order()`.
fn check_epoch<T, C>(
    r: &Rows<'_, i32, IxDyn, C>,
    seed: u64,
    rows: usize,
    want: &[Vec<i32>],
    conv: impl Fn(i32) -> T + Sync,
) -> Result<(), TestCaseError>
where
    T: Copy + PartialEq + std::fmt::Debug + Send + Sync,
    C: ndarray_patches::Conversion<i32, Output = T> + Clone,
{
    let range = r.range();
    let len = range.len();
    let epoch = r.shuffled(&mut StdRng::seed_from_u64(seed));
    prop_assert_eq!(epoch.len(), len);
    prop_assert_eq!(epoch.is_empty(), len == 0);
    let order = epoch.indices().to_vec();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    prop_assert_eq!(sorted, range.clone().collect::<Vec<_>>());
    // Reproducible: the same seed, the same order.
    let again = r.shuffled(&mut StdRng::seed_from_u64(seed));
    prop_assert_eq!(&again.indices()[..], &order[..]);

    let expect = |idx: &[usize]| -> Vec<Vec<T>> {
        idx.iter()
            .map(|&i| want[i].iter().map(|&x| conv(x)).collect())
            .collect()
    };
    let size = rows.min(len);
    let n_batches = len.div_ceil(rows);
    let check_sizes = |sizes: &[usize]| {
        assert_eq!(sizes.len(), n_batches);
        for (k, &n) in sizes.iter().enumerate() {
            if k + 1 < sizes.len() {
                assert_eq!(n, size, "batch {k} of {sizes:?}");
            } else {
                assert!(n > 0 && n <= size, "last batch of {sizes:?}");
                assert_eq!(len - k * size, n);
            }
        }
    };

    // for_each_chunk: in the epoch's order.
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    epoch.for_each_chunk(rows, |idx, b| {
        assert_eq!(b.nrows(), idx.len());
        assert_eq!(rows_of(b), expect(&idx));
        seen.extend_from_slice(&idx);
        sizes.push(idx.len());
    });
    prop_assert_eq!(&seen, &order);
    check_sizes(&sizes);

    // chunks: the same batches, owned.
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let it = epoch.chunks(rows);
    prop_assert_eq!(it.len(), n_batches);
    for (idx, b) in it {
        prop_assert_eq!(rows_of(b.view()), expect(&idx));
        seen.extend_from_slice(&idx);
        sizes.push(idx.len());
    }
    prop_assert_eq!(&seen, &order);
    check_sizes(&sizes);

    // par_for_each_chunk: the same batches, in any order.
    let got = Mutex::new(Vec::new());
    epoch.par_for_each_chunk(rows, |idx, b| {
        assert_eq!(rows_of(b), expect(&idx));
        got.lock().unwrap().push(idx.to_vec());
    });
    let mut got = got.into_inner().unwrap();
    got.sort_by_key(|idx| order.iter().position(|&i| i == idx[0]).unwrap());
    check_sizes(&got.iter().map(Vec::len).collect::<Vec<_>>());
    prop_assert_eq!(got.concat(), order);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Every row once per epoch, batches of the size asked for, each
    /// batch's rows the reference rows it names: random shapes, patches,
    /// steps, layouts, ranges, batch sizes and seeds; as is, cast and
    /// mapped.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn every_row_once_and_batches_match_reference(
        shape in prop::collection::vec(3usize..10, 3),
        patch in prop::collection::vec(1usize..4, 3),
        step in prop::collection::vec(1usize..4, 3),
        layout in layout(),
        cut in (0.0f64..1.0, 0.0f64..1.0),
        rows in 1usize..40,
        seed in any::<u64>(),
    ) {
        let src = Source::new(&shape, layout);
        let a = src.view();
        let (_, want) = reference(&a, &patch, &step, &[1, 1, 1]).unwrap();
        let p = a.patches(IxDyn(&patch)).step(IxDyn(&step));
        let len = p.len();
        let (mut s, mut e) = ((cut.0 * len as f64) as usize, (cut.1 * len as f64) as usize);
        if s > e { std::mem::swap(&mut s, &mut e); }
        check_epoch(&p.rows(..), seed, rows, &want, |x| x)?;
        check_epoch(&p.rows(s..e), seed, rows, &want, |x| x)?;
        check_epoch(&p.rows(s..e).cast::<f64>(), seed, rows, &want, f64::from)?;
        let half = |x: i32| x as f32 / 2.0;
        check_epoch(&p.rows(s..e).map_elems(half), seed, rows, &want, half)?;
        // The order depends on the range and the seed only, not on the
        // conversion.
        let plain = p.rows(s..e).shuffled(&mut StdRng::seed_from_u64(seed));
        let cast = p.rows(s..e).cast::<f64>().shuffled(&mut StdRng::seed_from_u64(seed));
        prop_assert_eq!(plain.indices(), cast.indices());
    }
}

/// The named layouts, deterministically: C, F, sliced, reversed,
/// broadcast, mixed; with steps and a range.
#[test]
fn named_layouts_match_reference() {
    for layout in named_layouts() {
        let src = Source::new(&[7, 6, 5], layout.clone());
        let a = src.view();
        for (patch, step) in [([2, 3, 2], [1, 1, 1]), ([3, 1, 2], [2, 3, 1])] {
            let (_, want) = reference(&a, &patch, &step, &[1, 1, 1]).unwrap();
            let p = a.patches(IxDyn(&patch)).step(IxDyn(&step));
            for rows in [1, 7, p.len(), p.len() + 3] {
                check_epoch(&p.rows(..), 42, rows, &want, |x| x).unwrap();
                check_epoch(&p.rows(3..p.len() - 2), 42, rows, &want, |x| x).unwrap();
                check_epoch(&p.cast::<i64>(), 42, rows, &want, i64::from).unwrap();
            }
        }
    }
}

/// Successive epochs from one generator are different orders, each a
/// permutation; re-seeding replays the same sequence of epochs.
#[test]
fn epochs_differ_and_replay() {
    let img = Array2::from_shape_fn((20, 20), |(i, j)| (i * 20 + j) as u16);
    let p = img.patches(4).step(2); // 81 windows
    let epochs = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..5)
            .map(|_| p.shuffled(&mut rng).indices().to_vec())
            .collect::<Vec<_>>()
    };
    let run = epochs(9);
    for (k, a) in run.iter().enumerate() {
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..p.len()).collect::<Vec<_>>());
        assert_ne!(
            a,
            &(0..p.len()).collect::<Vec<_>>(),
            "epoch {k} is not shuffled"
        );
        for b in &run[k + 1..] {
            assert_ne!(a, b, "two epochs in the same order");
        }
    }
    assert_eq!(run, epochs(9));
    assert_ne!(run, epochs(10));
}

/// A range is shuffled within itself; its indices are absolute row
/// numbers, the `start` that `chunks` gives the same row, and the row
/// whose `position` the patches report.
#[test]
fn ranges_report_absolute_rows() {
    let img = Array2::from_shape_fn((12, 15), |(i, j)| (i * 15 + j) as i32);
    let p = img.patches((3, 4)).step((2, 1)); // grid (5, 12)
    let r = p.rows(17..43);
    let by_start: Vec<(usize, Vec<i32>)> = r
        .chunks(1)
        .map(|(start, c)| (start, c.row(0).to_vec()))
        .collect();
    let epoch = r.shuffled(&mut StdRng::seed_from_u64(1));
    let mut seen = 0;
    epoch.for_each_chunk(5, |idx, b| {
        for (i, &row) in idx.iter().enumerate() {
            assert!((17..43).contains(&row));
            let (start, want) = &by_start[row - 17];
            assert_eq!(*start, row);
            assert_eq!(&b.row(i).to_vec(), want);
            let origin = p.position(row).unwrap().origin;
            assert_eq!(b[[i, 0]], img[origin]);
            assert_eq!(p.row_of(origin), Some(row));
        }
        seen += idx.len();
    });
    assert_eq!(seen, 26);
}

/// An empty range yields no batches, whatever the batch size.
#[test]
fn empty_range_yields_no_batches() {
    let a = Array1::from_iter(0..10);
    let p = a.patches(3);
    for r in [p.rows(4..4), p.rows(8..), p.rows(..0)] {
        let epoch = r.shuffled(&mut StdRng::seed_from_u64(0));
        assert!(epoch.is_empty());
        assert_eq!(epoch.chunks(3).count(), 0);
        epoch.for_each_chunk(3, |_, _| -> () { panic!("a batch of an empty range") });
        epoch.par_for_each_chunk(3, |_, _| -> () { panic!("a batch of an empty range") });
    }
}

/// A batch larger than the epoch is the whole epoch, in one batch.
#[test]
fn oversized_batch_is_the_epoch() {
    let a = Array1::from_iter(0..10);
    let p = a.patches(3);
    let epoch = p.shuffled(&mut StdRng::seed_from_u64(2));
    let batches: Vec<_> = epoch.chunks(100).collect();
    assert_eq!(batches.len(), 1);
    assert_eq!(&batches[0].0, epoch.indices());
    assert_eq!(batches[0].1, p.select(epoch.indices()).to_matrix());
}

#[test]
#[should_panic(expected = "chunk size is zero rows; it must be at least 1")]
fn zero_batch_rows_panics_chunks() {
    let a = Array1::<u8>::zeros(10);
    let _ = a
        .patches(3)
        .shuffled(&mut StdRng::seed_from_u64(0))
        .chunks(0);
}

#[test]
#[should_panic(expected = "chunk size is zero rows; it must be at least 1")]
fn zero_batch_rows_panics_for_each() {
    let a = Array1::<u8>::zeros(10);
    a.patches(3)
        .shuffled(&mut StdRng::seed_from_u64(0))
        .for_each_chunk(0, |_, _| {});
}

#[test]
#[should_panic(expected = "chunk size is zero rows; it must be at least 1")]
fn zero_batch_rows_panics_par_for_each() {
    let a = Array1::<u8>::zeros(10);
    a.patches(3)
        .shuffled(&mut StdRng::seed_from_u64(0))
        .par_for_each_chunk(0, |_, _| {});
}

/// Zero rows is misuse even when there is nothing to deliver, as for
/// `Rows::for_each_chunk`.
#[test]
#[should_panic(expected = "chunk size is zero rows; it must be at least 1")]
fn zero_batch_rows_panics_on_an_empty_range() {
    let a = Array1::<u8>::zeros(10);
    a.patches(3)
        .rows(2..2)
        .shuffled(&mut StdRng::seed_from_u64(0))
        .for_each_chunk(0, |_, _| {});
}

/// The permutation that no memory holds is an error, not an abort.
#[test]
fn huge_permutation_is_an_error() {
    let one = Array2::<u8>::zeros((1, 1));
    let big = one.broadcast((1usize << 30, 1usize << 30)).unwrap();
    let err = big
        .patches(1)
        .try_shuffled(&mut StdRng::seed_from_u64(0))
        .unwrap_err();
    assert!(err.to_string().contains("shuffled order"), "{err}");
}

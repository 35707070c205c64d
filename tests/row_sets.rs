//! Every delivery method on every row set: a range, an index list (with
//! repeats, in any order) and a permutation (a shuffled epoch), as is and
//! converted, against the rows of the materialized matrix; a user
//! reduction through `par_fold_chunks`; the linear algebra on each row set.

mod common;

use std::sync::Mutex;

use approx::assert_abs_diff_eq;
use common::{Layout, Source};
use ndarray::{Array1, Array2, ArrayView2, Axis, IxDyn};
use ndarray_patches::prelude::*;
use ndarray_patches::{Conversion, RowSet, Rows};
use proptest::prelude::*;

fn layout() -> impl Strategy<Value = Layout> {
    common::layouts(2, 0.2)
}

/// The rows `r` delivers, by every method, equal `want` (the matrix's rows
/// at `rows`, in order), with each chunk's label naming its rows.
fn check_all<C, S>(r: &Rows<'_, i32, IxDyn, C, S>, rows: &[usize], want: &Array2<f64>, chunk: usize)
where
    C: Conversion<i32> + Clone,
    C::Output: Into<f64> + Default + std::fmt::Debug,
    S: RowSet,
    S::Label: Labels,
{
    let as_f64 = |m: ArrayView2<'_, C::Output>| m.mapv(|x| x.into());
    assert_eq!(r.len(), rows.len());
    // to_matrix and write_rows.
    assert_eq!(as_f64(r.to_matrix().view()), want);
    let pl = want.ncols();
    let mut buf = Array2::from_elem((rows.len(), pl), C::Output::default());
    r.write_rows(0, buf.view_mut());
    assert_eq!(as_f64(buf.view()), want);
    if rows.len() > 1 {
        // A part of the set, into a transposed (non-contiguous) buffer.
        let mut t = Array2::from_elem((pl, rows.len() - 1), C::Output::default());
        r.write_rows(1, t.view_mut().reversed_axes());
        assert_eq!(as_f64(t.t()), want.slice(ndarray::s![1.., ..]));
    }
    // for_each_chunk: in order, labels naming the rows.
    let mut got = Vec::new();
    r.for_each_chunk(chunk, |label, c| {
        let named = label.rows(c.nrows());
        assert_eq!(named, rows[got.len()..got.len() + c.nrows()]);
        got.extend(named);
    });
    assert_eq!(got, rows);
    // chunks: the same, owned.
    let mut got = Vec::new();
    for (label, c) in r.chunks(chunk) {
        let k = got.len();
        assert_eq!(
            as_f64(c.view()),
            want.slice(ndarray::s![k..k + c.nrows(), ..])
        );
        got.extend(label.rows(c.nrows()));
    }
    assert_eq!(got, rows);
    // par_for_each_chunk: every chunk once, in any order.
    let seen = Mutex::new(Vec::new());
    r.par_for_each_chunk(chunk, |label, c| {
        let named = label.rows(c.nrows());
        let k = rows
            .windows(named.len().max(1))
            .position(|w| w == named.as_slice())
            .expect("a chunk's rows are consecutive rows of the set");
        assert_eq!(as_f64(c), want.slice(ndarray::s![k..k + c.nrows(), ..]));
        seen.lock().unwrap().push(named);
    });
    let mut seen: Vec<usize> = seen.into_inner().unwrap().concat();
    let mut sorted = rows.to_vec();
    seen.sort_unstable();
    sorted.sort_unstable();
    assert_eq!(seen, sorted);
    // par_map_chunks: results in the set's order.
    let sums: Array1<f64> = r.par_map_chunks(chunk, |c| {
        c.map_axis(Axis(1), |row| row.iter().map(|&x| x.into()).sum())
    });
    assert_eq!(sums, want.sum_axis(Axis(1)));
    // par_fold_chunks: a user reduction (row count and column sums).
    let (n, colsum) = r.par_fold_chunks(
        chunk,
        || (0usize, Array1::<f64>::zeros(want.ncols())),
        |(n, mut s), _, c| {
            s += &as_f64(c).sum_axis(Axis(0));
            (n + c.nrows(), s)
        },
        |(n, s), (m, t)| (n + m, s + t),
    );
    assert_eq!(n, rows.len());
    assert_eq!(colsum, want.sum_axis(Axis(0)));
    // positions: one per row, in order.
    let pos: Vec<usize> = r.positions().map(|q| q.row).collect();
    assert_eq!(pos, rows);
}

/// The rows a chunk's label names.
trait Labels {
    fn rows(&self, n: usize) -> Vec<usize>;
}

impl Labels for usize {
    fn rows(&self, n: usize) -> Vec<usize> {
        (*self..*self + n).collect()
    }
}

impl Labels for ndarray_patches::Indices {
    fn rows(&self, n: usize) -> Vec<usize> {
        assert_eq!(self.len(), n);
        self.to_vec()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn every_method_on_every_row_set(
        shape in (3usize..14, 3usize..14),
        patch in (1usize..4, 1usize..4),
        step in (1usize..3, 1usize..3),
        layout in layout(),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..40),
        cut in (0.0f64..1.0, 0.0f64..1.0),
        chunk in 1usize..9,
        seed in any::<u64>(),
    ) {
        let src = Source::new(&[shape.0, shape.1], layout);
        let a = src.view();
        let Ok(p) = a.try_patches(IxDyn(&[patch.0, patch.1])).and_then(|p| p.try_step(IxDyn(&[step.0, step.1]))) else {
            return Ok(());
        };
        let x = p.to_matrix().mapv(f64::from);
        let len = p.len();
        let rows_of = |idx: &[usize]| x.select(Axis(0), idx);
        // A range.
        let (mut s, mut e) = ((cut.0 * len as f64) as usize, (cut.1 * len as f64) as usize);
        if s > e { std::mem::swap(&mut s, &mut e); }
        if e > s {
            let range: Vec<usize> = (s..e).collect();
            check_all(&p.rows(s..e), &range, &rows_of(&range), chunk);
            check_all(&p.rows(s..e).cast::<f64>(), &range, &rows_of(&range), chunk);
        }
        // An index list, with repeats, in any order.
        let idx: Vec<usize> = picks.iter().map(|i| i.index(len)).collect();
        check_all(&p.select(&idx), &idx, &rows_of(&idx), chunk);
        check_all(&p.select(&idx).map_elems(|v: i32| f64::from(v) * 0.5), &idx, &(rows_of(&idx) * 0.5), chunk);
        // A permutation: a shuffled epoch (and a shuffle of the index list).
        #[cfg(feature = "rand")]
        {
            use ndarray_patches::rand::{rngs::StdRng, SeedableRng};
            let epoch = p.shuffled(&mut StdRng::seed_from_u64(seed));
            let order = epoch.indices().to_vec();
            check_all(&epoch, &order, &rows_of(&order), chunk);
            let again = p.select(&idx).shuffled(&mut StdRng::seed_from_u64(seed));
            let mut a = again.indices().to_vec();
            let mut b = idx.clone();
            a.sort_unstable();
            b.sort_unstable();
            prop_assert_eq!(a, b);
        }
        let _ = seed;
        // Linear algebra on each row set against the materialized rows.
        let sel = rows_of(&idx);
        let tol = 1e-9 * (1.0 + x.iter().fold(0.0f64, |m, &v| m.max(v.abs()))).powi(2) * len as f64;
        let w = Array1::from_shape_fn(x.ncols(), |k| k as f64 - 1.5);
        let v = Array1::from_shape_fn(idx.len(), |k| (k % 3) as f64);
        let rs = p.select(&idx).cast::<f64>();
        assert_abs_diff_eq!(rs.dot(&w), sel.dot(&w), epsilon = tol);
        assert_abs_diff_eq!(rs.t_dot(&v), sel.t().dot(&v), epsilon = tol);
        assert_abs_diff_eq!(rs.gram(), sel.t().dot(&sel), epsilon = tol);
        assert_abs_diff_eq!(rs.mean(), sel.mean_axis(Axis(0)).unwrap(), epsilon = tol);
        if e > s + 1 {
            let r = p.rows(s..e).cast::<f64>();
            let xr = x.slice(ndarray::s![s..e, ..]);
            let mu = xr.mean_axis(Axis(0)).unwrap();
            let d = &xr - &mu;
            assert_abs_diff_eq!(r.covariance(), d.t().dot(&d) / (e - s - 1) as f64, epsilon = tol);
            let wm = Array2::from_shape_fn((x.ncols(), 3), |(i, j)| (i * j) as f64);
            assert_abs_diff_eq!(r.dot(&wm), xr.dot(&wm), epsilon = tol);
        }
    }
}

#[test]
fn an_empty_row_set() {
    let img = Array2::<f32>::zeros((6, 6));
    let p = img.patches(2);
    let none = p.rows(5..5);
    assert_eq!(none.to_matrix().dim(), (0, 4));
    assert_eq!(none.chunks(3).len(), 0);
    let mut calls = 0;
    none.for_each_chunk(3, |_, _| calls += 1);
    none.par_for_each_chunk(3, |_, _| -> () { panic!("no chunk") });
    assert_eq!(calls, 0);
    assert_eq!(
        none.par_fold_chunks(3, || 7, |a, _, _| a + 1, |a, b| a + b),
        7
    );
    assert!(none.try_mean().is_err());
    assert_eq!(p.select(&[]).to_matrix().dim(), (0, 4));
}

#[test]
fn select_names_the_range_it_was_asked_of() {
    let a = Array1::<u8>::zeros(102);
    let r = a.patches(3).rows(37..61);
    let e = r.try_select(&[12]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "row 12 is not in the rows 37..61 it was selected from"
    );
    assert_eq!(r.try_select(&[37, 60]).unwrap().len(), 2);
}

/// Streams stop early: the value that stopped them is returned, and the
/// other workers stop before their next chunk.
#[test]
#[cfg_attr(miri, ignore)]
fn streams_stop_early() {
    use std::ops::ControlFlow;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let img = Array2::from_shape_fn((200, 200), |(i, j)| ((i * 200 + j) % 251) as f32);
    let p = img.patches(3); // 39204 rows
                            // In order: the first window whose first element is 250, as a search.
    let want = p
        .to_matrix()
        .rows()
        .into_iter()
        .position(|r| r[0] == 250.0)
        .unwrap();
    let mut calls = 0;
    let found = p.for_each_chunk(16, |start, c| {
        calls += 1;
        match c.rows().into_iter().position(|r| r[0] == 250.0) {
            Some(i) => ControlFlow::Break(start + i),
            None => ControlFlow::Continue(()),
        }
    });
    assert_eq!(found, ControlFlow::Break(want));
    assert_eq!(calls, want / 16 + 1);
    // The same on an index set, with Result.
    let idx: Vec<usize> = (0..p.len()).rev().collect();
    let r: Result<(), usize> =
        p.select(&idx)
            .for_each_chunk(100, |rows, _| match rows.iter().position(|&r| r == 7) {
                Some(_) => Err(7),
                None => Ok(()),
            });
    assert_eq!(r, Err(7));
    // Never stopped: Continue / Ok after the last chunk.
    assert_eq!(
        p.for_each_chunk(1000, |_, _| ControlFlow::<()>::Continue(())),
        ControlFlow::Continue(())
    );

    // In parallel: one chunk of one row fails, the others stop soon after.
    let done = AtomicUsize::new(0);
    let r = p.par_for_each_chunk(1, |start, _| {
        done.fetch_add(1, Ordering::Relaxed);
        if start == 5 {
            Err(start)
        } else {
            Ok(())
        }
    });
    assert_eq!(r, Err(5));
    let n = done.into_inner();
    assert!(n < 1000, "{n} of {} chunks ran after the stop", p.len());
    assert_eq!(
        p.par_for_each_chunk(4096, |_, _| ControlFlow::<usize>::Continue(())),
        ControlFlow::Continue(())
    );

    // par_map_chunks with a Result per chunk.
    let ran = AtomicUsize::new(0);
    let r: Result<Array1<f32>, usize> = p.par_map_chunks(1, |c| {
        ran.fetch_add(1, Ordering::Relaxed);
        if c[[0, 0]] == 250.0 {
            Err(7)
        } else {
            Ok(c.column(0).to_owned())
        }
    });
    assert_eq!(r, Err(7));
    assert!(ran.into_inner() < p.len());
    let ok: Result<Array1<f32>, usize> = p.par_map_chunks(100, |c| Ok(c.column(0).to_owned()));
    assert_eq!(ok.unwrap(), p.to_matrix().column(0));
}

//! Streaming: row ranges, both visitors, owned chunks, conversion during the
//! copy, positions and sizing, against the nested-loop reference.

mod common;

use std::sync::Mutex;

use common::{reference, Layout, Source};
use ndarray::{Array2, Dim, IxDyn};
use ndarray_patches::prelude::*;
use ndarray_patches::{PatchError, DEFAULT_CHUNK_BYTES};
use proptest::prelude::*;

fn layout() -> impl Strategy<Value = Layout> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(any::<bool>(), 3),
        prop::collection::vec(prop::bool::weighted(0.2), 3),
    )
        .prop_map(|(fortran, sliced, reversed, broadcast)| Layout {
            fortran,
            sliced,
            reversed,
            broadcast,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Every delivery path gives the reference rows, at the right absolute
    /// row numbers, for any range and chunk size.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn all_paths_match_reference(
        shape in prop::collection::vec(3usize..12, 3),
        patch in prop::collection::vec(1usize..4, 3),
        step in prop::collection::vec(1usize..4, 3),
        layout in layout(),
        cut in (0.0f64..1.0, 0.0f64..1.0),
        rows in 1usize..40,
    ) {
        let src = Source::new(&shape, layout);
        let a = src.view();
        let (_, want) = reference(&a, &patch, &step, &[1, 1, 1]).unwrap();
        let p = a.patches(IxDyn(&patch)).step(IxDyn(&step));
        let len = p.len();
        let (mut s, mut e) = ((cut.0 * len as f64) as usize, (cut.1 * len as f64) as usize);
        if s > e { std::mem::swap(&mut s, &mut e); }
        let r = p.range(s..e);
        let expect = |start: usize, n: usize| want[start..start + n].concat();

        // to_matrix / to_matrix_as on the range
        prop_assert_eq!(r.to_matrix().iter().copied().collect::<Vec<_>>(), expect(s, e - s));
        let conv: Vec<f64> = r.to_matrix_as::<f64>().iter().copied().collect();
        prop_assert_eq!(conv, expect(s, e - s).iter().map(|&x| x as f64).collect::<Vec<_>>());

        // for_each_chunk: in order, contiguous, at most `rows` rows
        let mut next = s;
        r.for_each_chunk(rows, |start, c| {
            assert_eq!(start, next);
            assert!(c.nrows() <= rows && c.nrows() > 0);
            assert_eq!(c.iter().copied().collect::<Vec<_>>(), expect(start, c.nrows()));
            next += c.nrows();
        });
        prop_assert_eq!(next, e);

        // par_for_each_chunk: every row exactly once
        let seen = Mutex::new(vec![0u32; len]);
        r.par_for_each_chunk_as::<f64, _>(rows, |start, c| {
            let got: Vec<i32> = c.iter().map(|&x| x as i32).collect();
            assert_eq!(got, expect(start, c.nrows()));
            let mut seen = seen.lock().unwrap();
            for k in start..start + c.nrows() { seen[k] += 1; }
        });
        let seen = seen.into_inner().unwrap();
        prop_assert!(seen.iter().enumerate().all(|(k, &n)| n == u32::from(k >= s && k < e)));

        // chunks / chunks_as
        let flat: Vec<i32> = r.chunks(rows).flat_map(|c| c.into_iter()).collect();
        prop_assert_eq!(flat, expect(s, e - s));
        prop_assert_eq!(r.chunks_as::<f64>(rows).len(), (e - s).div_ceil(rows));

        // positions: origin * strides addresses the patch's first element
        for (k, pos) in r.positions().enumerate() {
            prop_assert_eq!(pos.row, s + k);
            prop_assert_eq!(a[&pos.origin], want[s + k][0]);
            prop_assert_eq!(&pos, &p.position(s + k));
        }
    }
}

#[test]
fn write_rows_as_converts() {
    let img = Array2::from_shape_fn((5, 6), |(i, j)| (i * 6 + j) as u8);
    let p = img.patches((2, 3));
    let mut out = Array2::<f32>::zeros((3, 6));
    p.write_rows_as(4, out.view_mut());
    assert_eq!(
        out,
        p.to_matrix().slice(ndarray::s![4..7, ..]).mapv(f32::from)
    );
}

#[test]
fn empty_ranges_call_nothing() {
    let a = Array2::<f32>::zeros((8, 8));
    let p = a.patches((3, 3));
    let r = p.range(5..5);
    r.for_each_chunk(4, |_, _| panic!("called"));
    r.par_for_each_chunk(4, |_, _| panic!("called"));
    assert_eq!(r.chunks(4).count(), 0);
    assert_eq!(r.to_matrix().dim(), (0, 9));
    assert_eq!(r.positions().count(), 0);
    assert_eq!(p.positions(36..).count(), 0);
}

#[test]
fn bad_ranges() {
    let a = Array2::<f32>::zeros((8, 8));
    let p = a.patches((3, 3)); // 36 patches
    assert_eq!(
        p.try_range(30..37).unwrap_err(),
        PatchError::RowsOutOfRange {
            start: 30,
            rows: 7,
            len: 36
        }
    );
    #[allow(clippy::reversed_empty_ranges)]
    let rev = p.try_range(5..4);
    assert!(rev.is_err());
    assert!(p.try_range(..=36).is_err());
    assert_eq!(p.try_range(..=35).unwrap().len(), 36);
    assert!(p.try_position(36).is_err());
}

#[test]
fn sizing() {
    let img = Array2::<f32>::zeros((4096, 4096));
    let p = img.patches((39, 39));
    assert_eq!(p.matrix_bytes().unwrap(), 4058 * 4058 * 1521 * 4);
    assert_eq!(p.default_chunk_rows(), DEFAULT_CHUNK_BYTES / (1521 * 4));
    assert_eq!(p.chunk_rows_for(0), 1);
    assert_eq!(p.chunk_rows_for(usize::MAX), p.len());
    let huge = ndarray::Array1::<f64>::zeros(1);
    let b = huge.broadcast(usize::MAX / 16).unwrap();
    assert!(matches!(
        b.patches(1 << 30).matrix_bytes(),
        Err(PatchError::Overflow { .. })
    ));
}

#[test]
fn positions_follow_grid_and_step() {
    let img = Array2::<u8>::zeros((10, 11));
    let p = img.patches((3, 3)).step((3, 4)); // grid (3, 3)
    let all: Vec<_> = p.positions(..).collect();
    assert_eq!(all.len(), 9);
    assert_eq!(all[4].grid, Dim([1, 1]));
    assert_eq!(all[4].origin, Dim([3, 4]));
    assert_eq!(all[8].origin, Dim([6, 8]));
    assert_eq!(p.positions(2..4).len(), 2);
}

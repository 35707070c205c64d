//! Streaming: row ranges, both visitors, owned chunks, conversion during the
//! copy, positions and sizing, against the nested-loop reference.

mod common;

use std::sync::Mutex;

use common::{reference, Layout, Source};
use ndarray::{Array1, Array2, Axis, Dim, IxDyn};
use ndarray_patches::prelude::*;
use ndarray_patches::{PatchError, DEFAULT_CHUNK_BYTES};
use proptest::prelude::*;

fn layout() -> impl Strategy<Value = Layout> {
    common::layouts(3, 0.2)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Every delivery path gives the reference rows, at the right absolute
    /// row numbers, for any range and chunk size, as they are and converted
    /// during the copy.
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
        let r = p.rows(s..e);
        prop_assert_eq!(r.range(), s..e);
        prop_assert_eq!(r.len(), e - s);
        prop_assert_eq!(r.is_empty(), s == e);
        let expect = |start: usize, n: usize| want[start..start + n].concat();

        // to_matrix, plain and converted, on the range
        prop_assert_eq!(r.to_matrix().iter().copied().collect::<Vec<_>>(), expect(s, e - s));
        let conv: Vec<f64> = r.cast::<f64>().to_matrix().iter().copied().collect();
        prop_assert_eq!(conv, expect(s, e - s).iter().map(|&x| x as f64).collect::<Vec<_>>());
        let half = |x: i32| x as f32 / 2.0;
        let conv: Vec<f32> = r.map_elems(half).to_matrix().iter().copied().collect();
        prop_assert_eq!(conv, expect(s, e - s).into_iter().map(half).collect::<Vec<_>>());

        // for_each_chunk: in order, contiguous, at most `rows` rows
        let mut next = s;
        r.for_each_chunk(rows, |start, c| {
            assert_eq!(start, next);
            assert!(c.nrows() <= rows && c.nrows() > 0);
            assert_eq!(c.iter().copied().collect::<Vec<_>>(), expect(start, c.nrows()));
            next += c.nrows();
        });
        prop_assert_eq!(next, e);
        let mut next = s;
        r.map_elems(half).for_each_chunk(rows, |start, c| {
            assert_eq!(start, next);
            let want_c: Vec<f32> = expect(start, c.nrows()).into_iter().map(half).collect();
            assert_eq!(c.iter().copied().collect::<Vec<_>>(), want_c);
            next += c.nrows();
        });
        prop_assert_eq!(next, e);

        // par_for_each_chunk: every row exactly once, plain and converted
        let seen = Mutex::new(vec![0u32; len]);
        r.cast::<f64>().par_for_each_chunk(rows, |start, c| {
            assert!(c.nrows() <= rows && c.nrows() > 0);
            let got: Vec<i32> = c.iter().map(|&x| x as i32).collect();
            assert_eq!(got, expect(start, c.nrows()));
            let mut seen = seen.lock().unwrap();
            for k in start..start + c.nrows() { seen[k] += 1; }
        });
        let seen = seen.into_inner().unwrap();
        prop_assert!(seen.iter().enumerate().all(|(k, &n)| n == u32::from(k >= s && k < e)));
        let seen = Mutex::new(vec![0u32; len]);
        r.par_for_each_chunk(rows, |start, c| {
            assert_eq!(c.iter().copied().collect::<Vec<_>>(), expect(start, c.nrows()));
            let mut seen = seen.lock().unwrap();
            for k in start..start + c.nrows() { seen[k] += 1; }
        });
        let seen = seen.into_inner().unwrap();
        prop_assert!(seen.iter().enumerate().all(|(k, &n)| n == u32::from(k >= s && k < e)));

        // chunks: (start, chunk) at s, s + rows, ..., plain and converted
        let mut next = s;
        for (start, c) in r.chunks(rows) {
            prop_assert_eq!(start, next);
            prop_assert!(c.nrows() <= rows && c.nrows() > 0);
            prop_assert_eq!(c.iter().copied().collect::<Vec<_>>(), expect(start, c.nrows()));
            next += c.nrows();
        }
        prop_assert_eq!(next, e);
        let converted = r.cast::<f64>().chunks(rows);
        prop_assert_eq!(converted.len(), (e - s).div_ceil(rows));
        let starts: Vec<usize> = (s..e).step_by(rows).collect();
        let mut got_starts = Vec::new();
        for (start, c) in converted {
            got_starts.push(start);
            let want_c: Vec<f64> = expect(start, c.nrows()).iter().map(|&x| f64::from(x)).collect();
            prop_assert_eq!(c.into_iter().collect::<Vec<_>>(), want_c);
        }
        prop_assert_eq!(got_starts, starts.clone());

        // par_map_chunks: results concatenated in row order, equal to the
        // reference rows times a vector (Array1) or a matrix (Array2), and
        // to the same closure run chunk by chunk sequentially.
        let pl = p.patch_len();
        let wv = Array1::from_shape_fn(pl, |k| k as i64 + 1);
        let bank = Array2::from_shape_fn((pl, 3), |(k, j)| ((k * 3 + j) % 5) as i64 - 2);
        let x = Array2::from_shape_vec((e - s, pl), expect(s, e - s)).unwrap().mapv(i64::from);
        // (Empty ranges: see par_map_chunks_on_empty_ranges.)
        prop_assume!(s < e);
        let y1: Array1<i64> = r.cast::<i64>().par_map_chunks(rows, |c| c.dot(&wv));
        prop_assert_eq!(&y1, &x.dot(&wv));
        let y2: Array2<i64> = r.cast::<i64>().par_map_chunks(rows, |c| c.dot(&bank));
        prop_assert_eq!(&y2, &x.dot(&bank));
        let mut seq1 = Vec::new();
        let mut seq2 = Vec::new();
        r.cast::<i64>().for_each_chunk(rows, |_, c| {
            seq1.extend(c.dot(&wv));
            seq2.push(c.dot(&bank));
        });
        prop_assert_eq!(y1.to_vec(), seq1);
        let views: Vec<_> = seq2.iter().map(|m| m.view()).collect();
        prop_assert_eq!(&y2, &ndarray::concatenate(Axis(0), &views).unwrap());
        // Results of any length per chunk, in chunk order: each chunk's
        // length and first element.
        let tags: Array1<i32> = r.par_map_chunks(rows, |c| ndarray::array![c.nrows() as i32, c[[0, 0]]]);
        let want_tags: Vec<i32> = starts
            .iter()
            .flat_map(|&st| [rows.min(e - st) as i32, want[st][0]])
            .collect();
        prop_assert_eq!(tags.to_vec(), want_tags);
        let heads: Array2<f64> = r.cast::<f64>().par_map_chunks(rows, |c| c.slice(ndarray::s![..1, ..]).to_owned());
        let want_heads: Vec<f64> = starts.iter().flat_map(|&st| want[st].iter().map(|&x| f64::from(x))).collect();
        prop_assert_eq!(heads.dim(), (starts.len(), pl));
        prop_assert_eq!(heads.into_iter().collect::<Vec<_>>(), want_heads);

        // map_windows (all rows): one value per window shaped like the
        // grid, equal to the same function on each window's view.
        let score = |w: ndarray::ArrayView1<'_, i32>| -> i64 {
            w.iter().enumerate().map(|(k, &v)| (k as i64 + 1) * i64::from(v)).sum()
        };
        let map = p.map_windows(score);
        prop_assert_eq!(map.raw_dim(), p.grid());
        prop_assert_eq!(map.len(), len);
        for ((gi, &got), view) in map.indexed_iter().zip(p.iter()) {
            let naive: i64 = view.iter().enumerate().map(|(k, &v)| (k as i64 + 1) * i64::from(v)).sum();
            prop_assert_eq!(got, naive, "at {:?}", gi);
        }
        let map64 = p.cast::<f64>().map_windows(|w| w.sum());
        let mapf = p.map_elems(half).map_windows(|w| w[0]);
        for (r_, (gi, &got)) in map64.indexed_iter().enumerate() {
            prop_assert_eq!(got, want[r_].iter().map(|&x| f64::from(x)).sum::<f64>(), "at {:?}", gi);
            prop_assert_eq!(mapf[&gi], half(want[r_][0]));
        }

        // positions: origin * strides addresses the patch's first element
        prop_assert_eq!(r.positions().len(), e - s);
        for (k, pos) in r.positions().enumerate() {
            prop_assert_eq!(pos.row, s + k);
            prop_assert_eq!(a[&pos.origin], want[s + k][0]);
            prop_assert_eq!(Some(pos), p.position(s + k));
        }
    }
}

#[test]
fn write_rows_converts() {
    let img = Array2::from_shape_fn((5, 6), |(i, j)| (i * 6 + j) as u8);
    let p = img.patches((2, 3)); // 16 patches
    let mut out = Array2::<f32>::zeros((3, 6));
    p.cast::<f32>().write_rows(4, out.view_mut());
    assert_eq!(
        out,
        p.to_matrix().slice(ndarray::s![4..7, ..]).mapv(f32::from)
    );
    // A closure, into a transposed (column-major) buffer.
    let mut out = Array2::<f64>::zeros((6, 3));
    p.map_elems(|x: u8| f64::from(x) / 255.0)
        .write_rows(4, out.view_mut().reversed_axes());
    assert_eq!(
        out.t(),
        p.to_matrix()
            .slice(ndarray::s![4..7, ..])
            .mapv(|x| f64::from(x) / 255.0)
    );
    // Rows of a sub-range: positions in the range (rows 4 + 2..).
    let tail = p.rows(4..);
    let mut out = Array2::<f32>::zeros((2, 6));
    tail.cast::<f32>().write_rows(2, out.view_mut());
    assert_eq!(
        out,
        p.to_matrix().slice(ndarray::s![6..8, ..]).mapv(f32::from)
    );
    assert_eq!(
        tail.cast::<f32>().try_write_rows(11, out.view_mut()),
        Err(PatchError::RowsOutOfRange {
            start: 11,
            end: 13,
            len: 12
        })
    );
}

#[test]
fn f64_rows_narrow_to_f32() {
    let a = Array2::from_shape_fn((7, 9), |(i, j)| (i as f64 + 0.1) * (j as f64 - 3.3) / 7.0);
    let p = a.patches((3, 2)).step((2, 1)).dilation((1, 3));
    let x = p.map_elems(|v: f64| v as f32).to_matrix();
    assert_eq!(x, p.to_matrix().mapv(|v| v as f32));
    assert!(x
        .iter()
        .zip(p.to_matrix().iter())
        .any(|(&n, &w)| f64::from(n) != w));
}

#[test]
fn empty_ranges_call_nothing() {
    let a = Array2::<f32>::zeros((8, 8));
    let p = a.patches((3, 3));
    for r in [p.rows(5..5), p.rows(36..), p.rows(..0)] {
        assert!(r.is_empty());
        r.for_each_chunk(4, |_, _| -> () { panic!("called") });
        r.par_for_each_chunk(4, |_, _| -> () { panic!("called") });
        r.cast::<f64>()
            .for_each_chunk(4, |_, _| -> () { panic!("called") });
        assert_eq!(r.chunks(4).count(), 0);
        assert_eq!(r.to_matrix().dim(), (0, 9));
        assert_eq!(r.cast::<f64>().to_matrix().dim(), (0, 9));
        assert_eq!(r.positions().count(), 0);
        assert_eq!(r.matrix_bytes(), Ok(0));
        assert_eq!(r.select(&[]).to_matrix().dim(), (0, 9));
    }
}

#[test]
fn par_map_chunks_on_empty_ranges() {
    let a = Array2::<f32>::zeros((8, 8));
    let p = a.patches((3, 3));
    for r in [p.rows(5..5), p.rows(36..), p.rows(..0)] {
        let y: Array2<f32> = r.par_map_chunks(4, |_| panic!("called"));
        assert_eq!(y.len(), 0);
        let y: Array1<f32> = r.par_map_chunks(4, |_| panic!("called"));
        assert_eq!(y.len(), 0);
    }
}

#[test]
fn bad_ranges() {
    let a = Array2::<f32>::zeros((8, 8));
    let p = a.patches((3, 3)); // 36 patches
    assert_eq!(
        panic_message(|| {
            p.rows(30..37);
        }),
        "rows 30..37 are out of range for 36 patches"
    );
    assert_eq!(
        panic_message(|| {
            p.rows(..=36);
        }),
        "rows 0..37 are out of range for 36 patches"
    );
    let (hi, lo) = (5, 4);
    assert_eq!(
        panic_message(|| {
            p.rows(hi..lo);
        }),
        "row range 5..4 is decreasing"
    );
    assert_eq!(p.rows(..=35).len(), 36);
    assert_eq!(p.rows(..=35).range(), 0..36);
    assert_eq!(p.rows(36..36).len(), 0);
    assert_eq!(p.position(36), None);
    assert_eq!(p.position(35).map(|q| q.origin), Some(Dim([5, 5])));
    // The same error from the try_ methods that take rows.
    let mut buf = Array2::<f32>::zeros((7, 9));
    assert_eq!(
        p.try_write_rows(30, buf.view_mut()),
        Err(PatchError::RowsOutOfRange {
            start: 30,
            end: 37,
            len: 36
        })
    );
    assert_eq!(
        p.try_select(&[0, 36]).unwrap_err(),
        PatchError::RowNotInSet {
            row: 36,
            start: 0,
            end: 36
        }
    );
    // A sub-range selects only its own rows.
    assert!(p.rows(10..20).try_select(&[9]).is_err());
    assert!(p.rows(10..20).try_select(&[20]).is_err());
    assert_eq!(
        p.rows(10..20).cast::<f64>().select(&[19, 10]).to_matrix(),
        p.cast::<f64>().select(&[19, 10]).to_matrix()
    );
}

fn panic_message(f: impl FnOnce()) -> String {
    let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("should panic");
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
#[should_panic(expected = "row range 7..2 is decreasing")]
fn decreasing_rows_panic() {
    let a = ndarray::Array1::<u8>::zeros(20);
    let (hi, lo) = (7, 2);
    let _ = a.patches(3).rows(hi..lo);
}

#[test]
#[should_panic(expected = "rows 2..19 are out of range for 18 patches")]
fn rows_past_the_end_panic() {
    let a = ndarray::Array1::<u8>::zeros(20);
    let _ = a.patches(3).rows(2..19);
}

#[test]
#[should_panic(expected = "chunk size is zero rows")]
fn zero_chunk_rows_panic_in_chunks() {
    let a = ndarray::Array1::<u8>::zeros(20);
    let _ = a.patches(3).chunks(0);
}

#[test]
#[should_panic(expected = "chunk size is zero rows")]
fn zero_chunk_rows_panic_in_for_each_chunk() {
    let a = ndarray::Array1::<u8>::zeros(20);
    a.patches(3).cast::<f32>().for_each_chunk(0, |_, _| {});
}

#[test]
#[should_panic(expected = "chunk size is zero rows")]
fn zero_chunk_rows_panic_in_par_for_each_chunk() {
    let a = ndarray::Array1::<u8>::zeros(20);
    a.patches(3).rows(4..9).par_for_each_chunk(0, |_, _| {});
}

#[test]
#[should_panic(expected = "chunk size is zero rows")]
fn zero_chunk_rows_panic_in_par_map_chunks() {
    let a = ndarray::Array1::<u8>::zeros(20);
    let _: ndarray::Array1<u8> = a.patches(3).par_map_chunks(0, |c| c.column(0).to_owned());
}

#[test]
#[should_panic(expected = "chunk size is zero rows")]
fn zero_chunk_rows_panic_on_empty_ranges_too() {
    let a = ndarray::Array1::<u8>::zeros(20);
    a.patches(3).rows(5..5).for_each_chunk(0, |_, _| {});
}

#[test]
#[should_panic(expected = "map_windows needs all 36 rows, these are rows 1..36")]
fn map_windows_on_a_sub_range_panics() {
    let a = Array2::<f32>::zeros((8, 8));
    let p = a.patches(3);
    let _ = p.rows(1..).map_windows(|w| w.sum());
}

#[test]
#[should_panic(expected = "a chunk result (columns) has length")]
fn par_map_chunks_with_ragged_columns_panics() {
    let a = ndarray::Array1::<f32>::zeros(20);
    let _: Array2<f32> = a
        .patches(3)
        .par_map_chunks(5, |c| Array2::zeros((1, c.nrows()))); // 5, 5, 5, 3 columns
}

#[test]
fn map_windows_has_the_grid_shape() {
    let img = Array2::from_shape_fn((9, 12), |(i, j)| (i * 12 + j) as u16);
    let p = img.patches((3, 4)).step((2, 3)).dilation((1, 2));
    let grid = p.grid();
    let maxima = p.map_windows(|w| *w.iter().max().unwrap());
    assert_eq!(maxima.raw_dim(), grid);
    assert_eq!(maxima.dim(), (4, 2));
    let img_ref = &img;
    for ((i, j), &m) in maxima.indexed_iter() {
        // The window at grid (i, j): rows 2i..2i+3, columns 3j, 3j+2, .., 3j+6.
        let naive = (0..3)
            .flat_map(|a| (0..4).map(move |b| img_ref[[2 * i + a, 3 * j + 2 * b]]))
            .max()
            .unwrap();
        assert_eq!(m, naive, "({i}, {j})");
    }
    // A normalised score map, f64 -> f32 by closure.
    let f = img.mapv(|x| f64::from(x) / 100.0);
    let means = f
        .patches(2)
        .map_elems(|x: f64| x as f32)
        .map_windows(|w| w.mean().unwrap());
    assert_eq!(means.dim(), (8, 11));
    for ((i, j), &m) in means.indexed_iter() {
        let naive = f
            .slice(ndarray::s![i..i + 2, j..j + 2])
            .mapv(|x| x as f32)
            .mean()
            .unwrap();
        assert!(
            (m - naive).abs() <= 1e-6 * naive.abs().max(1.0),
            "({i}, {j})"
        );
    }
    // A 0-axis array: one window, a 0-axis result.
    let z = ndarray::Array::from_elem((), 5u8);
    assert_eq!(z.patches(ndarray::Ix0()).map_windows(|w| w[0])[()], 5);
}

#[test]
fn chunks_yield_their_starts() {
    let a = ndarray::Array1::from_iter(0u32..30);
    let p = a.patches(4).step(2); // 14 patches
    let got: Vec<(usize, usize, u32)> = p
        .rows(3..14)
        .chunks(4)
        .map(|(start, c)| (start, c.nrows(), c[[0, 0]]))
        .collect();
    assert_eq!(got, vec![(3, 4, 6), (7, 4, 14), (11, 3, 22)]);
    let mut it = p.cast::<u64>().chunks(5);
    assert_eq!(it.len(), 3);
    let (start, c) = it.next().unwrap();
    assert_eq!((start, c.dim(), c[[4, 3]]), (0, (5, 4), 11));
    assert_eq!(it.len(), 2);
    assert_eq!(it.map(|(s, _)| s).collect::<Vec<_>>(), vec![5, 10]);
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
fn sizes_count_the_output_type() {
    // f32 source: 4-byte rows as they are, 8 bytes cast to f64, 1 byte
    // mapped to u8, 2 bytes mapped to u16.
    let img = Array2::<f32>::zeros((4096, 4096));
    let p = img.patches(39);
    let (len, pl) = (4058 * 4058, 1521);
    assert_eq!(p.matrix_bytes(), Ok(len * pl * 4));
    assert_eq!(p.cast::<f64>().matrix_bytes(), Ok(len * pl * 8));
    assert_eq!(p.map_elems(|x: f32| x as u8).matrix_bytes(), Ok(len * pl));
    assert_eq!(
        p.map_elems(|x: f32| x as u16).matrix_bytes(),
        Ok(len * pl * 2)
    );
    assert_eq!(p.default_chunk_rows(), DEFAULT_CHUNK_BYTES / (pl * 4));
    assert_eq!(
        p.cast::<f64>().default_chunk_rows(),
        DEFAULT_CHUNK_BYTES / (pl * 8)
    );
    assert_eq!(
        p.map_elems(|x: f32| x as u8).default_chunk_rows(),
        DEFAULT_CHUNK_BYTES / pl
    );
    assert_eq!(p.cast::<f64>().chunk_rows_for(pl * 8 * 3 + 7), 3);
    // u8 source: 1 byte as it is, 4 cast to f32, 8 normalised to f64.
    let img = Array2::<u8>::zeros((512, 512));
    let p = img.patches(16);
    assert_eq!(p.default_chunk_rows(), DEFAULT_CHUNK_BYTES / 256);
    assert_eq!(
        p.cast::<f32>().default_chunk_rows(),
        DEFAULT_CHUNK_BYTES / (256 * 4)
    );
    assert_eq!(
        p.map_elems(|x: u8| f64::from(x) / 255.0)
            .default_chunk_rows(),
        DEFAULT_CHUNK_BYTES / (256 * 8)
    );
    assert_eq!(p.cast::<f32>().matrix_bytes(), Ok(497 * 497 * 256 * 4));
    // A range: its own rows only, and at most its length per chunk.
    let r = p.rows(100..110);
    assert_eq!(r.cast::<f32>().matrix_bytes(), Ok(10 * 256 * 4));
    assert_eq!(r.cast::<f32>().default_chunk_rows(), 10);
    assert_eq!(p.rows(7..7).default_chunk_rows(), 1);
    // The default chunks hold at most DEFAULT_CHUNK_BYTES of the elements
    // delivered.
    let conv = p.cast::<f32>();
    let mut rows = 0;
    conv.for_each_chunk(conv.default_chunk_rows(), |start, c| {
        assert_eq!(c.ncols(), 256);
        assert!(c.len() * 4 <= DEFAULT_CHUNK_BYTES);
        // Every chunk but the last is exactly DEFAULT_CHUNK_BYTES.
        assert!(c.nrows() == 1024 || start + c.nrows() == p.len());
        rows += c.nrows();
    });
    assert_eq!(rows, p.len());
}

#[test]
fn positions_follow_grid_and_step() {
    let img = Array2::<u8>::zeros((10, 11));
    let p = img.patches((3, 3)).step((3, 4)); // grid (3, 3)
    let all: Vec<_> = p.positions().collect();
    assert_eq!(all.len(), 9);
    assert_eq!(all[4].grid, Dim([1, 1]));
    assert_eq!(all[4].origin, Dim([3, 4]));
    assert_eq!(all[8].origin, Dim([6, 8]));
    assert_eq!(p.rows(2..4).positions().len(), 2);
    assert_eq!(
        p.rows(2..4)
            .positions()
            .map(|q| q.origin)
            .collect::<Vec<_>>(),
        vec![Dim([0, 8]), Dim([3, 0])]
    );
    for (r, q) in all.iter().enumerate() {
        assert_eq!(q.row, r);
        assert_eq!(Some(q), p.position(r).as_ref());
    }
    // Window fields replace steps()/dilations().
    let w = p.window();
    assert_eq!(
        (w.patch, w.step, w.dilation),
        (Dim([3, 3]), Dim([3, 4]), Dim([1, 1]))
    );
}

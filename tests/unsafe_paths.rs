//! A small, deterministic set of cases over every unsafe path (the window
//! view's `from_shape_ptr`, the row copier's pointer reads and its writes
//! into uninitialized matrices: as-is (memcpy), converted by `cast` and by
//! `map_elems`, gathered by `select` and by shuffled epochs (into reused
//! buffers), into non-contiguous outputs, and unwinding out of a panicking
//! visitor or conversion), sized to run under Miri in minutes:
//! `cargo +nightly miri test --test unsafe_paths`.

mod common;

use common::{reference, Layout, Source};
use std::panic::{catch_unwind, AssertUnwindSafe};

use ndarray::{s, Array1, Array2, ArrayView2, IxDyn, ShapeBuilder};
use ndarray_patches::prelude::*;

fn layouts(nd: usize) -> Vec<Layout> {
    let all = |b: bool| vec![b; nd];
    let alt = |first: bool| (0..nd).map(|k| (k % 2 == 0) == first).collect::<Vec<_>>();
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
            reversed: all(true),
            ..Layout::default()
        },
        Layout {
            fortran: true,
            sliced: true,
            reversed: alt(true),
            ..Layout::default()
        },
        Layout {
            broadcast: alt(false),
            reversed: alt(true),
            ..Layout::default()
        },
    ]
}

fn check(shape: &[usize], patch: &[usize], step: &[usize], dil: &[usize]) {
    for layout in layouts(shape.len()) {
        let src = Source::new(shape, layout.clone());
        let a = src.view();
        let (_, rows) = reference(&a, patch, step, dil).unwrap();
        let p = a
            .patches(IxDyn(patch))
            .step(IxDyn(step))
            .dilation(IxDyn(dil));
        let flat: Vec<i32> = rows.concat();
        // The view reads every element through from_shape_ptr's pointer.
        assert_eq!(
            p.view().iter().copied().collect::<Vec<_>>(),
            flat,
            "{layout:?}"
        );
        // The row copier, into contiguous and strided outputs.
        assert_eq!(
            p.to_matrix().iter().copied().collect::<Vec<_>>(),
            flat,
            "{layout:?}"
        );
        let mut out = Array2::zeros((p.len(), p.patch_len()).f());
        p.write_rows(0, out.view_mut());
        assert_eq!(out, p.to_matrix());
        // The converting copy (element by element into uninitialized
        // memory): cast and map_elems, new matrices and a column-strided
        // output.
        let want64: Vec<f64> = flat.iter().map(|&x| f64::from(x)).collect();
        let m64 = p.cast::<f64>().to_matrix();
        assert_eq!(
            m64.iter().copied().collect::<Vec<_>>(),
            want64,
            "{layout:?}"
        );
        let half = |x: i32| x as f32 / 2.0;
        let mut wide = Array2::from_elem((p.len(), 2 * p.patch_len()), -1.0f32);
        p.map_elems(half)
            .write_rows(0, wide.slice_mut(s![.., ..;2]));
        let got: Vec<f32> = wide.slice(s![.., ..;2]).iter().copied().collect();
        assert_eq!(
            got,
            flat.iter().map(|&x| half(x)).collect::<Vec<_>>(),
            "{layout:?}"
        );
        assert!(wide.slice(s![.., 1..;2]).iter().all(|&x| x == -1.0));
    }
}

#[test]
fn one_dimensional() {
    check(&[7], &[3], &[2], &[1]);
    check(&[7], &[2], &[1], &[3]);
}

#[test]
fn two_dimensional() {
    check(&[4, 5], &[2, 3], &[1, 1], &[1, 1]);
    check(&[5, 6], &[2, 2], &[2, 1], &[2, 2]);
    check(&[3, 4], &[3, 4], &[1, 1], &[1, 1]);
}

#[test]
fn three_and_four_dimensional() {
    // Three merged patch axes that do not merge: the generic odometer.
    check(&[3, 4, 5], &[2, 2, 2], &[1, 2, 1], &[1, 1, 2]);
    check(&[2, 3, 2, 3], &[1, 2, 2, 2], &[1, 1, 1, 1], &[1, 1, 1, 1]);
}

/// Edge::Shift: the row copier's moved-back last positions (an axis that
/// no neighbour merges with), row by row and in the tiled order, against
/// slices of the source taken with ndarray's bounds-checked slicing.
#[test]
fn shifted_last_windows() {
    use ndarray::Dimension;
    use ndarray_patches::Edge;
    for layout in layouts(2) {
        let src = Source::new(&[7, 9], layout.clone());
        let a = src.view();
        for (patch, step) in [([3, 4], [3, 3]), ([2, 2], [4, 5]), ([7, 4], [1, 2])] {
            let p = a
                .patches(IxDyn(&patch))
                .step(IxDyn(&step))
                .edge(Edge::Shift);
            let m = p.to_matrix();
            let mut out = Array2::zeros((p.len(), p.patch_len()).f());
            p.write_rows(0, out.view_mut());
            assert_eq!(out, m);
            for (r, w) in p.iter().enumerate() {
                let want: Vec<i32> = w.iter().copied().collect();
                assert_eq!(m.row(r).to_vec(), want, "{layout:?} {patch:?} {step:?}");
            }
            let last = p.position(p.len() - 1).unwrap().origin;
            assert_eq!(last.slice(), &[7 - patch[0], 9 - patch[1]]);
        }
    }
    // A 1024-wide f32 image: 16 x 16 rows conflict in L1, so a chunk is
    // filled tile by tile, each tile stopping before the moved-back window.
    let wide = Array2::from_shape_fn((17, 1024), |(i, j)| (i * 1024 + j) as f32);
    let p = wide.patches(16).step((1, 100)).edge(Edge::Shift);
    let m = p.to_matrix();
    let mut n = 0;
    p.for_each_chunk(12, |start, c| {
        assert_eq!(c, m.slice(s![start..start + c.nrows(), ..]));
        n += c.nrows();
    });
    assert_eq!(n, p.len());
    for (r, w) in p.iter().enumerate() {
        assert_eq!(m.row(r).to_vec(), w.iter().copied().collect::<Vec<_>>());
    }
}

#[test]
fn parallel_split_and_reuse() {
    // Several rayon tasks (TASK_BYTES is 256 under Miri, 128 KiB otherwise:
    // 34 KiB of u8 rows here).
    let img = Array2::from_shape_fn((22, 26), |(i, j)| (i * 3 + j * 5) as u8);
    let rev = img.slice(s![..;-1, ..]);
    let p = rev.patches((8, 8));
    let m = p.to_matrix();
    for (r, w) in p.iter().enumerate().step_by(7) {
        assert_eq!(m.row(r).to_vec(), w.iter().copied().collect::<Vec<_>>());
    }
    let total: usize = p.chunks(50).map(|(_, c)| c.nrows()).sum();
    assert_eq!(total, p.len());
    // The converting copies split across tasks too.
    assert_eq!(p.cast::<u32>().to_matrix(), m.mapv(u32::from));
    let norm = |x: u8| f32::from(x) / 255.0;
    assert_eq!(p.map_elems(norm).to_matrix(), m.mapv(norm));
    // One buffer per worker, refilled, for the parallel visitors.
    let sums: Array1<u32> = p
        .cast::<u32>()
        .par_map_chunks(40, |c| c.sum_axis(ndarray::Axis(1)));
    assert_eq!(sums, m.mapv(u32::from).sum_axis(ndarray::Axis(1)));
    let firsts = p.map_windows(|w| w[0]);
    assert_eq!(firsts.dim(), (15, 19));
    assert_eq!(firsts[[14, 18]], rev[[14, 18]]);
}

#[test]
fn lifetimes_of_into_patches() {
    fn first_patch<'a>(v: ArrayView2<'a, u32>) -> ArrayView2<'a, u32> {
        v.into_patches((2, 2)).get(0).unwrap()
    }
    let a = Array2::from_shape_fn((3, 3), |(i, j)| (i * 3 + j) as u32);
    let w = first_patch(a.view());
    assert_eq!(w, ndarray::array![[0, 1], [3, 4]]);
}

#[test]
fn zero_sized_elements() {
    let a = Array2::from_elem((4, 4), ());
    let p = a.patches((2, 2));
    assert_eq!(p.to_matrix().dim(), (9, 4));
    assert_eq!(p.view().shape(), &[3, 3, 2, 2]);
    assert_eq!(p.select(&[8, 0]).to_matrix().dim(), (2, 4));
    assert_eq!(p.map_elems(|()| 1u8).to_matrix().sum(), 36);
}

#[test]
fn tiled_copy_order() {
    // u8 rows 4 KiB apart and 9 patch rows: the tiled order. A range that
    // crosses the end of a grid line, and a reversed source.
    let img = ndarray::Array2::from_shape_fn((10, 4096), |(i, j)| (i * 7 + j * 13) as u8);
    for v in [img.view(), img.slice(s![..;-1, ..])] {
        let p = v.patches((9, 2));
        let start = p.grid()[1] - 20;
        let mut out = Array2::zeros((40, 18));
        p.write_rows(start, out.view_mut());
        for (k, row) in out.rows().into_iter().enumerate() {
            let w = p.get(start + k).unwrap();
            assert_eq!(row.to_vec(), w.iter().copied().collect::<Vec<_>>());
        }
    }
}

#[test]
fn mutable_blocks_in_parallel() {
    // Disjoint mutable blocks written from rayon threads, on a reversed view.
    let mut a = Array2::<u16>::zeros((6, 9));
    let mut v = a.slice_mut(s![..;-1, ..]);
    v.blocks_mut((2, 3))
        .par_for_each(|k, mut b| b.fill(k as u16 + 1));
    assert_eq!(a[[5, 0]], 1);
    assert_eq!(a[[0, 8]], 9);
    assert!(a.iter().all(|&x| x > 0));
}

#[test]
fn gather_selected_rows() {
    // `select` fills rows in any order through the same copier, into an
    // uninitialized matrix.
    let img = Array2::from_shape_fn((7, 9), |(i, j)| (i * 9 + j) as i64);
    let v = img.slice(s![.., ..;-1]);
    let p = v.patches((3, 2)).step((2, 1));
    let idx = [p.len() - 1, 0, 5, 5];
    let m = p.select(&idx).to_matrix();
    for (row, &r) in m.rows().into_iter().zip(&idx) {
        assert_eq!(
            row.to_vec(),
            p.get(r).unwrap().iter().copied().collect::<Vec<_>>()
        );
    }
    // Converted while gathered.
    let m32 = p
        .map_elems(|x: i64| x as f32 * 0.5)
        .select(&idx)
        .to_matrix();
    assert_eq!(m32, m.mapv(|x| x as f32 * 0.5));
    let mf = p
        .rows(1..)
        .cast::<i128>()
        .select(&[5, p.len() - 1])
        .to_matrix();
    assert_eq!(mf.row(0), m.row(2).mapv(i128::from));
    assert_eq!(mf.row(1), m.row(0).mapv(i128::from));
}

#[test]
#[cfg(feature = "rand")]
fn shuffled_batches_in_reused_buffers() {
    // A shuffled epoch gathers its batches into a buffer that is refilled
    // (the last batch shorter), on one thread and on every thread; a
    // panicking conversion unwinds out of a refill.
    use ndarray_patches::rand::{rngs::StdRng, SeedableRng};
    let img = Array2::from_shape_fn((7, 9), |(i, j)| (i * 9 + j) as i64);
    let v = img.slice(s![..;-1, ..]);
    let p = v.patches((3, 2)).step((2, 1)); // 24 rows
    let epoch = p.rows(2..).shuffled(&mut StdRng::seed_from_u64(4));
    let check = |idx: ndarray_patches::Indices, b: ArrayView2<'_, i64>| {
        for (row, &r) in b.rows().into_iter().zip(idx.iter()) {
            assert_eq!(
                row.to_vec(),
                p.get(r).unwrap().iter().copied().collect::<Vec<_>>()
            );
        }
    };
    epoch.for_each_chunk(5, check);
    epoch.par_for_each_chunk(5, check);
    for (idx, b) in epoch.chunks(5) {
        check(idx, b.view());
    }
    let boom = |x: i64| -> f32 {
        assert!(x != 30, "conversion");
        x as f32
    };
    let epoch = p.map_elems(boom).shuffled(&mut StdRng::seed_from_u64(4));
    for rows in [1, 5] {
        assert!(catch_unwind(AssertUnwindSafe(|| epoch.for_each_chunk(rows, |_, _| {}))).is_err());
        assert!(catch_unwind(AssertUnwindSafe(
            || epoch.par_for_each_chunk(rows, |_, _| {})
        ))
        .is_err());
    }
}

#[test]
fn panics_unwind_out_of_visitors_and_conversions() {
    // A panic in the caller's code or in a conversion closure, in the
    // middle of filling a buffer or an uninitialized matrix, unwinds
    // without reading or dropping uninitialized elements; the patches are
    // usable afterwards.
    let img = Array2::from_shape_fn((6, 7), |(i, j)| (i * 7 + j) as u16);
    let p = img.patches(2); // 30 patches
    let expect_panic = |f: &dyn Fn()| {
        assert!(catch_unwind(AssertUnwindSafe(f)).is_err());
    };
    expect_panic(&|| {
        p.for_each_chunk(4, |start, _| assert!(start < 8, "visitor"));
    });
    expect_panic(&|| {
        p.par_for_each_chunk(4, |start, _| assert!(start < 8, "visitor"));
    });
    expect_panic(&|| {
        let _: Array1<u16> = p.par_map_chunks(4, |c| {
            assert!(c[[0, 0]] < 20, "visitor");
            c.column(0).to_owned()
        });
    });
    // The conversion panics at the element 30 (in patches 19, 20, 25, 26).
    let boom = |x: u16| -> f32 {
        assert!(x != 30, "conversion");
        f32::from(x)
    };
    expect_panic(&|| {
        p.map_elems(boom).to_matrix();
    });
    expect_panic(&|| {
        p.map_elems(boom).select(&[0, 25, 1]).to_matrix();
    });
    expect_panic(&|| {
        let mut out = Array2::<f32>::zeros((30, 4).f());
        p.map_elems(boom).write_rows(0, out.view_mut());
    });
    expect_panic(&|| {
        p.map_elems(boom).for_each_chunk(8, |_, _| {});
    });
    expect_panic(&|| {
        p.map_elems(boom).chunks(8).for_each(drop);
    });
    expect_panic(&|| {
        p.map_elems(boom).map_windows(|w| w[0]);
    });
    let ok = |x: u16| f32::from(x);
    assert_eq!(p.map_elems(ok).to_matrix(), p.cast::<f32>().to_matrix());
    assert_eq!(
        p.rows(..19).map_elems(boom).to_matrix(),
        p.rows(..19).cast::<f32>().to_matrix()
    );
}

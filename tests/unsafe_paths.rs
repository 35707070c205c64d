//! A small, deterministic set of cases over every unsafe path (the window
//! view's `from_shape_ptr` and the row copier's pointer reads), sized to run
//! under Miri in minutes: `cargo +nightly miri test --test unsafe_paths`.

mod common;

use common::{reference, Layout, Source};
use ndarray::{s, Array2, ArrayView2, IxDyn, ShapeBuilder};
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
    let total: usize = p.chunks(50).map(|c| c.nrows()).sum();
    assert_eq!(total, p.len());
}

#[test]
fn lifetimes_of_into_patches() {
    fn first_patch<'a>(v: ArrayView2<'a, u32>) -> ArrayView2<'a, u32> {
        v.into_patches((2, 2)).get(0)
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
            let w = p.get(start + k);
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
    let m = p.select(&idx);
    for (row, &r) in m.rows().into_iter().zip(&idx) {
        assert_eq!(row.to_vec(), p.get(r).iter().copied().collect::<Vec<_>>());
    }
}

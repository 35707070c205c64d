//! Padding parity with numpy.pad for every mode, including pads wider than
//! the array, and the edge policies' grids.

use ndarray::{array, Array, Array1, Array2, Array3, IxDyn};
use ndarray_patches::prelude::*;
use ndarray_patches::{pad, try_pad, Argument, Edge, Pad, PatchError, Window};

fn a34() -> Array2<i32> {
    Array::from_iter(0..12)
        .into_shape_with_order((3, 4))
        .unwrap()
}

fn from_rows(rows: &[&[i32]]) -> Array2<i32> {
    let v: Vec<i32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Array2::from_shape_vec((rows.len(), rows[0].len()), v).unwrap()
}

// np.pad(np.arange(12).reshape(3, 4), ((2, 5), (7, 1)), mode=...), from
// tests/parity_gen.py's companion run.
#[test]
fn numpy_pad_modes_2d() {
    let e = from_rows(&[
        &[0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 3],
        &[0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 3],
        &[0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 3],
        &[4, 4, 4, 4, 4, 4, 4, 4, 5, 6, 7, 7],
        &[8, 8, 8, 8, 8, 8, 8, 8, 9, 10, 11, 11],
        &[8, 8, 8, 8, 8, 8, 8, 8, 9, 10, 11, 11],
        &[8, 8, 8, 8, 8, 8, 8, 8, 9, 10, 11, 11],
        &[8, 8, 8, 8, 8, 8, 8, 8, 9, 10, 11, 11],
        &[8, 8, 8, 8, 8, 8, 8, 8, 9, 10, 11, 11],
        &[8, 8, 8, 8, 8, 8, 8, 8, 9, 10, 11, 11],
    ]);
    assert_eq!(pad(&a34(), (2, 7), (5, 1), Pad::Edge), e);
    let r = from_rows(&[
        &[9, 8, 9, 10, 11, 10, 9, 8, 9, 10, 11, 10],
        &[5, 4, 5, 6, 7, 6, 5, 4, 5, 6, 7, 6],
        &[1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2],
        &[5, 4, 5, 6, 7, 6, 5, 4, 5, 6, 7, 6],
        &[9, 8, 9, 10, 11, 10, 9, 8, 9, 10, 11, 10],
        &[5, 4, 5, 6, 7, 6, 5, 4, 5, 6, 7, 6],
        &[1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2],
        &[5, 4, 5, 6, 7, 6, 5, 4, 5, 6, 7, 6],
        &[9, 8, 9, 10, 11, 10, 9, 8, 9, 10, 11, 10],
        &[5, 4, 5, 6, 7, 6, 5, 4, 5, 6, 7, 6],
    ]);
    assert_eq!(pad(&a34(), (2, 7), (5, 1), Pad::Reflect), r);
    let s = from_rows(&[
        &[5, 6, 7, 7, 6, 5, 4, 4, 5, 6, 7, 7],
        &[1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3],
        &[1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3],
        &[5, 6, 7, 7, 6, 5, 4, 4, 5, 6, 7, 7],
        &[9, 10, 11, 11, 10, 9, 8, 8, 9, 10, 11, 11],
        &[9, 10, 11, 11, 10, 9, 8, 8, 9, 10, 11, 11],
        &[5, 6, 7, 7, 6, 5, 4, 4, 5, 6, 7, 7],
        &[1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3],
        &[1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3],
        &[5, 6, 7, 7, 6, 5, 4, 4, 5, 6, 7, 7],
    ]);
    assert_eq!(pad(&a34(), (2, 7), (5, 1), Pad::Symmetric), s);
    let w = from_rows(&[
        &[5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4],
        &[9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8],
        &[1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0],
        &[5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4],
        &[9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8],
        &[1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0],
        &[5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4],
        &[9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8],
        &[1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0],
        &[5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4],
    ]);
    assert_eq!(pad(&a34(), (2, 7), (5, 1), Pad::Wrap), w);
    // np.pad(a, ((1, 2), (0, 3)), constant_values=-1)
    let c = from_rows(&[
        &[-1, -1, -1, -1, -1, -1, -1],
        &[0, 1, 2, 3, -1, -1, -1],
        &[4, 5, 6, 7, -1, -1, -1],
        &[8, 9, 10, 11, -1, -1, -1],
        &[-1, -1, -1, -1, -1, -1, -1],
        &[-1, -1, -1, -1, -1, -1, -1],
    ]);
    assert_eq!(pad(&a34(), (1, 0), (2, 3), Pad::Constant(-1)), c);
}

#[test]
fn numpy_pad_wide_1d() {
    // np.pad(np.arange(2), (5, 6), 'reflect'); np.pad(np.arange(1), (2, 3), 'reflect');
    // np.pad(np.arange(3), (7, 7), 'symmetric')
    assert_eq!(
        pad(&Array1::from_iter(0..2), 5, 6, Pad::Reflect).to_vec(),
        vec![1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    );
    assert_eq!(
        pad(&Array1::from_iter(0..1), 2, 3, Pad::Reflect).to_vec(),
        vec![0; 6]
    );
    assert_eq!(
        pad(&Array1::from_iter(0..3), 7, 7, Pad::Symmetric).to_vec(),
        vec![0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2]
    );
}

#[test]
fn pad_layouts_and_errors() {
    // A reversed, transposed source pads like its owned copy.
    let a = a34();
    let v = a.t();
    let v = v.slice(ndarray::s![..;-1, ..]);
    assert_eq!(
        pad(&v, (2, 1), (1, 3), Pad::Reflect),
        pad(&v.to_owned(), (2, 1), (1, 3), Pad::Reflect)
    );
    let d = Array3::<u8>::zeros((2, 2, 2)).into_dyn();
    assert_eq!(
        try_pad(&d, IxDyn(&[1, 1]), IxDyn(&[1, 1]), Pad::Edge).unwrap_err(),
        PatchError::WrongNdim {
            argument: Argument::PadBefore,
            expected: 3,
            found: 2
        }
    );
    assert_eq!(
        try_pad(&d, IxDyn(&[1, 1, 1]), IxDyn(&[1, 1]), Pad::Edge).unwrap_err(),
        PatchError::WrongNdim {
            argument: Argument::PadAfter,
            expected: 3,
            found: 2
        }
    );
}

#[test]
fn single_number_widths_pad_every_axis() {
    let a = a34();
    for mode in [
        Pad::Constant(-1),
        Pad::Edge,
        Pad::Reflect,
        Pad::Symmetric,
        Pad::Wrap,
    ] {
        assert_eq!(pad(&a, 2, 3, mode), pad(&a, (2, 2), (3, 3), mode));
        assert_eq!(pad(&a, 0, 1, mode), pad(&a, [0, 0], [1, 1], mode));
        let d = a.clone().into_dyn();
        let want = pad(&a, (1, 1), (2, 2), mode).into_dyn();
        assert_eq!(pad(&d, 1, 2, mode), want);
        assert_eq!(pad(&d, vec![1, 1], &[2usize, 2][..], mode), want);
        assert_eq!(pad(&d, (1, 1), IxDyn(&[2, 2]), mode), want);
    }
    // numpy.pad(np.arange(12).reshape(3, 4), 1, mode="edge")
    assert_eq!(
        pad(&a, 1, 1, Pad::Edge),
        from_rows(&[
            &[0, 0, 1, 2, 3, 3],
            &[0, 0, 1, 2, 3, 3],
            &[4, 4, 5, 6, 7, 7],
            &[8, 8, 9, 10, 11, 11],
            &[8, 8, 9, 10, 11, 11],
        ])
    );
}

#[test]
fn edge_policies_give_their_grids() {
    let img = Array2::from_shape_fn((10, 13), |(i, j)| (i * 13 + j) as i32);
    // Same, step 1: one patch per pixel, centred on it.
    for k in [1usize, 2, 3, 4, 5] {
        let padded = img.padded(&Window::new((k, k)), Edge::Same, Pad::Constant(-1));
        let p = padded.patches();
        assert_eq!(p.grid(), ndarray::Dim([10, 13]));
        let c = (k - 1) / 2;
        for (r, w) in p.iter().enumerate() {
            assert_eq!(w[[c, c]], img[[r / 13, r % 13]], "k={k} r={r}");
        }
    }
    // Same with step 2: windows centred on every second pixel.
    let p = img.padded(&Window::new((3, 3)).step((2, 2)), Edge::Same, Pad::Edge);
    assert_eq!(p.patches().grid(), ndarray::Dim([5, 7]));
    assert_eq!(p.patches().get(8).unwrap()[[1, 1]], img[[2, 2]]);
    // Cover: every pixel in some window.
    let p = img.padded(
        &Window::new((4, 4)).step((3, 3)),
        Edge::Cover,
        Pad::Constant(0),
    );
    assert_eq!(p.patches().grid(), ndarray::Dim([3, 4]));
    assert_eq!(p.array().dim(), (10, 13));
    let p = img.padded(
        &Window::new((4, 4)).step((4, 4)),
        Edge::Cover,
        Pad::Constant(0),
    );
    assert_eq!(p.array().dim(), (12, 16));
    assert_eq!(p.before(), &ndarray::Dim([0, 0]));
    // Errors as for patches.
    assert!(matches!(
        img.try_padded(&Window::new((11, 1)), Edge::Valid, Pad::Edge),
        Err(PatchError::PatchTooLarge { .. })
    ));
    assert!(matches!(
        img.try_padded(&Window::new((0, 1)), Edge::Same, Pad::Edge),
        Err(PatchError::Zero { .. })
    ));
    assert_eq!(
        array![1.0f32]
            .padded(&Window::new(3), Edge::Same, Pad::Reflect)
            .array()
            .to_vec(),
        vec![1.0; 3]
    );
}

/// `Window::try_padding` is what `padded` pads, for every edge, step and
/// dilation, and validates the window as `padded` does.
#[test]
fn try_padding_is_what_padded_pads() {
    let img = Array2::from_shape_fn((11, 7), |(i, j)| (i * 7 + j) as i32);
    for k in 1..=5usize {
        for s in 1..=3usize {
            for d in 1..=2usize {
                let w = Window::new((k, k.min(4))).step((s, 1)).dilation((1, d));
                for edge in [Edge::Valid, Edge::Same, Edge::Cover, Edge::Shift] {
                    let (before, after) = w.try_padding(&img.raw_dim(), edge).unwrap();
                    let p = img.padded(&w, edge, Pad::Constant(0));
                    assert_eq!(p.before(), &before, "{w:?} {edge:?}");
                    let (b, a) = (before, after);
                    assert_eq!(
                        p.array().dim(),
                        (11 + b[0] + a[0], 7 + b[1] + a[1]),
                        "{w:?} {edge:?}"
                    );
                }
            }
        }
    }
    assert!(matches!(
        Window::new((0, 1)).try_padding(&img.raw_dim(), Edge::Same),
        Err(PatchError::Zero { .. })
    ));
    assert!(matches!(
        Window::new(IxDyn(&[3])).try_padding(&IxDyn(&[4, 4]), Edge::Same),
        Err(PatchError::WrongNdim { .. })
    ));
    assert!(matches!(
        Window::new(3usize)
            .dilation(usize::MAX)
            .try_padding(&ndarray::Dim(4usize), Edge::Same),
        Err(PatchError::Overflow { .. })
    ));
}

//! `dot` and `t_dot` by FFT cross-correlation against the materialized
//! `f64` product (`to_matrix`, then ndarray's products), on random N-D
//! cases: steps, dilations, both edges without padding (`Valid`, `Shift`),
//! padded sources, every layout and conversion, vector and matrix
//! operands; the methods against each other; `f32` accuracy; and
//! `Method::Fft` refused where it does not apply.

mod common;

use common::{case, Case, Source};
use ndarray::{Array1, Array2, ArrayD, IxDyn};
use ndarray_patches::prelude::*;
use ndarray_patches::{Edge, Method, PatchError};
use proptest::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// The largest absolute difference, relative to the largest entry of `want`.
fn rel_err<'a>(
    got: impl IntoIterator<Item = &'a f64>,
    want: impl IntoIterator<Item = &'a f64> + Clone,
) -> f64 {
    let scale = want
        .clone()
        .into_iter()
        .fold(0.0f64, |m, &x| m.max(x.abs()));
    let err = got
        .into_iter()
        .zip(want)
        .fold(0.0f64, |m, (&a, &b)| m.max((a - b).abs()));
    if scale == 0.0 {
        err
    } else {
        err / scale
    }
}

/// Deterministic pseudo-random values in [0, 1).
fn uniform(n: usize, seed: u64) -> Vec<f64> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// A `(rows, cols)` matrix of values in [-1, 1).
fn signed(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    Array2::from_shape_vec((rows, cols), uniform(rows * cols, seed))
        .unwrap()
        .mapv(|u| 2.0 * u - 1.0)
}

/// The largest errors of the property test (bits of non-negative f64):
/// dot, t_dot.
static WORST: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Forced FFT against the materialized product: `X·w`, `X·W`, `Xᵀ·v`,
/// `Xᵀ·V`, within `1e-10` of the largest entry.
fn check_products<A, D, C>(
    rows: &ndarray_patches::Rows<'_, A, D, C>,
    seed: u64,
) -> Result<(), TestCaseError>
where
    A: Copy + Send + Sync,
    D: ndarray::Dimension,
    C: ndarray_patches::Conversion<A, Output = f64> + Clone,
{
    let x = rows.to_matrix();
    let (n, pl) = x.dim();
    let f = rows.method(Method::Fft);
    let w = signed(pl, 3, seed);
    let v = signed(n, 2, seed + 1);
    let e = rel_err(&f.dot(&w), &x.dot(&w));
    WORST[0].fetch_max(e.to_bits(), Ordering::Relaxed);
    prop_assert!(e <= 1e-10, "X·W: relative error {e:e}");
    let w1 = w.column(1).to_owned();
    let e = rel_err(&f.dot(&w1), &x.dot(&w1));
    prop_assert!(e <= 1e-10, "X·w: relative error {e:e}");
    let e = rel_err(&f.t_dot(&v), &x.t().dot(&v));
    WORST[1].fetch_max(e.to_bits(), Ordering::Relaxed);
    prop_assert!(e <= 1e-10, "Xᵀ·V: relative error {e:e}");
    let v0 = v.column(0).to_owned();
    let e = rel_err(&f.t_dot(&v0), &x.t().dot(&v0));
    prop_assert!(e <= 1e-10, "Xᵀ·v: relative error {e:e}");
    Ok(())
}

fn check_case(c: &Case, edge: Edge, conv: u8, seed: u64) -> Result<(), TestCaseError> {
    let src = Source::new(&c.shape, c.layout.clone());
    let a = src.view();
    let Ok(p) = a
        .try_patches(IxDyn(&c.patch))
        .and_then(|p| p.try_step(IxDyn(&c.step)))
        .and_then(|p| p.try_dilation(IxDyn(&c.dil)))
    else {
        return Ok(());
    };
    let p = p.edge(edge);
    match conv {
        0 => check_products(&p.cast::<f64>(), seed),
        _ => check_products(
            &p.map_elems(|v: i32| ((v % 1000) as f64 * 0.37).sin() + 0.25),
            seed,
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn fft_matches_materialized(
        c in case(1..=3, 12, 4, 3),
        shift in any::<bool>(),
        conv in 0u8..2,
        seed in 0u64..1000,
    ) {
        check_case(&c, if shift { Edge::Shift } else { Edge::Valid }, conv, seed)?;
    }
}

/// Prints the largest errors of the property test when run after it
/// (`cargo test --release --test fft -- --nocapture --test-threads 1`).
#[test]
#[cfg_attr(miri, ignore)]
fn zz_worst_errors() {
    let w: Vec<f64> = WORST
        .iter()
        .map(|x| f64::from_bits(x.load(Ordering::Relaxed)))
        .collect();
    println!(
        "largest relative errors of the property test: dot {:.2e}, t_dot {:.2e}",
        w[0], w[1]
    );
}

/// Both methods on the same rows, f64: within 1e-10 of the largest entry.
fn methods_agree<A, D, C>(rows: &ndarray_patches::Rows<'_, A, D, C>)
where
    A: Copy + Send + Sync,
    D: ndarray::Dimension,
    C: ndarray_patches::Conversion<A, Output = f64> + Clone,
{
    let (f, g) = (rows.method(Method::Fft), rows.method(Method::Gemm));
    let pl = rows.to_matrix().ncols();
    let w = signed(pl, 4, 11);
    let e = rel_err(&f.dot(&w), &g.dot(&w));
    assert!(e <= 1e-10, "X·W: {e:e}");
    let w1 = w.column(0).to_owned();
    let e = rel_err(&f.dot(&w1), &g.dot(&w1));
    assert!(e <= 1e-10, "X·w: {e:e}");
    let v = signed(rows.len(), 3, 12);
    let e = rel_err(&f.t_dot(&v), &g.t_dot(&v));
    assert!(e <= 1e-10, "Xᵀ·V: {e:e}");
    let v1 = v.column(2).to_owned();
    let e = rel_err(&f.t_dot(&v1), &g.t_dot(&v1));
    assert!(e <= 1e-10, "Xᵀ·v: {e:e}");
}

/// Images large enough for several tiles on several threads: 2-D, wide,
/// 1-D, 3-D, with steps, dilations and moved-back windows.
#[test]
#[cfg_attr(miri, ignore)]
fn tiles_threads_and_shapes() {
    let img = Array2::from_shape_vec((300, 257), uniform(300 * 257, 1)).unwrap();
    methods_agree(&img.patches((16, 16)).cast::<f64>());
    methods_agree(&img.patches((39, 39)).cast::<f64>());
    methods_agree(
        &img.patches((9, 7))
            .step((2, 3))
            .edge(Edge::Shift)
            .cast::<f64>(),
    );
    methods_agree(&img.patches((5, 6)).dilation((3, 2)).cast::<f64>());
    methods_agree(&img.patches((12, 12)).step(5).dilation(2).cast::<f64>());
    let wide = Array2::from_shape_vec((9, 40_000), uniform(9 * 40_000, 2)).unwrap();
    methods_agree(&wide.patches((5, 9)).cast::<f64>());
    methods_agree(&wide.patches((1, 33)).cast::<f64>());
    let line = Array1::from(uniform(200_000, 3));
    methods_agree(&line.patches(33).cast::<f64>());
    methods_agree(
        &line
            .patches(12)
            .step(5)
            .dilation(3)
            .edge(Edge::Shift)
            .cast::<f64>(),
    );
    let vol = ndarray::Array3::from_shape_vec((40, 50, 60), uniform(120_000, 4)).unwrap();
    methods_agree(&vol.patches((5, 4, 3)).cast::<f64>());
    methods_agree(
        &vol.patches((3, 3, 3))
            .step((2, 1, 3))
            .edge(Edge::Shift)
            .cast::<f64>(),
    );
}

/// Channels spanned whole, per-channel windows, windows along some axes
/// (batch axes), padded sources, a 0-D array, windows of one element.
#[test]
#[cfg_attr(miri, ignore)]
fn channels_batches_and_padding() {
    let rgb = ndarray::Array3::from_shape_vec((70, 90, 3), uniform(70 * 90 * 3, 5)).unwrap();
    methods_agree(&rgb.patches((8, 8, 3)).cast::<f64>());
    methods_agree(&rgb.patches((5, 4, 3)).step((2, 3, 1)).cast::<f64>());
    methods_agree(&rgb.patches((5, 4, 1)).cast::<f64>());
    let nchw = ArrayD::from_shape_vec(IxDyn(&[2, 3, 40, 50]), uniform(12_000, 6)).unwrap();
    methods_agree(&nchw.patches_along((2, 3), (6, 5)).cast::<f64>());
    let img = Array2::from_shape_vec((60, 70), uniform(4200, 7)).unwrap();
    let w = ndarray_patches::Window::new((7, 5)).step(2);
    for edge in [Edge::Same, Edge::Cover] {
        for pad in [
            ndarray_patches::Pad::Reflect,
            ndarray_patches::Pad::Constant(0.25),
        ] {
            let padded = img.padded(&w, edge, pad);
            methods_agree(&padded.patches().cast::<f64>());
        }
    }
    methods_agree(&img.patches((1, 1)).cast::<f64>());
    let zero_d = ndarray::arr0(3.0f64);
    let p = zero_d.patches(());
    assert_eq!(p.method(Method::Fft).dot(&Array1::from(vec![2.0]))[0], 6.0);
    assert_eq!(
        p.method(Method::Fft).t_dot(&Array1::from(vec![2.0]))[0],
        6.0
    );
}

/// Conversions apply to the image's elements: u8 to f64, a
/// normalisation; source layouts: F order, reversed, broadcast.
#[test]
#[cfg_attr(miri, ignore)]
fn conversions_and_layouts() {
    let img = Array2::from_shape_fn((120, 130), |(i, j)| ((i * 31 + j * 7) % 256) as u8);
    let p = img.patches((9, 9)).step((1, 2));
    methods_agree(&p.cast::<f64>());
    methods_agree(&p.map_elems(|v: u8| f64::from(v) / 255.0 - 0.5));
    let f = img.t().mapv(f64::from);
    let f = f.t();
    methods_agree(&f.patches((6, 11)).cast::<f64>());
    let mut r = img.mapv(f64::from);
    r.invert_axis(ndarray::Axis(1));
    methods_agree(&r.patches((10, 7)).cast::<f64>());
    let row = Array1::from(uniform(130, 9));
    let b = row.broadcast((50, 130)).unwrap();
    methods_agree(&b.patches((9, 9)).cast::<f64>());
}

/// A bright, low-contrast image (1000 + U(0, 1)): the image is centred
/// before the transforms, the results keep their digits.
#[test]
#[cfg_attr(miri, ignore)]
fn bright_low_contrast() {
    let img = Array2::from_shape_vec((200, 180), uniform(36_000, 8))
        .unwrap()
        .mapv(|u| 1000.0 + u);
    methods_agree(&img.patches((8, 8)).cast::<f64>());
    methods_agree(&img.patches((17, 13)).step((2, 1)).cast::<f64>());
}

/// f32 rows (transformed in f32) within 1e-5 of the f64 product, relative
/// to the largest entry, also on bright images and for W6-like windows.
#[test]
#[cfg_attr(miri, ignore)]
fn f32_accuracy() {
    let mut worst = [0.0f64; 2];
    for (seed, bright) in [(1u64, 0.0f32), (2, 1000.0)] {
        let img = Array2::from_shape_vec((300, 280), uniform(300 * 280, seed))
            .unwrap()
            .mapv(|u| u as f32 + bright);
        for p in [img.patches((39, 39)), img.patches((16, 16)).step(2)] {
            let x = p.cast::<f64>().to_matrix();
            let w = signed(p.patch_len(), 16, seed + 3);
            let y: Array2<f32> = p.method(Method::Fft).dot(&w.mapv(|v| v as f32));
            let e = rel_err(&y.mapv(f64::from), &x.dot(&w));
            worst[0] = worst[0].max(e);
            assert!(e <= 1e-5, "f32 X·W: {e:e}");
            let v = signed(p.len(), 4, seed + 4);
            let z: Array2<f32> = p.method(Method::Fft).t_dot(&v.mapv(|v| v as f32));
            let e = rel_err(&z.mapv(f64::from), &x.t().dot(&v));
            worst[1] = worst[1].max(e);
            assert!(e <= 1e-5, "f32 Xᵀ·V: {e:e}");
        }
    }
    println!(
        "f32 by FFT: largest relative errors X·W {:.2e}, Xᵀ·V {:.2e}",
        worst[0], worst[1]
    );
}

/// The FFT needs every window and computes `dot` and `t_dot` only:
/// forcing it elsewhere is an error (a panic without `try_`); `Auto` falls
/// back to GEMM there.
#[test]
fn forced_fft_where_it_does_not_apply() {
    let img = Array2::from_shape_fn((20, 20), |(i, j)| (i * j) as f64);
    let p = img.patches((4, 4));
    let f = p.method(Method::Fft);
    let unavailable =
        |r: Result<(), PatchError>| matches!(r, Err(PatchError::MethodUnavailable { .. }));
    let w = Array1::<f64>::ones(16);
    assert!(unavailable(
        p.rows(1..).method(Method::Fft).try_dot(&w).map(|_| ())
    ));
    assert!(unavailable(
        f.select(&[3, 1]).try_t_dot(&Array1::zeros(2)).map(|_| ())
    ));
    assert!(unavailable(
        p.rows(..10)
            .method(Method::Fft)
            .try_dot(&Array2::zeros((16, 2)))
            .map(|_| ())
    ));
    assert!(unavailable(f.try_gram().map(|_| ())));
    assert!(unavailable(f.try_mean().map(|_| ())));
    assert!(unavailable(f.try_covariance().map(|_| ())));
    let r = std::panic::catch_unwind(|| p.rows(1..).method(Method::Fft).dot(&w));
    assert!(r.is_err());
    // All rows as a range: the whole grid.
    assert!(p.rows(..).method(Method::Fft).try_dot(&w).is_ok());
    // Auto on a range: GEMM, the same result as forced GEMM.
    assert_eq!(
        p.rows(2..).dot(&w),
        p.rows(2..).method(Method::Gemm).dot(&w)
    );
    // Shapes are still checked.
    assert!(matches!(
        f.try_dot(&Array1::zeros(15)),
        Err(PatchError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        f.try_t_dot(&Array1::zeros(3)),
        Err(PatchError::ShapeMismatch { .. })
    ));
    // No columns: empty results.
    assert_eq!(f.dot(&Array2::zeros((16, 0))).dim(), (p.len(), 0));
    assert_eq!(f.t_dot(&Array2::zeros((p.len(), 0))).dim(), (16, 0));
}

/// Under `Auto`, large windows on all the rows take the FFT, tiny ones
/// GEMM: the results agree either way.
#[test]
#[cfg_attr(miri, ignore)]
fn auto_agrees() {
    let img = Array2::from_shape_vec((200, 200), uniform(40_000, 13)).unwrap();
    for k in [3usize, 39] {
        let p = img.patches((k, k));
        let w = signed(k * k, 16, 14);
        let e = rel_err(&p.dot(&w), &p.method(Method::Gemm).dot(&w));
        assert!(e <= 1e-10, "{k}x{k}: {e:e}");
    }
}

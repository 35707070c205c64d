//! Gram matrix, mean and covariance by displacement sums against the
//! materialized `f64` reference (`to_matrix`, then ndarray's products),
//! on random N-D cases: steps, dilations, both edges without padding
//! (`Valid`, `Shift`), padded sources, every layout and conversion; and
//! the methods against each other.

mod common;

use common::{case, Case, Source};
use ndarray::{Array1, Array2, ArrayD, Axis, IxDyn};
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

/// `XᵀX`, the mean and the covariance of a materialized `f64` matrix.
fn reference(x: &Array2<f64>) -> (Array2<f64>, Array1<f64>, Option<Array2<f64>>) {
    let n = x.nrows();
    let mu = x.mean_axis(Axis(0)).unwrap();
    let cov = (n >= 2).then(|| {
        let d = x - &mu;
        d.t().dot(&d) / (n - 1) as f64
    });
    (x.t().dot(x), mu, cov)
}

fn check_all(c: &Case, edge: Edge, conv: u8) -> Result<(), TestCaseError> {
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
    let f = |v: i32| ((v % 1000) as f64 * 0.37).sin() + 0.25;
    let (x, g, m, cv): (Array2<f64>, Array2<f64>, Array1<f64>, Option<Array2<f64>>) = match conv {
        0 => {
            let r = p.cast::<f64>().method(Method::Displacement);
            (
                p.cast::<f64>().to_matrix(),
                r.gram(),
                r.mean(),
                r.try_covariance().ok(),
            )
        }
        _ => {
            let r = p.map_elems(f).method(Method::Displacement);
            (
                p.map_elems(f).to_matrix(),
                r.gram(),
                r.mean(),
                r.try_covariance().ok(),
            )
        }
    };
    let (g0, m0, c0) = reference(&x);
    let eg = rel_err(&g, &g0);
    prop_assert!(eg <= 1e-12, "gram: relative error {eg:e}\n{g}\n{g0}");
    WORST[0].fetch_max(eg.to_bits(), Ordering::Relaxed);
    let em = rel_err(&m, &m0);
    WORST[1].fetch_max(em.to_bits(), Ordering::Relaxed);
    prop_assert!(em <= 1e-12, "mean: relative error {em:e}\n{m}\n{m0}");
    match (cv, c0) {
        (Some(cv), Some(c0)) => {
            // Identical windows (a broadcast source) have covariance 0:
            // measure against a floor of the data's own scale.
            let floor = 1e-4 * x.iter().fold(0.0f64, |m, &v| m.max(v * v));
            let ec = rel_err(&cv, &c0) * c0.iter().fold(0.0f64, |m, &v| m.max(v.abs()))
                / c0.iter().fold(floor, |m, &v| m.max(v.abs()));
            WORST[2].fetch_max(ec.to_bits(), Ordering::Relaxed);
            prop_assert!(ec <= 1e-10, "covariance: relative error {ec:e}");
        }
        (None, None) => {}
        (a, b) => prop_assert!(false, "covariance {:?} vs {:?}", a.is_some(), b.is_some()),
    }
    Ok(())
}

/// The largest errors seen by the property test (bits of non-negative
/// f64, which order as the numbers do): gram, mean, covariance.
static WORST: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn displacement_matches_materialized(
        c in case(1..=3, 12, 4, 3),
        shift in any::<bool>(),
        conv in 0u8..2,
    ) {
        check_all(&c, if shift { Edge::Shift } else { Edge::Valid }, conv)?;
    }
}

/// Prints the largest errors of the property test when run after it
/// (`cargo test --test displacement -- --nocapture --test-threads 1`).
#[test]
#[cfg_attr(miri, ignore)]
fn zz_worst_errors() {
    let w: Vec<f64> = WORST
        .iter()
        .map(|x| f64::from_bits(x.load(Ordering::Relaxed)))
        .collect();
    println!(
        "largest relative errors of the property test: gram {:.2e}, mean {:.2e}, covariance {:.2e}",
        w[0], w[1], w[2]
    );
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

/// Both methods on the same rows: gram and mean within 1e-12, covariance
/// within 1e-10, relative to the largest entry.
fn methods_agree<A, D, C>(rows: &ndarray_patches::Rows<'_, A, D, C>)
where
    A: Copy + Send + Sync,
    D: ndarray::Dimension,
    C: ndarray_patches::Conversion<A, Output = f64> + Clone,
{
    let (d, g) = (rows.method(Method::Displacement), rows.method(Method::Gemm));
    let e = rel_err(&d.gram(), &g.gram());
    assert!(e <= 1e-12, "gram: {e:e}");
    let e = rel_err(&d.mean(), &g.mean());
    assert!(e <= 1e-12, "mean: {e:e}");
    let e = rel_err(&d.covariance(), &g.covariance());
    assert!(e <= 1e-10, "covariance: {e:e}");
    // One pass for both: the same mean and covariance, by either method.
    for r in [&d, &g] {
        let (m, c) = r.mean_covariance();
        let e = rel_err(&m, &g.mean());
        assert!(e <= 1e-12, "mean_covariance's mean: {e:e}");
        let e = rel_err(&c, &g.covariance());
        assert!(e <= 1e-10, "mean_covariance's covariance: {e:e}");
    }
}

/// Images large enough for several tiles on several threads, along the
/// first axis, along the last (wide rows), along the only one (1-D), in
/// 3-D, with moved-back windows and steps.
#[test]
#[cfg_attr(miri, ignore)]
fn tiles_threads_and_shapes() {
    let img = Array2::from_shape_vec((300, 257), uniform(300 * 257, 1)).unwrap();
    methods_agree(&img.patches((16, 16)).cast::<f64>());
    methods_agree(
        &img.patches((9, 7))
            .step((2, 3))
            .edge(Edge::Shift)
            .cast::<f64>(),
    );
    methods_agree(&img.patches((5, 6)).dilation((3, 2)).cast::<f64>());
    let wide = Array2::from_shape_vec((9, 40_000), uniform(9 * 40_000, 2)).unwrap();
    methods_agree(&wide.patches((5, 9)).cast::<f64>());
    methods_agree(
        &wide
            .patches((3, 4))
            .step((1, 7))
            .edge(Edge::Shift)
            .cast::<f64>(),
    );
    let line = ndarray::Array1::from(uniform(200_000, 3));
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

/// Channels spanned whole are merged into the axis before them; windows
/// along some axes keep batch axes; padded sources are plain patches.
#[test]
#[cfg_attr(miri, ignore)]
fn channels_batches_and_padding() {
    let rgb = ndarray::Array3::from_shape_vec((70, 90, 3), uniform(70 * 90 * 3, 5)).unwrap();
    methods_agree(&rgb.patches((8, 8, 3)).cast::<f64>());
    methods_agree(&rgb.patches((5, 4, 3)).step((2, 3, 1)).cast::<f64>());
    methods_agree(&rgb.patches((5, 4, 2)).cast::<f64>());
    let nchw = ArrayD::from_shape_vec(IxDyn(&[2, 3, 40, 50]), uniform(12_000, 6)).unwrap();
    let along = nchw.patches_along((2, 3), (6, 5));
    methods_agree(&along.cast::<f64>());
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
    let zero_d = ndarray::arr0(3.0f64);
    let p = zero_d.patches(());
    assert_eq!(p.method(Method::Displacement).gram()[[0, 0]], 9.0);
    assert_eq!(p.method(Method::Displacement).mean()[0], 3.0);
}

/// Conversions are applied to the image's elements: u8 to f64, a
/// normalisation, f32 to f64; an f32 result from f64 sums.
#[test]
#[cfg_attr(miri, ignore)]
fn conversions() {
    let img = Array2::from_shape_fn((120, 130), |(i, j)| ((i * 31 + j * 7) % 256) as u8);
    let p = img.patches((9, 9)).step((1, 2));
    methods_agree(&p.cast::<f64>());
    methods_agree(&p.map_elems(|v: u8| f64::from(v) / 255.0 - 0.5));
    let f = img.mapv(|v| f32::from(v) * 0.5);
    methods_agree(&f.patches((6, 11)).cast::<f64>());
    let x = f.patches((6, 11)).cast::<f64>().to_matrix();
    let g32: Array2<f32> = f.patches((6, 11)).method(Method::Displacement).gram();
    let g64 = x.t().dot(&x);
    let e = rel_err(&g32.mapv(f64::from), &g64);
    assert!(e <= 1e-6, "f32 gram: {e:e}");
}

/// A bright, low-contrast image (1000 + U(0, 1)): the covariance keeps
/// its digits (the image is centred on its mean before the sums).
#[test]
#[cfg_attr(miri, ignore)]
fn bright_low_contrast_covariance() {
    let img = Array2::from_shape_vec((200, 180), uniform(36_000, 8))
        .unwrap()
        .mapv(|u| 1000.0 + u);
    for p in [img.patches((8, 8)), img.patches((5, 7)).step((2, 1))] {
        let x = p.to_matrix();
        let (_, m0, c0) = reference(&x);
        let c = p.method(Method::Displacement).covariance();
        let e = rel_err(&c, c0.as_ref().unwrap());
        println!(
            "bright image, {:?} windows: covariance relative error {e:.2e}",
            p.patch_shape()
        );
        assert!(e <= 1e-10, "covariance: {e:e}");
        let e = rel_err(&p.method(Method::Displacement).mean(), &m0);
        assert!(e <= 1e-12, "mean: {e:e}");
        for method in [Method::Displacement, Method::Gemm] {
            let (m, c) = p.method(method).mean_covariance();
            let e = rel_err(&m, &m0);
            assert!(e <= 1e-12, "mean_covariance's mean ({method:?}): {e:e}");
            let e = rel_err(&c, c0.as_ref().unwrap());
            assert!(
                e <= 1e-10,
                "mean_covariance's covariance ({method:?}): {e:e}"
            );
        }
    }
    // And from f32 pixels, converted to f64.
    let f = img.mapv(|v| v as f32);
    let p = f.patches((8, 8));
    let x = p.cast::<f64>().to_matrix();
    let (_, _, c0) = reference(&x);
    let e = rel_err(
        &p.cast::<f64>().method(Method::Displacement).covariance(),
        c0.as_ref().unwrap(),
    );
    println!("bright f32 image: covariance relative error {e:.2e}");
    assert!(e <= 1e-10, "covariance from f32: {e:e}");
}

/// f32 results as documented: within 1e-5 of the f64 ones, relative to
/// the largest entry, on a million patches.
#[test]
#[cfg_attr(miri, ignore)]
fn f32_accuracy_on_a_million_patches() {
    let img = Array2::from_shape_fn((1026, 1026), |(i, j)| {
        0.5 + ((i * 7919 + j * 104729) % 1000) as f32 / 1000.0
    });
    let p = img.patches((3, 3));
    assert!(p.len() >= 1 << 20);
    let g32: Array2<f32> = p.method(Method::Displacement).gram();
    let g64: Array2<f64> = p.cast::<f64>().method(Method::Gemm).gram();
    let e = rel_err(&g32.mapv(f64::from), &g64);
    println!("f32 gram, {} patches: relative error {e:.2e}", p.len());
    assert!(e <= 1e-5, "gram f32: {e:e}");
    let c32: Array2<f32> = p.method(Method::Displacement).covariance();
    let c64: Array2<f64> = p.cast::<f64>().method(Method::Gemm).covariance();
    let e = rel_err(&c32.mapv(f64::from), &c64);
    println!(
        "f32 covariance, {} patches: relative error {e:.2e}",
        p.len()
    );
    assert!(e <= 1e-5, "covariance f32: {e:e}");
}

/// Displacement sums need every window and compute gram, mean and
/// covariance only: forcing them elsewhere is an error (a panic without
/// `try_`); `Auto` falls back to GEMM there.
#[test]
fn forced_displacement_where_it_does_not_apply() {
    let img = Array2::from_shape_fn((20, 20), |(i, j)| (i * j) as f64);
    let p = img.patches((4, 4));
    let d = p.method(Method::Displacement);
    let unavailable =
        |r: Result<_, PatchError>| matches!(r, Err(PatchError::MethodUnavailable { .. }));
    assert!(unavailable(
        p.rows(1..)
            .method(Method::Displacement)
            .try_gram()
            .map(|_| ())
    ));
    assert!(unavailable(
        p.rows(..10)
            .method(Method::Displacement)
            .try_mean()
            .map(|_| ())
    ));
    assert!(unavailable(d.select(&[3, 1]).try_covariance().map(|_| ())));
    assert!(unavailable(d.try_dot(&Array1::zeros(16)).map(|_| ())));
    assert!(unavailable(
        d.try_t_dot(&Array1::zeros(p.len())).map(|_| ())
    ));
    let r = std::panic::catch_unwind(|| p.rows(1..).method(Method::Displacement).gram());
    assert!(r.is_err());
    // All rows as a range: the whole grid.
    assert!(p.rows(..).method(Method::Displacement).try_gram().is_ok());
    // Auto on a range or a selection: GEMM, same result as forced GEMM.
    assert_eq!(p.rows(2..).gram(), p.rows(2..).method(Method::Gemm).gram());
    assert_eq!(
        p.select(&[5, 2]).gram(),
        p.select(&[5, 2]).method(Method::Gemm).gram()
    );
    // The method survives conversions and row sets.
    assert!(unavailable(
        p.rows(1..)
            .method(Method::Displacement)
            .cast::<f64>()
            .try_gram()
            .map(|_| ())
    ));
}

//! Linear algebra on the virtual patch matrix against the materialized
//! computation (`to_matrix` then ndarray's `dot`), over random geometries
//! and source layouts.

mod common;

use approx::assert_abs_diff_eq;
use common::{Layout, Source};
use ndarray::{Array1, Array2, Axis, IxDyn};
use ndarray_patches::prelude::*;
use ndarray_patches::PatchError;
use proptest::prelude::*;

fn layout() -> impl Strategy<Value = Layout> {
    common::layouts(2, 0.15)
}

/// Deterministic pseudo-random values in [-1, 1).
fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn products_match_materialized(
        shape in (8usize..300, 8usize..300),
        patch in (1usize..5, 1usize..5),
        step in (1usize..4, 1usize..4),
        dil in (1usize..3, 1usize..3),
        layout in layout(),
        k in 1usize..5,
        seed in any::<u64>(),
    ) {
        let src = Source::new(&[shape.0, shape.1], layout);
        let a = src.view();
        let Ok(p) = a.try_patches(IxDyn(&[patch.0, patch.1])).and_then(|p| p.try_step(IxDyn(&[step.0, step.1]))).and_then(|p| p.try_dilation(IxDyn(&[dil.0, dil.1]))) else {
            return Ok(()); // patch does not fit: covered by the error tests
        };
        // Scale the i32 test values to O(1).
        let x = p.to_matrix().mapv(|v| f64::from(v) * 1e-3);
        let (n, pl) = x.dim();
        let sc = |m: Array2<f64>| m * 1e3;
        let w = Array1::from(noise(pl, seed));
        let v = Array1::from(noise(n, seed ^ 1));
        let wm = Array2::from_shape_vec((pl, k), noise(pl * k, seed ^ 2)).unwrap();
        let vm = Array2::from_shape_vec((n, k), noise(n * k, seed ^ 3)).unwrap();
        let xs = sc(x.clone()); // the patch values themselves

        let tol = 1e-9 * xs.iter().fold(1.0f64, |m, &a| m.max(a.abs())) * (n as f64);
        let pf = p.cast::<f64>();
        assert_abs_diff_eq!(pf.dot(&w), xs.dot(&w), epsilon = tol);
        assert_abs_diff_eq!(pf.t_dot(&v), xs.t().dot(&v), epsilon = tol);
        assert_abs_diff_eq!(pf.dot(&wm), xs.dot(&wm), epsilon = tol);
        assert_abs_diff_eq!(pf.t_dot(&vm), xs.t().dot(&vm), epsilon = tol);
        let g: Array2<f64> = pf.gram();
        let gram_ref = xs.t().dot(&xs);
        assert_abs_diff_eq!(g, gram_ref, epsilon = tol * 1e3);
        let mean: Array1<f64> = pf.mean();
        let mu = xs.mean_axis(Axis(0)).unwrap();
        assert_abs_diff_eq!(mean, mu, epsilon = tol);
        if n >= 2 {
            let c: Array2<f64> = pf.covariance();
            let d = &xs - &mu;
            assert_abs_diff_eq!(c, d.t().dot(&d) / (n - 1) as f64, epsilon = tol * 1e3);
        }
        let g2: Array2<f64> = pf.try_gram().unwrap();
        assert_abs_diff_eq!(g2, gram_ref, epsilon = tol * 1e3);
        // The streamed product, block by block, as user code writes it now
        // (cast chunks times W): sequentially into place, and in parallel
        // with the results concatenated in row order.
        let xw = xs.dot(&wm);
        let mut got = Array2::<f64>::zeros((n, k));
        p.cast::<f64>().for_each_chunk(7, |start, x| {
            got.slice_mut(ndarray::s![start..start + x.nrows(), ..]).assign(&x.dot(&wm));
        });
        assert_abs_diff_eq!(got, xw, epsilon = tol);
        let par: Array2<f64> = p.cast::<f64>().par_map_chunks(7, |x| x.dot(&wm));
        assert_abs_diff_eq!(par, xw, epsilon = tol);
        let par: Array1<f64> = p.cast::<f64>().par_map_chunks(13, |x| x.dot(&w));
        assert_abs_diff_eq!(par, xs.dot(&w), epsilon = tol);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// `gram` and `covariance` compute one triangle, splitting the columns
    /// recursively past 32 (and on multiples of 8): patch lengths from 1 to
    /// 169 cover leaves, odd splits and several levels.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn gram_and_covariance_triangles(
        patch in (1usize..14, 1usize..14),
        extra in (0usize..20, 0usize..20),
        layout in layout(),
    ) {
        let src = Source::new(&[patch.0 + extra.0, patch.1 + extra.1], layout);
        let a = src.view();
        let p = a.patches(IxDyn(&[patch.0, patch.1]));
        let xs = p.to_matrix().mapv(f64::from);
        let n = xs.nrows();
        let tol = 1e-9 * xs.iter().fold(1.0f64, |m, &a| m.max(a.abs())).powi(2) * n as f64;
        let g: Array2<f64> = p.cast::<f64>().gram();
        assert_abs_diff_eq!(g, xs.t().dot(&xs), epsilon = tol);
        let a32 = a.mapv(|v| v as f32);
        let g32: Array2<f32> = a32.patches(IxDyn(&[patch.0, patch.1])).gram();
        let rel = g32.iter().zip(g.iter()).fold(0.0f64, |m, (&a, &b)| m.max((f64::from(a) - b).abs()));
        prop_assert!(rel <= 1e-5 * g.iter().fold(1.0f64, |m, &a| m.max(a.abs())));
        if n >= 2 {
            let mu = xs.mean_axis(Axis(0)).unwrap();
            let d = &xs - &mu;
            let c: Array2<f64> = p.cast::<f64>().covariance();
            assert_abs_diff_eq!(c, d.t().dot(&d) / (n - 1) as f64, epsilon = tol);
        }
    }
}

#[test]
fn integer_images_convert() {
    let img = Array2::from_shape_fn((20, 30), |(i, j)| ((i * 31 + j * 7) % 256) as u8);
    let p = img.patches((4, 5)).step((2, 1));
    let x = p.cast::<f32>().to_matrix();
    assert_eq!(x, p.to_matrix().mapv(f32::from));
    let w = Array1::from_shape_fn(20, |k| k as f32 - 9.5);
    assert_abs_diff_eq!(p.cast::<f32>().dot(&w), x.dot(&w), epsilon = 1e-3);
    let g: Array2<f32> = p.cast::<f32>().gram();
    assert_abs_diff_eq!(g, x.t().dot(&x), epsilon = 1.0);
    // Normalised during the copy, then a product per chunk.
    let norm = p.map_elems(|v: u8| f32::from(v) / 255.0);
    let y: Array1<f32> = norm.par_map_chunks(17, |c| c.dot(&w));
    assert_abs_diff_eq!(y, (&x / 255.0).dot(&w), epsilon = 1e-4);
    let scores = norm.map_windows(|r| r.dot(&w));
    assert_eq!(scores.raw_dim(), p.grid());
    assert_abs_diff_eq!(
        scores.into_shape_with_order(p.len()).unwrap(),
        (&x / 255.0).dot(&w),
        epsilon = 1e-4
    );
}

#[test]
fn covariance_matches_numpy() {
    // np.cov(sliding_window_view(np.arange(20.).reshape(4, 5) ** 2, (2, 2)).reshape(-1, 4), rowvar=False)
    let a = Array2::from_shape_fn((4, 5), |(i, j)| ((i * 5 + j) as f64).powi(2));
    let c: Array2<f64> = a.patches((2, 2)).covariance();
    let expected = ndarray::array![
        [3546.6969697, 4054.87878788, 6087.60606061, 6595.78787879],
        [4054.87878788, 4641.24242424, 6986.6969697, 7573.06060606],
        [6087.60606061, 6986.6969697, 10583.06060606, 11482.15151515],
        [6595.78787879, 7573.06060606, 11482.15151515, 12459.42424242]
    ];
    assert_abs_diff_eq!(c, expected, epsilon = 1e-6);
}

#[test]
fn bad_shapes_are_errors() {
    let img = Array2::<f32>::zeros((10, 10));
    let p = img.patches((3, 3)); // 64 patches of 9
    assert_eq!(
        p.try_dot(&Array1::<f32>::zeros(8)).unwrap_err(),
        PatchError::ShapeMismatch {
            operand: "w (rows)",
            expected: 9,
            found: 8
        }
    );
    assert!(p.try_t_dot(&Array1::<f32>::zeros(63)).is_err());
    assert!(p.try_dot(&Array2::<f32>::zeros((10, 2))).is_err());
    assert!(p.try_t_dot(&Array2::<f32>::zeros((65, 2))).is_err());
    // The Gram matrix of patches too long to square in memory.
    let one = Array1::<f32>::zeros(1);
    let huge = one.broadcast(usize::MAX / 4).unwrap();
    let long = huge.patches(1 << 40);
    assert_eq!(
        long.try_gram().unwrap_err(),
        PatchError::Overflow {
            quantity: "size of a patch_len x patch_len matrix"
        }
    );
    assert!(matches!(
        long.try_covariance(),
        Err(PatchError::Overflow { .. })
    ));
    let one = Array2::<f32>::zeros((3, 3));
    assert_eq!(
        one.patches((3, 3)).try_covariance().unwrap_err(),
        PatchError::NotEnoughPatches {
            needed: 2,
            found: 1
        }
    );
}

/// 16M patches of an f32 image: the f32 Gram matrix stays within 1e-4 of
/// the f64 one, relative to its largest entry (blocked summation; a plain
/// f32 running sum over 16M rows would be off by about 100%).
#[test]
#[cfg_attr(miri, ignore)]
fn gram_f32_accuracy_on_16m_patches() {
    let img = Array2::from_shape_fn((4097, 4097), |(i, j)| {
        0.5 + ((i * 7919 + j * 104729) % 1000) as f32 / 1000.0
    });
    let p = img.patches((2, 2));
    assert!(p.len() >= 16 * 1024 * 1024);
    let g32: Array2<f32> = p.gram();
    let g64: Array2<f64> = p.cast::<f64>().gram();
    let scale = g64.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
    let err = g32
        .iter()
        .zip(&g64)
        .fold(0.0f64, |m, (&a, &b)| m.max((f64::from(a) - b).abs()));
    println!("relative error {:.2e}", err / scale);
    assert!(err / scale < 1e-4, "relative error {}", err / scale);
}

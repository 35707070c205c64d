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
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(any::<bool>(), 2),
        prop::collection::vec(prop::bool::weighted(0.15), 2),
    )
        .prop_map(|(fortran, sliced, reversed, broadcast)| Layout {
            fortran,
            sliced,
            reversed,
            broadcast,
        })
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
        assert_abs_diff_eq!(p.dot(&w), xs.dot(&w), epsilon = tol);
        assert_abs_diff_eq!(p.t_dot(&v), xs.t().dot(&v), epsilon = tol);
        assert_abs_diff_eq!(p.matmul(&wm), xs.dot(&wm), epsilon = tol);
        assert_abs_diff_eq!(p.t_matmul(&vm), xs.t().dot(&vm), epsilon = tol);
        let g: Array2<f64> = p.gram();
        assert_abs_diff_eq!(g, xs.t().dot(&xs), epsilon = tol * 1e3);
        let mean: Array1<f64> = p.mean();
        let mu = xs.mean_axis(Axis(0)).unwrap();
        assert_abs_diff_eq!(mean, mu, epsilon = tol);
        if n >= 2 {
            let c: Array2<f64> = p.covariance();
            let d = &xs - &mu;
            assert_abs_diff_eq!(c, d.t().dot(&d) / (n - 1) as f64, epsilon = tol * 1e3);
        }
        // The streamed product, block by block.
        let got = std::sync::Mutex::new(Array2::<f64>::zeros((n, k)));
        p.for_each_matmul_chunk(&wm, 7, |start, y| {
            got.lock().unwrap().slice_mut(ndarray::s![start..start + y.nrows(), ..]).assign(&y);
        });
        assert_abs_diff_eq!(got.into_inner().unwrap(), xs.dot(&wm), epsilon = tol);
    }
}

#[test]
fn integer_images_convert() {
    let img = Array2::from_shape_fn((20, 30), |(i, j)| ((i * 31 + j * 7) % 256) as u8);
    let p = img.patches((4, 5)).step((2, 1));
    let x = p.to_matrix_as::<f32>();
    let w = Array1::from_shape_fn(20, |k| k as f32 - 9.5);
    assert_abs_diff_eq!(p.dot(&w), x.dot(&w), epsilon = 1e-3);
    let g: Array2<f32> = p.gram();
    assert_abs_diff_eq!(g, x.t().dot(&x), epsilon = 1.0);
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
            operand: "w (length)",
            expected: 9,
            found: 8
        }
    );
    assert!(p.try_t_dot(&Array1::<f32>::zeros(63)).is_err());
    assert!(p.try_matmul(&Array2::<f32>::zeros((10, 2))).is_err());
    assert!(p.try_t_matmul(&Array2::<f64>::zeros((65, 2))).is_err());
    assert!(p
        .try_for_each_matmul_chunk(&Array2::<f32>::zeros((9, 2)), 0, |_, _| {})
        .is_err());
    let one = Array2::<f32>::zeros((3, 3));
    assert_eq!(
        one.patches((3, 3)).try_covariance::<f32>().unwrap_err(),
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
    let g64: Array2<f64> = p.gram();
    let scale = g64.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
    let err = g32
        .iter()
        .zip(&g64)
        .fold(0.0f64, |m, (&a, &b)| m.max((f64::from(a) - b).abs()));
    println!("relative error {:.2e}", err / scale);
    assert!(err / scale < 1e-4, "relative error {}", err / scale);
}

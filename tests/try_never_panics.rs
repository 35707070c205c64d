//! No `try_` method panics or aborts, whatever its input: random sizes that
//! are either small or far too large (overflowing, or bigger than any
//! machine's memory) fed to every fallible constructor and operation. A
//! panic fails the property; an abort would kill the test binary.

use ndarray::Ix2;
use ndarray::{Array1, Array2, ArrayD, IxDyn};
use ndarray_patches::prelude::*;
use ndarray_patches::{try_pad, try_reconstruct, Edge, Fold, Pad, PatchError, Patches, Window};
use proptest::prelude::*;
#[cfg(feature = "rand")]
use {ndarray_patches::Sampling, rand::SeedableRng};

/// Small (a valid size, usually) or huge: 2^36 .. usize::MAX.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 0usize..6,
        1 => (36u32..64).prop_map(|b| 1usize << b),
        1 => Just(usize::MAX),
        1 => (0usize..4).prop_map(|d| usize::MAX - d),
    ]
}

fn edge() -> impl Strategy<Value = Edge> {
    prop_oneof![
        Just(Edge::Valid),
        Just(Edge::Same),
        Just(Edge::Cover),
        Just(Edge::Shift)
    ]
}

/// Huge errors must name the numbers: the message is never empty.
fn named<T>(r: Result<T, PatchError>) {
    if let Err(e) = r {
        assert!(!e.to_string().is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn construction_and_padding(p in (size(), size()), s in (size(), size()), d in (size(), size()),
                                before in (size(), size()), after in (size(), size()), e in edge()) {
        let img = Array2::<f32>::zeros((10, 10));
        named(img.try_patches(p).and_then(|q| q.try_step(s)).and_then(|q| q.try_dilation(d)));
        named(img.try_blocks(p));
        let w = Window::new(p).step(s).dilation(d);
        named(img.try_padded(&w, e, Pad::Edge));
        named(img.try_padded(&w, e, Pad::Constant(0.0)));
        named(Fold::try_new((10, 10), &w, e));
        named(Fold::try_new((p.0.min(1 << 40), 3), &w, e));
        named(try_pad(&img, before, after, Pad::Reflect));
        named(try_pad(&img, before, after, Pad::Constant(1.0)));
        named(try_reconstruct::<f32, _, _>(&Array2::zeros((1, 4)), (p.0.min(1 << 40), 2), (2, 2)));
        named(try_reconstruct::<f32, _, _>(&Array2::zeros((1, 4)), (3, 3), p));
    }

    #[test]
    fn rows_of_a_huge_broadcast_array(p in (size(), size()), a in size(), b in size(), n in size()) {
        // 2^60 virtual elements, one real one.
        let one = Array2::<u8>::zeros((1, 1));
        let big = one.broadcast((1usize << 30, 1usize << 30)).unwrap();
        if let Ok(q) = big.try_patches(p) {
            // Shift adds windows but no error: the grid stays within the
            // array's shape.
            named(q.clone().edge(Edge::Shift).try_step(a).map(|q| q.len()));
            named(q.clone().edge(Edge::Shift).try_to_matrix());
            named(q.clone().edge(Edge::Shift).try_view().map(|v| v.len()));
            named(q.try_to_matrix());
            named(q.cast::<f64>().try_to_matrix());
            named(q.matrix_bytes());
            named(q.try_select(&[a, b]).map(|s| s.len()));
            named(q.try_select(&[a, b]).and_then(|s| s.try_to_matrix()));
            if n.min(64) != q.patch_len() {
                // Only the shape check: a product over 2^60 rows would run for ever.
                prop_assert!(q.cast::<f32>().try_dot(&Array1::<f32>::zeros(n.min(64))).is_err());
            }
            let mut out = Array2::<u8>::zeros((2, 3));
            named(q.try_write_rows(a, out.view_mut()));
            random_rows(&q, a, n);
        }
    }

    #[test]
    fn dynamic_dimensions(nd in 0usize..4, p in size(), s in size()) {
        let vol = ArrayD::<f64>::zeros(IxDyn(&[4, 5, 6]));
        named(vol.try_patches(vec![p; nd]).and_then(|q| q.try_step(vec![s; nd])));
        named(vol.try_patches(p).and_then(|q| q.try_step(s)));
    }

    #[test]
    fn windows_along_axes(axes in proptest::collection::vec(prop_oneof![3 => 0usize..5, 1 => size()], 0..5),
                          p in proptest::collection::vec(size(), 0..5), s in size(), d in (size(), size())) {
        let vol = ArrayD::<f64>::zeros(IxDyn(&[4, 5, 6, 3]));
        named(vol.try_patches_along(axes.clone(), p.clone()));
        named(vol.try_patches_along(axes.clone(), s));
        let fixed = ndarray::Array4::<u8>::zeros((2, 4, 5, 3));
        named(fixed.try_patches_along(axes.clone(), p));
        named(fixed.try_patches_along((1, 2), s).and_then(|q| q.try_step(d)).and_then(|q| q.try_dilation(d)));
        named(fixed.try_patches_along((1, 2), 2).and_then(|q| q.try_step(s)).and_then(|q| q.try_dilation(vec![d.0])));
        // 2^60 virtual elements: the view's element count overflows only past isize.
        let one = ndarray::Array3::<u8>::zeros((1, 1, 1));
        let big = one.broadcast((1usize << 30, 1usize << 30, 3)).unwrap();
        if let Ok(q) = big.try_patches_along(axes, s) {
            named(q.try_view());
            named(q.matrix_bytes());
        }
    }

    #[test]
    #[cfg(feature = "rand")]
    fn sampling_weights(w in proptest::collection::vec(prop_oneof![Just(f64::MAX), Just(0.0), Just(1e-300), 0.0..10.0f64, Just(f64::NAN), Just(-1.0), Just(f64::INFINITY)], 9), n in 0usize..20, replace: bool) {
        let img = Array2::<f32>::zeros((5, 5)); // 9 patches of 3x3
        let q = img.patches(3);
        let w = Array1::from(w);
        let mut how = Sampling::new(n).weights(w.view());
        if replace { how = how.with_replacement(); }
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        named(q.try_sample(how, &mut rng).map(|s| s.len()));
    }
}

/// Sampling and shuffling of huge patch sets: errors, never panics.
#[cfg(feature = "rand")]
fn random_rows(q: &Patches<'_, u8, Ix2>, a: usize, n: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    named(
        q.try_sample(Sampling::new(n.min(1 << 40)).with_replacement(), &mut rng)
            .map(|s| s.len()),
    );
    named(q.try_sample(n, &mut rng).map(|s| s.len()));
    named(q.try_shuffled(&mut rng).map(|e| e.len()));
    named(
        q.rows(a.min(q.len())..)
            .cast::<f64>()
            .try_shuffled(&mut rng)
            .map(|e| e.len()),
    );
}

#[cfg(not(feature = "rand"))]
fn random_rows(_: &Patches<'_, u8, Ix2>, _: usize, _: usize) {}

/// A Gram matrix whose size overflows, or that no memory holds, is an
/// error before any row is read.
#[test]
fn huge_gram_is_an_error() {
    let one = Array2::<u8>::zeros((1, 1));
    let tall = one.broadcast((1usize << 34, 2)).unwrap();
    let q = tall.patches((1usize << 33, 1)); // patch_len 2^33: patch_len² overflows
    assert!(matches!(
        q.cast::<f32>().try_gram(),
        Err(PatchError::Overflow { .. })
    ));
    let q = tall.patches((1usize << 22, 1)); // 2^44 f64 per accumulator: 128 TiB
    assert!(matches!(
        q.cast::<f64>().try_gram(),
        Err(PatchError::OutOfMemory { .. })
    ));
    assert!(matches!(
        q.cast::<f64>().try_covariance(),
        Err(PatchError::OutOfMemory { .. })
    ));
}

/// The cases from the issue, by name.
#[test]
fn the_reported_aborts_are_errors() {
    let img = Array2::<f32>::zeros((10, 10));
    let huge = Window::new((1 << 20, 1 << 20));
    assert!(matches!(
        img.try_padded(&huge, Edge::Same, Pad::Edge),
        Err(PatchError::OutOfMemory { .. } | PatchError::Overflow { .. })
    ));
    // The fold's accumulator is allocated with the first rows.
    let mut fold = Fold::try_new((10, 10), &huge, Edge::Same).unwrap();
    assert!(matches!(
        fold.try_add_values(0, &ndarray::array![1.0f32]),
        Err(PatchError::OutOfMemory { .. } | PatchError::Overflow { .. })
    ));
    assert!(try_pad(&img, (1 << 32, 1 << 32), (0, 0), Pad::Edge).is_err());
    let dilated = Window::new((2, 2)).dilation(1 << 32);
    assert!(img.try_padded(&dilated, Edge::Same, Pad::Edge).is_err());
    assert!(Fold::try_new((10, 10), &dilated, Edge::Same).is_err());
}

/// Finite sampling weights whose sum is infinite: drawn as equal weights.
#[test]
#[cfg(feature = "rand")]
fn infinite_sum_of_weights() {
    let img = Array2::<f32>::zeros((10, 10));
    let q = img.patches(3);
    let w = Array1::from_elem(q.len(), f64::MAX);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let idx = q
        .try_sample(
            Sampling::new(5).weights(w.view()).with_replacement(),
            &mut rng,
        )
        .unwrap();
    assert_eq!(idx.len(), 5);
}

//! Sampling: distinct, in range, reproducible from a seed, weights respected,
//! rows equal to the patches drawn.
#![cfg(feature = "rand")]

use std::collections::HashSet;

use ndarray::{Array1, Array2};
use ndarray_patches::prelude::*;
use ndarray_patches::rand::rngs::StdRng;
use ndarray_patches::rand::SeedableRng;
use ndarray_patches::{PatchError, Sampling};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn distinct_in_range_and_reproducible(h in 4usize..30, w in 4usize..30, k in 1usize..4, n in 0usize..200, seed in any::<u64>()) {
        let img = Array2::from_shape_fn((h, w), |(i, j)| (i * w + j) as u32);
        let p = img.patches((k, k));
        let got = p.try_sample(n, &mut StdRng::seed_from_u64(seed)).map(|s| s.indices().to_vec());
        if n > p.len() {
            prop_assert_eq!(got, Err(PatchError::NotEnoughPatches { needed: n, found: p.len() }));
            let clamped = p.sample(Sampling::new(n).clamped(), &mut StdRng::seed_from_u64(seed)).indices().to_vec();
            prop_assert_eq!(clamped.len(), p.len());
            prop_assert_eq!(clamped.iter().collect::<HashSet<_>>().len(), p.len());
            return Ok(());
        }
        let idx = got.unwrap();
        prop_assert_eq!(idx.len(), n);
        prop_assert!(idx.iter().all(|&r| r < p.len()));
        prop_assert_eq!(idx.iter().collect::<HashSet<_>>().len(), n);
        prop_assert_eq!(&idx, &p.sample(n, &mut StdRng::seed_from_u64(seed)).indices().to_vec());
        // A count and a Sampling of that count are the same request.
        prop_assert_eq!(&idx, &p.sample(Sampling::new(n), &mut StdRng::seed_from_u64(seed)).indices().to_vec());
        prop_assert_eq!(&idx, &p.sample(Sampling::new(n).clamped(), &mut StdRng::seed_from_u64(seed)).indices().to_vec());
        let s = p.sample(n, &mut StdRng::seed_from_u64(seed));
        let (idx2, rows) = (s.indices().to_vec(), s.to_matrix());
        prop_assert_eq!(&idx2, &idx);
        for (row, &r) in rows.rows().into_iter().zip(&idx) {
            prop_assert_eq!(row.to_vec(), p.get(r).unwrap().iter().copied().collect::<Vec<_>>());
        }
        let s3 = p.try_sample(Sampling::new(n), &mut StdRng::seed_from_u64(seed)).unwrap();
        let (idx3, rows3) = (s3.indices().to_vec(), s3.to_matrix());
        prop_assert_eq!(&idx3, &idx);
        prop_assert_eq!(&rows3, &rows);
        prop_assert_eq!(&rows, &p.select(&idx).to_matrix());
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn masked_patches_are_never_drawn(mask in prop::collection::vec(any::<bool>(), 49), n in 0usize..60, replace in any::<bool>(), seed in any::<u64>()) {
        let img = Array2::<f32>::zeros((9, 9));
        let p = img.patches((3, 3)); // 49 patches
        let w = Array1::from_iter(mask.iter().map(|&m| f64::from(u8::from(m))));
        let allowed = mask.iter().filter(|&&m| m).count();
        let mut spec = Sampling::new(n).weights(w.view());
        if replace { spec = spec.with_replacement(); }
        match p.try_sample(spec, &mut StdRng::seed_from_u64(seed)).map(|s| s.indices().to_vec()) {
            Ok(idx) => {
                prop_assert_eq!(idx.len(), n);
                prop_assert!(idx.iter().all(|&r| mask[r]));
                if !replace { prop_assert_eq!(idx.iter().collect::<HashSet<_>>().len(), n); }
            }
            Err(e) => {
                let expected_failure = if replace { allowed == 0 && n > 0 } else { n > allowed };
                prop_assert!(expected_failure);
                prop_assert_eq!(e, PatchError::NotEnoughPatches { needed: n, found: allowed });
            }
        }
    }
}

#[test]
fn weights_set_the_frequencies() {
    let a = Array1::<f32>::zeros(4); // 3 patches
    let p = a.patches(2);
    let w = ndarray::array![1.0, 3.0, 0.0];
    let spec = Sampling::new(40_000).weights(w.view()).with_replacement();
    let idx = p
        .sample(spec, &mut StdRng::seed_from_u64(5))
        .indices()
        .to_vec();
    assert_eq!(idx.len(), 40_000);
    let c0 = idx.iter().filter(|&&r| r == 0).count() as f64;
    let c1 = idx.iter().filter(|&&r| r == 1).count() as f64;
    assert!(!idx.contains(&2));
    assert!((c1 / c0 - 3.0).abs() < 0.15, "ratio {}", c1 / c0);
}

#[test]
fn uniform_draws_cover_evenly() {
    let a = Array1::<f32>::zeros(11); // 10 patches
    let p = a.patches(2);
    let mut counts = [0usize; 10];
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..2000 {
        for r in p.sample(3, &mut rng).indices().to_vec() {
            counts[r] += 1;
        }
    }
    // 600 expected each; 5 sigma is about 110.
    assert!(
        counts.iter().all(|&c| (490..=710).contains(&c)),
        "{counts:?}"
    );
}

#[test]
fn bad_weights() {
    let a = Array1::<f32>::zeros(5);
    let p = a.patches(2); // 4 patches
    let short = Array1::from_elem(3, 1.0);
    assert_eq!(
        p.try_sample(
            Sampling::new(1).weights(short.view()),
            &mut StdRng::seed_from_u64(0)
        )
        .map(|s| s.len()),
        Err(PatchError::ShapeMismatch {
            operand: "weights (length)",
            expected: 4,
            found: 3
        })
    );
    let nan = ndarray::array![1.0, f64::NAN, 1.0, 1.0];
    assert_eq!(
        p.try_sample(
            Sampling::new(1).weights(nan.view()),
            &mut StdRng::seed_from_u64(0)
        )
        .map(|s| s.len()),
        Err(PatchError::InvalidSamplingWeight { row: 1 })
    );
    for (bad, row) in [
        (ndarray::array![1.0, 1.0, -1.0, 1.0], 2),
        (ndarray::array![f64::INFINITY, 1.0, 1.0, 1.0], 0),
        (ndarray::array![1.0, 1.0, 1.0, f64::NEG_INFINITY], 3),
    ] {
        let how = Sampling::new(1).weights(bad.view()).with_replacement();
        assert_eq!(
            p.try_sample(how, &mut StdRng::seed_from_u64(0))
                .unwrap_err(),
            PatchError::InvalidSamplingWeight { row }
        );
    }
    let e = p
        .try_sample(
            Sampling::new(1).weights(nan.view()),
            &mut StdRng::seed_from_u64(0),
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the sampling weight of patch 1 is negative, infinite or NaN"
    );
    assert!(p.try_select(&[0, 4]).is_err());
}

#[test]
fn sample_is_indices_then_their_rows() {
    // sample = draw + select of the same rows, for a strided,
    // reversed source.
    let img = Array2::from_shape_fn((12, 15), |(i, j)| (i * 15 + j) as u16);
    let v = img.slice(ndarray::s![..;-1, ..;2]);
    let p = v.patches(3).step((2, 1));
    let s = p.sample(10, &mut StdRng::seed_from_u64(3));
    let (idx, rows) = (s.indices().to_vec(), s.to_matrix());
    assert_eq!(
        idx,
        p.sample(10, &mut StdRng::seed_from_u64(3))
            .indices()
            .to_vec()
    );
    for (row, &r) in rows.rows().into_iter().zip(&idx) {
        let w = p.get(r).unwrap();
        assert_eq!(row.to_vec(), w.iter().copied().collect::<Vec<_>>());
    }
    // More than there are, clamped: every patch once.
    let s = p.sample(Sampling::new(1000).clamped(), &mut StdRng::seed_from_u64(3));
    let (idx, rows) = (s.indices().to_vec(), s.to_matrix());
    assert_eq!(rows.nrows(), p.len());
    assert_eq!(idx.iter().collect::<HashSet<_>>().len(), p.len());
    assert_eq!(
        p.try_sample(1000, &mut StdRng::seed_from_u64(3))
            .unwrap_err(),
        PatchError::NotEnoughPatches {
            needed: 1000,
            found: p.len()
        }
    );
}

//! Seeded random sampling of patches: indices, or the rows of the sampled
//! patches, never the full matrix. Behind the default `rand` feature.
//!
//! The random generator is the caller's, a `rand` 0.9 [`Rng`]; the crate
//! re-exports that `rand` as [`ndarray_patches::rand`](crate::rand) so a
//! newer `rand` in your own `Cargo.toml` cannot break the trait bound.

use ndarray::{ArrayView1, Dimension};
use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::Rng;

use crate::error::{unwrap_or_panic, PatchError};
use crate::flatten::try_vec_with_capacity;
use crate::patches::Patches;
use crate::rows::{Indices, Rows};
use crate::scalar::AsIs;

/// How many patches to draw and how: a strategy for
/// [`Patches::sample`]. A plain number
/// converts into one: `n` distinct patches, uniformly, an error when asked
/// for more than exist.
///
/// # Examples
///
/// ```
/// use ndarray::{Array1, Array2};
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::Sampling;
/// use rand::SeedableRng;
///
/// let img = Array2::<u8>::zeros((10, 10));
/// let p = img.patches(3);                           // 64 patches
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// // Only patches of the top row may be drawn (a mask), as many as there are.
/// let mask = Array1::from_shape_fn(p.len(), |r| f64::from(u8::from(r < 8)));
/// let idx = p.sample(Sampling::new(100).weights(mask.view()).clamped(), &mut rng);
/// assert_eq!(idx.len(), 8);
/// assert!(idx.indices().iter().all(|&r| r < 8));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Sampling<'w> {
    n: usize,
    replace: bool,
    clamp: bool,
    weights: Option<ArrayView1<'w, f64>>,
}

impl From<usize> for Sampling<'_> {
    fn from(n: usize) -> Self {
        Sampling::new(n)
    }
}

impl<'w> Sampling<'w> {
    /// `n` distinct patches, uniformly, no clamping.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::Sampling;
    /// let how = Sampling::new(10);
    /// # let _ = how;
    /// ```
    pub fn new(n: usize) -> Self {
        Sampling {
            n,
            ..Self::default()
        }
    }

    /// Draw with replacement: a patch may come more than once, and any
    /// number of draws is possible.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::Sampling;
    /// use rand::SeedableRng;
    ///
    /// let a = Array1::<f32>::zeros(5);                   // 3 patches of 3
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// let idx = a.patches(3).sample(Sampling::new(10).with_replacement(), &mut rng);
    /// assert_eq!(idx.len(), 10);
    /// ```
    #[must_use]
    pub fn with_replacement(mut self) -> Self {
        self.replace = true;
        self
    }

    /// Without replacement, draw as many as there are (with a positive
    /// weight) instead of failing when more are asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::Sampling;
    /// use rand::SeedableRng;
    ///
    /// let a = Array1::<f32>::zeros(5);                   // 3 patches of 3
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// assert_eq!(a.patches(3).sample(Sampling::new(10).clamped(), &mut rng).len(), 3);
    /// ```
    #[must_use]
    pub fn clamped(mut self) -> Self {
        self.clamp = true;
        self
    }

    /// Draw patch `r` with probability proportional to `weights[r]` (one
    /// non-negative, finite weight per patch; a weight of 0 is a mask).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::Sampling;
    /// use rand::SeedableRng;
    ///
    /// // Favour bright windows: weight = the window's mean.
    /// let img = Array2::from_shape_fn((16, 16), |(i, j)| (i * j) as f32);
    /// let p = img.patches(4);
    /// let w: Array1<f64> = p.iter().map(|x| f64::from(x.mean().unwrap())).collect();
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    /// let idx = p.sample(Sampling::new(20).weights(w.view()), &mut rng);
    /// assert!(!idx.indices().contains(&0));                      // the all-zero window
    /// ```
    #[must_use]
    pub fn weights(mut self, weights: ArrayView1<'w, f64>) -> Self {
        self.weights = Some(weights);
        self
    }
}

/// Returns an error if `bytes` cannot be allocated right now (an
/// allocation that would otherwise abort inside a dependency).
fn probe_memory(bytes: usize, what: &'static str) -> Result<(), PatchError> {
    try_vec_with_capacity::<u8>(bytes, what).map(drop)
}

/// # Random sampling
impl<'a, A, D: Dimension> Patches<'a, A, D> {
    /// Patches drawn as `how` says (a number `n`: `n` distinct patches
    /// uniformly; or a [`Sampling`]: with replacement, weighted, masked,
    /// clamped), in the order drawn, as an index row set: its
    /// [`indices`](crate::Rows::indices) are the rows drawn, and every
    /// delivery method of [`Rows`] gives their rows (`to_matrix`, chunks,
    /// after `cast::<f32>()`, ...).
    ///
    /// # Panics
    ///
    /// In the cases listed under [`try_sample`](Self::try_sample).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use rand::SeedableRng;
    ///
    /// let img = Array2::from_shape_fn((64, 64), |(i, j)| (i * 64 + j) as u16);
    /// let p = img.patches(8);
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    /// let s = p.sample(16, &mut rng);
    /// let rows = s.to_matrix();
    /// assert_eq!(rows.dim(), (16, 64));
    /// let r = s.indices()[5];
    /// assert_eq!(rows.row(5).to_vec(), p.get(r).unwrap().iter().copied().collect::<Vec<_>>());
    /// // Seeded: reproducible.
    /// let again = p.sample(16, &mut rand::rngs::StdRng::seed_from_u64(3));
    /// assert_eq!(s.indices(), again.indices());
    /// assert_eq!(p.sample(4, &mut rng).cast::<f32>().to_matrix().dim(), (4, 64));
    /// ```
    #[track_caller]
    pub fn sample<'w, R: Rng + ?Sized>(
        &self,
        how: impl Into<Sampling<'w>>,
        rng: &mut R,
    ) -> Rows<'a, A, D, AsIs, Indices> {
        unwrap_or_panic(self.try_sample(how, rng))
    }

    /// Like [`sample`](Self::sample), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// - [`PatchError::ShapeMismatch`] if the weights are not one per patch;
    /// - [`PatchError::InvalidSamplingWeight`] for a negative, infinite or
    ///   NaN weight;
    /// - [`PatchError::NotEnoughPatches`] without replacement, when `n`
    ///   exceeds the patches (with a positive weight) and `how` is not
    ///   clamped; with replacement, when `n > 0` and no weight is positive;
    /// - [`PatchError::OutOfMemory`] if the indices cannot be held.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{PatchError, Sampling};
    /// use rand::SeedableRng;
    ///
    /// let a = ndarray::Array1::<f32>::zeros(4);           // 3 patches of 2
    /// let w = array![1.0, -1.0, 1.0];
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert_eq!(
    ///     a.patches(2).try_sample(Sampling::new(1).weights(w.view()), &mut rng).unwrap_err(),
    ///     PatchError::InvalidSamplingWeight { row: 1 }
    /// );
    /// assert!(a.patches(2).try_sample(4, &mut rng).is_err());
    /// ```
    pub fn try_sample<'w, R: Rng + ?Sized>(
        &self,
        how: impl Into<Sampling<'w>>,
        rng: &mut R,
    ) -> Result<Rows<'a, A, D, AsIs, Indices>, PatchError> {
        let idx = self.draw(how, rng)?;
        Ok(self.with_set(Indices::new(idx)))
    }

    /// The row numbers drawn as `how` says.
    fn draw<'w, R: Rng + ?Sized>(
        &self,
        how: impl Into<Sampling<'w>>,
        rng: &mut R,
    ) -> Result<Vec<usize>, PatchError> {
        let how = how.into();
        let n = how.n;
        let len = self.len();
        let weights = match &how.weights {
            None => None,
            Some(w) => {
                if w.len() != len {
                    return Err(PatchError::ShapeMismatch {
                        operand: "weights (length)",
                        expected: len,
                        found: w.len(),
                    });
                }
                if let Some(row) = w.iter().position(|&x| !(x.is_finite() && x >= 0.0)) {
                    return Err(PatchError::InvalidSamplingWeight { row });
                }
                Some(w)
            }
        };
        let positive = weights.map_or(len, |w| w.iter().filter(|&&x| x > 0.0).count());
        let not_enough = PatchError::NotEnoughPatches {
            needed: n,
            found: positive,
        };
        // Weights divided by the largest: the same distribution, and a sum
        // of at most `len` (finite weights can sum to infinity otherwise).
        let scale = weights.map_or(1.0, |w| w.fold(0.0f64, |m, &x| m.max(x)));
        let weight = |i: usize| weights.map_or(1.0, |w| w[i] / scale);
        if how.replace {
            if n == 0 {
                return Ok(Vec::new());
            }
            let mut out = try_vec_with_capacity(n, "the sampled indices")?;
            match weights {
                None => out.extend((0..n).map(|_| rng.random_range(0..len))),
                Some(_) => {
                    let dist = WeightedIndex::new((0..len).map(weight)).map_err(|_| not_enough)?;
                    out.extend((0..n).map(|_| dist.sample(rng)));
                }
            }
            return Ok(out);
        }
        let n = match (n > positive, how.clamp) {
            (true, true) => positive,
            (true, false) => return Err(not_enough),
            (false, _) => n,
        };
        // rand's samplers allocate O(n) (Floyd, rejection) or O(len)
        // (in place, weighted): make sure that memory can exist first.
        let words = match weights {
            None if len <= u32::MAX as usize => n.max(len),
            None => n.saturating_mul(2),
            Some(_) => len.saturating_mul(2),
        };
        probe_memory(words.saturating_mul(8), "sampling's working memory")?;
        match weights {
            None => Ok(rand::seq::index::sample(rng, len, n).into_vec()),
            Some(_) => {
                let idx = rand::seq::index::sample_weighted(rng, len, weight, n)
                    .map_err(|_| not_enough.clone())?
                    .into_vec();
                // Every positive weight can be drawn, so this holds; keep
                // the promise explicit.
                if idx.len() < n {
                    return Err(not_enough);
                }
                Ok(idx)
            }
        }
    }
}

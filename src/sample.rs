//! Seeded random sampling of patches: indices, or the rows of the sampled
//! patches, never the full matrix.

use ndarray::{Array2, ArrayView1, Dimension};
use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::Rng;

use crate::error::{unwrap_or_panic, PatchError};
use crate::flatten::{gather_new, Same};
use crate::patches::Patches;

/// How patches are drawn by [`Patches::sample_indices_by`] and
/// [`Patches::sample_by`]. The default draws distinct patches uniformly and
/// fails when asked for more than exist.
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
/// let p = img.patches((3, 3));                      // 64 patches
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// // Only patches of the top row may be drawn (a mask), as many as there are.
/// let mask = Array1::from_shape_fn(p.len(), |r| f64::from(u8::from(r < 8)));
/// let spec = Sampling::new().weights(mask.view()).clamped();
/// let idx = p.sample_indices_by(100, &spec, &mut rng);
/// assert_eq!(idx.len(), 8);
/// assert!(idx.iter().all(|&r| r < 8));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Sampling<'w> {
    replace: bool,
    clamp: bool,
    weights: Option<ArrayView1<'w, f64>>,
}

impl<'w> Sampling<'w> {
    /// Distinct patches, uniformly, no clamping.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::Sampling;
    /// let spec = Sampling::new();
    /// # let _ = spec;
    /// ```
    pub fn new() -> Self {
        Self::default()
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
    /// let a = Array1::<f32>::zeros(4);
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// let idx = a.patches(2).sample_indices_by(10, &Sampling::new().with_replacement(), &mut rng);
    /// assert_eq!(idx.len(), 10);
    /// assert!(idx.iter().all(|&r| r < 3));
    /// ```
    #[must_use]
    pub fn with_replacement(mut self) -> Self {
        self.replace = true;
        self
    }

    /// Without replacement, draw at most as many patches as can be drawn
    /// (all patches, or all with a positive weight) instead of failing:
    /// for batches of images of different sizes.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::Sampling;
    /// use rand::SeedableRng;
    ///
    /// let a = Array1::<f32>::zeros(4);
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// assert_eq!(a.patches(2).sample_indices_by(10, &Sampling::new().clamped(), &mut rng).len(), 3);
    /// ```
    #[must_use]
    pub fn clamped(mut self) -> Self {
        self.clamp = true;
        self
    }

    /// One weight per patch (row order): a patch is drawn with probability
    /// proportional to its weight, and never if its weight is 0 (so 0/1
    /// weights are a mask).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array1};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::Sampling;
    /// use rand::SeedableRng;
    ///
    /// let a = Array1::<f32>::zeros(4);                 // 3 patches of 2
    /// let w = array![0.0, 1.0, 0.0];
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    /// let spec = Sampling::new().weights(w.view()).with_replacement();
    /// assert_eq!(a.patches(2).sample_indices_by(5, &spec, &mut rng), vec![1; 5]);
    /// ```
    #[must_use]
    pub fn weights(mut self, weights: ArrayView1<'w, f64>) -> Self {
        self.weights = Some(weights);
        self
    }
}

/// # Random sampling
impl<A, D: Dimension> Patches<'_, A, D> {
    /// `n` distinct patch indices drawn uniformly, in the order drawn.
    ///
    /// # Panics
    ///
    /// If `n > len`; see [`try_sample_indices`](Self::try_sample_indices)
    /// and [`Sampling::clamped`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use rand::SeedableRng;
    ///
    /// let img = Array2::<f32>::zeros((32, 32));
    /// let p = img.patches((8, 8));
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    /// let idx = p.sample_indices(10, &mut rng);
    /// assert_eq!(idx.len(), 10);
    /// let again = p.sample_indices(10, &mut rand::rngs::StdRng::seed_from_u64(42));
    /// assert_eq!(idx, again);                           // seeded: reproducible
    /// ```
    #[track_caller]
    pub fn sample_indices<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Vec<usize> {
        unwrap_or_panic(self.try_sample_indices(n, rng))
    }

    /// Like [`sample_indices`](Self::sample_indices), returning an error
    /// instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::NotEnoughPatches`] if `n > len`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    /// use rand::SeedableRng;
    ///
    /// let a = Array1::<f32>::zeros(4);
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert!(a.patches(2).try_sample_indices(4, &mut rng).is_err());
    /// ```
    pub fn try_sample_indices<R: Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> Result<Vec<usize>, PatchError> {
        self.try_sample_indices_by(n, &Sampling::new(), rng)
    }

    /// `n` patch indices drawn as `spec` says (with or without replacement,
    /// uniformly or by weight, clamped or not), in the order drawn.
    ///
    /// # Panics
    ///
    /// In the cases listed under
    /// [`try_sample_indices_by`](Self::try_sample_indices_by).
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
    /// let p = img.patches((4, 4));
    /// let w: Array1<f64> = p.iter().map(|x| f64::from(x.mean().unwrap())).collect();
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    /// let idx = p.sample_indices_by(20, &Sampling::new().weights(w.view()), &mut rng);
    /// assert!(!idx.contains(&0));                        // the all-zero window
    /// ```
    #[track_caller]
    pub fn sample_indices_by<R: Rng + ?Sized>(
        &self,
        n: usize,
        spec: &Sampling<'_>,
        rng: &mut R,
    ) -> Vec<usize> {
        unwrap_or_panic(self.try_sample_indices_by(n, spec, rng))
    }

    /// Like [`sample_indices_by`](Self::sample_indices_by), returning an
    /// error instead of panicking.
    ///
    /// # Errors
    ///
    /// - [`PatchError::ShapeMismatch`] if the weights are not one per patch;
    /// - [`PatchError::InvalidWeight`] for a negative, infinite or NaN weight;
    /// - [`PatchError::NotEnoughPatches`] without replacement, when `n`
    ///   exceeds the patches (with a positive weight) and `spec` is not
    ///   clamped; with replacement, when `n > 0` and no weight is positive.
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
    ///     a.patches(2).try_sample_indices_by(1, &Sampling::new().weights(w.view()), &mut rng),
    ///     Err(PatchError::InvalidWeight { row: 1 })
    /// );
    /// ```
    pub fn try_sample_indices_by<R: Rng + ?Sized>(
        &self,
        n: usize,
        spec: &Sampling<'_>,
        rng: &mut R,
    ) -> Result<Vec<usize>, PatchError> {
        let len = self.len();
        let weights = match &spec.weights {
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
                    return Err(PatchError::InvalidWeight { row });
                }
                Some(w)
            }
        };
        let positive = weights.map_or(len, |w| w.iter().filter(|&&x| x > 0.0).count());
        let not_enough = PatchError::NotEnoughPatches {
            needed: n,
            found: positive,
        };
        if spec.replace {
            if n == 0 {
                return Ok(Vec::new());
            }
            return match weights {
                None => Ok((0..n).map(|_| rng.random_range(0..len)).collect()),
                Some(w) => {
                    let dist = WeightedIndex::new(w.iter().copied()).map_err(|_| not_enough)?;
                    Ok((0..n).map(|_| dist.sample(rng)).collect())
                }
            };
        }
        let n = match (n > positive, spec.clamp) {
            (true, true) => positive,
            (true, false) => return Err(not_enough),
            (false, _) => n,
        };
        match weights {
            None => Ok(rand::seq::index::sample(rng, len, n).into_vec()),
            Some(w) => {
                let idx = rand::seq::index::sample_weighted(rng, len, |i| w[i], n)
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

impl<A: Copy + Send + Sync, D: Dimension> Patches<'_, A, D> {
    /// The rows of the patches `indices`, in that order: a
    /// `(indices.len(), patch_len)` matrix, gathered in parallel.
    ///
    /// # Panics
    ///
    /// If an index is `>= len`; see [`try_select`](Self::try_select).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array1};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0..6);
    /// assert_eq!(a.patches(3).select(&[3, 0]), array![[3, 4, 5], [0, 1, 2]]);
    /// ```
    #[track_caller]
    pub fn select(&self, indices: &[usize]) -> Array2<A> {
        unwrap_or_panic(self.try_select(indices))
    }

    /// Like [`select`](Self::select), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::RowsOutOfRange`] for an index `>= len`,
    /// [`PatchError::Overflow`] if the result's size overflows.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(6);
    /// assert!(a.patches(3).try_select(&[4]).is_err());
    /// ```
    pub fn try_select(&self, indices: &[usize]) -> Result<Array2<A>, PatchError> {
        if let Some(&r) = indices.iter().find(|&&r| r >= self.len()) {
            return Err(PatchError::RowsOutOfRange {
                start: r,
                rows: 1,
                len: self.len(),
            });
        }
        self.geometry()
            .block_elements(indices.len(), std::mem::size_of::<A>())?;
        Ok(gather_new::<A, A, Same>(&self.row_source()?, indices))
    }

    /// `n` distinct patches drawn uniformly: their indices and their rows
    /// (`(n, patch_len)`, same order). Only the sampled rows are copied.
    ///
    /// # Panics
    ///
    /// If `n > len`; see [`try_sample`](Self::try_sample).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use rand::SeedableRng;
    ///
    /// let img = Array2::from_shape_fn((64, 64), |(i, j)| (i * 64 + j) as u32);
    /// let p = img.patches((8, 8));
    /// let (idx, rows) = p.sample(5, &mut rand::rngs::StdRng::seed_from_u64(7));
    /// assert_eq!(rows.dim(), (5, 64));
    /// assert_eq!(rows.row(2).to_vec(), p.get(idx[2]).iter().copied().collect::<Vec<_>>());
    /// ```
    #[track_caller]
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> (Vec<usize>, Array2<A>) {
        unwrap_or_panic(self.try_sample(n, rng))
    }

    /// Like [`sample`](Self::sample), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// As [`try_sample_indices`](Self::try_sample_indices).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    /// use rand::SeedableRng;
    ///
    /// let a = Array1::<f32>::zeros(4);
    /// assert!(a.patches(2).try_sample(5, &mut rand::rngs::StdRng::seed_from_u64(0)).is_err());
    /// ```
    pub fn try_sample<R: Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> Result<(Vec<usize>, Array2<A>), PatchError> {
        self.try_sample_by(n, &Sampling::new(), rng)
    }

    /// Patches drawn as `spec` says: their indices and their rows.
    ///
    /// # Panics
    ///
    /// As [`sample_indices_by`](Self::sample_indices_by); see
    /// [`try_sample_by`](Self::try_sample_by).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::Sampling;
    /// use rand::SeedableRng;
    ///
    /// let img = Array2::<u8>::zeros((6, 6));
    /// let spec = Sampling::new().with_replacement();
    /// let (idx, rows) = img.patches((3, 3)).sample_by(40, &spec, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!((idx.len(), rows.nrows()), (40, 40));
    /// ```
    #[track_caller]
    pub fn sample_by<R: Rng + ?Sized>(
        &self,
        n: usize,
        spec: &Sampling<'_>,
        rng: &mut R,
    ) -> (Vec<usize>, Array2<A>) {
        unwrap_or_panic(self.try_sample_by(n, spec, rng))
    }

    /// Like [`sample_by`](Self::sample_by), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// As [`try_sample_indices_by`](Self::try_sample_indices_by).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::Sampling;
    /// use rand::SeedableRng;
    ///
    /// let a = Array1::<f32>::zeros(4);
    /// let spec = Sampling::new().clamped();
    /// let (idx, _) = a.patches(2).try_sample_by(9, &spec, &mut rand::rngs::StdRng::seed_from_u64(0))?;
    /// assert_eq!(idx.len(), 3);
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_sample_by<R: Rng + ?Sized>(
        &self,
        n: usize,
        spec: &Sampling<'_>,
        rng: &mut R,
    ) -> Result<(Vec<usize>, Array2<A>), PatchError> {
        let idx = self.try_sample_indices_by(n, spec, rng)?;
        let rows = self.try_select(&idx)?;
        Ok((idx, rows))
    }
}

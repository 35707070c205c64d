//! Window weights: how much each element of a patch counts in a
//! [`Fold`]'s sum or mean.

use ndarray::{Array, Dimension, IntoDimension};

use super::Fold;
use crate::error::{unwrap_or_panic, PatchError};
use crate::geometry::axes;

/// Weights over the elements of a patch, for smooth stitching with
/// [`Reduction::Mean`](super::Reduction::Mean): contributions near a
/// patch's border count less.
///
/// # Examples
///
/// ```
/// use ndarray_patches::{Edge, Fold, Window, WindowWeights};
///
/// let f = Fold::new((16, 16), &Window::new((8, 8)).step((4, 4)), Edge::Valid)
///     .weighted(WindowWeights::Hann);
/// # let _ = f;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum WindowWeights<D: Dimension> {
    /// The product over axes of `sin²(π (j + 1) / (size + 1))`: a Hann
    /// window without its zero end points, so every element of a patch
    /// still counts a little.
    Hann,
    /// The product over axes of `exp(-(j - c)² / (2 σ²))` with `c` the
    /// patch's middle and `σ` in elements.
    Gaussian(f64),
    /// One weight per patch element (the patch's shape), each `>= 0`.
    Custom(Array<f64, D>),
}

impl<D: Dimension> WindowWeights<D> {
    /// The weight of every element of a patch of shape `patch`, checked.
    fn to_array(&self, patch: &D) -> Result<Array<f64, D>, PatchError> {
        let separable = |f: &dyn Fn(usize, usize) -> f64| {
            Array::from_shape_fn(patch.clone(), |idx| {
                let idx = idx.into_dimension();
                (0..patch.ndim())
                    .map(|k| f(idx[k], patch[k]))
                    .product::<f64>()
            })
        };
        let w = match self {
            WindowWeights::Hann => separable(&|j, n| {
                (std::f64::consts::PI * (j + 1) as f64 / (n + 1) as f64)
                    .sin()
                    .powi(2)
            }),
            &WindowWeights::Gaussian(sigma) => {
                if !(sigma.is_finite() && sigma > 0.0) {
                    return Err(PatchError::InvalidSigma { sigma });
                }
                separable(&|j, n| {
                    let c = (n as f64 - 1.0) / 2.0;
                    // (d/sigma)² rather than d²/(2 sigma²): the latter is
                    // 0/0 (NaN) at the centre once sigma² underflows.
                    let z = (j as f64 - c) / sigma;
                    (-0.5 * z * z).exp()
                })
            }
            WindowWeights::Custom(w) => {
                if w.shape() != axes(patch) {
                    return Err(PatchError::WeightsShape {
                        expected: axes(patch).to_vec(),
                        found: w.shape().to_vec(),
                    });
                }
                if let Some(element) = w.iter().position(|&x| !(x.is_finite() && x >= 0.0)) {
                    return Err(PatchError::InvalidWindowWeight { element });
                }
                w.clone()
            }
        };
        if w.iter().all(|&x| x == 0.0) {
            return Err(PatchError::ZeroWindowWeights);
        }
        Ok(w)
    }
}

impl<D: Dimension> Fold<D> {
    /// The fold with each patch's contributions weighted by `weights` over
    /// its elements, for [`Reduction::Sum`](super::Reduction::Sum) and
    /// [`Reduction::Mean`](super::Reduction::Mean) (the other reductions
    /// take no weights). Give them before adding rows: rows added before
    /// count with weight 1.
    ///
    /// # Panics
    ///
    /// See [`try_weighted`](Self::try_weighted).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::{Edge, Fold, Window, WindowWeights};
    ///
    /// let mut f = Fold::new(6, &Window::new(4).step(2), Edge::Valid).weighted(WindowWeights::Gaussian(1.0));
    /// f.add_rows(0, &Array2::<f64>::ones((2, 4)));
    /// let out = f.finish::<f64>();
    /// assert!(out.image.iter().all(|&x| (x - 1.0).abs() < 1e-12)); // a weighted mean of ones
    /// ```
    #[track_caller]
    #[must_use]
    pub fn weighted(self, weights: WindowWeights<D>) -> Self {
        unwrap_or_panic(self.try_weighted(weights))
    }

    /// Like [`weighted`](Self::weighted), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::WeightsShape`] if custom weights do not have the
    /// patch's shape, [`PatchError::InvalidSigma`] for a Gaussian sigma that
    /// is not finite and positive, [`PatchError::InvalidWindowWeight`] for a
    /// negative or non-finite weight, [`PatchError::ZeroWindowWeights`] if
    /// every weight is 0, [`PatchError::WeightedReduction`] on a fold
    /// [`reducing`](Self::reducing) by `Max`, `Min` or `Last`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Edge, Fold, PatchError, Reduction, Window, WindowWeights};
    ///
    /// let f = Fold::new(6, &Window::new(2), Edge::Valid);
    /// assert!(f.clone().try_weighted(WindowWeights::Custom(array![1.0, -1.0])).is_err());
    /// assert_eq!(
    ///     f.reducing(Reduction::Max).try_weighted(WindowWeights::Hann).unwrap_err(),
    ///     PatchError::WeightedReduction { reduction: "Max" }
    /// );
    /// ```
    pub fn try_weighted(mut self, weights: WindowWeights<D>) -> Result<Self, PatchError> {
        if !self.reduction.is_additive() {
            return Err(PatchError::WeightedReduction {
                reduction: self.reduction.name(),
            });
        }
        self.patch_weights = Some(weights.to_array(self.geom.patch())?);
        Ok(self)
    }
}

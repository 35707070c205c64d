//! Reconstruction: patch rows (or one prediction per patch) back onto the
//! image, for any window and edge policy.
//!
//! A [`Fold`] accumulates rows chunk by chunk (so it works with the
//! streaming visitors) into an `f64` sum and weight per element of the
//! padded array, and [`finish`](Fold::finish)es with a [`Reduction`], cropping
//! the padding of the edge policy away.

use std::fmt;

use ndarray::{
    Array, Array1, ArrayRef1, ArrayRef2, ArrayView, Dimension, IntoDimension, Slice, Zip,
};
use ndarray::{Axis, RemoveAxis};

use crate::error::{unwrap_or_panic, PatchError};
use crate::flatten::try_filled;
use crate::geometry::{axes, ones_like, Edge, Geometry, Window};
use crate::scalar::Real;

/// How [`Fold::finish`] combines the contributions to each element.
///
/// # Examples
///
/// ```
/// use ndarray::{array, Array1};
/// use ndarray_patches::{Edge, Fold, Reduction, Window};
///
/// let rows = array![[1.0, 1.0], [2.0, 2.0]];       // two patches of 2 on 3 elements
/// let mut f = Fold::new(3, &Window::new(2), Edge::Valid);
/// f.add_rows(0, &rows);
/// let sum = f.clone().finish::<f64>(Reduction::Sum).image;
/// let mean = f.finish::<f64>(Reduction::Mean).image;
/// assert_eq!((sum.to_vec(), mean.to_vec()), (vec![1.0, 3.0, 2.0], vec![1.0, 1.5, 2.0]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// The weighted sum of the contributions (torch's `fold`).
    Sum,
    /// The weighted mean of the contributions: overlaps averaged
    /// (scikit-learn's `reconstruct_from_patches_2d`), or blended by the
    /// window weights.
    Mean,
}

/// Weights over the elements of a patch, for smooth stitching with
/// [`Reduction::Mean`]: contributions near a patch's border count less.
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

/// Where [`Fold::place`] puts a patch's value.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use ndarray_patches::{Anchor, Edge, Fold, Window};
///
/// let f = Fold::new(5, &Window::new(3), Edge::Valid);
/// let at = |a| f.place(&array![1.0, 2.0, 3.0], a).image.to_vec();
/// assert_eq!(at(Anchor::Origin), vec![1.0, 2.0, 3.0, 0.0, 0.0]);
/// assert_eq!(at(Anchor::Centre), vec![0.0, 1.0, 2.0, 3.0, 0.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Anchor {
    /// The patch's first element.
    Origin,
    /// The element `(extent - 1) / 2` past the origin on each axis: the
    /// element an [`Edge::Same`] window is centred on.
    Centre,
}

/// The result of a [`Fold`]: the image, and which elements no patch
/// covered (those are 0).
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use ndarray_patches::{Edge, Fold, Reduction, Window};
///
/// let mut f = Fold::new(5, &Window::new(2).step(3), Edge::Valid);  // covers 0,1,3,4
/// f.add_rows(0, &array![[1.0f32, 1.0], [1.0, 1.0]]);
/// let out = f.finish::<f32>(Reduction::Mean);
/// assert_eq!(out.uncovered, 1);
/// assert_eq!(out.covered.to_vec(), vec![true, true, false, true, true]);
/// ```
#[derive(Clone, Debug)]
pub struct Folded<F, D: Dimension> {
    /// The reconstructed image, of the source's shape.
    pub image: Array<F, D>,
    /// Whether each element was covered by at least one patch (with a
    /// positive weight).
    pub covered: Array<bool, D>,
    /// The number of elements not covered.
    pub uncovered: usize,
}

/// One vector per window placed back on the image by
/// [`Fold::place_vectors`]: one map per vector component.
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::{Anchor, Edge, Fold, Window};
///
/// let f = Fold::new(5, &Window::new(3), Edge::Valid);
/// let c = f.place_vectors(&Array2::<f32>::ones((3, 4)), Anchor::Origin);
/// assert_eq!(c.maps.shape(), &[5, 4]);
/// assert_eq!(c.covered.to_vec(), vec![true, true, true, false, false]);
/// ```
#[derive(Clone, Debug)]
pub struct Channels<F, D: Dimension> {
    /// The source's shape plus a last axis with one map per component.
    pub maps: Array<F, D::Larger>,
    /// Whether an anchor landed on each element (others are 0 in `maps`).
    pub covered: Array<bool, D>,
}

/// Accumulates patch rows back into an image; see the module docs of
/// [`Reduction`] for the ways to finish.
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::{Edge, Fold, Pad, Reduction, Window};
///
/// // Extract with "same" edges, fold back: the image again.
/// let img = Array2::from_shape_fn((20, 30), |(i, j)| (i * 30 + j) as f64);
/// let w = Window::new((5, 5)).step((2, 2));
/// let padded = img.padded(&w, Edge::Same, Pad::Reflect);
/// let mut fold = Fold::new((20, 30), &w, Edge::Same);
/// padded.patches().for_each_chunk(100, |start, rows| fold.add_rows(start, &rows));
/// let back = fold.finish::<f64>(Reduction::Mean);
/// assert_eq!(back.uncovered, 0);
/// assert!((&back.image - &img).iter().all(|d| d.abs() < 1e-9));
/// ```
#[derive(Clone)]
pub struct Fold<D: Dimension> {
    geom: Geometry<D>,
    before: D,
    source_shape: D,
    sum: Array<f64, D>,
    weight: Array<f64, D>,
    patch_weights: Option<Array<f64, D>>,
}

impl<D: Dimension> fmt::Debug for Fold<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fold")
            .field("source_shape", &self.source_shape)
            .field("before", &self.before)
            .field("geometry", &self.geom)
            .field("weighted", &self.patch_weights.is_some())
            .finish_non_exhaustive()
    }
}

impl<D: Dimension> Fold<D> {
    /// A fold onto an image of `shape`, for the patches of `window` under
    /// `edge` (as extracted by `padded(window, edge, ..).patches()`, or by
    /// `patches(..)` for [`Edge::Valid`]). Holds two `f64` arrays of the
    /// padded shape.
    ///
    /// # Panics
    ///
    /// See [`try_new`](Self::try_new).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Edge, Fold, Window};
    ///
    /// let f = Fold::new((64, 64), &Window::new((8, 8)), Edge::Same);
    /// assert_eq!(f.len(), 64 * 64);
    /// assert_eq!(f.patch_len(), 64);
    /// ```
    #[track_caller]
    pub fn new<Sh: IntoDimension<Dim = D>>(shape: Sh, window: &Window<D>, edge: Edge) -> Self {
        unwrap_or_panic(Self::try_new(shape, window, edge))
    }

    /// Like [`new`](Self::new), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`PatchExt::try_padded`](crate::PatchExt::try_padded): zero sizes,
    /// wrong numbers of axes, an empty shape, or (with [`Edge::Valid`]) a
    /// patch larger than the image.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Edge, Fold, Window};
    ///
    /// assert!(Fold::try_new((4, 4), &Window::new((5, 5)), Edge::Valid).is_err());
    /// assert!(Fold::try_new((4, 4), &Window::new((5, 5)), Edge::Same).is_ok());
    /// ```
    pub fn try_new<Sh: IntoDimension<Dim = D>>(
        shape: Sh,
        window: &Window<D>,
        edge: Edge,
    ) -> Result<Self, PatchError> {
        let shape = shape.into_dimension();
        let (before, _, geom) = window.padded_geometry(&shape, edge)?;
        let padded = geom.shape().clone();
        Ok(Fold {
            geom,
            before,
            source_shape: shape,
            sum: try_filled(padded.clone(), 0.0, "the fold's sums")?,
            weight: try_filled(padded, 0.0, "the fold's weights")?,
            patch_weights: None,
        })
    }

    /// Weights the contributions by `weights` over each patch's elements.
    ///
    /// # Panics
    ///
    /// See [`try_weighted`](Self::try_weighted).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::{Edge, Fold, Reduction, Window, WindowWeights};
    ///
    /// let mut f = Fold::new(6, &Window::new(4).step(2), Edge::Valid).weighted(WindowWeights::Gaussian(1.0));
    /// f.add_rows(0, &ndarray::Array2::<f64>::ones((2, 4)));
    /// let out = f.finish::<f64>(Reduction::Mean);
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
    /// every weight is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Edge, Fold, Window, WindowWeights};
    ///
    /// let f = Fold::new(6, &Window::new(2), Edge::Valid);
    /// assert!(f.try_weighted(WindowWeights::Custom(array![1.0, -1.0])).is_err());
    /// ```
    pub fn try_weighted(mut self, weights: WindowWeights<D>) -> Result<Self, PatchError> {
        let patch = self.geom.patch().clone();
        let separable = |f: &dyn Fn(usize, usize) -> f64| {
            Array::from_shape_fn(patch.clone(), |idx| {
                let idx = idx.into_dimension();
                (0..patch.ndim())
                    .map(|k| f(idx[k], patch[k]))
                    .product::<f64>()
            })
        };
        let w = match weights {
            WindowWeights::Hann => separable(&|j, n| {
                (std::f64::consts::PI * (j + 1) as f64 / (n + 1) as f64)
                    .sin()
                    .powi(2)
            }),
            WindowWeights::Gaussian(sigma) => {
                if !(sigma.is_finite() && sigma > 0.0) {
                    return Err(PatchError::InvalidSigma { sigma });
                }
                separable(&|j, n| {
                    let c = (n as f64 - 1.0) / 2.0;
                    (-(j as f64 - c).powi(2) / (2.0 * sigma * sigma)).exp()
                })
            }
            WindowWeights::Custom(w) => {
                if w.shape() != axes(&patch) {
                    return Err(PatchError::WeightsShape {
                        expected: axes(&patch).to_vec(),
                        found: w.shape().to_vec(),
                    });
                }
                if let Some(element) = w.iter().position(|&x| !(x.is_finite() && x >= 0.0)) {
                    return Err(PatchError::InvalidWindowWeight { element });
                }
                w
            }
        };
        if w.iter().all(|&x| x == 0.0) {
            return Err(PatchError::ZeroWindowWeights);
        }
        self.patch_weights = Some(w);
        Ok(self)
    }

    /// The number of patches (rows) this fold takes.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Edge, Fold, Window};
    /// assert_eq!(Fold::new((4, 5), &Window::new((2, 2)), Edge::Valid).len(), 12);
    /// ```
    pub fn len(&self) -> usize {
        self.geom.len()
    }

    /// `true` if it takes no patch (never, for a valid fold).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Edge, Fold, Window};
    /// assert!(!Fold::new(4, &Window::new(2), Edge::Valid).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.geom.len() == 0
    }

    /// The number of elements per row.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Edge, Fold, Window};
    /// assert_eq!(Fold::new((9, 9), &Window::new((3, 2)), Edge::Valid).patch_len(), 6);
    /// ```
    pub fn patch_len(&self) -> usize {
        self.geom.patch_len()
    }

    /// Adds one patch's contribution (`patch`, of the patch's shape) for
    /// patch `r`: to the sum, times the element weights, and the weights.
    fn accumulate<F: Real>(&mut self, r: usize, patch: &ArrayView<'_, F, D>) {
        let region = self.geom.patch_slices(r);
        let mut sum = self.sum.slice_each_axis_mut(&region);
        let mut weight = self.weight.slice_each_axis_mut(&region);
        match &self.patch_weights {
            None => Zip::from(&mut sum)
                .and(&mut weight)
                .and(patch)
                .for_each(|s, w, &x| {
                    *s += x.to_f64();
                    *w += 1.0;
                }),
            Some(pw) => Zip::from(&mut sum)
                .and(&mut weight)
                .and(patch)
                .and(pw)
                .for_each(|s, w, &x, &c| {
                    *s += c * x.to_f64();
                    *w += c;
                }),
        }
    }

    /// Adds rows `start..start + rows.nrows()` of the patch matrix.
    ///
    /// # Panics
    ///
    /// See [`try_add_rows`](Self::try_add_rows).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Edge, Fold, Reduction, Window};
    ///
    /// let mut f = Fold::new(4, &Window::new(2), Edge::Valid);
    /// f.add_rows(1, &array![[5.0, 7.0]]);               // the middle patch only
    /// assert_eq!(f.finish::<f64>(Reduction::Sum).image.to_vec(), vec![0.0, 5.0, 7.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn add_rows<F: Real>(&mut self, start: usize, rows: &ArrayRef2<F>) {
        unwrap_or_panic(self.try_add_rows(start, rows))
    }

    /// Like [`add_rows`](Self::add_rows), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::RowWidth`] if a row is not `patch_len` long,
    /// [`PatchError::RowsOutOfRange`] if the rows pass the last patch.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Edge, Fold, Window};
    ///
    /// let mut f = Fold::new(4, &Window::new(2), Edge::Valid);
    /// assert!(f.try_add_rows(2, &array![[1.0, 1.0], [1.0, 1.0]]).is_err());
    /// ```
    pub fn try_add_rows<F: Real>(
        &mut self,
        start: usize,
        rows: &ArrayRef2<F>,
    ) -> Result<(), PatchError> {
        if rows.ncols() != self.patch_len() {
            return Err(PatchError::RowWidth {
                expected: self.patch_len(),
                found: rows.ncols(),
            });
        }
        self.geom.check_rows(start, rows.nrows())?;
        let patch = self.geom.patch().clone();
        for (k, row) in rows.rows().into_iter().enumerate() {
            let owned;
            let row = match row.as_slice() {
                Some(s) => ArrayView::from_shape(patch.clone(), s).expect("patch_len elements"),
                None => {
                    owned = row.to_owned();
                    ArrayView::from_shape(patch.clone(), owned.as_slice().expect("owned"))
                        .expect("patch_len elements")
                }
            };
            self.accumulate(start + k, &row);
        }
        Ok(())
    }

    /// Adds one value per patch for patches `start..`, spread over each
    /// patch's whole footprint: with [`Reduction::Mean`], every element
    /// gets the (weighted) mean of the predictions of the patches that
    /// cover it.
    ///
    /// # Panics
    ///
    /// If the values pass the last patch; see
    /// [`try_add_values`](Self::try_add_values).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Edge, Fold, Reduction, Window};
    ///
    /// let mut f = Fold::new(4, &Window::new(2), Edge::Valid);
    /// f.add_values(0, &array![1.0, 2.0, 3.0]);
    /// assert_eq!(f.finish::<f64>(Reduction::Mean).image.to_vec(), vec![1.0, 1.5, 2.5, 3.0]);
    /// ```
    #[track_caller]
    pub fn add_values<F: Real>(&mut self, start: usize, values: &ArrayRef1<F>) {
        unwrap_or_panic(self.try_add_values(start, values))
    }

    /// Like [`add_values`](Self::add_values), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::RowsOutOfRange`] if the values pass the last patch.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Edge, Fold, Window};
    ///
    /// let mut f = Fold::new(4, &Window::new(2), Edge::Valid);
    /// assert!(f.try_add_values(2, &array![1.0, 2.0]).is_err());
    /// ```
    pub fn try_add_values<F: Real>(
        &mut self,
        start: usize,
        values: &ArrayRef1<F>,
    ) -> Result<(), PatchError> {
        self.geom.check_rows(start, values.len())?;
        let patch = self.geom.patch().clone();
        for (k, v) in values.iter().enumerate() {
            // The value over the whole patch: a stride-0 view of it (from a
            // shape of ones, so 0-axis patches work too).
            let constant = ArrayView::from_shape(ones_like(&patch), std::slice::from_ref(v))
                .expect("a shape of ones has one element");
            let spread = constant
                .broadcast(patch.clone())
                .expect("a length-1 array broadcasts to any shape");
            self.accumulate(start + k, &spread);
        }
        Ok(())
    }

    /// The image: the accumulated contributions reduced as `reduction`
    /// says, cropped to the source's shape. Elements that no patch covered
    /// (with a positive weight) are 0 and reported.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Fold, Reduction, Window};
    ///
    /// let img = Array2::from_shape_fn((6, 6), |(i, j)| (i + j) as f32);
    /// let p = img.patches((3, 3));
    /// let mut f = Fold::new((6, 6), &p.window(), Edge::Valid);
    /// f.add_rows(0, &p.to_matrix());
    /// assert_eq!(f.finish::<f32>(Reduction::Mean).image, img);
    /// ```
    pub fn finish<F: Real>(self, reduction: Reduction) -> Folded<F, D> {
        let before = &self.before;
        let shape = &self.source_shape;
        let crop = |ax: ndarray::AxisDescription| {
            let k = ax.axis.index();
            Slice::from(before[k]..before[k] + shape[k])
        };
        let sum = self.sum.slice_each_axis(crop);
        let weight = self.weight.slice_each_axis(crop);
        let covered = weight.mapv(|w| w > 0.0);
        let uncovered = covered.iter().filter(|&&c| !c).count();
        let image = Zip::from(&sum).and(&weight).map_collect(|&s, &w| {
            F::from_f64(match (reduction, w > 0.0) {
                (_, false) => 0.0,
                (Reduction::Sum, true) => s,
                (Reduction::Mean, true) => s / w,
            })
        });
        Folded {
            image,
            covered,
            uncovered,
        }
    }

    /// One value per patch written at each patch's [`Anchor`] element (in
    /// the source; values whose anchor falls in the padding are dropped).
    /// With [`Edge::Same`] and step 1 this is a full per-pixel map.
    /// Independent of the rows added so far.
    ///
    /// # Panics
    ///
    /// If `values.len() != len`; see [`try_place`](Self::try_place).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Anchor, Edge, Fold, Pad, Window};
    ///
    /// // Local standard deviation of every 5x5 window, as a map.
    /// let img = Array2::from_shape_fn((16, 16), |(i, j)| ((i * j) % 5) as f64);
    /// let w = Window::new((5, 5));
    /// let padded = img.padded(&w, Edge::Same, Pad::Reflect);
    /// let sd: Array1<f64> = padded.patches().iter().map(|p| p.std(0.0)).collect();
    /// let map = Fold::new((16, 16), &w, Edge::Same).place(&sd, Anchor::Centre);
    /// assert_eq!((map.image.dim(), map.uncovered), ((16, 16), 0));
    /// ```
    #[track_caller]
    pub fn place<F: Real>(&self, values: &ArrayRef1<F>, anchor: Anchor) -> Folded<F, D> {
        unwrap_or_panic(self.try_place(values, anchor))
    }

    /// Like [`place`](Self::place), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShapeMismatch`] if `values.len() != len`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Anchor, Edge, Fold, Window};
    ///
    /// let f = Fold::new(5, &Window::new(3), Edge::Valid);
    /// assert!(f.try_place(&array![1.0, 2.0], Anchor::Origin).is_err());
    /// ```
    pub fn try_place<F: Real>(
        &self,
        values: &ArrayRef1<F>,
        anchor: Anchor,
    ) -> Result<Folded<F, D>, PatchError> {
        if values.len() != self.len() {
            return Err(PatchError::ShapeMismatch {
                operand: "values (length)",
                expected: self.len(),
                found: values.len(),
            });
        }
        let mut image = try_filled(self.source_shape.clone(), F::zero(), "the placed image")?;
        let mut covered = try_filled(self.source_shape.clone(), false, "the placed mask")?;
        let ndim = self.source_shape.ndim();
        let offset: Array1<usize> = (0..ndim)
            .map(|k| match anchor {
                Anchor::Origin => 0,
                Anchor::Centre => (self.geom.extent()[k] - 1) / 2,
            })
            .collect();
        'patches: for (r, &v) in values.iter().enumerate() {
            let mut at = self.geom.origin(r);
            for k in 0..ndim {
                // Padded index to source index; skip anchors in the padding.
                let i = at[k] + offset[k];
                if i < self.before[k] || i - self.before[k] >= self.source_shape[k] {
                    continue 'patches;
                }
                at[k] = i - self.before[k];
            }
            image[at.clone()] = v;
            covered[at] = true;
        }
        let uncovered = covered.iter().filter(|&&c| !c).count();
        Ok(Folded {
            image,
            covered,
            uncovered,
        })
    }
}

impl<D: Dimension> Fold<D>
where
    D::Larger: RemoveAxis,
{
    /// One vector per patch (row `r` of `values` for patch `r`, `k`
    /// columns) written at each patch's [`Anchor`] element: an image of the
    /// source's shape with one more axis of length `k` (class scores per
    /// pixel, say), and which elements an anchor landed on.
    ///
    /// # Panics
    ///
    /// If `values.nrows() != len`; see [`try_place_vectors`](Self::try_place_vectors).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::{Anchor, Edge, Fold, Window};
    ///
    /// let f = Fold::new((4, 4), &Window::new((3, 3)), Edge::Same);
    /// let scores = Array2::from_shape_fn((16, 2), |(r, c)| (r * 10 + c) as f32);
    /// let maps = f.place_vectors(&scores, Anchor::Centre).maps;
    /// assert_eq!(maps.shape(), &[4, 4, 2]);
    /// assert_eq!(maps[[1, 2, 1]], 61.0);
    /// ```
    #[track_caller]
    pub fn place_vectors<F: Real>(&self, values: &ArrayRef2<F>, anchor: Anchor) -> Channels<F, D> {
        unwrap_or_panic(self.try_place_vectors(values, anchor))
    }

    /// Like [`place_vectors`](Self::place_vectors), returning an error
    /// instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShapeMismatch`] if `values.nrows() != len`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::{Anchor, Edge, Fold, Window};
    ///
    /// let f = Fold::new((4, 4), &Window::new((3, 3)), Edge::Valid);
    /// assert!(f.try_place_vectors(&Array2::<f64>::zeros((5, 3)), Anchor::Origin).is_err());
    /// ```
    pub fn try_place_vectors<F: Real>(
        &self,
        values: &ArrayRef2<F>,
        anchor: Anchor,
    ) -> Result<Channels<F, D>, PatchError> {
        if values.nrows() != self.len() {
            return Err(PatchError::ShapeMismatch {
                operand: "values (rows)",
                expected: self.len(),
                found: values.nrows(),
            });
        }
        // One map per column; the anchors, so the mask, are the same for all.
        let placed = values
            .columns()
            .into_iter()
            .map(|column| self.try_place(&column, anchor))
            .collect::<Result<Vec<_>, _>>()?;
        let covered = match placed.first() {
            Some(p) => p.covered.clone(),
            None => {
                self.try_place(&Array1::<F>::zeros(self.len()), anchor)?
                    .covered
            }
        };
        let ndim = self.source_shape.ndim();
        let maps = if placed.is_empty() {
            let mut shape = <D::Larger as Dimension>::zeros(ndim + 1);
            for k in 0..ndim {
                shape[k] = self.source_shape[k];
            }
            Array::from_elem(shape, F::zero())
        } else {
            let views: Vec<_> = placed.iter().map(|p| p.image.view()).collect();
            ndarray::stack(Axis(ndim), &views).expect("maps of one shape")
        };
        Ok(Channels { maps, covered })
    }
}

/// Mean of overlapping patches with step 1 and no padding: scikit-learn's
/// `reconstruct_from_patches_2d`, for any number of axes, with the rows in
/// this crate's order.
///
/// # Panics
///
/// See [`try_reconstruct`].
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::reconstruct;
///
/// let img = Array2::from_shape_fn((5, 7), |(i, j)| (i * 7 + j) as f64);
/// let rows = img.patches((2, 3)).to_matrix();
/// assert_eq!(reconstruct(&rows, (5, 7), (2, 3)), img);
/// ```
#[track_caller]
pub fn reconstruct<F: Real, D: Dimension, Sh: IntoDimension<Dim = D>>(
    rows: &ArrayRef2<F>,
    shape: Sh,
    patch: Sh,
) -> Array<F, D> {
    unwrap_or_panic(try_reconstruct(rows, shape, patch))
}

/// Like [`reconstruct`], returning an error instead of panicking.
///
/// # Errors
///
/// As [`Fold::try_new`], and [`PatchError::ShapeMismatch`] if `rows` does
/// not have one row per patch, [`PatchError::RowWidth`] if a row is not a
/// patch long.
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::try_reconstruct;
///
/// assert!(try_reconstruct(&Array2::<f64>::zeros((5, 4)), (3, 3), (2, 2)).is_err());
/// ```
pub fn try_reconstruct<F: Real, D: Dimension, Sh: IntoDimension<Dim = D>>(
    rows: &ArrayRef2<F>,
    shape: Sh,
    patch: Sh,
) -> Result<Array<F, D>, PatchError> {
    let mut fold = Fold::try_new(shape, &Window::new(patch), Edge::Valid)?;
    if rows.nrows() != fold.len() {
        return Err(PatchError::ShapeMismatch {
            operand: "rows (count)",
            expected: fold.len(),
            found: rows.nrows(),
        });
    }
    fold.try_add_rows(0, rows)?;
    Ok(fold.finish(Reduction::Mean).image)
}

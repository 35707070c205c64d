//! Placing one value (or vector) per patch at an anchor element of each
//! patch: per-pixel maps from per-window predictions.

use ndarray::{Array, Array1, ArrayRef1, ArrayRef2, Axis, Dimension, RemoveAxis};

use super::{Fold, Folded};
use crate::error::{unwrap_or_panic, PatchError};
use crate::flatten::try_filled;
use crate::scalar::Real;

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
    /// element an [`Edge::Same`](crate::Edge::Same) window is centred on.
    Centre,
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

impl<D: Dimension> Fold<D> {
    /// One value per patch written at each patch's [`Anchor`] element (in
    /// the source; values whose anchor falls in the padding are dropped).
    /// With [`Edge::Same`](crate::Edge::Same) and step 1 this is a full per-pixel map.
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

//! Reconstruction: patch rows (or one prediction per patch) back onto the
//! image, for any window and edge policy.
//!
//! A [`Fold`] accumulates rows chunk by chunk (so it works with the
//! streaming visitors, in any order) into an `f64` accumulator per element
//! of the padded array, and [`finish`](Fold::finish)es with the
//! [`Reduction`] chosen at construction, cropping the padding of the edge
//! policy away. Large additions run on every core, each task owning a band
//! of the image, with the same result to the bit as on one thread.
//!
//! Files, by concern: this one holds the [`Fold`] type and its builder;
//! `reduce` the reductions, their accumulators and `finish`; `weights`
//! the window weights; `add` the ways rows come in (`add_rows`,
//! `add_values`, [`Rows::fold_into`](crate::Rows::fold_into)); `bands` the
//! partition of the image for parallel work; `place` one value per patch
//! at an anchor.

use std::fmt;

use ndarray::{Array, ArrayRef2, Dimension, IntoDimension};

use crate::error::{unwrap_or_panic, PatchError};
use crate::geometry::{Edge, Geometry, Window};
use crate::scalar::Real;

mod add;
mod bands;
mod place;
mod reduce;
mod weights;

pub use place::{Anchor, Channels};
pub use reduce::{Folded, Reduction};
pub use weights::WindowWeights;

use reduce::Acc;

/// Accumulates patch rows back into an image, reduced as [`Reduction`]
/// says.
///
/// The reduction and the window weights are fixed when the fold is built
/// ([`reducing`](Self::reducing), [`weighted`](Self::weighted)); rows then
/// arrive in chunks, in any order: [`add_rows`](Self::add_rows) for rows
/// you hold, [`Rows::fold_into`](crate::Rows::fold_into) to extract and
/// fold in one pass; both split large work over every core by themselves
/// (the same result to the bit). Memory: two arrays of the padded shape
/// (`f64` and `f64`, `bool` or `usize` by reduction), allocated with the
/// first rows, whatever the number of rows.
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::{Edge, Fold, Pad, Window};
///
/// // Extract with "same" edges, fold back: the image again.
/// let img = Array2::from_shape_fn((20, 30), |(i, j)| (i * 30 + j) as f64);
/// let w = Window::new((5, 5)).step((2, 2));
/// let padded = img.padded(&w, Edge::Same, Pad::Reflect);
/// let mut fold = Fold::new((20, 30), &w, Edge::Same);
/// padded.patches().for_each_chunk(100, |start, rows| fold.add_rows(start, &rows));
/// let back = fold.finish::<f64>();
/// assert_eq!(back.uncovered, 0);
/// assert!((&back.image - &img).iter().all(|d| d.abs() < 1e-9));
///
/// // The same in one pass, extraction included.
/// let mut fold = Fold::new((20, 30), &w, Edge::Same);
/// padded.patches().fold_into(&mut fold);
/// assert_eq!(fold.finish::<f64>().image, back.image);
/// ```
#[derive(Clone)]
pub struct Fold<D: Dimension> {
    geom: Geometry<D>,
    before: D,
    source_shape: D,
    reduction: Reduction,
    /// `None` until the first rows arrive.
    acc: Option<Acc<D>>,
    patch_weights: Option<Array<f64, D>>,
}

impl<D: Dimension> fmt::Debug for Fold<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fold")
            .field("source_shape", &self.source_shape)
            .field("before", &self.before)
            .field("geometry", &self.geom)
            .field("reduction", &self.reduction)
            .field("weighted", &self.patch_weights.is_some())
            .finish_non_exhaustive()
    }
}

impl<D: Dimension> Fold<D> {
    /// A fold onto an image of `shape`, for the patches of `window` under
    /// `edge` (as extracted by `padded(window, edge, ..).patches()`, or by
    /// `patches(..)` for [`Edge::Valid`] and [`Edge::Shift`]), finishing
    /// with [`Reduction::Mean`] unless [`reducing`](Self::reducing) says
    /// otherwise. Allocates nothing until rows arrive.
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
    /// wrong numbers of axes, an empty shape, a padded shape whose element
    /// count overflows, or (with [`Edge::Valid`] and [`Edge::Shift`]) a
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
        Ok(Fold {
            geom,
            before,
            source_shape: shape,
            reduction: Reduction::Mean,
            acc: None,
            patch_weights: None,
        })
    }

    /// The fold finishing with `reduction` (the default is
    /// [`Reduction::Mean`]). Choose it before adding rows: `Max`, `Min`
    /// and `Last` accumulate their own way. `Sum` and `Mean` share one
    /// accumulator, so a fold that holds rows may switch between them
    /// (finish a clone with each to get both).
    ///
    /// # Panics
    ///
    /// With `Max`, `Min` or `Last` on a [`weighted`](Self::weighted) fold
    /// (weights blend contributions, so only `Sum` and `Mean` take them),
    /// and on a fold that holds rows accumulated for another reduction
    /// than `Sum` and `Mean` (say `Max` after rows were added for the
    /// mean).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{s, Array1, Array2};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Fold, Reduction, Window};
    ///
    /// // Every window's maximum spread back over the window with Max: each
    /// // element gets the largest maximum of the windows covering it.
    /// let img = Array2::from_shape_fn((6, 6), |(i, j)| ((i * 5 + j * 3) % 7) as f32);
    /// let p = img.patches((3, 3));
    /// let maxima: Array1<f32> = p.iter().map(|w| w.fold(f32::MIN, |m, &x| m.max(x))).collect();
    /// let mut f = Fold::new((6, 6), &p.window(), Edge::Valid).reducing(Reduction::Max);
    /// f.add_values(0, &maxima);
    /// let out = f.finish::<f32>().image;
    /// assert_eq!(out[[0, 0]], maxima[0]); // one window covers the corner
    /// assert_eq!(out[[2, 2]], img.slice(s![..5, ..5]).fold(f32::MIN, |m, &x| m.max(x)));
    /// ```
    #[track_caller]
    #[must_use]
    pub fn reducing(mut self, reduction: Reduction) -> Self {
        if self.patch_weights.is_some() && !reduction.is_additive() {
            let reduction = reduction.name();
            panic!("{}", PatchError::WeightedReduction { reduction });
        }
        if self.acc.is_some() && !self.reduction.shares_accumulator(reduction) {
            panic!(
                "Fold::reducing({reduction:?}) on a fold that holds rows added for {:?}: \
                 choose the reduction before adding rows",
                self.reduction
            );
        }
        self.reduction = reduction;
        self
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
/// patch long, [`PatchError::OutOfMemory`] if the accumulator or the image
/// cannot be allocated.
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
    Ok(fold.try_finish()?.image)
}

//! [`PatchesAlong`]: windows over chosen axes only, like numpy's
//! `sliding_window_view(x, shape, axis=...)`.
//!
//! Built on [`Patches`]: the windows along axes `axes` of an array are the
//! full-dimensional patches whose window is 1 on the *batch* axes (those
//! before the first windowed axis) and the whole length on every other
//! non-windowed axis. Their rows are the rows wanted, unchanged; this module
//! only validates the axes and builds that full window (validated once, by
//! [`Geometry`](crate::geometry)), which carries the projection: every
//! reader ([`Patches`], its [`Rows`](crate::Rows), a conversion) reports
//! grids, positions, patches and views without the singleton axes.
//!
//! ```text
//!   source axes:   0 .. b-1  |  b = axes[0] ... last axis
//!                  batch     |  windowed (axes)  or  whole (the others)
//!
//!   full window:   1 ... 1   |  size on windowed axes, length on whole axes
//!   full grid:     n ... n   |  positions on windowed axes, 1 on whole axes
//!
//!   grid   = batch lengths ++ positions on the windowed axes
//!   patch  = source axes from b on: the window on windowed axes, whole otherwise
//! ```

use std::fmt;
use std::ops::Deref;

use ndarray::{ArrayView, Dimension, IxDyn};

use crate::error::{unwrap_or_panic, PatchError};
use crate::geometry::PerAxis;
use crate::patches::Patches;

/// The windows of an array along some of its axes only: numpy's
/// `sliding_window_view(x, shape, axis=axes)`, with this crate's rows.
/// Made by [`PatchExt::patches_along`](crate::PatchExt::patches_along).
///
/// # The rule
///
/// `axes` (strictly increasing) are the windowed axes, with one window size
/// each. The other axes are not windowed, and do not show up as axes of
/// length 1 in the grid or the patch:
///
/// - the axes **before the first windowed axis** are *batch* axes: they
///   are axes of the grid (a window of 1 along them);
/// - every **other** non-windowed axis is taken *whole* into the patch.
///
/// The grid is the batch axes then the windowed axes' positions; the patch
/// is every source axis from the first windowed one on, in source order;
/// a row lists the patch in C order.
///
/// ```text
///   (N, H, W, C), windows (ph, pw) over axes (1, 2):
///
///     axis      N       H         W         C
///     role      batch   windowed  windowed  whole
///     grid      N       gh        gw                 -> grid  (N, gh, gw)
///     patch             ph        pw        C        -> patch (ph, pw, C)
///                                                       rows of ph*pw*C
///
///   (H, W, C) over (0, 1):    grid (gh, gw),        patch (ph, pw, C)
///   (N, C, H, W) over (2, 3): grid (N, C, gh, gw),  patch (ph, pw)
/// ```
///
/// So an NCHW tensor windowed over `(2, 3)` has C as a *batch* axis: one
/// row per channel and position. For C in the patch,
/// `x.view().permuted_axes([0, 2, 3, 1])` (NHWC, a zero-copy view) windowed over
/// `(1, 2)` gives rows `(ph, pw, C)`, channels innermost (scikit-learn's
/// `extract_patches_2d` order); torch's `unfold` order, channels outermost
/// `(C, ph, pw)`, is the NCHW tensor windowed over `(0, 2, 3)` with size 1
/// on N: patch `(1, C, ph, pw)`, grid `(N, gh, gw)`.
///
/// `gh = (H - eh) / sh + 1` with extent `eh = dh * (ph - 1) + 1` for step
/// `sh` and dilation `dh`, as for [`Patches`].
///
/// # What it offers
///
/// A `PatchesAlong` dereferences to its [`Patches`] (of a dynamic-dimensional
/// view of the source), whose geometry carries the rule: every method of
/// [`Patches`] and of its rows reports the shapes above (`IxDyn`), whichever
/// reader or conversion is used: [`grid`](Patches::grid),
/// [`patch_shape`](Patches::patch_shape), [`view`](Patches::view),
/// [`get`](Patches::get), [`iter`](Patches::iter),
/// [`position`](Patches::position), [`positions`](crate::Rows::positions)
/// and [`map_windows`](crate::Rows::map_windows), also after
/// `cast::<f64>()` or on a range of rows. Its own methods are
/// [`axes`](Self::axes), and [`step`](Self::step) and
/// [`dilation`](Self::dilation) per windowed axis.
///
/// # Examples
///
/// ```
/// use ndarray::{Array4, IxDyn};
/// use ndarray_patches::prelude::*;
///
/// let batch = Array4::<f32>::zeros((8, 32, 32, 3)); // (N, H, W, C)
/// let p = batch.patches_along((1, 2), (5, 5)).step(2);
/// assert_eq!(p.grid(), IxDyn(&[8, 14, 14]));
/// assert_eq!(p.patch_shape(), IxDyn(&[5, 5, 3]));
/// assert_eq!(p.view().shape(), &[8, 14, 14, 5, 5, 3]);
/// assert_eq!(p.to_matrix().dim(), (8 * 14 * 14, 75));
/// // The same shapes through a conversion:
/// assert_eq!(p.cast::<f64>().map_windows(|w| w.sum()).shape(), &[8, 14, 14]);
/// ```
pub struct PatchesAlong<'a, A> {
    patches: Patches<'a, A, IxDyn>,
    /// The windowed axes, strictly increasing; `axes[0]` is the number of
    /// batch axes.
    axes: Vec<usize>,
}

impl<A> Clone for PatchesAlong<'_, A> {
    fn clone(&self) -> Self {
        PatchesAlong {
            patches: self.patches.clone(),
            axes: self.axes.clone(),
        }
    }
}

impl<A> fmt::Debug for PatchesAlong<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatchesAlong")
            .field("axes", &self.axes)
            .field("patches", &self.patches)
            .finish()
    }
}

/// The patches, with the rule's shapes.
impl<'a, A> Deref for PatchesAlong<'a, A> {
    type Target = Patches<'a, A, IxDyn>;

    fn deref(&self) -> &Patches<'a, A, IxDyn> {
        &self.patches
    }
}

/// Checks that `axes` are a non-empty, strictly increasing list of axes of
/// an `ndim`-axis array.
fn check_axes(axes: &[usize], ndim: usize) -> Result<(), PatchError> {
    let increasing = axes.windows(2).all(|w| w[0] < w[1]);
    match axes.last() {
        Some(&last) if increasing && last < ndim => Ok(()),
        _ => Err(PatchError::InvalidAxes {
            axes: axes.to_vec(),
            ndim,
        }),
    }
}

/// `values` (one per windowed axis) spread over all `ndim` axes of `like`,
/// with `fill` on the others.
fn spread(like: &IxDyn, windowed: &[usize], values: &[usize], fill: usize) -> IxDyn {
    let mut full = like.clone();
    full.slice_mut().fill(fill);
    for (&k, &v) in windowed.iter().zip(values) {
        full[k] = v;
    }
    full
}

/// The error for a per-windowed-axis argument with the wrong count.
fn count(operand: &'static str, expected: usize, found: &IxDyn) -> Result<(), PatchError> {
    if found.ndim() == expected {
        Ok(())
    } else {
        Err(PatchError::ShapeMismatch {
            operand,
            expected,
            found: found.ndim(),
        })
    }
}

impl<'a, A> PatchesAlong<'a, A> {
    /// Windows of `shape` (one size per windowed axis) along `windowed`,
    /// step 1, dilation 1.
    pub(crate) fn new<D: Dimension>(
        source: ArrayView<'a, A, D>,
        windowed: &[usize],
        shape: &IxDyn,
    ) -> Result<Self, PatchError> {
        let source = source.into_dyn();
        let ndim = source.ndim();
        check_axes(windowed, ndim)?;
        count(
            "the window shape (one size per windowed axis)",
            windowed.len(),
            shape,
        )?;
        // A non-windowed axis of length 0 has no window of 1 (batch) and no
        // whole (zero-size) patch: say so, rather than report a window the
        // caller never gave.
        if let Some(axis) = (0..ndim).find(|&k| source.shape()[k] == 0 && !windowed.contains(&k)) {
            return Err(PatchError::EmptyArray { axis });
        }
        let mut patch = source.raw_dim();
        for k in 0..windowed[0] {
            patch[k] = 1;
        }
        for (&k, &p) in windowed.iter().zip(shape.slice()) {
            patch[k] = p;
        }
        let full = Patches::new(source, patch)?;
        let batch = windowed[0];
        let shown = (0..batch).chain(windowed.iter().copied()).collect();
        let geom = full.geometry().clone().shown_along(shown, batch);
        Ok(PatchesAlong {
            patches: Patches::from_parts(full.source().clone(), geom),
            axes: windowed.to_vec(),
        })
    }

    /// The windowed axes, strictly increasing.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array3;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array3::<u8>::zeros((10, 10, 3));
    /// assert_eq!(img.patches_along((0, 1), 3).axes(), &[0, 1]);
    /// ```
    pub fn axes(&self) -> &[usize] {
        &self.axes
    }

    /// The same windows with step `step` on the windowed axes (one number
    /// for all, or one per windowed axis).
    ///
    /// # Panics
    ///
    /// If a step is zero or there is not one per windowed axis; see
    /// [`try_step`](Self::try_step).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array3, IxDyn};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array3::<u8>::zeros((10, 10, 3));
    /// assert_eq!(img.patches_along((0, 1), 2).step((2, 4)).grid(), IxDyn(&[5, 3]));
    /// ```
    #[track_caller]
    #[must_use]
    pub fn step(self, step: impl PerAxis<IxDyn>) -> Self {
        unwrap_or_panic(self.try_step(step))
    }

    /// Like [`step`](Self::step), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShapeMismatch`] without one step per windowed axis,
    /// [`PatchError::Zero`] for a zero step.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array3;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array3::<u8>::zeros((10, 10, 3));
    /// assert!(img.patches_along((0, 1), 2).try_step((1, 2, 3)).is_err());
    /// ```
    pub fn try_step(self, step: impl PerAxis<IxDyn>) -> Result<Self, PatchError> {
        let step: IxDyn = step.per_axis(self.axes.len());
        count("the step (one per windowed axis)", self.axes.len(), &step)?;
        let full = spread(self.geometry().shape(), &self.axes, step.slice(), 1);
        let geom = self.geometry().with_step(full)?;
        Ok(PatchesAlong {
            patches: Patches::from_parts(self.patches.source().clone(), geom),
            axes: self.axes,
        })
    }

    /// The same windows with dilation `dilation` on the windowed axes (one
    /// number for all, or one per windowed axis).
    ///
    /// # Panics
    ///
    /// If a dilation is zero, there is not one per windowed axis, or a
    /// dilated window no longer fits; see
    /// [`try_dilation`](Self::try_dilation).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array3, IxDyn};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array3::<u8>::zeros((10, 10, 3));
    /// assert_eq!(img.patches_along((0, 1), 3).dilation(2).grid(), IxDyn(&[6, 6]));
    /// ```
    #[track_caller]
    #[must_use]
    pub fn dilation(self, dilation: impl PerAxis<IxDyn>) -> Self {
        unwrap_or_panic(self.try_dilation(dilation))
    }

    /// Like [`dilation`](Self::dilation), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShapeMismatch`] without one dilation per windowed
    /// axis, [`PatchError::Zero`] for a zero dilation,
    /// [`PatchError::PatchTooLarge`] if a dilated window does not fit.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array3;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array3::<u8>::zeros((10, 10, 3));
    /// assert!(img.patches_along((0, 1), 3).try_dilation(5).is_err()); // extent 11 > 10
    /// ```
    pub fn try_dilation(self, dilation: impl PerAxis<IxDyn>) -> Result<Self, PatchError> {
        let dilation: IxDyn = dilation.per_axis(self.axes.len());
        count(
            "the dilation (one per windowed axis)",
            self.axes.len(),
            &dilation,
        )?;
        let full = spread(self.geometry().shape(), &self.axes, dilation.slice(), 1);
        let geom = self.geometry().with_dilation(full)?;
        Ok(PatchesAlong {
            patches: Patches::from_parts(self.patches.source().clone(), geom),
            axes: self.axes,
        })
    }
}

//! [`PatchesAlong`]: windows over chosen axes only, like numpy's
//! `sliding_window_view(x, shape, axis=...)`.
//!
//! Built on [`Patches`]: the windows along axes `axes` of an array are the
//! full-dimensional patches whose window is 1 on the *batch* axes (those
//! before the first windowed axis) and the whole length on every other
//! non-windowed axis. Their rows are the rows wanted, unchanged; this module
//! only validates the axes, builds that full window (validated once, by
//! [`Geometry`](crate::geometry)) and drops the singleton axes it implies
//! from the shapes it reports.
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
use std::ops::{Deref, RangeBounds};

use ndarray::{Array, ArrayView, ArrayView1, Axis, Dimension, IxDyn};

use crate::error::{unwrap_or_panic, PatchError};
use crate::geometry::{axes, PerAxis};
use crate::patches::Patches;
use crate::rows::{Position, Rows};
use crate::view::PatchDim;

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
/// A `PatchesAlong` dereferences to its [`Rows`], so every way of
/// delivering rows works unchanged ([`to_matrix`](Rows::to_matrix),
/// [`chunks`](Rows::chunks), [`par_map_chunks`](Rows::par_map_chunks),
/// `shuffled`, ...). The shape-facing methods are its own: [`grid`](Self::grid),
/// [`patch_shape`](Self::patch_shape), [`view`](Self::view),
/// [`get`](Self::get), [`iter`](Self::iter), [`position`](Self::position),
/// [`positions`](Self::positions) and [`map_windows`](Self::map_windows) use
/// the shapes above (`IxDyn`). [`as_patches`](Self::as_patches) is the same
/// rows as full-dimensional [`Patches`] (with the singleton axes), for
/// sampling, linear algebra, or a row range's [`Rows::positions`], which
/// are in that full index space.
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
/// ```
pub struct PatchesAlong<'a, A, D: Dimension> {
    patches: Patches<'a, A, D>,
    /// The windowed axes, strictly increasing; `axes[0]` is the number of
    /// batch axes.
    axes: Vec<usize>,
}

impl<A, D: Dimension> Clone for PatchesAlong<'_, A, D> {
    fn clone(&self) -> Self {
        PatchesAlong {
            patches: self.patches.clone(),
            axes: self.axes.clone(),
        }
    }
}

impl<A, D: Dimension> fmt::Debug for PatchesAlong<'_, A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatchesAlong")
            .field("axes", &self.axes)
            .field("grid", &self.grid().slice())
            .field("patch", &self.patch_shape().slice())
            .field("patches", &self.patches)
            .finish()
    }
}

/// All rows, as for [`Patches`].
impl<'a, A, D: Dimension> Deref for PatchesAlong<'a, A, D> {
    type Target = Rows<'a, A, D>;

    fn deref(&self) -> &Rows<'a, A, D> {
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
fn spread<D: Dimension>(like: &D, windowed: &[usize], values: &[usize], fill: usize) -> D {
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

/// Whether source axis `k` is an axis of the grid: a batch axis (before the
/// first windowed axis) or a windowed axis.
fn in_grid(windowed: &[usize], k: usize) -> bool {
    k < windowed[0] || windowed.contains(&k)
}

/// The grid index (batch axes, then windowed axes) of a full-dimensional
/// grid index.
fn project_grid<D: Dimension>(windowed: &[usize], full: &D) -> IxDyn {
    let kept: Vec<usize> = (0..full.ndim())
        .filter(|&k| in_grid(windowed, k))
        .map(|k| full[k])
        .collect();
    IxDyn(&kept)
}

/// A full-dimensional position with its grid index projected; the origin
/// stays a source index.
fn project_position<D: Dimension>(windowed: &[usize], p: Position<D>) -> Position<IxDyn> {
    Position {
        row: p.row,
        grid: project_grid(windowed, &p.grid),
        origin: p.origin.into_dyn(),
    }
}

/// A full-dimensional patch view without its first `batch` axes (the batch
/// axes, of patch size 1): the patch shape of the rule, no copy.
fn drop_batch<A, D: Dimension>(
    patch: ArrayView<'_, A, D>,
    batch: usize,
) -> ArrayView<'_, A, IxDyn> {
    let mut v = patch.into_dyn();
    for k in (0..batch).rev() {
        v.index_axis_inplace(Axis(k), 0);
    }
    v
}

impl<'a, A, D: Dimension> PatchesAlong<'a, A, D> {
    /// Windows of `shape` (one size per windowed axis) along `windowed`,
    /// step 1, dilation 1.
    pub(crate) fn new(
        source: ArrayView<'a, A, D>,
        windowed: &[usize],
        shape: &IxDyn,
    ) -> Result<Self, PatchError> {
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
        Ok(PatchesAlong {
            patches: Patches::new(source, patch)?,
            axes: windowed.to_vec(),
        })
    }

    /// The number of batch axes: those before the first windowed axis.
    fn batch(&self) -> usize {
        self.axes[0]
    }

    /// The source's number of axes.
    fn source_ndim(&self) -> usize {
        self.geometry().ndim()
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

    /// The same rows as full-dimensional [`Patches`]: a window of 1 on the
    /// batch axes and the whole length on the other non-windowed axes, so
    /// its grid and patch shapes have those axes as length 1. For what only
    /// `Patches` offers: sampling, linear algebra on the patch matrix,
    /// [`row_of`](Patches::row_of), folding back with
    /// [`window`](Patches::window).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array3, Dim};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array3::<f32>::ones((10, 10, 3));
    /// let p = img.patches_along((0, 1), 3);
    /// assert_eq!(p.as_patches().patch_shape(), Dim([3, 3, 3]));
    /// assert_eq!(p.as_patches().grid(), Dim([8, 8, 1]));
    /// let sums = p.as_patches().dot(&ndarray::Array1::<f32>::ones(27));
    /// assert_eq!(sums.len(), 64);
    /// assert_eq!(sums[0], 27.0);
    /// ```
    pub fn as_patches(&self) -> &Patches<'a, A, D> {
        &self.patches
    }

    /// The rows `range` of the patch matrix, as [`Patches::rows`] (the rows
    /// are numbered row-major over [`grid`](Self::grid)).
    ///
    /// # Panics
    ///
    /// If the range is decreasing or reaches past the last patch.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array2::from_shape_fn((2, 5), |(i, j)| 10 * i + j);
    /// let p = a.patches_along(1, 3);    // grid (2, 3): rows of 3
    /// assert_eq!(p.rows(3..).to_matrix().row(0).to_vec(), vec![10, 11, 12]);
    /// ```
    #[track_caller]
    pub fn rows(&self, range: impl RangeBounds<usize>) -> Rows<'a, A, D> {
        self.patches.rows(range)
    }

    /// Number of windows along each grid axis: the batch axes' lengths,
    /// then the number of positions along each windowed axis.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array4, IxDyn};
    /// use ndarray_patches::prelude::*;
    ///
    /// let nchw = Array4::<f32>::zeros((2, 3, 10, 12));
    /// assert_eq!(nchw.patches_along((2, 3), 3).grid(), IxDyn(&[2, 3, 8, 10]));
    /// ```
    pub fn grid(&self) -> IxDyn {
        project_grid(&self.axes, self.geometry().grid())
    }

    /// The shape of one patch: every source axis from the first windowed
    /// one on, the window size on windowed axes and the whole length on the
    /// others.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array4, IxDyn};
    /// use ndarray_patches::prelude::*;
    ///
    /// let nhwc = Array4::<f32>::zeros((2, 10, 12, 3));
    /// assert_eq!(nhwc.patches_along((1, 2), (3, 4)).patch_shape(), IxDyn(&[3, 4, 3]));
    /// ```
    pub fn patch_shape(&self) -> IxDyn {
        IxDyn(&axes(self.geometry().patch())[self.batch()..])
    }

    /// Elements per patch: the product of
    /// [`patch_shape`](Self::patch_shape), the number of columns of the
    /// patch matrix.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array4;
    /// use ndarray_patches::prelude::*;
    ///
    /// let nhwc = Array4::<f32>::zeros((2, 10, 12, 3));
    /// assert_eq!(nhwc.patches_along((1, 2), 4).patch_len(), 4 * 4 * 3);
    /// ```
    pub fn patch_len(&self) -> usize {
        self.geometry().patch_len()
    }

    /// Patch `r` (row-major over the grid) as a view of shape
    /// [`patch_shape`](Self::patch_shape) into the source, or `None` if
    /// `r >= len`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array3};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array3::from_shape_fn((2, 3, 2), |(n, i, c)| 100 * n + 10 * i + c);
    /// let p = a.patches_along(1, 2);     // grid (2, 2), patch (2, 2)
    /// assert_eq!(p.get(3).unwrap(), array![[110, 111], [120, 121]].into_dyn());
    /// assert!(p.get(4).is_none());
    /// ```
    pub fn get(&self, r: usize) -> Option<ArrayView<'a, A, IxDyn>> {
        self.patches.get(r).map(|v| drop_batch(v, self.batch()))
    }

    /// An iterator over every patch as a view of shape
    /// [`patch_shape`](Self::patch_shape), in row order.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array2::from_shape_fn((2, 4), |(i, j)| 10 * i + j);
    /// let sums: Vec<usize> = a.patches_along(1, 3).iter().map(|w| w.sum()).collect();
    /// assert_eq!(sums, vec![3, 6, 33, 36]);
    /// ```
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = ArrayView<'a, A, IxDyn>> + ExactSizeIterator + 'a
    where
        A: 'a,
        D: 'a,
    {
        let batch = self.batch();
        self.patches.iter().map(move |v| drop_batch(v, batch))
    }

    /// Where patch `r` is, or `None` if `r >= len`: `grid` is its index on
    /// [`grid`](Self::grid), `origin` the source index (every source axis)
    /// of its first element, 0 on the whole axes.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array4, IxDyn};
    /// use ndarray_patches::prelude::*;
    ///
    /// let nhwc = Array4::<u8>::zeros((2, 10, 10, 3));
    /// let p = nhwc.patches_along((1, 2), 4).step(3); // grid (2, 3, 3)
    /// let pos = p.position(9 + 3 + 2).unwrap();
    /// assert_eq!(pos.grid, IxDyn(&[1, 1, 2]));
    /// assert_eq!(pos.origin, IxDyn(&[1, 3, 6, 0]));
    /// ```
    pub fn position(&self, r: usize) -> Option<Position<IxDyn>> {
        self.patches
            .position(r)
            .map(|p| project_position(&self.axes, p))
    }

    /// The [`position`](Self::position) of every patch, in row order.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array2, IxDyn};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array2::<u8>::zeros((2, 5));
    /// let grid: Vec<IxDyn> = a.patches_along(1, 4).positions().map(|p| p.grid).collect();
    /// assert_eq!(grid, [[0, 0], [0, 1], [1, 0], [1, 1]].map(|g| IxDyn(&g)));
    /// ```
    pub fn positions(&self) -> impl ExactSizeIterator<Item = Position<IxDyn>> {
        let windowed = self.axes.clone();
        self.patches
            .positions()
            .map(move |p| project_position(&windowed, p))
    }

    /// One value per window, computed from its row on every core, as an
    /// array of shape [`grid`](Self::grid) (see [`Rows::map_windows`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array3, IxDyn};
    /// use ndarray_patches::prelude::*;
    ///
    /// let hwc = Array3::<f32>::ones((6, 6, 3));
    /// let sums = hwc.patches_along((0, 1), 2).map_windows(|w| w.sum());
    /// assert_eq!(sums.raw_dim(), IxDyn(&[5, 5]));
    /// assert_eq!(sums[[0, 0]], 12.0);
    /// ```
    pub fn map_windows<T, F>(&self, f: F) -> Array<T, IxDyn>
    where
        A: Copy + Send + Sync,
        T: Clone + Send,
        F: Fn(ArrayView1<'_, A>) -> T + Sync + Send,
    {
        let mut values = self.patches.map_windows(f).into_dyn();
        // The whole axes are the grid's singleton axes after the first
        // windowed one.
        for k in (self.batch()..self.source_ndim()).rev() {
            if !in_grid(&self.axes, k) {
                values.index_axis_inplace(Axis(k), 0);
            }
        }
        values
    }

    /// Sets the step along the windowed axes: one number for all of them, or
    /// one per windowed axis (the others have none).
    ///
    /// # Panics
    ///
    /// If a step is zero or the count is not the number of windowed axes;
    /// see [`try_step`](Self::try_step).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array4, IxDyn};
    /// use ndarray_patches::prelude::*;
    ///
    /// let nhwc = Array4::<u8>::zeros((2, 32, 48, 3));
    /// let p = nhwc.patches_along((1, 2), 8).step((4, 8));
    /// assert_eq!(p.grid(), IxDyn(&[2, 7, 6]));
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
    /// [`PatchError::ShapeMismatch`] if the count is not the number of
    /// windowed axes, [`PatchError::Zero`] for a zero step (naming the
    /// source axis).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array3;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Argument, PatchError};
    ///
    /// let hwc = Array3::<u8>::zeros((8, 8, 3));
    /// let p = hwc.patches_along((0, 1), 2);
    /// assert!(matches!(p.clone().try_step((1, 2, 3)), Err(PatchError::ShapeMismatch { .. })));
    /// assert_eq!(
    ///     p.try_step((1, 0)).unwrap_err(),
    ///     PatchError::Zero { argument: Argument::Step, axis: 1 }
    /// );
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

    /// Sets the dilation along the windowed axes: one number for all of
    /// them, or one per windowed axis.
    ///
    /// # Panics
    ///
    /// If a dilation is zero, the count is not the number of windowed axes,
    /// or a dilated window no longer fits; see
    /// [`try_dilation`](Self::try_dilation).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array2::from_shape_fn((2, 5), |(i, j)| 10 * i + j);
    /// let p = a.patches_along(1, 2).dilation(3);
    /// assert_eq!(p.to_matrix(), array![[0, 3], [1, 4], [10, 13], [11, 14]]);
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
    /// [`PatchError::ShapeMismatch`], [`PatchError::Zero`], or
    /// [`PatchError::PatchTooLarge`] if the dilated window no longer fits.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::PatchError;
    ///
    /// let a = Array2::<u8>::zeros((2, 5));
    /// assert_eq!(
    ///     a.patches_along(1, 2).try_dilation(5).unwrap_err(),
    ///     PatchError::PatchTooLarge { axis: 1, extent: 6, len: 5 }
    /// );
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

    /// Every window as one zero-copy view of shape `grid ++ patch_shape`:
    /// numpy's `sliding_window_view(x, shape, axis=axes)` with the axes in
    /// this crate's order (grid, then patch). Only the singleton axes of
    /// the rule are left out; a source axis of length 1 stays.
    ///
    /// # Panics
    ///
    /// If the view's element count overflows `isize` (only possible with
    /// broadcast sources); see [`try_view`](Self::try_view).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array4;
    /// use ndarray_patches::prelude::*;
    ///
    /// let nhwc = Array4::from_shape_fn((2, 5, 6, 3), |(n, i, j, c)| n + i + j + c);
    /// let v = nhwc.patches_along((1, 2), (2, 3)).view();
    /// assert_eq!(v.shape(), &[2, 4, 4, 2, 3, 3]);
    /// assert_eq!(v[[1, 2, 3, 1, 2, 0]], nhwc[[1, 3, 5, 0]]);
    /// assert_eq!(v.as_ptr(), nhwc.as_ptr()); // no copy
    /// ```
    #[track_caller]
    pub fn view(&self) -> ArrayView<'a, A, IxDyn>
    where
        D: PatchDim,
    {
        unwrap_or_panic(self.try_view())
    }

    /// Like [`view`](Self::view), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::Overflow`] if the view's element count or strides
    /// overflow `isize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array3;
    /// use ndarray_patches::prelude::*;
    ///
    /// let hwc = Array3::<f32>::zeros((10, 10, 3));
    /// assert_eq!(hwc.patches_along((0, 1), 4).try_view()?.shape(), &[7, 7, 4, 4, 3]);
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_view(&self) -> Result<ArrayView<'a, A, IxDyn>, PatchError>
    where
        D: PatchDim,
    {
        let ndim = self.source_ndim();
        let mut v = self.patches.try_view()?.into_dyn();
        // Axes of the full view: grid 0..ndim, patch ndim..2*ndim. Remove
        // from the highest index down, so the lower ones keep their place:
        // first the batch axes' patch axes (size 1), then the whole axes'
        // grid axes (size 1).
        for k in (0..self.batch()).rev() {
            v.index_axis_inplace(Axis(ndim + k), 0);
        }
        for k in (0..ndim).rev() {
            if !in_grid(&self.axes, k) {
                v.index_axis_inplace(Axis(k), 0);
            }
        }
        Ok(v)
    }
}

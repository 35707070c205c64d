//! [`Patches`]: the descriptor users hold, and its iterators.

use std::fmt;
use std::iter::FusedIterator;
use std::ops::{Deref, RangeBounds};

use ndarray::{ArrayView, Dimension};
use rayon::prelude::*;

use crate::error::{unwrap_or_panic, PatchError};
use crate::geometry::{axes, ones_like, Edge, Geometry, PerAxis, Window};
use crate::rows::{resolve, Position, Rows};
use crate::view::{window_view, PatchDim};

/// Every patch (sliding window) of an array: a source view and a validated
/// geometry. Building it, and changing its step or dilation, copies nothing.
///
/// Made by [`PatchExt::patches`](crate::PatchExt::patches) (or
/// [`IntoPatches::into_patches`](crate::IntoPatches::into_patches) to keep a
/// view's own lifetime). Patches are numbered row-major over the
/// [`grid`](Self::grid); patch 0 is the one at the array's origin.
///
/// What you do with them, in the order you are likely to need it:
///
/// 1. look: [`view`](Self::view) (every window as one zero-copy view),
///    [`get`](Self::get), [`iter`](Self::iter), [`par_iter`](Self::par_iter);
/// 2. flatten: a `Patches` dereferences to its [`Rows`] (all of them), so
///    [`to_matrix`](Rows::to_matrix), [`write_rows`](Rows::write_rows) and
///    the streaming methods ([`for_each_chunk`](Rows::for_each_chunk),
///    [`par_for_each_chunk`](Rows::par_for_each_chunk),
///    [`par_map_chunks`](Rows::par_map_chunks),
///    [`map_windows`](Rows::map_windows), [`chunks`](Rows::chunks)) are
///    called on it directly; [`rows`](Self::rows) restricts them to a range,
///    [`cast`](Rows::cast) and [`map_elems`](Rows::map_elems) convert the
///    elements during the copy;
/// 3. sample ([`sample`](Self::sample)), compute on the virtual matrix
///    ([`dot`](Rows::dot), [`gram`](Rows::gram), ... on float rows), and fold results back
///    onto the image ([`Fold`](crate::Fold)).
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
///
/// let img = Array2::<f32>::zeros((100, 100));
/// let p = img.patches(39);
/// assert_eq!(p.grid(), ndarray::Dim([62, 62]));
/// assert_eq!((p.len(), p.patch_len()), (3844, 1521));
/// assert_eq!(p.view().shape(), &[62, 62, 39, 39]);
/// assert_eq!(p.to_matrix().dim(), (3844, 1521));
/// ```
pub struct Patches<'a, A, D: Dimension> {
    rows: Rows<'a, A, D>,
}

impl<A, D: Dimension> Clone for Patches<'_, A, D> {
    fn clone(&self) -> Self {
        Patches {
            rows: self.rows.clone(),
        }
    }
}

impl<A, D: Dimension> fmt::Debug for Patches<'_, A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (source, geom) = (self.source(), self.geometry());
        f.debug_struct("Patches")
            .field("source_shape", &source.shape())
            .field("source_strides", &source.strides())
            .field("patch", &axes(geom.patch()))
            .field("step", &axes(geom.step()))
            .field("dilation", &axes(geom.dilation()))
            .field("grid", &axes(geom.grid()))
            .field("edge", &geom.edge())
            .finish()
    }
}

/// All rows: every [`Rows`] method works on a `Patches` directly, as
/// ndarray's arrays dereference to `ArrayRef`.
impl<'a, A, D: Dimension> Deref for Patches<'a, A, D> {
    type Target = Rows<'a, A, D>;

    fn deref(&self) -> &Rows<'a, A, D> {
        &self.rows
    }
}

impl<'a, A, D: Dimension> Patches<'a, A, D> {
    /// Patches of `patch` shape, step 1 and dilation 1 on every axis.
    pub(crate) fn new(source: ArrayView<'a, A, D>, patch: D) -> Result<Self, PatchError> {
        let ones = ones_like(&patch);
        let geom = Geometry::new(source.raw_dim(), patch, ones.clone(), ones)?;
        Ok(Self::from_parts(source, geom))
    }

    /// Patches of a geometry already validated for `source`'s shape.
    pub(crate) fn from_parts(source: ArrayView<'a, A, D>, geom: Geometry<D>) -> Self {
        debug_assert_eq!(source.shape(), axes(geom.shape()));
        Patches {
            rows: Rows::new(source, geom),
        }
    }

    pub(crate) fn source(&self) -> &ArrayView<'a, A, D> {
        self.rows.source()
    }

    pub(crate) fn geometry(&self) -> &Geometry<D> {
        self.rows.geometry()
    }

    fn with_geometry(self, geom: Geometry<D>) -> Self {
        Self::from_parts(self.source().clone(), geom)
    }

    /// The rows `range` of the patch matrix (patches in row order): every
    /// delivery method of [`Rows`] on those rows only, for splitting the
    /// work on one image between threads, processes or machines.
    ///
    /// # Panics
    ///
    /// If the range is decreasing or reaches past the last patch, with the
    /// numbers in the message.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0..10);
    /// let p = a.patches(3);              // 8 patches
    /// let second_half = p.rows(4..);
    /// assert_eq!(second_half.range(), 4..8);
    /// assert_eq!(second_half.to_matrix().row(0).to_vec(), vec![4, 5, 6]);
    /// ```
    #[track_caller]
    pub fn rows(&self, range: impl RangeBounds<usize>) -> Rows<'a, A, D> {
        let (start, end) = unwrap_or_panic(resolve(range, self.geometry().len()));
        self.rows.with_set(start..end)
    }

    /// Where patch `r` is: its grid index and its origin in the source, or
    /// `None` if `r >= len`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array2, Dim};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<u8>::zeros((100, 100));
    /// let p = img.patches(39);
    /// assert_eq!(p.position(63).unwrap().origin, Dim([1, 1]));
    /// assert_eq!(p.position(p.len()), None);
    /// ```
    pub fn position(&self, r: usize) -> Option<Position<D>> {
        let geom = self.geometry();
        (r < geom.len()).then(|| Position {
            row: r,
            grid: geom.project(geom.grid_index(r)),
            origin: geom.origin(r),
        })
    }

    /// The row of the patch whose first element is source index `origin`
    /// (the inverse of [`position`](Self::position)), or `None` where no
    /// patch starts there: off the grid's steps, or past its last position.
    /// For patches at keypoints, or to align a detection with its row.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<u8>::zeros((10, 10));
    /// let p = img.patches(4).step(3);        // origins 0, 3, 6 on each axis
    /// assert_eq!(p.row_of((3, 6)), Some(5));
    /// assert_eq!(p.position(5).unwrap().origin, ndarray::Dim([3, 6]));
    /// assert_eq!(p.row_of((3, 5)), None);    // not on a step
    /// assert_eq!(p.row_of((9, 0)), None);    // no window fits there
    /// ```
    pub fn row_of(&self, origin: impl PerAxis<D>) -> Option<usize> {
        let geom = self.geometry();
        geom.row_of(&origin.per_axis(geom.ndim()))
    }

    /// The same windows under another edge policy that needs no padding:
    /// [`Edge::Valid`] (the default) or [`Edge::Shift`], which adds, on
    /// every axis the step does not take to the end, one window ending on
    /// the last element, so that the windows cover every element. Kept by
    /// later [`step`](Self::step) and [`dilation`](Self::dilation) calls.
    /// (The padded policies are [`PatchExt::padded`](crate::PatchExt::padded)'s.)
    ///
    /// # Panics
    ///
    /// For [`Edge::Same`] and [`Edge::Cover`], which need a padded copy of
    /// the array.
    ///
    /// # Examples
    ///
    /// Overlapping tiles of a whole image, every pixel in some tile:
    ///
    /// ```
    /// use ndarray::{Array2, Dim};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::Edge;
    ///
    /// let img = Array2::<f32>::zeros((1000, 700));
    /// let tiles = img.patches(256).step(192).edge(Edge::Shift);
    /// assert_eq!(tiles.grid(), Dim([5, 4]));     // Valid: (4, 3), missing the borders
    /// let last = tiles.position(tiles.len() - 1).unwrap();
    /// assert_eq!(last.origin, Dim([1000 - 256, 700 - 256]));
    /// ```
    #[track_caller]
    #[must_use]
    pub fn edge(self, edge: Edge) -> Self {
        match self.geometry().with_edge(edge) {
            Some(geom) => {
                // The same window over the same array validated before; the
                // grid is at most the array's shape, whose size fits in
                // isize, so the number of patches cannot overflow.
                let geom = geom.expect("a validated window under another edge");
                self.with_geometry(geom)
            }
            None => panic!(
                "Edge::{edge:?} needs padding: use padded(&window, Edge::{edge:?}, pad).patches()"
            ),
        }
    }

    /// Sets the step: the distance between neighbouring patch origins on
    /// each axis (default 1); one number for every axis, or one per axis.
    ///
    /// # Panics
    ///
    /// If a step is zero, or (for dynamic dimensions) has the wrong number of
    /// axes; see [`try_step`](Self::try_step).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<u8>::zeros((32, 48));
    /// assert_eq!(img.patches(8).step((4, 8)).grid(), ndarray::Dim([7, 6]));
    /// assert_eq!(img.patches(8).step(8).grid(), ndarray::Dim([4, 6]));
    /// ```
    #[track_caller]
    #[must_use]
    pub fn step(self, step: impl PerAxis<D>) -> Self {
        unwrap_or_panic(self.try_step(step))
    }

    /// Like [`step`](Self::step), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::Zero`] for a zero step, [`PatchError::WrongNdim`] for a
    /// step with the wrong number of axes.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array2, IxDyn};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<u8>::zeros((32, 48)).into_dyn();
    /// assert!(img.patches(8).try_step(IxDyn(&[4])).is_err());
    /// assert!(img.patches(8).try_step(0).is_err());
    /// ```
    pub fn try_step(self, step: impl PerAxis<D>) -> Result<Self, PatchError> {
        let geom = self.geometry();
        let geom = geom.with_step(step.per_axis(geom.ndim()))?;
        Ok(self.with_geometry(geom))
    }

    /// Sets the dilation: the distance between neighbouring elements inside
    /// a patch on each axis (default 1), like torch's `unfold(dilation=..)`;
    /// one number for every axis, or one per axis.
    ///
    /// # Panics
    ///
    /// If a dilation is zero, has the wrong number of axes, or makes a patch
    /// larger than the array; see [`try_dilation`](Self::try_dilation).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array1};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0..6);
    /// let p = a.patches(3).dilation(2);
    /// assert_eq!(p.to_matrix(), array![[0, 2, 4], [1, 3, 5]]);
    /// ```
    #[track_caller]
    #[must_use]
    pub fn dilation(self, dilation: impl PerAxis<D>) -> Self {
        unwrap_or_panic(self.try_dilation(dilation))
    }

    /// Like [`dilation`](Self::dilation), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::Zero`], [`PatchError::WrongNdim`], or
    /// [`PatchError::PatchTooLarge`] if the dilated patch no longer fits.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::PatchError;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<f64>::zeros(6);
    /// assert_eq!(
    ///     a.patches(3).try_dilation(3).unwrap_err(),
    ///     PatchError::PatchTooLarge { axis: 0, extent: 7, len: 6 }
    /// );
    /// ```
    pub fn try_dilation(self, dilation: impl PerAxis<D>) -> Result<Self, PatchError> {
        let geom = self.geometry();
        let geom = geom.with_dilation(dilation.per_axis(geom.ndim()))?;
        Ok(self.with_geometry(geom))
    }

    /// Number of patch positions along each axis.
    ///
    /// On each axis, `(n - extent) / step + 1` with
    /// `extent = dilation * (patch - 1) + 1`. The number of patches,
    /// [`len`](Rows::len), is its product.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array3, Dim};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array3::<u8>::zeros((10, 12, 3));
    /// let p = img.patches(3);
    /// assert_eq!(p.grid(), Dim([8, 10, 1]));
    /// assert_eq!(p.len(), 80);
    /// ```
    pub fn grid(&self) -> D {
        self.geometry().shown_grid()
    }

    /// Elements per patch: the product of [`patch_shape`](Self::patch_shape),
    /// the number of columns of the patch matrix.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array3;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array3::<u8>::zeros((64, 64, 3));
    /// assert_eq!(img.patches((8, 8, 3)).patch_len(), 192);
    /// ```
    pub fn patch_len(&self) -> usize {
        self.geometry().patch_len()
    }

    /// The shape of one patch.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array2, Dim};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<u8>::zeros((9, 9));
    /// assert_eq!(img.patches((3, 2)).patch_shape(), Dim([3, 2]));
    /// ```
    pub fn patch_shape(&self) -> D {
        self.geometry().shown_patch()
    }

    /// The window (patch shape, step, dilation) of these patches.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array2, Dim};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::Window;
    ///
    /// let img = Array2::<u8>::zeros((9, 9));
    /// let w = img.patches(3).step((2, 1)).window();
    /// assert_eq!(w, Window::new((3, 3)).step((2, 1)));
    /// assert_eq!(w.dilation, Dim([1, 1]));
    /// ```
    pub fn window(&self) -> Window<D> {
        let geom = self.geometry();
        Window {
            patch: geom.patch().clone(),
            step: geom.step().clone(),
            dilation: geom.dilation().clone(),
        }
    }

    /// Patch `r` (row-major over the grid) as a view into the source, or
    /// `None` if `r >= len`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array2::from_shape_fn((3, 4), |(i, j)| 10 * i + j);
    /// let p = a.patches(2);       // grid (2, 3)
    /// assert_eq!(p.get(4).unwrap(), array![[11, 12], [21, 22]]);
    /// assert!(p.get(6).is_none());
    /// ```
    pub fn get(&self, r: usize) -> Option<ArrayView<'a, A, D>> {
        (r < self.geometry().len()).then(|| self.patch_at(r))
    }

    /// Patch `r`, `r < len`: a slice of the source (safe code: the slice's
    /// bounds are checked by ndarray).
    fn patch_at(&self, r: usize) -> ArrayView<'a, A, D> {
        let mut v = self.source().clone();
        v.slice_each_axis_inplace(self.geometry().patch_slices(r));
        self.geometry().show_patch(v)
    }

    /// An iterator over every patch as a view, in row order.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0..5);
    /// let sums: Vec<i32> = a.patches(3).iter().map(|w| w.sum()).collect();
    /// assert_eq!(sums, vec![3, 6, 9]);
    /// let last = a.patches(3).iter().next_back().unwrap();
    /// assert_eq!(last.to_vec(), vec![2, 3, 4]);
    /// ```
    pub fn iter(&self) -> Iter<'a, A, D> {
        Iter {
            front: 0,
            back: self.geometry().len(),
            patches: self.clone(),
        }
    }

    /// Every patch of the source as one zero-copy view of shape
    /// `grid ++ patch_shape`: `view[[i.., j..]]` is element `j` of the
    /// patch at grid position `i`.
    ///
    /// Works for sources of any layout, including reversed (negative
    /// stride) and broadcast (zero stride) axes. The view is read-only
    /// because windows overlap.
    ///
    /// # Panics
    ///
    /// For [`Edge::Shift`] windows whose last window is moved back (their
    /// origins are not evenly spaced, so no strides describe them), and if
    /// the view's element count overflows `isize` (only possible with
    /// broadcast sources); see [`try_view`](Self::try_view).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{s, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array2::from_shape_fn((4, 5), |(i, j)| 10 * i + j);
    /// let rev = a.slice(s![.., ..;-1]);          // negative stride
    /// let v = rev.patches((2, 3)).view();
    /// assert_eq!(v.shape(), &[3, 3, 2, 3]);
    /// assert_eq!(v[[1, 0, 1, 2]], rev[[2, 2]]);
    /// ```
    #[track_caller]
    pub fn view(&self) -> ArrayView<'a, A, D::View>
    where
        D: PatchDim,
    {
        unwrap_or_panic(self.try_view())
    }

    /// Like [`view`](Self::view), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShiftedGrid`] for [`Edge::Shift`] windows with a
    /// moved-back last window, [`PatchError::Overflow`] if the view's element
    /// count or strides overflow `isize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<f32>::zeros(10);
    /// assert_eq!(a.patches(4).try_view()?.shape(), &[7, 4]);
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_view(&self) -> Result<ArrayView<'a, A, D::View>, PatchError>
    where
        D: PatchDim,
    {
        let geom = self.geometry();
        Ok(geom.show_view(window_view(self.source(), geom)?))
    }
}

impl<'a, A: Sync, D: Dimension> Patches<'a, A, D> {
    /// A rayon parallel iterator over every patch as a view, in row order.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use rayon::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((64, 64), |(i, j)| (i * j) as f32);
    /// let maxima: Vec<f32> = img
    ///     .patches((8, 8))
    ///     .par_iter()
    ///     .map(|w| w.fold(f32::MIN, |m, &x| m.max(x)))
    ///     .collect();
    /// assert_eq!(maxima.len(), 57 * 57);
    /// assert_eq!(maxima[0], 49.0);
    /// ```
    pub fn par_iter(&self) -> impl IndexedParallelIterator<Item = ArrayView<'a, A, D>> + '_ {
        (0..self.geometry().len())
            .into_par_iter()
            .map(|r| self.patch_at(r))
    }
}

/// Iterator over the patches of a [`Patches`] as views; see
/// [`Patches::iter`].
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
///
/// let a = Array1::from_iter(0..4);
/// let mut it = a.patches(2).iter();
/// assert_eq!(it.len(), 3);
/// assert_eq!(it.next().unwrap().to_vec(), vec![0, 1]);
/// assert_eq!(it.len(), 2);
/// ```
pub struct Iter<'a, A, D: Dimension> {
    patches: Patches<'a, A, D>,
    front: usize,
    back: usize,
}

impl<A, D: Dimension> fmt::Debug for Iter<'_, A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("patches", &self.patches)
            .field("front", &self.front)
            .field("back", &self.back)
            .finish()
    }
}

impl<A, D: Dimension> Clone for Iter<'_, A, D> {
    fn clone(&self) -> Self {
        Iter {
            patches: self.patches.clone(),
            front: self.front,
            back: self.back,
        }
    }
}

impl<'a, A, D: Dimension> Iterator for Iter<'a, A, D> {
    type Item = ArrayView<'a, A, D>;

    fn next(&mut self) -> Option<Self::Item> {
        (self.front < self.back).then(|| {
            self.front += 1;
            self.patches.patch_at(self.front - 1)
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }

    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        self.front = self.front.saturating_add(n).min(self.back);
        self.next()
    }
}

impl<A, D: Dimension> DoubleEndedIterator for Iter<'_, A, D> {
    fn next_back(&mut self) -> Option<Self::Item> {
        (self.front < self.back).then(|| {
            self.back -= 1;
            self.patches.patch_at(self.back)
        })
    }
}

impl<A, D: Dimension> ExactSizeIterator for Iter<'_, A, D> {}
impl<A, D: Dimension> FusedIterator for Iter<'_, A, D> {}

//! [`Patches`]: the descriptor users hold, and its iterators.

use std::fmt;
use std::iter::FusedIterator;

use ndarray::{ArrayView, Dimension, IntoDimension, Slice};
use rayon::prelude::*;

use crate::error::{unwrap_or_panic, PatchError};
use crate::geometry::{axes, extent, ones_like, Geometry};
use crate::view::{window_view, PatchDim};

/// Every patch (sliding window) of an array: a source view and a validated
/// geometry. Building it, and changing its step or dilation, copies nothing.
///
/// Made by [`PatchExt::patches`](crate::PatchExt::patches) (or
/// [`IntoPatches::into_patches`](crate::IntoPatches::into_patches) to keep a
/// view's own lifetime). Patches are numbered row-major over the
/// [`grid`](Self::grid); patch 0 is the one at the array's origin.
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
///
/// let img = Array2::<f32>::zeros((100, 100));
/// let p = img.patches((39, 39));
/// assert_eq!(p.grid(), ndarray::Dim([62, 62]));
/// assert_eq!((p.len(), p.patch_len()), (3844, 1521));
/// assert_eq!(p.view().shape(), &[62, 62, 39, 39]);
/// ```
pub struct Patches<'a, A, D: Dimension> {
    source: ArrayView<'a, A, D>,
    geom: Geometry<D>,
}

impl<A, D: Dimension> Clone for Patches<'_, A, D> {
    fn clone(&self) -> Self {
        Patches {
            source: self.source.clone(),
            geom: self.geom.clone(),
        }
    }
}

impl<A, D: Dimension> fmt::Debug for Patches<'_, A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Patches")
            .field("source_shape", &self.source.shape())
            .field("source_strides", &self.source.strides())
            .field("patch", &axes(self.geom.patch()))
            .field("step", &axes(self.geom.step()))
            .field("dilation", &axes(self.geom.dilation()))
            .field("grid", &axes(self.geom.grid()))
            .finish()
    }
}

impl<'a, A, D: Dimension> Patches<'a, A, D> {
    /// Patches of `patch` shape, step 1 and dilation 1 on every axis.
    pub(crate) fn new(source: ArrayView<'a, A, D>, patch: D) -> Result<Self, PatchError> {
        let ones = ones_like(&patch);
        let geom = Geometry::new(source.raw_dim(), patch, ones.clone(), ones)?;
        Ok(Patches { source, geom })
    }

    pub(crate) fn source(&self) -> &ArrayView<'a, A, D> {
        &self.source
    }

    pub(crate) fn geometry(&self) -> &Geometry<D> {
        &self.geom
    }

    /// Sets the step: the distance between neighbouring patch origins on
    /// each axis (default 1).
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
    /// let p = img.patches((8, 8)).step((4, 8));
    /// assert_eq!(p.grid(), ndarray::Dim([7, 6]));
    /// ```
    #[track_caller]
    #[must_use]
    pub fn step<S: IntoDimension<Dim = D>>(self, step: S) -> Self {
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
    /// assert!(img.patches(IxDyn(&[8, 8])).try_step(IxDyn(&[4])).is_err());
    /// ```
    pub fn try_step<S: IntoDimension<Dim = D>>(self, step: S) -> Result<Self, PatchError> {
        let geom = self.geom.with_step(step.into_dimension())?;
        Ok(Patches { geom, ..self })
    }

    /// Sets the dilation: the distance between neighbouring elements inside
    /// a patch on each axis (default 1), like torch's `unfold(dilation=..)`.
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
    pub fn dilation<S: IntoDimension<Dim = D>>(self, dilation: S) -> Self {
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
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::PatchError;
    ///
    /// let a = Array1::<f64>::zeros(6);
    /// assert_eq!(
    ///     a.patches(3).try_dilation(3).unwrap_err(),
    ///     PatchError::PatchTooLarge { axis: 0, extent: 7, len: 6 }
    /// );
    /// ```
    pub fn try_dilation<S: IntoDimension<Dim = D>>(self, dilation: S) -> Result<Self, PatchError> {
        let geom = self.geom.with_dilation(dilation.into_dimension())?;
        Ok(Patches { geom, ..self })
    }

    /// Number of patch positions along each axis.
    ///
    /// On each axis, `(n - extent) / step + 1` with
    /// `extent = dilation * (patch - 1) + 1`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array3, Dim};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array3::<u8>::zeros((10, 12, 3));
    /// assert_eq!(img.patches((3, 3, 3)).grid(), Dim([8, 10, 1]));
    /// ```
    pub fn grid(&self) -> D {
        self.geom.grid().clone()
    }

    /// Number of patches: the product of [`grid`](Self::grid), the number
    /// of rows of the patch matrix.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// assert_eq!(Array2::<u8>::zeros((10, 12)).patches((3, 4)).len(), 8 * 9);
    /// ```
    pub fn len(&self) -> usize {
        self.geom.len()
    }

    /// `true` if there are no patches. A valid request always has at least
    /// one patch (a patch that does not fit is an error, not an empty
    /// result), so this is `false`; it exists for symmetry with
    /// [`len`](Self::len).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// assert!(!Array2::<u8>::zeros((3, 3)).patches((3, 3)).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.geom.len() == 0
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
        self.geom.patch_len()
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
        self.geom.patch().clone()
    }

    /// The step on each axis.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array2, Dim};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<u8>::zeros((9, 9));
    /// assert_eq!(img.patches((3, 3)).steps(), Dim([1, 1]));
    /// assert_eq!(img.patches((3, 3)).step((2, 3)).steps(), Dim([2, 3]));
    /// ```
    pub fn steps(&self) -> D {
        self.geom.step().clone()
    }

    /// The dilation on each axis.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array2, Dim};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<u8>::zeros((9, 9));
    /// assert_eq!(img.patches((3, 3)).dilation((2, 1)).dilations(), Dim([2, 1]));
    /// ```
    pub fn dilations(&self) -> D {
        self.geom.dilation().clone()
    }

    /// Patch `r` (row-major over the grid) as a view into the source.
    ///
    /// # Panics
    ///
    /// If `r >= self.len()`; see [`try_get`](Self::try_get).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array2::from_shape_fn((3, 4), |(i, j)| 10 * i + j);
    /// let p = a.patches((2, 2));       // grid (2, 3)
    /// assert_eq!(p.get(4), array![[11, 12], [21, 22]]);
    /// ```
    #[track_caller]
    pub fn get(&self, r: usize) -> ArrayView<'a, A, D> {
        unwrap_or_panic(self.try_get(r))
    }

    /// Like [`get`](Self::get), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::RowsOutOfRange`] if `r >= self.len()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(5);
    /// assert!(a.patches(2).try_get(3).is_ok());
    /// assert!(a.patches(2).try_get(4).is_err());
    /// ```
    pub fn try_get(&self, r: usize) -> Result<ArrayView<'a, A, D>, PatchError> {
        self.geom.check_rows(r, 1)?;
        Ok(self.patch_at(r))
    }

    /// Patch `r`, `r < len`: a slice of the source (safe code: the slice's
    /// bounds are checked by ndarray).
    fn patch_at(&self, r: usize) -> ArrayView<'a, A, D> {
        let origin = self.geom.origin(r);
        let (patch, dilation) = (self.geom.patch(), self.geom.dilation());
        let mut v = self.source.clone();
        v.slice_each_axis_inplace(|ax| {
            let k = ax.axis.index();
            // All fit in isize: origin + extent <= n <= isize::MAX, and a
            // dilation matters (and is <= n) only when the patch size is > 1.
            let start = origin[k] as isize;
            let end = start + extent(patch[k], dilation[k]).expect("validated") as isize;
            let step = if patch[k] > 1 {
                dilation[k] as isize
            } else {
                1
            };
            Slice::new(start, Some(end), step)
        });
        v
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
            back: self.len(),
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
    /// If the view's element count overflows `isize` (only possible with
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
    /// [`PatchError::Overflow`] if the view's element count or strides
    /// overflow `isize`.
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
        window_view(&self.source, &self.geom)
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
        (0..self.len()).into_par_iter().map(|r| self.patch_at(r))
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

//! The entry points: [`PatchExt`] on every array, [`IntoPatches`] on views.

use ndarray::{ArrayRef, ArrayView, Dimension, IxDyn};

use crate::along::PatchesAlong;
use crate::blocks::BlocksMut;
use crate::error::{unwrap_or_panic, PatchError};
use crate::geometry::{ones_like, Edge, Geometry, PerAxis, Window};
use crate::pad::{padded_impl, Pad, Padded};
use crate::patches::Patches;

mod sealed {
    pub trait Sealed {}
    impl<A, D: ndarray::Dimension> Sealed for ndarray::ArrayRef<A, D> {}
    impl<A, D: ndarray::Dimension> Sealed for ndarray::ArrayView<'_, A, D> {}
}

/// Sliding-window patches of any ndarray array.
///
/// Implemented for [`ArrayRef`], which every array (`Array`, `ArrayView`,
/// `ArrayViewMut`, `ArcArray`, `CowArray`) dereferences to, so
/// `.patches(..)` works on all of them, in any layout: C or F order,
/// sliced with steps, reversed, broadcast, dynamic-dimensional. Sizes are
/// one number for every axis (`8`) or one per axis (`(8, 4)`); see
/// [`PerAxis`]. Sealed.
///
/// # Examples
///
/// ```
/// use ndarray::{s, Array2};
/// use ndarray_patches::prelude::*;
///
/// let img = Array2::from_shape_fn((6, 8), |(i, j)| (8 * i + j) as f32);
/// assert_eq!(img.patches((3, 3)).len(), 4 * 6);
/// assert_eq!(img.t().patches((3, 3)).len(), 6 * 4);
/// assert_eq!(img.slice(s![..;2, ..;-1]).patches((2, 2)).len(), 2 * 7);
/// ```
pub trait PatchExt<A, D: Dimension>: sealed::Sealed {
    /// Every patch of shape `patch`, with step 1 and dilation 1; set others
    /// with [`Patches::step`] and [`Patches::dilation`]. Costs O(1): nothing
    /// is copied.
    ///
    /// # Panics
    ///
    /// If a patch size is zero, a patch is larger than the array on some
    /// axis, or (dynamic dimensions) `patch` has the wrong number of axes;
    /// see [`try_patches`](Self::try_patches).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((100, 100));
    /// let p = img.patches((39, 39));
    /// assert_eq!(p.view().shape(), &[62, 62, 39, 39]);
    /// assert_eq!(p.to_matrix().shape(), &[3844, 1521]);
    /// ```
    #[track_caller]
    fn patches<Sh: PerAxis<D>>(&self, patch: Sh) -> Patches<'_, A, D> {
        unwrap_or_panic(self.try_patches(patch))
    }

    /// Like [`patches`](Self::patches), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::Zero`], [`PatchError::PatchTooLarge`] or
    /// [`PatchError::WrongNdim`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{ArrayD, IxDyn};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Argument, PatchError};
    ///
    /// let vol = ArrayD::<u8>::zeros(IxDyn(&[4, 4, 4]));
    /// assert_eq!(
    ///     vol.try_patches(IxDyn(&[2, 2])).unwrap_err(),
    ///     PatchError::WrongNdim { argument: Argument::PatchShape, expected: 3, found: 2 }
    /// );
    /// assert_eq!(vol.try_patches(IxDyn(&[2, 2, 2]))?.len(), 27);
    /// # Ok::<(), PatchError>(())
    /// ```
    fn try_patches<Sh: PerAxis<D>>(&self, patch: Sh) -> Result<Patches<'_, A, D>, PatchError>;

    /// The windows along `axes` only (numpy's
    /// `sliding_window_view(x, shape, axis=axes)`): `axes` are the windowed
    /// axes, strictly increasing (one axis `1`, or `(1, 2)`, `[1, 2]`, a
    /// slice or `Vec`), `shape` one window size per windowed axis (or one
    /// number for all). The axes before the first windowed axis are batch
    /// axes of the grid; every other axis is taken whole into the patch:
    ///
    /// ```text
    ///   (N, H, W, C) over (1, 2), windows (ph, pw):  grid (N, gh, gw), patch (ph, pw, C)
    ///   (H, W, C)    over (0, 1):                     grid (gh, gw),    patch (ph, pw, C)
    ///   (N, C, H, W) over (2, 3):                     grid (N, C, gh, gw), patch (ph, pw)
    /// ```
    ///
    /// See [`PatchesAlong`] for the rule, and how to put an NCHW tensor's
    /// channels in the patch. Costs O(1): nothing is copied.
    ///
    /// # Panics
    ///
    /// If the axes are not valid (empty, out of range, repeated, out of
    /// order), `shape` does not have one size per windowed axis, a size is
    /// zero, a window is larger than the array, or a non-windowed axis is
    /// empty; see [`try_patches_along`](Self::try_patches_along).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array4, IxDyn};
    /// use ndarray_patches::prelude::*;
    ///
    /// let batch = Array4::<f32>::zeros((16, 28, 28, 3)); // (N, H, W, C)
    /// let p = batch.patches_along((1, 2), (5, 5));
    /// assert_eq!(p.grid(), IxDyn(&[16, 24, 24]));
    /// assert_eq!(p.patch_shape(), IxDyn(&[5, 5, 3]));
    /// assert_eq!(p.to_matrix().dim(), (16 * 24 * 24, 5 * 5 * 3));
    /// ```
    #[track_caller]
    fn patches_along<Ax: PerAxis<IxDyn>, Sh: PerAxis<IxDyn>>(
        &self,
        axes: Ax,
        shape: Sh,
    ) -> PatchesAlong<'_, A> {
        unwrap_or_panic(self.try_patches_along(axes, shape))
    }

    /// Like [`patches_along`](Self::patches_along), returning an error
    /// instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::InvalidAxes`] for axes that are empty, out of range,
    /// repeated or not increasing; [`PatchError::ShapeMismatch`] if `shape`
    /// does not have one size per windowed axis; [`PatchError::EmptyArray`]
    /// if a non-windowed axis has length 0; [`PatchError::Zero`] or
    /// [`PatchError::PatchTooLarge`] (naming the source axis) as for
    /// [`try_patches`](Self::try_patches).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array3;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::PatchError;
    ///
    /// let hwc = Array3::<u8>::zeros((8, 8, 3));
    /// let err = hwc.try_patches_along((1, 0), 2).unwrap_err();
    /// assert_eq!(err, PatchError::InvalidAxes { axes: vec![1, 0], ndim: 3 });
    /// assert_eq!(
    ///     err.to_string(),
    ///     "windowed axes must be strictly increasing, but 0 comes after 1 (axes [1, 0])"
    /// );
    /// assert_eq!(hwc.try_patches_along((0, 1), (2, 2))?.len(), 49);
    /// # Ok::<(), PatchError>(())
    /// ```
    fn try_patches_along<Ax: PerAxis<IxDyn>, Sh: PerAxis<IxDyn>>(
        &self,
        axes: Ax,
        shape: Sh,
    ) -> Result<PatchesAlong<'_, A>, PatchError>;

    /// Non-overlapping blocks of shape `block` (scikit-image's
    /// `view_as_blocks`): the patches whose step is their shape. A remainder
    /// that does not fill a block is left out ([`Edge::Valid`]); to cover it,
    /// pad with [`Edge::Cover`]:
    /// `img.padded(&Window::new(b).step(b), Edge::Cover, Pad::Constant(0)).patches()`.
    ///
    /// # Panics
    ///
    /// As [`patches`](Self::patches); see [`try_blocks`](Self::try_blocks).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array2::from_shape_fn((4, 5), |(i, j)| 10 * i + j);
    /// let b = a.blocks((2, 2));
    /// assert_eq!(b.grid(), ndarray::Dim([2, 2]));
    /// assert_eq!(b.get(3).unwrap(), array![[22, 23], [32, 33]]);
    /// ```
    #[track_caller]
    fn blocks<Sh: PerAxis<D>>(&self, block: Sh) -> Patches<'_, A, D> {
        unwrap_or_panic(self.try_blocks(block))
    }

    /// Like [`blocks`](Self::blocks), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// As [`try_patches`](Self::try_patches).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array2::<u8>::zeros((4, 4));
    /// assert!(a.try_blocks((5, 1)).is_err());
    /// ```
    fn try_blocks<Sh: PerAxis<D>>(&self, block: Sh) -> Result<Patches<'_, A, D>, PatchError>;

    /// Mutable views of the non-overlapping blocks of shape `block`, in
    /// row-major order, with a rayon-parallel
    /// [`par_for_each`](BlocksMut::par_for_each). A remainder that does not
    /// fill a block is left out.
    ///
    /// # Panics
    ///
    /// As [`patches`](Self::patches); see [`try_blocks_mut`](Self::try_blocks_mut).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let mut a = Array2::<f32>::ones((6, 6));
    /// a.blocks_mut((3, 3)).par_for_each(|k, mut b| b *= k as f32);
    /// assert_eq!(a[[5, 5]], 3.0);
    /// ```
    #[track_caller]
    fn blocks_mut<Sh: PerAxis<D>>(&mut self, block: Sh) -> BlocksMut<'_, A, D> {
        unwrap_or_panic(self.try_blocks_mut(block))
    }

    /// Like [`blocks_mut`](Self::blocks_mut), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// As [`try_patches`](Self::try_patches).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let mut a = Array2::<u8>::zeros((4, 4));
    /// assert!(a.try_blocks_mut((0, 2)).is_err());
    /// ```
    fn try_blocks_mut<Sh: PerAxis<D>>(
        &mut self,
        block: Sh,
    ) -> Result<BlocksMut<'_, A, D>, PatchError>;

    /// A copy of the array with the borders that `edge` needs for `window`,
    /// filled as `mode` says (numpy.pad's modes); its
    /// [`patches`](Padded::patches) are the windows of the edge policy.
    /// Costs one copy of the array plus its borders.
    ///
    /// # Panics
    ///
    /// For a zero size, step or dilation, a wrong number of axes, an empty
    /// array, or (with [`Edge::Valid`]) a patch larger than the array; see
    /// [`try_padded`](Self::try_padded).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Pad, Window};
    ///
    /// // One 7x7 window centred on every pixel, borders mirrored.
    /// let img = Array2::from_shape_fn((32, 48), |(i, j)| (i + j) as f32);
    /// let padded = img.padded(&Window::new((7, 7)), Edge::Same, Pad::Reflect);
    /// let p = padded.patches();
    /// assert_eq!(p.grid(), ndarray::Dim([32, 48]));
    /// assert_eq!(p.get(0).unwrap()[[3, 3]], img[[0, 0]]);
    /// ```
    #[track_caller]
    fn padded(&self, window: &Window<D>, edge: Edge, mode: Pad<A>) -> Padded<A, D>
    where
        A: Clone,
    {
        unwrap_or_panic(self.try_padded(window, edge, mode))
    }

    /// Like [`padded`](Self::padded), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::Zero`], [`PatchError::WrongNdim`],
    /// [`PatchError::PatchTooLarge`] or [`PatchError::Overflow`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Pad, Window};
    ///
    /// let img = Array2::<f32>::zeros((4, 4));
    /// assert!(img.try_padded(&Window::new((5, 5)), Edge::Valid, Pad::Edge).is_err());
    /// assert!(img.try_padded(&Window::new((5, 5)), Edge::Same, Pad::Edge).is_ok());
    /// ```
    fn try_padded(
        &self,
        window: &Window<D>,
        edge: Edge,
        mode: Pad<A>,
    ) -> Result<Padded<A, D>, PatchError>
    where
        A: Clone;
}

impl<A, D: Dimension> PatchExt<A, D> for ArrayRef<A, D> {
    fn try_padded(
        &self,
        window: &Window<D>,
        edge: Edge,
        mode: Pad<A>,
    ) -> Result<Padded<A, D>, PatchError>
    where
        A: Clone,
    {
        padded_impl(self, window, edge, mode)
    }

    fn try_patches<Sh: PerAxis<D>>(&self, patch: Sh) -> Result<Patches<'_, A, D>, PatchError> {
        Patches::new(self.view(), patch.per_axis(self.ndim()))
    }

    fn try_patches_along<Ax: PerAxis<IxDyn>, Sh: PerAxis<IxDyn>>(
        &self,
        axes: Ax,
        shape: Sh,
    ) -> Result<PatchesAlong<'_, A>, PatchError> {
        // One axis number is one windowed axis; a single size is for each.
        let axes: IxDyn = axes.per_axis(1);
        let shape: IxDyn = shape.per_axis(axes.ndim());
        PatchesAlong::new(self.view(), axes.slice(), &shape)
    }

    fn try_blocks<Sh: PerAxis<D>>(&self, block: Sh) -> Result<Patches<'_, A, D>, PatchError> {
        let geom = block_geometry(self.raw_dim(), block.per_axis(self.ndim()))?;
        Ok(Patches::from_parts(self.view(), geom))
    }

    fn try_blocks_mut<Sh: PerAxis<D>>(
        &mut self,
        block: Sh,
    ) -> Result<BlocksMut<'_, A, D>, PatchError> {
        let block: D = block.per_axis(self.ndim());
        // The same validation as read-only blocks: zero sizes, blocks larger
        // than the array and wrong numbers of axes are errors.
        let grid = block_geometry(self.raw_dim(), block.clone())?
            .grid()
            .clone();
        Ok(BlocksMut::new(self.view_mut(), &block, grid))
    }
}

/// The geometry of non-overlapping blocks: the step is the block shape.
fn block_geometry<D: Dimension>(shape: D, block: D) -> Result<Geometry<D>, PatchError> {
    let ones = ones_like(&block);
    Geometry::new(shape, block.clone(), block, ones)
}

/// Patches that keep a view's own lifetime `'a`, so that a function can
/// return them.
///
/// # Examples
///
/// ```
/// use ndarray::{ArrayView2, Ix2};
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::Patches;
///
/// fn tiles<'a>(img: ArrayView2<'a, u8>) -> Patches<'a, u8, Ix2> {
///     img.into_patches((4, 4)).step((4, 4))
/// }
/// let data = vec![0u8; 64];
/// let img = ArrayView2::from_shape((8, 8), &data).unwrap();
/// assert_eq!(tiles(img).len(), 4);
/// ```
pub trait IntoPatches<'a, A, D: Dimension>: sealed::Sealed {
    /// Every patch of shape `patch` (step 1, dilation 1), borrowing the
    /// elements for `'a`.
    ///
    /// # Panics
    ///
    /// As [`PatchExt::patches`]; see
    /// [`try_into_patches`](Self::try_into_patches).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0..4);
    /// let p = a.view().into_patches(2);
    /// assert_eq!(p.len(), 3);
    /// ```
    #[track_caller]
    fn into_patches<Sh: PerAxis<D>>(self, patch: Sh) -> Patches<'a, A, D>
    where
        Self: Sized,
    {
        unwrap_or_panic(self.try_into_patches(patch))
    }

    /// Like [`into_patches`](Self::into_patches), returning an error instead
    /// of panicking.
    ///
    /// # Errors
    ///
    /// As [`PatchExt::try_patches`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(4);
    /// assert!(a.view().try_into_patches(5).is_err());
    /// ```
    fn try_into_patches<Sh: PerAxis<D>>(self, patch: Sh) -> Result<Patches<'a, A, D>, PatchError>;
}

impl<'a, A, D: Dimension> IntoPatches<'a, A, D> for ArrayView<'a, A, D> {
    fn try_into_patches<Sh: PerAxis<D>>(self, patch: Sh) -> Result<Patches<'a, A, D>, PatchError> {
        let patch = patch.per_axis(self.ndim());
        Patches::new(self, patch)
    }
}

//! Patch geometry: patch shape, step, dilation and grid on every axis.
//!
//! Pure arithmetic, no unsafe. Everything that later code relies on (that a
//! patch fits, that element counts and offsets fit in `usize`/`isize`) is
//! checked here, once, when a [`Geometry`] is built; the view and the
//! flatteners only read a validated geometry.
//!
//! Per axis, with array length `n`, patch size `p`, step `s`, dilation `d`:
//! extent `e = d*(p-1) + 1`, grid `g = (n - e)/s + 1` (requires `n >= e`), and
//! element `j` of the patch at grid position `i` is source element `i*s + j*d`.
//!
//! Also here, because they are the same arithmetic: [`Window`] (a patch
//! shape, step and dilation independent of any array), [`Edge`] and the
//! padding an edge policy needs, and [`PerAxis`] (a single number or one
//! number per axis).

use std::ops::Range;

use ndarray::{ArrayView, AxisDescription, Dim, Dimension, IntoDimension, Ix, IxDyn, Slice};

use crate::error::{Argument, PatchError};

mod sealed {
    pub trait Sealed {}
}

/// A size, step or dilation: one number for every axis (`8` means `8 x 8`
/// on a 2-D array, as numpy and scikit-image accept), or one per axis (a
/// tuple, an array, an ndarray `Dim`, or for dynamic-dimensional arrays a
/// slice or `Vec`). Sealed.
///
/// # Examples
///
/// ```
/// use ndarray::{Array2, ArrayD, Dim, IxDyn};
/// use ndarray_patches::prelude::*;
///
/// let img = Array2::<u8>::zeros((32, 48));
/// assert_eq!(img.patches(8).step(4).grid(), Dim([7, 11]));
/// assert_eq!(img.patches((8, 8)).step((4, 4)).grid(), Dim([7, 11]));
/// assert_eq!(img.patches([8, 8]).grid(), Dim([25, 41]));
///
/// let vol = ArrayD::<u8>::zeros(IxDyn(&[6, 6, 6]));
/// assert_eq!(vol.patches(2).len(), 125);
/// assert_eq!(vol.patches((2, 3, 4)).len(), 5 * 4 * 3);
/// assert_eq!(vol.patches(vec![2, 3, 4]).len(), 5 * 4 * 3);
/// ```
pub trait PerAxis<D: Dimension>: sealed::Sealed {
    /// The per-axis values for an array of `ndim` axes (a single number is
    /// repeated `ndim` times; other values keep their own number of axes,
    /// which is checked where they are used).
    fn per_axis(self, ndim: usize) -> D;
}

impl sealed::Sealed for usize {}
impl<D: Dimension> PerAxis<D> for usize {
    fn per_axis(self, ndim: usize) -> D {
        let mut d = D::zeros(D::NDIM.unwrap_or(ndim));
        d.slice_mut().fill(self);
        d
    }
}

macro_rules! per_axis_fixed {
    ($($n:literal: $tuple:ty),*) => {$(
        impl sealed::Sealed for [Ix; $n] {}
        impl PerAxis<Dim<[Ix; $n]>> for [Ix; $n] {
            fn per_axis(self, _: usize) -> Dim<[Ix; $n]> {
                Dim(self)
            }
        }
        impl PerAxis<IxDyn> for [Ix; $n] {
            fn per_axis(self, _: usize) -> IxDyn {
                IxDyn(&self)
            }
        }
        impl sealed::Sealed for Dim<[Ix; $n]> {}
        impl PerAxis<Dim<[Ix; $n]>> for Dim<[Ix; $n]> {
            fn per_axis(self, _: usize) -> Dim<[Ix; $n]> {
                self
            }
        }
        impl sealed::Sealed for $tuple {}
        impl PerAxis<Dim<[Ix; $n]>> for $tuple {
            fn per_axis(self, _: usize) -> Dim<[Ix; $n]> {
                self.into_dimension()
            }
        }
        impl PerAxis<IxDyn> for $tuple {
            fn per_axis(self, _: usize) -> IxDyn {
                IxDyn(self.into_dimension().slice())
            }
        }
    )*};
}
per_axis_fixed!(
    2: (Ix, Ix),
    3: (Ix, Ix, Ix),
    4: (Ix, Ix, Ix, Ix),
    5: (Ix, Ix, Ix, Ix, Ix),
    6: (Ix, Ix, Ix, Ix, Ix, Ix)
);

impl sealed::Sealed for () {}
impl PerAxis<Dim<[Ix; 0]>> for () {
    fn per_axis(self, _: usize) -> Dim<[Ix; 0]> {
        Dim([])
    }
}
impl PerAxis<IxDyn> for () {
    fn per_axis(self, _: usize) -> IxDyn {
        IxDyn(&[])
    }
}
impl sealed::Sealed for [Ix; 0] {}
impl PerAxis<Dim<[Ix; 0]>> for [Ix; 0] {
    fn per_axis(self, _: usize) -> Dim<[Ix; 0]> {
        Dim(self)
    }
}
impl sealed::Sealed for [Ix; 1] {}
impl PerAxis<Dim<[Ix; 1]>> for [Ix; 1] {
    fn per_axis(self, _: usize) -> Dim<[Ix; 1]> {
        Dim(self)
    }
}
impl PerAxis<IxDyn> for [Ix; 1] {
    fn per_axis(self, _: usize) -> IxDyn {
        IxDyn(&self)
    }
}
impl sealed::Sealed for Dim<[Ix; 0]> {}
impl PerAxis<Dim<[Ix; 0]>> for Dim<[Ix; 0]> {
    fn per_axis(self, _: usize) -> Dim<[Ix; 0]> {
        self
    }
}
impl sealed::Sealed for Dim<[Ix; 1]> {}
impl PerAxis<Dim<[Ix; 1]>> for Dim<[Ix; 1]> {
    fn per_axis(self, _: usize) -> Dim<[Ix; 1]> {
        self
    }
}
impl sealed::Sealed for IxDyn {}
impl PerAxis<IxDyn> for IxDyn {
    fn per_axis(self, _: usize) -> IxDyn {
        self
    }
}
impl sealed::Sealed for &[Ix] {}
impl PerAxis<IxDyn> for &[Ix] {
    fn per_axis(self, _: usize) -> IxDyn {
        IxDyn(self)
    }
}
impl sealed::Sealed for Vec<Ix> {}
impl PerAxis<IxDyn> for Vec<Ix> {
    fn per_axis(self, _: usize) -> IxDyn {
        IxDyn(&self)
    }
}

/// Which windows exist at the borders of an array; shared by padding
/// ([`PatchExt::padded`](crate::PatchExt::padded)) and reconstruction
/// ([`Fold`](crate::Fold)).
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::{Edge, Pad, Window};
///
/// let img = Array2::<f32>::zeros((10, 12));
/// let w = Window::new((3, 3));
/// assert_eq!(img.padded(&w, Edge::Valid, Pad::Edge).patches().grid(), ndarray::Dim([8, 10]));
/// assert_eq!(img.padded(&w, Edge::Same, Pad::Edge).patches().grid(), ndarray::Dim([10, 12]));
/// let w = Window::new((4, 4)).step(3);
/// assert_eq!(img.padded(&w, Edge::Cover, Pad::Edge).patches().grid(), ndarray::Dim([3, 4]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Edge {
    /// Only windows that lie inside the array (no padding), the default.
    #[default]
    Valid,
    /// One window centred on every element (on every `step`-th element
    /// along each axis): the array is padded by `(e - 1) / 2` before and
    /// `e - 1 - (e - 1) / 2` after, with `e = dilation * (size - 1) + 1`
    /// (torch's `padding="same"` split). The padding does not depend on the
    /// step: with step 1 this is TensorFlow's `"same"`, with a larger step
    /// TensorFlow pads less (only what its last window needs, `n = 10`,
    /// extent 3, step 2: `(0, 1)` where this pads `(1, 1)`), so that here
    /// window `i` is always centred on element `i * step`. For an even size
    /// the element the window is centred on is its element `size / 2 - 1`,
    /// left of the middle (with dilation 1).
    Same,
    /// The grid covers every element: padding after the end only, as little
    /// as lets the last window reach the last element.
    Cover,
    /// The windows reach the last element on every axis without padding
    /// (the tiling of empatches and tiler): the windows of
    /// [`Valid`](Edge::Valid), plus, on every axis the step does not take to
    /// the end, one more window moved back so that it ends on the last
    /// element. Tiles that touch or overlap (step at most the extent, no
    /// dilation) then cover every element. That last window is closer
    /// to the one before it than a step (its origin is `n - extent`), so
    /// these windows have no strided [`view`](crate::Patches::view); every
    /// other way of reading them works. A window larger than the array is
    /// still an error, as for `Valid`.
    ///
    /// ```
    /// use ndarray::{Array1, Dim};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::Edge;
    ///
    /// let a = Array1::from_iter(0..10);
    /// // The step reaches the end (origins 0, 3, 6): nothing to add.
    /// assert_eq!(a.patches(4).step(3).edge(Edge::Shift).grid(), Dim([3]));
    /// // Valid stops at origin 4 and leaves 8, 9 out; Shift adds origin 6.
    /// let p = a.patches(4).step(4).edge(Edge::Shift);
    /// let origins: Vec<usize> = p.positions().map(|q| q.origin[0]).collect();
    /// assert_eq!(origins, vec![0, 4, 6]);
    /// assert_eq!(p.to_matrix().row(2).to_vec(), vec![6, 7, 8, 9]);
    /// ```
    Shift,
}

/// Patch shape, step and dilation: the windows, independent of any array.
/// Checked when the window meets an array.
///
/// # Examples
///
/// ```
/// use ndarray::Dim;
/// use ndarray_patches::Window;
///
/// let w = Window::new((8, 8)).step(4).dilation((1, 2));
/// assert_eq!(w.patch, Dim([8, 8]));
/// assert_eq!(w.step, Dim([4, 4]));
/// assert_eq!(w.dilation, Dim([1, 2]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window<D: Dimension> {
    /// The patch shape.
    pub patch: D,
    /// The distance between neighbouring patch origins, per axis.
    pub step: D,
    /// The distance between neighbouring elements of a patch, per axis.
    pub dilation: D,
}

impl<D: Dimension> Window<D> {
    /// Windows of shape `patch`, step 1, dilation 1.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = ndarray_patches::Window::new((3, 3));
    /// assert_eq!(w.step, ndarray::Dim([1, 1]));
    /// ```
    pub fn new<Sh: IntoDimension<Dim = D>>(patch: Sh) -> Self {
        let patch = patch.into_dimension();
        let ones = ones_like(&patch);
        Window {
            patch,
            step: ones.clone(),
            dilation: ones,
        }
    }

    /// With this step: one number for every axis, or one per axis.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = ndarray_patches::Window::new((4, 4)).step(2);
    /// assert_eq!(w.step, ndarray::Dim([2, 2]));
    /// ```
    #[must_use]
    pub fn step(mut self, step: impl PerAxis<D>) -> Self {
        self.step = step.per_axis(self.patch.ndim());
        self
    }

    /// With this dilation: one number for every axis, or one per axis.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = ndarray_patches::Window::new(3).dilation(2);
    /// assert_eq!(w.dilation, ndarray::Dim(2));
    /// ```
    #[must_use]
    pub fn dilation(mut self, dilation: impl PerAxis<D>) -> Self {
        self.dilation = dilation.per_axis(self.patch.ndim());
        self
    }

    /// The padding `(before, after)` per axis that `edge` adds around an
    /// array of `shape` (what [`padded`](crate::PatchExt::padded) pads,
    /// without padding anything): none for [`Edge::Valid`] and
    /// [`Edge::Shift`], `extent - 1` split around the window for
    /// [`Edge::Same`] (one more after for an even extent), after the end
    /// only for [`Edge::Cover`]. Use it to pad a source the crate does not
    /// hold, such as a chunked array, with the crate's geometry.
    ///
    /// # Errors
    ///
    /// The window's own errors ([`PatchError::Zero`],
    /// [`PatchError::WrongNdim`], ...) and [`PatchError::Overflow`] if an
    /// extent or a padding overflows.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Dim;
    /// use ndarray_patches::{Edge, Window};
    ///
    /// let w = Window::new((3, 4)).step(2);
    /// assert_eq!(w.try_padding(&Dim([10, 10]), Edge::Same)?, (Dim([1, 1]), Dim([1, 2])));
    /// assert_eq!(w.try_padding(&Dim([10, 10]), Edge::Cover)?, (Dim([0, 0]), Dim([1, 0])));
    /// assert_eq!(w.try_padding(&Dim([10, 10]), Edge::Valid)?, (Dim([0, 0]), Dim([0, 0])));
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_padding(&self, shape: &D, edge: Edge) -> Result<(D, D), PatchError> {
        let ndim = shape.ndim();
        check_window(ndim, &self.patch, &self.step, &self.dilation)?;
        let mut before = shape.clone();
        let mut after = shape.clone();
        for k in 0..ndim {
            let (b, a) = edge_padding(
                edge,
                shape[k],
                self.patch[k],
                self.step[k],
                self.dilation[k],
            )
            .ok_or(PatchError::Overflow {
                quantity: "padding",
            })?;
            before[k] = b;
            after[k] = a;
        }
        Ok((before, after))
    }

    /// The padding `edge` needs around a non-empty array of `shape`, and
    /// the validated geometry of this window over the padded array: what
    /// padding and folding share.
    pub(crate) fn padded_geometry(
        &self,
        shape: &D,
        edge: Edge,
    ) -> Result<(D, D, Geometry<D>), PatchError> {
        let (before, after) = self.try_padding(shape, edge)?;
        if let Some(axis) = axes(shape).iter().position(|&n| n == 0) {
            return Err(PatchError::EmptyArray { axis });
        }
        let padded = padded_shape(shape, &before, &after)?;
        let geom = Geometry::build(
            padded,
            self.patch.clone(),
            self.step.clone(),
            self.dilation.clone(),
            edge == Edge::Shift,
        )?;
        Ok((before, after, geom))
    }
}

/// `shape + before + after`, checked: every axis and the number of elements
/// fit in `isize`.
pub(crate) fn padded_shape<D: Dimension>(
    shape: &D,
    before: &D,
    after: &D,
) -> Result<D, PatchError> {
    let overflow = PatchError::Overflow {
        quantity: "padded shape",
    };
    let mut padded = shape.clone();
    for k in 0..shape.ndim() {
        padded[k] = shape[k]
            .checked_add(before[k])
            .and_then(|x| x.checked_add(after[k]))
            .filter(|&x| x <= isize::MAX as usize)
            .ok_or(overflow.clone())?;
    }
    match checked_product(axes(&padded), "padded shape") {
        Ok(n) if n <= isize::MAX as usize => Ok(padded),
        _ => Err(overflow),
    }
}

/// A validated patch geometry over an array of shape `shape`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Geometry<D: Dimension> {
    shape: D,
    patch: D,
    step: D,
    dilation: D,
    grid: D,
    /// `dilation * (patch - 1) + 1` per axis, checked.
    extent: D,
    /// [`Edge::Shift`]: one more window, ending on the last element, on
    /// every axis the step does not take to the end.
    shifted: bool,
    /// How far the last window on each axis sits before where the step
    /// would put it (`0 < back < step` on a shifted axis, else 0): its
    /// origin is `(grid - 1) * step - back = n - extent`.
    back: D,
    len: usize,
    patch_len: usize,
    /// Windows along some axes only ([`PatchesAlong`](crate::PatchesAlong)):
    /// the source axes shown in the grid (batch and windowed axes) and the
    /// number of batch axes, dropped from a shown patch. `None`: every axis.
    along: Option<(Vec<usize>, usize)>,
}

/// Per-axis offsets, in elements, of one step along the grid and one step
/// inside a patch, derived from a source's strides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WindowStrides {
    /// Offset between neighbouring patch origins, per axis.
    pub grid: Vec<isize>,
    /// Offset between neighbouring elements of a patch, per axis.
    pub patch: Vec<isize>,
    /// Offset by which the last grid position sits before where `grid`
    /// would put it, per axis (wrapping; 0 on axes not shifted).
    pub back: Vec<isize>,
}

fn check_ndim<D: Dimension>(argument: Argument, arg: &D, ndim: usize) -> Result<(), PatchError> {
    if arg.ndim() != ndim {
        return Err(PatchError::WrongNdim {
            argument,
            expected: ndim,
            found: arg.ndim(),
        });
    }
    Ok(())
}

/// Checks a window's arguments for an array of `ndim` axes (numbers of
/// axes, zero sizes, overflowing extents) and returns its extent per axis.
pub(crate) fn check_window<D: Dimension>(
    ndim: usize,
    patch: &D,
    step: &D,
    dilation: &D,
) -> Result<Vec<usize>, PatchError> {
    check_ndim(Argument::PatchShape, patch, ndim)?;
    check_ndim(Argument::Step, step, ndim)?;
    check_ndim(Argument::Dilation, dilation, ndim)?;
    (0..ndim)
        .map(|axis| {
            for (argument, value) in [
                (Argument::PatchShape, patch[axis]),
                (Argument::Step, step[axis]),
                (Argument::Dilation, dilation[axis]),
            ] {
                if value == 0 {
                    return Err(PatchError::Zero { argument, axis });
                }
            }
            extent(patch[axis], dilation[axis]).ok_or(PatchError::Overflow {
                quantity: "patch extent",
            })
        })
        .collect()
}

/// The axis lengths of a shape as a slice.
pub(crate) fn axes<D: Dimension>(d: &D) -> &[usize] {
    d.as_array_view()
        .to_slice()
        .expect("a shape's axes are contiguous")
}

/// A shape of `d`'s number of axes with every length 1: the default step
/// and dilation.
pub(crate) fn ones_like<D: Dimension>(d: &D) -> D {
    let mut ones = d.clone();
    ones.as_array_view_mut().fill(1);
    ones
}

/// Extent of a patch of `size` elements spaced `dilation` apart.
pub(crate) fn extent(size: usize, dilation: usize) -> Option<usize> {
    dilation.checked_mul(size.checked_sub(1)?)?.checked_add(1)
}

impl<D: Dimension> Geometry<D> {
    /// Validates a request: `patch`, `step` and `dilation` over an array of
    /// shape `shape` ([`Edge::Valid`]).
    pub(crate) fn new(shape: D, patch: D, step: D, dilation: D) -> Result<Self, PatchError> {
        Self::build(shape, patch, step, dilation, false)
    }

    /// Validates a request; with `shifted`, the grid of [`Edge::Shift`].
    fn build(shape: D, patch: D, step: D, dilation: D, shifted: bool) -> Result<Self, PatchError> {
        let extents = check_window(shape.ndim(), &patch, &step, &dilation)?;
        let mut grid = shape.clone();
        let mut extent = shape.clone();
        let mut back = shape.clone();
        for (axis, &e) in extents.iter().enumerate() {
            let len = shape[axis];
            if e > len {
                return Err(PatchError::PatchTooLarge {
                    axis,
                    extent: e,
                    len,
                });
            }
            let (s, rest) = (step[axis], len - e);
            extent[axis] = e;
            // Valid: origins 0, s, .., (rest / s) * s <= rest.
            grid[axis] = rest / s + 1;
            back[axis] = 0;
            if shifted && rest % s != 0 {
                // One more origin, at rest = n - e instead of the next step
                // (rest / s + 1) * s: back = s - rest % s, in 1..s. The grid
                // is at most rest + 1 <= n, so the increment cannot overflow.
                grid[axis] += 1;
                back[axis] = s - rest % s;
            }
        }
        let len = checked_product(axes(&grid), "number of patches")?;
        let patch_len = checked_product(axes(&patch), "patch length")?;
        Ok(Geometry {
            shape,
            patch,
            step,
            dilation,
            grid,
            extent,
            shifted,
            back,
            len,
            patch_len,
            along: None,
        })
    }

    /// The same windows, shown along some axes only: `grid_axes` are the
    /// source axes of the grid (strictly increasing), the first `batch` of
    /// them batch axes (patch size 1, dropped from a shown patch).
    ///
    /// # Panics
    ///
    /// If `D` has a fixed number of axes other than `grid_axes.len()`.
    pub(crate) fn shown_along(mut self, grid_axes: Vec<usize>, batch: usize) -> Self {
        assert!(
            D::NDIM.is_none(),
            "windows along some axes need a dynamic-dimensional source"
        );
        self.along = Some((grid_axes, batch));
        self
    }

    /// A full grid index as users see it: only the axes shown in the grid
    /// (all of them, unless the windows are along some axes only).
    pub(crate) fn project(&self, full: D) -> D {
        match &self.along {
            None => full,
            Some((shown, _)) => {
                let kept: Vec<usize> = shown.iter().map(|&k| full[k]).collect();
                D::from_dimension(&IxDyn(&kept)).expect("checked by shown_along")
            }
        }
    }

    /// The grid as users see it ([`project`](Self::project) of the grid).
    pub(crate) fn shown_grid(&self) -> D {
        self.project(self.grid.clone())
    }

    /// The patch shape as users see it: without the batch axes (size 1)
    /// of windows along some axes.
    pub(crate) fn shown_patch(&self) -> D {
        match &self.along {
            None => self.patch.clone(),
            Some((_, batch)) => D::from_dimension(&IxDyn(&axes(&self.patch)[*batch..]))
                .expect("checked by shown_along"),
        }
    }

    /// A patch (a view of the source, shaped like `patch`) as users see
    /// it: without the batch axes of windows along some axes.
    pub(crate) fn show_patch<'v, A>(&self, v: ArrayView<'v, A, D>) -> ArrayView<'v, A, D> {
        match &self.along {
            None => v,
            Some((_, batch)) => {
                let mut v = v.into_dyn();
                for k in (0..*batch).rev() {
                    v.index_axis_inplace(ndarray::Axis(k), 0);
                }
                v.into_dimensionality().expect("checked by shown_along")
            }
        }
    }

    /// The view `grid ++ patch` as users see it: for windows along some
    /// axes, without the grid axes of the whole axes and the patch axes of
    /// the batch axes (all of length 1).
    pub(crate) fn show_view<'v, A, E: Dimension>(
        &self,
        v: ArrayView<'v, A, E>,
    ) -> ArrayView<'v, A, E> {
        match &self.along {
            None => v,
            Some((shown, batch)) => {
                let ndim = self.ndim();
                let mut v = v.into_dyn();
                // Remove from the highest index down, so the lower ones keep
                // their place: the batch axes' patch axes, then the whole
                // axes' grid axes.
                for k in (0..*batch).rev() {
                    v.index_axis_inplace(ndarray::Axis(ndim + k), 0);
                }
                for k in (0..ndim).rev() {
                    if !shown.contains(&k) {
                        v.index_axis_inplace(ndarray::Axis(k), 0);
                    }
                }
                v.into_dimensionality().expect("checked by shown_along")
            }
        }
    }

    /// Keeps the projection of `self` on a geometry built from it.
    fn keep_along(mut self, from: &Self) -> Self {
        self.along.clone_from(&from.along);
        self
    }

    /// The same windows under an edge policy that needs no padding:
    /// [`Edge::Valid`] or [`Edge::Shift`]; `None` for the others.
    pub(crate) fn with_edge(&self, edge: Edge) -> Option<Result<Self, PatchError>> {
        let shifted = match edge {
            Edge::Valid => false,
            Edge::Shift => true,
            Edge::Same | Edge::Cover => return None,
        };
        Some(
            Self::build(
                self.shape.clone(),
                self.patch.clone(),
                self.step.clone(),
                self.dilation.clone(),
                shifted,
            )
            .map(|g| g.keep_along(self)),
        )
    }

    /// The same geometry with another step.
    pub(crate) fn with_step(&self, step: D) -> Result<Self, PatchError> {
        Self::build(
            self.shape.clone(),
            self.patch.clone(),
            step,
            self.dilation.clone(),
            self.shifted,
        )
        .map(|g| g.keep_along(self))
    }

    /// The same geometry with another dilation.
    pub(crate) fn with_dilation(&self, dilation: D) -> Result<Self, PatchError> {
        Self::build(
            self.shape.clone(),
            self.patch.clone(),
            self.step.clone(),
            dilation,
            self.shifted,
        )
        .map(|g| g.keep_along(self))
    }

    /// The edge policy of the grid: [`Edge::Shift`] or [`Edge::Valid`]
    /// (padded policies are plain grids over a padded array).
    pub(crate) fn edge(&self) -> Edge {
        if self.shifted {
            Edge::Shift
        } else {
            Edge::Valid
        }
    }

    /// [`PatchError::ShiftedGrid`] for the first axis whose last window is
    /// moved back ([`Edge::Shift`]): its origins are not evenly spaced, so
    /// no strided view holds them.
    pub(crate) fn check_strided(&self) -> Result<(), PatchError> {
        match axes(&self.back).iter().position(|&b| b != 0) {
            Some(axis) => Err(PatchError::ShiftedGrid {
                axis,
                back: self.back[axis],
            }),
            None => Ok(()),
        }
    }

    /// The origin on axis `k` of grid position `i < grid[k]`.
    pub(crate) fn axis_origin(&self, k: usize, i: usize) -> usize {
        debug_assert!(i < self.grid[k]);
        if i + 1 == self.grid[k] && self.back[k] != 0 {
            // The moved-back last window: (grid - 1) * step - back.
            self.shape[k] - self.extent[k]
        } else {
            // Cannot overflow: i * step <= n - extent < n.
            i * self.step[k]
        }
    }

    /// The origin of the last grid position on every axis.
    pub(crate) fn last_origin(&self) -> D {
        let mut o = self.grid.clone();
        for k in 0..self.ndim() {
            o[k] = self.axis_origin(k, self.grid[k] - 1);
        }
        o
    }

    /// The grid positions on axis `k` whose windows reach into elements
    /// `lo..hi` (origin `< hi` and origin + extent `> lo`): a range, because
    /// origins increase along an axis.
    pub(crate) fn axis_windows_reaching(&self, k: usize, lo: usize, hi: usize) -> Range<usize> {
        let (s, e, g) = (self.step[k], self.extent[k], self.grid[k]);
        // Regular positions i * s: i*s + e > lo  <=>  i >= (lo - e) / s + 1.
        let first = if lo >= e { (lo - e) / s + 1 } else { 0 };
        // i*s < hi  <=>  i < ceil(hi / s).
        let end = hi.div_ceil(s).min(g);
        if self.back[k] == 0 {
            return first.min(end)..end;
        }
        // The last position is moved back to n - e: it ends on the last
        // element (so reaches any lo < n) and starts at n - e.
        let last = g - 1;
        let first = first.min(last);
        let end = if self.shape[k] - e < hi {
            g
        } else {
            end.min(last)
        };
        first.min(end)..end
    }

    /// The row of the patch whose origin is `origin`, or `None` where no
    /// patch starts there.
    pub(crate) fn row_of(&self, origin: &D) -> Option<usize> {
        if origin.ndim() != self.ndim() {
            return None;
        }
        let mut row = 0usize;
        for k in 0..self.ndim() {
            let (s, g, o) = (self.step[k], self.grid[k], origin[k]);
            let i = if self.back[k] != 0 && o == self.shape[k] - self.extent[k] {
                g - 1
            } else if o % s == 0 && o / s < g - (self.back[k] != 0) as usize {
                o / s
            } else {
                return None;
            };
            // row < len, which fits in usize: no overflow.
            row = row * g + i;
        }
        Some(row)
    }

    pub(crate) fn ndim(&self) -> usize {
        self.shape.ndim()
    }
    pub(crate) fn shape(&self) -> &D {
        &self.shape
    }
    pub(crate) fn patch(&self) -> &D {
        &self.patch
    }
    pub(crate) fn step(&self) -> &D {
        &self.step
    }
    pub(crate) fn dilation(&self) -> &D {
        &self.dilation
    }
    pub(crate) fn grid(&self) -> &D {
        &self.grid
    }
    /// The extent of a patch on each axis (checked when validated).
    pub(crate) fn extent(&self) -> &D {
        &self.extent
    }
    /// Number of patches.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
    /// Elements per patch.
    pub(crate) fn patch_len(&self) -> usize {
        self.patch_len
    }

    /// Grid index of patch `r` (row-major over the grid). `r < len`.
    pub(crate) fn grid_index(&self, mut r: usize) -> D {
        debug_assert!(r < self.len);
        let mut idx = self.grid.clone();
        for axis in (0..self.ndim()).rev() {
            let g = self.grid[axis];
            idx[axis] = r % g;
            r /= g;
        }
        idx
    }

    /// Source index of the first element of patch `r`. `r < len`.
    pub(crate) fn origin(&self, r: usize) -> D {
        let mut idx = self.grid_index(r);
        for axis in 0..self.ndim() {
            idx[axis] = self.axis_origin(axis, idx[axis]);
        }
        idx
    }

    /// Checks that rows `start..start + rows` exist.
    pub(crate) fn check_rows(&self, start: usize, rows: usize) -> Result<(), PatchError> {
        let end = start.saturating_add(rows);
        self.check_range(start, end)
    }

    /// Checks that rows `start..end` exist (`start <= end <= len`).
    pub(crate) fn check_range(&self, start: usize, end: usize) -> Result<(), PatchError> {
        if start <= end && end <= self.len {
            Ok(())
        } else {
            Err(PatchError::RowsOutOfRange {
                start,
                end,
                len: self.len,
            })
        }
    }

    /// The source elements of patch `r` (`r < len`) as one `Slice` per
    /// axis, for `slice_each_axis`: from its origin, `patch` elements
    /// `dilation` apart.
    pub(crate) fn patch_slices(&self, r: usize) -> impl Fn(AxisDescription) -> Slice + '_ {
        let origin = self.origin(r);
        move |ax| {
            let k = ax.axis.index();
            let (p, d) = (self.patch[k], self.dilation[k]);
            // All fit in isize: origin + extent <= n <= isize::MAX, and a
            // dilation matters (and is <= n) only when the patch size is > 1.
            let start = origin[k] as isize;
            let end = start + self.extent[k] as isize;
            Slice::new(start, Some(end), if p > 1 { d as isize } else { 1 })
        }
    }

    /// The number of rows whose `(rows, patch_len)` block of elements of
    /// `elem_size` bytes takes at most `bytes`: at least 1, at most
    /// `max_rows` (or 1 if that is 0).
    pub(crate) fn rows_for_bytes(&self, bytes: usize, elem_size: usize, max_rows: usize) -> usize {
        let row = self.patch_len.saturating_mul(elem_size).max(1);
        (bytes / row).clamp(1, max_rows.max(1))
    }

    /// Number of elements of a `(rows, patch_len)` block, checked against
    /// `isize::MAX` bytes for elements of `elem_size` bytes.
    pub(crate) fn block_elements(
        &self,
        rows: usize,
        elem_size: usize,
    ) -> Result<usize, PatchError> {
        let n = rows
            .checked_mul(self.patch_len)
            .ok_or(PatchError::Overflow {
                quantity: "number of matrix elements",
            })?;
        match n.checked_mul(elem_size.max(1)) {
            Some(bytes) if bytes <= isize::MAX as usize => Ok(n),
            _ => Err(PatchError::Overflow {
                quantity: "matrix size in bytes",
            }),
        }
    }

    /// Strides of the grid and patch axes for a source with `strides`
    /// (in elements, one per axis, any sign).
    ///
    /// An axis of length 1 (on the grid or in the patch) gets stride 0: its
    /// offset is never used, and a huge step on it must not overflow.
    pub(crate) fn window_strides(&self, strides: &[isize]) -> Result<WindowStrides, PatchError> {
        assert_eq!(strides.len(), self.ndim(), "one stride per axis");
        let overflow = PatchError::Overflow {
            quantity: "window stride",
        };
        let scaled = |n: usize, by: usize, s: isize| -> Result<isize, PatchError> {
            if n <= 1 {
                return Ok(0);
            }
            isize::try_from(by)
                .ok()
                .and_then(|by| by.checked_mul(s))
                .ok_or(overflow.clone())
        };
        let mut grid = Vec::with_capacity(self.ndim());
        let mut patch = Vec::with_capacity(self.ndim());
        let mut back = Vec::with_capacity(self.ndim());
        for (axis, &s) in strides.iter().enumerate() {
            patch.push(scaled(self.patch[axis], self.dilation[axis], s)?);
            let g = self.grid[axis];
            if self.back[axis] == 0 {
                grid.push(scaled(g, self.step[axis], s)?);
                back.push(0);
                continue;
            }
            // A shifted axis: positions 0..g-1 a step apart, then the last
            // at origin n - e, an element of the array (its offset fits).
            // The step is only walked when a regular position other than 0
            // exists (g >= 3), so a huge step with two windows (the first
            // and the moved-back last) is no overflow. `back` is the
            // wrapping distance from where the step would put the last
            // position (the plan's offsets wrap the same way).
            let last = isize::try_from(self.shape[axis] - self.extent[axis])
                .ok()
                .and_then(|o| o.checked_mul(s))
                .ok_or(overflow.clone())?;
            let stride = if g >= 3 {
                scaled(g, self.step[axis], s)?
            } else {
                0
            };
            grid.push(stride);
            back.push(((g - 1) as isize).wrapping_mul(stride).wrapping_sub(last));
        }
        Ok(WindowStrides { grid, patch, back })
    }
}

/// Padding `(before, after)` on one axis of length `n` for an edge policy:
///
/// - `Valid` and `Shift`: none;
/// - `Same`: a patch centred on every element (on every `step`-th element):
///   `before = (e - 1) / 2`, `after = e - 1 - before`, so that the centre of
///   an even-sized patch is its element `(size - 1) / 2` (TensorFlow's and
///   torch's `"same"`);
/// - `Cover`: nothing before, and after as much as makes the grid reach the
///   last element: the padded length `L >= e` with `(L - e) % step == 0`.
///
/// `None` if a size overflows.
fn edge_padding(
    edge: Edge,
    n: usize,
    size: usize,
    step: usize,
    dilation: usize,
) -> Option<(usize, usize)> {
    let e = extent(size, dilation)?;
    Some(match edge {
        Edge::Valid | Edge::Shift => (0, 0),
        Edge::Same => {
            let before = (e - 1) / 2;
            (before, e - 1 - before)
        }
        Edge::Cover => {
            let len = if n <= e {
                e
            } else {
                let over = n - e;
                e.checked_add(over.div_ceil(step).checked_mul(step)?)?
            };
            (0, len - n)
        }
    })
}

fn checked_product(xs: &[usize], quantity: &'static str) -> Result<usize, PatchError> {
    xs.iter()
        .try_fold(1usize, |acc, &x| acc.checked_mul(x))
        .ok_or(PatchError::Overflow { quantity })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Dim, Ix1, Ix2, IxDyn};

    fn g1(n: usize, p: usize, s: usize, d: usize) -> Result<Geometry<Ix1>, PatchError> {
        Geometry::new(Dim(n), Dim(p), Dim(s), Dim(d))
    }

    /// Exhaustive over small 1-D cases: the grid equals the number of origins
    /// `o` with `o % s == 0` whose last element `o + d*(p-1)` is inside.
    #[test]
    fn grid_matches_enumeration() {
        for n in 0..24 {
            for p in 1..8 {
                for s in 1..7 {
                    for d in 1..5 {
                        let count = (0..n).step_by(s).filter(|o| o + d * (p - 1) < n).count();
                        match g1(n, p, s, d) {
                            Ok(g) => {
                                assert_eq!(g.len(), count, "n={n} p={p} s={s} d={d}");
                                assert!(count > 0);
                                assert_eq!(g.patch_len(), p);
                            }
                            Err(PatchError::PatchTooLarge {
                                axis: 0,
                                extent,
                                len,
                            }) => {
                                assert_eq!(count, 0, "n={n} p={p} s={s} d={d}");
                                assert_eq!(extent, d * (p - 1) + 1);
                                assert_eq!(len, n);
                            }
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn zero_arguments_are_reported_with_their_axis() {
        let z = |p, s, d| Geometry::new(Dim([5, 5]), Dim(p), Dim(s), Dim(d)).unwrap_err();
        assert_eq!(
            z([1, 0], [1, 1], [1, 1]),
            PatchError::Zero {
                argument: Argument::PatchShape,
                axis: 1
            }
        );
        assert_eq!(
            z([1, 1], [0, 1], [1, 1]),
            PatchError::Zero {
                argument: Argument::Step,
                axis: 0
            }
        );
        assert_eq!(
            z([1, 1], [1, 1], [1, 0]),
            PatchError::Zero {
                argument: Argument::Dilation,
                axis: 1
            }
        );
    }

    #[test]
    fn wrong_ndim() {
        let e =
            Geometry::new(IxDyn(&[4, 4]), IxDyn(&[2]), IxDyn(&[1, 1]), IxDyn(&[1, 1])).unwrap_err();
        assert_eq!(
            e,
            PatchError::WrongNdim {
                argument: Argument::PatchShape,
                expected: 2,
                found: 1
            }
        );
        let e = Geometry::new(
            IxDyn(&[4, 4]),
            IxDyn(&[2, 2]),
            IxDyn(&[1, 1]),
            IxDyn(&[1, 1, 1]),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            PatchError::WrongNdim {
                argument: Argument::Dilation,
                ..
            }
        ));
    }

    #[test]
    fn overflowing_extent_is_an_error() {
        assert_eq!(
            g1(10, usize::MAX, 1, 2).unwrap_err(),
            PatchError::Overflow {
                quantity: "patch extent"
            }
        );
        assert_eq!(
            g1(10, 2, 1, usize::MAX).unwrap_err(),
            PatchError::Overflow {
                quantity: "patch extent"
            }
        );
    }

    #[test]
    fn huge_step_gives_one_position_and_no_overflow() {
        let g = g1(10, 3, usize::MAX, 1).unwrap();
        assert_eq!(g.len(), 1);
        let ws = g.window_strides(&[isize::MAX]).unwrap();
        assert_eq!(ws.grid, vec![0]);
        assert_eq!(ws.patch, vec![isize::MAX]);
    }

    #[test]
    fn window_stride_overflow_is_an_error() {
        let g = g1(10, 2, 1, 3).unwrap();
        assert!(matches!(
            g.window_strides(&[isize::MAX / 2]),
            Err(PatchError::Overflow { .. })
        ));
        assert_eq!(g.window_strides(&[-2]).unwrap().patch, vec![-6]);
    }

    #[test]
    fn block_elements_checks_bytes() {
        let g: Geometry<Ix2> =
            Geometry::new(Dim([4, 4]), Dim([2, 2]), Dim([1, 1]), Dim([1, 1])).unwrap();
        assert_eq!(g.block_elements(9, 4), Ok(36));
        assert!(g.block_elements(usize::MAX / 2, 1).is_err());
        assert!(g.block_elements(isize::MAX as usize / 4, 8).is_err());
    }

    #[test]
    fn grid_index_and_origin_are_row_major() {
        let g: Geometry<Ix2> =
            Geometry::new(Dim([7, 9]), Dim([3, 2]), Dim([2, 3]), Dim([1, 2])).unwrap();
        // extent (3, 3); grid ((7-3)/2+1, (9-3)/3+1) = (3, 3)
        assert_eq!(g.grid(), &Dim([3, 3]));
        let mut r = 0;
        for i in 0..3 {
            for j in 0..3 {
                assert_eq!(g.grid_index(r), Dim([i, j]));
                assert_eq!(g.origin(r), Dim([2 * i, 3 * j]));
                r += 1;
            }
        }
        assert_eq!(g.check_rows(9, 0), Ok(()));
        assert!(g.check_rows(8, 2).is_err());
        assert!(g.check_rows(usize::MAX, 2).is_err());
    }

    #[test]
    fn edge_padding_amounts() {
        // Same: one patch per element, centred; even sizes lean left.
        assert_eq!(edge_padding(Edge::Same, 10, 3, 1, 1), Some((1, 1)));
        assert_eq!(edge_padding(Edge::Same, 10, 4, 1, 1), Some((1, 2)));
        assert_eq!(edge_padding(Edge::Same, 10, 3, 1, 2), Some((2, 2)));
        // Cover: the grid reaches the last element.
        assert_eq!(edge_padding(Edge::Cover, 10, 4, 3, 1), Some((0, 0))); // 0,3,6
        assert_eq!(edge_padding(Edge::Cover, 11, 4, 3, 1), Some((0, 2))); // 0,3,6,9
        assert_eq!(edge_padding(Edge::Cover, 2, 4, 3, 1), Some((0, 2)));
        assert_eq!(edge_padding(Edge::Valid, 2, 4, 3, 1), Some((0, 0)));
        // Exhaustive: Same gives ceil(n / step) positions; Cover covers n.
        for n in 1..20 {
            for p in 1..6 {
                for st in 1..5 {
                    for d in 1..3 {
                        let e = d * (p - 1) + 1;
                        let (b, a) = edge_padding(Edge::Same, n, p, st, d).unwrap();
                        assert_eq!((n + b + a - e) / st + 1, n.div_ceil(st));
                        // torch's split of the total padding e - 1; for odd
                        // sizes the middle element sits on the target element.
                        assert_eq!(b, (e - 1) / 2);
                        if p % 2 == 1 {
                            assert_eq!(b, d * (p - 1) / 2);
                        }
                        let (b, a) = edge_padding(Edge::Cover, n, p, st, d).unwrap();
                        let len = n + a;
                        assert_eq!(b, 0);
                        assert!(len >= e && (len - e) % st == 0);
                        assert!((len - e) / st * st + e >= n, "last window reaches n-1");
                        assert!(a < st.max(e), "no more padding than needed");
                    }
                }
            }
        }
    }

    #[test]
    fn zero_dimensional() {
        let g = Geometry::new(
            ndarray::Ix0(),
            ndarray::Ix0(),
            ndarray::Ix0(),
            ndarray::Ix0(),
        )
        .unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g.patch_len(), 1);
    }
}

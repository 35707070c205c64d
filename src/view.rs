//! The one place that builds views with `from_shape_ptr`.
//!
//! The window view of a source of shape `n` has shape `grid ++ patch`:
//!
//! ```text
//!   source axis k, stride s_k (elements)
//!
//!   view axis k          (grid position i_k):   stride s_k * step_k
//!   view axis ndim + k   (patch element j_k):   stride s_k * dilation_k
//!
//!   view[i_0.., j_0..] = source[i_0*step_0 + j_0*dil_0, ...]
//!
//!   e.g. 1-D, n = 7, patch 3, step 2, dilation 1:
//!
//!   source   a0 a1 a2 a3 a4 a5 a6
//!   i = 0    a0 a1 a2                 view[0, ..] = [a0 a1 a2]
//!   i = 1          a2 a3 a4           view[1, ..] = [a2 a3 a4]
//!   i = 2                a4 a5 a6     view[2, ..] = [a4 a5 a6]
//! ```
//!
//! Windows overlap, so the view is read-only: no `&mut` to these elements is
//! ever handed out.

// One of the two modules allowed unsafe code (see src/lib.rs); every
// unsafe block carries a `// SAFETY:` argument.
#![allow(unsafe_code)]

use ndarray::{ArrayView, Axis, Dimension, Ix0, Ix1, Ix2, Ix3, Ix4, Ix5, Ix6, IxDyn, ShapeBuilder};

use crate::error::PatchError;
use crate::geometry::{axes, Geometry};

mod sealed {
    pub trait Sealed {}
}

/// Maps the dimension of a source array to the dimension of its window view
/// (`grid ++ patch`): `Ix1 -> Ix2`, `Ix2 -> Ix4`, `Ix3 -> Ix6`, and
/// `IxDyn` for everything else (`Ix0 -> Ix0`).
///
/// Implemented for every ndarray dimension type; sealed.
///
/// # Examples
///
/// ```
/// use ndarray::{Array2, ArrayView4};
/// use ndarray_patches::prelude::*;
///
/// let img = Array2::<u8>::zeros((5, 6));
/// let v: ArrayView4<u8> = img.patches((2, 3)).view();
/// assert_eq!(v.shape(), &[4, 4, 2, 3]);
/// ```
pub trait PatchDim: Dimension + sealed::Sealed {
    /// The dimension of the window view: twice as many axes.
    type View: Dimension;
}

macro_rules! patch_dim {
    ($($d:ty => $v:ty),*) => {$(
        impl sealed::Sealed for $d {}
        impl PatchDim for $d {
            type View = $v;
        }
    )*};
}
patch_dim!(Ix0 => Ix0, Ix1 => Ix2, Ix2 => Ix4, Ix3 => Ix6, Ix4 => IxDyn, Ix5 => IxDyn, Ix6 => IxDyn, IxDyn => IxDyn);

/// Builds the zero-copy window view of `source` for `geom`.
///
/// `geom` must have been validated for `source.raw_dim()` (it is: a
/// `Patches` only ever holds a geometry built from its own source's shape).
pub(crate) fn window_view<'a, A, D: PatchDim>(
    source: &ArrayView<'a, A, D>,
    geom: &Geometry<D>,
) -> Result<ArrayView<'a, A, D::View>, PatchError> {
    let ndim = geom.ndim();
    debug_assert_eq!(source.shape(), axes(geom.shape()));
    // Evenly spaced origins on every axis: grid index i is origin i * step.
    geom.check_strided()?;
    let ws = geom.window_strides(source.strides())?;

    let mut shape = D::View::zeros(2 * ndim);
    let mut strides = D::View::zeros(2 * ndim);
    // Offset (in elements, <= 0) from source element 0 to the lowest element
    // any window touches, and the axes that must be flipped back afterwards.
    let mut base = 0isize;
    let mut flip = Vec::new();
    for k in 0..ndim {
        let (g, p) = (geom.grid()[k], geom.patch()[k]);
        shape[k] = g;
        shape[ndim + k] = p;
        let (gs, ps) = (ws.grid[k], ws.patch[k]);
        strides[k] = gs.unsigned_abs();
        strides[ndim + k] = ps.unsigned_abs();
        if gs < 0 || ps < 0 {
            flip.push(k);
            // The last element the windows reach on this axis is
            // (g-1)*step + (p-1)*dilation < n: fits, as the source's own
            // offsets do. Both terms are <= 0.
            base += (g as isize - 1) * gs + (p as isize - 1) * ps;
        }
    }
    // from_shape_ptr requires the element count to fit in isize.
    let count = axes(&shape)
        .iter()
        .try_fold(1usize, |acc, &x| acc.checked_mul(x))
        .filter(|&c| c <= isize::MAX as usize);
    if count.is_none() {
        return Err(PatchError::Overflow {
            quantity: "number of elements of the window view",
        });
    }

    // On every flipped axis k, `base` moves to index (g-1)*step +
    // (p-1)*dilation, which is < n_k because the geometry validated
    // extent <= n_k (Geometry::new); on the other axes it stays at index 0.
    // SAFETY: so `base` is the offset of a source element, in its allocation.
    let low = unsafe { source.as_ptr().offset(base) };
    // from_shape_ptr's contract:
    // - every element the new view reaches is an element of `source`: on axis
    //   k, grid index i and patch index j address source index i*step + j*dil
    //   (measured from `low`'s end of the axis on flipped axes), which is
    //   <= (g-1)*step + (p-1)*dil < n_k by the validated geometry. The elements
    //   live for 'a and are not mutably aliased for 'a, because `source` is an
    //   `ArrayView<'a>` (a shared borrow) of them.
    // - `low` is non-null and aligned: it points at an element of `source`.
    // - strides are non-negative (absolute values above), and the offsets
    //   between the lowest and highest reachable addresses are those of
    //   `source`'s own elements, which ndarray guarantees fit in isize bytes.
    // - the element count fits in isize (checked just above).
    // SAFETY: all four points of the contract hold, as listed.
    let mut view = unsafe { ArrayView::from_shape_ptr(shape.strides(strides), low) };
    // Flip grid and patch axis k together: window i, element j then reads
    // source index i*step + j*dil counted from element 0 again.
    for k in flip {
        view.invert_axis(Axis(k));
        view.invert_axis(Axis(ndim + k));
    }
    Ok(view)
}

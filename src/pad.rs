//! Padding: [`Pad`] (numpy.pad's modes), [`pad`], and [`Padded`] (an
//! array with the borders an [`Edge`] policy needs for a [`Window`], whose
//! patches follow the policy).
//!
//! Padding copies the array once into a larger one (`O(array)` memory, the
//! borders computed plane by plane as numpy does), after which every patch,
//! interior or border, goes through the same fast flattener.

use ndarray::{Array, ArrayRef, Axis, Dimension, Slice};

use crate::error::{Argument, PatchError};
use crate::flatten::try_filled;
use crate::geometry::{padded_shape, Edge, Geometry, PerAxis, Window};
use crate::patches::Patches;

/// How padded elements are filled, with numpy.pad's names and meanings
/// (for `[a b c d]` padded by 2 on both sides).
///
/// # Examples
///
/// ```
/// use ndarray::{array, Array1};
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::{Edge, Pad, Window};
///
/// let a = array![1, 2, 3, 4];
/// let w = Window::new(5);                       // Same pads 2 and 2
/// let pad = |mode| a.padded(&w, Edge::Same, mode).array().to_vec();
/// assert_eq!(pad(Pad::Constant(0)), vec![0, 0, 1, 2, 3, 4, 0, 0]);
/// assert_eq!(pad(Pad::Edge),        vec![1, 1, 1, 2, 3, 4, 4, 4]);
/// assert_eq!(pad(Pad::Reflect),     vec![3, 2, 1, 2, 3, 4, 3, 2]);
/// assert_eq!(pad(Pad::Symmetric),   vec![2, 1, 1, 2, 3, 4, 4, 3]);
/// assert_eq!(pad(Pad::Wrap),        vec![3, 4, 1, 2, 3, 4, 1, 2]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pad<A> {
    /// `constant`: a value (`c c | a b c d | c c`).
    Constant(A),
    /// `edge`: the edge element repeated (`a a | a b c d | d d`).
    Edge,
    /// `reflect`: mirrored about the edge element (`c b | a b c d | c b`).
    Reflect,
    /// `symmetric`: mirrored including the edge element (`b a | a b c d | d c`).
    Symmetric,
    /// `wrap`: periodic (`c d | a b c d | a b`).
    Wrap,
}

/// Where padded index `i` (`i - before` may be negative or past the end)
/// reads from in an axis of length `n > 0`, or `None` for a constant.
fn source_index<A>(mode: &Pad<A>, x: isize, n: usize) -> Option<usize> {
    let n = n as isize;
    Some(match mode {
        Pad::Constant(_) => return None,
        Pad::Edge => x.clamp(0, n - 1),
        Pad::Wrap => x.rem_euclid(n),
        Pad::Reflect if n == 1 => 0,
        Pad::Reflect => {
            let r = x.rem_euclid(2 * (n - 1));
            if r < n {
                r
            } else {
                2 * (n - 1) - r
            }
        }
        Pad::Symmetric => {
            let r = x.rem_euclid(2 * n);
            if r < n {
                r
            } else {
                2 * n - 1 - r
            }
        }
    } as usize)
}

/// An array with the borders an [`Edge`] policy needs, filled as a [`Pad`]
/// mode says, and the window it was padded for. Made by
/// [`PatchExt::padded`](crate::PatchExt::padded).
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::{Edge, Pad, Window};
///
/// let img = Array2::from_shape_fn((5, 5), |(i, j)| (5 * i + j) as f32);
/// let padded = img.padded(&Window::new((3, 3)), Edge::Same, Pad::Reflect);
/// let p = padded.patches();
/// assert_eq!(p.len(), 25);                      // one patch per pixel
/// assert_eq!(p.get(6).unwrap()[[1, 1]], img[[1, 1]]); // centred on it
/// ```
#[derive(Clone, Debug)]
pub struct Padded<A, D: Dimension> {
    array: Array<A, D>,
    before: D,
    /// The window's geometry over `array`, validated when it was padded.
    geom: Geometry<D>,
}

impl<A, D: Dimension> Padded<A, D> {
    /// The padded array.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Pad, Window};
    ///
    /// let a = Array1::from_iter(0..4);
    /// let p = a.padded(&Window::new(3), Edge::Same, Pad::Constant(-1));
    /// assert_eq!(p.array().to_vec(), vec![-1, 0, 1, 2, 3, -1]);
    /// ```
    pub fn array(&self) -> &Array<A, D> {
        &self.array
    }

    /// The padded array, taken out (no copy; the window geometry is
    /// dropped: `array.patches(..)` validates it again).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Pad, Window};
    ///
    /// let a = Array1::from_iter(0..4);
    /// let p = a.padded(&Window::new(3), Edge::Same, Pad::Edge);
    /// assert_eq!(p.into_array().to_vec(), vec![0, 0, 1, 2, 3, 3]);
    /// ```
    pub fn into_array(self) -> Array<A, D> {
        self.array
    }

    /// Padding before the source on each axis: source index `i` is padded
    /// index `i + before`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Pad, Window};
    ///
    /// let a = Array2::<u8>::zeros((4, 4));
    /// assert_eq!(a.padded(&Window::new((5, 2)), Edge::Same, Pad::Edge).before(), &ndarray::Dim([2, 0]));
    /// ```
    pub fn before(&self) -> &D {
        &self.before
    }

    /// The patches of the padded array, with the window's step and dilation:
    /// exactly the windows the edge policy asks for.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Pad, Window};
    ///
    /// let img = Array2::<f32>::ones((9, 9));
    /// let padded = img.padded(&Window::new((4, 4)).step(4), Edge::Cover, Pad::Constant(0.0));
    /// assert_eq!(padded.patches().len(), 9);          // 3 x 3 blocks cover 9 x 9
    /// ```
    pub fn patches(&self) -> Patches<'_, A, D> {
        Patches::from_parts(self.array.view(), self.geom.clone())
    }
}

/// numpy's `np.pad(a, list(zip(before, after)), mode)`: a copy of `a` with
/// `before[k]` and `after[k]` elements added on axis `k`.
///
/// # Panics
///
/// See [`try_pad`].
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use ndarray_patches::{pad, Pad};
///
/// let a = array![[1, 2], [3, 4]];
/// assert_eq!(pad(&a, (1, 0), (0, 2), Pad::Wrap), array![[3, 4, 3, 4], [1, 2, 1, 2], [3, 4, 3, 4]]);
/// ```
#[track_caller]
pub fn pad<A: Clone, D: Dimension>(
    a: &ArrayRef<A, D>,
    before: impl PerAxis<D>,
    after: impl PerAxis<D>,
    mode: Pad<A>,
) -> Array<A, D> {
    crate::error::unwrap_or_panic(try_pad(a, before, after, mode))
}

/// Like [`pad`], returning an error instead of panicking.
///
/// # Errors
///
/// [`PatchError::WrongNdim`] if `before` or `after` has the wrong number of
/// axes, [`PatchError::Overflow`] if the padded shape overflows, and
/// [`PatchError::EmptyArray`] for an empty array padded with a mode that
/// reads from it (anything but [`Pad::Constant`]).
///
/// # Examples
///
/// ```
/// use ndarray::{Array1, Array2};
/// use ndarray_patches::{try_pad, Pad};
///
/// let empty = Array2::<f32>::zeros((0, 3));
/// assert!(try_pad(&empty, (1, 1), (1, 1), Pad::Reflect).is_err());
/// assert_eq!(try_pad(&empty, (1, 1), (1, 1), Pad::Constant(0.0))?.dim(), (2, 5));
/// # Ok::<(), ndarray_patches::PatchError>(())
/// ```
pub fn try_pad<A: Clone, D: Dimension>(
    a: &ArrayRef<A, D>,
    before: impl PerAxis<D>,
    after: impl PerAxis<D>,
    mode: Pad<A>,
) -> Result<Array<A, D>, PatchError> {
    let (before, after) = (before.per_axis(a.ndim()), after.per_axis(a.ndim()));
    for (argument, d) in [(Argument::PadBefore, &before), (Argument::PadAfter, &after)] {
        if d.ndim() != a.ndim() {
            return Err(PatchError::WrongNdim {
                argument,
                expected: a.ndim(),
                found: d.ndim(),
            });
        }
    }
    let shape = padded_shape(&a.raw_dim(), &before, &after)?;
    if a.is_empty() {
        if let Pad::Constant(c) = mode {
            return try_filled(shape, c, "the padded array");
        }
        return Err(PatchError::EmptyArray {
            axis: a.shape().iter().position(|&n| n == 0).unwrap_or(0),
        });
    }
    pad_nonempty(a, &before, &after, &mode)
}

/// Pads `a` by `before`/`after` per axis, numpy.pad's algorithm: the
/// interior is copied once, then each axis in turn fills its border planes
/// (over the full extent of the axes already padded) from the planes they
/// map to.
///
/// `a` must not be empty.
fn pad_nonempty<A: Clone, D: Dimension>(
    a: &ArrayRef<A, D>,
    before: &D,
    after: &D,
    mode: &Pad<A>,
) -> Result<Array<A, D>, PatchError> {
    let ndim = a.ndim();
    let mut shape = a.raw_dim();
    for k in 0..ndim {
        shape[k] += before[k] + after[k];
    }
    let fill = match mode {
        Pad::Constant(c) => c.clone(),
        // Any element; every padded element is overwritten below.
        _ => a.first().expect("padded arrays are not empty").clone(),
    };
    let mut out = try_filled(shape.clone(), fill, "the padded array")?;
    out.slice_each_axis_mut(|ax| {
        let k = ax.axis.index();
        Slice::from(before[k]..before[k] + a.shape()[k])
    })
    .assign(a);
    if matches!(mode, Pad::Constant(_)) {
        return Ok(out);
    }
    for k in 0..ndim {
        let n = a.shape()[k];
        // Axes < k: full padded extent; axes > k: the interior only.
        let mut region = out.slice_each_axis_mut(|ax| {
            let j = ax.axis.index();
            if j <= k {
                Slice::from(..)
            } else {
                Slice::from(before[j]..before[j] + a.shape()[j])
            }
        });
        for i in (0..before[k]).chain(before[k] + n..shape[k]) {
            let src = source_index(mode, i as isize - before[k] as isize, n).expect("not constant");
            let src = src + before[k];
            let plane = region
                .slice_axis(Axis(k), Slice::from(src..src + 1))
                .to_owned();
            region
                .slice_axis_mut(Axis(k), Slice::from(i..i + 1))
                .assign(&plane);
        }
    }
    Ok(out)
}

pub(crate) fn padded_impl<A: Clone, D: Dimension>(
    a: &ArrayRef<A, D>,
    window: &Window<D>,
    edge: Edge,
    mode: Pad<A>,
) -> Result<Padded<A, D>, PatchError> {
    let (before, after, geom) = window.padded_geometry(&a.raw_dim(), edge)?;
    Ok(Padded {
        array: pad_nonempty(a, &before, &after, &mode)?,
        before,
        geom,
    })
}

//! [`PatchError`]: everything that can be wrong with a patch request.

use std::fmt;

/// Which argument of a patch request a [`PatchError`] is about.
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::{Argument, PatchError};
///
/// let img = Array2::<f32>::zeros((4, 4));
/// let err = img.patches((2, 2)).try_step((0, 1)).unwrap_err();
/// assert_eq!(err, PatchError::Zero { argument: Argument::Step, axis: 0 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Argument {
    /// The patch shape given to `patches`.
    PatchShape,
    /// The step between neighbouring patch origins.
    Step,
    /// The dilation between neighbouring elements inside a patch.
    Dilation,
    /// The padding before the array on each axis ([`pad`](crate::pad)).
    PadBefore,
    /// The padding after the array on each axis ([`pad`](crate::pad)).
    PadAfter,
}

impl fmt::Display for Argument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Argument::PatchShape => "patch shape",
            Argument::Step => "step",
            Argument::Dilation => "dilation",
            Argument::PadBefore => "padding before",
            Argument::PadAfter => "padding after",
        })
    }
}

/// The error type of every fallible (`try_`) method of this crate.
///
/// Each variant means one thing and carries the numbers that made the
/// request invalid; the [`Display`](fmt::Display) text names them, so the
/// panic message of a method's panicking twin tells the user what to fix.
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::PatchError;
///
/// let img = Array2::<u8>::zeros((10, 20));
/// let err = img.try_patches((11, 3)).unwrap_err();
/// assert_eq!(err, PatchError::PatchTooLarge { axis: 0, extent: 11, len: 10 });
/// assert_eq!(
///     err.to_string(),
///     "patch extent 11 on axis 0 is larger than the array's length 10 on that axis"
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PatchError {
    /// A patch size, step or dilation of zero on some axis.
    Zero {
        /// Which argument was zero.
        argument: Argument,
        /// The axis on which it was zero.
        axis: usize,
    },
    /// The extent of a patch, `dilation * (size - 1) + 1`, is larger than the
    /// array on some axis, so no patch fits.
    PatchTooLarge {
        /// The axis on which the patch does not fit.
        axis: usize,
        /// The patch's extent on that axis.
        extent: usize,
        /// The array's length on that axis.
        len: usize,
    },
    /// The array has no elements, and the operation (padding that reads the
    /// array, folding) needs at least one on every axis.
    EmptyArray {
        /// The first axis of length 0.
        axis: usize,
    },
    /// An argument has a different number of axes than the array (only
    /// possible with dynamic-dimensional arrays and arguments).
    WrongNdim {
        /// Which argument had the wrong number of axes.
        argument: Argument,
        /// The array's number of axes.
        expected: usize,
        /// The argument's number of axes.
        found: usize,
    },
    /// A size, element count or offset does not fit in `usize`/`isize`.
    Overflow {
        /// What overflowed.
        quantity: &'static str,
    },
    /// The memory for a result could not be allocated.
    OutOfMemory {
        /// The bytes asked for.
        bytes: usize,
        /// What they were for.
        what: &'static str,
    },
    /// Rows `start..end` are not rows of the patch matrix (`end` past the
    /// last patch, or `start > end`).
    RowsOutOfRange {
        /// First row asked for.
        start: usize,
        /// One past the last row asked for.
        end: usize,
        /// Number of patches (rows of the matrix).
        len: usize,
    },
    /// An output buffer whose row length is not the patch length.
    RowWidth {
        /// The patch length.
        expected: usize,
        /// The number of columns of the buffer.
        found: usize,
    },
    /// An operand of a product with the patch matrix has the wrong length
    /// along the axis that meets the matrix, or an array given alongside
    /// the patches (sampling weights, values per window) does not have one
    /// entry per patch.
    ShapeMismatch {
        /// Which operand, and which of its axes.
        operand: &'static str,
        /// The length the patches need there.
        expected: usize,
        /// The operand's length.
        found: usize,
    },
    /// Window weights whose shape is not the patch shape.
    WeightsShape {
        /// The patch shape.
        expected: Vec<usize>,
        /// The weights' shape.
        found: Vec<usize>,
    },
    /// A sampling weight is negative, infinite or NaN.
    InvalidSamplingWeight {
        /// The patch (row) whose weight it is.
        row: usize,
    },
    /// A window weight is negative, infinite or NaN.
    InvalidWindowWeight {
        /// The element of the window (row-major) whose weight it is.
        element: usize,
    },
    /// Window weights that are all zero (for example a Gaussian whose sigma
    /// is so small that every weight underflows), which would fold to an
    /// all-zero image.
    ZeroWindowWeights,
    /// A Gaussian window's sigma is not finite and positive.
    InvalidSigma {
        /// The sigma given.
        sigma: f64,
    },
    /// The windowed axes given to
    /// [`patches_along`](crate::PatchExt::patches_along) are not a strictly
    /// increasing, non-empty list of the array's axes: empty, an axis out of
    /// range, an axis given twice, or out of order. The message says which.
    InvalidAxes {
        /// The windowed axes given.
        axes: Vec<usize>,
        /// The array's number of axes.
        ndim: usize,
    },
    /// Window weights on a [`Fold`](crate::Fold) that reduces by `Max`,
    /// `Min` or `Last`: weights blend contributions, so only `Sum` and
    /// `Mean` take them.
    WeightedReduction {
        /// The fold's reduction.
        reduction: &'static str,
    },
    /// Patches handed to a [`Fold`](crate::Fold) whose geometry is not the
    /// fold's (another window, step, dilation or padded shape).
    GeometryMismatch {
        /// Which part of the geometry differs.
        what: &'static str,
        /// The fold's.
        expected: Vec<usize>,
        /// The patches'.
        found: Vec<usize>,
    },
    /// A strided [`view`](crate::Patches::view) of [`Edge::Shift`](crate::Edge::Shift)
    /// windows: the last window on `axis` is moved back, `back` elements
    /// closer to the one before it than a step, so no strides describe the
    /// grid.
    ShiftedGrid {
        /// The first axis whose last window is moved back.
        axis: usize,
        /// How far it is moved back from where the step would put it.
        back: usize,
    },
    /// A row number that is not in the row set it was asked of (a
    /// selection from a range of rows).
    RowNotInSet {
        /// The row asked for.
        row: usize,
        /// The first row of the set.
        start: usize,
        /// One past its last row.
        end: usize,
    },
    /// A statistic or a sample needs more patches than there are (or than
    /// have a positive weight).
    NotEnoughPatches {
        /// How many it needs.
        needed: usize,
        /// How many there are.
        found: usize,
    },
    /// A linear-algebra [`Method`](crate::Method) forced on a product it
    /// cannot compute: displacement sums compute `gram`, `mean` and
    /// `covariance` of all the windows only (not of a range of rows or an
    /// index set, and not `dot` or `t_dot`); the FFT computes `dot` and
    /// `t_dot` of all the windows only.
    MethodUnavailable {
        /// The method forced (`"Method::Displacement"`, `"Method::Fft"`).
        method: &'static str,
        /// What it would need.
        needs: &'static str,
    },
    /// The call was stopped by a [`StopToken`](crate::StopToken) it was
    /// watching (Ctrl-C in the Python package).
    Interrupted,
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchError::Zero { argument, axis } => {
                write!(f, "{argument} is zero on axis {axis}; it must be at least 1")
            }
            PatchError::PatchTooLarge { axis, extent, len } => write!(
                f,
                "patch extent {extent} on axis {axis} is larger than the array's length {len} on that axis"
            ),
            PatchError::EmptyArray { axis } => {
                write!(f, "the array is empty (axis {axis} has length 0)")
            }
            PatchError::WrongNdim {
                argument,
                expected,
                found,
            } => {
                let axes = |n: &usize| if *n == 1 { "axis" } else { "axes" };
                write!(
                    f,
                    "{argument} has {found} {} but the array has {expected} {}",
                    axes(found),
                    axes(expected)
                )
            }
            PatchError::Overflow { quantity } => {
                write!(f, "{quantity} overflows the machine's address range")
            }
            PatchError::OutOfMemory { bytes, what } => write!(
                f,
                "could not allocate {bytes} bytes ({:.1} GiB) for {what}; stream the rows \
                 instead (for_each_chunk, par_for_each_chunk, par_map_chunks, write_rows)",
                *bytes as f64 / (1u64 << 30) as f64
            ),
            PatchError::RowsOutOfRange { start, end, .. } if start > end => write!(
                f,
                "row range {start}..{end} is decreasing"
            ),
            PatchError::RowsOutOfRange { start, end, len } if end - start == 1 => write!(
                f,
                "row {start} is out of range for {len} patches"
            ),
            PatchError::RowsOutOfRange { start, end, len } => write!(
                f,
                "rows {start}..{end} are out of range for {len} patches"
            ),
            PatchError::RowWidth { expected, found } => write!(
                f,
                "output rows have {found} columns but a patch has {expected} elements"
            ),
            PatchError::ShapeMismatch {
                operand,
                expected,
                found,
            } => write!(f, "{operand} has length {found}, but {expected} is needed"),
            PatchError::WeightsShape { expected, found } => write!(
                f,
                "window weights have shape {found:?}, but the patch shape is {expected:?}"
            ),
            PatchError::InvalidSamplingWeight { row } => write!(
                f,
                "the sampling weight of patch {row} is negative, infinite or NaN"
            ),
            PatchError::InvalidWindowWeight { element } => write!(
                f,
                "window weight {element} (row-major) is negative, infinite or NaN"
            ),
            PatchError::ZeroWindowWeights => f.write_str(
                "every window weight is 0 (a Gaussian's sigma too small for its window?); \
                 nothing would be folded",
            ),
            PatchError::InvalidSigma { sigma } => write!(
                f,
                "the Gaussian window's sigma is {sigma}; it must be finite and positive"
            ),
            PatchError::InvalidAxes { axes, ndim } => invalid_axes(f, axes, *ndim),
            PatchError::WeightedReduction { reduction } => write!(
                f,
                "window weights blend contributions (Sum, Mean); a fold reducing by \
                 {reduction} takes none"
            ),
            PatchError::GeometryMismatch {
                what,
                expected,
                found,
            } => write!(
                f,
                "the patches' {what} is {found:?}, but the fold's is {expected:?}"
            ),
            PatchError::ShiftedGrid { axis, back } => write!(
                f,
                "no strided view holds Edge::Shift windows: the last window on axis {axis} \
                 is moved back by {back} from the step; read them with get, iter or the \
                 flatteners"
            ),
            PatchError::RowNotInSet { row, start, end } => write!(
                f,
                "row {row} is not in the rows {start}..{end} it was selected from"
            ),
            PatchError::NotEnoughPatches { needed, found } => {
                write!(f, "needs at least {needed} patches, there are {found}")
            }
            PatchError::MethodUnavailable { method, needs } => write!(
                f,
                "{method} cannot compute this: it needs {needs}; use Method::Auto or Method::Gemm"
            ),
            PatchError::Interrupted => write!(f, "interrupted: the call was stopped by its StopToken"),
        }
    }
}

impl std::error::Error for PatchError {}

/// The message of [`PatchError::InvalidAxes`]: the first thing wrong with
/// `axes`, in the order empty, out of range, repeated, out of order.
fn invalid_axes(f: &mut fmt::Formatter<'_>, axes: &[usize], ndim: usize) -> fmt::Result {
    let plural = if ndim == 1 { "axis" } else { "axes" };
    if axes.is_empty() {
        return write!(
            f,
            "no windowed axes given; name at least one of the array's {ndim} {plural}"
        );
    }
    if let Some(&a) = axes.iter().find(|&&a| a >= ndim) {
        return write!(
            f,
            "windowed axis {a} is out of range for an array of {ndim} {plural} (axes {axes:?})"
        );
    }
    if let Some(&a) = axes
        .iter()
        .enumerate()
        .find_map(|(i, a)| axes[..i].contains(a).then_some(a))
    {
        return write!(f, "windowed axis {a} is given twice (axes {axes:?})");
    }
    match axes.windows(2).find(|w| w[0] >= w[1]) {
        Some(w) => write!(
            f,
            "windowed axes must be strictly increasing, but {} comes after {} (axes {axes:?})",
            w[1], w[0]
        ),
        // Not produced by this crate: the axes are valid.
        None => write!(f, "windowed axes {axes:?} for an array of {ndim} {plural}"),
    }
}

/// Unwraps a `Result<T, PatchError>`, panicking with the error's message at
/// the caller's location (the panicking twins of the `try_` methods use it).
#[track_caller]
pub(crate) fn unwrap_or_panic<T>(r: Result<T, PatchError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

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
}

impl fmt::Display for Argument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Argument::PatchShape => "patch shape",
            Argument::Step => "step",
            Argument::Dilation => "dilation",
        })
    }
}

/// The error type of every fallible (`try_`) method of this crate.
///
/// Each variant carries the numbers that made the request invalid, and the
/// [`Display`](fmt::Display) text names them, so a panic message from the
/// panicking twin of a method tells the user what to fix.
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
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
    /// A row range reaches past the last patch.
    RowsOutOfRange {
        /// First row asked for.
        start: usize,
        /// Number of rows asked for.
        rows: usize,
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
    /// A chunk size of zero rows.
    ZeroChunkRows,
    /// An operand of a product with the patch matrix has the wrong length
    /// along the axis that meets the matrix.
    ShapeMismatch {
        /// Which operand, and which of its axes.
        operand: &'static str,
        /// The length the patch matrix needs there.
        expected: usize,
        /// The operand's length.
        found: usize,
    },
    /// A sampling weight is negative, infinite or NaN.
    InvalidWeight {
        /// The patch (row) whose weight it is.
        row: usize,
    },
    /// A statistic or a sample needs more patches than there are (or than
    /// have a positive weight).
    NotEnoughPatches {
        /// How many it needs.
        needed: usize,
        /// How many there are.
        found: usize,
    },
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PatchError::Zero { argument, axis } => {
                write!(f, "{argument} is zero on axis {axis}; it must be at least 1")
            }
            PatchError::PatchTooLarge { axis, extent, len } => write!(
                f,
                "patch extent {extent} on axis {axis} is larger than the array's length {len} on that axis"
            ),
            PatchError::WrongNdim {
                argument,
                expected,
                found,
            } => write!(
                f,
                "{argument} has {found} axes but the array has {expected}"
            ),
            PatchError::Overflow { quantity } => {
                write!(f, "{quantity} overflows the machine's address range")
            }
            PatchError::RowsOutOfRange { start, rows, len } => write!(
                f,
                "rows {start}..{start}+{rows} are out of range for {len} patches"
            ),
            PatchError::RowWidth { expected, found } => write!(
                f,
                "output rows have {found} columns but a patch has {expected} elements"
            ),
            PatchError::ZeroChunkRows => f.write_str("chunk size is zero rows; it must be at least 1"),
            PatchError::ShapeMismatch {
                operand,
                expected,
                found,
            } => write!(
                f,
                "{operand} has length {found}, but the patch matrix needs {expected}"
            ),
            PatchError::InvalidWeight { row } => write!(
                f,
                "the weight of patch {row} is negative, infinite or NaN"
            ),
            PatchError::NotEnoughPatches { needed, found } => {
                write!(f, "needs at least {needed} patches, there are {found}")
            }
        }
    }
}

impl std::error::Error for PatchError {}

/// Unwraps a `Result<T, PatchError>`, panicking with the error's message at
/// the caller's location (the panicking twins of the `try_` methods use it).
#[track_caller]
pub(crate) fn unwrap_or_panic<T>(r: Result<T, PatchError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

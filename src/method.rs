//! [`Method`]: which algorithm the linear algebra on the virtual patch
//! matrix uses; a value carried by [`Rows`](crate::Rows), set with
//! [`Rows::method`](crate::Rows::method).

/// Which algorithm computes the products of the virtual patch matrix `X`
/// ([`gram`](crate::Rows::gram), [`mean`](crate::Rows::mean),
/// [`covariance`](crate::Rows::covariance), [`dot`](crate::Rows::dot),
/// [`t_dot`](crate::Rows::t_dot)); carried by the rows, set with
/// [`Rows::method`](crate::Rows::method). The result is the same up to
/// rounding whichever computes it; only the time differs.
///
/// - [`Gemm`](Method::Gemm): cache-sized chunks of `X` through a GEMM on
///   every thread, for every row set and every product. It costs what the
///   products cost: `XᵀX` is `len x patch_len² / 2` multiply-adds.
/// - [`Displacement`](Method::Displacement): `gram`, `mean` and
///   `covariance` of *all* the windows from sums over the image. Entry
///   `(a, b)` of `XᵀX` is a sum of `img(u) * img(u + d)` over a box of
///   positions `u`, where `d` is the displacement between elements `a` and
///   `b` of a window (Kwatra and Han, ECCV 2010): one pass over the image
///   per displacement, about `2^ndim x patch_len / 2` passes in all, instead
///   of `patch_len² / 2` multiply-adds per window. Any number of axes,
///   step, dilation, source layout and conversion; [`Edge::Valid`] and
///   [`Edge::Shift`] windows and padded sources.
/// - [`Fft`](Method::Fft): `dot` and `t_dot` (a vector or a matrix: `X·W`
///   and `Xᵀ·V`) of *all* the windows by FFT cross-correlation. Column `j`
///   of `X·W` is the correlation of the image with column `j` of `W` laid
///   out as a filter (on the dilated lattice), read at the windows'
///   origins; `Xᵀ·V` correlates the image with `V` scattered onto the
///   origins. The image's spectrum is computed once per tile (tiles with
///   overlap, so memory stays bounded), then one product and one inverse
///   transform per column: about `image x log(tile)` per column instead of
///   `len x patch_len`. Any number of axes, step, dilation, source layout,
///   conversion, [`Edge::Valid`] and [`Edge::Shift`], padded sources.
/// - [`Auto`](Method::Auto) (the default): per call, the one a cost model
///   with constants measured on the development machine predicts to be
///   faster (see [`Rows::method`](crate::Rows::method) for the model and
///   its crossovers). Row ranges that are not all the windows and index
///   sets use `Gemm`.
///
/// Forcing a method on a product it cannot compute (`Displacement` or
/// `Fft` on a range of rows or an index set, `Displacement` on `dot`,
/// `Fft` on `gram`) is an error
/// ([`PatchError::MethodUnavailable`](crate::PatchError::MethodUnavailable))
/// from the `try_` methods and a panic from the others.
///
/// [`Edge::Valid`]: crate::Edge::Valid
/// [`Edge::Shift`]: crate::Edge::Shift
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::Method;
///
/// let img = Array2::from_shape_fn((40, 50), |(i, j)| ((i * 7 + j * 3) % 11) as f64);
/// let p = img.patches((8, 8));
/// let by_sums = p.method(Method::Displacement).gram();
/// let by_gemm = p.method(Method::Gemm).gram();
/// let scale = by_gemm.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
/// assert!(by_sums.iter().zip(&by_gemm).all(|(a, b)| (a - b).abs() <= 1e-12 * scale));
/// // Displacement sums need every window: a range of rows is an error.
/// assert!(p.rows(1..).method(Method::Displacement).try_gram().is_err());
///
/// // A filter bank by FFT and by GEMM.
/// let bank = Array2::from_shape_fn((64, 3), |(i, j)| ((i + j) % 5) as f64 - 2.0);
/// let by_fft = p.method(Method::Fft).dot(&bank);
/// let by_gemm = p.method(Method::Gemm).dot(&bank);
/// let scale = by_gemm.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
/// assert!(by_fft.iter().zip(&by_gemm).all(|(a, b)| (a - b).abs() <= 1e-10 * scale));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// Chosen per call by the cost model (the default).
    #[default]
    Auto,
    /// Chunks of the rows through a GEMM: every row set, every product.
    Gemm,
    /// Displacement sums over the image: `gram`, `mean` and `covariance`
    /// of all the windows.
    Displacement,
    /// FFT cross-correlation of the image: `dot` and `t_dot` (a vector or
    /// a matrix operand) of all the windows.
    Fft,
}

impl Method {
    /// The name used in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Method::Auto => "Method::Auto",
            Method::Gemm => "Method::Gemm",
            Method::Displacement => "Method::Displacement",
            Method::Fft => "Method::Fft",
        }
    }
}

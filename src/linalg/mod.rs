//! Linear algebra on the virtual patch matrix `X` of any [`Rows`] whose
//! elements are `f32` or `f64` (a float image's patches, or any rows after
//! [`cast`](Rows::cast) or [`map_elems`](Rows::map_elems)), without ever
//! holding it: `X·w` and `X·W` ([`Rows::dot`]), `Xᵀ·v` and `Xᵀ·V`
//! ([`Rows::t_dot`]), `XᵀX` ([`Rows::gram`]), the mean row and the
//! covariance.
//!
//! Three methods ([`Method`]), chosen per call by a cost model
//! (`model.rs`) or forced with [`Rows::method`]:
//!
//! - GEMM (this file): every product streams cache-sized chunks of `X`
//!   through ndarray's GEMM (`matrixmultiply`) on all rayon threads, one
//!   accumulator per thread, so a call costs `O(threads x chunk + result)`
//!   memory, however many patches there are. `gram` and `covariance`
//!   compute one triangle of each chunk's `xᵀx` (a symmetric rank-k
//!   update: diagonal blocks recursively, the blocks above them as GEMMs),
//!   about half the multiply-adds, and mirror it once at the end.
//! - Displacement sums (`displacement.rs`): `gram`, `mean` and
//!   `covariance` of all the windows from one pass over the image per
//!   displacement between two elements of a window, in `f64`, in tiles that
//!   stay in cache: `O(threads x (tile + patch_len²/2) + result)` memory.
//! - FFT cross-correlation (`fft.rs`): `dot` and `t_dot` of all the
//!   windows: per tile of the image (overlap-save), one transform of the
//!   image, then per column a pointwise product and an inverse transform:
//!   `O(threads x columns x tile + result)` memory (columns in batches).
//!
//! Accuracy of GEMM (blocked summation): each chunk's partial result is
//! computed in the element type `F` over at most a chunk's rows (a few
//! hundred to a few thousand), and the partial results are added in `f64`.
//! The rounding error of a sum over `n` rows then grows with the chunk
//! length, not with `n`: a 16M-patch `f32` Gram matrix stays within `1e-5`
//! of the `f64` one relative to its largest entry, where a plain `f32`
//! running sum would lose about `n * 6e-8`, that is everything.
//!
//! Accuracy of displacement sums: every product is formed and summed in
//! `f64` (also for `f32` rows, rounded once at the end), in blocks (a row
//! of a tile, a tile, the tiles); the covariance is taken of the image
//! centred on its mean. In `f64`, `gram` and `mean` are within `1e-12` and
//! `covariance` within `1e-10` of the materialized computation, relative to
//! the largest entry, also for bright, low-contrast images
//! (`tests/displacement.rs`).
//!
//! Accuracy of the FFT: the image is centred on its mean before the
//! transforms (the mean's part is added back exactly); `f64` rows are
//! transformed in `f64`, `f32` rows in `f32`. Against the materialized
//! `f64` product, relative to its largest entry: within `1e-10` in `f64`
//! and `1e-5` in `f32` (`tests/fft.rs`).

mod displacement;
mod fft;
mod model;

use std::mem::size_of;

use ndarray::linalg::general_mat_mul;
use ndarray::{
    s, Array, Array1, Array2, ArrayBase, ArrayRef, ArrayView1, ArrayView2, ArrayViewMut2, Axis,
    Data, Dim, Dimension, Ix1, Ix2, Zip,
};

use rayon::prelude::*;

use crate::error::{unwrap_or_panic, PatchError};
use crate::flatten::{try_filled, try_vec_with_capacity, Part};
use crate::method::Method;
use crate::rows::{ChunkResult, RowSet, Rows, DEFAULT_CHUNK_BYTES};
use crate::scalar::{Conversion, Real};

use displacement::{moments, Want};
use model::{resolve, Op};

fn check(operand: &'static str, expected: usize, found: usize) -> Result<(), PatchError> {
    if expected == found {
        Ok(())
    } else {
        Err(PatchError::ShapeMismatch {
            operand,
            expected,
            found,
        })
    }
}

/// Adds a chunk's partial result to the `f64` accumulator.
fn add_into<F: Real, D: Dimension>(acc: &mut Array<f64, D>, part: &Array<F, D>) {
    acc.zip_mut_with(part, |a, &b| *a += b.to_f64());
}

/// Checks that a `(pl, pl + 1)` matrix of `f64` is addressable.
fn check_square(pl: usize) -> Result<(), PatchError> {
    pl.checked_mul(pl.saturating_add(1))
        .and_then(|n| n.checked_mul(size_of::<f64>()))
        .filter(|&b| b <= isize::MAX as usize)
        .map(|_| ())
        .ok_or(PatchError::Overflow {
            quantity: "size of a patch_len x patch_len matrix",
        })
}

/// The result in the rows' float type (in place for `f64`).
fn to_real<F: Real, D: Dimension>(a: Array<f64, D>) -> Array<F, D> {
    a.mapv_into_any(F::from_f64)
}

/// Below this many columns a diagonal block of `xᵀx` is one GEMM (both of
/// its triangles); above, [`syrk_upper`] splits it. On W2's 256-column
/// chunks of 512 to 2048 rows, leaves of 32 and 64 were within the noise of
/// each other (`benches/gemm-kernels`), both about 1.4x the full product.
const SYRK_LEAF: usize = 32;

/// `c ← xᵀx` on and above the diagonal (a symmetric rank-k update, BLAS's
/// `syrk`): the diagonal blocks recursively, the blocks above them as one
/// GEMM each, so about half the multiply-adds of `x.t().dot(&x)`. Entries
/// below the diagonal outside the leaf blocks are not written.
fn syrk_upper<F: Real>(x: ArrayView2<'_, F>, mut c: ArrayViewMut2<'_, F>) {
    let n = x.ncols();
    if n <= SYRK_LEAF {
        general_mat_mul(F::one(), &x.t(), &x, F::zero(), &mut c);
        return;
    }
    // Split on a multiple of 8 columns (the kernel's tile width).
    let h = (n / 2).div_ceil(8) * 8;
    let (left, right) = x.split_at(Axis(1), h);
    let (top, bottom) = c.split_at(Axis(0), h);
    let (top_left, top_right) = top.split_at(Axis(1), h);
    let (_, bottom_right) = bottom.split_at(Axis(1), h);
    syrk_upper(left, top_left);
    let mut top_right = top_right;
    general_mat_mul(F::one(), &left.t(), &right, F::zero(), &mut top_right);
    syrk_upper(right, bottom_right);
}

/// Adds the upper triangle (diagonal included) of `part` to `acc`.
fn add_upper<F: Real>(mut acc: ArrayViewMut2<'_, f64>, part: &ArrayRef<F, Ix2>) {
    for (i, (mut a, p)) in acc.outer_iter_mut().zip(part.outer_iter()).enumerate() {
        a.slice_mut(s![i..])
            .zip_mut_with(&p.slice(s![i..]), |a, &b| *a += b.to_f64());
    }
}

/// Copies the upper triangle onto the lower one.
fn mirror_upper(a: &mut Array2<f64>) {
    for i in 0..a.nrows() {
        for j in 0..i {
            a[[i, j]] = a[[j, i]];
        }
    }
}

/// # Linear algebra on the virtual patch matrix
///
/// `X` is the `(len, patch_len)` patch matrix that
/// [`to_matrix`](crate::Rows::to_matrix) would build; these methods compute with
/// it chunk by chunk and never build it. `F` (`f32` or `f64`) is the
/// arithmetic type; the image's elements are converted to it during the copy
/// (`u8`, `u16`, `i16`, ... images work directly).
mod sealed {
    pub trait Sealed {}
}

/// The right operand of [`Rows::dot`] and [`Rows::t_dot`]: a vector
/// (`Array1`, a view, an `ArrayRef1`) or a matrix (`Array2`, ...) of the
/// rows' float type. Sealed.
///
/// `X·w` is one value per row, `X·W` one row of values per row;
/// `Xᵀ·v` is one value per column of X, `Xᵀ·V` one row per column.
///
/// # Examples
///
/// ```
/// use ndarray::{Array1, Array2};
/// use ndarray_patches::prelude::*;
///
/// let img = Array2::from_shape_fn((8, 8), |(i, j)| (i + j) as f64);
/// let p = img.patches(3);
/// let y = p.dot(&Array1::from_elem(9, 1.0));            // a vector: Array1
/// let z = p.dot(&Array2::from_elem((9, 2), 1.0));       // a matrix: Array2
/// assert_eq!(z.column(1), y);
/// ```
pub trait Operand<F: Real>: Sync + sealed::Sealed {
    /// `X·w` for a vector (`Array1<F>`), `X·W` for a matrix (`Array2<F>`).
    type Product: ChunkResult;

    /// The length of the first axis.
    #[doc(hidden)]
    fn first_len(&self) -> usize;
    /// The length of the second axis (1 for a vector).
    #[doc(hidden)]
    fn second_len(&self) -> usize;
    /// `x · self`.
    #[doc(hidden)]
    fn right_of(&self, x: ArrayView2<'_, F>) -> Self::Product;
    /// Adds `xᵀ · self[k..k + x.nrows()]` into `acc` (`(patch_len, second_len)`).
    #[doc(hidden)]
    fn add_t_product(&self, x: ArrayView2<'_, F>, k: usize, acc: &mut Array2<f64>);
    /// The `(patch_len, second_len)` accumulator as this operand's product.
    #[doc(hidden)]
    fn t_product(acc: Array2<f64>) -> Self::Product;
    /// Column `j < second_len` (the vector itself for a vector).
    #[doc(hidden)]
    fn column(&self, j: usize) -> ArrayView1<'_, F>;
    /// A `(len, second_len)` product `X·W` as this operand's product.
    #[doc(hidden)]
    fn product_of(y: Array2<F>) -> Self::Product;
}

macro_rules! operands {
    ($($ty:ty, [$($g:tt)*];)*) => {$(
        impl<$($g)*> sealed::Sealed for $ty {}
    )*};
}

operands! {
    ArrayRef<F, Ix1>, [F: Real];
    ArrayRef<F, Ix2>, [F: Real];
    ArrayBase<S, Ix1>, [F: Real, S: Data<Elem = F>];
    ArrayBase<S, Ix2>, [F: Real, S: Data<Elem = F>];
}

impl<F: Real> Operand<F> for ArrayRef<F, Ix1> {
    type Product = Array1<F>;

    fn first_len(&self) -> usize {
        self.len()
    }
    fn second_len(&self) -> usize {
        1
    }
    fn right_of(&self, x: ArrayView2<'_, F>) -> Array1<F> {
        x.dot(self)
    }
    fn add_t_product(&self, x: ArrayView2<'_, F>, k: usize, acc: &mut Array2<f64>) {
        let part = x.t().dot(&self.slice(s![k..k + x.nrows()]));
        acc.column_mut(0)
            .zip_mut_with(&part, |a, &b| *a += b.to_f64());
    }
    fn t_product(acc: Array2<f64>) -> Array1<F> {
        acc.column(0).mapv(F::from_f64)
    }
    fn column(&self, _: usize) -> ArrayView1<'_, F> {
        self.view()
    }
    fn product_of(y: Array2<F>) -> Array1<F> {
        // An (n, 1) standard-layout matrix is the vector's buffer: no copy
        // (a copy would hold the result twice at its peak).
        let n = y.nrows();
        y.into_shape_with_order(n)
            .expect("an (n, 1) result in standard layout")
    }
}

impl<F: Real> Operand<F> for ArrayRef<F, Ix2> {
    type Product = Array2<F>;

    fn first_len(&self) -> usize {
        self.nrows()
    }
    fn second_len(&self) -> usize {
        self.ncols()
    }
    fn right_of(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        x.dot(self)
    }
    fn add_t_product(&self, x: ArrayView2<'_, F>, k: usize, acc: &mut Array2<f64>) {
        let part = x.t().dot(&self.slice(s![k..k + x.nrows(), ..]));
        add_into(acc, &part);
    }
    fn t_product(acc: Array2<f64>) -> Array2<F> {
        to_real(acc)
    }
    fn column(&self, j: usize) -> ArrayView1<'_, F> {
        self.index_axis(Axis(1), j)
    }
    fn product_of(y: Array2<F>) -> Array2<F> {
        y
    }
}

impl<F: Real, S: Data<Elem = F>, D: Dimension> Operand<F> for ArrayBase<S, D>
where
    ArrayBase<S, D>: sealed::Sealed + Sync,
    ArrayRef<F, D>: Operand<F>,
{
    type Product = <ArrayRef<F, D> as Operand<F>>::Product;

    fn first_len(&self) -> usize {
        (**self).first_len()
    }
    fn second_len(&self) -> usize {
        (**self).second_len()
    }
    fn right_of(&self, x: ArrayView2<'_, F>) -> Self::Product {
        (**self).right_of(x)
    }
    fn add_t_product(&self, x: ArrayView2<'_, F>, k: usize, acc: &mut Array2<f64>) {
        (**self).add_t_product(x, k, acc)
    }
    fn t_product(acc: Array2<f64>) -> Self::Product {
        <ArrayRef<F, D> as Operand<F>>::t_product(acc)
    }
    fn column(&self, j: usize) -> ArrayView1<'_, F> {
        <ArrayRef<F, D> as Operand<F>>::column(self, j)
    }
    fn product_of(y: Array2<F>) -> Self::Product {
        <ArrayRef<F, D> as Operand<F>>::product_of(y)
    }
}

/// # The algorithm of the linear algebra
impl<A, D, C, S> Rows<'_, A, D, C, S>
where
    D: Dimension,
    C: Clone,
    S: RowSet,
{
    /// These rows with their linear algebra computed by `method`
    /// ([`Method::Auto`], the default, lets a cost model choose per call;
    /// see [`Method`]). The method is carried along by
    /// [`cast`](Rows::cast) and [`map_elems`](Rows::map_elems).
    ///
    /// # The cost model
    ///
    /// Under `Auto`, `gram`, `mean` and `covariance` of all the windows
    /// take the method with the smaller predicted time; everything else
    /// is GEMM. GEMM costs, per row, a copy of `patch_len` elements and
    /// `patch_len² / 2` multiply-adds (`f32` about twice as fast as
    /// `f64`); displacement sums cost, per element of the image, one pass
    /// per block of sixteen displacements along the last axis (or per
    /// displacement, with a dilation there or few displacements per residue
    /// class of the step), plus `patch_len² / 2` entries to assemble. The
    /// constants were measured on a 2-core AVX-512 Xeon (the project's
    /// development machine). What it picks for square `k x k` windows on a
    /// large image, by step `s` (gram, `f32`):
    ///
    /// | `k` | step 1 | 2 | 3 | 4 | 6 | 8 |
    /// |---|---|---|---|---|---|---|
    /// | 2 | displacement | displacement | displacement | displacement | displacement | displacement |
    /// | 3 to 8 | displacement | displacement | GEMM | GEMM | GEMM | GEMM |
    /// | 12 | displacement | displacement | displacement | GEMM | GEMM | GEMM |
    /// | 16, 24 | displacement | displacement | displacement | displacement | GEMM | GEMM |
    /// | 32 | displacement | displacement | displacement | displacement | displacement | GEMM |
    /// | 39, 64 | displacement | displacement | displacement | displacement | displacement | displacement |
    ///
    /// With step 1, displacement sums were measured about 4x (3x3) to over
    /// 100x (39x39: the mean and covariance of every window of a 512x512
    /// photograph in 0.06 s against 7.1 s, `examples/patch_pca.rs`) faster
    /// than GEMM; the gain falls as `k / s²`, and non-overlapping windows
    /// (`s >= k`) stay on GEMM (2x2 windows excepted: both take a few
    /// milliseconds). Measured figures and the crossovers' margins are in
    /// the repository's `benches/README.md`.
    ///
    /// `dot` and `t_dot` of all the windows take the FFT where predicted
    /// faster: GEMM costs `patch_len x columns` multiply-adds per row, the
    /// FFT per tile of the image one transform plus one (`dot`) or two
    /// (`t_dot`) per column, `points x log2(points)` each, whatever the
    /// window's size, but not shrinking with the step. Windows of fewer
    /// than 16 elements stay on GEMM. What it picks for `dot` (`f32`) on a
    /// 1024x1024 image, by square window `k x k` and step:
    ///
    /// | `k` | vector, step 1 | 2 | 3 | 16 columns, step 1 | 2 | 3 |
    /// |---|---|---|---|---|---|---|
    /// | 2, 3 | GEMM | GEMM | GEMM | GEMM | GEMM | GEMM |
    /// | 4 to 6 | FFT | GEMM | GEMM | GEMM | GEMM | GEMM |
    /// | 8 | FFT | FFT | GEMM | FFT | GEMM | GEMM |
    /// | 12, 16 | FFT | FFT | FFT | FFT | GEMM | GEMM |
    /// | 24 | FFT | FFT | FFT | FFT | FFT | GEMM |
    /// | 32 to 64 | FFT | FFT | FFT | FFT | FFT | FFT |
    ///
    /// On W6 (768x768, 39x39, step 1) in `f32` the FFT was measured about
    /// 35x faster than GEMM for `X·w` and 8x for `X·W` with 16 columns (one
    /// thread).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::Method;
    ///
    /// let img = Array2::from_shape_fn((64, 64), |(i, j)| ((i * j) % 17) as f32);
    /// let p = img.patches((12, 12));
    /// let c1 = p.method(Method::Displacement).cast::<f64>().covariance();
    /// let c2 = p.method(Method::Gemm).cast::<f64>().covariance();
    /// assert!(c1.iter().zip(&c2).all(|(a, b)| (a - b).abs() < 1e-9));
    /// ```
    #[must_use]
    pub fn method(&self, method: Method) -> Self {
        let mut rows = self.clone();
        rows.method = method;
        rows
    }
}

/// # Linear algebra on the virtual matrix (float rows)
///
/// Every product streams cache-sized chunks of the rows through a GEMM on
/// all threads, one `f64` accumulator per thread: `O(threads x chunk +
/// result)` memory, whatever the number of rows. Any row set: all the
/// windows, a range, a selection, a shuffled epoch.
impl<A, D, C, S, F> Rows<'_, A, D, C, S>
where
    A: Copy + Send + Sync,
    D: Dimension,
    C: Conversion<A, Output = F>,
    S: RowSet,
    F: Real,
{
    /// Rows per chunk: [`DEFAULT_CHUNK_BYTES`] of `F` rows (at least one),
    /// so the working set is one such chunk per thread plus the result.
    fn linalg_rows(&self) -> usize {
        self.chunk_rows_for(DEFAULT_CHUNK_BYTES)
    }

    /// Whether `op` runs by displacement sums (else GEMM).
    ///
    /// # Errors
    ///
    /// [`PatchError::MethodUnavailable`] if displacement sums are forced
    /// where they do not apply.
    fn by_displacement(&self, op: Op) -> Result<bool, PatchError> {
        Ok(self.method_for(op)? == Method::Displacement)
    }

    /// The method that computes `op` on these rows (never `Auto`).
    ///
    /// # Errors
    ///
    /// [`PatchError::MethodUnavailable`] if displacement sums or the FFT
    /// are forced where they do not apply.
    fn method_for(&self, op: Op) -> Result<Method, PatchError> {
        let len = self.geometry().len();
        // All the windows, in order: the range 0..len.
        let all = self.len() == len
            && matches!(self.row_set().part(0, len), Part::Range { start: 0, .. });
        resolve(self.method, self.geometry(), all, op, size_of::<F>())
    }

    /// The moments of all the windows by displacement sums.
    fn moments(
        &self,
        gram: bool,
        sums: bool,
        centre: bool,
    ) -> Result<displacement::Moments, PatchError> {
        if gram {
            // The result must exist: say so before any pass over the image
            // (a window of 2^22 elements is a 128 TiB Gram matrix, and its
            // displacement sums would run for ever before failing).
            let pl = self.geometry().patch_len();
            drop(try_vec_with_capacity::<f64>(
                pl.saturating_mul(pl),
                "the patch_len x patch_len result",
            )?);
        }
        let (source, conv) = self.source_and_conversion();
        moments(source, conv, self.geometry(), Want { gram, sums, centre })
    }

    /// Folds the chunks into one `f64` accumulator of `shape` per worker
    /// (with a `(scratch, scratch)` matrix of `F` beside it for partial
    /// products), then adds the accumulators.
    ///
    /// # Errors
    ///
    /// [`PatchError::OutOfMemory`] if the accumulators or a chunk cannot be
    /// allocated.
    fn reduce<D2, G>(&self, shape: D2, scratch: usize, f: G) -> Result<Array<f64, D2>, PatchError>
    where
        D2: Dimension,
        G: Fn(&mut (Array<f64, D2>, Array2<F>), usize, ArrayView2<'_, F>) + Sync + Send,
    {
        let what = "the per-thread accumulators";
        let init = || {
            Ok((
                try_filled(shape.clone(), 0.0, what)?,
                try_filled(Dim([scratch, scratch]), F::zero(), what)?,
            ))
        };
        let fold = |acc: &mut _, k, x: ArrayView2<'_, F>| {
            f(acc, k, x);
            Ok(())
        };
        let merge = |a: (Array<f64, D2>, Array2<F>), b: (Array<f64, D2>, _)| (a.0 + b.0, a.1);
        Ok(self
            .fold_chunks_at(self.linalg_rows(), init, fold, merge)?
            .0)
    }

    /// `X·w` (one value per row: its dot product with `w`, a linear
    /// filter or a linear classifier's score) for a vector `w`, `X·W` (one
    /// row of values per row: a filter bank's responses) for a matrix `W`.
    /// For all the windows, by FFT cross-correlation of the image with
    /// each column where the cost model predicts it faster (large windows;
    /// see [`method`](Rows::method)).
    ///
    /// # Panics
    ///
    /// If the operand does not have `patch_len` rows, the result's size
    /// overflows or cannot be allocated, [`Method::Displacement`] is
    /// forced, or [`Method::Fft`] on rows that are not all the windows;
    /// see [`try_dot`](Self::try_dot).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((64, 64), |(i, j)| (i * j % 9) as u8);
    /// let p = img.patches((5, 5));
    /// let w = Array1::from_elem(25, 1.0f32 / 25.0);    // a box filter
    /// let y = p.cast::<f32>().dot(&w);
    /// assert_eq!(y.len(), 60 * 60);
    /// assert!((y[0] - p.get(0).unwrap().mapv(f32::from).mean().unwrap()).abs() < 1e-5);
    /// let bank = Array2::from_elem((25, 4), 1.0f64);     // four filters
    /// assert_eq!(p.rows(10..20).cast::<f64>().dot(&bank).dim(), (10, 4));
    /// ```
    #[track_caller]
    pub fn dot<W: Operand<F> + ?Sized>(&self, w: &W) -> W::Product {
        unwrap_or_panic(self.try_dot(w))
    }

    /// Like [`dot`](Self::dot), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShapeMismatch`] if the operand does not have
    /// `patch_len` rows, [`PatchError::Overflow`] or
    /// [`PatchError::OutOfMemory`] if the result cannot be held,
    /// [`PatchError::MethodUnavailable`] if [`Method::Displacement`] is
    /// forced, or [`Method::Fft`] on rows that are not all the windows.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f64>::zeros((10, 10));
    /// assert!(img.patches(3).try_dot(&Array1::zeros(8)).is_err());
    /// assert!(img.patches(3).try_dot(&Array1::zeros(9)).is_ok());
    /// ```
    pub fn try_dot<W: Operand<F> + ?Sized>(&self, w: &W) -> Result<W::Product, PatchError> {
        let cols = w.second_len();
        let method = self.method_for(Op::Dot { cols })?;
        check("w (rows)", self.geometry().patch_len(), w.first_len())?;
        check_size(self.len(), cols, size_of::<F>(), "size of X·W")?;
        if method == Method::Fft {
            let (source, conv) = self.source_and_conversion();
            let y = fft::dot(source, conv, self.geometry(), cols, |j| w.column(j))?;
            return Ok(W::product_of(y));
        }
        self.map_chunks_at(self.linalg_rows(), |x| w.right_of(x))
    }

    /// `Xᵀ·v` for a vector `v` with one value per row (a weighted sum of
    /// the rows: the gradient of a linear model), `Xᵀ·V` for a matrix `V`
    /// with one row per row of X. For all the windows, by FFT
    /// cross-correlation of the image with each column laid out on the
    /// windows' origins where the cost model predicts it faster (see
    /// [`method`](Rows::method)).
    ///
    /// # Panics
    ///
    /// If the operand does not have one row per row of X,
    /// [`Method::Displacement`] is forced, or [`Method::Fft`] on rows that
    /// are not all the windows; see [`try_t_dot`](Self::try_t_dot).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((16, 16), |(i, j)| (i + 2 * j) as f64);
    /// let p = img.patches(4);
    /// let v = Array1::from_elem(p.len(), 1.0);
    /// let s = p.t_dot(&v);                                // the sum of the rows
    /// assert_eq!(s, p.to_matrix().sum_axis(ndarray::Axis(0)));
    /// ```
    #[track_caller]
    pub fn t_dot<W: Operand<F> + ?Sized>(&self, v: &W) -> W::Product {
        unwrap_or_panic(self.try_t_dot(v))
    }

    /// Like [`t_dot`](Self::t_dot), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShapeMismatch`] if the operand does not have one row
    /// per row of X, [`PatchError::OutOfMemory`] if the accumulators cannot
    /// be allocated, [`PatchError::MethodUnavailable`] if
    /// [`Method::Displacement`] is forced, or [`Method::Fft`] on rows that
    /// are not all the windows.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((10, 10));
    /// assert!(img.patches(3).try_t_dot(&Array1::zeros(3)).is_err());
    /// assert_eq!(img.patches(3).try_t_dot(&Array2::zeros((64, 2)))?.dim(), (9, 2));
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_t_dot<W: Operand<F> + ?Sized>(&self, v: &W) -> Result<W::Product, PatchError> {
        let cols = v.second_len();
        let method = self.method_for(Op::TDot { cols })?;
        check("v (rows)", self.len(), v.first_len())?;
        let pl = self.geometry().patch_len();
        check_size(pl, cols, size_of::<f64>(), "size of Xᵀ·V")?;
        if method == Method::Fft {
            let (source, conv) = self.source_and_conversion();
            let acc = fft::t_dot(source, conv, self.geometry(), cols, |j| v.column(j))?;
            return Ok(W::t_product(acc));
        }
        let shape = Dim([pl, v.second_len()]);
        let acc = self.reduce(shape, 0, |(acc, _), k, x| v.add_t_product(x, k, acc))?;
        Ok(W::t_product(acc))
    }

    /// `XᵀX`, the `(patch_len, patch_len)` Gram matrix of the rows (the
    /// second moment: `XᵀX / n` for the uncentred covariance). For all the
    /// windows, by displacement sums where the cost model predicts them
    /// faster (see [`method`](Rows::method)).
    ///
    /// # Panics
    ///
    /// If the result cannot be held, or displacement sums are forced on
    /// rows that are not all the windows; see [`try_gram`](Self::try_gram).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((20, 20), |(i, j)| ((i * j) % 5) as u8);
    /// let p = img.patches(3);
    /// let x = p.cast::<f64>().to_matrix();
    /// assert_eq!(p.cast::<f64>().gram(), x.t().dot(&x));
    /// ```
    #[track_caller]
    pub fn gram(&self) -> Array2<F> {
        unwrap_or_panic(self.try_gram())
    }

    /// Like [`gram`](Self::gram), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::Overflow`] if a `patch_len x patch_len` matrix
    /// overflows, [`PatchError::OutOfMemory`] if the accumulators cannot be
    /// allocated, [`PatchError::MethodUnavailable`] if
    /// [`Method::Displacement`] is forced on rows that are not all the
    /// windows.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::ones((10, 10));
    /// assert_eq!(img.patches(2).try_gram()?[[0, 1]], 81.0);
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_gram(&self) -> Result<Array2<F>, PatchError> {
        let pl = self.geometry().patch_len();
        check_square(pl)?;
        if self.by_displacement(Op::Gram)? {
            let g = self.moments(true, false, false)?.gram.expect("asked for");
            return Ok(to_real(g));
        }
        let mut acc = self.reduce(Dim([pl, pl]), pl, |(acc, scratch), _, x| {
            syrk_upper(x, scratch.view_mut());
            add_upper(acc.view_mut(), scratch);
        })?;
        mirror_upper(&mut acc);
        Ok(to_real(acc))
    }

    /// The mean row (the mean patch), accumulated in `f64`. For all the
    /// windows, by box sums over the image where the cost model predicts
    /// them faster (see [`method`](Rows::method)).
    ///
    /// # Panics
    ///
    /// If there are no rows, or displacement sums are forced on rows that
    /// are not all the windows; see [`try_mean`](Self::try_mean).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((6, 6), |(i, j)| (i * 6 + j) as u8);
    /// let m = img.patches(2).map_elems(|x: u8| f64::from(x) / 255.0).mean();
    /// assert_eq!(m.len(), 4);
    /// assert!((m[0] - 14.0 / 255.0).abs() < 1e-12); // the mean of img[..5, ..5]
    /// ```
    #[track_caller]
    pub fn mean(&self) -> Array1<F> {
        unwrap_or_panic(self.try_mean())
    }

    /// Like [`mean`](Self::mean), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::NotEnoughPatches`] if there are no rows (the mean of
    /// nothing is undefined), [`PatchError::OutOfMemory`] if the
    /// accumulators cannot be allocated, [`PatchError::MethodUnavailable`]
    /// if [`Method::Displacement`] is forced on rows that are not all the
    /// windows.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((6, 6));
    /// assert!(img.patches(2).rows(3..3).try_mean().is_err());
    /// assert_eq!(img.patches(2).try_mean()?.len(), 4);
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_mean(&self) -> Result<Array1<F>, PatchError> {
        let n = self.len();
        if n == 0 {
            return Err(PatchError::NotEnoughPatches {
                needed: 1,
                found: 0,
            });
        }
        if self.by_displacement(Op::Mean)? {
            let s = self.moments(false, true, false)?.sums.expect("asked for");
            return Ok(to_real(s / n as f64));
        }
        let pl = self.geometry().patch_len();
        let sums = self.reduce(Dim(pl), 0, |(acc, _), _, x| {
            add_into(acc, &x.sum_axis(Axis(0)));
        })?;
        Ok(to_real(sums / n as f64))
    }

    /// The `(patch_len, patch_len)` sample covariance of the rows (numpy's
    /// `np.cov(X, rowvar=False)`, divided by `n - 1`), accumulated in `f64`
    /// around a shift, so that bright, low-contrast images keep their
    /// digits: the first row for GEMM, the image's mean for displacement
    /// sums (all the windows, where the cost model predicts them faster;
    /// see [`method`](Rows::method)).
    ///
    /// # Panics
    ///
    /// With fewer than two rows, or displacement sums forced on rows that
    /// are not all the windows; see
    /// [`try_covariance`](Self::try_covariance).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((12, 12), |(i, j)| ((i * 5 + j * 3) % 7) as u8);
    /// let c = img.patches(3).cast::<f64>().covariance();
    /// assert_eq!(c.dim(), (9, 9));
    /// assert!((c[[0, 1]] - c[[1, 0]]).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn covariance(&self) -> Array2<F> {
        unwrap_or_panic(self.try_covariance())
    }

    /// Like [`covariance`](Self::covariance), returning an error instead
    /// of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::NotEnoughPatches`] with fewer than two rows,
    /// [`PatchError::Overflow`] or [`PatchError::OutOfMemory`] if the
    /// result cannot be held, [`PatchError::MethodUnavailable`] if
    /// [`Method::Displacement`] is forced on rows that are not all the
    /// windows.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f64>::zeros((4, 4));
    /// assert!(img.patches(4).try_covariance().is_err());   // one window
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_covariance(&self) -> Result<Array2<F>, PatchError> {
        Ok(to_real(self.mean_and_covariance()?.1))
    }

    /// The mean row and the covariance of the rows from one pass:
    /// [`mean`](Self::mean) and [`covariance`](Self::covariance) (the
    /// covariance's pass sums the rows anyway), for PCA and whitening.
    ///
    /// # Panics
    ///
    /// As [`covariance`](Self::covariance); see
    /// [`try_mean_covariance`](Self::try_mean_covariance).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((9, 9), |(i, j)| (i * 9 + j) as f64);
    /// let p = img.patches(3);
    /// let (mean, cov) = p.mean_covariance();
    /// assert!((&mean - &p.mean()).iter().all(|d| d.abs() < 1e-12));
    /// assert!((&cov - &p.covariance()).iter().all(|d| d.abs() < 1e-9));
    /// ```
    #[track_caller]
    pub fn mean_covariance(&self) -> (Array1<F>, Array2<F>) {
        unwrap_or_panic(self.try_mean_covariance())
    }

    /// Like [`mean_covariance`](Self::mean_covariance), returning an error
    /// instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_covariance`](Self::try_covariance).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((4, 4));
    /// assert!(img.patches(4).try_mean_covariance().is_err());   // one window
    /// let (mean, cov) = img.patches(2).try_mean_covariance()?;
    /// assert_eq!((mean.len(), cov.dim()), (4, (4, 4)));
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_mean_covariance(&self) -> Result<(Array1<F>, Array2<F>), PatchError> {
        let (mean, cov) = self.mean_and_covariance()?;
        Ok((to_real(mean), to_real(cov)))
    }

    /// The mean and the covariance in `f64`, from one pass.
    fn mean_and_covariance(&self) -> Result<(Array1<f64>, Array2<f64>), PatchError> {
        let n = self.len();
        if n < 2 {
            return Err(PatchError::NotEnoughPatches {
                needed: 2,
                found: n,
            });
        }
        let pl = self.geometry().patch_len();
        check_square(pl)?;
        if self.by_displacement(Op::Covariance)? {
            // Of the centred image: the same covariance, no cancellation.
            let m = self.moments(true, true, true)?;
            let (mut g, s, c) = (
                m.gram.expect("asked for"),
                m.sums.expect("asked for"),
                m.centre,
            );
            let (nf, n1) = (n as f64, (n - 1) as f64);
            g.axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(s.as_slice().expect("a new vector").par_iter())
                .for_each(|(mut row, &si)| {
                    let m = si / nf;
                    row.zip_mut_with(&s, |x, &sj| *x = (*x - m * sj) / n1);
                });
            return Ok((s.mapv(|x| x / nf + c), g));
        }
        let mut first = Array2::from_elem((1, pl), F::zero());
        self.try_write_rows(0, first.view_mut())?;
        let shift: Array1<F> = first.row(0).to_owned();
        // One accumulator: column 0 holds the sums, columns 1.. the
        // products (x-K)ᵀ(x-K).
        let acc = self.reduce(Dim([pl, pl + 1]), pl, |(acc, scratch), _, x| {
            let c = &x - &shift;
            let sum = c.sum_axis(Axis(0));
            acc.column_mut(0)
                .zip_mut_with(&sum, |a, &b| *a += b.to_f64());
            syrk_upper(c.view(), scratch.view_mut());
            add_upper(acc.slice_mut(s![.., 1..]), scratch);
        })?;
        let s = acc.column(0).to_owned();
        let mut m2 = acc.slice(s![.., 1..]).to_owned();
        mirror_upper(&mut m2);
        // Σ(x-K)(x-K)ᵀ - n (μ-K)(μ-K)ᵀ, with μ-K = s/n.
        let mean = Zip::from(&shift)
            .and(&s)
            .map_collect(|k, x| k.to_f64() + x / n as f64);
        let d = s.insert_axis(Axis(1));
        let cov = (m2 - d.dot(&d.t()) / n as f64) / (n - 1) as f64;
        Ok((mean, cov))
    }
}

/// Checks that an `a x b` result of `size`-byte elements is addressable.
fn check_size(a: usize, b: usize, size: usize, quantity: &'static str) -> Result<(), PatchError> {
    a.checked_mul(b)
        .and_then(|n| n.checked_mul(size))
        .filter(|&bytes| bytes <= isize::MAX as usize)
        .map(|_| ())
        .ok_or(PatchError::Overflow { quantity })
}

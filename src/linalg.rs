//! Linear algebra on the virtual patch matrix `X` (`len x patch_len`),
//! without ever holding it: `X·w`, `Xᵀ·v`, `X·W`, `Xᵀ·V`, `XᵀX`, the mean
//! patch and the covariance.
//!
//! Every product streams cache-sized chunks of `X` through ndarray's GEMM
//! (`matrixmultiply`) on all rayon threads, one accumulator per thread,
//! so a call costs `O(threads x chunk + result)` memory, however many
//! patches there are. `gram` and `covariance` compute one triangle of each
//! chunk's `xᵀx` (a symmetric rank-k update: diagonal blocks recursively,
//! the blocks above them as GEMMs), about half the multiply-adds, and
//! mirror it once at the end.
//!
//! Accuracy (blocked summation): each chunk's partial result is computed in
//! the element type `F` over at most a chunk's rows (a few hundred to a few
//! thousand), and the partial results are added in `f64`. The rounding error
//! of a sum over `n` rows then grows with the chunk length, not with `n`: a
//! 16M-patch `f32` Gram matrix stays within `1e-5` of the `f64` one relative
//! to its largest entry, where a plain `f32` running sum would lose about
//! `n * 6e-8`, that is everything.

use std::mem::size_of;

use ndarray::linalg::general_mat_mul;
use ndarray::{
    s, Array1, Array2, ArrayRef1, ArrayRef2, ArrayView2, ArrayViewMut2, Axis, Dim, Dimension,
};

use crate::error::{unwrap_or_panic, PatchError};
use crate::flatten::try_filled;
use crate::patches::Patches;
use crate::rows::DEFAULT_CHUNK_BYTES;
use crate::scalar::Real;

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
fn add_into<F: Real, D: Dimension>(acc: &mut ndarray::Array<f64, D>, part: &ndarray::Array<F, D>) {
    acc.zip_mut_with(part, |a, &b| *a += b.to_f64());
}

/// Adds two accumulators.
fn merge<D: Dimension>(
    a: ndarray::Array<f64, D>,
    b: ndarray::Array<f64, D>,
) -> ndarray::Array<f64, D> {
    a + b
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

fn to_real<F: Real, D: Dimension>(a: ndarray::Array<f64, D>) -> ndarray::Array<F, D> {
    a.mapv(F::from_f64)
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
fn add_upper<F: Real>(mut acc: ArrayViewMut2<'_, f64>, part: &ArrayRef2<F>) {
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
impl<'a, A: Copy + Send + Sync, D: Dimension> Patches<'a, A, D> {
    /// Rows per chunk for products in `F`: [`DEFAULT_CHUNK_BYTES`] of `F`
    /// rows (at least one), so the working set is one such chunk per
    /// thread plus the result.
    fn linalg_rows<F: Real + From<A>>(&self) -> usize {
        self.cast::<F>().chunk_rows_for(DEFAULT_CHUNK_BYTES)
    }

    /// Folds `F` chunks of X into one `f64` accumulator per thread (with a
    /// `(scratch, scratch)` matrix of `F` beside it for partial products),
    /// then adds the accumulators.
    ///
    /// # Errors
    ///
    /// [`PatchError::OutOfMemory`] if the accumulators cannot be allocated.
    fn reduce<F, D2, G>(
        &self,
        shape: D2,
        scratch: usize,
        f: G,
    ) -> Result<ndarray::Array<f64, D2>, PatchError>
    where
        F: Real + From<A>,
        D2: Dimension,
        G: Fn(&mut (ndarray::Array<f64, D2>, Array2<F>), usize, ArrayView2<'_, F>) + Sync + Send,
    {
        let rows = self.cast::<F>();
        let chunk = self.linalg_rows::<F>();
        let workers = rayon::current_num_threads().min(self.len().div_ceil(chunk).max(1));
        let accs = (0..workers)
            .map(|_| {
                Ok((
                    try_filled(shape.clone(), 0.0, "the per-thread accumulators")?,
                    try_filled(
                        Dim([scratch, scratch]),
                        F::zero(),
                        "the per-thread accumulators",
                    )?,
                ))
            })
            .collect::<Result<Vec<_>, PatchError>>()?;
        let merge = |a: (ndarray::Array<f64, D2>, Array2<F>),
                     b: (ndarray::Array<f64, D2>, Array2<F>)| {
            (merge(a.0, b.0), a.1)
        };
        Ok(rows.par_fold_chunks(chunk, accs, f, merge).0)
    }

    /// `X·w`: one value per patch, the patch's dot product with `w`
    /// (a linear filter or a linear classifier's score).
    ///
    /// # Panics
    ///
    /// If `w.len() != patch_len`; see [`try_dot`](Self::try_dot).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((64, 64), |(i, j)| (i * j % 9) as f32);
    /// let p = img.patches((5, 5));
    /// let w = Array1::from_elem(25, 1.0 / 25.0);    // a box filter
    /// let y = p.dot(&w);
    /// assert_eq!(y.len(), 60 * 60);
    /// assert!((y[0] - p.get(0).unwrap().mean().unwrap()).abs() < 1e-5);
    /// ```
    #[track_caller]
    pub fn dot<F: Real + From<A>>(&self, w: &ArrayRef1<F>) -> Array1<F> {
        unwrap_or_panic(self.try_dot(w))
    }

    /// Like [`dot`](Self::dot), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShapeMismatch`] if `w.len() != patch_len`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((8, 8));
    /// assert!(img.patches((3, 3)).try_dot(&Array1::<f32>::zeros(8)).is_err());
    /// ```
    pub fn try_dot<F: Real + From<A>>(&self, w: &ArrayRef1<F>) -> Result<Array1<F>, PatchError> {
        check("w (length)", self.patch_len(), w.len())?;
        self.cast::<F>()
            .map_chunks_impl(self.linalg_rows::<F>(), |x| x.dot(w))
    }

    /// `Xᵀ·v`: the sum of every patch weighted by `v` (one weight per
    /// patch), a vector of `patch_len`.
    ///
    /// # Panics
    ///
    /// If `v.len() != len`; see [`try_t_dot`](Self::try_t_dot).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((4, 4), |(i, j)| (4 * i + j) as f64);
    /// let p = img.patches((2, 2));
    /// let mut v = Array1::zeros(p.len());
    /// v[0] = 1.0;
    /// v[8] = 2.0;                                    // the last patch
    /// assert_eq!(p.t_dot(&v).to_vec(), vec![20.0, 23.0, 32.0, 35.0]); // [0,1,4,5] + 2 * [10,11,14,15]
    /// ```
    #[track_caller]
    pub fn t_dot<F: Real + From<A>>(&self, v: &ArrayRef1<F>) -> Array1<F> {
        unwrap_or_panic(self.try_t_dot(v))
    }

    /// Like [`t_dot`](Self::t_dot), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShapeMismatch`] if `v.len() != len`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((8, 8));
    /// assert!(img.patches((3, 3)).try_t_dot(&Array1::<f32>::zeros(9)).is_err());
    /// ```
    pub fn try_t_dot<F: Real + From<A>>(&self, v: &ArrayRef1<F>) -> Result<Array1<F>, PatchError> {
        check("v (length)", self.len(), v.len())?;
        let pl = self.patch_len();
        let acc = self.reduce(Dim(pl), 0, |(acc, _), start, x: ArrayView2<'_, F>| {
            let part = x.t().dot(&v.slice(s![start..start + x.nrows()]));
            add_into(acc, &part);
        })?;
        Ok(to_real(acc))
    }

    /// `X·W` for `W` of shape `(patch_len, k)`: every patch through a bank
    /// of `k` linear filters, a `(len, k)` matrix. When that is itself too
    /// large, stream it: `p.cast::<f32>().for_each_chunk(rows, |start, x| ..x.dot(&w)..)`.
    ///
    /// # Panics
    ///
    /// If `W.nrows() != patch_len`; see [`try_matmul`](Self::try_matmul).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{stack, Array1, Array2, Axis};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((32, 32), |(i, j)| ((i ^ j) % 5) as f32);
    /// let p = img.patches((3, 3));
    /// let mean = Array1::from_elem(9, 1.0 / 9.0);
    /// let centre = Array1::from_shape_fn(9, |k| if k == 4 { 1.0 } else { 0.0 });
    /// let bank = stack(Axis(1), &[mean.view(), centre.view()]).unwrap(); // (9, 2)
    /// let y = p.matmul(&bank);
    /// assert_eq!(y.dim(), (30 * 30, 2));
    /// assert_eq!(y[[0, 1]], img[[1, 1]]);
    /// ```
    #[track_caller]
    pub fn matmul<F: Real + From<A>>(&self, w: &ArrayRef2<F>) -> Array2<F> {
        unwrap_or_panic(self.try_matmul(w))
    }

    /// Like [`matmul`](Self::matmul), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShapeMismatch`] if `W.nrows() != patch_len`,
    /// [`PatchError::Overflow`] if the result's size overflows.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((8, 8));
    /// assert!(img.patches((3, 3)).try_matmul(&Array2::<f32>::zeros((8, 2))).is_err());
    /// ```
    pub fn try_matmul<F: Real + From<A>>(&self, w: &ArrayRef2<F>) -> Result<Array2<F>, PatchError> {
        check("W (rows)", self.patch_len(), w.nrows())?;
        let n = self.len().checked_mul(w.ncols()).filter(|&n| {
            n.checked_mul(size_of::<F>())
                .is_some_and(|b| b <= isize::MAX as usize)
        });
        n.ok_or(PatchError::Overflow {
            quantity: "size of X·W",
        })?;
        self.cast::<F>()
            .map_chunks_impl(self.linalg_rows::<F>(), |x| x.dot(w))
    }

    /// `Xᵀ·V` for `V` of shape `(len, k)`: a `(patch_len, k)` matrix (with
    /// `V` the targets, the right-hand side of least squares).
    ///
    /// # Panics
    ///
    /// If `V.nrows() != len`; see [`try_t_matmul`](Self::try_t_matmul).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((5, 5), |(i, j)| (i * 5 + j) as f64);
    /// let p = img.patches((3, 3));
    /// let v = Array2::<f64>::ones((p.len(), 2));
    /// let s = p.t_matmul(&v);
    /// assert_eq!(s.dim(), (9, 2));
    /// assert_eq!(s[[0, 0]], p.iter().map(|w| w[[0, 0]]).sum::<f64>());
    /// ```
    #[track_caller]
    pub fn t_matmul<F: Real + From<A>>(&self, v: &ArrayRef2<F>) -> Array2<F> {
        unwrap_or_panic(self.try_t_matmul(v))
    }

    /// Like [`t_matmul`](Self::t_matmul), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShapeMismatch`] if `V.nrows() != len`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((5, 5));
    /// assert!(img.patches((3, 3)).try_t_matmul(&Array2::<f32>::zeros((8, 1))).is_err());
    /// ```
    pub fn try_t_matmul<F: Real + From<A>>(
        &self,
        v: &ArrayRef2<F>,
    ) -> Result<Array2<F>, PatchError> {
        check("V (rows)", self.len(), v.nrows())?;
        let shape = (self.patch_len(), v.ncols());
        let acc = self.reduce(
            Dim([shape.0, shape.1]),
            0,
            |(acc, _), start, x: ArrayView2<'_, F>| {
                let part = x.t().dot(&v.slice(s![start..start + x.nrows(), ..]));
                add_into(acc, &part);
            },
        )?;
        Ok(to_real(acc))
    }

    /// `XᵀX`, the `(patch_len, patch_len)` Gram matrix: the normal equations
    /// of least squares, the uncentred second moment of the patches.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((30, 30), |(i, j)| ((i * 3 + j) % 7) as f32);
    /// let p = img.patches((4, 4));
    /// let g: Array2<f64> = p.gram();
    /// let x = p.to_matrix().mapv(f64::from);
    /// assert!((&g - &x.t().dot(&x)).iter().all(|d| d.abs() < 1e-9));
    /// ```
    ///
    /// # Panics
    ///
    /// If `patch_len²` overflows or the accumulators (one `patch_len²` of
    /// `f64` per thread) cannot be allocated; see [`try_gram`](Self::try_gram).
    #[track_caller]
    pub fn gram<F: Real + From<A>>(&self) -> Array2<F> {
        unwrap_or_panic(self.try_gram())
    }

    /// Like [`gram`](Self::gram), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::Overflow`] if the `(patch_len, patch_len)` result's
    /// size overflows, [`PatchError::OutOfMemory`] if the accumulators
    /// cannot be allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((8, 8));
    /// assert_eq!(img.patches(3).try_gram::<f32>()?.dim(), (9, 9));
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_gram<F: Real + From<A>>(&self) -> Result<Array2<F>, PatchError> {
        let pl = self.patch_len();
        check_square(pl)?;
        let mut acc = self.reduce(
            Dim([pl, pl]),
            pl,
            |(acc, scratch), _, x: ArrayView2<'_, F>| {
                syrk_upper(x, scratch.view_mut());
                add_upper(acc.view_mut(), scratch);
            },
        )?;
        mirror_upper(&mut acc);
        Ok(to_real(acc))
    }

    /// The mean patch (column means of X), flattened.
    ///
    /// # Panics
    ///
    /// If the per-thread accumulators (`patch_len` `f64` each) cannot be
    /// allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((3, 3), |(i, j)| (3 * i + j) as u8);
    /// let m: Array1<f64> = img.patches((2, 2)).mean();
    /// assert_eq!(m.to_vec(), vec![2.0, 3.0, 5.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn mean<F: Real + From<A>>(&self) -> Array1<F> {
        let pl = self.patch_len();
        let sums = unwrap_or_panic(
            self.reduce(Dim(pl), 0, |(acc, _), _, x: ArrayView2<'_, F>| {
                let part = x.sum_axis(Axis(0));
                add_into(acc, &part);
            }),
        );
        to_real(sums / self.len() as f64)
    }

    /// The covariance of the patch elements: `(X - mean)ᵀ(X - mean) / (len - 1)`
    /// (numpy's `np.cov(X, rowvar=False)`). Computed on patches shifted by
    /// the first patch, so that large pixel means do not cancel the
    /// variance's digits.
    ///
    /// # Panics
    ///
    /// If there is a single patch; see [`try_covariance`](Self::try_covariance).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((40, 40), |(i, j)| 1000.0 + ((i * 7 + j * 3) % 11) as f32);
    /// let c: Array2<f64> = img.patches((3, 3)).covariance();
    /// assert_eq!(c.dim(), (9, 9));
    /// assert!((&c - &c.t()).iter().all(|d| d.abs() < 1e-9));      // symmetric
    /// assert!(c.diag().iter().all(|&v| v > 9.0 && v < 11.0));     // about 10
    /// ```
    #[track_caller]
    pub fn covariance<F: Real + From<A>>(&self) -> Array2<F> {
        unwrap_or_panic(self.try_covariance())
    }

    /// Like [`covariance`](Self::covariance), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::NotEnoughPatches`] if there is a single patch.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((3, 3));
    /// assert!(img.patches((3, 3)).try_covariance::<f64>().is_err());
    /// ```
    pub fn try_covariance<F: Real + From<A>>(&self) -> Result<Array2<F>, PatchError> {
        let n = self.len();
        if n < 2 {
            return Err(PatchError::NotEnoughPatches {
                needed: 2,
                found: n,
            });
        }
        let pl = self.patch_len();
        check_square(pl)?;
        let shift: Array1<F> = self.cast::<F>().select(&[0]).row(0).to_owned();
        // One accumulator: column 0 holds the sums, columns 1.. the
        // products (x-K)ᵀ(x-K).
        let acc = self.reduce(
            Dim([pl, pl + 1]),
            pl,
            |(acc, scratch), _, x: ArrayView2<'_, F>| {
                let c = &x - &shift;
                let sum = c.sum_axis(Axis(0));
                acc.column_mut(0)
                    .zip_mut_with(&sum, |a, &b| *a += b.to_f64());
                syrk_upper(c.view(), scratch.view_mut());
                add_upper(acc.slice_mut(s![.., 1..]), scratch);
            },
        )?;
        let s = acc.column(0).to_owned();
        let mut m2 = acc.slice(s![.., 1..]).to_owned();
        mirror_upper(&mut m2);
        // Σ(x-K)(x-K)ᵀ - n (μ-K)(μ-K)ᵀ, with μ-K = s/n.
        let d = s.insert_axis(Axis(1));
        let cov = (m2 - d.dot(&d.t()) / n as f64) / (n - 1) as f64;
        Ok(to_real(cov))
    }
}

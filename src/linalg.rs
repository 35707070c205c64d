//! Linear algebra on the virtual patch matrix `X` (`len x patch_len`),
//! without ever holding it: `X·w`, `Xᵀ·v`, `X·W`, `Xᵀ·V`, `XᵀX`, the mean
//! patch and the covariance.
//!
//! Every product streams cache-sized chunks of `X` through ndarray's GEMM
//! (`matrixmultiply`) on all rayon threads ([`Patches::par_for_each_chunk_as`]),
//! so a call costs `O(threads x chunk + result)` memory, however many
//! patches there are.
//!
//! Accuracy (blocked summation): each chunk's partial result is computed in
//! the element type `F` over at most a chunk's rows (a few hundred to a few
//! thousand), and the partial results are added in `f64`. The rounding error
//! of a sum over `n` rows then grows with the chunk length, not with `n`: a
//! 16M-patch `f32` Gram matrix stays within `1e-5` of the `f64` one relative
//! to its largest entry, where a plain `f32` running sum would lose about
//! `n * 6e-8`, that is everything.

use std::fmt::Debug;
use std::mem::size_of;
use std::sync::Mutex;

use ndarray::{s, Array1, Array2, ArrayRef1, ArrayRef2, ArrayView2, Axis, Dimension, LinalgScalar};

use crate::error::{unwrap_or_panic, PatchError};
use crate::patches::Patches;
use crate::stream::DEFAULT_CHUNK_BYTES;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The floating-point types the linear algebra works in: `f32` and `f64`.
/// Sealed.
///
/// # Examples
///
/// ```
/// use ndarray::{Array1, Array2};
/// use ndarray_patches::prelude::*;
///
/// // A u8 image, f64 arithmetic: F is inferred from the operand.
/// let img = Array2::from_shape_fn((6, 6), |(i, j)| (i + j) as u8);
/// let w = Array1::<f64>::ones(4);
/// let sums = img.patches((2, 2)).dot(&w);
/// assert_eq!(sums[0], 0.0 + 1.0 + 1.0 + 2.0);
/// ```
pub trait Real: LinalgScalar + Debug + Send + Sync + sealed::Sealed {
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Converts from `f64` (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
}

impl Real for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64(x: f64) -> Self {
        x as f32
    }
}

impl Real for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(x: f64) -> Self {
        x
    }
}

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

fn to_real<F: Real, D: Dimension>(a: ndarray::Array<f64, D>) -> ndarray::Array<F, D> {
    a.mapv(F::from_f64)
}

/// # Linear algebra on the virtual patch matrix
///
/// `X` is the `(len, patch_len)` patch matrix that
/// [`to_matrix`](Patches::to_matrix) would build; these methods compute with
/// it chunk by chunk and never build it. `F` (`f32` or `f64`) is the
/// arithmetic type; the image's elements are converted to it during the copy
/// (`u8`, `u16`, `i16`, ... images work directly).
impl<'a, A: Copy + Send + Sync, D: Dimension> Patches<'a, A, D> {
    /// Rows per chunk for products in `F`: [`DEFAULT_CHUNK_BYTES`] of `F`
    /// rows, but at least 64 rows so that each GEMM is worth its setup.
    fn linalg_rows<F>(&self) -> usize {
        let row = self.patch_len().saturating_mul(size_of::<F>()).max(1);
        (DEFAULT_CHUNK_BYTES / row).max(64)
    }

    /// Calls `f(start, chunk)` on `F` chunks of X on every thread, then
    /// returns the `f64` accumulator that `f` adds its partial results to.
    fn reduce<F, T, G>(&self, acc: T, f: G) -> T
    where
        F: Real + From<A>,
        T: Send,
        G: Fn(usize, ArrayView2<'_, F>, &Mutex<T>) + Sync + Send,
    {
        let acc = Mutex::new(acc);
        self.par_for_each_chunk_as::<F, _>(self.linalg_rows::<F>(), |start, chunk| {
            f(start, chunk, &acc)
        });
        acc.into_inner().expect("a worker panicked")
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
    /// assert!((y[0] - p.get(0).mean().unwrap()).abs() < 1e-5);
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
        let out = self.reduce(
            Array1::<F>::zeros(self.len()),
            |start, x: ArrayView2<'_, F>, out| {
                let y = x.dot(w);
                out.lock()
                    .unwrap()
                    .slice_mut(s![start..start + y.len()])
                    .assign(&y);
            },
        );
        Ok(out)
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
        let acc = self.reduce(
            Array1::<f64>::zeros(self.patch_len()),
            |start, x: ArrayView2<'_, F>, acc| {
                let part = x.t().dot(&v.slice(s![start..start + x.nrows()]));
                add_into(&mut acc.lock().unwrap(), &part);
            },
        );
        Ok(to_real(acc))
    }

    /// `X·W` for `W` of shape `(patch_len, k)`: every patch through a bank
    /// of `k` linear filters, a `(len, k)` matrix. When that is itself too
    /// large, stream it with [`for_each_matmul_chunk`](Self::for_each_matmul_chunk).
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
        let out = Mutex::new(Array2::<F>::zeros((self.len(), w.ncols())));
        self.try_for_each_matmul_chunk(w, self.linalg_rows::<F>(), |start, y| {
            out.lock()
                .unwrap()
                .slice_mut(s![start..start + y.nrows(), ..])
                .assign(&y);
        })?;
        Ok(out.into_inner().expect("a worker panicked"))
    }

    /// Streams `X·W` in row blocks: calls `f(start, block)` with rows
    /// `start..start + block.nrows()` of the `(len, k)` product, from every
    /// thread, in no particular order, for chunks of at most `rows` patches.
    /// Memory: one chunk of X and one block of the product per thread.
    ///
    /// # Panics
    ///
    /// If `W.nrows() != patch_len` or `rows` is zero; see
    /// [`try_for_each_matmul_chunk`](Self::try_for_each_matmul_chunk).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((100, 100), |(i, j)| (i + j) as f32);
    /// let p = img.patches((8, 8));
    /// let bank = Array2::from_elem((64, 4), 1.0f32);
    /// let best = Mutex::new(f32::MIN);
    /// p.for_each_matmul_chunk(&bank, 512, |_, y| {
    ///     let m = y.fold(f32::MIN, |m, &v| m.max(v));
    ///     let mut b = best.lock().unwrap();
    ///     *b = b.max(m);
    /// });
    /// assert_eq!(best.into_inner().unwrap(), p.get(p.len() - 1).sum());
    /// ```
    #[track_caller]
    pub fn for_each_matmul_chunk<F, G>(&self, w: &ArrayRef2<F>, rows: usize, f: G)
    where
        F: Real + From<A>,
        G: Fn(usize, ArrayView2<'_, F>) + Sync + Send,
    {
        unwrap_or_panic(self.try_for_each_matmul_chunk(w, rows, f))
    }

    /// Like [`for_each_matmul_chunk`](Self::for_each_matmul_chunk),
    /// returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShapeMismatch`] if `W.nrows() != patch_len`,
    /// [`PatchError::ZeroChunkRows`] if `rows` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f64>::zeros((8, 8));
    /// let w = Array2::<f64>::zeros((9, 3));
    /// assert!(img.patches((3, 3)).try_for_each_matmul_chunk(&w, 0, |_, _| {}).is_err());
    /// ```
    pub fn try_for_each_matmul_chunk<F, G>(
        &self,
        w: &ArrayRef2<F>,
        rows: usize,
        f: G,
    ) -> Result<(), PatchError>
    where
        F: Real + From<A>,
        G: Fn(usize, ArrayView2<'_, F>) + Sync + Send,
    {
        check("W (rows)", self.patch_len(), w.nrows())?;
        self.try_par_for_each_chunk_as::<F, _>(rows, |start, x| f(start, x.dot(w).view()))
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
        let acc = self.reduce(
            Array2::<f64>::zeros((self.patch_len(), v.ncols())),
            |start, x: ArrayView2<'_, F>, acc| {
                let part = x.t().dot(&v.slice(s![start..start + x.nrows(), ..]));
                add_into(&mut acc.lock().unwrap(), &part);
            },
        );
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
    pub fn gram<F: Real + From<A>>(&self) -> Array2<F> {
        let pl = self.patch_len();
        let acc = self.reduce(
            Array2::<f64>::zeros((pl, pl)),
            |_, x: ArrayView2<'_, F>, acc| {
                let part = x.t().dot(&x);
                add_into(&mut acc.lock().unwrap(), &part);
            },
        );
        to_real(acc)
    }

    /// The mean patch (column means of X), flattened.
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
    pub fn mean<F: Real + From<A>>(&self) -> Array1<F> {
        let sums = self.reduce(
            Array1::<f64>::zeros(self.patch_len()),
            |_, x: ArrayView2<'_, F>, acc| {
                let part = x.sum_axis(Axis(0));
                add_into(&mut acc.lock().unwrap(), &part);
            },
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
        let shift: Array1<F> = self.range(..1).to_matrix_as::<F>().row(0).to_owned();
        let (s, m2) = self.reduce(
            (Array1::<f64>::zeros(pl), Array2::<f64>::zeros((pl, pl))),
            |_, x: ArrayView2<'_, F>, acc| {
                let c = &x - &shift;
                let (sum, part) = (c.sum_axis(Axis(0)), c.t().dot(&c));
                let mut acc = acc.lock().unwrap();
                add_into(&mut acc.0, &sum);
                add_into(&mut acc.1, &part);
            },
        );
        // Σ(x-K)(x-K)ᵀ - n (μ-K)(μ-K)ᵀ, with μ-K = s/n.
        let d = s.insert_axis(Axis(1));
        let cov = (m2 - d.dot(&d.t()) / n as f64) / (n - 1) as f64;
        Ok(to_real(cov))
    }
}

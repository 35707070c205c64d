//! Shuffled epochs: every row exactly once, in a seeded random order, in
//! bounded-memory batches, for training loops. Behind the default `rand`
//! feature.
//!
//! [`Rows::shuffled`] draws a permutation of the rows (the only thing it
//! allocates: one `usize` per row) and returns a [`Shuffled`] epoch, which
//! delivers the rows in batches with the vocabulary of [`Rows`]: `chunks`,
//! `for_each_chunk`, `par_for_each_chunk`, each batch with the row numbers
//! it holds. The rows are gathered by the same copy as
//! [`Rows::select`], into one buffer per worker.

use std::fmt;
use std::iter::FusedIterator;

use ndarray::{Array2, ArrayView2, Dimension};
use rand::seq::SliceRandom;
use rand::Rng;

use crate::error::{unwrap_or_panic, PatchError};
use crate::flatten::{gather_new, try_vec_with_capacity, RowSource};
use crate::rows::{refill, RowSet, Rows};
use crate::scalar::{AsIs, Conversion};

/// # Shuffled epochs
impl<'a, A, D: Dimension, C: Clone> Rows<'a, A, D, C> {
    /// An epoch over these rows in a random order drawn from `rng`: every
    /// row exactly once, delivered in batches by [`Shuffled::chunks`],
    /// [`Shuffled::for_each_chunk`] or [`Shuffled::par_for_each_chunk`],
    /// each batch with its row numbers, never the whole matrix.
    ///
    /// Call it once per epoch with the same generator: each call draws a
    /// new order. The order is a Fisher-Yates shuffle of
    /// [`range`](Self::range) (rand 0.9's `SliceRandom::shuffle`): a
    /// generator in the same state gives the same order, on every
    /// platform; the order for a given generator state is stable within
    /// this crate's minor version.
    ///
    /// Memory: the permutation, one `usize` per row (8 bytes on 64-bit
    /// targets), plus one batch per worker while delivering.
    ///
    /// # Panics
    ///
    /// If the permutation cannot be allocated; see
    /// [`try_shuffled`](Self::try_shuffled).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::rand::{rngs::StdRng, SeedableRng};
    ///
    /// let img = Array2::from_shape_fn((32, 32), |(i, j)| ((i * 32 + j) % 251) as u8);
    /// let p = img.patches(8).step(2);                    // 13 x 13 = 169 windows
    /// let labels = Array1::from_shape_fn(p.len(), |r| (r % 2) as f32);
    /// let mut rng = StdRng::seed_from_u64(7);
    /// for _epoch in 0..3 {
    ///     let mut seen = 0;
    ///     // Minibatches of 32 rows (the last one 9), u8 pixels as f32.
    ///     p.cast::<f32>().shuffled(&mut rng).for_each_chunk(32, |idx, x| {
    ///         let y: Vec<f32> = idx.iter().map(|&r| labels[r]).collect(); // row r's label
    ///         assert_eq!((x.nrows(), y.len()), (idx.len(), idx.len()));
    ///         // Where the first window of the batch is in the image:
    ///         let origin = p.position(idx[0]).unwrap().origin;
    ///         assert_eq!(x[[0, 0]], f32::from(img[origin]));
    ///         seen += x.nrows();
    ///     });
    ///     assert_eq!(seen, p.len());
    /// }
    /// ```
    #[track_caller]
    pub fn shuffled<R: Rng + ?Sized>(&self, rng: &mut R) -> Shuffled<'a, A, D, C> {
        unwrap_or_panic(self.try_shuffled(rng))
    }

    /// Like [`shuffled`](Self::shuffled), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::Overflow`] if the permutation's size in bytes
    /// overflows `isize`, [`PatchError::OutOfMemory`] if it cannot be
    /// allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::rand::{rngs::StdRng, SeedableRng};
    ///
    /// let img = Array2::<f32>::zeros((64, 64));
    /// let epoch = img.patches(16).try_shuffled(&mut StdRng::seed_from_u64(1))?;
    /// assert_eq!(epoch.len(), 49 * 49);
    /// // 2^60 virtual windows: no permutation fits in memory.
    /// let one = Array2::<u8>::zeros((1, 1));
    /// let huge = one.broadcast((1 << 30, 1 << 30)).unwrap();
    /// assert!(huge.patches(1).try_shuffled(&mut StdRng::seed_from_u64(1)).is_err());
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_shuffled<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<Shuffled<'a, A, D, C>, PatchError> {
        let mut order =
            try_vec_with_capacity(self.len(), "the shuffled order (one index per row)")?;
        order.extend(self.range());
        order.shuffle(rng);
        Ok(Shuffled {
            rows: self.clone(),
            order,
        })
    }
}

/// One epoch of shuffled rows: every row of a [`Rows`] exactly once, in a
/// random order, delivered in batches. Made by [`Rows::shuffled`].
///
/// Batch `k` of `rows` rows holds the rows
/// `order()[k * rows..(k + 1) * rows]` (the last batch is shorter), in that
/// order: row `i` of a batch is row `indices[i]` of the patch matrix, an
/// absolute row number as in [`Rows::chunks`]' `start`, so
/// [`Patches::position`](crate::Patches::position) gives its window's
/// origin and `labels[indices[i]]` its label.
///
/// | method | gives | memory |
/// |---|---|---|
/// | [`chunks`](Self::chunks) | an iterator of owned `(indices, batch)` | one batch |
/// | [`for_each_chunk`](Self::for_each_chunk) | `f(indices, batch)` in order, one reused buffer | one batch |
/// | [`par_for_each_chunk`](Self::par_for_each_chunk) | `f(indices, batch)` on every thread | a batch per thread |
///
/// plus the permutation itself, one `usize` per row. A batch's rows are
/// gathered by the copy of [`Rows::select`] (with the conversion of a
/// [`cast`](Rows::cast) or [`map_elems`](Rows::map_elems) applied).
///
/// Speed: in-order delivery reads overlapping windows from cache, a
/// shuffled batch reads each window from a random place of the source.
/// Measured on this project's 2-core machine (f32, 16x16 windows, batches
/// of 256 rows), a shuffled epoch streams about 3.3 GB/s of rows against
/// 6.4 GB/s in order for a 1000x1000 image, and about 0.9 against 9.5
/// GB/s for a 4096x4096 one (larger than the cache, and its
/// power-of-two rows compete for the same cache sets).
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::rand::{rngs::StdRng, SeedableRng};
///
/// let a = Array1::from_iter(0..10u8);
/// let p = a.patches(3);                                  // 8 rows
/// let epoch = p.shuffled(&mut StdRng::seed_from_u64(3));
/// let mut order = epoch.order().to_vec();
/// order.sort();
/// assert_eq!(order, (0..8).collect::<Vec<_>>());        // a permutation
/// for (idx, batch) in epoch.chunks(3) {                  // 3, 3 and 2 rows
///     for (i, &r) in idx.iter().enumerate() {
///         assert_eq!(batch.row(i).to_vec(), vec![r as u8, r as u8 + 1, r as u8 + 2]);
///     }
/// }
/// // The same seed, the same order.
/// assert_eq!(epoch.order(), p.shuffled(&mut StdRng::seed_from_u64(3)).order());
/// ```
pub struct Shuffled<'a, A, D: Dimension, C = AsIs> {
    rows: Rows<'a, A, D, C>,
    order: Vec<usize>,
}

impl<A, D: Dimension, C: Clone> Clone for Shuffled<'_, A, D, C> {
    fn clone(&self) -> Self {
        Shuffled {
            rows: self.rows.clone(),
            order: self.order.clone(),
        }
    }
}

impl<A, D: Dimension, C: fmt::Debug> fmt::Debug for Shuffled<'_, A, D, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shuffled")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<A, D: Dimension, C> Shuffled<'_, A, D, C> {
    /// The epoch's order: every row number of the range, once each, in the
    /// order the batches deliver them.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::rand::{rngs::StdRng, SeedableRng};
    ///
    /// let a = Array1::<f32>::zeros(10);
    /// let epoch = a.patches(3).rows(2..6).shuffled(&mut StdRng::seed_from_u64(0));
    /// let mut rows = epoch.order().to_vec();
    /// rows.sort();
    /// assert_eq!(rows, vec![2, 3, 4, 5]);                // absolute row numbers
    /// ```
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The number of rows in the epoch.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::rand::{rngs::StdRng, SeedableRng};
    ///
    /// let a = Array1::<f32>::zeros(10);
    /// assert_eq!(a.patches(3).shuffled(&mut StdRng::seed_from_u64(0)).len(), 8);
    /// ```
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// `true` if the epoch has no rows.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::rand::{rngs::StdRng, SeedableRng};
    ///
    /// let a = Array1::<f32>::zeros(10);
    /// assert!(a.patches(3).rows(4..4).shuffled(&mut StdRng::seed_from_u64(0)).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The rows of batch `k` of `rows` rows.
    fn batch(&self, rows: usize, k: usize) -> &[usize] {
        let start = k * rows;
        &self.order[start..self.order.len().min(start + rows)]
    }
}

/// # Delivering the epoch in batches
impl<A: Copy + Send + Sync, D: Dimension, C: Conversion<A>> Shuffled<'_, A, D, C> {
    /// Owned batches of `rows` rows (the last one shorter), in the epoch's
    /// order, as `(indices, batch)`: row `i` of `batch` is row
    /// `indices[i]`. Each batch is a new array, gathered on every core,
    /// that you may keep.
    ///
    /// # Panics
    ///
    /// If `rows` is zero (with the message "chunk size is zero rows; it
    /// must be at least 1", as [`Rows::chunks`]), or a batch's size in
    /// bytes overflows `isize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::rand::{rngs::StdRng, SeedableRng};
    ///
    /// let img = Array2::from_shape_fn((10, 10), |(i, j)| (i * 10 + j) as u16);
    /// let p = img.patches(4).step(3);                    // 9 windows
    /// let mut rng = StdRng::seed_from_u64(5);
    /// for (idx, batch) in p.shuffled(&mut rng).chunks(4) {   // 4, 4 and 1 rows
    ///     assert_eq!(batch, p.select(idx));
    /// }
    /// // The batches borrow the epoch: keep it to keep them.
    /// let epoch = p.shuffled(&mut rng);
    /// let batches: Vec<_> = epoch.chunks(4).collect();
    /// assert_eq!(batches.iter().map(|(idx, _)| idx.len()).collect::<Vec<_>>(), vec![4, 4, 1]);
    /// ```
    #[track_caller]
    pub fn chunks(&self, rows: usize) -> ShuffledChunks<'_, A, C> {
        let rows = self.rows.checked_chunk_rows(rows);
        ShuffledChunks {
            source: unwrap_or_panic(self.rows.row_source()),
            conv: self.rows.conversion(),
            batches: self.order.chunks(rows),
        }
    }

    /// Calls `f(indices, batch)` for batches of `rows` rows (the last one
    /// shorter), in the epoch's order, on the calling thread: row `i` of
    /// `batch` is row `indices[i]`. Each batch is gathered on every core
    /// into one buffer, allocated once and refilled. Memory: one batch.
    ///
    /// # Panics
    ///
    /// If `rows` is zero (with the message "chunk size is zero rows; it
    /// must be at least 1", as [`Rows::for_each_chunk`]), or a batch's
    /// size in bytes overflows `isize`; a panic in `f` propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::rand::{rngs::StdRng, SeedableRng};
    ///
    /// // Minibatch SGD on every 5x5 window: a linear model, never the matrix.
    /// let img = Array2::from_shape_fn((40, 40), |(i, j)| ((i * 3 + j * 5) % 17) as f32 / 17.0);
    /// let p = img.patches(5);
    /// let target = p.dot(&Array1::from_elem(25, 0.04f32));  // the window means
    /// let mut w = Array1::<f32>::zeros(25);
    /// let mse = |w: &Array1<f32>| (p.dot(w) - &target).mapv(|e| e * e).mean().unwrap();
    /// let before = mse(&w);
    /// let mut rng = StdRng::seed_from_u64(0);
    /// for _epoch in 0..5 {
    ///     p.shuffled(&mut rng).for_each_chunk(64, |idx, x| {
    ///         let y = Array1::from_iter(idx.iter().map(|&r| target[r]));
    ///         let err = x.dot(&w) - y;
    ///         w.scaled_add(-0.05 / idx.len() as f32, &x.t().dot(&err));
    ///     });
    /// }
    /// assert!(mse(&w) < before / 10.0);
    /// ```
    #[track_caller]
    pub fn for_each_chunk<F>(&self, rows: usize, mut f: F)
    where
        F: FnMut(&[usize], ArrayView2<'_, C::Output>),
    {
        let rows = self.rows.checked_chunk_rows(rows);
        if self.is_empty() {
            return;
        }
        let src = unwrap_or_panic(self.rows.row_source());
        let conv = self.rows.conversion();
        // The first batch, the largest, allocates the one buffer.
        let mut buf = None;
        for idx in self.order.chunks(rows) {
            f(
                idx,
                refill(&src, conv, &mut buf, RowSet::Indices(idx), true),
            );
        }
    }

    /// Calls `f(indices, batch)` for batches of `rows` rows (the last one
    /// shorter) on every rayon thread, in no particular order: row `i` of
    /// `batch` is row `indices[i]`. Each worker gathers into its own
    /// buffer and runs `f` on it. Memory: one batch per thread.
    ///
    /// The visitor gets the batch's row numbers rather than a batch
    /// number: batches are disjoint, so anything kept per row can be
    /// written at `indices[i]` without overlap, labels read at
    /// `labels[indices[i]]`, and `indices[0]` names a batch within the
    /// epoch. Batch `k` is `order().chunks(rows).nth(k)`.
    ///
    /// # Panics
    ///
    /// If `rows` is zero (with the message "chunk size is zero rows; it
    /// must be at least 1", as [`Rows::par_for_each_chunk`]), or a batch's
    /// size in bytes overflows `isize`; a panic in `f` propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::rand::{rngs::StdRng, SeedableRng};
    ///
    /// let img = Array2::from_shape_fn((64, 64), |(i, j)| (i + j) as u8);
    /// let p = img.patches(8);
    /// // One value per row, written where the row's number says.
    /// let firsts: Vec<AtomicU64> = (0..p.len()).map(|_| AtomicU64::new(u64::MAX)).collect();
    /// p.shuffled(&mut StdRng::seed_from_u64(11)).par_for_each_chunk(100, |idx, batch| {
    ///     for (i, &r) in idx.iter().enumerate() {
    ///         firsts[r].store(u64::from(batch[[i, 0]]), Ordering::Relaxed);
    ///     }
    /// });
    /// let pos = p.position(300).unwrap().origin;
    /// assert_eq!(firsts[300].load(Ordering::Relaxed), u64::from(img[pos]));
    /// ```
    #[track_caller]
    pub fn par_for_each_chunk<F>(&self, rows: usize, f: F)
    where
        F: Fn(&[usize], ArrayView2<'_, C::Output>) + Sync + Send,
    {
        let rows = self.rows.checked_chunk_rows(rows);
        let n_batches = self.len().div_ceil(rows);
        let workers = rayon::current_num_threads().min(n_batches.max(1));
        self.rows.par_fold_sets(
            n_batches,
            |k| RowSet::Indices(self.batch(rows, k)),
            vec![(); workers],
            |(), k, batch| f(self.batch(rows, k), batch),
            |(), ()| (),
        );
    }
}

/// Owned batches of a shuffled epoch as `(indices, batch)`; see
/// [`Shuffled::chunks`].
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::rand::{rngs::StdRng, SeedableRng};
///
/// let a = Array1::from_iter(0..6);
/// let epoch = a.patches(3).shuffled(&mut StdRng::seed_from_u64(0)); // 4 rows
/// let batches = epoch.chunks(3);
/// assert_eq!(batches.len(), 2);
/// let shapes: Vec<_> = batches.map(|(_, b)| b.dim()).collect();
/// assert_eq!(shapes, vec![(3, 3), (1, 3)]);
/// ```
pub struct ShuffledChunks<'s, A, C = AsIs> {
    source: RowSource<'s, A>,
    conv: &'s C,
    batches: std::slice::Chunks<'s, usize>,
}

impl<A, C> fmt::Debug for ShuffledChunks<'_, A, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShuffledChunks")
            .field("batches_left", &self.batches.len())
            .finish_non_exhaustive()
    }
}

impl<'s, A: Copy + Sync, C: Conversion<A>> Iterator for ShuffledChunks<'s, A, C> {
    type Item = (&'s [usize], Array2<C::Output>);

    fn next(&mut self) -> Option<Self::Item> {
        let idx = self.batches.next()?;
        let batch = unwrap_or_panic(gather_new(&self.source, self.conv, idx, true));
        Some((idx, batch))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.batches.size_hint()
    }
}

impl<A: Copy + Sync, C: Conversion<A>> ExactSizeIterator for ShuffledChunks<'_, A, C> {}
impl<A: Copy + Sync, C: Conversion<A>> FusedIterator for ShuffledChunks<'_, A, C> {}

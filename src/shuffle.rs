//! Shuffled epochs: every row exactly once, in a seeded random order, for
//! training loops. Behind the default `rand` feature.
//!
//! [`Rows::shuffled`] draws a permutation of the rows (the only thing it
//! allocates: one `usize` per row) and returns it as an index row set
//! ([`Indices`]): every delivery method of [`Rows`] then hands out the
//! epoch's minibatches, each with the row numbers it holds.

use ndarray::Dimension;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::error::{unwrap_or_panic, PatchError};
use crate::flatten::try_vec_with_capacity;
use crate::rows::{Indices, RowSet, Rows};

/// # Shuffled epochs
impl<'a, A, D: Dimension, C: Clone, S: RowSet> Rows<'a, A, D, C, S> {
    /// An epoch over these rows in a random order drawn from `rng`: every
    /// row of the set exactly once (as often as it is in the set), as an
    /// index row set. Deliver it with any method of [`Rows`]:
    /// `for_each_chunk(32, |rows, batch| ..)` hands out minibatches of 32
    /// with their row numbers, `par_for_each_chunk` on every core,
    /// `to_matrix` the shuffled matrix.
    ///
    /// Call it once per epoch with the same generator: each call draws a
    /// new order. The order is a Fisher-Yates shuffle of the set's rows
    /// (rand 0.9's `SliceRandom::shuffle`): a generator in the same state
    /// gives the same order, on every platform; the order for a given
    /// generator state is stable within this crate's minor version.
    ///
    /// Memory: the permutation, one `usize` per row, plus one batch per
    /// worker while delivering. In-order delivery reads overlapping
    /// windows from cache; a shuffled batch reads each window from a
    /// random place of the source, which is slower on images larger than
    /// the cache (`benches/stream.rs` measures both).
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
    /// // The same seed, the same order; every row once.
    /// let a = p.shuffled(&mut StdRng::seed_from_u64(3));
    /// assert_eq!(a.indices(), p.shuffled(&mut StdRng::seed_from_u64(3)).indices());
    /// let mut order = a.indices().to_vec();
    /// order.sort();
    /// assert_eq!(order, (0..p.len()).collect::<Vec<_>>());
    /// ```
    #[track_caller]
    pub fn shuffled<R: Rng + ?Sized>(&self, rng: &mut R) -> Rows<'a, A, D, C, Indices> {
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
    ) -> Result<Rows<'a, A, D, C, Indices>, PatchError> {
        let set = self.row_set();
        let mut order =
            try_vec_with_capacity(set.count(), "the shuffled order (one index per row)")?;
        order.extend((0..set.count()).map(|k| set.row(k)));
        order.shuffle(rng);
        Ok(self.with_set(Indices::new(order)))
    }
}

//! Non-overlapping blocks (tiles): read-only ones are patches whose step is
//! their shape; [`BlocksMut`] hands out mutable views of them.
//!
//! Mutable blocks are sound to hand out (several at once, on several
//! threads) because they never overlap: each source element belongs to at
//! most one block. ndarray's `exact_chunks_mut` producer implements exactly
//! that split with safe code, so this module needs no `unsafe`.

use std::fmt;

use ndarray::iter::ExactChunksMut;
use ndarray::{Array, ArrayViewMut, Dimension, Zip};

/// Mutable, non-overlapping blocks of an array, in row-major order over the
/// grid of blocks (see [`PatchExt::blocks_mut`](crate::PatchExt::blocks_mut)).
/// A remainder that does not fill a whole block is left out.
///
/// # Examples
///
/// ```
/// use ndarray::{array, Array2};
/// use ndarray_patches::prelude::*;
///
/// let mut a = Array2::<u32>::zeros((4, 5));
/// for (k, mut b) in a.blocks_mut((2, 2)).into_iter().enumerate() {
///     b.fill(k as u32 + 1);
/// }
/// assert_eq!(a, array![[1, 1, 2, 2, 0], [1, 1, 2, 2, 0], [3, 3, 4, 4, 0], [3, 3, 4, 4, 0]]);
/// ```
pub struct BlocksMut<'a, A, D: Dimension> {
    chunks: ExactChunksMut<'a, A, D>,
    grid: D,
}

impl<A, D: Dimension> fmt::Debug for BlocksMut<'_, A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlocksMut")
            .field("grid", &self.grid)
            .finish_non_exhaustive()
    }
}

impl<'a, A, D: Dimension> BlocksMut<'a, A, D> {
    pub(crate) fn new(chunks: ExactChunksMut<'a, A, D>, grid: D) -> Self {
        BlocksMut { chunks, grid }
    }

    /// Number of blocks along each axis.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array2, Dim};
    /// use ndarray_patches::prelude::*;
    ///
    /// let mut a = Array2::<u8>::zeros((9, 10));
    /// assert_eq!(a.blocks_mut((4, 5)).grid(), Dim([2, 2]));
    /// ```
    pub fn grid(&self) -> D {
        self.grid.clone()
    }

    /// Number of blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let mut a = Array2::<u8>::zeros((9, 10));
    /// assert_eq!(a.blocks_mut((3, 5)).len(), 6);
    /// ```
    pub fn len(&self) -> usize {
        self.grid.size()
    }

    /// `true` if there are no blocks (never, for a valid request; for
    /// symmetry with [`len`](Self::len)).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let mut a = Array2::<u8>::zeros((4, 4));
    /// assert!(!a.blocks_mut((4, 4)).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f(k, block)` for every block `k` (row-major number) on all
    /// rayon threads at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// // Normalize every 8x8 tile to zero mean, in parallel.
    /// let mut img = Array2::from_shape_fn((64, 64), |(i, j)| (i * j) as f32);
    /// img.blocks_mut((8, 8)).par_for_each(|_, mut tile| {
    ///     let m = tile.mean().unwrap();
    ///     tile -= m;
    /// });
    /// assert!(img.slice(ndarray::s![8..16, 8..16]).sum().abs() < 1e-3);
    /// ```
    pub fn par_for_each<F>(self, f: F)
    where
        A: Send,
        F: Fn(usize, ArrayViewMut<'_, A, D>) + Sync + Send,
    {
        // Block numbers laid out like the blocks (8 bytes per block; Zip's
        // own indices would need a `Copy` dimension, excluding IxDyn).
        let numbers = Array::from_iter(0..self.grid.size())
            .into_shape_with_order(self.grid)
            .expect("the grid has grid.size() elements");
        Zip::from(self.chunks)
            .and(&numbers)
            .par_for_each(|block, &k| f(k, block));
    }
}

impl<'a, A, D: Dimension> IntoIterator for BlocksMut<'a, A, D> {
    type Item = ArrayViewMut<'a, A, D>;
    type IntoIter = ndarray::iter::ExactChunksIterMut<'a, A, D>;

    fn into_iter(self) -> Self::IntoIter {
        self.chunks.into_iter()
    }
}

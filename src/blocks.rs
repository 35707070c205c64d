//! Non-overlapping blocks (tiles): read-only ones are patches whose step is
//! their shape; [`BlocksMut`] hands out mutable views of them.
//!
//! Mutable blocks are sound to hand out (several at once, on several
//! threads) because they never overlap: each source element belongs to at
//! most one block. The split is done with ndarray's safe, consuming
//! `split_at`, one axis at a time, so this module needs no
//! `unsafe`. (ndarray's `exact_chunks_mut` would do it in one call, but it
//! multiplies negative strides as `usize` and panics on overflow in debug
//! builds for reversed views.)

use std::fmt;

use ndarray::{ArrayViewMut, Axis, Dimension, Slice};

use rayon::prelude::*;

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
    /// The blocks in row-major order (one small view per block).
    blocks: Vec<ArrayViewMut<'a, A, D>>,
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
    /// The whole blocks of shape `block` of `view`, `grid` of them per axis
    /// (validated by the caller: `grid[k] * block[k] <= view.shape()[k]`).
    pub(crate) fn new(mut view: ArrayViewMut<'a, A, D>, block: &D, grid: D) -> Self {
        // Drop the remainder, then split axis by axis: after axis k, the
        // list holds the blocks of axes 0..=k in row-major order.
        view.slice_each_axis_inplace(|ax| {
            let k = ax.axis.index();
            Slice::from(..grid[k] * block[k])
        });
        let mut blocks = vec![view];
        for k in 0..grid.ndim() {
            let mut next = Vec::with_capacity(blocks.len() * grid[k]);
            for mut rest in blocks {
                for _ in 1..grid[k] {
                    let (head, tail) = rest.split_at(Axis(k), block[k]);
                    next.push(head);
                    rest = tail;
                }
                next.push(rest);
            }
            blocks = next;
        }
        BlocksMut { blocks, grid }
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
        self.blocks
            .into_par_iter()
            .enumerate()
            .for_each(|(k, block)| f(k, block));
    }
}

impl<'a, A, D: Dimension> IntoIterator for BlocksMut<'a, A, D> {
    type Item = ArrayViewMut<'a, A, D>;
    type IntoIter = std::vec::IntoIter<ArrayViewMut<'a, A, D>>;

    fn into_iter(self) -> Self::IntoIter {
        self.blocks.into_iter()
    }
}

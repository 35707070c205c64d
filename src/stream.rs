//! Chunked, bounded-memory flattening.

use std::fmt;
use std::iter::FusedIterator;
use std::mem::size_of;

use ndarray::{Array2, Dimension};

use crate::error::{unwrap_or_panic, PatchError};
use crate::flatten::{fill_new, RowSource};
use crate::patches::Patches;

/// The patch matrix as owned row blocks; see [`Patches::chunks`].
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
///
/// let a = Array1::from_iter(0..6);
/// let p = a.patches(3);
/// let shapes: Vec<_> = p.chunks(3).map(|c| c.dim()).collect();
/// assert_eq!(shapes, vec![(3, 3), (1, 3)]);
/// ```
pub struct Chunks<'p, A> {
    source: RowSource<'p, A>,
    len: usize,
    rows: usize,
    next: usize,
}

impl<A> fmt::Debug for Chunks<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunks")
            .field("len", &self.len)
            .field("rows", &self.rows)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<A: Copy + Send + Sync> Iterator for Chunks<'_, A> {
    type Item = Array2<A>;

    fn next(&mut self) -> Option<Array2<A>> {
        if self.next >= self.len {
            return None;
        }
        let rows = self.rows.min(self.len - self.next);
        let block = fill_new(&self.source, self.next, rows);
        self.next += rows;
        Some(block)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.len - self.next).div_ceil(self.rows);
        (n, Some(n))
    }
}

impl<A: Copy + Send + Sync> ExactSizeIterator for Chunks<'_, A> {}
impl<A: Copy + Send + Sync> FusedIterator for Chunks<'_, A> {}

/// # Streaming
impl<'a, A: Copy + Send + Sync, D: Dimension> Patches<'a, A, D> {
    /// The patch matrix in blocks of at most `rows` rows, each a new
    /// `(rows, patch_len)` array filled in parallel: walking every patch of
    /// a large image holds one block at a time, never the whole matrix.
    ///
    /// # Panics
    ///
    /// If `rows` is zero or a block's size in bytes overflows `isize`; see
    /// [`try_chunks`](Self::try_chunks).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((256, 256), |(i, j)| (i ^ j) as f32);
    /// let p = img.patches((16, 16));
    /// let mut total = 0.0f64;
    /// for block in p.chunks(1024) {        // 1024 x 256 f32 = 1 MiB at a time
    ///     total += block.iter().map(|&x| x as f64).sum::<f64>();
    /// }
    /// let direct: f64 = p.iter().map(|w| w.iter().map(|&x| x as f64).sum::<f64>()).sum();
    /// assert_eq!(total, direct);
    /// ```
    #[track_caller]
    pub fn chunks(&self, rows: usize) -> Chunks<'a, A> {
        unwrap_or_panic(self.try_chunks(rows))
    }

    /// Like [`chunks`](Self::chunks), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ZeroChunkRows`] if `rows` is zero,
    /// [`PatchError::Overflow`] if a block's size in bytes overflows `isize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::PatchError;
    ///
    /// let a = Array1::<f32>::zeros(8);
    /// assert_eq!(a.patches(2).try_chunks(0).unwrap_err(), PatchError::ZeroChunkRows);
    /// assert_eq!(a.patches(2).try_chunks(4)?.len(), 2);
    /// # Ok::<(), PatchError>(())
    /// ```
    pub fn try_chunks(&self, rows: usize) -> Result<Chunks<'a, A>, PatchError> {
        if rows == 0 {
            return Err(PatchError::ZeroChunkRows);
        }
        let rows = rows.min(self.len());
        self.geometry().block_elements(rows, size_of::<A>())?;
        Ok(Chunks {
            source: self.row_source()?,
            len: self.len(),
            rows,
            next: 0,
        })
    }
}

//! Row ranges and bounded-memory flattening: `to_matrix`, `write_rows`,
//! owned row blocks (`chunks`), and the buffer-reusing visitors
//! `for_each_chunk` / `par_for_each_chunk`, each also with conversion of the
//! element type during the copy (`_as::<B>`).
//!
//! Memory: a visitor holds one `(rows, patch_len)` buffer
//! (`for_each_chunk`) or one per worker thread (`par_for_each_chunk`),
//! allocated once and refilled; nothing is proportional to the number of
//! patches.

use std::fmt;
use std::iter::FusedIterator;
use std::mem::size_of;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Dimension};
use rayon::prelude::*;

use crate::error::{unwrap_or_panic, PatchError};
use crate::flatten::{fill_new, fill_view, Convert, RowSource, RunCopy, Same};
use crate::patches::Patches;

/// The chunk size, in bytes, that [`Patches::default_chunk_rows`] aims at:
/// 1 MiB.
///
/// A chunk is written by the flattener and then read by the caller's code;
/// when it fits in the core's L2 cache (1-2 MiB on current x86 and ARM
/// cores) the second pass reads from cache instead of DRAM, and the buffer
/// is never evicted between refills. Much smaller chunks pay the per-chunk
/// overhead (a rayon split, the caller's per-call setup, a short GEMM);
/// much larger ones spill to DRAM.
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::DEFAULT_CHUNK_BYTES;
///
/// let img = Array2::<f32>::zeros((512, 512));
/// let p = img.patches((16, 16));
/// assert_eq!(p.default_chunk_rows(), DEFAULT_CHUNK_BYTES / (16 * 16 * 4));
/// ```
pub const DEFAULT_CHUNK_BYTES: usize = 1 << 20;

/// A contiguous range of rows of the patch matrix: the patches
/// `start..end` in row order, for splitting one image's work between
/// workers, processes or machines. Made by [`Patches::range`].
///
/// Row numbers handed to callbacks and returned by positions are always
/// absolute (rows of the whole matrix), so results can be placed without
/// offset arithmetic.
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
///
/// let a = Array1::from_iter(0..10);
/// let p = a.patches(3);              // 8 patches
/// let second_half = p.range(4..);
/// assert_eq!((second_half.start(), second_half.end()), (4, 8));
/// assert_eq!(second_half.to_matrix().row(0).to_vec(), vec![4, 5, 6]);
/// ```
pub struct PatchRange<'p, 'a, A, D: Dimension> {
    patches: &'p Patches<'a, A, D>,
    start: usize,
    end: usize,
}

impl<A, D: Dimension> Clone for PatchRange<'_, '_, A, D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A, D: Dimension> Copy for PatchRange<'_, '_, A, D> {}

impl<A, D: Dimension> fmt::Debug for PatchRange<'_, '_, A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatchRange")
            .field("start", &self.start)
            .field("end", &self.end)
            .field("patches", self.patches)
            .finish()
    }
}

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
pub struct Chunks<'a, A, B = A> {
    source: RowSource<'a, A>,
    fill: fn(&RowSource<'a, A>, usize, usize, bool) -> Array2<B>,
    next: usize,
    end: usize,
    rows: usize,
}

impl<A, B> fmt::Debug for Chunks<'_, A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunks")
            .field("next", &self.next)
            .field("end", &self.end)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<A, B> Iterator for Chunks<'_, A, B> {
    type Item = Array2<B>;

    fn next(&mut self) -> Option<Array2<B>> {
        if self.next >= self.end {
            return None;
        }
        let rows = self.rows.min(self.end - self.next);
        let block = (self.fill)(&self.source, self.next, rows, true);
        self.next += rows;
        Some(block)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.end - self.next).div_ceil(self.rows);
        (n, Some(n))
    }
}

impl<A, B> ExactSizeIterator for Chunks<'_, A, B> {}
impl<A, B> FusedIterator for Chunks<'_, A, B> {}

/// Where a patch is: its row, its grid index and the source index of its
/// first element. See [`Patches::position`] and [`Patches::positions`].
///
/// # Examples
///
/// ```
/// use ndarray::{Array2, Dim};
/// use ndarray_patches::prelude::*;
///
/// let img = Array2::<u8>::zeros((10, 10));
/// let pos = img.patches((4, 4)).step((3, 3)).position(5);
/// assert_eq!(pos.row, 5);
/// assert_eq!(pos.grid, Dim([1, 2]));
/// assert_eq!(pos.origin, Dim([3, 6]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Position<D> {
    /// Row of the patch matrix (patch number).
    pub row: usize,
    /// Index of the patch on the grid.
    pub grid: D,
    /// Source index of the patch's first element: `grid * step` per axis.
    pub origin: D,
}

/// Iterator over the [`Position`]s of a row range; see
/// [`Patches::positions`].
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
///
/// let a = Array1::<u8>::zeros(9);
/// let origins: Vec<usize> = a.patches(3).step(2).positions(..).map(|p| p.origin[0]).collect();
/// assert_eq!(origins, vec![0, 2, 4, 6]);
/// ```
#[derive(Clone, Debug)]
pub struct Positions<D: Dimension> {
    grid_shape: D,
    step: D,
    next: Position<D>,
    end: usize,
}

impl<D: Dimension> Iterator for Positions<D> {
    type Item = Position<D>;

    fn next(&mut self) -> Option<Position<D>> {
        if self.next.row >= self.end {
            return None;
        }
        let out = self.next.clone();
        // Odometer over the grid: no division per patch.
        let p = &mut self.next;
        p.row += 1;
        for k in (0..p.grid.ndim()).rev() {
            p.grid[k] += 1;
            p.origin[k] += self.step[k];
            if p.grid[k] < self.grid_shape[k] {
                break;
            }
            p.grid[k] = 0;
            p.origin[k] = 0;
        }
        Some(out)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end.saturating_sub(self.next.row);
        (n, Some(n))
    }
}

impl<D: Dimension> ExactSizeIterator for Positions<D> {}
impl<D: Dimension> FusedIterator for Positions<D> {}

fn resolve(range: impl RangeBounds<usize>, len: usize) -> Result<(usize, usize), PatchError> {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.checked_add(1).ok_or(PatchError::Overflow {
            quantity: "range start",
        })?,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.checked_add(1).ok_or(PatchError::Overflow {
            quantity: "range end",
        })?,
        Bound::Excluded(&e) => e,
        Bound::Unbounded => len,
    };
    if start > end || end > len {
        return Err(PatchError::RowsOutOfRange {
            start,
            rows: end.saturating_sub(start),
            len,
        });
    }
    Ok((start, end))
}

/// # Row ranges, positions and sizing
impl<'a, A, D: Dimension> Patches<'a, A, D> {
    /// The rows `range` of the patch matrix (patches in row order), for
    /// splitting the work on one image.
    ///
    /// # Panics
    ///
    /// If the range is decreasing or reaches past the last patch; see
    /// [`try_range`](Self::try_range).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((64, 64));
    /// let p = img.patches((8, 8));
    /// let half = p.len() / 2;
    /// let (a, b) = (p.range(..half), p.range(half..));
    /// assert_eq!(a.len() + b.len(), p.len());
    /// ```
    #[track_caller]
    pub fn range(&self, range: impl RangeBounds<usize>) -> PatchRange<'_, 'a, A, D> {
        unwrap_or_panic(self.try_range(range))
    }

    /// Like [`range`](Self::range), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::RowsOutOfRange`] for a decreasing range or one past the
    /// last patch.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// assert!(a.patches(3).try_range(2..9).is_err()); // 8 patches
    /// assert_eq!(a.patches(3).try_range(2..=7)?.len(), 6);
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_range(
        &self,
        range: impl RangeBounds<usize>,
    ) -> Result<PatchRange<'_, 'a, A, D>, PatchError> {
        let (start, end) = resolve(range, self.len())?;
        Ok(PatchRange {
            patches: self,
            start,
            end,
        })
    }

    fn all(&self) -> PatchRange<'_, 'a, A, D> {
        PatchRange {
            patches: self,
            start: 0,
            end: self.len(),
        }
    }

    /// The bytes [`to_matrix`](Self::to_matrix) would allocate:
    /// `len * patch_len * size_of::<A>()`.
    ///
    /// # Errors
    ///
    /// [`PatchError::Overflow`] if that number overflows `isize` (no
    /// allocation could hold it).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((4096, 4096));
    /// let p = img.patches((39, 39));
    /// assert_eq!(p.matrix_bytes()?, 4058 * 4058 * 1521 * 4); // about 100 GB
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn matrix_bytes(&self) -> Result<usize, PatchError> {
        let elements = self.geometry().block_elements(self.len(), size_of::<A>())?;
        Ok(elements * size_of::<A>())
    }

    /// The number of rows whose `(rows, patch_len)` block of `A` takes at
    /// most `bytes` (at least 1, at most [`len`](Self::len)). For a
    /// conversion to `B`, scale `bytes` by `size_of::<A>() / size_of::<B>()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((1024, 1024));
    /// let p = img.patches((16, 16));             // rows of 1 KiB
    /// assert_eq!(p.chunk_rows_for(256 * 1024), 256);
    /// assert_eq!(p.chunk_rows_for(1), 1);
    /// ```
    pub fn chunk_rows_for(&self, bytes: usize) -> usize {
        let row = self.patch_len().saturating_mul(size_of::<A>()).max(1);
        (bytes / row).clamp(1, self.len().max(1))
    }

    /// [`chunk_rows_for`](Self::chunk_rows_for) of [`DEFAULT_CHUNK_BYTES`]:
    /// a chunk that stays in a core's cache between being written and read.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((1024, 1024));
    /// let p = img.patches((16, 16));
    /// let mut n = 0;
    /// p.for_each_chunk(p.default_chunk_rows(), |_, chunk| n += chunk.nrows());
    /// assert_eq!(n, p.len());
    /// ```
    pub fn default_chunk_rows(&self) -> usize {
        self.chunk_rows_for(DEFAULT_CHUNK_BYTES)
    }

    /// Where patch `r` is: its grid index and its origin in the source.
    ///
    /// # Panics
    ///
    /// If `r >= len`; see [`try_position`](Self::try_position).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array2, Dim};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<u8>::zeros((100, 100));
    /// let p = img.patches((39, 39));
    /// assert_eq!(p.position(63).origin, Dim([1, 1]));
    /// ```
    #[track_caller]
    pub fn position(&self, r: usize) -> Position<D> {
        unwrap_or_panic(self.try_position(r))
    }

    /// Like [`position`](Self::position), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::RowsOutOfRange`] if `r >= len`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(5);
    /// assert!(a.patches(2).try_position(4).is_err());
    /// ```
    pub fn try_position(&self, r: usize) -> Result<Position<D>, PatchError> {
        self.geometry().check_rows(r, 1)?;
        Ok(Position {
            row: r,
            grid: self.geometry().grid_index(r),
            origin: self.geometry().origin(r),
        })
    }

    /// The positions of the patches in `range`, in row order: the cheap way
    /// to align one result per row of a chunk with the source.
    ///
    /// # Panics
    ///
    /// If the range is invalid, as [`range`](Self::range).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array2, Dim};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<u8>::zeros((5, 5));
    /// let p = img.patches((3, 3));      // grid (3, 3)
    /// let pos: Vec<_> = p.positions(2..5).map(|q| q.origin).collect();
    /// assert_eq!(pos, vec![Dim([0, 2]), Dim([1, 0]), Dim([1, 1])]);
    /// ```
    #[track_caller]
    pub fn positions(&self, range: impl RangeBounds<usize>) -> Positions<D> {
        let (start, end) = unwrap_or_panic(resolve(range, self.len()));
        let next = if start < end {
            self.position(start)
        } else {
            Position {
                row: start,
                grid: self.grid(),
                origin: self.grid(),
            }
        };
        Positions {
            grid_shape: self.grid(),
            step: self.steps(),
            next,
            end,
        }
    }
}

impl<'a, A, D: Dimension> PatchRange<'_, 'a, A, D> {
    /// First row of the range.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// assert_eq!(a.patches(2).range(3..5).start(), 3);
    /// ```
    pub fn start(&self) -> usize {
        self.start
    }

    /// One past the last row of the range.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// assert_eq!(a.patches(2).range(3..).end(), 9);
    /// ```
    pub fn end(&self) -> usize {
        self.end
    }

    /// Number of rows in the range.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// assert_eq!(a.patches(2).range(3..5).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// `true` if the range has no rows.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// assert!(a.patches(2).range(4..4).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The positions of the range's patches; see [`Patches::positions`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Dim};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// let p = a.patches(2);
    /// assert_eq!(p.range(7..).positions().next().unwrap().origin, Dim(7));
    /// ```
    pub fn positions(&self) -> Positions<D> {
        self.patches.positions(self.start..self.end)
    }
}

// ---------------------------------------------------------------------------
// The engines: one per way of delivering rows, generic over the run copier.

fn checked_chunk<A, B, D: Dimension>(
    r: &PatchRange<'_, '_, A, D>,
    rows: usize,
) -> Result<usize, PatchError> {
    if rows == 0 {
        return Err(PatchError::ZeroChunkRows);
    }
    let rows = rows.min(r.len()).max(1);
    r.patches.geometry().block_elements(rows, size_of::<B>())?;
    Ok(rows)
}

impl<'a, A: Copy + Send + Sync, D: Dimension> PatchRange<'_, 'a, A, D> {
    fn matrix_impl<B: Copy + Send, C: RunCopy<A, B>>(&self) -> Result<Array2<B>, PatchError> {
        self.patches
            .geometry()
            .block_elements(self.len(), size_of::<B>())?;
        let src = self.patches.row_source()?;
        Ok(fill_new::<A, B, C>(&src, self.start, self.len(), true))
    }

    fn chunks_impl<B: Copy + Send, C: RunCopy<A, B>>(
        &self,
        rows: usize,
    ) -> Result<Chunks<'a, A, B>, PatchError> {
        let rows = checked_chunk::<A, B, D>(self, rows)?;
        Ok(Chunks {
            source: self.patches.row_source()?,
            fill: fill_new::<A, B, C>,
            next: self.start,
            end: self.end,
            rows,
        })
    }

    fn for_each_impl<B, C, F>(&self, rows: usize, mut f: F) -> Result<(), PatchError>
    where
        B: Copy + Send + Sync,
        C: RunCopy<A, B>,
        F: FnMut(usize, ArrayView2<'_, B>),
    {
        let rows = checked_chunk::<A, B, D>(self, rows)?;
        if self.is_empty() {
            return Ok(());
        }
        let src = self.patches.row_source()?;
        // The first chunk allocates the one buffer; the others refill it.
        let mut buf = fill_new::<A, B, C>(&src, self.start, rows, true);
        f(self.start, buf.view());
        for start in (self.start + rows..self.end).step_by(rows) {
            let n = rows.min(self.end - start);
            let mut block = buf.slice_mut(s![..n, ..]);
            fill_view::<A, B, C>(&src, start, block.view_mut(), true);
            f(start, block.view());
        }
        Ok(())
    }

    fn par_for_each_impl<B, C, F>(&self, rows: usize, f: F) -> Result<(), PatchError>
    where
        B: Copy + Send + Sync,
        C: RunCopy<A, B>,
        F: Fn(usize, ArrayView2<'_, B>) + Sync + Send,
    {
        let rows = checked_chunk::<A, B, D>(self, rows)?;
        let n_chunks = self.len().div_ceil(rows);
        if n_chunks == 0 {
            return Ok(());
        }
        let src = self.patches.row_source()?;
        // One buffer per worker, at most one worker per thread; workers pull
        // chunk numbers from a shared counter, which balances the load
        // without ever holding more than `threads` buffers.
        let next = AtomicUsize::new(0);
        let workers = rayon::current_num_threads().min(n_chunks);
        (0..workers).into_par_iter().for_each(|_| {
            let mut buf: Option<Array2<B>> = None;
            loop {
                let c = next.fetch_add(1, Ordering::Relaxed);
                if c >= n_chunks {
                    break;
                }
                let start = self.start + c * rows;
                let n = rows.min(self.end - start);
                match &mut buf {
                    Some(b) if b.nrows() >= n => {
                        let mut block = b.slice_mut(s![..n, ..]);
                        fill_view::<A, B, C>(&src, start, block.view_mut(), false);
                        f(start, block.view());
                    }
                    _ => {
                        let b = buf.insert(fill_new::<A, B, C>(&src, start, n, false));
                        f(start, b.view());
                    }
                }
            }
        });
        Ok(())
    }
}

fn write_impl<A, B, C, D>(
    p: &Patches<'_, A, D>,
    start: usize,
    out: ArrayViewMut2<'_, B>,
) -> Result<(), PatchError>
where
    A: Copy + Send + Sync,
    B: Copy + Send + Sync,
    C: RunCopy<A, B>,
    D: Dimension,
{
    if out.ncols() != p.patch_len() {
        return Err(PatchError::RowWidth {
            expected: p.patch_len(),
            found: out.ncols(),
        });
    }
    p.geometry().check_rows(start, out.nrows())?;
    let src = p.row_source()?;
    fill_view::<A, B, C>(&src, start, out, true);
    Ok(())
}

impl<'a, A: Copy + Send + Sync, D: Dimension> Patches<'a, A, D> {
    pub(crate) fn row_source(&self) -> Result<RowSource<'a, A>, PatchError> {
        RowSource::new(self.source(), self.geometry())
    }
}

/// # Flattening a row range
impl<'a, A: Copy + Send + Sync, D: Dimension> PatchRange<'_, 'a, A, D> {
    /// The range's rows as a new `(len, patch_len)` matrix, filled in
    /// parallel.
    ///
    /// # Panics
    ///
    /// If the matrix's size in bytes overflows `isize`; see
    /// [`try_to_matrix`](Self::try_to_matrix).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array1};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0..6);
    /// assert_eq!(a.patches(3).range(1..3).to_matrix(), array![[1, 2, 3], [2, 3, 4]]);
    /// ```
    #[track_caller]
    pub fn to_matrix(&self) -> Array2<A> {
        unwrap_or_panic(self.try_to_matrix())
    }

    /// Like [`to_matrix`](Self::to_matrix), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::Overflow`] if the matrix's size in bytes overflows
    /// `isize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<f32>::zeros(6);
    /// assert_eq!(a.patches(3).range(1..).try_to_matrix()?.dim(), (3, 3));
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_to_matrix(&self) -> Result<Array2<A>, PatchError> {
        self.matrix_impl::<A, Same>()
    }

    /// Like [`to_matrix`](Self::to_matrix), converting each element to `B`
    /// during the copy (`u8` pixels to `f32` features, say) without
    /// converting the image first.
    ///
    /// # Panics
    ///
    /// As [`to_matrix`](Self::to_matrix); see
    /// [`try_to_matrix_as`](Self::try_to_matrix_as).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array1};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0u8..4);
    /// let m = a.patches(2).range(2..).to_matrix_as::<f32>();
    /// assert_eq!(m, array![[2.0, 3.0]]);
    /// ```
    #[track_caller]
    pub fn to_matrix_as<B: From<A> + Copy + Send + Sync>(&self) -> Array2<B> {
        unwrap_or_panic(self.try_to_matrix_as())
    }

    /// Like [`to_matrix_as`](Self::to_matrix_as), returning an error instead
    /// of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_to_matrix`](Self::try_to_matrix).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u16>::zeros(6);
    /// let m = a.patches(3).range(..2).try_to_matrix_as::<f64>()?;
    /// assert_eq!(m.dim(), (2, 3));
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_to_matrix_as<B: From<A> + Copy + Send + Sync>(
        &self,
    ) -> Result<Array2<B>, PatchError> {
        self.matrix_impl::<B, Convert>()
    }

    /// The range's rows as owned blocks of at most `rows` rows, each a new
    /// array filled in parallel. Holds one block at a time.
    ///
    /// # Panics
    ///
    /// If `rows` is zero or a block's size in bytes overflows `isize`; see
    /// [`try_chunks`](Self::try_chunks).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0..10);
    /// let starts: Vec<i32> = a.patches(3).range(2..7).chunks(2).map(|c| c[[0, 0]]).collect();
    /// assert_eq!(starts, vec![2, 4, 6]);
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
    ///
    /// let a = Array1::<f32>::zeros(10);
    /// assert!(a.patches(3).range(..).try_chunks(0).is_err());
    /// ```
    pub fn try_chunks(&self, rows: usize) -> Result<Chunks<'a, A>, PatchError> {
        self.chunks_impl::<A, Same>(rows)
    }

    /// Like [`chunks`](Self::chunks), converting each element to `B`.
    ///
    /// # Panics
    ///
    /// As [`chunks`](Self::chunks); see [`try_chunks_as`](Self::try_chunks_as).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0u8..10);
    /// let first = a.patches(3).range(..).chunks_as::<f32>(4).next().unwrap();
    /// assert_eq!(first[[3, 2]], 5.0);
    /// ```
    #[track_caller]
    pub fn chunks_as<B: From<A> + Copy + Send + Sync>(&self, rows: usize) -> Chunks<'a, A, B> {
        unwrap_or_panic(self.try_chunks_as(rows))
    }

    /// Like [`chunks_as`](Self::chunks_as), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// As [`try_chunks`](Self::try_chunks).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// assert_eq!(a.patches(3).range(..).try_chunks_as::<f32>(3)?.len(), 3);
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_chunks_as<B: From<A> + Copy + Send + Sync>(
        &self,
        rows: usize,
    ) -> Result<Chunks<'a, A, B>, PatchError> {
        self.chunks_impl::<B, Convert>(rows)
    }

    /// Calls `f(start, chunk)` for consecutive blocks of at most `rows` rows
    /// of the range, in order; `start` is the absolute row of the chunk's
    /// first row. One buffer is allocated with the first chunk and refilled
    /// (in parallel) for each next one: no allocation after the first chunk.
    ///
    /// # Panics
    ///
    /// If `rows` is zero or a chunk's size in bytes overflows `isize`; see
    /// [`try_for_each_chunk`](Self::try_for_each_chunk).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0..10);
    /// let mut seen = vec![];
    /// a.patches(3).range(2..7).for_each_chunk(2, |start, c| seen.push((start, c.nrows())));
    /// assert_eq!(seen, vec![(2, 2), (4, 2), (6, 1)]);
    /// ```
    #[track_caller]
    pub fn for_each_chunk<F>(&self, rows: usize, f: F)
    where
        F: FnMut(usize, ArrayView2<'_, A>),
    {
        unwrap_or_panic(self.try_for_each_chunk(rows, f))
    }

    /// Like [`for_each_chunk`](Self::for_each_chunk), returning an error
    /// for bad arguments instead of panicking (`f` is not called then).
    ///
    /// # Errors
    ///
    /// [`PatchError::ZeroChunkRows`] if `rows` is zero,
    /// [`PatchError::Overflow`] if a chunk's size in bytes overflows `isize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<f32>::zeros(10);
    /// assert!(a.patches(3).range(..).try_for_each_chunk(0, |_, _| {}).is_err());
    /// ```
    pub fn try_for_each_chunk<F>(&self, rows: usize, f: F) -> Result<(), PatchError>
    where
        F: FnMut(usize, ArrayView2<'_, A>),
    {
        self.for_each_impl::<A, Same, F>(rows, f)
    }

    /// Like [`for_each_chunk`](Self::for_each_chunk), converting each
    /// element to `B` during the copy.
    ///
    /// # Panics
    ///
    /// As [`for_each_chunk`](Self::for_each_chunk); see
    /// [`try_for_each_chunk_as`](Self::try_for_each_chunk_as).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0u8..10);
    /// let mut total = 0.0f64;
    /// a.patches(3).range(..).for_each_chunk_as::<f64, _>(4, |_, c| total += c.sum());
    /// assert_eq!(total, (0..8).map(|i| 3.0 * i as f64 + 3.0).sum::<f64>());
    /// ```
    #[track_caller]
    pub fn for_each_chunk_as<B, F>(&self, rows: usize, f: F)
    where
        B: From<A> + Copy + Send + Sync,
        F: FnMut(usize, ArrayView2<'_, B>),
    {
        unwrap_or_panic(self.try_for_each_chunk_as(rows, f))
    }

    /// Like [`for_each_chunk_as`](Self::for_each_chunk_as), returning an
    /// error instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_for_each_chunk`](Self::try_for_each_chunk).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// assert!(a.patches(3).range(..).try_for_each_chunk_as::<f32, _>(5, |_, _| {}).is_ok());
    /// ```
    pub fn try_for_each_chunk_as<B, F>(&self, rows: usize, f: F) -> Result<(), PatchError>
    where
        B: From<A> + Copy + Send + Sync,
        F: FnMut(usize, ArrayView2<'_, B>),
    {
        self.for_each_impl::<B, Convert, F>(rows, f)
    }

    /// Calls `f(start, chunk)` for every block of at most `rows` rows of the
    /// range, on all rayon threads at once: each worker fills its own buffer
    /// and runs `f` on it, so flattening and the caller's work share the
    /// cores. Chunks arrive in no particular order (use `start`). Peak extra
    /// memory: one chunk per thread.
    ///
    /// # Panics
    ///
    /// If `rows` is zero or a chunk's size in bytes overflows `isize`; see
    /// [`try_par_for_each_chunk`](Self::try_par_for_each_chunk).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0..100);
    /// let rows = AtomicUsize::new(0);
    /// a.patches(5).range(10..90).par_for_each_chunk(16, |_, c| {
    ///     rows.fetch_add(c.nrows(), Ordering::Relaxed);
    /// });
    /// assert_eq!(rows.into_inner(), 80);
    /// ```
    #[track_caller]
    pub fn par_for_each_chunk<F>(&self, rows: usize, f: F)
    where
        F: Fn(usize, ArrayView2<'_, A>) + Sync + Send,
    {
        unwrap_or_panic(self.try_par_for_each_chunk(rows, f))
    }

    /// Like [`par_for_each_chunk`](Self::par_for_each_chunk), returning an
    /// error instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_for_each_chunk`](Self::try_for_each_chunk).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<f32>::zeros(10);
    /// assert!(a.patches(3).range(..).try_par_for_each_chunk(0, |_, _| {}).is_err());
    /// ```
    pub fn try_par_for_each_chunk<F>(&self, rows: usize, f: F) -> Result<(), PatchError>
    where
        F: Fn(usize, ArrayView2<'_, A>) + Sync + Send,
    {
        self.par_for_each_impl::<A, Same, F>(rows, f)
    }

    /// Like [`par_for_each_chunk`](Self::par_for_each_chunk), converting
    /// each element to `B` during the copy.
    ///
    /// # Panics
    ///
    /// As [`par_for_each_chunk`](Self::par_for_each_chunk); see
    /// [`try_par_for_each_chunk_as`](Self::try_par_for_each_chunk_as).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter((0..50).map(|i| i as u8));
    /// let max = Mutex::new(0.0f32);
    /// a.patches(4).range(..).par_for_each_chunk_as::<f32, _>(8, |_, c| {
    ///     let m = c.fold(0.0f32, |m, &x| m.max(x));
    ///     let mut g = max.lock().unwrap();
    ///     *g = g.max(m);
    /// });
    /// assert_eq!(max.into_inner().unwrap(), 49.0);
    /// ```
    #[track_caller]
    pub fn par_for_each_chunk_as<B, F>(&self, rows: usize, f: F)
    where
        B: From<A> + Copy + Send + Sync,
        F: Fn(usize, ArrayView2<'_, B>) + Sync + Send,
    {
        unwrap_or_panic(self.try_par_for_each_chunk_as(rows, f))
    }

    /// Like [`par_for_each_chunk_as`](Self::par_for_each_chunk_as),
    /// returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_for_each_chunk`](Self::try_for_each_chunk).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// assert!(a.patches(3).range(..).try_par_for_each_chunk_as::<f64, _>(0, |_, _| {}).is_err());
    /// ```
    pub fn try_par_for_each_chunk_as<B, F>(&self, rows: usize, f: F) -> Result<(), PatchError>
    where
        B: From<A> + Copy + Send + Sync,
        F: Fn(usize, ArrayView2<'_, B>) + Sync + Send,
    {
        self.par_for_each_impl::<B, Convert, F>(rows, f)
    }
}

/// # Flattening
///
/// Row `r` of the patch matrix is patch `r` (row-major over the grid) with
/// its elements in row-major order: with step 1 and dilation 1 this is
/// numpy's `np.ascontiguousarray(sliding_window_view(a, p)).reshape(-1, prod(p))`.
/// Every method here covers all rows; [`Patches::range`] gives the same
/// methods on a sub-range.
impl<'a, A: Copy + Send + Sync, D: Dimension> Patches<'a, A, D> {
    /// Copies every patch into a new `(len, patch_len)` matrix, one row per
    /// patch, in parallel.
    ///
    /// The matrix is `patch_len` times larger than the patches' footprint in
    /// the source; to walk every patch with bounded memory use
    /// [`for_each_chunk`](Self::for_each_chunk),
    /// [`par_for_each_chunk`](Self::par_for_each_chunk),
    /// [`chunks`](Self::chunks) or [`write_rows`](Self::write_rows).
    ///
    /// # Panics
    ///
    /// If the matrix's size in bytes overflows `isize`; see
    /// [`try_to_matrix`](Self::try_to_matrix).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array2::from_shape_fn((3, 4), |(i, j)| (10 * i + j) as u16);
    /// let m = a.patches((2, 2)).step((1, 2)).to_matrix();
    /// assert_eq!(m, array![[0, 1, 10, 11], [2, 3, 12, 13],
    ///                      [10, 11, 20, 21], [12, 13, 22, 23]]);
    /// ```
    #[track_caller]
    pub fn to_matrix(&self) -> Array2<A> {
        self.all().to_matrix()
    }

    /// Like [`to_matrix`](Self::to_matrix), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::Overflow`] if the matrix's size in bytes overflows
    /// `isize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0..5);
    /// assert_eq!(a.patches(3).try_to_matrix()?.shape(), &[3, 3]);
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_to_matrix(&self) -> Result<Array2<A>, PatchError> {
        self.all().try_to_matrix()
    }

    /// Like [`to_matrix`](Self::to_matrix), converting each element to `B`
    /// during the copy, so a `u8` image becomes `f32` rows without a
    /// converted copy of the image.
    ///
    /// # Panics
    ///
    /// As [`to_matrix`](Self::to_matrix); see
    /// [`try_to_matrix_as`](Self::try_to_matrix_as).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((2, 3), |(i, j)| (3 * i + j) as u8);
    /// let x = img.patches((2, 2)).to_matrix_as::<f32>();
    /// assert_eq!(x, array![[0., 1., 3., 4.], [1., 2., 4., 5.]]);
    /// ```
    #[track_caller]
    pub fn to_matrix_as<B: From<A> + Copy + Send + Sync>(&self) -> Array2<B> {
        self.all().to_matrix_as()
    }

    /// Like [`to_matrix_as`](Self::to_matrix_as), returning an error instead
    /// of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_to_matrix`](Self::try_to_matrix).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u16>::zeros(5);
    /// assert_eq!(a.patches(3).try_to_matrix_as::<f64>()?.dim(), (3, 3));
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_to_matrix_as<B: From<A> + Copy + Send + Sync>(
        &self,
    ) -> Result<Array2<B>, PatchError> {
        self.all().try_to_matrix_as()
    }

    /// Fills `out` with rows `start..start + out.nrows()` of the patch
    /// matrix, in parallel, allocating nothing when `out`'s rows are
    /// contiguous (any layout is accepted).
    ///
    /// This is the primitive any engine can build on: reuse one buffer for
    /// successive row ranges, or shard the rows `0..len` between threads,
    /// processes or machines, each calling `write_rows` on its own range
    /// (every worker only needs the source image and the geometry).
    ///
    /// # Panics
    ///
    /// If `out.ncols() != self.patch_len()` or the rows reach past the last
    /// patch; see [`try_write_rows`](Self::try_write_rows).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0..6);
    /// let p = a.patches(3);
    /// let mut buf = Array2::zeros((2, 3));
    /// p.write_rows(2, buf.view_mut());
    /// assert_eq!(buf, array![[2, 3, 4], [3, 4, 5]]);
    /// ```
    #[track_caller]
    pub fn write_rows(&self, start: usize, out: ArrayViewMut2<'_, A>) {
        unwrap_or_panic(self.try_write_rows(start, out))
    }

    /// Like [`write_rows`](Self::write_rows), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::RowWidth`] if `out.ncols() != self.patch_len()`,
    /// [`PatchError::RowsOutOfRange`] if `start + out.nrows() > self.len()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::PatchError;
    ///
    /// let a = Array1::<f32>::zeros(6);
    /// let p = a.patches(3);
    /// let mut buf = Array2::zeros((2, 3));
    /// assert_eq!(
    ///     p.try_write_rows(3, buf.view_mut()),
    ///     Err(PatchError::RowsOutOfRange { start: 3, rows: 2, len: 4 })
    /// );
    /// ```
    pub fn try_write_rows(
        &self,
        start: usize,
        out: ArrayViewMut2<'_, A>,
    ) -> Result<(), PatchError> {
        write_impl::<A, A, Same, D>(self, start, out)
    }

    /// Like [`write_rows`](Self::write_rows), converting each element to `B`.
    ///
    /// # Panics
    ///
    /// As [`write_rows`](Self::write_rows); see
    /// [`try_write_rows_as`](Self::try_write_rows_as).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0u8..6);
    /// let mut buf = Array2::<f64>::zeros((1, 3));
    /// a.patches(3).write_rows_as(3, buf.view_mut());
    /// assert_eq!(buf, array![[3., 4., 5.]]);
    /// ```
    #[track_caller]
    pub fn write_rows_as<B: From<A> + Copy + Send + Sync>(
        &self,
        start: usize,
        out: ArrayViewMut2<'_, B>,
    ) {
        unwrap_or_panic(self.try_write_rows_as(start, out))
    }

    /// Like [`write_rows_as`](Self::write_rows_as), returning an error
    /// instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_write_rows`](Self::try_write_rows).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(6);
    /// let mut buf = Array2::<f32>::zeros((1, 2));
    /// assert!(a.patches(3).try_write_rows_as(0, buf.view_mut()).is_err());
    /// ```
    pub fn try_write_rows_as<B: From<A> + Copy + Send + Sync>(
        &self,
        start: usize,
        out: ArrayViewMut2<'_, B>,
    ) -> Result<(), PatchError> {
        write_impl::<A, B, Convert, D>(self, start, out)
    }

    /// The patch matrix in blocks of at most `rows` rows, each a new
    /// `(rows, patch_len)` array filled in parallel: walking every patch of
    /// a large image holds one block at a time, never the whole matrix.
    /// [`for_each_chunk`](Self::for_each_chunk) does the same without an
    /// allocation per block.
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
        self.all().chunks(rows)
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
        self.all().try_chunks(rows)
    }

    /// Like [`chunks`](Self::chunks), converting each element to `B`.
    ///
    /// # Panics
    ///
    /// As [`chunks`](Self::chunks); see [`try_chunks_as`](Self::try_chunks_as).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0u8..5);
    /// let c: Vec<_> = a.patches(2).chunks_as::<f32>(3).collect();
    /// assert_eq!(c[1][[0, 1]], 4.0);
    /// ```
    #[track_caller]
    pub fn chunks_as<B: From<A> + Copy + Send + Sync>(&self, rows: usize) -> Chunks<'a, A, B> {
        self.all().chunks_as(rows)
    }

    /// Like [`chunks_as`](Self::chunks_as), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// As [`try_chunks`](Self::try_chunks).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(5);
    /// assert!(a.patches(2).try_chunks_as::<f32>(0).is_err());
    /// ```
    pub fn try_chunks_as<B: From<A> + Copy + Send + Sync>(
        &self,
        rows: usize,
    ) -> Result<Chunks<'a, A, B>, PatchError> {
        self.all().try_chunks_as(rows)
    }

    /// Calls `f(start, chunk)` for consecutive blocks of at most `rows` rows,
    /// in order; `start` is the row of the chunk's first patch. One buffer
    /// is allocated with the first chunk and refilled, in parallel, for each
    /// next one: no allocation after the first chunk, whatever the image
    /// size. [`default_chunk_rows`](Self::default_chunk_rows) is a good
    /// `rows`.
    ///
    /// # Panics
    ///
    /// If `rows` is zero or a chunk's size in bytes overflows `isize`; see
    /// [`try_for_each_chunk`](Self::try_for_each_chunk).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// // A linear filter applied to every 9x9 window, without the matrix.
    /// let img = Array2::from_shape_fn((128, 128), |(i, j)| ((i * j) % 7) as f32);
    /// let p = img.patches((9, 9));
    /// let w = Array1::from_elem(81, 1.0 / 81.0);
    /// let mut scores = vec![0.0; p.len()];
    /// p.for_each_chunk(p.default_chunk_rows(), |start, chunk| {
    ///     let s = chunk.dot(&w);
    ///     scores[start..start + s.len()].copy_from_slice(s.as_slice().unwrap());
    /// });
    /// assert!((scores[0] - p.get(0).mean().unwrap()).abs() < 1e-5);
    /// ```
    #[track_caller]
    pub fn for_each_chunk<F>(&self, rows: usize, f: F)
    where
        F: FnMut(usize, ArrayView2<'_, A>),
    {
        self.all().for_each_chunk(rows, f)
    }

    /// Like [`for_each_chunk`](Self::for_each_chunk), returning an error for
    /// bad arguments instead of panicking (`f` is not called then).
    ///
    /// # Errors
    ///
    /// [`PatchError::ZeroChunkRows`] if `rows` is zero,
    /// [`PatchError::Overflow`] if a chunk's size in bytes overflows `isize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<f32>::zeros(8);
    /// assert!(a.patches(2).try_for_each_chunk(0, |_, _| {}).is_err());
    /// ```
    pub fn try_for_each_chunk<F>(&self, rows: usize, f: F) -> Result<(), PatchError>
    where
        F: FnMut(usize, ArrayView2<'_, A>),
    {
        self.all().try_for_each_chunk(rows, f)
    }

    /// Like [`for_each_chunk`](Self::for_each_chunk), converting each
    /// element to `B` during the copy.
    ///
    /// # Panics
    ///
    /// As [`for_each_chunk`](Self::for_each_chunk); see
    /// [`try_for_each_chunk_as`](Self::try_for_each_chunk_as).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_elem((64, 64), 200u8);
    /// let p = img.patches((8, 8));
    /// p.for_each_chunk_as::<f32, _>(256, |_, chunk| {
    ///     assert!(chunk.iter().all(|&x| x == 200.0));
    /// });
    /// ```
    #[track_caller]
    pub fn for_each_chunk_as<B, F>(&self, rows: usize, f: F)
    where
        B: From<A> + Copy + Send + Sync,
        F: FnMut(usize, ArrayView2<'_, B>),
    {
        self.all().for_each_chunk_as(rows, f)
    }

    /// Like [`for_each_chunk_as`](Self::for_each_chunk_as), returning an
    /// error instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_for_each_chunk`](Self::try_for_each_chunk).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(8);
    /// assert!(a.patches(2).try_for_each_chunk_as::<f32, _>(0, |_, _| {}).is_err());
    /// ```
    pub fn try_for_each_chunk_as<B, F>(&self, rows: usize, f: F) -> Result<(), PatchError>
    where
        B: From<A> + Copy + Send + Sync,
        F: FnMut(usize, ArrayView2<'_, B>),
    {
        self.all().try_for_each_chunk_as(rows, f)
    }

    /// Calls `f(start, chunk)` for every block of at most `rows` rows, on
    /// all rayon threads at once: each worker fills its own buffer and runs
    /// `f` on it, so the flattening and the caller's work both use every
    /// core. Chunks arrive in no particular order (`start` says where each
    /// belongs). Peak extra memory: one chunk per thread.
    ///
    /// # Panics
    ///
    /// If `rows` is zero or a chunk's size in bytes overflows `isize`; see
    /// [`try_par_for_each_chunk`](Self::try_par_for_each_chunk).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((200, 200), |(i, j)| ((i + 2 * j) % 11) as f32);
    /// let p = img.patches((7, 7));
    /// let w = Array1::from_elem(49, 1.0f32);
    /// let scores = Mutex::new(vec![0.0f32; p.len()]);
    /// p.par_for_each_chunk(p.default_chunk_rows(), |start, chunk| {
    ///     let s = chunk.dot(&w);             // runs on the worker's thread
    ///     scores.lock().unwrap()[start..start + s.len()].copy_from_slice(s.as_slice().unwrap());
    /// });
    /// assert_eq!(scores.into_inner().unwrap()[0], p.get(0).sum());
    /// ```
    #[track_caller]
    pub fn par_for_each_chunk<F>(&self, rows: usize, f: F)
    where
        F: Fn(usize, ArrayView2<'_, A>) + Sync + Send,
    {
        self.all().par_for_each_chunk(rows, f)
    }

    /// Like [`par_for_each_chunk`](Self::par_for_each_chunk), returning an
    /// error instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_for_each_chunk`](Self::try_for_each_chunk).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<f32>::zeros(8);
    /// assert!(a.patches(2).try_par_for_each_chunk(0, |_, _| {}).is_err());
    /// ```
    pub fn try_par_for_each_chunk<F>(&self, rows: usize, f: F) -> Result<(), PatchError>
    where
        F: Fn(usize, ArrayView2<'_, A>) + Sync + Send,
    {
        self.all().try_par_for_each_chunk(rows, f)
    }

    /// Like [`par_for_each_chunk`](Self::par_for_each_chunk), converting
    /// each element to `B` during the copy.
    ///
    /// # Panics
    ///
    /// As [`par_for_each_chunk`](Self::par_for_each_chunk); see
    /// [`try_par_for_each_chunk_as`](Self::try_par_for_each_chunk_as).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_elem((40, 40), 3u16);
    /// let total = AtomicU64::new(0);
    /// img.patches((4, 4)).par_for_each_chunk_as::<f64, _>(100, |_, c| {
    ///     total.fetch_add(c.sum() as u64, Ordering::Relaxed);
    /// });
    /// assert_eq!(total.into_inner(), 37 * 37 * 16 * 3);
    /// ```
    #[track_caller]
    pub fn par_for_each_chunk_as<B, F>(&self, rows: usize, f: F)
    where
        B: From<A> + Copy + Send + Sync,
        F: Fn(usize, ArrayView2<'_, B>) + Sync + Send,
    {
        self.all().par_for_each_chunk_as(rows, f)
    }

    /// Like [`par_for_each_chunk_as`](Self::par_for_each_chunk_as),
    /// returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_for_each_chunk`](Self::try_for_each_chunk).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(8);
    /// assert!(a.patches(2).try_par_for_each_chunk_as::<f32, _>(0, |_, _| {}).is_err());
    /// ```
    pub fn try_par_for_each_chunk_as<B, F>(&self, rows: usize, f: F) -> Result<(), PatchError>
    where
        B: From<A> + Copy + Send + Sync,
        F: Fn(usize, ArrayView2<'_, B>) + Sync + Send,
    {
        self.all().try_par_for_each_chunk_as(rows, f)
    }
}

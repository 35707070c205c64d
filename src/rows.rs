//! [`Rows`]: every way the rows of the patch matrix are delivered.
//!
//! One type, one method per delivery mode: `to_matrix`, `write_rows`,
//! `chunks`, `for_each_chunk`, `par_for_each_chunk`, `par_map_chunks`,
//! `map_windows` and `select`. A `Rows` value is a range of rows (all of
//! them for [`Patches`](crate::Patches), which dereferences to one) and a
//! [`Conversion`] applied during the copy ([`AsIs`] by default; see
//! [`Rows::cast`] and [`Rows::map_elems`]).
//!
//! Memory: a visitor holds one `(rows, patch_len)` buffer
//! (`for_each_chunk`) or one per worker thread (`par_for_each_chunk`,
//! `par_map_chunks`), allocated once and refilled; nothing is proportional
//! to the number of patches except the results you ask for.

use std::fmt;
use std::iter::FusedIterator;
use std::mem::size_of;
use std::ops::{Bound, Range, RangeBounds};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{s, Array, Array1, Array2, ArrayView, ArrayView1, ArrayView2};
use ndarray::{ArrayViewMut2, Dimension};
use rayon::prelude::*;

use crate::error::{unwrap_or_panic, PatchError};
use crate::flatten::{
    fill_new, fill_view, gather_new, gather_view, try_vec_with_capacity, RowSource,
};
use crate::geometry::Geometry;
use crate::scalar::{AsIs, Cast, Conversion, MapElems};

/// The chunk size, in bytes of the rows delivered, that
/// [`Rows::default_chunk_rows`] aims at: 1 MiB.
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
/// let img = Array2::<u8>::zeros((512, 512));
/// let p = img.patches(16);
/// assert_eq!(p.default_chunk_rows(), DEFAULT_CHUNK_BYTES / (16 * 16));
/// // Counted in the elements written: u8 pixels become 4-byte f32.
/// assert_eq!(p.cast::<f32>().default_chunk_rows(), DEFAULT_CHUNK_BYTES / (16 * 16 * 4));
/// ```
pub const DEFAULT_CHUNK_BYTES: usize = 1 << 20;

/// A range of rows of the patch matrix, and what the copy does to each
/// element: the one type that delivers rows.
///
/// Made by [`Patches::rows`](crate::Patches::rows) (a range),
/// [`cast`](Self::cast) or [`map_elems`](Self::map_elems) (a conversion);
/// a [`Patches`](crate::Patches) dereferences to its rows, so every method
/// below also works on all rows directly (`p.to_matrix()`).
///
/// Row `r` is patch `r`, its elements in row-major order (numpy's
/// `sliding_window_view(a, p)[::s].reshape(-1, prod(p))` order). Row numbers
/// handed to callbacks are absolute (rows of the whole matrix), so results
/// can be placed without offset arithmetic.
///
/// | method | gives | memory |
/// |---|---|---|
/// | [`to_matrix`](Self::to_matrix) | a new `(len, patch_len)` matrix | the matrix |
/// | [`write_rows`](Self::write_rows) | rows into your buffer | none |
/// | [`for_each_chunk`](Self::for_each_chunk) | `f(start, chunk)` in order, one reused buffer | one chunk |
/// | [`par_for_each_chunk`](Self::par_for_each_chunk) | `f(start, chunk)` on every thread | a chunk per thread |
/// | [`par_map_chunks`](Self::par_map_chunks) | `f(chunk)`'s results, concatenated in row order | a chunk per thread + results |
/// | [`map_windows`](Self::map_windows) | `f(row)` for every window, shaped like the grid | a chunk per thread + results |
/// | [`chunks`](Self::chunks) | an iterator of owned `(start, chunk)` | one chunk |
/// | [`select`](Self::select) | the rows at given indices | the rows |
/// | [`shuffled`](Self::shuffled) (feature `rand`) | every row once in a seeded random order, in batches with their row numbers | one index per row + a batch per thread |
///
/// Chunk sizes are in rows; [`default_chunk_rows`](Self::default_chunk_rows)
/// gives [`DEFAULT_CHUNK_BYTES`] of the elements actually written. Every
/// copy merges contiguous axes into runs and copies whole runs with
/// `memcpy` when no conversion is asked for.
///
/// # Examples
///
/// ```
/// use ndarray::{Array1, Array2};
/// use ndarray_patches::prelude::*;
///
/// let img = Array2::from_shape_fn((64, 64), |(i, j)| ((i * 7 + j * 3) % 256) as u8);
/// let p = img.patches(8);
///
/// // One score per window, u8 pixels normalised to f32 during the copy,
/// // computed on every core: no Mutex, no offsets.
/// let filter = Array1::from_elem(64, 1.0f32 / 64.0);
/// let rows = p.map_elems(|x: u8| f32::from(x) / 255.0);
/// let scores = rows.par_map_chunks(rows.default_chunk_rows(), |chunk| chunk.dot(&filter));
/// assert_eq!(scores.len(), p.len());
///
/// // The same as a score map shaped like the grid.
/// let map = rows.map_windows(|row| row.dot(&filter));
/// assert_eq!(map.dim(), (57, 57));
/// assert!((map[[1, 0]] - scores[57]).abs() < 1e-6);
///
/// // A range of rows, for sharding the work.
/// let half = p.rows(p.len() / 2..);
/// assert_eq!(half.to_matrix().nrows(), p.len() - p.len() / 2);
/// ```
pub struct Rows<'a, A, D: Dimension, C = AsIs> {
    source: ArrayView<'a, A, D>,
    geom: Geometry<D>,
    start: usize,
    end: usize,
    conv: C,
}

impl<A, D: Dimension, C: Clone> Clone for Rows<'_, A, D, C> {
    fn clone(&self) -> Self {
        Rows {
            source: self.source.clone(),
            geom: self.geom.clone(),
            start: self.start,
            end: self.end,
            conv: self.conv.clone(),
        }
    }
}

impl<A, D: Dimension, C: fmt::Debug> fmt::Debug for Rows<'_, A, D, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rows")
            .field("rows", &(self.start..self.end))
            .field("patch_len", &self.geom.patch_len())
            .field("conversion", &self.conv)
            .finish()
    }
}

/// Resolves a range of rows against `len` rows.
pub(crate) fn resolve(
    range: impl RangeBounds<usize>,
    len: usize,
) -> Result<(usize, usize), PatchError> {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.saturating_add(1),
        Bound::Excluded(&e) => e,
        Bound::Unbounded => len,
    };
    if start > end || end > len {
        return Err(PatchError::RowsOutOfRange { start, end, len });
    }
    Ok((start, end))
}

impl<'a, A, D: Dimension> Rows<'a, A, D, AsIs> {
    /// All rows of the patches of `geom` over `source` (the geometry was
    /// validated for that source by its maker).
    pub(crate) fn new(source: ArrayView<'a, A, D>, geom: Geometry<D>) -> Self {
        let end = geom.len();
        Rows {
            source,
            geom,
            start: 0,
            end,
            conv: AsIs,
        }
    }

    /// The same patches, rows `start..end` (checked by the caller).
    pub(crate) fn with_range(&self, start: usize, end: usize) -> Self {
        Rows {
            source: self.source.clone(),
            geom: self.geom.clone(),
            start,
            end,
            conv: AsIs,
        }
    }

    pub(crate) fn source(&self) -> &ArrayView<'a, A, D> {
        &self.source
    }

    fn with_conv<C>(&self, conv: C) -> Rows<'a, A, D, C> {
        Rows {
            source: self.source.clone(),
            geom: self.geom.clone(),
            start: self.start,
            end: self.end,
            conv,
        }
    }

    /// These rows with each element converted by `B::from` during the copy
    /// (`u8` pixels to `f32` rows): an adaptor, every delivery method
    /// works on the result.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((4, 4), |(i, j)| (4 * i + j) as u8);
    /// let x = img.patches(2).cast::<f32>().to_matrix();
    /// assert_eq!(x.row(0).to_vec(), vec![0.0, 1.0, 4.0, 5.0]);
    /// let tail = img.patches(2).rows(7..).cast::<f64>().to_matrix();
    /// assert_eq!(tail.row(0).to_vec(), vec![9.0, 10.0, 13.0, 14.0]);
    /// ```
    pub fn cast<B>(&self) -> Rows<'a, A, D, Cast<B>>
    where
        B: From<A> + Copy + Send + Sync,
    {
        self.with_conv(Cast::new())
    }

    /// These rows with each element converted by `f` during the copy:
    /// normalisation (`|x: u8| x as f32 / 255.0`) or conversions that
    /// `From` does not offer (`f64` to `f32`). `f` runs on every thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_elem((8, 8), 255u8);
    /// let x = img.patches(4).map_elems(|v: u8| f32::from(v) / 255.0).to_matrix();
    /// assert!(x.iter().all(|&v| v == 1.0));
    /// ```
    pub fn map_elems<B, F>(&self, f: F) -> Rows<'a, A, D, MapElems<F, B>>
    where
        F: Fn(A) -> B + Sync,
        B: Copy + Send + Sync,
    {
        self.with_conv(MapElems::new(f))
    }
}

/// # Range, positions and sizes
impl<A, D: Dimension, C> Rows<'_, A, D, C> {
    pub(crate) fn geometry(&self) -> &Geometry<D> {
        &self.geom
    }

    /// The rows delivered, as row numbers of the whole matrix.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// assert_eq!(a.patches(3).rows(2..5).range(), 2..5);
    /// assert_eq!(a.patches(3).range(), 0..8);
    /// ```
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The number of rows delivered.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// assert_eq!(a.patches(3).rows(2..).len(), 6);
    /// ```
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// `true` if the range is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// assert!(a.patches(3).rows(4..4).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The [`Position`] of every row, in order: the cheap way to align one
    /// result per row with the source.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array2, Dim};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<u8>::zeros((5, 5));
    /// let p = img.patches(3);           // grid (3, 3)
    /// let pos: Vec<_> = p.rows(2..5).positions().map(|q| q.origin).collect();
    /// assert_eq!(pos, vec![Dim([0, 2]), Dim([1, 0]), Dim([1, 1])]);
    /// ```
    pub fn positions(&self) -> Positions<D> {
        let geom = &self.geom;
        let next = if self.start < self.end {
            Position {
                row: self.start,
                grid: geom.grid_index(self.start),
                origin: geom.origin(self.start),
            }
        } else {
            Position {
                row: self.start,
                grid: geom.grid().clone(),
                origin: geom.grid().clone(),
            }
        };
        Positions {
            grid_shape: geom.grid().clone(),
            step: geom.step().clone(),
            last_origin: geom.last_origin(),
            next,
            end: self.end,
        }
    }
}

impl<A: Copy, D: Dimension, C: Conversion<A>> Rows<'_, A, D, C> {
    /// The bytes [`to_matrix`](Self::to_matrix) would allocate:
    /// `len * patch_len * size_of::<C::Output>()`, the elements written.
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
    /// let img = Array2::<u8>::zeros((4096, 4096));
    /// let p = img.patches(39);
    /// assert_eq!(p.matrix_bytes()?, 4058 * 4058 * 1521);            // 25 GB of u8
    /// assert_eq!(p.cast::<f32>().matrix_bytes()?, 4058 * 4058 * 1521 * 4);
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn matrix_bytes(&self) -> Result<usize, PatchError> {
        let size = size_of::<C::Output>();
        Ok(self.geom.block_elements(self.len(), size)? * size)
    }

    /// The number of rows whose `(rows, patch_len)` block of the elements
    /// written takes at most `bytes` (at least 1, at most
    /// [`len`](Self::len)).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((1024, 1024));
    /// let p = img.patches(16);                   // rows of 1 KiB
    /// assert_eq!(p.chunk_rows_for(256 * 1024), 256);
    /// assert_eq!(p.chunk_rows_for(1), 1);
    /// ```
    pub fn chunk_rows_for(&self, bytes: usize) -> usize {
        self.geom
            .rows_for_bytes(bytes, size_of::<C::Output>(), self.len())
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
    /// let p = img.patches(16);
    /// let mut n = 0;
    /// p.for_each_chunk(p.default_chunk_rows(), |_, chunk| n += chunk.nrows());
    /// assert_eq!(n, p.len());
    /// ```
    pub fn default_chunk_rows(&self) -> usize {
        self.chunk_rows_for(DEFAULT_CHUNK_BYTES)
    }
}

/// Which rows a chunk holds: consecutive rows, or the rows at given
/// indices (a batch of a shuffled epoch).
#[derive(Clone, Copy, Debug)]
pub(crate) enum RowSet<'i> {
    /// Rows `start..start + n`.
    Range {
        /// The first row.
        start: usize,
        /// How many.
        n: usize,
    },
    /// Row `indices[k]` as row `k`.
    // Only shuffled epochs (feature `rand`) gather into reused buffers.
    #[cfg_attr(not(feature = "rand"), allow(dead_code))]
    Indices(&'i [usize]),
}

impl RowSet<'_> {
    fn len(&self) -> usize {
        match self {
            RowSet::Range { n, .. } => *n,
            RowSet::Indices(idx) => idx.len(),
        }
    }
}

/// The rows of `set` in a reused buffer: refilled in place when the buffer
/// has room (it is only ever short for the first chunk), allocated once
/// otherwise; on every core if `parallel`, else on the calling thread (a
/// worker's own buffer).
#[track_caller]
pub(crate) fn refill<'b, A: Copy + Sync, C: Conversion<A>>(
    src: &RowSource<'_, A>,
    conv: &C,
    buf: &'b mut Option<Array2<C::Output>>,
    set: RowSet<'_>,
    parallel: bool,
) -> ArrayView2<'b, C::Output> {
    let n = set.len();
    if buf.as_ref().is_some_and(|b| b.nrows() >= n) {
        let b = buf.as_mut().expect("checked just above");
        let out = b.slice_mut(s![..n, ..]);
        match set {
            RowSet::Range { start, .. } => fill_view(src, conv, start, out, parallel),
            RowSet::Indices(idx) => gather_view(src, conv, idx, out, parallel),
        }
    } else {
        *buf = Some(unwrap_or_panic(match set {
            RowSet::Range { start, .. } => fill_new(src, conv, start, n, parallel),
            RowSet::Indices(idx) => gather_new(src, conv, idx, parallel),
        }));
    }
    let b: &'b Array2<C::Output> = buf.as_ref().expect("filled just above");
    b.slice(s![..n, ..])
}

/// A chunk size checked: at least one row, at most the range, and a block
/// of that many rows addressable.
#[track_caller]
fn chunk_rows<B>(geom: &Geometry<impl Dimension>, rows: usize, len: usize) -> usize {
    assert!(rows > 0, "chunk size is zero rows; it must be at least 1");
    let rows = rows.min(len).max(1);
    unwrap_or_panic(geom.block_elements(rows, size_of::<B>()));
    rows
}

/// # Delivering rows
impl<'a, A: Copy + Send + Sync, D: Dimension, C: Conversion<A>> Rows<'a, A, D, C> {
    pub(crate) fn row_source(&self) -> Result<RowSource<'a, A>, PatchError> {
        RowSource::new(&self.source, &self.geom)
    }

    /// The conversion applied during the copy.
    #[cfg_attr(not(feature = "rand"), allow(dead_code))] // used by `shuffle`
    pub(crate) fn conversion(&self) -> &C {
        &self.conv
    }

    /// `rows` as a chunk size for these rows (see `chunk_rows`).
    ///
    /// # Panics
    ///
    /// If `rows` is zero, or a chunk's size in bytes overflows `isize`.
    #[track_caller]
    pub(crate) fn checked_chunk_rows(&self, rows: usize) -> usize {
        chunk_rows::<C::Output>(&self.geom, rows, self.len())
    }

    /// The rows as a new `(len, patch_len)` matrix, filled on every core.
    ///
    /// The matrix is `patch_len` times larger than the patches' footprint
    /// in the source; to walk every patch with bounded memory use the chunk
    /// methods or [`write_rows`](Self::write_rows).
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
    /// let m = a.patches(2).step((1, 2)).to_matrix();
    /// assert_eq!(m, array![[0, 1, 10, 11], [2, 3, 12, 13],
    ///                      [10, 11, 20, 21], [12, 13, 22, 23]]);
    /// ```
    #[track_caller]
    pub fn to_matrix(&self) -> Array2<C::Output> {
        unwrap_or_panic(self.try_to_matrix())
    }

    /// Like [`to_matrix`](Self::to_matrix), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::Overflow`] if the matrix's size overflows `isize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<f32>::zeros(10);
    /// assert_eq!(a.patches(4).try_to_matrix()?.dim(), (7, 4));
    /// # Ok::<(), ndarray_patches::PatchError>(())
    /// ```
    pub fn try_to_matrix(&self) -> Result<Array2<C::Output>, PatchError> {
        self.geom
            .block_elements(self.len(), size_of::<C::Output>())?;
        let src = self.row_source()?;
        fill_new(&src, &self.conv, self.start, self.len(), true)
    }

    /// Writes rows `start..start + out.nrows()` into `out`, a buffer of
    /// yours of any layout (reuse it, or fill your share of a matrix split
    /// across processes or machines), on every core.
    ///
    /// # Panics
    ///
    /// If `out` does not have `patch_len` columns or the rows are not in
    /// [`range`](Self::range); see [`try_write_rows`](Self::try_write_rows).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0u8..10);
    /// let p = a.patches(3);
    /// let mut buf = Array2::<f32>::zeros((4, 3));
    /// p.cast::<f32>().write_rows(4, buf.view_mut());   // rows 4..8
    /// assert_eq!(buf.row(0).to_vec(), vec![4.0, 5.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn write_rows(&self, start: usize, out: ArrayViewMut2<'_, C::Output>) {
        unwrap_or_panic(self.try_write_rows(start, out))
    }

    /// Like [`write_rows`](Self::write_rows), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::RowWidth`] if `out.ncols() != patch_len`,
    /// [`PatchError::RowsOutOfRange`] if the rows are not in
    /// [`range`](Self::range).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// let mut buf = Array2::<u8>::zeros((4, 3));
    /// assert!(a.patches(3).try_write_rows(5, buf.view_mut()).is_err()); // 5..9 > 8
    /// assert!(a.patches(3).try_write_rows(4, buf.view_mut()).is_ok());
    /// ```
    pub fn try_write_rows(
        &self,
        start: usize,
        out: ArrayViewMut2<'_, C::Output>,
    ) -> Result<(), PatchError> {
        let pl = self.geom.patch_len();
        if out.ncols() != pl {
            return Err(PatchError::RowWidth {
                expected: pl,
                found: out.ncols(),
            });
        }
        let end = start.saturating_add(out.nrows());
        if start < self.start || end > self.end {
            return Err(PatchError::RowsOutOfRange {
                start,
                end,
                len: self.end,
            });
        }
        let src = self.row_source()?;
        fill_view(&src, &self.conv, start, out, true);
        Ok(())
    }

    /// Owned chunks of at most `rows` rows, in order, as `(start, chunk)`:
    /// an iterator to pull from (each chunk is a new array, filled on every
    /// core, that you may keep).
    ///
    /// # Panics
    ///
    /// If `rows` is zero, or a chunk's size in bytes overflows `isize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0..6);
    /// let p = a.patches(3);              // 4 rows
    /// let got: Vec<_> = p.chunks(3).map(|(start, c)| (start, c.nrows())).collect();
    /// assert_eq!(got, vec![(0, 3), (3, 1)]);
    /// ```
    #[track_caller]
    pub fn chunks(&self, rows: usize) -> Chunks<'a, A, C>
    where
        C: Clone,
    {
        let rows = chunk_rows::<C::Output>(&self.geom, rows, self.len());
        Chunks {
            source: unwrap_or_panic(self.row_source()),
            conv: self.conv.clone(),
            next: self.start,
            end: self.end,
            rows,
        }
    }

    /// Calls `f(start, chunk)` for consecutive chunks of at most `rows`
    /// rows, in order, on the calling thread; each chunk is filled on every
    /// core into one buffer, allocated once and refilled. Memory: one chunk.
    ///
    /// # Panics
    ///
    /// If `rows` is zero, or a chunk's size in bytes overflows `isize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((64, 64), |(i, j)| (i + j) as u8);
    /// let p = img.patches(8);
    /// let mut total = 0.0f64;
    /// p.cast::<f64>().for_each_chunk(1000, |_start, chunk| total += chunk.sum());
    /// assert_eq!(total, p.cast::<f64>().to_matrix().sum());
    /// ```
    #[track_caller]
    pub fn for_each_chunk<F>(&self, rows: usize, mut f: F)
    where
        F: FnMut(usize, ArrayView2<'_, C::Output>),
    {
        let rows = chunk_rows::<C::Output>(&self.geom, rows, self.len());
        if self.is_empty() {
            return;
        }
        let src = unwrap_or_panic(self.row_source());
        // The first chunk allocates the one buffer; the others refill it.
        let mut buf = unwrap_or_panic(fill_new(&src, &self.conv, self.start, rows, true));
        f(self.start, buf.view());
        for start in (self.start + rows..self.end).step_by(rows) {
            let n = rows.min(self.end - start);
            let mut block = buf.slice_mut(s![..n, ..]);
            fill_view(&src, &self.conv, start, block.view_mut(), true);
            f(start, block.view());
        }
    }

    /// Calls `f(start, chunk)` for the rows `range` (a part of these rows,
    /// checked by the caller) in chunks of at most `rows` rows, in order,
    /// filled on the calling thread into one buffer: for callers that walk
    /// their own share of the rows on each rayon thread (the parallel fold).
    pub(crate) fn try_for_each_chunk_in<F>(
        &self,
        range: Range<usize>,
        rows: usize,
        mut f: F,
    ) -> Result<(), PatchError>
    where
        F: FnMut(usize, ArrayView2<'_, C::Output>),
    {
        debug_assert!(self.start <= range.start && range.end <= self.end);
        let rows = rows.clamp(1, range.len().max(1));
        self.geom.block_elements(rows, size_of::<C::Output>())?;
        if range.is_empty() {
            return Ok(());
        }
        let src = self.row_source()?;
        let mut buf = fill_new(&src, &self.conv, range.start, rows, false)?;
        for start in range.clone().step_by(rows) {
            let n = rows.min(range.end - start);
            let mut block = buf.slice_mut(s![..n, ..]);
            if start > range.start {
                fill_view(&src, &self.conv, start, block.view_mut(), false);
            }
            f(start, block.view());
        }
        Ok(())
    }

    /// Calls `f(start, chunk)` for chunks of at most `rows` rows on every
    /// rayon thread, in no particular order: each worker fills its own
    /// buffer and runs `f` on it, so your code runs on every core next to
    /// a chunk in its cache. Memory: one chunk per thread.
    ///
    /// To collect one result per chunk or per row, use
    /// [`par_map_chunks`](Self::par_map_chunks) or
    /// [`map_windows`](Self::map_windows) instead of locking.
    ///
    /// # Panics
    ///
    /// If `rows` is zero, or a chunk's size in bytes overflows `isize`; a
    /// panic in `f` propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::<f32>::zeros((256, 256));
    /// let p = img.patches(16);
    /// let seen = AtomicUsize::new(0);
    /// p.par_for_each_chunk(p.default_chunk_rows(), |_start, chunk| {
    ///     seen.fetch_add(chunk.nrows(), Ordering::Relaxed);
    /// });
    /// assert_eq!(seen.into_inner(), p.len());
    /// ```
    #[track_caller]
    pub fn par_for_each_chunk<F>(&self, rows: usize, f: F)
    where
        F: Fn(usize, ArrayView2<'_, C::Output>) + Sync + Send,
    {
        let workers = rayon::current_num_threads().min(self.len().max(1));
        self.par_fold_chunks(
            rows,
            vec![(); workers],
            |(), start, chunk| f(start, chunk),
            |(), ()| (),
        );
    }

    /// The engine of the parallel visitors: one buffer per accumulator in
    /// `accs` (give at most one per thread), each worker folding chunks
    /// into its accumulator with `fold(&mut acc, start, chunk)`; workers
    /// pull chunk numbers from a shared counter, which balances the load
    /// without ever holding more than `accs.len()` buffers. The
    /// accumulators are then merged with `merge`, in no particular order.
    ///
    /// # Panics
    ///
    /// If `accs` is empty, `rows` is zero, or a chunk's size overflows.
    #[track_caller]
    pub(crate) fn par_fold_chunks<T, G, M>(&self, rows: usize, accs: Vec<T>, fold: G, merge: M) -> T
    where
        T: Send,
        G: Fn(&mut T, usize, ArrayView2<'_, C::Output>) + Sync + Send,
        M: Fn(T, T) -> T + Sync + Send,
    {
        let rows = self.checked_chunk_rows(rows);
        let n_chunks = self.len().div_ceil(rows);
        let range = |c: usize| {
            let start = self.start + c * rows;
            RowSet::Range {
                start,
                n: rows.min(self.end - start),
            }
        };
        self.par_fold_sets(
            n_chunks,
            range,
            accs,
            |acc, c, chunk| fold(acc, self.start + c * rows, chunk),
            merge,
        )
    }

    /// [`par_fold_chunks`](Self::par_fold_chunks) over any `n_sets` sets
    /// of rows: chunk `c` holds the rows of `set(c)`, and `fold` gets `c`
    /// with the chunk. Every row of every set must be a row of these
    /// patches (sets of indices are checked by the copy, which panics).
    ///
    /// # Panics
    ///
    /// If `accs` is empty, or a chunk cannot be allocated.
    #[track_caller]
    pub(crate) fn par_fold_sets<'i, T, S, G, M>(
        &self,
        n_sets: usize,
        set: S,
        accs: Vec<T>,
        fold: G,
        merge: M,
    ) -> T
    where
        T: Send,
        S: Fn(usize) -> RowSet<'i> + Sync + Send,
        G: Fn(&mut T, usize, ArrayView2<'_, C::Output>) + Sync + Send,
        M: Fn(T, T) -> T + Sync + Send,
    {
        let src = unwrap_or_panic(self.row_source());
        let next = AtomicUsize::new(0);
        accs.into_par_iter()
            .with_max_len(1)
            .map(|mut acc| {
                let mut buf: Option<Array2<C::Output>> = None;
                loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    if c >= n_sets {
                        break;
                    }
                    let chunk = refill(&src, &self.conv, &mut buf, set(c), false);
                    fold(&mut acc, c, chunk);
                }
                acc
            })
            .reduce_with(merge)
            .expect("at least one accumulator")
    }

    /// Calls `f(chunk)` for chunks of at most `rows` rows on every rayon
    /// thread and returns the results concatenated in row order: an
    /// `Array1` per chunk (one value per row, say `chunk.dot(&w)`) gives
    /// one `Array1`, an `Array2` per chunk (`chunk.dot(&filters)`) one
    /// `Array2`. No locks and no offsets in your code. Memory: one chunk
    /// per worker plus the results (held twice while they are
    /// concatenated). On an empty range `f` is never called and the result
    /// is empty: an `Array2` of shape `(0, 0)`, since its number of columns
    /// is only known from `f`.
    ///
    /// # Panics
    ///
    /// If `rows` is zero, a chunk's size in bytes overflows `isize`, the
    /// `Array2` results do not all have the same number of columns, or the
    /// concatenated result cannot be allocated; a panic in `f` propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((100, 100), |(i, j)| (i * j % 13) as f32);
    /// let p = img.patches(5);
    /// let bank = Array2::from_shape_fn((25, 3), |(k, f)| (k * f) as f32);
    /// let y = p.par_map_chunks(512, |chunk| chunk.dot(&bank)); // (len, 3)
    /// assert_eq!(y.dim(), (p.len(), 3));
    /// assert_eq!(y, p.to_matrix().dot(&bank));
    /// let maxima: Array1<f32> = p.par_map_chunks(512, |chunk| {
    ///     chunk.map_axis(ndarray::Axis(1), |r| r.fold(f32::MIN, |m, &v| m.max(v)))
    /// });
    /// assert_eq!(maxima.len(), p.len());
    /// ```
    #[track_caller]
    pub fn par_map_chunks<R, F>(&self, rows: usize, f: F) -> R
    where
        R: ChunkResult,
        F: Fn(ArrayView2<'_, C::Output>) -> R + Sync + Send,
    {
        unwrap_or_panic(self.map_chunks_impl(rows, f))
    }

    /// [`par_map_chunks`](Self::par_map_chunks), with the concatenation's
    /// failures returned.
    #[track_caller]
    pub(crate) fn map_chunks_impl<R, F>(&self, rows: usize, f: F) -> Result<R, PatchError>
    where
        R: ChunkResult,
        F: Fn(ArrayView2<'_, C::Output>) -> R + Sync + Send,
    {
        let rows = chunk_rows::<C::Output>(&self.geom, rows, self.len());
        let n_chunks = self.len().div_ceil(rows);
        let src = self.row_source()?;
        let parts: Vec<R> = (0..n_chunks)
            .into_par_iter()
            .map_init(
                || None::<Array2<C::Output>>,
                |buf, c| {
                    let start = self.start + c * rows;
                    let n = rows.min(self.end - start);
                    f(refill(
                        &src,
                        &self.conv,
                        buf,
                        RowSet::Range { start, n },
                        false,
                    ))
                },
            )
            .collect();
        R::concat(parts)
    }

    /// Calls `f(row)` for every row (every window, flattened) on every
    /// core and returns the values in an array shaped like the grid: a
    /// score map you can look at. Memory: one chunk per worker plus the
    /// result.
    ///
    /// # Panics
    ///
    /// If these are not all the rows (use
    /// [`par_map_chunks`](Self::par_map_chunks) for a range); a panic in
    /// `f` propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((32, 48), |(i, j)| (i * 48 + j) as u16);
    /// // The local maximum of every 5x5 window, as an image.
    /// let maxima = img.patches(5).map_windows(|w| *w.iter().max().unwrap());
    /// assert_eq!(maxima.dim(), (28, 44));
    /// assert_eq!(maxima[[0, 0]], img[[4, 4]]);
    /// ```
    #[track_caller]
    pub fn map_windows<T, F>(&self, f: F) -> Array<T, D>
    where
        T: Clone + Send,
        F: Fn(ArrayView1<'_, C::Output>) -> T + Sync + Send,
    {
        assert!(
            self.start == 0 && self.end == self.geom.len(),
            "map_windows needs all {} rows, these are rows {}..{}; use par_map_chunks for a range",
            self.geom.len(),
            self.start,
            self.end
        );
        let values: Array1<T> = self.par_map_chunks(self.default_chunk_rows(), |chunk| {
            chunk.outer_iter().map(&f).collect()
        });
        values
            .into_shape_with_order(self.geom.grid().clone())
            .expect("one value per window")
    }

    /// The rows at `indices` (absolute row numbers, any order, repeats
    /// allowed) as a new `(indices.len(), patch_len)` matrix, filled in
    /// parallel: the rows of a sample, or of patches at keypoints.
    ///
    /// # Panics
    ///
    /// If an index is not in [`range`](Self::range); see
    /// [`try_select`](Self::try_select).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array1};
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::from_iter(0..6);
    /// assert_eq!(a.patches(2).select(&[4, 0, 4]), array![[4, 5], [0, 1], [4, 5]]);
    /// ```
    #[track_caller]
    pub fn select(&self, indices: &[usize]) -> Array2<C::Output> {
        unwrap_or_panic(self.try_select(indices))
    }

    /// Like [`select`](Self::select), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::RowsOutOfRange`] for an index outside the range,
    /// [`PatchError::Overflow`] if the result's size overflows.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(6);
    /// assert!(a.patches(2).try_select(&[5]).is_err());
    /// ```
    pub fn try_select(&self, indices: &[usize]) -> Result<Array2<C::Output>, PatchError> {
        if let Some(&r) = indices.iter().find(|&&r| r < self.start || r >= self.end) {
            return Err(PatchError::RowsOutOfRange {
                start: r,
                end: r.saturating_add(1),
                len: self.end,
            });
        }
        self.geom
            .block_elements(indices.len(), size_of::<C::Output>())?;
        gather_new(&self.row_source()?, &self.conv, indices, true)
    }
}

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for ndarray::Array1<T> {}
    impl<T> Sealed for ndarray::Array2<T> {}
}

/// What [`Rows::par_map_chunks`] can return per chunk: an `Array1` (values
/// per row, concatenated) or an `Array2` (rows, stacked). Sealed.
///
/// # Examples
///
/// ```
/// use ndarray::{array, Array1, Array2};
/// use ndarray_patches::ChunkResult;
///
/// let whole = Array1::concat(vec![array![1, 2], array![3]])?;
/// assert_eq!(whole, array![1, 2, 3]);
/// let whole = Array2::concat(vec![array![[1, 2]], array![[3, 4]]])?;
/// assert_eq!(whole, array![[1, 2], [3, 4]]);
/// # Ok::<(), ndarray_patches::PatchError>(())
/// ```
pub trait ChunkResult: Send + Sized + sealed::Sealed {
    /// The parts, in order, as one array, allocated fallibly.
    ///
    /// # Errors
    ///
    /// [`PatchError::OutOfMemory`] if the result cannot be allocated,
    /// [`PatchError::ShapeMismatch`] if `Array2` parts have different
    /// numbers of columns.
    fn concat(parts: Vec<Self>) -> Result<Self, PatchError>;
}

/// The elements of `parts`, in order, in one fallibly allocated vector.
fn concat_elements<T: Clone, D: Dimension>(parts: &[Array<T, D>]) -> Result<Vec<T>, PatchError> {
    let len = parts
        .iter()
        .map(|p| p.len())
        .fold(0usize, usize::saturating_add);
    let mut v = try_vec_with_capacity(len, "the concatenated chunk results")?;
    for p in parts {
        v.extend(p.iter().cloned());
    }
    Ok(v)
}

impl<T: Clone + Send> ChunkResult for Array1<T> {
    fn concat(parts: Vec<Self>) -> Result<Self, PatchError> {
        if parts.len() == 1 {
            return Ok(parts.into_iter().next().expect("one part"));
        }
        Ok(Array1::from_vec(concat_elements(&parts)?))
    }
}

impl<T: Clone + Send> ChunkResult for Array2<T> {
    fn concat(parts: Vec<Self>) -> Result<Self, PatchError> {
        if parts.len() == 1 {
            return Ok(parts.into_iter().next().expect("one part"));
        }
        let cols = parts.first().map_or(0, |p| p.ncols());
        if let Some(p) = parts.iter().find(|p| p.ncols() != cols) {
            return Err(PatchError::ShapeMismatch {
                operand: "a chunk result (columns)",
                expected: cols,
                found: p.ncols(),
            });
        }
        let rows = parts.iter().map(|p| p.nrows()).sum::<usize>();
        let v = concat_elements(&parts)?;
        Ok(Array2::from_shape_vec((rows, cols), v).expect("rows * cols elements"))
    }
}

/// Owned chunks of rows as `(start, chunk)`; see [`Rows::chunks`].
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
///
/// let a = Array1::from_iter(0..6);
/// let p = a.patches(3);
/// let shapes: Vec<_> = p.chunks(3).map(|(_, c)| c.dim()).collect();
/// assert_eq!(shapes, vec![(3, 3), (1, 3)]);
/// ```
pub struct Chunks<'a, A, C = AsIs> {
    source: RowSource<'a, A>,
    conv: C,
    next: usize,
    end: usize,
    rows: usize,
}

impl<A, C> fmt::Debug for Chunks<'_, A, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunks")
            .field("next", &self.next)
            .field("end", &self.end)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<A: Copy + Sync, C: Conversion<A>> Iterator for Chunks<'_, A, C> {
    type Item = (usize, Array2<C::Output>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let start = self.next;
        let rows = self.rows.min(self.end - start);
        let block = unwrap_or_panic(fill_new(&self.source, &self.conv, start, rows, true));
        self.next += rows;
        Some((start, block))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.end - self.next).div_ceil(self.rows);
        (n, Some(n))
    }
}

impl<A: Copy + Sync, C: Conversion<A>> ExactSizeIterator for Chunks<'_, A, C> {}
impl<A: Copy + Sync, C: Conversion<A>> FusedIterator for Chunks<'_, A, C> {}

/// Where a patch is: its row, its grid index and the source index of its
/// first element. See [`Patches::position`](crate::Patches::position) and
/// [`Rows::positions`].
///
/// # Examples
///
/// ```
/// use ndarray::{Array2, Dim};
/// use ndarray_patches::prelude::*;
///
/// let img = Array2::<u8>::zeros((10, 10));
/// let pos = img.patches(4).step(3).position(5).unwrap();
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

/// Iterator over the [`Position`]s of a range of rows; see
/// [`Rows::positions`].
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
///
/// let a = Array1::<u8>::zeros(9);
/// let origins: Vec<usize> = a.patches(3).step(2).positions().map(|p| p.origin[0]).collect();
/// assert_eq!(origins, vec![0, 2, 4, 6]);
/// ```
#[derive(Clone, Debug)]
pub struct Positions<D: Dimension> {
    grid_shape: D,
    step: D,
    /// The origin of the last grid position on each axis (not a step after
    /// the one before it under `Edge::Shift`).
    last_origin: D,
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
            if p.grid[k] + 1 < self.grid_shape[k] {
                p.origin[k] += self.step[k];
                break;
            }
            if p.grid[k] + 1 == self.grid_shape[k] {
                p.origin[k] = self.last_origin[k];
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

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use crate::error::PatchError;
    use crate::PatchExt;

    /// The README's case: a 100 GB matrix is an error, not an abort.
    #[test]
    #[cfg_attr(miri, ignore = "allocates a large image")]
    fn huge_matrix_is_an_error() {
        let img = Array2::<f32>::zeros((4096, 4096));
        let p = img.patches(39);
        match p.try_to_matrix() {
            Err(PatchError::OutOfMemory { bytes, .. }) => {
                assert_eq!(bytes, 4058 * 4058 * 1521 * 4)
            }
            Ok(m) => assert!(!m.is_empty(), "this machine holds 100 GB"),
            Err(e) => panic!("unexpected {e}"),
        }
    }
}

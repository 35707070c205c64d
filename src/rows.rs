//! [`Rows`]: every way the rows of the patch matrix are delivered, written
//! once for every row set.
//!
//! A `Rows` value is the patches, a [`RowSet`] (a range of rows, all of
//! them for [`Patches`](crate::Patches), which dereferences to one; or an
//! index list: a selection, a sample, a shuffled epoch) and a
//! [`Conversion`] applied during the copy ([`AsIs`] by default; see
//! [`Rows::cast`] and [`Rows::map_elems`]). Every delivery method is
//! declared here, once, and works on every row set.
//!
//! Memory: a visitor holds one `(rows, patch_len)` buffer
//! (`for_each_chunk`) or one per worker thread (the `par_*` methods),
//! allocated once and refilled; nothing is proportional to the number of
//! patches except the results you ask for (and an index set's indices).

use std::fmt;
use std::iter::FusedIterator;
use std::mem::size_of;
use std::ops::{Bound, ControlFlow, Deref, Range, RangeBounds};
use std::sync::Arc;

use ndarray::{s, Array, Array1, Array2, ArrayView, ArrayView1, ArrayView2};
use ndarray::{ArrayViewMut2, Dimension};

use crate::error::{unwrap_or_panic, PatchError};
use crate::flatten::{fill_new, fill_view, try_vec_with_capacity, Part, RowSource, Threads};
use crate::geometry::Geometry;
use crate::method::Method;
use crate::par::par_tasks;
use crate::scalar::{AsIs, Cast, Conversion, MapElems};
use crate::stop::check as check_stop;

/// The chunk size, in bytes of the rows delivered, that
/// [`Rows::default_chunk_rows`] aims at: 1 MiB.
///
/// A chunk is written by the flattener and then read by the caller's code;
/// when it fits in the core's L2 cache (1-2 MiB on current x86 and ARM
/// cores) the second pass reads from cache instead of DRAM, and the buffer
/// is never evicted between refills. Much smaller chunks pay the per-chunk
/// overhead (a task, the caller's per-call setup, a short GEMM); much
/// larger ones spill to DRAM.
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

mod sealed_set {
    pub trait Sealed {}
    impl Sealed for std::ops::Range<usize> {}
    impl Sealed for super::Indices {}
}

/// Which rows a [`Rows`] delivers, in which order: a range of rows
/// (`Range<usize>`, consecutive rows, the default) or an index list
/// ([`Indices`]: a selection, a sample, a shuffled epoch). Sealed.
///
/// Each chunk a delivery method hands out comes with its
/// [`Label`](Self::Label), the rows it holds: for a range, the number of
/// its first row (`usize`); for an index list, its row numbers (an
/// [`Indices`]). Row numbers are always rows of the whole patch matrix, so
/// [`Patches::position`](crate::Patches::position) gives a window's origin
/// and `labels[r]` its label, without offsets.
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
///
/// let a = Array1::from_iter(0..10u8);
/// let p = a.patches(3);                                 // 8 rows
/// // A range: chunks say where they start.
/// p.rows(2..7).for_each_chunk(2, |start, c| assert_eq!(c[[0, 0]], start as u8));
/// // An index list: chunks say which rows they hold.
/// p.select(&[6, 1, 4]).for_each_chunk(2, |rows, c| {
///     for (i, &r) in rows.iter().enumerate() {
///         assert_eq!(c[[i, 0]], r as u8);
///     }
/// });
/// ```
pub trait RowSet: sealed_set::Sealed + Clone + fmt::Debug + Send + Sync {
    /// What a chunk says about the rows it holds: the first row of a
    /// range's chunk, the row numbers of an index list's chunk.
    type Label: Clone + fmt::Debug + Send + Sync;

    /// The number of rows in the set.
    #[doc(hidden)]
    fn count(&self) -> usize;

    /// The rows at positions `offset..offset + n` of the set, for the copy.
    #[doc(hidden)]
    fn part(&self, offset: usize, n: usize) -> Part<'_>;

    /// The label of the chunk holding positions `offset..offset + n`.
    #[doc(hidden)]
    fn label(&self, offset: usize, n: usize) -> Self::Label;

    /// The row at position `k` (`k < count()`).
    #[doc(hidden)]
    fn row(&self, k: usize) -> usize;
}

impl RowSet for Range<usize> {
    type Label = usize;

    fn count(&self) -> usize {
        self.len()
    }

    fn part(&self, offset: usize, n: usize) -> Part<'_> {
        Part::Range {
            start: self.start + offset,
            n,
        }
    }

    fn label(&self, offset: usize, _: usize) -> usize {
        self.start + offset
    }

    fn row(&self, k: usize) -> usize {
        self.start + k
    }
}

/// Row numbers of the patch matrix, in the order they are delivered
/// (repeats allowed): the row set of a selection ([`Rows::select`]), a
/// sample or a shuffled epoch, and the label of each of their chunks.
/// Dereferences to `[usize]`; cheap to clone (the indices are shared, a
/// chunk's label is a window on them).
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
///
/// let a = Array1::<u8>::zeros(10);
/// let picked = a.patches(3).select(&[5, 0, 5]);
/// assert_eq!(&picked.indices()[..], &[5, 0, 5]);
/// assert_eq!(picked.indices().len(), 3);
/// ```
#[derive(Clone)]
pub struct Indices {
    all: Arc<[usize]>,
    start: usize,
    end: usize,
}

impl Indices {
    pub(crate) fn new(v: Vec<usize>) -> Self {
        let end = v.len();
        Indices {
            all: v.into(),
            start: 0,
            end,
        }
    }
}

impl Deref for Indices {
    type Target = [usize];

    fn deref(&self) -> &[usize] {
        &self.all[self.start..self.end]
    }
}

impl fmt::Debug for Indices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Indices {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Indices {}

impl RowSet for Indices {
    type Label = Indices;

    fn count(&self) -> usize {
        self.end - self.start
    }

    fn part(&self, offset: usize, n: usize) -> Part<'_> {
        Part::Indices(&self[offset..offset + n])
    }

    fn label(&self, offset: usize, n: usize) -> Indices {
        Indices {
            all: Arc::clone(&self.all),
            start: self.start + offset,
            end: self.start + offset + n,
        }
    }

    fn row(&self, k: usize) -> usize {
        self[k]
    }
}

/// A set of rows of the patch matrix, and what the copy does to each
/// element: the one type that delivers rows.
///
/// Made by [`Patches::rows`](crate::Patches::rows) (a range),
/// [`select`](Self::select) (an index list), `shuffled` (a permutation;
/// feature `rand`), [`cast`](Self::cast) or [`map_elems`](Self::map_elems)
/// (a conversion); a [`Patches`](crate::Patches) dereferences to all its
/// rows, so every method below also works on them directly
/// (`p.to_matrix()`). The row set is the type parameter `S` ([`RowSet`]):
/// every method works on every row set, except the few that need
/// consecutive rows (noted).
///
/// Row `r` is patch `r`, its elements in row-major order (numpy's
/// `sliding_window_view(a, p)[::s].reshape(-1, prod(p))` order). Row numbers
/// handed to callbacks are rows of the whole matrix, so results can be
/// placed without offset arithmetic.
///
/// | method | gives | memory |
/// |---|---|---|
/// | [`to_matrix`](Self::to_matrix) | a new `(len, patch_len)` matrix | the matrix |
/// | [`write_rows`](Self::write_rows) | rows into your buffer | none |
/// | [`for_each_chunk`](Self::for_each_chunk) | `f(label, chunk)` in order, one reused buffer | one chunk |
/// | [`par_for_each_chunk`](Self::par_for_each_chunk) | `f(label, chunk)` on every thread | a chunk per thread |
/// | [`par_fold_chunks`](Self::par_fold_chunks) | your reduction, a state per thread merged once | a chunk and a state per thread |
/// | [`par_map_chunks`](Self::par_map_chunks) | `f(chunk)`'s results, concatenated in order | a chunk per thread + results |
/// | [`map_windows`](Self::map_windows) (all rows) | `f(row)` for every window, shaped like the grid | a chunk per thread + results |
/// | [`chunks`](Self::chunks) | an iterator of owned `(label, chunk)` | one chunk |
/// | linear algebra (`dot`, `gram`, ...; float rows) | products with the virtual matrix | a chunk per thread + result |
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
/// // A range of rows, for sharding the work; rows at given indices.
/// let half = p.rows(p.len() / 2..);
/// assert_eq!(half.to_matrix().nrows(), p.len() - p.len() / 2);
/// assert_eq!(p.select(&[3, 1]).to_matrix().row(1), p.to_matrix().row(1));
/// ```
pub struct Rows<'a, A, D: Dimension, C = AsIs, S = Range<usize>> {
    source: ArrayView<'a, A, D>,
    geom: Geometry<D>,
    set: S,
    conv: C,
    /// The linear algebra's algorithm (`Rows::method`, in `linalg`).
    pub(crate) method: Method,
}

impl<A, D: Dimension, C: Clone, S: Clone> Clone for Rows<'_, A, D, C, S> {
    fn clone(&self) -> Self {
        Rows {
            source: self.source.clone(),
            geom: self.geom.clone(),
            set: self.set.clone(),
            conv: self.conv.clone(),
            method: self.method,
        }
    }
}

impl<A, D: Dimension, C: fmt::Debug, S: fmt::Debug> fmt::Debug for Rows<'_, A, D, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rows")
            .field("rows", &self.set)
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

impl<'a, A, D: Dimension> Rows<'a, A, D> {
    /// All rows of the patches of `geom` over `source` (the geometry was
    /// validated for that source by its maker).
    pub(crate) fn new(source: ArrayView<'a, A, D>, geom: Geometry<D>) -> Self {
        let end = geom.len();
        Rows {
            source,
            geom,
            set: 0..end,
            conv: AsIs,
            method: Method::Auto,
        }
    }
}

impl<'a, A, D: Dimension, C: Clone, S> Rows<'a, A, D, C, S> {
    /// The same patches and conversion, another row set (checked by the
    /// caller).
    pub(crate) fn with_set<S2>(&self, set: S2) -> Rows<'a, A, D, C, S2> {
        Rows {
            source: self.source.clone(),
            geom: self.geom.clone(),
            set,
            conv: self.conv.clone(),
            method: self.method,
        }
    }
}

impl<'a, A, D: Dimension, S: Clone> Rows<'a, A, D, AsIs, S> {
    pub(crate) fn source(&self) -> &ArrayView<'a, A, D> {
        &self.source
    }

    fn with_conv<C>(&self, conv: C) -> Rows<'a, A, D, C, S> {
        Rows {
            source: self.source.clone(),
            geom: self.geom.clone(),
            set: self.set.clone(),
            conv,
            method: self.method,
        }
    }

    /// These rows with each element converted by `B::from` during the copy
    /// (`u8` pixels to `f32` rows): an adaptor, every delivery method and
    /// the linear algebra work on the result.
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
    pub fn cast<B>(&self) -> Rows<'a, A, D, Cast<B>, S>
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
    pub fn map_elems<B, F>(&self, f: F) -> Rows<'a, A, D, MapElems<F, B>, S>
    where
        F: Fn(A) -> B + Sync,
        B: Copy + Send + Sync,
    {
        self.with_conv(MapElems::new(f))
    }
}

/// # A range of rows
impl<A, D: Dimension, C> Rows<'_, A, D, C> {
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
        self.set.clone()
    }

    /// Calls `f(start, chunk)` for the rows `range` (a part of these rows,
    /// checked by the caller) in chunks of at most `rows` rows, in order,
    /// filled on the calling thread into one buffer: for callers that walk
    /// their own share of the rows on each worker (the parallel fold).
    pub(crate) fn try_for_each_chunk_in<F>(
        &self,
        range: Range<usize>,
        rows: usize,
        mut f: F,
    ) -> Result<(), PatchError>
    where
        A: Copy + Send + Sync,
        C: Conversion<A>,
        F: FnMut(usize, ArrayView2<'_, C::Output>),
    {
        debug_assert!(self.set.start <= range.start && range.end <= self.set.end);
        let rows = rows.clamp(1, range.len().max(1));
        self.geom.block_elements(rows, size_of::<C::Output>())?;
        if range.is_empty() {
            return Ok(());
        }
        let src = self.row_source()?;
        let mut buf = None;
        for start in range.clone().step_by(rows) {
            let n = rows.min(range.end - start);
            let part = Part::Range { start, n };
            f(
                start,
                refill(&src, &self.conv, &mut buf, part, Threads::Caller)?,
            );
        }
        Ok(())
    }
}

/// # Selecting rows
impl<'a, A, D: Dimension, C: Clone> Rows<'a, A, D, C> {
    /// The rows at `indices` (row numbers of the whole matrix, in this
    /// range, any order, repeats allowed), as an index row set: the rows
    /// of a sample, or of windows at keypoints. Every delivery method
    /// works on it (`select(..).to_matrix()` is the matrix of those rows).
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
    /// assert_eq!(a.patches(2).select(&[4, 0, 4]).to_matrix(), array![[4, 5], [0, 1], [4, 5]]);
    /// ```
    #[track_caller]
    pub fn select(&self, indices: &[usize]) -> Rows<'a, A, D, C, Indices> {
        unwrap_or_panic(self.try_select(indices))
    }

    /// Like [`select`](Self::select), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::RowNotInSet`] for an index outside the range,
    /// [`PatchError::OutOfMemory`] if the indices cannot be copied.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(6);
    /// assert!(a.patches(2).try_select(&[5]).is_err());
    /// assert!(a.patches(2).rows(1..3).try_select(&[0]).is_err());
    /// ```
    pub fn try_select(&self, indices: &[usize]) -> Result<Rows<'a, A, D, C, Indices>, PatchError> {
        let set = &self.set;
        if let Some(&row) = indices.iter().find(|&&r| !set.contains(&r)) {
            return Err(PatchError::RowNotInSet {
                row,
                start: set.start,
                end: set.end,
            });
        }
        let mut v = try_vec_with_capacity(indices.len(), "the selected row numbers")?;
        v.extend_from_slice(indices);
        Ok(self.with_set(Indices::new(v)))
    }
}

/// # An index list
impl<A, D: Dimension, C> Rows<'_, A, D, C, Indices> {
    /// The rows delivered, in order, as row numbers of the whole matrix.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    ///
    /// let a = Array1::<u8>::zeros(10);
    /// assert_eq!(&a.patches(3).select(&[4, 2]).indices()[..], &[4, 2]);
    /// ```
    pub fn indices(&self) -> &Indices {
        &self.set
    }
}

/// # Row set, positions and sizes
impl<A, D: Dimension, C, S: RowSet> Rows<'_, A, D, C, S> {
    pub(crate) fn geometry(&self) -> &Geometry<D> {
        &self.geom
    }

    /// The source and the conversion (the linear algebra's passes over
    /// the image).
    pub(crate) fn source_and_conversion(&self) -> (&ArrayView<'_, A, D>, &C) {
        (&self.source, &self.conv)
    }

    #[cfg_attr(not(feature = "rand"), allow(dead_code))] // used by `shuffle`
    pub(crate) fn row_set(&self) -> &S {
        &self.set
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
    /// assert_eq!(a.patches(3).select(&[1, 1]).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.set.count()
    }

    /// `true` if no row is delivered.
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
        self.len() == 0
    }

    /// The [`Position`] of every row, in delivery order: the cheap way to
    /// align one result per row with the source. Grid indices are shown
    /// as the grid is ([`Patches::grid`](crate::Patches::grid): batch and
    /// windowed axes only for windows along some axes).
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
    /// let rows: Vec<_> = p.select(&[8, 0]).positions().map(|q| q.row).collect();
    /// assert_eq!(rows, vec![8, 0]);
    /// ```
    pub fn positions(&self) -> Positions<'_, D, S> {
        Positions {
            geom: &self.geom,
            set: &self.set,
            k: 0,
            end: self.len(),
            last: self.geom.last_origin(),
            odometer: None,
        }
    }
}

impl<A: Copy, D: Dimension, C: Conversion<A>, S: RowSet> Rows<'_, A, D, C, S> {
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

/// The rows of `part` in a reused buffer: refilled in place when the buffer
/// has room (it is only ever short for the first chunk), allocated once
/// otherwise. The chunk's check of the watched
/// [`StopToken`](crate::StopToken), on every delivery path.
pub(crate) fn refill<'b, A: Copy + Sync, C: Conversion<A>>(
    src: &RowSource<'_, A>,
    conv: &C,
    buf: &'b mut Option<Array2<C::Output>>,
    part: Part<'_>,
    threads: Threads,
) -> Result<ArrayView2<'b, C::Output>, PatchError> {
    check_stop()?;
    let n = part.len();
    match buf {
        Some(b) if b.nrows() >= n => fill_view(src, conv, part, b.slice_mut(s![..n, ..]), threads)?,
        _ => *buf = Some(fill_new(src, conv, part, threads)?),
    }
    let b: &'b Array2<C::Output> = buf.as_ref().expect("filled just above");
    Ok(b.slice(s![..n, ..]))
}

/// A chunk size checked: at least one row, at most the set (at least 1),
/// and a block of that many rows addressable.
#[track_caller]
fn chunk_rows<B>(geom: &Geometry<impl Dimension>, rows: usize, len: usize) -> usize {
    assert!(rows > 0, "chunk size is zero rows; it must be at least 1");
    let rows = rows.min(len).max(1);
    unwrap_or_panic(geom.block_elements(rows, size_of::<B>()));
    rows
}

/// # Delivering rows
impl<'a, A: Copy + Send + Sync, D: Dimension, C: Conversion<A>, S: RowSet> Rows<'a, A, D, C, S> {
    pub(crate) fn row_source(&self) -> Result<RowSource<'a, A>, PatchError> {
        RowSource::new(&self.source, &self.geom)
    }

    /// The rows as a new `(len, patch_len)` matrix, filled on every core.
    ///
    /// The matrix is `patch_len` times larger than the patches' footprint
    /// in the source; to walk every patch with bounded memory use the chunk
    /// methods or [`write_rows`](Self::write_rows).
    ///
    /// # Panics
    ///
    /// If the matrix's size in bytes overflows `isize` or it cannot be
    /// allocated; see [`try_to_matrix`](Self::try_to_matrix).
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
    /// [`PatchError::Overflow`] if the matrix's size overflows `isize`,
    /// [`PatchError::OutOfMemory`] if it cannot be allocated.
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
        fill_new(
            &src,
            &self.conv,
            self.set.part(0, self.len()),
            Threads::Pool,
        )
    }

    /// Writes the rows at positions `k..k + out.nrows()` of this row set
    /// into `out`, a buffer of yours of any layout (reuse it, or fill your
    /// share of a matrix split across processes or machines), on every
    /// core. For all the rows of a [`Patches`](crate::Patches), position
    /// `k` is row `k`.
    ///
    /// # Panics
    ///
    /// If `out` does not have `patch_len` columns or the positions pass the
    /// end of the set; see [`try_write_rows`](Self::try_write_rows).
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
    /// p.rows(2..).cast::<f32>().write_rows(0, buf.view_mut()); // rows 2..6
    /// assert_eq!(buf.row(0).to_vec(), vec![2.0, 3.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn write_rows(&self, k: usize, out: ArrayViewMut2<'_, C::Output>) {
        unwrap_or_panic(self.try_write_rows(k, out))
    }

    /// Like [`write_rows`](Self::write_rows), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::RowWidth`] if `out.ncols() != patch_len`,
    /// [`PatchError::RowsOutOfRange`] if the positions pass the end of the
    /// set.
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
        k: usize,
        out: ArrayViewMut2<'_, C::Output>,
    ) -> Result<(), PatchError> {
        let pl = self.geom.patch_len();
        if out.ncols() != pl {
            return Err(PatchError::RowWidth {
                expected: pl,
                found: out.ncols(),
            });
        }
        let end = k.saturating_add(out.nrows());
        if end > self.len() {
            return Err(PatchError::RowsOutOfRange {
                start: k,
                end,
                len: self.len(),
            });
        }
        let src = self.row_source()?;
        let part = self.set.part(k, out.nrows());
        fill_view(&src, &self.conv, part, out, Threads::Pool)
    }

    /// Owned chunks of at most `rows` rows, in order, as `(label, chunk)`
    /// (the label says which rows the chunk holds; see [`RowSet`]): an
    /// iterator to pull from (each chunk is a new array, filled on every
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
    /// let picked: Vec<_> = p.select(&[3, 0, 2]).chunks(2).map(|(rows, _)| rows.to_vec()).collect();
    /// assert_eq!(picked, vec![vec![3, 0], vec![2]]);
    /// ```
    #[track_caller]
    pub fn chunks(&self, rows: usize) -> Chunks<'a, A, C, S>
    where
        C: Clone,
    {
        let rows = chunk_rows::<C::Output>(&self.geom, rows, self.len());
        Chunks {
            source: unwrap_or_panic(self.row_source()),
            conv: self.conv.clone(),
            set: self.set.clone(),
            next: 0,
            rows,
        }
    }

    /// Calls `f(label, chunk)` for consecutive chunks of at most `rows`
    /// rows, in order, on the calling thread; each chunk is filled on every
    /// core into one buffer, allocated once and refilled. Memory: one chunk.
    ///
    /// `f` returns `()` to go through every chunk, or a [`Flow`]
    /// (`ControlFlow<B>` or `Result<(), E>`) to be able to stop: the first
    /// `Break(b)` or `Err(e)` ends the stream and is returned.
    ///
    /// # Panics
    ///
    /// If `rows` is zero, or a chunk's size in bytes overflows `isize` or
    /// cannot be allocated; a panic in `f` propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((64, 64), |(i, j)| (i + j) as u8);
    /// let p = img.patches(8);
    /// let mut total = 0.0f64;
    /// p.cast::<f64>().for_each_chunk(1000, |_start, chunk| total += chunk.sum());
    /// assert_eq!(total, p.cast::<f64>().to_matrix().sum());
    ///
    /// // Stop at the first window whose mean passes 60: its row.
    /// let found = p.cast::<f64>().for_each_chunk(100, |start, chunk| {
    ///     match chunk.rows().into_iter().position(|w| w.mean().unwrap() > 60.0) {
    ///         Some(i) => ControlFlow::Break(start + i),
    ///         None => ControlFlow::Continue(()),
    ///     }
    /// });
    /// assert_eq!(found, ControlFlow::Break(p.row_of((0, 54)).unwrap())); // mean 0 + 54 + 7
    /// ```
    #[track_caller]
    pub fn for_each_chunk<F, R>(&self, rows: usize, mut f: F) -> R
    where
        F: FnMut(S::Label, ArrayView2<'_, C::Output>) -> R,
        R: Flow,
    {
        let rows = chunk_rows::<C::Output>(&self.geom, rows, self.len());
        let src = unwrap_or_panic(self.row_source());
        // The first chunk, the largest, allocates the one buffer.
        let mut buf = None;
        for k in (0..self.len()).step_by(rows) {
            let n = rows.min(self.len() - k);
            let chunk = refill(
                &src,
                &self.conv,
                &mut buf,
                self.set.part(k, n),
                Threads::Pool,
            );
            if let Err(b) = f(self.set.label(k, n), unwrap_or_panic(chunk)).branch() {
                return R::done(Some(b));
            }
        }
        R::done(None)
    }

    /// Calls `f(label, chunk)` for chunks of at most `rows` rows on every
    /// rayon thread, in no particular order: each worker fills its own
    /// buffer and runs `f` on it, so your code runs on every core next to
    /// a chunk in its cache. Memory: one chunk per thread.
    ///
    /// `f` returns `()`, or a [`Flow`] (`ControlFlow<B>`, `Result<(), E>`)
    /// to stop early: after the first `Break`/`Err`, every other worker
    /// stops before its next chunk (so at most one chunk per thread is
    /// still processed), and that value is returned (if several workers
    /// stop at once, one of their values).
    ///
    /// To collect one result per chunk or per row, use
    /// [`par_map_chunks`](Self::par_map_chunks) or
    /// [`map_windows`](Self::map_windows); for a reduction of your own,
    /// [`par_fold_chunks`](Self::par_fold_chunks); no locks needed.
    ///
    /// # Panics
    ///
    /// If `rows` is zero, or a chunk's size in bytes overflows `isize` or
    /// cannot be allocated; a panic in `f` propagates.
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
    ///
    /// // A failure in your code stops every worker.
    /// let r = p.par_for_each_chunk(64, |start, _| if start >= 640 { Err(start) } else { Ok(()) });
    /// assert!(r.is_err_and(|start| start >= 640));
    /// ```
    #[track_caller]
    pub fn par_for_each_chunk<F, R>(&self, rows: usize, f: F) -> R
    where
        F: Fn(S::Label, ArrayView2<'_, C::Output>) -> R + Sync + Send,
        R: Flow,
    {
        let rows = chunk_rows::<C::Output>(&self.geom, rows, self.len());
        let r = self.fold_chunks_at(
            rows,
            || Ok(()),
            |(), k, chunk| {
                f(self.set.label(k, chunk.nrows()), chunk)
                    .branch()
                    .map_err(Halt::Stop)
            },
            |(), ()| (),
        );
        match r {
            Ok(()) => R::done(None),
            Err(Halt::Stop(b)) => R::done(Some(b)),
            Err(Halt::Error(e)) => unwrap_or_panic(Err(e)),
        }
    }

    /// A reduction of your own over every chunk, on every rayon thread:
    /// each worker makes its state once with `init()`, folds its chunks
    /// into it with `fold(state, label, chunk)` (chunks of at most `rows`
    /// rows, in no particular order), and the workers' states are merged
    /// once with `merge` (rayon's fold/reduce idiom, with one state per
    /// worker). A histogram, a running covariance, the best window: no
    /// `Mutex` in your code. Memory: a chunk and a state per thread.
    ///
    /// With no rows, `fold` is never called and the result is one `init()`.
    ///
    /// # Panics
    ///
    /// If `rows` is zero, or a chunk's size in bytes overflows `isize` or
    /// cannot be allocated; a panic in `init`, `fold` or `merge`
    /// propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    ///
    /// let img = Array2::from_shape_fn((64, 64), |(i, j)| ((i * 3 + j * 5) % 256) as u8);
    /// let p = img.patches(8);
    /// // A histogram of every window's mean brightness, in 16 bins.
    /// let hist = p.cast::<f32>().par_fold_chunks(
    ///     p.default_chunk_rows(),
    ///     || vec![0usize; 16],
    ///     |mut h, _start, chunk| {
    ///         for row in chunk.rows() {
    ///             h[(row.mean().unwrap() / 16.0) as usize] += 1;
    ///         }
    ///         h
    ///     },
    ///     |a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect(),
    /// );
    /// assert_eq!(hist.iter().sum::<usize>(), p.len());
    /// ```
    #[track_caller]
    pub fn par_fold_chunks<T, I, G, M>(&self, rows: usize, init: I, fold: G, merge: M) -> T
    where
        T: Send,
        I: Fn() -> T + Sync + Send,
        G: Fn(T, S::Label, ArrayView2<'_, C::Output>) -> T + Sync + Send,
        M: Fn(T, T) -> T + Sync + Send,
    {
        let rows = chunk_rows::<C::Output>(&self.geom, rows, self.len());
        let r = self.fold_chunks_at(
            rows,
            || Ok(Some(init())),
            |state: &mut Option<T>, k, chunk| {
                let acc = state.take().expect("a state between chunks");
                *state = Some(fold(acc, self.set.label(k, chunk.nrows()), chunk));
                Ok(())
            },
            |a, b| Some(merge(a.expect("merged once"), b.expect("merged once"))),
        );
        unwrap_or_panic(r).expect("a state after the last chunk")
    }

    /// The engine under every parallel delivery and the linear algebra:
    /// chunks of `rows` rows (checked by the caller) handed to
    /// `fold(state, k, chunk)` on every worker of [`par_tasks`], with `k`
    /// the position of the chunk's first row in the set, each worker with
    /// its own state and buffer; states merged once.
    pub(crate) fn fold_chunks_at<T, E, I, G, M>(
        &self,
        rows: usize,
        init: I,
        fold: G,
        merge: M,
    ) -> Result<T, E>
    where
        T: Send,
        E: Send + From<PatchError>,
        I: Fn() -> Result<T, E> + Sync + Send,
        G: Fn(&mut T, usize, ArrayView2<'_, C::Output>) -> Result<(), E> + Sync + Send,
        M: Fn(T, T) -> T + Sync + Send,
    {
        let len = self.len();
        let src = self.row_source()?;
        let (state, _) = par_tasks(
            len.div_ceil(rows),
            || Ok((init()?, None::<Array2<C::Output>>)),
            |(state, buf), c| {
                let k = c * rows;
                let part = self.set.part(k, rows.min(len - k));
                let chunk = refill(&src, &self.conv, buf, part, Threads::Caller)?;
                fold(state, k, chunk)
            },
            |(a, buf), (b, _)| (merge(a, b), buf),
        )?;
        Ok(state)
    }

    /// Calls `f(chunk)` for chunks of at most `rows` rows on every rayon
    /// thread and returns the results concatenated in row order: an
    /// `Array1` per chunk (one value per row, say `chunk.dot(&w)`) gives
    /// one `Array1`, an `Array2` per chunk (`chunk.dot(&filters)`) one
    /// `Array2`. No locks and no offsets in your code. Memory: one chunk
    /// per worker plus the results (held twice while they are
    /// concatenated). With no rows `f` is never called and the result is
    /// empty: an `Array2` of shape `(0, 0)`, since its number of columns
    /// is only known from `f`.
    ///
    /// To stop early, return a `Result` per chunk: the first `Err` (in no
    /// particular order if several workers fail at once) stops every
    /// worker before its next chunk and is returned.
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
    /// // A model that can fail: the first error stops the stream.
    /// let scores: Result<Array1<f32>, String> = p.par_map_chunks(512, |chunk| {
    ///     let s = chunk.sum_axis(ndarray::Axis(1));
    ///     if s.iter().all(|v| v.is_finite()) { Ok(s) } else { Err("not finite".into()) }
    /// });
    /// assert_eq!(scores.unwrap().len(), p.len());
    /// ```
    #[track_caller]
    pub fn par_map_chunks<R, F>(&self, rows: usize, f: F) -> R
    where
        R: ChunkResult,
        F: Fn(ArrayView2<'_, C::Output>) -> R + Sync + Send,
    {
        let rows = chunk_rows::<C::Output>(&self.geom, rows, self.len());
        unwrap_or_panic(self.map_chunks_at(rows, f))
    }

    /// [`par_map_chunks`](Self::par_map_chunks) with `rows` checked by the
    /// caller and the failures returned.
    pub(crate) fn map_chunks_at<R, F>(&self, rows: usize, f: F) -> Result<R, PatchError>
    where
        R: ChunkResult,
        F: Fn(ArrayView2<'_, C::Output>) -> R + Sync + Send,
    {
        let run = self.fold_chunks_at(
            rows,
            || Ok(Vec::new()),
            |parts: &mut Vec<(usize, R)>, k, chunk| {
                let r = f(chunk);
                if r.stops() {
                    return Err(Halt::Stop(r));
                }
                parts.push((k, r));
                Ok(())
            },
            |mut a, b| {
                a.extend(b);
                a
            },
        );
        let mut parts = match run {
            Ok(parts) => parts,
            Err(Halt::Stop(r)) => return Ok(r),
            Err(Halt::Error(e)) => return Err(e),
        };
        parts.sort_unstable_by_key(|&(k, _)| k);
        R::concat(parts.into_iter().map(|(_, r)| r).collect())
    }
}

/// # Windows shaped like the grid
impl<A: Copy + Send + Sync, D: Dimension, C: Conversion<A>> Rows<'_, A, D, C> {
    /// Calls `f(row)` for every row (every window, flattened) on every
    /// core and returns the values in an array shaped like the grid
    /// ([`Patches::grid`](crate::Patches::grid)): a score map you can look
    /// at. Memory: one chunk per worker plus the result.
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
            self.set == (0..self.geom.len()),
            "map_windows needs all {} rows, these are rows {:?}; use par_map_chunks for a range",
            self.geom.len(),
            self.set
        );
        let values: Array1<T> = self.par_map_chunks(self.default_chunk_rows(), |chunk| {
            chunk.outer_iter().map(&f).collect()
        });
        values
            .into_shape_with_order(self.geom.shown_grid())
            .expect("one value per window")
    }
}

/// Why a parallel delivery ended early: a callback asked to stop (with its
/// value), or the delivery itself failed.
enum Halt<B> {
    Stop(B),
    Error(PatchError),
}

impl<B> From<PatchError> for Halt<B> {
    fn from(e: PatchError) -> Self {
        Halt::Error(e)
    }
}

mod sealed_flow {
    pub trait Sealed {}
    impl Sealed for () {}
    impl<B> Sealed for std::ops::ControlFlow<B> {}
    impl<E> Sealed for Result<(), E> {}
}

/// What a chunk callback of [`Rows::for_each_chunk`] or
/// [`Rows::par_for_each_chunk`] returns: `()` to go through every chunk,
/// `ControlFlow<B>` or `Result<(), E>` to be able to stop the stream early
/// (searching for the first window that matches, a time budget, a failure).
/// The method returns the same type: the value that stopped it, or
/// `Continue(())` / `Ok(())` after the last chunk. Sealed.
///
/// # Examples
///
/// ```
/// use std::ops::ControlFlow;
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
///
/// let a = Array1::from_iter(0..100u32);
/// let p = a.patches(5);
/// let mut chunks = 0;
/// let r = p.for_each_chunk(10, |start, _| {
///     chunks += 1;
///     if start >= 30 { ControlFlow::Break(start) } else { ControlFlow::Continue(()) }
/// });
/// assert_eq!((r, chunks), (ControlFlow::Break(30), 4));
/// ```
pub trait Flow: sealed_flow::Sealed + Sized {
    /// The value that stops the stream.
    type Break: Send;
    /// `Err(b)` to stop with `b`, `Ok(())` to go on.
    #[doc(hidden)]
    fn branch(self) -> Result<(), Self::Break>;
    /// What the method returns: stopped with a value, or not.
    #[doc(hidden)]
    fn done(stopped: Option<Self::Break>) -> Self;
}

impl Flow for () {
    type Break = std::convert::Infallible;

    fn branch(self) -> Result<(), std::convert::Infallible> {
        Ok(())
    }

    fn done(_: Option<std::convert::Infallible>) {}
}

impl<B: Send> Flow for ControlFlow<B> {
    type Break = B;

    fn branch(self) -> Result<(), B> {
        match self {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(b) => Err(b),
        }
    }

    fn done(stopped: Option<B>) -> Self {
        stopped.map_or(ControlFlow::Continue(()), ControlFlow::Break)
    }
}

impl<E: Send> Flow for Result<(), E> {
    type Break = E;

    fn branch(self) -> Result<(), E> {
        self
    }

    fn done(stopped: Option<E>) -> Self {
        stopped.map_or(Ok(()), Err)
    }
}

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for ndarray::Array1<T> {}
    impl<T> Sealed for ndarray::Array2<T> {}
    impl<R: Sealed, E> Sealed for Result<R, E> {}
}

/// What [`Rows::par_map_chunks`] can return per chunk: an `Array1` (values
/// per row, concatenated), an `Array2` (rows, stacked), or a `Result` of
/// either (the first `Err` stops the stream and is returned). Sealed.
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

    /// `true` for a part that stops the stream (an `Err`).
    #[doc(hidden)]
    fn stops(&self) -> bool {
        false
    }
}

impl<R: ChunkResult, E: Send> ChunkResult for Result<R, E> {
    fn concat(parts: Vec<Self>) -> Result<Self, PatchError> {
        let mut oks = Vec::with_capacity(parts.len());
        for part in parts {
            match part {
                Ok(r) => oks.push(r),
                Err(e) => return Ok(Err(e)),
            }
        }
        R::concat(oks).map(Ok)
    }

    fn stops(&self) -> bool {
        self.is_err()
    }
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

/// Owned chunks of rows as `(label, chunk)`; see [`Rows::chunks`].
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
///
/// let a = Array1::from_iter(0..6);
/// let p = a.patches(3);
/// let chunks = p.chunks(3);
/// assert_eq!(chunks.len(), 2);
/// let shapes: Vec<_> = chunks.map(|(_, c)| c.dim()).collect();
/// assert_eq!(shapes, vec![(3, 3), (1, 3)]);
/// ```
pub struct Chunks<'a, A, C = AsIs, S = Range<usize>> {
    source: RowSource<'a, A>,
    conv: C,
    set: S,
    /// The position in the set of the next chunk's first row.
    next: usize,
    rows: usize,
}

impl<A, C, S: fmt::Debug> fmt::Debug for Chunks<'_, A, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunks")
            .field("set", &self.set)
            .field("next", &self.next)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<A: Copy + Sync, C: Conversion<A>, S: RowSet> Iterator for Chunks<'_, A, C, S> {
    type Item = (S::Label, Array2<C::Output>);

    fn next(&mut self) -> Option<Self::Item> {
        let len = self.set.count();
        if self.next >= len {
            return None;
        }
        let k = self.next;
        let n = self.rows.min(len - k);
        let part = self.set.part(k, n);
        let block = unwrap_or_panic(fill_new(&self.source, &self.conv, part, Threads::Pool));
        self.next += n;
        Some((self.set.label(k, n), block))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.set.count() - self.next).div_ceil(self.rows);
        (n, Some(n))
    }
}

impl<A: Copy + Sync, C: Conversion<A>, S: RowSet> ExactSizeIterator for Chunks<'_, A, C, S> {}
impl<A: Copy + Sync, C: Conversion<A>, S: RowSet> FusedIterator for Chunks<'_, A, C, S> {}

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

/// Iterator over the [`Position`]s of a set of rows, in delivery order;
/// see [`Rows::positions`].
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
pub struct Positions<'s, D: Dimension, S = Range<usize>> {
    geom: &'s Geometry<D>,
    set: &'s S,
    /// The position in the set of the next row.
    k: usize,
    end: usize,
    /// The origin of the last grid position on each axis (not a step after
    /// the one before it under `Edge::Shift`).
    last: D,
    /// The full (unprojected) grid index and origin of the row at `k - 1`,
    /// advanced by an odometer while rows are consecutive.
    odometer: Option<(usize, D, D)>,
}

impl<D: Dimension, S: RowSet> Iterator for Positions<'_, D, S> {
    type Item = Position<D>;

    fn next(&mut self) -> Option<Position<D>> {
        if self.k >= self.end {
            return None;
        }
        let row = self.set.row(self.k);
        self.k += 1;
        let geom = self.geom;
        let (grid, origin) = match self.odometer.take() {
            // Odometer over the grid: no division per consecutive row.
            Some((prev, mut grid, mut origin)) if prev + 1 == row => {
                let (shape, step, last) = (geom.grid(), geom.step(), &self.last);
                for k in (0..grid.ndim()).rev() {
                    grid[k] += 1;
                    if grid[k] + 1 < shape[k] {
                        origin[k] += step[k];
                        break;
                    }
                    if grid[k] + 1 == shape[k] {
                        origin[k] = last[k];
                        break;
                    }
                    grid[k] = 0;
                    origin[k] = 0;
                }
                (grid, origin)
            }
            _ => (geom.grid_index(row), geom.origin(row)),
        };
        self.odometer = Some((row, grid.clone(), origin.clone()));
        Some(Position {
            row,
            grid: geom.project(grid),
            origin,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.k;
        (n, Some(n))
    }
}

impl<D: Dimension, S: RowSet> ExactSizeIterator for Positions<'_, D, S> {}
impl<D: Dimension, S: RowSet> FusedIterator for Positions<'_, D, S> {}

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

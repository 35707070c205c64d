//! Row writers (the hot loops) and the parallel driver. The public methods
//! that use them (`to_matrix`, `write_rows`, the streaming visitors) live in
//! `stream.rs`.
//!
//! Row `r` of the patch matrix is patch `r` (row-major over the grid) with
//! its elements listed row-major. A [`RowSource`] turns a validated geometry
//! and the source's strides into a copy plan:
//!
//! - grid axes and patch axes are each *merged* where they are contiguous
//!   with their inner neighbour (a `(32, 32, 3)` patch of an `(H, W, 3)`
//!   C-order image is 32 runs of 96 elements, not 1024 runs of 3), and axes
//!   of length 1 are dropped;
//! - the innermost merged patch axis is a *run*: a `memcpy` when its stride
//!   is 1, a strided gather otherwise;
//! - consecutive rows advance an odometer over the grid (no division per
//!   row).
//!
//! The output is written as `MaybeUninit<A>` so that a fresh matrix is
//! touched exactly once, by the thread that fills it.

use std::marker::PhantomData;
use std::mem::{size_of, MaybeUninit};
use std::ptr;

use ndarray::{Array2, ArrayView, ArrayViewMut2, Axis, Dimension};
use rayon::prelude::*;

use crate::error::PatchError;
use crate::geometry::{axes, Geometry};

/// Output bytes one rayon task fills: big enough to hide the task overhead,
/// small enough to balance two or more cores on medium outputs. Tiny under
/// Miri, so that its small test inputs still take the multi-task path.
const TASK_BYTES: usize = if cfg!(miri) { 256 } else { 128 * 1024 };

/// Axes with their lengths and strides (in elements), C order, merged where
/// an axis is contiguous with its inner neighbour, length-1 axes dropped.
fn merge_axes(lens: &[usize], strides: &[isize]) -> Vec<(usize, isize)> {
    let mut out: Vec<(usize, isize)> = Vec::with_capacity(lens.len());
    for (&n, &s) in lens.iter().zip(strides).rev() {
        if n == 1 {
            continue;
        }
        match out.last_mut() {
            // The outer axis steps exactly over the whole inner axis: one
            // longer axis with the inner stride.
            Some((inner_n, inner_s)) if (*inner_n as isize).wrapping_mul(*inner_s) == s => {
                *inner_n *= n;
            }
            _ => out.push((n, s)),
        }
    }
    out.reverse();
    out
}

/// The copy plan of one source and geometry.
#[derive(Clone, Debug)]
struct Plan {
    /// Merged grid axes.
    grid: Vec<(usize, isize)>,
    /// Merged patch axes outside the innermost run.
    outer: Vec<(usize, isize)>,
    run_len: usize,
    run_stride: isize,
    patch_len: usize,
    rows: usize,
}

/// Reads patch rows out of a source view.
///
/// Invariant (established by [`RowSource::new`] and never changed): `ptr` is
/// the address of source element `[0, .., 0]` of a view that lives for `'a`,
/// and `plan` was derived from a geometry validated against that view's shape
/// and from its strides, so every offset the plan produces for rows
/// `0..plan.rows` addresses an element of that view.
pub(crate) struct RowSource<'a, A> {
    ptr: *const A,
    plan: Plan,
    _source: PhantomData<&'a A>,
}

impl<A> std::fmt::Debug for RowSource<'_, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowSource")
            .field("plan", &self.plan)
            .finish()
    }
}

// SAFETY: a RowSource only reads the source's elements through `ptr`, like a
// shared borrow `&'a [A]` would; sharing or sending it across threads is sound
// exactly when `&A` may be shared, that is when `A: Sync`.
unsafe impl<A: Sync> Sync for RowSource<'_, A> {}
// SAFETY: as above: it behaves as `&'a A`, which is `Send` when `A: Sync`.
unsafe impl<A: Sync> Send for RowSource<'_, A> {}

impl<'a, A: Copy> RowSource<'a, A> {
    pub(crate) fn new<D: Dimension>(
        source: &ArrayView<'a, A, D>,
        geom: &Geometry<D>,
    ) -> Result<Self, PatchError> {
        assert_eq!(
            source.shape(),
            axes(geom.shape()),
            "geometry of another array"
        );
        let ws = geom.window_strides(source.strides())?;
        let grid = merge_axes(axes(geom.grid()), &ws.grid);
        let mut outer = merge_axes(axes(geom.patch()), &ws.patch);
        let (run_len, run_stride) = outer.pop().unwrap_or((1, 0));
        Ok(RowSource {
            ptr: source.as_ptr(),
            plan: Plan {
                grid,
                outer,
                run_len,
                run_stride,
                patch_len: geom.patch_len(),
                rows: geom.len(),
            },
            _source: PhantomData,
        })
    }

    pub(crate) fn patch_len(&self) -> usize {
        self.plan.patch_len
    }

    /// Fills `out` (a whole number of rows) with rows `start..`, on the
    /// calling thread.
    ///
    /// # Panics
    ///
    /// If `out.len()` is not a multiple of the patch length or the rows reach
    /// past the last patch.
    pub(crate) fn fill<B, C: RunCopy<A, B>>(&self, start: usize, out: &mut [MaybeUninit<B>]) {
        let plan = &self.plan;
        let pl = plan.patch_len;
        assert!(out.len() % pl == 0, "output is not a whole number of rows");
        let rows = out.len() / pl;
        assert!(
            start.checked_add(rows).is_some_and(|end| end <= plan.rows),
            "rows out of range"
        );
        if rows == 0 {
            return;
        }
        with_index(plan.grid.len(), |idx| {
            let mut origin = 0isize;
            let mut r = start;
            for (k, &(n, s)) in plan.grid.iter().enumerate().rev() {
                idx[k] = r % n;
                r /= n;
                origin += idx[k] as isize * s;
            }
            for row in out.chunks_exact_mut(pl) {
                // SAFETY: `origin` is the offset of the first element of a
                // patch whose row is < plan.rows (checked above), so by the
                // RowSource invariant every offset copy_patch forms from it
                // addresses an element of the source; `row` has patch_len
                // elements, as copy_patch requires.
                unsafe { self.copy_patch::<B, C>(origin, row) };
                // Advance the grid odometer. Wrapping arithmetic: after the
                // last row the value is never used as an offset.
                for k in (0..idx.len()).rev() {
                    let (n, s) = plan.grid[k];
                    idx[k] += 1;
                    origin = origin.wrapping_add(s);
                    if idx[k] < n {
                        break;
                    }
                    idx[k] = 0;
                    origin = origin.wrapping_sub(s.wrapping_mul(n as isize));
                }
            }
        });
    }

    /// Copies one patch, starting at source offset `origin`, into `row`.
    ///
    /// # Safety
    ///
    /// `origin` must be the offset of the first element of a patch of this
    /// plan (a row < plan.rows), and `row.len()` must be the patch length.
    #[inline(always)]
    unsafe fn copy_patch<B, C: RunCopy<A, B>>(&self, origin: isize, row: &mut [MaybeUninit<B>]) {
        let plan = &self.plan;
        debug_assert_eq!(row.len(), plan.patch_len);
        let (run, rs) = (plan.run_len, plan.run_stride);
        // SAFETY: the caller guarantees `origin` addresses a patch's first
        // element, which is an element of the source.
        let src = unsafe { self.ptr.offset(origin) };
        match plan.outer.as_slice() {
            // SAFETY (all arms): every offset below is j_k * patch_stride_k
            // summed over the merged patch axes with j_k < len_k, i.e. an
            // element of this patch, which the caller guarantees is inside
            // the source; each `dst` is a run of `run` elements of `row`.
            [] => unsafe { C::copy_run(src, rs, row) },
            &[(n, s)] => {
                for (o, dst) in row.chunks_exact_mut(run).enumerate().take(n) {
                    unsafe { C::copy_run(src.offset(o as isize * s), rs, dst) };
                }
            }
            outer => with_index(outer.len(), |idx| {
                let mut off = 0isize;
                for dst in row.chunks_exact_mut(run) {
                    unsafe { C::copy_run(src.offset(off), rs, dst) };
                    for k in (0..idx.len()).rev() {
                        let (n, s) = outer[k];
                        idx[k] += 1;
                        off = off.wrapping_add(s);
                        if idx[k] < n {
                            break;
                        }
                        idx[k] = 0;
                        off = off.wrapping_sub(s.wrapping_mul(n as isize));
                    }
                }
            }),
        }
    }
}

impl<A: Copy + Sync> RowSource<'_, A> {
    /// Fills `out` with rows `start..`, splitting it into row blocks that
    /// rayon fills in parallel (each block's pages are first touched by the
    /// thread that writes them).
    ///
    /// # Panics
    ///
    /// As [`fill`](Self::fill).
    pub(crate) fn fill_par<B: Send, C: RunCopy<A, B>>(
        &self,
        start: usize,
        out: &mut [MaybeUninit<B>],
    ) {
        let pl = self.plan.patch_len;
        let row_bytes = pl.saturating_mul(size_of::<B>()).max(1);
        let block_rows = (TASK_BYTES / row_bytes).max(1);
        if out.len() <= block_rows * pl {
            return self.fill::<B, C>(start, out);
        }
        out.par_chunks_mut(block_rows * pl)
            .enumerate()
            .for_each(|(t, block)| self.fill::<B, C>(start + t * block_rows, block));
    }
}

/// How one run of a patch is copied into its row: the only part of the row
/// writer that depends on the output element type.
pub(crate) trait RunCopy<A, B> {
    /// Copies `dst.len()` elements starting at `src`, `stride` elements
    /// apart.
    ///
    /// # Safety
    ///
    /// `src.offset(i * stride)` must be a readable, initialized `A` for every
    /// `i < dst.len()`.
    unsafe fn copy_run(src: *const A, stride: isize, dst: &mut [MaybeUninit<B>]);
}

/// Copies elements as they are: a `memcpy` per contiguous run.
#[derive(Debug)]
pub(crate) enum Same {}

/// Converts each element with `B::from` (`u8` to `f32`, say).
#[derive(Debug)]
pub(crate) enum Convert {}

impl<A: Copy> RunCopy<A, A> for Same {
    #[inline(always)]
    unsafe fn copy_run(src: *const A, stride: isize, dst: &mut [MaybeUninit<A>]) {
        if stride == 1 {
            // SAFETY: the caller guarantees dst.len() readable elements from
            // `src`; `dst` is a distinct, writable buffer (a `&mut`), and
            // MaybeUninit<A> has A's layout.
            unsafe { ptr::copy_nonoverlapping(src, dst.as_mut_ptr().cast::<A>(), dst.len()) };
        } else {
            for (i, d) in dst.iter_mut().enumerate() {
                // SAFETY: guaranteed readable by the caller.
                d.write(unsafe { *src.offset(i as isize * stride) });
            }
        }
    }
}

impl<A: Copy, B: From<A>> RunCopy<A, B> for Convert {
    #[inline(always)]
    unsafe fn copy_run(src: *const A, stride: isize, dst: &mut [MaybeUninit<B>]) {
        for (i, d) in dst.iter_mut().enumerate() {
            // SAFETY: guaranteed readable by the caller.
            d.write(B::from(unsafe { *src.offset(i as isize * stride) }));
        }
    }
}

/// Runs `f` with a zeroed index of `n` counters, on the stack for small `n`.
#[inline(always)]
fn with_index<R>(n: usize, f: impl FnOnce(&mut [usize]) -> R) -> R {
    const STACK: usize = 8;
    if n <= STACK {
        f(&mut [0; STACK][..n])
    } else {
        f(&mut vec![0; n])
    }
}

/// Views an initialized slice as `MaybeUninit` for the row writers.
fn as_uninit_mut<A: Copy>(s: &mut [A]) -> &mut [MaybeUninit<A>] {
    // SAFETY: MaybeUninit<A> has the same size, alignment and layout as A.
    // The writers in this module only ever store initialized `A` values
    // through the returned slice (never `MaybeUninit::uninit()`), so `s` is
    // still fully initialized when the borrow ends.
    unsafe { &mut *(s as *mut [A] as *mut [MaybeUninit<A>]) }
}

/// Allocates a `(rows, patch_len)` matrix and fills it with rows `start..`,
/// on all cores if `parallel`, else on the calling thread.
pub(crate) fn fill_new<A: Copy + Sync, B: Copy + Send, C: RunCopy<A, B>>(
    src: &RowSource<'_, A>,
    start: usize,
    rows: usize,
    parallel: bool,
) -> Array2<B> {
    let mut m = Array2::<B>::uninit((rows, src.patch_len()));
    let buf = m.as_slice_mut().expect("a new array is in standard layout");
    if parallel {
        src.fill_par::<B, C>(start, buf);
    } else {
        src.fill::<B, C>(start, buf);
    }
    // SAFETY: fill/fill_par wrote every element of `buf` (they fill whole
    // rows and `buf` is exactly `rows` rows), and `buf` is all of `m`'s
    // elements.
    unsafe { m.assume_init() }
}

/// Writes rows `start..start + out.nrows()` into `out`, whatever its layout;
/// on all cores if `parallel`, else (for contiguous `out`) on the calling
/// thread.
pub(crate) fn fill_view<A: Copy + Sync, B: Copy + Send + Sync, C: RunCopy<A, B>>(
    src: &RowSource<'_, A>,
    start: usize,
    mut out: ArrayViewMut2<'_, B>,
    parallel: bool,
) {
    if let Some(buf) = out.as_slice_mut() {
        let buf = as_uninit_mut(buf);
        return if parallel {
            src.fill_par::<B, C>(start, buf)
        } else {
            src.fill::<B, C>(start, buf)
        };
    }
    let pl = src.patch_len();
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .with_min_len((TASK_BYTES / (pl * size_of::<B>()).max(1)).max(1))
        .for_each_init(Vec::new, |tmp, (i, mut row)| match row.as_slice_mut() {
            Some(r) => src.fill::<B, C>(start + i, as_uninit_mut(r)),
            None => {
                tmp.clear();
                tmp.resize(pl, MaybeUninit::uninit());
                src.fill::<B, C>(start + i, tmp);
                for (o, t) in row.iter_mut().zip(tmp.iter()) {
                    // SAFETY: `fill` wrote all `pl` elements of `tmp`.
                    *o = unsafe { t.assume_init() };
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::merge_axes;

    #[test]
    fn merging() {
        // (32, 32, 3) patch of a (H, 100, 3) C-order image.
        assert_eq!(
            merge_axes(&[32, 32, 3], &[300, 3, 1]),
            vec![(32, 300), (96, 1)]
        );
        // Length-1 axes vanish; a fully contiguous block is one run.
        assert_eq!(merge_axes(&[1, 4, 1, 5], &[0, 5, 7, 1]), vec![(20, 1)]);
        assert_eq!(merge_axes(&[1, 1], &[3, 3]), vec![]);
        // Reversed and broadcast strides merge only when consistent.
        assert_eq!(merge_axes(&[2, 3], &[-3, -1]), vec![(6, -1)]);
        assert_eq!(merge_axes(&[2, 3], &[0, 0]), vec![(6, 0)]);
        assert_eq!(merge_axes(&[2, 3], &[3, 2]), vec![(2, 3), (3, 2)]);
    }
}

//! Row writers (the hot loops) and the parallel driver. The public methods
//! that use them (`to_matrix`, `write_rows`, the streaming visitors) live in
//! `rows.rs`.
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

// One of the two modules allowed unsafe code (see src/lib.rs); every
// unsafe block carries a `// SAFETY:` argument.
#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::mem::{size_of, size_of_val, MaybeUninit};
use std::ptr;

use ndarray::{Array, Array2, ArrayView, ArrayViewMut1, ArrayViewMut2, Axis, Dimension};
use rayon::prelude::*;

use crate::error::PatchError;
use crate::geometry::{axes, Geometry};
use crate::scalar::Conversion;
use crate::stop::watched;

/// Output bytes one rayon task fills: big enough to hide the task overhead,
/// small enough to balance two or more cores on medium outputs. Tiny under
/// Miri, so that its small test inputs still take the multi-task path.
const TASK_BYTES: usize = if cfg!(miri) { 256 } else { 128 * 1024 };

/// Output bytes of one tile of the tiled row order (see `fill_rows`): a
/// tile's rows stay in L1 while they are written patch-row by patch-row.
const TILE_BYTES: usize = 16 * 1024;
/// At most this many patches per tile.
const MAX_TILE_ROWS: usize = 64;
/// The tiled order only for outputs that stay in cache (a streaming chunk).
const TILED_MAX_OUTPUT_BYTES: usize = 4 << 20;
/// Tiles of fewer patches do not pay for themselves.
const MIN_TILE_ROWS: usize = 8;
/// A model of the L1 data cache of current x86 and ARM cores (32-48 KiB,
/// 64-byte lines): addresses 4 KiB apart share a set, and a set holds at
/// least 8 lines.
const L1_WAY_BYTES: usize = 4096;
const L1_WAYS: usize = 8;

/// Whether `runs` reads `stride_bytes` apart would evict each other from
/// L1: they fall on `L1_WAY_BYTES / gcd(stride, L1_WAY_BYTES)` distinct set
/// positions, and more than `L1_WAYS` runs per position conflict.
fn runs_conflict(stride_bytes: usize, runs: usize) -> bool {
    let (mut a, mut b) = (stride_bytes % L1_WAY_BYTES, L1_WAY_BYTES);
    while a != 0 {
        (a, b) = (b % a, a);
    }
    runs > L1_WAYS * (L1_WAY_BYTES / b)
}

/// One axis of a copy plan: `len` positions, `stride` elements apart, the
/// last one `back` elements earlier than the stride would put it (the
/// moved-back last window of `Edge::Shift`; 0 everywhere else).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ax {
    len: usize,
    stride: isize,
    back: isize,
}

impl Ax {
    /// The offset of position `i < len`, wrapping (the plan's offsets are
    /// only used once they address an element).
    #[inline(always)]
    fn offset(self, i: usize) -> isize {
        let at = (i as isize).wrapping_mul(self.stride);
        if i + 1 == self.len {
            at.wrapping_sub(self.back)
        } else {
            at
        }
    }
}

/// Axes with their lengths, strides and backs (in elements; no `backs`
/// means none is moved back), C order, merged where an axis is contiguous
/// with its inner neighbour (and neither has a moved-back last position),
/// length-1 axes dropped.
fn merge_axes(lens: &[usize], strides: &[isize], backs: Option<&[isize]>) -> Vec<Ax> {
    let mut out: Vec<Ax> = Vec::with_capacity(lens.len());
    for (k, (&len, &stride)) in lens.iter().zip(strides).enumerate().rev() {
        let back = backs.map_or(0, |b| b[k]);
        if len == 1 {
            continue;
        }
        match out.last_mut() {
            // The outer axis steps exactly over the whole inner axis: one
            // longer axis with the inner stride.
            Some(inner)
                if back == 0
                    && inner.back == 0
                    && (inner.len as isize).wrapping_mul(inner.stride) == stride =>
            {
                inner.len *= len;
            }
            _ => out.push(Ax { len, stride, back }),
        }
    }
    out.reverse();
    out
}

/// The copy plan of one source and geometry.
#[derive(Clone, Debug)]
struct Plan {
    /// Merged grid axes.
    grid: Vec<Ax>,
    /// Merged patch axes outside the innermost run.
    outer: Vec<Ax>,
    run_len: usize,
    run_stride: isize,
    patch_len: usize,
    rows: usize,
    /// The patch is one outer axis of runs that evict each other from L1
    /// (`runs_conflict`): the tiled order may pay (see `fill_rows`).
    rows_conflict: bool,
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
        let grid = merge_axes(axes(geom.grid()), &ws.grid, Some(&ws.back));
        let mut outer = merge_axes(axes(geom.patch()), &ws.patch, None);
        let (run_len, run_stride) = outer.pop().map_or((1, 0), |a| (a.len, a.stride));
        let rows_conflict = match outer.as_slice() {
            &[a] => {
                !grid.is_empty()
                    && runs_conflict(
                        a.stride.unsigned_abs().saturating_mul(size_of::<A>()),
                        a.len,
                    )
            }
            _ => false,
        };
        Ok(RowSource {
            ptr: source.as_ptr(),
            plan: Plan {
                grid,
                outer,
                run_len,
                run_stride,
                patch_len: geom.patch_len(),
                rows: geom.len(),
                rows_conflict,
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
    pub(crate) fn fill<C: Conversion<A>>(
        &self,
        conv: &C,
        start: usize,
        out: &mut [MaybeUninit<C::Output>],
    ) {
        self.fill_part(conv, start, out, size_of_val(out));
    }

    /// [`fill`](Self::fill) of a part of an output of `total_bytes` (which
    /// decides the copy order; see [`fill_rows`](Self::fill_rows)).
    fn fill_part<C: Conversion<A>>(
        &self,
        conv: &C,
        start: usize,
        out: &mut [MaybeUninit<C::Output>],
        total_bytes: usize,
    ) {
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
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (detected just above), the only
            // requirement of a `target_feature(enable = "avx2")` function.
            return unsafe { self.fill_rows_avx2(conv, start, out, total_bytes) };
        }
        self.fill_rows(conv, start, out, total_bytes);
    }

    /// [`fill_rows`](Self::fill_rows) compiled with AVX2: the short-run
    /// block copies become 32-byte moves, as glibc's `memcpy` uses.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2.
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    #[target_feature(enable = "avx2")]
    unsafe fn fill_rows_avx2<C: Conversion<A>>(
        &self,
        conv: &C,
        start: usize,
        out: &mut [MaybeUninit<C::Output>],
        total_bytes: usize,
    ) {
        self.fill_rows(conv, start, out, total_bytes);
    }

    /// The row loop of [`fill`](Self::fill), after its checks: `out` is a
    /// whole, non-zero number of rows, all < plan.rows.
    ///
    /// Two orders, the same result. Row by row, normally. Tile by tile when
    /// a patch's rows would evict each other from L1 (`runs_conflict`: a
    /// power-of-two row stride such as a 1024-wide f32 image puts all 16
    /// rows of a 16x16 patch in one cache set): for a tile of consecutive
    /// patches along the last grid axis, patch-row `a` of every patch of the
    /// tile, then patch-row `a + 1`, so the reads slide along one source row.
    /// Only when the whole output of the call (`total_bytes`) stays in cache:
    /// writes streaming to DRAM prefer whole rows in order.
    /// The measurements behind this choice are in benches/README.md.
    #[inline(always)]
    fn fill_rows<C: Conversion<A>>(
        &self,
        conv: &C,
        start: usize,
        out: &mut [MaybeUninit<C::Output>],
        total_bytes: usize,
    ) {
        let plan = &self.plan;
        let pl = plan.patch_len;
        let rows = out.len() / pl;
        let tile =
            (TILE_BYTES / pl.saturating_mul(size_of::<C::Output>()).max(1)).clamp(1, MAX_TILE_ROWS);
        let tiled =
            plan.rows_conflict && total_bytes <= TILED_MAX_OUTPUT_BYTES && tile >= MIN_TILE_ROWS;
        // No closure here: this body must stay inside `fill_rows_avx2` to be
        // compiled with its target features (a closure is a function of
        // its own, compiled without them).
        let mut index = Index::new(plan.grid.len());
        let idx = index.as_mut();
        let last = idx.len().wrapping_sub(1);
        let mut origin = 0isize;
        let mut r = start;
        for (k, a) in plan.grid.iter().enumerate().rev() {
            idx[k] = r % a.len;
            r /= a.len;
            origin = origin.wrapping_add(a.offset(idx[k]));
        }
        let mut row = 0;
        while row < rows {
            // Rows in this step: a tile along the last grid axis, or one.
            let t = if tiled {
                let a = plan.grid[last];
                // Positions one stride apart from here: up to the end of
                // the axis, or up to a moved-back last one.
                let even = if a.back != 0 && idx[last] + 1 < a.len {
                    a.len - 1 - idx[last]
                } else {
                    a.len - idx[last]
                };
                tile.min(even).min(rows - row)
            } else {
                1
            };
            let dst = out[row * pl..(row + t) * pl].as_mut_ptr();
            // `origin` is the offset of the first element of the patch of
            // row start + row, and the next t - 1 patches follow it along
            // the last grid axis one grid stride apart (t does not pass
            // the end of that axis nor a moved-back last position), all
            // rows < plan.rows (checked in `fill`). `dst` is t whole rows
            // of `out`.
            // SAFETY: so by the RowSource invariant every offset formed
            // below addresses an element of the source.
            unsafe {
                if tiled {
                    let (n_out, s_out) = (plan.outer[0].len, plan.outer[0].stride);
                    let gs = plan.grid[last].stride;
                    for a in 0..n_out {
                        copy_runs(
                            conv,
                            self.ptr.offset(origin + a as isize * s_out),
                            gs,
                            plan.run_stride,
                            plan.run_len,
                            t,
                            dst.add(a * plan.run_len),
                            pl,
                        );
                    }
                } else {
                    self.copy_patch(conv, origin, dst);
                }
            }
            row += t;
            advance(idx, &plan.grid, &mut origin, t);
        }
    }

    /// Copies one patch, starting at source offset `origin`, to `dst`.
    ///
    /// # Safety
    ///
    /// `origin` must be the offset of the first element of a patch of this
    /// plan (a row < plan.rows), and `dst` valid for `patch_len` writes.
    #[inline(always)]
    unsafe fn copy_patch<C: Conversion<A>>(
        &self,
        conv: &C,
        origin: isize,
        dst: *mut MaybeUninit<C::Output>,
    ) {
        let plan = &self.plan;
        let (run, rs) = (plan.run_len, plan.run_stride);
        // SAFETY: the caller guarantees `origin` addresses a patch's first
        // element, which is an element of the source.
        let src = unsafe { self.ptr.offset(origin) };
        match plan.outer.as_slice() {
            // In every arm each offset is j_k * patch_stride_k summed over
            // the merged patch axes with j_k < len_k, i.e. an element of this
            // patch, which the caller guarantees is inside the source; the
            // runs go to consecutive places of `dst`, patch_len in all.
            // SAFETY: one run of the whole patch, as argued above.
            [] => unsafe { copy_runs(conv, src, 0, rs, run, 1, dst, 0) },
            // SAFETY: n runs of the patch, as argued above.
            &[a] => unsafe { copy_runs(conv, src, a.stride, rs, run, a.len, dst, run) },
            outer => {
                let mut index = Index::new(outer.len());
                let idx = index.as_mut();
                let mut off = 0isize;
                for k in 0..plan.patch_len / run {
                    // SAFETY: one run of the patch, as argued above.
                    unsafe { copy_runs(conv, src.offset(off), 0, rs, run, 1, dst.add(k * run), 0) };
                    advance(idx, outer, &mut off, 1);
                }
            }
        }
    }
}

impl<A: Copy + Sync> RowSource<'_, A> {
    /// Fills `out` with rows `start..`, splitting it into row blocks that
    /// rayon fills in parallel (each block's pages are first touched by the
    /// thread that writes them).
    ///
    /// # Errors
    ///
    /// [`PatchError::Interrupted`] if the watched
    /// [`StopToken`](crate::StopToken) is stopped (checked first, then
    /// before each block); `out` is then only partly written.
    ///
    /// # Panics
    ///
    /// As [`fill`](Self::fill).
    pub(crate) fn fill_par<C: Conversion<A>>(
        &self,
        conv: &C,
        start: usize,
        out: &mut [MaybeUninit<C::Output>],
    ) -> Result<(), PatchError> {
        let pl = self.plan.patch_len;
        let row_bytes = pl.saturating_mul(size_of::<C::Output>()).max(1);
        let block_rows = (TASK_BYTES / row_bytes).max(1);
        let total = size_of_val(out);
        let token = watched();
        token.check()?;
        if out.len() <= block_rows * pl {
            self.fill_part(conv, start, out, total);
            return Ok(());
        }
        out.par_chunks_mut(block_rows * pl)
            .enumerate()
            .try_for_each(|(t, block)| {
                token.check()?;
                self.fill_part(conv, start + t * block_rows, block, total);
                Ok(())
            })
    }
}

/// Copies `n` runs of exactly `BYTES` contiguous bytes (byte steps between
/// runs on both sides): one fixed-size unaligned move per run, which LLVM
/// lowers to a few vector loads and stores; a `memcpy` call per run would
/// cost more than the copy for runs this short.
///
/// # Safety
///
/// As [`copy_runs`], in bytes.
#[inline(always)]
unsafe fn copy_fixed<const BYTES: usize>(
    src: *const u8,
    src_step: isize,
    n: usize,
    dst: *mut u8,
    dst_step: usize,
) {
    // MaybeUninit bytes: elements may have padding, which must not be read
    // as initialized `u8`.
    type Run<const B: usize> = MaybeUninit<[u8; B]>;
    for o in 0..n {
        // SAFETY: forwarded from the caller.
        unsafe {
            let v = ptr::read_unaligned(src.offset(o as isize * src_step).cast::<Run<BYTES>>());
            ptr::write_unaligned(dst.add(o * dst_step).cast::<Run<BYTES>>(), v);
        }
    }
}

/// Copies `n` runs of `run` elements, converted by `conv`: run `o` reads
/// the elements at `src + o * src_step + i * stride` (`i < run`) and writes
/// them to `dst + o * dst_step + i`. The only part of the row writer that
/// depends on the conversion: for [`AsIs`](crate::AsIs) contiguous runs are
/// byte copies.
///
/// # Safety
///
/// Every element read must be a readable, initialized `A`, and every
/// element written a valid place for a `C::Output` that nothing else
/// accesses during the call.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // the conversion and two strided sides
unsafe fn copy_runs<A: Copy, C: Conversion<A>>(
    conv: &C,
    src: *const A,
    src_step: isize,
    stride: isize,
    run: usize,
    n: usize,
    dst: *mut MaybeUninit<C::Output>,
    dst_step: usize,
) {
    if C::AS_IS && stride == 1 && size_of::<A>() == size_of::<C::Output>() {
        let size = size_of::<A>();
        let (s, ss) = (src.cast::<u8>(), src_step.wrapping_mul(size as isize));
        let (d, ds) = (dst.cast::<u8>(), dst_step * size);
        // `Conversion` is sealed and only `AsIs` sets `AS_IS`; its `Output`
        // is `A`, so copying the bytes of an `A` is writing a valid
        // `C::Output`. A contiguous run is `run * size` bytes; the byte
        // steps are distances between elements of one allocation, so they
        // fit in isize.
        // SAFETY: (every arm) so each copy is forwarded from the caller's
        // guarantee, in bytes.
        unsafe {
            match run * size {
                16 => copy_fixed::<16>(s, ss, n, d, ds),
                24 => copy_fixed::<24>(s, ss, n, d, ds),
                32 => copy_fixed::<32>(s, ss, n, d, ds),
                48 => copy_fixed::<48>(s, ss, n, d, ds),
                64 => copy_fixed::<64>(s, ss, n, d, ds),
                96 => copy_fixed::<96>(s, ss, n, d, ds),
                128 => copy_fixed::<128>(s, ss, n, d, ds),
                192 => copy_fixed::<192>(s, ss, n, d, ds),
                bytes => {
                    for o in 0..n {
                        ptr::copy_nonoverlapping(s.offset(o as isize * ss), d.add(o * ds), bytes);
                    }
                }
            }
        }
        return;
    }
    for o in 0..n {
        // SAFETY: forwarded from the caller.
        unsafe {
            let (so, d_o) = (src.offset(o as isize * src_step), dst.add(o * dst_step));
            for i in 0..run {
                (*d_o.add(i)).write(conv.convert(*so.offset(i as isize * stride)));
            }
        }
    }
}

/// Advances the odometer `idx` over `axes` (C order) by `step` positions of
/// its last axis (`step > 1` only when that stays within the last axis or
/// lands exactly on its end), keeping `offset` equal to the sum of
/// `axes[k].offset(idx[k])`. Wrapping arithmetic: after the last position
/// the offset is never used.
#[inline(always)]
fn advance(idx: &mut [usize], axes: &[Ax], offset: &mut isize, mut step: usize) {
    for k in (0..idx.len()).rev() {
        let a = axes[k];
        let old = idx[k];
        idx[k] += step;
        if idx[k] < a.len {
            let mut d = a.stride.wrapping_mul(step as isize);
            if idx[k] + 1 == a.len {
                // Onto the last position, from one before it.
                d = d.wrapping_sub(a.back);
            }
            *offset = offset.wrapping_add(d);
            return;
        }
        // Past the end: back to position 0, carry into the next axis.
        idx[k] = 0;
        *offset = offset.wrapping_sub(a.offset(old));
        step = 1;
    }
}

/// A zeroed index of `n` counters, on the stack for small `n`.
struct Index {
    stack: [usize; Index::STACK],
    heap: Vec<usize>,
    n: usize,
}

impl Index {
    const STACK: usize = 8;

    #[inline(always)]
    fn new(n: usize) -> Self {
        Index {
            stack: [0; Index::STACK],
            heap: if n > Index::STACK {
                vec![0; n]
            } else {
                Vec::new()
            },
            n,
        }
    }

    #[inline(always)]
    fn as_mut(&mut self) -> &mut [usize] {
        if self.n <= Index::STACK {
            &mut self.stack[..self.n]
        } else {
            &mut self.heap
        }
    }
}

/// Views an initialized slice as `MaybeUninit` for the row writers.
fn as_uninit_mut<A: Copy>(s: &mut [A]) -> &mut [MaybeUninit<A>] {
    // MaybeUninit<A> has the same size, alignment and layout as A. The
    // writers in this module only ever store initialized `A` values through
    // the returned slice (never `MaybeUninit::uninit()`).
    // SAFETY: so `s` is still fully initialized when the borrow ends.
    unsafe { &mut *(s as *mut [A] as *mut [MaybeUninit<A>]) }
}

/// Fresh outputs of at least this many bytes are advised for transparent
/// huge pages (Linux): below it the advice costs more than it saves.
const HUGE_PAGE_MIN_BYTES: usize = 4 << 20;

/// A new vector of `len` uninitialized elements, allocated fallibly: an
/// allocation the system refuses is [`PatchError::OutOfMemory`] (naming
/// `what`), a size past `isize::MAX` bytes [`PatchError::Overflow`], never
/// an abort. Large vectors are advised for huge pages.
pub(crate) fn try_uninit_vec<T>(
    len: usize,
    what: &'static str,
) -> Result<Vec<MaybeUninit<T>>, PatchError> {
    let mut v = try_vec_with_capacity::<MaybeUninit<T>>(len, what)?;
    // The capacity is at least `len` (reserved above).
    // SAFETY: and `MaybeUninit<T>` elements need no initialization.
    unsafe { v.set_len(len) };
    advise_huge_pages(&mut v);
    Ok(v)
}

/// An empty vector with room for `len` elements, reserved fallibly: a size
/// past `isize::MAX` bytes is [`PatchError::Overflow`], a refused
/// allocation [`PatchError::OutOfMemory`] (both naming `what`).
pub(crate) fn try_vec_with_capacity<T>(
    len: usize,
    what: &'static str,
) -> Result<Vec<T>, PatchError> {
    let bytes = len
        .checked_mul(size_of::<T>())
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or(PatchError::Overflow { quantity: what })?;
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| PatchError::OutOfMemory { bytes, what })?;
    Ok(v)
}

/// A new array of `shape` filled with `value`, allocated fallibly (see
/// [`try_vec_with_capacity`]).
pub(crate) fn try_filled<T: Clone, D: Dimension>(
    shape: D,
    value: T,
    what: &'static str,
) -> Result<Array<T, D>, PatchError> {
    let len = shape
        .size_checked()
        .ok_or(PatchError::Overflow { quantity: what })?;
    let mut v = try_vec_with_capacity(len, what)?;
    v.resize(len, value);
    Ok(Array::from_shape_vec(shape, v).expect("len elements"))
}

/// Asks Linux to back the whole 2 MiB pages of `v` with transparent huge
/// pages (this machine's THP mode is often `madvise`, where a plain
/// allocation never gets them): a fresh output is then faulted in 2 MiB at a
/// time instead of 4 KiB, which makes its first touch several times faster.
/// Advice only: contents and validity are unchanged, errors are ignored. A
/// no-op elsewhere and for small vectors.
#[cfg(all(target_os = "linux", not(miri)))]
fn advise_huge_pages<T>(v: &mut [T]) {
    const HUGE: usize = 2 << 20;
    let bytes = size_of_val(v);
    if bytes < HUGE_PAGE_MIN_BYTES {
        return;
    }
    let addr = v.as_mut_ptr() as usize;
    let start = addr.next_multiple_of(HUGE);
    let end = (addr + bytes) & !(HUGE - 1);
    if end > start {
        // [start, end) lies inside `v`'s allocation and is page aligned;
        // MADV_HUGEPAGE changes how the kernel backs those pages, never
        // their contents, and no Rust reference is invalidated by it.
        // SAFETY: so the call cannot cause undefined behaviour.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(all(target_os = "linux", not(miri))))]
fn advise_huge_pages<T>(_: &mut [T]) {}

/// Turns a vector whose every element was written into an initialized
/// `(rows, cols)` matrix.
///
/// # Safety
///
/// Every element of `v` must be initialized, and `v.len() == rows * cols`.
unsafe fn assume_init_matrix<B>(v: Vec<MaybeUninit<B>>, rows: usize, cols: usize) -> Array2<B> {
    let m = Array2::from_shape_vec((rows, cols), v).expect("rows * cols elements");
    // SAFETY: forwarded from the caller.
    unsafe { m.assume_init() }
}

/// Which rows of the patch matrix a copy writes, in order: consecutive rows,
/// or the rows at given indices (a batch of an index set).
#[derive(Clone, Copy, Debug)]
pub enum Part<'i> {
    /// Rows `start..start + n`.
    Range {
        /// The first row.
        start: usize,
        /// How many.
        n: usize,
    },
    /// Row `indices[k]` as row `k`.
    Indices(&'i [usize]),
}

impl Part<'_> {
    /// The number of rows.
    pub(crate) fn len(&self) -> usize {
        match self {
            Part::Range { n, .. } => *n,
            Part::Indices(idx) => idx.len(),
        }
    }
}

/// Where a copy runs: split over the rayon pool, or on the calling thread
/// alone (a worker of the pool filling its own buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Threads {
    /// Row blocks filled by every thread of the pool.
    Pool,
    /// On the calling thread only.
    Caller,
}

/// Allocates a `(part.len(), patch_len)` matrix (fallibly) and fills it
/// with the rows of `part`.
///
/// # Panics
///
/// If a row of `part` is not a row of the source (`fill` checks).
pub(crate) fn fill_new<A: Copy + Sync, C: Conversion<A>>(
    src: &RowSource<'_, A>,
    conv: &C,
    part: Part<'_>,
    threads: Threads,
) -> Result<Array2<C::Output>, PatchError> {
    let pl = src.patch_len();
    let rows = part.len();
    let len = rows.checked_mul(pl).ok_or(PatchError::Overflow {
        quantity: "number of matrix elements",
    })?;
    let mut buf = try_uninit_vec::<C::Output>(len, "the patch matrix")?;
    fill_slice(src, conv, part, &mut buf, threads)?;
    // fill_slice returned Ok, so it wrote every element of `buf` (it fills
    // whole rows and `buf` is exactly `rows` rows; it returns early only
    // with an error, and panics rather than skip a row).
    // SAFETY: so every element is initialized, and there are rows * pl.
    Ok(unsafe { assume_init_matrix(buf, rows, pl) })
}

/// Writes the rows of `part` into `out`, a contiguous buffer of exactly
/// `part.len()` rows.
///
/// # Errors
///
/// [`PatchError::Interrupted`] if the watched
/// [`StopToken`](crate::StopToken) is stopped during a copy split over the
/// pool (a copy on the calling thread, one chunk, always completes); `out`
/// is then only partly written.
fn fill_slice<A: Copy + Sync, C: Conversion<A>>(
    src: &RowSource<'_, A>,
    conv: &C,
    part: Part<'_>,
    out: &mut [MaybeUninit<C::Output>],
    threads: Threads,
) -> Result<(), PatchError> {
    let pl = src.patch_len();
    match (part, threads) {
        (Part::Range { start, .. }, Threads::Pool) => src.fill_par(conv, start, out)?,
        (Part::Range { start, .. }, Threads::Caller) => src.fill(conv, start, out),
        (Part::Indices(indices), Threads::Pool) => {
            assert_eq!(out.len(), indices.len() * pl, "one output row per index");
            let token = watched();
            out.par_chunks_mut(pl.max(1))
                .zip(indices.par_iter())
                .with_min_len(task_rows::<C::Output>(pl))
                .try_for_each(|(row, &r)| {
                    token.check()?;
                    src.fill(conv, r, row);
                    Ok::<_, PatchError>(())
                })?;
        }
        (Part::Indices(indices), Threads::Caller) => {
            assert_eq!(out.len(), indices.len() * pl, "one output row per index");
            for (row, &r) in out.chunks_mut(pl.max(1)).zip(indices) {
                src.fill(conv, r, row);
            }
        }
    }
    Ok(())
}

/// Rows of `pl` elements of `B` in one rayon task of a copy ([`TASK_BYTES`]).
fn task_rows<B>(pl: usize) -> usize {
    (TASK_BYTES / (pl * size_of::<B>()).max(1)).max(1)
}

/// Writes the rows of `part` into `out` (exactly `part.len()` rows), whatever
/// its layout.
///
/// # Errors
///
/// As [`fill_slice`]: interrupted, `out` is only partly written.
///
/// # Panics
///
/// If `out` does not have `part.len()` rows of `patch_len`, or a row of
/// `part` is not a row of the source.
pub(crate) fn fill_view<A: Copy + Sync, C: Conversion<A>>(
    src: &RowSource<'_, A>,
    conv: &C,
    part: Part<'_>,
    mut out: ArrayViewMut2<'_, C::Output>,
    threads: Threads,
) -> Result<(), PatchError> {
    let pl = src.patch_len();
    assert_eq!(
        out.dim(),
        (part.len(), pl),
        "one output row per row of the part"
    );
    if let Some(buf) = out.as_slice_mut() {
        return fill_slice(src, conv, part, as_uninit_mut(buf), threads);
    }
    let row_of = |i: usize| match part {
        Part::Range { start, .. } => start + i,
        Part::Indices(idx) => idx[i],
    };
    let fill_row =
        |tmp: &mut Vec<MaybeUninit<C::Output>>, i: usize, mut row: ArrayViewMut1<'_, C::Output>| {
            match row.as_slice_mut() {
                Some(r) => src.fill(conv, row_of(i), as_uninit_mut(r)),
                None => {
                    tmp.clear();
                    tmp.resize(pl, MaybeUninit::uninit());
                    src.fill(conv, row_of(i), tmp);
                    for (o, t) in row.iter_mut().zip(tmp.iter()) {
                        // SAFETY: `fill` wrote all `pl` elements of `tmp`.
                        *o = unsafe { t.assume_init() };
                    }
                }
            }
        };
    match threads {
        Threads::Pool => {
            let token = watched();
            out.axis_iter_mut(Axis(0))
                .into_par_iter()
                .enumerate()
                .with_min_len(task_rows::<C::Output>(pl))
                .try_for_each_init(Vec::new, |tmp, (i, row)| {
                    token.check()?;
                    fill_row(tmp, i, row);
                    Ok(())
                })
        }
        Threads::Caller => {
            let mut tmp = Vec::new();
            for (i, row) in out.axis_iter_mut(Axis(0)).enumerate() {
                fill_row(&mut tmp, i, row);
            }
            Ok(())
        }
    }
}

/// Work whose hot loops want the CPU's wide vector units: see
/// [`run_vectorized`]. `run` and every function its hot loops call must be
/// `#[inline(always)]`, so that they are compiled inside the dispatching
/// function, with its target features (a closure or a function left out of
/// line is compiled without them).
pub(crate) trait Vectorized {
    /// What the work returns.
    type Output;
    /// The work; `FMA` says whether fused multiply-adds are available
    /// (`f64::mul_add` is a slow library call without them).
    fn run<const FMA: bool>(self) -> Self::Output;
}

/// Runs `work` compiled for AVX2 and FMA when the CPU has both (checked at
/// run time), for the baseline instruction set otherwise. The linear
/// algebra's displacement sums use it; the rest of the crate is built for
/// the baseline target.
pub(crate) fn run_vectorized<V: Vectorized>(work: V) -> V::Output {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (detected just above), the
        // only requirement of a `target_feature(enable = "avx2,fma")`
        // function.
        return unsafe { run_avx2_fma(work) };
    }
    work.run::<false>()
}

/// [`Vectorized::run`] compiled with AVX2 and FMA.
///
/// # Safety
///
/// The CPU must support AVX2 and FMA.
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2_fma<V: Vectorized>(work: V) -> V::Output {
    work.run::<true>()
}

/// The main loop of the displacement sums' paired blocks of sixteen lags
/// (`lag_dots_pair` in `linalg/displacement.rs`) with AVX-512: for `m` in
/// `0..a.len() - 16`, `a[m + 16]` and `a[m]` times the sixteen elements
/// `b[m + 16..m + 32]`, summed into two blocks of sixteen. Two 512-bit
/// loads and two broadcasts feed eight multiply-adds, against four loads
/// for the same work with AVX2 (measured: the loop 1.25x faster, the W6
/// covariance about 10%).
///
/// `None` where AVX-512 is not there: the CPU lacks it (checked at run
/// time, cached by the standard library), the compiler predates its
/// intrinsics (Rust 1.89; the crate builds from 1.80), or Miri runs.
///
/// # Panics
///
/// If `a` holds fewer than 16 elements or `b` fewer than `a.len() + 15`
/// (programmer misuse: the caller sizes both).
pub(crate) fn lag_pairs16(a: &[f64], b: &[f64]) -> Option<([f64; 16], [f64; 16])> {
    assert!(
        a.len() >= 16 && b.len() >= a.len() + 15,
        "lag_pairs16: {} and {} elements",
        a.len(),
        b.len()
    );
    wide::lag_pairs16(a, b)
}

/// `lag_dots` of `linalg/displacement.rs` for sixteen lags with AVX-512:
/// `[Σ_i a[i] b[i + j]]_j` for `j < 16`, a broadcast and two 512-bit
/// loads per element (four elements' partial sums apart: eight chains).
/// `None` where AVX-512 is not there, as for [`lag_pairs16`].
///
/// # Panics
///
/// If `b` holds fewer than `a.len() + 15` elements.
pub(crate) fn lag_dots16(a: &[f64], b: &[f64]) -> Option<[f64; 16]> {
    assert!(
        b.len() >= a.len() + 15,
        "lag_dots16: {} and {} elements",
        a.len(),
        b.len()
    );
    wide::lag_dots16(a, b)
}

/// [`lag_pairs16`]'s and [`lag_dots16`]'s AVX-512 kernels, compiled where
/// the compiler has the intrinsics.
#[rustversion::since(1.89)]
mod wide {
    /// See [`super::lag_pairs16`] (its arguments checked there).
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    pub(super) fn lag_pairs16(a: &[f64], b: &[f64]) -> Option<([f64; 16], [f64; 16])> {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return None;
        }
        // The caller checked `a.len() >= 16` and `b.len() >= a.len() + 15`.
        // SAFETY: AVX-512F detected just above; the lengths as `kernel` needs.
        Some(unsafe { kernel(a, b) })
    }

    /// See [`super::lag_dots16`] (its arguments checked there).
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    pub(super) fn lag_dots16(a: &[f64], b: &[f64]) -> Option<[f64; 16]> {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return None;
        }
        // SAFETY: AVX-512F detected just above; the caller checked
        // `b.len() >= a.len() + 15`, what `single` needs.
        Some(unsafe { single(a, b) })
    }

    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    pub(super) fn lag_pairs16(_: &[f64], _: &[f64]) -> Option<([f64; 16], [f64; 16])> {
        None
    }

    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    pub(super) fn lag_dots16(_: &[f64], _: &[f64]) -> Option<[f64; 16]> {
        None
    }

    /// # Safety
    ///
    /// The CPU must support AVX-512F; `b.len() >= a.len() + 15`.
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    #[target_feature(enable = "avx512f")]
    unsafe fn single(a: &[f64], b: &[f64]) -> [f64; 16] {
        use std::arch::x86_64::{
            __m512d, _mm512_add_pd, _mm512_fmadd_pd, _mm512_loadu_pd, _mm512_set1_pd,
            _mm512_setzero_pd, _mm512_storeu_pd,
        };
        /// `a[i]` times `b[i..i + 16]` into one set of partial sums.
        ///
        /// # Safety
        ///
        /// As [`single`], and `i < a.len()`.
        #[inline(always)]
        unsafe fn step(a: &[f64], b: &[f64], i: usize, acc: &mut [__m512d; 2]) {
            // SAFETY: `i < a.len()` (the caller), and `b[i..i + 16]` is in
            // `b` (`i + 15 < a.len() + 15 <= b.len()`); unaligned loads.
            unsafe {
                let x = _mm512_set1_pd(*a.as_ptr().add(i));
                let pb = b.as_ptr().add(i);
                acc[0] = _mm512_fmadd_pd(x, _mm512_loadu_pd(pb), acc[0]);
                acc[1] = _mm512_fmadd_pd(x, _mm512_loadu_pd(pb.add(8)), acc[1]);
            }
        }
        let n = a.len();
        let mut acc = [[_mm512_setzero_pd(); 2]; 4];
        let mut i = 0;
        while i + 4 <= n {
            for (u, acc_u) in acc.iter_mut().enumerate() {
                // SAFETY: `i + u < i + 4 <= n`.
                unsafe { step(a, b, i + u, acc_u) };
            }
            i += 4;
        }
        while i < n {
            // SAFETY: `i < n`.
            unsafe { step(a, b, i, &mut acc[0]) };
            i += 1;
        }
        let lo = _mm512_add_pd(
            _mm512_add_pd(acc[0][0], acc[1][0]),
            _mm512_add_pd(acc[2][0], acc[3][0]),
        );
        let hi = _mm512_add_pd(
            _mm512_add_pd(acc[0][1], acc[1][1]),
            _mm512_add_pd(acc[2][1], acc[3][1]),
        );
        let mut out = [0.0f64; 16];
        // SAFETY: each store writes eight f64 at the start or the middle
        // of a 16-element array.
        unsafe {
            _mm512_storeu_pd(out.as_mut_ptr(), lo);
            _mm512_storeu_pd(out.as_mut_ptr().add(8), hi);
        }
        out
    }

    /// # Safety
    ///
    /// The CPU must support AVX-512F; `a.len() >= 16` and
    /// `b.len() >= a.len() + 15`.
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    #[target_feature(enable = "avx512f")]
    unsafe fn kernel(a: &[f64], b: &[f64]) -> ([f64; 16], [f64; 16]) {
        use std::arch::x86_64::{
            __m512d, _mm512_add_pd, _mm512_fmadd_pd, _mm512_loadu_pd, _mm512_set1_pd,
            _mm512_setzero_pd, _mm512_storeu_pd,
        };
        /// The multiply-adds of position `m` into one set of partial sums
        /// (`[first block low, high, second block low, high]`).
        ///
        /// # Safety
        ///
        /// As [`kernel`], and `m + 16 < a.len()`.
        #[inline(always)]
        unsafe fn step(a: &[f64], b: &[f64], m: usize, acc: &mut [__m512d; 4]) {
            // SAFETY: `m + 16 < a.len()` (the caller), so `a[m]` and
            // `a[m + 16]` are in `a`, and `b[m + 16..m + 32]` is in `b`
            // (`m + 31 < a.len() + 15 <= b.len()`); unaligned loads.
            unsafe {
                let (pa, pb) = (a.as_ptr(), b.as_ptr());
                let (x0, x1) = (_mm512_set1_pd(*pa.add(m + 16)), _mm512_set1_pd(*pa.add(m)));
                let (lo, hi) = (
                    _mm512_loadu_pd(pb.add(m + 16)),
                    _mm512_loadu_pd(pb.add(m + 24)),
                );
                acc[0] = _mm512_fmadd_pd(x0, lo, acc[0]);
                acc[1] = _mm512_fmadd_pd(x0, hi, acc[1]);
                acc[2] = _mm512_fmadd_pd(x1, lo, acc[2]);
                acc[3] = _mm512_fmadd_pd(x1, hi, acc[3]);
            }
        }
        let count = a.len() - 16;
        // Two sets of partial sums (even and odd `m`): eight independent
        // chains of multiply-adds, what two FMA units of latency 4 need.
        let mut even = [_mm512_setzero_pd(); 4];
        let mut odd = even;
        let mut m = 0;
        while m + 2 <= count {
            // SAFETY: `m + 1 < count`, so `m + 1 + 16 < a.len()`.
            unsafe {
                step(a, b, m, &mut even);
                step(a, b, m + 1, &mut odd);
            }
            m += 2;
        }
        if m < count {
            // SAFETY: `m < count`, so `m + 16 < a.len()`.
            unsafe { step(a, b, m, &mut even) };
        }
        let mut out = ([0.0f64; 16], [0.0f64; 16]);
        let sums: [__m512d; 4] = std::array::from_fn(|k| _mm512_add_pd(even[k], odd[k]));
        // SAFETY: each store writes eight f64 at the start or the middle
        // of a 16-element array.
        unsafe {
            _mm512_storeu_pd(out.0.as_mut_ptr(), sums[0]);
            _mm512_storeu_pd(out.0.as_mut_ptr().add(8), sums[1]);
            _mm512_storeu_pd(out.1.as_mut_ptr(), sums[2]);
            _mm512_storeu_pd(out.1.as_mut_ptr().add(8), sums[3]);
        }
        out
    }
}

/// [`lag_pairs16`] on compilers without the AVX-512 intrinsics.
#[rustversion::before(1.89)]
mod wide {
    pub(super) fn lag_pairs16(_: &[f64], _: &[f64]) -> Option<([f64; 16], [f64; 16])> {
        None
    }

    pub(super) fn lag_dots16(_: &[f64], _: &[f64]) -> Option<[f64; 16]> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{advance, merge_axes, runs_conflict, Ax};

    #[test]
    fn conflict_model() {
        // 16 rows of a 1024-wide f32 image: one set position, 16 > 8 ways.
        assert!(runs_conflict(4096, 16));
        assert!(!runs_conflict(4096, 8));
        // 1040-wide: 64 positions.
        assert!(!runs_conflict(4160, 16));
        // 2048-byte stride: 2 positions, conflict beyond 16 runs.
        assert!(!runs_conflict(2048, 16));
        assert!(runs_conflict(2048, 17));
        // Broadcast (stride 0) reads one place: counted as one position.
        assert!(runs_conflict(0, 9));
    }

    #[test]
    fn merging() {
        let merged = |lens: &[usize], strides: &[isize]| -> Vec<(usize, isize)> {
            merge_axes(lens, strides, None)
                .iter()
                .map(|a| (a.len, a.stride))
                .collect()
        };
        // (32, 32, 3) patch of a (H, 100, 3) C-order image.
        assert_eq!(merged(&[32, 32, 3], &[300, 3, 1]), vec![(32, 300), (96, 1)]);
        // Length-1 axes vanish; a fully contiguous block is one run.
        assert_eq!(merged(&[1, 4, 1, 5], &[0, 5, 7, 1]), vec![(20, 1)]);
        assert_eq!(merged(&[1, 1], &[3, 3]), vec![]);
        // Reversed and broadcast strides merge only when consistent.
        assert_eq!(merged(&[2, 3], &[-3, -1]), vec![(6, -1)]);
        assert_eq!(merged(&[2, 3], &[0, 0]), vec![(6, 0)]);
        assert_eq!(merged(&[2, 3], &[3, 2]), vec![(2, 3), (3, 2)]);
        // An axis with a moved-back last position merges with neither
        // neighbour.
        let ax = |len, stride, back| Ax { len, stride, back };
        assert_eq!(
            merge_axes(&[2, 3], &[3, 1], Some(&[0, 1])),
            vec![ax(2, 3, 0), ax(3, 1, 1)]
        );
        assert_eq!(
            merge_axes(&[2, 3, 4], &[12, 4, 1], Some(&[2, 0, 0])),
            vec![ax(2, 12, 2), ax(12, 1, 0)]
        );
    }

    /// The odometer's offset is always the sum of the axes' offsets, moved
    /// back last positions included, for single steps and tile steps.
    #[test]
    fn odometer_with_moved_back_positions() {
        let axes = [
            Ax {
                len: 3,
                stride: 100,
                back: 30,
            },
            Ax {
                len: 4,
                stride: 10,
                back: 4,
            },
        ];
        let expected = |idx: &[usize]| axes[0].offset(idx[0]) + axes[1].offset(idx[1]);
        for step in [1, 3] {
            let (mut idx, mut off) = ([0, 0], 0isize);
            for _ in 0..12 {
                assert_eq!(off, expected(&idx), "{idx:?}");
                // Tile steps stop before a moved-back position or at the end.
                let t = if idx[1] + 1 < 4 {
                    step.min(3 - idx[1])
                } else {
                    1
                };
                advance(&mut idx, &axes, &mut off, t);
                if idx == [0, 0] {
                    break;
                }
            }
        }
        assert_eq!(axes[1].offset(3), 26);
        assert_eq!(axes[0].offset(2), 170);
    }
}

//! `XᵀX` and the column sums of `X` for *all* the windows, from sums over
//! the image (Kwatra and Han, "Fast covariance computation and
//! dimensionality reduction for sub-window features in images", ECCV
//! 2010), never building `X`.
//!
//! # The sums
//!
//! Per axis (length `n`, patch `p`, step `s`, dilation `d`), element `a`
//! of the window at origin `o` is the image's element `o + d·a`, and the
//! origins are `0, s, .., s·(g - 1)` (plus `n - e` for the moved-back last
//! window of `Edge::Shift`). So element `a` of all the windows runs over
//! the positions `U(a) = {d·a + s·t : t < g}` (plus `n - e + d·a`), and
//! over the whole grid, entry `(a, a + δ)` of `XᵀX` is
//!
//! ```text
//!   Σ_{u ∈ U(a_0) x .. x U(a_last)}  img(u) · img(u + d·δ)
//! ```
//!
//! a sum of the product image `P_δ(u) = img(u) img(u + dδ)` over a box:
//! one pass over the image per displacement `δ` gives every entry of that
//! displacement. `δ` and `-δ` give transposed entries, so only the
//! displacements whose first non-zero component is positive (and `δ = 0`)
//! are computed: `(Π(2p_k - 1) + 1) / 2` passes. The column sums are the
//! same boxes over the image itself.
//!
//! With a step, `U(a)` is an arithmetic progression in the residue class
//! `ρ = d·a mod s`: on the decimated lattice `ρ + s·t` it is the range
//! `t ∈ [q, q + g)` with `q = d·a / s`. Per residue class, the ranges of
//! its elements `a` share a *core* (`[max q, min q + g)`, the long middle)
//! and differ only in a few *single* positions at either end (at most
//! `d(p - 1) / s + 1` on each side). Each position of an axis therefore
//! falls in one *cell*: a single position or the core of its residue
//! class (plus, for the moved-back window of `Edge::Shift`, one cell per
//! element `a`: its position `n - e + d·a`). A pass sums `P_δ` per product
//! of cells (the core cells are long dot products, the singles short
//! element-wise products), and an entry is a box of cells: prefix sums over
//! the cells of each axis, then differences.
//!
//! # Tiles, threads, accuracy
//!
//! The image is cut into tiles (a box of positions `u` and its halo: the
//! elements `u + dδ` can reach), each converted once to `f64` (the
//! conversion of the rows applied to each element, then the centre
//! subtracted) into a buffer that stays in the core's L2 cache while every
//! displacement runs over it. The last axis is stored split by residue
//! class, so that with a step the dot products still read contiguous
//! memory. Tiles are shared out over the threads ([`par_tasks`]); each
//! worker adds its tiles' box sums into one compact `f64` table (the
//! entries of every computed displacement, about `patch_len² / 2`), and
//! the tables are added once at the end. Memory: `O(threads x (tile +
//! patch_len²/2))` plus the result.
//!
//! Every product is formed in `f64` (exact for `f32` and integer images)
//! and summed in `f64` in short blocks: a dot product along one row of a
//! tile (four to eight partial sums), then per tile, then over tiles.
//!
//! # The kernels
//!
//! Along the last axis the lags of a residue class run in blocks of
//! sixteen: each element of a row is broadcast against sixteen consecutive
//! elements of its partner row ([`lag_dots`]). One block is bound by its
//! loads (a broadcast and four 256-bit loads for four FMAs); two
//! consecutive blocks share the partner's loads ([`lag_dots_pair`]: the
//! vector that serves element `m` in the second block serves `m + 16` in
//! the first), so the pair is bound by its multiply-adds. Where the CPU
//! has AVX-512 (and the crate was built with Rust 1.89 or later, whose
//! intrinsics it needs) both loops use 512-bit vectors (`flatten.rs`, the
//! crate's unsafe code); elsewhere they are compiled for AVX2 and FMA when
//! the CPU has them ([`run_vectorized`]), for the baseline otherwise.
//!
//! Axes whose patch spans them whole (the channels of an `(H, W, C)` image
//! with `(ph, pw, C)` patches) are merged into the axis before them: the
//! windows of `(H, W·C)` with patch `(ph, pw·C)` and step `(sh, sw·C)` are
//! the same rows, and the passes then run over long rows instead of rows of
//! `C` elements.

use std::collections::BTreeMap;

use ndarray::{Array1, Array2, ArrayView, Axis, Dimension, IxDyn, Slice};

use rayon::prelude::*;

use crate::error::PatchError;
use crate::flatten::{lag_dots16, lag_pairs16, run_vectorized, try_vec_with_capacity, Vectorized};
use crate::geometry::{axes, Geometry};
use crate::par::par_tasks;
use crate::scalar::{Conversion, Real};
use crate::stop::check as check_stop;

/// The loaded part of a tile (the tile and its halo), in `f64` elements:
/// 96 Ki elements, 768 KiB, so that it stays in a 1-2 MiB L2 cache beside
/// the cell tables and the worker's result table.
const TILE_ELEMENTS: usize = 96 * 1024;

/// Tiles aim at this many positions along the outer axes at least (the
/// per-tile cost of turning cells into entries is then small beside the
/// passes).
const MIN_TILE_ROWS: usize = 16;

/// Fewer lags of a class than this are computed per position (`dots`)
/// rather than padded to a vector block of `LAGS`.
const MIN_VECTOR_LAGS: usize = 6;

/// Steps up to this are stored split by residue class along the last axis
/// (a contiguous plane per class); larger ones are read with a stride.
const MAX_PLANES: usize = 64;

/// Lags (displacements along the last axis) computed together, at most:
/// one pass over a row of the tile feeds this many dot products. Sixteen
/// `f64` partial sums are four AVX2 registers; with two interleaved sets
/// of them, eight independent chains of multiply-adds keep both FMA units
/// busy (`benches/README.md`).
const LAGS: usize = 16;

/// What [`moments`] computes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Want {
    /// `XᵀX` (of the centred image if `centre`).
    pub gram: bool,
    /// The column sums of `X` (of the centred image if `centre`).
    pub sums: bool,
    /// Subtract the image's mean from every element first.
    pub centre: bool,
}

/// What [`moments`] returns.
#[derive(Debug)]
pub(crate) struct Moments {
    /// `XᵀX`, `(patch_len, patch_len)`.
    pub gram: Option<Array2<f64>>,
    /// The column sums of `X`.
    pub sums: Option<Array1<f64>>,
    /// The value subtracted from every element (the image's mean if
    /// [`Want::centre`], else 0).
    pub centre: f64,
}

/// A residue class of one axis: the elements `a` with `d·a ≡ rho (mod
/// s)`, and the cells of its positions `rho + s·t`, `t ∈ [t_lo, t_hi)`:
/// singles for `t < core_s`, one core cell for `core_s <= t < core_e`,
/// singles for `t >= core_e`.
#[derive(Clone, Debug)]
struct Res {
    rho: usize,
    /// Its elements `a`, increasing (so `q` increases too).
    elems: Vec<usize>,
    t_lo: usize,
    core_s: usize,
    core_e: usize,
    t_hi: usize,
    /// Its first cell.
    base: usize,
}

impl Res {
    fn cells(&self) -> usize {
        (self.core_s - self.t_lo) + 1 + (self.t_hi - self.core_e)
    }

    /// The cell of position `t` (`t_lo <= t < t_hi`).
    fn cell(&self, t: usize) -> usize {
        debug_assert!(self.t_lo <= t && t < self.t_hi);
        if t < self.core_s {
            self.base + (t - self.t_lo)
        } else if t < self.core_e {
            self.base + (self.core_s - self.t_lo)
        } else {
            self.base + (self.core_s - self.t_lo) + 1 + (t - self.core_e)
        }
    }
}

/// One axis of the problem (original axes merged where the inner ones are
/// whole; see [`merged_axes`]).
#[derive(Clone, Debug)]
struct Ax {
    n: usize,
    p: usize,
    /// The step (1 where there is a single regular origin: it then does not
    /// matter).
    s: usize,
    d: usize,
    /// Regular origins `0, s, .., s(g - 1)`.
    g: usize,
    /// The origin of the moved-back last window (`Edge::Shift`).
    shift: Option<usize>,
    /// Per element `a`: its residue class (an index into `res`) and `q`.
    res_of: Vec<usize>,
    q: Vec<usize>,
    res: Vec<Res>,
    /// The first shift cell (one per element `a`, after the regular ones).
    shift_base: usize,
    /// Number of cells.
    cells: usize,
    /// The original axes `orig.0..orig.1` merged into this one; tiles are
    /// cut at multiples of `align` (the product of the inner ones' lengths).
    orig: (usize, usize),
    align: usize,
}

impl Ax {
    fn new(n: usize, p: usize, s: usize, d: usize, grid: usize, orig: (usize, usize)) -> Self {
        let e = d * (p - 1) + 1;
        let g = (n - e) / s + 1;
        // A single regular origin: the step plays no part.
        let s = if g == 1 { 1 } else { s };
        let shift = (grid > g).then_some(n - e);
        let mut classes: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut q = Vec::with_capacity(p);
        for a in 0..p {
            let x = d * a;
            classes.entry(x % s).or_default().push(a);
            q.push(x / s);
        }
        let mut res = Vec::with_capacity(classes.len());
        let mut res_of = vec![0; p];
        let mut base = 0;
        for (rho, elems) in classes {
            let (q0, q1) = (q[elems[0]], q[elems[elems.len() - 1]]);
            let r = Res {
                rho,
                t_lo: q0,
                core_s: q1,
                core_e: q1.max(q0 + g),
                t_hi: q1 + g,
                base,
                elems,
            };
            base += r.cells();
            for &a in &r.elems {
                res_of[a] = res.len();
            }
            res.push(r);
        }
        let cells = base + if shift.is_some() { p } else { 0 };
        Ax {
            n,
            p,
            s,
            d,
            g,
            shift,
            res_of,
            q,
            res,
            shift_base: base,
            cells,
            orig,
            align: 1,
        }
    }

    /// The halo: how far `u + dδ` reaches past `u`.
    fn halo(&self) -> usize {
        self.d * (self.p - 1)
    }

    /// Position `x` on the regular lattice of a residue class: `(class, t)`.
    fn regular(&self, x: usize) -> Option<(usize, usize)> {
        let r = self
            .res
            .binary_search_by_key(&(x % self.s), |r| r.rho)
            .ok()?;
        let t = x / self.s;
        (self.res[r].t_lo <= t && t < self.res[r].t_hi).then_some((r, t))
    }

    /// The element `a` whose moved-back position is `x`.
    fn shifted(&self, x: usize) -> Option<usize> {
        let o = self.shift?;
        let k = x.checked_sub(o)?;
        (k % self.d == 0 && k / self.d < self.p).then_some(k / self.d)
    }

    /// The cells of element `a`'s regular positions: `lo..hi`.
    fn range(&self, a: usize) -> (usize, usize) {
        let r = &self.res[self.res_of[a]];
        (r.cell(self.q[a]), r.cell(self.q[a] + self.g - 1) + 1)
    }

    /// The elements `a` with `a + δ` in the window too.
    fn valid(&self, delta: isize) -> (usize, usize) {
        let p = self.p as isize;
        ((-delta).max(0) as usize, (p - delta).min(p) as usize)
    }

    /// The positions `t` of residue class `r` that some element in
    /// `lo..hi` reads, or `None`.
    fn valid_t(&self, r: usize, (lo, hi): (usize, usize)) -> Option<(usize, usize)> {
        let elems = &self.res[r].elems;
        let i0 = elems.partition_point(|&a| a < lo);
        let i1 = elems.partition_point(|&a| a < hi);
        (i0 < i1).then(|| (self.q[elems[i0]], self.q[elems[i1 - 1]] + self.g))
    }
}

/// The axes of the problem: the geometry's, with every axis whose patch
/// spans it whole (`p = n`, so one position) merged into the axis before
/// it when that one has dilation 1 (its windows' rows are then contiguous
/// runs over both). A 0-D array is one axis of length 1.
fn merged_axes<D: Dimension>(geom: &Geometry<D>) -> Vec<Ax> {
    let (shape, patch, step, dil, grid) = (
        axes(geom.shape()),
        axes(geom.patch()),
        axes(geom.step()),
        axes(geom.dilation()),
        axes(geom.grid()),
    );
    if shape.is_empty() {
        return vec![Ax::new(1, 1, 1, 1, 1, (0, 0))];
    }
    // (n, p, s, d, grid, first original axis, align) per merged axis.
    let mut groups: Vec<[usize; 7]> = Vec::new();
    for k in 0..shape.len() {
        let (n, p, d) = (shape[k], patch[k], dil[k]);
        let e = d * (p - 1) + 1;
        // One regular origin: any step past n - e gives the same windows
        // (and keeps the products below from overflowing on huge steps).
        let s = step[k].min(n - e + 1);
        let whole = p == n;
        match groups.last_mut() {
            Some(last) if whole && (last[3] == 1 || last[1] == 1) => {
                // Lengths multiply within the array's element count.
                last[0] *= n;
                last[1] *= n;
                last[2] *= n;
                last[3] = 1;
                last[6] *= n;
            }
            _ => groups.push([n, p, s, d, grid[k], k, 1]),
        }
    }
    let ends: Vec<usize> = groups
        .iter()
        .skip(1)
        .map(|g| g[5])
        .chain([shape.len()])
        .collect();
    groups
        .iter()
        .zip(ends)
        .map(|(&[n, p, s, d, grid, first, align], end)| {
            let mut ax = Ax::new(n, p, s, d, grid, (first, end));
            ax.align = align;
            ax
        })
        .collect()
}

/// The plan of one call: axes, displacements, the compact table's layout
/// and the tiles.
#[derive(Debug)]
struct Plan {
    axes: Vec<Ax>,
    /// Offset in the compact table of every displacement on the lattice
    /// `Π(2p_k - 1)` (C order), `usize::MAX` for those not computed.
    offset: Vec<usize>,
    /// The computed displacements' outer parts (all axes but the last), in
    /// order, each with the lags (last-axis displacements) computed with it.
    outer: Vec<(Vec<isize>, isize)>,
    /// Length of the compact table.
    table_len: usize,
    /// With two axes or more: where each displacement's sums over the core
    /// cells of the first axis gather (`bcast_offset`, parallel to
    /// `offset`; one block of the other axes' entries per residue class
    /// of the first axis), `bcast_len` in all, and the core cell of each
    /// residue class of the first axis (`None` if empty). Every element
    /// of a class reads its core, so these sums are added to all of them
    /// once, at the end, instead of once per tile.
    bcast_offset: Vec<usize>,
    bcast_len: usize,
    core0: Vec<Option<usize>>,
    /// Tile lengths per axis, and the number of tiles per axis.
    tile: Vec<usize>,
    tiles: Vec<usize>,
    /// Patch length.
    patch_len: usize,
}

fn overflow() -> PatchError {
    PatchError::Overflow {
        quantity: "size of the displacement table",
    }
}

impl Plan {
    fn new<D: Dimension>(
        geom: &Geometry<D>,
        want: Want,
        threads: usize,
    ) -> Result<Self, PatchError> {
        let axes = merged_axes(geom);
        let nd = axes.len();
        let patch_len = geom.patch_len();
        // The displacement lattice and the computed half of it.
        let widths: Vec<usize> = axes.iter().map(|a| 2 * a.p - 1).collect();
        let lattice = widths
            .iter()
            .try_fold(1usize, |acc, &w| acc.checked_mul(w))
            .ok_or_else(overflow)?;
        let mut offset = Vec::new();
        if want.gram {
            offset = try_vec_with_capacity(lattice, "the displacement offsets")?;
        }
        let mut table_len = 0usize;
        let mut bcast_offset = Vec::new();
        let mut bcast_len = 0usize;
        let mut outer: Vec<(Vec<isize>, isize)> = Vec::new();
        if want.gram {
            let mut delta = vec![0isize; nd];
            for idx in 0..lattice {
                // δ of lattice index idx (C order), components in (-p, p).
                let mut rest = idx;
                for k in (0..nd).rev() {
                    delta[k] = (rest % widths[k]) as isize - (axes[k].p as isize - 1);
                    rest /= widths[k];
                }
                let computed = match delta.iter().find(|&&x| x != 0) {
                    None => true,
                    Some(&x) => x > 0,
                };
                if !computed {
                    offset.push(usize::MAX);
                    bcast_offset.push(usize::MAX);
                    continue;
                }
                offset.push(table_len);
                if nd > 1 {
                    bcast_offset.push(bcast_len);
                    let size = axes[1..]
                        .iter()
                        .zip(&delta[1..])
                        .try_fold(axes[0].res.len(), |acc, (ax, &dl)| {
                            let (lo, hi) = ax.valid(dl);
                            acc.checked_mul(hi - lo)
                        })
                        .ok_or_else(overflow)?;
                    bcast_len = bcast_len.checked_add(size).ok_or_else(overflow)?;
                }
                let size = axes
                    .iter()
                    .zip(&delta)
                    .try_fold(1usize, |acc, (ax, &dl)| {
                        let (lo, hi) = ax.valid(dl);
                        acc.checked_mul(hi - lo)
                    })
                    .ok_or_else(overflow)?;
                table_len = table_len.checked_add(size).ok_or_else(overflow)?;
                let head = &delta[..nd - 1];
                match outer.last_mut() {
                    Some((o, _)) if o == head => {}
                    _ => {
                        // All-zero outer parts pair with lags >= 0 only.
                        let first = if head.iter().all(|&x| x == 0) {
                            0
                        } else {
                            -(axes[nd - 1].p as isize - 1)
                        };
                        outer.push((head.to_vec(), first));
                    }
                }
            }
            table_len
                .checked_mul(8)
                .filter(|&b| b <= isize::MAX as usize)
                .ok_or_else(overflow)?;
        }
        let (tile, tiles) = tiles(&axes, threads);
        let core0 = axes[0]
            .res
            .iter()
            .map(|r| (r.core_s < r.core_e).then(|| r.cell(r.core_s)))
            .collect();
        Ok(Plan {
            axes,
            offset,
            outer,
            table_len,
            bcast_offset,
            bcast_len,
            core0,
            tile,
            tiles,
            patch_len,
        })
    }

    fn lattice_index(&self, outer: &[isize], lag: isize) -> usize {
        let mut idx = 0usize;
        for (k, ax) in self.axes.iter().enumerate() {
            let dl = if k + 1 == self.axes.len() {
                lag
            } else {
                outer[k]
            };
            idx = idx * (2 * ax.p - 1) + (dl + ax.p as isize - 1) as usize;
        }
        idx
    }

    fn n_tiles(&self) -> usize {
        self.tiles.iter().product()
    }

    /// The tile of task `t`: the tiles at both ends of the first axis
    /// (which also expand the cells of its border positions, the costlier
    /// ones) first, so that no thread starts one last.
    fn task_tile(&self, t: usize) -> usize {
        let (g0, rest) = (self.tiles[0], self.n_tiles() / self.tiles[0]);
        if g0 < 3 {
            return t;
        }
        // Tiles are C order: first-axis index t / rest.
        let (i, j) = (t / rest, t % rest);
        let i = match i {
            0 => 0,
            1 => g0 - 1,
            i => i - 1,
        };
        i * rest + j
    }

    /// The positions of tile `t` on each axis.
    fn tile_ranges(&self, mut t: usize) -> Vec<(usize, usize)> {
        let nd = self.axes.len();
        let mut out = vec![(0, 0); nd];
        for k in (0..nd).rev() {
            let i = t % self.tiles[k];
            t /= self.tiles[k];
            let lo = i * self.tile[k];
            out[k] = (lo, (lo + self.tile[k]).min(self.axes[k].n));
        }
        out
    }
}

/// Tile lengths (multiples of each axis's `align`) and counts: inner axes
/// whole while `MIN_TILE_ROWS` outer rows of them (with halos) fit in
/// `TILE_ELEMENTS`, the first axis cut to fill the budget, and into at
/// least two tiles per thread when that leaves `MIN_TILE_ROWS` rows.
fn tiles(axes: &[Ax], threads: usize) -> (Vec<usize>, Vec<usize>) {
    let nd = axes.len();
    let round = |len: usize, ax: &Ax| -> usize {
        let len = len.clamp(1, ax.n);
        (len.div_ceil(ax.align) * ax.align).min(ax.n)
    };
    let mut len = vec![0; nd];
    // Loaded elements per position of the axes processed so far.
    let mut inner = 1usize;
    for k in (1..nd).rev() {
        let ax = &axes[k];
        let width = ax.n.saturating_mul(inner).saturating_mul(MIN_TILE_ROWS);
        if width <= TILE_ELEMENTS {
            len[k] = ax.n;
            inner *= ax.n;
        } else {
            let room = (TILE_ELEMENTS / inner.saturating_mul(MIN_TILE_ROWS)).max(1);
            // At least a few halos long, so that the halo does not dominate.
            let want = room
                .saturating_sub(2 * ax.halo())
                .max(4 * ax.halo())
                .max(64);
            len[k] = round(want, ax);
            inner = inner.saturating_mul((len[k] + 2 * ax.halo()).min(ax.n));
        }
    }
    let ax = &axes[0];
    let budget = (TILE_ELEMENTS / inner.max(1)).saturating_sub(ax.halo());
    let min = if nd == 1 {
        (4 * ax.halo()).max(256)
    } else {
        MIN_TILE_ROWS
    };
    let mut rows = budget.max(min);
    let share = ax.n.div_ceil(2 * threads.max(1));
    if share >= min {
        rows = rows.min(share);
    }
    // As many tiles per thread (the same rows, or one fewer): the threads
    // finish together.
    let t = threads.max(1);
    let per_thread = ax.n.div_ceil(rows).div_ceil(t);
    let even = ax.n.div_ceil(per_thread * t);
    if even >= min {
        rows = rows.min(even);
    }
    len[0] = round(rows, ax);
    let count = axes
        .iter()
        .zip(&len)
        .map(|(ax, &l)| ax.n.div_ceil(l))
        .collect();
    (len, count)
}

/// One axis of a tile: its positions, the loaded range, and the cells its
/// positions fall in, renumbered densely.
#[derive(Debug, Default)]
struct TileAx {
    lo: usize,
    hi: usize,
    load_lo: usize,
    load_hi: usize,
    /// `rank[c]`: the number of the tile's cells below cell `c`.
    rank: Vec<usize>,
    /// Number of the tile's cells.
    m: usize,
    /// Per position `lo + i`: its residue class, `t` and dense cell, and
    /// the element and dense cell of a moved-back position.
    reg: Vec<Option<(usize, usize, usize)>>,
    sh: Vec<Option<(usize, usize)>>,
}

impl TileAx {
    /// The tile's positions `lo..hi` of `ax` (the first axis, whose halo
    /// is on one side only, if `first`); with `positions`, each position's
    /// cells (the outer axes' rows need them; the last axis is read by
    /// residue class).
    fn new(ax: &Ax, (lo, hi): (usize, usize), first: bool, positions: bool) -> Self {
        let h = ax.halo();
        let load_lo = if first { lo } else { lo.saturating_sub(h) };
        let load_lo = load_lo / ax.align * ax.align;
        let load_hi = ((hi + h).min(ax.n)).div_ceil(ax.align) * ax.align;
        let mut used = vec![false; ax.cells + 1];
        let mut reg = Vec::new();
        let mut sh = Vec::new();
        if !positions {
            // The cells of each residue class's positions in the tile (a
            // range of cells), and the moved-back positions'.
            for r in &ax.res {
                let (ta, tb) = class_range(ax, r, lo, hi);
                if ta < tb {
                    used[r.cell(ta)..=r.cell(tb - 1)].fill(true);
                }
            }
            if let Some(o) = ax.shift {
                for a in 0..ax.p {
                    let x = o + ax.d * a;
                    if lo <= x && x < hi {
                        used[ax.shift_base + a] = true;
                    }
                }
            }
        }
        for x in (lo..hi).filter(|_| positions) {
            let r = ax.regular(x).map(|(r, t)| (r, t, ax.res[r].cell(t)));
            let s = ax.shifted(x).map(|a| (a, ax.shift_base + a));
            if let Some((_, _, c)) = r {
                used[c] = true;
            }
            if let Some((_, c)) = s {
                used[c] = true;
            }
            reg.push(r);
            sh.push(s);
        }
        let mut rank = Vec::with_capacity(ax.cells + 1);
        let mut m = 0;
        for &u in &used {
            rank.push(m);
            m += u as usize;
        }
        for r in reg.iter_mut().flatten() {
            r.2 = rank[r.2];
        }
        for s in sh.iter_mut().flatten() {
            s.1 = rank[s.1];
        }
        TileAx {
            lo,
            hi,
            load_lo,
            load_hi,
            rank,
            m,
            reg,
            sh,
        }
    }

    /// Per element `a` valid for `δ`: its cells in this tile, as dense
    /// `lo..hi` and the dense moved-back cell if in the tile.
    fn selection(&self, ax: &Ax, delta: Option<isize>, out: &mut Vec<Sel>) {
        out.clear();
        let (lo, hi) = delta.map_or((0, ax.p), |dl| ax.valid(dl));
        for a in lo..hi {
            let (c0, c1) = ax.range(a);
            let sh = ax.shift.and_then(|_| {
                let c = ax.shift_base + a;
                (self.rank[c + 1] > self.rank[c]).then_some(self.rank[c])
            });
            out.push(Sel {
                lo: self.rank[c0],
                hi: self.rank[c1],
                shift: sh,
            });
        }
    }
}

/// The positions `t` of residue class `r` whose elements `rho + s t` lie
/// in `lo..hi` (and in the class's range).
fn class_range(ax: &Ax, r: &Res, lo: usize, hi: usize) -> (usize, usize) {
    let first = if lo > r.rho {
        (lo - r.rho).div_ceil(ax.s)
    } else {
        0
    };
    let end = if hi > r.rho {
        (hi - r.rho).div_ceil(ax.s)
    } else {
        0
    };
    (first.max(r.t_lo), end.min(r.t_hi))
}

/// The moved-back positions of `ax` in `t`: (element, position, dense
/// cell).
fn shift_positions(ax: &Ax, t: &TileAx) -> Vec<(usize, usize, usize)> {
    let Some(o) = ax.shift else {
        return Vec::new();
    };
    (0..ax.p)
        .map(|a| (a, o + ax.d * a))
        .filter(|&(_, x)| t.lo <= x && x < t.hi)
        .map(|(a, x)| (a, x, t.rank[ax.shift_base + a]))
        .collect()
}

/// An element's cells along one axis of a tile (dense numbers).
#[derive(Clone, Copy, Debug)]
struct Sel {
    lo: usize,
    hi: usize,
    shift: Option<usize>,
}

/// How the last axis of a tile is laid out in its buffer: split in one
/// plane per residue class modulo the step (`planes`), or as it is, read
/// with a stride.
#[derive(Clone, Copy, Debug)]
struct Layout {
    planes: bool,
    s: usize,
    /// Plane length, and the `t` of each plane's first element.
    lp: usize,
    t0: usize,
    load_lo: usize,
    /// Elements per row (all axes but the last).
    row: usize,
    /// Padding before the first row and after the last: the lags of a
    /// vector block read up to a halo and a block of lags past a row's
    /// ends for positions they do not use (see `block_pass`).
    pad: usize,
}

impl Layout {
    fn new(ax: &Ax, t: &TileAx) -> Self {
        let planes = ax.s <= MAX_PLANES;
        let w = t.load_hi - t.load_lo;
        if planes && ax.s > 1 {
            let t0 = t.load_lo / ax.s;
            let lp = (t.load_hi - 1) / ax.s - t0 + 1;
            Layout {
                planes,
                s: ax.s,
                lp,
                t0,
                load_lo: t.load_lo,
                row: ax.s * lp,
                pad: ax.halo() + LAGS,
            }
        } else {
            Layout {
                planes,
                s: ax.s,
                lp: w,
                t0: t.load_lo,
                load_lo: t.load_lo,
                row: w,
                pad: ax.halo() + LAGS,
            }
        }
    }

    /// Offset in a row of position `x`; for `x` outside the loaded range,
    /// the offset that positions `x + s·t` (in it) are `t * stride()` from.
    #[inline(always)]
    fn at(&self, x: isize) -> isize {
        if self.planes && self.s > 1 {
            let s = self.s as isize;
            x.rem_euclid(s) * self.lp as isize + x.div_euclid(s) - self.t0 as isize
        } else {
            x - self.load_lo as isize
        }
    }

    /// Offset in a row of position `x` of the loaded range.
    #[inline(always)]
    fn off(&self, x: usize) -> usize {
        self.at(x as isize) as usize
    }

    /// Distance between positions `t` and `t + 1` of a residue class.
    #[inline(always)]
    fn stride(&self) -> usize {
        if self.planes {
            1
        } else {
            self.s
        }
    }
}

/// A row (a position on every axis but the last) of a tile for one outer
/// displacement: where its elements and its partners' are in the buffer,
/// and its cell row in the tables.
#[derive(Clone, Copy, Debug)]
struct RowRef {
    a: usize,
    b: usize,
    cell: usize,
}

/// A worker's state: its share of the result and its buffers.
#[derive(Debug, Default)]
struct Work {
    table: Vec<f64>,
    bcast: Vec<f64>,
    sums: Vec<f64>,
    buf: Vec<f64>,
    cells: Vec<f64>,
    ex: [Vec<f64>; 3],
    rows: Vec<RowRef>,
    sel: Vec<Vec<Sel>>,
}

fn zeros(n: usize, what: &'static str) -> Result<Vec<f64>, PatchError> {
    let mut v = try_vec_with_capacity(n, what)?;
    v.resize(n, 0.0);
    Ok(v)
}

/// `XᵀX` and/or the column sums of `X` for all the windows of `geom` over
/// `source`, each element converted by `conv` (and centred if asked).
///
/// # Errors
///
/// [`PatchError::Overflow`] or [`PatchError::OutOfMemory`] if the tables
/// cannot be held.
pub(crate) fn moments<A, D, C, F>(
    source: &ArrayView<'_, A, D>,
    conv: &C,
    geom: &Geometry<D>,
    want: Want,
) -> Result<Moments, PatchError>
where
    A: Copy + Send + Sync,
    D: Dimension,
    C: Conversion<A, Output = F>,
    F: Real,
{
    let threads = rayon::current_num_threads();
    let plan = Plan::new(geom, want, threads)?;
    let src = dyn_source(source);
    let centre = if want.centre {
        image_mean(&src, conv)
    } else {
        0.0
    };
    let pl = plan.patch_len;
    let init = || -> Result<Work, PatchError> {
        Ok(Work {
            table: if want.gram {
                zeros(plan.table_len, "the displacement table")?
            } else {
                Vec::new()
            },
            bcast: if want.gram {
                zeros(plan.bcast_len, "the displacement table")?
            } else {
                Vec::new()
            },
            sums: if want.sums {
                zeros(pl, "the column sums")?
            } else {
                Vec::new()
            },
            ..Work::default()
        })
    };
    let mut work = par_tasks(
        plan.n_tiles(),
        init,
        |w, t| {
            let ranges = plan.tile_ranges(plan.task_tile(t));
            let tax: Vec<TileAx> = plan
                .axes
                .iter()
                .zip(&ranges)
                .enumerate()
                .map(|(k, (ax, &r))| TileAx::new(ax, r, k == 0, k + 1 < plan.axes.len()))
                .collect();
            load(&plan, &tax, &src, conv, centre, &mut w.buf)?;
            if want.sums {
                linear_pass(&plan, &tax, w);
            }
            if want.gram {
                let passes = Passes {
                    plan: &plan,
                    tax: &tax,
                    work: w,
                };
                #[cfg(test)]
                if tests::BASELINE.load(std::sync::atomic::Ordering::Relaxed) {
                    passes.run::<false>();
                    return Ok(());
                }
                run_vectorized(passes);
                // The passes stop early if the token was stopped.
                check_stop()?;
            }
            Ok(())
        },
        |mut a, b| {
            for (x, y) in a.table.iter_mut().zip(&b.table) {
                *x += y;
            }
            for (x, y) in a.bcast.iter_mut().zip(&b.bcast) {
                *x += y;
            }
            for (x, y) in a.sums.iter_mut().zip(&b.sums) {
                *x += y;
            }
            a
        },
    )?;
    let gram = if want.gram {
        broadcast(&plan, &mut work.table, &work.bcast);
        Some(assemble(&plan, &work.table)?)
    } else {
        None
    };
    let sums = want.sums.then(|| Array1::from_vec(work.sums));
    Ok(Moments { gram, sums, centre })
}

/// The source with a dynamic number of axes, at least one (a 0-D array is
/// one axis of length 1, as in [`merged_axes`]).
pub(super) fn dyn_source<'a, A, D: Dimension>(
    source: &ArrayView<'a, A, D>,
) -> ArrayView<'a, A, IxDyn> {
    let src = source.clone().into_dyn();
    if src.ndim() == 0 {
        src.insert_axis(Axis(0))
    } else {
        src
    }
}

/// The mean of the image's elements after conversion, in `f64`.
pub(super) fn image_mean<A: Copy, C: Conversion<A, Output = F>, F: Real>(
    src: &ArrayView<'_, A, IxDyn>,
    conv: &C,
) -> f64 {
    let last = Axis(src.ndim() - 1);
    let mut total = 0.0;
    for lane in src.lanes(last) {
        total += lane.iter().map(|&a| conv.convert(a).to_f64()).sum::<f64>();
    }
    total / src.len().max(1) as f64
}

/// Converts the loaded box of a tile into `buf` (C order over the merged
/// axes, the last one split by residue class), minus `centre`.
fn load<A: Copy, C: Conversion<A, Output = F>, F: Real>(
    plan: &Plan,
    tax: &[TileAx],
    src: &ArrayView<'_, A, IxDyn>,
    conv: &C,
    centre: f64,
    buf: &mut Vec<f64>,
) -> Result<(), PatchError> {
    let nd = plan.axes.len();
    let last = &plan.axes[nd - 1];
    let layout = Layout::new(last, &tax[nd - 1]);
    let rows: usize = tax[..nd - 1]
        .iter()
        .map(|t| t.load_hi - t.load_lo)
        .product();
    // Padded before and after (see `Layout::pad`).
    let size = rows * layout.row + 2 * layout.pad;
    if buf.len() < size {
        buf.clear();
        buf.try_reserve_exact(size)
            .map_err(|_| PatchError::OutOfMemory {
                bytes: size * 8,
                what: "a tile",
            })?;
        buf.resize(size, 0.0);
    }
    // The loaded box in the original axes: the first axis of each merged
    // group cut (in units of the group's inner block), the others whole.
    let view = src.slice_each_axis(|d| {
        let k = d.axis.index();
        match plan.axes.iter().zip(tax).find(|(ax, _)| ax.orig.0 == k) {
            Some((ax, t)) => Slice::from(t.load_lo / ax.align..t.load_hi / ax.align),
            None => Slice::from(..),
        }
    });
    let w = tax[nd - 1].load_hi - tax[nd - 1].load_lo;
    let lanes = view.lanes(Axis(view.ndim() - 1));
    let lane_len = view.shape()[view.ndim() - 1];
    for (li, lane) in lanes.into_iter().enumerate() {
        let i = li * lane_len;
        let (row, col) = (i / w, i % w);
        let at = layout.pad + row * layout.row;
        let out = &mut buf[at..at + layout.row];
        if layout.s == 1 || !layout.planes {
            for (o, &a) in out[col..col + lane_len].iter_mut().zip(lane.iter()) {
                *o = conv.convert(a).to_f64() - centre;
            }
        } else {
            for (j, &a) in lane.iter().enumerate() {
                out[layout.off(layout.load_lo + col + j)] = conv.convert(a).to_f64() - centre;
            }
        }
    }
    Ok(())
}

/// Expands a tile's cell table (dense cells `dims` per axis) into the
/// entries of one displacement (`sel[k]` per axis), added into `out`.
fn expand_into(
    dims: &[usize],
    sel: &[Vec<Sel>],
    cells: &[f64],
    ex: &mut [Vec<f64>; 3],
    out: &mut [f64],
) {
    expand_axes(dims, sel, (0, dims.len()), cells, ex);
    for (o, x) in out.iter_mut().zip(ex[0].iter()) {
        *o += x;
    }
}

/// Expands the cells of axes `stop..top` of a tile's cell table (shape
/// `dims`) into the entries of one displacement, leaving the result in
/// `ex[0]` (shape `dims` with `|sel[k]|` on those axes).
#[allow(clippy::needless_range_loop)] // indices into fixed-size arrays and rows
fn expand_axes(
    dims: &[usize],
    sel: &[Vec<Sel>],
    (stop, top): (usize, usize),
    cells: &[f64],
    ex: &mut [Vec<f64>; 3],
) {
    let mut dims = dims.to_vec();
    let [a, b, pre] = ex;
    a.clear();
    a.extend_from_slice(&cells[..dims.iter().product::<usize>()]);
    for k in (stop..top).rev() {
        let outer: usize = dims[..k].iter().product();
        let inner: usize = dims[k + 1..].iter().product();
        let m = dims[k];
        let sk = &sel[k];
        b.clear();
        b.resize(outer * sk.len() * inner, 0.0);
        if inner == 1 {
            expand_rows(a, m, sk, pre, b);
            dims[k] = sk.len();
            std::mem::swap(a, b);
            continue;
        }
        pre.clear();
        pre.resize((m + 1) * inner, 0.0);
        for o in 0..outer {
            let src = &a[o * m * inner..(o + 1) * m * inner];
            for j in 0..m {
                for i in 0..inner {
                    pre[(j + 1) * inner + i] = pre[j * inner + i] + src[j * inner + i];
                }
            }
            for (ai, s) in sk.iter().enumerate() {
                let dst = &mut b[(o * sk.len() + ai) * inner..(o * sk.len() + ai + 1) * inner];
                for i in 0..inner {
                    dst[i] = pre[s.hi * inner + i] - pre[s.lo * inner + i];
                }
                if let Some(c) = s.shift {
                    for i in 0..inner {
                        dst[i] += src[c * inner + i];
                    }
                }
            }
        }
        dims[k] = sk.len();
        std::mem::swap(a, b);
    }
}

/// [`expand_axes`] along the last axis: `src` is rows of `m` cells, `dst`
/// rows of `sel.len()` entries. The prefix sums of eight rows run side by
/// side (a prefix sum is a chain of dependent additions); a single row
/// alone.
#[allow(clippy::needless_range_loop)] // indices into fixed-size arrays and rows
fn expand_rows(src: &[f64], m: usize, sel: &[Sel], pre: &mut Vec<f64>, dst: &mut [f64]) {
    const G: usize = 8;
    let outer = src.len() / m.max(1);
    let ns = sel.len();
    if outer < G {
        pre.clear();
        pre.resize(m + 1, 0.0);
        for o in 0..outer {
            let row = &src[o * m..(o + 1) * m];
            let mut acc = 0.0;
            for (p, &x) in pre[1..].iter_mut().zip(row) {
                acc += x;
                *p = acc;
            }
            for (d, s) in dst[o * ns..(o + 1) * ns].iter_mut().zip(sel) {
                *d = pre[s.hi] - pre[s.lo] + s.shift.map_or(0.0, |c| row[c]);
            }
        }
        return;
    }
    pre.clear();
    pre.resize((m + 1) * G, 0.0);
    // The last group overlaps the one before (rows computed twice, the
    // same): every group is a full eight rows.
    for og in (0..outer).step_by(G) {
        let og = og.min(outer - G);
        let mut acc = [0.0f64; G];
        for j in 0..m {
            for r in 0..G {
                acc[r] += src[(og + r) * m + j];
            }
            pre[(j + 1) * G..(j + 2) * G].copy_from_slice(&acc);
        }
        for (ai, s) in sel.iter().enumerate() {
            let (hi, lo) = (&pre[s.hi * G..s.hi * G + G], &pre[s.lo * G..s.lo * G + G]);
            for r in 0..G {
                let mut v = hi[r] - lo[r];
                if let Some(c) = s.shift {
                    v += src[(og + r) * m + c];
                }
                dst[(og + r) * ns + ai] = v;
            }
        }
    }
}

/// Expands the first axis of `rows` (`m0` rows of `e` entries: a cell
/// table whose other axes are expanded already) into the entries of one
/// displacement, added into `out` (`sel0.len()` rows of `e`).
#[allow(clippy::needless_range_loop)] // indices into fixed-size arrays and rows
fn expand_first(rows: &[f64], e: usize, sel0: &[Sel], pre: &mut Vec<f64>, out: &mut [f64]) {
    let m0 = rows.len() / e.max(1);
    pre.clear();
    pre.resize((m0 + 1) * e, 0.0);
    for j in 0..m0 {
        for i in 0..e {
            pre[(j + 1) * e + i] = pre[j * e + i] + rows[j * e + i];
        }
    }
    for (a, s) in sel0.iter().enumerate() {
        let dst = &mut out[a * e..(a + 1) * e];
        for i in 0..e {
            dst[i] += pre[s.hi * e + i] - pre[s.lo * e + i];
        }
        if let Some(c) = s.shift {
            for i in 0..e {
                dst[i] += rows[c * e + i];
            }
        }
    }
}

/// Adds the sums over the core cells of the first axis (`bcast`) to every
/// element of their residue class: see [`Plan::bcast_offset`].
fn broadcast(plan: &Plan, table: &mut [f64], bcast: &[f64]) {
    let nd = plan.axes.len();
    if nd < 2 {
        return;
    }
    let ax0 = &plan.axes[0];
    let widths: Vec<usize> = plan.axes.iter().map(|a| 2 * a.p - 1).collect();
    for (idx, (&off, &boff)) in plan.offset.iter().zip(&plan.bcast_offset).enumerate() {
        if off == usize::MAX {
            continue;
        }
        // The displacement's components, last to first.
        let mut rest = idx;
        let mut e = 1usize;
        for k in (1..nd).rev() {
            let dl = (rest % widths[k]) as isize - (plan.axes[k].p as isize - 1);
            rest /= widths[k];
            let (lo, hi) = plan.axes[k].valid(dl);
            e *= hi - lo;
        }
        let d0 = rest as isize - (ax0.p as isize - 1);
        let (lo, hi) = ax0.valid(d0);
        for a in lo..hi {
            let r0 = ax0.res_of[a];
            if plan.core0[r0].is_none() {
                continue;
            }
            let dst = &mut table[off + (a - lo) * e..off + (a - lo + 1) * e];
            for (d, x) in dst
                .iter_mut()
                .zip(&bcast[boff + r0 * e..boff + (r0 + 1) * e])
            {
                *d += x;
            }
        }
    }
}

/// Makes `v` hold at least `n` elements, of any value (reused scratch).
fn scratch(v: &mut Vec<f64>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

/// Cell strides of a tile's table (C order over the dense cells).
fn cell_strides(tax: &[TileAx]) -> Vec<usize> {
    let mut cs = vec![1; tax.len()];
    for k in (0..tax.len().saturating_sub(1)).rev() {
        cs[k] = cs[k + 1] * tax[k + 1].m;
    }
    cs
}

/// Row strides of a tile's buffer (all axes but the last).
fn row_strides(tax: &[TileAx], layout: &Layout) -> Vec<usize> {
    let nd = tax.len();
    let mut rs = vec![layout.row; nd.saturating_sub(1)];
    for k in (0..nd.saturating_sub(2)).rev() {
        rs[k] = rs[k + 1] * (tax[k + 1].load_hi - tax[k + 1].load_lo);
    }
    rs
}

/// The rows of a tile read for the outer displacement `outer` (`None`:
/// the column sums, every row of every element), each with its partner
/// row (`u + dδ`) and its cell row; a row in two cells (a moved-back
/// position that is also a regular one) appears twice.
fn tile_rows(
    plan: &Plan,
    tax: &[TileAx],
    layout: &Layout,
    outer: Option<&[isize]>,
    rows: &mut Vec<RowRef>,
) {
    rows.clear();
    let nd = plan.axes.len();
    let cs = cell_strides(tax);
    let rs = row_strides(tax, layout);
    // Per outer axis: (position, its cells in this tile for δ_k).
    let mut lists: Vec<Vec<(usize, [Option<usize>; 2])>> = Vec::with_capacity(nd - 1);
    for k in 0..nd - 1 {
        let ax = &plan.axes[k];
        let t = &tax[k];
        let delta = outer.map(|o| o[k]);
        let (vlo, vhi) = delta.map_or((0, ax.p), |dl| ax.valid(dl));
        let vt: Vec<Option<(usize, usize)>> = (0..ax.res.len())
            .map(|r| ax.valid_t(r, (vlo, vhi)))
            .collect();
        let mut list = Vec::new();
        for (i, x) in (t.lo..t.hi).enumerate() {
            let reg = t.reg[i]
                .and_then(|(r, tt, c)| vt[r].and_then(|(a, b)| (a <= tt && tt < b).then_some(c)));
            let sh = t.sh[i].and_then(|(a, c)| (vlo <= a && a < vhi).then_some(c));
            if reg.is_some() || sh.is_some() {
                list.push((x, [reg, sh]));
            }
        }
        if list.is_empty() {
            return;
        }
        lists.push(list);
    }
    let shift: isize = match outer {
        Some(o) => (0..nd - 1)
            .map(|k| o[k] * plan.axes[k].d as isize * rs[k] as isize)
            .sum(),
        None => 0,
    };
    // Odometer over the lists.
    let mut idx = vec![0usize; nd - 1];
    loop {
        let mut a = layout.pad;
        let mut cells: Vec<usize> = vec![0];
        for k in 0..nd - 1 {
            let (x, c) = lists[k][idx[k]];
            a += (x - tax[k].load_lo) * rs[k];
            let mut next = Vec::with_capacity(cells.len() * 2);
            for &base in &cells {
                for cc in c.iter().flatten() {
                    next.push(base + cc * cs[k]);
                }
            }
            cells = next;
        }
        let b = (a as isize + shift) as usize;
        for cell in cells {
            rows.push(RowRef { a, b, cell });
        }
        // Advance.
        let mut k = nd - 1;
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            idx[k] += 1;
            if idx[k] < lists[k].len() {
                break;
            }
            idx[k] = 0;
        }
    }
}

/// The column sums of one tile: box sums of the image itself.
fn linear_pass(plan: &Plan, tax: &[TileAx], w: &mut Work) {
    let nd = plan.axes.len();
    let last = &plan.axes[nd - 1];
    let tl = &tax[nd - 1];
    let layout = Layout::new(last, tl);
    let segs = segments(last, tl);
    let shifts = shift_positions(last, tl);
    let mut rows = std::mem::take(&mut w.rows);
    tile_rows(plan, tax, &layout, None, &mut rows);
    let dims: Vec<usize> = tax.iter().map(|t| t.m).collect();
    let size: usize = dims.iter().product();
    w.cells.clear();
    w.cells.resize(size, 0.0);
    let st = layout.stride();
    let (buf, cells) = (&w.buf, &mut w.cells);
    for row in &rows {
        for seg in &segs {
            let res = &last.res[seg.res];
            let at = (row.a as isize + layout.at(seg.rho as isize)) as usize;
            // Singles before and after the core: one cell each.
            for (t1, t2) in [(seg.ta, seg.cs), (seg.ce, seg.tb)] {
                if t1 < t2 {
                    let c = row.cell + tl.rank[res.cell(t1)];
                    for (k, t) in (t1..t2).enumerate() {
                        cells[c + k] += buf[at + t * st];
                    }
                }
            }
            if seg.cs < seg.ce {
                let c = row.cell + tl.rank[res.cell(seg.cs)];
                cells[c] += if st == 1 {
                    sum(&buf[at + seg.cs..at + seg.ce])
                } else {
                    (seg.cs..seg.ce).map(|t| buf[at + t * st]).sum()
                };
            }
        }
        for &(_, x, c) in &shifts {
            cells[row.cell + c] += buf[row.a + layout.off(x)];
        }
    }
    w.rows = rows;
    let mut sel = std::mem::take(&mut w.sel);
    sel.resize_with(nd, Vec::new);
    for k in 0..nd {
        tax[k].selection(&plan.axes[k], None, &mut sel[k]);
    }
    let mut ex = std::mem::take(&mut w.ex);
    expand_into(&dims, &sel, &w.cells, &mut ex, &mut w.sums);
    w.ex = ex;
    w.sel = sel;
}

/// The sum of `x` in four interleaved partial sums.
fn sum(x: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut chunks = x.chunks_exact(4);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + chunks.remainder().iter().sum::<f64>()
}

/// Every displacement's pass over one tile, compiled by
/// [`run_vectorized`].
struct Passes<'p, 'w> {
    plan: &'p Plan,
    tax: &'p [TileAx],
    work: &'w mut Work,
}

impl Vectorized for Passes<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn run<const FMA: bool>(self) {
        passes::<FMA>(self.plan, self.tax, self.work);
    }
}

#[inline(always)]
fn fmadd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `[Σ_i a[i] b_j[i]]_j` for `L` slices `b_j` as long as `a`: each element
/// of `a` is loaded once for the `L` products, `U` groups of four partial
/// sums per product keep the multiply-adds independent.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indices into fixed-size arrays and rows
fn dots<const L: usize, const U: usize, const FMA: bool>(a: &[f64], b: [&[f64]; L]) -> [f64; L] {
    const W: usize = 4;
    let n = a.len();
    let b: [&[f64]; L] = b.map(|x| &x[..n]);
    let mut acc = [[[0.0f64; W]; L]; U];
    let blocks = n / (W * U);
    for blk in 0..blocks {
        let base = blk * W * U;
        for (u, acc_u) in acc.iter_mut().enumerate() {
            let o = base + u * W;
            let av: &[f64; W] = a[o..o + W].try_into().expect("four elements");
            for (acc_j, bj) in acc_u.iter_mut().zip(&b) {
                let bv: &[f64; W] = bj[o..o + W].try_into().expect("four elements");
                for w in 0..W {
                    acc_j[w] = fmadd::<FMA>(av[w], bv[w], acc_j[w]);
                }
            }
        }
    }
    let mut out = [0.0f64; L];
    for (j, o) in out.iter_mut().enumerate() {
        let mut s = 0.0;
        for acc_u in &acc {
            for w in 0..W {
                s += acc_u[j][w];
            }
        }
        for i in blocks * W * U..n {
            s = fmadd::<FMA>(a[i], b[j][i], s);
        }
        *o = s;
    }
    out
}

/// One residue class of the last axis in a tile: its positions `t` in the
/// tile split into singles before the core, the core, singles after.
#[derive(Clone, Copy, Debug)]
struct Seg {
    res: usize,
    rho: usize,
    /// `t` range of the tile, and the core within it.
    ta: usize,
    tb: usize,
    cs: usize,
    ce: usize,
}

fn segments(ax: &Ax, t: &TileAx) -> Vec<Seg> {
    let mut out = Vec::new();
    for (r, res) in ax.res.iter().enumerate() {
        let rho = res.rho;
        let (ta, tb) = class_range(ax, res, t.lo, t.hi);
        if ta >= tb {
            continue;
        }
        let cs = res.core_s.clamp(ta, tb);
        let ce = res.core_e.clamp(cs, tb);
        out.push(Seg {
            res: r,
            rho,
            ta,
            tb,
            cs,
            ce,
        });
    }
    out
}

/// The passes of every computed displacement over one loaded tile.
#[inline(always)]
fn passes<const FMA: bool>(plan: &Plan, tax: &[TileAx], w: &mut Work) {
    let nd = plan.axes.len();
    let last = &plan.axes[nd - 1];
    let tl = &tax[nd - 1];
    let layout = Layout::new(last, tl);
    let segs = segments(last, tl);
    // Moved-back positions on the last axis in this tile: (a, x, dense).
    let shifts = shift_positions(last, tl);
    let dims: Vec<usize> = tax.iter().map(|t| t.m).collect();
    let size: usize = dims.iter().product();
    // The dense cells of the first axis that are the core of a residue
    // class (their sums gather in `bcast`).
    let mut core_rows = vec![None; tax[0].m];
    for (r0, core) in plan.core0.iter().enumerate() {
        if let Some(c) = *core {
            if tax[0].rank[c + 1] > tax[0].rank[c] {
                core_rows[tax[0].rank[c]] = Some(r0);
            }
        }
    }
    let mut rows = std::mem::take(&mut w.rows);
    let mut cells = std::mem::take(&mut w.cells);
    let mut sel = std::mem::take(&mut w.sel);
    let mut ex = std::mem::take(&mut w.ex);
    sel.resize_with(nd, Vec::new);
    cells.clear();
    cells.resize(LAGS * size, 0.0);
    // Every element's cells on the last axis (the lags then keep theirs).
    let mut sel_last = Vec::new();
    tl.selection(last, None, &mut sel_last);
    for (outer, first) in &plan.outer {
        // A tile of a large window takes long (every displacement): stop
        // between displacements when the watched StopToken asks (the task
        // then reports it, and this tile's partial sums are dropped).
        if check_stop().is_err() {
            break;
        }
        tile_rows(plan, tax, &layout, Some(outer), &mut rows);
        if rows.is_empty() {
            continue;
        }
        for k in 0..nd - 1 {
            tax[k].selection(&plan.axes[k], Some(outer[k]), &mut sel[k]);
        }
        let (blocks, others): (Vec<_>, Vec<_>) = lag_blocks(*first, last, &layout)
            .into_iter()
            .partition(|(b, _)| b.len() == LAGS);
        if !blocks.is_empty() {
            // Sixteen lags per block: every block's pass over a row while
            // the row and its partner are in L1, then the flushes.
            let infos: Vec<BlockLags<LAGS>> = blocks
                .iter()
                .map(|(b, real)| BlockLags::new(b, *real, last, &layout, &segs, tl))
                .collect();
            let per = LAGS * size;
            if cells.len() < blocks.len() * per {
                cells.resize(blocks.len() * per, 0.0);
            }
            cells[..blocks.len() * per].fill(0.0);
            // Consecutive blocks that pair run their cores together.
            let mut groups = Vec::with_capacity(infos.len());
            let mut bi = 0;
            while bi < infos.len() {
                let two = bi + 1 < infos.len() && infos[bi].pairs_with(&infos[bi + 1]);
                groups.push((bi, two));
                bi += if two { 2 } else { 1 };
            }
            for row in &rows {
                for &(bi, two) in &groups {
                    let k = if two { 2 } else { 1 };
                    let tables = &mut cells[bi * per..(bi + k) * per];
                    if two {
                        let (t0, t1) = tables.split_at_mut(per);
                        let pair = [&infos[bi], &infos[bi + 1]];
                        block_row_pair::<LAGS, FMA>(pair, row, &w.buf, [t0, t1]);
                    } else {
                        let stride = layout.stride();
                        block_row::<LAGS, 1, FMA>(&infos[bi], stride, row, &w.buf, tables, false);
                    }
                }
            }
            // The singles of vector classes: position by position, the
            // rows of one cell summed in registers.
            for (bi, info) in infos.iter().enumerate() {
                let tables = &mut cells[bi * per..(bi + 1) * per];
                block_singles::<LAGS, FMA>(info, &rows, &w.buf, tables);
            }
            for (bi, ((block, real), info)) in blocks.iter().zip(&infos).enumerate() {
                let tables = &mut cells[bi * per..(bi + 1) * per];
                block_shifts(info, &layout, &shifts, &rows, &w.buf, tables);
                let flush = Flush {
                    plan,
                    outer,
                    lags: block,
                    real: *real,
                    dims: &dims,
                    sel_last: &sel_last,
                    core_rows: &core_rows,
                };
                flush.run::<LAGS>(tables, &mut sel, &mut ex, &mut w.table, &mut w.bcast);
            }
        }
        for (block, real) in others {
            let block = &block[..];
            let tables = &mut cells[..block.len() * size];
            tables.fill(0.0);
            let args = (
                last,
                &layout,
                &segs[..],
                tl,
                &shifts[..],
                &rows[..],
                &w.buf[..],
            );
            match block.len() {
                16 => block_pass::<16, 1, FMA>(block, real, args, tables),
                8 => block_pass::<8, 1, FMA>(block, real, args, tables),
                4 => block_pass::<4, 2, FMA>(block, real, args, tables),
                2 => block_pass::<2, 4, FMA>(block, real, args, tables),
                _ => block_pass::<1, 8, FMA>(block, real, args, tables),
            }
            let flush = Flush {
                plan,
                outer,
                lags: block,
                real,
                dims: &dims,
                sel_last: &sel_last,
                core_rows: &core_rows,
            };
            let (t, b) = (&mut w.table, &mut w.bcast);
            match block.len() {
                16 => flush.run::<16>(tables, &mut sel, &mut ex, t, b),
                8 => flush.run::<8>(tables, &mut sel, &mut ex, t, b),
                4 => flush.run::<4>(tables, &mut sel, &mut ex, t, b),
                2 => flush.run::<2>(tables, &mut sel, &mut ex, t, b),
                _ => flush.run::<1>(tables, &mut sel, &mut ex, t, b),
            }
        }
    }
    w.rows = rows;
    w.cells = cells;
    w.sel = sel;
    w.ex = ex;
}

/// Turns the cell sums of a block of lags (interleaved: cell `c`, lag `j`
/// at `c * L + j`) into entries of the compact table: the last axis for
/// all the lags at once (prefix sums of `L`-vectors), then per lag the
/// other axes, the first one's core cells gathering in `bcast`.
struct Flush<'a> {
    plan: &'a Plan,
    outer: &'a [isize],
    lags: &'a [isize],
    real: usize,
    dims: &'a [usize],
    /// Every element's cells on the last axis (dense).
    sel_last: &'a [Sel],
    /// Per dense cell of the first axis: the residue class whose core it
    /// is (`None`: a single position).
    core_rows: &'a [Option<usize>],
}

impl Flush<'_> {
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // indices into rows of cells
    fn run<const L: usize>(
        &self,
        tables: &[f64],
        sel: &mut [Vec<Sel>],
        ex: &mut [Vec<f64>; 3],
        table: &mut [f64],
        bcast: &mut [f64],
    ) {
        let plan = self.plan;
        let nd = self.dims.len();
        let last = &plan.axes[nd - 1];
        let l = L;
        let ml = self.dims[nd - 1];
        let mo = self.dims[..nd - 1].iter().product::<usize>();
        let p = last.p;
        // 1. The last axis, every lag: all[c][a][j] for outer cell c,
        //    element a of the last axis, lag j (vectors of L lags).
        let [all, r, pre] = ex;
        // Scratch written in full before it is read (but the prefix sums'
        // first row): no need to clear it.
        scratch(all, mo * p * l);
        scratch(pre, (ml + 1) * l);
        pre[..l].fill(0.0);
        let vec =
            |s: &[f64], k: usize| -> [f64; L] { s[k * L..(k + 1) * L].try_into().expect("L lags") };
        for c in 0..mo {
            let src = &tables[c * ml * l..(c + 1) * ml * l];
            let mut acc = [0.0f64; L];
            for k in 0..ml {
                let x = vec(src, k);
                for j in 0..L {
                    acc[j] += x[j];
                }
                pre[(k + 1) * L..(k + 2) * L].copy_from_slice(&acc);
            }
            for (a, s) in self.sel_last.iter().enumerate() {
                let (hi, lo) = (vec(pre, s.hi), vec(pre, s.lo));
                let mut v: [f64; L] = std::array::from_fn(|j| hi[j] - lo[j]);
                if let Some(sh) = s.shift {
                    let x = vec(src, sh);
                    for j in 0..L {
                        v[j] += x[j];
                    }
                }
                all[(c * p + a) * L..(c * p + a + 1) * L].copy_from_slice(&v);
            }
        }
        if nd == 2 {
            self.first_axis::<L>(all, pre, sel, table, bcast);
            return;
        }
        // 2. Per lag: its elements, then the other axes.
        let mut ex2 = [std::mem::take(r), Vec::new(), std::mem::take(pre)];
        let mut dims = self.dims.to_vec();
        for (j, &lag) in self.lags[..self.real].iter().enumerate() {
            let (lo, hi) = last.valid(lag);
            let v = hi - lo;
            let idx = plan.lattice_index(self.outer, lag);
            let off = plan.offset[idx];
            let entries = v * sel[..nd - 1].iter().map(Vec::len).product::<usize>();
            let out = &mut table[off..off + entries];
            let g = &mut ex2[1];
            g.clear();
            for c in 0..mo {
                for a in lo..hi {
                    g.push(all[(c * p + a) * l + j]);
                }
            }
            if nd == 1 {
                for (o, x) in out.iter_mut().zip(g.iter()) {
                    *o += x;
                }
                continue;
            }
            dims[nd - 1] = v;
            let rows = std::mem::take(g);
            if nd > 2 {
                expand_axes(&dims, sel, (1, nd - 1), &rows, &mut ex2);
            } else {
                ex2[0].clear();
                ex2[0].extend_from_slice(&rows);
            }
            ex2[1] = rows;
            // The first axis: core cells gather for the end, single
            // positions are expanded now.
            let e = entries / sel[0].len().max(1);
            let e = if sel[0].is_empty() { 0 } else { e };
            let boff = plan.bcast_offset[idx];
            let mut singles = false;
            for (c0, core) in self.core_rows.iter().enumerate() {
                let row = &mut ex2[0][c0 * e..(c0 + 1) * e];
                match core {
                    Some(r0) => {
                        let dst = &mut bcast[boff + r0 * e..boff + (r0 + 1) * e];
                        for (d, x) in dst.iter_mut().zip(row.iter_mut()) {
                            *d += *x;
                            *x = 0.0;
                        }
                    }
                    None => singles = true,
                }
            }
            if singles {
                let [rr, _, pre2] = &mut ex2;
                expand_first(rr, e, &sel[0], pre2, out);
            }
        }
        let [a0, _, p0] = ex2;
        *r = a0;
        *pre = p0;
    }

    /// Step 2 with two axes, every lag at once: the core rows of the first
    /// axis gather in `bcast`; the single rows' prefix sums (vectors of
    /// `p x L`), their differences per element of the first axis, then
    /// each lag's entries into its block of the table.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // indices into rows of cells
    fn first_axis<const L: usize>(
        &self,
        all: &[f64],
        pre: &mut Vec<f64>,
        sel: &[Vec<Sel>],
        table: &mut [f64],
        bcast: &mut [f64],
    ) {
        let plan = self.plan;
        let last = &plan.axes[1];
        let p = last.p;
        let w = p * L;
        let mo = self.core_rows.len();
        let lags: Vec<(usize, usize, usize, usize)> = self.lags[..self.real]
            .iter()
            .map(|&lag| {
                let (lo, hi) = last.valid(lag);
                let idx = plan.lattice_index(self.outer, lag);
                (lo, hi, plan.offset[idx], plan.bcast_offset[idx])
            })
            .collect();
        let mut singles = false;
        for (c0, core) in self.core_rows.iter().enumerate() {
            let Some(r0) = core else {
                singles = true;
                continue;
            };
            let row = &all[c0 * w..(c0 + 1) * w];
            for (j, &(lo, hi, _, boff)) in lags.iter().enumerate() {
                let v = hi - lo;
                let dst = &mut bcast[boff + r0 * v..boff + (r0 + 1) * v];
                for (d, a) in dst.iter_mut().zip(lo..hi) {
                    *d += row[a * L + j];
                }
            }
        }
        if !singles {
            return;
        }
        // Prefix sums over the single rows (core rows count as zero).
        scratch(pre, (mo + 1) * w);
        pre[..w].fill(0.0);
        for c0 in 0..mo {
            let (done, next) = pre.split_at_mut((c0 + 1) * w);
            let (prev, next) = (&done[c0 * w..], &mut next[..w]);
            if self.core_rows[c0].is_some() {
                next.copy_from_slice(prev);
            } else {
                let row = &all[c0 * w..(c0 + 1) * w];
                for ((n, &p0), &x) in next.iter_mut().zip(prev).zip(row) {
                    *n = p0 + x;
                }
            }
        }
        let mut diff = vec![0.0f64; w];
        for (i0, s) in sel[0].iter().enumerate() {
            let (hi, lo) = (
                &pre[s.hi * w..(s.hi + 1) * w],
                &pre[s.lo * w..(s.lo + 1) * w],
            );
            for ((d, &h), &l) in diff.iter_mut().zip(hi).zip(lo) {
                *d = h - l;
            }
            if let Some(c) = s.shift {
                for (d, &x) in diff.iter_mut().zip(&all[c * w..(c + 1) * w]) {
                    *d += x;
                }
            }
            for (j, &(lo, hi, off, _)) in lags.iter().enumerate() {
                let v = hi - lo;
                let dst = &mut table[off + i0 * v..off + (i0 + 1) * v];
                for (o, a) in dst.iter_mut().zip(lo..hi) {
                    *o += diff[a * L + j];
                }
            }
        }
    }
}

/// The lags `first..p` of the last axis in blocks, each with the number
/// of its lags that are real. Where the last axis has dilation 1 and is
/// stored in planes, the lags of a block are `δ, δ + s, δ + 2s, ..`: their
/// partners of a position are then consecutive elements of one plane, and
/// [`lag_dots`] reads them as one vector. Those blocks have 16 lags, the
/// last of a class padded with lags past the window (computed on the
/// buffer's padding or the next row, and dropped): sixteen lags cost what
/// eight or four do (the chains of multiply-adds are then the limit).
/// Other blocks have 8, 4, 2 or 1 lags.
fn lag_blocks(first: isize, ax: &Ax, layout: &Layout) -> Vec<(Vec<isize>, usize)> {
    let vector = ax.d == 1 && layout.planes;
    let classes = lag_classes(first, ax, vector);
    let step = ax.s as isize;
    let mut out = Vec::new();
    for class in classes {
        let mut rest = &class[..];
        while !rest.is_empty() {
            // A vector block costs what sixteen lags cost; a few lags are
            // cheaper per position (`dots`).
            if vector && rest.len() >= MIN_VECTOR_LAGS {
                let real = rest.len().min(LAGS);
                let mut block = rest[..real].to_vec();
                while block.len() < LAGS {
                    block.push(block[block.len() - 1] + step);
                }
                out.push((block, real));
                rest = &rest[real..];
            } else {
                let take = [8, 4, 2, 1]
                    .into_iter()
                    .find(|&t| t <= rest.len())
                    .expect("1 <= len");
                out.push((rest[..take].to_vec(), take));
                rest = &rest[take..];
            }
        }
    }
    out
}

/// The lags `first..p` of the last axis by residue class modulo the step
/// (one class if not `vector`).
fn lag_classes(first: isize, ax: &Ax, vector: bool) -> Vec<Vec<isize>> {
    let p = ax.p as isize;
    if vector {
        let s = ax.s as isize;
        let mut by: BTreeMap<isize, Vec<isize>> = BTreeMap::new();
        for l in first..p {
            by.entry(l.rem_euclid(s)).or_default().push(l);
        }
        by.into_values().collect()
    } else {
        vec![(first..p).collect()]
    }
}

/// What a call of [`moments`] costs, in the units the cost model weighs
/// (`model.rs`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Effort {
    /// Positions a pass reads (the elements of the image some window holds).
    pub positions: f64,
    /// Passes of a vector block of lags, summed over the outer
    /// displacements, and lags computed per position.
    pub blocks: f64,
    pub lags: f64,
    /// Rows (positions on all axes but the last) times blocks of lags of
    /// either kind: the per-row work of a pass.
    pub row_blocks: f64,
    /// Entries of the compact table (about `patch_len² / 2`).
    pub entries: f64,
    /// Tiles of the image (at most this many threads work).
    pub tiles: usize,
    /// Whether some axis has a step (the passes then run per residue
    /// class).
    pub strided: bool,
}

/// The [`Effort`] of the displacement sums of `geom` (no allocation beyond
/// a few per-axis vectors).
pub(crate) fn effort<D: Dimension>(geom: &Geometry<D>, threads: usize) -> Effort {
    let axes = merged_axes(geom);
    let nd = axes.len();
    let last = &axes[nd - 1];
    let positions = axes
        .iter()
        .map(|ax| ax.n as f64 * (ax.res.len() as f64 / ax.s as f64).min(1.0))
        .product();
    let outer = axes[..nd - 1]
        .iter()
        .map(|ax| (2 * ax.p - 1) as f64)
        .product::<f64>();
    let outer = (outer + 1.0) / 2.0;
    let vector = last.d == 1 && last.s <= MAX_PLANES;
    let count = |first: isize| -> (f64, f64, f64) {
        let mut b = (0.0, 0.0, 0.0);
        for class in lag_classes(first, last, vector) {
            let n = class.len();
            if vector && n >= MIN_VECTOR_LAGS {
                b.0 += n.div_ceil(LAGS) as f64;
            } else {
                b.1 += n as f64;
                b.2 += n.div_ceil(8) as f64;
            }
        }
        b
    };
    let (zero, other) = (count(0), count(-(last.p as isize - 1)));
    let rows = positions / last.n as f64;
    let pl = geom.patch_len() as f64;
    let (_, tiles) = tiles(&axes, threads);
    Effort {
        positions,
        blocks: zero.0 + (outer - 1.0) * other.0,
        lags: zero.1 + (outer - 1.0) * other.1,
        row_blocks: rows * (zero.0 + zero.2 + (outer - 1.0) * (other.0 + other.2)),
        entries: pl * (pl + 1.0) / 2.0,
        tiles: tiles.iter().product(),
        strided: axes.iter().any(|ax| ax.s > 1),
    }
}

/// `[Σ_i a[i] b[i + j]]_j` for `j < L`: the products of `a` with `L`
/// consecutive shifts of `b` (`b` holds `a.len() + L - 1` elements or
/// more). Each `a[i]` is broadcast against `L` consecutive elements of
/// `b`, one vector load; two sets of partial sums (even and odd `i`).
/// With FMA, sixteen lags and AVX-512: [`lag_dots16`].
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indices into fixed-size arrays and rows
fn lag_dots<const L: usize, const FMA: bool>(a: &[f64], b: &[f64]) -> [f64; L] {
    let n = a.len();
    let b = &b[..n + L - 1];
    if FMA && L == 16 {
        if let Some(w) = lag_dots16(a, b) {
            return std::array::from_fn(|j| w[j]);
        }
    }
    let mut acc = [[0.0f64; L]; 2];
    let pairs = n / 2;
    for i in 0..pairs {
        for (u, acc_u) in acc.iter_mut().enumerate() {
            let k = 2 * i + u;
            let x = a[k];
            let bv: &[f64; L] = b[k..k + L].try_into().expect("L elements");
            for j in 0..L {
                acc_u[j] = fmadd::<FMA>(x, bv[j], acc_u[j]);
            }
        }
    }
    if n % 2 == 1 {
        let k = n - 1;
        let x = a[k];
        let bv: &[f64; L] = b[k..k + L].try_into().expect("L elements");
        for j in 0..L {
            acc[0][j] = fmadd::<FMA>(x, bv[j], acc[0][j]);
        }
    }
    std::array::from_fn(|j| acc[0][j] + acc[1][j])
}

/// [`lag_dots`] for two blocks of lags at once, the second `L` lags past
/// the first: `([Σ_i a[i] b[i + j]]_j, [Σ_i a[i] b[i + L + j]]_j)` for
/// `j < L` (`b` holds `a.len() + 2L - 1` elements or more). The vector
/// `b[m + L..m + 2L]` serves `a[m]` in the second block and `a[m + L]` in
/// the first: two broadcasts and the loads of one block for the
/// multiply-adds of two (one block is bound by its loads, two by the
/// multiply-adds). The first block's first `L` positions and the second
/// block's last `L` run alone. With FMA, sixteen lags and AVX-512 the
/// main loop is [`lag_pairs16`]'s.
#[inline(always)]
fn lag_dots_pair<const L: usize, const FMA: bool>(a: &[f64], b: &[f64]) -> ([f64; L], [f64; L]) {
    let n = a.len();
    let b = &b[..n + 2 * L - 1];
    if n <= L {
        return (lag_dots::<L, FMA>(a, b), lag_dots::<L, FMA>(a, &b[L..]));
    }
    let wide = if FMA && L == 16 {
        lag_pairs16(a, b)
    } else {
        None
    };
    let (acc0, acc1) = match wide {
        Some((w0, w1)) => (
            std::array::from_fn(|j| w0[j]),
            std::array::from_fn(|j| w1[j]),
        ),
        None => pair_loop::<L, FMA>(a, b),
    };
    let head = lag_dots::<L, FMA>(&a[..L], b);
    let tail = lag_dots::<L, FMA>(&a[n - L..], &b[n..]);
    (
        std::array::from_fn(|j| acc0[j] + head[j]),
        std::array::from_fn(|j| acc1[j] + tail[j]),
    )
}

/// [`lag_dots_pair`]'s main loop: for `m` in `0..a.len() - L`, `a[m + L]`
/// and `a[m]` times `b[m + L..m + 2L]` (eight vectors of partial sums
/// with AVX2, what two FMA units of latency 4 need).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indices into fixed-size arrays
fn pair_loop<const L: usize, const FMA: bool>(a: &[f64], b: &[f64]) -> ([f64; L], [f64; L]) {
    let (mut acc0, mut acc1) = ([0.0f64; L], [0.0f64; L]);
    for m in 0..a.len() - L {
        let (x0, x1) = (a[m + L], a[m]);
        let bv: &[f64; L] = b[m + L..m + 2 * L].try_into().expect("L elements");
        for j in 0..L {
            acc0[j] = fmadd::<FMA>(x0, bv[j], acc0[j]);
            acc1[j] = fmadd::<FMA>(x1, bv[j], acc1[j]);
        }
    }
    (acc0, acc1)
}

/// What [`block_pass`] reads: the last axis, its layout, its residue
/// classes and moved-back positions in the tile, the tile, the rows and
/// the buffer.
type PassArgs<'a> = (
    &'a Ax,
    &'a Layout,
    &'a [Seg],
    &'a TileAx,
    &'a [(usize, usize, usize)],
    &'a [RowRef],
    &'a [f64],
);

/// One residue class of the last axis for one block of lags: what every
/// row's pass over it needs.
#[derive(Clone, Copy, Debug)]
struct SegLags<const L: usize> {
    seg: Seg,
    /// The positions t each lag reads in this class (None: no element of
    /// the class is valid for the lag).
    vt: [Option<(usize, usize)>; L],
    /// Offsets (in a row) of positions t of this class: `a_at + t *
    /// stride`, and of their partners `x + D`: `b_at[j] + t * stride`.
    a_at: isize,
    b_at: [isize; L],
    /// The lags' partners are consecutive: one vector per position
    /// (`lag_dots`), for every lag, also those that read nothing here
    /// (their products are dropped). The singles then take the union
    /// `ul..uh` of the lags' positions: a lag's products at positions it
    /// does not read land in cells it never reads. The buffer is padded so
    /// that all these reads stay in it.
    consecutive: bool,
    /// Every lag of the block (padding included) reads this class.
    all_valid: bool,
    ul: usize,
    uh: usize,
    /// The dense cells of the first single before the core, of the core,
    /// of the first single after it.
    head: Option<usize>,
    core: Option<usize>,
    tail: Option<usize>,
}

impl<const L: usize> SegLags<L> {
    /// Adds a core's sums of the block's lags into its cell (`out`, `L`
    /// entries), but those of lags that read nothing in this class.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // indices into fixed-size arrays
    fn add_core(&self, out: &mut [f64], sums: &[f64; L]) {
        if self.all_valid {
            add_row(out, sums);
        } else {
            for j in 0..L {
                if self.vt[j].is_some() {
                    out[j] += sums[j];
                }
            }
        }
    }
}

/// A block of `L` lags over a tile's last axis, of which the first `real`
/// matter: per residue class, [`SegLags`].
#[derive(Debug)]
struct BlockLags<const L: usize> {
    segs: Vec<SegLags<L>>,
    valid: [(usize, usize); L],
    disp: [isize; L],
}

impl<const L: usize> BlockLags<L> {
    fn new(
        lags: &[isize],
        real: usize,
        ax: &Ax,
        layout: &Layout,
        segs: &[Seg],
        tl: &TileAx,
    ) -> Self {
        let stride = layout.stride();
        // Padding lags read no element: an empty range.
        let valid: [(usize, usize); L] =
            std::array::from_fn(|j| if j < real { ax.valid(lags[j]) } else { (0, 0) });
        let disp: [isize; L] = std::array::from_fn(|j| lags[j] * ax.d as isize);
        let mut out = Vec::with_capacity(segs.len());
        for &seg in segs {
            let res = &ax.res[seg.res];
            let vt: [Option<(usize, usize)>; L] =
                std::array::from_fn(|j| ax.valid_t(seg.res, valid[j]));
            if vt.iter().all(Option::is_none) {
                continue;
            }
            let rho = seg.rho as isize;
            let b_at: [isize; L] = std::array::from_fn(|j| layout.at(rho + disp[j]));
            let dense = |t: usize| tl.rank[res.cell(t)];
            let (ul, uh) = vt[..real]
                .iter()
                .flatten()
                .fold((usize::MAX, 0), |(l, h), &(a, b)| (l.min(a), h.max(b)));
            out.push(SegLags {
                seg,
                vt,
                a_at: layout.at(rho),
                b_at,
                consecutive: stride == 1 && (0..L).all(|j| b_at[j] == b_at[0] + j as isize),
                all_valid: vt.iter().all(Option::is_some),
                ul,
                uh,
                head: (seg.ta < seg.cs).then(|| dense(seg.ta)),
                core: (seg.cs < seg.ce).then(|| dense(seg.cs)),
                tail: (seg.ce < seg.tb).then(|| dense(seg.ce)),
            });
        }
        BlockLags {
            segs: out,
            valid,
            disp,
        }
    }
}

/// The cell sums of a block of lags over one row, into `tables`
/// (interleaved: cell `c`, lag `j` at `c * L + j`).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indices into fixed-size arrays and rows
fn block_row<const L: usize, const U: usize, const FMA: bool>(
    block: &BlockLags<L>,
    stride: usize,
    row: &RowRef,
    buf: &[f64],
    tables: &mut [f64],
    singles: bool,
) {
    let st = stride as isize;
    let (ra, rb) = (row.a as isize, row.b as isize);
    for sl in &block.segs {
        let seg = &sl.seg;
        let (vt, a_at, b_at) = (&sl.vt, sl.a_at, &sl.b_at);
        // The core: one dot product per lag.
        if let Some(cd) = sl.core {
            let len = seg.ce - seg.cs;
            let ka = (ra + a_at + seg.cs as isize * st) as usize;
            let sums = if sl.consecutive {
                // The partners of every lag, valid or not (those are
                // dropped below; the buffer's padding keeps them in it).
                let kb0 = (rb + b_at[0] + seg.cs as isize) as usize;
                lag_dots::<L, FMA>(&buf[ka..ka + len], &buf[kb0..kb0 + len + L - 1])
            } else {
                // A lag no element reads here computes a dummy product.
                let kb: [usize; L] = std::array::from_fn(|j| match vt[j] {
                    Some(_) => (rb + b_at[j] + seg.cs as isize * st) as usize,
                    None => ka,
                });
                if stride == 1 {
                    let a = &buf[ka..ka + len];
                    dots::<L, U, FMA>(a, std::array::from_fn(|j| &buf[kb[j]..kb[j] + len]))
                } else {
                    std::array::from_fn(|j| {
                        let mut s = 0.0;
                        for i in 0..len {
                            s = fmadd::<FMA>(buf[ka + i * stride], buf[kb[j] + i * stride], s);
                        }
                        s
                    })
                }
            };
            sl.add_core(
                &mut tables[(row.cell + cd) * L..(row.cell + cd + 1) * L],
                &sums,
            );
        }
        // The singles before and after the core.
        for (t1, t2, first) in [(seg.ta, seg.cs, sl.head), (seg.ce, seg.tb, sl.tail)] {
            let Some(first) = first else { continue };
            let start = t1;
            if sl.consecutive {
                if !singles {
                    continue; // `block_singles` does them
                }
                // All the lags at once: a[t] times L consecutive b.
                let (t1, t2) = (t1.max(sl.ul), t2.min(sl.uh));
                for t in t1..t2 {
                    let ka = (ra + a_at + t as isize) as usize;
                    let kb = (rb + b_at[0] + t as isize) as usize;
                    let x = buf[ka];
                    let c = row.cell + first + (t - start);
                    let out = &mut tables[c * L..(c + 1) * L];
                    for (o, &y) in out.iter_mut().zip(&buf[kb..kb + L]) {
                        *o = fmadd::<FMA>(x, y, *o);
                    }
                }
                continue;
            }
            for j in 0..L {
                let Some((vl, vh)) = vt[j] else { continue };
                let (t1, t2) = (t1.max(vl), t2.min(vh));
                for t in t1..t2 {
                    let ka = (ra + a_at + t as isize * st) as usize;
                    let kb = (rb + b_at[j] + t as isize * st) as usize;
                    let c = row.cell + first + (t - start);
                    tables[c * L + j] = fmadd::<FMA>(buf[ka], buf[kb], tables[c * L + j]);
                }
            }
        }
    }
}

impl<const L: usize> BlockLags<L> {
    /// Whether `next` holds the `L` lags after this block's in every
    /// residue class, all of them read as vectors ([`lag_dots`]): the
    /// two blocks' cores then run together ([`block_row_pair`]).
    fn pairs_with(&self, next: &Self) -> bool {
        self.segs.len() == next.segs.len()
            && self.segs.iter().zip(&next.segs).all(|(s0, s1)| {
                let same = (s0.seg.res, s0.seg.cs, s0.seg.ce) == (s1.seg.res, s1.seg.cs, s1.seg.ce);
                same && s0.consecutive
                    && s1.consecutive
                    && s0.a_at == s1.a_at
                    && s0.core == s1.core
                    && s1.b_at[0] == s0.b_at[0] + L as isize
            })
    }
}

/// The cores of two blocks of lags that pair ([`BlockLags::pairs_with`])
/// over one row, into their tables (the singles are left to
/// [`block_singles`], as [`block_row`] leaves them).
#[inline(always)]
fn block_row_pair<const L: usize, const FMA: bool>(
    blocks: [&BlockLags<L>; 2],
    row: &RowRef,
    buf: &[f64],
    tables: [&mut [f64]; 2],
) {
    let (ra, rb) = (row.a as isize, row.b as isize);
    for (s0, s1) in blocks[0].segs.iter().zip(&blocks[1].segs) {
        let Some(cd) = s0.core else { continue };
        let seg = &s0.seg;
        let len = seg.ce - seg.cs;
        let ka = (ra + s0.a_at + seg.cs as isize) as usize;
        let kb = (rb + s0.b_at[0] + seg.cs as isize) as usize;
        let sums = lag_dots_pair::<L, FMA>(&buf[ka..ka + len], &buf[kb..kb + len + 2 * L - 1]);
        let c = row.cell + cd;
        s0.add_core(&mut tables[0][c * L..(c + 1) * L], &sums.0);
        s1.add_core(&mut tables[1][c * L..(c + 1) * L], &sums.1);
    }
}

/// The singles of a block's vector classes (see [`block_row`]) over all
/// the rows: per pair of positions, the rows of one cell row (consecutive
/// in `rows`) summed in two sets of registers, then added to the table
/// once.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indices into fixed-size arrays
fn block_singles<const L: usize, const FMA: bool>(
    block: &BlockLags<L>,
    rows: &[RowRef],
    buf: &[f64],
    tables: &mut [f64],
) {
    for sl in block.segs.iter().filter(|sl| sl.consecutive) {
        let seg = &sl.seg;
        for (t1, t2, first) in [(seg.ta, seg.cs, sl.head), (seg.ce, seg.tb, sl.tail)] {
            let Some(first) = first else { continue };
            let start = t1;
            let (t1, t2) = (t1.max(sl.ul), t2.min(sl.uh));
            let mut t = t1;
            while t < t2 {
                // Two positions at a time (eight chains of multiply-adds),
                // one at the end.
                let two = t + 1 < t2;
                let mut g = 0;
                while g < rows.len() {
                    let cell = rows[g].cell;
                    let (mut acc0, mut acc1) = ([0.0f64; L], [0.0f64; L]);
                    while g < rows.len() && rows[g].cell == cell {
                        let (ra, rb) = (rows[g].a as isize, rows[g].b as isize);
                        let ka = (ra + sl.a_at + t as isize) as usize;
                        let kb = (rb + sl.b_at[0] + t as isize) as usize;
                        fma_row::<L, FMA>(&mut acc0, buf[ka], &buf[kb..kb + L]);
                        if two {
                            fma_row::<L, FMA>(&mut acc1, buf[ka + 1], &buf[kb + 1..kb + 1 + L]);
                        }
                        g += 1;
                    }
                    let c = cell + first + (t - start);
                    add_row(&mut tables[c * L..(c + 1) * L], &acc0);
                    if two {
                        add_row(&mut tables[(c + 1) * L..(c + 2) * L], &acc1);
                    }
                }
                t += 2;
            }
        }
    }
}

/// `acc[j] += x * b[j]`.
#[inline(always)]
fn fma_row<const L: usize, const FMA: bool>(acc: &mut [f64; L], x: f64, b: &[f64]) {
    for (o, &y) in acc.iter_mut().zip(b) {
        *o = fmadd::<FMA>(x, y, *o);
    }
}

/// `out[j] += v[j]`.
#[inline(always)]
fn add_row(out: &mut [f64], v: &[f64]) {
    for (o, &x) in out.iter_mut().zip(v) {
        *o += x;
    }
}

/// The moved-back positions of the last axis (`Edge::Shift`) for a block
/// of lags over all the rows.
fn block_shifts<const L: usize>(
    block: &BlockLags<L>,
    layout: &Layout,
    shifts: &[(usize, usize, usize)],
    rows: &[RowRef],
    buf: &[f64],
    tables: &mut [f64],
) {
    for &(a_el, x, dense) in shifts {
        let xa = layout.off(x);
        for j in 0..L {
            if a_el < block.valid[j].0 || a_el >= block.valid[j].1 {
                continue;
            }
            let xb = layout.at(x as isize + block.disp[j]) as usize;
            for row in rows {
                let c = row.cell + dense;
                tables[c * L + j] += buf[row.a + xa] * buf[row.b + xb];
            }
        }
    }
}

/// The cell sums of a block of `L` lags over the rows of one outer
/// displacement (see [`block_row`]).
#[inline(always)]
fn block_pass<const L: usize, const U: usize, const FMA: bool>(
    lags: &[isize],
    real: usize,
    (ax, layout, segs, tl, shifts, rows, buf): PassArgs<'_>,
    tables: &mut [f64],
) {
    let block = BlockLags::<L>::new(lags, real, ax, layout, segs, tl);
    for row in rows {
        block_row::<L, U, FMA>(&block, layout.stride(), row, buf, tables, true);
    }
    block_shifts(&block, layout, shifts, rows, buf, tables);
}

/// The `(patch_len, patch_len)` matrix from the compact table: entry
/// `(a, a + δ)` and its mirror `(a + δ, a)`. Written on every thread, one
/// group of rows at a time (an element of the outer axes: `p_last` rows,
/// in cache while every displacement writes to them): for each computed
/// displacement, the row's entries to the right (`a + δ`) and, from the
/// element `a - δ`, to the left; for one outer displacement the lags of
/// the last axis are a contiguous band.
fn assemble(plan: &Plan, table: &[f64]) -> Result<Array2<f64>, PatchError> {
    let pl = plan.patch_len;
    let n = pl.checked_mul(pl).ok_or_else(overflow)?;
    // Zeroed on every thread (the first touch of a fresh matrix is most of
    // the cost of zeroing it).
    let mut g: Vec<f64> = try_vec_with_capacity(n, "the Gram matrix")?;
    g.par_extend((0..n).into_par_iter().map(|_| 0.0));
    let nd = plan.axes.len();
    let last = &plan.axes[nd - 1];
    let pn = last.p;
    // C-order strides of an element index over the merged patch.
    let mut stride = vec![1usize; nd];
    for k in (0..nd - 1).rev() {
        stride[k] = stride[k + 1] * plan.axes[k + 1].p;
    }
    // Per outer displacement: its components, valid outer elements, the
    // stride of their position in a block, and per lag its table block and
    // valid elements of the last axis.
    struct Outer {
        delta: Vec<isize>,
        ranges: Vec<(usize, usize)>,
        qstride: Vec<usize>,
        lags: Vec<(isize, usize, usize, usize)>,
    }
    let outers: Vec<Outer> = plan
        .outer
        .iter()
        .map(|(outer, first)| {
            let ranges: Vec<(usize, usize)> =
                (0..nd - 1).map(|k| plan.axes[k].valid(outer[k])).collect();
            let mut qstride = vec![1usize; nd - 1];
            for k in (0..nd.saturating_sub(2)).rev() {
                qstride[k] = qstride[k + 1] * (ranges[k + 1].1 - ranges[k + 1].0);
            }
            let lags = (*first..pn as isize)
                .map(|lag| {
                    let (lo, hi) = last.valid(lag);
                    (lag, plan.offset[plan.lattice_index(outer, lag)], lo, hi)
                })
                .collect();
            Outer {
                delta: outer.clone(),
                ranges,
                qstride,
                lags,
            }
        })
        .collect();
    // The position of outer element `a` in an outer displacement's block,
    // if it is valid there.
    let position = |o: &Outer, a: &[isize]| -> Option<usize> {
        let mut q = 0;
        for ((&ak, &(lo, hi)), &qs) in a.iter().zip(&o.ranges).zip(&o.qstride) {
            if ak < lo as isize || ak >= hi as isize {
                return None;
            }
            q += (ak as usize - lo) * qs;
        }
        Some(q)
    };
    g.par_chunks_mut(pn * pl)
        .enumerate()
        .for_each(|(ga, rows)| {
            // This group's outer element, C order.
            let mut a = vec![0isize; nd - 1];
            let mut rest = ga;
            for k in (0..nd - 1).rev() {
                a[k] = (rest % plan.axes[k].p) as isize;
                rest /= plan.axes[k].p;
            }
            let base = ga * pn;
            let mut b = vec![0isize; nd - 1];
            for o in &outers {
                // To the right: (a, a + δ).
                if let Some(q) = position(o, &a) {
                    let shift: isize = (0..nd - 1).map(|k| o.delta[k] * stride[k] as isize).sum();
                    for &(lag, off, lo, hi) in &o.lags {
                        let block = &table[off + q * (hi - lo)..off + (q + 1) * (hi - lo)];
                        for (al, &v) in (lo..hi).zip(block) {
                            let j = ((base + al) as isize + shift + lag) as usize;
                            rows[al * pl + j] = v;
                        }
                    }
                }
                // To the left: (a, a - δ), stored as (a - δ, a).
                for k in 0..nd - 1 {
                    b[k] = a[k] - o.delta[k];
                }
                if let Some(q) = position(o, &b) {
                    let bbase: usize = (0..nd - 1).map(|k| b[k] as usize * stride[k]).sum();
                    for &(lag, off, lo, hi) in &o.lags {
                        let block = &table[off + q * (hi - lo)..off + (q + 1) * (hi - lo)];
                        for (bl, &v) in (lo..hi).zip(block) {
                            let al = (bl as isize + lag) as usize;
                            rows[al * pl + bbase + bl] = v;
                        }
                    }
                }
            }
        });
    Ok(Array2::from_shape_vec((pl, pl), g).expect("pl * pl elements"))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use ndarray::{Array2, Array3, ArrayViewD, IxDyn};

    use super::{moments, Want};
    use crate::geometry::Edge;
    use crate::scalar::AsIs;
    use crate::PatchExt;

    /// Runs the passes compiled for the baseline target (no FMA), as on a
    /// CPU without AVX2.
    pub(super) static BASELINE: AtomicBool = AtomicBool::new(false);

    fn gram_both(
        a: ArrayViewD<'_, f64>,
        patch: &[usize],
        step: &[usize],
        dil: &[usize],
        edge: Edge,
    ) {
        let p = a
            .patches(IxDyn(patch))
            .step(IxDyn(step))
            .dilation(IxDyn(dil))
            .edge(edge);
        let want = Want {
            gram: true,
            sums: false,
            centre: false,
        };
        let fast = moments(&a, &AsIs, p.geometry(), want)
            .unwrap()
            .gram
            .unwrap();
        BASELINE.store(true, Ordering::Relaxed);
        let base = moments(&a, &AsIs, p.geometry(), want)
            .unwrap()
            .gram
            .unwrap();
        BASELINE.store(false, Ordering::Relaxed);
        let rows = p.to_matrix();
        let want = rows.t().dot(&rows);
        let scale = want.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
        for got in [&fast, &base] {
            let err = got
                .iter()
                .zip(&want)
                .fold(0.0f64, |m, (&x, &y)| m.max((x - y).abs()));
            assert!(err <= 1e-12 * scale, "{err} vs {scale}");
        }
    }

    /// The paired blocks' kernels (the AVX-512 one where the CPU has it,
    /// the portable loop, with and without FMA) against plain sums, on
    /// lengths around the block and the loops' unrolling.
    #[test]
    fn lag_pairs_agree() {
        use super::{lag_dots, lag_dots16, lag_dots_pair, lag_pairs16, pair_loop};
        for n in [1, 2, 15, 16, 17, 18, 19, 33, 100, 731] {
            let a: Vec<f64> = (0..n).map(|i| ((i * 37 + 11) % 29) as f64 - 14.0).collect();
            let b: Vec<f64> = (0..n + 31)
                .map(|i| ((i * 53 + 7) % 31) as f64 / 8.0 - 2.0)
                .collect();
            let dot = |range: std::ops::Range<usize>, shift: usize| -> Vec<f64> {
                (0..16)
                    .map(|j| range.clone().map(|i| a[i] * b[i + shift + j]).sum())
                    .collect()
            };
            let close = |got: &[f64], want: &[f64], what: &str| {
                for (j, (g, w)) in got.iter().zip(want).enumerate() {
                    assert!(
                        (g - w).abs() <= 1e-9,
                        "{what}, n = {n}, lag {j}: {g} vs {w}"
                    );
                }
            };
            let (w0, w1) = (dot(0..n, 0), dot(0..n, 16));
            let fma = lag_dots_pair::<16, true>(&a, &b);
            let plain = lag_dots_pair::<16, false>(&a, &b);
            for (got, what) in [(fma, "pair, FMA"), (plain, "pair, baseline")] {
                close(&got.0, &w0, what);
                close(&got.1, &w1, what);
            }
            let single = [lag_dots::<16, true>(&a, &b), lag_dots::<16, false>(&a, &b)];
            for got in single {
                close(&got, &w0, "single block");
            }
            if let Some(wide) = lag_dots16(&a, &b[..n + 15]) {
                close(&wide, &w0, "AVX-512 single block");
            }
            if n >= 16 {
                // The main loops alone: a[m + 16] and a[m] for m < n - 16.
                let (m0, m1) = (dot(16..n, 0), dot(0..n - 16, 16));
                let portable = pair_loop::<16, true>(&a, &b);
                close(&portable.0, &m0, "portable loop");
                close(&portable.1, &m1, "portable loop");
                if let Some(wide) = lag_pairs16(&a, &b[..n + 15]) {
                    close(&wide.0, &m0, "AVX-512 loop");
                    close(&wide.1, &m1, "AVX-512 loop");
                }
            }
        }
    }

    /// Both builds of the passes (AVX2 and FMA, baseline) on every kernel:
    /// lags in vectors (dilation 1), per position (dilation 2), planes
    /// (steps), strides (a step past the planes), moved-back windows.
    #[test]
    #[cfg_attr(miri, ignore = "large")]
    fn baseline_and_fma_agree() {
        let img = Array2::from_shape_fn((61, 83), |(i, j)| ((i * 31 + j * 17) % 23) as f64 - 11.0);
        let a = img.view().into_dyn();
        for edge in [Edge::Valid, Edge::Shift] {
            gram_both(a.view(), &[7, 9], &[1, 1], &[1, 1], edge);
            gram_both(a.view(), &[5, 6], &[1, 1], &[2, 3], edge);
            gram_both(a.view(), &[4, 5], &[2, 3], &[1, 1], edge);
            gram_both(a.view(), &[3, 3], &[1, 70], &[1, 1], edge);
            gram_both(a.view(), &[3, 3], &[5, 4], &[2, 1], edge);
            // Lags in paired blocks (39 lags of the last axis: a pair and
            // a lone block), with and without a step.
            gram_both(a.view(), &[4, 20], &[1, 1], &[1, 1], edge);
            gram_both(a.view(), &[3, 33], &[2, 2], &[1, 1], edge);
            let vol = Array3::from_shape_fn((9, 10, 11), |(i, j, k)| {
                ((i * 7 + j * 5 + k * 3) % 13) as f64
            });
            gram_both(
                vol.view().into_dyn(),
                &[3, 4, 2],
                &[1, 2, 1],
                &[1, 1, 2],
                edge,
            );
        }
    }
}

//! `X·W` and `Xᵀ·V` for *all* the windows by FFT cross-correlation, never
//! building `X`.
//!
//! # The correlations
//!
//! Element `a` of the window at origin `o` is the image's element
//! `o + d·a` (per axis; `d` the dilation). Lay a column `w` of `W` out as a
//! filter `h` on the dilated lattice (`h(d·a) = w[a]`, zero elsewhere, over
//! the window's extent `e`): then entry `(r, ·)` of `X·w` is the
//! cross-correlation `c(u) = Σ_v img(u + v) h(v)` at the origin `u` of
//! window `r`. The correlation is computed at every position of the
//! stride-1 lattice of a tile and read at the origins that fall in it, so
//! steps and the moved-back last window of `Edge::Shift` need nothing
//! special (but a step `s` wastes `s` per axis: the cost model leaves large
//! steps to GEMM). `Xᵀ·v` is the adjoint: scatter `v` onto the origins
//! (`z(o(r)) = v[r]`), then entry `a` is `q(d·a)` with
//! `q(v) = Σ_u z(u) img(u + v)`, the correlation of the image with `z`.
//!
//! # Tiles (overlap-save)
//!
//! The positions are cut into tiles of `V = T - e + 1` positions per axis;
//! a tile loads the `T` image elements its correlations read, whose
//! circular correlation of length `T` with a filter of extent `e` is exact
//! on those `V` positions. Per tile: one real-to-complex transform of the
//! image (`realfft` along the last transformed axis, `rustfft` along the
//! others), then per column one pointwise product and one inverse transform
//! (`dot`), or one forward transform of `z`, a product and an inverse
//! (`t_dot`). The filters' spectra are computed once per call (in batches
//! of bounded memory). The transforms are *pruned*: along the outer axes,
//! only the lines that hold a non-zero input (forward) or a wanted output
//! (inverse: the origins, or the window's elements for `t_dot`) go on to
//! the next axis. Axes whose window extent is 1 (batch axes, per-channel
//! windows) are not transformed: each of their positions is its own tile.
//!
//! `dot` runs in bands (the tiles along the first axis of the grid with
//! more than one position, each owning a contiguous block of rows of the
//! result) over the threads, each worker keeping a tile's inverse
//! transforms for a batch of columns so that it writes each row of the
//! result once (writing column by column touched every cache line of the
//! result once per column); `t_dot` runs its tiles over the threads, each
//! worker adding into its own `(patch_len, k)` accumulator. Memory:
//! `O(threads x min(k, batch) x tile + result)` (a batch's spectra are at
//! most 32 MiB), never `X`, never the image's whole spectrum.
//!
//! # Accuracy
//!
//! The image is centred on its mean before the transforms (the mean's part
//! is added back exactly: `μ Σ w` per column of `X·W`, `μ Σ v` per column
//! of `Xᵀ·V`), so that a bright image's large constant does not ride
//! through the transforms. `f64` rows are transformed in `f64`; `f32` rows
//! in `f32` (twice as fast), the results of `t_dot` summed over tiles in
//! `f64`. Measured against the materialized `f64` product
//! (`tests/fft.rs`): within `1e-10` (`f64`) and `1e-5` (`f32`) of the
//! largest entry.

use std::mem::size_of;
use std::sync::{Arc, Mutex};

use ndarray::{Array2, ArrayView, ArrayView1, ArrayViewMut2, Axis, Dim, Dimension, IxDyn, Slice};
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;
use rustfft::num_traits::Zero;
use rustfft::{Fft, FftNum, FftPlanner};

use crate::error::PatchError;
use crate::flatten::{try_filled, try_vec_with_capacity};
use crate::geometry::{axes, Geometry};
use crate::par::par_tasks;
use crate::scalar::{Conversion, Real};

use super::displacement::{dyn_source, image_mean};

/// A tile holds at most this many points (unless the window's extent
/// alone is larger): 2^16 points are 256 KiB of `f32` or 512 KiB of
/// `f64`, with the spectra about an L2 cache. On W6 (768x768, 39x39)
/// tiles of 192x192 ran 1.2x faster than 256x256 and 1.4x faster than
/// 384x384 (one thread, 16 columns).
const TILE_POINTS: usize = 1 << 16;

/// Per-point work of a tile beside the transform's `log2(points)`, in the
/// same unit (loads, products, read-outs): weighs small tiles against
/// their larger overlap when choosing the tile.
const KAPPA: f64 = 4.0;

/// Columns gathered and transformed together along an outer axis.
const BATCH: usize = 16;

/// The filters' spectra held at once by `dot`, in bytes; more filters run
/// in batches (the image's tiles transformed once per batch).
const SPECTRA_BYTES: usize = 32 << 20;

/// The float type of the transforms: `f32` or `f64`.
pub(super) trait Fl: FftNum {
    fn of(x: f64) -> Self;
    fn f64(self) -> f64;
}

impl Fl for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn f64(self) -> f64 {
        f64::from(self)
    }
}

impl Fl for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn f64(self) -> f64 {
        self
    }
}

/// One axis of the image.
#[derive(Clone, Debug)]
struct Ax {
    n: usize,
    p: usize,
    d: usize,
    e: usize,
    s: usize,
    /// Grid positions, and the origin of the last one (moved back under
    /// `Edge::Shift`).
    g: usize,
    last: usize,
    /// Index among the transformed axes (`None`: extent 1, not
    /// transformed, one position per tile).
    f: Option<usize>,
}

impl Ax {
    /// The origin of grid position `i`.
    fn origin(&self, i: usize) -> usize {
        if i + 1 == self.g {
            self.last
        } else {
            i * self.s
        }
    }

    /// Positions at regular origins `i·s` (all but a moved-back last one).
    fn regular(&self) -> usize {
        if self.g > 1 && self.last != (self.g - 1) * self.s {
            self.g - 1
        } else {
            self.g
        }
    }

    /// Tiles of `v` positions along this axis, each starting at an origin:
    /// `(first, end)` grid positions.
    fn tiles(&self, v: usize) -> Result<Vec<(usize, usize)>, PatchError> {
        let reg = self.regular();
        let mut out = try_vec_with_capacity(self.count(v), "the tiles of an axis")?;
        let mut i = 0;
        while i < self.g {
            let end = self.origin(i) + v;
            let mut j = if i < reg {
                ((end - 1) / self.s + 1).min(reg)
            } else {
                i + 1
            };
            if j == reg && reg < self.g && self.last < end {
                j = self.g;
            }
            out.push((i, j));
            i = j;
        }
        Ok(out)
    }

    /// The number of [`tiles`](Self::tiles), without listing them.
    fn count(&self, v: usize) -> usize {
        let reg = self.regular();
        let per = (v - 1) / self.s + 1;
        reg.div_ceil(per) + usize::from(reg < self.g)
    }
}

/// The image's axes (one of length 1 for a 0-D array), the transformed
/// ones marked: those whose window extent exceeds 1, or the last one if
/// there are none.
fn image_axes<D: Dimension>(geom: &Geometry<D>) -> Vec<Ax> {
    let shape = axes(geom.shape());
    if shape.is_empty() {
        return vec![Ax {
            n: 1,
            p: 1,
            d: 1,
            e: 1,
            s: 1,
            g: 1,
            last: 0,
            f: Some(0),
        }];
    }
    let (patch, step, dil, ext, grid) = (
        axes(geom.patch()),
        axes(geom.step()),
        axes(geom.dilation()),
        axes(geom.extent()),
        axes(geom.grid()),
    );
    let mut out: Vec<Ax> = (0..shape.len())
        .map(|k| Ax {
            n: shape[k],
            p: patch[k],
            d: dil[k],
            e: ext[k],
            s: step[k],
            g: grid[k],
            last: geom.axis_origin(k, grid[k] - 1),
            f: None,
        })
        .collect();
    let mut m = 0;
    for ax in out.iter_mut().filter(|ax| ax.e > 1) {
        ax.f = Some(m);
        m += 1;
    }
    if m == 0 {
        let nd = out.len();
        out[nd - 1].f = Some(0);
    }
    out
}

/// Lengths `2^a 3^b 5^c` (fast for `rustfft`) in `lo..=hi`, even ones only
/// if `even`; `hi` is raised to the first such length if none is below it.
fn fast_lengths(lo: usize, hi: usize, even: bool) -> Vec<usize> {
    let mut out = Vec::new();
    let top = hi.max(lo).saturating_mul(5);
    let next = |x: usize, f: usize| x.checked_mul(f).filter(|&y| y <= top);
    let mut a = Some(1usize);
    while let Some(x) = a {
        let mut b = Some(x);
        while let Some(y) = b {
            let mut c = Some(y);
            while let Some(z) = c {
                if z >= lo && (!even || z % 2 == 0) {
                    out.push(z);
                }
                c = next(z, 5);
            }
            b = next(y, 3);
        }
        a = next(x, 2);
    }
    out.sort_unstable();
    // Everything up to hi, and the first length past it.
    let keep = out.partition_point(|&x| x < hi) + 1;
    out.truncate(keep.min(out.len()));
    out
}

/// The predicted relative cost of tiles of `t` (per transformed axis).
fn tiling_cost(axes: &[Ax], t: &[usize]) -> f64 {
    let tiles: f64 = axes
        .iter()
        .map(|ax| match ax.f {
            Some(f) => ax.count(t[f] + 1 - ax.e) as f64,
            None => ax.count(1) as f64,
        })
        .product();
    let points: f64 = t.iter().map(|&x| x as f64).product();
    tiles * points * (points.log2() + KAPPA)
}

/// The tile lengths of the transformed axes: the cheapest by
/// [`tiling_cost`] within [`TILE_POINTS`] (unless the window alone is
/// larger), by coordinate descent from tiles of about
/// `TILE_POINTS^(1/m)` (at least twice the window) on each of the `m`
/// axes: each axis in turn takes its best length given the others', until
/// none changes.
fn choose_tiles(axes: &[Ax]) -> Vec<usize> {
    let fa: Vec<&Ax> = axes.iter().filter(|ax| ax.f.is_some()).collect();
    let m = fa.len();
    let cands: Vec<Vec<usize>> = fa
        .iter()
        .enumerate()
        .map(|(f, ax)| {
            if ax.e == 1 {
                // The axis transformed for a window of extent 1 on every
                // axis: one position per tile.
                vec![1]
            } else {
                // Up to one tile over all the origins: last + e positions.
                fast_lengths(ax.e, ax.last + ax.e, f + 1 == m)
            }
        })
        .collect();
    let side = (TILE_POINTS as f64).powf(1.0 / m as f64) as usize;
    let mut t: Vec<usize> = fa
        .iter()
        .zip(&cands)
        .map(|(ax, c)| {
            let want = side.max(2 * ax.e);
            c[c.partition_point(|&x| x < want).min(c.len() - 1)]
        })
        .collect();
    for _ in 0..8 {
        let mut changed = false;
        for f in 0..m {
            let others: usize = t
                .iter()
                .enumerate()
                .filter(|&(g, _)| g != f)
                .fold(1usize, |a, (_, &x)| a.saturating_mul(x));
            let mut best = (tiling_cost(axes, &t), t[f]);
            for &c in &cands[f] {
                if c > cands[f][0] && others.saturating_mul(c) > TILE_POINTS {
                    break;
                }
                let mut u = t.clone();
                u[f] = c;
                let cost = tiling_cost(axes, &u);
                if cost < best.0 * (1.0 - 1e-9) {
                    best = (cost, c);
                }
            }
            if best.1 != t[f] {
                t[f] = best.1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    t
}

/// How much work an FFT product does (for the cost model): the number of
/// tiles, and the points of one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FftEffort {
    pub tiles: usize,
    pub points: usize,
}

/// The tiling [`dot`] and [`t_dot`] would use on `geom`.
pub(crate) fn effort<D: Dimension>(geom: &Geometry<D>) -> FftEffort {
    let axes = image_axes(geom);
    let t = choose_tiles(&axes);
    let tiles = axes
        .iter()
        .map(|ax| match ax.f {
            Some(f) => ax.count(t[f] + 1 - ax.e),
            None => ax.count(1),
        })
        .fold(1usize, usize::saturating_mul);
    FftEffort {
        tiles,
        points: t.iter().fold(1usize, |a, &x| a.saturating_mul(x)),
    }
}

/// The plan of one call: axes, tiles, buffer layouts and transforms.
struct Plan<G: Fl> {
    axes: Vec<Ax>,
    /// Per image axis: its tiles, `(first, end)` grid positions.
    tiles: Vec<Vec<(usize, usize)>>,
    /// Per transformed axis: the tile length, the strides of the real
    /// buffer and of the spectrum, the spectrum's lengths (the last one
    /// halved by the real transform).
    t: Vec<usize>,
    rstr: Vec<usize>,
    cstr: Vec<usize>,
    cdims: Vec<usize>,
    real_len: usize,
    spec_len: usize,
    /// Per image axis: its stride in the real buffer (0 if not
    /// transformed), and its stride over the rows.
    bstr: Vec<usize>,
    gstr: Vec<usize>,
    /// The first axis of the grid with more than one position: `dot`'s
    /// bands.
    band: usize,
    r2c: Arc<dyn RealToComplex<G>>,
    c2r: Arc<dyn ComplexToReal<G>>,
    fwd: Vec<Arc<dyn Fft<G>>>,
    inv: Vec<Arc<dyn Fft<G>>>,
    scratch_len: usize,
    lines_len: usize,
}

fn overflow() -> PatchError {
    PatchError::Overflow {
        quantity: "size of an FFT tile",
    }
}

impl<G: Fl> Plan<G> {
    fn new<D: Dimension>(geom: &Geometry<D>) -> Result<Self, PatchError> {
        let axes = image_axes(geom);
        let t = choose_tiles(&axes);
        let m = t.len();
        let tiles = axes
            .iter()
            .map(|ax| match ax.f {
                Some(f) => ax.tiles(t[f] + 1 - ax.e),
                None => ax.tiles(1),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut cdims = t.clone();
        cdims[m - 1] = t[m - 1] / 2 + 1;
        let strides = |dims: &[usize]| -> Result<(Vec<usize>, usize), PatchError> {
            let mut s = vec![0; dims.len()];
            let mut acc = 1usize;
            for k in (0..dims.len()).rev() {
                s[k] = acc;
                acc = acc.checked_mul(dims[k]).ok_or_else(overflow)?;
            }
            Ok((s, acc))
        };
        let (rstr, real_len) = strides(&t)?;
        let (cstr, spec_len) = strides(&cdims)?;
        let bstr = axes.iter().map(|ax| ax.f.map_or(0, |f| rstr[f])).collect();
        let mut gstr = vec![1; axes.len()];
        for k in (0..axes.len().saturating_sub(1)).rev() {
            gstr[k] = gstr[k + 1] * axes[k + 1].g;
        }
        let band = axes.iter().position(|ax| ax.g > 1).unwrap_or(0);
        let mut real = RealFftPlanner::<G>::new();
        let r2c = real.plan_fft_forward(t[m - 1]);
        let c2r = real.plan_fft_inverse(t[m - 1]);
        let mut planner = FftPlanner::<G>::new();
        let fwd: Vec<_> = t[..m - 1]
            .iter()
            .map(|&x| planner.plan_fft_forward(x))
            .collect();
        let inv: Vec<_> = t[..m - 1]
            .iter()
            .map(|&x| planner.plan_fft_inverse(x))
            .collect();
        let scratch_len = fwd
            .iter()
            .chain(&inv)
            .map(|f| f.get_inplace_scratch_len())
            .chain([r2c.get_scratch_len(), c2r.get_scratch_len()])
            .max()
            .unwrap_or(0);
        let lines_len = (BATCH * t[..m - 1].iter().copied().max().unwrap_or(0)).max(cdims[m - 1]);
        Ok(Plan {
            axes,
            tiles,
            t,
            rstr,
            cstr,
            cdims,
            real_len,
            spec_len,
            bstr,
            gstr,
            band,
            r2c,
            c2r,
            fwd,
            inv,
            scratch_len,
            lines_len,
        })
    }

    /// Per transformed axis, the positions `d·a` of the window's elements;
    /// and the offset in the real buffer of each element of the window
    /// (C order).
    fn window(&self) -> (Vec<Vec<usize>>, Vec<usize>) {
        let mut pos = vec![Vec::new(); self.t.len()];
        for ax in &self.axes {
            if let Some(f) = ax.f {
                pos[f] = (0..ax.p).map(|a| a * ax.d).collect();
            }
        }
        let lists: Vec<Vec<usize>> = self
            .axes
            .iter()
            .map(|ax| (0..ax.p).map(|a| a * ax.d).collect())
            .collect();
        let mut offs = Vec::new();
        combos(&lists, &self.bstr, &mut offs, &mut Vec::new());
        (pos, offs)
    }

    /// Tile number `t` (C order over the axes' tiles) as a tile index per
    /// axis.
    fn tile_index(&self, mut t: usize, out: &mut [usize]) {
        for k in (0..self.axes.len()).rev() {
            let c = self.tiles[k].len();
            out[k] = t % c;
            t /= c;
        }
    }

    fn n_tiles(&self) -> usize {
        self.tiles.iter().map(Vec::len).product()
    }
}

/// Offsets of every combination of one position per list (C order), each
/// list's positions times its stride; `tmp` is scratch.
fn combos(lists: &[Vec<usize>], strides: &[usize], out: &mut Vec<usize>, tmp: &mut Vec<usize>) {
    out.clear();
    out.push(0);
    for (list, &s) in lists.iter().zip(strides) {
        std::mem::swap(out, tmp);
        out.clear();
        for &o in tmp.iter() {
            out.extend(list.iter().map(|&x| o + x * s));
        }
    }
}

/// A worker's buffers.
struct Ws<G: Fl> {
    real: Vec<G>,
    /// `dot`: the inverse transforms of a batch of columns, one real
    /// buffer each, so that every row of the result is written at once.
    outs: Vec<G>,
    spec: Vec<Complex<G>>,
    work: Vec<Complex<G>>,
    scratch: Vec<Complex<G>>,
    lines: Vec<Complex<G>>,
    a: Vec<usize>,
    b: Vec<usize>,
    tmp: Vec<usize>,
    /// Per transformed axis: loaded positions, origins' offsets.
    loaded: Vec<Vec<usize>>,
    need: Vec<Vec<usize>>,
    /// Per image axis: the tile's grid positions and origins' offsets.
    grid: Vec<Vec<usize>>,
    offs: Vec<Vec<usize>>,
    /// The tile's rows and their offsets in the real buffer.
    rows: Vec<usize>,
    at: Vec<usize>,
    ti: Vec<usize>,
}

fn buffer<T: Clone>(n: usize, v: T, what: &'static str) -> Result<Vec<T>, PatchError> {
    let mut b = try_vec_with_capacity(n, what)?;
    b.resize(n, v);
    Ok(b)
}

impl<G: Fl> Ws<G> {
    fn new(plan: &Plan<G>) -> Result<Self, PatchError> {
        let what = "an FFT tile";
        let z = Complex::<G>::zero();
        let (m, nd) = (plan.t.len(), plan.axes.len());
        Ok(Ws {
            real: buffer(plan.real_len, G::zero(), what)?,
            outs: Vec::new(),
            spec: buffer(plan.spec_len, z, what)?,
            work: buffer(plan.spec_len, z, what)?,
            scratch: buffer(plan.scratch_len, z, what)?,
            lines: buffer(plan.lines_len, z, what)?,
            a: Vec::new(),
            b: Vec::new(),
            tmp: Vec::new(),
            loaded: vec![Vec::new(); m],
            need: vec![Vec::new(); m],
            grid: vec![Vec::new(); nd],
            offs: vec![Vec::new(); nd],
            rows: Vec::new(),
            at: Vec::new(),
            ti: vec![0; nd],
        })
    }
}

/// Transforms the `t`-long columns of `data` (`t` rows of `inner`
/// elements) in place, [`BATCH`] columns at a time.
fn columns<G: Fl>(
    data: &mut [Complex<G>],
    t: usize,
    inner: usize,
    fft: &dyn Fft<G>,
    lines: &mut [Complex<G>],
    scratch: &mut [Complex<G>],
) {
    let sl = fft.get_inplace_scratch_len();
    let mut c0 = 0;
    while c0 < inner {
        let nb = BATCH.min(inner - c0);
        for i in 0..t {
            let row = &data[i * inner + c0..i * inner + c0 + nb];
            for (c, v) in row.iter().enumerate() {
                lines[c * t + i] = *v;
            }
        }
        fft.process_with_scratch(&mut lines[..nb * t], &mut scratch[..sl]);
        for i in 0..t {
            let row = &mut data[i * inner + c0..i * inner + c0 + nb];
            for (c, v) in row.iter_mut().enumerate() {
                *v = lines[c * t + i];
            }
        }
        c0 += nb;
    }
}

/// The spectrum of `real` (destroyed) into `spec`; `nz[k]`: the positions
/// along transformed axis `k` where `real` may be non-zero (the last axis'
/// list is not read).
fn forward<G: Fl>(
    p: &Plan<G>,
    real: &mut [G],
    spec: &mut [Complex<G>],
    nz: &[Vec<usize>],
    w: &mut Bufs<'_, G>,
) {
    let m = p.t.len();
    let (tr, cr) = (p.t[m - 1], p.cdims[m - 1]);
    spec.fill(Complex::zero());
    if m == 2 {
        // Two axes: the spectrum is stored transposed (`[cr][t0]`), so
        // that the first axis' transforms run on contiguous memory.
        let t0 = p.t[0];
        let sl = p.r2c.get_scratch_len();
        for &i in &nz[0] {
            let line = &mut w.lines[..cr];
            let r = p.r2c.process_with_scratch(
                &mut real[i * tr..(i + 1) * tr],
                line,
                &mut w.scratch[..sl],
            );
            debug_assert!(r.is_ok());
            for (c, v) in line.iter().enumerate() {
                spec[c * t0 + i] = *v;
            }
        }
        let sl = p.fwd[0].get_inplace_scratch_len();
        p.fwd[0].process_with_scratch(spec, &mut w.scratch[..sl]);
        return;
    }
    combos(&nz[..m - 1], &p.rstr[..m - 1], w.a, w.tmp);
    combos(&nz[..m - 1], &p.cstr[..m - 1], w.b, w.tmp);
    let sl = p.r2c.get_scratch_len();
    for (&or, &oc) in w.a.iter().zip(w.b.iter()) {
        let r = p.r2c.process_with_scratch(
            &mut real[or..or + tr],
            &mut spec[oc..oc + cr],
            &mut w.scratch[..sl],
        );
        debug_assert!(r.is_ok());
    }
    for k in (0..m - 1).rev() {
        combos(&nz[..k], &p.cstr[..k], w.a, w.tmp);
        let len = p.t[k] * p.cstr[k];
        for &o in w.a.iter() {
            columns(
                &mut spec[o..o + len],
                p.t[k],
                p.cstr[k],
                &*p.fwd[k],
                w.lines,
                w.scratch,
            );
        }
    }
}

/// The inverse of `spec` (destroyed) into `real`, where wanted: `need[k]`
/// are the positions along transformed axis `k` that are read afterwards.
fn inverse<G: Fl>(
    p: &Plan<G>,
    spec: &mut [Complex<G>],
    real: &mut [G],
    need: &[Vec<usize>],
    w: &mut Bufs<'_, G>,
) {
    let m = p.t.len();
    let (tr, cr) = (p.t[m - 1], p.cdims[m - 1]);
    if m == 2 {
        // The transposed layout of `forward`.
        let t0 = p.t[0];
        let sl = p.inv[0].get_inplace_scratch_len();
        p.inv[0].process_with_scratch(spec, &mut w.scratch[..sl]);
        let sl = p.c2r.get_scratch_len();
        for &i in &need[0] {
            let line = &mut w.lines[..cr];
            for (c, v) in line.iter_mut().enumerate() {
                *v = spec[c * t0 + i];
            }
            line[0].im = G::zero();
            if tr % 2 == 0 {
                line[cr - 1].im = G::zero();
            }
            let r = p.c2r.process_with_scratch(
                line,
                &mut real[i * tr..(i + 1) * tr],
                &mut w.scratch[..sl],
            );
            debug_assert!(r.is_ok());
        }
        return;
    }
    for k in 0..m - 1 {
        combos(&need[..k], &p.cstr[..k], w.a, w.tmp);
        let len = p.t[k] * p.cstr[k];
        for &o in w.a.iter() {
            columns(
                &mut spec[o..o + len],
                p.t[k],
                p.cstr[k],
                &*p.inv[k],
                w.lines,
                w.scratch,
            );
        }
    }
    combos(&need[..m - 1], &p.rstr[..m - 1], w.a, w.tmp);
    combos(&need[..m - 1], &p.cstr[..m - 1], w.b, w.tmp);
    let sl = p.c2r.get_scratch_len();
    for (&or, &oc) in w.a.iter().zip(w.b.iter()) {
        let line = &mut spec[oc..oc + cr];
        // A real signal's spectrum: the first (and, for an even length,
        // the last) entry are real; rounding may have left a residue.
        line[0].im = G::zero();
        if tr % 2 == 0 {
            line[cr - 1].im = G::zero();
        }
        let r = p
            .c2r
            .process_with_scratch(line, &mut real[or..or + tr], &mut w.scratch[..sl]);
        debug_assert!(r.is_ok());
    }
}

/// The scratch buffers of [`forward`] and [`inverse`], borrowed from a
/// [`Ws`] beside its data buffers.
struct Bufs<'w, G> {
    scratch: &'w mut [Complex<G>],
    lines: &'w mut [Complex<G>],
    a: &'w mut Vec<usize>,
    b: &'w mut Vec<usize>,
    tmp: &'w mut Vec<usize>,
}

macro_rules! bufs {
    ($ws:expr) => {
        Bufs {
            scratch: &mut $ws.scratch,
            lines: &mut $ws.lines,
            a: &mut $ws.a,
            b: &mut $ws.b,
            tmp: &mut $ws.tmp,
        }
    };
}

/// Loads tile `ws.ti` of the converted, centred image into `ws.real`
/// (zero past the image), and lists per transformed axis the loaded
/// positions (`ws.loaded`), the origins' offsets (`ws.need`), and per
/// image axis the tile's grid positions and origins' offsets; then the
/// tile's rows (`ws.rows`) and their offsets in the real buffer
/// (`ws.at`).
fn load<A, C, F, G>(
    p: &Plan<G>,
    src: &ArrayView<'_, A, IxDyn>,
    conv: &C,
    centre: f64,
    ws: &mut Ws<G>,
) where
    A: Copy,
    C: Conversion<A, Output = F>,
    F: Real,
    G: Fl,
{
    ws.real.fill(G::zero());
    let nd = p.axes.len();
    let mut lo = vec![0; nd];
    let mut hi = vec![0; nd];
    for (k, ax) in p.axes.iter().enumerate() {
        let (i0, i1) = p.tiles[k][ws.ti[k]];
        let start = ax.origin(i0);
        ws.grid[k].clear();
        ws.grid[k].extend(i0..i1);
        ws.offs[k].clear();
        ws.offs[k].extend((i0..i1).map(|i| ax.origin(i) - start));
        lo[k] = start;
        hi[k] = match ax.f {
            Some(f) => {
                let end = (start + p.t[f]).min(ax.n);
                ws.loaded[f].clear();
                ws.loaded[f].extend(0..end - start);
                ws.need[f].clone_from(&ws.offs[k]);
                end
            }
            None => start + 1,
        };
    }
    combos(&ws.grid, &p.gstr, &mut ws.rows, &mut ws.tmp);
    combos(&ws.offs, &p.bstr, &mut ws.at, &mut ws.tmp);
    // A 0-D source is one axis of length 1 (`dyn_source`).
    let view = src.slice_each_axis(|d| {
        let k = d.axis.index();
        Slice::from(lo[k]..hi[k])
    });
    let shape = view.shape().to_vec();
    let last = nd - 1;
    for (li, lane) in view.lanes(Axis(last)).into_iter().enumerate() {
        let mut rest = li;
        let mut off = 0;
        for k in (0..last).rev() {
            off += (rest % shape[k]) * p.bstr[k];
            rest /= shape[k];
        }
        for (i, &a) in lane.iter().enumerate() {
            ws.real[off + i * p.bstr[last]] = G::of(conv.convert(a).to_f64() - centre);
        }
    }
}

/// `X·W` (`k` columns, column `j` given by `col(j)`) for all the windows
/// of `geom` over `source`, each element converted by `conv`.
///
/// # Errors
///
/// [`PatchError::Overflow`] or [`PatchError::OutOfMemory`] if the result
/// or the buffers cannot be held.
pub(crate) fn dot<'w, A, D, C, F, W>(
    source: &ArrayView<'_, A, D>,
    conv: &C,
    geom: &Geometry<D>,
    k: usize,
    col: W,
) -> Result<Array2<F>, PatchError>
where
    A: Copy + Send + Sync,
    D: Dimension,
    C: Conversion<A, Output = F>,
    F: Real,
    W: Fn(usize) -> ArrayView1<'w, F> + Sync,
{
    if size_of::<F>() == 4 {
        dot_in::<f32, _, _, _, _, _>(source, conv, geom, k, col)
    } else {
        dot_in::<f64, _, _, _, _, _>(source, conv, geom, k, col)
    }
}

fn dot_in<'w, G, A, D, C, F, W>(
    source: &ArrayView<'_, A, D>,
    conv: &C,
    geom: &Geometry<D>,
    k: usize,
    col: W,
) -> Result<Array2<F>, PatchError>
where
    G: Fl,
    A: Copy + Send + Sync,
    D: Dimension,
    C: Conversion<A, Output = F>,
    F: Real,
    W: Fn(usize) -> ArrayView1<'w, F> + Sync,
{
    let n = geom.len();
    let mut y = try_filled(Dim([n, k]), F::zero(), "the result X·W")?;
    if k == 0 {
        return Ok(y);
    }
    let plan = Plan::<G>::new(geom)?;
    let src = dyn_source(source);
    let centre = image_mean(&src, conv);
    let (pos, elems) = plan.window();
    let per = plan.spec_len.saturating_mul(size_of::<Complex<G>>()).max(1);
    let batch = (SPECTRA_BYTES / per).clamp(1, k);
    let b = plan.band;
    let mut j0 = 0;
    while j0 < k {
        let j1 = (j0 + batch).min(k);
        let (spectra, sums) = filter_spectra(&plan, &pos, &elems, j0..j1, &col)?;
        let mut parts = Vec::with_capacity(plan.tiles[b].len());
        let mut rest = y.view_mut();
        for &(i0, i1) in &plan.tiles[b] {
            let (part, r) = rest.split_at(Axis(0), (i1 - i0) * plan.gstr[b]);
            parts.push(Mutex::new((i0 * plan.gstr[b], part)));
            rest = r;
        }
        par_tasks(
            parts.len(),
            || Ws::new(&plan),
            |ws, t| {
                let mut guard = parts[t].lock().unwrap_or_else(|e| e.into_inner());
                let (row0, part) = &mut *guard;
                dot_band(
                    &plan, &src, conv, centre, t, &spectra, &sums, j0, *row0, part, ws,
                )
            },
            |a, _| a,
        )?;
        j0 = j1;
    }
    Ok(y)
}

/// The conjugate spectra of columns `js` laid out as filters, divided by
/// the tile's points (the inverse transform's scale), and each column's
/// sum.
#[allow(clippy::type_complexity)]
fn filter_spectra<'w, G: Fl, F: Real, W>(
    plan: &Plan<G>,
    pos: &[Vec<usize>],
    elems: &[usize],
    js: std::ops::Range<usize>,
    col: &W,
) -> Result<(Vec<Vec<Complex<G>>>, Vec<f64>), PatchError>
where
    W: Fn(usize) -> ArrayView1<'w, F> + Sync,
{
    let j0 = js.start;
    let count = js.len();
    let scale = G::of(1.0 / plan.real_len as f64);
    let done = par_tasks(
        count,
        || -> Result<_, PatchError> { Ok((Ws::new(plan)?, Vec::new())) },
        |(ws, out): &mut (Ws<G>, Vec<(usize, Vec<Complex<G>>)>), i| {
            let w = col(j0 + i);
            ws.real.fill(G::zero());
            for (&at, &x) in elems.iter().zip(w.iter()) {
                ws.real[at] = G::of(x.to_f64());
            }
            let mut spec = buffer(plan.spec_len, Complex::zero(), "the filters' spectra")?;
            forward(plan, &mut ws.real, &mut spec, pos, &mut bufs!(ws));
            for z in &mut spec {
                *z = z.conj() * scale;
            }
            out.push((i, spec));
            Ok(())
        },
        |mut a, b| {
            a.1.extend(b.1);
            a
        },
    )?;
    let mut spectra = done.1;
    spectra.sort_unstable_by_key(|s| s.0);
    let sums = js
        .map(|j| col(j).iter().map(|x| x.to_f64()).sum())
        .collect();
    Ok((spectra.into_iter().map(|s| s.1).collect(), sums))
}

/// `dot` on band `band` (tile `band` along the band axis, every tile of
/// the others): columns `j0..` of its rows, which start at `row0`.
#[allow(clippy::too_many_arguments)]
fn dot_band<A, C, F, G>(
    p: &Plan<G>,
    src: &ArrayView<'_, A, IxDyn>,
    conv: &C,
    centre: f64,
    band: usize,
    spectra: &[Vec<Complex<G>>],
    sums: &[f64],
    j0: usize,
    row0: usize,
    part: &mut ArrayViewMut2<'_, F>,
    ws: &mut Ws<G>,
) -> Result<(), PatchError>
where
    A: Copy,
    C: Conversion<A, Output = F>,
    F: Real,
    G: Fl,
{
    let nd = p.axes.len();
    let want = spectra.len() * p.real_len;
    if ws.outs.len() < want {
        ws.outs.clear();
        ws.outs
            .try_reserve_exact(want)
            .map_err(|_| PatchError::OutOfMemory {
                bytes: want.saturating_mul(size_of::<G>()),
                what: "the inverse transforms of a batch of columns",
            })?;
        ws.outs.resize(want, G::zero());
    }
    // Tiles of the other axes, C order.
    let counts: Vec<usize> = (0..nd)
        .map(|k| if k == p.band { 1 } else { p.tiles[k].len() })
        .collect();
    let total: usize = counts.iter().product();
    for t in 0..total {
        let mut rest = t;
        for k in (0..nd).rev() {
            ws.ti[k] = rest % counts[k];
            rest /= counts[k];
        }
        ws.ti[p.band] = band;
        load(p, src, conv, centre, ws);
        let loaded = std::mem::take(&mut ws.loaded);
        forward(p, &mut ws.real, &mut ws.spec, &loaded, &mut bufs!(ws));
        ws.loaded = loaded;
        let len = p.real_len;
        for (j, h) in spectra.iter().enumerate() {
            for ((w, x), h) in ws.work.iter_mut().zip(&ws.spec).zip(h) {
                *w = *x * *h;
            }
            let need = std::mem::take(&mut ws.need);
            let out = &mut ws.outs[j * len..(j + 1) * len];
            inverse(p, &mut ws.work, out, &need, &mut bufs!(ws));
            ws.need = need;
        }
        // Each row of the result at once (its columns are adjacent).
        let cols = part.ncols();
        let value =
            |j: usize, at: usize| F::from_f64(ws.outs[j * len + at].f64() + centre * sums[j]);
        match part.as_slice_mut() {
            Some(out) => {
                for (&row, &at) in ws.rows.iter().zip(&ws.at) {
                    let start = (row - row0) * cols + j0;
                    for (j, o) in out[start..start + sums.len()].iter_mut().enumerate() {
                        *o = value(j, at);
                    }
                }
            }
            None => {
                for (&row, &at) in ws.rows.iter().zip(&ws.at) {
                    for j in 0..sums.len() {
                        part[[row - row0, j0 + j]] = value(j, at);
                    }
                }
            }
        }
    }
    Ok(())
}

/// `Xᵀ·V` (`k` columns, column `j` given by `col(j)`, one value per
/// window) for all the windows of `geom` over `source`, each element
/// converted by `conv`: `(patch_len, k)`, in `f64`.
///
/// # Errors
///
/// [`PatchError::Overflow`] or [`PatchError::OutOfMemory`] if the
/// accumulators or the buffers cannot be held.
pub(crate) fn t_dot<'w, A, D, C, F, W>(
    source: &ArrayView<'_, A, D>,
    conv: &C,
    geom: &Geometry<D>,
    k: usize,
    col: W,
) -> Result<Array2<f64>, PatchError>
where
    A: Copy + Send + Sync,
    D: Dimension,
    C: Conversion<A, Output = F>,
    F: Real,
    W: Fn(usize) -> ArrayView1<'w, F> + Sync,
{
    if size_of::<F>() == 4 {
        t_dot_in::<f32, _, _, _, _, _>(source, conv, geom, k, col)
    } else {
        t_dot_in::<f64, _, _, _, _, _>(source, conv, geom, k, col)
    }
}

fn t_dot_in<'w, G, A, D, C, F, W>(
    source: &ArrayView<'_, A, D>,
    conv: &C,
    geom: &Geometry<D>,
    k: usize,
    col: W,
) -> Result<Array2<f64>, PatchError>
where
    G: Fl,
    A: Copy + Send + Sync,
    D: Dimension,
    C: Conversion<A, Output = F>,
    F: Real,
    W: Fn(usize) -> ArrayView1<'w, F> + Sync,
{
    let pl = geom.patch_len();
    let shape = Dim([pl, k]);
    let what = "the per-thread accumulators";
    if k == 0 {
        return try_filled(shape, 0.0, what);
    }
    let plan = Plan::<G>::new(geom)?;
    let src = dyn_source(source);
    let centre = image_mean(&src, conv);
    let (pos, elems) = plan.window();
    let scale = 1.0 / plan.real_len as f64;
    let (mut acc, _) = par_tasks(
        plan.n_tiles(),
        || -> Result<_, PatchError> { Ok((try_filled(shape, 0.0, what)?, Ws::new(&plan)?)) },
        |(acc, ws): &mut (Array2<f64>, Ws<G>), t| {
            plan.tile_index(t, &mut ws.ti);
            load(&plan, &src, conv, centre, ws);
            let loaded = std::mem::take(&mut ws.loaded);
            forward(&plan, &mut ws.real, &mut ws.spec, &loaded, &mut bufs!(ws));
            ws.loaded = loaded;
            let need = std::mem::take(&mut ws.need);
            for j in 0..k {
                let v = col(j);
                ws.real.fill(G::zero());
                for (&row, &at) in ws.rows.iter().zip(&ws.at) {
                    ws.real[at] = G::of(v[row].to_f64());
                }
                forward(&plan, &mut ws.real, &mut ws.work, &need, &mut bufs!(ws));
                for (z, x) in ws.work.iter_mut().zip(&ws.spec) {
                    *z = z.conj() * *x;
                }
                inverse(&plan, &mut ws.work, &mut ws.real, &pos, &mut bufs!(ws));
                for (a, &at) in acc.column_mut(j).iter_mut().zip(&elems) {
                    *a += ws.real[at].f64() * scale;
                }
            }
            ws.need = need;
            Ok(())
        },
        |mut a, b| {
            a.0 += &b.0;
            a
        },
    )?;
    for j in 0..k {
        let sum: f64 = col(j).iter().map(|x| x.to_f64()).sum();
        acc.column_mut(j).mapv_inplace(|x| x + centre * sum);
    }
    Ok(acc)
}

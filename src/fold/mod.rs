//! Reconstruction: patch rows (or one prediction per patch) back onto the
//! image, for any window and edge policy.
//!
//! A [`Fold`] accumulates rows chunk by chunk (so it works with the
//! streaming visitors, in any order) into an `f64` accumulator per element
//! of the padded array, and [`finish`](Fold::finish)es with a
//! [`Reduction`], cropping the padding of the edge policy away. The sum and
//! the mean share one accumulator (the default); the maximum, the minimum
//! and the last window need their own, chosen with
//! [`Fold::reducing`] before rows are added. [`Fold::par_add_rows`] and
//! [`Fold::par_add_patches`] accumulate on every core: each thread owns a
//! band of the image and adds the rows that touch it in row order, so the
//! result is bit-identical to adding the same rows on one thread.

use std::fmt;
use std::ops::Range;

use ndarray::{
    Array, Array1, ArrayRef1, ArrayRef2, ArrayView, ArrayView1, ArrayView2, ArrayViewMut,
    AxisDescription, Dimension, IntoDimension, Slice, Zip,
};
use ndarray::{Axis, RemoveAxis};
use rayon::prelude::*;

use crate::error::{unwrap_or_panic, PatchError};
use crate::flatten::try_filled;
use crate::geometry::{axes, ones_like, Edge, Geometry, Window};
use crate::rows::Rows;
use crate::scalar::{Conversion, Real};

/// How a [`Fold`] combines the contributions to each element.
///
/// `Sum` and `Mean` share one accumulator, the default of
/// [`Fold::new`]: a fold finishes with either (or, cloned, both). `Max`,
/// `Min` and `Last` each need their own, chosen with
/// [`Fold::reducing`] before rows are added, and finish only with the
/// reduction chosen. Window weights ([`Fold::weighted`]) apply to `Sum` and
/// `Mean` only.
///
/// # Examples
///
/// ```
/// use ndarray::{array, Array1};
/// use ndarray_patches::{Edge, Fold, Reduction, Window};
///
/// let rows = array![[1.0, 1.0], [2.0, 2.0]];       // two patches of 2 on 3 elements
/// let mut f = Fold::new(3, &Window::new(2), Edge::Valid);
/// f.add_rows(0, &rows);
/// let sum = f.clone().finish::<f64>(Reduction::Sum).image;
/// let mean = f.finish::<f64>(Reduction::Mean).image;
/// assert_eq!((sum.to_vec(), mean.to_vec()), (vec![1.0, 3.0, 2.0], vec![1.0, 1.5, 2.0]));
///
/// // The largest contribution, and the later window's: chosen first.
/// let mut max = Fold::new(3, &Window::new(2), Edge::Valid).reducing(Reduction::Max);
/// max.add_rows(0, &array![[1.0, 5.0], [2.0, 2.0]]);
/// assert_eq!(max.finish::<f64>(Reduction::Max).image.to_vec(), vec![1.0, 5.0, 2.0]);
/// let mut last = Fold::new(3, &Window::new(2), Edge::Valid).reducing(Reduction::Last);
/// last.add_rows(1, &array![[2.0, 2.0]]);            // row 1 first: the order of calls
/// last.add_rows(0, &array![[1.0, 5.0]]);            // does not matter, row 1 wins
/// assert_eq!(last.finish::<f64>(Reduction::Last).image.to_vec(), vec![1.0, 2.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reduction {
    /// The weighted sum of the contributions (torch's `fold`).
    Sum,
    /// The weighted mean of the contributions: overlaps averaged
    /// (scikit-learn's `reconstruct_from_patches_2d`), or blended by the
    /// window weights.
    Mean,
    /// The largest contribution (a NaN counts only where every
    /// contribution is NaN). Chosen with [`Fold::reducing`].
    Max,
    /// The smallest contribution (a NaN counts only where every
    /// contribution is NaN). Chosen with [`Fold::reducing`].
    Min,
    /// The contribution of the covering window with the highest row index
    /// (later windows overwrite earlier ones, whatever the order in which
    /// rows were added; a row added twice keeps its later call's values).
    /// Chosen with [`Fold::reducing`].
    Last,
}

impl Reduction {
    fn name(self) -> &'static str {
        match self {
            Reduction::Sum => "Sum",
            Reduction::Mean => "Mean",
            Reduction::Max => "Max",
            Reduction::Min => "Min",
            Reduction::Last => "Last",
        }
    }
}

/// Weights over the elements of a patch, for smooth stitching with
/// [`Reduction::Mean`]: contributions near a patch's border count less.
///
/// # Examples
///
/// ```
/// use ndarray_patches::{Edge, Fold, Window, WindowWeights};
///
/// let f = Fold::new((16, 16), &Window::new((8, 8)).step((4, 4)), Edge::Valid)
///     .weighted(WindowWeights::Hann);
/// # let _ = f;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum WindowWeights<D: Dimension> {
    /// The product over axes of `sin²(π (j + 1) / (size + 1))`: a Hann
    /// window without its zero end points, so every element of a patch
    /// still counts a little.
    Hann,
    /// The product over axes of `exp(-(j - c)² / (2 σ²))` with `c` the
    /// patch's middle and `σ` in elements.
    Gaussian(f64),
    /// One weight per patch element (the patch's shape), each `>= 0`.
    Custom(Array<f64, D>),
}

/// Where [`Fold::place`] puts a patch's value.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use ndarray_patches::{Anchor, Edge, Fold, Window};
///
/// let f = Fold::new(5, &Window::new(3), Edge::Valid);
/// let at = |a| f.place(&array![1.0, 2.0, 3.0], a).image.to_vec();
/// assert_eq!(at(Anchor::Origin), vec![1.0, 2.0, 3.0, 0.0, 0.0]);
/// assert_eq!(at(Anchor::Centre), vec![0.0, 1.0, 2.0, 3.0, 0.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Anchor {
    /// The patch's first element.
    Origin,
    /// The element `(extent - 1) / 2` past the origin on each axis: the
    /// element an [`Edge::Same`] window is centred on.
    Centre,
}

/// The result of a [`Fold`]: the image, and which elements no patch
/// covered (those are 0).
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use ndarray_patches::{Edge, Fold, Reduction, Window};
///
/// let mut f = Fold::new(5, &Window::new(2).step(3), Edge::Valid);  // covers 0,1,3,4
/// f.add_rows(0, &array![[1.0f32, 1.0], [1.0, 1.0]]);
/// let out = f.finish::<f32>(Reduction::Mean);
/// assert_eq!(out.uncovered, 1);
/// assert_eq!(out.covered.to_vec(), vec![true, true, false, true, true]);
/// ```
#[derive(Clone, Debug)]
pub struct Folded<F, D: Dimension> {
    /// The reconstructed image, of the source's shape.
    pub image: Array<F, D>,
    /// Whether each element was covered by at least one patch (with a
    /// positive weight).
    pub covered: Array<bool, D>,
    /// The number of elements not covered.
    pub uncovered: usize,
}

/// One vector per window placed back on the image by
/// [`Fold::place_vectors`]: one map per vector component.
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::{Anchor, Edge, Fold, Window};
///
/// let f = Fold::new(5, &Window::new(3), Edge::Valid);
/// let c = f.place_vectors(&Array2::<f32>::ones((3, 4)), Anchor::Origin);
/// assert_eq!(c.maps.shape(), &[5, 4]);
/// assert_eq!(c.covered.to_vec(), vec![true, true, true, false, false]);
/// ```
#[derive(Clone, Debug)]
pub struct Channels<F, D: Dimension> {
    /// The source's shape plus a last axis with one map per component.
    pub maps: Array<F, D::Larger>,
    /// Whether an anchor landed on each element (others are 0 in `maps`).
    pub covered: Array<bool, D>,
}

/// The per-element state of a [`Fold`], over the padded array.
#[derive(Clone)]
enum Acc<D: Dimension> {
    /// `Sum` and `Mean`: the weighted sum and the total weight.
    Add {
        sum: Array<f64, D>,
        weight: Array<f64, D>,
    },
    /// `Max` (`max`) or `Min`: the running extreme (NaN until a number
    /// arrives) and whether any contribution arrived.
    Extreme {
        max: bool,
        value: Array<f64, D>,
        seen: Array<bool, D>,
    },
    /// `Last`: the latest writer's value and its row plus one (0: none).
    Last {
        value: Array<f64, D>,
        writer: Array<usize, D>,
    },
}

impl<D: Dimension> Acc<D> {
    /// A fresh accumulator of `shape` for `reduction`.
    fn try_new(reduction: Reduction, shape: &D) -> Result<Self, PatchError> {
        let f64s = |x, what| try_filled(shape.clone(), x, what);
        Ok(match reduction {
            Reduction::Sum | Reduction::Mean => Acc::Add {
                sum: f64s(0.0, "the fold's sums")?,
                weight: f64s(0.0, "the fold's weights")?,
            },
            Reduction::Max | Reduction::Min => Acc::Extreme {
                max: reduction == Reduction::Max,
                value: f64s(f64::NAN, "the fold's extremes")?,
                seen: try_filled(shape.clone(), false, "the fold's coverage")?,
            },
            Reduction::Last => Acc::Last {
                value: f64s(0.0, "the fold's values")?,
                writer: try_filled(shape.clone(), 0, "the fold's writers")?,
            },
        })
    }

    /// What the accumulator can finish with, for messages.
    fn name(&self) -> &'static str {
        match self {
            Acc::Add { .. } => "Sum and Mean",
            Acc::Extreme { max: true, .. } => "Max",
            Acc::Extreme { max: false, .. } => "Min",
            Acc::Last { .. } => "Last",
        }
    }

    /// `true` if it can finish with `reduction`.
    fn gives(&self, reduction: Reduction) -> bool {
        matches!(
            (self, reduction),
            (Acc::Add { .. }, Reduction::Sum | Reduction::Mean)
                | (Acc::Extreme { max: true, .. }, Reduction::Max)
                | (Acc::Extreme { max: false, .. }, Reduction::Min)
                | (Acc::Last { .. }, Reduction::Last)
        )
    }

    fn view_mut(&mut self) -> AccMut<'_, D> {
        match self {
            Acc::Add { sum, weight } => AccMut::Add(sum.view_mut(), weight.view_mut()),
            Acc::Extreme { max, value, seen } => {
                AccMut::Extreme(*max, value.view_mut(), seen.view_mut())
            }
            Acc::Last { value, writer } => AccMut::Last(value.view_mut(), writer.view_mut()),
        }
    }
}

/// A mutable view of part of an [`Acc`] (a band of it).
enum AccMut<'a, D: Dimension> {
    Add(ArrayViewMut<'a, f64, D>, ArrayViewMut<'a, f64, D>),
    Extreme(bool, ArrayViewMut<'a, f64, D>, ArrayViewMut<'a, bool, D>),
    Last(ArrayViewMut<'a, f64, D>, ArrayViewMut<'a, usize, D>),
}

impl<D: Dimension> AccMut<'_, D> {
    /// Splits at index `i` of `axis`: the elements before it, and the rest.
    fn split_at(self, axis: Axis, i: usize) -> (Self, Self) {
        match self {
            AccMut::Add(s, w) => {
                let ((s0, s1), (w0, w1)) = (s.split_at(axis, i), w.split_at(axis, i));
                (AccMut::Add(s0, w0), AccMut::Add(s1, w1))
            }
            AccMut::Extreme(max, v, c) => {
                let ((v0, v1), (c0, c1)) = (v.split_at(axis, i), c.split_at(axis, i));
                (AccMut::Extreme(max, v0, c0), AccMut::Extreme(max, v1, c1))
            }
            AccMut::Last(v, r) => {
                let ((v0, v1), (r0, r1)) = (v.split_at(axis, i), r.split_at(axis, i));
                (AccMut::Last(v0, r0), AccMut::Last(v1, r1))
            }
        }
    }

    /// Merges `patch` (of row `row`, times the window weights `pw` for the
    /// additive accumulator) into the elements `region` selects, which has
    /// the patch's shape.
    fn merge<F: Real>(
        &mut self,
        region: &impl Fn(AxisDescription) -> Slice,
        patch: &ArrayView<'_, F, D>,
        pw: Option<&ArrayView<'_, f64, D>>,
        row: usize,
    ) {
        match self {
            AccMut::Add(sum, weight) => {
                let zip = Zip::from(sum.slice_each_axis_mut(region))
                    .and(weight.slice_each_axis_mut(region))
                    .and(patch);
                match pw {
                    None => zip.for_each(|s, w, &x| {
                        *s += x.to_f64();
                        *w += 1.0;
                    }),
                    Some(pw) => zip.and(pw).for_each(|s, w, &x, &c| {
                        *s += c * x.to_f64();
                        *w += c;
                    }),
                }
            }
            AccMut::Extreme(max, value, seen) => {
                let zip = Zip::from(value.slice_each_axis_mut(region))
                    .and(seen.slice_each_axis_mut(region))
                    .and(patch);
                // f64::max and min ignore a NaN operand: the running value
                // starts as NaN and becomes the first number.
                if *max {
                    zip.for_each(|v, c, &x| {
                        *v = v.max(x.to_f64());
                        *c = true;
                    });
                } else {
                    zip.for_each(|v, c, &x| {
                        *v = v.min(x.to_f64());
                        *c = true;
                    });
                }
            }
            AccMut::Last(value, writer) => {
                // Row + 1 (0 is "none"; rows are < len <= isize::MAX).
                let r1 = row + 1;
                Zip::from(value.slice_each_axis_mut(region))
                    .and(writer.slice_each_axis_mut(region))
                    .and(patch)
                    .for_each(|v, w, &x| {
                        if r1 >= *w {
                            *v = x.to_f64();
                            *w = r1;
                        }
                    });
            }
        }
    }
}

/// Bands per rayon thread in [`Fold::par_add_patches`].
const BANDS_PER_THREAD: usize = 4;

/// What is being added for rows `start..start + len`: patch rows, or one
/// value per patch spread over its footprint.
#[derive(Clone, Copy)]
enum Contributions<'c, F> {
    Rows(ArrayView2<'c, F>),
    Values(ArrayView1<'c, F>),
}

impl<F> Contributions<'_, F> {
    fn len(&self) -> usize {
        match self {
            Contributions::Rows(m) => m.nrows(),
            Contributions::Values(v) => v.len(),
        }
    }
}

/// Part of the padded array, `lo..hi` on the band axis, owned by one
/// thread while rows are merged.
struct Band<'a, D: Dimension> {
    acc: AccMut<'a, D>,
    lo: usize,
    hi: usize,
}

/// How a fold's padded array is cut into bands for rows `rows`: along
/// `axis` (`None`: one band, the whole array); `contiguous` as
/// `(offset, rows per position)` when the rows touching a band are one
/// contiguous range (the axes before `axis` have one grid position over
/// `rows`), else each band scans every row.
struct Bands<'a, D: Dimension> {
    axis: Option<usize>,
    contiguous: Option<(usize, usize)>,
    bands: Vec<Band<'a, D>>,
}

/// Cuts `acc` into at most `n` bands for rows `rows`, at grid positions
/// (a band starts where the first window of its positions starts), along
/// the first axis on which `rows` span more than one grid position or, if
/// `contiguous` is `false`, along the axis on which they span the most (a
/// chunk of one grid line is cut across the line). Bands cover the whole
/// array; the first starts at 0 and the last ends at the padded length.
fn bands<'a, D: Dimension>(
    geom: &Geometry<D>,
    acc: &'a mut Acc<D>,
    n: usize,
    rows: &Range<usize>,
    contiguous: bool,
) -> Bands<'a, D> {
    let whole = acc.view_mut();
    let (first, last) = match rows.len() {
        0 | 1 => (None, None),
        _ => (
            Some(geom.grid_index(rows.start)),
            Some(geom.grid_index(rows.end - 1)),
        ),
    };
    let k0 = first
        .as_ref()
        .zip(last.as_ref())
        .and_then(|(f, l)| (0..geom.ndim()).find(|&k| f[k] != l[k]));
    let (Some(k0), Some(first), Some(last), true) = (k0, first, last, n > 1) else {
        let bands = vec![Band {
            acc: whole,
            lo: 0,
            hi: 0,
        }];
        return Bands {
            axis: None,
            contiguous: None,
            bands,
        };
    };
    let grid = geom.grid();
    // Grid positions the rows span on an axis: from first to last on k0,
    // (up to) all of them after it.
    let span = |k: usize| {
        if k == k0 {
            last[k] - first[k] + 1
        } else {
            grid[k]
        }
    };
    let k = if contiguous {
        k0
    } else {
        (k0..geom.ndim())
            .max_by_key(|&k| (span(k), std::cmp::Reverse(k)))
            .expect("k0 is an axis")
    };
    let (p0, positions) = (if k == k0 { first[k] } else { 0 }, span(k));
    let len = geom.shape()[k];
    let n = n.min(positions);
    let mut bands = Vec::with_capacity(n);
    let (mut rest, mut lo) = (whole, 0);
    for t in 1..n {
        // A window's start: < len, and increasing in t.
        let hi = geom.axis_origin(k, p0 + t * positions / n);
        let (band, tail) = rest.split_at(Axis(k), hi - lo);
        bands.push(Band { acc: band, lo, hi });
        (rest, lo) = (tail, hi);
    }
    bands.push(Band {
        acc: rest,
        lo,
        hi: len,
    });
    let contiguous = (k == k0).then(|| {
        let per: usize = axes(grid)[k + 1..].iter().product();
        let line = per * grid[k];
        (rows.start - rows.start % line, per)
    });
    Bands {
        axis: Some(k),
        contiguous,
        bands,
    }
}

/// The rows of `rows` that may touch `band`: exactly those whose windows
/// reach it if the bands are `contiguous`, else all of them.
fn band_rows<D: Dimension>(
    geom: &Geometry<D>,
    bands: (Option<usize>, Option<(usize, usize)>),
    band: &Band<'_, D>,
    rows: &Range<usize>,
) -> Range<usize> {
    let (Some(k), Some((offset, per))) = bands else {
        return rows.clone();
    };
    let reaching = geom.axis_windows_reaching(k, band.lo, band.hi);
    let start = (offset + reaching.start * per).clamp(rows.start, rows.end);
    start..(offset + reaching.end * per).clamp(start, rows.end)
}

/// Merges `contributions` for rows `start..` into `band`: the rows whose
/// windows touch it, in row order, each restricted to the band.
fn merge_into_band<F: Real, D: Dimension>(
    geom: &Geometry<D>,
    axis: Option<usize>,
    rows: Range<usize>,
    pw: Option<&Array<f64, D>>,
    band: &mut Band<'_, D>,
    start: usize,
    contributions: Contributions<'_, F>,
) {
    let rows = rows.start.max(start)..rows.end.min(start + contributions.len());
    let patch = geom.patch().clone();
    let (extent, dilation) = (geom.extent(), geom.dilation());
    let mut copy: Vec<F> = Vec::new();
    for r in rows {
        let origin = geom.origin(r);
        // The patch's elements j on the band axis that land in the band.
        let (j, offset) = match axis {
            None => (0..0, 0),
            Some(k) => {
                let (o, d) = (origin[k], dilation[k]);
                let first = band.lo.saturating_sub(o).div_ceil(d);
                let end = band.hi.saturating_sub(o).div_ceil(d).min(patch[k]);
                if first >= end {
                    continue;
                }
                (first..end, o + first * d - band.lo)
            }
        };
        let region = |ax: AxisDescription| {
            let a = ax.axis.index();
            let (p, d) = (patch[a], dilation[a]);
            // All fit in isize: they index the padded array.
            let (start, n) = if Some(a) == axis {
                (offset, j.len())
            } else {
                (origin[a], p)
            };
            let step = if n > 1 { d } else { 1 };
            let end = if Some(a) == axis {
                start + (n - 1) * d + 1
            } else {
                start + extent[a]
            };
            Slice::new(start as isize, Some(end as isize), step as isize)
        };
        let restrict = |ax: AxisDescription| match axis {
            Some(k) if ax.axis.index() == k => Slice::from(j.clone()),
            _ => Slice::from(..),
        };
        let pw = pw.map(|w| w.slice_each_axis(restrict));
        match contributions {
            Contributions::Rows(m) => {
                let row = m.row(r - start);
                let flat = match row.to_slice() {
                    Some(s) => s,
                    None => {
                        copy.clear();
                        copy.extend(row.iter().copied());
                        &copy[..]
                    }
                };
                let p = ArrayView::from_shape(patch.clone(), flat).expect("patch_len elements");
                band.acc
                    .merge(&region, &p.slice_each_axis(restrict), pw.as_ref(), r);
            }
            Contributions::Values(v) => {
                // The value over the whole patch: a stride-0 view of it (from
                // a shape of ones, so 0-axis patches work too).
                let one =
                    ArrayView::from_shape(ones_like(&patch), std::slice::from_ref(&v[r - start]))
                        .expect("a shape of ones has one element");
                let spread = one
                    .broadcast(patch.clone())
                    .expect("a length-1 array broadcasts to any shape");
                band.acc
                    .merge(&region, &spread.slice_each_axis(restrict), pw.as_ref(), r);
            }
        }
    }
}

/// Accumulates patch rows back into an image; see [`Reduction`] for the
/// ways to finish.
///
/// Rows arrive in chunks, in any order: [`add_rows`](Self::add_rows) on
/// the calling thread, [`par_add_rows`](Self::par_add_rows) and
/// [`par_add_patches`](Self::par_add_patches) on every core (the same
/// result to the bit). Memory: two arrays of the padded shape (`f64` and
/// `f64`, `bool` or `usize` by reduction), whatever the number of rows.
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::{Edge, Fold, Pad, Reduction, Window};
///
/// // Extract with "same" edges, fold back: the image again.
/// let img = Array2::from_shape_fn((20, 30), |(i, j)| (i * 30 + j) as f64);
/// let w = Window::new((5, 5)).step((2, 2));
/// let padded = img.padded(&w, Edge::Same, Pad::Reflect);
/// let mut fold = Fold::new((20, 30), &w, Edge::Same);
/// padded.patches().for_each_chunk(100, |start, rows| fold.add_rows(start, &rows));
/// let back = fold.finish::<f64>(Reduction::Mean);
/// assert_eq!(back.uncovered, 0);
/// assert!((&back.image - &img).iter().all(|d| d.abs() < 1e-9));
///
/// // The same on every core, extraction included.
/// let mut fold = Fold::new((20, 30), &w, Edge::Same);
/// fold.par_add_patches(&padded.patches());
/// assert_eq!(fold.finish::<f64>(Reduction::Mean).image, back.image);
/// ```
#[derive(Clone)]
pub struct Fold<D: Dimension> {
    geom: Geometry<D>,
    before: D,
    source_shape: D,
    acc: Acc<D>,
    patch_weights: Option<Array<f64, D>>,
}

impl<D: Dimension> fmt::Debug for Fold<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fold")
            .field("source_shape", &self.source_shape)
            .field("before", &self.before)
            .field("geometry", &self.geom)
            .field("reduces_to", &self.acc.name())
            .field("weighted", &self.patch_weights.is_some())
            .finish_non_exhaustive()
    }
}

impl<D: Dimension> Fold<D> {
    /// A fold onto an image of `shape`, for the patches of `window` under
    /// `edge` (as extracted by `padded(window, edge, ..).patches()`, or by
    /// `patches(..)` for [`Edge::Valid`]), finishing with
    /// [`Reduction::Sum`] or [`Reduction::Mean`] (see
    /// [`reducing`](Self::reducing) for the others). Holds two `f64`
    /// arrays of the padded shape.
    ///
    /// # Panics
    ///
    /// See [`try_new`](Self::try_new).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Edge, Fold, Window};
    ///
    /// let f = Fold::new((64, 64), &Window::new((8, 8)), Edge::Same);
    /// assert_eq!(f.len(), 64 * 64);
    /// assert_eq!(f.patch_len(), 64);
    /// ```
    #[track_caller]
    pub fn new<Sh: IntoDimension<Dim = D>>(shape: Sh, window: &Window<D>, edge: Edge) -> Self {
        unwrap_or_panic(Self::try_new(shape, window, edge))
    }

    /// Like [`new`](Self::new), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`PatchExt::try_padded`](crate::PatchExt::try_padded): zero sizes,
    /// wrong numbers of axes, an empty shape, or (with [`Edge::Valid`]) a
    /// patch larger than the image; [`PatchError::OutOfMemory`] if the
    /// accumulator cannot be allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Edge, Fold, Window};
    ///
    /// assert!(Fold::try_new((4, 4), &Window::new((5, 5)), Edge::Valid).is_err());
    /// assert!(Fold::try_new((4, 4), &Window::new((5, 5)), Edge::Same).is_ok());
    /// ```
    pub fn try_new<Sh: IntoDimension<Dim = D>>(
        shape: Sh,
        window: &Window<D>,
        edge: Edge,
    ) -> Result<Self, PatchError> {
        let shape = shape.into_dimension();
        let (before, _, geom) = window.padded_geometry(&shape, edge)?;
        let acc = Acc::try_new(Reduction::Mean, geom.shape())?;
        Ok(Fold {
            geom,
            before,
            source_shape: shape,
            acc,
            patch_weights: None,
        })
    }

    /// The fold with the accumulator for `reduction`, which it will finish
    /// with: [`Reduction::Max`], [`Reduction::Min`] and [`Reduction::Last`]
    /// need their own (`Sum` and `Mean` keep the default one, which gives
    /// both). Call it on a new fold: rows added before are dropped when
    /// the accumulator changes.
    ///
    /// # Panics
    ///
    /// See [`try_reducing`](Self::try_reducing).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{s, Array1, Array2};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Fold, Reduction, Window};
    ///
    /// // Every window's maximum spread back over the window with Max: each
    /// // element gets the largest maximum of the windows covering it.
    /// let img = Array2::from_shape_fn((6, 6), |(i, j)| ((i * 5 + j * 3) % 7) as f32);
    /// let p = img.patches((3, 3));
    /// let maxima: Array1<f32> = p.iter().map(|w| w.fold(f32::MIN, |m, &x| m.max(x))).collect();
    /// let mut f = Fold::new((6, 6), &p.window(), Edge::Valid).reducing(Reduction::Max);
    /// f.add_values(0, &maxima);
    /// let out = f.finish::<f32>(Reduction::Max).image;
    /// assert_eq!(out[[0, 0]], maxima[0]); // one window covers the corner
    /// assert_eq!(out[[2, 2]], img.slice(s![..5, ..5]).fold(f32::MIN, |m, &x| m.max(x)));
    /// ```
    #[track_caller]
    #[must_use]
    pub fn reducing(self, reduction: Reduction) -> Self {
        unwrap_or_panic(self.try_reducing(reduction))
    }

    /// Like [`reducing`](Self::reducing), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::WeightedReduction`] for `Max`, `Min` or `Last` on a
    /// [`weighted`](Self::weighted) fold; [`PatchError::OutOfMemory`] if the
    /// accumulator cannot be allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Edge, Fold, PatchError, Reduction, Window, WindowWeights};
    ///
    /// let f = Fold::new(6, &Window::new(2), Edge::Valid).weighted(WindowWeights::Hann);
    /// assert_eq!(
    ///     f.try_reducing(Reduction::Max).unwrap_err(),
    ///     PatchError::WeightedReduction { reduction: "Max" }
    /// );
    /// ```
    pub fn try_reducing(self, reduction: Reduction) -> Result<Self, PatchError> {
        if self.acc.gives(reduction) {
            return Ok(self);
        }
        if self.patch_weights.is_some() && !matches!(reduction, Reduction::Sum | Reduction::Mean) {
            return Err(PatchError::WeightedReduction {
                reduction: reduction.name(),
            });
        }
        let Fold {
            geom,
            before,
            source_shape,
            acc,
            patch_weights,
        } = self;
        drop(acc); // before the new one is allocated
        let acc = Acc::try_new(reduction, geom.shape())?;
        Ok(Fold {
            geom,
            before,
            source_shape,
            acc,
            patch_weights,
        })
    }

    /// Weights the contributions by `weights` over each patch's elements
    /// (for [`Reduction::Sum`] and [`Reduction::Mean`]; the other
    /// reductions take no weights).
    ///
    /// # Panics
    ///
    /// See [`try_weighted`](Self::try_weighted).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::{Edge, Fold, Reduction, Window, WindowWeights};
    ///
    /// let mut f = Fold::new(6, &Window::new(4).step(2), Edge::Valid).weighted(WindowWeights::Gaussian(1.0));
    /// f.add_rows(0, &ndarray::Array2::<f64>::ones((2, 4)));
    /// let out = f.finish::<f64>(Reduction::Mean);
    /// assert!(out.image.iter().all(|&x| (x - 1.0).abs() < 1e-12)); // a weighted mean of ones
    /// ```
    #[track_caller]
    #[must_use]
    pub fn weighted(self, weights: WindowWeights<D>) -> Self {
        unwrap_or_panic(self.try_weighted(weights))
    }

    /// Like [`weighted`](Self::weighted), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::WeightsShape`] if custom weights do not have the
    /// patch's shape, [`PatchError::InvalidSigma`] for a Gaussian sigma that
    /// is not finite and positive, [`PatchError::InvalidWindowWeight`] for a
    /// negative or non-finite weight, [`PatchError::ZeroWindowWeights`] if
    /// every weight is 0, [`PatchError::WeightedReduction`] on a fold
    /// [`reducing`](Self::reducing) by `Max`, `Min` or `Last`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Edge, Fold, Window, WindowWeights};
    ///
    /// let f = Fold::new(6, &Window::new(2), Edge::Valid);
    /// assert!(f.try_weighted(WindowWeights::Custom(array![1.0, -1.0])).is_err());
    /// ```
    pub fn try_weighted(mut self, weights: WindowWeights<D>) -> Result<Self, PatchError> {
        if let Acc::Extreme { .. } | Acc::Last { .. } = self.acc {
            return Err(PatchError::WeightedReduction {
                reduction: self.acc.name(),
            });
        }
        let patch = self.geom.patch().clone();
        let separable = |f: &dyn Fn(usize, usize) -> f64| {
            Array::from_shape_fn(patch.clone(), |idx| {
                let idx = idx.into_dimension();
                (0..patch.ndim())
                    .map(|k| f(idx[k], patch[k]))
                    .product::<f64>()
            })
        };
        let w = match weights {
            WindowWeights::Hann => separable(&|j, n| {
                (std::f64::consts::PI * (j + 1) as f64 / (n + 1) as f64)
                    .sin()
                    .powi(2)
            }),
            WindowWeights::Gaussian(sigma) => {
                if !(sigma.is_finite() && sigma > 0.0) {
                    return Err(PatchError::InvalidSigma { sigma });
                }
                separable(&|j, n| {
                    let c = (n as f64 - 1.0) / 2.0;
                    (-(j as f64 - c).powi(2) / (2.0 * sigma * sigma)).exp()
                })
            }
            WindowWeights::Custom(w) => {
                if w.shape() != axes(&patch) {
                    return Err(PatchError::WeightsShape {
                        expected: axes(&patch).to_vec(),
                        found: w.shape().to_vec(),
                    });
                }
                if let Some(element) = w.iter().position(|&x| !(x.is_finite() && x >= 0.0)) {
                    return Err(PatchError::InvalidWindowWeight { element });
                }
                w
            }
        };
        if w.iter().all(|&x| x == 0.0) {
            return Err(PatchError::ZeroWindowWeights);
        }
        self.patch_weights = Some(w);
        Ok(self)
    }

    /// The number of patches (rows) this fold takes.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Edge, Fold, Window};
    /// assert_eq!(Fold::new((4, 5), &Window::new((2, 2)), Edge::Valid).len(), 12);
    /// ```
    pub fn len(&self) -> usize {
        self.geom.len()
    }

    /// `true` if it takes no patch (never, for a valid fold).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Edge, Fold, Window};
    /// assert!(!Fold::new(4, &Window::new(2), Edge::Valid).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.geom.len() == 0
    }

    /// The number of elements per row.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Edge, Fold, Window};
    /// assert_eq!(Fold::new((9, 9), &Window::new((3, 2)), Edge::Valid).patch_len(), 6);
    /// ```
    pub fn patch_len(&self) -> usize {
        self.geom.patch_len()
    }

    /// Merges `contributions` for rows `start..` on `threads` bands of the
    /// padded array (one thread per band; 1: on the calling thread).
    fn merge<F: Real>(
        &mut self,
        start: usize,
        contributions: Contributions<'_, F>,
        threads: usize,
    ) {
        let Fold {
            geom,
            acc,
            patch_weights,
            ..
        } = self;
        let (geom, pw) = (&*geom, patch_weights.as_ref());
        let rows = start..start + contributions.len();
        let Bands {
            axis,
            contiguous,
            bands,
        } = bands(geom, acc, threads, &rows, false);
        let work: Vec<_> = bands
            .into_iter()
            .map(|band| (band_rows(geom, (axis, contiguous), &band, &rows), band))
            .collect();
        let run = |(rows, mut band): (Range<usize>, Band<'_, D>)| {
            merge_into_band(geom, axis, rows, pw, &mut band, start, contributions);
        };
        if work.len() == 1 {
            work.into_iter().for_each(run);
        } else {
            work.into_par_iter().with_max_len(1).for_each(run);
        }
    }

    /// Checks a row count (or width) against this fold's patches.
    fn check_rows<F>(&self, start: usize, rows: &ArrayRef2<F>) -> Result<(), PatchError> {
        if rows.ncols() != self.patch_len() {
            return Err(PatchError::RowWidth {
                expected: self.patch_len(),
                found: rows.ncols(),
            });
        }
        self.geom.check_rows(start, rows.nrows())
    }

    /// Adds rows `start..start + rows.nrows()` of the patch matrix, on the
    /// calling thread. Chunks may come in any order.
    ///
    /// # Panics
    ///
    /// See [`try_add_rows`](Self::try_add_rows).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Edge, Fold, Reduction, Window};
    ///
    /// let mut f = Fold::new(4, &Window::new(2), Edge::Valid);
    /// f.add_rows(1, &array![[5.0, 7.0]]);               // the middle patch only
    /// assert_eq!(f.finish::<f64>(Reduction::Sum).image.to_vec(), vec![0.0, 5.0, 7.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn add_rows<F: Real>(&mut self, start: usize, rows: &ArrayRef2<F>) {
        unwrap_or_panic(self.try_add_rows(start, rows))
    }

    /// Like [`add_rows`](Self::add_rows), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::RowWidth`] if a row is not `patch_len` long,
    /// [`PatchError::RowsOutOfRange`] if the rows pass the last patch.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Edge, Fold, Window};
    ///
    /// let mut f = Fold::new(4, &Window::new(2), Edge::Valid);
    /// assert!(f.try_add_rows(2, &array![[1.0, 1.0], [1.0, 1.0]]).is_err());
    /// ```
    pub fn try_add_rows<F: Real>(
        &mut self,
        start: usize,
        rows: &ArrayRef2<F>,
    ) -> Result<(), PatchError> {
        self.check_rows(start, rows)?;
        self.merge(start, Contributions::Rows(rows.view()), 1);
        Ok(())
    }

    /// Like [`add_rows`](Self::add_rows), on every rayon thread: each owns
    /// a band of the image and adds the rows that reach it, in row order,
    /// so the result is the same to the bit as `add_rows` (for every
    /// reduction and weighting). The bands are cut along the axis on
    /// which the chunk's windows spread the most (across the line for a
    /// chunk of one grid line), so it pays for chunks of a few hundred rows
    /// and more; to extract the rows on every core too, see
    /// [`par_add_patches`](Self::par_add_patches).
    ///
    /// # Panics
    ///
    /// See [`try_par_add_rows`](Self::try_par_add_rows).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Fold, Reduction, Window};
    ///
    /// let img = Array2::from_shape_fn((64, 64), |(i, j)| (i * j % 11) as f32);
    /// let p = img.patches((8, 8)).step((2, 2));
    /// let (mut one, mut all) = (Fold::new((64, 64), &p.window(), Edge::Valid), Fold::new((64, 64), &p.window(), Edge::Valid));
    /// p.for_each_chunk(300, |start, rows| {
    ///     one.add_rows(start, &rows);
    ///     all.par_add_rows(start, &rows);
    /// });
    /// assert_eq!(one.finish::<f32>(Reduction::Mean).image, all.finish::<f32>(Reduction::Mean).image);
    /// ```
    #[track_caller]
    pub fn par_add_rows<F: Real>(&mut self, start: usize, rows: &ArrayRef2<F>) {
        unwrap_or_panic(self.try_par_add_rows(start, rows))
    }

    /// Like [`par_add_rows`](Self::par_add_rows), returning an error
    /// instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_add_rows`](Self::try_add_rows).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::{Edge, Fold, PatchError, Window};
    ///
    /// let mut f = Fold::new((8, 8), &Window::new((3, 3)), Edge::Valid);
    /// assert_eq!(
    ///     f.try_par_add_rows(0, &Array2::<f64>::zeros((36, 8))),
    ///     Err(PatchError::RowWidth { expected: 9, found: 8 })
    /// );
    /// ```
    pub fn try_par_add_rows<F: Real>(
        &mut self,
        start: usize,
        rows: &ArrayRef2<F>,
    ) -> Result<(), PatchError> {
        self.check_rows(start, rows)?;
        let threads = rayon::current_num_threads();
        self.merge(start, Contributions::Rows(rows.view()), threads);
        Ok(())
    }

    /// Adds every row of `rows` (all of a [`Patches`](crate::Patches), or
    /// a range, converted or not), extracting and folding them on every
    /// rayon thread in one pass: the image is cut into a few bands per
    /// thread, and the thread that takes a band streams the rows that reach
    /// it through its own chunk buffer and adds them, in row order, to that
    /// band only. The result is the same to the bit as `for_each_chunk` +
    /// `add_rows`. Memory: one chunk of
    /// [`DEFAULT_CHUNK_BYTES`](crate::DEFAULT_CHUNK_BYTES) per thread at a
    /// time; the rows whose windows straddle two bands are extracted for
    /// both.
    ///
    /// # Panics
    ///
    /// See [`try_par_add_patches`](Self::try_par_add_patches).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Fold, Pad, Reduction, Window};
    ///
    /// let img = Array2::from_shape_fn((100, 80), |(i, j)| ((i * 7 + j) % 256) as u8);
    /// let w = Window::new((16, 16)).step((4, 4));
    /// let padded = img.padded(&w, Edge::Same, Pad::Reflect);
    /// let mut f = Fold::new((100, 80), &w, Edge::Same);
    /// f.par_add_patches(&padded.patches().cast::<f32>());   // u8 pixels as f32
    /// assert_eq!(f.finish::<f32>(Reduction::Mean).image, img.mapv(f32::from));
    /// ```
    #[track_caller]
    pub fn par_add_patches<A, C>(&mut self, rows: &Rows<'_, A, D, C>)
    where
        A: Copy + Send + Sync,
        C: Conversion<A>,
        C::Output: Real,
    {
        unwrap_or_panic(self.try_par_add_patches(rows))
    }

    /// Like [`par_add_patches`](Self::par_add_patches), returning an error
    /// instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::GeometryMismatch`] if the patches are not this fold's
    /// (another padded shape, patch shape, step or dilation);
    /// [`PatchError::OutOfMemory`] if a thread's chunk buffer cannot be
    /// allocated (the fold then holds part of the rows).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Fold, PatchError, Window};
    ///
    /// let img = Array2::<f64>::zeros((10, 10));
    /// let mut f = Fold::new((10, 10), &Window::new((3, 3)), Edge::Valid);
    /// assert_eq!(
    ///     f.try_par_add_patches(&img.patches((3, 3)).step((1, 2))),
    ///     Err(PatchError::GeometryMismatch { what: "step", expected: vec![1, 1], found: vec![1, 2] })
    /// );
    /// ```
    pub fn try_par_add_patches<A, C>(&mut self, rows: &Rows<'_, A, D, C>) -> Result<(), PatchError>
    where
        A: Copy + Send + Sync,
        C: Conversion<A>,
        C::Output: Real,
    {
        let (ours, theirs) = (&self.geom, rows.geometry());
        for (what, expected, found) in [
            ("array shape", ours.shape(), theirs.shape()),
            ("patch shape", ours.patch(), theirs.patch()),
            ("step", ours.step(), theirs.step()),
            ("dilation", ours.dilation(), theirs.dilation()),
            // The same window over the same shape: differs only by the edge.
            ("grid (edge policy)", ours.grid(), theirs.grid()),
        ] {
            if expected != found {
                return Err(PatchError::GeometryMismatch {
                    what,
                    expected: axes(expected).to_vec(),
                    found: axes(found).to_vec(),
                });
            }
        }
        let chunk = rows.default_chunk_rows();
        let range = rows.range();
        let Fold {
            geom,
            acc,
            patch_weights,
            ..
        } = self;
        let (geom, pw) = (&*geom, patch_weights.as_ref());
        // A few bands per thread, so that rayon balances them when a core
        // is busy elsewhere; only the rows at a band's edge are extracted
        // twice (the fold's work does not grow).
        let n = BANDS_PER_THREAD * rayon::current_num_threads();
        let Bands {
            axis,
            contiguous,
            bands,
        } = bands(geom, acc, n, &range, true);
        bands
            .into_par_iter()
            .with_max_len(1)
            .map(|mut band| {
                let mine = band_rows(geom, (axis, contiguous), &band, &range);
                rows.try_for_each_chunk_in(mine.clone(), chunk, |start, chunk| {
                    let c = Contributions::Rows(chunk);
                    merge_into_band(geom, axis, mine.clone(), pw, &mut band, start, c);
                })
            })
            .collect::<Result<Vec<()>, _>>()
            .map(drop)
    }

    /// Adds one value per patch for patches `start..`, spread over each
    /// patch's whole footprint: with [`Reduction::Mean`], every element
    /// gets the (weighted) mean of the predictions of the patches that
    /// cover it (with `Max`, the largest, and so on).
    ///
    /// # Panics
    ///
    /// If the values pass the last patch; see
    /// [`try_add_values`](Self::try_add_values).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Edge, Fold, Reduction, Window};
    ///
    /// let mut f = Fold::new(4, &Window::new(2), Edge::Valid);
    /// f.add_values(0, &array![1.0, 2.0, 3.0]);
    /// assert_eq!(f.finish::<f64>(Reduction::Mean).image.to_vec(), vec![1.0, 1.5, 2.5, 3.0]);
    /// ```
    #[track_caller]
    pub fn add_values<F: Real>(&mut self, start: usize, values: &ArrayRef1<F>) {
        unwrap_or_panic(self.try_add_values(start, values))
    }

    /// Like [`add_values`](Self::add_values), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::RowsOutOfRange`] if the values pass the last patch.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Edge, Fold, Window};
    ///
    /// let mut f = Fold::new(4, &Window::new(2), Edge::Valid);
    /// assert!(f.try_add_values(2, &array![1.0, 2.0]).is_err());
    /// ```
    pub fn try_add_values<F: Real>(
        &mut self,
        start: usize,
        values: &ArrayRef1<F>,
    ) -> Result<(), PatchError> {
        self.geom.check_rows(start, values.len())?;
        self.merge(start, Contributions::Values(values.view()), 1);
        Ok(())
    }

    /// The image: the accumulated contributions reduced as `reduction`
    /// says, cropped to the source's shape. Elements that no patch covered
    /// (with a positive weight) are 0 and reported.
    ///
    /// # Panics
    ///
    /// If the fold cannot give `reduction` (`Max`, `Min` and `Last` must
    /// be chosen with [`reducing`](Self::reducing), and then are the only
    /// one it gives); see [`try_finish`](Self::try_finish).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Fold, Reduction, Window};
    ///
    /// let img = Array2::from_shape_fn((6, 6), |(i, j)| (i + j) as f32);
    /// let p = img.patches((3, 3));
    /// let mut f = Fold::new((6, 6), &p.window(), Edge::Valid);
    /// f.add_rows(0, &p.to_matrix());
    /// assert_eq!(f.finish::<f32>(Reduction::Mean).image, img);
    /// ```
    #[track_caller]
    pub fn finish<F: Real>(self, reduction: Reduction) -> Folded<F, D> {
        unwrap_or_panic(self.try_finish(reduction))
    }

    /// Like [`finish`](Self::finish), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ReductionMismatch`] if the fold cannot give
    /// `reduction`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Edge, Fold, PatchError, Reduction, Window};
    ///
    /// let f = Fold::new(5, &Window::new(2), Edge::Valid);
    /// assert_eq!(
    ///     f.clone().try_finish::<f64>(Reduction::Max).unwrap_err(),
    ///     PatchError::ReductionMismatch { chosen: "Sum and Mean", asked: "Max" }
    /// );
    /// let f = f.reducing(Reduction::Last);
    /// assert!(f.clone().try_finish::<f64>(Reduction::Mean).is_err());
    /// assert!(f.try_finish::<f64>(Reduction::Last).is_ok());
    /// ```
    pub fn try_finish<F: Real>(self, reduction: Reduction) -> Result<Folded<F, D>, PatchError> {
        if !self.acc.gives(reduction) {
            return Err(PatchError::ReductionMismatch {
                chosen: self.acc.name(),
                asked: reduction.name(),
            });
        }
        let before = &self.before;
        let shape = &self.source_shape;
        let crop = |ax: AxisDescription| {
            let k = ax.axis.index();
            Slice::from(before[k]..before[k] + shape[k])
        };
        let (covered, image) = match &self.acc {
            Acc::Add { sum, weight } => {
                let (sum, weight) = (sum.slice_each_axis(crop), weight.slice_each_axis(crop));
                let image = Zip::from(&sum).and(&weight).map_collect(|&s, &w| {
                    F::from_f64(match (reduction, w > 0.0) {
                        (_, false) => 0.0,
                        (Reduction::Mean, true) => s / w,
                        (_, true) => s,
                    })
                });
                (weight.mapv(|w| w > 0.0), image)
            }
            Acc::Extreme { value, seen, .. } => {
                let (value, seen) = (value.slice_each_axis(crop), seen.slice_each_axis(crop));
                let image = Zip::from(&value)
                    .and(&seen)
                    .map_collect(|&v, &c| F::from_f64(if c { v } else { 0.0 }));
                (seen.to_owned(), image)
            }
            Acc::Last { value, writer } => {
                let (value, writer) = (value.slice_each_axis(crop), writer.slice_each_axis(crop));
                let image = Zip::from(&value)
                    .and(&writer)
                    .map_collect(|&v, &w| F::from_f64(if w > 0 { v } else { 0.0 }));
                (writer.mapv(|w| w > 0), image)
            }
        };
        let uncovered = covered.iter().filter(|&&c| !c).count();
        Ok(Folded {
            image,
            covered,
            uncovered,
        })
    }

    /// One value per patch written at each patch's [`Anchor`] element (in
    /// the source; values whose anchor falls in the padding are dropped).
    /// With [`Edge::Same`] and step 1 this is a full per-pixel map.
    /// Independent of the rows added so far.
    ///
    /// # Panics
    ///
    /// If `values.len() != len`; see [`try_place`](Self::try_place).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Anchor, Edge, Fold, Pad, Window};
    ///
    /// // Local standard deviation of every 5x5 window, as a map.
    /// let img = Array2::from_shape_fn((16, 16), |(i, j)| ((i * j) % 5) as f64);
    /// let w = Window::new((5, 5));
    /// let padded = img.padded(&w, Edge::Same, Pad::Reflect);
    /// let sd: Array1<f64> = padded.patches().iter().map(|p| p.std(0.0)).collect();
    /// let map = Fold::new((16, 16), &w, Edge::Same).place(&sd, Anchor::Centre);
    /// assert_eq!((map.image.dim(), map.uncovered), ((16, 16), 0));
    /// ```
    #[track_caller]
    pub fn place<F: Real>(&self, values: &ArrayRef1<F>, anchor: Anchor) -> Folded<F, D> {
        unwrap_or_panic(self.try_place(values, anchor))
    }

    /// Like [`place`](Self::place), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShapeMismatch`] if `values.len() != len`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Anchor, Edge, Fold, Window};
    ///
    /// let f = Fold::new(5, &Window::new(3), Edge::Valid);
    /// assert!(f.try_place(&array![1.0, 2.0], Anchor::Origin).is_err());
    /// ```
    pub fn try_place<F: Real>(
        &self,
        values: &ArrayRef1<F>,
        anchor: Anchor,
    ) -> Result<Folded<F, D>, PatchError> {
        if values.len() != self.len() {
            return Err(PatchError::ShapeMismatch {
                operand: "values (length)",
                expected: self.len(),
                found: values.len(),
            });
        }
        let mut image = try_filled(self.source_shape.clone(), F::zero(), "the placed image")?;
        let mut covered = try_filled(self.source_shape.clone(), false, "the placed mask")?;
        let ndim = self.source_shape.ndim();
        let offset: Array1<usize> = (0..ndim)
            .map(|k| match anchor {
                Anchor::Origin => 0,
                Anchor::Centre => (self.geom.extent()[k] - 1) / 2,
            })
            .collect();
        'patches: for (r, &v) in values.iter().enumerate() {
            let mut at = self.geom.origin(r);
            for k in 0..ndim {
                // Padded index to source index; skip anchors in the padding.
                let i = at[k] + offset[k];
                if i < self.before[k] || i - self.before[k] >= self.source_shape[k] {
                    continue 'patches;
                }
                at[k] = i - self.before[k];
            }
            image[at.clone()] = v;
            covered[at] = true;
        }
        let uncovered = covered.iter().filter(|&&c| !c).count();
        Ok(Folded {
            image,
            covered,
            uncovered,
        })
    }
}

impl<D: Dimension> Fold<D>
where
    D::Larger: RemoveAxis,
{
    /// One vector per patch (row `r` of `values` for patch `r`, `k`
    /// columns) written at each patch's [`Anchor`] element: an image of the
    /// source's shape with one more axis of length `k` (class scores per
    /// pixel, say), and which elements an anchor landed on.
    ///
    /// # Panics
    ///
    /// If `values.nrows() != len`; see [`try_place_vectors`](Self::try_place_vectors).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::{Anchor, Edge, Fold, Window};
    ///
    /// let f = Fold::new((4, 4), &Window::new((3, 3)), Edge::Same);
    /// let scores = Array2::from_shape_fn((16, 2), |(r, c)| (r * 10 + c) as f32);
    /// let maps = f.place_vectors(&scores, Anchor::Centre).maps;
    /// assert_eq!(maps.shape(), &[4, 4, 2]);
    /// assert_eq!(maps[[1, 2, 1]], 61.0);
    /// ```
    #[track_caller]
    pub fn place_vectors<F: Real>(&self, values: &ArrayRef2<F>, anchor: Anchor) -> Channels<F, D> {
        unwrap_or_panic(self.try_place_vectors(values, anchor))
    }

    /// Like [`place_vectors`](Self::place_vectors), returning an error
    /// instead of panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::ShapeMismatch`] if `values.nrows() != len`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::{Anchor, Edge, Fold, Window};
    ///
    /// let f = Fold::new((4, 4), &Window::new((3, 3)), Edge::Valid);
    /// assert!(f.try_place_vectors(&Array2::<f64>::zeros((5, 3)), Anchor::Origin).is_err());
    /// ```
    pub fn try_place_vectors<F: Real>(
        &self,
        values: &ArrayRef2<F>,
        anchor: Anchor,
    ) -> Result<Channels<F, D>, PatchError> {
        if values.nrows() != self.len() {
            return Err(PatchError::ShapeMismatch {
                operand: "values (rows)",
                expected: self.len(),
                found: values.nrows(),
            });
        }
        // One map per column; the anchors, so the mask, are the same for all.
        let placed = values
            .columns()
            .into_iter()
            .map(|column| self.try_place(&column, anchor))
            .collect::<Result<Vec<_>, _>>()?;
        let covered = match placed.first() {
            Some(p) => p.covered.clone(),
            None => {
                self.try_place(&Array1::<F>::zeros(self.len()), anchor)?
                    .covered
            }
        };
        let ndim = self.source_shape.ndim();
        let maps = if placed.is_empty() {
            let mut shape = <D::Larger as Dimension>::zeros(ndim + 1);
            for k in 0..ndim {
                shape[k] = self.source_shape[k];
            }
            Array::from_elem(shape, F::zero())
        } else {
            let views: Vec<_> = placed.iter().map(|p| p.image.view()).collect();
            ndarray::stack(Axis(ndim), &views).expect("maps of one shape")
        };
        Ok(Channels { maps, covered })
    }
}

/// Mean of overlapping patches with step 1 and no padding: scikit-learn's
/// `reconstruct_from_patches_2d`, for any number of axes, with the rows in
/// this crate's order.
///
/// # Panics
///
/// See [`try_reconstruct`].
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::reconstruct;
///
/// let img = Array2::from_shape_fn((5, 7), |(i, j)| (i * 7 + j) as f64);
/// let rows = img.patches((2, 3)).to_matrix();
/// assert_eq!(reconstruct(&rows, (5, 7), (2, 3)), img);
/// ```
#[track_caller]
pub fn reconstruct<F: Real, D: Dimension, Sh: IntoDimension<Dim = D>>(
    rows: &ArrayRef2<F>,
    shape: Sh,
    patch: Sh,
) -> Array<F, D> {
    unwrap_or_panic(try_reconstruct(rows, shape, patch))
}

/// Like [`reconstruct`], returning an error instead of panicking.
///
/// # Errors
///
/// As [`Fold::try_new`], and [`PatchError::ShapeMismatch`] if `rows` does
/// not have one row per patch, [`PatchError::RowWidth`] if a row is not a
/// patch long.
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_patches::try_reconstruct;
///
/// assert!(try_reconstruct(&Array2::<f64>::zeros((5, 4)), (3, 3), (2, 2)).is_err());
/// ```
pub fn try_reconstruct<F: Real, D: Dimension, Sh: IntoDimension<Dim = D>>(
    rows: &ArrayRef2<F>,
    shape: Sh,
    patch: Sh,
) -> Result<Array<F, D>, PatchError> {
    let mut fold = Fold::try_new(shape, &Window::new(patch), Edge::Valid)?;
    if rows.nrows() != fold.len() {
        return Err(PatchError::ShapeMismatch {
            operand: "rows (count)",
            expected: fold.len(),
            found: rows.nrows(),
        });
    }
    fold.try_add_rows(0, rows)?;
    Ok(fold.finish(Reduction::Mean).image)
}

//! Adding to a [`Fold`]: patch rows ([`Fold::add_rows`]), one value per
//! patch ([`Fold::add_values`]), or rows extracted and folded in one pass
//! ([`Rows::fold_into`]). Large additions are cut into bands of the
//! padded array and run as tasks of [`par_tasks`], the crate's one
//! scheduler; small ones stay on the calling thread. Either way the
//! result is the same to the bit (see [`bands`](super::bands)).

use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use ndarray::{Array, ArrayRef1, ArrayRef2, ArrayView, ArrayView1, ArrayView2};
use ndarray::{AxisDescription, Dimension, Slice};

use super::bands::{self, Band, Cut};
use super::reduce::Acc;
use super::Fold;
use crate::error::{unwrap_or_panic, PatchError};
use crate::geometry::{axes, ones_like, Geometry};
use crate::par::par_tasks;
use crate::rows::Rows;
use crate::scalar::{Conversion, Real};
use crate::stop::unwatched;

/// The cost of adding a row beyond its elements (locating its window,
/// slicing the accumulator to it), in elements: adding `n` rows of length
/// `p` on one thread takes about `n * (p + ROW_COST)` times 2 ns on this
/// project's machine (measured below: 3x3 patches 0.21 µs a row, 8x8 0.35
/// µs, 16x16 0.72 µs).
const ROW_COST: usize = 100;

/// The work, `rows * (patch length + ROW_COST)`, from which an addition is
/// split over the rayon pool; below it, it stays on the calling thread.
///
/// Measured on this project's 2-core machine with the timing loop
/// `split_pays_from_the_threshold` below (`nice -n 10 cargo test --release
/// --lib fold::add -- --ignored --nocapture`, run while the machine was
/// otherwise idle: another build's load turns every gain into a 5-10%
/// loss): `add_rows` (f32, `Mean`) of the first 16 to 32768 rows of a
/// 512x512 image's 3x3, 8x8 and 16x16 patches, one band against two bands
/// on a 2-thread pool, interleaved, median of 41 runs each. Every size
/// from 64K units of work on ran 1.3-1.9x faster on two bands (3x3 from
/// 1024 rows, 8x8 from 512, 16x16 from 256); below, 3x3 and 16x16 ran
/// 0.8-1.0x (16x16 chunks inside one grid line are cut at a grid position
/// into uneven bands) while 8x8 gained up to 1.5x from 64 rows. About
/// 120 µs of work on one thread.
pub(super) const PARALLEL_WORK: usize = 1 << 16;

/// Bands per rayon thread in [`Rows::fold_into`]: a few, so that a thread
/// slowed down (a core busy elsewhere) takes fewer of them; only the rows
/// at a band's edge are extracted twice.
const BANDS_PER_THREAD: usize = 4;

/// How many bands an addition of `rows` rows of `patch_len` elements is
/// cut into: one below [`PARALLEL_WORK`] or on a pool of one thread, else
/// `per_thread` per thread of the current pool.
fn band_count(rows: usize, patch_len: usize, per_thread: usize) -> usize {
    let threads = rayon::current_num_threads();
    let work = rows.saturating_mul(patch_len.saturating_add(ROW_COST));
    if threads <= 1 || work < PARALLEL_WORK {
        1
    } else {
        threads * per_thread
    }
}

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

/// What every band task shares: the geometry, the band axis, the window
/// weights.
struct Merger<'f, D: Dimension> {
    geom: &'f Geometry<D>,
    axis: Option<usize>,
    weights: Option<&'f Array<f64, D>>,
}

impl<D: Dimension> Merger<'_, D> {
    /// Adds `contributions` for rows `start..` into `band`: those of
    /// `rows` whose windows touch it, in row order, each restricted to the
    /// band. `scratch` holds a row that is not contiguous.
    fn merge<F: Real>(
        &self,
        band: &mut Band<'_, D>,
        rows: Range<usize>,
        start: usize,
        contributions: Contributions<'_, F>,
        scratch: &mut Vec<F>,
    ) {
        let Merger {
            geom,
            axis,
            weights,
        } = *self;
        let rows = rows.start.max(start)..rows.end.min(start + contributions.len());
        let patch = geom.patch();
        let (extent, dilation) = (geom.extent(), geom.dilation());
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
            let pw = weights.map(|w| w.slice_each_axis(restrict));
            match contributions {
                Contributions::Rows(m) => {
                    let row = m.row(r - start);
                    let flat = match row.to_slice() {
                        Some(s) => s,
                        None => {
                            scratch.clear();
                            scratch.extend(row.iter().copied());
                            &scratch[..]
                        }
                    };
                    let p = ArrayView::from_shape(patch.clone(), flat).expect("patch_len elements");
                    band.acc
                        .accumulate(&region, &p.slice_each_axis(restrict), pw.as_ref(), r);
                }
                Contributions::Values(v) => {
                    // The value over the whole patch: a stride-0 view of it
                    // (from a shape of ones, so 0-axis patches work too).
                    let one = ArrayView::from_shape(
                        ones_like(patch),
                        std::slice::from_ref(&v[r - start]),
                    )
                    .expect("a shape of ones has one element");
                    let spread = one
                        .broadcast(patch.clone())
                        .expect("a length-1 array broadcasts to any shape");
                    band.acc
                        .accumulate(&region, &spread.slice_each_axis(restrict), pw.as_ref(), r);
                }
            }
        }
    }
}

impl<D: Dimension> Fold<D> {
    /// Cuts the padded array into (at most) `n` bands for rows `rows` and
    /// runs `add(merger, band, its rows, scratch)` for each, as tasks of
    /// [`par_tasks`] (one band: on the calling thread). Allocates the
    /// accumulator with the first rows.
    fn add_on_bands<F, G>(
        &mut self,
        rows: Range<usize>,
        n: usize,
        cut: Cut,
        add: G,
    ) -> Result<(), PatchError>
    where
        F: Real,
        G: Fn(
                &Merger<'_, D>,
                &mut Band<'_, D>,
                Range<usize>,
                &mut Vec<F>,
            ) -> Result<(), PatchError>
            + Sync
            + Send,
    {
        let Fold {
            geom,
            acc,
            patch_weights,
            reduction,
            ..
        } = self;
        let acc = match acc {
            Some(acc) => acc,
            None => acc.insert(Acc::try_new(*reduction, geom.shape())?),
        };
        let (layout, bands) = bands::cut(geom, acc, n, &rows, cut);
        let merger = Merger {
            geom,
            axis: layout.axis,
            weights: patch_weights.as_ref(),
        };
        // Each band is taken by the one task of its number.
        let bands: Vec<Mutex<Option<Band<'_, D>>>> =
            bands.into_iter().map(|b| Mutex::new(Some(b))).collect();
        // Every band or none: a StopToken does not stop a fold half-way.
        unwatched(|| {
            par_tasks(
                bands.len(),
                || Ok(Vec::new()),
                |scratch, t| {
                    let mut band = bands[t]
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .take()
                        .expect("band t is taken by task t only");
                    let mine = layout.rows_of(merger.geom, &band, &rows);
                    add(&merger, &mut band, mine, scratch)
                },
                |scratch, _| scratch,
            )
        })
        .map(drop)
    }

    /// Adds `contributions` for rows `start..`, on bands of the padded
    /// array when the work is large enough.
    fn add_contributions<F: Real>(
        &mut self,
        start: usize,
        contributions: Contributions<'_, F>,
    ) -> Result<(), PatchError> {
        let n = contributions.len();
        // Rows already in memory: one band per thread (each band scans the
        // rows that may reach it).
        let bands = band_count(n, self.patch_len(), 1);
        self.add_on_bands(
            start..start + n,
            bands,
            Cut::WidestSpan,
            |merger, band, rows, scratch| {
                merger.merge(band, rows, start, contributions, scratch);
                Ok(())
            },
        )
    }

    /// Adds rows `start..start + rows.nrows()` of the patch matrix. Chunks
    /// may come in any order. A chunk large enough to pay for the split
    /// (a few hundred rows of a few dozen elements) is added on every
    /// rayon thread, each owning a band of the image; a smaller one on the
    /// calling thread. The result is the same to the bit either way, for
    /// every reduction and weighting. To extract the rows on every core
    /// too, see [`Rows::fold_into`].
    ///
    /// # Panics
    ///
    /// See [`try_add_rows`](Self::try_add_rows).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array2};
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Fold, Reduction, Window};
    ///
    /// let mut f = Fold::new(4, &Window::new(2), Edge::Valid).reducing(Reduction::Sum);
    /// f.add_rows(1, &array![[5.0, 7.0]]);               // the middle patch only
    /// assert_eq!(f.finish::<f64>().image.to_vec(), vec![0.0, 5.0, 7.0, 0.0]);
    ///
    /// // Chunks of a stream, in any order; the same on one thread or all.
    /// let img = Array2::from_shape_fn((64, 64), |(i, j)| (i * j % 11) as f32);
    /// let p = img.patches((8, 8)).step((2, 2));
    /// let mut f = Fold::new((64, 64), &p.window(), Edge::Valid);
    /// p.for_each_chunk(300, |start, rows| f.add_rows(start, &rows));
    /// assert_eq!(f.finish::<f32>().image, img);
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
    /// [`PatchError::RowsOutOfRange`] if the rows pass the last patch,
    /// [`PatchError::OutOfMemory`] if the accumulator (allocated with the
    /// first rows) cannot be.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::{array, Array2};
    /// use ndarray_patches::{Edge, Fold, PatchError, Window};
    ///
    /// let mut f = Fold::new(4, &Window::new(2), Edge::Valid);
    /// assert!(f.try_add_rows(2, &array![[1.0, 1.0], [1.0, 1.0]]).is_err());
    /// assert_eq!(
    ///     f.try_add_rows(0, &Array2::<f64>::zeros((3, 1))),
    ///     Err(PatchError::RowWidth { expected: 2, found: 1 })
    /// );
    /// ```
    pub fn try_add_rows<F: Real>(
        &mut self,
        start: usize,
        rows: &ArrayRef2<F>,
    ) -> Result<(), PatchError> {
        if rows.ncols() != self.patch_len() {
            return Err(PatchError::RowWidth {
                expected: self.patch_len(),
                found: rows.ncols(),
            });
        }
        self.geom.check_rows(start, rows.nrows())?;
        self.add_contributions(start, Contributions::Rows(rows.view()))
    }

    /// Adds one value per patch for patches `start..`, spread over each
    /// patch's whole footprint: with [`Reduction::Mean`](super::Reduction::Mean),
    /// every element gets the (weighted) mean of the predictions of the
    /// patches that cover it (with `Max`, the largest, and so on). Split
    /// over the rayon pool as [`add_rows`](Self::add_rows) is.
    ///
    /// # Panics
    ///
    /// See [`try_add_values`](Self::try_add_values).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Edge, Fold, Window};
    ///
    /// let mut f = Fold::new(4, &Window::new(2), Edge::Valid);
    /// f.add_values(0, &array![1.0, 2.0, 3.0]);
    /// assert_eq!(f.finish::<f64>().image.to_vec(), vec![1.0, 1.5, 2.5, 3.0]);
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
    /// [`PatchError::RowsOutOfRange`] if the values pass the last patch,
    /// [`PatchError::OutOfMemory`] if the accumulator (allocated with the
    /// first values) cannot be.
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
        self.add_contributions(start, Contributions::Values(values.view()))
    }

    /// Checks that patches of `theirs` are this fold's.
    fn check_geometry(&self, theirs: &Geometry<D>) -> Result<(), PatchError> {
        let ours = &self.geom;
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
        Ok(())
    }
}

/// # Folding back onto the image
impl<A, D, C> Rows<'_, A, D, C>
where
    A: Copy + Send + Sync,
    D: Dimension,
    C: Conversion<A>,
    C::Output: Real,
{
    /// Adds these rows (all of a [`Patches`](crate::Patches), or a range,
    /// converted or not) to `fold`, extracting and folding them in one
    /// pass, never holding the patch matrix. On a pool of several threads
    /// (and rows enough to pay for it, as for [`Fold::add_rows`]) the
    /// image is cut into a few bands per thread, and the thread that takes
    /// a band streams the rows that reach it through its own chunk buffer
    /// and adds them, in row order, to that band only. The result is the
    /// same to the bit as `for_each_chunk` + [`Fold::add_rows`], on any
    /// number of threads. Memory: a chunk of
    /// [`DEFAULT_CHUNK_BYTES`](crate::DEFAULT_CHUNK_BYTES) per band being
    /// added; the rows whose windows straddle two bands are extracted for
    /// both.
    ///
    /// # Panics
    ///
    /// See [`try_fold_into`](Self::try_fold_into).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Fold, Pad, Window};
    ///
    /// let img = Array2::from_shape_fn((100, 80), |(i, j)| ((i * 7 + j) % 256) as u8);
    /// let w = Window::new((16, 16)).step((4, 4));
    /// let padded = img.padded(&w, Edge::Same, Pad::Reflect);
    /// let mut f = Fold::new((100, 80), &w, Edge::Same);
    /// padded.patches().cast::<f32>().fold_into(&mut f);   // u8 pixels as f32
    /// assert_eq!(f.finish::<f32>().image, img.mapv(f32::from));
    /// ```
    #[track_caller]
    pub fn fold_into(&self, fold: &mut Fold<D>) {
        unwrap_or_panic(self.try_fold_into(fold))
    }

    /// Like [`fold_into`](Self::fold_into), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::GeometryMismatch`] if the patches are not the fold's
    /// (another padded shape, patch shape, step, dilation or edge policy);
    /// [`PatchError::OutOfMemory`] if the fold's accumulator or a chunk
    /// buffer cannot be allocated (the fold then holds part of the rows).
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
    ///     img.patches((3, 3)).step((1, 2)).try_fold_into(&mut f),
    ///     Err(PatchError::GeometryMismatch { what: "step", expected: vec![1, 1], found: vec![1, 2] })
    /// );
    /// ```
    pub fn try_fold_into(&self, fold: &mut Fold<D>) -> Result<(), PatchError> {
        fold.check_geometry(self.geometry())?;
        let range = self.range();
        let chunk = self.default_chunk_rows();
        let bands = band_count(range.len(), fold.patch_len(), BANDS_PER_THREAD);
        fold.add_on_bands(
            range,
            bands,
            Cut::RowRanges,
            |merger, band, mine: Range<usize>, scratch| {
                self.try_for_each_chunk_in(mine.clone(), chunk, |start, rows| {
                    let rows = Contributions::Rows(rows);
                    merger.merge(band, mine.clone(), start, rows, scratch);
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use ndarray::{s, Array2};

    use super::{Contributions, Cut, PARALLEL_WORK, ROW_COST};
    use crate::fold::Fold;
    use crate::geometry::{Edge, Window};

    /// The timing loop behind [`ROW_COST`] and [`PARALLEL_WORK`]: the
    /// first rows of a 512x512 image's patch matrix added on one band and
    /// on two (a 2-thread pool), interleaved, median of 41 runs each.
    #[test]
    #[ignore = "a measurement: run with --release --ignored --nocapture"]
    fn split_pays_from_the_threshold() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        println!("patch   rows     work  one band (us)  two bands (us)  ratio");
        for patch in [3usize, 8, 16] {
            let mut fold = Fold::new((512, 512), &Window::new((patch, patch)), Edge::Valid);
            let plen = fold.patch_len();
            let rows =
                Array2::from_shape_fn((32768, plen), |(r, c)| ((r * 31 + c * 17) % 255) as f32);
            // The accumulator is allocated outside the timing.
            fold.add_rows(0, &rows.slice(s![..1, ..]));
            for n in (4..=15).map(|k| 1usize << k) {
                let chunk = Contributions::Rows(rows.slice(s![..n, ..]));
                let mut time = |bands: usize| {
                    let t0 = Instant::now();
                    pool.install(|| {
                        fold.add_on_bands(0..n, bands, Cut::WidestSpan, |m, b, r, s| {
                            m.merge(b, r, 0, chunk, s);
                            Ok(())
                        })
                    })
                    .unwrap();
                    t0.elapsed().as_secs_f64() * 1e6
                };
                let (mut one, mut two): (Vec<f64>, Vec<f64>) =
                    (0..41).map(|_| (time(1), time(2))).unzip();
                one.sort_by(f64::total_cmp);
                two.sort_by(f64::total_cmp);
                let (one, two) = (one[20], two[20]);
                let work = n * (plen + ROW_COST);
                let split = if work >= PARALLEL_WORK {
                    " (split)"
                } else {
                    ""
                };
                println!(
                    "{patch:>5} {n:>6} {work:>8} {one:>14.1} {two:>15.1} {:>6.2}{split}",
                    one / two
                );
            }
        }
    }
}

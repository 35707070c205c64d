//! Every call into the `ndarray-patches` crate made by the binding lives in
//! this module, so that a change of the crate's API is a change here only.
//!
//! Everything here is plain Rust (no Python types): sources are
//! `ArrayViewD`s of one of the element types of [`Elem`], results are owned
//! ndarray arrays. Only fallible (`try_`) paths are called, and every
//! precondition of a panicking method is checked first, so nothing here
//! panics on user input.

use ndarray::{
    Array1, Array2, ArrayD, ArrayView1, ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMutD, Axis,
    Dimension, IxDyn, Zip,
};
use ndarray_patches::prelude::*;
use ndarray_patches::{
    try_reconstruct, Anchor, AsIs, Conversion, Edge, Fold, MapElems, Method, Pad, PatchError,
    Patches, Real, Reduction, Rows, Sampling, Window, WindowWeights,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rayon::prelude::*;

/// The element types a source may have, with their numpy names and their
/// rows converted to the float types during the copy (numpy's `astype`:
/// `as`, round to nearest; a float source's own type is the crate's memcpy
/// path). The one table of the binding's dtypes.
pub trait Elem: Copy + Send + Sync + numpy::Element + 'static {
    const NAME: &'static str;
    type F32: Conversion<Self, Output = f32> + Clone;
    type F64: Conversion<Self, Output = f64> + Clone;
    fn rows_f32<'a>(p: &P<'a, Self>) -> Rows<'a, Self, IxDyn, Self::F32>;
    fn rows_f64<'a>(p: &P<'a, Self>) -> Rows<'a, Self, IxDyn, Self::F64>;
}

/// A conversion by a plain function.
pub type Map<A, B> = MapElems<fn(A) -> B, B>;

macro_rules! elems {
    ($($t:ty => $name:literal, |$x:ident| $f32:expr, $f64:expr);* $(;)?) => {$(
        #[allow(clippy::redundant_closure)]
        impl Elem for $t {
            const NAME: &'static str = $name;
            type F32 = Map<$t, f32>;
            type F64 = Map<$t, f64>;
            fn rows_f32<'a>(p: &P<'a, $t>) -> Rows<'a, $t, IxDyn, Map<$t, f32>> {
                p.map_elems((|$x: $t| $f32) as fn($t) -> f32)
            }
            fn rows_f64<'a>(p: &P<'a, $t>) -> Rows<'a, $t, IxDyn, Map<$t, f64>> {
                p.map_elems((|$x: $t| $f64) as fn($t) -> f64)
            }
        }
    )*};
}

elems!(
    u8 => "uint8", |x| f32::from(x), f64::from(x);
    u16 => "uint16", |x| f32::from(x), f64::from(x);
    u32 => "uint32", |x| x as f32, f64::from(x);
    u64 => "uint64", |x| x as f32, x as f64;
    i8 => "int8", |x| f32::from(x), f64::from(x);
    i16 => "int16", |x| f32::from(x), f64::from(x);
    i32 => "int32", |x| x as f32, f64::from(x);
    i64 => "int64", |x| x as f32, x as f64;
    bool => "bool", |x| f32::from(u8::from(x)), f64::from(u8::from(x));
);

impl Elem for f32 {
    const NAME: &'static str = "float32";
    type F32 = AsIs;
    type F64 = Map<f32, f64>;
    fn rows_f32<'a>(p: &P<'a, f32>) -> Rows<'a, f32, IxDyn> {
        (**p).clone()
    }
    fn rows_f64<'a>(p: &P<'a, f32>) -> Rows<'a, f32, IxDyn, Map<f32, f64>> {
        p.map_elems(f64::from as fn(f32) -> f64)
    }
}

impl Elem for f64 {
    const NAME: &'static str = "float64";
    type F32 = Map<f64, f32>;
    type F64 = AsIs;
    fn rows_f32<'a>(p: &P<'a, f64>) -> Rows<'a, f64, IxDyn, Map<f64, f32>> {
        p.map_elems((|x: f64| x as f32) as fn(f64) -> f32)
    }
    fn rows_f64<'a>(p: &P<'a, f64>) -> Rows<'a, f64, IxDyn> {
        (**p).clone()
    }
}

/// The float types of linear algebra.
pub trait Float: Real + Elem {}
impl Float for f32 {}
impl Float for f64 {}

/// Patch shape, step and dilation (one entry per axis of the source, or per
/// windowed axis with `axes`), the windowed axes (`None`: every axis; else
/// the crate's `patches_along`), and the edge policy of the grid:
/// [`Edge::Shift`] if `shift`, else [`Edge::Valid`] (the padded policies
/// are a valid grid over a padded copy, see [`padded`]).
#[derive(Clone, Debug)]
pub struct Geom {
    pub patch: Vec<usize>,
    pub step: Vec<usize>,
    pub dilation: Vec<usize>,
    pub axes: Option<Vec<usize>>,
    pub shift: bool,
}

impl Geom {
    fn window(&self) -> Window<IxDyn> {
        Window::new(IxDyn(&self.patch))
            .step(IxDyn(&self.step))
            .dilation(IxDyn(&self.dilation))
    }
}

pub type P<'a, A> = Patches<'a, A, IxDyn>;

/// Calls `f` with the validated patches of `src` under `g`: every
/// operation builds its patches here, so every one follows the edge and
/// the windowed axes. The outer error is the geometry's.
pub fn with_patches<A, R>(
    src: ArrayViewD<'_, A>,
    g: &Geom,
    f: impl FnOnce(&P<'_, A>) -> R,
) -> Result<R, PatchError> {
    let edge = if g.shift { Edge::Shift } else { Edge::Valid };
    match &g.axes {
        None => {
            let p = src
                .try_into_patches(IxDyn(&g.patch))?
                .try_step(IxDyn(&g.step))?
                .try_dilation(IxDyn(&g.dilation))?;
            // `edge` takes Valid and Shift (no padding) and cannot fail on
            // a validated window.
            Ok(f(&p.edge(edge)))
        }
        Some(axes) => {
            let along = src
                .try_patches_along(IxDyn(axes), IxDyn(&g.patch))?
                .try_step(IxDyn(&g.step))?
                .try_dilation(IxDyn(&g.dilation))?;
            let p: P<'_, A> = (*along).clone();
            Ok(f(&p.edge(edge)))
        }
    }
}

/// What a validated geometry is: grid and patch (as users see them, with
/// `axes`), rows, and per source axis the extent of a window.
pub struct Info {
    pub grid: Vec<usize>,
    pub patch_shape: Vec<usize>,
    pub patch_len: usize,
    pub len: usize,
    pub extent: Vec<usize>,
}

pub fn info<A>(p: &P<'_, A>) -> Info {
    let w = p.window();
    Info {
        grid: p.grid().slice().to_vec(),
        patch_shape: p.patch_shape().slice().to_vec(),
        patch_len: p.patch_len(),
        len: p.len(),
        // Validated by the crate: d * (p - 1) + 1 does not overflow.
        extent: w
            .patch
            .slice()
            .iter()
            .zip(w.dilation.slice())
            .map(|(&k, &d)| d * (k - 1) + 1)
            .collect(),
    }
}

/// Shape and strides (in elements) of the zero-copy view `grid ++ patch`;
/// [`PatchError::ShiftedGrid`] where no strided view holds the windows.
pub fn view_layout<A>(p: &P<'_, A>) -> Result<(Vec<usize>, Vec<isize>), PatchError> {
    let v = p.try_view()?;
    Ok((v.shape().to_vec(), v.strides().to_vec()))
}

/// Origin (one index per source axis), shape and strides (in elements) of
/// window `r < len`.
pub fn window_layout<A>(p: &P<'_, A>, r: usize) -> Option<(Vec<usize>, Vec<usize>, Vec<isize>)> {
    let pos = p.position(r)?;
    let w = p.get(r)?;
    Some((
        pos.origin.slice().to_vec(),
        w.shape().to_vec(),
        w.strides().to_vec(),
    ))
}

/// The origin of window `r`, `None` past the last one.
pub fn origin<A>(p: &P<'_, A>, r: usize) -> Option<Vec<usize>> {
    p.position(r).map(|q| q.origin.slice().to_vec())
}

/// The origins of the windows of rows `start..start + out.nrows()`
/// (checked by the caller) into `out`, `(rows, ndim)`: the caller
/// allocates (fallibly).
pub fn positions_into<A>(p: &P<'_, A>, start: usize, mut out: ArrayViewMut2<'_, i64>) {
    let stop = start + out.nrows();
    for (mut row, pos) in out
        .rows_mut()
        .into_iter()
        .zip(p.rows(start..stop).positions())
    {
        for (o, &x) in row.iter_mut().zip(pos.origin.slice()) {
            *o = x as i64;
        }
    }
}

/// Per source axis, the origins of the grid positions along it, in order
/// (windows over every axis only).
pub fn axis_origins<A>(p: &P<'_, A>) -> Vec<Vec<usize>> {
    let grid = p.grid();
    let grid = grid.slice();
    (0..grid.len())
        .map(|k| {
            // Rows one grid step apart on axis k, the others at 0.
            let stride: usize = grid[k + 1..].iter().product();
            (0..grid[k])
                .filter_map(|i| p.position(i * stride).map(|q| q.origin[k]))
                .collect()
        })
        .collect()
}

/// The row of the window whose origin is `origin`, `None` if none starts
/// there.
pub fn row_of<A>(p: &P<'_, A>, origin: &[usize]) -> Option<usize> {
    p.row_of(IxDyn(origin))
}

/// Rows `start..stop` in the order of one shuffled epoch of the crate
/// (`Rows::try_shuffled` with `StdRng::seed_from_u64(seed)`).
pub fn shuffled_order<A>(
    p: &P<'_, A>,
    start: usize,
    stop: usize,
    seed: u64,
) -> Result<Vec<usize>, PatchError> {
    let mut rng = StdRng::seed_from_u64(seed);
    Ok(p.rows(start..stop)
        .try_shuffled(&mut rng)?
        .indices()
        .to_vec())
}

/// `n` patches drawn with a seeded `StdRng`: their rows and their contents.
pub fn sample<A: Elem>(
    p: &P<'_, A>,
    n: usize,
    seed: u64,
    replace: bool,
    weights: Option<ArrayView1<'_, f64>>,
) -> Result<(Vec<usize>, Array2<A>), PatchError> {
    let mut spec = Sampling::new(n);
    if replace {
        spec = spec.with_replacement();
    }
    if let Some(w) = weights {
        spec = spec.weights(w);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let drawn = p.try_sample(spec, &mut rng)?;
    Ok((drawn.indices().to_vec(), drawn.try_to_matrix()?))
}

/// Rows of `A` converted by `C`: the operations that copy rows.
pub fn write_rows<A: Elem, C: Conversion<A>>(
    rows: &Rows<'_, A, IxDyn, C>,
    start: usize,
    out: ArrayViewMut2<'_, C::Output>,
) -> Result<(), PatchError> {
    rows.try_write_rows(start, out)
}

pub fn select<A: Elem, C: Conversion<A> + Clone>(
    rows: &Rows<'_, A, IxDyn, C>,
    indices: &[usize],
) -> Result<Array2<C::Output>, PatchError> {
    rows.try_select(indices)?.try_to_matrix()
}

/// Rows of `bytes` bytes of `C::Output`: at least 1, at most all.
pub fn chunk_rows_for<A: Elem, C: Conversion<A>>(
    rows: &Rows<'_, A, IxDyn, C>,
    bytes: usize,
) -> usize {
    rows.chunk_rows_for(bytes)
}

/// Whether `rows x cols` elements of `T` can be allocated now:
/// [`PatchError::Overflow`] or [`PatchError::OutOfMemory`] (naming `what`)
/// if not. The trial allocation is released at once: the crate builds
/// results of `X·W` from per-chunk parts, allocated as they come, and a
/// part that cannot be allocated aborts the process (the concatenation
/// is fallible, the parts are not).
fn room<T>(rows: usize, cols: usize, what: &'static str) -> Result<(), PatchError> {
    let len = rows
        .checked_mul(cols)
        .ok_or(PatchError::Overflow { quantity: what })?;
    let bytes = len
        .checked_mul(size_of::<T>())
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or(PatchError::Overflow { quantity: what })?;
    Vec::<T>::new()
        .try_reserve_exact(len)
        .map_err(|_| PatchError::OutOfMemory { bytes, what })
}

/// Linear algebra on the virtual patch matrix, in `F`; `pl` is the patch
/// length (an operand of another length is the crate's error, before any
/// allocation).
pub fn dot<A: Elem, F: Float, C: Conversion<A, Output = F> + Clone>(
    rows: &Rows<'_, A, IxDyn, C>,
    w: ArrayView1<'_, F>,
    pl: usize,
    method: Method,
) -> Result<Array1<F>, PatchError> {
    if w.len() == pl {
        room::<F>(rows.len(), 1, "the result of Patches.dot")?;
    }
    rows.method(method).try_dot(&w)
}

pub fn matmul<A: Elem, F: Float, C: Conversion<A, Output = F> + Clone>(
    rows: &Rows<'_, A, IxDyn, C>,
    w: ArrayView2<'_, F>,
    pl: usize,
    method: Method,
) -> Result<Array2<F>, PatchError> {
    if w.nrows() == pl {
        room::<F>(rows.len(), w.ncols(), "the result of Patches.matmul")?;
    }
    rows.method(method).try_dot(&w)
}

pub fn t_dot<A: Elem, F: Float, C: Conversion<A, Output = F> + Clone>(
    rows: &Rows<'_, A, IxDyn, C>,
    v: ArrayView1<'_, F>,
    method: Method,
) -> Result<Array1<F>, PatchError> {
    rows.method(method).try_t_dot(&v)
}

pub fn gram<A: Elem, F: Float, C: Conversion<A, Output = F> + Clone>(
    rows: &Rows<'_, A, IxDyn, C>,
    method: Method,
) -> Result<Array2<F>, PatchError> {
    rows.method(method).try_gram()
}

/// The mean row; `pl` is the patch length (the crate's sums of `pl`
/// `f64` by box sums are allocated infallibly: checked here first).
pub fn mean<A: Elem, F: Float, C: Conversion<A, Output = F> + Clone>(
    rows: &Rows<'_, A, IxDyn, C>,
    pl: usize,
    method: Method,
) -> Result<Array1<F>, PatchError> {
    room::<f64>(pl, 1, "the sums of Patches.mean")?;
    rows.method(method).try_mean()
}

pub fn covariance<A: Elem, F: Float, C: Conversion<A, Output = F> + Clone>(
    rows: &Rows<'_, A, IxDyn, C>,
    method: Method,
) -> Result<Array2<F>, PatchError> {
    rows.method(method).try_covariance()
}

/// `n`, the sum of the rows and, if asked, their centred second moment.
pub type Moments = (usize, Array1<f64>, Option<Array2<f64>>);

/// Mergeable moments of all the rows in f64: `n`, the sum of the rows and,
/// with `second`, their centred second moment `Σ (x - μ)(x - μ)ᵀ` (the
/// crate's stable covariance times `n - 1`; zeros for one row).
pub fn moments<A: Elem, C: Conversion<A, Output = f64> + Clone>(
    rows: &Rows<'_, A, IxDyn, C>,
    pl: usize,
    second: bool,
) -> Result<Moments, PatchError> {
    let n = rows.len();
    room::<f64>(pl, 1, "the sums of the moments")?;
    Ok(match (second, n) {
        (false, _) | (true, 1) => {
            let sum = rows.try_mean()? * n as f64;
            (n, sum, second.then(|| Array2::zeros((pl, pl))))
        }
        (true, _) => {
            let (mean, cov) = rows.try_mean_covariance()?;
            (n, mean * n as f64, Some(cov * (n - 1) as f64))
        }
    })
}

/// The mean row and the covariance from one pass; `pl` is the patch
/// length (checked as for `mean`).
pub fn mean_covariance<A: Elem, F: Float, C: Conversion<A, Output = F> + Clone>(
    rows: &Rows<'_, A, IxDyn, C>,
    pl: usize,
    method: Method,
) -> Result<(Array1<F>, Array2<F>), PatchError> {
    room::<f64>(pl, 1, "the sums of Patches.mean_covariance")?;
    rows.method(method).try_mean_covariance()
}

/// Chan, Golub and LeVeque's merge of packed moments: each row of `parts`
/// is `[n, sum (pl), m2 (pl * pl)]`; rows with `n = 0` are empty.
pub fn merge_moments(parts: ArrayView2<'_, f64>, pl: usize) -> Array1<f64> {
    let mut acc = Array1::<f64>::zeros(1 + pl + pl * pl);
    for part in parts.axis_iter(Axis(0)) {
        let nb = part[0];
        if nb == 0.0 {
            continue;
        }
        let na = acc[0];
        if na == 0.0 {
            acc.assign(&part);
            continue;
        }
        let (sa, sb) = (
            acc.slice(ndarray::s![1..1 + pl]).to_owned(),
            part.slice(ndarray::s![1..1 + pl]),
        );
        let delta = &sb / nb - &sa / na;
        let w = na * nb / (na + nb);
        {
            let mut m2 = acc.slice_mut(ndarray::s![1 + pl..]);
            let pb = part.slice(ndarray::s![1 + pl..]);
            for i in 0..pl {
                for j in 0..pl {
                    m2[i * pl + j] += pb[i * pl + j] + w * delta[i] * delta[j];
                }
            }
        }
        acc[0] = na + nb;
        acc.slice_mut(ndarray::s![1..1 + pl])
            .zip_mut_with(&sb, |a, &b| *a += b);
    }
    acc
}

/// The crate's edge policy called `name`.
pub fn edge(name: &str) -> Option<Edge> {
    match name {
        "valid" => Some(Edge::Valid),
        "same" => Some(Edge::Same),
        "cover" => Some(Edge::Cover),
        "shift" => Some(Edge::Shift),
        _ => None,
    }
}

/// numpy.pad's mode called `name` (`cval` for "constant").
pub fn pad_mode<A>(name: &str, cval: A) -> Option<Pad<A>> {
    match name {
        "constant" => Some(Pad::Constant(cval)),
        "edge" => Some(Pad::Edge),
        "reflect" => Some(Pad::Reflect),
        "symmetric" => Some(Pad::Symmetric),
        "wrap" => Some(Pad::Wrap),
        _ => None,
    }
}

/// The array padded as `edge` needs for the window `g`; the padded
/// array's patches with `g` are the windows of the edge policy.
pub fn padded<A: Elem>(
    src: ArrayViewD<'_, A>,
    g: &Geom,
    edge: Edge,
    mode: Pad<A>,
) -> Result<ArrayD<A>, PatchError> {
    // Moved out, not cloned: a clone would allocate the padded array
    // again, infallibly (an abort where the first allocation succeeded).
    Ok(src.try_padded(&g.window(), edge, mode)?.into_array())
}

/// The padding `(before, after)` per axis that `edge` adds around an
/// array of `shape` for the window `g` (the crate's geometry: Dask pads
/// its chunked arrays with it).
pub fn padding(
    shape: &[usize],
    g: &Geom,
    edge: Edge,
) -> Result<(Vec<usize>, Vec<usize>), PatchError> {
    let (before, after) = g.window().try_padding(&IxDyn(shape), edge)?;
    Ok((before.slice().to_vec(), after.slice().to_vec()))
}

/// One axis of length `n` padded by `before` and `after` in `mode`, as
/// runs of the source: `(first, len, step)` reads `len` elements from
/// `first` in steps of `step` (1 or -1); `first = -1` is `len` constant
/// elements. The crate pads the axis's indices (`-1` for a constant), so
/// the runs follow numpy.pad for any width, even wider than the axis.
pub fn pad_runs(
    n: usize,
    before: usize,
    after: usize,
    mode: Pad<i64>,
) -> Result<Vec<(i64, usize, i64)>, PatchError> {
    let n = i64::try_from(n).map_err(|_| PatchError::Overflow {
        quantity: "axis length",
    })?;
    let idx = ndarray_patches::try_pad(&Array1::from_iter(0..n), before, after, mode)?;
    let mut runs: Vec<(i64, usize, i64)> = Vec::new();
    for &i in &idx {
        match runs.last_mut() {
            Some((f, len, _)) if *f < 0 && i < 0 => *len += 1,
            Some((f, len @ 1, st)) if *f >= 0 && (i == *f + 1 || i == *f - 1) => {
                *st = i - *f;
                *len = 2;
            }
            Some((f, len, st)) if *f >= 0 && *len > 1 && i == *f + *st * *len as i64 => *len += 1,
            _ => runs.push((i, 1, 1)),
        }
    }
    Ok(runs)
}

/// `src` copied into `dst` (the same shape) by the pool's threads: 1 MiB
/// slices when both are contiguous in the same order, else element-wise
/// (the snapshot of `copy=True`).
pub fn copy_par<A: Elem>(src: ArrayViewD<'_, A>, mut dst: ArrayViewMutD<'_, A>) {
    let block = (1 << 20) / std::mem::size_of::<A>().max(1);
    match (src.as_slice(), dst.as_slice_mut()) {
        (Some(s), Some(d)) => d
            .par_chunks_mut(block)
            .zip(s.par_chunks(block))
            .for_each(|(d, s)| d.copy_from_slice(s)),
        _ => Zip::from(&mut dst).and(&src).par_for_each(|d, s| *d = *s),
    }
}

/// The reduction called `name` in Python.
pub fn reduction(name: &str) -> Option<Reduction> {
    match name {
        "mean" => Some(Reduction::Mean),
        "sum" => Some(Reduction::Sum),
        "max" => Some(Reduction::Max),
        "min" => Some(Reduction::Min),
        "last" => Some(Reduction::Last),
        _ => None,
    }
}

/// The Python name of `r` (the inverse of [`reduction`]).
pub fn reduction_name(r: Reduction) -> &'static str {
    match r {
        Reduction::Mean => "mean",
        Reduction::Sum => "sum",
        Reduction::Max => "max",
        Reduction::Min => "min",
        Reduction::Last => "last",
        // `Reduction` is non-exhaustive; the binding builds none other.
        _ => "another reduction",
    }
}

/// `true` if a fold built for `built` may finish with `other`: the same
/// reduction, or `Sum` and `Mean` (they share the crate's accumulator; any
/// other switch is a panic of `Fold::reducing`).
pub fn can_finish_with(built: Reduction, other: Reduction) -> bool {
    let additive = |r| matches!(r, Reduction::Sum | Reduction::Mean);
    built == other || (additive(built) && additive(other))
}

/// The anchor called `name` in Python.
pub fn anchor(name: &str) -> Option<Anchor> {
    match name {
        "centre" | "center" => Some(Anchor::Centre),
        "origin" => Some(Anchor::Origin),
        _ => None,
    }
}

/// Window weights as given in Python: named, or one per patch element.
pub enum Weights {
    Hann,
    Gaussian(f64),
    /// The patch's shape, or flat (`patch_len` elements, row-major).
    Custom(ArrayD<f64>),
}

/// A reconstruction onto an image of `shape`, reducing by `reduction`.
pub fn fold_new(
    shape: &[usize],
    g: &Geom,
    edge: Edge,
    reduction: Reduction,
) -> Result<Fold<IxDyn>, PatchError> {
    // `reducing` on a fold without rows nor weights never panics.
    Ok(Fold::try_new(IxDyn(shape), &g.window(), edge)?.reducing(reduction))
}

/// The fold `f` (holding no rows) with window weights: the crate's errors
/// for weights that do not fit the patch or the reduction.
pub fn fold_weighted(
    f: Fold<IxDyn>,
    patch: &[usize],
    w: Weights,
) -> Result<Fold<IxDyn>, PatchError> {
    let w = match w {
        Weights::Hann => WindowWeights::Hann,
        Weights::Gaussian(sigma) => WindowWeights::Gaussian(sigma),
        Weights::Custom(w) => {
            // Flat weights, row-major over the patch, take its shape; any
            // other shape is left to the crate's check.
            let w = if w.ndim() == 1 && w.len() == f.patch_len() && patch.len() != 1 {
                w.into_shape_with_order(IxDyn(patch))
                    .expect("as many weights as patch elements")
            } else {
                w
            };
            WindowWeights::Custom(w)
        }
    };
    f.try_weighted(w)
}

/// The number of patches a fold expects, and their length.
pub fn fold_dims(f: &Fold<IxDyn>) -> (usize, usize) {
    (f.len(), f.patch_len())
}

/// Adds rows `start..start + rows.nrows()`.
pub fn fold_add_rows<F: Real>(
    f: &mut Fold<IxDyn>,
    start: usize,
    rows: ArrayView2<'_, F>,
) -> Result<(), PatchError> {
    f.try_add_rows(start, &rows)
}

/// The image so far, reduced by `r`, in `F` (the fold itself is kept:
/// more rows may follow); `built` is the fold's own reduction. The caller
/// checks [`can_finish_with`] first. Never copies the accumulators (a
/// clone would, infallibly: an abort on a large fold near the memory
/// limit).
pub fn fold_finish<F: Real>(
    f: &mut Fold<IxDyn>,
    built: Reduction,
    r: Reduction,
) -> Result<ArrayD<F>, PatchError> {
    if r == built {
        return Ok(f.try_image::<F>()?.image);
    }
    // Sum and Mean share the accumulator: switch in place (a move of the
    // fold, not a copy), read, switch back. A fold of one element stands in
    // for the moment.
    let stand_in = Fold::new(IxDyn(&[1]), &Window::new(IxDyn(&[1])), Edge::Valid);
    let switched = std::mem::replace(f, stand_in).reducing(r);
    let out = switched.try_image::<F>();
    *f = switched.reducing(built);
    Ok(out?.image)
}

/// One value per window written at its anchor element (0 elsewhere).
pub fn fold_place<F: Real>(
    f: &Fold<IxDyn>,
    values: ArrayView1<'_, F>,
    anchor: Anchor,
) -> Result<ArrayD<F>, PatchError> {
    Ok(f.try_place(&values, anchor)?.image)
}

/// One vector per window (a row of `values`) written at its anchor
/// element: the image's shape plus one axis of the vectors' length.
pub fn fold_place_vectors<F: Real>(
    f: &Fold<IxDyn>,
    values: ArrayView2<'_, F>,
    anchor: Anchor,
) -> Result<ArrayD<F>, PatchError> {
    Ok(f.try_place_vectors(&values, anchor)?.maps)
}

/// scikit-learn's `reconstruct_from_patches_2d` for any number of axes.
pub fn reconstruct<F: Real>(
    rows: ArrayView2<'_, F>,
    shape: &[usize],
    patch: &[usize],
) -> Result<ArrayD<F>, PatchError> {
    try_reconstruct(&rows, IxDyn(shape), IxDyn(patch)).map_err(|e| match e {
        // The crate's name for the argument, renamed as Python users know it.
        PatchError::ShapeMismatch {
            operand: "rows (count)",
            expected,
            found,
        } => PatchError::ShapeMismatch {
            operand: "patches for reconstruct (one per window of image_shape)",
            expected,
            found,
        },
        e => e,
    })
}

//! Every call into the `ndarray-patches` crate made by the binding lives in
//! this module, so that a change of the crate's API is a change here only.
//!
//! Everything here is plain Rust (no Python types): sources are
//! `ArrayViewD`s of one of the element types of [`Elem`], results are owned
//! ndarray arrays. Only fallible (`try_`) paths are called, and every
//! precondition of a panicking method is checked first, so nothing here
//! panics on user input.

use ndarray::{
    Array1, Array2, ArrayD, ArrayView1, ArrayView2, ArrayViewD, ArrayViewMut2, Dimension, IxDyn,
};
use ndarray_patches::prelude::*;
use ndarray_patches::{
    try_reconstruct, Edge, Fold, Pad, PatchError, Patches, Real, Reduction, Sampling, Window,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Patch shape, step and dilation, one entry per axis of the source, and
/// the edge policy of the grid: [`Edge::Shift`] if `shift`, else
/// [`Edge::Valid`] (the padded policies are a valid grid over a padded copy,
/// see [`padded`]).
#[derive(Clone, Debug)]
pub struct Geom {
    pub patch: Vec<usize>,
    pub step: Vec<usize>,
    pub dilation: Vec<usize>,
    pub shift: bool,
}

impl Geom {
    fn window(&self) -> Window<IxDyn> {
        Window::new(IxDyn(&self.patch))
            .step(IxDyn(&self.step))
            .dilation(IxDyn(&self.dilation))
    }
}

type P<'a, A> = Patches<'a, A, IxDyn>;

/// The validated patches of `src`, under the edge of `g`. Every operation
/// builds its patches here, so every one follows the edge.
pub fn patches<'a, A>(src: ArrayViewD<'a, A>, g: &Geom) -> Result<P<'a, A>, PatchError> {
    let p = src
        .try_into_patches(IxDyn(&g.patch))?
        .try_step(IxDyn(&g.step))?
        .try_dilation(IxDyn(&g.dilation))?;
    // `edge` takes Valid and Shift (no padding) and cannot fail on a
    // validated window.
    Ok(if g.shift { p.edge(Edge::Shift) } else { p })
}

/// [`PatchError::ShiftedGrid`] if the windows have no strided view (a last
/// window moved back by [`Edge::Shift`]). The view itself is made by the
/// Python layer; other `try_view` errors (an element count over `isize` on
/// a broadcast source) are not its concern.
pub fn check_strided<A>(src: ArrayViewD<'_, A>, g: &Geom) -> Result<(), PatchError> {
    match patches(src, g)?.try_view() {
        Err(e @ PatchError::ShiftedGrid { .. }) => Err(e),
        _ => Ok(()),
    }
}

/// The grid shape and the number of elements of a patch.
pub fn shape<A>(src: ArrayViewD<'_, A>, g: &Geom) -> Result<(Vec<usize>, usize), PatchError> {
    let p = patches(src, g)?;
    Ok((p.grid().slice().to_vec(), p.patch_len()))
}

/// `start..stop` must be rows of `p` (the crate's `positions` panics
/// otherwise).
fn check_range<A>(p: &P<'_, A>, start: usize, stop: usize) -> Result<(), PatchError> {
    if start <= stop && stop <= p.len() {
        Ok(())
    } else {
        Err(PatchError::RowsOutOfRange {
            start,
            end: stop,
            len: p.len(),
        })
    }
}

/// The element types a source may have: every integer of 8 to 64 bits,
/// `bool`, `f32` and `f64`.
pub trait Elem: Copy + Send + Sync + 'static {}
impl Elem for bool {}
impl Elem for i8 {}
impl Elem for i64 {}
impl Elem for u32 {}
impl Elem for u64 {}
impl Elem for u8 {}
impl Elem for u16 {}
impl Elem for i16 {}
impl Elem for i32 {}
impl Elem for f32 {}
impl Elem for f64 {}

/// Rows of `Self` delivered as rows of `B`.
pub trait Conv<B>: Elem {
    /// Rows of `B` per default chunk: the crate's `default_chunk_rows`,
    /// counted in bytes of `B`.
    fn default_chunk_rows(src: ArrayViewD<'_, Self>, g: &Geom) -> Result<usize, PatchError>;
    /// Rows `start..start + out.nrows()` into `out`.
    fn write_rows(
        src: ArrayViewD<'_, Self>,
        g: &Geom,
        start: usize,
        out: ArrayViewMut2<'_, B>,
    ) -> Result<(), PatchError>;
    /// The rows at `indices`, in that order, as a new matrix.
    fn select(
        src: ArrayViewD<'_, Self>,
        g: &Geom,
        indices: &[usize],
    ) -> Result<Array2<B>, PatchError>;
}

/// `conv!(A => B, |rows| rows_of_B)`: how rows of `A` become rows of `B`.
macro_rules! conv {
    ($($a:ty => $b:ty, |$r:ident| $adapt:expr);* $(;)?) => {$(
        impl Conv<$b> for $a {
            fn default_chunk_rows(src: ArrayViewD<'_, $a>, g: &Geom) -> Result<usize, PatchError> {
                let $r = patches(src, g)?;
                Ok($adapt.default_chunk_rows())
            }
            fn write_rows(
                src: ArrayViewD<'_, $a>,
                g: &Geom,
                start: usize,
                out: ArrayViewMut2<'_, $b>,
            ) -> Result<(), PatchError> {
                let $r = patches(src, g)?;
                $adapt.try_write_rows(start, out)
            }
            fn select(
                src: ArrayViewD<'_, $a>,
                g: &Geom,
                indices: &[usize],
            ) -> Result<Array2<$b>, PatchError> {
                let $r = patches(src, g)?;
                $adapt.try_select(indices)?.try_to_matrix()
            }
        }
    )*};
}

conv!(
    // No conversion: the crate's memcpy paths.
    u8 => u8, |p| p; u16 => u16, |p| p; i16 => i16, |p| p;
    i32 => i32, |p| p; f32 => f32, |p| p; f64 => f64, |p| p;
    bool => bool, |p| p; i8 => i8, |p| p; i64 => i64, |p| p;
    u32 => u32, |p| p; u64 => u64, |p| p;
    // `B: From<A>`.
    i8 => f32, |p| p.cast::<f32>(); i8 => f64, |p| p.cast::<f64>();
    u32 => f64, |p| p.cast::<f64>();
    u8 => f32, |p| p.cast::<f32>(); u8 => f64, |p| p.cast::<f64>();
    u16 => f32, |p| p.cast::<f32>(); u16 => f64, |p| p.cast::<f64>();
    i16 => f32, |p| p.cast::<f32>(); i16 => f64, |p| p.cast::<f64>();
    i32 => f64, |p| p.cast::<f64>(); f32 => f64, |p| p.cast::<f64>();
    // No `From`: numpy's `astype` rounding, during the copy.
    i32 => f32, |p| p.map_elems(|x: i32| x as f32);
    f64 => f32, |p| p.map_elems(|x: f64| x as f32);
    u32 => f32, |p| p.map_elems(|x: u32| x as f32);
    i64 => f32, |p| p.map_elems(|x: i64| x as f32);
    i64 => f64, |p| p.map_elems(|x: i64| x as f64);
    u64 => f32, |p| p.map_elems(|x: u64| x as f32);
    u64 => f64, |p| p.map_elems(|x: u64| x as f64);
    bool => f32, |p| p.map_elems(|x: bool| f32::from(u8::from(x)));
    bool => f64, |p| p.map_elems(|x: bool| f64::from(u8::from(x)));
);

/// The origins of the windows of rows `start..stop`, `(stop - start, ndim)`.
pub fn positions<A>(
    src: ArrayViewD<'_, A>,
    g: &Geom,
    start: usize,
    stop: usize,
) -> Result<Array2<i64>, PatchError> {
    let p = patches(src, g)?;
    check_range(&p, start, stop)?;
    let ndim = p.grid().ndim();
    let mut out = Array2::<i64>::zeros((stop - start, ndim));
    for (mut row, pos) in out
        .rows_mut()
        .into_iter()
        .zip(p.rows(start..stop).positions())
    {
        for (o, &x) in row.iter_mut().zip(pos.origin.slice()) {
            *o = x as i64;
        }
    }
    Ok(out)
}

/// The row of the window whose origin is `origin` (one index per axis of
/// the source), `None` if no window starts there.
pub fn row_of<A>(
    src: ArrayViewD<'_, A>,
    g: &Geom,
    origin: &[usize],
) -> Result<Option<usize>, PatchError> {
    let p = patches(src, g)?;
    Ok(p.row_of(IxDyn(origin)))
}

/// Rows `start..stop` in the order of one shuffled epoch of the crate
/// (`Rows::try_shuffled` with `StdRng::seed_from_u64(seed)`).
pub fn shuffled_order<A>(
    src: ArrayViewD<'_, A>,
    g: &Geom,
    start: usize,
    stop: usize,
    seed: u64,
) -> Result<Vec<usize>, PatchError> {
    let p = patches(src, g)?;
    check_range(&p, start, stop)?;
    let mut rng = StdRng::seed_from_u64(seed);
    Ok(p.rows(start..stop)
        .try_shuffled(&mut rng)?
        .indices()
        .to_vec())
}

/// `n` patches drawn with a seeded `StdRng`: their rows and their contents.
pub fn sample<A: Elem>(
    src: ArrayViewD<'_, A>,
    g: &Geom,
    n: usize,
    seed: u64,
    replace: bool,
    weights: Option<ArrayView1<'_, f64>>,
) -> Result<(Vec<usize>, Array2<A>), PatchError> {
    let p = patches(src, g)?;
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

/// Linear algebra on the virtual patch matrix of a `Self` source in `F`.
pub trait Lin<F: Real>: Elem {
    fn dot(
        src: ArrayViewD<'_, Self>,
        g: &Geom,
        w: ArrayView1<'_, F>,
    ) -> Result<Array1<F>, PatchError>;
    fn matmul(
        src: ArrayViewD<'_, Self>,
        g: &Geom,
        w: ArrayView2<'_, F>,
    ) -> Result<Array2<F>, PatchError>;
    fn t_dot(
        src: ArrayViewD<'_, Self>,
        g: &Geom,
        v: ArrayView1<'_, F>,
    ) -> Result<Array1<F>, PatchError>;
    fn gram(src: ArrayViewD<'_, Self>, g: &Geom) -> Result<Array2<F>, PatchError>;
    fn mean(src: ArrayViewD<'_, Self>, g: &Geom) -> Result<Array1<F>, PatchError>;
    fn covariance(src: ArrayViewD<'_, Self>, g: &Geom) -> Result<Array2<F>, PatchError>;
}

/// `lin!(A => F, |rows| rows_of_F)`: the linear algebra of rows of `A`
/// converted to `F` during the copy (never the whole source converted
/// first).
macro_rules! lin {
    ($($a:ty => $f:ty, |$r:ident| $adapt:expr);* $(;)?) => {$(
        impl Lin<$f> for $a {
            fn dot(src: ArrayViewD<'_, $a>, g: &Geom, w: ArrayView1<'_, $f>)
                -> Result<Array1<$f>, PatchError> {
                let $r = patches(src, g)?;
                $adapt.try_dot(&w)
            }
            fn matmul(src: ArrayViewD<'_, $a>, g: &Geom, w: ArrayView2<'_, $f>)
                -> Result<Array2<$f>, PatchError> {
                let $r = patches(src, g)?;
                $adapt.try_dot(&w)
            }
            fn t_dot(src: ArrayViewD<'_, $a>, g: &Geom, v: ArrayView1<'_, $f>)
                -> Result<Array1<$f>, PatchError> {
                let $r = patches(src, g)?;
                $adapt.try_t_dot(&v)
            }
            fn gram(src: ArrayViewD<'_, $a>, g: &Geom) -> Result<Array2<$f>, PatchError> {
                let $r = patches(src, g)?;
                $adapt.try_gram()
            }
            fn mean(src: ArrayViewD<'_, $a>, g: &Geom) -> Result<Array1<$f>, PatchError> {
                let $r = patches(src, g)?;
                $adapt.try_mean()
            }
            fn covariance(src: ArrayViewD<'_, $a>, g: &Geom) -> Result<Array2<$f>, PatchError> {
                let $r = patches(src, g)?;
                $adapt.try_covariance()
            }
        }
    )*};
}

lin!(
    f32 => f32, |p| p; f64 => f64, |p| p;
    u8 => f32, |p| p.cast::<f32>(); u16 => f32, |p| p.cast::<f32>();
    i16 => f32, |p| p.cast::<f32>();
    u8 => f64, |p| p.cast::<f64>(); u16 => f64, |p| p.cast::<f64>();
    i16 => f64, |p| p.cast::<f64>(); i32 => f64, |p| p.cast::<f64>();
    f32 => f64, |p| p.cast::<f64>();
    i8 => f32, |p| p.cast::<f32>(); i8 => f64, |p| p.cast::<f64>();
    u32 => f64, |p| p.cast::<f64>();
    // No `From`: numpy's `astype` rounding, during the copy.
    i32 => f32, |p| p.map_elems(|x: i32| x as f32);
    f64 => f32, |p| p.map_elems(|x: f64| x as f32);
    u32 => f32, |p| p.map_elems(|x: u32| x as f32);
    i64 => f32, |p| p.map_elems(|x: i64| x as f32);
    i64 => f64, |p| p.map_elems(|x: i64| x as f64);
    u64 => f32, |p| p.map_elems(|x: u64| x as f32);
    u64 => f64, |p| p.map_elems(|x: u64| x as f64);
    bool => f32, |p| p.map_elems(|x: bool| f32::from(u8::from(x)));
    bool => f64, |p| p.map_elems(|x: bool| f64::from(u8::from(x)));
);

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
    Ok(src.try_padded(&g.window(), edge, mode)?.array().clone())
}

/// A reconstruction onto an image of `shape`.
pub fn fold_new(shape: &[usize], g: &Geom, edge: Edge) -> Result<Fold<IxDyn>, PatchError> {
    Fold::try_new(IxDyn(shape), &g.window(), edge)
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

/// The image so far, the mean or the sum of the contributions (they
/// share the fold's accumulator; the fold itself is kept: more rows may
/// follow).
pub fn fold_finish(f: &Fold<IxDyn>, mean: bool) -> Result<ArrayD<f64>, PatchError> {
    let r = if mean {
        Reduction::Mean
    } else {
        Reduction::Sum
    };
    Ok(f.clone().reducing(r).try_finish::<f64>()?.image)
}

/// scikit-learn's `reconstruct_from_patches_2d` for any number of axes.
pub fn reconstruct<F: Real>(
    rows: ArrayView2<'_, F>,
    shape: &[usize],
    patch: &[usize],
) -> Result<ArrayD<F>, PatchError> {
    try_reconstruct(&rows, IxDyn(shape), IxDyn(patch))
}

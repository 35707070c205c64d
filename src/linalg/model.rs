//! The cost model that picks the method of `gram`, `mean`,
//! `covariance`, `dot` and `t_dot` under [`Method::Auto`]: the predicted
//! time of each method, from the sizes that drive it and constants
//! measured on the development machine (re-measure with `cargo test
//! --release --lib calibrate -- --ignored --nocapture`;
//! `benches/README.md` has the figures and the crossovers).
//!
//! GEMM (per row, one thread):
//!
//! ```text
//!   t_row = ROW + COPY * p + MADD_F * p (p + 1) / 2 * (1 + GEMM_SMALL / p)
//! ```
//!
//! with `p` the patch length, `MADD_F` the time of a multiply-add of the
//! symmetric rank-k update in `f32` or `f64` and `GEMM_SMALL / p` its loss
//! on narrow matrices; the mean is `ROW + COPY * p + ADD * p`; `X·W` and
//! `Xᵀ·V` with `k` columns are `ROW + COPY * p + PMADD * p * k` (`PMADD`
//! for a matrix, or for a vector: a matrix-vector product, bound by
//! reading the chunk).
//!
//! Displacement sums (one thread):
//!
//! ```text
//!   t = BLOCK * positions * blocks + LAG * positions * lags
//!     + ROW_BLOCK * row_blocks + ENTRY * entries * (1 + min(tiles, 2))
//!     + LINEAR * positions + CALL
//! ```
//!
//! (`LINEAR_STRIDED` instead of `LINEAR` when some axis has a step: the
//! column sums then run per residue class).
//!
//! `blocks` counts the passes of a vector block of sixteen lags summed over
//! the outer displacements, `lags` those computed per position (dilated
//! last axes, residue classes of few lags), `row_blocks` the rows (all
//! axes but the last) times blocks of either kind (a pass's per-row work,
//! which matters for short last axes), `entries` the compact table
//! (`p (p + 1) / 2`), turned into entries in the tiles that hold the
//! border rows; the column sums' pass is `LINEAR` per position. Both
//! divide by the threads that have work (at most the number of tiles for
//! the displacement sums).
//!
//! FFT (`dot`, `t_dot` with `k` columns, one thread):
//!
//! ```text
//!   t = transforms * FFT * points * log2(points)
//!     + FFT_POINT * tiles * k * points + FFT_TILE * tiles + FFT_CALL
//! ```
//!
//! with `points` those of a tile and `transforms = tiles * (1 + k) + k`
//! for `dot` (the image's per tile, one inverse per tile and column, the
//! columns' spectra) and `tiles * (1 + 2k)` for `t_dot` (a forward and an
//! inverse per tile and column). A step `s` does not shrink it (the
//! correlation is computed at every position of a tile), where GEMM's
//! time falls as `s^ndim`: large steps stay on GEMM. Windows of fewer than
//! `MIN_FFT_PATCH` elements stay on GEMM whatever the model says.

use ndarray::Dimension;

use crate::error::PatchError;
use crate::geometry::Geometry;
use crate::method::Method;

use super::displacement::{effort, Effort};
use super::fft::{effort as fft_effort, FftEffort};

/// The product asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Gram,
    Mean,
    Covariance,
    /// `dot` (`X·W`) with `cols` columns (1 for a vector).
    Dot {
        cols: usize,
    },
    /// `t_dot` (`Xᵀ·V`) with `cols` columns (1 for a vector).
    TDot {
        cols: usize,
    },
}

impl Op {
    /// A product with an operand (`dot`, `t_dot`).
    fn is_product(self) -> bool {
        matches!(self, Op::Dot { .. } | Op::TDot { .. })
    }
}

// Measured on the development machine (2-core Xeon, AVX-512, 2.1 GHz;
// seconds on one thread; re-measured on 2026-12-06, see
// `benches/README.md`). See `calibrate` below.
/// GEMM: per row (chunk bookkeeping, the copy's per-row work).
const ROW: f64 = 15e-9;
/// GEMM: per element copied into a chunk.
const COPY: f64 = 0.25e-9;
/// GEMM: per multiply-add of the rank-k update, `f32` and `f64` (`f64`
/// kept at its measured ratio to `f32` when `f32` was re-measured).
const MADD_F32: f64 = 3.6e-11;
const MADD_F64: f64 = 7.6e-11;
/// GEMM: the rank-k update's loss on narrow chunks, in columns.
const GEMM_SMALL: f64 = 8.0;
/// GEMM mean: per element added.
const ADD: f64 = 0.08e-9;
/// Displacement sums: per position and vector block of lags.
const BLOCK: f64 = 1.07e-9;
/// Displacement sums: per position and lag computed per position.
const LAG: f64 = 0.15e-9;
/// Displacement sums: per row and block of lags.
const ROW_BLOCK: f64 = 0.9e-7;
/// Displacement sums: per entry of the compact table and border tile.
const ENTRY: f64 = 0.95e-8;
/// Displacement sums: the column sums' pass, per position (with a step:
/// `LINEAR_STRIDED`, a pass per residue class).
const LINEAR: f64 = 1.5e-9;
const LINEAR_STRIDED: f64 = 2.75e-9;
/// Displacement sums: per call (plans, allocations).
const CALL: f64 = 50e-6;
/// GEMM products: per multiply-add of `X·W` or `Xᵀ·V`, `f32` and `f64`,
/// with a matrix (`_MAT`) or a vector (`_VEC`: a matrix-vector product,
/// bound by reading the chunk).
const PMADD_MAT_F32: f64 = 6e-11;
const PMADD_MAT_F64: f64 = 1.2e-10;
const PMADD_VEC_F32: f64 = 3e-10;
const PMADD_VEC_F64: f64 = 5e-10;
/// FFT: per point of a tile transform and `log2(points)`, `f32` and `f64`.
const FFT_F32: f64 = 0.26e-9;
const FFT_F64: f64 = 0.45e-9;
/// FFT: per point of a tile and column (products, read-outs, loads).
const FFT_POINT: f64 = 0.65e-9;
/// FFT: per tile (the load and the fixed costs of its transforms).
const FFT_TILE: f64 = 3.3e-6;
/// FFT: per call (plans, buffers).
const FFT_CALL: f64 = 100e-6;
/// Under `Auto`, windows of fewer elements stay on GEMM: a 3x3 `X·w` on
/// a 512x512 image took 7.4 ms by FFT against 5.5 ms by GEMM.
const MIN_FFT_PATCH: usize = 16;

/// The predicted seconds of the GEMM path for `op` on `rows` rows of
/// `geom`'s patches, elements of `elem_bytes` bytes, on `threads` threads.
pub(super) fn gemm_seconds<D: Dimension>(
    geom: &Geometry<D>,
    rows: usize,
    op: Op,
    elem_bytes: usize,
    threads: usize,
) -> f64 {
    let (n, p) = (rows as f64, geom.patch_len() as f64);
    let madd = if elem_bytes == 4 { MADD_F32 } else { MADD_F64 };
    let f32 = elem_bytes == 4;
    let row = match op {
        Op::Mean => ROW + COPY * p + ADD * p,
        Op::Dot { cols } | Op::TDot { cols } => {
            let pmadd = match (cols > 1, f32) {
                (true, true) => PMADD_MAT_F32,
                (true, false) => PMADD_MAT_F64,
                (false, true) => PMADD_VEC_F32,
                (false, false) => PMADD_VEC_F64,
            };
            ROW + COPY * p + pmadd * p * cols as f64
        }
        _ => ROW + COPY * p + madd * p * (p + 1.0) / 2.0 * (1.0 + GEMM_SMALL / p),
    };
    n * row / threads.max(1) as f64
}

/// The predicted seconds of the displacement sums for `op` on all the
/// windows of `geom`, on `threads` threads.
pub(super) fn displacement_seconds<D: Dimension>(
    geom: &Geometry<D>,
    op: Op,
    threads: usize,
) -> f64 {
    let e: Effort = effort(geom, threads);
    let busy = threads.min(e.tiles).max(1) as f64;
    let linear = if e.strided { LINEAR_STRIDED } else { LINEAR } * e.positions;
    let gram = BLOCK * e.positions * e.blocks
        + LAG * e.positions * e.lags
        + ROW_BLOCK * e.row_blocks
        + ENTRY * e.entries * (1.0 + e.tiles.min(2) as f64);
    let work = match op {
        Op::Mean => linear,
        Op::Gram => gram,
        _ => gram + linear,
    };
    work / busy + CALL
}

/// The predicted seconds of the FFT correlations for `op` (`Dot` or
/// `TDot`) on all the windows of `geom`, elements of `elem_bytes` bytes,
/// on `threads` threads: per tile, the image's transform and per column
/// one inverse (`dot`) or a forward and an inverse (`t_dot`), plus the
/// filters' transforms; each transform `FFT x points x log2(points)`, each
/// point of a tile and column `FFT_POINT`.
pub(super) fn fft_seconds<D: Dimension>(
    geom: &Geometry<D>,
    op: Op,
    elem_bytes: usize,
    threads: usize,
) -> f64 {
    let (cols, per_col) = match op {
        Op::Dot { cols } => (cols as f64, 1.0),
        Op::TDot { cols } => (cols as f64, 2.0),
        _ => return f64::INFINITY,
    };
    let e: FftEffort = fft_effort(geom);
    let (tiles, points) = (e.tiles as f64, e.points as f64);
    let fft = if elem_bytes == 4 { FFT_F32 } else { FFT_F64 };
    let transform = points * (fft * points.max(2.0).log2());
    let transforms = tiles * (1.0 + per_col * cols) + if per_col == 1.0 { cols } else { 0.0 };
    let work = transforms * transform + tiles * cols * points * FFT_POINT + tiles * FFT_TILE;
    let busy = threads.min(e.tiles).max(1) as f64;
    work / busy + FFT_CALL
}

/// The method that computes `op` on these rows: `Gemm`,
/// `Displacement` or `Fft`. `all`: the rows are all the windows, in order.
///
/// # Errors
///
/// [`PatchError::MethodUnavailable`] if `Displacement` or `Fft` is forced
/// where it does not apply.
pub(super) fn resolve<D: Dimension>(
    method: Method,
    geom: &Geometry<D>,
    all: bool,
    op: Op,
    elem_bytes: usize,
) -> Result<Method, PatchError> {
    match method {
        Method::Gemm => Ok(Method::Gemm),
        Method::Displacement if op.is_product() => Err(PatchError::MethodUnavailable {
            method: method.name(),
            needs: "a Gram matrix, mean or covariance (dot and t_dot are GEMM or FFT products)",
        }),
        Method::Fft if !op.is_product() => Err(PatchError::MethodUnavailable {
            method: method.name(),
            needs: "a product with an operand (dot, t_dot), not a Gram matrix, mean or covariance",
        }),
        Method::Displacement | Method::Fft if !all => Err(PatchError::MethodUnavailable {
            method: method.name(),
            needs: "all the windows (rows 0..len), not a range of rows or an index set",
        }),
        Method::Displacement | Method::Fft => Ok(method),
        _ if !all => Ok(Method::Gemm),
        _ if op.is_product() && geom.patch_len() < MIN_FFT_PATCH => Ok(Method::Gemm),
        _ if op.is_product() => {
            let threads = rayon::current_num_threads();
            let gemm = gemm_seconds(geom, geom.len(), op, elem_bytes, threads);
            let fft = fft_seconds(geom, op, elem_bytes, threads);
            Ok(if fft < gemm {
                Method::Fft
            } else {
                Method::Gemm
            })
        }
        _ => {
            let threads = rayon::current_num_threads();
            let gemm = gemm_seconds(geom, geom.len(), op, elem_bytes, threads);
            let disp = displacement_seconds(geom, op, threads);
            Ok(if disp < gemm {
                Method::Displacement
            } else {
                Method::Gemm
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use ndarray::{ArrayD, IxDyn};

    use super::{displacement_seconds, effort, fft_effort, fft_seconds, gemm_seconds, Op};
    use crate::method::Method;
    use crate::PatchExt;

    fn best<T>(reps: usize, f: impl Fn() -> T) -> f64 {
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    }

    /// The model's choice for square windows on a 1024 x 1024 image, by
    /// patch size and step (f32 gram, two threads): the crossovers in
    /// `benches/README.md`. `cargo test --release --lib crossovers --
    /// --ignored --nocapture`.
    #[test]
    #[ignore = "a table, not a test"]
    fn crossovers() {
        let img = ndarray::Array2::<f32>::zeros((1024, 1024));
        print!("{:>6}", "k \\ s");
        for s in 1..=8 {
            print!("{s:>6}");
        }
        println!();
        for k in [2usize, 3, 4, 5, 8, 12, 16, 24, 32, 39, 64] {
            print!("{k:>6}");
            for s in 1..=8 {
                let p = img.patches((k, k)).step((s, s));
                let g = p.geometry();
                let d = displacement_seconds(g, Op::Gram, 2);
                let m = gemm_seconds(g, g.len(), Op::Gram, 4, 2);
                print!(
                    "{:>6}",
                    if d < m {
                        format!("D{:.0}", m / d)
                    } else {
                        format!("G{:.0}", d / m)
                    }
                );
            }
            println!();
        }
    }

    /// The model's choice for `dot` (`f32`, a vector and 16 columns, two
    /// threads) on a 1024 x 1024 image, by square window and step: the
    /// FFT crossovers in `benches/README.md`. `cargo test --release --lib
    /// fft_crossovers -- --ignored --nocapture`.
    #[test]
    #[ignore = "a table, not a test"]
    fn fft_crossovers() {
        let img = ndarray::Array2::<f32>::zeros((1024, 1024));
        for (name, op) in [
            ("dot, a vector", Op::Dot { cols: 1 }),
            ("dot, 16 columns", Op::Dot { cols: 16 }),
            ("t_dot, 16 columns", Op::TDot { cols: 16 }),
        ] {
            println!("{name}: F = FFT, G = GEMM, and the predicted speed-up");
            print!("{:>6}", "k \\ s");
            for s in 1..=4 {
                print!("{s:>6}");
            }
            println!();
            for k in [2usize, 3, 4, 5, 6, 8, 12, 16, 24, 32, 39, 64] {
                print!("{k:>6}");
                for s in 1..=4 {
                    let p = img.patches((k, k)).step((s, s));
                    let g = p.geometry();
                    let f = fft_seconds(g, op, 4, 2);
                    let m = gemm_seconds(g, g.len(), op, 4, 2);
                    print!(
                        "{:>6}",
                        if f < m {
                            format!("F{:.0}", m / f)
                        } else {
                            format!("G{:.0}", f / m)
                        }
                    );
                }
                println!();
            }
        }
    }

    /// The measurements behind the constants: both methods on one thread,
    /// beside the model's predictions and sizes. Run on a quiet machine:
    /// `cargo test --release --lib calibrate -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a test"]
    fn calibrate() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let noise = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|i| ((i * 2654435761) % 1000) as f32 / 1000.0)
                .collect()
        };
        /// (shape, patch, step, dilation, time GEMM too)
        type Case<'a> = (&'a [usize], &'a [usize], usize, usize, bool);
        let cases: &[Case<'_>] = &[
            (&[1024, 1024], &[2, 2], 1, 1, true),
            (&[1024, 1024], &[3, 3], 1, 1, true),
            (&[1024, 1024], &[5, 5], 1, 1, true),
            (&[512, 512], &[8, 8], 1, 1, true),
            (&[512, 512], &[12, 12], 1, 1, true),
            (&[256, 256], &[16, 16], 1, 1, true),
            (&[200, 200], &[24, 24], 1, 1, true),
            (&[160, 160], &[39, 39], 1, 1, true),
            (&[1024, 1024], &[16, 16], 1, 1, false),
            (&[768, 768], &[39, 39], 1, 1, false),
            (&[512, 512], &[8, 8], 2, 1, true),
            (&[512, 512], &[8, 8], 4, 1, true),
            (&[512, 512], &[16, 16], 2, 1, true),
            (&[512, 512], &[16, 16], 4, 1, true),
            (&[512, 512], &[16, 16], 8, 1, true),
            (&[512, 512], &[16, 16], 16, 1, true),
            (&[512, 512], &[32, 32], 8, 1, true),
            (&[512, 512], &[8, 8], 1, 2, true),
            (&[1 << 20], &[64], 1, 1, true),
            (&[64, 64, 64], &[5, 5, 5], 1, 1, true),
            (&[256, 256, 3], &[8, 8, 3], 1, 1, true),
        ];
        println!(
            "{:>16} {:>9} {:>6} {:>5} | {:>9} {:>7} {:>7} {:>9} {:>5} | {:>9} {:>9} | {:>9} {:>9} | {:>9} {:>9} {:>9} {:>9}",
            "shape", "patch", "step", "dil", "positions", "blocks", "lags", "entries", "tiles",
            "gram disp", "model", "gram gemm", "model", "mean disp", "model", "mean gemm", "model"
        );
        pool.install(|| {
            for &(shape, patch, step, dil, gemm) in cases {
                let n: usize = shape.iter().product();
                let img = ArrayD::from_shape_vec(IxDyn(shape), noise(n)).unwrap();
                let p = img
                    .patches(IxDyn(patch))
                    .step(IxDyn(&vec![step; patch.len()]))
                    .dilation(IxDyn(&vec![dil; patch.len()]));
                let geom = p.geometry();
                let e = effort(geom, 1);
                let td = best(3, || p.method(Method::Displacement).gram());
                let tg = if gemm {
                    best(1, || p.method(Method::Gemm).gram())
                } else {
                    f64::NAN
                };
                let tmd = best(3, || p.method(Method::Displacement).mean());
                let tmg = best(3, || p.method(Method::Gemm).mean());
                println!(
                    "{:>16} {:>9} {:>6} {:>5} | {:>9.0} {:>7.0} {:>7.0} {:>9.0} {:>5} | {:>9.5} {:>9.5} | {:>9.5} {:>9.5} | {:>9.5} {:>9.5} {:>9.5} {:>9.5}",
                    format!("{shape:?}"),
                    format!("{patch:?}"),
                    step,
                    dil,
                    e.positions,
                    e.blocks,
                    e.lags,
                    e.entries,
                    e.tiles,
                    td,
                    displacement_seconds(geom, Op::Gram, 1),
                    tg,
                    gemm_seconds(geom, geom.len(), Op::Gram, 4, 1),
                    tmd,
                    displacement_seconds(geom, Op::Mean, 1),
                    tmg,
                    gemm_seconds(geom, geom.len(), Op::Mean, 4, 1),
                );
            }
        });
    }

    /// The measurements behind the products' constants: `dot` and `t_dot`
    /// by GEMM and by FFT on one thread, `f32` and `f64`, a vector and 16
    /// columns, beside the model's predictions. `cargo test --release
    /// --lib calibrate_products -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a test"]
    fn calibrate_products() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        /// (shape, patch, step)
        type Case<'a> = (&'a [usize], &'a [usize], usize);
        let cases: &[Case<'_>] = &[
            (&[512, 512], &[3, 3], 1),
            (&[512, 512], &[5, 5], 1),
            (&[512, 512], &[8, 8], 1),
            (&[512, 512], &[12, 12], 1),
            (&[512, 512], &[16, 16], 1),
            (&[384, 384], &[24, 24], 1),
            (&[384, 384], &[39, 39], 1),
            (&[768, 768], &[39, 39], 1),
            (&[512, 512], &[16, 16], 2),
            (&[512, 512], &[16, 16], 4),
            (&[1 << 18], &[64], 1),
            (&[64, 64, 64], &[5, 5, 5], 1),
        ];
        println!(
            "{:>12} {:>9} {:>4} {:>4} {:>3} {:>3} | {:>6} {:>7} | {:>9} {:>9} | {:>9} {:>9} | {:>9} {:>9} | {:>9} {:>9}",
            "shape", "patch", "step", "elem", "k", "op", "tiles", "points",
            "dot gemm", "model", "dot fft", "model", "t gemm", "model", "t fft", "model"
        );
        pool.install(|| {
            for &(shape, patch, step) in cases {
                let n: usize = shape.iter().product();
                let img = ArrayD::from_shape_fn(IxDyn(shape), |i| {
                    let k = ndarray::Dimension::slice(&i).iter().fold(0usize, |a, &x| a * 31 + x);
                    ((k * 2654435761) % 1000) as f32 / 1000.0
                });
                assert_eq!(img.len(), n);
                let p = img
                    .patches(IxDyn(patch))
                    .step(IxDyn(&vec![step; patch.len()]));
                let geom = p.geometry();
                let e = fft_effort(geom);
                let pl = geom.patch_len();
                for bytes in [4usize, 8] {
                    for k in [1usize, 16] {
                        let w = ndarray::Array2::<f64>::from_elem((pl, k), 0.5);
                        let v = ndarray::Array2::<f64>::from_elem((p.len(), k), 0.5);
                        let reps = 2;
                        let (tg, tf, tgt, tft) = if bytes == 4 {
                            let q = p.cast::<f32>();
                            let (w, v) = (w.mapv(|x| x as f32), v.mapv(|x| x as f32));
                            let (w1, v1) = (w.column(0).to_owned(), v.column(0).to_owned());
                            if k == 1 {
                                (
                                    best(reps, || q.method(Method::Gemm).dot(&w1)),
                                    best(reps, || q.method(Method::Fft).dot(&w1)),
                                    best(reps, || q.method(Method::Gemm).t_dot(&v1)),
                                    best(reps, || q.method(Method::Fft).t_dot(&v1)),
                                )
                            } else {
                                (
                                    best(reps, || q.method(Method::Gemm).dot(&w)),
                                    best(reps, || q.method(Method::Fft).dot(&w)),
                                    best(reps, || q.method(Method::Gemm).t_dot(&v)),
                                    best(reps, || q.method(Method::Fft).t_dot(&v)),
                                )
                            }
                        } else {
                            let q = p.cast::<f64>();
                            let (w1, v1) = (w.column(0).to_owned(), v.column(0).to_owned());
                            if k == 1 {
                                (
                                    best(reps, || q.method(Method::Gemm).dot(&w1)),
                                    best(reps, || q.method(Method::Fft).dot(&w1)),
                                    best(reps, || q.method(Method::Gemm).t_dot(&v1)),
                                    best(reps, || q.method(Method::Fft).t_dot(&v1)),
                                )
                            } else {
                                (
                                    best(reps, || q.method(Method::Gemm).dot(&w)),
                                    best(reps, || q.method(Method::Fft).dot(&w)),
                                    best(reps, || q.method(Method::Gemm).t_dot(&v)),
                                    best(reps, || q.method(Method::Fft).t_dot(&v)),
                                )
                            }
                        };
                        let (dot, tdot) = (Op::Dot { cols: k }, Op::TDot { cols: k });
                        println!(
                            "{:>12} {:>9} {:>4} {:>4} {:>3} {:>3} | {:>6} {:>7} | {:>9.5} {:>9.5} | {:>9.5} {:>9.5} | {:>9.5} {:>9.5} | {:>9.5} {:>9.5}",
                            format!("{shape:?}"),
                            format!("{patch:?}"),
                            step,
                            bytes,
                            k,
                            "",
                            e.tiles,
                            e.points,
                            tg,
                            gemm_seconds(geom, geom.len(), dot, bytes, 1),
                            tf,
                            fft_seconds(geom, dot, bytes, 1),
                            tgt,
                            gemm_seconds(geom, geom.len(), tdot, bytes, 1),
                            tft,
                            fft_seconds(geom, tdot, bytes, 1),
                        );
                    }
                }
            }
        });
    }
}

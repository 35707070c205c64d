//! Whole-image patch PCA: the exact mean and covariance of *every* 16x16 and
//! every 39x39 window of the bundled `camera.png`, their principal
//! components, and every window's projection onto them, with the patch
//! matrix never built.
//!
//! ```text
//! cargo run --release --example patch_pca --features patch_pca
//! cargo run --release --example patch_pca --features patch_pca -- --out DIR --sizes 8,16 --components 16
//! cargo run --release --example patch_pca --features patch_pca -- --no-gemm-covariance --full-eigen
//! ```
//!
//! For each window size `k` (default 16 and 39; 247,009 and 224,676 windows
//! of the 512x512 photograph, a 253 MB and a 1.4 GB `f32` patch matrix):
//!
//! 1. `mean()` and `covariance()` of all the windows in `f64`, timed as the
//!    cost model picks (`Method::Auto`: displacement sums for these
//!    windows) and with GEMM forced (`Method::Gemm`: cache-sized chunks of
//!    the rows through a GEMM), and the largest difference between the two.
//!    The GEMM covariance of the 39x39 windows takes tens of seconds here:
//!    `--no-gemm-covariance` skips it.
//! 2. The top `K` (default 16) eigenvectors of the `k² x k²` covariance,
//!    by subspace iteration with Rayleigh-Ritz on a block of `2K` vectors
//!    (nalgebra's QR and `SymmetricEigen` of the small `2K x 2K` problem;
//!    nalgebra is this example's one optional crate, feature `patch_pca`),
//!    to a residual `‖C·v - λ·v‖ < 1e-10 λ₁`, each signed so that its
//!    largest entry is positive. `--full-eigen` also runs nalgebra's full
//!    `SymmetricEigen` (about 13 s for the 1521x1521 matrix on the
//!    development machine, where subspace iteration takes well under one)
//!    and prints how far apart the two are. The components are written as
//!    a PNG mosaic (`components_KxK.png`, each tile stretched from its
//!    smallest entry, black, to its largest, white). Natural images give a
//!    smooth blob first (the local mean), then oriented edges and bars,
//!    DCT-like, at rising frequencies.
//! 3. Every window's projection onto those `K` components, `(X - 1μᵀ)·V`
//!    (`dot` with a `k² x K` matrix: one map per component, shaped like the
//!    grid of windows), timed (best of two runs) under `Method::Auto` (the
//!    FFT path once the cost model has it, GEMM before) and `Method::Gemm`,
//!    written as a PNG mosaic of the `K` maps (`projections_KxK.png`, half
//!    resolution, mid-grey = 0, each map clipped at its 99.5th percentile of
//!    `|y|`).
//!
//! Files go to `target/patch_pca/` at the repository's root unless
//! `--out DIR` says where. `python/examples/patch_pca.py` does the same with
//! numpy's `eigh`, beside scikit-learn's `PCA` on a random sample of windows.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use ndarray::{s, Array1, Array2, ArrayView2, Dimension};
use ndarray_patches::prelude::*;
use ndarray_patches::Method;

/// What the command line asks for.
#[derive(Debug)]
struct Args {
    /// Where the PNGs go.
    out: PathBuf,
    /// Window sides, one run each.
    sizes: Vec<usize>,
    /// Components shown and projected on.
    components: usize,
    /// Skip the (slow) GEMM covariance.
    no_gemm_covariance: bool,
    /// Also run nalgebra's full eigendecomposition and compare.
    full_eigen: bool,
}

/// Parses `--out DIR`, `--sizes A,B,..`, `--components K`,
/// `--no-gemm-covariance` and `--full-eigen`.
fn parse_args() -> Result<Args, Box<dyn std::error::Error>> {
    let mut args = Args {
        out: common::out_dir("patch_pca"),
        sizes: vec![16, 39],
        components: 16,
        no_gemm_covariance: false,
        full_eigen: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--out" => args.out = PathBuf::from(value()?),
            "--sizes" => {
                args.sizes = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--components" => args.components = value()?.parse()?,
            "--no-gemm-covariance" => args.no_gemm_covariance = true,
            "--full-eigen" => args.full_eigen = true,
            _ => {
                return Err(format!(
                    "unknown argument {a:?} (--out DIR, --sizes 16,39, --components K, \
                     --no-gemm-covariance, --full-eigen)"
                )
                .into())
            }
        }
    }
    if args.components == 0 {
        return Err("--components must be at least 1".into());
    }
    Ok(args)
}

/// Runs `f` and returns its result with the seconds it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed().as_secs_f64())
}

/// Runs `f` twice; the second result and the shorter time.
fn best_of_two<T>(mut f: impl FnMut() -> T) -> (T, f64) {
    let (_, first) = timed(&mut f);
    let (r, second) = timed(f);
    (r, first.min(second))
}

/// The largest `|a - b|` relative to the largest `|b|`.
fn rel_diff<'a>(
    a: impl IntoIterator<Item = &'a f64>,
    b: impl IntoIterator<Item = &'a f64> + Clone,
) -> f64 {
    let scale = b.clone().into_iter().fold(0.0f64, |m, x| m.max(x.abs()));
    a.into_iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

/// Flips each column so that its largest entry is positive (the same rule
/// as the Python example): eigenvectors are defined up to their sign.
fn fix_signs(vectors: &mut Array2<f64>) {
    for mut v in vectors.columns_mut() {
        let big = v
            .iter()
            .fold(0.0f64, |m, &x| if x.abs() > m.abs() { x } else { m });
        if big < 0.0 {
            v.mapv_inplace(|x| -x);
        }
    }
}

/// nalgebra's eigendecomposition of a symmetric matrix, eigenvalues in
/// descending order and eigenvectors (columns) in the same order.
fn sorted_eigen(a: nalgebra::DMatrix<f64>) -> (Vec<f64>, nalgebra::DMatrix<f64>) {
    let n = a.nrows();
    let eig = nalgebra::SymmetricEigen::new(a);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let values = order.iter().map(|&i| eig.eigenvalues[i]).collect();
    let vectors = nalgebra::DMatrix::from_fn(n, n, |r, c| eig.eigenvectors[(r, order[c])]);
    (values, vectors)
}

/// All the eigenvalues (descending) and eigenvectors (columns, in the same
/// order, signed by [`fix_signs`]) of a symmetric matrix: nalgebra's
/// `SymmetricEigen` (`--full-eigen`; slow for 1521x1521).
fn full_eigen(cov: &Array2<f64>) -> (Array1<f64>, Array2<f64>) {
    let n = cov.nrows();
    let (values, v) = sorted_eigen(nalgebra::DMatrix::from_fn(n, n, |i, j| cov[[i, j]]));
    let mut vectors = Array2::from_shape_fn((n, n), |(r, c)| v[(r, c)]);
    fix_signs(&mut vectors);
    (Array1::from(values), vectors)
}

/// What [`top_eigen`] found.
#[derive(Debug)]
struct Top {
    /// The `k` largest eigenvalues, descending.
    values: Array1<f64>,
    /// Their eigenvectors (columns), signed by [`fix_signs`].
    vectors: Array2<f64>,
    /// Iterations run.
    iterations: usize,
    /// `max ‖C·v - λ·v‖ / λ₁` over the `k` pairs.
    residual: f64,
}

/// A reproducible start for [`top_eigen`]: SplitMix64 of `i`, in `[-0.5, 0.5)`.
fn splitmix(i: u64) -> f64 {
    let mut z = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

/// The `k` largest eigenpairs of a symmetric positive semi-definite matrix
/// `C` by subspace iteration with Rayleigh-Ritz: a block `Q` of `m = 2k`
/// orthonormal columns (at least `k + 8`), then, until every pair's
/// residual is below `1e-10 x λ₁`: `Z = C·Q`, the `m x m` eigenproblem of
/// `QᵀZ` (nalgebra's `SymmetricEigen`), Ritz vectors `Q·S`, and
/// `Q ← qr(Z·S)`. Pair `i` converges like `(λ_m+1 / λ_i)^iterations`
/// whatever the gap between `λ_k` and `λ_k+1`: 20 iterations for the
/// 39x39 windows of `camera.png` (`λ₃₃ / λ₁₆ = 0.39`), each a
/// `1521 x 1521` by `1521 x 32` product. nalgebra's full `SymmetricEigen`
/// of the 1521x1521 matrix takes about 13 s (`--full-eigen` runs it and
/// compares).
fn top_eigen(cov: &Array2<f64>, k: usize) -> Top {
    const TOLERANCE: f64 = 1e-10;
    const MAX_ITERATIONS: usize = 1000;
    let n = cov.nrows();
    let m = (2 * k).max(k + 8).min(n);
    let c = nalgebra::DMatrix::from_fn(n, n, |i, j| cov[[i, j]]);
    let start = nalgebra::DMatrix::from_fn(n, m, |i, j| splitmix((i * m + j) as u64));
    let mut q = start.qr().q();
    let mut iterations = 0;
    loop {
        iterations += 1;
        let z = &c * &q;
        let h = q.transpose() * &z;
        let (theta, s) = sorted_eigen((&h + h.transpose()) * 0.5);
        let x = &q * &s; // Ritz vectors
        let cx = &z * &s; // C·x
        let residual = (0..k)
            .map(|j| (cx.column(j) - x.column(j) * theta[j]).norm())
            .fold(0.0f64, f64::max)
            / theta[0];
        if residual < TOLERANCE || iterations == MAX_ITERATIONS || m == n {
            let mut vectors = Array2::from_shape_fn((n, k), |(r, c)| x[(r, c)]);
            fix_signs(&mut vectors);
            return Top {
                values: theta[..k].iter().copied().collect(),
                vectors,
                iterations,
                residual,
            };
        }
        q = cx.qr().q();
    }
}

/// Signed values to grey levels: `0` is mid-grey, `±limit` black and white.
fn signed_to_u8(a: ArrayView2<'_, f64>, limit: f64) -> Array2<u8> {
    let limit = if limit > 0.0 { limit } else { 1.0 };
    a.mapv(|x| (127.5 + 127.5 * (x / limit).clamp(-1.0, 1.0)).round() as u8)
}

/// Each value's place between the smallest (black) and the largest (white).
fn stretch_to_u8(a: ArrayView2<'_, f64>) -> Array2<u8> {
    let lo = a.iter().fold(f64::INFINITY, |m, &x| m.min(x));
    let hi = a.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
    let span = if hi > lo { hi - lo } else { 1.0 };
    a.mapv(|x| (255.0 * (x - lo) / span).round() as u8)
}

/// Tiles of equal shape in a grid of `cols` columns, each enlarged `scale`
/// times (nearest neighbour), `gap` white pixels between and around them.
fn mosaic(tiles: &[Array2<u8>], cols: usize, scale: usize, gap: usize) -> Array2<u8> {
    let (h, w) = tiles[0].dim();
    let (th, tw) = (h * scale, w * scale);
    let rows = tiles.len().div_ceil(cols);
    let cols = cols.min(tiles.len());
    let mut out = Array2::from_elem((rows * (th + gap) + gap, cols * (tw + gap) + gap), 255u8);
    for (t, tile) in tiles.iter().enumerate() {
        let (y0, x0) = (gap + (t / cols) * (th + gap), gap + (t % cols) * (tw + gap));
        let mut dst = out.slice_mut(s![y0..y0 + th, x0..x0 + tw]);
        dst.indexed_iter_mut()
            .for_each(|((y, x), v)| *v = tile[[y / scale, x / scale]]);
    }
    out
}

/// The mean of each 2x2 block (a half-resolution map; odd edges dropped).
fn half(a: ArrayView2<'_, f64>) -> Array2<f64> {
    let (h, w) = (a.nrows() / 2, a.ncols() / 2);
    Array2::from_shape_fn((h, w), |(y, x)| {
        a.slice(s![2 * y..2 * y + 2, 2 * x..2 * x + 2]).sum() / 4.0
    })
}

/// The `q`-quantile of `|values|` (nearest rank).
fn abs_quantile(values: impl Iterator<Item = f64>, q: f64) -> f64 {
    let mut v: Vec<f64> = values.map(f64::abs).collect();
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * q).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    std::fs::create_dir_all(&args.out)?;
    let img = common::read_gray(&common::data("camera.png"))?;
    println!(
        "image    camera.png {:?} u8; {} rayon threads; writing to {}",
        img.dim(),
        rayon::current_num_threads(),
        args.out.display()
    );

    for &k in &args.sizes {
        let p = img.try_patches((k, k))?;
        let (n, pl) = (p.len(), p.patch_len());
        let (gh, gw) = p.grid().into_pattern();
        let kc = args.components.min(pl);
        println!(
            "\n{k}x{k}    {n} windows of {pl} values (grid {gh}x{gw}); the f32 patch matrix \
             would be {}",
            common::bytes(n.saturating_mul(pl).saturating_mul(4))
        );

        // 1. Exact mean and covariance of every window, in f64.
        let rows = p.cast::<f64>();
        let ((mean, cov), t_auto) = timed(|| (rows.mean(), rows.covariance()));
        println!("moments  mean + covariance, Method::Auto  {t_auto:8.3} s");
        if args.no_gemm_covariance {
            println!("moments  mean + covariance, Method::Gemm  (skipped: --no-gemm-covariance)");
        } else {
            let gemm = rows.method(Method::Gemm);
            let ((mean_g, cov_g), t_gemm) = timed(|| (gemm.mean(), gemm.covariance()));
            println!(
                "moments  mean + covariance, Method::Gemm  {t_gemm:8.3} s  ({:.0}x slower); \
                 largest difference: mean {:.1e}, covariance {:.1e} (relative)",
                t_gemm / t_auto,
                rel_diff(&mean, &mean_g),
                rel_diff(&cov, &cov_g)
            );
        }

        // 2. Principal components: the top kc eigenpairs.
        let (top, t_eig) = timed(|| top_eigen(&cov, kc));
        let total = cov.diag().sum(); // the sum of all the eigenvalues
        let values = &top.values;
        println!(
            "eigen    top {kc} of {pl}x{pl} by subspace iteration    {t_eig:8.3} s ({} iterations, \
             residual {:.1e}); they hold {:.1}% of the variance (first three: {})",
            top.iterations,
            top.residual,
            100.0 * values.sum() / total,
            values
                .iter()
                .take(3)
                .map(|v| format!("{:.1}%", 100.0 * v / total))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let basis = top.vectors;
        if args.full_eigen {
            let ((all_values, all_vectors), t_full) = timed(|| full_eigen(&cov));
            let worst = (0..kc)
                .map(|j| 1.0 - basis.column(j).dot(&all_vectors.column(j)).abs())
                .fold(0.0f64, f64::max);
            println!(
                "eigen    nalgebra SymmetricEigen of all {pl}x{pl}        {t_full:8.3} s; top {kc} \
                 eigenvalues within {:.1e} (relative), eigenvectors' 1 - |cos| at most {worst:.1e}",
                rel_diff(values, &all_values.slice(s![..kc]).to_owned())
            );
        }
        let tiles: Vec<Array2<u8>> = basis
            .columns()
            .into_iter()
            .map(|v| {
                let v = v.to_owned().into_shape_with_order((k, k)).expect("k*k");
                stretch_to_u8(v.view())
            })
            .collect();
        let scale = (80 / k).max(1);
        let path = args.out.join(format!("components_{k}x{k}.png"));
        common::write_gray(&path, &mosaic(&tiles, 8, scale, 4).view())?;
        println!("wrote    {}", path.display());

        // 3. Every window's projection onto the components: (X - 1μᵀ)·V.
        let w32 = basis.mapv(|x| x as f32);
        let offset = mean.dot(&basis);
        let rows32 = p.cast::<f32>();
        // The best of two runs each: the machine is shared and noisy.
        let (y, t_auto) = best_of_two(|| rows32.dot(&w32));
        let (y_gemm, t_gemm) = best_of_two(|| rows32.method(Method::Gemm).dot(&w32));
        let diff = y
            .iter()
            .zip(&y_gemm)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()))
            / y_gemm.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        println!(
            "project  X·V, {n}x{pl} by {pl}x{kc} (f32), best of 2: Method::Auto {t_auto:8.3} s; \
             Method::Gemm {t_gemm:8.3} s (Gemm/Auto {:.2}); largest difference {diff:.1e} (relative)",
            t_gemm / t_auto
        );
        let maps: Vec<Array2<u8>> = (0..kc)
            .map(|c| {
                let col = y.column(c).mapv(|v| f64::from(v) - offset[c]);
                let map = col.into_shape_with_order((gh, gw)).expect("grid");
                let limit = abs_quantile(map.iter().copied(), 0.995);
                signed_to_u8(half(map.view()).view(), limit)
            })
            .collect();
        let path = args.out.join(format!("projections_{k}x{k}.png"));
        common::write_gray(&path, &mosaic(&maps, 4, 1, 4).view())?;
        println!("wrote    {}", path.display());

        // The first component is the smooth, one-signed blob of the local mean.
        let first = basis.column(0);
        println!(
            "first    component: {} of its {pl} entries positive (smallest {:.4}, largest {:.4})",
            first.iter().filter(|&&x| x > 0.0).count(),
            first.iter().fold(f64::INFINITY, |m, &x| m.min(x)),
            first.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x))
        );
    }
    if let Some(rss) = common::peak_rss() {
        println!("\nmemory   peak {} resident", common::bytes(rss));
    }
    Ok(())
}

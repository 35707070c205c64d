//! PCA denoising with a basis learned from the virtual covariance of every
//! 8x8 patch.
//!
//! ```text
//! cargo run --release --example denoise --features denoise [SIGMA]
//! ```
//!
//! Adds Gaussian noise (default sigma 0.1) to the bundled `camera.png`,
//! learns the principal components of its 8x8 patches from `covariance()`
//! (never building the patch matrix), keeps the components whose variance
//! stands above the noise, projects every patch on them (`for_each_chunk`
//! with the projector), and averages the overlapping projected patches back
//! into an image with a `Fold`. Writes `target/denoise/noisy.png` and
//! `target/denoise/denoised.png`, prints the PSNR of both and the peak memory.

mod common;

use ndarray::{Array1, Array2};
use ndarray_patches::prelude::*;
use ndarray_patches::{Edge, Fold};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sigma = std::env::args()
        .nth(1)
        .map(|a| a.parse::<f32>())
        .transpose()?
        .unwrap_or(0.1);
    let k = 8;

    let clean = common::read_gray(&common::data("camera.png"))?.mapv(|x| x as f32 / 255.0);
    let noisy = common::add_noise(&clean, sigma, 1);
    let p = noisy.try_patches((k, k))?;

    // Principal components from the virtual covariance (64 x 64).
    let mean: Array1<f64> = p.cast::<f64>().mean();
    let cov: Array2<f64> = p.cast::<f64>().covariance();
    let n = p.patch_len();
    let eig = nalgebra::SymmetricEigen::new(nalgebra::DMatrix::from_fn(n, n, |i, j| cov[[i, j]]));
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    // Keep the directions whose variance clearly exceeds the noise's.
    let noise_var = f64::from(sigma * sigma);
    let keep: Vec<usize> = order
        .into_iter()
        .filter(|&i| eig.eigenvalues[i] > 2.0 * noise_var)
        .collect();
    let basis = Array2::from_shape_fn((n, keep.len()), |(r, c)| eig.eigenvectors[(r, keep[c])]);
    // Projection of a patch x on the kept components: mean + (x - mean)·V·Vᵀ.
    let proj = basis.dot(&basis.t()).mapv(|v| v as f32);
    let offset = (&mean - &mean.dot(&basis.dot(&basis.t()))).mapv(|v| v as f32);
    println!(
        "basis    {} of {n} components of the {}x{} patch covariance (variance > 2 sigma^2)",
        keep.len(),
        k,
        k
    );

    // Project every patch and average the overlapping reconstructions.
    // Chunks in order from one buffer: the fold is updated on this thread.
    let mut fold = Fold::new(noisy.raw_dim(), &p.window(), Edge::Valid);
    let rows = p.cast::<f32>();
    rows.for_each_chunk(rows.default_chunk_rows(), |start, x| {
        fold.add_rows(start, &(x.dot(&proj) + &offset));
    });
    let denoised = fold.finish::<f32>().image;

    let (before, after) = (
        common::psnr(&noisy.view(), &clean.view()),
        common::psnr(&denoised.view(), &clean.view()),
    );
    println!(
        "PSNR     noisy {before:.2} dB, denoised {after:.2} dB ({:+.2} dB)",
        after - before
    );
    let out = common::out_dir("denoise");
    std::fs::create_dir_all(&out)?;
    common::write_gray(&out.join("noisy.png"), &common::to_u8(&noisy).view())?;
    common::write_gray(&out.join("denoised.png"), &common::to_u8(&denoised).view())?;
    println!("wrote    {}/noisy.png, denoised.png", out.display());
    if let Some(rss) = common::peak_rss() {
        println!(
            "memory   peak {} resident; the patch matrix would be {}",
            common::bytes(rss),
            common::bytes(p.matrix_bytes()?)
        );
    }
    assert!(after > before + 3.0, "denoising should gain several dB");
    Ok(())
}

//! Learn a 9x9 denoising filter by ridge regression over every window of a
//! large image, without the patch matrix.
//!
//! ```text
//! cargo run --release --example ridge --features ridge [SIZE]
//! ```
//!
//! The bundled `camera.png`, tiled to SIZE x SIZE (default 2048), plus
//! Gaussian noise (sigma 0.1). The features of a pixel are the 9x9 noisy
//! window around it, the target is the clean pixel. The normal equations
//! `(XᵀX + λ n I) w = Xᵀy` come from the virtual patch matrix (`gram`,
//! `t_dot`), are solved with nalgebra's Cholesky, and the filter is applied
//! with `dot`. Prints the fit, the time, and the memory the full X would
//! have needed against what was used.

mod common;

use std::time::Instant;

use ndarray::{s, Array1, Array2};
use ndarray_patches::prelude::*;
use ndarray_patches::{pad, Pad};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let size = std::env::args()
        .nth(1)
        .map(|a| a.parse::<usize>())
        .transpose()?
        .unwrap_or(2048);
    let k = 9;
    let r = k / 2;

    let camera = common::read_gray(&common::data("camera.png"))?;
    // camera.png mirrored out to size x size: this crate's own padding.
    let (h, w) = camera.dim();
    let clean = pad(
        &camera,
        0,
        (size.saturating_sub(h), size.saturating_sub(w)),
        Pad::Symmetric,
    )
    .slice_move(s![..size, ..size])
    .mapv(|x| x as f32 / 255.0);
    let noisy = common::add_noise(&clean, 0.1, 7);
    let p = noisy.try_patches((k, k))?;
    // The clean pixel at the centre of each window, in row order.
    let y: Array1<f64> = clean
        .slice(s![r..size - r, r..size - r])
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    assert_eq!(y.len(), p.len());
    println!(
        "data     {size}x{size} noisy image, {} windows of {k}x{k}; X would be {} (f64)",
        p.len(),
        common::bytes(p.cast::<f64>().matrix_bytes()?)
    );

    let t = Instant::now();
    let x = p.cast::<f64>(); // the virtual f64 matrix: never built
    let gram: Array2<f64> = x.gram();
    let xty = x.t_dot(&y);
    let t_normal = t.elapsed();
    let lambda = 1e-4 * p.len() as f64;
    let n = p.patch_len();
    let a = nalgebra::DMatrix::from_fn(n, n, |i, j| {
        gram[[i, j]] + if i == j { lambda } else { 0.0 }
    });
    let b = nalgebra::DVector::from_iterator(n, xty.iter().copied());
    let w = a
        .cholesky()
        .ok_or("XᵀX + λI is not positive definite")?
        .solve(&b);
    let w = Array1::from_iter(w.iter().copied());
    let t = Instant::now();
    let pred = x.dot(&w);
    let t_apply = t.elapsed();

    let mse = |a: &Array1<f64>| {
        a.iter().zip(&y).map(|(p, t)| (p - t).powi(2)).sum::<f64>() / y.len() as f64
    };
    let noisy_c: Array1<f64> = noisy
        .slice(s![r..size - r, r..size - r])
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let psnr = |m: f64| 10.0 * (1.0 / m).log10();
    println!(
        "fit      PSNR of the centre pixels: noisy {:.2} dB, filtered {:.2} dB; centre weight {:.3}, weights sum {:.3}",
        psnr(mse(&noisy_c)),
        psnr(mse(&pred)),
        w[n / 2],
        w.sum()
    );
    println!(
        "time     XᵀX and Xᵀy {:.2} s, solve, X·w {:.2} s",
        t_normal.as_secs_f64(),
        t_apply.as_secs_f64()
    );
    if let Some(rss) = common::peak_rss() {
        println!(
            "memory   peak {} resident (the images and one prediction per pixel), X never built",
            common::bytes(rss)
        );
    }
    Ok(())
}

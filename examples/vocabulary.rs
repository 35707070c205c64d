//! A "visual vocabulary": linfa-clustering's incremental k-means learns 64
//! typical 8x8 patches from minibatches of the bundled images' windows,
//! and the centroids are written as a PNG mosaic.
//!
//! ```text
//! cargo run --release --example vocabulary --features vocabulary [SEED]
//! ```
//!
//! The 8x8 windows of `camera.png` and of `astronaut.png` (in grey) are
//! delivered in shuffled epochs (`Rows::shuffled`: every window once per
//! epoch, seeded) as minibatches of 2048 rows of `f32`, contrast-normalised
//! (mean 0, unit norm) and handed to `KMeans::fit_with`, which updates the
//! centroids incrementally, until they move less than the tolerance or two
//! epochs have passed. The patch matrix (130 MB of `f32`) is never built.
//!
//! linfa 0.8 is built on ndarray 0.16 and this crate on ndarray 0.17: the
//! two `ArrayView2` types are different types of the same memory layout.
//! A minibatch is a standard-layout `Array2<f32>`, so
//! `ndarray016::ArrayView2::from_shape(dim, batch.as_slice())` shows it to
//! linfa without a copy, and the centroids come back the same way.

mod common;

use image::imageops;
use linfa::traits::FitWith;
use linfa::DatasetBase;
use linfa_clustering::{IncrKMeansError, KMeans};
use ndarray::{s, Array2, ArrayView2, Axis};
use ndarray_patches::prelude::*;
use ndarray_patches::rand::{rngs::StdRng, SeedableRng};

const K: usize = 64; // words in the vocabulary
const SIDE: usize = 8; // patch side
const BATCH: usize = 2048;
const MAX_EPOCHS: usize = 2;

/// Contrast-normalises each row in place: mean 0, about unit norm.
fn normalise(x: &mut Array2<f32>) {
    for mut row in x.axis_iter_mut(Axis(0)) {
        let mean = row.mean().expect("a patch has elements");
        row -= mean;
        let norm = row.dot(&row).sqrt();
        row /= norm + 0.1; // flat patches stay near 0 instead of blowing up
    }
}

/// An ndarray 0.17 matrix seen as ndarray 0.16 (linfa's), without a copy.
fn to_linfa(x: &Array2<f32>) -> ndarray016::ArrayView2<'_, f32> {
    let data = x.as_slice().expect("a minibatch is in standard layout");
    ndarray016::ArrayView2::from_shape(x.dim(), data).expect("dim matches the slice")
}

/// And back: linfa's centroids as an ndarray 0.17 view.
fn from_linfa(x: &ndarray016::Array2<f32>) -> ArrayView2<'_, f32> {
    let data = x
        .as_slice()
        .expect("linfa's centroids are in standard layout");
    ArrayView2::from_shape(x.dim(), data).expect("dim matches the slice")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed = std::env::args()
        .nth(1)
        .map(|a| a.parse::<u64>())
        .transpose()?
        .unwrap_or(7);
    let camera = common::read_gray(&common::data("camera.png"))?;
    let astronaut = imageops::grayscale(&common::read_rgb(&common::data("astronaut.png"))?);
    let astronaut = common::gray_view(&astronaut).to_owned();
    // Both images as one (2, h, w) stack: windows of (1, 8, 8) are the
    // 8x8 windows of either image, one row of 64 each.
    let stack = ndarray::stack(Axis(0), &[camera.view(), astronaut.view()])?;
    let p = stack.patches((1, SIDE, SIDE));
    let rows = p.map_elems(|v: u8| f32::from(v) / 255.0);
    println!(
        "windows  {} of {SIDE}x{SIDE} in camera.png and astronaut.png; shuffled epochs in minibatches of {BATCH}",
        p.len()
    );

    // Every window once per epoch, in a seeded random order (k-means on
    // minibatches needs them shuffled); one minibatch in memory at a time.
    let mut rng = StdRng::seed_from_u64(seed);
    let params = KMeans::params(K).tolerance(1e-3);
    let (mut model, mut batches) = (None, 0);
    'epochs: for _ in 0..MAX_EPOCHS {
        let epoch = rows.shuffled(&mut rng);
        for (_, mut x) in epoch.chunks(BATCH) {
            normalise(&mut x);
            batches += 1;
            match params.fit_with(model.take(), &DatasetBase::from(to_linfa(&x))) {
                Ok(m) => {
                    model = Some(m);
                    break 'epochs;
                }
                Err(IncrKMeansError::NotConverged(m)) => model = Some(m),
                Err(e) => return Err(e.into()),
            }
        }
    }
    let model = model.expect("at least one minibatch");
    println!(
        "k-means  {K} centroids after {batches} minibatches ({:.2} epochs), inertia {:.4}",
        (batches * BATCH) as f64 / p.len() as f64,
        model.inertia()
    );

    // The mosaic: each centroid stretched to [0, 255], 4x enlarged.
    let centroids = from_linfa(model.centroids());
    let (zoom, gap, cols) = (4, 2, 8);
    let tile = SIDE * zoom;
    let side = cols * tile + (cols + 1) * gap;
    let mut mosaic = Array2::<u8>::from_elem((side, side), 255);
    for (c, word) in centroids.axis_iter(Axis(0)).enumerate() {
        let (lo, hi) = word
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        let word = word.into_shape_with_order((SIDE, SIDE))?;
        let (y, x) = (
            gap + (c / cols) * (tile + gap),
            gap + (c % cols) * (tile + gap),
        );
        let mut out = mosaic.slice_mut(s![y..y + tile, x..x + tile]);
        for ((i, j), v) in out.indexed_iter_mut() {
            let w = word[[i / zoom, j / zoom]];
            *v = (255.0 * (w - lo) / (hi - lo).max(1e-6)).round() as u8;
        }
    }
    let out = common::out_dir("vocabulary");
    std::fs::create_dir_all(&out)?;
    common::write_gray(&out.join("centroids.png"), &mosaic.view())?;
    println!("wrote    {}/centroids.png ({side}x{side})", out.display());
    if let Some(rss) = common::peak_rss() {
        println!("memory   peak {} resident", common::bytes(rss));
    }
    Ok(())
}

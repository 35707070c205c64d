//! A per-pixel classifier trained on every window of a real image, streamed
//! chunk by chunk: no patch matrix ever exists.
//!
//! ```text
//! cargo run --release --example pixel_classifier [PATCH [EPOCHS]]
//! ```
//!
//! Every PATCH x PATCH window (default 7) of the bundled `camera.png` is the
//! feature vector of the pixel at its centre: converted from `u8` to `f32`
//! during the copy, then contrast-normalized (minus the window's mean,
//! divided by its standard deviation), the usual preprocessing of patch
//! features. The label is a simple rule on the image: "the pixel is
//! brighter than the mean of its window". A logistic regression learns it by
//! minibatch SGD, one chunk per step; every fifth row of windows is held
//! out and scored at the end, streamed again.

mod common;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use ndarray_patches::prelude::*;

/// Logistic regression on `n` features.
struct Logistic {
    w: Array1<f32>,
    b: f32,
}

impl Logistic {
    fn new(n: usize) -> Self {
        Logistic {
            w: Array1::zeros(n),
            b: 0.0,
        }
    }

    fn logits(&self, x: &ArrayView2<'_, f32>) -> Array1<f32> {
        x.dot(&self.w) + self.b
    }

    /// One SGD step on the rows where `mask` is 1.
    fn step(&mut self, x: &ArrayView2<'_, f32>, y: &Array1<f32>, mask: &Array1<f32>, lr: f32) {
        let n = mask.sum();
        if n == 0.0 {
            return;
        }
        let p = self.logits(x).mapv(|z| 1.0 / (1.0 + (-z).exp()));
        let err = (p - y) * mask;
        self.w.scaled_add(-lr / n, &x.t().dot(&err));
        self.b -= lr * err.sum() / n;
    }
}

/// The labels of a chunk of raw windows: centre pixel brighter than its
/// window's mean.
fn labels(x: &ArrayView2<'_, f32>, centre: usize) -> Array1<f32> {
    x.map_axis(Axis(1), |row: ArrayView1<'_, f32>| {
        f32::from(u8::from(row[centre] > row.mean().unwrap()))
    })
}

/// Contrast-normalized features: each window minus its mean, over its
/// standard deviation (plus one grey level, so flat windows stay finite).
fn features(x: &ArrayView2<'_, f32>) -> Array2<f32> {
    let mut f = x.to_owned();
    for mut row in f.rows_mut() {
        let m = row.mean().unwrap();
        let sd = row.mapv(|v| (v - m) * (v - m)).mean().unwrap().sqrt();
        row.mapv_inplace(|v| (v - m) / (sd + 1.0));
    }
    f
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let k = args.next().transpose()?.unwrap_or(7);
    let epochs = args.next().transpose()?.unwrap_or(5);

    let img = common::read_gray(&common::data("camera.png"))?;
    let p = img.try_patches((k, k))?;
    let grid_w = p.grid()[1];
    let centre = p.patch_len() / 2; // element (k/2, k/2) of the window
    let held_out = |row: usize| (row / grid_w) % 5 == 4;
    let mask = |start: usize, n: usize, want_test: bool| {
        Array1::from_iter((start..start + n).map(|r| f32::from(u8::from(held_out(r) == want_test))))
    };
    let rows = 4096;
    println!(
        "image    camera.png {:?} u8; {} windows of {k}x{k}; full f32 matrix would be {}",
        img.dim(),
        p.len(),
        common::bytes(p.len() * p.patch_len() * 4)
    );

    let mut model = Logistic::new(p.patch_len());
    let lr = 0.5;
    for epoch in 0..epochs {
        let mut loss = (0.0f64, 0.0f64);
        p.cast::<f32>().for_each_chunk(rows, |start, raw| {
            let y = labels(&raw, centre);
            let x = features(&raw);
            let x = x.view();
            let m = mask(start, x.nrows(), false);
            for ((z, &yi), &mi) in model.logits(&x).iter().zip(&y).zip(&m) {
                let pz = 1.0 / (1.0 + (-z as f64).exp());
                let l = -(yi as f64 * pz.max(1e-12).ln()
                    + (1.0 - yi as f64) * (1.0 - pz).max(1e-12).ln());
                loss.0 += mi as f64 * l;
                loss.1 += mi as f64;
            }
            model.step(&x, &y, &m, lr);
        });
        println!("epoch {epoch}  training log-loss {:.4}", loss.0 / loss.1);
    }

    let (mut right, mut total, mut positives) = (0usize, 0usize, 0usize);
    p.cast::<f32>().for_each_chunk(rows, |start, raw| {
        let y = labels(&raw, centre);
        let x = features(&raw);
        let m = mask(start, x.nrows(), true);
        for ((z, &yi), &mi) in model.logits(&x.view()).iter().zip(&y).zip(&m) {
            if mi == 1.0 {
                total += 1;
                positives += usize::from(yi == 1.0);
                right += usize::from((*z > 0.0) == (yi == 1.0));
            }
        }
    });
    let majority = positives.max(total - positives) as f64 / total as f64;
    println!(
        "held out {total} pixels (every fifth row of windows): accuracy {:.2}% (majority class {:.2}%)",
        100.0 * right as f64 / total as f64,
        100.0 * majority
    );
    if let Some(rss) = common::peak_rss() {
        println!("peak memory {}", common::bytes(rss));
    }
    Ok(())
}

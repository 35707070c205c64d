//! Stream every 39x39 patch of a large image into a real computation,
//! holding a few cache-sized chunks instead of the full patch matrix.
//!
//! ```text
//! cargo run --release --example stream [SIZE [PATCH]]
//! ```
//!
//! Builds a SIZE x SIZE image (default 4096) by tiling the bundled
//! `camera.png`, then scores every PATCH x PATCH window (default 39) with a
//! fixed centre-surround filter (a difference of Gaussians: the linear
//! filter-bank step of a blob detector), keeping the mean and variance of
//! all scores and the strongest window. The full patch matrix would need
//! `len * patch_len * 4` bytes; this holds one chunk per thread.

mod common;

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ndarray::Dimension;
use ndarray::{s, Array1, Array2};
use ndarray_patches::prelude::*;
use ndarray_patches::{pad, Pad};

/// Mean, variance and maximum of a stream of scores, mergeable across
/// chunks (Chan et al.'s parallel update).
#[derive(Clone, Debug, Default)]
struct Stats {
    n: f64,
    mean: f64,
    m2: f64,
    max: (f32, usize),
}

impl Stats {
    fn of(start: usize, scores: &[f32]) -> Stats {
        let n = scores.len() as f64;
        let mean = scores.iter().map(|&x| x as f64).sum::<f64>() / n;
        let m2 = scores.iter().map(|&x| (x as f64 - mean).powi(2)).sum();
        let (k, &m) = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("chunks are not empty");
        Stats {
            n,
            mean,
            m2,
            max: (m, start + k),
        }
    }

    fn merge(&mut self, o: &Stats) {
        if self.n == 0.0 {
            *self = o.clone();
            return;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        self.mean += d * o.n / n;
        self.m2 += o.m2 + d * d * self.n * o.n / n;
        self.n = n;
        if self.max.0 < o.max.0 {
            self.max = o.max;
        }
    }
}

/// A difference-of-Gaussians filter, flattened row-major like a patch.
fn centre_surround(size: usize) -> Array1<f32> {
    let c = (size as f32 - 1.0) / 2.0;
    let gauss = |sigma: f32| {
        let g = Array2::from_shape_fn((size, size), |(i, j)| {
            let r2 = (i as f32 - c).powi(2) + (j as f32 - c).powi(2);
            (-r2 / (2.0 * sigma * sigma)).exp()
        });
        let s = g.sum();
        g / s
    };
    let dog = gauss(size as f32 / 12.0) - gauss(size as f32 / 4.0);
    Array1::from_iter(dog.iter().copied())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let size = args.next().transpose()?.unwrap_or(4096);
    let patch = args.next().transpose()?.unwrap_or(39);

    let camera = common::read_gray(&common::data("camera.png"))?;
    // camera.png mirrored out to size x size: this crate's own padding.
    let (h, w) = camera.dim();
    let img = pad(
        &camera,
        0,
        (size.saturating_sub(h), size.saturating_sub(w)),
        Pad::Symmetric,
    )
    .slice_move(s![..size, ..size]);
    let p = img.try_patches((patch, patch))?;
    let w = centre_surround(patch);
    let rows = p.cast::<f32>().default_chunk_rows(); // 1 MiB of f32 rows
    let full = p.len() as f64 * p.patch_len() as f64 * 4.0;
    println!(
        "image          {size}x{size} u8 (camera.png tiled), {}",
        common::bytes(img.len())
    );
    println!(
        "patches        {patch}x{patch}: {} windows of {} elements",
        p.len(),
        p.patch_len()
    );
    println!(
        "full matrix    {} as f32 (never built)",
        common::bytes(full as u64)
    );
    println!(
        "streaming      chunks of {rows} rows ({}), {} threads",
        common::bytes(rows * p.patch_len() * 4),
        rayon::current_num_threads()
    );

    let bar = ProgressBar::with_draw_target(Some(p.len() as u64), ProgressDrawTarget::hidden());
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {percent:>3}% {human_pos}/{human_len} windows, eta {eta}",
    )?);
    let shown = std::sync::atomic::AtomicBool::new(false);
    let t = Instant::now();
    // One Stats per chunk, in row order, computed on every core: no lock.
    let parts: Array1<Stats> = p.cast::<f32>().par_map_chunks(rows, |chunk| {
        let scores = chunk.dot(&w);
        let s = Stats::of(0, scores.as_slice().expect("a new vector"));
        // A progress bar only for runs longer than a second.
        if t.elapsed() > Duration::from_secs(1)
            && !shown.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.inc(chunk.nrows() as u64);
        Array1::from_elem(1, s)
    });
    let mut s = Stats::default();
    for (c, part) in parts.iter().enumerate() {
        let mut part = part.clone();
        part.max.1 += c * rows; // chunk c holds rows c * rows..
        s.merge(&part);
    }
    let dt = t.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let best = p.position(s.max.1).expect("a row");
    println!(
        "scores         mean {:.4}, std {:.4}, strongest {:.4} at row {} (window origin {:?})",
        s.mean,
        (s.m2 / (s.n - 1.0).max(1.0)).sqrt(),
        s.max.0,
        s.max.1,
        best.origin.into_pattern()
    );
    println!(
        "time           {dt:.2} s: {:.1} M windows/s, {:.2} GB/s of patch data",
        p.len() as f64 / dt / 1e6,
        full / dt / 1e9
    );
    match common::peak_rss() {
        Some(rss) => println!(
            "peak memory    {} resident ({:.5}% of the full matrix)",
            common::bytes(rss),
            100.0 * rss as f64 / full
        ),
        None => println!("peak memory    unknown (no /proc/self/status)"),
    }
    assert_eq!(s.n as usize, p.len());
    Ok(())
}

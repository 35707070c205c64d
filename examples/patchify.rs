//! Patchify a real photograph: every 39x39 window of `camera.png`.
//!
//! ```text
//! cargo run --release --example patchify [PATCH [STEP]]
//! ```

mod common;

use std::time::Instant;

use ndarray::Dimension;
use ndarray_patches::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let patch = args.next().transpose()?.unwrap_or(39);
    let step = args.next().transpose()?.unwrap_or(1);

    let path = common::data("camera.png");
    let img = common::read_gray(&path)?.mapv(|x| x as f32 / 255.0);
    println!("image      {} {:?} f32", path.display(), img.dim());

    let t = Instant::now();
    let p = img.try_patches((patch, patch))?.try_step((step, step))?;
    let view = p.view();
    println!(
        "patches    {patch}x{patch}, step {step}: grid {:?}, {} patches of {} elements",
        p.grid().into_pattern(),
        p.len(),
        p.patch_len()
    );
    println!(
        "view       shape {:?}, zero copy, built in {:?}",
        view.shape(),
        t.elapsed()
    );

    let bytes = (p.len() * p.patch_len() * std::mem::size_of::<f32>()) as f64;
    println!(
        "matrix     ({}, {}) f32 = {} ({:.0}x the image)",
        p.len(),
        p.patch_len(),
        common::bytes(bytes as u64),
        bytes / (img.len() * 4) as f64
    );
    let t = Instant::now();
    let m = p.try_to_matrix()?;
    let dt = t.elapsed();
    println!(
        "to_matrix  {:?} on {} threads, {:.2} GB/s",
        dt,
        rayon::current_num_threads(),
        bytes / dt.as_secs_f64() / 1e9
    );
    if let Some(rss) = common::peak_rss() {
        println!("peak memory {}", common::bytes(rss));
    }
    // Row 0 is the top-left window, row-major.
    assert_eq!(
        m.row(0).to_vec(),
        p.get(0).unwrap().iter().copied().collect::<Vec<_>>()
    );
    Ok(())
}

//! A mosaic of 64 seeded random 32x32 patches of the bundled
//! `astronaut.png` (RGB), written to `target/mosaic/mosaic.png`.
//!
//! ```text
//! cargo run --release --example mosaic [SEED]
//! ```
//!
//! The patches are sampled without replacement (`sample`), so only their 64
//! rows are ever copied; each row is a 32x32x3 patch, reshaped back into a
//! tile of the mosaic.

mod common;

use ndarray::{s, Array3};
use ndarray_patches::prelude::*;
use rand::SeedableRng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed = std::env::args()
        .nth(1)
        .map(|a| a.parse::<u64>())
        .transpose()?
        .unwrap_or(2024);
    let (k, grid, gap) = (32, 8, 2);

    let img = common::read_rgb(&common::data("astronaut.png"))?; // 512x512 RGB
    let img = common::rgb_view(&img); // (512, 512, 3), zero copy
    let p = img.try_patches((k, k, 3))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sample = p.try_sample(grid * grid, &mut rng)?;
    let (idx, rows) = (sample.indices(), sample.try_to_matrix()?);
    println!(
        "sampled  {} of {} patches of {k}x{k}x3 (seed {seed}); copied {} bytes, not the {} of the full matrix",
        idx.len(),
        p.len(),
        rows.len(),
        p.matrix_bytes()?
    );

    let side = grid * k + (grid + 1) * gap;
    let mut mosaic = Array3::<u8>::from_elem((side, side, 3), 255);
    for (t, row) in rows.rows().into_iter().enumerate() {
        let (ti, tj) = (t / grid, t % grid);
        let (y, x) = (gap + ti * (k + gap), gap + tj * (k + gap));
        let tile = row.into_shape_with_order((k, k, 3))?;
        mosaic.slice_mut(s![y..y + k, x..x + k, ..]).assign(&tile);
        let o = p.position(idx[t]).expect("a sampled row").origin;
        if t < 3 {
            println!("tile {t}   patch {} at ({}, {})", idx[t], o[0], o[1]);
        }
    }
    let out = common::out_dir("mosaic");
    std::fs::create_dir_all(&out)?;
    common::write_rgb(&out.join("mosaic.png"), &mosaic.view())?;
    println!("wrote    {}/mosaic.png ({side}x{side})", out.display());
    if let Some(rss) = common::peak_rss() {
        println!("memory   peak {} resident", common::bytes(rss));
    }
    Ok(())
}

//! A per-pixel map of local contrast: the standard deviation of the 7x7
//! window centred on every pixel of the bundled `camera.png`, written to
//! `target/edges/contrast.png`.
//!
//! ```text
//! cargo run --release --example edges [SIZE]
//! ```
//!
//! "Same" windows (`Edge::Same`, borders mirrored with `Pad::Reflect`) give
//! one window per pixel; their rows are streamed in parallel, reduced to one
//! value each, and put back at each window's centre with `Fold::place`.

mod common;

use ndarray::{Array1, Axis};
use ndarray_patches::prelude::*;
use ndarray_patches::{Anchor, Edge, Fold, Pad, Window};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let k = std::env::args()
        .nth(1)
        .map(|a| a.parse::<usize>())
        .transpose()?
        .unwrap_or(7);
    let img = common::read_gray(&common::data("camera.png"))?;
    let window = Window::new((k, k));
    let padded = img.try_padded(&window, Edge::Same, Pad::Reflect)?;
    let p = padded.patches();

    // One standard deviation per window, in row order, on every core.
    let rows = p.cast::<f32>();
    let sd: Array1<f32> = rows.par_map_chunks(rows.default_chunk_rows(), |chunk| {
        chunk.std_axis(Axis(1), 0.0)
    });
    let map = Fold::try_new(img.raw_dim(), &window, Edge::Same)?.try_place(&sd, Anchor::Centre)?;
    assert_eq!(map.uncovered, 0, "same windows cover every pixel");

    let max = sd.fold(0.0f32, |m, &x| m.max(x));
    let picture = map.image.mapv(|x| x / max);
    let out = common::out_dir("edges");
    std::fs::create_dir_all(&out)?;
    common::write_gray(&out.join("contrast.png"), &common::to_u8(&picture).view())?;
    println!(
        "contrast {}x{} windows centred on each of {} pixels; max std {max:.1} grey levels",
        k,
        k,
        p.len()
    );
    println!("wrote    {}/contrast.png", out.display());
    if let Some(rss) = common::peak_rss() {
        println!("memory   peak {} resident", common::bytes(rss));
    }
    Ok(())
}

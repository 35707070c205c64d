//! Run a "model" on overlapping tiles of a whole image and stitch its
//! predictions back without seams: the tiling of whole-slide and satellite
//! pipelines, here on the bundled `camera.png`.
//!
//! ```text
//! cargo run --release --example tiles [TILE [STEP]]
//! ```
//!
//! The tiles are `Edge::Shift` windows (default 160x160, step 120): the
//! windows of `Valid` plus, on each axis the step does not take to the end,
//! one more tile moved back to end on the border, so every pixel is in some
//! tile with no padding. The model equalises each tile's histogram on its
//! own (each pixel becomes its rank among the tile's pixels); the tiles'
//! outputs are merged by a Hann-weighted mean (`Fold`), which hides the
//! tile borders. Writes `target/tiles/equalized.png`.

mod common;

use ndarray::{Array1, Array2, ArrayView1, Axis};
use ndarray_patches::prelude::*;
use ndarray_patches::{Edge, Fold, Window, WindowWeights};

/// The model: each value's rank in its tile, in `[0, 1]` (ties share the
/// middle of their ranks).
fn equalize(tile: ArrayView1<'_, f32>) -> Array1<f32> {
    let mut sorted = tile.to_vec();
    sorted.sort_by(f32::total_cmp);
    let n = sorted.len() as f32;
    tile.mapv(|v| {
        let below = sorted.partition_point(|&x| x < v);
        let equal = sorted[below..].partition_point(|&x| x <= v);
        (below as f32 + 0.5 * equal as f32) / n
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let tile = args.next().transpose()?.unwrap_or(160);
    let step = args.next().transpose()?.unwrap_or(tile * 3 / 4);
    let img = common::read_gray(&common::data("camera.png"))?;
    let window = Window::new((tile, tile)).step(step);

    // Zero-copy tiles that reach every border.
    let tiles = img.try_patches(tile)?.try_step(step)?.edge(Edge::Shift);
    let rows = tiles.cast::<f32>();

    // The model on every tile, in parallel: one output row per tile.
    let out: Array2<f32> = rows.par_map_chunks(1, |chunk| {
        let mut out = Array2::zeros(chunk.raw_dim());
        for (o, t) in out.axis_iter_mut(Axis(0)).zip(chunk.axis_iter(Axis(0))) {
            equalize(t).move_into(o);
        }
        out
    });

    // Stitch: a Hann-weighted mean of the overlapping predictions.
    let mut fold =
        Fold::try_new(img.raw_dim(), &window, Edge::Shift)?.weighted(WindowWeights::Hann);
    fold.try_add_rows(0, &out)?;
    let stitched = fold.try_finish::<f32>()?;
    assert_eq!(stitched.uncovered, 0, "shifted tiles cover every pixel");

    // What Valid tiles of the same size and step would have left out.
    let mut valid = Fold::try_new(img.raw_dim(), &window, Edge::Valid)?;
    valid.try_add_values(0, &Array1::<f32>::ones(valid.len()))?;
    let missed = valid.try_finish::<f32>()?.uncovered;

    let dir = common::out_dir("tiles");
    std::fs::create_dir_all(&dir)?;
    common::write_gray(
        &dir.join("equalized.png"),
        &common::to_u8(&stitched.image).view(),
    )?;
    let grid = tiles.grid();
    println!(
        "tiles    {tile}x{tile}, step {step}: grid {}x{} = {} tiles over {}x{} pixels",
        grid[0],
        grid[1],
        tiles.len(),
        img.nrows(),
        img.ncols()
    );
    let last = tiles.position(tiles.len() - 1).expect("a tile").origin;
    println!(
        "         last tile at ({}, {}), moved back to end on the border",
        last[0], last[1]
    );
    println!("covered  every pixel ({missed} would be left out by Valid tiles)");
    println!("wrote    {}/equalized.png", dir.display());
    if let Some(rss) = common::peak_rss() {
        println!("memory   peak {} resident", common::bytes(rss));
    }
    Ok(())
}

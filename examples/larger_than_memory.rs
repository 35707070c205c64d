//! An image larger than memory: write a large `.npy` to disk, memory-map it
//! read-only (`memmap2` + `ndarray-npy`: an `ArrayView2` of the file's
//! bytes, no copy), and stream every window of it into a computation, band
//! by band, giving the pages of finished bands back to the kernel.
//!
//! ```text
//! cargo run --release --example larger_than_memory --features larger_than_memory [SIDE [PATH]]
//! ```
//!
//! SIDE (default 16384) is the side of a square `u16` image (512 MiB at the
//! default; 65536 makes an 8 GiB file), written to PATH (default
//! `target/larger_than_memory/image.npy`) as `camera.png` mirrored out to
//! that size. Then every 64x64 window at step 32 is read through the map
//! and reduced to its standard deviation (local contrast), and the contrast
//! map is written as a PNG next to the `.npy`. It prints the file size, the
//! size of the virtual patch matrix and the process's peak resident memory
//! while streaming: the peak is a few bands of the file, not the file.
//!
//! Why bands: pages of a memory map count as resident once read, until the
//! kernel reclaims them (it can: they are clean copies of the file). Telling
//! it that a band is finished (`MADV_DONTNEED` on the rows no later window
//! reads) keeps the resident set small even on a machine with memory to
//! spare, so the figure printed here is what the computation needs.

mod common;

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::time::Instant;

use memmap2::{Advice, Mmap, MmapMut, UncheckedAdvice};
use ndarray::{s, Array1, ArrayView2, ArrayViewMut2, Axis, Dimension};
use ndarray_npy::{write_zeroed_npy, ViewMutNpyExt, ViewNpyExt};
use ndarray_patches::prelude::*;
use ndarray_patches::{pad, Pad};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let side: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(16384);
    let path = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| common::out_dir("larger_than_memory").join("image.npy"));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let (patch, step, band) = (64, 32, 16); // band: grid rows per band

    // 1. Write the image into the file through a writable map, one image
    //    row at a time: camera.png mirrored to (2h, side) is one period.
    let t = Instant::now();
    let camera = common::read_gray(&common::data("camera.png"))?;
    let (h, w) = camera.dim();
    let period = pad(
        &camera.mapv(|v| u16::from(v) * 257),
        0,
        (h, side.saturating_sub(w)),
        Pad::Symmetric,
    );
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    write_zeroed_npy::<u16, _>(&file, (side, side))?;
    {
        // SAFETY: the file was just created by this process and nothing else
        // writes it while it is mapped.
        let mut map = unsafe { MmapMut::map_mut(&file)? };
        let mut img = ArrayViewMut2::<u16>::view_mut_npy(&mut map)?;
        for (i, mut row) in img.axis_iter_mut(Axis(0)).enumerate() {
            row.assign(&period.slice(s![i % (2 * h), ..side]));
        }
        map.flush()?;
    }
    drop((file, period));
    let file_bytes = std::fs::metadata(&path)?.len();
    println!(
        "wrote          {} ({side}x{side} u16, {}) in {:.1} s",
        path.display(),
        common::bytes(file_bytes),
        t.elapsed().as_secs_f64()
    );

    // 2. Map it read-only and stream every window, band by band.
    let file = File::open(&path)?;
    // SAFETY: read-only map of a file no one modifies while it is mapped.
    let map = unsafe { Mmap::map(&file)? };
    map.advise(Advice::Sequential)?;
    let img = ArrayView2::<u16>::view_npy(&map)?;
    let data_offset = img.as_ptr() as usize - map.as_ptr() as usize;
    let p = img.patches(patch).step(step);
    let (gh, gw) = p.grid().into_pattern();
    let rows = p.cast::<f32>();
    println!(
        "patches        {patch}x{patch} step {step}: {} windows, a {} patch matrix (f32, never built)",
        p.len(),
        common::bytes(rows.matrix_bytes()?)
    );

    let reset = common::mem::reset_peak_rss();
    let t = Instant::now();
    let mut contrast = Vec::with_capacity(p.len());
    for g0 in (0..gh).step_by(band) {
        let g1 = (g0 + band).min(gh);
        let sd: Array1<f32> = p
            .rows(g0 * gw..g1 * gw)
            .cast::<f32>()
            .par_map_chunks(rows.default_chunk_rows(), |chunk| {
                chunk.std_axis(Axis(1), 0.0)
            });
        contrast.extend(sd);
        // Image rows above the next band's first window are finished:
        // give their pages back (whole pages only).
        let done = data_offset + (g1 * step).min(side) * side * 2;
        let done = done / 4096 * 4096;
        // SAFETY: DONTNEED on a read-only, file-backed map only drops our
        // page-table entries; a later read of these addresses (there is none)
        // would fault the same bytes back in from the file, so the view stays
        // valid.
        unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, 0, done)? };
    }
    let dt = t.elapsed().as_secs_f64();
    let contrast = Array1::from(contrast).into_shape_with_order((gh, gw))?;
    let (best, &max) = contrast
        .indexed_iter()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .expect("at least one window");
    println!(
        "streamed       in {dt:.2} s: {:.2} GB/s of patch data; highest contrast {max:.0} at window {best:?}",
        rows.matrix_bytes()? as f64 / dt / 1e9
    );
    match common::peak_rss() {
        Some(rss) if reset => println!(
            "peak memory    {} resident while streaming ({:.2}% of the file, {:.3}% of the matrix)",
            common::bytes(rss),
            100.0 * rss as f64 / file_bytes as f64,
            100.0 * rss as f64 / rows.matrix_bytes()? as f64
        ),
        Some(rss) => println!(
            "peak memory    {} resident (writing included)",
            common::bytes(rss)
        ),
        None => {}
    }

    let png = path.with_extension("contrast.png");
    let map8 = contrast.mapv(|v| (255.0 * v / max.max(1.0)).round() as u8);
    common::write_gray(&png, &map8.view())?;
    println!(
        "wrote          {} ({gw}x{gh}: one pixel per window)",
        png.display()
    );
    Ok(())
}

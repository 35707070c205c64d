//! Helpers shared by the examples: reading the bundled PNGs.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3};

/// Path of a bundled image under `examples/data`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data")
        .join(name)
}

/// Reads an 8-bit PNG as `(height, width, channels)`.
pub fn read_png(path: &Path) -> Result<Array3<u8>, Box<dyn std::error::Error>> {
    let decoder = png::Decoder::new(File::open(path)?);
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf)?;
    if info.bit_depth != png::BitDepth::Eight {
        return Err(format!("{}: only 8-bit PNGs are supported", path.display()).into());
    }
    let channels = info.color_type.samples();
    buf.truncate(info.buffer_size());
    Ok(Array3::from_shape_vec(
        (info.height as usize, info.width as usize, channels),
        buf,
    )?)
}

/// Reads an 8-bit grayscale PNG as `(height, width)`.
pub fn read_gray(path: &Path) -> Result<Array2<u8>, Box<dyn std::error::Error>> {
    let img = read_png(path)?;
    if img.dim().2 != 1 {
        return Err(format!("{}: expected a grayscale image", path.display()).into());
    }
    Ok(img.index_axis_move(ndarray::Axis(2), 0))
}

/// Human-readable byte count.
pub fn bytes(n: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = n;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < units.len() {
        x /= 1024.0;
        u += 1;
    }
    format!("{x:.1} {}", units[u])
}

mod mem;
pub use mem::peak_rss;

/// Tiles `img` periodically to `(h, w)`, mirroring every other copy so that
/// the seams stay smooth.
pub fn tile_mirrored(img: &Array2<u8>, h: usize, w: usize) -> Array2<u8> {
    let (ih, iw) = img.dim();
    let fold = |x: usize, n: usize| {
        let (q, r) = (x / n, x % n);
        if q % 2 == 0 {
            r
        } else {
            n - 1 - r
        }
    };
    Array2::from_shape_fn((h, w), |(i, j)| img[[fold(i, ih), fold(j, iw)]])
}

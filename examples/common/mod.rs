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

/// Writes an 8-bit PNG from `(height, width)` (grayscale) or
/// `(height, width, 3)` (RGB) pixels.
fn write_png<D: ndarray::Dimension>(
    path: &Path,
    img: &ndarray::Array<u8, D>,
) -> Result<(), Box<dyn std::error::Error>> {
    let (h, w, color) = match img.shape() {
        &[h, w] => (h, w, png::ColorType::Grayscale),
        &[h, w, 3] => (h, w, png::ColorType::Rgb),
        s => return Err(format!("cannot write an image of shape {s:?}").into()),
    };
    let mut enc = png::Encoder::new(
        std::io::BufWriter::new(File::create(path)?),
        w as u32,
        h as u32,
    );
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    let data: Vec<u8> = img.iter().copied().collect();
    enc.write_header()?.write_image_data(&data)?;
    Ok(())
}

/// Writes an 8-bit grayscale PNG.
pub fn write_gray(path: &Path, img: &Array2<u8>) -> Result<(), Box<dyn std::error::Error>> {
    write_png(path, img)
}

/// Writes an 8-bit RGB PNG from `(height, width, 3)`.
pub fn write_rgb(path: &Path, img: &Array3<u8>) -> Result<(), Box<dyn std::error::Error>> {
    write_png(path, img)
}

/// `[0, 1]` floats to 8-bit pixels.
pub fn to_u8(img: &Array2<f32>) -> Array2<u8> {
    img.mapv(|x| (x.clamp(0.0, 1.0) * 255.0).round() as u8)
}

/// Peak signal-to-noise ratio in dB of `a` against `reference`, both in
/// `[0, 1]`.
pub fn psnr(a: &ndarray::ArrayView2<'_, f32>, reference: &ndarray::ArrayView2<'_, f32>) -> f64 {
    let mse = a
        .iter()
        .zip(reference.iter())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (1.0 / mse).log10()
}

/// `img` plus Gaussian noise of standard deviation `sigma`, seeded.
pub fn add_noise(img: &Array2<f32>, sigma: f32, seed: u64) -> Array2<f32> {
    use ndarray_rand::rand::SeedableRng;
    use ndarray_rand::rand_distr::Normal;
    use ndarray_rand::RandomExt;
    let mut rng = ndarray_rand::rand::rngs::StdRng::seed_from_u64(seed);
    img + Array2::random_using(
        img.dim(),
        Normal::new(0.0, sigma).expect("sigma > 0"),
        &mut rng,
    )
}

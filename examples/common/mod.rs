//! Helpers shared by the examples: the bundled images, read and written
//! with the `image` crate and seen as ndarray arrays without a copy.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use image::{GrayImage, RgbImage};
use ndarray::{Array2, ArrayView2, ArrayView3};

pub use indicatif::HumanBytes;

/// Path of a bundled image under `examples/data` (this package's folder is
/// `examples/`).
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// Where an example writes its files: `target/<name>` at the repository's
/// root (the parent of this package's folder), whichever folder it runs from.
pub fn out_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the examples package is a folder of the repository")
        .join("target")
        .join(name)
}

/// Reads an image as 8-bit RGB (converting other formats).
pub fn read_rgb(path: &Path) -> Result<RgbImage, image::ImageError> {
    Ok(image::open(path)?.into_rgb8())
}

/// Reads an image as 8-bit grayscale, moved into an `Array2` (no copy of
/// the pixels).
pub fn read_gray(path: &Path) -> Result<Array2<u8>, Box<dyn std::error::Error>> {
    let img = image::open(path)?.into_luma8();
    let (w, h) = img.dimensions();
    Ok(Array2::from_shape_vec(
        (h as usize, w as usize),
        img.into_raw(),
    )?)
}

/// An RGB image's pixels as a `(height, width, 3)` view of its buffer:
/// zero copy, row-major, so `.patches(..)` reads the decoded bytes.
pub fn rgb_view(img: &RgbImage) -> ArrayView3<'_, u8> {
    let (w, h) = img.dimensions();
    ArrayView3::from_shape((h as usize, w as usize, 3), img.as_raw())
        .expect("an RgbImage holds height x width x 3 bytes")
}

/// A grayscale image's pixels as a `(height, width)` view of its buffer.
pub fn gray_view(img: &GrayImage) -> ArrayView2<'_, u8> {
    let (w, h) = img.dimensions();
    ArrayView2::from_shape((h as usize, w as usize), img.as_raw())
        .expect("a GrayImage holds height x width bytes")
}

/// Human-readable byte count (indicatif's `HumanBytes`: 1.5 GiB).
pub fn bytes(n: impl TryInto<u64>) -> HumanBytes {
    HumanBytes(n.try_into().unwrap_or(u64::MAX))
}

pub mod mem;
pub use mem::peak_rss;

/// Writes an 8-bit grayscale PNG (any layout).
pub fn write_gray(path: &Path, img: &ArrayView2<'_, u8>) -> Result<(), image::ImageError> {
    let (h, w) = img.dim();
    let buf = GrayImage::from_raw(w as u32, h as u32, img.iter().copied().collect())
        .expect("height x width bytes");
    buf.save(path)
}

/// Writes an 8-bit RGB PNG from `(height, width, 3)` (any layout).
pub fn write_rgb(path: &Path, img: &ArrayView3<'_, u8>) -> Result<(), image::ImageError> {
    let (h, w, c) = img.dim();
    assert_eq!(c, 3, "an RGB image has 3 channels, not {c}");
    let buf = RgbImage::from_raw(w as u32, h as u32, img.iter().copied().collect())
        .expect("height x width x 3 bytes");
    buf.save(path)
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

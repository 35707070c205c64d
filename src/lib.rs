//! Zero-copy N-D patch (sliding-window) views of [`ndarray`] arrays, and fast
//! parallel, bounded-memory flattening into `(n_patches, patch_len)` rows.
//!
//! # Patchify an image
//!
//! [`PatchExt::patches`] describes every window of an array at no cost;
//! [`Patches::view`] shows them as one strided view of shape
//! `grid ++ patch`, and [`Patches::to_matrix`] copies them, in parallel,
//! into the matrix a model wants, one row per patch, numpy's row order:
//!
//! ```
//! use ndarray::Array2;
//! use ndarray_patches::prelude::*;
//!
//! let img = Array2::from_shape_fn((100, 100), |(i, j)| (i * 100 + j) as f32);
//! let p = img.patches((39, 39));
//! assert_eq!(p.view().shape(), &[62, 62, 39, 39]);   // zero copy
//! let x = p.to_matrix();
//! assert_eq!(x.dim(), (3844, 1521));
//! // Row 63 is the patch at grid position (1, 1): its first element is img[1, 1].
//! assert_eq!(x[[63, 0]], img[[1, 1]]);
//!
//! // Steps and dilations per axis; any number of axes.
//! let tiles = img.patches((10, 10)).step((10, 10));
//! assert_eq!(tiles.len(), 100);
//! ```
//!
//! # Stream every window of a big image, without the full matrix
//!
//! The patch matrix is `patch_len` times larger than the image (a 4096 x 4096
//! `f32` image is 64 MiB; its 39 x 39 patch matrix is about 100 GB). Stream it
//! instead: [`Patches::par_for_each_chunk`] fills one cache-sized buffer per
//! thread and hands it to your code on that thread, so memory stays at the
//! image plus a few chunks however many patches there are:
//!
//! ```
//! use std::sync::Mutex;
//! use ndarray::{Array1, Array2};
//! use ndarray_patches::prelude::*;
//!
//! let img = Array2::from_shape_fn((512, 512), |(i, j)| ((i * 7 + j * 3) % 256) as u8);
//! let p = img.patches((39, 39));
//! let filter = Array1::from_elem(p.patch_len(), 1.0 / p.patch_len() as f32); // a box filter
//!
//! // One score per window, aligned with the rows; u8 pixels become f32 during the copy.
//! let scores = Mutex::new(vec![0.0f32; p.len()]);
//! p.par_for_each_chunk_as::<f32, _>(p.default_chunk_rows(), |start, chunk| {
//!     let s = chunk.dot(&filter);
//!     scores.lock().unwrap()[start..start + s.len()].copy_from_slice(s.as_slice().unwrap());
//! });
//! let scores = scores.into_inner().unwrap();
//! assert_eq!(scores.len(), 474 * 474);
//!
//! // Where a row's window is in the image:
//! let best = (0..p.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
//! let origin = p.position(best).origin;
//! assert!(origin[0] <= 512 - 39 && origin[1] <= 512 - 39);
//! ```
//!
//! [`Patches::for_each_chunk`] does the same in order with one buffer,
//! [`Patches::write_rows`] fills a buffer of yours (to shard rows across
//! processes or machines), and [`Patches::range`] restricts any of them to a
//! range of rows.
//!
//! # Around the patches
//!
//! - Linear algebra on the virtual patch matrix X, never built:
//!   [`Patches::dot`], [`Patches::matmul`], [`Patches::gram`],
//!   [`Patches::covariance`], ... (see [`Real`]).
//! - Seeded sampling: [`Patches::sample`], [`Sampling`] (with replacement,
//!   weighted, masked, clamped).
//! - Borders: [`Window`], [`Edge`] (`Valid`, `Same`, `Cover`) and [`Pad`]
//!   (numpy.pad's modes) through [`PatchExt::padded`].
//! - Back to the image: [`Fold`] (sum, mean, window-weighted) and
//!   [`Fold::place`] for one prediction per window; [`reconstruct`].
//! - Tiles: [`PatchExt::blocks`] and [`PatchExt::blocks_mut`].
//!
//! ```
//! use ndarray::{Array1, Array2};
//! use ndarray_patches::prelude::*;
//! use ndarray_patches::{Anchor, Edge, Fold, Pad, Window};
//!
//! // A 5x5 mean filter with mirrored borders, as "same" windows and a fold.
//! let img = Array2::from_shape_fn((20, 30), |(i, j)| ((i * j) % 7) as f64);
//! let w = Window::new((5, 5));
//! let padded = img.padded(&w, Edge::Same, Pad::Reflect);
//! let means = padded.patches().dot(&Array1::from_elem(25, 1.0 / 25.0));
//! let smooth = Fold::new((20, 30), &w, Edge::Same).place(&means, Anchor::Centre).image;
//! assert_eq!(smooth.dim(), (20, 30));
//! ```
//!
//! # Geometry
//!
//! Per axis, for an array of length `n`, patch size `p`, step `s` and
//! dilation `d`: a patch spans `e = d*(p-1) + 1` elements, the grid has
//! `(n - e)/s + 1` positions, and element `j` of the patch at grid position
//! `i` is source element `i*s + j*d`. Patches are numbered row-major over the
//! grid and each row lists the patch's elements row-major (C order).
//!
//! ```text
//!   view axis k        (grid, i_k):   stride = source_stride_k * step_k
//!   view axis ndim+k   (patch, j_k):  stride = source_stride_k * dilation_k
//!
//!   1-D, n = 7, p = 3, s = 2:   a0 a1 a2 a3 a4 a5 a6
//!                       row 0:  a0 a1 a2
//!                       row 1:        a2 a3 a4
//!                       row 2:              a4 a5 a6
//! ```
//!
//! A patch that does not fit, a zero size, step or dilation, and arithmetic
//! that would overflow are [`PatchError`]s: every panicking method has a
//! `try_` twin.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, missing_debug_implementations)]

// Layers, bottom to top: a module imports only from modules above it in
// this list (see the README's "Layout" table).
mod error;
mod scalar;
mod geometry;
mod view;
mod flatten;
mod rows;
mod patches;
#[cfg(feature = "rand")]
mod sample;
mod linalg;
mod pad;
mod fold;
mod blocks;
mod ext;

pub use blocks::BlocksMut;
pub use error::{Argument, PatchError};
pub use ext::{IntoPatches, PatchExt};
pub use fold::{
    reconstruct, try_reconstruct, Anchor, Channels, Fold, Folded, Reduction, WindowWeights,
};
pub use geometry::{Edge, PerAxis, Window};
pub use pad::{pad, try_pad, Pad, Padded};
pub use patches::{Iter, Patches};
pub use rows::{ChunkResult, Chunks, Position, Positions, Rows, DEFAULT_CHUNK_BYTES};
#[cfg(feature = "rand")]
pub use sample::Sampling;
pub use scalar::{AsIs, Cast, Conversion, MapElems, Real};
pub use view::PatchDim;

/// The `rand` this crate's sampling takes generators from (0.9): seed a
/// generator with it (`ndarray_patches::rand::rngs::StdRng`) and a newer
/// `rand` in your own dependencies cannot break the trait bound.
#[cfg(feature = "rand")]
pub use rand;

/// The traits needed to call `.patches(..)`: traits only.
///
/// # Examples
///
/// ```
/// use ndarray_patches::prelude::*;
///
/// let a = ndarray::Array1::<u8>::zeros(4);
/// assert_eq!(a.patches(2).len(), 3);
/// ```
pub mod prelude {
    pub use crate::{IntoPatches, PatchExt};
}

//! Zero-copy N-D patch (sliding-window) views of [`ndarray`] arrays, and fast
//! parallel, bounded-memory flattening into `(n_patches, patch_len)` rows.
//!
//! # 1. Patches and their view
//!
//! [`PatchExt::patches`] describes every window of an array at no cost;
//! [`Patches::view`] shows them as one strided view of shape
//! `grid ++ patch`. Sizes, steps and dilations are one number for every
//! axis or one per axis, in any number of dimensions.
//!
//! ```
//! use ndarray::Array2;
//! use ndarray_patches::prelude::*;
//!
//! let img = Array2::from_shape_fn((100, 100), |(i, j)| (i * 100 + j) as f32);
//! let p = img.patches(39);                            // every 39x39 window
//! assert_eq!(p.view().shape(), &[62, 62, 39, 39]);   // zero copy
//! let tiles = img.patches(10).step(10);              // non-overlapping tiles
//! assert_eq!(tiles.len(), 100);
//! let sparse = img.patches((3, 5)).dilation((2, 1)); // per axis
//! assert_eq!(sparse.grid(), ndarray::Dim([96, 96]));
//! ```
//!
//! # 2. The patch matrix
//!
//! [`to_matrix`](Rows::to_matrix) copies the patches, on every core, into
//! the matrix a model wants, one row per patch, numpy's row order.
//! [`cast`](Rows::cast) and [`map_elems`](Rows::map_elems) convert the
//! elements during the same copy:
//!
//! ```
//! use ndarray::Array2;
//! use ndarray_patches::prelude::*;
//!
//! let img = Array2::from_shape_fn((100, 100), |(i, j)| ((i * 100 + j) % 256) as u8);
//! let p = img.patches(39);
//! let x = p.to_matrix();                          // (3844, 1521) of u8
//! // Row 63 is the patch at grid position (1, 1): its first element is img[1, 1].
//! assert_eq!(x[[63, 0]], img[[1, 1]]);
//! let xf = p.map_elems(|v: u8| f32::from(v) / 255.0).to_matrix(); // normalised f32
//! assert_eq!(xf[[63, 0]], f32::from(img[[1, 1]]) / 255.0);
//! ```
//!
//! # 3. Stream every window of a big image, without the matrix
//!
//! The patch matrix is `patch_len` times larger than the image (a 4096 x 4096
//! `f32` image is 64 MiB; its 39 x 39 patch matrix is about 100 GB). Stream it
//! instead: every delivery method of [`Rows`] fills cache-sized chunks and
//! hands them to your code, so memory stays at the image plus a few chunks
//! however many patches there are. [`par_map_chunks`](Rows::par_map_chunks)
//! and [`map_windows`](Rows::map_windows) collect one result per chunk or
//! per window on every core, in row order, with no locks in your code:
//!
//! ```
//! use ndarray::{Array1, Array2};
//! use ndarray_patches::prelude::*;
//!
//! let img = Array2::from_shape_fn((512, 512), |(i, j)| ((i * 7 + j * 3) % 256) as u8);
//! let p = img.patches(39);
//! let filter = Array1::from_elem(p.patch_len(), 1.0 / p.patch_len() as f32); // a box filter
//!
//! // One score per window, aligned with the rows; u8 pixels become f32 during the copy.
//! let rows = p.cast::<f32>();
//! let scores = rows.par_map_chunks(rows.default_chunk_rows(), |chunk| chunk.dot(&filter));
//! assert_eq!(scores.len(), 474 * 474);
//!
//! // Where a row's window is in the image:
//! let best = (0..p.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
//! let origin = p.position(best).unwrap().origin;
//! assert!(origin[0] <= 512 - 39 && origin[1] <= 512 - 39);
//!
//! // The same scores as an image you can look at.
//! let map = rows.map_windows(|w| w.dot(&filter));
//! assert_eq!(map.dim(), (474, 474));
//! ```
//!
//! [`for_each_chunk`](Rows::for_each_chunk) hands chunks to your code in
//! order from one reused buffer, [`par_for_each_chunk`](Rows::par_for_each_chunk)
//! on every thread, [`chunks`](Rows::chunks) as an iterator of owned
//! chunks, and [`write_rows`](Rows::write_rows) fills a buffer of yours
//! (to shard rows across processes or machines); [`Patches::rows`]
//! restricts any of them to a range of rows.
//!
//! ## Images larger than memory
//!
//! Patches only need an [`ArrayView`](ndarray::ArrayView), and a memory map
//! of a file is one: map a `.npy` read-only (with `memmap2` and
//! `ndarray-npy`), take its patches and stream them. Pages are read from
//! disk as the windows reach them and are clean copies the kernel can drop,
//! so the file may be larger than memory; streaming the rows in bands of
//! grid rows ([`Patches::rows`]) and advising `MADV_DONTNEED` on the image
//! rows a band has finished keeps the resident set at a band, as
//! `examples/larger_than_memory.rs` shows (peak 25 MiB for a 512 MiB file).
//!
//! ```
//! use memmap2::Mmap;
//! use ndarray::{Array2, ArrayView2};
//! use ndarray_npy::{write_npy, ViewNpyExt};
//! use ndarray_patches::prelude::*;
//!
//! let path = std::env::temp_dir().join(format!("ndarray-patches-doc-{}.npy", std::process::id()));
//! write_npy(&path, &Array2::from_shape_fn((300, 200), |(i, j)| (i + j) as u16))?;
//!
//! let file = std::fs::File::open(&path)?;
//! // SAFETY (of the map): nothing modifies the file while it is mapped.
//! let map = unsafe { Mmap::map(&file)? };
//! let img = ArrayView2::<u16>::view_npy(&map)?;       // the file's bytes, no copy
//! let p = img.patches(16).step(8);
//! let rows = p.cast::<f32>();
//! let means = rows.par_map_chunks(rows.default_chunk_rows(), |c| c.mean_axis(ndarray::Axis(1)).unwrap());
//! assert_eq!(means.len(), p.len());
//! assert_eq!(means[0], 15.0);                          // the mean of i + j over 16x16
//! # drop(map);
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # 4. Around the patches
//!
//! - Seeded sampling: [`Patches::sample`], [`Sampling`] (with replacement,
//!   weighted, masked, clamped) and [`Rows::select`].
//! - Row sets: a range ([`Patches::rows`]), an index list
//!   ([`Rows::select`], [`Patches::sample`]) or a shuffled epoch
//!   ([`Rows::shuffled`]: every row once per epoch in a seeded random
//!   order); every delivery method works on each, its chunks labelled with
//!   their rows ([`RowSet`]), holding one index per row and a batch per
//!   worker, never the matrix.
//! - Borders: [`Window`], [`Edge`] (`Valid`, `Same`, `Cover`, `Shift`) and
//!   [`Pad`] (numpy.pad's modes) through [`PatchExt::padded`]. Tiles that
//!   reach every border without padding, for running a model on overlapping
//!   tiles and stitching its output: [`Patches::edge`]`(Edge::Shift)` adds,
//!   on each axis the step does not take to the end, one tile moved back to
//!   end on the border (zero copy; [`Fold`] takes the same `Edge`).
//! - Back to the image: [`Fold`] (sum, mean, window-weighted, max, min,
//!   last window, chosen at construction; rows streamed in with
//!   [`Fold::add_rows`], or extracted and folded in one pass by
//!   [`Rows::fold_into`], both on every core) and
//!   [`Fold::place`] for one prediction per window; [`reconstruct`].
//! - Windows over some axes only (numpy's `sliding_window_view(..,
//!   axis=..)`): [`PatchExt::patches_along`] and [`PatchesAlong`]; an
//!   `(N, H, W, C)` batch over axes `(1, 2)` has grid `(N, gh, gw)` and rows
//!   of `ph * pw * C`.
//! - Tiles: [`PatchExt::blocks`] and [`PatchExt::blocks_mut`].
//! - Linear algebra on the virtual patch matrix X of any float [`Rows`]
//!   (a float image's patches, a range, a selection, after
//!   [`cast`](Rows::cast) or [`map_elems`](Rows::map_elems)), never built:
//!   [`Rows::dot`] (`X·w`, `X·W`), [`Rows::t_dot`], [`Rows::gram`],
//!   [`Rows::mean`], [`Rows::covariance`] (see [`Real`]).
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
//! # Errors and panics
//!
//! Where failure depends on the data (sizes that do not fit, overflow,
//! operands of the wrong shape), a method has a `try_` twin returning a
//! [`PatchError`] with the offending numbers; the plain method panics with
//! the same message. Misuse the caller controls directly (a chunk of zero
//! rows, a row range past the end) is a documented panic.
//!
//! # Features
//!
//! - `rand` (default): seeded sampling ([`Sampling`]) and shuffled epochs
//!   ([`Rows::shuffled`]); re-exports the [`rand`] it takes generators from.
//!
//! # Architecture
//!
//! Modules, bottom to top; each imports only from those below it:
//! `error` -> `stop` ([`StopToken`]) -> `par` (the one parallel scheduler) -> `scalar` (element
//! types) -> `method` ([`Method`], the linear algebra's algorithm) ->
//! `geometry` (validated shapes, windows, edges, padding arithmetic, the
//! along-axes projection) -> `view` (the one
//! `from_shape_ptr`) -> `flatten` (copy plans and the hot loops) -> `rows`
//! ([`Rows`]: every delivery method, once, for every [`RowSet`]) ->
//! `patches` ([`Patches`]) -> `along` ([`PatchesAlong`]: windows over
//! chosen axes) -> `sample`, `shuffle` (index row sets) -> `linalg` ->
//! `pad`, `fold`, `blocks` -> `ext` ([`PatchExt`]). All unsafe code is in
//! `view` and `flatten` (`unsafe_code` is denied elsewhere).
// Unsafe code is allowed only where it is fenced and argued: `view` (the
// one `from_shape_ptr`) and `flatten` (the row copiers, the target-feature
// dispatch and the AVX-512 kernels of the displacement sums).
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, missing_debug_implementations)]

// Layers, bottom to top: a module imports only from modules above it in
// this list (checked in CI by .ci/layers.py).
mod error;
mod stop;
mod par;
mod scalar;
mod method;
mod geometry;
mod view;
mod flatten;
mod rows;
mod patches;
mod along;
#[cfg(feature = "rand")]
mod sample;
#[cfg(feature = "rand")]
mod shuffle;
mod linalg;
mod pad;
mod fold;
mod blocks;
mod ext;

pub use along::PatchesAlong;
pub use blocks::BlocksMut;
pub use error::{Argument, PatchError};
pub use ext::{IntoPatches, PatchExt};
pub use fold::{
    reconstruct, try_reconstruct, Anchor, Channels, Fold, Folded, Reduction, WindowWeights,
};
pub use geometry::{Edge, PerAxis, Window};
pub use linalg::Operand;
pub use method::Method;
pub use pad::{pad, try_pad, Pad, Padded};
pub use patches::{Iter, Patches};
pub use rows::{
    ChunkResult, Chunks, Flow, Indices, Position, Positions, RowSet, Rows, DEFAULT_CHUNK_BYTES,
};
#[cfg(feature = "rand")]
pub use sample::Sampling;
pub use scalar::{AsIs, Cast, Conversion, MapElems, Real};
pub use stop::StopToken;
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

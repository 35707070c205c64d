//! Streaming throughput: bytes of patch data delivered per second to a
//! trivial consumer (the sum of each chunk), on W2 (1024x1024, 16x16) and
//! W5 (4096x4096, 39x39 step 8), f32.
//!
//! - `for_each_chunk` (one buffer refilled on all cores) and
//!   `for_each_chunk_1thread` (the same on a one-thread pool);
//! - `par_for_each_chunk` (a buffer per thread, the consumer on every core);
//! - `to_matrix` (the whole matrix, fresh, page faults included);
//! - `memcpy_reused_chunk`: the same bytes copied, one thread, into the same
//!   reused cache-sized buffer from a source the size of the image, then
//!   summed by the same consumer: the bandwidth reference for streaming;
//!   `memcpy_reused_chunk_all_threads` the same on every thread, each with
//!   its own buffer (the reference for `par_for_each_chunk`).
//!
//! Chunks are `DEFAULT_CHUNK_BYTES` (1 MiB). Compare ratios within a run.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::{Array2, ArrayView2};
use ndarray_patches::prelude::*;
use rayon::prelude::*;

fn image(h: usize, w: usize) -> Array2<f32> {
    let mut x = 7u32;
    Array2::from_shape_simple_fn((h, w), || {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (x >> 8) as f32
    })
}

fn consume(c: ArrayView2<'_, f32>) {
    black_box(c.sum());
}

/// The memcpy reference's chunk: `buf` filled from `src` at `*at`
/// (wrapping around), then consumed as rows of `patch_len`.
fn copy_chunk(src: &[f32], buf: &mut [f32], at: &mut usize, patch_len: usize) {
    for piece in buf.chunks_mut(src.len()) {
        if *at + piece.len() > src.len() {
            *at = 0;
        }
        piece.copy_from_slice(&src[*at..*at + piece.len()]);
        *at += piece.len();
    }
    consume(ArrayView2::from_shape((buf.len() / patch_len, patch_len), &*buf).unwrap());
}

fn stream(c: &mut Criterion) {
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    for (name, size, patch, step) in [("W2", 1024, 16, 1), ("W5", 4096, 39, 8)] {
        let img = image(size, size);
        let p = img.patches((patch, patch)).step((step, step));
        let rows = p.default_chunk_rows();
        let bytes = p.matrix_bytes().unwrap() as u64;
        let mut g = c.benchmark_group(format!("stream_{name}"));
        g.throughput(Throughput::Bytes(bytes));
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(5));

        g.bench_function("for_each_chunk", |b| {
            b.iter(|| p.for_each_chunk(rows, |_, c| consume(c)))
        });
        g.bench_function("for_each_chunk_1thread", |b| {
            b.iter(|| one_thread.install(|| p.for_each_chunk(rows, |_, c| consume(c))))
        });
        g.bench_function("par_for_each_chunk", |b| {
            b.iter(|| p.par_for_each_chunk(rows, |_, c| consume(c)))
        });
        g.bench_function("to_matrix", |b| b.iter(|| black_box(p.to_matrix())));
        {
            let src: Vec<f32> = img.iter().copied().collect();
            let chunk = rows * p.patch_len();
            let mut buf = vec![0.0f32; chunk];
            let total = p.len() * p.patch_len();
            g.bench_function("memcpy_reused_chunk", |b| {
                b.iter(|| {
                    let (mut done, mut at) = (0, 0);
                    while done < total {
                        let n = chunk.min(total - done);
                        copy_chunk(&src, &mut buf[..n], &mut at, p.patch_len());
                        done += n;
                    }
                })
            });
            // The same on every thread, each with its own reused buffer and
            // its share of the chunks: the reference for par_for_each_chunk.
            let threads = rayon::current_num_threads();
            let mut bufs = vec![vec![0.0f32; chunk]; threads];
            let n_chunks = total.div_ceil(chunk);
            g.bench_function("memcpy_reused_chunk_all_threads", |b| {
                b.iter(|| {
                    bufs.par_iter_mut().enumerate().for_each(|(t, buf)| {
                        let mut at = (t * 7919 * 64) % src.len();
                        for c in (t..n_chunks).step_by(threads) {
                            let n = chunk.min(total - c * chunk);
                            copy_chunk(&src, &mut buf[..n], &mut at, p.patch_len());
                        }
                    })
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, stream);
criterion_main!(benches);

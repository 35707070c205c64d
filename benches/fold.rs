//! Reconstruction and padding on W2 (1024x1024 f32, 16x16 patches):
//!
//! - `fold_mean`: every row of the patch matrix streamed into a `Fold`
//!   (`for_each_chunk` + `add_rows`, the adding on one thread) and
//!   finished with `Mean`, against `to_matrix` of the same rows (the cost
//!   of producing them once);
//! - `fold_mean_par_rows`: the same chunks folded with `add_rows` on the
//!   pool, which splits each chunk over its threads;
//! - `fold_mean_par`: extraction and fold in one pass on every core,
//!   `rows.fold_into(&mut fold)`; `fold_max_par` the same with
//!   `Reduction::Max`.
//!
//! The parallel ones run on a pool of 2 threads (`FOLD_THREADS` to change
//! it), so their ratio to `fold_mean` is the speed-up on 2 cores.
//! - `same_to_matrix`: "same" windows (padding with `Pad::Reflect`
//!   included, one window per pixel) flattened with `to_matrix`, against
//!   `to_matrix` of the valid windows; throughput is per byte of matrix,
//!   since "same" has 3% more windows.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;
use ndarray_patches::prelude::*;
use ndarray_patches::{Edge, Fold, Pad, Reduction, Window};

fn fold(c: &mut Criterion) {
    let img = Array2::from_shape_fn((1024, 1024), |(i, j)| ((i * 31 + j * 17) % 255) as f32);
    let w = Window::new((16, 16));
    let p = img.patches((16, 16));
    let bytes = p.matrix_bytes().unwrap() as u64;

    let mut g = c.benchmark_group("fold_W2");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("to_matrix", |b| b.iter(|| black_box(p.to_matrix())));
    g.bench_function("fold_mean", |b| {
        // The rows extracted as before (the global pool), added on one
        // thread: add_rows on a pool of one never splits.
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        b.iter(|| {
            let mut f = Fold::new((1024, 1024), &w, Edge::Valid);
            p.for_each_chunk(p.default_chunk_rows(), |start, rows| {
                one.install(|| f.add_rows(start, &rows))
            });
            black_box(f.finish::<f32>())
        })
    });
    let threads = std::env::var("FOLD_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    g.bench_function("fold_mean_par_rows", |b| {
        b.iter(|| {
            pool.install(|| {
                let mut f = Fold::new((1024, 1024), &w, Edge::Valid);
                p.for_each_chunk(p.default_chunk_rows(), |start, rows| {
                    f.add_rows(start, &rows)
                });
                black_box(f.finish::<f32>())
            })
        })
    });
    g.bench_function("fold_mean_par", |b| {
        b.iter(|| {
            pool.install(|| {
                let mut f = Fold::new((1024, 1024), &w, Edge::Valid);
                p.fold_into(&mut f);
                black_box(f.finish::<f32>())
            })
        })
    });
    g.bench_function("fold_max_par", |b| {
        b.iter(|| {
            pool.install(|| {
                let mut f = Fold::new((1024, 1024), &w, Edge::Valid).reducing(Reduction::Max);
                p.fold_into(&mut f);
                black_box(f.finish::<f32>())
            })
        })
    });
    let same_bytes = img
        .padded(&w, Edge::Same, Pad::Reflect)
        .patches()
        .matrix_bytes()
        .unwrap() as u64;
    g.throughput(Throughput::Bytes(same_bytes));
    g.bench_function("same_to_matrix", |b| {
        b.iter(|| {
            let padded = img.padded(&w, Edge::Same, Pad::Reflect);
            black_box(padded.patches().to_matrix())
        })
    });
    g.finish();
}

criterion_group!(benches, fold);
criterion_main!(benches);

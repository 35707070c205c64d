//! Flattening throughput on the five reference workloads (all f32):
//!
//! - W1 100x100, patch 39x39
//! - W2 1024x1024, patch 16x16
//! - W3 2048x2048, patch 8x8, step 4
//! - W4 512x512x3, patch 32x32x3
//! - W5 4096x4096, patch 39x39, step 8
//!
//! For each: `to_matrix` (fresh output, all cores), `write_rows` into a
//! reused buffer on one thread and on all cores, the obvious ndarray code
//! (`windows_with_stride`, each window copied into a row of a fresh
//! matrix), and the memory-bandwidth reference: a `copy_from_slice` of the
//! same number of bytes, into a fresh and into a reused buffer, on one
//! thread. Throughput is in bytes of patch matrix written. Compare ratios
//! within one run: these machines are shared and noisy.
//!
//! `cargo bench --bench flatten -- W2` runs one workload.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::{Array, Array2, ArrayD, IxDyn};
use ndarray_patches::prelude::*;

struct Workload {
    name: &'static str,
    shape: &'static [usize],
    patch: &'static [usize],
    step: &'static [usize],
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "W1",
        shape: &[100, 100],
        patch: &[39, 39],
        step: &[1, 1],
    },
    Workload {
        name: "W2",
        shape: &[1024, 1024],
        patch: &[16, 16],
        step: &[1, 1],
    },
    Workload {
        name: "W3",
        shape: &[2048, 2048],
        patch: &[8, 8],
        step: &[4, 4],
    },
    Workload {
        name: "W4",
        shape: &[512, 512, 3],
        patch: &[32, 32, 3],
        step: &[1, 1, 1],
    },
    Workload {
        name: "W5",
        shape: &[4096, 4096],
        patch: &[39, 39],
        step: &[8, 8],
    },
];

fn image(shape: &[usize]) -> ArrayD<f32> {
    let mut x = 0u32;
    Array::from_shape_simple_fn(IxDyn(shape), || {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (x >> 8) as f32
    })
}

/// The obvious ndarray code: iterate the windows, copy each into a row.
fn naive(
    img: &ArrayD<f32>,
    patch: &[usize],
    step: &[usize],
    rows: usize,
    cols: usize,
) -> Array2<f32> {
    let mut out = Array2::zeros((rows, cols));
    let windows = img.windows_with_stride(IxDyn(patch), IxDyn(step));
    for (mut row, w) in out.rows_mut().into_iter().zip(windows) {
        for (o, x) in row.iter_mut().zip(w.iter()) {
            *o = *x;
        }
    }
    out
}

/// The best a fresh output can do here: a new buffer advised for huge
/// pages (as numpy's large arrays are) and filled by every thread, each
/// first-touching its own part. The reference for `to_matrix`.
fn fresh_huge_copy(src: &[f32]) -> Vec<f32> {
    use rayon::prelude::*;
    // calloc-backed: the pages are not touched until the copy below.
    let mut v = vec![0.0f32; src.len()];
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let addr = v.as_mut_ptr() as usize;
        let (start, end) = (
            addr.next_multiple_of(HUGE),
            (addr + src.len() * 4) & !(HUGE - 1),
        );
        if end > start {
            // SAFETY: advice over whole pages inside `v`'s allocation; it
            // changes how they are backed, not their contents.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
    let part = src.len().div_ceil(rayon::current_num_threads()).max(1);
    v.par_chunks_mut(part)
        .zip(src.par_chunks(part))
        .for_each(|(d, s)| d.copy_from_slice(s));
    v
}

fn flatten(c: &mut Criterion) {
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    for w in WORKLOADS {
        let img = image(w.shape);
        let p = img.patches(IxDyn(w.patch)).step(IxDyn(w.step));
        let (rows, cols) = (p.len(), p.patch_len());
        let bytes = (rows * cols * 4) as u64;
        let mut g = c.benchmark_group(w.name);
        g.throughput(Throughput::Bytes(bytes));
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(if bytes > 500_000_000 { 8 } else { 3 }));

        g.bench_function("to_matrix", |b| b.iter(|| black_box(p.to_matrix())));
        {
            let mut buf = Array2::<f32>::zeros((rows, cols));
            g.bench_function("write_rows_reused_1thread", |b| {
                b.iter(|| one_thread.install(|| p.write_rows(0, buf.view_mut())))
            });
            g.bench_function("write_rows_reused", |b| {
                b.iter(|| p.write_rows(0, buf.view_mut()))
            });
        }
        g.bench_function("ndarray_windows_naive", |b| {
            b.iter(|| black_box(naive(&img, w.patch, w.step, rows, cols)))
        });
        {
            let src = vec![1.0f32; rows * cols];
            g.bench_function(BenchmarkId::new("memcpy", "fresh"), |b| {
                b.iter(|| {
                    let mut v = Vec::with_capacity(src.len());
                    v.extend_from_slice(&src);
                    black_box(v)
                })
            });
            g.bench_function(BenchmarkId::new("memcpy", "fresh_huge_2threads"), |b| {
                b.iter(|| black_box(fresh_huge_copy(&src)))
            });
            let mut dst = vec![0.0f32; rows * cols];
            g.bench_function(BenchmarkId::new("memcpy", "reused"), |b| {
                b.iter(|| {
                    dst.copy_from_slice(&src);
                    black_box(&dst);
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, flatten);
criterion_main!(benches);

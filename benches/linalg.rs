//! Linear algebra on the virtual patch matrix against materialize-then-dot,
//! on W2 (1024x1024 f32, 16x16 patches: a 1 GiB matrix X):
//!
//! - `matmul_k16`: X·W with W of shape (256, 16), a filter bank;
//! - `gram`: XᵀX.
//!
//! Each as `virtual` (this crate, the method the cost model picks: for
//! `gram` and `covariance` of all the windows, displacement sums) and
//! `materialized` (`to_matrix()` then ndarray's `dot`, which is
//! single-threaded without BLAS); `gram/gemm` forces the chunked GEMM.
//! Before the timings, the peak heap bytes of one call of each are printed
//! (a counting allocator), so both ratios come from one run.
//!
//! The workloads of issue 18 (peers in `benches/peers.py`):
//!
//! - `linalg_W6/covariance_f64`: 768x768 f32, 39x39, step 1, the `f64`
//!   covariance (`p.cast::<f64>().covariance()`; a 3.2 GB f32 matrix never
//!   built), and its peak heap;
//! - `linalg_3x3`: 1024x1024 f32, 3x3 windows, `gram` as picked (`virtual`)
//!   and by GEMM (`gemm`);
//! - `linalg_rows`: W2's first half of the rows, `gram` (a row range: GEMM
//!   whatever the model);
//! - `linalg_W6/matmul_k16_f32`, `dot_f32`, `t_matmul_k16_f32`,
//!   `t_dot_f32`: W6's `X·W` with 16 filters, `X·w`, `Xᵀ·V` with 16
//!   columns and `Xᵀ·v`, in `f32`, as picked (`virtual`: FFT
//!   cross-correlation) and by GEMM (`gemm`), and the peak heap of the
//!   virtual `X·W`;
//! - `linalg_3x3/matmul_k16`: 3x3 windows, `X·W` with 16 filters as
//!   picked (GEMM) and forced GEMM.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use ndarray_patches::prelude::*;
use ndarray_patches::Method;

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn peak_of(f: impl FnOnce()) -> usize {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - base
}

fn linalg(c: &mut Criterion) {
    let img = Array2::from_shape_fn((1024, 1024), |(i, j)| {
        ((i * 31 + j * 17) % 255) as f32 / 255.0
    });
    let p = img.patches((16, 16));
    let w = Array2::from_shape_fn((256, 16), |(i, j)| ((i * 7 + j * 3) % 13) as f32 - 6.0);

    let mb = |b: usize| b as f64 / (1024.0 * 1024.0);
    let (v, m) = (
        peak_of(|| drop(black_box(p.dot(&w)))),
        peak_of(|| drop(black_box(p.to_matrix().dot(&w)))),
    );
    println!(
        "peak heap, matmul k=16: virtual {:.1} MiB, materialized {:.1} MiB ({:.0}x less)",
        mb(v),
        mb(m),
        m as f64 / v as f64
    );
    let (v, m) = (
        peak_of(|| drop(black_box(p.gram()))),
        peak_of(|| {
            let x = p.to_matrix();
            drop(black_box(x.t().dot(&x)))
        }),
    );
    println!(
        "peak heap, gram: virtual {:.1} MiB, materialized {:.1} MiB ({:.0}x less)",
        mb(v),
        mb(m),
        m as f64 / v as f64
    );

    let mut g = c.benchmark_group("linalg_W2");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("matmul_k16/virtual", |b| b.iter(|| black_box(p.dot(&w))));
    g.bench_function("matmul_k16/materialized", |b| {
        b.iter(|| black_box(p.to_matrix().dot(&w)))
    });
    g.bench_function("gram/virtual", |b| b.iter(|| black_box(p.gram())));
    g.bench_function("gram/gemm", |b| {
        b.iter(|| black_box(p.method(Method::Gemm).gram()))
    });
    g.bench_function("covariance/virtual", |b| {
        b.iter(|| black_box(p.covariance()))
    });
    g.bench_function("gram/materialized", |b| {
        b.iter(|| {
            let x = p.to_matrix();
            black_box(x.t().dot(&x))
        })
    });
    g.finish();
}

fn issue18(c: &mut Criterion) {
    let mb = |b: usize| b as f64 / (1024.0 * 1024.0);
    // W6: 768x768 f32, 39x39 windows, the f64 covariance.
    let img = Array2::from_shape_fn((768, 768), |(i, j)| {
        ((i * 31 + j * 17) % 255) as f32 / 255.0
    });
    let p = img.patches((39, 39));
    let result = 1521 * 1521 * 8;
    let v = peak_of(|| drop(black_box(p.cast::<f64>().covariance())));
    println!(
        "peak heap, W6 covariance f64: {:.1} MiB, {:.1} MiB beyond the {:.1} MiB result",
        mb(v),
        mb(v - result),
        mb(result)
    );
    let mut g = c.benchmark_group("linalg_W6");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("covariance_f64/virtual", |b| {
        b.iter(|| black_box(p.cast::<f64>().covariance()))
    });
    g.finish();

    // W6 products with filters (FFT cross-correlation as picked, GEMM).
    let w16 = Array2::from_shape_fn((1521, 16), |(i, j)| {
        ((i * 7 + j * 3) % 13) as f32 / 6.0 - 1.0
    });
    let w1 = w16.column(0).to_owned();
    let v16 = Array2::from_shape_fn((p.len(), 16), |(i, j)| {
        ((i * 5 + j * 11) % 17) as f32 / 8.0 - 1.0
    });
    let v1 = v16.column(0).to_owned();
    let result = p.len() * 16 * 4;
    let v = peak_of(|| drop(black_box(p.dot(&w16))));
    println!(
        "peak heap, W6 matmul k=16 f32: {:.1} MiB, {:.1} MiB beyond the {:.1} MiB result",
        mb(v),
        mb(v.saturating_sub(result)),
        mb(result)
    );
    let mut g = c.benchmark_group("linalg_W6");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("matmul_k16_f32/virtual", |b| {
        b.iter(|| black_box(p.dot(&w16)))
    });
    g.bench_function("dot_f32/virtual", |b| b.iter(|| black_box(p.dot(&w1))));
    g.bench_function("t_matmul_k16_f32/virtual", |b| {
        b.iter(|| black_box(p.t_dot(&v16)))
    });
    g.bench_function("t_dot_f32/virtual", |b| b.iter(|| black_box(p.t_dot(&v1))));
    g.bench_function("matmul_k16_f32/gemm", |b| {
        b.iter(|| black_box(p.method(Method::Gemm).dot(&w16)))
    });
    g.bench_function("dot_f32/gemm", |b| {
        b.iter(|| black_box(p.method(Method::Gemm).dot(&w1)))
    });
    g.finish();

    // 3x3 windows and a row range: where GEMM is the reference.
    let img = Array2::from_shape_fn((1024, 1024), |(i, j)| {
        ((i * 31 + j * 17) % 255) as f32 / 255.0
    });
    let p3 = img.patches((3, 3));
    let mut g = c.benchmark_group("linalg_3x3");
    g.sample_size(20);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("gram/virtual", |b| b.iter(|| black_box(p3.gram())));
    g.bench_function("gram/gemm", |b| {
        b.iter(|| black_box(p3.method(Method::Gemm).gram()))
    });
    let w9 = Array2::from_shape_fn((9, 16), |(i, j)| ((i * 7 + j * 3) % 13) as f32 - 6.0);
    g.bench_function("matmul_k16/virtual", |b| b.iter(|| black_box(p3.dot(&w9))));
    g.bench_function("matmul_k16/gemm", |b| {
        b.iter(|| black_box(p3.method(Method::Gemm).dot(&w9)))
    });
    g.finish();
    let p16 = img.patches((16, 16));
    let half = p16.rows(..p16.len() / 2);
    let mut g = c.benchmark_group("linalg_rows");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("gram_half/virtual", |b| b.iter(|| black_box(half.gram())));
    g.finish();
}

criterion_group!(benches, linalg, issue18);
criterion_main!(benches);

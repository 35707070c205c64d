//! Streaming memory is bounded by the chunk buffers, whatever the number of
//! patches: a counting global allocator records the peak bytes allocated
//! while every patch of a 2048x2048 f32 image with 32x32 patches (about
//! 16 GB of virtual matrix) is streamed. Deterministic: counts bytes, not
//! time. The tests of this binary hold `SERIAL`, so that no other test
//! allocates while one measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{Array1, Array2};
use ndarray_patches::prelude::*;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged and only
// updates counters on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
            COUNT.fetch_add(1, Ordering::SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Peak bytes allocated above the level at the start, and allocations made,
/// while `f` runs.
fn measure(f: impl FnOnce()) -> (usize, usize) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let count = COUNT.load(Ordering::SeqCst);
    f();
    (
        PEAK.load(Ordering::SeqCst) - base,
        COUNT.load(Ordering::SeqCst) - count,
    )
}

#[test]
#[cfg_attr(miri, ignore)]
fn streaming_allocates_only_the_chunk_buffers() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let img = Array2::from_shape_fn((2048, 2048), |(i, j)| ((i * 31 + j * 17) % 255) as f32);
    let p = img.patches((32, 32));
    let virtual_bytes = p.matrix_bytes().unwrap();
    assert!(virtual_bytes > 16_000_000_000, "{virtual_bytes}");
    let rows = p.default_chunk_rows();
    let chunk_bytes = rows * p.patch_len() * 4;
    let w = Array1::from_elem(p.patch_len(), 1.0f32);
    let threads = rayon::current_num_threads();
    // Warm rayon's pool up, so its one-time setup is not counted.
    p.rows(..1).par_for_each_chunk(1, |_, _| {});

    // A small constant for rayon's job bookkeeping and the copy plan.
    let slack = 64 * 1024;

    // Sequential visitor: one buffer.
    let (peak, allocs) = measure(|| {
        p.for_each_chunk(rows, |_, c| {
            std::hint::black_box(c.row(0).dot(&w.view()));
        })
    });
    println!("for_each_chunk: peak {peak} B, {allocs} allocations, chunk {chunk_bytes} B, virtual {virtual_bytes} B");
    assert!(
        peak <= chunk_bytes + slack,
        "peak {peak} > {chunk_bytes} + {slack}"
    );
    // With several threads, rayon's scheduler allocates now and then when
    // the caller's thread injects jobs (about one per 60 chunks seen here);
    // never one per chunk.
    let n_chunks = p.len().div_ceil(rows);
    assert!(
        allocs < n_chunks / 10,
        "{allocs} allocations for {n_chunks} chunks"
    );

    // On a one-thread pool nothing but the crate runs: the copy plan and
    // the one buffer, and not a single allocation after the first chunk.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| p.rows(..1).for_each_chunk(1, |_, _| {}));
    let (peak, allocs) = measure(|| {
        pool.install(|| {
            p.for_each_chunk(rows, |_, c| {
                std::hint::black_box(c.row(0).dot(&w.view()));
            })
        })
    });
    println!("for_each_chunk, 1 thread: peak {peak} B, {allocs} allocations for {n_chunks} chunks");
    assert!(peak <= chunk_bytes + slack, "peak {peak}");
    // Five small Vecs of the copy plan (window strides: grid, patch and
    // moved-back offsets; merged grid and patch axes) and the buffer.
    assert!(allocs <= 6, "{allocs} allocations for {n_chunks} chunks");

    // Parallel visitor: one buffer per thread.
    let (peak, allocs) = measure(|| {
        p.par_for_each_chunk(rows, |_, c| {
            std::hint::black_box(c.row(0).dot(&w.view()));
        })
    });
    println!("par_for_each_chunk: peak {peak} B, {allocs} allocations, {threads} threads");
    assert!(peak <= threads * chunk_bytes + slack, "peak {peak}");
    assert!(
        allocs < n_chunks / 10,
        "{allocs} allocations for {n_chunks} chunks"
    );

    // Owned chunks: one block alive at a time.
    let (peak, _) = measure(|| {
        for (_, c) in p.rows(..p.len() / 8).chunks(rows) {
            std::hint::black_box(c[[0, 0]]);
        }
    });
    assert!(peak <= chunk_bytes + slack, "peak {peak}");
}

/// `gram()` of a 2048x2048 image with 16x16 patches: a 4 GiB virtual
/// matrix; the call holds a chunk and a 256x256 partial per thread and the
/// f64 result, never the matrix.
#[test]
#[cfg_attr(miri, ignore)]
fn gram_allocates_chunks_and_result_only() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let img = Array2::from_shape_fn((2048, 2048), |(i, j)| ((i * 13 + j * 7) % 251) as f32);
    let p = img.patches((16, 16));
    let pl = p.patch_len();
    let threads = rayon::current_num_threads();
    p.rows(..1).par_for_each_chunk(1, |_, _| {});
    let (peak, _) = measure(|| {
        let g: Array2<f32> = p.gram();
        std::hint::black_box(g);
    });
    let chunk = ndarray_patches::DEFAULT_CHUNK_BYTES;
    // Per thread: the chunk, its f32 partial, the thread's own f64
    // accumulator and matrixmultiply's packing buffers (under 200 KiB
    // measured at these sizes); once: the f32 result.
    let gemm_packing = 256 * 1024;
    let bound = threads * (chunk + pl * pl * (4 + 8) + gemm_packing) + pl * pl * 4 + 256 * 1024;
    println!(
        "gram: peak {peak} B (bound {bound} B), virtual matrix {} B",
        p.matrix_bytes().unwrap()
    );
    assert!(peak <= bound, "peak {peak} > {bound}");
}

/// Conversions size chunks in the elements written: `gram::<f64>()` of a
/// u8 image streams 1 MiB chunks of f64 (512 rows of 256), not 1 MiB of
/// u8 (4096 rows, 8 MiB once converted); a converting visitor holds 1 MiB
/// of f32.
#[test]
#[cfg_attr(miri, ignore)]
fn converted_chunks_are_sized_in_the_output_type() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // 247k patches: a 250 MB f32 matrix, 500 MB as f64.
    let img = Array2::from_shape_fn((512, 512), |(i, j)| ((i * 13 + j * 7) % 251) as u8);
    let p = img.patches((16, 16));
    let pl = p.patch_len();
    let threads = rayon::current_num_threads();
    let chunk = ndarray_patches::DEFAULT_CHUNK_BYTES;
    assert!(p.cast::<f64>().matrix_bytes().unwrap() > 400 * chunk);
    p.rows(..1).par_for_each_chunk(1, |_, _| {});

    let conv = p.cast::<f32>();
    let rows = conv.default_chunk_rows();
    assert_eq!(rows * pl * 4, chunk);
    let w = Array1::from_elem(pl, 1.0f32);
    let (peak, _) = measure(|| {
        conv.for_each_chunk(rows, |_, c| {
            std::hint::black_box(c.row(0).dot(&w.view()));
        })
    });
    println!("cast::<f32>().for_each_chunk: peak {peak} B, chunk {chunk} B");
    assert!(peak <= chunk + 64 * 1024, "peak {peak}");
    let norm = p.map_elems(|x: u8| f64::from(x) / 255.0);
    let (peak, _) = measure(|| {
        norm.par_for_each_chunk(norm.default_chunk_rows(), |_, c| {
            std::hint::black_box(c[[0, 0]]);
        })
    });
    println!("map_elems(f64).par_for_each_chunk: peak {peak} B, {threads} threads");
    assert!(peak <= threads * chunk + 64 * 1024, "peak {peak}");

    let (peak, _) = measure(|| {
        let g: Array2<f64> = p.cast::<f64>().gram();
        std::hint::black_box(g);
    });
    // Per thread: the f64 chunk, its f64 partial, the f64 accumulator and
    // matrixmultiply's f64 packing buffers (about 256 KiB measured); once:
    // the f64 result. Chunks of 1 MiB of u8 would be 8 MiB each here.
    let gemm_packing = 512 * 1024;
    let bound = threads * (chunk + pl * pl * (8 + 8) + gemm_packing) + pl * pl * 8 + 256 * 1024;
    println!("gram::<f64> of u8: peak {peak} B (bound {bound} B)");
    assert!(peak <= bound, "peak {peak} > {bound}");
}

/// `par_map_chunks` and `map_windows` hold a chunk per thread and the
/// results (twice while the parts are joined), never the matrix.
#[test]
#[cfg_attr(miri, ignore)]
fn mapping_allocates_chunks_and_results_only() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let img = Array2::from_shape_fn((2048, 2048), |(i, j)| ((i * 31 + j * 17) % 255) as f32);
    let p = img.patches((32, 32));
    let threads = rayon::current_num_threads();
    let chunk = ndarray_patches::DEFAULT_CHUNK_BYTES;
    let rows = p.default_chunk_rows();
    let w = Array1::from_elem(p.patch_len(), 1.0f32);
    let results = p.len() * 4;
    p.rows(..1).par_for_each_chunk(1, |_, _| {});
    // One Array1 per chunk, and rayon's vector of them.
    let parts = p.len().div_ceil(rows) * 64;
    let slack = 256 * 1024;
    let (peak, _) = measure(|| {
        let y: Array1<f32> = p.par_map_chunks(rows, |c| c.dot(&w));
        std::hint::black_box(y);
    });
    let bound = threads * chunk + 2 * results + parts + slack;
    println!("par_map_chunks: peak {peak} B (bound {bound} B, results {results} B)");
    assert!(peak <= bound, "peak {peak} > {bound}");
    let (peak, _) = measure(|| {
        let m = p.map_windows(|r| r[0]);
        std::hint::black_box(m);
    });
    println!("map_windows: peak {peak} B (bound {bound} B)");
    assert!(peak <= bound, "peak {peak} > {bound}");
}

/// W6 of issue 18: the f64 covariance of every 39x39 window of a 768x768
/// image (a 3.2 GB f32 matrix) by displacement sums holds at most 64 MiB
/// beyond its 17.7 MiB result (12.8 MiB measured on two threads): per
/// thread a table of about patch_len² / 2 entries and a tile, then the
/// matrix once.
#[test]
#[cfg_attr(miri, ignore)]
fn covariance_by_displacement_sums_is_bounded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let img = Array2::from_shape_fn((768, 768), |(i, j)| ((i * 31 + j * 17) % 255) as f32);
    let p = img.patches((39, 39));
    let result = 1521 * 1521 * 8;
    let (peak, _) = measure(|| {
        let c = p
            .cast::<f64>()
            .method(ndarray_patches::Method::Displacement)
            .covariance();
        assert_eq!(c.dim(), (1521, 1521));
    });
    println!(
        "peak heap {:.1} MiB, {:.1} MiB beyond the result",
        peak as f64 / (1 << 20) as f64,
        (peak - result) as f64 / (1 << 20) as f64
    );
    assert!(peak - result <= 64 << 20, "peak {peak} bytes");
}

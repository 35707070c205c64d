//! Which GEMM kernel for the virtual `gram`? Times `xᵀx` of one chunk as the
//! crate computes it (W2: 256 columns, 512 to 2048 rows of `f32`, in cache),
//! on one thread, in CPU time (so another process on the machine costs
//! less): the full product and the one-triangle recursion of
//! `src/linalg.rs` (`syrk_upper`, leaves of 32 or 64 columns), each with
//! ndarray's `matrixmultiply` and with the `gemm` crate. Prints GFLOP/s of
//! the full product's `2 k n²` flops, so the triangle's gain shows as a
//! higher figure.
//!
//! Run: `cd benches/gemm-kernels && cargo run --release`.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};

/// This thread's CPU time in seconds.
fn cpu() -> f64 {
    // SAFETY: getrusage writes a plain C struct that we zero first.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_THREAD with a valid pointer to an rusage.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut r) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 * 1e-6;
    t(r.ru_utime) + t(r.ru_stime)
}

/// `c = aᵀb` with the `gemm` crate, for strided views.
fn gemm_crate(a: ArrayView2<f32>, b: ArrayView2<f32>, mut c: ArrayViewMut2<f32>) {
    let (k, m) = a.dim();
    let n = b.ncols();
    assert_eq!((b.nrows(), c.dim()), (k, (m, n)));
    let (ars, acs) = (a.strides()[0], a.strides()[1]);
    let (brs, bcs) = (b.strides()[0], b.strides()[1]);
    let (crs, ccs) = (c.strides()[0], c.strides()[1]);
    // SAFETY: lhs is aᵀ (m x k: row stride acs, column stride ars), rhs is
    // b (k x n), dst is c (m x n); all three pointers and strides come from
    // live views of exactly these shapes, and c is borrowed mutably.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            ccs,
            crs,
            false,
            a.as_ptr(),
            ars,
            acs,
            b.as_ptr(),
            bcs,
            brs,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

fn ndarray_mm(a: ArrayView2<f32>, b: ArrayView2<f32>, mut c: ArrayViewMut2<f32>) {
    general_mat_mul(1.0, &a.t(), &b, 0.0, &mut c);
}

/// The upper triangle of `xᵀx`, as `syrk_upper` in src/linalg.rs, over
/// the kernel `mm`.
fn syrk(
    x: ArrayView2<f32>,
    c: ArrayViewMut2<f32>,
    leaf: usize,
    mm: fn(ArrayView2<f32>, ArrayView2<f32>, ArrayViewMut2<f32>),
) {
    let n = x.ncols();
    if n <= leaf {
        return mm(x, x, c);
    }
    let h = (n / 2).div_ceil(8) * 8;
    let (l, r) = x.split_at(Axis(1), h);
    let (top, bottom) = c.split_at(Axis(0), h);
    let (tl, tr) = top.split_at(Axis(1), h);
    let (_, br) = bottom.split_at(Axis(1), h);
    syrk(l, tl, leaf, mm);
    mm(l, r, tr);
    syrk(r, br, leaf, mm);
}

fn main() {
    let pl = 256;
    println!("GFLOP/s (2 k n^2 per product, one thread, best of 3 in CPU time), n = {pl}");
    for k in [512usize, 1024, 2048] {
        let x = Array2::from_shape_fn((k, pl), |(i, j)| ((i * 31 + j * 17) % 255) as f32 / 255.0);
        let mut c = Array2::<f32>::zeros((pl, pl));
        let reps = 64 * 1024 / k;
        let flops = 2.0 * (k * pl * pl) as f64 * reps as f64;
        let mut run = |name: &str, f: &dyn Fn(ArrayViewMut2<f32>)| {
            let mut best = f64::MAX;
            for _ in 0..3 {
                let t = cpu();
                for _ in 0..reps {
                    f(c.view_mut());
                }
                best = best.min(cpu() - t);
            }
            println!("k={k:5} {name:34} {:6.1}", flops / best / 1e9);
        };
        type Kernel = fn(ArrayView2<f32>, ArrayView2<f32>, ArrayViewMut2<f32>);
        let kernels: [(&str, Kernel); 2] =
            [("matrixmultiply", ndarray_mm), ("gemm crate", gemm_crate)];
        for (kernel, mm) in kernels {
            run(&format!("{kernel} full"), &|c| mm(x.view(), x.view(), c));
            for leaf in [32, 64] {
                run(&format!("{kernel} triangle, leaf {leaf}"), &|c| {
                    syrk(x.view(), c, leaf, mm)
                });
            }
        }
    }
}

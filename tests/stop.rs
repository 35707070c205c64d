//! `StopToken`: every long call of the crate stops when its token is
//! stopped, returns `PatchError::Interrupted` (or panics with it, for the
//! methods without `try_`), leaves nothing half-built, and the next call on
//! the same patches gives the right result. Adding to a `Fold` is never
//! stopped half-way.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

use ndarray::{Array1, Array2};
use ndarray_patches::prelude::*;
use ndarray_patches::{Edge, Fold, Method, PatchError, StopToken};

fn image(h: usize, w: usize) -> Array2<f32> {
    Array2::from_shape_fn((h, w), |(i, j)| ((i * 31 + j * 17) % 97) as f32 / 97.0)
}

fn stopped() -> StopToken {
    let t = StopToken::new();
    t.stop();
    t
}

#[test]
fn every_long_call_returns_interrupted() {
    let img = image(96, 80);
    let p = img.patches((8, 8));
    let t = stopped();
    let w = Array1::from_elem(64, 0.5f32);
    let bank = Array2::from_elem((64, 3), 0.25f32);
    let v = Array1::from_elem(p.len(), 1.0f32);
    let int = Err(PatchError::Interrupted);
    assert_eq!(t.watch(|| p.try_to_matrix().map(drop)), int);
    assert_eq!(t.watch(|| p.rows(5..500).try_to_matrix().map(drop)), int);
    assert_eq!(
        t.watch(|| p.select(&[3, 1, 4, 1, 5]).try_to_matrix().map(drop)),
        int
    );
    let mut out = Array2::<f32>::zeros((100, 64));
    assert_eq!(t.watch(|| p.try_write_rows(7, out.view_mut())), int);
    for m in [Method::Auto, Method::Gemm, Method::Displacement] {
        let q = p.method(m);
        assert_eq!(t.watch(|| q.try_gram().map(drop)), int, "{m:?}");
        assert_eq!(t.watch(|| q.try_mean().map(drop)), int, "{m:?}");
        let q64 = q.cast::<f64>();
        assert_eq!(t.watch(|| q64.try_covariance().map(drop)), int, "{m:?}");
    }
    for m in [Method::Auto, Method::Gemm, Method::Fft] {
        let q = p.method(m);
        assert_eq!(t.watch(|| q.try_dot(&w).map(drop)), int, "{m:?}");
        assert_eq!(t.watch(|| q.try_dot(&bank).map(drop)), int, "{m:?}");
        assert_eq!(t.watch(|| q.try_t_dot(&v).map(drop)), int, "{m:?}");
    }
    // The streaming methods panic with the error, as for any other.
    let r = catch_unwind(AssertUnwindSafe(|| {
        t.watch(|| p.par_for_each_chunk(100, |_, _| ()))
    }));
    let msg = r.unwrap_err();
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("interrupted"), "{msg}");
    // Outside `watch` the same token does nothing, and the results are right.
    let m = p.to_matrix();
    assert_eq!(p.dot(&w), m.dot(&w));
    let g = p.method(Method::Gemm).cast::<f64>().gram();
    let m64 = m.mapv(f64::from);
    let g_ref = m64.t().dot(&m64);
    assert!(g.iter().zip(&g_ref).all(|(a, b)| (a - b).abs() < 1e-9));
}

#[test]
fn a_fold_is_never_added_half_way() {
    let img = image(64, 64);
    let p = img.patches((8, 8)).step((2, 2));
    let m = p.to_matrix();
    let t = stopped();
    let mut f = Fold::new((64, 64), &p.window(), Edge::Valid);
    t.watch(|| f.try_add_rows(0, &m)).unwrap();
    let mut g = Fold::new((64, 64), &p.window(), Edge::Valid);
    t.watch(|| p.try_fold_into(&mut g)).unwrap();
    assert_eq!(f.finish::<f32>().image, img);
    assert_eq!(g.finish::<f32>().image, img);
}

/// Stopped from another thread while it runs, a call returns long before
/// it would have finished.
#[test]
fn stops_while_running() {
    let img = image(512, 512);
    let p = img.patches((24, 24)).method(Method::Gemm);
    let t0 = Instant::now();
    let full = p.try_gram().unwrap();
    let whole = t0.elapsed();
    let token = StopToken::new();
    let stopper = token.clone();
    let delay = whole / 10;
    let t0 = Instant::now();
    let r = thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(delay);
            stopper.stop();
        });
        token.watch(|| p.try_gram())
    });
    let stopped_after = t0.elapsed();
    assert_eq!(r.unwrap_err(), PatchError::Interrupted);
    assert!(
        stopped_after < delay + whole / 2 + Duration::from_millis(50),
        "stopped after {stopped_after:?}; the whole call takes {whole:?}"
    );
    // Nothing of the interrupted call remains.
    assert_eq!(p.try_gram().unwrap(), full);
}

//! `ndarray_patches._core`: the extension module under the Python package
//! `ndarray_patches`. The Python layer (`python/ndarray_patches/`) gives the
//! public surface; this module takes numpy arrays, dispatches once on their
//! element type, and runs the crate (through `core.rs`, the only module that
//! calls it) with the GIL released, on a rayon pool owned by this process.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use ndarray::ArrayViewD;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArray1,
    PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{
    PyIndexError, PyMemoryError, PyOverflowError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use rayon::{ThreadPool, ThreadPoolBuilder};

mod core;

use crate::core::{Conv, Geom, Lin};
use ndarray_patches::PatchError as RustPatchError;

pyo3::create_exception!(
    ndarray_patches,
    PatchError,
    PyValueError,
    "A bad patch request (shape, step, dilation, edge, dtype, rows, operands), with the crate's message."
);

static INDEX_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static OVERFLOW_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static MEMORY_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `class name(PatchError, base)`: caught by `except PatchError` and by
/// `except base` alike.
fn subclass<'py>(
    py: Python<'py>,
    name: &str,
    base: Bound<'py, PyType>,
    doc: &str,
) -> PyResult<Py<PyType>> {
    let ns = PyDict::new(py);
    ns.set_item("__module__", "ndarray_patches")?;
    ns.set_item("__doc__", doc)?;
    let bases = PyTuple::new(py, [py.get_type::<PatchError>(), base])?;
    let cls = py
        .import("builtins")?
        .getattr("type")?
        .call1((name, bases, ns))?;
    Ok(cls.cast_into::<PyType>()?.unbind())
}

/// The Python exception for a crate error: out-of-range rows are also an
/// `IndexError`, sizes that overflow also an `OverflowError`, a failed
/// allocation also a `MemoryError`.
fn py_err(py: Python<'_>, e: RustPatchError) -> PyErr {
    let msg = match e {
        // The crate's message names its Rust API; this one the package's.
        RustPatchError::ShiftedGrid { axis, back } => format!(
            "no strided view holds edge=\"shift\" windows: the last window on axis {axis} \
             is moved back by {back} from the step; read them with get, to_matrix, chunks, \
             write_rows or shuffled"
        ),
        _ => e.to_string(),
    };
    let cls = match e {
        RustPatchError::RowsOutOfRange { .. } => INDEX_ERROR.get(py),
        RustPatchError::Overflow { .. } => OVERFLOW_ERROR.get(py),
        RustPatchError::OutOfMemory { .. } => MEMORY_ERROR.get(py),
        _ => None,
    };
    match cls {
        Some(cls) => PyErr::from_type(cls.bind(py).clone(), msg),
        None => PatchError::new_err(msg),
    }
}

fn patch_error(msg: impl Into<String>) -> PyErr {
    PatchError::new_err(msg.into())
}

// ---------------------------------------------------------------------------
// The thread pool: one per process. rayon's global pool deadlocks in a child
// forked after the parent used it (its threads are not in the child), so the
// pool is rebuilt when the process id changes. It is only touched with the
// GIL held, so a fork (which Python does with the GIL held) never sees the
// Mutex locked.

struct PoolState {
    pid: u32,
    threads: usize,
    pool: Arc<ThreadPool>,
}

static POOL: Mutex<Option<PoolState>> = Mutex::new(None);
/// Requested threads, 0 for rayon's default (RAYON_NUM_THREADS or the cores).
static THREADS: Mutex<usize> = Mutex::new(0);

fn build_pool(threads: usize) -> PyResult<ThreadPool> {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("ndarray-patches-{i}"))
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the thread pool: {e}")))
}

fn pool(_py: Python<'_>) -> PyResult<Arc<ThreadPool>> {
    let pid = std::process::id();
    let threads = *THREADS.lock().unwrap_or_else(|e| e.into_inner());
    let mut state = POOL.lock().unwrap_or_else(|e| e.into_inner());
    match state.as_ref() {
        Some(s) if s.pid == pid && s.threads == threads => return Ok(s.pool.clone()),
        Some(s) if s.pid != pid => {
            // A forked child: the parent's worker threads do not exist here,
            // and dropping the pool would wait on their locks. Leak it.
            if let Some(old) = state.take() {
                std::mem::forget(old);
            }
        }
        _ => {}
    }
    let pool = Arc::new(build_pool(threads)?);
    *state = Some(PoolState {
        pid,
        threads,
        pool: pool.clone(),
    });
    Ok(pool)
}

/// Runs `f` on this process's pool with the GIL released; crate errors
/// become Python exceptions, and a Rust panic (a bug: every call is a `try_`
/// path with its preconditions checked) a `RuntimeError`, never a
/// `PanicException`.
fn run<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> Result<T, RustPatchError> + Send,
{
    let pool = pool(py)?;
    let r = py.detach(move || catch_unwind(AssertUnwindSafe(|| pool.install(f))));
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(py_err(py, e)),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            Err(PyRuntimeError::new_err(format!(
                "internal error in ndarray-patches (please report it): {msg}"
            )))
        }
    }
}

/// Like [`run`] for work that is serial and uses no rayon (geometry,
/// positions): on the calling thread with the GIL released, without the
/// hand-off to the pool (tens of microseconds per call).
fn run_serial<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> Result<T, RustPatchError> + Send,
{
    match py.detach(move || catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(py_err(py, e)),
        Err(_) => Err(PyRuntimeError::new_err(
            "internal error in ndarray-patches (please report it): a panic in a serial call",
        )),
    }
}

// ---------------------------------------------------------------------------
// dtype dispatch: one macro for the eleven element types of a source.

fn unsupported(arr: &Bound<'_, PyAny>) -> PyErr {
    let dtype = arr
        .cast::<PyUntypedArray>()
        .map(|a| a.dtype().to_string())
        .unwrap_or_else(|_| "a non-array".to_string());
    patch_error(format!(
        "unsupported dtype {dtype}: the source must be an integer (int8 to int64, uint8 \
         to uint64), bool, float32 or float64 (native byte order)"
    ))
}

/// `dispatch!(arr, |A, view| body)`: `A` is the element type, `view` the
/// source's `ArrayViewD<A>` (borrowed read-only from numpy).
macro_rules! dispatch {
    ($arr:expr, |$A:ident, $view:ident| $body:expr) => {{
        let arr: &Bound<'_, PyAny> = $arr;
        dispatch!(@try arr, $A, $view, $body, u8, u16, i16, i32, f32, f64, bool, i8, i64, u32, u64)
    }};
    (@try $arr:ident, $A:ident, $view:ident, $body:expr, $t:ty $(, $rest:ty)*) => {
        if let Ok(a) = $arr.cast::<PyArrayDyn<$t>>() {
            #[allow(dead_code)]
            type $A = $t;
            let ro = a.try_readonly()?;
            let $view: ArrayViewD<'_, $t> = ro.as_array();
            $body
        } else {
            dispatch!(@try $arr, $A, $view, $body $(, $rest)*)
        }
    };
    (@try $arr:ident, $A:ident, $view:ident, $body:expr) => {
        Err(unsupported($arr))
    };
}

/// `with_out!(A, name, |B| body)`: `B` is the output element type called
/// `name`: the source's own, float32 or float64.
macro_rules! with_out {
    ($A:ty, $name:expr, |$B:ident| $body:expr) => {{
        let name: &str = $name;
        if name == elem_name::<$A>() {
            type $B = $A;
            $body
        } else if name == "float32" {
            type $B = f32;
            $body
        } else if name == "float64" {
            type $B = f64;
            $body
        } else {
            Err(patch_error(format!(
                "unsupported output dtype {name} for a {} source: use the source's dtype, \
                 float32 or float64",
                elem_name::<$A>()
            )))
        }
    }};
}

/// `with_real!(name, |F| body)`: `F` is f32 or f64.
macro_rules! with_real {
    ($name:expr, |$F:ident| $body:expr) => {{
        match $name {
            "float32" => {
                type $F = f32;
                $body
            }
            "float64" => {
                type $F = f64;
                $body
            }
            other => Err(patch_error(format!(
                "unsupported dtype {other} for linear algebra: use float32 or float64"
            ))),
        }
    }};
}

fn elem_name<A: 'static>() -> &'static str {
    use std::any::TypeId;
    let t = TypeId::of::<A>();
    [
        (TypeId::of::<bool>(), "bool"),
        (TypeId::of::<i8>(), "int8"),
        (TypeId::of::<i64>(), "int64"),
        (TypeId::of::<u32>(), "uint32"),
        (TypeId::of::<u64>(), "uint64"),
        (TypeId::of::<u8>(), "uint8"),
        (TypeId::of::<u16>(), "uint16"),
        (TypeId::of::<i16>(), "int16"),
        (TypeId::of::<i32>(), "int32"),
        (TypeId::of::<f32>(), "float32"),
        (TypeId::of::<f64>(), "float64"),
    ]
    .into_iter()
    .find(|(id, _)| *id == t)
    .map_or("?", |(_, n)| n)
}

/// The geometry of a `Patches`: its window and its edge, "valid" or
/// "shift" (the policies that need no padding).
fn geom(patch: Vec<usize>, step: Vec<usize>, dilation: Vec<usize>, edge: &str) -> PyResult<Geom> {
    let shift = match edge {
        "valid" => false,
        "shift" => true,
        other => {
            return Err(patch_error(format!(
                "unknown edge {other:?} for Patches: use \"valid\" or \"shift\" \
                 (\"same\" and \"cover\" pad the array: use padded)"
            )))
        }
    };
    Ok(Geom {
        patch,
        step,
        dilation,
        shift,
    })
}

/// The window of `padded` and `Fold`, whose edge is a separate argument.
fn window(patch: Vec<usize>, step: Vec<usize>, dilation: Vec<usize>) -> Geom {
    Geom {
        patch,
        step,
        dilation,
        shift: false,
    }
}

/// The crate's edge policy called `edge`, for `padded` and `Fold`.
fn any_edge(edge: &str) -> PyResult<ndarray_patches::Edge> {
    core::edge(edge).ok_or_else(|| {
        patch_error(format!(
            "unknown edge {edge:?}: use \"valid\", \"same\", \"cover\" or \"shift\""
        ))
    })
}

// ---------------------------------------------------------------------------
// Functions (private API of the Python package: see ndarray_patches/__init__.py)

/// `(grid, patch_len)` of a validated geometry.
#[pyfunction]
fn shape(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &str,
) -> PyResult<(Vec<usize>, usize)> {
    let g = geom(patch, step, dilation, edge)?;
    dispatch!(a, |A, v| run_serial(py, || core::shape(v, &g)))
}

/// A `PatchError` if the windows have no strided view: `edge="shift"` with
/// a last window moved back.
#[pyfunction]
fn check_strided(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &str,
) -> PyResult<()> {
    let g = geom(patch, step, dilation, edge)?;
    dispatch!(a, |A, v| run_serial(py, || core::check_strided(v, &g)))
}

/// Rows `start..start + len(out)` into the 2-D array `out`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn write_rows(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &str,
    start: usize,
    out: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let g = geom(patch, step, dilation, edge)?;
    let out_dtype = match out.cast::<PyUntypedArray>() {
        Ok(o) if o.ndim() == 2 => o.dtype().to_string(),
        Ok(o) => {
            return Err(patch_error(format!(
                "out must be a 2-D array, it has {} axes",
                o.ndim()
            )))
        }
        Err(_) => return Err(patch_error("out must be a numpy array")),
    };
    dispatch!(a, |A, v| with_out!(A, &out_dtype, |B| {
        let o = out.cast::<PyArray2<B>>()?;
        let mut rw = o.try_readwrite().map_err(|e| {
            patch_error(format!(
                "out cannot be written ({e}): does it overlap the source?"
            ))
        })?;
        let view = rw.as_array_mut();
        run(py, || <A as Conv<B>>::write_rows(v, &g, start, view))
    }))
}

/// Rows of `dtype` per default chunk (1 MiB of output).
#[pyfunction]
fn default_chunk_rows(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &str,
    dtype: &str,
) -> PyResult<usize> {
    let g = geom(patch, step, dilation, edge)?;
    dispatch!(a, |A, v| with_out!(A, dtype, |B| run_serial(py, || {
        <A as Conv<B>>::default_chunk_rows(v, &g)
    })))
}

/// The rows of one shuffled epoch of rows `start..stop` (the crate's order
/// for `StdRng::seed_from_u64(seed)`), an int64 array.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn shuffled_order<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &str,
    start: usize,
    stop: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let g = geom(patch, step, dilation, edge)?;
    dispatch!(a, |A, v| {
        let order = run(py, || core::shuffled_order(v, &g, start, stop, seed))?;
        Ok(order
            .into_iter()
            .map(|r| r as i64)
            .collect::<Vec<_>>()
            .into_pyarray(py))
    })
}

/// The rows at `indices` (int64, each in `0..len`), as a new
/// `(len(indices), patch_len)` array of `dtype`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn select<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &str,
    indices: PyReadonlyArray1<'py, i64>,
    dtype: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let g = geom(patch, step, dilation, edge)?;
    let idx = indices
        .as_array()
        .iter()
        .map(|&i| {
            usize::try_from(i).map_err(|_| {
                pyo3::exceptions::PyIndexError::new_err(format!("row {i} is negative"))
            })
        })
        .collect::<PyResult<Vec<usize>>>()?;
    dispatch!(a, |A, v| with_out!(A, dtype, |B| {
        let rows = run(py, || <A as Conv<B>>::select(v, &g, &idx))?;
        Ok(rows.into_pyarray(py).into_any())
    }))
}

/// Window origins of rows `start..stop`, an int64 `(n, ndim)` array.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn positions<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &str,
    start: usize,
    stop: usize,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let g = geom(patch, step, dilation, edge)?;
    let m = dispatch!(a, |A, v| run_serial(py, || core::positions(
        v, &g, start, stop
    )))?;
    Ok(m.into_pyarray(py))
}

/// The row of the window at `origin` (one index per axis), `None` if no
/// window starts there.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn row_of(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &str,
    origin: Vec<usize>,
) -> PyResult<Option<usize>> {
    let g = geom(patch, step, dilation, edge)?;
    dispatch!(a, |A, v| run_serial(py, || core::row_of(v, &g, &origin)))
}

/// `(indices, rows)` of `n` seeded random patches.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn sample<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &str,
    n: usize,
    seed: u64,
    replace: bool,
    weights: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<(Bound<'py, PyArray1<i64>>, Bound<'py, PyAny>)> {
    let g = geom(patch, step, dilation, edge)?;
    let w = weights.as_ref().map(|w| w.as_array());
    dispatch!(a, |A, v| {
        let (idx, rows) = run(py, || core::sample(v, &g, n, seed, replace, w))?;
        let idx: Vec<i64> = idx.into_iter().map(|i| i as i64).collect();
        Ok((idx.into_pyarray(py), rows.into_pyarray(py).into_any()))
    })
}

/// Products with the virtual patch matrix X, in `dtype` (float32/float64):
/// `op` is "dot" (X w), "t_dot" (Xᵀ v) or "matmul" (X W).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn product<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &str,
    op: &str,
    operand: &Bound<'py, PyAny>,
    dtype: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let g = geom(patch, step, dilation, edge)?;
    dispatch!(a, |A, v| with_real!(dtype, |F| match op {
        "dot" | "t_dot" => {
            let w: PyReadonlyArray1<'py, F> = operand.extract()?;
            let w = w.as_array();
            let r = if op == "dot" {
                run(py, || <A as Lin<F>>::dot(v, &g, w))?
            } else {
                run(py, || <A as Lin<F>>::t_dot(v, &g, w))?
            };
            Ok(r.into_pyarray(py).into_any())
        }
        "matmul" => {
            let w: PyReadonlyArray2<'py, F> = operand.extract()?;
            let w = w.as_array();
            let r = run(py, || <A as Lin<F>>::matmul(v, &g, w))?;
            Ok(r.into_pyarray(py).into_any())
        }
        other => Err(PyValueError::new_err(format!("unknown product {other}"))),
    }))
}

/// Statistics of the patch matrix in `dtype`: "gram", "mean", "covariance".
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn stat<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &str,
    op: &str,
    dtype: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let g = geom(patch, step, dilation, edge)?;
    dispatch!(a, |A, v| with_real!(dtype, |F| match op {
        "gram" => Ok(run(py, || <A as Lin<F>>::gram(v, &g))?
            .into_pyarray(py)
            .into_any()),
        "mean" => Ok(run(py, || <A as Lin<F>>::mean(v, &g))?
            .into_pyarray(py)
            .into_any()),
        "covariance" => Ok(run(py, || <A as Lin<F>>::covariance(v, &g))?
            .into_pyarray(py)
            .into_any()),
        other => Err(PyValueError::new_err(format!("unknown statistic {other}"))),
    }))
}

/// The source padded for the windows under `edge`, filled per `mode`;
/// `cval` is a one-element array of the source's dtype.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn padded<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &str,
    mode: &str,
    cval: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let g = window(patch, step, dilation);
    let e = any_edge(edge)?;
    dispatch!(a, |A, v| {
        let c: PyReadonlyArray1<'py, A> = cval.extract()?;
        let c = *c
            .as_array()
            .first()
            .ok_or_else(|| patch_error("empty cval"))?;
        let m = core::pad_mode(mode, c).ok_or_else(|| {
            patch_error(format!(
                "unknown mode {mode:?}: use \"constant\", \"edge\", \"reflect\", \
                 \"symmetric\" or \"wrap\""
            ))
        })?;
        Ok(run(py, || core::padded(v, &g, e, m))?
            .into_pyarray(py)
            .into_any())
    })
}

/// scikit-learn's `reconstruct_from_patches_2d` for any number of axes:
/// `rows` is `(n, patch_len)` float32 or float64.
#[pyfunction(name = "reconstruct")]
fn reconstruct_py<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyAny>,
    shape: Vec<usize>,
    patch: Vec<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(r) = rows.extract::<PyReadonlyArray2<'py, f32>>() {
        let r = r.as_array();
        Ok(run(py, || core::reconstruct(r, &shape, &patch))?
            .into_pyarray(py)
            .into_any())
    } else {
        let r: PyReadonlyArray2<'py, f64> = rows.extract()?;
        let r = r.as_array();
        Ok(run(py, || core::reconstruct(r, &shape, &patch))?
            .into_pyarray(py)
            .into_any())
    }
}

/// A reconstruction (`Fold`) in progress; see `ndarray_patches.Fold`.
#[pyclass(module = "ndarray_patches._core", name = "_Fold")]
struct PyFold {
    inner: ndarray_patches::Fold<ndarray::IxDyn>,
}

#[pymethods]
impl PyFold {
    #[new]
    fn new(
        py: Python<'_>,
        shape: Vec<usize>,
        patch: Vec<usize>,
        step: Vec<usize>,
        dilation: Vec<usize>,
        edge: &str,
    ) -> PyResult<Self> {
        let g = window(patch, step, dilation);
        let e = any_edge(edge)?;
        let inner = run(py, || core::fold_new(&shape, &g, e))?;
        Ok(PyFold { inner })
    }

    /// `(number of patches, patch_len)`.
    fn dims(&self) -> (usize, usize) {
        core::fold_dims(&self.inner)
    }

    /// Adds rows `start..start + len(rows)` (float32 or float64).
    fn add_rows(&mut self, py: Python<'_>, start: usize, rows: &Bound<'_, PyAny>) -> PyResult<()> {
        let inner = &mut self.inner;
        if let Ok(r) = rows.extract::<PyReadonlyArray2<'_, f32>>() {
            let r = r.as_array();
            run(py, || core::fold_add_rows(inner, start, r))
        } else {
            let r: PyReadonlyArray2<'_, f64> = rows.extract()?;
            let r = r.as_array();
            run(py, || core::fold_add_rows(inner, start, r))
        }
    }

    /// The image: the mean (`mean=True`) or sum of the contributions.
    fn finish<'py>(&self, py: Python<'py>, mean: bool) -> PyResult<Bound<'py, PyAny>> {
        let inner = &self.inner;
        Ok(run(py, || core::fold_finish(inner, mean))?
            .into_pyarray(py)
            .into_any())
    }
}

/// Sets the number of threads (0: rayon's default, the cores or
/// RAYON_NUM_THREADS); the pool is rebuilt on next use.
#[pyfunction]
fn set_num_threads(n: usize) {
    *THREADS.lock().unwrap_or_else(|e| e.into_inner()) = n;
}

/// The number of threads the pool of this process runs.
#[pyfunction]
fn get_num_threads(py: Python<'_>) -> PyResult<usize> {
    Ok(pool(py)?.current_num_threads())
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("PatchError", py.get_type::<PatchError>())?;
    let index = INDEX_ERROR.get_or_try_init(py, || {
        subclass(
            py,
            "PatchIndexError",
            py.get_type::<PyIndexError>(),
            "Rows out of range: both a PatchError and an IndexError.",
        )
    })?;
    m.add("PatchIndexError", index.bind(py))?;
    let overflow = OVERFLOW_ERROR.get_or_try_init(py, || {
        subclass(
            py,
            "PatchOverflowError",
            py.get_type::<PyOverflowError>(),
            "A size that overflows the address range: both a PatchError and an OverflowError.",
        )
    })?;
    m.add("PatchOverflowError", overflow.bind(py))?;
    let memory = MEMORY_ERROR.get_or_try_init(py, || {
        subclass(
            py,
            "PatchMemoryError",
            py.get_type::<PyMemoryError>(),
            "An allocation that failed (stream the rows instead): both a PatchError and a MemoryError.",
        )
    })?;
    m.add("PatchMemoryError", memory.bind(py))?;
    m.add_class::<PyFold>()?;
    m.add_function(wrap_pyfunction!(shape, m)?)?;
    m.add_function(wrap_pyfunction!(check_strided, m)?)?;
    m.add_function(wrap_pyfunction!(write_rows, m)?)?;
    m.add_function(wrap_pyfunction!(default_chunk_rows, m)?)?;
    m.add_function(wrap_pyfunction!(positions, m)?)?;
    m.add_function(wrap_pyfunction!(row_of, m)?)?;
    m.add_function(wrap_pyfunction!(sample, m)?)?;
    m.add_function(wrap_pyfunction!(shuffled_order, m)?)?;
    m.add_function(wrap_pyfunction!(select, m)?)?;
    m.add_function(wrap_pyfunction!(product, m)?)?;
    m.add_function(wrap_pyfunction!(stat, m)?)?;
    m.add_function(wrap_pyfunction!(padded, m)?)?;
    m.add_function(wrap_pyfunction!(reconstruct_py, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    Ok(())
}

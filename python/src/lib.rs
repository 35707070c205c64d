//! `ndarray_patches._core`: the extension module under the Python package
//! `ndarray_patches`. The Python layer (`python/ndarray_patches/`) gives the
//! public surface; this module takes numpy arrays, dispatches once on their
//! element type, and runs the crate (through `core.rs`, the only module that
//! calls it) with the GIL released, on a rayon pool owned by this process.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ndarray::ArrayViewD;
use ndarray::IxDyn;
use ndarray_patches::{Conversion, Method, Rows, StopToken};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArray1,
    PyReadonlyArray2, PyReadonlyArrayDyn, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{
    PyIndexError, PyMemoryError, PyOverflowError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PySlice, PyTuple, PyType};
use rayon::{ThreadPool, ThreadPoolBuilder};

mod core;

use crate::core::{Elem, Geom};
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
        RustPatchError::OutOfMemory { bytes, what } => format!(
            "could not allocate {bytes} bytes ({:.1} GiB) for {what}{}",
            bytes as f64 / (1u64 << 30) as f64,
            memory_hint(what)
        ),
        RustPatchError::MethodUnavailable { method, needs } => {
            let name = match method {
                "Method::Displacement" => "displacement",
                "Method::Fft" => "fft",
                other => other,
            };
            format!(
                "method={name:?} cannot compute this: it needs {needs}; use method=\"auto\" \
                 or \"gemm\""
            )
        }
        _ => e.to_string(),
    };
    let cls = match e {
        RustPatchError::RowsOutOfRange { .. } => INDEX_ERROR.get(py),
        RustPatchError::Overflow { .. } => OVERFLOW_ERROR.get(py),
        RustPatchError::OutOfMemory { .. } => MEMORY_ERROR.get(py),
        // Only a signal stops a call, and `run` raises the signal's own
        // exception; this is never reached, but would be the right type.
        RustPatchError::Interrupted => {
            return pyo3::exceptions::PyKeyboardInterrupt::new_err(msg);
        }
        _ => None,
    };
    match cls {
        Some(cls) => PyErr::from_type(cls.bind(py).clone(), msg),
        None => PatchError::new_err(msg),
    }
}

/// What to do when `what` (a crate or binding allocation) does not fit.
fn memory_hint(what: &str) -> &'static str {
    if what.contains("result") {
        // One value (or k) per window.
        "; compute it over crops of the image, or with ndarray_patches.dask"
    } else if what.contains("sums") || what.contains("Gram") || what.contains("displacement") {
        // Tables of patch_len or patch_len² elements.
        "; the window is too large for this (its tables grow with patch_len or patch_len²)"
    } else if what.contains("padded")
        || what.contains("fold")
        || what.contains("placed")
        || what.contains("tiles")
    {
        "; the image is too large to hold in memory"
    } else {
        "; stream the rows instead (chunks, map_chunks, write_rows)"
    }
}

fn patch_error(msg: impl Into<String>) -> PyErr {
    PatchError::new_err(msg.into())
}

/// The `method=` argument of the linear algebra of `Patches.<call>`.
fn method_arg(method: &str, call: &str) -> PyResult<Method> {
    Ok(match method {
        "auto" => Method::Auto,
        "gemm" => Method::Gemm,
        "displacement" => Method::Displacement,
        "fft" => Method::Fft,
        other => {
            return Err(patch_error(format!(
                "Patches.{call}: method must be \"auto\", \"gemm\", \"displacement\" or \"fft\", \
                 not {other:?}"
            )))
        }
    })
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

/// How often a running call checks for Ctrl-C (and other signals).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// Runs `f` on this process's pool with the GIL released; crate errors
/// become Python exceptions, and a Rust panic (a bug: every call is a `try_`
/// path with its preconditions checked) a `RuntimeError`, never a
/// `PanicException`.
///
/// Ctrl-C: `f` runs under a [`StopToken`] on a worker of the pool while
/// this (the calling) thread checks for signals every [`SIGNAL_POLL`]. A
/// signal handler that raises (`KeyboardInterrupt`) stops the token; the
/// crate stops at its next unit of work (tens of milliseconds), and the
/// handler's exception is raised. The crate's sources are only read and its
/// results dropped when stopped, so every object stays usable; a `Fold` is
/// never stopped half-way (its rows are added, then the exception raised).
fn run<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> Result<T, RustPatchError> + Send,
{
    let pool = pool(py)?;
    let token = StopToken::new();
    let mut signal: Option<PyErr> = None;
    let r = py.detach(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        pool.in_place_scope(|s| {
            let token = &token;
            s.spawn(move |_| {
                let r = catch_unwind(AssertUnwindSafe(|| token.watch(f)));
                let _ = tx.send(r);
            });
            loop {
                match rx.recv_timeout(SIGNAL_POLL) {
                    Ok(r) => return r,
                    Err(RecvTimeoutError::Timeout) if signal.is_none() => {
                        // Signals are only delivered to the main thread;
                        // elsewhere this returns Ok at once.
                        if let Err(e) = Python::attach(|py| py.check_signals()) {
                            signal = Some(e);
                            token.stop();
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => {
                        // The job ended without sending: impossible (the
                        // send follows catch_unwind), but never hang.
                        return Err(Box::new("the worker ended without a result"));
                    }
                }
            }
        })
    });
    if let Some(e) = signal {
        return Err(e);
    }
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
// dtype dispatch: the element types of `core::Elem`, one macro.

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

/// The most axes an array may have: the numpy crate's views assert 32
/// (numpy 2 itself allows 64).
const MAX_NDIM: usize = 32;

/// A `PatchError` for `ndim` axes (of `what`, e.g. "img for Patches")
/// beyond [`MAX_NDIM`], `None` within it. Checked before the numpy crate
/// sees an array (its conversions assert the limit).
fn too_many_axes(ndim: usize, what: &str) -> Option<PyErr> {
    (ndim > MAX_NDIM).then(|| {
        patch_error(format!(
            "{what} has {ndim} axes: ndarray_patches supports at most {MAX_NDIM} (numpy \
             allows 64, the Rust numpy crate {MAX_NDIM})"
        ))
    })
}

/// `dispatch!(arr, |A, view| body)`: `A` is the element type, `view` the
/// source's `ArrayViewD<A>` (borrowed read-only from numpy). An array of
/// more than [`MAX_NDIM`] axes is a `PatchError`.
macro_rules! dispatch {
    ($arr:expr, |$A:ident, $view:ident| $body:expr) => {{
        let arr: &Bound<'_, PyAny> = $arr;
        match arr
            .cast::<PyUntypedArray>()
            .ok()
            .and_then(|a| too_many_axes(a.ndim(), "the array"))
        {
            Some(e) => Err(e),
            None => dispatch!(
                @try arr, $A, $view, $body, u8, u16, i16, i32, f32, f64, bool, i8, i64, u32, u64
            ),
        }
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

/// `with_p!(self, py, |A, p| body)`: `p` is the crate's `Patches` of the
/// geometry's source (element type `A`), built from the validated geometry;
/// `body` is a `PyResult`.
macro_rules! with_p {
    ($self:expr, $py:expr, |$A:ident, $p:ident| $body:expr) => {{
        let this: &Geometry = $self;
        let py: Python<'_> = $py;
        let g = &this.g;
        dispatch!(this.src.bind(py), |$A, v| {
            match core::with_patches(v, g, |$p| -> PyResult<_> { $body }) {
                Ok(r) => r,
                Err(e) => Err(py_err(py, e)),
            }
        })
    }};
}

/// `rows_as!(A, p, name, |B, rows| body)`: `rows` are all the rows of `p`
/// delivered as `B`, the element type called `name`: the source's own (the
/// memcpy path), float32 or float64 (converted during the copy).
macro_rules! rows_as {
    ($A:ty, $p:expr, $name:expr, |$B:ident, $rows:ident| $body:expr) => {{
        let name: &str = $name;
        let p = $p;
        if name == <$A as Elem>::NAME {
            #[allow(dead_code)]
            type $B = $A;
            let $rows = &**p;
            $body
        } else if name == "float32" {
            #[allow(dead_code)]
            type $B = f32;
            let r = <$A as Elem>::rows_f32(p);
            let $rows = &r;
            $body
        } else if name == "float64" {
            #[allow(dead_code)]
            type $B = f64;
            let r = <$A as Elem>::rows_f64(p);
            let $rows = &r;
            $body
        } else {
            Err(unsupported_out(name, <$A as Elem>::NAME))
        }
    }};
}

/// `rows_real!(A, p, name, |F, rows| body)`: the rows of `p` in `F`,
/// float32 or float64, for linear algebra.
macro_rules! rows_real {
    ($A:ty, $p:expr, $name:expr, |$F:ident, $rows:ident| $body:expr) => {{
        let p = $p;
        match $name {
            "float32" => {
                #[allow(dead_code)]
                type $F = f32;
                let r = <$A as Elem>::rows_f32(p);
                let $rows = &r;
                $body
            }
            "float64" => {
                #[allow(dead_code)]
                type $F = f64;
                let r = <$A as Elem>::rows_f64(p);
                let $rows = &r;
                $body
            }
            other => Err(patch_error(format!(
                "unsupported dtype {other} for linear algebra: use float32 or float64"
            ))),
        }
    }};
}

fn unsupported_out(name: &str, source: &str) -> PyErr {
    patch_error(format!(
        "unsupported output dtype {name} for a {source} source: use the source's dtype, \
         float32 or float64"
    ))
}

// ---------------------------------------------------------------------------
// Arguments: the one place that parses edges and pad modes.

fn describe(obj: &Bound<'_, PyAny>) -> String {
    obj.repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// The edge of a grid over the array itself: `Some(true)` for "shift",
/// `Some(false)` for "valid".
fn grid_edge(edge: &Bound<'_, PyAny>) -> PyResult<bool> {
    match edge.extract::<String>().ok().as_deref() {
        Some("valid") => Ok(false),
        Some("shift") => Ok(true),
        _ => Err(patch_error(format!(
            "unknown edge {} for Patches: use 'valid' or 'shift' ('same' and 'cover' pad \
             the array: use padded)",
            describe(edge)
        ))),
    }
}

/// Any of the crate's edge policies, for `padded` and `Fold`.
fn any_edge(edge: &Bound<'_, PyAny>) -> PyResult<ndarray_patches::Edge> {
    edge.extract::<String>()
        .ok()
        .and_then(|e| core::edge(&e))
        .ok_or_else(|| {
            patch_error(format!(
                "unknown edge {}: use 'valid', 'same', 'cover' or 'shift'",
                describe(edge)
            ))
        })
}

/// The window of `padded` and `Fold`, whose edge is a separate argument.
fn window(patch: Vec<usize>, step: Vec<usize>, dilation: Vec<usize>) -> Geom {
    Geom {
        patch,
        step,
        dilation,
        axes: None,
        shift: false,
    }
}

/// A new numpy array of `shape` and `dtype` (numpy allocates: it asks the
/// kernel for huge pages on large arrays, a first touch about twice as fast
/// as a fresh Rust `Vec`'s); a failed allocation is a `PatchMemoryError`.
fn empty<'py>(
    py: Python<'py>,
    shape: Vec<usize>,
    dtype: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let np = py.import("numpy")?;
    let nbytes = shape.iter().product::<usize>() as f64;
    match np.call_method1("empty", (PyTuple::new(py, &shape)?, dtype)) {
        Ok(a) => Ok(a),
        Err(e) if e.is_instance_of::<PyMemoryError>(py) => {
            let cls = MEMORY_ERROR
                .get(py)
                .map(|c| c.bind(py).clone())
                .ok_or_else(|| PyRuntimeError::new_err("module not initialised"))?;
            Err(PyErr::from_type(
                cls,
                format!(
                    "could not allocate an array of shape {shape:?} ({:.1} GiB of {}) for \
                     {what}",
                    nbytes * itemsize(dtype)? as f64 / (1u64 << 30) as f64,
                    dtype.str()?
                ),
            ))
        }
        Err(e) => Err(e),
    }
}

fn itemsize(dtype: &Bound<'_, PyAny>) -> PyResult<usize> {
    let py = dtype.py();
    py.import("numpy")?
        .call_method1("dtype", (dtype,))?
        .getattr("itemsize")?
        .extract()
}

fn index_error(msg: String) -> PyErr {
    Python::attach(|py| match INDEX_ERROR.get(py) {
        Some(cls) => PyErr::from_type(cls.bind(py).clone(), msg),
        None => PyIndexError::new_err(msg),
    })
}

fn overflow_error(msg: String) -> PyErr {
    Python::attach(|py| match OVERFLOW_ERROR.get(py) {
        Some(cls) => PyErr::from_type(cls.bind(py).clone(), msg),
        None => PyOverflowError::new_err(msg),
    })
}

// ---------------------------------------------------------------------------
// The geometry: one per Python `Patches`.

/// Rows of the chunks handed to Python by default, everywhere (`chunks`,
/// `shuffled`, `map_chunks`, the Dask functions): 16 MiB of output.
/// Measured with `python/bench_chunk_size.py` (0.5 to 64 MiB): a
/// RandomForest's `predict_proba` and a linear model want tens of
/// thousands of rows per call (2 MiB chunks ran the forest 1.6x slower),
/// numpy callees and bare streaming are within noise of their best from 2
/// to 16 MiB, once `chunks` reuses its arrays, and past 32 MiB fresh arrays
/// cost an `mmap` each.
const CHUNK_BYTES: usize = 16 << 20;

/// The validated windows of a source: what every method of a Python
/// `Patches` asks. Holds the numpy array and the arguments; the crate's
/// `Patches` (which borrows) is rebuilt per call, in O(ndim).
#[pyclass(frozen, module = "ndarray_patches._core")]
struct Geometry {
    src: Py<PyAny>,
    g: Geom,
    dtype: &'static str,
    ndim: usize,
    grid: Vec<usize>,
    patch_shape: Vec<usize>,
    patch_len: usize,
    len: usize,
    extent: Vec<usize>,
}

impl Geometry {
    fn build(py: Python<'_>, a: &Bound<'_, PyAny>, g: Geom) -> PyResult<Self> {
        let dtype = dispatch!(a, |A, _v| Ok(<A as Elem>::NAME))?;
        let ndim = a.cast::<PyUntypedArray>()?.ndim();
        let this = Geometry {
            src: a.clone().unbind(),
            g,
            dtype,
            ndim,
            grid: Vec::new(),
            patch_shape: Vec::new(),
            patch_len: 0,
            len: 0,
            extent: Vec::new(),
        };
        let info = with_p!(&this, py, |A, p| Ok(core::info(p)))?;
        Ok(Geometry {
            grid: info.grid,
            patch_shape: info.patch_shape,
            patch_len: info.patch_len,
            len: info.len,
            extent: info.extent,
            ..this
        })
    }

    /// Rows `start..stop` (`stop` None: the end), checked.
    fn range(&self, start: isize, stop: Option<isize>) -> PyResult<(usize, usize)> {
        let len = self.len as isize;
        let stop = stop.unwrap_or(len);
        if 0 <= start && start <= stop && stop <= len {
            Ok((start as usize, stop as usize))
        } else {
            Err(index_error(format!(
                "rows {start}..{stop} are out of range for {len} patches"
            )))
        }
    }

    fn row(&self, r: isize) -> PyResult<usize> {
        if 0 <= r && (r as usize) < self.len {
            Ok(r as usize)
        } else {
            Err(index_error(format!(
                "row {r} is out of range for {} patches",
                self.len
            )))
        }
    }

    /// The name of an output dtype, if rows may be delivered in it.
    fn out_name(&self, dtype: &Bound<'_, PyAny>) -> PyResult<String> {
        let name: String = dtype.getattr("name")?.extract()?;
        if name == self.dtype || name == "float32" || name == "float64" {
            Ok(name)
        } else {
            Err(unsupported_out(&name, self.dtype))
        }
    }

    fn itemsize(&self, py: Python<'_>) -> PyResult<usize> {
        self.src.bind(py).getattr("itemsize")?.extract()
    }

    /// Rows `start..stop` as a new `(rows, patch_len)` array of `dtype`.
    fn fill_new<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        stop: usize,
        dtype: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let name = self.out_name(dtype)?;
        let rows = stop - start;
        let bytes = rows
            .checked_mul(self.patch_len)
            .and_then(|n| n.checked_mul(itemsize(dtype).ok()?))
            .filter(|&b| b <= isize::MAX as usize);
        if bytes.is_none() {
            return Err(overflow_error(format!(
                "a matrix of {rows} rows of {} {name} overflows the machine's address range; \
                 stream the rows instead (chunks, write_rows, map_chunks)",
                self.patch_len
            )));
        }
        let out = empty(
            py,
            vec![rows, self.patch_len],
            dtype,
            "the patch matrix; stream the rows instead (chunks, write_rows, map_chunks)",
        )?;
        self.write_into(py, start, &out, &name)?;
        Ok(out)
    }

    /// Rows `start..` into `out`, a 2-D array of the element type `name`.
    fn write_into(
        &self,
        py: Python<'_>,
        start: usize,
        out: &Bound<'_, PyAny>,
        name: &str,
    ) -> PyResult<()> {
        with_p!(self, py, |A, p| rows_as!(A, p, name, |B, rows| {
            let o = out.cast::<PyArray2<B>>()?;
            let mut rw = o.try_readwrite().map_err(|e| {
                patch_error(format!(
                    "out cannot be written ({e}): does it overlap the source?"
                ))
            })?;
            let view = rw.as_array_mut();
            run(py, || core::write_rows(rows, start, view))
        }))
    }

    fn resolve_rows(
        &self,
        py: Python<'_>,
        rows: Option<isize>,
        name: &str,
        method: &str,
        default_bytes: usize,
    ) -> PyResult<usize> {
        match rows {
            Some(r) if r >= 1 => Ok(r as usize),
            Some(r) => Err(patch_error(format!(
                "rows={r} for {method}: rows must be positive (at least 1)"
            ))),
            None => with_p!(self, py, |A, p| rows_as!(A, p, name, |B, r| Ok(
                core::chunk_rows_for(r, default_bytes)
            ))),
        }
    }
}

#[pymethods]
impl Geometry {
    /// The windows `patch`, `step`, `dilation` of `a` under `edge`
    /// ("valid" or "shift"); with `axis`, along those axes only (the
    /// arguments then have one entry per windowed axis).
    #[new]
    #[pyo3(signature = (a, patch, step, dilation, edge, axis=None))]
    fn new(
        py: Python<'_>,
        a: &Bound<'_, PyAny>,
        patch: Vec<usize>,
        step: Vec<usize>,
        dilation: Vec<usize>,
        edge: &Bound<'_, PyAny>,
        axis: Option<Vec<usize>>,
    ) -> PyResult<Self> {
        let shift = grid_edge(edge)?;
        let g = Geom {
            patch,
            step,
            dilation,
            axes: axis,
            shift,
        };
        Geometry::build(py, a, g)
    }

    /// The same windows over another array of the source's shape and
    /// dtype (a snapshot).
    fn with_source(&self, py: Python<'_>, a: &Bound<'_, PyAny>) -> PyResult<Self> {
        Geometry::build(py, a, self.g.clone())
    }

    #[getter]
    fn source(&self, py: Python<'_>) -> Py<PyAny> {
        self.src.clone_ref(py)
    }

    #[getter]
    fn grid<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.grid)
    }

    #[getter]
    fn patch_shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.patch_shape)
    }

    #[getter]
    fn patch_len(&self) -> usize {
        self.patch_len
    }

    /// The extent of a window on each axis of the source.
    #[getter]
    fn extent<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.extent)
    }

    #[getter]
    fn edge(&self) -> &'static str {
        if self.g.shift {
            "shift"
        } else {
            "valid"
        }
    }

    /// The windowed axes (`None`: every axis).
    #[getter]
    fn axis(&self) -> Option<Vec<usize>> {
        self.g.axes.clone()
    }

    fn __len__(&self) -> usize {
        self.len
    }

    /// `(shape, strides in bytes)` of the zero-copy view `grid +
    /// patch_shape` from the source's first element; a `PatchError` where no
    /// strided view exists.
    fn view_layout(&self, py: Python<'_>) -> PyResult<(Vec<usize>, Vec<isize>)> {
        let size = self.itemsize(py)? as isize;
        let (shape, strides) = with_p!(self, py, |A, p| core::view_layout(p)
            .map_err(|e| py_err(py, e)))?;
        Ok((shape, strides.into_iter().map(|s| s * size).collect()))
    }

    /// `(origin, shape, strides in bytes)` of window `r`: the view from
    /// `source[origin:]`.
    fn window_layout(
        &self,
        py: Python<'_>,
        r: isize,
    ) -> PyResult<(Vec<usize>, Vec<usize>, Vec<isize>)> {
        let r = self.row(r)?;
        let size = self.itemsize(py)? as isize;
        let (o, shape, strides) = with_p!(self, py, |A, p| Ok(core::window_layout(p, r)))?
            .ok_or_else(|| index_error(format!("row {r} is out of range")))?;
        Ok((o, shape, strides.into_iter().map(|s| s * size).collect()))
    }

    /// The origin of window `r` (one index per source axis).
    fn position<'py>(&self, py: Python<'py>, r: isize) -> PyResult<Bound<'py, PyTuple>> {
        let r = self.row(r)?;
        let o = with_p!(self, py, |A, p| Ok(core::origin(p, r)))?.unwrap_or_default();
        PyTuple::new(py, o)
    }

    /// The origins of rows `start..stop`, int64 `(rows, ndim)`.
    #[pyo3(signature = (start=0, stop=None))]
    fn positions<'py>(
        &self,
        py: Python<'py>,
        start: isize,
        stop: Option<isize>,
    ) -> PyResult<Bound<'py, PyArray2<i64>>> {
        let (start, stop) = self.range(start, stop)?;
        let rows = stop - start;
        let fits = rows
            .checked_mul(self.ndim)
            .and_then(|n| n.checked_mul(size_of::<i64>()))
            .is_some_and(|b| b <= isize::MAX as usize);
        if !fits {
            return Err(overflow_error(format!(
                "Patches.positions: the origins of {rows} windows ({} int64 each) overflow the \
                 machine's address range; ask for fewer rows (start, stop)",
                self.ndim
            )));
        }
        let np = py.import("numpy")?;
        let out = empty(
            py,
            vec![rows, self.ndim],
            &np.call_method1("dtype", ("int64",))?,
            "the origins of Patches.positions; ask for fewer rows (start, stop)",
        )?
        .cast_into::<PyArray2<i64>>()?;
        {
            let mut rw = out.try_readwrite()?;
            let view = rw.as_array_mut();
            with_p!(self, py, |A, p| run_serial(py, || {
                core::positions_into(p, start, view);
                Ok(())
            }))?;
        }
        Ok(out)
    }

    /// The row of the window at `origin`, `None` if none starts there.
    fn row_of(&self, py: Python<'_>, origin: Vec<usize>) -> PyResult<Option<usize>> {
        if origin.len() != self.ndim {
            return Err(patch_error(format!(
                "origin={origin:?} for Patches.row_of has {} indices; the source has {} axes",
                origin.len(),
                self.ndim
            )));
        }
        with_p!(self, py, |A, p| Ok(core::row_of(p, &origin)))
    }

    /// The bytes of the whole matrix in `dtype` (a Python int: it may
    /// exceed the address range).
    fn matrix_bytes(&self, dtype: &Bound<'_, PyAny>) -> PyResult<u128> {
        self.out_name(dtype)?;
        Ok(self.len as u128 * self.patch_len as u128 * itemsize(dtype)? as u128)
    }

    /// Rows `start..stop` as a new array of `dtype`, filled in parallel.
    #[pyo3(signature = (dtype, start=0, stop=None))]
    fn to_matrix<'py>(
        &self,
        py: Python<'py>,
        dtype: &Bound<'py, PyAny>,
        start: isize,
        stop: Option<isize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (start, stop) = self.range(start, stop)?;
        self.fill_new(py, start, stop, dtype)
    }

    /// Rows `start..start + len(out)` into `out`.
    fn write_rows(&self, py: Python<'_>, start: isize, out: &Bound<'_, PyAny>) -> PyResult<()> {
        if start < 0 {
            return Err(index_error(format!("start {start} is negative")));
        }
        let o = out
            .cast::<PyUntypedArray>()
            .map_err(|_| patch_error("out must be a numpy array"))?;
        if o.ndim() != 2 {
            return Err(patch_error(format!(
                "out must be a 2-D array, it has {} axes",
                o.ndim()
            )));
        }
        if !out
            .getattr("flags")?
            .getattr("writeable")?
            .extract::<bool>()?
        {
            return Err(patch_error("out is read-only"));
        }
        let name = self.out_name(&o.dtype().into_any())?;
        self.write_into(py, start as usize, out, &name)
    }

    /// The rows per chunk of `chunks` and `shuffled`: `rows`, checked, or
    /// 16 MiB of `dtype`; `method` names the caller in messages.
    fn chunk_rows(
        &self,
        py: Python<'_>,
        rows: Option<isize>,
        dtype: &Bound<'_, PyAny>,
        method: &str,
    ) -> PyResult<usize> {
        let name = self.out_name(dtype)?;
        self.resolve_rows(py, rows, &name, method, CHUNK_BYTES)
    }

    /// An iterator over rows `start..stop` in chunks of `rows` of `dtype`.
    fn chunks(
        slf: &Bound<'_, Self>,
        start: isize,
        stop: Option<isize>,
        rows: usize,
        dtype: &Bound<'_, PyAny>,
    ) -> PyResult<Chunks> {
        let this = slf.get();
        let (start, stop) = this.range(start, stop)?;
        this.out_name(dtype)?;
        Ok(Chunks {
            geom: slf.clone().unbind(),
            next: start,
            stop,
            rows: rows.max(1),
            dtype: dtype.clone().unbind(),
            spare: [None, None],
            turn: 0,
        })
    }

    /// One shuffled epoch of rows `start..stop` (the crate's order for
    /// `StdRng::seed_from_u64(seed)`) in batches of `rows` of `dtype`.
    fn shuffled(
        slf: &Bound<'_, Self>,
        start: isize,
        stop: Option<isize>,
        rows: usize,
        seed: u64,
        dtype: &Bound<'_, PyAny>,
    ) -> PyResult<Shuffled> {
        let py = slf.py();
        let this = slf.get();
        let (start, stop) = this.range(start, stop)?;
        let name = this.out_name(dtype)?;
        let order = with_p!(this, py, |A, p| run(py, || core::shuffled_order(
            p, start, stop, seed
        )))?;
        Ok(Shuffled {
            geom: slf.clone().unbind(),
            order,
            next: 0,
            rows: rows.max(1),
            dtype: name,
        })
    }

    /// The rows at `indices` (int64, each in `0..len`), a new array.
    fn select<'py>(
        &self,
        py: Python<'py>,
        indices: PyReadonlyArray1<'py, i64>,
        dtype: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let idx = indices
            .as_array()
            .iter()
            .map(|&i| usize::try_from(i).map_err(|_| index_error(format!("row {i} is negative"))))
            .collect::<PyResult<Vec<usize>>>()?;
        self.select_rows(py, &idx, &self.out_name(dtype)?)
    }

    /// `(indices, rows)` of `n` seeded random patches.
    fn sample<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        seed: u64,
        replace: bool,
        weights: Option<PyReadonlyArray1<'py, f64>>,
    ) -> PyResult<(Bound<'py, PyArray1<i64>>, Bound<'py, PyAny>)> {
        let w = weights.as_ref().map(|w| w.as_array());
        with_p!(self, py, |A, p| {
            let (idx, rows) = run(py, || core::sample(p, n, seed, replace, w))?;
            let idx: Vec<i64> = idx.into_iter().map(|i| i as i64).collect();
            Ok((idx.into_pyarray(py), rows.into_pyarray(py).into_any()))
        })
    }

    /// `X @ w` in `dtype` (float32 or float64; `w` of that dtype).
    fn dot<'py>(
        &self,
        py: Python<'py>,
        w: &Bound<'py, PyAny>,
        dtype: &str,
        method: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = method_arg(method, "dot")?;
        with_p!(self, py, |A, p| rows_real!(A, p, dtype, |F, rows| {
            let w: PyReadonlyArray1<'py, F> = w.extract()?;
            let w = w.as_array();
            let pl = self.patch_len;
            Ok(run(py, || core::dot(rows, w, pl, m))?
                .into_pyarray(py)
                .into_any())
        }))
    }

    /// `X @ W` in `dtype`.
    fn matmul<'py>(
        &self,
        py: Python<'py>,
        w: &Bound<'py, PyAny>,
        dtype: &str,
        method: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = method_arg(method, "matmul")?;
        with_p!(self, py, |A, p| rows_real!(A, p, dtype, |F, rows| {
            let w: PyReadonlyArray2<'py, F> = w.extract()?;
            let w = w.as_array();
            let pl = self.patch_len;
            Ok(run(py, || core::matmul(rows, w, pl, m))?
                .into_pyarray(py)
                .into_any())
        }))
    }

    /// `X.T @ v` in `dtype`.
    fn t_dot<'py>(
        &self,
        py: Python<'py>,
        v: &Bound<'py, PyAny>,
        dtype: &str,
        method: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = method_arg(method, "t_dot")?;
        with_p!(self, py, |A, p| rows_real!(A, p, dtype, |F, rows| {
            let v: PyReadonlyArray1<'py, F> = v.extract()?;
            let v = v.as_array();
            Ok(run(py, || core::t_dot(rows, v, m))?
                .into_pyarray(py)
                .into_any())
        }))
    }

    /// `X.T @ X` in `dtype`.
    fn gram<'py>(&self, py: Python<'py>, dtype: &str, method: &str) -> PyResult<Bound<'py, PyAny>> {
        let m = method_arg(method, "gram")?;
        with_p!(self, py, |A, p| rows_real!(A, p, dtype, |F, rows| Ok(run(
            py,
            || core::gram(rows, m)
        )?
        .into_pyarray(py)
        .into_any())))
    }

    /// The mean row in `dtype`.
    fn mean<'py>(&self, py: Python<'py>, dtype: &str, method: &str) -> PyResult<Bound<'py, PyAny>> {
        let m = method_arg(method, "mean")?;
        let pl = self.patch_len;
        with_p!(self, py, |A, p| rows_real!(A, p, dtype, |F, rows| Ok(run(
            py,
            || core::mean(rows, pl, m)
        )?
        .into_pyarray(py)
        .into_any())))
    }

    /// `np.cov(X, rowvar=False)` in `dtype`.
    fn covariance<'py>(
        &self,
        py: Python<'py>,
        dtype: &str,
        method: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = method_arg(method, "covariance")?;
        with_p!(self, py, |A, p| rows_real!(A, p, dtype, |F, rows| Ok(run(
            py,
            || core::covariance(rows, m)
        )?
        .into_pyarray(py)
        .into_any())))
    }

    /// `(mean, np.cov(X, rowvar=False))` in `dtype`, from one pass.
    fn mean_covariance<'py>(
        &self,
        py: Python<'py>,
        dtype: &str,
        method: &str,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let m = method_arg(method, "mean_covariance")?;
        let pl = self.patch_len;
        with_p!(self, py, |A, p| rows_real!(A, p, dtype, |F, rows| {
            let (mean, cov) = run(py, || core::mean_covariance(rows, pl, m))?;
            Ok((
                mean.into_pyarray(py).into_any(),
                cov.into_pyarray(py).into_any(),
            ))
        }))
    }

    /// Mergeable moments of all the rows, in float64, packed in one vector:
    /// `[n, sum (patch_len)]`, and with `second` the centred second moment
    /// `Σ (x - μ)(x - μ)ᵀ` (`patch_len²`, row-major) after them. Merge them
    /// with `merge_moments`.
    fn moments<'py>(&self, py: Python<'py>, second: bool) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let pl = self.patch_len;
        let (n, sum, m2) = with_p!(self, py, |A, p| {
            let rows = <A as Elem>::rows_f64(p);
            let rows = &rows;
            run(py, || core::moments(rows, pl, second))
        })?;
        let mut out = Vec::new();
        out.try_reserve_exact(1 + pl + if second { pl * pl } else { 0 })
            .map_err(|_| PyMemoryError::new_err("no memory for the moments"))?;
        out.push(n as f64);
        out.extend(sum.iter());
        if let Some(m2) = m2 {
            out.extend(m2.iter());
        }
        Ok(out.into_pyarray(py))
    }

    /// The plan of a Dask array of these windows whose chunks are `chunks`
    /// (per axis, the block lengths): `(chunks, depth, owned)`: the chunks
    /// merged so that every block is at least one extent long, the trailing
    /// halo per axis (extent - 1), and per axis and block `(count, lo, hi)`:
    /// the number of windows whose origin lies in the block, and the part
    /// `lo:hi` of the halo'd block that holds exactly them.
    #[allow(clippy::type_complexity)]
    fn blocks(
        &self,
        py: Python<'_>,
        chunks: Vec<Vec<usize>>,
    ) -> PyResult<(Vec<Vec<usize>>, Vec<usize>, Vec<Vec<(usize, usize, usize)>>)> {
        if self.g.axes.is_some() {
            return Err(patch_error(
                "windows along some axes (axis=) have no Dask plan; window every axis",
            ));
        }
        if chunks.len() != self.ndim {
            return Err(patch_error(format!(
                "chunks has {} axes but the array has {}",
                chunks.len(),
                self.ndim
            )));
        }
        let origins = with_p!(self, py, |A, p| Ok(core::axis_origins(p)))?;
        let mut merged = Vec::with_capacity(self.ndim);
        let mut owned = Vec::with_capacity(self.ndim);
        for (k, c) in chunks.iter().enumerate() {
            let e = self.extent[k];
            let c = min_chunks(c, e);
            let o = &origins[k];
            let mut b = 0;
            let mut own = Vec::with_capacity(c.len());
            for &len in &c {
                let lo = o.partition_point(|&x| x < b);
                let hi = o.partition_point(|&x| x < b + len);
                own.push(if hi > lo {
                    (hi - lo, o[lo] - b, o[hi - 1] - b + e)
                } else {
                    (0, 0, 0)
                });
                b += len;
            }
            merged.push(c);
            owned.push(own);
        }
        let depth = self.extent.iter().map(|e| e - 1).collect();
        Ok((merged, depth, owned))
    }

    /// `fn` on every chunk of `rows` rows (None: 16 MiB) of `dtype`, in row
    /// order, the next chunk filled with the GIL released while `fn` runs;
    /// the results shaped `grid` or `grid + (k,)`.
    ///
    /// `beside`: what to call instead of `f` on a chunk that runs beside a
    /// fill once the call measures which is faster (`f` with its BLAS on
    /// one thread); None: `f`.
    ///
    /// `fill_threads`: the threads that fill a chunk while `fn` runs (0:
    /// the process's pool); for measurements.
    #[pyo3(signature = (f, rows, dtype, beside=None, fill_threads=0))]
    fn map_chunks<'py>(
        &self,
        py: Python<'py>,
        f: &Bound<'py, PyAny>,
        rows: Option<isize>,
        dtype: &Bound<'py, PyAny>,
        beside: Option<&Bound<'py, PyAny>>,
        fill_threads: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let name = self.out_name(dtype)?;
        let rows = self.resolve_rows(py, rows, &name, "Patches.map_chunks", CHUNK_BYTES)?;
        let rows = rows.min(self.len.max(1));
        let pool = pool(py)?;
        let behind = match fill_threads {
            0 => pool.clone(),
            n => Arc::new(build_pool(n)?),
        };
        let m = MapChunks {
            f,
            beside: beside.unwrap_or(f),
            chunk: rows,
            len: self.len,
            pl: self.patch_len,
            grid: &self.grid,
            dtype,
            pool: &pool,
            behind: &behind,
        };
        with_p!(self, py, |A, p| rows_as!(A, p, &name, |B, r| m
            .run::<A, B, _>(py, r)))
    }
}

impl Geometry {
    fn select_rows<'py>(
        &self,
        py: Python<'py>,
        idx: &[usize],
        name: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        with_p!(self, py, |A, p| rows_as!(A, p, name, |B, rows| {
            let m = run(py, || core::select(rows, idx))?;
            Ok(m.into_pyarray(py).into_any())
        }))
    }
}

/// Merges neighbouring chunks until each is at least `m` long (or there is
/// one chunk).
fn min_chunks(chunks: &[usize], m: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(chunks.len());
    for &c in chunks {
        match out.last_mut() {
            Some(last) if *last < m => *last += c,
            _ => out.push(c),
        }
    }
    if out.len() > 1 && out.last().is_some_and(|&l| l < m) {
        let last = out.pop().unwrap_or(0);
        if let Some(prev) = out.last_mut() {
            *prev += last;
        }
    }
    out
}

/// What the chunk buffers of `map_chunks` are, in a failed allocation's
/// message.
const CHUNK_WHAT: &str = "a chunk of Patches.map_chunks; ask for fewer rows (rows=)";

/// Whether `map_chunks` fills the next chunk while `fn` runs, measured on
/// the call itself. Overlap is the default, and wins when `fn` runs on one
/// thread (a RandomForest with `n_jobs=1`, plain Python); a `fn` that runs
/// on every core (a BLAS product: a linear model) runs beside the fill as
/// `beside` (Python's wrapper limits its BLAS and OpenMP threads to one),
/// since their spinning threads take the cores the fill needs; but `fn`
/// may still be faster on its own. So with enough chunks, chunks `1..=
/// PROBES` run `fn` beside the fill and the next `PROBES` run `fn` then
/// the fill, each timed, and the rest of the call does what was faster by
/// the median of each kind. Each kind runs in a row: a BLAS's threads
/// still spin after a chunk that ran `fn` alone, and would slow the fill
/// of an overlapped chunk that came right after it (measured: 4-6.6 ms
/// per chunk against 2.8 ms in a row, 2048², 15x15, `decision_function`,
/// which made alternating probes pick the 2x slower sequential mode).
/// Chunk 0 warms `fn` and `beside` up, overlapped.
struct Overlap {
    probe: bool,
    sequential: Vec<Duration>,
    overlapped: Vec<Duration>,
}

/// Timed chunks of each kind when `map_chunks` probes.
const PROBES: usize = 3;

impl Overlap {
    fn new(n_chunks: usize) -> Self {
        Overlap {
            // Chunks 0 to 2 * PROBES probe; deciding pays off after as many.
            probe: n_chunks >= 4 * PROBES,
            sequential: Vec::with_capacity(PROBES),
            overlapped: Vec::with_capacity(PROBES),
        }
    }

    /// Whether chunk `i` overlaps `fn` with the next fill.
    fn overlap(&self, i: usize) -> bool {
        if !self.probe || i <= PROBES {
            true
        } else if i <= 2 * PROBES {
            false
        } else {
            median(&self.overlapped) <= median(&self.sequential)
        }
    }

    /// What runs on a chunk beside a fill: `beside` when the call probes
    /// (chunk 0 builds whatever it needs, the probes measure it), `f`
    /// otherwise.
    fn callee<'a, 'py>(
        &self,
        f: &'a Bound<'py, PyAny>,
        beside: &'a Bound<'py, PyAny>,
    ) -> &'a Bound<'py, PyAny> {
        if self.probe {
            beside
        } else {
            f
        }
    }

    fn sequential_took(&mut self, i: usize, both: Duration) {
        if self.probe && (PROBES + 1..=2 * PROBES).contains(&i) {
            self.sequential.push(both);
        }
    }

    fn overlapped_took(&mut self, i: usize, both: Duration) {
        if self.probe && (1..=PROBES).contains(&i) {
            self.overlapped.push(both);
        }
    }
}

/// The median of a few durations (zero for none).
fn median(d: &[Duration]) -> Duration {
    let mut v = d.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// A `map_chunks` call: the callee and the shapes.
struct MapChunks<'a, 'py> {
    f: &'a Bound<'py, PyAny>,
    /// `f` for the chunks that run beside a fill when the call probes.
    beside: &'a Bound<'py, PyAny>,
    chunk: usize,
    len: usize,
    pl: usize,
    grid: &'a [usize],
    dtype: &'a Bound<'py, PyAny>,
    pool: &'a ThreadPool,
    /// The pool that fills a chunk while `fn` runs.
    behind: &'a ThreadPool,
}

impl<'py> MapChunks<'_, 'py> {
    fn run<A, B, C>(
        &self,
        py: Python<'py>,
        rows: &Rows<'_, A, IxDyn, C>,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        A: Elem,
        B: Elem,
        C: Conversion<A, Output = B>,
    {
        let (len, chunk, pl) = (self.len, self.chunk, self.pl);
        let n_chunks = len.div_ceil(chunk);
        // Two buffers: `fn` reads one while the other is filled.
        let b0 = empty(py, vec![chunk, pl], self.dtype, CHUNK_WHAT)?.cast_into::<PyArray2<B>>()?;
        let b1 = if n_chunks > 1 {
            empty(py, vec![chunk, pl], self.dtype, CHUNK_WHAT)?.cast_into::<PyArray2<B>>()?
        } else {
            b0.clone()
        };
        let bufs = [b0, b1];
        {
            let m = chunk.min(len);
            let mut w = bufs[0].try_readwrite()?;
            let view = w.as_array_mut().slice_move(ndarray::s![..m, ..]);
            let pool = self.pool;
            run_serial(py, || pool.install(|| core::write_rows(rows, 0, view)))?;
        }
        let np = py.import("numpy")?;
        let mut out: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>, Option<usize>)> = None;
        let mut plan = Overlap::new(n_chunks);
        for i in 0..n_chunks {
            py.check_signals()?;
            let start = i * chunk;
            let m = chunk.min(len - start);
            let cur = bufs[i % 2].clone().into_any();
            let arg = if m < chunk {
                cur.get_item(PySlice::new(py, 0, m as isize, 1))?
            } else {
                cur
            };
            let next = (i + 1 < n_chunks).then(|| {
                let s = start + chunk;
                (s, chunk.min(len - s))
            });
            let mut guard = match next {
                Some(_) => Some(bufs[(i + 1) % 2].try_readwrite()?),
                None => None,
            };
            let view = match (guard.as_mut(), next) {
                (Some(w), Some((s, nm))) => {
                    Some((s, w.as_array_mut().slice_move(ndarray::s![..nm, ..])))
                }
                _ => None,
            };
            let overlap = plan.overlap(i);
            let t = Instant::now();
            let (res, filled) = if overlap {
                let pool = self.behind;
                let (res, filled) = std::thread::scope(|sc| {
                    let rx = view.map(|(s, view)| {
                        let (tx, rx) = std::sync::mpsc::sync_channel(1);
                        sc.spawn(move || {
                            let r = catch_unwind(AssertUnwindSafe(|| {
                                pool.install(|| core::write_rows(rows, s, view))
                            }));
                            let _ = tx.send(r);
                        });
                        rx
                    });
                    let res = plan.callee(self.f, self.beside).call1((arg,));
                    let filled = rx.map(|rx| py.detach(move || rx.recv()));
                    (res, filled)
                });
                let filled = match filled {
                    None | Some(Ok(Ok(Ok(())))) => Ok(()),
                    Some(Ok(Ok(Err(e)))) => Err(py_err(py, e)),
                    _ => Err(PyRuntimeError::new_err(
                        "internal error in ndarray-patches (please report it): a fill failed",
                    )),
                };
                (res, filled)
            } else {
                let res = self.f.call1((arg,));
                let filled = match (&res, view) {
                    (Ok(_), Some((s, view))) => {
                        let pool = self.pool;
                        run_serial(py, || pool.install(|| core::write_rows(rows, s, view)))
                    }
                    _ => Ok(()),
                };
                plan.sequential_took(i, t.elapsed());
                (res, filled)
            };
            if overlap {
                plan.overlapped_took(i, t.elapsed());
            }
            drop(guard);
            filled?;
            let r = np.call_method1("asarray", (res?,))?;
            let shape: Vec<usize> = r.getattr("shape")?.extract()?;
            let k = match shape.as_slice() {
                [n] if *n == m => None,
                [n, k] if *n == m => Some(*k),
                _ => {
                    return Err(patch_error(format!(
                        "fn of Patches.map_chunks returned shape {} for a chunk of {m} rows: \
                         it must return one value per row, shape ({m},), or ({m}, k)",
                        describe(&r.getattr("shape")?)
                    )))
                }
            };
            if out.is_none() {
                let mut shape = self.grid.to_vec();
                let mut flat = vec![len];
                if let Some(k) = k {
                    shape.push(k);
                    flat.push(k);
                }
                let o = empty(
                    py,
                    shape,
                    &r.getattr("dtype")?,
                    "the result of Patches.map_chunks",
                )?;
                let f = o.call_method1("reshape", (PyTuple::new(py, flat)?,))?;
                out = Some((o, f, k));
            }
            let (_, flat, k0) = out
                .as_ref()
                .ok_or_else(|| PyRuntimeError::new_err("no output"))?;
            if *k0 != k {
                return Err(patch_error(format!(
                    "fn of Patches.map_chunks returned shape {} for a chunk of {m} rows, after \
                     {} for the first chunk: every chunk must give the same number of columns",
                    describe(&r.getattr("shape")?),
                    match k0 {
                        Some(k) => format!("(rows, {k})"),
                        None => "(rows,)".to_string(),
                    }
                )));
            }
            flat.set_item(PySlice::new(py, start as isize, (start + m) as isize, 1), r)?;
        }
        out.map(|(o, _, _)| o)
            .ok_or_else(|| PyRuntimeError::new_err("map_chunks over no rows"))
    }
}

/// The iterator of `Patches.chunks`: `(first_row, chunk)` pairs, each chunk
/// an array nobody else holds: a new one, or one this iterator handed out
/// two chunks ago whose every reference (views, buffers, the loop variable)
/// is gone, refilled. A loop that drops each chunk before the next but one
/// then writes into two arrays that stay in the cache, with no allocation
/// and no page faults (large fresh arrays cost numpy an `mmap` each).
#[pyclass(module = "ndarray_patches._core")]
struct Chunks {
    geom: Py<Geometry>,
    next: usize,
    stop: usize,
    rows: usize,
    dtype: Py<PyAny>,
    /// The last two chunks handed out; `turn` picks the older.
    spare: [Option<Py<PyAny>>; 2],
    turn: usize,
}

impl Chunks {
    /// The older spare chunk if only this iterator holds it (a reference
    /// count of one: no view, buffer or variable anywhere refers to it),
    /// it is still writeable and it has `rows` rows.
    fn recycled<'py>(&self, py: Python<'py>, rows: usize) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(a) = &self.spare[self.turn % 2] else {
            return Ok(None);
        };
        // SAFETY: `a` is a live object (this iterator holds a strong
        // reference to it) and the GIL is held (`py`), so reading its
        // reference count is a plain read of a valid object header.
        if unsafe { pyo3::ffi::Py_REFCNT(a.as_ptr()) } != 1 {
            return Ok(None);
        }
        let a = a.bind(py).clone();
        let ok = a
            .getattr("flags")?
            .getattr("writeable")?
            .extract::<bool>()?
            && a.getattr("shape")?.get_item(0)?.extract::<usize>()? == rows;
        Ok(ok.then_some(a))
    }
}

#[pymethods]
impl Chunks {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The number of chunks still to come.
    fn __len__(&self) -> usize {
        (self.stop - self.next).div_ceil(self.rows)
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<(usize, Bound<'py, PyAny>)>> {
        if self.next >= self.stop {
            return Ok(None);
        }
        let (s, e) = (self.next, self.stop.min(self.next + self.rows));
        let geom = self.geom.get();
        let dtype = self.dtype.bind(py);
        let chunk = match self.recycled(py, e - s)? {
            Some(a) => {
                geom.write_into(py, s, &a, &geom.out_name(dtype)?)?;
                a
            }
            None => geom.fill_new(py, s, e, dtype)?,
        };
        self.spare[self.turn % 2] = Some(chunk.clone().unbind());
        self.turn += 1;
        self.next = e;
        Ok(Some((s, chunk)))
    }
}

/// The iterator of `Patches.shuffled`: `(row_numbers, batch)` pairs.
#[pyclass(module = "ndarray_patches._core")]
struct Shuffled {
    geom: Py<Geometry>,
    order: Vec<usize>,
    next: usize,
    rows: usize,
    dtype: String,
}

#[pymethods]
impl Shuffled {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The number of batches still to come.
    fn __len__(&self) -> usize {
        (self.order.len() - self.next).div_ceil(self.rows)
    }

    #[allow(clippy::type_complexity)]
    fn __next__<'py>(
        &mut self,
        py: Python<'py>,
    ) -> PyResult<Option<(Bound<'py, PyArray1<i64>>, Bound<'py, PyAny>)>> {
        if self.next >= self.order.len() {
            return Ok(None);
        }
        let e = self.order.len().min(self.next + self.rows);
        let idx = &self.order[self.next..e];
        let batch = self.geom.get().select_rows(py, idx, &self.dtype)?;
        let rows: Vec<i64> = idx.iter().map(|&r| r as i64).collect();
        self.next = e;
        Ok(Some((rows.into_pyarray(py), batch)))
    }
}

// ---------------------------------------------------------------------------
// Functions (private API of the Python package: see ndarray_patches/__init__.py)

/// Merges rows of packed moments (`Geometry.moments(True)`) of windows of
/// `patch_len` elements into one.
#[pyfunction]
fn merge_moments<'py>(
    py: Python<'py>,
    parts: PyReadonlyArray2<'py, f64>,
    patch_len: usize,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let width = 1 + patch_len + patch_len * patch_len;
    if parts.as_array().ncols() != width {
        return Err(patch_error(format!(
            "moments have {} columns, {width} expected",
            parts.as_array().ncols()
        )));
    }
    let v = parts.as_array();
    Ok(py
        .detach(|| core::merge_moments(v, patch_len))
        .into_pyarray(py))
}

/// The source padded for the windows under `edge`, filled per `mode`;
/// `cval` is a one-element array of the source's dtype. Returns the padded
/// array and the edge of its grid ("shift" pads nothing and keeps its
/// moved-back windows; the others are a valid grid over the padded array).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn padded<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &Bound<'py, PyAny>,
    mode: &Bound<'py, PyAny>,
    cval: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, &'static str)> {
    let g = window(patch, step, dilation);
    let e = any_edge(edge)?;
    let mode_name = pad_mode_name(mode)?;
    let grid_edge = padded_edge(e);
    let out = dispatch!(a, |A, v| {
        let c: PyReadonlyArray1<'py, A> = cval.extract()?;
        let c = *c
            .as_array()
            .first()
            .ok_or_else(|| patch_error("empty cval"))?;
        let m = core::pad_mode(&mode_name, c).expect("checked by pad_mode_name");
        Ok(run(py, || core::padded(v, &g, e, m))?
            .into_pyarray(py)
            .into_any())
    })?;
    Ok((out, grid_edge))
}

/// A C-order copy of `a` (any supported dtype and layout), copied by the
/// pool's threads into an array numpy allocates (huge pages on large
/// arrays): the snapshot of `copy=True`, about twice as fast as
/// `a.copy()` on a large image.
#[pyfunction]
fn snapshot<'py>(py: Python<'py>, a: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    dispatch!(a, |A, v| {
        let out = empty(
            py,
            v.shape().to_vec(),
            &a.getattr("dtype")?,
            "the snapshot of the source (copy=True)",
        )?;
        {
            let typed = out.cast::<PyArrayDyn<A>>()?;
            let mut rw = typed.try_readwrite()?;
            let dst = rw.as_array_mut();
            run(py, move || {
                core::copy_par(v, dst);
                Ok(())
            })?;
        }
        Ok(out)
    })
}

/// numpy.pad's mode named by `mode`, checked (its name), or the error.
fn pad_mode_name(mode: &Bound<'_, PyAny>) -> PyResult<String> {
    mode.extract::<String>()
        .ok()
        .filter(|m| core::pad_mode(m, ()).is_some())
        .ok_or_else(|| {
            patch_error(format!(
                "unknown mode {}: use 'constant', 'edge', 'reflect', 'symmetric' or 'wrap'",
                describe(mode)
            ))
        })
}

/// The edge of the grid over an array padded for `edge`: "shift" pads
/// nothing and keeps its moved-back windows; the others pad and are valid.
fn padded_edge(edge: ndarray_patches::Edge) -> &'static str {
    if edge == ndarray_patches::Edge::Shift {
        "shift"
    } else {
        "valid"
    }
}

/// The padding `(before, after)` per axis that `edge` adds around an array
/// of `shape`, and the edge of the grid over the padded array, without
/// padding anything (`ndarray_patches.dask` pads its arrays with it);
/// `mode` is checked as `padded` checks it.
#[pyfunction]
fn padding(
    py: Python<'_>,
    shape: Vec<usize>,
    patch: Vec<usize>,
    step: Vec<usize>,
    dilation: Vec<usize>,
    edge: &Bound<'_, PyAny>,
    mode: &Bound<'_, PyAny>,
) -> PyResult<(Vec<usize>, Vec<usize>, &'static str)> {
    let e = any_edge(edge)?;
    pad_mode_name(mode)?;
    let (before, after) =
        core::padding(&shape, &window(patch, step, dilation), e).map_err(|err| py_err(py, err))?;
    Ok((before, after, padded_edge(e)))
}

/// One axis of length `n` padded by `before` and `after` in `mode`, as
/// runs `(first, len, step)` of the source (`first = -1`: constant).
#[pyfunction]
fn pad_runs(
    py: Python<'_>,
    n: usize,
    before: usize,
    after: usize,
    mode: &Bound<'_, PyAny>,
) -> PyResult<Vec<(i64, usize, i64)>> {
    let m = core::pad_mode(&pad_mode_name(mode)?, -1i64).expect("checked by pad_mode_name");
    core::pad_runs(n, before, after, m).map_err(|e| py_err(py, e))
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
    if let Some(e) = too_many_axes(shape.len(), "image_shape for reconstruct") {
        return Err(e);
    }
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

/// `e` with `call` ("Fold.add_rows") before its message, for the
/// package's own errors (same type); any other exception (a signal's) is
/// left as it is.
fn named(py: Python<'_>, e: PyErr, call: &str) -> PyErr {
    if !e.is_instance_of::<PatchError>(py) {
        return e;
    }
    let msg = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    PyErr::from_type(e.get_type(py), format!("{call}: {msg}"))
}

/// A shape as Python writes it: `(3,)`, `(2, 2)`.
fn py_shape(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The `reduction=` argument of `call` ("Fold", "Fold.finish").
fn reduction_arg(reduction: &Bound<'_, PyAny>, call: &str) -> PyResult<ndarray_patches::Reduction> {
    reduction
        .extract::<String>()
        .ok()
        .and_then(|r| core::reduction(&r))
        .ok_or_else(|| {
            patch_error(format!(
                "{call}: reduction must be 'mean', 'sum', 'max', 'min' or 'last', not {}",
                describe(reduction)
            ))
        })
}

/// The `weights=` and `sigma=` arguments of `Fold`, for a patch of
/// `patch_len` elements and shape `patch` (checked before an array is
/// converted to float64).
fn weights_arg(
    weights: Option<&Bound<'_, PyAny>>,
    sigma: Option<&Bound<'_, PyAny>>,
    patch: &[usize],
    patch_len: usize,
) -> PyResult<Option<core::Weights>> {
    let sigma = match sigma {
        None => None,
        Some(s) => Some(s.extract::<f64>().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "Fold: sigma must be a number (the Gaussian's standard deviation in \
                 elements), not {}",
                describe(s)
            ))
        })?),
    };
    let name = weights.and_then(|w| w.extract::<String>().ok());
    let w = match (weights, name.as_deref(), sigma) {
        (None, _, None) => return Ok(None),
        (_, Some("gaussian"), Some(sigma)) => core::Weights::Gaussian(sigma),
        (_, Some("gaussian"), None) => {
            return Err(patch_error(
                "Fold: weights='gaussian' needs sigma=, the Gaussian's standard deviation in \
                 elements (for example a quarter of the patch)",
            ))
        }
        (_, _, Some(_)) => {
            return Err(patch_error(format!(
                "Fold: sigma= is for weights='gaussian' only, not weights={}",
                weights.map_or("None".to_string(), describe)
            )))
        }
        (_, Some("hann"), None) => core::Weights::Hann,
        (Some(w), None, None) if w.cast::<PyUntypedArray>().is_ok() => {
            let a = w.cast::<PyUntypedArray>()?;
            let flat = a.ndim() == 1 && a.shape()[0] == patch_len && patch.len() != 1;
            if a.shape() != patch && !flat {
                return Err(patch_error(format!(
                    "Fold: weights has shape {}, but the patch shape is {}: give one weight \
                     per patch element, shaped like the patch or flat ({patch_len} elements)",
                    py_shape(a.shape()),
                    py_shape(patch)
                )));
            }
            let a = a.call_method1("astype", ("float64",))?;
            let a: PyReadonlyArrayDyn<'_, f64> = a.extract()?;
            core::Weights::Custom(a.as_array().to_owned())
        }
        (Some(w), _, None) => {
            return Err(patch_error(format!(
                "Fold: weights must be None, 'hann', 'gaussian' (with sigma=) or an array of \
                 the patch's shape, not {}",
                describe(w)
            )))
        }
    };
    Ok(Some(w))
}

/// A reconstruction (`Fold`) in progress; see `ndarray_patches.Fold`.
#[pyclass(module = "ndarray_patches._core", name = "_Fold")]
struct PyFold {
    inner: ndarray_patches::Fold<ndarray::IxDyn>,
    /// The reduction chosen at construction (the crate keeps it private).
    reduction: ndarray_patches::Reduction,
}

#[pymethods]
impl PyFold {
    #[new]
    #[pyo3(signature = (shape, patch, step, dilation, edge, reduction=None, weights=None, sigma=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        shape: Vec<usize>,
        patch: Vec<usize>,
        step: Vec<usize>,
        dilation: Vec<usize>,
        edge: &Bound<'_, PyAny>,
        reduction: Option<&Bound<'_, PyAny>>,
        weights: Option<&Bound<'_, PyAny>>,
        sigma: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        if let Some(e) = too_many_axes(shape.len(), "shape for Fold") {
            return Err(e);
        }
        let r = match reduction {
            None => ndarray_patches::Reduction::Mean,
            Some(r) => reduction_arg(r, "Fold")?,
        };
        let g = window(patch, step, dilation);
        let e = any_edge(edge)?;
        let inner = run(py, || core::fold_new(&shape, &g, e, r))?;
        let inner = match weights_arg(weights, sigma, &g.patch, inner.patch_len())? {
            None => inner,
            Some(w) => match run_serial(py, || Ok(core::fold_weighted(inner, &g.patch, w)))? {
                Ok(f) => f,
                Err(RustPatchError::WeightedReduction { .. }) => {
                    // The crate's refusal, in the package's words.
                    let name = core::reduction_name(r);
                    return Err(patch_error(format!(
                        "Fold: window weights blend contributions, so they apply to \
                         reduction='mean' or 'sum' only; reduction='{name}' takes none \
                         (weights=None)"
                    )));
                }
                Err(RustPatchError::WeightsShape { expected, found }) => {
                    return Err(patch_error(format!(
                        "Fold: weights has shape {}, but the patch shape is {}",
                        py_shape(&found),
                        py_shape(&expected)
                    )));
                }
                Err(e) => return Err(named(py, py_err(py, e), "Fold")),
            },
        };
        Ok(PyFold {
            inner,
            reduction: r,
        })
    }

    /// `(number of patches, patch_len)`.
    fn dims(&self) -> (usize, usize) {
        core::fold_dims(&self.inner)
    }

    /// The reduction chosen at construction.
    #[getter]
    fn reduction(&self) -> &'static str {
        core::reduction_name(self.reduction)
    }

    /// Adds rows `start..start + len(rows)` (float32 or float64).
    fn add_rows(&mut self, py: Python<'_>, start: usize, rows: &Bound<'_, PyAny>) -> PyResult<()> {
        let inner = &mut self.inner;
        let plen = inner.patch_len();
        let width = |ncols: usize| {
            (ncols != plen).then(|| {
                patch_error(format!(
                    "Fold.add_rows: rows has {ncols} columns, but a patch has {plen} elements \
                     (give rows of shape (n, patch_len) or (n, *patch))"
                ))
            })
        };
        let r = if let Ok(r) = rows.extract::<PyReadonlyArray2<'_, f32>>() {
            let r = r.as_array();
            if let Some(e) = width(r.ncols()) {
                return Err(e);
            }
            run(py, || core::fold_add_rows(inner, start, r))
        } else {
            let r: PyReadonlyArray2<'_, f64> = rows.extract()?;
            let r = r.as_array();
            if let Some(e) = width(r.ncols()) {
                return Err(e);
            }
            run(py, || core::fold_add_rows(inner, start, r))
        };
        r.map_err(|e| named(py, e, "Fold.add_rows"))
    }

    /// The image: the contributions reduced by `reduction` (`None`: the
    /// fold's), as `dtype` ("float32" or "float64").
    #[pyo3(signature = (reduction, dtype))]
    fn finish<'py>(
        &mut self,
        py: Python<'py>,
        reduction: Option<&Bound<'py, PyAny>>,
        dtype: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = match reduction {
            None => self.reduction,
            Some(r) => reduction_arg(r, "Fold.finish")?,
        };
        if !core::can_finish_with(self.reduction, r) {
            let (built, asked) = (
                core::reduction_name(self.reduction),
                core::reduction_name(r),
            );
            return Err(patch_error(format!(
                "Fold.finish: reduction='{asked}' on a fold built with reduction='{built}': \
                 choose it when building the fold, Fold(..., reduction='{asked}') (a 'mean' \
                 or 'sum' fold finishes with either; 'max', 'min' and 'last' only with their \
                 own)"
            )));
        }
        let (inner, built) = (&mut self.inner, self.reduction);
        let out = match dtype {
            "float32" => run(py, || core::fold_finish::<f32>(inner, built, r))
                .map(|a| a.into_pyarray(py).into_any()),
            "float64" => run(py, || core::fold_finish::<f64>(inner, built, r))
                .map(|a| a.into_pyarray(py).into_any()),
            other => {
                return Err(patch_error(format!(
                    "Fold.finish: dtype must be float32 or float64, not {other}"
                )))
            }
        };
        out.map_err(|e| named(py, e, "Fold.finish"))
    }

    /// One value (`values` of shape `(n,)`) or vector (`(n, k)`) per
    /// window, float32 or float64, written at each window's `anchor`.
    fn place<'py>(
        &self,
        py: Python<'py>,
        values: &Bound<'py, PyAny>,
        anchor: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = anchor
            .extract::<String>()
            .ok()
            .and_then(|a| core::anchor(&a))
            .ok_or_else(|| {
                patch_error(format!(
                    "Fold.place: anchor must be 'centre' (or 'center') or 'origin', not {}",
                    describe(anchor)
                ))
            })?;
        let inner = &self.inner;
        let n = inner.len();
        let count = |found: usize| {
            (found != n).then(|| {
                patch_error(format!(
                    "Fold.place: values has {found} rows, but the fold has {n} windows (one \
                     value or vector per window)"
                ))
            })
        };
        macro_rules! place {
            ($F:ty) => {
                if let Ok(v) = values.extract::<PyReadonlyArray1<'py, $F>>() {
                    let v = v.as_array();
                    if let Some(e) = count(v.len()) {
                        return Err(e);
                    }
                    return run(py, || core::fold_place(inner, v, a))
                        .map(|a| a.into_pyarray(py).into_any())
                        .map_err(|e| named(py, e, "Fold.place"));
                }
                if let Ok(v) = values.extract::<PyReadonlyArray2<'py, $F>>() {
                    let v = v.as_array();
                    if let Some(e) = count(v.nrows()) {
                        return Err(e);
                    }
                    return run(py, || core::fold_place_vectors(inner, v, a))
                        .map(|a| a.into_pyarray(py).into_any())
                        .map_err(|e| named(py, e, "Fold.place"));
                }
            };
        }
        place!(f32);
        place!(f64);
        Err(patch_error(format!(
            "Fold.place: values must be a float32 or float64 array of shape (n,) or (n, k), \
             not {}",
            describe(values)
        )))
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
    m.add("MAX_NDIM", MAX_NDIM)?;
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
    m.add_class::<Geometry>()?;
    m.add_class::<Chunks>()?;
    m.add_class::<Shuffled>()?;
    m.add_class::<PyFold>()?;
    m.add_function(wrap_pyfunction!(merge_moments, m)?)?;
    m.add_function(wrap_pyfunction!(padded, m)?)?;
    m.add_function(wrap_pyfunction!(padding, m)?)?;
    m.add_function(wrap_pyfunction!(pad_runs, m)?)?;
    m.add_function(wrap_pyfunction!(snapshot, m)?)?;
    m.add_function(wrap_pyfunction!(reconstruct_py, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    Ok(())
}

//! Shared test helpers: an independent nested-loop reference and source
//! arrays in every layout.
#![allow(dead_code)]

use ndarray::{Array, ArrayD, ArrayView, ArrayViewD, Axis, IxDyn, ShapeBuilder, Slice};
use proptest::prelude::*;

/// The reference: every patch as a row, computed with plain nested loops
/// over explicit indices, knowing nothing of the crate's geometry code.
///
/// Returns `(grid, rows)`, or `None` when some axis has no position.
pub fn reference<A: Copy>(
    a: &ArrayViewD<'_, A>,
    patch: &[usize],
    step: &[usize],
    dil: &[usize],
) -> Option<(Vec<usize>, Vec<Vec<A>>)> {
    let nd = a.ndim();
    // Positions per axis: origins o = 0, s, 2s, ... whose last element fits.
    let mut origins: Vec<Vec<usize>> = Vec::new();
    for k in 0..nd {
        let os: Vec<usize> = (0..a.shape()[k])
            .step_by(step[k])
            .filter(|&o| o + dil[k] * (patch[k] - 1) < a.shape()[k])
            .collect();
        if os.is_empty() {
            return None;
        }
        origins.push(os);
    }
    let grid: Vec<usize> = origins.iter().map(|o| o.len()).collect();
    let mut rows = Vec::new();
    for gi in indices(&grid) {
        let mut row = Vec::new();
        for pj in indices(patch) {
            let idx: Vec<usize> = (0..nd)
                .map(|k| origins[k][gi[k]] + pj[k] * dil[k])
                .collect();
            row.push(a[IxDyn(&idx)]);
        }
        rows.push(row);
    }
    Some((grid, rows))
}

/// All indices of a shape in row-major order.
pub fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for &n in shape {
        let mut next = Vec::new();
        for prefix in &out {
            for i in 0..n {
                let mut v = prefix.clone();
                v.push(i);
                next.push(v);
            }
        }
        out = next;
    }
    out
}

/// How a source array's memory is laid out.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// Column-major base array.
    pub fortran: bool,
    /// Take every second element of a larger base (stride 2, offset 1).
    pub sliced: bool,
    /// Axes read backwards (negative stride).
    pub reversed: Vec<bool>,
    /// Axes broadcast from length 1 (zero stride).
    pub broadcast: Vec<bool>,
}

/// Owns the memory of a source array of a given layout (`i32` values by
/// default; [`Source::map`] gives the same layout with other elements).
pub struct Source<T = i32> {
    base: ArrayD<T>,
    shape: Vec<usize>,
    layout: Layout,
}

impl Source<i32> {
    /// A source of logical `shape` in `layout`, with distinct values where
    /// not broadcast.
    pub fn new(shape: &[usize], layout: Layout) -> Self {
        let nd = shape.len();
        let bshape: Vec<usize> = (0..nd)
            .map(|k| {
                if layout.broadcast.get(k).copied().unwrap_or(false) {
                    1
                } else if layout.sliced {
                    2 * shape[k] + 1
                } else {
                    shape[k]
                }
            })
            .collect();
        let n: usize = bshape.iter().product();
        let values: Vec<i32> = (0..n as i32).map(|x| x * 7 + 3).collect();
        let base = if layout.fortran {
            Array::from_shape_vec(IxDyn(&bshape).f(), values).unwrap()
        } else {
            Array::from_shape_vec(IxDyn(&bshape), values).unwrap()
        };
        Source {
            base,
            shape: shape.to_vec(),
            layout,
        }
    }
}

impl<T> Source<T> {
    /// The same logical array and memory layout with every element mapped
    /// by `f` (a `u8` or `f64` source of the same strides).
    pub fn map<U>(&self, f: impl Fn(&T) -> U) -> Source<U> {
        let base = self.base.map(f);
        // `map` keeps the memory order of a contiguous base (C or F).
        assert_eq!(base.strides(), self.base.strides());
        Source {
            base,
            shape: self.shape.clone(),
            layout: self.layout.clone(),
        }
    }

    /// The source view.
    pub fn view(&self) -> ArrayViewD<'_, T> {
        // Broadcast first (zero strides on the broadcast axes), then slice
        // and reverse the others.
        let bcast = |k: usize| self.layout.broadcast.get(k).copied().unwrap_or(false);
        let wide: Vec<usize> = (0..self.shape.len())
            .map(|k| {
                if bcast(k) {
                    self.shape[k]
                } else {
                    self.base.shape()[k]
                }
            })
            .collect();
        let mut v: ArrayView<'_, T, IxDyn> = self.base.broadcast(IxDyn(&wide)).unwrap();
        if self.layout.sliced {
            v.slice_each_axis_inplace(|ax| {
                if bcast(ax.axis.index()) {
                    Slice::from(..)
                } else {
                    Slice::new(1, None, 2)
                }
            });
        }
        for (k, &r) in self.layout.reversed.iter().enumerate() {
            if r {
                v.invert_axis(Axis(k));
            }
        }
        assert_eq!(v.shape(), &self.shape[..]);
        v
    }
}

/// Random layouts of `ndim` axes: C or F, sliced or not, each axis reversed
/// or not, and broadcast with probability `broadcast`.
pub fn layouts(ndim: usize, broadcast: f64) -> impl Strategy<Value = Layout> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(any::<bool>(), ndim),
        prop::collection::vec(prop::bool::weighted(broadcast), ndim),
    )
        .prop_map(|(fortran, sliced, reversed, broadcast)| Layout {
            fortran,
            sliced,
            reversed,
            broadcast,
        })
}

/// One random case: shape, patch, step, dilation, layout.
#[derive(Clone, Debug)]
pub struct Case {
    pub shape: Vec<usize>,
    pub patch: Vec<usize>,
    pub step: Vec<usize>,
    pub dil: Vec<usize>,
    pub layout: Layout,
}

/// Random cases of `ndim` axes: lengths `1..=len`, steps `1..=step`,
/// dilations `1..=dil`, and a patch that fits on every axis; any layout
/// (a broadcast axis one time in five).
pub fn case(
    ndim: std::ops::RangeInclusive<usize>,
    len: usize,
    step: usize,
    dil: usize,
) -> impl Strategy<Value = Case> {
    let axis = (1..=len, 1..=step, 1..=dil).prop_flat_map(|(n, s, d)| {
        // patch p with extent d*(p-1)+1 <= n
        let pmax = (n - 1) / d + 1;
        (Just(n), 1..=pmax, Just(s), Just(d))
    });
    ndim.prop_flat_map(move |nd| {
        (
            prop::collection::vec(axis.clone(), nd),
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(any::<bool>(), nd),
            prop::collection::vec(prop::bool::weighted(0.2), nd),
        )
    })
    .prop_map(|(axes, fortran, sliced, reversed, broadcast)| Case {
        shape: axes.iter().map(|a| a.0).collect(),
        patch: axes.iter().map(|a| a.1).collect(),
        step: axes.iter().map(|a| a.2).collect(),
        dil: axes.iter().map(|a| a.3).collect(),
        layout: Layout {
            fortran,
            sliced,
            reversed,
            broadcast,
        },
    })
}

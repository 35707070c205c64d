//! Random geometry (ndim, shape, patch, step, dilation), random source
//! layouts (sliced, reversed, broadcast, transposed) and random row ranges:
//! every flattener and visitor against a naive oracle, and every `try_`
//! path must return, never panic or abort.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ndarray::{Array2, ArrayD, ArrayViewD, Axis, Dimension, IxDyn, Slice};
use ndarray_patches::prelude::*;
use ndarray_patches::Edge;

#[derive(Arbitrary, Debug)]
struct Case {
    dims: Vec<(u8, u8, u8, u8)>, // (len, patch, step, dilation) per axis
    layout: Vec<u8>,             // per axis: 0 plain, 1 reversed, 2 sliced by 2, 3 broadcast
    transpose: bool,
    range: (u16, u16),
    chunk: u8,
    shift: bool, // Edge::Shift: one more window per axis, moved back to the end
}

/// Row `r` of the patch matrix, by nested loops over explicit indices.
fn oracle(a: &ArrayViewD<'_, i32>, patch: &[usize], step: &[usize], dil: &[usize], shift: bool) -> Option<(Vec<usize>, Vec<Vec<i32>>)> {
    let nd = a.ndim();
    let mut origins: Vec<Vec<usize>> = Vec::new();
    for k in 0..nd {
        let (n, e) = (a.shape()[k], dil[k] * (patch[k] - 1) + 1);
        if e > n {
            return None;
        }
        let mut o: Vec<usize> = (0..).map(|i| i * step[k]).take_while(|&o| o + e <= n).collect();
        if shift && o.last().unwrap() + e < n {
            o.push(n - e);
        }
        origins.push(o);
    }
    let grid: Vec<usize> = origins.iter().map(Vec::len).collect();
    let count = |s: &[usize]| s.iter().product::<usize>();
    let unravel = |mut i: usize, s: &[usize]| {
        let mut idx = vec![0; s.len()];
        for k in (0..s.len()).rev() {
            idx[k] = i % s[k];
            i /= s[k];
        }
        idx
    };
    let rows = (0..count(&grid))
        .map(|r| {
            let g = unravel(r, &grid);
            (0..count(patch))
                .map(|j| {
                    let p = unravel(j, patch);
                    let idx: Vec<usize> = (0..nd).map(|k| origins[k][g[k]] + p[k] * dil[k]).collect();
                    a[IxDyn(&idx)]
                })
                .collect()
        })
        .collect();
    Some((grid, rows))
}

fuzz_target!(|case: Case| {
    let dims: Vec<_> = case.dims.iter().take(4).collect();
    let shape: Vec<usize> = dims.iter().map(|d| (d.0 % 9) as usize).collect();
    let patch: Vec<usize> = dims.iter().map(|d| (d.1 % 6) as usize).collect();
    let step: Vec<usize> = dims.iter().map(|d| (d.2 % 5) as usize).collect();
    let dil: Vec<usize> = dims.iter().map(|d| (d.3 % 4) as usize).collect();
    if shape.iter().product::<usize>() > 4096 {
        return;
    }
    // A source twice as large on sliced axes, one element on broadcast axes.
    let layout = |k: usize| case.layout.get(k).copied().unwrap_or(0) % 4;
    let base_shape: Vec<usize> = (0..shape.len())
        .map(|k| match layout(k) {
            2 => shape[k] * 2,
            3 => 1,
            _ => shape[k],
        })
        .collect();
    let base = ArrayD::from_shape_fn(IxDyn(&base_shape), |i| {
        i.as_array_view().iter().fold(7i32, |h, &x| h.wrapping_mul(31).wrapping_add(x as i32))
    });
    let mut v = base.view();
    for k in 0..shape.len() {
        match layout(k) {
            1 => v.invert_axis(Axis(k)),
            2 => v.slice_axis_inplace(Axis(k), Slice::new(0, None, 2)),
            _ => {}
        }
    }
    let v = match v.broadcast(IxDyn(&shape)) {
        Some(b) => b,
        None => return,
    };
    let v = if case.transpose { v.reversed_axes() } else { v };
    let (patch, step, dil) = if case.transpose {
        let r = |x: &Vec<usize>| x.iter().rev().copied().collect::<Vec<_>>();
        (r(&patch), r(&step), r(&dil))
    } else {
        (patch, step, dil)
    };

    // Every try_ returns; errors exactly where the oracle says.
    let p = v
        .view()
        .try_into_patches(IxDyn(&patch))
        .and_then(|p| p.try_step(IxDyn(&step)))
        .and_then(|p| p.try_dilation(IxDyn(&dil)))
        .map(|p| if case.shift { p.edge(Edge::Shift) } else { p });
    let valid = patch.iter().chain(&step).chain(&dil).all(|&x| x > 0);
    let expected = if valid { oracle(&v, &patch, &step, &dil, case.shift) } else { None };
    let p = match (p, expected) {
        (Ok(p), Some((grid, rows))) => {
            assert_eq!(p.grid().slice(), &grid[..]);
            (p, rows)
        }
        (Err(_), None) => return,
        (p, e) => panic!("crate {:?} vs oracle {:?}", p.map(|p| p.grid()), e.map(|e| e.0)),
    };
    let (p, rows) = p;
    let len = rows.len();
    let pl = p.patch_len();

    // Whole matrix, converted matrix, a row range, chunks and visitors.
    let m = p.try_to_matrix().expect("small");
    for (r, row) in rows.iter().enumerate() {
        assert_eq!(m.row(r).to_vec(), *row, "row {r}");
    }
    let mf = p.cast::<f64>().try_to_matrix().expect("small");
    assert_eq!(mf, m.mapv(f64::from));
    let (a, b) = (case.range.0 as usize % (len + 1), case.range.1 as usize % (len + 1));
    let (a, b) = (a.min(b), a.max(b));
    let sub = p.rows(a..b);
    assert_eq!(sub.try_to_matrix().expect("small"), m.slice(ndarray::s![a..b, ..]));
    let chunk = (case.chunk as usize % 7) + 1;
    let mut seen = Array2::<i32>::zeros((b - a, pl));
    sub.for_each_chunk(chunk, |start, c| {
        seen.slice_mut(ndarray::s![start - a..start - a + c.nrows(), ..]).assign(&c);
    });
    assert_eq!(seen, m.slice(ndarray::s![a..b, ..]));
    for (start, c) in sub.chunks(chunk) {
        assert_eq!(c, m.slice(ndarray::s![start..start + c.nrows(), ..]));
    }
    let sums: ndarray::Array1<i64> = sub
        .map_elems(i64::from)
        .par_map_chunks(chunk, |c| c.sum_axis(Axis(1)));
    let want: Vec<i64> = (a..b).map(|r| rows[r].iter().map(|&x| i64::from(x)).sum()).collect();
    assert_eq!(sums.to_vec(), want);
    let mut out = Array2::<i32>::zeros((b - a, pl));
    p.try_write_rows(a, out.view_mut()).expect("in range");
    assert_eq!(out, m.slice(ndarray::s![a..b, ..]));
    assert!(p.try_write_rows(len, Array2::<i32>::zeros((1, pl)).view_mut()).is_err());
});

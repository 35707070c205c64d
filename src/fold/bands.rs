//! Bands: a fold's padded array cut along one axis into parts that
//! parallel tasks own (`&mut`) while they add the rows reaching them.
//!
//! Every element lies in exactly one band, and each band adds its rows in
//! row order, so whatever the number of bands, every element receives its
//! contributions in the same order as on one thread: the result is the
//! same to the bit.

use std::ops::Range;

use ndarray::{Axis, Dimension};

use super::reduce::{Acc, AccMut};
use crate::geometry::{axes, Geometry};

/// Part of the padded array, `lo..hi` on the band axis, owned by one task
/// while rows are added.
pub(super) struct Band<'a, D: Dimension> {
    pub(super) acc: AccMut<'a, D>,
    pub(super) lo: usize,
    pub(super) hi: usize,
}

/// Which axis the padded array is cut along, for rows `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cut {
    /// The first axis on which the rows' grid positions differ: the rows
    /// reaching a band are then one contiguous range, so a task can
    /// extract just those ([`Rows::fold_into`](crate::Rows::fold_into)).
    RowRanges,
    /// The axis on which the rows span the most grid positions (across
    /// the line for rows of one grid line): the most even bands for rows
    /// already in memory ([`Fold::add_rows`](super::Fold::add_rows)), at
    /// the cost of each band scanning every row that may reach it.
    WidestSpan,
}

/// How the bands were cut: what a task needs, besides its band, to find
/// and clip the rows that reach it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Layout {
    /// The band axis (`None`: one band, the whole array).
    pub(super) axis: Option<usize>,
    /// `(offset, rows per position)` when the rows reaching a band are one
    /// contiguous range (the axes before the band axis have one grid
    /// position over the rows): the first row of the grid line the rows
    /// start on, and the rows per grid position on the band axis.
    lines: Option<(usize, usize)>,
}

impl Layout {
    /// The rows of `rows` that may reach `band`: exactly those whose
    /// windows reach it if the rows reaching a band are contiguous, else
    /// all of them.
    pub(super) fn rows_of<D: Dimension>(
        &self,
        geom: &Geometry<D>,
        band: &Band<'_, D>,
        rows: &Range<usize>,
    ) -> Range<usize> {
        let (Some(k), Some((offset, per))) = (self.axis, self.lines) else {
            return rows.clone();
        };
        let reaching = geom.axis_windows_reaching(k, band.lo, band.hi);
        let start = (offset + reaching.start * per).clamp(rows.start, rows.end);
        start..(offset + reaching.end * per).clamp(start, rows.end)
    }
}

/// Cuts `acc` into at most `n` bands for rows `rows`, as `cut` says, at
/// grid positions (a band starts where the first window of its positions
/// starts). Bands cover the whole array; the first starts at 0 and the
/// last ends at the padded length. One band (the whole array, no axis) if
/// `n <= 1` or the rows have one grid position.
pub(super) fn cut<'a, D: Dimension>(
    geom: &Geometry<D>,
    acc: &'a mut Acc<D>,
    n: usize,
    rows: &Range<usize>,
    cut: Cut,
) -> (Layout, Vec<Band<'a, D>>) {
    let whole = acc.view_mut();
    let (first, last) = match rows.len() {
        0 | 1 => (None, None),
        _ => (
            Some(geom.grid_index(rows.start)),
            Some(geom.grid_index(rows.end - 1)),
        ),
    };
    let k0 = first
        .as_ref()
        .zip(last.as_ref())
        .and_then(|(f, l)| (0..geom.ndim()).find(|&k| f[k] != l[k]));
    let (Some(k0), Some(first), Some(last), true) = (k0, first, last, n > 1) else {
        let one = Band {
            acc: whole,
            lo: 0,
            hi: 0,
        };
        let layout = Layout {
            axis: None,
            lines: None,
        };
        return (layout, vec![one]);
    };
    let grid = geom.grid();
    // Grid positions the rows span on an axis: from first to last on k0,
    // (up to) all of them after it.
    let span = |k: usize| {
        if k == k0 {
            last[k] - first[k] + 1
        } else {
            grid[k]
        }
    };
    let k = match cut {
        Cut::RowRanges => k0,
        Cut::WidestSpan => (k0..geom.ndim())
            .max_by_key(|&k| (span(k), std::cmp::Reverse(k)))
            .expect("k0 is an axis"),
    };
    let (p0, positions) = (if k == k0 { first[k] } else { 0 }, span(k));
    let len = geom.shape()[k];
    let n = n.min(positions);
    let mut bands = Vec::with_capacity(n);
    let (mut rest, mut lo) = (whole, 0);
    for t in 1..n {
        // A window's start: < len, and increasing in t.
        let hi = geom.axis_origin(k, p0 + t * positions / n);
        let (band, tail) = rest.split_at(Axis(k), hi - lo);
        bands.push(Band { acc: band, lo, hi });
        (rest, lo) = (tail, hi);
    }
    bands.push(Band {
        acc: rest,
        lo,
        hi: len,
    });
    let lines = (k == k0).then(|| {
        let per: usize = axes(grid)[k + 1..].iter().product();
        let line = per * grid[k];
        (rows.start - rows.start % line, per)
    });
    let layout = Layout {
        axis: Some(k),
        lines,
    };
    (layout, bands)
}

//! The reductions a [`Fold`] finishes with, their per-element
//! accumulators (and a band's view of them), and the finished image.

use ndarray::{Array, ArrayView, ArrayViewMut, Axis, AxisDescription, Dimension, Slice, Zip};

use super::Fold;
use crate::error::PatchError;
use crate::flatten::try_filled;
use crate::scalar::Real;

/// How a [`Fold`] combines the contributions to each element, chosen
/// with [`Fold::reducing`] before rows are added (the default is
/// [`Mean`](Self::Mean)).
///
/// `Sum` and `Mean` share one accumulator, so a fold holding rows may
/// still switch between them (clone it to get both). Window weights
/// ([`Fold::weighted`]) apply to `Sum` and `Mean` only.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use ndarray_patches::{Edge, Fold, Reduction, Window};
///
/// let rows = array![[1.0, 1.0], [2.0, 2.0]];       // two patches of 2 on 3 elements
/// let mut f = Fold::new(3, &Window::new(2), Edge::Valid);
/// f.add_rows(0, &rows);
/// let sum = f.clone().reducing(Reduction::Sum).finish::<f64>().image;
/// let mean = f.finish::<f64>().image;                 // Mean: the default
/// assert_eq!((sum.to_vec(), mean.to_vec()), (vec![1.0, 3.0, 2.0], vec![1.0, 1.5, 2.0]));
///
/// // The largest contribution, and the later window's.
/// let mut max = Fold::new(3, &Window::new(2), Edge::Valid).reducing(Reduction::Max);
/// max.add_rows(0, &array![[1.0, 5.0], [2.0, 2.0]]);
/// assert_eq!(max.finish::<f64>().image.to_vec(), vec![1.0, 5.0, 2.0]);
/// let mut last = Fold::new(3, &Window::new(2), Edge::Valid).reducing(Reduction::Last);
/// last.add_rows(1, &array![[2.0, 2.0]]);            // row 1 first: the order of calls
/// last.add_rows(0, &array![[1.0, 5.0]]);            // does not matter, row 1 wins
/// assert_eq!(last.finish::<f64>().image.to_vec(), vec![1.0, 2.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reduction {
    /// The weighted sum of the contributions (torch's `fold`).
    Sum,
    /// The weighted mean of the contributions: overlaps averaged
    /// (scikit-learn's `reconstruct_from_patches_2d`), or blended by the
    /// window weights. The default.
    Mean,
    /// The largest contribution (a NaN counts only where every
    /// contribution is NaN).
    Max,
    /// The smallest contribution (a NaN counts only where every
    /// contribution is NaN).
    Min,
    /// The contribution of the covering window with the highest row index
    /// (later windows overwrite earlier ones, whatever the order in which
    /// rows were added; a row added twice keeps its later call's values).
    Last,
}

impl Reduction {
    pub(super) fn name(self) -> &'static str {
        match self {
            Reduction::Sum => "Sum",
            Reduction::Mean => "Mean",
            Reduction::Max => "Max",
            Reduction::Min => "Min",
            Reduction::Last => "Last",
        }
    }

    /// `true` for the reductions that blend contributions (and so take
    /// window weights): `Sum` and `Mean`.
    pub(super) fn is_additive(self) -> bool {
        matches!(self, Reduction::Sum | Reduction::Mean)
    }

    /// `true` if `self` and `other` accumulate into the same arrays.
    pub(super) fn shares_accumulator(self, other: Reduction) -> bool {
        self == other || (self.is_additive() && other.is_additive())
    }
}

/// The result of a [`Fold`]: the image, and which elements no patch
/// covered (those are 0).
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use ndarray_patches::{Edge, Fold, Window};
///
/// let mut f = Fold::new(5, &Window::new(2).step(3), Edge::Valid);  // covers 0,1,3,4
/// f.add_rows(0, &array![[1.0f32, 1.0], [1.0, 1.0]]);
/// let out = f.finish::<f32>();
/// assert_eq!(out.uncovered, 1);
/// assert_eq!(out.covered.to_vec(), vec![true, true, false, true, true]);
/// ```
#[derive(Clone, Debug)]
pub struct Folded<F, D: Dimension> {
    /// The reconstructed image, of the source's shape.
    pub image: Array<F, D>,
    /// Whether each element was covered by at least one patch (with a
    /// positive weight).
    pub covered: Array<bool, D>,
    /// The number of elements not covered.
    pub uncovered: usize,
}

/// The per-element state of a [`Fold`], over the padded array.
#[derive(Clone)]
pub(super) enum Acc<D: Dimension> {
    /// `Sum` and `Mean`: the weighted sum and the total weight.
    Add {
        sum: Array<f64, D>,
        weight: Array<f64, D>,
    },
    /// `Max` (`max`) or `Min`: the running extreme (NaN until a number
    /// arrives) and whether any contribution arrived.
    Extreme {
        max: bool,
        value: Array<f64, D>,
        seen: Array<bool, D>,
    },
    /// `Last`: the latest writer's value and its row plus one (0: none).
    Last {
        value: Array<f64, D>,
        writer: Array<usize, D>,
    },
}

impl<D: Dimension> Acc<D> {
    /// A fresh accumulator of `shape` for `reduction`.
    pub(super) fn try_new(reduction: Reduction, shape: &D) -> Result<Self, PatchError> {
        let f64s = |x, what| try_filled(shape.clone(), x, what);
        Ok(match reduction {
            Reduction::Sum | Reduction::Mean => Acc::Add {
                sum: f64s(0.0, "the fold's sums")?,
                weight: f64s(0.0, "the fold's weights")?,
            },
            Reduction::Max | Reduction::Min => Acc::Extreme {
                max: reduction == Reduction::Max,
                value: f64s(f64::NAN, "the fold's extremes")?,
                seen: try_filled(shape.clone(), false, "the fold's coverage")?,
            },
            Reduction::Last => Acc::Last {
                value: f64s(0.0, "the fold's values")?,
                writer: try_filled(shape.clone(), 0, "the fold's writers")?,
            },
        })
    }

    /// The whole accumulator as one (mutable) band.
    pub(super) fn view_mut(&mut self) -> AccMut<'_, D> {
        match self {
            Acc::Add { sum, weight } => AccMut::Add(sum.view_mut(), weight.view_mut()),
            Acc::Extreme { max, value, seen } => {
                AccMut::Extreme(*max, value.view_mut(), seen.view_mut())
            }
            Acc::Last { value, writer } => AccMut::Last(value.view_mut(), writer.view_mut()),
        }
    }
}

/// A mutable view of part of an [`Acc`] (a band of it).
pub(super) enum AccMut<'a, D: Dimension> {
    Add(ArrayViewMut<'a, f64, D>, ArrayViewMut<'a, f64, D>),
    Extreme(bool, ArrayViewMut<'a, f64, D>, ArrayViewMut<'a, bool, D>),
    Last(ArrayViewMut<'a, f64, D>, ArrayViewMut<'a, usize, D>),
}

impl<D: Dimension> AccMut<'_, D> {
    /// Splits at index `i` of `axis`: the elements before it, and the rest.
    pub(super) fn split_at(self, axis: Axis, i: usize) -> (Self, Self) {
        match self {
            AccMut::Add(s, w) => {
                let ((s0, s1), (w0, w1)) = (s.split_at(axis, i), w.split_at(axis, i));
                (AccMut::Add(s0, w0), AccMut::Add(s1, w1))
            }
            AccMut::Extreme(max, v, c) => {
                let ((v0, v1), (c0, c1)) = (v.split_at(axis, i), c.split_at(axis, i));
                (AccMut::Extreme(max, v0, c0), AccMut::Extreme(max, v1, c1))
            }
            AccMut::Last(v, r) => {
                let ((v0, v1), (r0, r1)) = (v.split_at(axis, i), r.split_at(axis, i));
                (AccMut::Last(v0, r0), AccMut::Last(v1, r1))
            }
        }
    }

    /// Accumulates `patch` (of row `row`, times the window weights `pw`
    /// for the additive accumulator) into the elements `region` selects,
    /// which has the patch's shape.
    pub(super) fn accumulate<F: Real>(
        &mut self,
        region: &impl Fn(AxisDescription) -> Slice,
        patch: &ArrayView<'_, F, D>,
        pw: Option<&ArrayView<'_, f64, D>>,
        row: usize,
    ) {
        match self {
            AccMut::Add(sum, weight) => {
                let zip = Zip::from(sum.slice_each_axis_mut(region))
                    .and(weight.slice_each_axis_mut(region))
                    .and(patch);
                match pw {
                    None => zip.for_each(|s, w, &x| {
                        *s += x.to_f64();
                        *w += 1.0;
                    }),
                    Some(pw) => zip.and(pw).for_each(|s, w, &x, &c| {
                        *s += c * x.to_f64();
                        *w += c;
                    }),
                }
            }
            AccMut::Extreme(max, value, seen) => {
                let zip = Zip::from(value.slice_each_axis_mut(region))
                    .and(seen.slice_each_axis_mut(region))
                    .and(patch);
                // f64::max and min ignore a NaN operand: the running value
                // starts as NaN and becomes the first number.
                if *max {
                    zip.for_each(|v, c, &x| {
                        *v = v.max(x.to_f64());
                        *c = true;
                    });
                } else {
                    zip.for_each(|v, c, &x| {
                        *v = v.min(x.to_f64());
                        *c = true;
                    });
                }
            }
            AccMut::Last(value, writer) => {
                // Row + 1 (0 is "none"; rows are < len <= isize::MAX).
                let r1 = row + 1;
                Zip::from(value.slice_each_axis_mut(region))
                    .and(writer.slice_each_axis_mut(region))
                    .and(patch)
                    .for_each(|v, w, &x| {
                        if r1 >= *w {
                            *v = x.to_f64();
                            *w = r1;
                        }
                    });
            }
        }
    }
}

impl<D: Dimension> Fold<D> {
    /// The image: the contributions accumulated so far, reduced as
    /// [`reducing`](Self::reducing) chose (the mean by default), cropped
    /// to the source's shape. Elements that no patch covered (with a
    /// positive weight) are 0 and reported. To keep adding rows
    /// afterwards, see [`try_image`](Self::try_image).
    ///
    /// # Panics
    ///
    /// If the image cannot be allocated; see
    /// [`try_finish`](Self::try_finish).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::{Edge, Fold, Window};
    ///
    /// let img = Array2::from_shape_fn((6, 6), |(i, j)| (i + j) as f32);
    /// let p = img.patches((3, 3));
    /// let mut f = Fold::new((6, 6), &p.window(), Edge::Valid);
    /// f.add_rows(0, &p.to_matrix());
    /// assert_eq!(f.finish::<f32>().image, img);
    /// ```
    #[track_caller]
    pub fn finish<F: Real>(self) -> Folded<F, D> {
        crate::error::unwrap_or_panic(self.try_finish())
    }

    /// Like [`finish`](Self::finish), returning an error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// [`PatchError::OutOfMemory`] if the image or its coverage mask
    /// cannot be allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Edge, Fold, Window};
    ///
    /// // No rows yet: nothing is covered.
    /// let out = Fold::new(5, &Window::new(2), Edge::Valid).try_finish::<f64>().unwrap();
    /// assert_eq!((out.image.to_vec(), out.uncovered), (vec![0.0; 5], 5));
    /// ```
    pub fn try_finish<F: Real>(self) -> Result<Folded<F, D>, PatchError> {
        self.try_image()
    }

    /// The image so far, as [`finish`](Self::finish) makes it, without
    /// consuming the fold: more rows may follow. (A clone of the fold and
    /// its `finish` would copy the accumulators first.)
    ///
    /// # Errors
    ///
    /// [`PatchError::OutOfMemory`] if the image or its coverage mask
    /// cannot be allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use ndarray_patches::{Edge, Fold, Window};
    ///
    /// let mut f = Fold::new(4, &Window::new(2), Edge::Valid);
    /// f.add_rows(0, &array![[1.0, 1.0]]);
    /// assert_eq!(f.try_image::<f64>().unwrap().uncovered, 2);
    /// f.add_rows(1, &array![[3.0, 3.0], [5.0, 5.0]]);
    /// assert_eq!(f.try_image::<f64>().unwrap().image.to_vec(), vec![1.0, 2.0, 4.0, 5.0]);
    /// ```
    pub fn try_image<F: Real>(&self) -> Result<Folded<F, D>, PatchError> {
        let shape = &self.source_shape;
        let mut image = try_filled(shape.clone(), F::zero(), "the folded image")?;
        let mut covered = try_filled(shape.clone(), false, "the folded image's coverage")?;
        let before = &self.before;
        let crop = |ax: AxisDescription| {
            let k = ax.axis.index();
            Slice::from(before[k]..before[k] + shape[k])
        };
        let zip = Zip::from(&mut image).and(&mut covered);
        match &self.acc {
            None => {}
            Some(Acc::Add { sum, weight }) => {
                let mean = self.reduction == Reduction::Mean;
                zip.and(sum.slice_each_axis(crop))
                    .and(weight.slice_each_axis(crop))
                    .for_each(|x, c, &s, &w| {
                        if w > 0.0 {
                            *x = F::from_f64(if mean { s / w } else { s });
                            *c = true;
                        }
                    });
            }
            Some(Acc::Extreme { value, seen, .. }) => zip
                .and(value.slice_each_axis(crop))
                .and(seen.slice_each_axis(crop))
                .for_each(|x, c, &v, &s| {
                    if s {
                        (*x, *c) = (F::from_f64(v), true);
                    }
                }),
            Some(Acc::Last { value, writer }) => zip
                .and(value.slice_each_axis(crop))
                .and(writer.slice_each_axis(crop))
                .for_each(|x, c, &v, &w| {
                    if w > 0 {
                        (*x, *c) = (F::from_f64(v), true);
                    }
                }),
        }
        let uncovered = covered.iter().filter(|&&c| !c).count();
        Ok(Folded {
            image,
            covered,
            uncovered,
        })
    }
}

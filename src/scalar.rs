//! Element types: [`Real`] (the arithmetic of the linear algebra) and
//! [`Conversion`] (what a row copy does to each element: [`AsIs`],
//! [`Cast`], [`MapElems`]). Pure types, no unsafe: the copy loops that use
//! them live in `flatten.rs`.

use std::fmt::{self, Debug};
use std::marker::PhantomData;

use ndarray::LinalgScalar;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for super::AsIs {}
    impl<B> Sealed for super::Cast<B> {}
    impl<F, B> Sealed for super::MapElems<F, B> {}
}

/// The floating-point types the linear algebra works in: `f32` and `f64`.
/// Sealed.
///
/// # Examples
///
/// ```
/// use ndarray::{Array1, Array2};
/// use ndarray_patches::prelude::*;
///
/// // A u8 image, f64 arithmetic: the rows are cast to f64 during the copy.
/// let img = Array2::from_shape_fn((6, 6), |(i, j)| (i + j) as u8);
/// let w = Array1::<f64>::ones(4);
/// let sums = img.patches((2, 2)).cast::<f64>().dot(&w);
/// assert_eq!(sums[0], 0.0 + 1.0 + 1.0 + 2.0);
/// ```
pub trait Real: LinalgScalar + Debug + Send + Sync + sealed::Sealed {
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Converts from `f64` (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
}

impl Real for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64(x: f64) -> Self {
        x as f32
    }
}

impl Real for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(x: f64) -> Self {
        x
    }
}

/// What a row copy does to each element of type `A`: the type parameter of
/// [`Rows`](crate::Rows) that [`cast`](crate::Rows::cast) and
/// [`map_elems`](crate::Rows::map_elems) set. Sealed: the implementations
/// are [`AsIs`], [`Cast`] and [`MapElems`].
///
/// # Examples
///
/// ```
/// use ndarray_patches::{AsIs, Cast, Conversion, MapElems};
///
/// assert_eq!(AsIs.convert(7u8), 7u8);
/// assert_eq!(Cast::<f32>::new().convert(7u8), 7.0f32);
/// assert_eq!(MapElems::new(|x: u8| x as f32 / 255.0).convert(255u8), 1.0f32);
/// ```
pub trait Conversion<A>: Sync + sealed::Sealed {
    /// The element type of the rows produced.
    type Output: Copy + Send + Sync;

    /// Converts one element.
    fn convert(&self, a: A) -> Self::Output;

    /// `true` only for [`AsIs`], whose `Output` is `A`: rows are then
    /// copied with `memcpy`. The copy loops rely on this (the trait is
    /// sealed, so no other implementation can claim it).
    #[doc(hidden)]
    const AS_IS: bool = false;
}

/// Elements copied as they are (the default of [`Rows`](crate::Rows)): the
/// fast path, `memcpy` for contiguous runs.
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::{AsIs, Rows};
///
/// let a = Array1::from_iter(0u8..5);
/// let p = a.patches(2);
/// let rows: Rows<'_, u8, ndarray::Ix1, AsIs> = p.rows(..);
/// assert_eq!(rows.to_matrix().row(1).to_vec(), vec![1, 2]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AsIs;

impl<A: Copy + Send + Sync> Conversion<A> for AsIs {
    type Output = A;
    #[inline(always)]
    fn convert(&self, a: A) -> A {
        a
    }
    const AS_IS: bool = true;
}

/// Elements converted with `B::from` during the copy (`u8` pixels to `f32`
/// rows, say); made by [`Rows::cast`](crate::Rows::cast).
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
///
/// let a = Array1::from_iter(0u8..4);
/// let x = a.patches(2).cast::<f32>().to_matrix();
/// assert_eq!(x.row(2).to_vec(), vec![2.0f32, 3.0]);
/// ```
pub struct Cast<B>(PhantomData<fn() -> B>);

impl<B> Cast<B> {
    /// The conversion to `B`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Cast, Conversion};
    /// assert_eq!(Cast::<u32>::new().convert(3u8), 3u32);
    /// ```
    pub fn new() -> Self {
        Cast(PhantomData)
    }
}

impl<B> Default for Cast<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B> Clone for Cast<B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B> Copy for Cast<B> {}

impl<B> Debug for Cast<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cast<{}>", std::any::type_name::<B>())
    }
}

impl<A, B: From<A> + Copy + Send + Sync> Conversion<A> for Cast<B> {
    type Output = B;
    #[inline(always)]
    fn convert(&self, a: A) -> B {
        B::from(a)
    }
}

/// Elements converted by a closure during the copy: normalisation
/// (`|x: u8| x as f32 / 255.0`), or conversions `From` does not offer
/// (`f64` to `f32`); made by [`Rows::map_elems`](crate::Rows::map_elems).
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use ndarray_patches::prelude::*;
///
/// let a = Array1::from_vec(vec![0.5f64, 1.5, 2.5]);
/// let x = a.patches(2).map_elems(|v: f64| v as f32).to_matrix();
/// assert_eq!(x.row(1).to_vec(), vec![1.5f32, 2.5]);
/// ```
pub struct MapElems<F, B> {
    f: F,
    _out: PhantomData<fn() -> B>,
}

impl<F, B> MapElems<F, B> {
    /// The conversion by `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray_patches::{Conversion, MapElems};
    /// assert_eq!(MapElems::new(|x: i16| x.unsigned_abs()).convert(-3i16), 3u16);
    /// ```
    pub fn new<A>(f: F) -> Self
    where
        F: Fn(A) -> B,
    {
        MapElems {
            f,
            _out: PhantomData,
        }
    }
}

impl<F: Clone, B> Clone for MapElems<F, B> {
    fn clone(&self) -> Self {
        MapElems {
            f: self.f.clone(),
            _out: PhantomData,
        }
    }
}

impl<F, B> Debug for MapElems<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapElems<{}>", std::any::type_name::<B>())
    }
}

impl<A, B: Copy + Send + Sync, F: Fn(A) -> B + Sync> Conversion<A> for MapElems<F, B> {
    type Output = B;
    #[inline(always)]
    fn convert(&self, a: A) -> B {
        (self.f)(a)
    }
}

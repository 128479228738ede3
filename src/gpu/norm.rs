//! RMSNorm and LayerNorm over rows. CPU twins: [`crate::reference::norm`].

use bytemuck::{Pod, Zeroable};

use super::buffer::GpuTensor;
use super::context::{GpuContext, GpuError};
use super::kernel::{grid_1d, Dispatch};
use super::set::KernelSet;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct NormParams {
    rows: u32,
    cols: u32,
    extra: u32,
    eps: f32,
}

/// `y[first..first+rows] = rms_norm(x[first..first+rows]) * weight`, rows of `cols`.
pub fn rms_norm(
    ctx: &GpuContext,
    k: &KernelSet,
    x: &GpuTensor,
    y: &GpuTensor,
    weight: &GpuTensor,
    (first, rows, cols): (usize, usize, usize),
    eps: f32,
) -> Result<Dispatch, GpuError> {
    if (first + rows) * cols > x.len.min(y.len) || weight.len != cols {
        return Err(GpuError::Shape(format!(
            "rms_norm: rows {first}+{rows} x {cols} vs buffers {}/{} and weight {}",
            x.len, y.len, weight.len
        )));
    }
    let p = NormParams { rows: rows as u32, cols: cols as u32, extra: first as u32, eps };
    Ok(k.rms_norm.dispatch(ctx, &p, &[&x.buffer, &y.buffer, &weight.buffer], grid_1d(rows, 64)))
}

/// `y = layer_norm(x)` over `rows` rows of `cols`, with optional affine `(weight, bias)`.
pub fn layer_norm(
    ctx: &GpuContext,
    k: &KernelSet,
    x: &GpuTensor,
    y: &GpuTensor,
    affine: Option<(&GpuTensor, &GpuTensor)>,
    (rows, cols): (usize, usize),
    eps: f32,
) -> Result<Dispatch, GpuError> {
    if rows * cols > x.len.min(y.len) {
        return Err(GpuError::Shape(format!("layer_norm: {rows} x {cols} exceeds the buffers")));
    }
    let (w, b) = match affine {
        Some((w, b)) if w.len == cols && b.len == cols => (&w.buffer, &b.buffer),
        Some((w, _)) => {
            return Err(GpuError::Shape(format!(
                "layer_norm: weight of {} for {cols} columns",
                w.len
            )))
        }
        // Without affine the kernel never reads them; any buffer satisfies the layout.
        None => (&x.buffer, &x.buffer),
    };
    let p = NormParams {
        rows: rows as u32,
        cols: cols as u32,
        extra: u32::from(affine.is_some()),
        eps,
    };
    Ok(k.layer_norm.dispatch(ctx, &p, &[&x.buffer, &y.buffer, w, b], grid_1d(rows, 64)))
}

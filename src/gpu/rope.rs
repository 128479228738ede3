//! Rotary position embedding in place. CPU twin: [`crate::reference::rope::rope`].

use bytemuck::{Pod, Zeroable};

use super::buffer::GpuTensor;
use super::context::{GpuContext, GpuError};
use super::kernel::{grid_1d, Dispatch};
use super::set::KernelSet;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    tokens: u32,
    heads: u32,
    head_dim: u32,
    row_stride: u32,
    col_offset: u32,
    pad: [u32; 3],
}

/// The `(cos, sin)` table for `positions`, computed exactly as the reference computes angles.
pub fn rope_table(positions: &[u32], head_dim: usize, theta: f64) -> Vec<f32> {
    let inv = crate::reference::rope::inv_freq(head_dim, theta);
    let mut table = Vec::with_capacity(positions.len() * head_dim);
    for &pos in positions {
        for &f in &inv {
            let angle = pos as f32 * f;
            table.push(angle.cos());
            table.push(angle.sin());
        }
    }
    table
}

/// Rotates `heads` heads of `head_dim` starting at column `col_offset` of each of `tokens`
/// rows (`row_stride` apart) of `x`, with `table` from [`rope_table`].
#[allow(clippy::too_many_arguments)]
pub fn rope(
    ctx: &GpuContext,
    k: &KernelSet,
    x: &GpuTensor,
    table: &GpuTensor,
    tokens: usize,
    heads: usize,
    head_dim: usize,
    (row_stride, col_offset): (usize, usize),
) -> Result<Dispatch, GpuError> {
    if tokens * row_stride > x.len
        || col_offset + heads * head_dim > row_stride
        || table.len < tokens * head_dim
    {
        return Err(GpuError::Shape(format!("rope: {tokens} x {heads} x {head_dim} does not fit")));
    }
    let p = Params {
        tokens: tokens as u32,
        heads: heads as u32,
        head_dim: head_dim as u32,
        row_stride: row_stride as u32,
        col_offset: col_offset as u32,
        pad: [0; 3],
    };
    Ok(k.rope.dispatch(
        ctx,
        &p,
        &[&x.buffer, &table.buffer],
        grid_1d(tokens * heads * head_dim / 2, 64),
    ))
}

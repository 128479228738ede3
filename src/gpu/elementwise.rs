//! Elementwise kernels: activations in place, SwiGLU gating, the pixel-shuffle gather and
//! the SigLIP patch extraction. CPU twins: [`crate::reference::activation`],
//! [`crate::reference::swiglu`], [`crate::reference::pixel_shuffle`],
//! [`crate::reference::patch_embed`].

use bytemuck::{Pod, Zeroable};

use super::buffer::GpuTensor;
use super::context::{GpuContext, GpuError};
use super::kernel::{grid_1d, Dispatch, Kernel};
use super::set::KernelSet;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Len {
    len: u32,
    pad: [u32; 3],
}

/// An activation applied in place to the first `len` elements.
#[derive(Clone, Copy, Debug)]
pub enum Activation {
    /// tanh-approximated GELU.
    GeluTanh,
    /// erf GELU.
    GeluErf,
    /// SiLU.
    Silu,
}

fn check(len: usize, buffers: &[&GpuTensor], what: &str) -> Result<(), GpuError> {
    if buffers.iter().any(|b| b.len < len) {
        return Err(GpuError::Shape(format!("{what}: {len} elements exceed a buffer")));
    }
    Ok(())
}

/// `x[..len] = act(x[..len])`.
pub fn activation(
    ctx: &GpuContext,
    k: &KernelSet,
    act: Activation,
    x: &GpuTensor,
    len: usize,
) -> Result<Dispatch, GpuError> {
    check(len, &[x], "activation")?;
    let kernel: &Kernel = match act {
        Activation::GeluTanh => &k.gelu_tanh,
        Activation::GeluErf => &k.gelu_erf,
        Activation::Silu => &k.silu,
    };
    Ok(kernel.dispatch(ctx, &Len { len: len as u32, pad: [0; 3] }, &[&x.buffer], grid_1d(len, 256)))
}

/// SwiGLU gating in place over `rows` rows laid out `[gate | up]` (`2 * width` values each):
/// `gate = silu(gate) * up`.
pub fn silu_mul(
    ctx: &GpuContext,
    k: &KernelSet,
    gate_up: &GpuTensor,
    rows: usize,
    width: usize,
) -> Result<Dispatch, GpuError> {
    let len = rows * width;
    check(2 * len, &[gate_up], "silu_mul")?;
    Ok(k.silu_mul.dispatch(
        ctx,
        &RowsWidth { rows: rows as u32, width: width as u32, pad: [0; 2] },
        &[&gate_up.buffer],
        grid_1d(len, 256),
    ))
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RowsWidth {
    rows: u32,
    width: u32,
    pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct GatherParams {
    chunks: u32,
    chunk: u32,
    pad: [u32; 2],
}

/// `out[i] = x[map[i]]` by chunks of `chunk` elements; `map` holds one u32 per output chunk.
pub fn gather_rows(
    ctx: &GpuContext,
    k: &KernelSet,
    x: &GpuTensor,
    out: &GpuTensor,
    map: &wgpu::Buffer,
    (chunks, chunk): (usize, usize),
) -> Result<Dispatch, GpuError> {
    check(chunks * chunk, &[out], "gather_rows")?;
    if map.size() < (chunks * 4) as u64 {
        return Err(GpuError::Shape("gather_rows: map shorter than the output".into()));
    }
    let p = GatherParams { chunks: chunks as u32, chunk: chunk as u32, pad: [0; 2] };
    Ok(k.gather_rows.dispatch(
        ctx,
        &p,
        &[&x.buffer, &out.buffer, map],
        grid_1d(chunks * chunk, 256),
    ))
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Im2colParams {
    images: u32,
    size: u32,
    patch: u32,
    grid: u32,
}

/// Patch rows `[images * grid², 3 * patch²]` from images `[images, 3, size, size]`.
pub fn im2col(
    ctx: &GpuContext,
    k: &KernelSet,
    images: &GpuTensor,
    cols: &GpuTensor,
    (n, size, patch): (usize, usize, usize),
) -> Result<Dispatch, GpuError> {
    let grid = size / patch;
    let len = n * grid * grid * 3 * patch * patch;
    check(n * 3 * size * size, &[images], "im2col input")?;
    check(len, &[cols], "im2col output")?;
    let p = Im2colParams {
        images: n as u32,
        size: size as u32,
        patch: patch as u32,
        grid: grid as u32,
    };
    Ok(k.im2col.dispatch(ctx, &p, &[&images.buffer, &cols.buffer], grid_1d(len, 256)))
}

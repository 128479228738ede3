//! The action head's per-step kernels: DiT input assembly and the flow-matching update.
//! CPU twin: [`crate::reference::action_head`].

use bytemuck::{Pod, Zeroable};

use super::buffer::GpuTensor;
use super::context::{GpuContext, GpuError};
use super::kernel::{grid_1d, Dispatch};
use super::set::KernelSet;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct AssembleParams {
    sequences: u32,
    rows: u32,
    hidden: u32,
    step: u32,
}

/// Buffers of the DiT input assembly.
pub struct AssembleInputs<'a> {
    /// `[steps, hidden]` time embeddings.
    pub t_emb: &'a GpuTensor,
    /// `[sequences, hidden]` condition embeddings.
    pub z_emb: &'a GpuTensor,
    /// `[2, T, hidden]` action embeddings.
    pub x_emb: &'a GpuTensor,
    /// `[T + 1, hidden]` positional embedding.
    pub pos: &'a GpuTensor,
    /// `[sequences, T + 1, hidden]` output.
    pub out: &'a GpuTensor,
}

/// Assembles the input of step `step` for `sequences` sequences of `rows = T + 1`.
pub fn dit_assemble(
    ctx: &GpuContext,
    k: &KernelSet,
    b: &AssembleInputs<'_>,
    (sequences, rows, hidden, step): (usize, usize, usize, usize),
) -> Result<Dispatch, GpuError> {
    let len = sequences * rows * hidden;
    if b.out.len < len
        || b.pos.len < rows * hidden
        || b.x_emb.len < 2 * (rows - 1) * hidden
        || b.z_emb.len < sequences * hidden
        || b.t_emb.len < (step + 1) * hidden
    {
        return Err(GpuError::Shape("dit_assemble: buffers too small".into()));
    }
    let p = AssembleParams {
        sequences: sequences as u32,
        rows: rows as u32,
        hidden: hidden as u32,
        step: step as u32,
    };
    let buffers = [&b.t_emb.buffer, &b.z_emb.buffer, &b.x_emb.buffer, &b.pos.buffer, &b.out.buffer];
    Ok(k.dit_assemble.dispatch(ctx, &p, &buffers, grid_1d(len, 256)))
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct StepParams {
    len: u32,
    steps_t: u32,
    dim: u32,
    guided: u32,
    cfg: f32,
    dt: f32,
    pad: [u32; 2],
}

/// `a += dt * guided(out)` for the two conditional rows, clamped with guidance.
pub fn flow_step(
    ctx: &GpuContext,
    k: &KernelSet,
    out: &GpuTensor,
    actions: &GpuTensor,
    (t, dim): (usize, usize),
    guidance: Option<f32>,
    dt: f32,
) -> Result<Dispatch, GpuError> {
    let len = 2 * t * dim;
    let sequences = if guidance.is_some() { 4 } else { 2 };
    if actions.len < len || out.len < sequences * (t + 1) * dim {
        return Err(GpuError::Shape("flow_step: buffers too small".into()));
    }
    let p = StepParams {
        len: len as u32,
        steps_t: t as u32,
        dim: dim as u32,
        guided: u32::from(guidance.is_some()),
        cfg: guidance.unwrap_or(1.0),
        dt,
        pad: [0; 2],
    };
    let groups = len.div_ceil(256) as u32;
    Ok(k.flow_step.dispatch(ctx, &p, &[&out.buffer, &actions.buffer], [groups, 1, 1]))
}

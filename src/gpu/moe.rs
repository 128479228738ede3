//! Top-1 routing of the common tokens between the two arms' MLPs, and the row lists the
//! experts' matmuls gather and scatter through. CPU twin: [`crate::reference::moe`].

use bytemuck::{Pod, Zeroable};

use super::buffer::GpuTensor;
use super::context::{GpuContext, GpuError};
use super::kernel::Dispatch;
use super::set::KernelSet;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RouteParams {
    n0: u32,
    n1: u32,
    pad: [u32; 2],
}

/// Routes the `n0` common tokens by their gate logits and writes each expert's row list.
pub fn moe_route(
    ctx: &GpuContext,
    k: &KernelSet,
    logits: &GpuTensor,
    lists: (&wgpu::Buffer, &wgpu::Buffer),
    experts: &wgpu::Buffer,
    (n0, n1): (usize, usize),
) -> Result<Dispatch, GpuError> {
    let need = ((1 + n0 + n1) * 4) as u64;
    if logits.len < 2 * n0
        || lists.0.size() < need
        || lists.1.size() < need
        || experts.size() < (n0.max(1) * 4) as u64
    {
        return Err(GpuError::Shape("moe_route: buffers too small".into()));
    }
    let p = RouteParams { n0: n0 as u32, n1: n1 as u32, pad: [0; 2] };
    Ok(k.moe_route.dispatch(ctx, &p, &[&logits.buffer, lists.0, lists.1, experts], [1, 1, 1]))
}

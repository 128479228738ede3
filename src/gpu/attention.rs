//! Flash-style attention (online softmax, GQA) with the block-diagonal and twin masks.
//! CPU twin: [`crate::reference::attention::attention`].

use bytemuck::{Pod, Zeroable};

use super::buffer::GpuTensor;
use super::context::{GpuContext, GpuError};
use super::kernel::Dispatch;
use super::set::KernelSet;

/// Which keys each query sees.
#[derive(Clone, Copy, Debug)]
pub enum Mask {
    /// Independent blocks of `block` tokens, no masking inside a block.
    Blocks {
        /// Tokens per block.
        block: usize,
    },
    /// The twin decoder's mask over `[common n0 | left n1 | right n1]`, with `common_bias`
    /// added to logits of common keys.
    Twin {
        /// Common tokens.
        n0: usize,
        /// Tokens per arm.
        n1: usize,
        /// Logit bias on common keys (`ln 2` with re-weighting, else 0).
        common_bias: f32,
    },
}

/// Sizes and layout of one attention call. Q rows are `q_stride` apart with the heads at
/// `q_offset`; K and V live in one buffer, rows `kv_stride` apart at `k_offset`/`v_offset`.
#[derive(Clone, Copy, Debug)]
pub struct AttentionLayout {
    /// Tokens.
    pub tokens: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Width of a head.
    pub head_dim: usize,
    /// Q row stride and first column.
    pub q: (usize, usize),
    /// K/V row stride, K first column, V first column.
    pub kv: (usize, usize, usize),
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    tokens: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    q_stride: u32,
    q_offset: u32,
    kv_stride: u32,
    k_offset: u32,
    v_offset: u32,
    o_stride: u32,
    mode: u32,
    block: u32,
    n0: u32,
    n1: u32,
    scale: f32,
    common_bias: f32,
}

/// `o = softmax(q kᵀ * scale + mask) v`, written as rows of `heads * head_dim`; `[q, kv, o]`
/// are the query buffer, the key/value buffer and the output.
pub fn attention(
    ctx: &GpuContext,
    k: &KernelSet,
    [q, kv, o]: [&GpuTensor; 3],
    layout: AttentionLayout,
    mask: Mask,
    scale: f32,
) -> Result<Dispatch, GpuError> {
    let l = layout;
    let width = l.heads * l.head_dim;
    let bad = |m: String| Err(GpuError::Shape(format!("attention: {m}")));
    if l.head_dim > 128 || l.kv_heads == 0 || l.heads % l.kv_heads != 0 {
        return bad(format!(
            "head_dim {} (max 128), heads {} / kv {}",
            l.head_dim, l.heads, l.kv_heads
        ));
    }
    if l.tokens * l.q.0 > q.len
        || l.q.1 + width > l.q.0
        || l.tokens * l.kv.0 > kv.len
        || l.tokens * width > o.len
    {
        return bad(format!("{} tokens do not fit the buffers", l.tokens));
    }
    let (mode, block, n0, n1, bias) = match mask {
        Mask::Blocks { block } if block > 0 && l.tokens % block == 0 => (0, block, 0, 0, 0.0),
        Mask::Blocks { block } => {
            return bad(format!("{} tokens are not whole blocks of {block}", l.tokens))
        }
        Mask::Twin { n0, n1, common_bias } if n0 + 2 * n1 == l.tokens && n1 > 0 => {
            (1, 0, n0, n1, common_bias)
        }
        Mask::Twin { n0, n1, .. } => {
            return bad(format!("twin segments {n0} + 2 x {n1} != {} tokens", l.tokens))
        }
    };
    let p = Params {
        tokens: l.tokens as u32,
        heads: l.heads as u32,
        kv_heads: l.kv_heads as u32,
        head_dim: l.head_dim as u32,
        q_stride: l.q.0 as u32,
        q_offset: l.q.1 as u32,
        kv_stride: l.kv.0 as u32,
        k_offset: l.kv.1 as u32,
        v_offset: l.kv.2 as u32,
        o_stride: width as u32,
        mode,
        block: block as u32,
        n0: n0 as u32,
        n1: n1 as u32,
        scale,
        common_bias: bias,
    };
    let grid = [l.tokens.div_ceil(64) as u32, l.heads as u32, 1];
    Ok(k.attention(ctx, l.head_dim).dispatch(ctx, &p, &[&q.buffer, &kv.buffer, &o.buffer], grid))
}

//! Every compute pipeline the runtime uses, compiled once when the model loads (from the
//! on-disk pipeline cache where the driver supports it).

use super::context::{GpuContext, GpuError};
use super::kernel::Kernel;
use super::matmul::{MatmulKernels, MatmulStrategy};

macro_rules! shader {
    ($file:literal) => {
        include_str!(concat!("../../shaders/", $file))
    };
}

/// The compiled pipelines.
#[derive(Debug)]
pub struct KernelSet {
    /// Matmul, one variant per weight format.
    pub matmul: MatmulKernels,
    /// RMSNorm.
    pub rms_norm: Kernel,
    /// LayerNorm (affine or not).
    pub layer_norm: Kernel,
    /// Rotary embedding.
    pub rope: Kernel,
    /// Flash-style attention, one pipeline per head width (compiled on first use): the
    /// subgroup kernel where the matmul family is [`MatmulStrategy::Subgroup`], else the one
    /// with workgroup-memory tiles.
    attention: std::sync::Mutex<std::collections::HashMap<usize, std::sync::Arc<Kernel>>>,
    /// `silu(gate) * up`.
    pub silu_mul: Kernel,
    /// tanh-approximated GELU.
    pub gelu_tanh: Kernel,
    /// erf GELU.
    pub gelu_erf: Kernel,
    /// SiLU.
    pub silu: Kernel,
    /// Row-chunk gather (pixel shuffle).
    pub gather_rows: Kernel,
    /// Resize, horizontal pass.
    pub resize_horizontal: Kernel,
    /// Resize, vertical pass and normalisation.
    pub resize_vertical: Kernel,
    /// Patch extraction.
    pub im2col: Kernel,
    /// MoE routing.
    pub moe_route: Kernel,
    /// DiT step input assembly.
    pub dit_assemble: Kernel,
    /// Flow-matching update.
    pub flow_step: Kernel,
}

impl KernelSet {
    /// The attention pipeline for heads of `head_dim` (a multiple of 4, at most 128),
    /// compiled the first time it is asked for.
    pub fn attention(&self, ctx: &GpuContext, head_dim: usize) -> std::sync::Arc<Kernel> {
        let mut cache = self.attention.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .entry(head_dim)
            .or_insert_with(|| {
                let (body, family) = match self.matmul.strategy {
                    MatmulStrategy::Subgroup => (shader!("attention_subgroup.wgsl"), "_subgroup"),
                    MatmulStrategy::Tiled | MatmulStrategy::Register => {
                        (shader!("attention.wgsl"), "")
                    }
                };
                let source = format!("{}\n{body}", shader!("attention_common.wgsl"))
                    .replace("{{D4}}", &(head_dim / 4).to_string());
                std::sync::Arc::new(Kernel::new(
                    ctx,
                    &format!("attention_d{head_dim}{family}"),
                    &source,
                    "main",
                ))
            })
            .clone()
    }

    /// Compiles every pipeline, in the kernel family the device wants (see
    /// [`MatmulStrategy::for_device`]); fails only on an unknown or unsupported
    /// `TWINVLA_KERNELS` value.
    pub fn new(ctx: &GpuContext) -> Result<Self, GpuError> {
        Ok(Self::with_family(ctx, MatmulStrategy::for_device(ctx)?))
    }

    /// Compiles every pipeline in kernel family `family` (which must
    /// [`MatmulStrategy::runs_on`] the device).
    pub fn with_family(ctx: &GpuContext, family: MatmulStrategy) -> Self {
        let k = |name: &str, src: &str, entry: &str| Kernel::new(ctx, name, src, entry);
        Self {
            matmul: MatmulKernels::with_strategy(ctx, family),
            rms_norm: k("rms_norm", shader!("rms_norm.wgsl"), "main"),
            layer_norm: k("layer_norm", shader!("layer_norm.wgsl"), "main"),
            rope: k("rope", shader!("rope.wgsl"), "main"),
            attention: Default::default(),
            silu_mul: k("silu_mul", shader!("silu_mul.wgsl"), "main"),
            gelu_tanh: k("gelu_tanh", shader!("activation.wgsl"), "gelu_tanh"),
            gelu_erf: k("gelu_erf", shader!("activation.wgsl"), "gelu_erf"),
            silu: k("silu", shader!("activation.wgsl"), "silu"),
            gather_rows: k("gather_rows", shader!("gather_rows.wgsl"), "main"),
            resize_horizontal: k("resize_horizontal", shader!("resize_horizontal.wgsl"), "main"),
            resize_vertical: k("resize_vertical", shader!("resize_vertical.wgsl"), "main"),
            im2col: k("im2col", shader!("im2col.wgsl"), "main"),
            moe_route: k("moe_route", shader!("moe_route.wgsl"), "main"),
            dit_assemble: k("dit_assemble", shader!("dit_assemble.wgsl"), "main"),
            flow_step: k("flow_step", shader!("flow_step.wgsl"), "main"),
        }
    }
}

//! Every weight of the model, uploaded to the GPU once at load time, straight from the model
//! file's memory map (quantized streams stay quantized; they are decoded in the shaders).

use crate::gpu::buffer::GpuTensor;
use crate::gpu::context::{GpuContext, GpuError};
use crate::gpu::matmul::GpuWeight;
use crate::model::config::ModelConfig;
use crate::model::file::{ModelFile, ModelFileError};
use crate::model::tensors::mean_name;

/// Errors while uploading weights.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// A tensor could not be read from the file.
    #[error(transparent)]
    File(#[from] ModelFileError),
    /// The GPU refused a buffer.
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// Loads `name` as a dense f32 vector on the GPU.
fn vector(ctx: &GpuContext, file: &ModelFile, name: &str) -> Result<GpuTensor, UploadError> {
    let data = file.weight(name)?.to_f32();
    Ok(GpuTensor::from_slice(ctx, name, &data)?)
}

/// Loads the Linear layer `prefix` (`.weight` and, when `bias`, `.bias`).
fn linear(
    ctx: &GpuContext,
    file: &ModelFile,
    prefix: &str,
    bias: bool,
) -> Result<GpuWeight, UploadError> {
    let w = file.weight(&format!("{prefix}.weight"))?;
    let b = if bias { Some(file.weight(&format!("{prefix}.bias"))?.to_f32()) } else { None };
    Ok(GpuWeight::upload(ctx, prefix, &w, b.as_deref())?)
}

/// A Linear layer whose weight and bias names are given explicitly (derived tensors).
fn linear_named(
    ctx: &GpuContext,
    file: &ModelFile,
    weight: &str,
    bias: Option<&str>,
) -> Result<GpuWeight, UploadError> {
    let w = file.weight(weight)?;
    let b = bias.map(|b| file.weight(b).map(|t| t.to_f32())).transpose()?;
    Ok(GpuWeight::upload(ctx, weight, &w, b.as_deref())?)
}

/// Loads several Linear layers of one input width as one weight, rows stacked in the order
/// given (`weights` and, when present, one bias per weight).
fn linear_stacked(
    ctx: &GpuContext,
    file: &ModelFile,
    weights: &[String],
    biases: Option<&[String]>,
) -> Result<GpuWeight, UploadError> {
    let parts = weights.iter().map(|n| file.weight(n)).collect::<Result<Vec<_>, _>>()?;
    let biases = match biases {
        Some(names) => {
            names.iter().map(|n| file.weight(n).map(|t| t.to_f32())).collect::<Result<_, _>>()?
        }
        None => Vec::new(),
    };
    Ok(GpuWeight::upload_stacked(ctx, &weights.join("+"), &parts, &biases)?)
}

/// One SigLIP encoder layer.
#[derive(Debug)]
pub struct VisionLayer {
    /// `layer_norm1` weight and bias.
    pub ln1: (GpuTensor, GpuTensor),
    /// `layer_norm2` weight and bias.
    pub ln2: (GpuTensor, GpuTensor),
    /// q, k and v projections stacked (3 x hidden rows).
    pub qkv: GpuWeight,
    /// `out_proj`.
    pub out: GpuWeight,
    /// `mlp.fc1`.
    pub fc1: GpuWeight,
    /// `mlp.fc2`.
    pub fc2: GpuWeight,
}

/// The attention-side weights of one segment in one decoder layer.
#[derive(Debug)]
pub struct SegmentWeights {
    /// `input_layernorm`.
    pub input_norm: GpuTensor,
    /// `post_attention_layernorm`.
    pub post_norm: GpuTensor,
    /// q, k and v projections with biases, stacked (q rows, then k, then v).
    pub qkv: GpuWeight,
    /// `o_proj`.
    pub o: GpuWeight,
}

/// One arm's SwiGLU MLP.
#[derive(Debug)]
pub struct Mlp {
    /// `gate_proj` and `up_proj` stacked (gate rows, then up rows).
    pub gate_up: GpuWeight,
    /// `down_proj`.
    pub down: GpuWeight,
}

/// One twin decoder layer: segment weights for common (the left/right mean), left and right,
/// the two experts, and the router.
#[derive(Debug)]
pub struct DecoderLayer {
    /// Common, left, right.
    pub segments: [SegmentWeights; 3],
    /// Left and right MLPs.
    pub experts: [Mlp; 2],
    /// `gates.i`.
    pub router: GpuWeight,
}

/// One DiT block.
#[derive(Debug)]
pub struct DitBlock {
    /// Fused qkv.
    pub qkv: GpuWeight,
    /// Attention output projection.
    pub proj: GpuWeight,
    /// MLP in.
    pub fc1: GpuWeight,
    /// MLP out.
    pub fc2: GpuWeight,
}

/// All weights on the GPU.
#[derive(Debug)]
pub struct DeviceWeights {
    /// Patch embedding as a `[C, 3 * p * p]` matrix.
    pub patch: GpuWeight,
    /// Position embedding `[patches, C]`.
    pub position: GpuTensor,
    /// Encoder layers.
    pub vision_layers: Vec<VisionLayer>,
    /// `post_layernorm`.
    pub post_ln: (GpuTensor, GpuTensor),
    /// `mlp1.0` LayerNorm.
    pub mlp1_ln: (GpuTensor, GpuTensor),
    /// `mlp1.1`, `mlp1.3`.
    pub mlp1: [GpuWeight; 2],
    /// `embed_arm_state`.
    pub arm_state: GpuWeight,
    /// Decoder layers.
    pub layers: Vec<DecoderLayer>,
    /// Final `norm`.
    pub final_norm: GpuTensor,
    /// `decoder_c.combine`.
    pub combine: GpuWeight,
    /// `z_embedder.linear`.
    pub z_embedder: GpuWeight,
    /// `z_embedder.uncondition` (classifier-free guidance), `[D]`.
    pub uncondition: Option<GpuTensor>,
    /// `t_embedder.mlp.0` and `.2`.
    pub t_embedder: [GpuWeight; 2],
    /// `x_embedder.linear`.
    pub x_embedder: GpuWeight,
    /// `positional_embedding` `[T + 1, h]`.
    pub dit_position: GpuTensor,
    /// DiT blocks.
    pub dit_blocks: Vec<DitBlock>,
    /// `final_layer.linear`.
    pub dit_final: GpuWeight,
}

impl DeviceWeights {
    /// Uploads every weight `config` needs from `file`.
    pub fn upload(
        ctx: &GpuContext,
        file: &ModelFile,
        config: &ModelConfig,
    ) -> Result<Self, UploadError> {
        let vp = "vision_c.vision_model";
        let pair = |name: &str| -> Result<(GpuTensor, GpuTensor), UploadError> {
            Ok((
                vector(ctx, file, &format!("{name}.weight"))?,
                vector(ctx, file, &format!("{name}.bias"))?,
            ))
        };
        let mut vision_layers = Vec::with_capacity(config.vision.num_layers);
        for i in 0..config.vision.num_layers {
            let p = format!("{vp}.encoder.layers.{i}");
            let l = |n: &str| linear(ctx, file, &format!("{p}.{n}"), true);
            let qkv = |suffix: &str| -> Vec<String> {
                ["q", "k", "v"].map(|x| format!("{p}.self_attn.{x}_proj.{suffix}")).to_vec()
            };
            vision_layers.push(VisionLayer {
                ln1: pair(&format!("{p}.layer_norm1"))?,
                ln2: pair(&format!("{p}.layer_norm2"))?,
                qkv: linear_stacked(ctx, file, &qkv("weight"), Some(&qkv("bias")))?,
                out: l("self_attn.out_proj")?,
                fc1: l("mlp.fc1")?,
                fc2: l("mlp.fc2")?,
            });
        }
        let mut layers = Vec::with_capacity(config.llm.num_layers);
        for i in 0..config.llm.num_layers {
            let segment = |side: Option<&str>| -> Result<SegmentWeights, UploadError> {
                let name = |param: &str| match side {
                    Some(s) => format!("backbone_{s}.{i}.{param}"),
                    None => mean_name(i, param),
                };
                let qkv = |suffix: &str| -> Vec<String> {
                    ["q", "k", "v"].map(|x| name(&format!("self_attn.{x}_proj.{suffix}"))).to_vec()
                };
                Ok(SegmentWeights {
                    input_norm: vector(ctx, file, &name("input_layernorm.weight"))?,
                    post_norm: vector(ctx, file, &name("post_attention_layernorm.weight"))?,
                    qkv: linear_stacked(ctx, file, &qkv("weight"), Some(&qkv("bias")))?,
                    o: linear_named(ctx, file, &name("self_attn.o_proj.weight"), None)?,
                })
            };
            let mlp = |side: &str| -> Result<Mlp, UploadError> {
                let n = |proj: &str| format!("backbone_{side}.{i}.mlp.{proj}");
                Ok(Mlp {
                    gate_up: linear_stacked(
                        ctx,
                        file,
                        &[n("gate_proj.weight"), n("up_proj.weight")],
                        None,
                    )?,
                    down: linear(ctx, file, &n("down_proj"), false)?,
                })
            };
            layers.push(DecoderLayer {
                segments: [segment(None)?, segment(Some("l"))?, segment(Some("r"))?],
                experts: [mlp("l")?, mlp("r")?],
                router: linear(ctx, file, &format!("gates.{i}"), true)?,
            });
        }
        let n = "decoder_c.net";
        let mut dit_blocks = Vec::with_capacity(config.dit.depth);
        for j in 0..config.dit.depth {
            let l = |s: &str| linear(ctx, file, &format!("{n}.blocks.{j}.{s}"), true);
            dit_blocks.push(DitBlock {
                qkv: l("attn.qkv")?,
                proj: l("attn.proj")?,
                fc1: l("mlp.fc1")?,
                fc2: l("mlp.fc2")?,
            });
        }
        let uncondition = if config.enable_cfg {
            Some(vector(ctx, file, &format!("{n}.z_embedder.uncondition"))?)
        } else {
            None
        };
        Ok(Self {
            patch: linear(ctx, file, &format!("{vp}.embeddings.patch_embedding"), true)?,
            position: vector(ctx, file, &format!("{vp}.embeddings.position_embedding.weight"))?,
            vision_layers,
            post_ln: pair(&format!("{vp}.post_layernorm"))?,
            mlp1_ln: pair("mlp1.0")?,
            mlp1: [linear(ctx, file, "mlp1.1", true)?, linear(ctx, file, "mlp1.3", true)?],
            arm_state: linear(ctx, file, "embed_arm_state", true)?,
            layers,
            final_norm: vector(ctx, file, "norm.weight")?,
            combine: linear(ctx, file, "decoder_c.combine", true)?,
            z_embedder: linear(ctx, file, &format!("{n}.z_embedder.linear"), true)?,
            uncondition,
            t_embedder: [
                linear(ctx, file, &format!("{n}.t_embedder.mlp.0"), true)?,
                linear(ctx, file, &format!("{n}.t_embedder.mlp.2"), true)?,
            ],
            x_embedder: linear(ctx, file, &format!("{n}.x_embedder.linear"), true)?,
            dit_position: vector(ctx, file, &format!("{n}.positional_embedding"))?,
            dit_blocks,
            dit_final: linear(ctx, file, &format!("{n}.final_layer.linear"), true)?,
        })
    }

    /// Total bytes of weights on the GPU.
    pub fn bytes(&self) -> u64 {
        let mut total = self.patch.bytes();
        for l in &self.vision_layers {
            total += l.qkv.bytes() + l.out.bytes() + l.fc1.bytes() + l.fc2.bytes();
        }
        for l in &self.layers {
            for s in &l.segments {
                total += s.qkv.bytes() + s.o.bytes();
            }
            for e in &l.experts {
                total += e.gate_up.bytes() + e.down.bytes();
            }
        }
        for b in &self.dit_blocks {
            total += b.qkv.bytes() + b.proj.bytes() + b.fc1.bytes() + b.fc2.bytes();
        }
        total
    }
}

//! The tensor catalogue: every checkpoint tensor a configuration implies, with its shape and
//! role, and the derived tensors the converter adds.
//!
//! Names are the checkpoint's names. Derived tensors append a suffix: the mean of the left and
//! right weights used by the common segment ends in [`MEAN_SUFFIX`].

use super::config::ModelConfig;
use super::quant::WeightFormat;

/// Suffix of a derived tensor holding `(left + right) / 2` of a backbone parameter.
pub const MEAN_SUFFIX: &str = ".mean_lr";

/// What a tensor is, which decides how a recipe stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A `Linear` weight `[out, in]`, read by the matmul kernels; `big_mlp` marks the large
    /// MLP matrices that the `q4` recipe stores in 4 bits.
    Matrix {
        /// Part of a large MLP (decoder SwiGLU or SigLIP MLP).
        big_mlp: bool,
    },
    /// A weight read as a matrix by a kernel but always kept in f16 or f32 (the SigLIP patch
    /// embedding, viewed as `[C, 3 * p * p]`).
    DenseMatrix,
    /// A table whose rows are gathered (token and position embeddings): f16 or f32.
    Embedding,
    /// A small parameter (norm weights, biases, learned tokens): always f32.
    Small,
}

/// One tensor of the model.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorDef {
    /// Name in the checkpoint and the model file.
    pub name: String,
    /// PyTorch shape in the checkpoint.
    pub shape: Vec<usize>,
    /// Role.
    pub role: Role,
    /// For derived tensors: the checkpoint tensors averaged to produce it.
    pub mean_of: Option<[String; 2]>,
}

impl TensorDef {
    fn new(name: impl Into<String>, shape: &[usize], role: Role) -> Self {
        Self { name: name.into(), shape: shape.to_vec(), role, mean_of: None }
    }

    /// Elements in the tensor.
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// `(rows, cols)` when the tensor is read as a matrix (trailing dims flattened).
    pub fn matrix_shape(&self) -> (usize, usize) {
        let rows = self.shape.first().copied().unwrap_or(1);
        let cols = self.shape.iter().skip(1).product::<usize>().max(1);
        if self.shape.len() == 1 {
            (1, rows)
        } else {
            (rows, cols)
        }
    }
}

/// A quantization recipe: how each role is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recipe {
    /// Everything f32: exact, for verification.
    F32,
    /// Matrices and tables f16, small parameters f32.
    F16,
    /// Matrices q8, tables f16, small parameters f32.
    Q8,
    /// Large MLP matrices q4, other matrices q8, tables f16, small parameters f32.
    Q4,
}

impl Recipe {
    /// Parses `f32`, `f16`, `q8` or `q4`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "f32" => Some(Recipe::F32),
            "f16" => Some(Recipe::F16),
            "q8" => Some(Recipe::Q8),
            "q4" => Some(Recipe::Q4),
            _ => None,
        }
    }

    /// The recipe's name.
    pub fn name(self) -> &'static str {
        match self {
            Recipe::F32 => "f32",
            Recipe::F16 => "f16",
            Recipe::Q8 => "q8",
            Recipe::Q4 => "q4",
        }
    }

    /// The storage format of a tensor of the given role.
    pub fn format(self, role: Role) -> WeightFormat {
        match (self, role) {
            (Recipe::F32, _) | (_, Role::Small) => WeightFormat::F32,
            (_, Role::Embedding | Role::DenseMatrix) => WeightFormat::F16,
            (Recipe::F16, Role::Matrix { .. }) => WeightFormat::F16,
            (Recipe::Q8, Role::Matrix { .. }) => WeightFormat::Q8,
            (Recipe::Q4, Role::Matrix { big_mlp: true }) => WeightFormat::Q4,
            (Recipe::Q4, Role::Matrix { big_mlp: false }) => WeightFormat::Q8,
        }
    }

    /// A one-line description recorded in the model file.
    pub fn describe(self) -> String {
        let f = |r| self.format(r).name();
        format!(
            "{}: large MLP matrices {}, other matrices {}, embeddings {}, norms/biases {}; blocks of {} with f16 scales",
            self.name(),
            f(Role::Matrix { big_mlp: true }),
            f(Role::Matrix { big_mlp: false }),
            f(Role::Embedding),
            f(Role::Small),
            super::quant::BLOCK
        )
    }
}

fn linear(out: &mut Vec<TensorDef>, prefix: &str, rows: usize, cols: usize, bias: bool, big: bool) {
    out.push(TensorDef::new(
        format!("{prefix}.weight"),
        &[rows, cols],
        Role::Matrix { big_mlp: big },
    ));
    if bias {
        out.push(TensorDef::new(format!("{prefix}.bias"), &[rows], Role::Small));
    }
}

fn small(out: &mut Vec<TensorDef>, name: String, shape: &[usize]) {
    out.push(TensorDef::new(name, shape, Role::Small));
}

/// Every tensor of an upstream checkpoint for `config`, in a stable order.
pub fn checkpoint_tensors(config: &ModelConfig) -> Vec<TensorDef> {
    let mut t = Vec::new();
    let v = &config.vision;
    let l = &config.llm;
    let d = l.hidden_size;
    let hd = l.head_dim();
    // Vision tower.
    let vp = "vision_c.vision_model";
    t.push(TensorDef::new(
        format!("{vp}.embeddings.patch_embedding.weight"),
        &[v.hidden_size, 3, v.patch_size, v.patch_size],
        Role::DenseMatrix,
    ));
    small(&mut t, format!("{vp}.embeddings.patch_embedding.bias"), &[v.hidden_size]);
    t.push(TensorDef::new(
        format!("{vp}.embeddings.position_embedding.weight"),
        &[v.num_patches(), v.hidden_size],
        Role::Embedding,
    ));
    for i in 0..v.num_layers {
        let p = format!("{vp}.encoder.layers.{i}");
        for n in ["layer_norm1", "layer_norm2"] {
            small(&mut t, format!("{p}.{n}.weight"), &[v.hidden_size]);
            small(&mut t, format!("{p}.{n}.bias"), &[v.hidden_size]);
        }
        for n in ["q_proj", "k_proj", "v_proj", "out_proj"] {
            linear(
                &mut t,
                &format!("{p}.self_attn.{n}"),
                v.hidden_size,
                v.hidden_size,
                true,
                false,
            );
        }
        linear(&mut t, &format!("{p}.mlp.fc1"), v.intermediate_size, v.hidden_size, true, true);
        linear(&mut t, &format!("{p}.mlp.fc2"), v.hidden_size, v.intermediate_size, true, true);
    }
    small(&mut t, format!("{vp}.post_layernorm.weight"), &[v.hidden_size]);
    small(&mut t, format!("{vp}.post_layernorm.bias"), &[v.hidden_size]);
    // Projector.
    let sw = config.shuffled_width();
    small(&mut t, "mlp1.0.weight".into(), &[sw]);
    small(&mut t, "mlp1.0.bias".into(), &[sw]);
    linear(&mut t, "mlp1.1", d, sw, true, false);
    linear(&mut t, "mlp1.3", d, d, true, false);
    // Embeddings.
    t.push(TensorDef::new("embed_tokens_c.weight", &[l.vocab_size, d], Role::Embedding));
    linear(&mut t, "embed_arm_state", d, config.state_dim, true, false);
    if !config.readout_token_as_eos {
        small(&mut t, "action_token_l".into(), &[config.num_readouts, d]);
        small(&mut t, "action_token_r".into(), &[config.num_readouts, d]);
    }
    // Twin decoder.
    for side in ["l", "r"] {
        for i in 0..l.num_layers {
            let p = format!("backbone_{side}.{i}");
            small(&mut t, format!("{p}.input_layernorm.weight"), &[d]);
            small(&mut t, format!("{p}.post_attention_layernorm.weight"), &[d]);
            linear(&mut t, &format!("{p}.self_attn.q_proj"), l.num_heads * hd, d, true, false);
            linear(&mut t, &format!("{p}.self_attn.k_proj"), l.num_kv_heads * hd, d, true, false);
            linear(&mut t, &format!("{p}.self_attn.v_proj"), l.num_kv_heads * hd, d, true, false);
            linear(&mut t, &format!("{p}.self_attn.o_proj"), d, l.num_heads * hd, false, false);
            linear(&mut t, &format!("{p}.mlp.gate_proj"), l.intermediate_size, d, false, true);
            linear(&mut t, &format!("{p}.mlp.up_proj"), l.intermediate_size, d, false, true);
            linear(&mut t, &format!("{p}.mlp.down_proj"), d, l.intermediate_size, false, true);
        }
    }
    for i in 0..l.num_layers {
        linear(&mut t, &format!("gates.{i}"), 2, d, true, false);
    }
    small(&mut t, "norm.weight".into(), &[d]);
    // Action head.
    let h = config.dit.hidden_size;
    let a = config.action_dim;
    linear(&mut t, "decoder_c.combine", d, d + config.state_dim, true, false);
    let n = "decoder_c.net";
    linear(&mut t, &format!("{n}.x_embedder.linear"), h, a, true, false);
    linear(
        &mut t,
        &format!("{n}.t_embedder.mlp.0"),
        h,
        config.dit.frequency_embedding_size,
        true,
        false,
    );
    linear(&mut t, &format!("{n}.t_embedder.mlp.2"), h, h, true, false);
    linear(&mut t, &format!("{n}.z_embedder.linear"), h, d, true, false);
    if config.enable_cfg {
        small(&mut t, format!("{n}.z_embedder.uncondition"), &[1, d]);
    }
    small(&mut t, format!("{n}.positional_embedding"), &[config.action_len + 1, h]);
    for j in 0..config.dit.depth {
        let p = format!("{n}.blocks.{j}");
        linear(&mut t, &format!("{p}.attn.qkv"), 3 * h, h, true, false);
        linear(&mut t, &format!("{p}.attn.proj"), h, h, true, false);
        linear(&mut t, &format!("{p}.mlp.fc1"), config.dit.mlp_hidden, h, true, false);
        linear(&mut t, &format!("{p}.mlp.fc2"), h, config.dit.mlp_hidden, true, false);
    }
    linear(&mut t, &format!("{n}.final_layer.linear"), a, h, true, false);
    t
}

/// The backbone parameters whose left/right mean serves the common segment, per layer.
pub const COMMON_PARAMS: [&str; 9] = [
    "input_layernorm.weight",
    "post_attention_layernorm.weight",
    "self_attn.q_proj.weight",
    "self_attn.q_proj.bias",
    "self_attn.k_proj.weight",
    "self_attn.k_proj.bias",
    "self_attn.v_proj.weight",
    "self_attn.v_proj.bias",
    "self_attn.o_proj.weight",
];

/// Name of the derived common-segment tensor for backbone parameter `param` of layer `layer`.
pub fn mean_name(layer: usize, param: &str) -> String {
    format!("backbone_l.{layer}.{param}{MEAN_SUFFIX}")
}

/// Every tensor of the model file: the checkpoint's plus the derived means.
pub fn model_file_tensors(config: &ModelConfig) -> Vec<TensorDef> {
    let mut t = checkpoint_tensors(config);
    let by_name: std::collections::HashMap<String, TensorDef> =
        t.iter().map(|d| (d.name.clone(), d.clone())).collect();
    for i in 0..config.llm.num_layers {
        for param in COMMON_PARAMS {
            let left = format!("backbone_l.{i}.{param}");
            let right = format!("backbone_r.{i}.{param}");
            if let Some(def) = by_name.get(&left) {
                t.push(TensorDef {
                    name: mean_name(i, param),
                    shape: def.shape.clone(),
                    role: def.role,
                    mean_of: Some([left, right]),
                });
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_checkpoint_has_exactly_the_catalogue() {
        let config = ModelConfig::from_hf(
            include_str!("../../tests/fixtures/golden-tiny/checkpoint/config.json"),
            None,
        )
        .unwrap();
        let defs = checkpoint_tensors(&config);
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/golden-tiny/checkpoint/model.safetensors"
        ))
        .unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
        names.sort();
        let mut ours: Vec<String> = defs.iter().map(|d| d.name.clone()).collect();
        ours.sort();
        assert_eq!(ours, names);
        for d in &defs {
            assert_eq!(st.tensor(&d.name).unwrap().shape(), d.shape.as_slice(), "{}", d.name);
        }
        assert_eq!(model_file_tensors(&config).len(), defs.len() + 24 * 9);
    }
}

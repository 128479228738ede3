//! The model configuration: every size the runtime needs, read from the checkpoint's
//! `config.json` (with its nested SingleVLA config), validated, and carried in the model file.
//!
//! Nothing about the model's shape is a constant in code: layer counts, widths, head counts,
//! the DiT size and the action layout all come from here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// SigLIP vision tower sizes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisionConfig {
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// MLP width (may not be a multiple of 32; quantized rows are padded).
    pub intermediate_size: usize,
    /// Encoder layers.
    pub num_layers: usize,
    /// Input resolution (square).
    pub image_size: usize,
    /// Patch size of the stem convolution.
    pub patch_size: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f32,
}

impl VisionConfig {
    /// Patches per side.
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }

    /// Patch tokens per image.
    pub fn num_patches(&self) -> usize {
        self.grid() * self.grid()
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_heads
    }
}

/// Qwen2 decoder sizes (each arm's backbone has these).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlmConfig {
    /// Width of the residual stream (`D`).
    pub hidden_size: usize,
    /// Query heads.
    pub num_heads: usize,
    /// Key/value heads (GQA).
    pub num_kv_heads: usize,
    /// SwiGLU width.
    pub intermediate_size: usize,
    /// Decoder layers per arm.
    pub num_layers: usize,
    /// RoPE base.
    pub rope_theta: f64,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f32,
    /// Rows of the token embedding.
    pub vocab_size: usize,
}

impl LlmConfig {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_heads
    }
}

/// The DiT flow-matching action head.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DitConfig {
    /// Size name from the checkpoint (`DiT-S`, `DiT-B`, `DiT-L`, or `DiT-Tiny`).
    pub size_name: String,
    /// Transformer blocks.
    pub depth: usize,
    /// Width.
    pub hidden_size: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Width of the sinusoidal time embedding.
    pub frequency_embedding_size: usize,
    /// MLP width (`4 * hidden_size`).
    pub mlp_hidden: usize,
}

/// Proprio/action normalisation mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalization {
    /// `q01`/`q99` quantile scaling to `[-1, 1]`.
    Quantile,
    /// No normalisation.
    Normal,
}

/// Everything the runtime needs to know about a TwinVLA model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Vision tower.
    pub vision: VisionConfig,
    /// Language backbone (per arm).
    pub llm: LlmConfig,
    /// Action head.
    pub dit: DitConfig,
    /// Pixel-shuffle ratio (0.5).
    pub downsample_ratio: f32,
    /// Values per arm per action step.
    pub action_dim: usize,
    /// Steps per action chunk.
    pub action_len: usize,
    /// Proprio values per arm.
    pub state_dim: usize,
    /// Readout tokens per arm.
    pub num_readouts: usize,
    /// When true the readout slots keep token 0's embedding (no learned action tokens).
    pub readout_token_as_eos: bool,
    /// Whether attention weights on common keys are doubled and renormalised.
    pub attn_reweighting: bool,
    /// Whether the action head has an unconditional embedding (classifier-free guidance).
    pub enable_cfg: bool,
    /// Default number of flow-matching steps.
    pub denoising_steps: usize,
    /// Proprio/action normalisation.
    pub normalization: Normalization,
}

impl ModelConfig {
    /// Image tokens per image after pixel shuffle.
    pub fn image_tokens(&self) -> usize {
        let side = (self.vision.grid() as f32 * self.downsample_ratio) as usize;
        side * side
    }

    /// Width of a pixel-shuffled vision token (`C / ratio^2`).
    pub fn shuffled_width(&self) -> usize {
        (self.vision.hidden_size as f32 / (self.downsample_ratio * self.downsample_ratio)) as usize
    }
}

/// Why a checkpoint configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A field is missing or has the wrong JSON type.
    #[error("config field '{0}' is missing or not of the expected type")]
    Missing(String),
    /// A switch is set to a value this runtime does not implement.
    #[error("unsupported config: {field} = {value} ({why})")]
    Unsupported {
        /// Dotted field name.
        field: String,
        /// The value found.
        value: String,
        /// Why it is refused.
        why: &'static str,
    },
    /// Sizes that contradict each other.
    #[error("inconsistent config: {0}")]
    Inconsistent(String),
    /// The JSON text does not parse.
    #[error("config is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The DiT sizes of the reference's table, plus the `DiT-Tiny` test size.
/// Returns `(depth, hidden, heads)`.
pub fn dit_size(name: &str) -> Option<(usize, usize, usize)> {
    match name {
        "DiT-S" => Some((6, 384, 4)),
        "DiT-B" => Some((12, 768, 12)),
        "DiT-L" => Some((24, 1024, 16)),
        "DiT-Tiny" => Some((2, 64, 4)),
        _ => None,
    }
}

struct Fields<'a> {
    root: &'a Value,
    prefix: String,
}

impl Fields<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.root.get(key)
    }
    fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }
    fn usize(&self, key: &str) -> Result<usize, ConfigError> {
        self.get(key)
            .and_then(Value::as_u64)
            .map(|v| v as usize)
            .ok_or_else(|| ConfigError::Missing(self.name(key)))
    }
    fn f64(&self, key: &str) -> Result<f64, ConfigError> {
        self.get(key).and_then(Value::as_f64).ok_or_else(|| ConfigError::Missing(self.name(key)))
    }
    fn bool_or(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| ConfigError::Missing(self.name(key))),
        }
    }
    fn str_or<'b>(&'b self, key: &str, default: &'b str) -> Result<&'b str, ConfigError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_str().ok_or_else(|| ConfigError::Missing(self.name(key))),
        }
    }
    fn sub<'b>(&'b self, key: &str) -> Result<Fields<'b>, ConfigError> {
        let root = self
            .get(key)
            .filter(|v| v.is_object())
            .ok_or_else(|| ConfigError::Missing(self.name(key)))?;
        Ok(Fields { root, prefix: key.to_string() })
    }
}

fn require(
    field: &str,
    ok: bool,
    value: impl ToString,
    why: &'static str,
) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Unsupported { field: field.to_string(), value: value.to_string(), why })
    }
}

impl ModelConfig {
    /// Reads the TwinVLA `config.json` text and the SingleVLA config it names
    /// (`singlevla_config/config.json`, or the copy nested under `singlevla_config`).
    pub fn from_hf(twin_json: &str, singlevla_json: Option<&str>) -> Result<Self, ConfigError> {
        let twin: Value = serde_json::from_str(twin_json)?;
        let single_owned: Value = match singlevla_json {
            Some(text) => serde_json::from_str(text)?,
            None => twin
                .get("singlevla_config")
                .cloned()
                .ok_or_else(|| ConfigError::Missing("singlevla_config".into()))?,
        };
        let t = Fields { root: &twin, prefix: String::new() };
        let s = Fields { root: &single_owned, prefix: "singlevla_config".into() };

        let model_type = t.str_or("model_type", "")?;
        require(
            "model_type",
            model_type == "Eagle2_1BTwinVLA",
            model_type,
            "only the Eagle2-1B TwinVLA layout is implemented",
        )?;
        for (field, default) in [
            ("enable_moe", true),
            ("enable_joint_attn", true),
            ("share_vision", true),
            ("share_decoder", true),
            ("share_embed_tokens", true),
        ] {
            let v = t.bool_or(field, default)?;
            require(field, v, v, "the runtime implements the released layout where this is true")?;
        }
        let ki = t.bool_or("knowledge_insulation", false)?;
        require(
            "knowledge_insulation",
            !ki,
            ki,
            "knowledge-insulation training mode has no inference path here",
        )?;
        let modeling = t.str_or("modeling", "denoising")?;
        require(
            "modeling",
            modeling == "denoising",
            modeling,
            "only the denoising action head is implemented",
        )?;
        let head = t.str_or("action_head", "DiT")?;
        require("action_head", head == "DiT", head, "only the DiT action head is implemented")?;
        let denoiser = t.str_or("denoiser", "FM")?;
        require("denoiser", denoiser == "FM", denoiser, "only flow matching is implemented")?;
        let normalization = match t.str_or("normalization", "quantile")? {
            "quantile" => Normalization::Quantile,
            "normal" => Normalization::Normal,
            "minmax" => {
                return Err(ConfigError::Unsupported {
                    field: "normalization".into(),
                    value: "minmax".into(),
                    why: "upstream normalises minmax inputs but never un-normalises its actions",
                })
            }
            other => {
                return Err(ConfigError::Unsupported {
                    field: "normalization".into(),
                    value: other.into(),
                    why: "unknown normalisation mode",
                })
            }
        };
        let num_readouts = t.usize("num_readouts")?;
        require(
            "num_readouts",
            num_readouts == 1,
            num_readouts,
            "one readout token per arm is implemented",
        )?;
        let aggregation = s.str_or("aggregation", "None")?;
        require(
            "singlevla_config.aggregation",
            aggregation == "None",
            aggregation,
            "readout aggregation is not implemented",
        )?;

        let v = s.sub("vision_config")?;
        let act = v.str_or("hidden_act", "gelu_pytorch_tanh")?;
        require(
            "vision_config.hidden_act",
            act == "gelu_pytorch_tanh",
            act,
            "SigLIP's tanh GELU is implemented",
        )?;
        let vision_use_head = v.bool_or("vision_use_head", false)?;
        require(
            "vision_config.vision_use_head",
            !vision_use_head,
            vision_use_head,
            "the pooling head is unused by TwinVLA",
        )?;
        let vision = VisionConfig {
            hidden_size: v.usize("hidden_size")?,
            num_heads: v.usize("num_attention_heads")?,
            intermediate_size: v.usize("intermediate_size")?,
            num_layers: v.usize("num_hidden_layers")?,
            image_size: s
                .get("force_image_size")
                .and_then(Value::as_u64)
                .map(|x| x as usize)
                .map_or_else(|| v.usize("image_size"), Ok)?,
            patch_size: v.usize("patch_size")?,
            layer_norm_eps: v.f64("layer_norm_eps")? as f32,
        };
        let l = s.sub("llm_config")?;
        let act = l.str_or("hidden_act", "silu")?;
        require("llm_config.hidden_act", act == "silu", act, "Qwen2's SwiGLU is implemented")?;
        let llm = LlmConfig {
            hidden_size: l.usize("hidden_size")?,
            num_heads: l.usize("num_attention_heads")?,
            num_kv_heads: l.usize("num_key_value_heads")?,
            intermediate_size: l.usize("intermediate_size")?,
            num_layers: l.usize("num_hidden_layers")?,
            rope_theta: l.f64("rope_theta")?,
            rms_norm_eps: l.f64("rms_norm_eps")? as f32,
            vocab_size: l.usize("vocab_size")?,
        };
        let ratio = s.f64("downsample_ratio")? as f32;
        require(
            "singlevla_config.downsample_ratio",
            ratio == 0.5,
            ratio,
            "the 0.5 pixel shuffle is implemented",
        )?;
        let ps = s.str_or("ps_version", "v2")?;
        require("singlevla_config.ps_version", ps == "v2", ps, "pixel shuffle v2 is implemented")?;
        let select = s.get("select_layer").and_then(Value::as_i64).unwrap_or(-1);
        require(
            "singlevla_config.select_layer",
            select == -1,
            select,
            "the last vision layer is used",
        )?;

        let size_name = s.str_or("dit_size", "")?.to_string();
        let (depth, hidden, heads) = dit_size(&size_name).ok_or(ConfigError::Unsupported {
            field: "singlevla_config.dit_size".into(),
            value: size_name.clone(),
            why: "not one of DiT-S, DiT-B, DiT-L, DiT-Tiny (the head count cannot be inferred)",
        })?;
        let enable_cfg = s.bool_or("enable_cfg", false)?;
        let config = ModelConfig {
            vision,
            llm,
            dit: DitConfig {
                size_name,
                depth,
                hidden_size: hidden,
                num_heads: heads,
                frequency_embedding_size: 256,
                mlp_hidden: 4 * hidden,
            },
            downsample_ratio: ratio,
            action_dim: t.usize("action_dim")?,
            action_len: t.usize("action_len")?,
            state_dim: t.usize("state_dim")?,
            num_readouts,
            readout_token_as_eos: t.bool_or("readout_token_as_eos", false)?,
            attn_reweighting: t.bool_or("attn_reweighting", false)?,
            enable_cfg,
            denoising_steps: s.get("test_denoising_steps").and_then(Value::as_u64).unwrap_or(10)
                as usize,
            normalization,
        };
        config.check()?;
        Ok(config)
    }

    /// Checks that the sizes agree with each other.
    pub fn check(&self) -> Result<(), ConfigError> {
        let v = &self.vision;
        let l = &self.llm;
        let bad = |msg: String| Err(ConfigError::Inconsistent(msg));
        if v.num_heads == 0 || v.hidden_size % v.num_heads != 0 {
            return bad(format!(
                "vision hidden {} not divisible by {} heads",
                v.hidden_size, v.num_heads
            ));
        }
        if v.patch_size == 0 || v.image_size % v.patch_size != 0 || v.grid() % 2 != 0 {
            return bad(format!(
                "image {} / patch {} must give an even grid",
                v.image_size, v.patch_size
            ));
        }
        if l.num_heads == 0
            || l.num_kv_heads == 0
            || l.hidden_size % l.num_heads != 0
            || l.num_heads % l.num_kv_heads != 0
        {
            return bad(format!(
                "llm hidden {} / heads {} / kv heads {}",
                l.hidden_size, l.num_heads, l.num_kv_heads
            ));
        }
        if l.head_dim() % 2 != 0 {
            return bad(format!("llm head_dim {} must be even for RoPE", l.head_dim()));
        }
        if self.dit.hidden_size % self.dit.num_heads != 0 {
            return bad(format!(
                "DiT hidden {} not divisible by {} heads",
                self.dit.hidden_size, self.dit.num_heads
            ));
        }
        for (what, hd) in [
            ("vision", v.head_dim()),
            ("llm", l.head_dim()),
            ("DiT", self.dit.hidden_size / self.dit.num_heads),
        ] {
            if hd % 4 != 0 || hd > 128 {
                return bad(format!(
                    "{what} head width {hd} must be a multiple of 4 and at most 128"
                ));
            }
        }
        if self.action_len % 2 != 0 {
            return bad(format!(
                "action_len {} must be even (two arms' rows are interleaved by halves)",
                self.action_len
            ));
        }
        if [
            v.num_layers,
            l.num_layers,
            self.dit.depth,
            self.action_dim,
            self.state_dim,
            l.vocab_size,
        ]
        .contains(&0)
        {
            return bad("a layer count or dimension is zero".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWIN: &str = include_str!("../../tests/fixtures/golden-tiny/checkpoint/config.json");
    const SINGLE: &str =
        include_str!("../../tests/fixtures/golden-tiny/checkpoint/singlevla_config/config.json");

    #[test]
    fn reads_the_golden_config() {
        let c = ModelConfig::from_hf(TWIN, Some(SINGLE)).unwrap();
        assert_eq!(c.llm.num_layers, 24);
        assert_eq!(c.llm.hidden_size, 64);
        assert_eq!(c.vision.num_patches(), 1024);
        assert_eq!(c.image_tokens(), 256);
        assert_eq!(c.shuffled_width(), 128);
        assert_eq!(c.dit.depth, 2);
        assert!(c.attn_reweighting && c.enable_cfg && !c.readout_token_as_eos);
        assert_eq!(ModelConfig::from_hf(TWIN, None).unwrap(), c);
    }

    #[test]
    fn refuses_switches_with_the_field_name() {
        for (from, to, field) in [
            ("\"enable_moe\": true", "\"enable_moe\": false", "enable_moe"),
            ("\"normalization\": \"quantile\"", "\"normalization\": \"minmax\"", "minmax"),
            ("\"share_decoder\": true", "\"share_decoder\": false", "share_decoder"),
        ] {
            let text = TWIN.replacen(from, to, 1);
            assert_ne!(text, TWIN, "fixture lacks {from}");
            let err = ModelConfig::from_hf(&text, Some(SINGLE)).unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
        }
        let text = SINGLE.replace("\"DiT-Tiny\"", "\"DiT-XXL\"");
        let err = ModelConfig::from_hf(TWIN, Some(&text)).unwrap_err().to_string();
        assert!(err.contains("dit_size"), "{err}");
    }
}

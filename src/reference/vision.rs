//! The SigLIP vision tower: patch embedding plus learned position embedding, pre-LN encoder
//! layers (attention and a tanh-GELU MLP), and the final `post_layernorm`. No pooling head.
//!
//! Input: one normalised image, CHW `[3, image_size, image_size]`. Output: the last hidden
//! state `[num_patches, hidden]`, patches in raster order.

use super::activation::gelu_tanh;
use super::attention::{attention, AttentionShape};
use super::error::ReferenceError;
use super::layers::{LayerNorm, Linear};
use super::patch_embed::patch_embed;
use super::weights::{load, WeightSource};
use crate::model::config::VisionConfig;

const PREFIX: &str = "vision_c.vision_model";

/// One pre-LN encoder layer.
struct Layer {
    norm1: LayerNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

/// The SigLIP vision tower with its weights.
pub struct Vision {
    config: VisionConfig,
    patch_weight: Vec<f32>,
    patch_bias: Vec<f32>,
    position: Vec<f32>,
    layers: Vec<Layer>,
    post_norm: LayerNorm,
}

impl Vision {
    /// Loads the tower's weights (`vision_c.vision_model.*`).
    pub fn new(weights: &dyn WeightSource, config: &VisionConfig) -> Result<Self, ReferenceError> {
        let c = config.hidden_size;
        let p = config.patch_size;
        let mlp = config.intermediate_size;
        let eps = config.layer_norm_eps;
        let embeddings = format!("{PREFIX}.embeddings");
        let layers = (0..config.num_layers)
            .map(|i| {
                let l = format!("{PREFIX}.encoder.layers.{i}");
                Ok(Layer {
                    norm1: LayerNorm::load(weights, &format!("{l}.layer_norm1"), c, eps)?,
                    q: Linear::load(weights, &format!("{l}.self_attn.q_proj"), c, c, true)?,
                    k: Linear::load(weights, &format!("{l}.self_attn.k_proj"), c, c, true)?,
                    v: Linear::load(weights, &format!("{l}.self_attn.v_proj"), c, c, true)?,
                    out: Linear::load(weights, &format!("{l}.self_attn.out_proj"), c, c, true)?,
                    norm2: LayerNorm::load(weights, &format!("{l}.layer_norm2"), c, eps)?,
                    fc1: Linear::load(weights, &format!("{l}.mlp.fc1"), mlp, c, true)?,
                    fc2: Linear::load(weights, &format!("{l}.mlp.fc2"), c, mlp, true)?,
                })
            })
            .collect::<Result<Vec<_>, ReferenceError>>()?;
        Ok(Self {
            config: config.clone(),
            patch_weight: load(
                weights,
                &format!("{embeddings}.patch_embedding.weight"),
                c * 3 * p * p,
            )?,
            patch_bias: load(weights, &format!("{embeddings}.patch_embedding.bias"), c)?,
            position: load(
                weights,
                &format!("{embeddings}.position_embedding.weight"),
                config.num_patches() * c,
            )?,
            layers,
            post_norm: LayerNorm::load(weights, &format!("{PREFIX}.post_layernorm"), c, eps)?,
        })
    }

    /// The last hidden state `[num_patches, hidden]` of one CHW image
    /// `[3, image_size, image_size]`.
    pub fn forward(&self, pixel_values: &[f32]) -> Result<Vec<f32>, ReferenceError> {
        let cfg = &self.config;
        let side = cfg.image_size;
        if pixel_values.len() != 3 * side * side {
            return Err(ReferenceError::Input(format!(
                "vision input has {} values, expected 3 x {side} x {side}",
                pixel_values.len()
            )));
        }
        let c = cfg.hidden_size;
        let n = cfg.num_patches();
        let mut x = patch_embed(
            pixel_values,
            3,
            side,
            side,
            cfg.patch_size,
            &self.patch_weight,
            &self.patch_bias,
            c,
        );
        for (v, p) in x.iter_mut().zip(&self.position) {
            *v += p;
        }
        let shape = AttentionShape {
            q_tokens: n,
            k_tokens: n,
            heads: cfg.num_heads,
            kv_heads: cfg.num_heads,
            head_dim: cfg.head_dim(),
        };
        let scale = (cfg.head_dim() as f32).powf(-0.5);
        for layer in &self.layers {
            let h = layer.norm1.apply(&x);
            let (q, k, v) = (layer.q.apply(&h, n), layer.k.apply(&h, n), layer.v.apply(&h, n));
            let a = attention(&q, &k, &v, shape, scale, &|_, _| Some(0.0));
            for (xi, oi) in x.iter_mut().zip(layer.out.apply(&a, n)) {
                *xi += oi;
            }
            let h = layer.norm2.apply(&x);
            let mut m = layer.fc1.apply(&h, n);
            m.iter_mut().for_each(|v| *v = gelu_tanh(*v));
            for (xi, oi) in x.iter_mut().zip(layer.fc2.apply(&m, n)) {
                *xi += oi;
            }
        }
        Ok(self.post_norm.apply(&x))
    }
}

//! The DiT denoiser of the action head (`decoder_c.net`): predicts the flow-matching velocity
//! of a noisy action sequence given a time and a condition.
//!
//! For each batch row: `c = t_embedder(t) + z_embedder.linear(z)` (sinusoidal embedding,
//! Linear, SiLU, Linear); the sequence `[c ; x_embedder(x)]` plus `positional_embedding`;
//! `depth` pre-LN blocks (LayerNorm without affine, eps 1e-6; fused-qkv attention; MLP with
//! tanh GELU); a final LayerNorm without affine and a Linear to the action width; the first
//! row (the condition's) is dropped.

use super::activation::{gelu_tanh, silu};
use super::attention::{attention, AttentionShape};
use super::error::ReferenceError;
use super::layers::Linear;
use super::norm::layer_norm;
use super::timestep::timestep_embedding;
use super::weights::{load, WeightSource};
use crate::model::config::ModelConfig;

const PREFIX: &str = "decoder_c.net";
/// Epsilon of the DiT's affine-free LayerNorms.
const LAYER_NORM_EPS: f32 = 1e-6;
/// `max_period` of the timestep embedding.
const MAX_PERIOD: f32 = 10000.0;

/// One DiT block.
struct Block {
    qkv: Linear,
    proj: Linear,
    fc1: Linear,
    fc2: Linear,
}

/// The DiT with its weights.
pub struct Dit {
    hidden: usize,
    heads: usize,
    frequency_size: usize,
    action_len: usize,
    action_dim: usize,
    token_size: usize,
    x_embedder: Linear,
    t_fc1: Linear,
    t_fc2: Linear,
    z_embedder: Linear,
    positional: Vec<f32>,
    blocks: Vec<Block>,
    final_linear: Linear,
}

impl Dit {
    /// Loads `decoder_c.net.*`.
    pub fn new(weights: &dyn WeightSource, config: &ModelConfig) -> Result<Self, ReferenceError> {
        let dit = &config.dit;
        let h = dit.hidden_size;
        let d = config.llm.hidden_size;
        let blocks = (0..dit.depth)
            .map(|j| {
                let p = format!("{PREFIX}.blocks.{j}");
                Ok(Block {
                    qkv: Linear::load(weights, &format!("{p}.attn.qkv"), 3 * h, h, true)?,
                    proj: Linear::load(weights, &format!("{p}.attn.proj"), h, h, true)?,
                    fc1: Linear::load(weights, &format!("{p}.mlp.fc1"), dit.mlp_hidden, h, true)?,
                    fc2: Linear::load(weights, &format!("{p}.mlp.fc2"), h, dit.mlp_hidden, true)?,
                })
            })
            .collect::<Result<Vec<_>, ReferenceError>>()?;
        let a = config.action_dim;
        let f = dit.frequency_embedding_size;
        Ok(Self {
            hidden: h,
            heads: dit.num_heads,
            frequency_size: f,
            action_len: config.action_len,
            action_dim: a,
            token_size: d,
            x_embedder: Linear::load(weights, &format!("{PREFIX}.x_embedder.linear"), h, a, true)?,
            t_fc1: Linear::load(weights, &format!("{PREFIX}.t_embedder.mlp.0"), h, f, true)?,
            t_fc2: Linear::load(weights, &format!("{PREFIX}.t_embedder.mlp.2"), h, h, true)?,
            z_embedder: Linear::load(weights, &format!("{PREFIX}.z_embedder.linear"), h, d, true)?,
            positional: load(
                weights,
                &format!("{PREFIX}.positional_embedding"),
                (config.action_len + 1) * h,
            )?,
            blocks,
            final_linear: Linear::load(
                weights,
                &format!("{PREFIX}.final_layer.linear"),
                a,
                h,
                true,
            )?,
        })
    }

    /// The predicted velocity `[rows, action_len, action_dim]` of the actions `x`
    /// (`[rows, action_len, action_dim]`) at time `t`, each row conditioned on its row of `z`
    /// (`[rows, D]`).
    pub fn forward(
        &self,
        x: &[f32],
        rows: usize,
        t: f32,
        z: &[f32],
    ) -> Result<Vec<f32>, ReferenceError> {
        let (len, dim, h) = (self.action_len, self.action_dim, self.hidden);
        if x.len() != rows * len * dim || z.len() != rows * self.token_size {
            return Err(ReferenceError::Input(format!(
                "DiT input has {} action values and {} condition values for {rows} rows \
                 (expected {} and {})",
                x.len(),
                z.len(),
                rows * len * dim,
                rows * self.token_size
            )));
        }
        let t_freq = timestep_embedding(t, self.frequency_size, MAX_PERIOD);
        let mut t_emb = self.t_fc1.apply(&t_freq, 1);
        t_emb.iter_mut().for_each(|v| *v = silu(*v));
        let t_emb = self.t_fc2.apply(&t_emb, 1);
        let tokens = len + 1;
        let shape = AttentionShape {
            q_tokens: tokens,
            k_tokens: tokens,
            heads: self.heads,
            kv_heads: self.heads,
            head_dim: h / self.heads,
        };
        let scale = ((h / self.heads) as f32).powf(-0.5);
        let mut out = Vec::with_capacity(rows * len * dim);
        for (x_row, z_row) in x.chunks_exact(len * dim).zip(z.chunks_exact(self.token_size)) {
            let z_emb = self.z_embedder.apply(z_row, 1);
            let mut s: Vec<f32> = t_emb.iter().zip(&z_emb).map(|(a, b)| a + b).collect();
            s.extend(self.x_embedder.apply(x_row, len));
            for (v, p) in s.iter_mut().zip(&self.positional) {
                *v += p;
            }
            for block in &self.blocks {
                let n1 = layer_norm(&s, h, None, None, LAYER_NORM_EPS);
                let qkv = block.qkv.apply(&n1, tokens);
                let part = |i: usize| -> Vec<f32> {
                    qkv.chunks_exact(3 * h).flat_map(|r| r[i * h..(i + 1) * h].to_vec()).collect()
                };
                let a = attention(&part(0), &part(1), &part(2), shape, scale, &|_, _| Some(0.0));
                for (si, oi) in s.iter_mut().zip(block.proj.apply(&a, tokens)) {
                    *si += oi;
                }
                let n2 = layer_norm(&s, h, None, None, LAYER_NORM_EPS);
                let mut m = block.fc1.apply(&n2, tokens);
                m.iter_mut().for_each(|v| *v = gelu_tanh(*v));
                for (si, oi) in s.iter_mut().zip(block.fc2.apply(&m, tokens)) {
                    *si += oi;
                }
            }
            let y = self.final_linear.apply(&layer_norm(&s, h, None, None, LAYER_NORM_EPS), tokens);
            out.extend_from_slice(&y[dim..]);
        }
        Ok(out)
    }
}

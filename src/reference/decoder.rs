//! The twin decoder: two Qwen2 backbones (left and right arm) run over one joint sequence
//! `[common | left | right]`, with the common segment served by the mean of both backbones.
//!
//! Per layer, for each segment's rows:
//! - input RMSNorm and the q/k/v projections use the left backbone's weights on left rows,
//!   the right's on right rows and the `.mean_lr` (fused) weights on common rows;
//! - RoPE at the layout's position ids; one joint attention over the whole sequence with the
//!   [`TwinMask`] (and its `ln 2` re-weighting of common keys); the output projection again
//!   per segment; residual;
//! - post-attention RMSNorm per segment (fused for common rows); the SwiGLU MLP: left rows
//!   `mlp_l`, right rows `mlp_r`, common rows the expert that `gates.i` picks per token
//!   ([`top1`]); residual.
//!
//! A final shared RMSNorm (`norm`) follows.

use super::attention::{attention, AttentionShape};
use super::error::ReferenceError;
use super::layers::Linear;
use super::moe::top1;
use super::norm::rms_norm;
use super::rope::rope;
use super::swiglu::swiglu;
use super::twin_mask::TwinMask;
use super::weights::{load, WeightSource};
use crate::model::config::{LlmConfig, ModelConfig};
use crate::model::prompt::segment;
use crate::model::tensors::mean_name;

/// The norms and attention projections one segment's rows use in one layer.
struct AttentionWeights {
    input_norm: Vec<f32>,
    post_norm: Vec<f32>,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
}

impl AttentionWeights {
    /// One backbone's weights (`backbone_l` or `backbone_r`).
    fn backbone(
        weights: &dyn WeightSource,
        llm: &LlmConfig,
        side: &str,
        layer: usize,
    ) -> Result<Self, ReferenceError> {
        let p = format!("backbone_{side}.{layer}");
        let (d, hd) = (llm.hidden_size, llm.head_dim());
        Ok(Self {
            input_norm: load(weights, &format!("{p}.input_layernorm.weight"), d)?,
            post_norm: load(weights, &format!("{p}.post_attention_layernorm.weight"), d)?,
            q: Linear::load(
                weights,
                &format!("{p}.self_attn.q_proj"),
                llm.num_heads * hd,
                d,
                true,
            )?,
            k: Linear::load(
                weights,
                &format!("{p}.self_attn.k_proj"),
                llm.num_kv_heads * hd,
                d,
                true,
            )?,
            v: Linear::load(
                weights,
                &format!("{p}.self_attn.v_proj"),
                llm.num_kv_heads * hd,
                d,
                true,
            )?,
            o: Linear::load(
                weights,
                &format!("{p}.self_attn.o_proj"),
                d,
                llm.num_heads * hd,
                false,
            )?,
        })
    }

    /// The fused common-segment weights (`….mean_lr`).
    fn common(
        weights: &dyn WeightSource,
        llm: &LlmConfig,
        layer: usize,
    ) -> Result<Self, ReferenceError> {
        let (d, hd) = (llm.hidden_size, llm.head_dim());
        let m = |param: &str| mean_name(layer, param);
        let proj = |name: &str, out: usize, bias: bool| {
            let bias_name = m(&format!("self_attn.{name}.bias"));
            Linear::load_named(
                weights,
                &m(&format!("self_attn.{name}.weight")),
                bias.then_some(bias_name.as_str()),
                out,
                d,
            )
        };
        Ok(Self {
            input_norm: load(weights, &m("input_layernorm.weight"), d)?,
            post_norm: load(weights, &m("post_attention_layernorm.weight"), d)?,
            q: proj("q_proj", llm.num_heads * hd, true)?,
            k: proj("k_proj", llm.num_kv_heads * hd, true)?,
            v: proj("v_proj", llm.num_kv_heads * hd, true)?,
            o: Linear::load_named(
                weights,
                &m("self_attn.o_proj.weight"),
                None,
                d,
                llm.num_heads * hd,
            )?,
        })
    }
}

/// One backbone's SwiGLU MLP.
struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl Mlp {
    fn load(
        weights: &dyn WeightSource,
        llm: &LlmConfig,
        side: &str,
        layer: usize,
    ) -> Result<Self, ReferenceError> {
        let p = format!("backbone_{side}.{layer}.mlp");
        let (d, f) = (llm.hidden_size, llm.intermediate_size);
        Ok(Self {
            gate: Linear::load(weights, &format!("{p}.gate_proj"), f, d, false)?,
            up: Linear::load(weights, &format!("{p}.up_proj"), f, d, false)?,
            down: Linear::load(weights, &format!("{p}.down_proj"), d, f, false)?,
        })
    }

    /// `down(silu(gate(x)) * up(x))` for `rows` rows.
    fn apply(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let h = swiglu(&self.gate.apply(x, rows), &self.up.apply(x, rows));
        self.down.apply(&h, rows)
    }
}

/// One twin decoder layer.
struct Layer {
    /// Indexed by segment id: common (fused), left, right.
    attention: [AttentionWeights; 3],
    /// Left and right experts.
    mlp: [Mlp; 2],
    /// The common tokens' router `gates.i` (`[2, D]` and bias).
    gate: Linear,
}

/// What the decoder computed, layer by layer.
#[derive(Clone, Debug)]
pub struct DecoderTrace {
    /// The residual stream `[tokens, D]` after each layer.
    pub hidden: Vec<Vec<f32>>,
    /// The final RMSNorm of the last layer's residual stream, `[tokens, D]`.
    pub final_hidden: Vec<f32>,
    /// Per layer, the router logits `[n_common, 2]` of the common tokens.
    pub gate_logits: Vec<Vec<f32>>,
    /// Per layer, the chosen expert of each common token (0 = left MLP, 1 = right MLP).
    pub experts: Vec<Vec<u8>>,
}

/// The twin decoder with its weights.
pub struct TwinDecoder {
    llm: LlmConfig,
    attn_reweighting: bool,
    layers: Vec<Layer>,
    final_norm: Vec<f32>,
}

/// The contiguous segments of `ci_ids`: `[common, left, right]` row ranges.
fn segments(ci_ids: &[u8]) -> Result<[std::ops::Range<usize>; 3], ReferenceError> {
    if let Some(pos) = ci_ids.windows(2).position(|w| w[1] < w[0]) {
        return Err(ReferenceError::Input(format!(
            "segment ids must run common, left, right; position {} goes from {} back to {}",
            pos + 1,
            ci_ids[pos],
            ci_ids[pos + 1]
        )));
    }
    let count = |c: u8| ci_ids.iter().filter(|&&x| x == c).count();
    let (n0, n1) = (count(segment::COMMON), count(segment::LEFT));
    Ok([0..n0, n0..n0 + n1, n0 + n1..ci_ids.len()])
}

impl TwinDecoder {
    /// Loads both backbones, the fused common weights, the routers and the final norm.
    pub fn new(weights: &dyn WeightSource, config: &ModelConfig) -> Result<Self, ReferenceError> {
        let llm = &config.llm;
        let d = llm.hidden_size;
        let layers = (0..llm.num_layers)
            .map(|i| {
                Ok(Layer {
                    attention: [
                        AttentionWeights::common(weights, llm, i)?,
                        AttentionWeights::backbone(weights, llm, "l", i)?,
                        AttentionWeights::backbone(weights, llm, "r", i)?,
                    ],
                    mlp: [Mlp::load(weights, llm, "l", i)?, Mlp::load(weights, llm, "r", i)?],
                    gate: Linear::load(weights, &format!("gates.{i}"), 2, d, true)?,
                })
            })
            .collect::<Result<Vec<_>, ReferenceError>>()?;
        Ok(Self {
            llm: llm.clone(),
            attn_reweighting: config.attn_reweighting,
            layers,
            final_norm: load(weights, "norm.weight", d)?,
        })
    }

    /// Runs every layer over `input_embeds` (`[tokens, D]`), whose positions have segment
    /// ids `ci_ids` (in the order common, left, right) and RoPE positions `position_ids`.
    pub fn forward(
        &self,
        input_embeds: &[f32],
        ci_ids: &[u8],
        position_ids: &[u32],
    ) -> Result<DecoderTrace, ReferenceError> {
        let llm = &self.llm;
        let (d, hd) = (llm.hidden_size, llm.head_dim());
        let n = ci_ids.len();
        if input_embeds.len() != n * d || position_ids.len() != n {
            return Err(ReferenceError::Input(format!(
                "decoder input has {} values and {} positions for {n} tokens of width {d}",
                input_embeds.len(),
                position_ids.len()
            )));
        }
        let mask = TwinMask::new(ci_ids, self.attn_reweighting)?;
        let segments = segments(ci_ids)?;
        let shape = AttentionShape {
            q_tokens: n,
            k_tokens: n,
            heads: llm.num_heads,
            kv_heads: llm.num_kv_heads,
            head_dim: hd,
        };
        let scale = (hd as f32).powf(-0.5);
        let eps = llm.rms_norm_eps;
        let (q_width, kv_width) = (llm.num_heads * hd, llm.num_kv_heads * hd);

        let mut x = input_embeds.to_vec();
        let mut trace = DecoderTrace {
            hidden: Vec::with_capacity(self.layers.len()),
            final_hidden: Vec::new(),
            gate_logits: Vec::with_capacity(self.layers.len()),
            experts: Vec::with_capacity(self.layers.len()),
        };
        for layer in &self.layers {
            // Attention: per-segment norm and projections, one joint attention.
            let mut q = Vec::with_capacity(n * q_width);
            let mut k = Vec::with_capacity(n * kv_width);
            let mut v = Vec::with_capacity(n * kv_width);
            for (rows, w) in segments.iter().zip(&layer.attention) {
                let h = rms_norm(&x[rows.start * d..rows.end * d], d, &w.input_norm, eps);
                q.extend(w.q.apply(&h, rows.len()));
                k.extend(w.k.apply(&h, rows.len()));
                v.extend(w.v.apply(&h, rows.len()));
            }
            rope(&mut q, n, llm.num_heads, hd, position_ids, llm.rope_theta);
            rope(&mut k, n, llm.num_kv_heads, hd, position_ids, llm.rope_theta);
            let a = attention(&q, &k, &v, shape, scale, &|qi, ki| mask.bias(qi, ki));
            for (rows, w) in segments.iter().zip(&layer.attention) {
                let o = w.o.apply(&a[rows.start * q_width..rows.end * q_width], rows.len());
                for (xi, oi) in x[rows.start * d..rows.end * d].iter_mut().zip(o) {
                    *xi += oi;
                }
            }

            // MLP: routed experts for common rows, each arm's own MLP for its rows.
            let mut mlp_out = Vec::with_capacity(n * d);
            let [common, left, right] = &segments;
            let post = |rows: &std::ops::Range<usize>, w: &AttentionWeights| {
                rms_norm(&x[rows.start * d..rows.end * d], d, &w.post_norm, eps)
            };
            let h = post(common, &layer.attention[0]);
            let logits = layer.gate.apply(&h, common.len());
            let experts: Vec<u8> = logits.chunks_exact(2).map(|l| top1(l) as u8).collect();
            for (row, &e) in h.chunks_exact(d).zip(&experts) {
                mlp_out.extend(layer.mlp[e as usize].apply(row, 1));
            }
            mlp_out.extend(layer.mlp[0].apply(&post(left, &layer.attention[1]), left.len()));
            mlp_out.extend(layer.mlp[1].apply(&post(right, &layer.attention[2]), right.len()));
            for (xi, mi) in x.iter_mut().zip(mlp_out) {
                *xi += mi;
            }
            trace.hidden.push(x.clone());
            trace.gate_logits.push(logits);
            trace.experts.push(experts);
        }
        trace.final_hidden = rms_norm(&x, d, &self.final_norm, eps);
        Ok(trace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_must_be_in_order() {
        assert_eq!(segments(&[0, 0, 1, 2, 2]).unwrap(), [0..2, 2..3, 3..5]);
        assert_eq!(segments(&[]).unwrap(), [0..0, 0..0, 0..0]);
        let err = segments(&[0, 1, 0, 2]).unwrap_err().to_string();
        assert!(err.contains("position 2"), "{err}");
    }
}

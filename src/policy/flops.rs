//! Analytic work per stage: floating-point operations (a multiply-add counts 2) and weight
//! bytes read, for this runtime and for the reference implementation, which runs both
//! projections and both experts for every common token and materialises the full score matrix.

use crate::model::config::ModelConfig;
use crate::model::prompt::SequenceLayout;

/// Work of one stage.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StageWork {
    /// Stage name (as in the program).
    pub name: String,
    /// FLOPs this runtime spends.
    pub flops: f64,
    /// FLOPs the reference spends on the same stage.
    pub reference_flops: f64,
}

/// Query-key pairs the twin mask lets through.
fn twin_pairs(n0: usize, n1: usize) -> f64 {
    let common = n0 * (n0 + 1) / 2;
    // An arm query with local index i sees n0 common keys and i + 1 keys of each arm.
    let arm: usize = (0..n1).map(|i| n0 + 2 * (i + 1)).sum();
    (common + 2 * arm) as f64
}

/// FLOPs per stage for `config` on `layout` with `steps` denoising steps and `sequences` DiT
/// sequences (4 with guidance, 2 without).
pub fn stage_work(
    config: &ModelConfig,
    layout: &SequenceLayout,
    steps: usize,
    sequences: usize,
) -> Vec<StageWork> {
    let f = |x: usize| x as f64;
    let v = &config.vision;
    let rows = 3 * v.num_patches();
    let c = v.hidden_size;
    let vision_layer = 2.0 * f(rows) * f(4 * c * c + 2 * c * v.intermediate_size)
        + 4.0 * f(3 * v.num_patches() * v.num_patches() * c);
    let patch = 2.0 * f(rows) * f(3 * v.patch_size * v.patch_size * c);
    let d = config.llm.hidden_size;
    let prows = 3 * config.image_tokens();
    let projector = 2.0 * f(prows) * f(config.shuffled_width() * d + d * d);
    let vision = patch + f(v.num_layers) * vision_layer + projector;

    let l = &config.llm;
    let t = layout.len();
    let (n0, n1) = (layout.n_common, layout.n_left);
    let hd = l.head_dim();
    let (qw, kvw) = (l.num_heads * hd, l.num_kv_heads * hd);
    let proj_per_token = 2.0 * f(d * (qw + 2 * kvw) + qw * d);
    let mlp_per_token = 2.0 * f(3 * d * l.intermediate_size);
    let router = 2.0 * f(n0 * d * 2);
    let ours_layer =
        f(t) * (proj_per_token + mlp_per_token) + router + 4.0 * f(qw) * twin_pairs(n0, n1);
    // The reference: common tokens through both arms' projections and both experts, and the
    // full T x T score matrix for every head.
    let reference_layer =
        f(t + n0) * (proj_per_token + mlp_per_token) + router + 4.0 * f(qw) * f(t * t);
    let decoder = f(l.num_layers) * ours_layer;
    let decoder_ref = f(l.num_layers) * reference_layer;

    let h = config.dit.hidden_size;
    let dit_rows = sequences * (config.action_len + 1);
    let block = 2.0 * f(dit_rows) * f(4 * h * h + 2 * h * config.dit.mlp_hidden)
        + 4.0 * f(sequences * (config.action_len + 1).pow(2) * h);
    let step = f(config.dit.depth) * block
        + 2.0 * f(dit_rows * h * config.action_dim)
        + 2.0 * f(2 * config.action_len * config.action_dim * h);
    let head = f(steps) * step + 2.0 * f(2 * (d + config.state_dim) * d + sequences * d * h);
    // The reference embeds the actions of all sequences and recomputes the time embedding
    // every step.
    let head_ref = f(steps)
        * (step
            + 2.0 * f((sequences - 2) * config.action_len * config.action_dim * h)
            + 2.0 * f(config.dit.frequency_embedding_size * h + h * h))
        + 2.0 * f(2 * (d + config.state_dim) * d + sequences * d * h);
    vec![
        StageWork { name: "vision".into(), flops: vision, reference_flops: vision },
        StageWork { name: "decoder".into(), flops: decoder, reference_flops: decoder_ref },
        StageWork { name: "action head".into(), flops: head, reference_flops: head_ref },
    ]
}

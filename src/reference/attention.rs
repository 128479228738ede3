//! Scaled dot-product attention with grouped key/value heads and an arbitrary mask/bias,
//! the one attention op of SigLIP, the twin decoder and the DiT.
//!
//! Scores are `q·k * scale + bias(qi, ki)`; pairs for which `bias` returns `None` are masked
//! out. The softmax is computed in f32 with max subtraction, the weights are normalised and
//! then applied to the values, as PyTorch's eager attention does.

use super::linear::dot;

/// Sizes of one attention call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionShape {
    /// Query rows.
    pub q_tokens: usize,
    /// Key/value rows.
    pub k_tokens: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads; query head `h` reads kv head `h / (heads / kv_heads)`.
    pub kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
}

/// Attention of `q` (`[q_tokens, heads * head_dim]`) over `k`, `v`
/// (`[k_tokens, kv_heads * head_dim]`). `bias(qi, ki)` gives `None` for a masked pair and
/// `Some(b)` to add `b` to its logit. Returns `[q_tokens, heads * head_dim]`; a query that
/// sees no key gets zeros.
///
/// # Panics
/// If the slice lengths do not match `shape` or `heads` is not a multiple of `kv_heads`.
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    shape: AttentionShape,
    scale: f32,
    bias: &dyn Fn(usize, usize) -> Option<f32>,
) -> Vec<f32> {
    let AttentionShape { q_tokens, k_tokens, heads, kv_heads, head_dim } = shape;
    assert!(kv_heads > 0 && heads % kv_heads == 0, "heads must be a multiple of kv_heads");
    assert_eq!(q.len(), q_tokens * heads * head_dim, "q is not [q_tokens, heads*head_dim]");
    assert_eq!(k.len(), k_tokens * kv_heads * head_dim, "k is not [k_tokens, kv_heads*head_dim]");
    assert_eq!(v.len(), k.len(), "v is not shaped like k");
    let group = heads / kv_heads;
    let q_width = heads * head_dim;
    let kv_width = kv_heads * head_dim;
    let mut out = vec![0.0f32; q_tokens * q_width];
    // Logits of one query row and head; `None` where masked.
    let mut logits: Vec<Option<f32>> = vec![None; k_tokens];
    for qi in 0..q_tokens {
        for h in 0..heads {
            let kv = h / group;
            let q_head = &q[qi * q_width + h * head_dim..][..head_dim];
            let mut max = f32::NEG_INFINITY;
            for (ki, logit) in logits.iter_mut().enumerate() {
                *logit = bias(qi, ki).map(|b| {
                    let k_head = &k[ki * kv_width + kv * head_dim..][..head_dim];
                    dot(q_head, k_head) * scale + b
                });
                if let Some(l) = *logit {
                    max = max.max(l);
                }
            }
            if max == f32::NEG_INFINITY {
                continue;
            }
            let mut sum = 0.0f32;
            for l in logits.iter_mut().flatten() {
                *l = (*l - max).exp();
                sum += *l;
            }
            let out_head = &mut out[qi * q_width + h * head_dim..][..head_dim];
            for (ki, logit) in logits.iter().enumerate() {
                if let Some(e) = logit {
                    let weight = e / sum;
                    let v_head = &v[ki * kv_width + kv * head_dim..][..head_dim];
                    for (o, x) in out_head.iter_mut().zip(v_head) {
                        *o += weight * x;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        s: AttentionShape,
        scale: f32,
        causal: bool,
    ) -> Vec<f64> {
        let mut out = vec![0.0f64; s.q_tokens * s.heads * s.head_dim];
        let group = s.heads / s.kv_heads;
        for qi in 0..s.q_tokens {
            for h in 0..s.heads {
                let kvh = h / group;
                let keys: Vec<usize> = (0..s.k_tokens).filter(|&ki| !causal || ki <= qi).collect();
                let logits: Vec<f64> = keys
                    .iter()
                    .map(|&ki| {
                        (0..s.head_dim)
                            .map(|d| {
                                q[(qi * s.heads + h) * s.head_dim + d] as f64
                                    * k[(ki * s.kv_heads + kvh) * s.head_dim + d] as f64
                            })
                            .sum::<f64>()
                            * scale as f64
                    })
                    .collect();
                let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for (j, &ki) in keys.iter().enumerate() {
                    for d in 0..s.head_dim {
                        out[(qi * s.heads + h) * s.head_dim + d] +=
                            e[j] / z * v[(ki * s.kv_heads + kvh) * s.head_dim + d] as f64;
                    }
                }
            }
        }
        out
    }

    fn data(n: usize, seed: usize) -> Vec<f32> {
        (0..n).map(|i| (((i * 7919 + seed * 104729) % 1000) as f32 / 500.0) - 1.0).collect()
    }

    #[test]
    fn matches_a_naive_f64_grouped_causal_attention() {
        let s = AttentionShape { q_tokens: 6, k_tokens: 6, heads: 4, kv_heads: 2, head_dim: 8 };
        let q = data(6 * 32, 1);
        let k = data(6 * 16, 2);
        let v = data(6 * 16, 3);
        let scale = 8f32.powf(-0.5);
        let got = attention(&q, &k, &v, s, scale, &|qi, ki| (ki <= qi).then_some(0.0));
        let want = naive(&q, &k, &v, s, scale, true);
        for (a, b) in got.iter().zip(&want) {
            assert!((*a as f64 - b).abs() < 1e-5);
        }
        let got = attention(&q, &k, &v, s, scale, &|_, _| Some(0.0));
        let want = naive(&q, &k, &v, s, scale, false);
        for (a, b) in got.iter().zip(&want) {
            assert!((*a as f64 - b).abs() < 1e-5);
        }
    }

    #[test]
    fn a_bias_of_ln2_doubles_a_keys_weight() {
        // One query, two keys with equal logits: plain weights 1/2, 1/2; with ln 2 on key 0
        // the weights become 2/3, 1/3.
        let s = AttentionShape { q_tokens: 1, k_tokens: 2, heads: 1, kv_heads: 1, head_dim: 1 };
        let out = attention(&[1.0], &[1.0, 1.0], &[3.0, 0.0], s, 1.0, &|_, ki| {
            Some(if ki == 0 { std::f32::consts::LN_2 } else { 0.0 })
        });
        assert!((out[0] - 2.0).abs() < 1e-6);
    }

    #[test]
    fn a_fully_masked_query_gives_zeros() {
        let s = AttentionShape { q_tokens: 1, k_tokens: 2, heads: 1, kv_heads: 1, head_dim: 2 };
        let out = attention(&[1.0, 1.0], &[1.0; 4], &[5.0; 4], s, 1.0, &|_, _| None);
        assert_eq!(out, vec![0.0, 0.0]);
    }
}

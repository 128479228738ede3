//! Rotary position embedding as Hugging Face's Qwen2 applies it ("rotate half").
//!
//! For head dimension `d` and pair index `i < d/2`: `inv_freq[i] = 1 / theta^(2i/d)` (f32),
//! `angle = position * inv_freq[i]` (f32), and elements `i` and `i + d/2` of every head rotate:
//! `x1' = x1 cos - x2 sin`, `x2' = x2 cos + x1 sin`.

/// The RoPE inverse frequencies `1 / theta^(2i/d)` for `i < head_dim / 2`, rounded to f32 as
/// PyTorch computes them (exponent in f32, power rounded to f32, reciprocal in f32).
pub fn inv_freq(head_dim: usize, theta: f64) -> Vec<f32> {
    (0..head_dim / 2)
        .map(|i| {
            let exponent = (2 * i) as f32 / head_dim as f32;
            let power = theta.powf(exponent as f64) as f32;
            1.0 / power
        })
        .collect()
}

/// Rotates `x` (`[tokens, heads * head_dim]`) in place; token `t` is at `positions[t]`.
///
/// # Panics
/// If `head_dim` is odd, `x` is not `[tokens, heads * head_dim]` or `positions` is not
/// `[tokens]`.
pub fn rope(
    x: &mut [f32],
    tokens: usize,
    heads: usize,
    head_dim: usize,
    positions: &[u32],
    theta: f64,
) {
    assert!(head_dim % 2 == 0, "rope needs an even head_dim");
    assert_eq!(x.len(), tokens * heads * head_dim, "rope input is not [tokens, heads*head_dim]");
    assert_eq!(positions.len(), tokens, "rope needs one position per token");
    if x.is_empty() {
        return;
    }
    let half = head_dim / 2;
    let inv_freq = inv_freq(head_dim, theta);
    for (row, &pos) in x.chunks_exact_mut(heads * head_dim).zip(positions) {
        let (cos, sin): (Vec<f32>, Vec<f32>) = inv_freq
            .iter()
            .map(|f| {
                let angle = pos as f32 * f;
                (angle.cos(), angle.sin())
            })
            .unzip();
        for head in row.chunks_exact_mut(head_dim) {
            let (x1, x2) = head.split_at_mut(half);
            for i in 0..half {
                let (a, b) = (x1[i], x2[i]);
                x1[i] = a * cos[i] - b * sin[i];
                x2[i] = b * cos[i] + a * sin[i];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_zero_is_the_identity() {
        let mut x: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let before = x.clone();
        rope(&mut x, 2, 2, 4, &[0, 0], 10000.0);
        assert_eq!(x, before);
    }

    #[test]
    fn rotates_pairs_half_a_head_apart() {
        // head_dim 4: pairs (0, 2) at frequency 1 and (1, 3) at frequency 1/100.
        let mut x = vec![1.0, 1.0, 0.0, 0.0];
        rope(&mut x, 1, 1, 4, &[3], 10000.0);
        let f1 = 1.0f32 / 100.0;
        let expect = [3.0f32.cos(), (3.0 * f1).cos(), 3.0f32.sin(), (3.0 * f1).sin()];
        for (a, b) in x.iter().zip(expect) {
            assert!((a - b).abs() < 1e-6, "{x:?}");
        }
        assert_eq!(inv_freq(4, 10000.0), vec![1.0, 0.01]);
    }

    #[test]
    fn preserves_norms_and_relative_positions() {
        // q·k after rotation depends only on the position difference.
        let q: Vec<f32> = (0..8).map(|i| (i as f32 * 0.7).sin()).collect();
        let k: Vec<f32> = (0..8).map(|i| (i as f32 * 1.3).cos()).collect();
        let score = |pq: u32, pk: u32| {
            let (mut a, mut b) = (q.clone(), k.clone());
            rope(&mut a, 1, 1, 8, &[pq], 1e6);
            rope(&mut b, 1, 1, 8, &[pk], 1e6);
            a.iter().zip(&b).map(|(x, y)| x * y).sum::<f32>()
        };
        assert!((score(10, 4) - score(26, 20)).abs() < 1e-4);
        let mut r = q.clone();
        rope(&mut r, 1, 1, 8, &[123], 1e6);
        let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>();
        assert!((n(&r) - n(&q)).abs() < 1e-5);
    }
}

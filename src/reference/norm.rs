//! Row normalisations: Qwen2's RMSNorm and LayerNorm (SigLIP, the projector, the DiT).
//!
//! Both normalise each row of `cols` values independently and compute in f32.

/// Qwen2 RMSNorm of each row: `w * (x * (1 / sqrt(mean(x²) + eps)))`.
///
/// # Panics
/// If `x` is not a whole number of rows or `weight` is not `[cols]`.
pub fn rms_norm(x: &[f32], cols: usize, weight: &[f32], eps: f32) -> Vec<f32> {
    assert!(cols > 0 && x.len() % cols == 0, "rms_norm input is not [rows, cols]");
    assert_eq!(weight.len(), cols, "rms_norm weight is not [cols]");
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks_exact(cols) {
        let mean_square = row.iter().map(|v| v * v).sum::<f32>() / cols as f32;
        let inv_rms = 1.0 / (mean_square + eps).sqrt();
        y.extend(row.iter().zip(weight).map(|(v, w)| w * (v * inv_rms)));
    }
    y
}

/// LayerNorm of each row with the biased variance:
/// `(x - mean) / sqrt(var + eps) * weight + bias`; a missing `weight` is 1, a missing `bias` 0
/// (`elementwise_affine=False`).
///
/// # Panics
/// If `x` is not a whole number of rows or an affine parameter is not `[cols]`.
pub fn layer_norm(
    x: &[f32],
    cols: usize,
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    eps: f32,
) -> Vec<f32> {
    assert!(cols > 0 && x.len() % cols == 0, "layer_norm input is not [rows, cols]");
    assert!(weight.is_none_or(|w| w.len() == cols), "layer_norm weight is not [cols]");
    assert!(bias.is_none_or(|b| b.len() == cols), "layer_norm bias is not [cols]");
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks_exact(cols) {
        let mean = row.iter().sum::<f32>() / cols as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / cols as f32;
        let inv_std = 1.0 / (var + eps).sqrt();
        for (c, v) in row.iter().enumerate() {
            let mut out = (v - mean) * inv_std;
            if let Some(w) = weight {
                out *= w[c];
            }
            if let Some(b) = bias {
                out += b[c];
            }
            y.push(out);
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_norm_scales_rows_to_unit_rms() {
        let x = [3.0, 4.0, 0.0, -2.0];
        let y = rms_norm(&x, 2, &[1.0, 2.0], 0.0);
        let r = (12.5f32).sqrt();
        assert!((y[0] - 3.0 / r).abs() < 1e-6 && (y[1] - 8.0 / r).abs() < 1e-6);
        assert!((y[2] - 0.0).abs() < 1e-6 && (y[3] + 2.0 * 2.0 / 2.0f32.sqrt()).abs() < 1e-6);
        // eps keeps a zero row finite.
        assert_eq!(rms_norm(&[0.0, 0.0], 2, &[1.0, 1.0], 1e-6), vec![0.0, 0.0]);
    }

    #[test]
    fn layer_norm_centres_and_scales() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = layer_norm(&x, 4, None, None, 0.0);
        let std = 1.25f32.sqrt();
        for (i, v) in y.iter().enumerate() {
            assert!((v - (i as f32 - 1.5) / std).abs() < 1e-6);
        }
        let w = [2.0; 4];
        let b = [1.0; 4];
        let z = layer_norm(&x, 4, Some(&w), Some(&b), 0.0);
        for (a, c) in y.iter().zip(&z) {
            assert!((a * 2.0 + 1.0 - c).abs() < 1e-6);
        }
        // A constant row normalises to the bias.
        assert_eq!(layer_norm(&[5.0; 3], 3, None, Some(&[7.0; 3]), 1e-6), vec![7.0; 3]);
    }
}

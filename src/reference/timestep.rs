//! The DiT's sinusoidal timestep embedding (GLIDE/DiT's `timestep_embedding`).
//!
//! For `half = dim / 2`: `freq[i] = exp(-ln(max_period) * i / half)` and the embedding is
//! `[cos(t * freq), sin(t * freq)]`, zero-padded by one when `dim` is odd; all in f32 as
//! PyTorch computes it.

/// The `dim`-wide embedding of the (possibly fractional) timestep `t`.
pub fn timestep_embedding(t: f32, dim: usize, max_period: f32) -> Vec<f32> {
    let half = dim / 2;
    let neg_log_period = -(max_period as f64).ln() as f32;
    let args: Vec<f32> =
        (0..half).map(|i| t * (neg_log_period * i as f32 / half as f32).exp()).collect();
    let mut out: Vec<f32> = args.iter().map(|a| a.cos()).collect();
    out.extend(args.iter().map(|a| a.sin()));
    if dim % 2 == 1 {
        out.push(0.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cos_then_sin_over_geometric_frequencies() {
        let e = timestep_embedding(2.0, 6, 10000.0);
        // half = 3: frequencies 1, 10000^(-1/3), 10000^(-2/3).
        let f = [1.0f32, 10000f32.powf(-1.0 / 3.0), 10000f32.powf(-2.0 / 3.0)];
        for i in 0..3 {
            assert!((e[i] - (2.0 * f[i]).cos()).abs() < 1e-6);
            assert!((e[3 + i] - (2.0 * f[i]).sin()).abs() < 1e-6);
        }
        let odd = timestep_embedding(0.0, 5, 10000.0);
        assert_eq!(odd, vec![1.0, 1.0, 0.0, 0.0, 0.0]);
    }
}

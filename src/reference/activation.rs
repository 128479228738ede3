//! Elementwise activations: the tanh GELU (SigLIP, DiT), the erf GELU (the projector) and
//! SiLU (Qwen2's SwiGLU, the DiT time embedder).

/// `0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³)))`, PyTorch's `gelu(approximate="tanh")`
/// and `gelu_pytorch_tanh`.
pub fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)).tanh())
}

/// `0.5 x (1 + erf(x / sqrt(2)))`, PyTorch's exact `nn.GELU()`.
pub fn gelu_erf(x: f32) -> f32 {
    let erf = libm::erf(x as f64 / std::f64::consts::SQRT_2) as f32;
    0.5 * x * (1.0 + erf)
}

/// `x / (1 + exp(-x))`, PyTorch's `silu`.
pub fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // Values from PyTorch (float32).
        assert!((gelu_erf(1.0) - 0.841_344_7).abs() < 1e-7);
        assert!((gelu_erf(-2.0) + 0.045_500_26).abs() < 1e-7);
        assert!((gelu_tanh(1.0) - 0.841_191_95).abs() < 1e-7);
        assert!((gelu_tanh(-2.0) + 0.045_402_31).abs() < 1e-7);
        assert!((silu(1.0) - 0.731_058_6).abs() < 1e-7);
        assert!((silu(-3.0) + 0.142_277_62).abs() < 1e-7);
        for f in [gelu_tanh, gelu_erf, silu] {
            assert_eq!(f(0.0), 0.0);
            assert!((f(30.0) - 30.0).abs() < 1e-5, "large inputs pass through");
            assert!(f(-30.0).abs() < 1e-5, "large negative inputs vanish");
        }
    }

    #[test]
    fn the_two_gelus_are_close() {
        for i in -40..=40 {
            let x = i as f32 / 10.0;
            assert!((gelu_tanh(x) - gelu_erf(x)).abs() < 1e-3, "{x}");
        }
    }
}

//! The gated activation of Qwen2's MLP: `silu(gate) * up`, elementwise.

use super::activation::silu;

/// `silu(gate[i]) * up[i]` for every element.
///
/// # Panics
/// If the slices have different lengths.
pub fn swiglu(gate: &[f32], up: &[f32]) -> Vec<f32> {
    assert_eq!(gate.len(), up.len(), "swiglu gate and up differ in length");
    gate.iter().zip(up).map(|(&g, &u)| silu(g) * u).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_elementwise() {
        let y = swiglu(&[0.0, 1.0, -3.0], &[5.0, 2.0, -1.0]);
        assert_eq!(y[0], 0.0);
        assert!((y[1] - 2.0 * 0.731_058_6).abs() < 1e-6);
        assert!((y[2] - 0.142_277_62).abs() < 1e-6);
    }
}

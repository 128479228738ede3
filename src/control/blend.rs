//! Blending weights for overlapping chunks: how much of the new chunk goes into each step that
//! the previous plan also covers.
//!
//! Step `k` counts from the first step of the new chunk still in the future. The blended step
//! is `old + w(k) · (new − old)`; where the old plan has no step, the new chunk's step is
//! taken as it is.

use super::config::{BlendKind, ControlConfig};

/// A blending rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Blend {
    /// `w(k) = 1`: the new chunk replaces the plan at once.
    Replace,
    /// `w(k) = (k + 1) / (steps + 1)` for `k < steps`, then 1: a linear cross-fade.
    Linear {
        /// Steps of the cross-fade.
        steps: usize,
    },
    /// `w(k) = 1 − exp(−(k + 1) / time_constant)`: the old plan fades out exponentially.
    Exponential {
        /// Time constant, in steps (positive).
        time_constant: f64,
    },
}

impl Blend {
    /// The rule the configuration asks for.
    pub fn from_config(c: &ControlConfig) -> Self {
        match c.blend {
            BlendKind::Replace => Blend::Replace,
            BlendKind::Linear => Blend::Linear { steps: c.blend_steps },
            BlendKind::Exponential => {
                Blend::Exponential { time_constant: c.blend_time_constant_steps }
            }
        }
    }

    /// The new chunk's weight at overlap step `k`, in `[0, 1]`.
    pub fn weight(&self, k: usize) -> f32 {
        let w = match *self {
            Blend::Replace => 1.0,
            Blend::Linear { steps } if k < steps => (k + 1) as f64 / (steps + 1) as f64,
            Blend::Linear { .. } => 1.0,
            Blend::Exponential { time_constant } if time_constant > 0.0 => {
                1.0 - (-((k + 1) as f64) / time_constant).exp()
            }
            Blend::Exponential { .. } => 1.0,
        };
        w.clamp(0.0, 1.0) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_is_all_new() {
        assert_eq!(Blend::Replace.weight(0), 1.0);
    }

    #[test]
    fn linear_ramps_then_saturates() {
        let b = Blend::Linear { steps: 3 };
        let w: Vec<f32> = (0..5).map(|k| b.weight(k)).collect();
        assert_eq!(w, vec![0.25, 0.5, 0.75, 1.0, 1.0]);
        assert_eq!(Blend::Linear { steps: 0 }.weight(0), 1.0);
    }

    #[test]
    fn exponential_rises_monotonically_towards_one() {
        let b = Blend::Exponential { time_constant: 2.0 };
        let w: Vec<f32> = (0..20).map(|k| b.weight(k)).collect();
        assert!((w[0] - (1.0 - (-0.5f32).exp())).abs() < 1e-6);
        assert!(w.windows(2).all(|p| p[1] > p[0] || p[1] == 1.0));
        assert!(w[19] > 0.9999);
    }
}

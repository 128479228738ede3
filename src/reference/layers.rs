//! Ops bundled with their weights: a linear layer and an affine LayerNorm, loaded by name
//! from a [`WeightSource`] with their sizes checked. Shared by the model parts.

use super::error::ReferenceError;
use super::linear::linear;
use super::norm::layer_norm;
use super::weights::{load, WeightSource};

/// A linear layer: weight `[out_features, in_features]` and an optional bias.
pub struct Linear {
    /// `[out_features, in_features]`.
    pub weight: Vec<f32>,
    /// `[out_features]`, if the layer has one.
    pub bias: Option<Vec<f32>>,
    /// Outputs.
    pub out_features: usize,
    /// Inputs.
    pub in_features: usize,
}

impl Linear {
    /// Loads `{name}.weight` and, when `has_bias`, `{name}.bias`.
    pub fn load(
        weights: &dyn WeightSource,
        name: &str,
        out_features: usize,
        in_features: usize,
        has_bias: bool,
    ) -> Result<Self, ReferenceError> {
        let weight = load(weights, &format!("{name}.weight"), out_features * in_features)?;
        let bias = if has_bias {
            Some(load(weights, &format!("{name}.bias"), out_features)?)
        } else {
            None
        };
        Ok(Self { weight, bias, out_features, in_features })
    }

    /// Loads a layer whose weight and bias have explicit names (the fused common-segment
    /// tensors, which carry a suffix after `.weight`/`.bias`).
    pub fn load_named(
        weights: &dyn WeightSource,
        weight_name: &str,
        bias_name: Option<&str>,
        out_features: usize,
        in_features: usize,
    ) -> Result<Self, ReferenceError> {
        let weight = load(weights, weight_name, out_features * in_features)?;
        let bias = bias_name.map(|b| load(weights, b, out_features)).transpose()?;
        Ok(Self { weight, bias, out_features, in_features })
    }

    /// `x Wᵀ + b` for `rows` rows of `x`.
    pub fn apply(&self, x: &[f32], rows: usize) -> Vec<f32> {
        linear(x, rows, &self.weight, self.out_features, self.in_features, self.bias.as_deref())
    }
}

/// A LayerNorm with affine weight and bias.
pub struct LayerNorm {
    /// `[cols]`.
    pub weight: Vec<f32>,
    /// `[cols]`.
    pub bias: Vec<f32>,
    /// Epsilon added to the variance.
    pub eps: f32,
}

impl LayerNorm {
    /// Loads `{name}.weight` and `{name}.bias`, both `[cols]`.
    pub fn load(
        weights: &dyn WeightSource,
        name: &str,
        cols: usize,
        eps: f32,
    ) -> Result<Self, ReferenceError> {
        Ok(Self {
            weight: load(weights, &format!("{name}.weight"), cols)?,
            bias: load(weights, &format!("{name}.bias"), cols)?,
            eps,
        })
    }

    /// Normalises each row of `x`.
    pub fn apply(&self, x: &[f32]) -> Vec<f32> {
        layer_norm(x, self.weight.len(), Some(&self.weight), Some(&self.bias), self.eps)
    }
}

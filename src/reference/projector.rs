//! The projector from vision tokens to decoder embeddings (upstream's `mlp1`):
//! pixel shuffle 0.5, then `LayerNorm(4C, eps 1e-5) → Linear(4C, D) → GELU (erf) →
//! Linear(D, D)`.

use super::activation::gelu_erf;
use super::error::ReferenceError;
use super::layers::{LayerNorm, Linear};
use super::pixel_shuffle::pixel_shuffle;
use super::weights::WeightSource;
use crate::model::config::ModelConfig;

/// `nn.LayerNorm`'s default epsilon, which `mlp1` uses.
const LAYER_NORM_EPS: f32 = 1e-5;

/// The projector with its weights.
pub struct Projector {
    grid: usize,
    vision_hidden: usize,
    norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

impl Projector {
    /// Loads `mlp1.0` (LayerNorm), `mlp1.1` and `mlp1.3` (the linear layers).
    pub fn new(weights: &dyn WeightSource, config: &ModelConfig) -> Result<Self, ReferenceError> {
        let wide = config.shuffled_width();
        let d = config.llm.hidden_size;
        Ok(Self {
            grid: config.vision.grid(),
            vision_hidden: config.vision.hidden_size,
            norm: LayerNorm::load(weights, "mlp1.0", wide, LAYER_NORM_EPS)?,
            fc1: Linear::load(weights, "mlp1.1", d, wide, true)?,
            fc2: Linear::load(weights, "mlp1.3", d, d, true)?,
        })
    }

    /// Image embeddings `[(grid / 2)², D]` of one image's vision hidden state
    /// `[grid², C]`.
    pub fn forward(&self, vision_hidden: &[f32]) -> Result<Vec<f32>, ReferenceError> {
        let expected = self.grid * self.grid * self.vision_hidden;
        if vision_hidden.len() != expected {
            return Err(ReferenceError::Input(format!(
                "projector input has {} values, expected {} x {}",
                vision_hidden.len(),
                self.grid * self.grid,
                self.vision_hidden
            )));
        }
        let tokens = (self.grid / 2) * (self.grid / 2);
        let shuffled = pixel_shuffle(vision_hidden, self.grid, self.vision_hidden);
        let mut h = self.fc1.apply(&self.norm.apply(&shuffled), tokens);
        h.iter_mut().for_each(|v| *v = gelu_erf(*v));
        Ok(self.fc2.apply(&h, tokens))
    }
}

//! The action head: flow-matching sampling with the DiT, conditioned on each arm's readout
//! token and proprio, with classifier-free guidance.
//!
//! - `z = combine([readout ; proprio half])`: row 0 from the left arm, row 1 from the right.
//! - With `cfg > 1` the DiT sees four rows each step: actions `[a0, a1, a0, a1]` under
//!   conditions `[z0, z1, u, u]` (`u = z_embedder.uncondition`, not passed through
//!   `combine`), and `e = e_uncond + cfg * (e_cond - e_uncond)`. With `cfg <= 1` it sees
//!   `[a0, a1]` under `[z0, z1]` and `e` is its output.
//! - Step `k` of `steps`: `t = 1 - k / steps` (f64, rounded to f32); `a += d * e` with
//!   `d = f32(-1 / steps)`; with `cfg > 1` the actions are then clamped to `[-5, 5]`.
//! - The result `[2, action_len, action_dim]` is read in memory order as
//!   `[action_len, 2 * action_dim]`: row 0 is not "the left arm". Upstream trained with the
//!   same view, so step `s` of the chunk is `flat[s * 2 * action_dim ..]`, whose first half
//!   the left arm's statistics un-normalise and whose second half the right's.

use super::dit::Dit;
use super::error::ReferenceError;
use super::layers::Linear;
use super::weights::{load, WeightSource};
use crate::model::config::ModelConfig;

/// Bound of the guided sampler's clamp.
const CLAMP: f32 = 5.0;

/// What one sampling run computed.
#[derive(Clone, Debug)]
pub struct ActionTrace {
    /// The two conditions `[2, D]` (left, right) after `combine`.
    pub z: Vec<f32>,
    /// The conditions fed to the DiT: `[z0, z1, u, u]` with guidance, `[z0, z1]` without.
    pub dit_z: Vec<f32>,
    /// The time of each step.
    pub dit_t: Vec<f32>,
    /// The DiT input of each step, `[rows, action_len, action_dim]` (4 rows with guidance).
    pub dit_x: Vec<Vec<f32>>,
    /// The DiT output of each step, shaped like `dit_x`.
    pub dit_out: Vec<Vec<f32>>,
    /// The normalised action chunk `[action_len, 2 * action_dim]` (see the module doc).
    pub normalized_action: Vec<f32>,
}

/// The action head with its weights.
pub struct ActionHead {
    combine: Linear,
    dit: Dit,
    uncondition: Option<Vec<f32>>,
    token_size: usize,
    state_dim: usize,
    action_len: usize,
    action_dim: usize,
}

impl ActionHead {
    /// Loads `decoder_c.combine` and the DiT; `z_embedder.uncondition` when `enable_cfg`.
    pub fn new(weights: &dyn WeightSource, config: &ModelConfig) -> Result<Self, ReferenceError> {
        let d = config.llm.hidden_size;
        let uncondition = if config.enable_cfg {
            Some(load(weights, "decoder_c.net.z_embedder.uncondition", d)?)
        } else {
            None
        };
        Ok(Self {
            combine: Linear::load(weights, "decoder_c.combine", d, d + config.state_dim, true)?,
            dit: Dit::new(weights, config)?,
            uncondition,
            token_size: d,
            state_dim: config.state_dim,
            action_len: config.action_len,
            action_dim: config.action_dim,
        })
    }

    /// Samples the normalised action chunk.
    ///
    /// `readouts` is `[2, D]` (left arm's readout hidden state, then right's), `proprio` the
    /// normalised proprio `[2 * state_dim]` (`[left | right]`), `noise` the initial actions
    /// `[2, action_len, action_dim]`, `cfg` the guidance scale and `steps` the number of
    /// flow-matching steps (at least 1).
    pub fn sample(
        &self,
        readouts: &[f32],
        proprio: &[f32],
        noise: &[f32],
        cfg: f32,
        steps: usize,
    ) -> Result<ActionTrace, ReferenceError> {
        let (d, s) = (self.token_size, self.state_dim);
        let chunk = self.action_len * self.action_dim;
        let check = |what: &str, got: usize, want: usize| {
            if got == want {
                Ok(())
            } else {
                Err(ReferenceError::Input(format!("{what} has {got} values, expected {want}")))
            }
        };
        check("readouts", readouts.len(), 2 * d)?;
        check("proprio", proprio.len(), 2 * s)?;
        check("noise", noise.len(), 2 * chunk)?;
        if steps == 0 {
            return Err(ReferenceError::Input("flow matching needs at least one step".into()));
        }
        let guided = cfg > 1.0;
        let uncondition = match (&self.uncondition, guided) {
            (Some(u), true) => Some(u),
            (None, true) => {
                return Err(ReferenceError::Input(format!(
                    "cfg {cfg} > 1 needs the unconditional embedding, but enable_cfg is false"
                )))
            }
            (_, false) => None,
        };

        let mut combined_in = Vec::with_capacity(2 * (d + s));
        for arm in 0..2 {
            combined_in.extend_from_slice(&readouts[arm * d..(arm + 1) * d]);
            combined_in.extend_from_slice(&proprio[arm * s..(arm + 1) * s]);
        }
        let z = self.combine.apply(&combined_in, 2);
        let mut dit_z = z.clone();
        if let Some(u) = uncondition {
            dit_z.extend_from_slice(u);
            dit_z.extend_from_slice(u);
        }
        let rows = if guided { 4 } else { 2 };

        let delta = (-1.0f64 / steps as f64) as f32;
        let mut actions = noise.to_vec();
        let mut trace = ActionTrace {
            z,
            dit_z,
            dit_t: Vec::with_capacity(steps),
            dit_x: Vec::with_capacity(steps),
            dit_out: Vec::with_capacity(steps),
            normalized_action: Vec::new(),
        };
        for k in 0..steps {
            let t = (1.0 - k as f64 / steps as f64) as f32;
            let mut x = actions.clone();
            if guided {
                x.extend_from_slice(&actions);
            }
            let out = self.dit.forward(&x, rows, t, &trace.dit_z)?;
            let velocity: Vec<f32> = if guided {
                let (cond, uncond) = out.split_at(2 * chunk);
                uncond.iter().zip(cond).map(|(u, c)| u + cfg * (c - u)).collect()
            } else {
                out.clone()
            };
            for (a, e) in actions.iter_mut().zip(&velocity) {
                *a += delta * e;
                if guided {
                    *a = a.clamp(-CLAMP, CLAMP);
                }
            }
            trace.dit_t.push(t);
            trace.dit_x.push(x);
            trace.dit_out.push(out);
        }
        trace.normalized_action = actions;
        Ok(trace)
    }
}

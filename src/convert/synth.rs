//! Synthetic TwinVLA checkpoints in exactly the upstream layout (`config.json`,
//! `singlevla_config/config.json`, bf16 `model.safetensors`, `dataset_statistics.json`), with
//! random weights scaled so that activations stay in a realistic range.
//!
//! Presets: `tiny` has the golden fixture's sizes; `full` has the released Eagle2-1B sizes
//! (SigLIP so400m at 448, Qwen2.5-0.5B twice, DiT-L): about 1.5 B parameters.

use std::path::Path;

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::safetensors::Bf16Writer;
use super::{io_err, ConvertError};
use crate::model::config::ModelConfig;
use crate::model::tensors::{checkpoint_tensors, Role, TensorDef};

/// The template: the golden fixture's configuration, whose sizes the presets replace.
const TEMPLATE: &str = include_str!("../../tests/fixtures/golden-tiny/checkpoint/config.json");

/// Values generated per piece, bounding memory for large tensors.
const PIECE: usize = 1 << 20;

/// A named set of sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// The golden fixture's sizes (fast; for tests and the demo).
    Tiny,
    /// The released Eagle2-1B TwinVLA sizes with DiT-L (for benchmarks).
    Full,
}

impl Preset {
    /// Parses `tiny` or `full`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "tiny" => Some(Preset::Tiny),
            "full" => Some(Preset::Full),
            _ => None,
        }
    }
}

fn set(v: &mut Value, path: &[&str], x: Value) {
    let mut cur = v;
    for key in &path[..path.len() - 1] {
        cur = &mut cur[*key];
    }
    cur[path[path.len() - 1]] = x;
}

/// The `(config.json, singlevla_config/config.json)` texts of a preset.
pub fn preset_configs(preset: Preset) -> (String, String) {
    let mut twin: Value = serde_json::from_str(TEMPLATE).unwrap_or(Value::Null);
    if preset == Preset::Full {
        let s = "singlevla_config";
        for (path, value) in [
            (&["vision_config", "hidden_size"][..], json!(1152)),
            (&["vision_config", "num_attention_heads"][..], json!(16)),
            (&["vision_config", "intermediate_size"][..], json!(4304)),
            (&["vision_config", "num_hidden_layers"][..], json!(27)),
            (&["llm_config", "hidden_size"][..], json!(896)),
            (&["llm_config", "num_attention_heads"][..], json!(14)),
            (&["llm_config", "num_key_value_heads"][..], json!(2)),
            (&["llm_config", "intermediate_size"][..], json!(4864)),
            (&["llm_config", "num_hidden_layers"][..], json!(24)),
            (&["dit_size"][..], json!("DiT-L")),
        ] {
            let mut full = vec![s];
            full.extend_from_slice(path);
            set(&mut twin, &full, value);
        }
    }
    let single = twin["singlevla_config"].clone();
    (
        serde_json::to_string_pretty(&twin).unwrap_or_default(),
        serde_json::to_string_pretty(&single).unwrap_or_default(),
    )
}

/// Standard deviation and mean used to draw a tensor's values.
fn distribution(def: &TensorDef) -> (f32, f32) {
    let name = def.name.as_str();
    let is_norm_weight = name.ends_with("norm.weight")
        || name.ends_with("layernorm.weight")
        || name.contains("layer_norm")
        || name == "mlp1.0.weight";
    if is_norm_weight && name.ends_with(".weight") {
        return (0.1, 1.0);
    }
    match def.role {
        Role::Matrix { .. } | Role::DenseMatrix => {
            let (_, cols) = def.matrix_shape();
            ((cols as f32).sqrt().recip(), 0.0)
        }
        Role::Embedding => (0.5, 0.0),
        Role::Small if name.ends_with(".bias") => (0.02, 0.0),
        Role::Small => (0.5, 0.0),
    }
}

/// Writes a random checkpoint of `preset` into `dir` (created if needed).
pub fn synthesize(preset: Preset, seed: u64, dir: &Path) -> Result<ModelConfig, ConvertError> {
    let (twin, single) = preset_configs(preset);
    let config = ModelConfig::from_hf(&twin, Some(&single))
        .map_err(|source| ConvertError::Config { path: dir.join("config.json"), source })?;
    let single_dir = dir.join("singlevla_config");
    std::fs::create_dir_all(&single_dir).map_err(io_err(&single_dir))?;
    let write = |path: &Path, text: &str| std::fs::write(path, text).map_err(io_err(path));
    write(&dir.join("config.json"), &twin)?;
    write(&single_dir.join("config.json"), &single)?;
    write(&dir.join("dataset_statistics.json"), &statistics(&config, seed))?;
    let defs = checkpoint_tensors(&config);
    let shapes = defs.iter().map(|d| (d.name.clone(), d.shape.clone())).collect();
    let mut writer = Bf16Writer::create(&dir.join("model.safetensors"), shapes)?;
    for (i, def) in defs.iter().enumerate() {
        let (std, mean) = distribution(def);
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let mut left = def.elements();
        while left > 0 {
            let n = left.min(PIECE);
            let piece: Vec<f32> = (0..n)
                .map(|_| mean + std * rng.sample::<f32, _>(rand_distr::StandardNormal))
                .collect();
            writer.write(&piece)?;
            left -= n;
        }
    }
    writer.finish()?;
    Ok(config)
}

/// A `dataset_statistics.json` with one key, `synthetic_bimanual`, per-arm statistics.
fn statistics(config: &ModelConfig, seed: u64) -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed.wrapping_add(17));
    let mut vector = |n: usize| {
        let lo: Vec<f64> = (0..n).map(|_| -1.0 - rng.random::<f64>()).collect();
        let hi: Vec<f64> = (0..n).map(|_| 1.0 + rng.random::<f64>()).collect();
        let mask: Vec<bool> = (0..n).map(|i| i + 1 != n).collect();
        let mean: Vec<f64> = lo.iter().zip(&hi).map(|(a, b)| (a + b) / 2.0).collect();
        json!({ "mean": mean, "std": vec![0.5; n], "min": lo, "max": hi, "q01": lo, "q99": hi, "mask": mask })
    };
    let stats = json!({
        "synthetic_bimanual": {
            "action": vector(config.action_dim),
            "proprio": vector(config.state_dim),
            "num_transitions": 1000,
            "num_trajectories": 10
        }
    });
    serde_json::to_string_pretty(&stats).unwrap_or_default()
}

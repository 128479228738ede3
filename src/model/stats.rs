//! Dataset statistics (`dataset_statistics.json`): proprio normalisation and action
//! un-normalisation, per key, in quantile mode.
//!
//! Statistics of half the vector's length (10 for 20) apply to each arm's half separately.
//! Upstream computes in float64; so does this module.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::config::Normalization;

/// Offset added to `q99 - q01` by the reference to avoid dividing by zero.
const RANGE_EPS: f64 = 1e-6;

/// Statistics of one vector (proprio or action).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct VectorStats {
    /// 1st percentile.
    pub q01: Vec<f64>,
    /// 99th percentile.
    pub q99: Vec<f64>,
    /// Which entries are normalised (others pass through).
    pub mask: Vec<bool>,
}

/// Statistics of one dataset key.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct KeyStats {
    /// Proprio statistics.
    pub proprio: VectorStats,
    /// Action statistics.
    pub action: VectorStats,
}

/// Every key of a `dataset_statistics.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetStats {
    /// Statistics by key.
    pub keys: BTreeMap<String, KeyStats>,
}

/// Why statistics cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// The JSON does not have the expected shape.
    #[error("dataset statistics are not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// A key has vectors of unequal or unusable lengths.
    #[error("dataset statistics key '{key}': {what}")]
    Shape {
        /// Dataset key.
        key: String,
        /// What is wrong.
        what: String,
    },
    /// The requested key is absent.
    #[error("unknown statistics key '{key}' (available: {available})")]
    UnknownKey {
        /// Requested key.
        key: String,
        /// Keys in the file.
        available: String,
    },
}

impl VectorStats {
    fn check(&self, key: &str, what: &str, full_len: usize) -> Result<(), StatsError> {
        let n = self.q01.len();
        let ok =
            n == self.q99.len() && n == self.mask.len() && (n == full_len || 2 * n == full_len);
        if ok {
            Ok(())
        } else {
            Err(StatsError::Shape {
                key: key.into(),
                what: format!(
                    "{what} q01/q99/mask have lengths {}/{}/{}, expected {full_len} or {}",
                    n,
                    self.q99.len(),
                    self.mask.len(),
                    full_len / 2
                ),
            })
        }
    }

    /// Index into the statistics for element `i` of the full vector.
    fn index(&self, i: usize) -> usize {
        i % self.q01.len()
    }

    /// `x' = (x - q01) * 2 / (q99 - q01 + 1e-6) - 1` where masked.
    pub fn normalize(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .enumerate()
            .map(|(i, &v)| {
                let j = self.index(i);
                if self.mask[j] {
                    (v - self.q01[j]) * 2.0 / (self.q99[j] - self.q01[j] + RANGE_EPS) - 1.0
                } else {
                    v
                }
            })
            .collect()
    }

    /// `a' = (a + 1) * (q99 - q01 + 1e-6) / 2 + q01` where masked.
    pub fn unnormalize(&self, a: &[f64]) -> Vec<f64> {
        a.iter()
            .enumerate()
            .map(|(i, &v)| {
                let j = self.index(i);
                if self.mask[j] {
                    (v + 1.0) * (self.q99[j] - self.q01[j] + RANGE_EPS) / 2.0 + self.q01[j]
                } else {
                    v
                }
            })
            .collect()
    }

    /// Half-width of the un-normalised range of element `i` (the scale of action errors).
    pub fn scale(&self, i: usize) -> f64 {
        let j = self.index(i);
        if self.mask[j] {
            (self.q99[j] - self.q01[j] + RANGE_EPS) / 2.0
        } else {
            1.0
        }
    }
}

impl DatasetStats {
    /// Parses `dataset_statistics.json` and checks every key against the per-step vector
    /// lengths (`2 * state_dim` for proprio, `2 * action_dim` for actions).
    pub fn from_json(text: &str, state_dim: usize, action_dim: usize) -> Result<Self, StatsError> {
        let raw: BTreeMap<String, serde_json::Value> = serde_json::from_str(text)?;
        let mut keys = BTreeMap::new();
        for (key, value) in raw {
            let stats: KeyStats = serde_json::from_value(value)
                .map_err(|e| StatsError::Shape { key: key.clone(), what: e.to_string() })?;
            stats.proprio.check(&key, "proprio", 2 * state_dim)?;
            stats.action.check(&key, "action", 2 * action_dim)?;
            keys.insert(key, stats);
        }
        Ok(Self { keys })
    }

    /// The statistics for `key`, or an error listing the available keys.
    pub fn get(&self, key: &str) -> Result<&KeyStats, StatsError> {
        self.keys.get(key).ok_or_else(|| StatsError::UnknownKey {
            key: key.into(),
            available: self.keys.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    /// The only key, if there is exactly one (the default when none is named).
    pub fn single_key(&self) -> Option<&str> {
        if self.keys.len() == 1 {
            self.keys.keys().next().map(String::as_str)
        } else {
            None
        }
    }
}

impl KeyStats {
    /// Normalises the raw proprio vector `[left | right]` as the model expects it.
    pub fn normalize_proprio(&self, mode: Normalization, proprio: &[f64]) -> Vec<f64> {
        match mode {
            Normalization::Quantile => self.proprio.normalize(proprio),
            Normalization::Normal => proprio.to_vec(),
        }
    }

    /// Un-normalises a flat action chunk whose rows are `[left | right]` per step.
    pub fn unnormalize_actions(
        &self,
        mode: Normalization,
        actions: &[f64],
        row_len: usize,
    ) -> Vec<f64> {
        match mode {
            Normalization::Quantile => {
                actions.chunks(row_len).flat_map(|row| self.action.unnormalize(row)).collect()
            }
            Normalization::Normal => actions.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATS: &str =
        include_str!("../../tests/fixtures/golden-tiny/checkpoint/dataset_statistics.json");

    #[test]
    fn half_length_statistics_apply_to_each_arm() {
        let s = DatasetStats::from_json(STATS, 10, 10).unwrap();
        let k = s.get("aloha_handover_box").unwrap();
        let x: Vec<f64> = (0..20).map(|i| i as f64 * 0.1).collect();
        let n = k.normalize_proprio(Normalization::Quantile, &x);
        assert_eq!(n[9], x[9], "unmasked element passes through");
        let lo = k.proprio.q01[3];
        let hi = k.proprio.q99[3];
        assert!((n[13] - ((x[13] - lo) * 2.0 / (hi - lo + 1e-6) - 1.0)).abs() < 1e-12);
        let back = k.action.unnormalize(&k.action.normalize(&x));
        for (a, b) in x.iter().zip(back) {
            assert!((a - b).abs() < 1e-9);
        }
        assert!(s.get("nope").unwrap_err().to_string().contains("aloha_handover_box"));
    }

    #[test]
    fn wrong_lengths_are_refused() {
        assert!(DatasetStats::from_json(STATS, 7, 10).is_err());
        assert!(DatasetStats::from_json("{\"k\": {}}", 10, 10).is_err());
        assert!(DatasetStats::from_json("[", 10, 10).is_err());
    }
}

//! Replay of flight-recorder records: run the policy again on each record's observation with
//! its options and noise seed, and compare the actions with the recorded ones. On the same
//! adapter the result is expected to be bit-exact.

use std::path::{Path, PathBuf};

use super::record::{list_records, Record, RecordError};
use crate::policy::{LoadOptions, Policy, PolicyError};

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A record could not be read.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// No records were found.
    #[error("{0}: no records")]
    Empty(PathBuf),
    /// The policy could not be loaded or failed.
    #[error("{path}: {source}")]
    Policy {
        /// The model file or the record.
        path: PathBuf,
        /// What failed.
        #[source]
        source: Box<PolicyError>,
    },
}

/// What to replay with.
#[derive(Clone, Debug, Default)]
pub struct ReplayOptions {
    /// The model file; the one named in the first record when `None`.
    pub model: Option<PathBuf>,
    /// The Vulkan adapter.
    pub adapter: Option<String>,
    /// Replay at most this many records (the oldest first).
    pub limit: Option<usize>,
}

/// One record's comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayedRecord {
    /// The record directory.
    pub path: PathBuf,
    /// The record's cycle.
    pub cycle: u64,
    /// Largest absolute difference between recorded and replayed actions (0 when identical).
    pub max_abs_diff: f64,
    /// Values that differ at all.
    pub differing: usize,
    /// Values compared.
    pub values: usize,
    /// Prediction wall time of the replay (milliseconds).
    pub inference_ms: f64,
}

/// The whole replay.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayReport {
    /// The model file replayed with.
    pub model: PathBuf,
    /// The adapter replayed on.
    pub adapter: String,
    /// The adapter of the first record.
    pub recorded_adapter: String,
    /// Per record, oldest first.
    pub records: Vec<ReplayedRecord>,
}

impl ReplayReport {
    /// The largest difference over all records.
    pub fn max_abs_diff(&self) -> f64 {
        self.records.iter().map(|r| r.max_abs_diff).fold(0.0, f64::max)
    }

    /// True when every difference is within `tolerance` (0: bit-exact).
    pub fn within(&self, tolerance: f64) -> bool {
        self.records.iter().all(|r| {
            if tolerance == 0.0 {
                r.differing == 0
            } else {
                r.max_abs_diff <= tolerance
            }
        })
    }
}

/// Compares recorded and replayed values: (largest absolute difference, values that differ
/// bitwise). A length mismatch counts every value as different, with an infinite difference.
pub fn compare(recorded: &[f64], replayed: &[f64]) -> (f64, usize) {
    if recorded.len() != replayed.len() {
        return (f64::INFINITY, recorded.len().max(replayed.len()));
    }
    let mut max: f64 = 0.0;
    let mut differing = 0;
    for (a, b) in recorded.iter().zip(replayed) {
        if a.to_bits() != b.to_bits() {
            differing += 1;
            let d = (a - b).abs();
            max = max.max(if d.is_nan() { f64::INFINITY } else { d });
        }
    }
    (max, differing)
}

/// Replays the records under `dir` (a record directory or a directory of records).
pub fn replay(dir: &Path, options: &ReplayOptions) -> Result<ReplayReport, ReplayError> {
    let mut paths = list_records(dir)?;
    if let Some(limit) = options.limit {
        paths.truncate(limit);
    }
    let first = paths.first().ok_or_else(|| ReplayError::Empty(dir.to_owned()))?;
    let first_record = Record::read(first)?;
    let model = options.model.clone().unwrap_or_else(|| first_record.meta.model.path.clone());
    let load = LoadOptions { adapter: options.adapter.clone() };
    let mut policy = Policy::load(&model, &load)
        .map_err(|source| ReplayError::Policy { path: model.clone(), source: Box::new(source) })?;
    let mut records = Vec::with_capacity(paths.len());
    for path in &paths {
        let record = Record::read(path)?;
        let start = std::time::Instant::now();
        let chunk = policy.predict(&record.observation, &record.options()).map_err(|source| {
            ReplayError::Policy { path: path.clone(), source: Box::new(source) }
        })?;
        let inference_ms = start.elapsed().as_secs_f64() * 1000.0;
        let (max_abs_diff, differing) = compare(&record.chunk.actions, &chunk.actions);
        records.push(ReplayedRecord {
            path: path.clone(),
            cycle: record.meta.cycle,
            max_abs_diff,
            differing,
            values: record.chunk.actions.len(),
            inference_ms,
        });
    }
    Ok(ReplayReport {
        model,
        adapter: policy.gpu().describe(),
        recorded_adapter: first_record.meta.model.adapter,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_counts_bitwise_differences() {
        assert_eq!(compare(&[1.0, 2.0], &[1.0, 2.0]), (0.0, 0));
        assert_eq!(compare(&[1.0, 2.0], &[1.0, 2.5]), (0.5, 1));
        assert_eq!(compare(&[0.0], &[-0.0]), (0.0, 1));
        assert_eq!(compare(&[1.0], &[f64::NAN]).1, 1);
        assert_eq!(compare(&[1.0], &[1.0, 2.0]), (f64::INFINITY, 2));
    }

    #[test]
    fn tolerance_zero_means_bit_exact() {
        let record = |max_abs_diff, differing| ReplayedRecord {
            path: PathBuf::new(),
            cycle: 1,
            max_abs_diff,
            differing,
            values: 40,
            inference_ms: 1.0,
        };
        let report = |records| ReplayReport {
            model: PathBuf::new(),
            adapter: String::new(),
            recorded_adapter: String::new(),
            records,
        };
        assert!(report(vec![record(0.0, 0)]).within(0.0));
        assert!(!report(vec![record(0.0, 1)]).within(0.0), "-0.0 vs 0.0 is not bit-exact");
        assert!(report(vec![record(1e-7, 3)]).within(1e-6));
        assert!(!report(vec![record(1e-5, 3)]).within(1e-6));
    }

    #[test]
    fn an_empty_directory_is_an_error() {
        let dir = std::env::temp_dir().join(format!("replay-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        assert!(matches!(replay(&dir, &ReplayOptions::default()), Err(ReplayError::Empty(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

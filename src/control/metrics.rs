//! The control loop's running figures: per-stage latency windows, rates and counters, turned
//! into the status report's [`StageLatencies`], [`ControlStatus`] and [`InferenceStatus`].

use std::time::{Duration, Instant};

use super::latency::{LatencyWindow, RateMeter};
use super::status::{ControlStatus, InferenceStatus, StageLatencies};

/// Samples kept per latency window.
const WINDOW: usize = 512;

/// Events the rate meters measure over.
const RATE_EVENTS: usize = 64;

/// Everything the loop measures.
#[derive(Debug)]
pub struct Metrics {
    /// Age of the oldest frame at observation.
    pub frame_age: LatencyWindow,
    /// Building an observation.
    pub observe: LatencyWindow,
    /// Prediction wall time.
    pub inference: LatencyWindow,
    /// Observation to plan.
    pub observation_to_plan: LatencyWindow,
    /// Chunk send round trips.
    pub send: LatencyWindow,
    /// Tick work.
    pub tick: LatencyWindow,
    /// Control ticks.
    pub ticks: RateMeter,
    /// Completed inferences.
    pub inferences: RateMeter,
    /// Ticks longer than the period.
    pub overruns: u64,
    /// Chunks committed to the plan.
    pub chunks_accepted: u64,
    /// Chunks refused or dropped.
    pub chunks_refused: u64,
    /// Chunks acknowledged per arm.
    pub chunks_sent: [u64; 2],
    /// Chunks the arm clamped, per arm.
    pub chunks_clamped: [u64; 2],
    /// The last inference error.
    pub last_inference_error: Option<String>,
    /// Wall time of the last prediction.
    pub last_inference: Option<Duration>,
}

impl Metrics {
    /// Empty figures.
    pub fn new() -> Self {
        Self {
            frame_age: LatencyWindow::new(WINDOW),
            observe: LatencyWindow::new(WINDOW),
            inference: LatencyWindow::new(WINDOW),
            observation_to_plan: LatencyWindow::new(WINDOW),
            send: LatencyWindow::new(WINDOW),
            tick: LatencyWindow::new(WINDOW),
            ticks: RateMeter::new(RATE_EVENTS),
            inferences: RateMeter::new(RATE_EVENTS),
            overruns: 0,
            chunks_accepted: 0,
            chunks_refused: 0,
            chunks_sent: [0; 2],
            chunks_clamped: [0; 2],
            last_inference_error: None,
            last_inference: None,
        }
    }

    /// Stage latencies for the report.
    pub fn latencies(&self) -> StageLatencies {
        StageLatencies {
            frame_age: self.frame_age.summary(),
            observe: self.observe.summary(),
            inference: self.inference.summary(),
            observation_to_plan: self.observation_to_plan.summary(),
            send: self.send.summary(),
            tick: self.tick.summary(),
        }
    }

    /// The control section of the report.
    pub fn control(&self, now: Instant, remaining_steps: usize) -> ControlStatus {
        ControlStatus {
            rate_hz: self.ticks.rate(now),
            ticks: self.ticks.total(),
            overruns: self.overruns,
            chunks_accepted: self.chunks_accepted,
            chunks_refused: self.chunks_refused,
            remaining_steps,
        }
    }

    /// The inference section of the report.
    pub fn inference(&self, now: Instant, in_flight: bool, paused: bool) -> InferenceStatus {
        InferenceStatus {
            rate_hz: self.inferences.rate(now),
            completed: self.inferences.total(),
            last_ms: self.last_inference.map(|d| d.as_secs_f64() * 1000.0),
            in_flight,
            paused,
            last_error: self.last_inference_error.clone(),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

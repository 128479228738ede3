//! The status report: what `twinvla-edge status` prints (as JSON) and the periodic log line
//! summarises. The control loop publishes a fresh report a few times per second.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cameras::CameraStatus;
use super::latency::LatencySummary;

/// What the control loop is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopState {
    /// Following the plan and running inference.
    Running,
    /// Inference paused by command; the arms hold.
    Paused,
    /// A fault (stalled camera, lost arm, late or failed inference) holds the arms.
    Holding,
    /// The e-stop is latched.
    EStopped,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// What the loop is doing.
    pub state: LoopState,
    /// Why the arms hold (empty while running).
    pub hold_causes: Vec<String>,
    /// Why the e-stop is latched.
    pub estop_cause: Option<String>,
    /// The current instruction.
    pub instruction: String,
    /// Seconds since the loop started.
    pub uptime_s: f64,
    /// How old this report was when it was handed out (milliseconds); the loop refreshes it
    /// ten times per second, so a large value means the loop is stuck.
    pub report_age_ms: f64,
    /// The control loop.
    pub control: ControlStatus,
    /// The inference worker.
    pub inference: InferenceStatus,
    /// Per-stage latencies.
    pub latency: StageLatencies,
    /// Each camera.
    pub cameras: Vec<CameraStatus>,
    /// Each arm.
    pub arms: Vec<ArmStatus>,
    /// Safety events by kind.
    pub safety_events: BTreeMap<String, u64>,
    /// The flight recorder, when enabled.
    pub recorder: Option<RecorderStatus>,
}

/// Figures of the control loop.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ControlStatus {
    /// Ticks per second.
    pub rate_hz: f64,
    /// Ticks since start.
    pub ticks: u64,
    /// Ticks that took longer than the control period.
    pub overruns: u64,
    /// Chunks accepted into the plan.
    pub chunks_accepted: u64,
    /// Chunks refused by the safety layer or dropped as late.
    pub chunks_refused: u64,
    /// Planned steps still ahead.
    pub remaining_steps: usize,
}

/// Figures of the inference worker.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InferenceStatus {
    /// Inferences completed per second.
    pub rate_hz: f64,
    /// Inferences completed.
    pub completed: u64,
    /// Wall time of the last prediction (milliseconds).
    pub last_ms: Option<f64>,
    /// True while one runs.
    pub in_flight: bool,
    /// True while paused by command.
    pub paused: bool,
    /// The last error, if any.
    pub last_error: Option<String>,
}

/// Latency of each stage of the cycle.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StageLatencies {
    /// Age of the oldest camera frame when an observation is taken.
    pub frame_age: LatencySummary,
    /// Building an observation (copying frames, reading states).
    pub observe: LatencySummary,
    /// The policy's prediction (wall time in the worker).
    pub inference: LatencySummary,
    /// From observation to the chunk in the plan.
    pub observation_to_plan: LatencySummary,
    /// Sending a chunk to an arm until its acknowledgement.
    pub send: LatencySummary,
    /// One control tick's work.
    pub tick: LatencySummary,
}

/// One arm.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmStatus {
    /// `left` or `right`.
    pub name: String,
    /// The link.
    pub device: String,
    /// True while the link is up.
    pub connected: bool,
    /// The arm's mode (`Enabled`, `Holding`, …) from its last state report.
    pub mode: Option<String>,
    /// Measured `xyz, rot6d, gripper`.
    pub measured: Option<Vec<f32>>,
    /// Age of the last state report (milliseconds).
    pub state_age_ms: Option<f64>,
    /// The arm's last accepted chunk number.
    pub last_chunk_seq: Option<u32>,
    /// Chunks sent and acknowledged.
    pub chunks_sent: u64,
    /// Chunks the arm clamped.
    pub chunks_clamped: u64,
    /// Reconnections of the link.
    pub reconnects: u64,
    /// The link's last error.
    pub last_error: Option<String>,
}

/// The flight recorder.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecorderStatus {
    /// Where records go.
    pub dir: String,
    /// Records written since start.
    pub written: u64,
    /// Records kept on disk.
    pub kept: usize,
    /// Bytes kept on disk.
    pub bytes: u64,
    /// Cycles not recorded because the queue was full.
    pub dropped: u64,
    /// Records that failed to write.
    pub errors: u64,
}

impl StatusReport {
    /// One line for the log.
    pub fn log_line(&self) -> String {
        let cameras: Vec<String> =
            self.cameras.iter().map(|c| format!("{} {:.1}fps", c.name, c.fps)).collect();
        let arms: Vec<String> = self
            .arms
            .iter()
            .map(|a| format!("{} {}", a.name, a.mode.as_deref().unwrap_or("?")))
            .collect();
        let events: u64 = self.safety_events.values().sum();
        format!(
            "{:?}{} | control {:.1} Hz | inference {:.2} Hz p50 {:.0} ms p99 {:.0} ms | cameras {} | arms {} | safety events {}",
            self.state,
            if self.hold_causes.is_empty() {
                String::new()
            } else {
                format!(" ({})", self.hold_causes.join(", "))
            },
            self.control.rate_hz,
            self.inference.rate_hz,
            self.latency.inference.p50_ms,
            self.latency.inference.p99_ms,
            cameras.join(", "),
            arms.join(", "),
            events,
        )
    }
}

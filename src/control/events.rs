//! Safety events: every refusal, clamp, stall, loss, deadline miss and e-stop is logged with
//! its cause (log target `safety`) and counted; the counts appear in the status report.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::safety::Violation;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A chunk held NaN or infinite values.
    NonFinite,
    /// A chunk held a degenerate 6D rotation.
    DegenerateRotation,
    /// Targets were clamped into the workspace or gripper range.
    WorkspaceClamped,
    /// A chunk's first step was too far from the measured pose.
    StartDelta,
    /// Consecutive steps of a chunk were too far apart.
    StepDelta,
    /// An inference missed its deadline.
    InferenceDeadline,
    /// An inference failed.
    InferenceFailed,
    /// A camera delivered no fresh frame in time.
    CameraStall,
    /// An arm's link went down or its state reports stopped.
    ArmLinkLost,
    /// An arm refused or did not answer a command.
    ArmCommandFailed,
    /// The e-stop was latched.
    EStop,
}

impl EventKind {
    /// Every kind, in report order.
    pub const ALL: [EventKind; 11] = [
        EventKind::NonFinite,
        EventKind::DegenerateRotation,
        EventKind::WorkspaceClamped,
        EventKind::StartDelta,
        EventKind::StepDelta,
        EventKind::InferenceDeadline,
        EventKind::InferenceFailed,
        EventKind::CameraStall,
        EventKind::ArmLinkLost,
        EventKind::ArmCommandFailed,
        EventKind::EStop,
    ];

    /// The name used in logs and in the status report.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::NonFinite => "non_finite",
            EventKind::DegenerateRotation => "degenerate_rotation",
            EventKind::WorkspaceClamped => "workspace_clamped",
            EventKind::StartDelta => "start_delta",
            EventKind::StepDelta => "step_delta",
            EventKind::InferenceDeadline => "inference_deadline",
            EventKind::InferenceFailed => "inference_failed",
            EventKind::CameraStall => "camera_stall",
            EventKind::ArmLinkLost => "arm_link_lost",
            EventKind::ArmCommandFailed => "arm_command_failed",
            EventKind::EStop => "estop",
        }
    }

    /// The kind of a safety-layer refusal.
    pub fn of(violation: &Violation) -> Self {
        match violation {
            Violation::NonFinite { .. } => EventKind::NonFinite,
            Violation::DegenerateRotation { .. } => EventKind::DegenerateRotation,
            Violation::StartDelta { .. } => EventKind::StartDelta,
            Violation::StepDelta { .. } => EventKind::StepDelta,
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|&k| k == self).unwrap_or(0)
    }
}

/// Counters of every [`EventKind`]; shared between threads.
#[derive(Debug, Default)]
pub struct SafetyEvents {
    counts: [AtomicU64; EventKind::ALL.len()],
}

impl SafetyEvents {
    /// No events yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one event and logs it with its cause (an e-stop as an error, the rest as
    /// warnings).
    pub fn record(&self, kind: EventKind, cause: &dyn std::fmt::Display) {
        let n = self.counts[kind.index()].fetch_add(1, Ordering::Relaxed) + 1;
        let level = if kind == EventKind::EStop { log::Level::Error } else { log::Level::Warn };
        log::log!(target: "safety", level, "{} (#{n}): {cause}", kind.name());
    }

    /// How many events of `kind` happened.
    pub fn count(&self, kind: EventKind) -> u64 {
        self.counts[kind.index()].load(Ordering::Relaxed)
    }

    /// Every count by name.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        EventKind::ALL.iter().map(|&k| (k.name().to_owned(), self.count(k))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_counted_per_kind() {
        let events = SafetyEvents::new();
        events.record(EventKind::CameraStall, &"primary: 400 ms old");
        events.record(EventKind::CameraStall, &"again");
        events.record(EventKind::EStop, &"button");
        assert_eq!(events.count(EventKind::CameraStall), 2);
        assert_eq!(events.count(EventKind::NonFinite), 0);
        assert_eq!(events.snapshot().values().sum::<u64>(), 3);
        assert_eq!(events.snapshot().get("estop"), Some(&1));
        assert_eq!(events.snapshot().len(), EventKind::ALL.len());
    }

    #[test]
    fn violations_map_to_their_kind() {
        let v = Violation::DegenerateRotation { arm: "left", step: 2 };
        assert_eq!(EventKind::of(&v), EventKind::DegenerateRotation);
    }
}

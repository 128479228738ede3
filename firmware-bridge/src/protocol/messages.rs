//! Every message that crosses the link, in both directions.
//!
//! The host sends [`HostFrame`]s (a request number plus a [`HostMessage`]); the arm answers
//! every request with exactly one [`ArmMessage`] carrying the same number (a hello reply, a
//! time-sync reply or an acknowledgement), and streams [`ArmMessage::State`] unsolicited.
//! All types are fixed-capacity (`heapless`) so the arm side never allocates.

use heapless::Vec;
use postcard_schema::Schema;
use serde::{Deserialize, Serialize};

use super::flags::{Capabilities, FaultFlags, StatusFlags};
use super::pose::ArmPose;

/// Most steps one action chunk can carry.
pub const MAX_STEPS: usize = 32;

/// Most joint positions one state message can carry.
pub const MAX_JOINTS: usize = 8;

/// Which arm of the bimanual robot a microcontroller drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub enum ArmId {
    /// The left arm (first half of the policy's action vector).
    Left,
    /// The right arm (second half of the policy's action vector).
    Right,
}

impl ArmId {
    /// Both arms, left first (the policy's order).
    pub const BOTH: [ArmId; 2] = [ArmId::Left, ArmId::Right];

    /// 0 for the left arm, 1 for the right arm.
    pub const fn index(self) -> u8 {
        match self {
            ArmId::Left => 0,
            ArmId::Right => 1,
        }
    }

    /// Lower-case name, as used on command lines and in logs.
    pub const fn name(self) -> &'static str {
        match self {
            ArmId::Left => "left",
            ArmId::Right => "right",
        }
    }
}

/// The host's opening message: which protocol and schema it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct HostHello {
    /// [`crate::protocol::PROTOCOL_VERSION`] of the host.
    pub protocol_version: u16,
    /// [`crate::protocol::SCHEMA_HASH`] of the host.
    pub schema_hash: u64,
}

/// Semantic version of the arm's firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct FirmwareVersion {
    /// Incompatible changes.
    pub major: u16,
    /// Compatible additions.
    pub minor: u16,
    /// Fixes.
    pub patch: u16,
}

/// The limits the arm enforces on every control tick, announced in its hello.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Schema)]
pub struct ArmLimits {
    /// Lower corner of the workspace box (metres).
    pub workspace_min: [f32; 3],
    /// Upper corner of the workspace box (metres).
    pub workspace_max: [f32; 3],
    /// Smallest gripper value.
    pub gripper_min: f32,
    /// Largest gripper value.
    pub gripper_max: f32,
    /// Fastest the setpoint position may move (metres per second).
    pub max_speed_m_s: f32,
    /// Largest setpoint position change in one control tick (metres).
    pub max_step_m: f32,
    /// Deceleration used when braking to a hold (metres per second squared).
    pub max_decel_m_s2: f32,
    /// Largest change of any 6D-rotation component in one control tick.
    pub max_rot6d_step: f32,
    /// Fastest the gripper setpoint may move (units per second).
    pub max_gripper_speed: f32,
    /// Control tick period (microseconds).
    pub control_period_us: u32,
    /// Time without a valid chunk or heartbeat after which the arm brakes and holds
    /// (microseconds).
    pub watchdog_timeout_us: u32,
}

impl Default for ArmLimits {
    /// Conservative limits for a tabletop arm of about 0.8 m reach, ticking at 500 Hz.
    fn default() -> Self {
        Self {
            workspace_min: [-0.6, -0.6, 0.0],
            workspace_max: [0.6, 0.6, 0.8],
            gripper_min: 0.0,
            gripper_max: 1.0,
            max_speed_m_s: 0.5,
            max_step_m: 0.002,
            max_decel_m_s2: 5.0,
            max_rot6d_step: 0.01,
            max_gripper_speed: 2.0,
            control_period_us: 2_000,
            watchdog_timeout_us: 100_000,
        }
    }
}

/// Everything an arm says about itself in reply to a hello.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Schema)]
pub struct ArmInfo {
    /// [`crate::protocol::PROTOCOL_VERSION`] of the firmware.
    pub protocol_version: u16,
    /// [`crate::protocol::SCHEMA_HASH`] of the firmware.
    pub schema_hash: u64,
    /// Which arm this is.
    pub arm_id: ArmId,
    /// Firmware version.
    pub firmware_version: FirmwareVersion,
    /// Optional features.
    pub capabilities: Capabilities,
    /// Limits enforced on every tick.
    pub limits: ArmLimits,
}

/// A timed sequence of end-effector targets for one arm.
///
/// Step `i` is the target at `start_time_us + i * step_period_us` on the arm's clock; the
/// arm interpolates linearly between steps and holds the last one after the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Schema)]
pub struct ActionChunk {
    /// Increases by one per chunk within a host session; the arm refuses older chunks.
    pub chunk_seq: u32,
    /// Time of the first step on the arm's clock (microseconds).
    pub start_time_us: u64,
    /// Time between steps (microseconds).
    pub step_period_us: u32,
    /// The targets, at most [`MAX_STEPS`].
    pub steps: Vec<ArmPose, MAX_STEPS>,
}

/// Why an [`ActionChunk`] could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// No steps were given.
    #[error("action chunk has no steps")]
    Empty,
    /// More steps than a chunk carries.
    #[error("action chunk has {steps} steps, at most {MAX_STEPS} fit")]
    TooManySteps {
        /// Steps given.
        steps: usize,
    },
    /// The step period is zero.
    #[error("action chunk step period is zero")]
    ZeroPeriod,
}

impl ActionChunk {
    /// Builds a chunk from a slice of targets, checking its shape (not its values: the arm
    /// checks those against its limits).
    pub fn new(
        chunk_seq: u32,
        start_time_us: u64,
        step_period_us: u32,
        poses: &[ArmPose],
    ) -> Result<Self, ChunkError> {
        if poses.is_empty() {
            return Err(ChunkError::Empty);
        }
        if step_period_us == 0 {
            return Err(ChunkError::ZeroPeriod);
        }
        let steps =
            Vec::from_slice(poses).map_err(|_| ChunkError::TooManySteps { steps: poses.len() })?;
        Ok(Self { chunk_seq, start_time_us, step_period_us, steps })
    }
}

/// A request from the host, numbered so that its reply can be matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Schema)]
pub struct HostFrame {
    /// Request number, echoed in the reply. Retries reuse the number.
    pub seq: u32,
    /// The request.
    pub message: HostMessage,
}

/// What the host can ask of an arm.
// The chunk is stored inline on purpose: the arm side never allocates.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Schema)]
pub enum HostMessage {
    /// Opens a session; refused unless version and schema match.
    Hello(HostHello),
    /// Keeps the watchdog fed while no chunk is due.
    Heartbeat,
    /// New targets to execute.
    Chunk(ActionChunk),
    /// Power the motors and track chunks, starting from the measured pose.
    Enable,
    /// Stop tracking and unpower the motors.
    Disable,
    /// Brake to a hold and latch until [`HostMessage::ClearEStop`].
    EStop,
    /// Release a latched e-stop; the arm comes back disabled.
    ClearEStop,
    /// Clock probe: the arm answers with its receive and send times.
    TimeSync {
        /// The host's clock when it sent the probe (microseconds).
        host_send_us: u64,
    },
}

/// The arm's operating mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub enum Mode {
    /// Motors unpowered; the setpoint follows the measured pose.
    Disabled,
    /// Tracking chunks (or holding the last target when none is due).
    Enabled,
    /// The watchdog expired: braking to and holding the current pose, motors powered.
    Holding,
    /// E-stop latched: braking to and holding the current pose, motors powered, chunks refused.
    EStopped,
}

/// The arm's periodic report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Schema)]
pub struct ArmState {
    /// The arm's clock when the state was taken (microseconds).
    pub timestamp_us: u64,
    /// Operating mode.
    pub mode: Mode,
    /// Measured end-effector pose and gripper.
    pub measured: ArmPose,
    /// The setpoint of the last control tick.
    pub setpoint: ArmPose,
    /// Measured joint positions (radians or metres, arm-specific), at most [`MAX_JOINTS`].
    pub joints: Vec<f32, MAX_JOINTS>,
    /// Status bits.
    pub status: StatusFlags,
    /// Fault bits.
    pub faults: FaultFlags,
    /// Sequence number of the last accepted chunk in this session.
    pub last_chunk_seq: Option<u32>,
    /// Corrupt frames received since power-up.
    pub corrupt_frames: u32,
}

/// The arm's answer to a clock probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct TimeSyncReply {
    /// Copied from the probe.
    pub host_send_us: u64,
    /// The arm's clock when the probe arrived.
    pub arm_receive_us: u64,
    /// The arm's clock when the reply left.
    pub arm_send_us: u64,
}

/// Outcome of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub enum AckCode {
    /// Done.
    Ok,
    /// Chunk accepted, some targets clamped into the workspace or gripper range.
    Clamped,
    /// Chunk already accepted (a retry); nothing changed.
    Duplicate,
    /// No hello has succeeded yet.
    NotGreeted,
    /// Hello refused: protocol versions differ.
    VersionMismatch,
    /// Hello refused: message schemas differ.
    SchemaMismatch,
    /// Chunk refused: the arm is disabled.
    NotEnabled,
    /// Refused: the e-stop is latched.
    EStopLatched,
    /// Chunk refused: a value is NaN or infinite, or a rotation is degenerate.
    NonFinite,
    /// Chunk refused: older than the last accepted one, or already over.
    Stale,
    /// Chunk refused: no steps or a zero step period.
    InvalidChunk,
}

impl AckCode {
    /// True for the codes that mean the request took effect (or had already).
    pub const fn is_success(self) -> bool {
        matches!(self, AckCode::Ok | AckCode::Clamped | AckCode::Duplicate)
    }
}

/// What an arm sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Schema)]
pub enum ArmMessage {
    /// Reply to [`HostMessage::Hello`]; `result` is `Ok` or the reason for refusal.
    Hello {
        /// The request number.
        seq: u32,
        /// Whether the session was opened.
        result: AckCode,
        /// The arm's description, sent even on refusal so the host can report it.
        info: ArmInfo,
    },
    /// Reply to every other request except the clock probe.
    Ack {
        /// The request number.
        seq: u32,
        /// The outcome.
        code: AckCode,
    },
    /// Reply to [`HostMessage::TimeSync`].
    TimeSync {
        /// The request number.
        seq: u32,
        /// The clock readings.
        reply: TimeSyncReply,
    },
    /// Periodic state report.
    State(ArmState),
}

impl ArmMessage {
    /// The request number this message answers, or `None` for a state report.
    pub const fn reply_to(&self) -> Option<u32> {
        match self {
            ArmMessage::Hello { seq, .. }
            | ArmMessage::Ack { seq, .. }
            | ArmMessage::TimeSync { seq, .. } => Some(*seq),
            ArmMessage::State(_) => None,
        }
    }
}

/// Why an [`ArmLimits`] is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("arm limits field `{field}` is invalid: {reason}")]
pub struct LimitsError {
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl ArmLimits {
    /// Checks that every limit is finite, positive where it must be, and that the
    /// workspace and gripper ranges are not empty.
    pub fn validate(&self) -> Result<(), LimitsError> {
        let bad = |field, reason| Err(LimitsError { field, reason });
        for axis in 0..3 {
            let (lo, hi) = (self.workspace_min[axis], self.workspace_max[axis]);
            if !lo.is_finite() || !hi.is_finite() {
                return bad("workspace", "not finite");
            }
            if lo > hi {
                return bad("workspace", "min above max");
            }
        }
        if !self.gripper_min.is_finite() || !self.gripper_max.is_finite() {
            return bad("gripper", "not finite");
        }
        if self.gripper_min > self.gripper_max {
            return bad("gripper", "min above max");
        }
        let positive = [
            ("max_speed_m_s", self.max_speed_m_s),
            ("max_step_m", self.max_step_m),
            ("max_decel_m_s2", self.max_decel_m_s2),
            ("max_rot6d_step", self.max_rot6d_step),
            ("max_gripper_speed", self.max_gripper_speed),
        ];
        for (field, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return bad(field, "must be finite and positive");
            }
        }
        if self.control_period_us == 0 {
            return bad("control_period_us", "must be positive");
        }
        if self.watchdog_timeout_us < self.control_period_us {
            return bad("watchdog_timeout_us", "shorter than one control period");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_are_valid() {
        assert_eq!(ArmLimits::default().validate(), Ok(()));
    }

    #[test]
    fn invalid_limits_name_the_field() {
        let limits = ArmLimits { max_step_m: f32::NAN, ..ArmLimits::default() };
        assert_eq!(limits.validate().map_err(|e| e.field), Err("max_step_m"));
        let limits = ArmLimits { gripper_min: 2.0, ..ArmLimits::default() };
        assert_eq!(limits.validate().map_err(|e| e.field), Err("gripper"));
        let limits = ArmLimits { watchdog_timeout_us: 1, ..ArmLimits::default() };
        assert_eq!(limits.validate().map_err(|e| e.field), Err("watchdog_timeout_us"));
    }

    #[test]
    fn chunk_shape_is_checked() {
        let pose = ArmPose::at([0.0; 3], 0.0);
        assert_eq!(ActionChunk::new(0, 0, 1, &[]), Err(ChunkError::Empty));
        assert_eq!(ActionChunk::new(0, 0, 0, &[pose]), Err(ChunkError::ZeroPeriod));
        let many = [pose; MAX_STEPS + 1];
        assert_eq!(
            ActionChunk::new(0, 0, 1, &many),
            Err(ChunkError::TooManySteps { steps: MAX_STEPS + 1 })
        );
        assert_eq!(ActionChunk::new(0, 0, 1, &many[..MAX_STEPS]).map(|c| c.steps.len()), Ok(32));
    }
}

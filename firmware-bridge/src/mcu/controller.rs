//! The arm's state machine: sessions, enable/disable, chunk acceptance, watchdog, e-stop
//! latch, and the setpoint of every control tick.
//!
//! ```text
//!             Enable                   watchdog expires
//!  Disabled ─────────► Enabled ───────────────────────────► Holding
//!     ▲  ◄───────────    │  ▲ ◄──────────────────────────────  │
//!     │     Disable      │  │        valid chunk               │
//!     │                  │  EStop (from any mode)              │
//!     │ ClearEStop       ▼                                     ▼
//!     └──────────────  EStopped  ◄──────────────────────────────┘
//! ```
//!
//! `Holding` and `EStopped` brake to a stop and hold the pose with the motors powered: the
//! arm never goes limp on its own. Only `Disable` (an explicit request) unpowers it; an
//! e-stop received while disabled latches but leaves the motors unpowered. The
//! e-stop stays latched through hellos and reconnects until `ClearEStop`, after which the arm
//! is `Disabled` and must be enabled again.

use crate::mcu::acceptance::{accept_chunk, clamp_to_limits};
use crate::mcu::motion::{brake, step_towards};
use crate::mcu::trajectory::Trajectory;
use crate::mcu::watchdog::Watchdog;
use crate::protocol::{
    check_compatible, AckCode, ArmId, ArmInfo, ArmLimits, ArmMessage, ArmPose, ArmState,
    Capabilities, FaultFlags, FirmwareVersion, HostFrame, HostMessage, LimitsError, Mode,
    StatusFlags, TimeSyncReply, MAX_JOINTS, PROTOCOL_VERSION, SCHEMA_HASH,
};

/// What a particular arm is; becomes the [`ArmInfo`] of its hello replies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmConfig {
    /// Which arm.
    pub arm_id: ArmId,
    /// Firmware version to announce.
    pub firmware_version: FirmwareVersion,
    /// Features to announce.
    pub capabilities: Capabilities,
    /// Limits to enforce and announce.
    pub limits: ArmLimits,
}

/// What the motors should do this tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Unpowered (the arm is disabled).
    Off,
    /// Powered, tracking this setpoint.
    Track(ArmPose),
    /// Powered, braking to or holding this setpoint (watchdog or e-stop).
    Hold(ArmPose),
}

impl Command {
    /// The setpoint, unless unpowered.
    pub const fn setpoint(&self) -> Option<ArmPose> {
        match self {
            Command::Off => None,
            Command::Track(p) | Command::Hold(p) => Some(*p),
        }
    }
}

/// The arm-side protocol state machine. See the module documentation for the modes.
#[derive(Debug, Clone)]
pub struct ArmController {
    /// What the hello reply says.
    info: ArmInfo,
    /// Operating mode.
    mode: Mode,
    /// A compatible host said hello.
    greeted: bool,
    /// Last chunk accepted in this session.
    last_chunk_seq: Option<u32>,
    /// Chunks in execution.
    trajectory: Trajectory,
    /// Link watchdog.
    watchdog: Watchdog,
    /// Setpoint of the last tick, `None` before the first.
    setpoint: Option<ArmPose>,
    /// Velocity of the setpoint position (metres per second).
    velocity: [f32; 3],
    /// Time of the last tick.
    last_tick_us: Option<u64>,
    /// The next tick restarts the setpoint from the measured pose (after enabling).
    resync: bool,
    /// Event fault bits since the last report.
    events: FaultFlags,
    /// Corrupt frames since power-up.
    corrupt_frames: u32,
    /// The e-stop latched while the motors were powered, so they hold; an e-stop latched
    /// while disabled keeps them unpowered.
    estop_powered: bool,
}

impl ArmController {
    /// A disabled, un-greeted arm. Fails if the limits are unusable.
    pub fn new(config: ArmConfig) -> Result<Self, LimitsError> {
        config.limits.validate()?;
        let info = ArmInfo {
            protocol_version: PROTOCOL_VERSION,
            schema_hash: SCHEMA_HASH,
            arm_id: config.arm_id,
            firmware_version: config.firmware_version,
            capabilities: config.capabilities,
            limits: config.limits,
        };
        Ok(Self {
            info,
            mode: Mode::Disabled,
            greeted: false,
            last_chunk_seq: None,
            trajectory: Trajectory::new(),
            watchdog: Watchdog::new(u64::from(config.limits.watchdog_timeout_us)),
            setpoint: None,
            velocity: [0.0; 3],
            last_tick_us: None,
            resync: true,
            events: FaultFlags::NONE,
            corrupt_frames: 0,
            estop_powered: false,
        })
    }

    /// What this arm announces.
    pub const fn info(&self) -> &ArmInfo {
        &self.info
    }

    /// Current mode.
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// Counts a frame that failed its checks (reported in state messages).
    pub fn record_corrupt_frame(&mut self) {
        self.corrupt_frames = self.corrupt_frames.saturating_add(1);
        self.events = self.events.with(FaultFlags::CORRUPT_FRAME);
    }

    /// Handles one request received at `now_us`; returns the reply to send.
    pub fn handle(&mut self, frame: &HostFrame, now_us: u64) -> ArmMessage {
        let seq = frame.seq;
        let ack = |code| ArmMessage::Ack { seq, code };
        match &frame.message {
            HostMessage::Hello(hello) => {
                let result = match check_compatible(hello.protocol_version, hello.schema_hash) {
                    Ok(()) => AckCode::Ok,
                    Err(e) => e.ack_code(),
                };
                self.greeted = result == AckCode::Ok;
                self.last_chunk_seq = None;
                ArmMessage::Hello { seq, result, info: self.info }
            }
            HostMessage::TimeSync { host_send_us } => ArmMessage::TimeSync {
                seq,
                reply: TimeSyncReply {
                    host_send_us: *host_send_us,
                    arm_receive_us: now_us,
                    arm_send_us: now_us,
                },
            },
            HostMessage::EStop => {
                self.latch_estop();
                ack(AckCode::Ok)
            }
            _ if !self.greeted => ack(AckCode::NotGreeted),
            HostMessage::Heartbeat => {
                self.watchdog.feed(now_us);
                ack(AckCode::Ok)
            }
            HostMessage::Chunk(chunk) => ack(self.take_chunk(chunk, now_us)),
            HostMessage::Enable => ack(self.enable(now_us)),
            HostMessage::Disable => {
                if self.mode == Mode::EStopped {
                    return ack(AckCode::EStopLatched);
                }
                self.mode = Mode::Disabled;
                self.trajectory.clear();
                ack(AckCode::Ok)
            }
            HostMessage::ClearEStop => {
                if self.mode == Mode::EStopped {
                    self.mode = Mode::Disabled;
                }
                ack(AckCode::Ok)
            }
        }
    }

    /// Latches the e-stop: chunks dropped, brake and hold.
    fn latch_estop(&mut self) {
        if self.mode != Mode::EStopped {
            self.estop_powered = self.mode != Mode::Disabled;
        }
        self.mode = Mode::EStopped;
        self.trajectory.clear();
    }

    /// Enables tracking from the measured pose.
    fn enable(&mut self, now_us: u64) -> AckCode {
        match self.mode {
            Mode::EStopped => AckCode::EStopLatched,
            Mode::Disabled => {
                self.mode = Mode::Enabled;
                self.resync = true;
                self.trajectory.clear();
                self.watchdog.feed(now_us);
                AckCode::Ok
            }
            Mode::Enabled | Mode::Holding => {
                self.mode = Mode::Enabled;
                self.watchdog.feed(now_us);
                AckCode::Ok
            }
        }
    }

    /// Checks a chunk and queues it for execution.
    fn take_chunk(&mut self, chunk: &crate::protocol::ActionChunk, now_us: u64) -> AckCode {
        match self.mode {
            Mode::EStopped => return AckCode::EStopLatched,
            Mode::Disabled => return AckCode::NotEnabled,
            Mode::Enabled | Mode::Holding => {}
        }
        match self.last_chunk_seq {
            Some(last) if chunk.chunk_seq == last => {
                self.watchdog.feed(now_us);
                return AckCode::Duplicate;
            }
            Some(last) if chunk.chunk_seq < last => return AckCode::Stale,
            _ => {}
        }
        match accept_chunk(chunk, &self.info.limits, now_us) {
            Ok((accepted, code)) => {
                if code == AckCode::Clamped {
                    self.events = self.events.with(FaultFlags::TARGET_CLAMPED);
                }
                self.trajectory.accept(accepted, now_us);
                self.last_chunk_seq = Some(chunk.chunk_seq);
                self.watchdog.feed(now_us);
                self.mode = Mode::Enabled;
                code
            }
            Err(code) => {
                if code == AckCode::NonFinite {
                    self.events = self.events.with(FaultFlags::NON_FINITE_REJECTED);
                }
                code
            }
        }
    }

    /// Runs one control tick at `now_us` with the measured pose; returns the motor command.
    pub fn tick(&mut self, now_us: u64, measured: &ArmPose) -> Command {
        let limits = self.info.limits;
        let dt_us = match self.last_tick_us {
            Some(last) => now_us.saturating_sub(last),
            None => u64::from(limits.control_period_us),
        };
        self.last_tick_us = Some(now_us);
        let dt_s = dt_us as f32 * 1e-6;

        let current = self.current_setpoint(measured);
        if !self.is_powered() {
            self.setpoint = Some(current);
            self.velocity = [0.0; 3];
            self.resync = true;
            return Command::Off;
        }
        if self.mode == Mode::Enabled && self.watchdog.expired(now_us) {
            self.mode = Mode::Holding;
        }
        if self.mode == Mode::Enabled {
            let target = self.trajectory.sample(now_us).unwrap_or(current);
            let (next, limited) = step_towards(&current, &target, dt_s, &limits);
            if limited {
                self.events = self.events.with(FaultFlags::STEP_LIMITED);
            }
            if dt_s > 0.0 {
                for axis in 0..3 {
                    self.velocity[axis] = (next.xyz[axis] - current.xyz[axis]) / dt_s;
                }
            }
            self.setpoint = Some(next);
            return Command::Track(next);
        }
        let (next, velocity) = brake(&current, self.velocity, dt_s, &limits);
        self.velocity = velocity;
        self.setpoint = Some(next);
        Command::Hold(next)
    }

    /// True when the motors are powered in the current mode.
    fn is_powered(&self) -> bool {
        match self.mode {
            Mode::Disabled => false,
            Mode::EStopped => self.estop_powered,
            Mode::Enabled | Mode::Holding => true,
        }
    }

    /// The setpoint to continue from: the last one, or the measured pose after (re)enabling,
    /// or a safe fallback when the measurement is unusable.
    fn current_setpoint(&mut self, measured: &ArmPose) -> ArmPose {
        let resync = self.resync || self.setpoint.is_none();
        self.resync = false;
        let from_measured = measured
            .is_finite()
            .then(|| measured.orthonormalized())
            .flatten()
            .map(|m| clamp_to_limits(&m, &self.info.limits).0);
        match (resync, self.setpoint, from_measured) {
            (true, _, Some(m)) => m,
            (_, Some(s), _) => s,
            (_, None, Some(m)) => m,
            (_, None, None) => {
                let l = &self.info.limits;
                let centre =
                    core::array::from_fn(|i| (l.workspace_min[i] + l.workspace_max[i]) / 2.0);
                ArmPose::at(centre, l.gripper_min)
            }
        }
    }

    /// The state message for `now_us`; clears the event fault bits it reports.
    pub fn report(&mut self, now_us: u64, measured: &ArmPose, joints: &[f32]) -> ArmState {
        let mut status = StatusFlags::NONE;
        status.set(StatusFlags::GREETED, self.greeted);
        status.set(StatusFlags::CHUNK_ACTIVE, self.trajectory.has_active());
        status.set(StatusFlags::CHUNK_PENDING, self.trajectory.has_pending());
        let stopping = matches!(self.mode, Mode::Holding | Mode::EStopped);
        status.set(StatusFlags::BRAKING, stopping && self.velocity != [0.0; 3]);
        status.set(StatusFlags::POWERED, self.is_powered());
        let mut faults = core::mem::take(&mut self.events);
        faults.set(FaultFlags::WATCHDOG, self.mode == Mode::Holding);
        faults.set(FaultFlags::ESTOP, self.mode == Mode::EStopped);
        let mut joint_list = heapless::Vec::new();
        for &j in joints.iter().take(MAX_JOINTS) {
            if joint_list.push(j).is_err() {
                break;
            }
        }
        ArmState {
            timestamp_us: now_us,
            mode: self.mode,
            measured: *measured,
            setpoint: self.setpoint.unwrap_or(*measured),
            joints: joint_list,
            status,
            faults,
            last_chunk_seq: self.last_chunk_seq,
            corrupt_frames: self.corrupt_frames,
        }
    }
}

#[cfg(test)]
#[path = "controller_tests.rs"]
mod tests;

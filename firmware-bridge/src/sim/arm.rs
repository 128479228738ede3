//! The simulated arm's loop: receive requests, tick the state machine, move the model,
//! stream state; and handles to run it in a thread on any link or on a pseudo-terminal.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::dynamics::FirstOrderArm;
use crate::body;
use crate::host::pty::Pty;
use crate::host::{send_message, Link, LinkError, RxEvent};
use crate::mcu::{ArmConfig, ArmController, Command};
use crate::protocol::{
    ArmId, ArmLimits, ArmMessage, ArmPose, Capabilities, FirmwareVersion, HostFrame, LimitsError,
    Mode,
};

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The arm's identity and limits (as its firmware would have them).
    pub arm: ArmConfig,
    /// Where the arm rests at start.
    pub initial_pose: ArmPose,
    /// Time constant of the tracking response.
    pub time_constant: Duration,
    /// Interval between state reports.
    pub state_period: Duration,
    /// The arm clock's reading at start (microseconds); deliberately far from the host's
    /// so that clock synchronisation is exercised.
    pub clock_offset_us: u64,
}

impl SimConfig {
    /// Defaults for `arm_id`: default limits, resting mid-workspace, 30 ms time constant,
    /// state at 100 Hz.
    pub fn new(arm_id: ArmId) -> Self {
        let y = match arm_id {
            ArmId::Left => 0.2,
            ArmId::Right => -0.2,
        };
        Self {
            arm: ArmConfig {
                arm_id,
                firmware_version: FirmwareVersion { major: 0, minor: 1, patch: 0 },
                capabilities: Capabilities::GRIPPER.with(Capabilities::JOINT_STATE),
                limits: ArmLimits::default(),
            },
            initial_pose: ArmPose::at([0.3, y, 0.3], 0.5),
            time_constant: Duration::from_millis(30),
            state_period: Duration::from_millis(10),
            clock_offset_us: 1_000_000_000,
        }
    }
}

/// Why a simulated arm stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configured limits are unusable.
    #[error("simulated arm limits are invalid: {0}")]
    Limits(#[from] LimitsError),
    /// The link failed.
    #[error("simulated arm link failed: {0}")]
    Link(#[from] LinkError),
    /// The thread could not be started.
    #[error("could not start the simulated arm thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The thread panicked.
    #[error("simulated arm thread panicked")]
    Panicked,
}

/// A view of the simulated arm for tests and demos.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSnapshot {
    /// The arm's clock (microseconds).
    pub arm_time_us: u64,
    /// State-machine mode.
    pub mode: Mode,
    /// The model's pose.
    pub pose: ArmPose,
    /// The last motor command.
    pub command: Command,
    /// Requests handled.
    pub requests: u64,
    /// Corrupt frames received.
    pub corrupt_frames: u64,
    /// Control ticks run.
    pub ticks: u64,
}

/// Totals of a finished run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimReport {
    /// Requests handled.
    pub requests: u64,
    /// Corrupt frames received.
    pub corrupt_frames: u64,
    /// Control ticks run.
    pub ticks: u64,
    /// State reports sent.
    pub states_sent: u64,
    /// Messages dropped because nobody read the link.
    pub dropped: u64,
}

/// What became of a message the arm sent.
enum Sent {
    /// Written to the link.
    Delivered,
    /// Dropped because nobody read the link for a while.
    Dropped,
    /// The other end closed the link.
    Closed,
}

/// Classifies a send result; other link failures end the run.
fn outcome(result: Result<(), LinkError>) -> Result<Sent, SimError> {
    match result {
        Ok(()) => Ok(Sent::Delivered),
        Err(LinkError::WriteTimeout { .. }) => Ok(Sent::Dropped),
        Err(LinkError::Closed { .. }) => Ok(Sent::Closed),
        Err(e) => Err(e.into()),
    }
}

/// Locks a mutex, carrying on with the data of a poisoned one.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A simulated arm: the real [`ArmController`] plus a [`FirstOrderArm`].
#[derive(Debug)]
pub struct ArmSim {
    /// The arm-side state machine.
    controller: ArmController,
    /// The physical model.
    arm: FirstOrderArm,
    /// Settings.
    config: SimConfig,
    /// Zero of the arm clock.
    epoch: Instant,
    /// Published view.
    snapshot: Arc<Mutex<SimSnapshot>>,
}

impl ArmSim {
    /// A simulated arm at rest, disabled.
    pub fn new(config: SimConfig) -> Result<Self, SimError> {
        let controller = ArmController::new(config.arm)?;
        let arm = FirstOrderArm::new(config.initial_pose, config.time_constant);
        let snapshot = SimSnapshot {
            arm_time_us: config.clock_offset_us,
            mode: controller.mode(),
            pose: config.initial_pose,
            command: Command::Off,
            requests: 0,
            corrupt_frames: 0,
            ticks: 0,
        };
        Ok(Self {
            controller,
            arm,
            config,
            epoch: Instant::now(),
            snapshot: Arc::new(Mutex::new(snapshot)),
        })
    }

    /// The arm clock at `at`.
    fn arm_us(&self, at: Instant) -> u64 {
        let elapsed = u64::try_from(at.saturating_duration_since(self.epoch).as_micros());
        self.config.clock_offset_us.saturating_add(elapsed.unwrap_or(u64::MAX))
    }

    /// Runs until `stop` is set or the other end closes the link.
    pub fn run(&mut self, mut link: Link, stop: &AtomicBool) -> Result<SimReport, SimError> {
        let period = Duration::from_micros(u64::from(self.config.arm.limits.control_period_us));
        let mut report =
            SimReport { requests: 0, corrupt_frames: 0, ticks: 0, states_sent: 0, dropped: 0 };
        let mut last_tick = Instant::now();
        let mut next_tick = last_tick + period;
        let mut next_state = last_tick;
        let mut command = Command::Off;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= next_tick {
                let t = self.arm_us(now);
                command = self.controller.tick(t, &self.arm.pose());
                self.arm.step(&command, now - last_tick);
                last_tick = now;
                report.ticks += 1;
                next_tick += period;
                if next_tick < now {
                    next_tick = now + period;
                }
                if now >= next_state {
                    next_state = (next_state + self.config.state_period).max(now);
                    let joints = self.arm.joints();
                    let state = self.controller.report(t, &self.arm.pose(), &joints);
                    let message = ArmMessage::State(state);
                    match outcome(send_message(link.tx.as_mut(), &message, &link.description))? {
                        Sent::Delivered => report.states_sent += 1,
                        Sent::Dropped => report.dropped += 1,
                        Sent::Closed => break,
                    }
                }
                self.publish(t, command, &report);
            }
            let wait = next_tick.saturating_duration_since(Instant::now());
            let event = match link.rx.recv(wait) {
                Ok(event) => event,
                Err(LinkError::Closed { .. }) => break,
                Err(e) => return Err(e.into()),
            };
            match event {
                RxEvent::Message(bytes) => match body::parse::<HostFrame>(&bytes) {
                    Ok(frame) => {
                        report.requests += 1;
                        let reply = self.controller.handle(&frame, self.arm_us(Instant::now()));
                        match outcome(send_message(link.tx.as_mut(), &reply, &link.description))? {
                            Sent::Delivered => {}
                            Sent::Dropped => report.dropped += 1,
                            Sent::Closed => break,
                        }
                    }
                    Err(_) => {
                        report.corrupt_frames += 1;
                        self.controller.record_corrupt_frame();
                    }
                },
                RxEvent::Corrupt(_) => {
                    report.corrupt_frames += 1;
                    self.controller.record_corrupt_frame();
                }
                RxEvent::Idle => {}
            }
        }
        self.publish(self.arm_us(Instant::now()), command, &report);
        Ok(report)
    }

    /// Updates the published snapshot.
    fn publish(&self, t: u64, command: Command, report: &SimReport) {
        *lock(&self.snapshot) = SimSnapshot {
            arm_time_us: t,
            mode: self.controller.mode(),
            pose: self.arm.pose(),
            command,
            requests: report.requests,
            corrupt_frames: report.corrupt_frames,
            ticks: report.ticks,
        };
    }

    /// Runs a simulated arm on `link` in a new thread.
    pub fn spawn(config: SimConfig, link: Link) -> Result<SimHandle, SimError> {
        let mut sim = ArmSim::new(config)?;
        let stop = Arc::new(AtomicBool::new(false));
        let snapshot = Arc::clone(&sim.snapshot);
        let thread_stop = Arc::clone(&stop);
        let name = format!("arm-sim {}", sim.config.arm.arm_id.name());
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || sim.run(link, &thread_stop))
            .map_err(SimError::Thread)?;
        Ok(SimHandle { stop, snapshot, thread: Some(thread) })
    }

    /// Runs a simulated arm on a new pseudo-terminal; the host opens [`PtySim::path`] as
    /// its serial device.
    pub fn spawn_pty(config: SimConfig) -> Result<PtySim, SimError> {
        let pty = Pty::open()?;
        let path = pty.slave_path().to_owned();
        // An unread pty drops output after one control period, as a real UART would.
        let period = Duration::from_micros(u64::from(config.arm.limits.control_period_us));
        let handle = Self::spawn(config, pty.into_master_link(period)?)?;
        Ok(PtySim { path, handle })
    }
}

/// A simulated arm running in a thread. Dropping the handle stops it.
#[derive(Debug)]
pub struct SimHandle {
    /// Tells the thread to stop.
    stop: Arc<AtomicBool>,
    /// Published view.
    snapshot: Arc<Mutex<SimSnapshot>>,
    /// The thread.
    thread: Option<JoinHandle<Result<SimReport, SimError>>>,
}

impl SimHandle {
    /// The arm as of its last control tick.
    pub fn snapshot(&self) -> SimSnapshot {
        lock(&self.snapshot).clone()
    }

    /// True while the thread runs.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the arm and returns its totals.
    pub fn stop(mut self) -> Result<SimReport, SimError> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| SimError::Panicked)?,
            None => Err(SimError::Panicked),
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The result was not asked for.
            let _ = thread.join();
        }
    }
}

/// A simulated arm on a pseudo-terminal.
#[derive(Debug)]
pub struct PtySim {
    /// The serial device path for the host (e.g. `/dev/pts/4`).
    pub path: PathBuf,
    /// The running arm.
    pub handle: SimHandle,
}

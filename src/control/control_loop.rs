//! The control loop: one tick per control period, on its own thread.
//!
//! Each tick:
//! 1. takes commands (pause, resume, new instruction) and looks at the instruction file;
//! 2. checks the e-stop latch, each arm's link (connected, fresh state reports) and each
//!    camera's newest frame (not older than `camera_stall_ms`);
//! 3. collects a finished inference: a failed or late one (past `deadline_ms` from its
//!    observation) is dropped as a fault; a timely one is aligned and blended by the
//!    [`ChunkExecutor`], checked by the safety layer and committed, and recorded;
//! 4. decides the state: e-stopped, paused, holding (any fault) or running;
//! 5. while running, sends the plan to both arms when it changed, else a heartbeat, and starts
//!    the next inference when fewer than `trigger_remaining_steps` steps remain. In any other
//!    state it sends nothing: the plan is dropped and each arm's watchdog brakes it to a hold
//!    within its timeout (the arm never jumps; a later chunk resumes from where it stopped);
//! 6. feeds systemd's watchdog, publishes the status report and logs a status line.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use firmware_bridge::host::ArmClient;
use firmware_bridge::protocol::{AckCode, ArmPose, Mode, MAX_STEPS};

use super::arm_driver::{ArmDriver, Feed};
use super::cameras::CameraFeed;
use super::config::ImageFormat;
use super::estop::EStop;
use super::events::{EventKind, SafetyEvents};
use super::executor::ChunkExecutor;
use super::inference::{InferenceOutcome, InferenceRequest, InferenceWorker};
use super::instruction::Instruction;
use super::metrics::Metrics;
use super::notify::Notifier;
use super::plan::{Step, ARM_WIDTH, STEP_WIDTH};
use super::record::{ModelIdentity, Record, RecordMeta, RECORD_FORMAT};
use super::recorder::FlightRecorder;
use super::safety::SafetyLimits;
use super::status::{ArmStatus, LoopState, StatusReport};
use crate::policy::{ActionChunk, Noise, Observation, PredictOptions};

/// Arm names in step order.
const ARM_NAMES: [&str; 2] = ["left", "right"];

/// How often the status report is refreshed.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// How often e-stops are re-sent to an arm that does not report itself e-stopped.
const ESTOP_RESEND: Duration = Duration::from_millis(200);

/// How long the worker may finish a prediction at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// What commands can ask of the loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoopCommand {
    /// Stop starting inferences; the arms hold.
    Pause,
    /// Start inferences again.
    Resume,
    /// Use this instruction from the next inference on.
    SetInstruction(String),
}

/// The loop's timing and inference settings.
#[derive(Clone, Debug)]
pub struct LoopSettings {
    /// Control period.
    pub period: Duration,
    /// Longest observation-to-chunk time.
    pub deadline: Duration,
    /// Shortest time between inference starts.
    pub min_inference_interval: Duration,
    /// Oldest acceptable camera frame.
    pub camera_stall: Duration,
    /// Oldest acceptable arm state report.
    pub arm_state_timeout: Duration,
    /// Interval of the status log line (`None`: no line).
    pub log_interval: Option<Duration>,
    /// Options of every prediction (the noise seed is replaced per cycle).
    pub predict: PredictOptions,
    /// Seed of cycle 0; cycle `n` uses `seed + n`.
    pub seed: u64,
    /// How the flight recorder stores images.
    pub image_format: ImageFormat,
}

/// Everything the loop owns.
pub struct LoopParts {
    /// Timing and inference settings.
    pub settings: LoopSettings,
    /// The chunk executor.
    pub executor: ChunkExecutor,
    /// The safety layer.
    pub safety: SafetyLimits,
    /// The inference worker.
    pub worker: InferenceWorker,
    /// The cameras.
    pub cameras: Box<dyn CameraFeed>,
    /// Left and right arm.
    pub arms: [Arc<ArmClient>; 2],
    /// Their senders.
    pub drivers: [ArmDriver; 2],
    /// The e-stop.
    pub estop: Arc<EStop>,
    /// Safety event counters.
    pub events: Arc<SafetyEvents>,
    /// The flight recorder, if enabled.
    pub recorder: Option<FlightRecorder>,
    /// The instruction.
    pub instruction: Instruction,
    /// Commands.
    pub commands: Receiver<LoopCommand>,
    /// systemd notifications.
    pub notifier: Notifier,
    /// Where the status report is published, with the time it was made.
    pub status: Arc<Mutex<Option<(Instant, StatusReport)>>>,
    /// Which model runs (for records).
    pub model: ModelIdentity,
}

/// Why the arms must hold, one slot per kind of fault.
#[derive(Debug, Default)]
struct Faults {
    camera: Option<String>,
    arms: [Option<String>; 2],
    inference: Option<String>,
}

impl Faults {
    fn causes(&self) -> Vec<String> {
        let mut causes: Vec<String> = self.camera.iter().cloned().collect();
        causes.extend(self.arms.iter().flatten().cloned());
        causes.extend(self.inference.iter().cloned());
        causes
    }

    /// Faults under which no inference may start (its inputs are missing or stale).
    fn blocks_inference(&self) -> bool {
        self.camera.is_some() || self.arms.iter().any(Option::is_some)
    }

    fn any(&self) -> bool {
        self.blocks_inference() || self.inference.is_some()
    }
}

/// Sets or clears a persistent fault; its onset is a safety event, its end is logged.
fn update_fault(
    slot: &mut Option<String>,
    now: Option<String>,
    kind: EventKind,
    events: &SafetyEvents,
) {
    match (slot.as_ref(), now) {
        (None, Some(cause)) => {
            events.record(kind, &cause);
            *slot = Some(cause);
        }
        (Some(_), Some(cause)) => *slot = Some(cause),
        (Some(old), None) => {
            log::warn!(target: "safety", "recovered: {old}");
            *slot = None;
        }
        (None, None) => {}
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One arm's half of a step, as the bridge's pose.
fn arm_pose(step: &Step, arm: usize) -> ArmPose {
    let mut values = [0.0; ARM_WIDTH];
    values.copy_from_slice(&step[arm * ARM_WIDTH..(arm + 1) * ARM_WIDTH]);
    ArmPose::from_array(values)
}

/// The loop. See the module documentation.
pub struct ControlLoop {
    parts: LoopParts,
    faults: Faults,
    paused: bool,
    state: LoopState,
    sent_revision: u64,
    cycle: u64,
    last_inference_start: Option<Instant>,
    next_estop_resend: Instant,
    /// The cycle whose inference was already reported as past its deadline while running.
    deadline_reported: Option<u64>,
    next_watchdog: Instant,
    next_publish: Instant,
    next_log: Instant,
    started: Instant,
    metrics: Metrics,
}

/// What the loop leaves behind.
#[derive(Debug)]
pub struct LoopOutcome {
    /// The last status report.
    pub status: StatusReport,
}

impl ControlLoop {
    /// A loop over `parts`, starting now.
    pub fn new(parts: LoopParts) -> Self {
        let now = Instant::now();
        Self {
            parts,
            faults: Faults::default(),
            paused: false,
            state: LoopState::Running,
            sent_revision: 0,
            cycle: 0,
            last_inference_start: None,
            next_estop_resend: now,
            deadline_reported: None,
            next_watchdog: now,
            next_publish: now,
            next_log: now,
            started: now,
            metrics: Metrics::new(),
        }
    }

    /// Ticks every control period until `stop` is set, then stops the worker and the
    /// recorder and returns the last status.
    pub fn run(mut self, stop: &AtomicBool) -> LoopOutcome {
        let period = self.parts.settings.period;
        let mut next = Instant::now();
        while !stop.load(Ordering::SeqCst) {
            if self.parts.worker.has_died() {
                // Only a panic ends the worker early; the service manager restarts the runtime.
                self.parts.events.record(EventKind::InferenceFailed, &"the inference worker died");
                break;
            }
            let start = Instant::now();
            self.tick(start);
            let end = Instant::now();
            self.metrics.tick.record(end - start);
            next += period;
            if next <= end {
                self.metrics.overruns += 1;
                next = end + period;
            }
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        // Sent before the worker is waited for, so that systemd's stop timer sees progress.
        if let Err(e) = self.parts.notifier.stopping() {
            log::warn!("{e}");
        }
        let status = self.report(Instant::now());
        let LoopParts { worker, recorder, .. } = self.parts;
        let _ = worker.shutdown(SHUTDOWN_GRACE);
        if let Some(recorder) = recorder {
            let written = recorder.finish();
            log::info!("recorder: {} records written, {} kept", written.written, written.kept);
        }
        LoopOutcome { status }
    }

    /// One tick at `now`.
    pub fn tick(&mut self, now: Instant) {
        self.take_commands();
        match self.parts.instruction.poll(now) {
            Ok(_) => {}
            Err(e) => log::warn!("instruction file: {e}"),
        }
        self.check_arms(now);
        self.check_cameras();
        if let Some(outcome) = self.parts.worker.try_outcome() {
            self.collect(outcome, Instant::now());
        }
        self.check_inference_deadline(now);
        self.take_send_results();
        let state = self.decide_state();
        if state != self.state {
            self.enter(state, now);
        }
        match state {
            LoopState::Running => {
                self.drive_arms(now);
                self.maybe_infer(now);
            }
            LoopState::Holding if !self.faults.blocks_inference() => {
                // Only the inference itself failed: keep trying, the arms hold meanwhile.
                self.maybe_infer(now);
            }
            LoopState::EStopped => self.keep_arms_estopped(now),
            LoopState::Paused | LoopState::Holding => {}
        }
        if state != LoopState::Running {
            for driver in &self.parts.drivers {
                driver.discard();
            }
        }
        self.housekeeping(now);
    }

    fn take_commands(&mut self) {
        loop {
            match self.parts.commands.try_recv() {
                Ok(LoopCommand::Pause) => {
                    if !self.paused {
                        log::info!("inference paused by command; the arms hold");
                    }
                    self.paused = true;
                }
                Ok(LoopCommand::Resume) => {
                    if self.paused {
                        log::info!("inference resumed by command");
                    }
                    self.paused = false;
                }
                Ok(LoopCommand::SetInstruction(text)) => {
                    if let Err(e) = self.parts.instruction.set(&text) {
                        log::warn!("instruction refused: {e}");
                    }
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return,
            }
        }
    }

    fn check_arms(&mut self, now: Instant) {
        let timeout = self.parts.settings.arm_state_timeout;
        for (i, arm) in self.parts.arms.iter().enumerate() {
            let cause = if !arm.is_connected() {
                Some(format!(
                    "{} arm link down ({})",
                    ARM_NAMES[i],
                    arm.last_error().unwrap_or_else(|| arm.device())
                ))
            } else {
                match arm.latest_state() {
                    None => Some(format!("{} arm has sent no state", ARM_NAMES[i])),
                    Some(s) => {
                        let age = now.saturating_duration_since(s.received_at);
                        (age > timeout)
                            .then(|| format!("{} arm state is {:.0} ms old", ARM_NAMES[i], ms(age)))
                    }
                }
            };
            let events = &self.parts.events;
            update_fault(&mut self.faults.arms[i], cause, EventKind::ArmLinkLost, events);
        }
    }

    fn check_cameras(&mut self) {
        let limit = self.parts.settings.camera_stall;
        let cause = match self.parts.cameras.ages() {
            Err(e) => Some(format!("camera: {e}")),
            Ok(ages) => {
                super::cameras::CAMERA_NAMES.iter().zip(ages).find(|(_, age)| *age > limit).map(
                    |(name, age)| {
                        format!("camera {name} stalled: newest frame {:.0} ms old", ms(age))
                    },
                )
            }
        };
        update_fault(&mut self.faults.camera, cause, EventKind::CameraStall, &self.parts.events);
    }

    fn check_inference_deadline(&mut self, now: Instant) {
        let deadline = self.parts.settings.deadline;
        if let Some((cycle, observed_at)) = self.parts.worker.in_flight() {
            let age = now.saturating_duration_since(observed_at);
            if age > deadline && self.deadline_reported != Some(cycle) {
                self.deadline_reported = Some(cycle);
                let cause = format!(
                    "inference {cycle} still running {:.0} ms after its observation (deadline {:.0} ms)",
                    ms(age),
                    ms(deadline)
                );
                self.parts.events.record(EventKind::InferenceDeadline, &cause);
                self.faults.inference = Some(cause);
            }
        }
    }

    fn decide_state(&self) -> LoopState {
        if self.parts.estop.is_latched() {
            LoopState::EStopped
        } else if self.paused {
            LoopState::Paused
        } else if self.faults.any() {
            LoopState::Holding
        } else {
            LoopState::Running
        }
    }

    fn enter(&mut self, state: LoopState, now: Instant) {
        let causes = self.faults.causes();
        match state {
            LoopState::Holding => log::warn!("holding: {}", causes.join("; ")),
            LoopState::EStopped => log::error!(
                "e-stopped: {}",
                self.parts.estop.cause().unwrap_or_else(|| "latched".into())
            ),
            other => log::info!("state: {other:?}"),
        }
        if state != LoopState::Running {
            // The arms are left to their watchdogs: the plan no longer describes them.
            self.parts.executor.clear();
        } else {
            self.enable_disabled_arms();
        }
        self.state = state;
        self.next_estop_resend = now;
    }

    /// Enables arms that report themselves disabled (after a restart of the arm or an e-stop
    /// cleared on the arm alone).
    fn enable_disabled_arms(&self) {
        for (i, arm) in self.parts.arms.iter().enumerate() {
            let disabled = arm.latest_state().is_some_and(|s| s.state.mode == Mode::Disabled);
            if disabled {
                log::info!("{} arm is disabled: enabling", ARM_NAMES[i]);
                if let Err(e) = arm.enable() {
                    self.parts.events.record(EventKind::ArmCommandFailed, &format!("enable: {e}"));
                }
            }
        }
    }

    fn keep_arms_estopped(&mut self, now: Instant) {
        if now < self.next_estop_resend {
            return;
        }
        self.next_estop_resend = now + ESTOP_RESEND;
        let all_stopped = self.parts.arms.iter().all(|arm| {
            !arm.is_connected()
                || arm.latest_state().is_some_and(|s| s.state.mode == Mode::EStopped)
        });
        if !all_stopped {
            self.parts.estop.resend();
        }
    }

    /// Takes a finished inference into the plan (or drops it as a fault) and records it.
    fn collect(&mut self, outcome: InferenceOutcome, now: Instant) {
        let settings = &self.parts.settings;
        let request = &outcome.request;
        self.metrics.inferences.tick(outcome.finished);
        self.metrics.inference.record(outcome.finished - outcome.started);
        self.metrics.last_inference = Some(outcome.finished - outcome.started);
        let late = outcome.finished.saturating_duration_since(request.observed_at);
        let events = Arc::clone(&self.parts.events);
        let chunk = match &outcome.result {
            Err(e) => {
                self.metrics.last_inference_error = Some(e.clone());
                self.faults.inference = Some(format!("inference {} failed: {e}", request.cycle));
                events.record(EventKind::InferenceFailed, &format!("cycle {}: {e}", request.cycle));
                self.metrics.chunks_refused += 1;
                return;
            }
            Ok(chunk) => chunk,
        };
        self.record(&outcome);
        if late > settings.deadline {
            let cause = format!(
                "inference {} took {:.0} ms from observation to chunk (deadline {:.0} ms)",
                request.cycle,
                ms(late),
                ms(settings.deadline)
            );
            if self.deadline_reported != Some(request.cycle) {
                events.record(EventKind::InferenceDeadline, &cause);
            }
            self.faults.inference = Some(cause);
            self.metrics.chunks_refused += 1;
            return;
        }
        if self.faults.inference.take().is_some() {
            log::warn!(target: "safety", "recovered: inference {} on time", request.cycle);
        }
        if self.decide_state() != LoopState::Running {
            self.metrics.chunks_refused += 1;
            return;
        }
        self.admit(chunk, request, now);
    }

    /// Aligns and blends a timely chunk, checks it and commits it to the plan.
    fn admit(&mut self, chunk: &ActionChunk, request: &InferenceRequest, now: Instant) {
        let events = Arc::clone(&self.parts.events);
        if chunk.width != STEP_WIDTH {
            let cause = format!("chunk of width {}, expected {STEP_WIDTH}", chunk.width);
            events.record(EventKind::InferenceFailed, &cause);
            self.metrics.chunks_refused += 1;
            return;
        }
        let mut steps: Vec<Step> = Vec::with_capacity(chunk.steps);
        for row in chunk.actions.chunks_exact(STEP_WIDTH) {
            let mut step = [0.0f32; STEP_WIDTH];
            for (s, v) in step.iter_mut().zip(row) {
                *s = *v as f32;
            }
            steps.push(step);
        }
        let Some(proposal) = self.parts.executor.propose(&steps, request.observed_at, now) else {
            events.record(
                EventKind::InferenceDeadline,
                &format!("chunk {} entirely in the past", request.cycle),
            );
            self.metrics.chunks_refused += 1;
            return;
        };
        let Some(measured) = self.measured_poses() else {
            self.metrics.chunks_refused += 1;
            return;
        };
        match self.parts.safety.check(proposal, &measured) {
            Ok(checked) => {
                if checked.clamped_steps > 0 {
                    events.record(
                        EventKind::WorkspaceClamped,
                        &format!(
                            "chunk {}: {} steps clamped",
                            request.cycle, checked.clamped_steps
                        ),
                    );
                }
                self.parts.executor.commit(checked.plan);
                self.metrics.chunks_accepted += 1;
                self.metrics
                    .observation_to_plan
                    .record(now.saturating_duration_since(request.observed_at));
            }
            Err(violation) => {
                events.record(
                    EventKind::of(&violation),
                    &format!("chunk {} refused: {violation}", request.cycle),
                );
                self.metrics.chunks_refused += 1;
            }
        }
    }

    fn record(&self, outcome: &InferenceOutcome) {
        let (Some(recorder), Ok(chunk)) = (&self.parts.recorder, &outcome.result) else { return };
        let request = &outcome.request;
        let o = &request.observation;
        let options = &request.options;
        let seed = match options.noise {
            Noise::Seed(seed) => seed,
            Noise::Explicit(_) => return,
        };
        let meta = RecordMeta {
            format: RECORD_FORMAT,
            cycle: request.cycle,
            model: self.parts.model.clone(),
            instruction: o.instruction.clone(),
            unnorm_key: options.unnorm_key.clone(),
            cfg: options.cfg,
            denoising_steps: options.steps,
            seed,
            image_sizes: [
                (o.primary.width, o.primary.height),
                (o.wrist_left.width, o.wrist_left.height),
                (o.wrist_right.width, o.wrist_right.height),
            ],
            image_format: self.parts.settings.image_format,
            chunk_shape: (chunk.steps, chunk.width),
            inference_ms: ms(outcome.finished - outcome.started),
            frame_age_ms: ms(request.frame_age),
        };
        recorder.record(Record { meta, observation: o.clone(), chunk: chunk.clone() });
    }

    fn measured_poses(&self) -> Option<[ArmPose; 2]> {
        let left = self.parts.arms[0].latest_state()?.state.measured;
        let right = self.parts.arms[1].latest_state()?.state.measured;
        Some([left, right])
    }

    /// Posts the plan when it changed, else a heartbeat, to each arm's driver.
    fn drive_arms(&mut self, now: Instant) {
        let revision = self.parts.executor.revision();
        let outgoing = (revision != self.sent_revision)
            .then(|| self.parts.executor.outgoing(now, MAX_STEPS))
            .flatten();
        self.sent_revision = revision;
        for (i, driver) in self.parts.drivers.iter().enumerate() {
            let feed = match &outgoing {
                Some(plan) => Feed::Chunk {
                    start: plan.start,
                    period: plan.period,
                    steps: plan.steps.iter().map(|s| arm_pose(s, i)).collect(),
                },
                None => Feed::Heartbeat,
            };
            driver.post(feed);
        }
    }

    /// Counts the arms' answers to the chunks sent.
    fn take_send_results(&mut self) {
        for (i, driver) in self.parts.drivers.iter().enumerate() {
            for sent in driver.results() {
                match sent.result {
                    Ok(receipt) => {
                        self.metrics.send.record(receipt.round_trip);
                        self.metrics.chunks_sent[i] += 1;
                        if receipt.code == AckCode::Clamped {
                            self.metrics.chunks_clamped[i] += 1;
                        }
                    }
                    Err(e) => self.parts.events.record(
                        EventKind::ArmCommandFailed,
                        &format!("{} arm chunk: {e}", ARM_NAMES[i]),
                    ),
                }
            }
        }
    }

    /// Starts an inference when the plan runs low, none is in flight and the rate allows.
    fn maybe_infer(&mut self, now: Instant) {
        let s = &self.parts.settings;
        let too_soon = self
            .last_inference_start
            .is_some_and(|t| now.saturating_duration_since(t) < s.min_inference_interval);
        if too_soon || self.parts.worker.is_busy() || !self.parts.executor.needs_inference(now) {
            return;
        }
        let started = Instant::now();
        let ages = self.parts.cameras.ages();
        let images = self.parts.cameras.images();
        let (ages, [primary, wrist_left, wrist_right]) = match (ages, images) {
            (Ok(a), Ok(i)) => (a, i),
            (Err(e), _) | (_, Err(e)) => {
                update_fault(
                    &mut self.faults.camera,
                    Some(format!("camera: {e}")),
                    EventKind::CameraStall,
                    &self.parts.events,
                );
                return;
            }
        };
        let Some(measured) = self.measured_poses() else { return };
        let proprio: Vec<f32> = measured.iter().flat_map(|p| p.to_array()).collect();
        self.cycle += 1;
        let frame_age = ages.iter().copied().max().unwrap_or_default();
        let options = PredictOptions {
            noise: Noise::Seed(s.seed.wrapping_add(self.cycle)),
            ..s.predict.clone()
        };
        let request = InferenceRequest {
            cycle: self.cycle,
            observation: Observation {
                primary,
                wrist_left,
                wrist_right,
                proprio,
                instruction: self.parts.instruction.text().to_owned(),
            },
            observed_at: started,
            frame_age,
            options,
        };
        self.metrics.frame_age.record(frame_age);
        self.metrics.observe.record(started.elapsed());
        if self.parts.worker.submit(request).is_ok() {
            self.last_inference_start = Some(now);
        }
    }

    fn housekeeping(&mut self, now: Instant) {
        self.metrics.ticks.tick(now);
        if let Some(interval) = self.parts.notifier.watchdog_interval() {
            if now >= self.next_watchdog {
                self.next_watchdog = now + interval;
                if let Err(e) = self.parts.notifier.watchdog() {
                    log::debug!("{e}");
                }
            }
        }
        if now >= self.next_publish {
            self.next_publish = now + PUBLISH_EVERY;
            let report = self.report(now);
            if let Some(interval) = self.parts.settings.log_interval {
                if now >= self.next_log {
                    self.next_log = now + interval;
                    log::info!("{}", report.log_line());
                }
            }
            *lock(&self.parts.status) = Some((now, report));
        }
    }

    /// The status report at `now`.
    pub fn report(&mut self, now: Instant) -> StatusReport {
        let arms = self
            .parts
            .arms
            .iter()
            .enumerate()
            .map(|(i, arm)| {
                let sample = arm.latest_state();
                let stats = arm.stats();
                ArmStatus {
                    name: ARM_NAMES[i].to_owned(),
                    device: arm.device(),
                    connected: arm.is_connected(),
                    mode: sample.as_ref().map(|s| format!("{:?}", s.state.mode)),
                    measured: sample.as_ref().map(|s| s.state.measured.to_array().to_vec()),
                    state_age_ms: sample
                        .as_ref()
                        .map(|s| ms(now.saturating_duration_since(s.received_at))),
                    last_chunk_seq: sample.as_ref().and_then(|s| s.state.last_chunk_seq),
                    chunks_sent: self.metrics.chunks_sent[i],
                    chunks_clamped: self.metrics.chunks_clamped[i],
                    reconnects: stats.reconnects,
                    last_error: arm.last_error(),
                }
            })
            .collect();
        let remaining = self.parts.executor.remaining_steps(now);
        StatusReport {
            state: self.state,
            hold_causes: self.faults.causes(),
            estop_cause: self.parts.estop.cause(),
            instruction: self.parts.instruction.text().to_owned(),
            uptime_s: now.saturating_duration_since(self.started).as_secs_f64(),
            report_age_ms: 0.0,
            control: self.metrics.control(now, remaining),
            inference: self.metrics.inference(now, self.parts.worker.is_busy(), self.paused),
            latency: self.metrics.latencies(),
            cameras: self.parts.cameras.health().to_vec(),
            arms,
            safety_events: self.parts.events.snapshot(),
            recorder: self.parts.recorder.as_ref().map(FlightRecorder::status),
        }
    }
}

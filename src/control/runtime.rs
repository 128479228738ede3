//! The runtime: assembles the loaded policy, the cameras, the connected arms, the e-stop, the
//! flight recorder and the status socket into a running [`ControlLoop`], tells systemd it is
//! ready, and stops it all again.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use firmware_bridge::host::{ArmClient, ClientError};
use firmware_bridge::protocol::{AckCode, ArmId, ArmLimits};

use super::arm_driver::ArmDriver;
use super::arms;
use super::blend::Blend;
use super::cameras::CameraFeed;
use super::command::{Reply, Request};
use super::config::{check_instruction, Config};
use super::control_loop::{ControlLoop, LoopCommand, LoopOutcome, LoopParts, LoopSettings};
use super::estop::{EStop, EStopMonitor};
use super::estop_line::{open_line, EStopLine};
use super::events::SafetyEvents;
use super::executor::{ChunkExecutor, ExecutorConfig};
use super::inference::InferenceWorker;
use super::instruction::Instruction;
use super::notify::Notifier;
use super::plan::ARM_WIDTH;
use super::record::{ModelIdentity, RecordError};
use super::recorder::FlightRecorder;
use super::safety::{ArmBounds, SafetyLimits};
use super::socket::{CommandServer, Handler, SocketError};
use super::status::StatusReport;
use crate::camera::reopen::Backoff;
use crate::camera::{CameraError, CameraRig, RigConfig, SourceSpec};
use crate::model::file::keys;
use crate::model::gguf::Value;
use crate::policy::{LoadOptions, Noise, Policy, PredictOptions};

/// Arm names in step order.
const ARM_NAMES: [&str; 2] = ["left", "right"];

/// Commands waiting for the loop.
const COMMAND_QUEUE: usize = 32;

/// How long the start waits for each arm's first state report and every camera's first frame
/// (so that the loop does not begin with a fault).
const FIRST_INPUTS_WAIT: Duration = Duration::from_secs(5);

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The policy could not be loaded.
    #[error("model {path}: {source}")]
    Policy {
        /// The model file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: Box<crate::policy::PolicyError>,
    },
    /// A camera spec or the rig.
    #[error("{field}: {reason}")]
    Camera {
        /// The config field (`cameras.primary`, …).
        field: String,
        /// What failed.
        reason: String,
    },
    /// An arm could not be connected.
    #[error("arms.{arm}: {source}")]
    Connect {
        /// `left` or `right`.
        arm: &'static str,
        /// What failed.
        #[source]
        source: ClientError,
    },
    /// The model's action or state layout is not two arms of `xyz, rot6d, gripper`.
    #[error("model {path}: {reason}")]
    Layout {
        /// The model file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// The e-stop line could not be opened.
    #[error("safety.estop: {0}")]
    EStopLine(String),
    /// An arm refused or failed a request at start.
    #[error("{arm} arm: {source}")]
    Arm {
        /// `left` or `right`.
        arm: &'static str,
        /// What failed.
        #[source]
        source: ClientError,
    },
    /// The status socket.
    #[error(transparent)]
    Socket(#[from] SocketError),
    /// The flight recorder's directory.
    #[error("recorder: {0}")]
    Recorder(#[from] RecordError),
    /// A thread could not be started.
    #[error("could not start the {name} thread: {source}")]
    Thread {
        /// Which thread.
        name: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What the runtime runs.
pub struct Parts {
    /// The validated configuration.
    pub config: Config,
    /// The loaded policy.
    pub policy: Policy,
    /// The cameras, already capturing.
    pub cameras: Box<dyn CameraFeed>,
    /// Left and right arm, connected.
    pub arms: [Arc<ArmClient>; 2],
    /// The e-stop input line, if any.
    pub estop_line: Option<Box<dyn EStopLine>>,
    /// systemd notifications.
    pub notifier: Notifier,
    /// The status socket (`None`: no socket).
    pub socket: Option<PathBuf>,
}

impl Parts {
    /// Opens everything `config` names: loads the policy (compiling its pipelines), starts the
    /// cameras, connects both arms and opens the e-stop line. Progress goes to `notifier` as
    /// `STATUS=` lines.
    pub fn open(
        config: Config,
        notifier: Notifier,
        socket: Option<PathBuf>,
    ) -> Result<Self, RuntimeError> {
        let status = |text: &str| {
            log::info!("{text}");
            if let Err(e) = notifier.status(text) {
                log::warn!("{e}");
            }
        };
        let model = config.policy.model.clone();
        status(&format!("loading model {}", model.display()));
        let load = LoadOptions { adapter: config.policy.adapter.clone() };
        let policy = Policy::load(&model, &load).map_err(|source| RuntimeError::Policy {
            path: model.clone(),
            source: Box::new(source),
        })?;
        status(&format!(
            "model loaded in {:.2} s on {}",
            policy.load_time.as_secs_f64(),
            policy.gpu().describe()
        ));
        let c = &config.cameras;
        let mut specs = Vec::with_capacity(3);
        for (field, text) in [
            ("cameras.primary", &c.primary),
            ("cameras.wrist_left", &c.wrist_left),
            ("cameras.wrist_right", &c.wrist_right),
        ] {
            let spec: SourceSpec = text.parse().map_err(|e: CameraError| RuntimeError::Camera {
                field: field.into(),
                reason: e.to_string(),
            })?;
            specs.push(spec);
        }
        let specs: [SourceSpec; 3] = specs.try_into().map_err(|_| RuntimeError::Camera {
            field: "cameras".into(),
            reason: "three cameras expected".into(),
        })?;
        let rig_config = RigConfig {
            read_timeout: Duration::from_millis(c.read_timeout_ms),
            stale_after: Duration::from_millis(config.safety.camera_stall_ms),
        };
        status("starting cameras");
        let rig = CameraRig::open(&specs, rig_config, Backoff::default())
            .map_err(|e| RuntimeError::Camera { field: "cameras".into(), reason: e.to_string() })?;
        status("connecting arms");
        let left = arms::connect(&config.arms.left, ArmId::Left)
            .map_err(|source| RuntimeError::Connect { arm: "left", source })?;
        let right = arms::connect(&config.arms.right, ArmId::Right)
            .map_err(|source| RuntimeError::Connect { arm: "right", source })?;
        let estop_line = open_line(&config.safety.estop).map_err(RuntimeError::EStopLine)?;
        Ok(Self {
            config,
            policy,
            cameras: Box::new(rig),
            arms: [Arc::new(left), Arc::new(right)],
            estop_line,
            notifier,
            socket,
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A handle for commands and status; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct RuntimeHandle {
    commands: SyncSender<LoopCommand>,
    estop: Arc<EStop>,
    status: Arc<Mutex<Option<(Instant, StatusReport)>>>,
}

impl std::fmt::Debug for RuntimeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeHandle").finish_non_exhaustive()
    }
}

impl RuntimeHandle {
    /// Carries out a request of the command protocol.
    pub fn handle(&self, request: Request) -> Reply {
        let send = |command| match self.commands.try_send(command) {
            Ok(()) => Reply::ok(),
            Err(TrySendError::Full(_)) => Reply::error("the control loop is not keeping up"),
            Err(TrySendError::Disconnected(_)) => Reply::error("the control loop has stopped"),
        };
        match request {
            Request::Status => match self.status() {
                Some(report) => Reply::status(report),
                None => Reply::error("starting: no status yet"),
            },
            Request::SetInstruction { text } => match check_instruction(text.trim()) {
                Ok(()) => send(LoopCommand::SetInstruction(text)),
                Err(e) => Reply::error(format!("instruction {e}")),
            },
            Request::Estop => {
                self.estop.trigger("e-stop command");
                Reply::ok()
            }
            Request::ClearEstop => match self.estop.clear() {
                Ok(()) => Reply::ok(),
                Err(e) => Reply::error(e),
            },
            Request::Pause => send(LoopCommand::Pause),
            Request::Resume => send(LoopCommand::Resume),
        }
    }

    /// The latest status report (refreshed ten times per second), with its age filled in.
    pub fn status(&self) -> Option<StatusReport> {
        let (made, mut report) = lock(&self.status).clone()?;
        report.report_age_ms = made.elapsed().as_secs_f64() * 1000.0;
        Some(report)
    }
}

/// A running runtime. [`Runtime::stop`] ends it.
pub struct Runtime {
    handle: RuntimeHandle,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<LoopOutcome>>,
    server: Option<CommandServer>,
    monitor: Option<EStopMonitor>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("server", &self.server).finish_non_exhaustive()
    }
}

/// Which model the policy runs, for records.
fn model_identity(policy: &Policy) -> ModelIdentity {
    let file = policy.file();
    let source_sha256 = match file.header().metadata.get(keys::SOURCE_SHA256) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    ModelIdentity {
        path: file.path().to_owned(),
        source_sha256,
        recipe: file.recipe().name().to_owned(),
        adapter: policy.gpu().describe(),
    }
}

impl Runtime {
    /// Enables the arms, starts the inference worker, the e-stop monitor, the recorder, the
    /// status socket and the control loop, then sends `READY=1`.
    pub fn start(parts: Parts) -> Result<Self, RuntimeError> {
        let Parts { config, policy, cameras, arms, estop_line, notifier, socket } = parts;
        let model_config = policy.config();
        if model_config.action_dim != ARM_WIDTH || model_config.state_dim != ARM_WIDTH {
            return Err(RuntimeError::Layout {
                path: policy.file().path().to_owned(),
                reason: format!(
                    "action_dim {} and state_dim {}, the arms take {ARM_WIDTH} each \
                     (xyz, rot6d, gripper)",
                    model_config.action_dim, model_config.state_dim
                ),
            });
        }
        let events = Arc::new(SafetyEvents::new());
        let estop = Arc::new(EStop::new(arms.to_vec(), Arc::clone(&events)));
        for (i, arm) in arms.iter().enumerate() {
            match arm.enable() {
                Ok(()) => {}
                Err(ClientError::Rejected { code: AckCode::EStopLatched, .. }) => {
                    estop.trigger(&format!("the {} arm reports its e-stop latched", ARM_NAMES[i]));
                }
                Err(source) => return Err(RuntimeError::Arm { arm: ARM_NAMES[i], source }),
            }
        }
        let deadline = Instant::now() + FIRST_INPUTS_WAIT;
        for arm in &arms {
            arm.wait_for_state(deadline.saturating_duration_since(Instant::now()), |_| true);
        }
        while cameras.ages().is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let bounds = |i: usize, arm_config| {
            let announced: ArmLimits = arms[i].info().map(|info| info.limits).unwrap_or_default();
            ArmBounds::resolve(arm_config, &announced)
        };
        let safety = SafetyLimits::new(
            &config.safety,
            [bounds(0, &config.arms.left), bounds(1, &config.arms.right)],
        );
        let executor = ChunkExecutor::new(ExecutorConfig {
            step_period: config.step_period(),
            trigger_remaining_steps: config.control.trigger_remaining_steps,
            blend: Blend::from_config(&config.control),
        });
        let model = model_identity(&policy);
        let worker = InferenceWorker::start(policy)
            .map_err(|source| RuntimeError::Thread { name: "inference", source })?;
        let recorder = if config.recorder.enabled {
            let r = &config.recorder;
            Some(FlightRecorder::start(&r.dir, r.max_bytes, r.queue)?)
        } else {
            None
        };
        let monitor = match estop_line {
            Some(line) => Some(
                EStopMonitor::start(
                    line,
                    Duration::from_millis(config.safety.estop.poll_ms),
                    Arc::clone(&estop),
                )
                .map_err(|source| RuntimeError::Thread { name: "e-stop monitor", source })?,
            ),
            None => None,
        };
        let (commands, inbox) = sync_channel(COMMAND_QUEUE);
        let status = Arc::new(Mutex::new(None));
        let handle =
            RuntimeHandle { commands, estop: Arc::clone(&estop), status: Arc::clone(&status) };
        let server = match &socket {
            Some(path) => {
                let h = handle.clone();
                let handler: Handler = Arc::new(move |request| h.handle(request));
                Some(CommandServer::bind(path, handler)?)
            }
            None => None,
        };
        let log_interval = (config.status.log_interval_s > 0.0)
            .then(|| Duration::from_secs_f64(config.status.log_interval_s));
        let settings = LoopSettings {
            period: config.control_period(),
            deadline: Duration::from_millis(config.inference.deadline_ms),
            min_inference_interval: Duration::from_secs_f64(1.0 / config.inference.max_rate_hz),
            camera_stall: Duration::from_millis(config.safety.camera_stall_ms),
            arm_state_timeout: Duration::from_millis(config.safety.arm_state_timeout_ms),
            log_interval,
            predict: PredictOptions {
                unnorm_key: config.policy.unnorm_key.clone(),
                cfg: config.policy.cfg_scale,
                steps: config.policy.denoising_steps,
                noise: Noise::Seed(config.policy.seed),
            },
            seed: config.policy.seed,
            image_format: config.recorder.image_format,
        };
        let instruction = Instruction::new(
            config.policy.instruction.clone(),
            config.policy.instruction_file.clone(),
            Duration::from_millis(config.policy.instruction_poll_ms),
            Instant::now(),
        );
        let ready = format!(
            "running: model {}, instruction {:?}",
            model.path.display(),
            config.policy.instruction
        );
        if let Err(e) = notifier.ready(&ready) {
            log::warn!("{e}");
        }
        log::info!("ready; {ready}");
        let driver = |i: usize| {
            ArmDriver::start(Arc::clone(&arms[i]), ARM_NAMES[i])
                .map_err(|source| RuntimeError::Thread { name: "arm driver", source })
        };
        let drivers = [driver(0)?, driver(1)?];
        let control = ControlLoop::new(LoopParts {
            settings,
            executor,
            safety,
            worker,
            cameras,
            arms,
            drivers,
            estop,
            events,
            recorder,
            instruction,
            commands: inbox,
            notifier,
            status,
            model,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let loop_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("control-loop".into())
            .spawn(move || control.run(&loop_stop))
            .map_err(|source| RuntimeError::Thread { name: "control loop", source })?;
        Ok(Self { handle, stop, thread: Some(thread), server, monitor })
    }

    /// A handle for commands and status.
    pub fn handle(&self) -> RuntimeHandle {
        self.handle.clone()
    }

    /// The status socket's path, if serving one.
    pub fn socket(&self) -> Option<&std::path::Path> {
        self.server.as_ref().map(CommandServer::path)
    }

    /// True while the control loop runs.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the loop (the arms are left to their watchdogs, which hold them), the socket and
    /// the monitor; returns the loop's last status (`None` if the loop thread panicked).
    pub fn stop(mut self) -> Option<LoopOutcome> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Option<LoopOutcome> {
        self.stop.store(true, Ordering::SeqCst);
        let outcome = self.thread.take().and_then(|t| t.join().ok());
        self.server = None;
        self.monitor = None;
        outcome
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Stopped already, or stopping now: the outcome is not wanted here.
        let _ = self.shutdown();
    }
}

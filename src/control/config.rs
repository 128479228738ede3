//! The runtime's configuration file (TOML): the model, the cameras, the arms, the rates, the
//! safety parameters, the status socket and the flight recorder.
//!
//! Parsing refuses unknown fields, and [`Config::validate`] checks every value; both kinds of
//! error name the offending field (`control.rate_hz`, `arms.left.port`, …). `docs/runtime.md`
//! is the reference of every field and its default; `deploy/config.example.toml` is a complete
//! example that the tests parse.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Longest instruction accepted, in bytes.
pub const MAX_INSTRUCTION_BYTES: usize = 2000;

/// Longest duration any `…_ms` field may give: one day.
pub const MAX_MILLIS: u64 = 86_400_000;

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid TOML, has an unknown field or a value of the wrong type.
    #[error("{origin}: {message}")]
    Parse {
        /// Where the text came from (a path, or a description).
        origin: String,
        /// The parser's message (with the line, column and key at fault).
        message: String,
    },
    /// A value is out of range or inconsistent with another.
    #[error("{origin}: `{field}` {reason}")]
    Invalid {
        /// Where the text came from.
        origin: String,
        /// The field at fault, as a dotted path (`safety.max_step_delta_m`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The model and what to ask of it.
    pub policy: PolicyConfig,
    /// The three cameras.
    pub cameras: CamerasConfig,
    /// The two arms.
    pub arms: ArmsConfig,
    /// The control loop and the chunk executor.
    #[serde(default)]
    pub control: ControlConfig,
    /// The inference worker.
    #[serde(default)]
    pub inference: InferenceConfig,
    /// The host-side safety layer.
    #[serde(default)]
    pub safety: SafetyConfig,
    /// The status and command socket, and the periodic log line.
    #[serde(default)]
    pub status: StatusConfig,
    /// The flight recorder.
    #[serde(default)]
    pub recorder: RecorderConfig,
}

/// `[policy]`: the model file and the inputs that are not sensor readings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// The model file written by `tools/quantize`.
    pub model: PathBuf,
    /// Vulkan adapter: a name substring, `cpu` or `gpu`; the default adapter when absent.
    #[serde(default)]
    pub adapter: Option<String>,
    /// The task instruction at start.
    pub instruction: String,
    /// A file whose text (trimmed) replaces the instruction whenever the file changes.
    #[serde(default)]
    pub instruction_file: Option<PathBuf>,
    /// How often the instruction file is looked at (milliseconds).
    #[serde(default = "defaults::instruction_poll_ms")]
    pub instruction_poll_ms: u64,
    /// The dataset statistics key; the model file's only key when absent.
    #[serde(default)]
    pub unnorm_key: Option<String>,
    /// Classifier-free guidance scale (`<= 1` disables guidance).
    #[serde(default = "defaults::cfg_scale")]
    pub cfg_scale: f32,
    /// Flow-matching steps; the model's default when absent.
    #[serde(default)]
    pub denoising_steps: Option<usize>,
    /// Noise seed of the first inference; each later inference adds its cycle number.
    #[serde(default)]
    pub seed: u64,
}

/// `[cameras]`: camera source specs (`v4l:PATH?…`, `file:PATH`, `synthetic[:WxH]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CamerasConfig {
    /// The head (ego) camera.
    pub primary: String,
    /// The left wrist camera.
    pub wrist_left: String,
    /// The right wrist camera.
    pub wrist_right: String,
    /// How long a capture thread waits for one frame (milliseconds).
    #[serde(default = "defaults::camera_read_timeout_ms")]
    pub read_timeout_ms: u64,
}

/// `[arms]`: the left and right arm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmsConfig {
    /// The left arm (first half of each action step).
    pub left: ArmConfig,
    /// The right arm (second half).
    pub right: ArmConfig,
}

/// How an arm's microcontroller is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// A UART, USB serial adapter or pseudo-terminal (`port`, `baud`).
    Serial,
    /// A SocketCAN interface (`interface`, `can_fd`); needs the `socketcan` feature.
    Can,
}

/// `[arms.left]` / `[arms.right]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmConfig {
    /// `serial` or `can`.
    pub transport: Transport,
    /// Serial device (transport `serial`).
    #[serde(default)]
    pub port: Option<PathBuf>,
    /// Serial baud rate (transport `serial`).
    #[serde(default = "defaults::baud")]
    pub baud: u32,
    /// CAN interface such as `can0` (transport `can`).
    #[serde(default)]
    pub interface: Option<String>,
    /// CAN FD frames instead of classic CAN (transport `can`).
    #[serde(default)]
    pub can_fd: bool,
    /// Wait for each reply from the arm (milliseconds).
    #[serde(default = "defaults::request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Resends of an unanswered request.
    #[serde(default = "defaults::retries")]
    pub retries: u32,
    /// Lower corner of the host-side workspace box (metres); the arm's announced box when absent.
    #[serde(default)]
    pub workspace_min: Option<[f32; 3]>,
    /// Upper corner of the host-side workspace box (metres); the arm's announced box when absent.
    #[serde(default)]
    pub workspace_max: Option<[f32; 3]>,
    /// Smallest gripper target; the arm's announced value when absent.
    #[serde(default)]
    pub gripper_min: Option<f32>,
    /// Largest gripper target; the arm's announced value when absent.
    #[serde(default)]
    pub gripper_max: Option<f32>,
}

/// How a new chunk is blended into the steps still planned from the previous one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlendKind {
    /// The new chunk replaces the plan at once.
    Replace,
    /// The new chunk's weight rises linearly over `blend_steps` steps.
    Linear,
    /// The new chunk's weight is `1 - exp(-(k + 1) / blend_time_constant_steps)` at step `k`.
    Exponential,
}

/// `[control]`: the control loop and the chunk executor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlConfig {
    /// Control loop ticks per second (arm commands, watchdogs, safety checks).
    #[serde(default = "defaults::rate_hz")]
    pub rate_hz: f64,
    /// Time between the policy's action steps (milliseconds): the dataset's control period.
    #[serde(default = "defaults::step_period_ms")]
    pub step_period_ms: f64,
    /// Ask for the next chunk when fewer planned steps than this remain.
    #[serde(default = "defaults::trigger_remaining_steps")]
    pub trigger_remaining_steps: usize,
    /// How overlapping chunks are blended.
    #[serde(default = "defaults::blend")]
    pub blend: BlendKind,
    /// Steps of the linear cross-fade.
    #[serde(default = "defaults::blend_steps")]
    pub blend_steps: usize,
    /// Time constant of the exponential blend, in steps.
    #[serde(default = "defaults::blend_time_constant_steps")]
    pub blend_time_constant_steps: f64,
}

/// `[inference]`: the inference worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceConfig {
    /// Most inferences started per second.
    #[serde(default = "defaults::max_rate_hz")]
    pub max_rate_hz: f64,
    /// Longest time from an observation to its chunk (milliseconds); a chunk that takes
    /// longer is dropped and the arms hold.
    #[serde(default = "defaults::deadline_ms")]
    pub deadline_ms: u64,
}

/// `[safety]`: the host-side safety layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyConfig {
    /// Largest position change between consecutive steps (metres).
    #[serde(default = "defaults::max_step_delta_m")]
    pub max_step_delta_m: f32,
    /// Largest rotation between consecutive steps (radians).
    #[serde(default = "defaults::max_step_rotation_rad")]
    pub max_step_rotation_rad: f32,
    /// Largest gripper change between consecutive steps.
    #[serde(default = "defaults::max_step_gripper")]
    pub max_step_gripper: f32,
    /// Largest distance from the measured position to the first step sent (metres).
    #[serde(default = "defaults::max_start_delta_m")]
    pub max_start_delta_m: f32,
    /// Largest rotation from the measured orientation to the first step sent (radians).
    #[serde(default = "defaults::max_start_rotation_rad")]
    pub max_start_rotation_rad: f32,
    /// A camera whose newest frame is older than this stalls the loop (milliseconds).
    #[serde(default = "defaults::camera_stall_ms")]
    pub camera_stall_ms: u64,
    /// An arm whose newest state report is older than this counts as lost (milliseconds).
    #[serde(default = "defaults::arm_state_timeout_ms")]
    pub arm_state_timeout_ms: u64,
    /// The e-stop input line.
    #[serde(default)]
    pub estop: EStopConfig,
}

/// Where an e-stop input line comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EStopKind {
    /// No input line (the command socket can still e-stop).
    None,
    /// A file: asserted while it holds `1` (for tests and bench rigs).
    File,
    /// A Raspberry Pi GPIO pin (BCM numbering); needs the `raspberry-pi` feature.
    Gpio,
}

/// How a GPIO e-stop button is wired (with the pin's pull-up enabled).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EStopWiringConfig {
    /// Normally-closed contact to ground: a cut wire also stops the arms.
    NormallyClosed,
    /// Normally-open contact to ground.
    NormallyOpen,
}

/// `[safety.estop]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EStopConfig {
    /// `none`, `file` or `gpio`.
    #[serde(default = "defaults::estop_kind")]
    pub kind: EStopKind,
    /// The file (kind `file`).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The BCM pin number (kind `gpio`).
    #[serde(default)]
    pub pin: Option<u8>,
    /// The button's wiring (kind `gpio`).
    #[serde(default = "defaults::estop_wiring")]
    pub wiring: EStopWiringConfig,
    /// How often the line is read (milliseconds).
    #[serde(default = "defaults::estop_poll_ms")]
    pub poll_ms: u64,
}

/// `[status]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusConfig {
    /// The status and command socket; `$XDG_RUNTIME_DIR/twinvla-edge/control.sock`, else
    /// `/run/twinvla-edge/control.sock`, when absent.
    #[serde(default)]
    pub socket: Option<PathBuf>,
    /// Seconds between status lines in the log (0: none).
    #[serde(default = "defaults::log_interval_s")]
    pub log_interval_s: f64,
}

/// How the recorder stores camera images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    /// Uncompressed 8-bit RGB (`.rgb`, size in the record's metadata): fastest to write.
    Raw,
    /// Lossless PNG (`.png`): smaller, viewable, slower to write.
    Png,
}

impl ImageFormat {
    /// The file extension.
    pub const fn extension(self) -> &'static str {
        match self {
            ImageFormat::Raw => "rgb",
            ImageFormat::Png => "png",
        }
    }
}

/// `[recorder]`: the flight recorder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecorderConfig {
    /// Record every inference cycle.
    #[serde(default)]
    pub enabled: bool,
    /// Where records go (one directory per cycle).
    #[serde(default = "defaults::recorder_dir")]
    pub dir: PathBuf,
    /// Disk budget: the oldest records are deleted beyond it (bytes).
    #[serde(default = "defaults::recorder_max_bytes")]
    pub max_bytes: u64,
    /// How camera images are stored.
    #[serde(default = "defaults::image_format")]
    pub image_format: ImageFormat,
    /// Records waiting to be written; a cycle that finds the queue full is not recorded.
    #[serde(default = "defaults::recorder_queue")]
    pub queue: usize,
}

/// Default values, one function per field (serde's `default = "…"` needs functions).
mod defaults {
    use super::*;

    pub fn instruction_poll_ms() -> u64 {
        500
    }
    pub fn cfg_scale() -> f32 {
        1.5
    }
    pub fn camera_read_timeout_ms() -> u64 {
        100
    }
    pub fn baud() -> u32 {
        firmware_bridge::host::serial::DEFAULT_BAUD
    }
    pub fn request_timeout_ms() -> u64 {
        20
    }
    pub fn retries() -> u32 {
        1
    }
    pub fn rate_hz() -> f64 {
        50.0
    }
    pub fn step_period_ms() -> f64 {
        50.0
    }
    pub fn trigger_remaining_steps() -> usize {
        10
    }
    pub fn blend() -> BlendKind {
        BlendKind::Linear
    }
    pub fn blend_steps() -> usize {
        5
    }
    pub fn blend_time_constant_steps() -> f64 {
        2.0
    }
    pub fn max_rate_hz() -> f64 {
        10.0
    }
    pub fn deadline_ms() -> u64 {
        500
    }
    pub fn max_step_delta_m() -> f32 {
        0.05
    }
    pub fn max_step_rotation_rad() -> f32 {
        0.35
    }
    pub fn max_step_gripper() -> f32 {
        0.5
    }
    pub fn max_start_delta_m() -> f32 {
        0.1
    }
    pub fn max_start_rotation_rad() -> f32 {
        0.5
    }
    pub fn camera_stall_ms() -> u64 {
        300
    }
    pub fn arm_state_timeout_ms() -> u64 {
        100
    }
    pub fn estop_kind() -> EStopKind {
        EStopKind::None
    }
    pub fn estop_wiring() -> EStopWiringConfig {
        EStopWiringConfig::NormallyClosed
    }
    pub fn estop_poll_ms() -> u64 {
        5
    }
    pub fn log_interval_s() -> f64 {
        10.0
    }
    pub fn recorder_dir() -> PathBuf {
        PathBuf::from("/var/lib/twinvla-edge/recordings")
    }
    pub fn recorder_max_bytes() -> u64 {
        2 << 30
    }
    pub fn image_format() -> ImageFormat {
        ImageFormat::Raw
    }
    pub fn recorder_queue() -> usize {
        4
    }
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            rate_hz: defaults::rate_hz(),
            step_period_ms: defaults::step_period_ms(),
            trigger_remaining_steps: defaults::trigger_remaining_steps(),
            blend: defaults::blend(),
            blend_steps: defaults::blend_steps(),
            blend_time_constant_steps: defaults::blend_time_constant_steps(),
        }
    }
}

impl Default for InferenceConfig {
    fn default() -> Self {
        Self { max_rate_hz: defaults::max_rate_hz(), deadline_ms: defaults::deadline_ms() }
    }
}

impl Default for SafetyConfig {
    fn default() -> Self {
        Self {
            max_step_delta_m: defaults::max_step_delta_m(),
            max_step_rotation_rad: defaults::max_step_rotation_rad(),
            max_step_gripper: defaults::max_step_gripper(),
            max_start_delta_m: defaults::max_start_delta_m(),
            max_start_rotation_rad: defaults::max_start_rotation_rad(),
            camera_stall_ms: defaults::camera_stall_ms(),
            arm_state_timeout_ms: defaults::arm_state_timeout_ms(),
            estop: EStopConfig::default(),
        }
    }
}

impl Default for EStopConfig {
    fn default() -> Self {
        Self {
            kind: defaults::estop_kind(),
            path: None,
            pin: None,
            wiring: defaults::estop_wiring(),
            poll_ms: defaults::estop_poll_ms(),
        }
    }
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self { socket: None, log_interval_s: defaults::log_interval_s() }
    }
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            dir: defaults::recorder_dir(),
            max_bytes: defaults::recorder_max_bytes(),
            image_format: defaults::image_format(),
            queue: defaults::recorder_queue(),
        }
    }
}

impl ArmConfig {
    /// A serial arm on `port` with every other field at its default.
    pub fn serial(port: impl Into<PathBuf>) -> Self {
        Self {
            transport: Transport::Serial,
            port: Some(port.into()),
            baud: defaults::baud(),
            interface: None,
            can_fd: false,
            request_timeout_ms: defaults::request_timeout_ms(),
            retries: defaults::retries(),
            workspace_min: None,
            workspace_max: None,
            gripper_min: None,
            gripper_max: None,
        }
    }
}

/// Collects the first validation failure with its field name.
struct Checker<'a> {
    origin: &'a str,
}

impl Checker<'_> {
    fn fail(&self, field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.to_owned(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn positive_f64(&self, field: &str, v: f64) -> Result<(), ConfigError> {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(self.fail(field, format!("must be a finite number above 0, got {v}")))
        }
    }

    fn positive_f32(&self, field: &str, v: f32) -> Result<(), ConfigError> {
        self.positive_f64(field, f64::from(v))
    }

    fn positive_u64(&self, field: &str, v: u64) -> Result<(), ConfigError> {
        if v > 0 {
            Ok(())
        } else {
            Err(self.fail(field, "must be above 0"))
        }
    }

    /// A duration in milliseconds: at least 1, at most a day.
    fn millis(&self, field: &str, v: u64) -> Result<(), ConfigError> {
        if (1..=MAX_MILLIS).contains(&v) {
            Ok(())
        } else {
            Err(self.fail(field, format!("must be 1 to {MAX_MILLIS} milliseconds, got {v}")))
        }
    }

    /// A number in `[lo, hi]`.
    fn range(&self, field: &str, v: f64, lo: f64, hi: f64) -> Result<(), ConfigError> {
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(self.fail(field, format!("must be {lo} to {hi}, got {v}")))
        }
    }

    fn finite(&self, field: &str, values: &[f32]) -> Result<(), ConfigError> {
        if values.iter().all(|v| v.is_finite()) {
            Ok(())
        } else {
            Err(self.fail(field, "must be finite"))
        }
    }
}

impl Config {
    /// Reads, parses and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates `text`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.validate(origin)?;
        Ok(config)
    }

    /// Checks every value; the error names the first field at fault.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let c = Checker { origin };
        let p = &self.policy;
        if p.model.as_os_str().is_empty() {
            return Err(c.fail("policy.model", "is empty"));
        }
        check_instruction(&p.instruction).map_err(|reason| c.fail("policy.instruction", reason))?;
        c.millis("policy.instruction_poll_ms", p.instruction_poll_ms)?;
        if !p.cfg_scale.is_finite() {
            return Err(c.fail("policy.cfg_scale", "must be finite"));
        }
        if let Some(steps) = p.denoising_steps {
            if !(1..=999).contains(&steps) {
                return Err(c.fail("policy.denoising_steps", "must be 1 to 999"));
            }
        }
        for (name, spec) in [
            ("cameras.primary", &self.cameras.primary),
            ("cameras.wrist_left", &self.cameras.wrist_left),
            ("cameras.wrist_right", &self.cameras.wrist_right),
        ] {
            super::cameras::check_spec(spec).map_err(|reason| c.fail(name, reason))?;
        }
        c.millis("cameras.read_timeout_ms", self.cameras.read_timeout_ms)?;
        for (name, arm) in [("arms.left", &self.arms.left), ("arms.right", &self.arms.right)] {
            validate_arm(&c, name, arm)?;
        }
        let k = &self.control;
        c.range("control.rate_hz", k.rate_hz, 0.1, 1000.0)?;
        c.range("control.step_period_ms", k.step_period_ms, 0.1, 60_000.0)?;
        if k.trigger_remaining_steps == 0 {
            return Err(c.fail("control.trigger_remaining_steps", "must be at least 1"));
        }
        if k.blend_steps > 1000 {
            return Err(c.fail("control.blend_steps", "must be at most 1000"));
        }
        c.range("control.blend_time_constant_steps", k.blend_time_constant_steps, 0.001, 1000.0)?;
        c.range("inference.max_rate_hz", self.inference.max_rate_hz, 0.001, 1000.0)?;
        c.millis("inference.deadline_ms", self.inference.deadline_ms)?;
        let s = &self.safety;
        c.positive_f32("safety.max_step_delta_m", s.max_step_delta_m)?;
        c.positive_f32("safety.max_step_rotation_rad", s.max_step_rotation_rad)?;
        c.positive_f32("safety.max_step_gripper", s.max_step_gripper)?;
        c.positive_f32("safety.max_start_delta_m", s.max_start_delta_m)?;
        c.positive_f32("safety.max_start_rotation_rad", s.max_start_rotation_rad)?;
        c.millis("safety.camera_stall_ms", s.camera_stall_ms)?;
        c.millis("safety.arm_state_timeout_ms", s.arm_state_timeout_ms)?;
        validate_estop(&c, &s.estop)?;
        if let Some(socket) = &self.status.socket {
            if socket.as_os_str().is_empty() {
                return Err(c.fail("status.socket", "is empty"));
            }
        }
        c.range("status.log_interval_s", self.status.log_interval_s, 0.0, 86_400.0)?;
        let r = &self.recorder;
        if r.enabled {
            if r.dir.as_os_str().is_empty() {
                return Err(c.fail("recorder.dir", "is empty"));
            }
            c.positive_u64("recorder.max_bytes", r.max_bytes)?;
            if !(1..=1024).contains(&r.queue) {
                return Err(c.fail("recorder.queue", "must be 1 to 1024"));
            }
        }
        Ok(())
    }

    /// The control loop period.
    pub fn control_period(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.control.rate_hz)
    }

    /// The time between action steps.
    pub fn step_period(&self) -> Duration {
        Duration::from_secs_f64(self.control.step_period_ms / 1000.0)
    }

    /// The status socket path: the configured one, else the default.
    pub fn socket_path(&self) -> PathBuf {
        self.status.socket.clone().unwrap_or_else(default_socket_path)
    }
}

/// `$XDG_RUNTIME_DIR/twinvla-edge/control.sock`, else `/run/twinvla-edge/control.sock`.
pub fn default_socket_path() -> PathBuf {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run"));
    dir.join("twinvla-edge").join("control.sock")
}

/// Checks an instruction text: not blank, no control characters but tabs, at most
/// [`MAX_INSTRUCTION_BYTES`] bytes.
pub fn check_instruction(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("is empty".into());
    }
    if text.len() > MAX_INSTRUCTION_BYTES {
        return Err(format!("is {} bytes long, at most {MAX_INSTRUCTION_BYTES}", text.len()));
    }
    if text.chars().any(|ch| ch.is_control() && ch != '\t') {
        return Err("contains control characters".into());
    }
    Ok(())
}

fn validate_arm(c: &Checker<'_>, name: &str, arm: &ArmConfig) -> Result<(), ConfigError> {
    let field = |f: &str| format!("{name}.{f}");
    match arm.transport {
        Transport::Serial => {
            match &arm.port {
                None => {
                    return Err(c.fail(field("port"), "is required with transport = \"serial\""))
                }
                Some(p) if p.as_os_str().is_empty() => {
                    return Err(c.fail(field("port"), "is empty"))
                }
                Some(_) => {}
            }
            if arm.baud == 0 {
                return Err(c.fail(field("baud"), "must be above 0"));
            }
            if arm.interface.is_some() {
                return Err(c.fail(field("interface"), "is only for transport = \"can\""));
            }
            if arm.can_fd {
                return Err(c.fail(field("can_fd"), "is only for transport = \"can\""));
            }
        }
        Transport::Can => {
            match &arm.interface {
                None => {
                    return Err(c.fail(field("interface"), "is required with transport = \"can\""))
                }
                Some(i) if i.is_empty() => return Err(c.fail(field("interface"), "is empty")),
                Some(_) => {}
            }
            if arm.port.is_some() {
                return Err(c.fail(field("port"), "is only for transport = \"serial\""));
            }
            if !cfg!(feature = "socketcan") {
                return Err(c.fail(
                    field("transport"),
                    "is \"can\" but this build has no CAN support (feature `socketcan`)",
                ));
            }
        }
    }
    c.millis(&field("request_timeout_ms"), arm.request_timeout_ms)?;
    if arm.retries > 10 {
        return Err(c.fail(field("retries"), "must be at most 10"));
    }
    match (arm.workspace_min, arm.workspace_max) {
        (Some(lo), Some(hi)) => {
            c.finite(&field("workspace_min"), &lo)?;
            c.finite(&field("workspace_max"), &hi)?;
            if lo.iter().zip(&hi).any(|(l, h)| l > h) {
                return Err(c.fail(field("workspace_min"), "is above workspace_max on some axis"));
            }
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(c.fail(field("workspace_max"), "is required with workspace_min"))
        }
        (None, Some(_)) => {
            return Err(c.fail(field("workspace_min"), "is required with workspace_max"))
        }
    }
    match (arm.gripper_min, arm.gripper_max) {
        (Some(lo), Some(hi)) => {
            c.finite(&field("gripper_min"), &[lo])?;
            c.finite(&field("gripper_max"), &[hi])?;
            if lo > hi {
                return Err(c.fail(field("gripper_min"), "is above gripper_max"));
            }
        }
        (None, None) => {}
        (Some(_), None) => return Err(c.fail(field("gripper_max"), "is required with gripper_min")),
        (None, Some(_)) => return Err(c.fail(field("gripper_min"), "is required with gripper_max")),
    }
    Ok(())
}

fn validate_estop(c: &Checker<'_>, e: &EStopConfig) -> Result<(), ConfigError> {
    c.millis("safety.estop.poll_ms", e.poll_ms)?;
    match e.kind {
        EStopKind::None => {
            if e.path.is_some() {
                return Err(c.fail("safety.estop.path", "is only for kind = \"file\""));
            }
            if e.pin.is_some() {
                return Err(c.fail("safety.estop.pin", "is only for kind = \"gpio\""));
            }
        }
        EStopKind::File => {
            if e.path.as_ref().is_none_or(|p| p.as_os_str().is_empty()) {
                return Err(c.fail("safety.estop.path", "is required with kind = \"file\""));
            }
            if e.pin.is_some() {
                return Err(c.fail("safety.estop.pin", "is only for kind = \"gpio\""));
            }
        }
        EStopKind::Gpio => {
            if e.pin.is_none() {
                return Err(c.fail("safety.estop.pin", "is required with kind = \"gpio\""));
            }
            if e.path.is_some() {
                return Err(c.fail("safety.estop.path", "is only for kind = \"file\""));
            }
            if !cfg!(feature = "raspberry-pi") {
                return Err(c.fail(
                    "safety.estop.kind",
                    "is \"gpio\" but this build has no GPIO support (feature `raspberry-pi`)",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MINIMAL: &str = r#"
[policy]
model = "/var/lib/twinvla-edge/model.gguf"
instruction = "fold the towel"

[cameras]
primary = "synthetic"
wrist_left = "synthetic"
wrist_right = "synthetic"

[arms.left]
transport = "serial"
port = "/dev/ttyUSB0"

[arms.right]
transport = "serial"
port = "/dev/ttyUSB1"
"#;

    fn invalid_field(text: &str) -> String {
        match Config::parse(text, "test.toml") {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn minimal_config_gets_the_documented_defaults() {
        let c = Config::parse(MINIMAL, "test.toml").expect("valid");
        assert_eq!(c.control, ControlConfig::default());
        assert_eq!(c.control.rate_hz, 50.0);
        assert_eq!(c.arms.left.baud, 921_600);
        assert_eq!(c.safety.estop.kind, EStopKind::None);
        assert!(!c.recorder.enabled);
        assert_eq!(c.control_period(), Duration::from_millis(20));
    }

    #[test]
    fn unknown_fields_are_refused_with_their_name() {
        let text = MINIMAL.replace("[cameras]", "[cameras]\nprimery = \"x\"");
        let err = Config::parse(&text, "test.toml").expect_err("unknown field");
        let message = err.to_string();
        assert!(matches!(err, ConfigError::Parse { .. }));
        assert!(message.contains("primery"), "{message}");
        let text = format!("{MINIMAL}\n[contrl]\nrate_hz = 5\n");
        assert!(Config::parse(&text, "t")
            .expect_err("unknown table")
            .to_string()
            .contains("contrl"));
    }

    #[test]
    fn wrong_types_name_the_key() {
        let text = format!("{MINIMAL}\n[control]\nrate_hz = \"fast\"\n");
        let message = Config::parse(&text, "t").expect_err("wrong type").to_string();
        assert!(message.contains("rate_hz"), "{message}");
    }

    #[test]
    fn validation_names_the_field() {
        let with = |extra: &str| format!("{MINIMAL}\n{extra}\n");
        assert_eq!(invalid_field(&with("[control]\nrate_hz = 0")), "control.rate_hz");
        assert_eq!(
            invalid_field(&with("[control]\nstep_period_ms = -1")),
            "control.step_period_ms"
        );
        assert_eq!(
            invalid_field(&with("[safety]\nmax_step_delta_m = nan")),
            "safety.max_step_delta_m"
        );
        assert_eq!(invalid_field(&with("[safety.estop]\nkind = \"file\"")), "safety.estop.path");
        assert_eq!(invalid_field(&with("[inference]\ndeadline_ms = 0")), "inference.deadline_ms");
        let no_port = MINIMAL.replace("port = \"/dev/ttyUSB1\"", "");
        assert_eq!(invalid_field(&no_port), "arms.right.port");
        let can_port = MINIMAL.replacen("transport = \"serial\"", "transport = \"can\"", 1);
        assert_eq!(invalid_field(&can_port), "arms.left.interface");
        let half_box = MINIMAL.replace("[arms.right]", "workspace_min = [0, 0, 0]\n[arms.right]");
        assert_eq!(invalid_field(&half_box), "arms.left.workspace_max");
        let inverted = MINIMAL.replace(
            "[arms.right]",
            "workspace_min = [0, 0, 1]\nworkspace_max = [1, 1, 0.5]\n[arms.right]",
        );
        assert_eq!(invalid_field(&inverted), "arms.left.workspace_min");
        let blank = MINIMAL.replace("fold the towel", "  ");
        assert_eq!(invalid_field(&blank), "policy.instruction");
    }

    #[test]
    fn instruction_checks() {
        assert!(check_instruction("pick up the cup").is_ok());
        assert!(check_instruction("").is_err());
        assert!(check_instruction("a\u{0}b").is_err());
        assert!(check_instruction(&"x".repeat(MAX_INSTRUCTION_BYTES + 1)).is_err());
    }

    /// Sections and keys the parser knows, plus one it does not.
    const SECTIONS: [&str; 11] = [
        "policy",
        "cameras",
        "arms.left",
        "arms.right",
        "control",
        "inference",
        "safety",
        "safety.estop",
        "status",
        "recorder",
        "bogus",
    ];
    const KEYS: [&str; 24] = [
        "model",
        "instruction",
        "primary",
        "wrist_left",
        "wrist_right",
        "transport",
        "port",
        "baud",
        "interface",
        "workspace_min",
        "workspace_max",
        "rate_hz",
        "step_period_ms",
        "blend",
        "blend_steps",
        "deadline_ms",
        "max_rate_hz",
        "max_step_delta_m",
        "kind",
        "path",
        "pin",
        "socket",
        "enabled",
        "queue",
    ];

    /// A TOML value of any type, valid or not.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|v| v.to_string()),
            any::<f64>().prop_map(|v| format!("{v:?}")),
            "[a-z0-9/._ -]{0,12}".prop_map(|s| format!("{s:?}")),
            any::<bool>().prop_map(|b| b.to_string()),
            proptest::collection::vec(-10.0f64..10.0, 0..5).prop_map(|v| format!("{v:?}")),
            Just("\"serial\"".to_owned()),
            Just("\"linear\"".to_owned()),
            Just("\"file\"".to_owned()),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_documents_of_known_keys_never_panic(
            doc in proptest::collection::vec(
                (0..SECTIONS.len(), proptest::collection::vec((0..KEYS.len(), value()), 0..6)),
                0..12,
            )
        ) {
            let mut text = String::new();
            for (section, entries) in doc {
                text += &format!("[{}]\n", SECTIONS[section]);
                for (key, value) in entries {
                    text += &format!("{} = {value}\n", KEYS[key]);
                }
            }
            if let Ok(c) = Config::parse(&text, "fuzz") {
                let _ = (c.control_period(), c.step_period(), c.socket_path());
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,400}") {
            let _ = Config::parse(&text, "fuzz");
        }

        #[test]
        fn arbitrary_bytes_as_text_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Config::parse(&String::from_utf8_lossy(&bytes), "fuzz");
        }

        #[test]
        fn mutated_valid_configs_never_panic(pos in 0usize..1000, insert in "[\\[\\]=\"a-z0-9_.\n -]{0,12}") {
            let mut text = MINIMAL.to_owned();
            let mut at = pos % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, &insert);
            let _ = Config::parse(&text, "fuzz");
        }

        #[test]
        fn arbitrary_numbers_in_every_numeric_field_never_panic(
            rate in any::<f64>(), period in any::<f64>(), trigger in any::<usize>(),
            deadline in any::<u64>(), delta in any::<f32>(), stall in any::<u64>(),
        ) {
            let text = format!(
                "{MINIMAL}\n[control]\nrate_hz = {rate:?}\nstep_period_ms = {period:?}\n\
                 trigger_remaining_steps = {trigger}\n[inference]\ndeadline_ms = {deadline}\n\
                 [safety]\nmax_step_delta_m = {delta:?}\ncamera_stall_ms = {stall}\n"
            );
            if let Ok(c) = Config::parse(&text, "fuzz") {
                prop_assert!(c.control.rate_hz > 0.0 && c.control.rate_hz <= 1000.0);
                let _ = c.control_period();
                let _ = c.step_period();
                let _ = std::time::Instant::now() + Duration::from_millis(c.inference.deadline_ms);
            }
        }
    }
}

//! End to end: the real policy on the Vulkan adapter (lavapipe in CI) with the tiny synthetic
//! model, three synthetic cameras behind the real camera rig, two simulated arms on real
//! pseudo-terminals reached through the real serial client. One scenario, in order, so that the
//! model is loaded and run as few times as possible (each prediction costs seconds on a CPU
//! Vulkan driver):
//!
//! 1. `READY=1` reaches a test notify socket, then `WATCHDOG=1`;
//! 2. chunks reach both arms, and both move;
//! 3. pausing inference makes both arms hold within the watchdog bound, and nothing is sent;
//!    after resuming, a fresh chunk makes them track again;
//! 4. a stalled camera makes the tracking arms hold; the loop runs again when it delivers;
//! 5. the e-stop line latches the e-stop on both arms; clearing is refused while the line is
//!    asserted, and the e-stop stays latched after the line is released until cleared;
//! 6. the e-stop command latches as well;
//! 7. a lost arm link holds the other arm;
//! 8. the flight recorder's first record replays bit-exactly on the same adapter.
//!
//! A second, shorter test gives inferences a deadline they cannot meet: every chunk is dropped
//! and the arms hold.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use firmware_bridge::host::ArmClient;
use firmware_bridge::protocol::{ArmId, Mode};
use firmware_bridge::sim::{ArmSim, PtySim, SimConfig};
use twinvla_edge::camera::health::HealthCounters;
use twinvla_edge::camera::{CameraError, CameraRig, Frame, FrameSource, RigConfig, SourceSpec};
use twinvla_edge::control::arms;
use twinvla_edge::control::command::{send, Request};
use twinvla_edge::control::demo::prepare_model;
use twinvla_edge::control::estop_line::FileEStopLine;
use twinvla_edge::control::notify::{Notifier, NotifyTarget};
use twinvla_edge::control::replay::{replay, ReplayOptions};
use twinvla_edge::control::status::{LoopState, StatusReport};
use twinvla_edge::control::{Config, Parts, Runtime, RuntimeHandle};
use twinvla_edge::policy::{LoadOptions, Policy};

/// The arms' watchdog timeout (the simulator's default limits).
const WATCHDOG: Duration = Duration::from_millis(100);
/// The control period of the test configuration (50 Hz).
const PERIOD: Duration = Duration::from_millis(20);
/// Scheduling slack allowed on top of the bounds (a shared, loaded CI machine).
const SLACK: Duration = Duration::from_millis(250);

/// A camera source that can be made to stall: while stalled it delivers nothing.
struct StallableSource {
    inner: Box<dyn FrameSource>,
    stalled: Arc<AtomicBool>,
    health: HealthCounters,
}

impl FrameSource for StallableSource {
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        if self.stalled.load(Ordering::SeqCst) {
            std::thread::sleep(timeout);
            return Err(CameraError::Timeout { camera: "stalled".into(), waited: timeout });
        }
        self.inner.next_frame(timeout)
    }

    fn description(&self) -> &str {
        self.inner.description()
    }

    fn health(&self) -> &HealthCounters {
        if self.stalled.load(Ordering::SeqCst) {
            &self.health
        } else {
            self.inner.health()
        }
    }
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
    start.elapsed()
}

fn status(handle: &RuntimeHandle) -> StatusReport {
    let start = Instant::now();
    loop {
        match handle.status() {
            Some(report) => return report,
            None if start.elapsed() < Duration::from_secs(2) => {
                std::thread::sleep(Duration::from_millis(5))
            }
            None => panic!("no status report 2 s after start"),
        }
    }
}

fn modes(sims: &[&PtySim]) -> Vec<Mode> {
    sims.iter().map(|s| s.handle.snapshot().mode).collect()
}

/// Requests each simulated arm handled during `window` (heartbeats and chunks from the loop,
/// plus the client's clock probes, one per second).
fn requests_during(sims: &[&PtySim], window: Duration) -> Vec<u64> {
    let before: Vec<u64> = sims.iter().map(|s| s.handle.snapshot().requests).collect();
    std::thread::sleep(window);
    sims.iter().zip(before).map(|(s, b)| s.handle.snapshot().requests - b).collect()
}

fn receive(listener: &UnixDatagram) -> String {
    let mut buf = [0u8; 1024];
    let n = listener.recv(&mut buf).expect("a notification");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn config_text(model: &Path, left: &Path, right: &Path, dir: &Path, deadline_ms: u64) -> String {
    format!(
        r#"
[policy]
model = {model:?}
instruction = "fold the towel"
seed = 7

[cameras]
primary = "synthetic:64x48?fps=30"
wrist_left = "synthetic:64x48?fps=30"
wrist_right = "synthetic:64x48?fps=30"

[arms.left]
transport = "serial"
port = {left:?}
request_timeout_ms = 200

[arms.right]
transport = "serial"
port = {right:?}
request_timeout_ms = 200

[control]
rate_hz = 50
step_period_ms = 2000
trigger_remaining_steps = 1

[inference]
max_rate_hz = 1
deadline_ms = {deadline_ms}

[safety]
max_step_delta_m = 5.0
max_step_rotation_rad = 3.2
max_step_gripper = 2.0
max_start_delta_m = 5.0
max_start_rotation_rad = 3.2
camera_stall_ms = 300
arm_state_timeout_ms = 300

[safety.estop]
kind = "file"
path = {estop:?}
poll_ms = 2

[status]
socket = {socket:?}
log_interval_s = 0

[recorder]
enabled = true
dir = {records:?}
image_format = "png"
"#,
        model = model.display().to_string(),
        left = left.display().to_string(),
        right = right.display().to_string(),
        estop = dir.join("estop").display().to_string(),
        socket = dir.join("control.sock").display().to_string(),
        records = dir.join("records").display().to_string(),
    )
}

#[test]
fn the_runtime_drives_both_arms_and_holds_on_every_fault() {
    let dir: PathBuf = common::scratch().join("control-e2e");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let (model, _) = prepare_model(&dir, &common::tokenizer_json()).expect("tiny model");
    let left = ArmSim::spawn_pty(SimConfig::new(ArmId::Left)).expect("left sim");
    let right = ArmSim::spawn_pty(SimConfig::new(ArmId::Right)).expect("right sim");
    let start_poses = [left.handle.snapshot().pose, right.handle.snapshot().pose];
    let text = config_text(&model, &left.path, &right.path, &dir, 600_000);
    let config = Config::parse(&text, "e2e").expect("config");
    let socket = dir.join("control.sock");

    let notify_path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&notify_path);
    let listener = UnixDatagram::bind(&notify_path).expect("notify socket");
    listener.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let notifier = Notifier::new(NotifyTarget::Path(notify_path), Some(Duration::from_millis(400)))
        .expect("notifier");

    let stalled = Arc::new(AtomicBool::new(false));
    let spec: SourceSpec = "synthetic:64x48?fps=30".parse().expect("spec");
    let source = |stall: &Arc<AtomicBool>| -> Box<dyn FrameSource> {
        Box::new(StallableSource {
            inner: spec.open().expect("synthetic source"),
            stalled: Arc::clone(stall),
            health: HealthCounters::new(),
        })
    };
    let never = Arc::new(AtomicBool::new(false));
    let rig = CameraRig::start(
        [source(&stalled), source(&never), source(&never)],
        RigConfig {
            read_timeout: Duration::from_millis(50),
            stale_after: Duration::from_millis(300),
        },
    )
    .expect("rig");
    let connect = |c, id| Arc::new(arms::connect(c, id).expect("arm connects"));
    let arm_clients: [Arc<ArmClient>; 2] =
        [connect(&config.arms.left, ArmId::Left), connect(&config.arms.right, ArmId::Right)];
    let policy = Policy::load(&model, &LoadOptions::default()).expect("policy");
    let parts = Parts {
        config: config.clone(),
        policy,
        cameras: Box::new(rig),
        arms: arm_clients,
        estop_line: Some(Box::new(FileEStopLine::new(dir.join("estop")))),
        notifier,
        socket: Some(socket.clone()),
    };
    let runtime = Runtime::start(parts).expect("runtime starts");
    let handle = runtime.handle();
    let command =
        |request: Request| send(&socket, &request, Duration::from_secs(5)).expect("reply");

    // 1. READY=1, then WATCHDOG=1 from the control loop.
    let ready = receive(&listener);
    assert!(ready.starts_with("READY=1\nSTATUS="), "{ready}");
    let watchdog = receive(&listener);
    assert_eq!(watchdog, "WATCHDOG=1");

    // 2. Chunks reach both arms, and both move.
    let took = wait_until("a chunk accepted by both arms", Duration::from_secs(300), || {
        status(&handle).arms.iter().all(|a| a.last_chunk_seq.is_some())
    });
    eprintln!("first chunk on both arms after {took:?}");
    wait_until("both arms tracking", Duration::from_secs(5), || {
        modes(&[&left, &right]) == [Mode::Enabled, Mode::Enabled]
    });
    wait_until("both arms moving", Duration::from_secs(10), || {
        [&left, &right].iter().zip(start_poses).all(|(sim, start)| {
            let now = sim.handle.snapshot().pose;
            now.xyz.iter().zip(start.xyz).any(|(a, b)| (a - b).abs() > 1e-3)
        })
    });
    let s = status(&handle);
    assert_eq!(s.state, LoopState::Running);
    assert!(s.arms.iter().all(|a| a.chunks_sent >= 1), "{:?}", s.arms);

    // 3. Pause: both arms hold within the watchdog bound, and nothing is sent meanwhile.
    let running = requests_during(&[&left, &right], Duration::from_millis(500));
    assert!(running.iter().all(|&n| n >= 10), "the loop feeds both arms: {running:?}");
    let last_chunks: Vec<_> = s.arms.iter().map(|a| a.last_chunk_seq).collect();
    assert!(command(Request::Pause).ok);
    let bound = WATCHDOG + PERIOD + Duration::from_millis(2) + SLACK;
    let held = wait_until("both arms holding after pause", bound, || {
        modes(&[&left, &right]) == [Mode::Holding, Mode::Holding]
    });
    eprintln!("arms holding {held:?} after the pause command (bound {bound:?})");
    let paused = requests_during(&[&left, &right], Duration::from_millis(500));
    assert!(paused.iter().all(|&n| n <= 2), "only clock probes while paused: {paused:?}");
    let s = status(&handle);
    assert_eq!(s.state, LoopState::Paused);
    assert_eq!(modes(&[&left, &right]), [Mode::Holding, Mode::Holding]);
    assert_eq!(s.arms.iter().map(|a| a.last_chunk_seq).collect::<Vec<_>>(), last_chunks);
    assert!(command(Request::Resume).ok);
    let took = wait_until("tracking again on a fresh chunk", Duration::from_secs(300), || {
        modes(&[&left, &right]) == [Mode::Enabled, Mode::Enabled]
            && status(&handle).arms.iter().zip(&last_chunks).all(|(a, old)| a.last_chunk_seq > *old)
    });
    eprintln!("tracking again {took:?} after resume");

    // 4. A stalled camera makes the tracking arms hold.
    stalled.store(true, Ordering::SeqCst);
    let stall_bound = Duration::from_millis(300) + WATCHDOG + PERIOD + SLACK;
    let held = wait_until("both arms holding on the camera stall", stall_bound, || {
        modes(&[&left, &right]) == [Mode::Holding, Mode::Holding]
    });
    eprintln!("arms holding {held:?} after the camera stalled (bound {stall_bound:?})");
    wait_until("the loop holding on the stalled camera", Duration::from_secs(1), || {
        let s = status(&handle);
        s.state == LoopState::Holding && s.hold_causes.iter().any(|c| c.contains("primary"))
    });
    assert!(status(&handle).safety_events["camera_stall"] >= 1);
    let stalled_requests = requests_during(&[&left, &right], Duration::from_millis(500));
    assert!(stalled_requests.iter().all(|&n| n <= 2), "nothing sent: {stalled_requests:?}");
    stalled.store(false, Ordering::SeqCst);
    wait_until("running when the camera delivers again", Duration::from_secs(3), || {
        status(&handle).state == LoopState::Running
    });

    // 5. The e-stop line latches; clearing is refused while it is asserted.
    std::fs::write(dir.join("estop"), "1").expect("assert the line");
    let stopped = wait_until("both arms e-stopped", Duration::from_secs(1), || {
        modes(&[&left, &right]) == [Mode::EStopped, Mode::EStopped]
    });
    eprintln!("arms e-stopped {stopped:?} after the line was asserted");
    wait_until("loop e-stopped", Duration::from_secs(1), || {
        status(&handle).state == LoopState::EStopped
    });
    let refused = command(Request::ClearEstop);
    assert!(!refused.ok && refused.error.is_some_and(|e| e.contains("asserted")));
    std::fs::write(dir.join("estop"), "0").expect("release the line");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(status(&handle).state, LoopState::EStopped, "released line does not unlatch");
    assert_eq!(modes(&[&left, &right]), [Mode::EStopped, Mode::EStopped]);
    assert!(command(Request::ClearEstop).ok);
    wait_until("running after the e-stop is cleared", Duration::from_secs(2), || {
        status(&handle).state == LoopState::Running
            && modes(&[&left, &right]) == [Mode::Enabled, Mode::Enabled]
    });

    // 6. The e-stop command latches too.
    assert!(command(Request::Estop).ok);
    wait_until("both arms e-stopped by command", Duration::from_secs(1), || {
        modes(&[&left, &right]) == [Mode::EStopped, Mode::EStopped]
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(status(&handle).state, LoopState::EStopped);
    assert_eq!(status(&handle).safety_events["estop"], 2);
    assert!(command(Request::ClearEstop).ok);
    wait_until("running again", Duration::from_secs(2), || {
        status(&handle).state == LoopState::Running
    });

    // 7. A lost arm link: the right arm's simulator goes away; the left arm holds.
    let PtySim { handle: right_sim, path: _ } = right;
    drop(right_sim);
    wait_until("holding on the lost right arm", Duration::from_secs(2), || {
        let s = status(&handle);
        s.state == LoopState::Holding && s.hold_causes.iter().any(|c| c.contains("right arm"))
    });
    wait_until("left arm holding", WATCHDOG + SLACK, || {
        left.handle.snapshot().mode == Mode::Holding
    });
    assert!(status(&handle).safety_events["arm_link_lost"] >= 1);

    let outcome = runtime.stop().expect("the loop stops cleanly");
    assert!(outcome.status.inference.completed >= 1);

    // 8. Replay of the first record is bit-exact on the same adapter.
    let options = ReplayOptions { limit: Some(1), ..ReplayOptions::default() };
    let report = replay(&dir.join("records"), &options).expect("replay");
    assert_eq!(report.records.len(), 1);
    assert_eq!(report.adapter, report.recorded_adapter);
    assert!(report.within(0.0), "replay differs: {:?}", report.records);
}

#[test]
fn a_chunk_past_its_deadline_is_dropped_and_the_arms_hold() {
    let dir: PathBuf = common::scratch().join("control-e2e-deadline");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let (model, _) = prepare_model(&dir, &common::tokenizer_json()).expect("tiny model");
    let left = ArmSim::spawn_pty(SimConfig::new(ArmId::Left)).expect("left sim");
    let right = ArmSim::spawn_pty(SimConfig::new(ArmId::Right)).expect("right sim");
    let text = config_text(&model, &left.path, &right.path, &dir, 1);
    let config = Config::parse(&text, "e2e deadline").expect("config");
    let parts = Parts::open(config, Notifier::disabled(), None).expect("parts");
    let runtime = Runtime::start(parts).expect("runtime starts");
    let handle = runtime.handle();
    wait_until("the first inference", Duration::from_secs(300), || {
        status(&handle).inference.completed >= 1
    });
    wait_until("the loop holding on the late chunk", Duration::from_secs(1), || {
        let s = status(&handle);
        s.state == LoopState::Holding && s.hold_causes.iter().any(|c| c.contains("deadline"))
    });
    wait_until("both arms holding", WATCHDOG + SLACK, || {
        modes(&[&left, &right]) == [Mode::Holding, Mode::Holding]
    });
    let s = status(&handle);
    assert_eq!(s.control.chunks_accepted, 0);
    assert!(s.control.chunks_refused >= 1);
    assert!(s.safety_events["inference_deadline"] >= 1);
    assert!(
        s.arms.iter().all(|a| a.last_chunk_seq.is_none() && a.chunks_sent == 0),
        "{:?}",
        s.arms
    );
    let outcome = runtime.stop().expect("the loop stops cleanly");
    assert_eq!(outcome.status.control.chunks_accepted, 0);
}

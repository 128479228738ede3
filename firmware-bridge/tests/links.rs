//! End-to-end tests: the real client and the simulated arm over real pseudo-terminals, an
//! in-memory CAN bus (classic and FD), noisy in-memory lines and a fake incompatible arm.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use firmware_bridge::body;
use firmware_bridge::can::{ArmCanIds, CanFrame, CanMode};
use firmware_bridge::host::can_link::isotp_link;
use firmware_bridge::host::memory::{noisy_pair, pair};
use firmware_bridge::host::memory_can::MemoryCanBus;
use firmware_bridge::host::serial::DEFAULT_BAUD;
use firmware_bridge::host::{send_message, ArmClient, ClientConfig, ClientError, RxEvent};
use firmware_bridge::protocol::{
    AckCode, ArmId, ArmLimits, ArmMessage, ArmPose, FaultFlags, HostFrame, HostMessage,
    Incompatible, Mode, StatusFlags, PROTOCOL_VERSION, SCHEMA_HASH,
};
use firmware_bridge::sim::{ArmSim, PtySim, SimConfig, SimHandle};

/// Generous waits: the suite shares two cores with other builds.
const WAIT: Duration = Duration::from_secs(5);

fn pty_arm(arm: ArmId) -> PtySim {
    ArmSim::spawn_pty(SimConfig::new(arm)).expect("simulated arm on a pty")
}

fn connect_pty(sim: &PtySim, config: ClientConfig) -> ArmClient {
    ArmClient::open_serial(&sim.path, DEFAULT_BAUD, config).expect("client connects")
}

fn distance(a: &ArmPose, b: &ArmPose) -> f32 {
    (0..3).map(|i| (a.xyz[i] - b.xyz[i]).powi(2)).sum::<f32>().sqrt()
}

/// A chunk of one target held for 32 steps, starting 10 ms from now.
fn hold_target(client: &ArmClient, target: ArmPose) -> Result<AckCode, ClientError> {
    let start = Instant::now() + Duration::from_millis(10);
    client.send_chunk(start, Duration::from_millis(20), &[target; 32]).map(|r| r.code)
}

#[test]
fn a_chunk_sent_over_a_pty_moves_the_simulated_arm() {
    let sim = pty_arm(ArmId::Left);
    let client = connect_pty(&sim, ClientConfig::default());
    let info = client.info().expect("hello done");
    assert_eq!(info.arm_id, ArmId::Left);
    let offset = client.clock().expect("clock synchronised").offset_us;
    assert!(offset > 900_000_000, "the simulated arm clock starts 1000 s ahead: {offset}");
    client.enable().expect("enabled");
    let start = sim.handle.snapshot().pose;
    let target = ArmPose { xyz: [start.xyz[0] + 0.03, start.xyz[1], start.xyz[2]], ..start };
    assert_eq!(hold_target(&client, target).expect("acknowledged"), AckCode::Ok);
    let reached = client.wait_for_state(WAIT, |s| distance(&s.measured, &target) < 0.001);
    let state = reached.expect("the arm reached the target").state;
    assert_eq!(state.mode, Mode::Enabled);
    assert_eq!(state.joints.len(), 6);
    assert!(state.status.contains(StatusFlags::POWERED.with(StatusFlags::GREETED)));
}

#[test]
fn when_chunks_and_heartbeats_stop_the_arm_holds_within_the_watchdog_timeout() {
    let sim = pty_arm(ArmId::Right);
    let silent = ClientConfig { heartbeat_interval: None, ..ClientConfig::default() };
    let client = connect_pty(&sim, silent);
    client.enable().expect("enabled");
    let start = sim.handle.snapshot().pose;
    let target = ArmPose { xyz: [start.xyz[0] - 0.2, start.xyz[1], start.xyz[2]], ..start };
    // The arm fed its watchdog somewhere between these two readings of its clock.
    let before = client.arm_time_us(Instant::now()).expect("synchronised");
    hold_target(&client, target).expect("accepted");
    let after = client.arm_time_us(Instant::now()).expect("synchronised");
    let limits = ArmLimits::default();
    let holding = client
        .wait_for_state(WAIT, |s| s.mode == Mode::Holding)
        .expect("the watchdog tripped")
        .state;
    let timeout = u64::from(limits.watchdog_timeout_us);
    // The clock estimate is good to half a round trip; allow 1 ms.
    let earliest = before + timeout - 1_000;
    // Tripping happens by timeout + one control period; state reports go out every 10 ms;
    // allow 20 ms more for scheduling on a busy machine.
    let latest = after + timeout + u64::from(limits.control_period_us) + 10_000 + 20_000;
    let t = holding.timestamp_us;
    assert!(
        (earliest..=latest).contains(&t),
        "holding reported at {} us after the chunk was sent ({} us window)",
        t.saturating_sub(before),
        after - before
    );
    assert!(holding.faults.contains(FaultFlags::WATCHDOG));
    assert!(holding.status.contains(StatusFlags::POWERED), "holding never goes limp");
    // It stops: the setpoint no longer moves once braking is over.
    thread::sleep(Duration::from_millis(200));
    let a = client.latest_state().expect("state").state;
    let b = client
        .wait_for_state(WAIT, |s| s.timestamp_us >= a.timestamp_us + 50_000)
        .expect("later state")
        .state;
    assert_eq!(a.setpoint, b.setpoint);
    assert_eq!(b.mode, Mode::Holding);
    assert!(!b.status.contains(StatusFlags::BRAKING));
    assert!(distance(&b.setpoint, &target) > 0.1, "held where it was, not at the target");
}

#[test]
fn the_estop_latches_and_survives_a_reconnect() {
    let sim = pty_arm(ArmId::Left);
    {
        let first = connect_pty(&sim, ClientConfig::default());
        first.enable().expect("enabled");
        first.estop().expect("e-stop acknowledged");
        let state = first.wait_for_state(WAIT, |s| s.mode == Mode::EStopped).expect("latched");
        assert!(state.state.faults.contains(FaultFlags::ESTOP));
    }
    let second = connect_pty(&sim, ClientConfig::default());
    let state = second.wait_for_state(WAIT, |_| true).expect("state after reconnect").state;
    assert_eq!(state.mode, Mode::EStopped);
    let target = sim.handle.snapshot().pose;
    assert!(matches!(
        hold_target(&second, target),
        Err(ClientError::Rejected { code: AckCode::EStopLatched, .. })
    ));
    assert!(matches!(
        second.enable(),
        Err(ClientError::Rejected { code: AckCode::EStopLatched, .. })
    ));
    second.clear_estop().expect("cleared");
    second.enable().expect("enabled after the clear");
    assert_eq!(hold_target(&second, target).expect("acknowledged"), AckCode::Ok);
}

#[test]
fn out_of_range_targets_are_clamped_and_nan_targets_refused_over_a_pty() {
    let sim = pty_arm(ArmId::Left);
    let client = connect_pty(&sim, ClientConfig::default());
    client.enable().expect("enabled");
    let limits = ArmLimits::default();
    let start = sim.handle.snapshot().pose;
    let beyond = ArmPose { xyz: [start.xyz[0], 5.0, start.xyz[2]], gripper: -3.0, ..start };
    assert_eq!(hold_target(&client, beyond).expect("acknowledged"), AckCode::Clamped);
    let at_edge = client
        .wait_for_state(WAIT, |s| (s.measured.xyz[1] - limits.workspace_max[1]).abs() < 1e-3)
        .expect("the arm went to the workspace edge and no further");
    assert!(at_edge.state.setpoint.xyz[1] <= limits.workspace_max[1]);
    assert!(at_edge.state.setpoint.gripper >= limits.gripper_min);

    let mut nan = start;
    nan.rot6d[2] = f32::NAN;
    assert!(matches!(
        hold_target(&client, nan),
        Err(ClientError::Rejected { code: AckCode::NonFinite, .. })
    ));
    let reported = client
        .wait_for_state(WAIT, |s| s.faults.contains(FaultFlags::NON_FINITE_REJECTED))
        .expect("the refusal is reported in the state");
    assert!(reported.state.setpoint.is_finite());
    assert_eq!(reported.state.mode, Mode::Enabled);
}

/// Both arms on one in-memory bus of kind `mode`: chunks of 32 steps cross, states return.
/// Returns the corrupt frames detected on both ends and the client's resends.
fn two_arms_on_a_can_bus(mode: CanMode, drop_every: Option<usize>) -> (u64, u64) {
    let bus = MemoryCanBus::new(mode);
    let frames_seen = Arc::new(Mutex::new(0usize));
    if let Some(n) = drop_every {
        let seen = Arc::clone(&frames_seen);
        bus.set_filter(Box::new(move |_: &CanFrame| {
            let mut count = seen.lock().expect("counter");
            *count += 1;
            *count % n != 0
        }));
    }
    let mut sims: Vec<SimHandle> = Vec::new();
    let mut clients = Vec::new();
    for arm in ArmId::BOTH {
        let ids = ArmCanIds::for_arm(arm);
        let (arm_tx, arm_rx) = bus.attach();
        let arm_link =
            isotp_link(arm_tx, arm_rx, ids.to_host, ids.to_arm, mode, format!("{arm:?} arm"));
        sims.push(ArmSim::spawn(SimConfig::new(arm), arm_link).expect("sim"));
        let bus = bus.clone();
        let connector = move || {
            let (tx, rx) = bus.attach();
            Ok(isotp_link(tx, rx, ids.to_arm, ids.to_host, mode, format!("host to {arm:?}")))
        };
        let config = ClientConfig { expect_arm: Some(arm), retries: 5, ..ClientConfig::default() };
        clients.push(ArmClient::connect(connector, config).expect("client"));
    }
    for client in &clients {
        client.enable().expect("enabled");
    }
    for k in 0..20 {
        for (client, sim) in clients.iter().zip(&sims) {
            let mut target = sim.snapshot().pose;
            target.xyz[2] += 0.001 * k as f32;
            let code = hold_target(client, target).expect("chunk acknowledged");
            assert!(code == AckCode::Ok || code == AckCode::Duplicate, "{code:?}");
        }
    }
    for client in &clients {
        assert!(client.wait_for_state(WAIT, |s| s.last_chunk_seq.is_some()).is_some());
    }
    let retries: u64 = clients.iter().map(|c| c.stats().retries).sum();
    let mut corrupt: u64 = clients.iter().map(|c| c.stats().corrupt_frames).sum();
    drop(clients);
    for sim in sims {
        corrupt += sim.stop().expect("sim report").corrupt_frames;
    }
    (corrupt, retries)
}

#[test]
fn chunks_cross_a_classic_can_bus() {
    assert_eq!(two_arms_on_a_can_bus(CanMode::Classic, None), (0, 0));
}

#[test]
fn chunks_cross_a_can_fd_bus() {
    assert_eq!(two_arms_on_a_can_bus(CanMode::Fd, None), (0, 0));
}

#[test]
fn lost_can_frames_are_detected_and_retried() {
    // One frame in 997 lost; a full chunk takes 187 classic frames.
    let (corrupt, retries) = two_arms_on_a_can_bus(CanMode::Classic, Some(997));
    assert!(retries > 0, "losses forced resends");
    assert!(corrupt > 0, "losses were detected as sequence gaps or short messages");
}

#[test]
fn a_noisy_serial_line_loses_no_chunk_with_retries() {
    let (host, arm) = noisy_pair("noisy line", 2e-4, 42);
    let sim = ArmSim::spawn(SimConfig::new(ArmId::Left), arm).expect("sim");
    let mut host = Some(host);
    let connector = move || {
        host.take().ok_or_else(|| firmware_bridge::host::LinkError::Closed {
            device: "noisy line (single use)".to_owned(),
        })
    };
    let config = ClientConfig { retries: 10, ..ClientConfig::default() };
    let client = ArmClient::connect(connector, config).expect("client");
    client.enable().expect("enabled");
    let target = sim.snapshot().pose;
    for _ in 0..100 {
        let code = hold_target(&client, target).expect("acknowledged eventually");
        assert!(code == AckCode::Ok || code == AckCode::Duplicate);
    }
    let report = sim.stop().expect("sim report");
    let detected = report.corrupt_frames + client.stats().corrupt_frames;
    assert!(detected > 0, "noise at this rate corrupts some of ~150 kB");
}

#[test]
fn the_client_reconnects_when_the_link_drops() {
    let sims: Arc<Mutex<Vec<SimHandle>>> = Arc::default();
    let registry = Arc::clone(&sims);
    let connector = move || {
        let (host, arm) = pair("restartable");
        let sim = ArmSim::spawn(SimConfig::new(ArmId::Left), arm).expect("sim");
        registry.lock().expect("registry").push(sim);
        Ok(host)
    };
    let client = ArmClient::connect(connector, ClientConfig::default()).expect("client");
    client.enable().expect("enabled");
    // The arm's end of the link goes away (a cable pulled, a board reset).
    let first = sims.lock().expect("registry").remove(0);
    first.stop().expect("stopped");
    let deadline = Instant::now() + WAIT;
    while client.stats().reconnects == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(client.stats().reconnects, 1, "last error: {:?}", client.last_error());
    // The new arm starts disabled, so enable again and send.
    client.enable().expect("enabled after reconnect");
    let target = sims.lock().expect("registry")[0].snapshot().pose;
    assert_eq!(hold_target(&client, target).expect("acknowledged"), AckCode::Ok);
}

/// A fake arm that answers hello with another protocol version or schema.
fn fake_arm_replying(protocol_version: u16, schema_hash: u64) -> Result<ArmClient, ClientError> {
    let (host, mut arm) = pair("fake arm");
    let responder = thread::spawn(move || {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let Ok(RxEvent::Message(bytes)) = arm.rx.recv(Duration::from_millis(10)) else {
                continue;
            };
            let Ok(HostFrame { seq, message: HostMessage::Hello(_) }) = body::parse(&bytes) else {
                continue;
            };
            let mut info =
                *firmware_bridge::mcu::ArmController::new(SimConfig::new(ArmId::Left).arm)
                    .expect("valid")
                    .info();
            info.protocol_version = protocol_version;
            info.schema_hash = schema_hash;
            let reply = ArmMessage::Hello { seq, result: AckCode::Ok, info };
            send_message(arm.tx.as_mut(), &reply, "fake arm").expect("reply sent");
            return;
        }
    });
    let mut host = Some(host);
    let connector = move || {
        host.take().ok_or_else(|| firmware_bridge::host::LinkError::Closed {
            device: "fake arm".to_owned(),
        })
    };
    let result = ArmClient::connect(connector, ClientConfig::default());
    responder.join().expect("responder");
    result
}

#[test]
fn an_arm_with_another_schema_or_version_is_refused_at_hello() {
    match fake_arm_replying(PROTOCOL_VERSION, SCHEMA_HASH ^ 0xFF) {
        Err(ClientError::Incompatible {
            source: Incompatible::Schema { ours, theirs }, ..
        }) => {
            assert_eq!((ours, theirs), (SCHEMA_HASH, SCHEMA_HASH ^ 0xFF));
        }
        other => panic!("expected a schema refusal, got {other:?}"),
    }
    match fake_arm_replying(PROTOCOL_VERSION + 1, SCHEMA_HASH) {
        Err(e @ ClientError::Incompatible { source: Incompatible::Version { .. }, .. }) => {
            assert!(e.to_string().contains("protocol version mismatch"), "{e}");
        }
        other => panic!("expected a version refusal, got {other:?}"),
    }
}

#[test]
fn the_wrong_arm_on_a_port_is_refused() {
    let sim = pty_arm(ArmId::Left);
    let config = ClientConfig { expect_arm: Some(ArmId::Right), ..ClientConfig::default() };
    match ArmClient::open_serial(&sim.path, DEFAULT_BAUD, config) {
        Err(ClientError::WrongArm { expected: ArmId::Right, found: ArmId::Left, .. }) => {}
        other => panic!("expected a wrong-arm refusal, got {other:?}"),
    }
}

#[test]
fn an_unread_pty_never_wedges_the_simulated_arm() {
    let sim = pty_arm(ArmId::Left);
    // Nobody opens the slave: the pty fills within a second of state reports.
    thread::sleep(Duration::from_millis(1500));
    let ticks_before = sim.handle.snapshot().ticks;
    thread::sleep(Duration::from_millis(200));
    assert!(sim.handle.snapshot().ticks > ticks_before + 20, "still ticking at 500 Hz");
    let stopping = Instant::now();
    let report = sim.handle.stop().expect("stops");
    assert!(stopping.elapsed() < Duration::from_secs(1));
    assert!(report.dropped > 0, "unread output was dropped, not blocked on");
}

#[test]
fn the_arm_sim_binary_serves_a_client_on_the_pty_it_prints() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_arm-sim"))
        .args(["--arm", "right"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("arm-sim starts");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped stdout");
    BufReader::new(stdout).read_line(&mut line).expect("arm-sim prints its pty");
    let path = line.trim().rsplit(" on ").next().expect("a path").to_owned();
    let config = ClientConfig { expect_arm: Some(ArmId::Right), ..ClientConfig::default() };
    let result = ArmClient::open_serial(&path, DEFAULT_BAUD, config).and_then(|client| {
        client.enable()?;
        let state = client.wait_for_state(WAIT, |s| s.mode == Mode::Enabled);
        Ok(state.map(|s| s.state.mode))
    });
    child.kill().expect("arm-sim stops");
    child.wait().expect("arm-sim reaped");
    assert_eq!(result.expect("client works against arm-sim"), Some(Mode::Enabled), "{line}");
}

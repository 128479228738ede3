//! Tests of the arm state machine: sessions, limits, watchdog and e-stop.

use super::*;
use crate::protocol::{ActionChunk, HostHello};

const PERIOD: u64 = 2_000;

fn config() -> ArmConfig {
    ArmConfig {
        arm_id: ArmId::Left,
        firmware_version: FirmwareVersion { major: 1, minor: 0, patch: 0 },
        capabilities: Capabilities::GRIPPER,
        limits: ArmLimits::default(),
    }
}

fn hello() -> HostMessage {
    HostMessage::Hello(HostHello { protocol_version: PROTOCOL_VERSION, schema_hash: SCHEMA_HASH })
}

fn send(c: &mut ArmController, message: HostMessage, now: u64) -> AckCode {
    match c.handle(&HostFrame { seq: 9, message }, now) {
        ArmMessage::Ack { seq: 9, code } | ArmMessage::Hello { seq: 9, result: code, .. } => code,
        other => panic!("unexpected reply {other:?}"),
    }
}

fn chunk(seq: u32, start: u64, poses: &[ArmPose]) -> HostMessage {
    HostMessage::Chunk(ActionChunk::new(seq, start, 20_000, poses).expect("valid shape"))
}

const HOME: ArmPose = ArmPose::at([0.1, 0.1, 0.3], 0.5);

/// A greeted, enabled controller that has ticked once at t=0 from `HOME`.
fn enabled() -> ArmController {
    let mut c = ArmController::new(config()).expect("valid limits");
    assert_eq!(send(&mut c, hello(), 0), AckCode::Ok);
    assert_eq!(send(&mut c, HostMessage::Enable, 0), AckCode::Ok);
    assert!(matches!(c.tick(0, &HOME), Command::Track(p) if p == HOME));
    c
}

fn distance(a: &ArmPose, b: &ArmPose) -> f32 {
    crate::protocol::norm3([a.xyz[0] - b.xyz[0], a.xyz[1] - b.xyz[1], a.xyz[2] - b.xyz[2]])
}

#[test]
fn hello_with_another_version_or_schema_is_refused() {
    let mut c = ArmController::new(config()).expect("valid limits");
    let wrong_version = HostMessage::Hello(HostHello {
        protocol_version: PROTOCOL_VERSION + 1,
        schema_hash: SCHEMA_HASH,
    });
    assert_eq!(send(&mut c, wrong_version, 0), AckCode::VersionMismatch);
    let wrong_schema = HostMessage::Hello(HostHello {
        protocol_version: PROTOCOL_VERSION,
        schema_hash: !SCHEMA_HASH,
    });
    assert_eq!(send(&mut c, wrong_schema, 0), AckCode::SchemaMismatch);
    assert_eq!(send(&mut c, HostMessage::Enable, 0), AckCode::NotGreeted);
    assert_eq!(send(&mut c, HostMessage::Heartbeat, 0), AckCode::NotGreeted);
    assert_eq!(send(&mut c, HostMessage::EStop, 0), AckCode::Ok, "e-stop needs no session");
    assert_eq!(c.mode(), Mode::EStopped);
}

#[test]
fn hello_reply_describes_the_arm() {
    let mut c = ArmController::new(config()).expect("valid limits");
    match c.handle(&HostFrame { seq: 3, message: hello() }, 0) {
        ArmMessage::Hello { seq: 3, result: AckCode::Ok, info } => {
            assert_eq!(info.arm_id, ArmId::Left);
            assert_eq!(info.limits, ArmLimits::default());
            assert_eq!(info.schema_hash, SCHEMA_HASH);
        }
        other => panic!("unexpected reply {other:?}"),
    }
}

#[test]
fn time_sync_reports_the_arm_clock() {
    let mut c = ArmController::new(config()).expect("valid limits");
    let reply =
        c.handle(&HostFrame { seq: 4, message: HostMessage::TimeSync { host_send_us: 11 } }, 77);
    assert_eq!(
        reply,
        ArmMessage::TimeSync {
            seq: 4,
            reply: TimeSyncReply { host_send_us: 11, arm_receive_us: 77, arm_send_us: 77 }
        }
    );
}

#[test]
fn disabled_arm_is_unpowered_and_follows_the_measurement() {
    let mut c = ArmController::new(config()).expect("valid limits");
    send(&mut c, hello(), 0);
    assert_eq!(send(&mut c, chunk(1, 0, &[HOME]), 0), AckCode::NotEnabled);
    assert_eq!(c.tick(0, &HOME), Command::Off);
    let moved = ArmPose::at([0.2, 0.1, 0.3], 0.5);
    c.tick(PERIOD, &moved);
    send(&mut c, HostMessage::Enable, PERIOD);
    assert_eq!(c.tick(2 * PERIOD, &moved), Command::Track(moved), "enable starts where the arm is");
}

#[test]
fn tracks_a_chunk_by_interpolation() {
    let mut c = enabled();
    let a = ArmPose::at([0.1, 0.1, 0.3], 0.5);
    let b = ArmPose::at([0.11, 0.1, 0.3], 0.5);
    assert_eq!(send(&mut c, chunk(1, 0, &[a, b]), 0), AckCode::Ok);
    let mut last = HOME;
    for k in 1..=5 {
        if let Command::Track(p) = c.tick(k * PERIOD, &HOME) {
            last = p;
        }
    }
    // 10 ms into a 20 ms step: halfway.
    assert!((last.xyz[0] - 0.105).abs() < 1e-6, "{last:?}");
}

#[test]
fn watchdog_holds_within_timeout_plus_one_period_and_never_goes_limp() {
    let mut c = enabled();
    let limits = ArmLimits::default();
    let far = ArmPose::at([0.5, 0.1, 0.3], 0.5);
    assert_eq!(send(&mut c, chunk(1, 0, &[far; 32]), 0), AckCode::Ok);
    let timeout = u64::from(limits.watchdog_timeout_us);
    let mut previous = HOME;
    let mut previous_step = f32::INFINITY;
    let mut tripped_at = None;
    let mut t = 0;
    while t < timeout + 200_000 {
        t += PERIOD;
        let command = c.tick(t, &previous);
        let pose = command.setpoint().expect("powered in every mode here");
        let step = distance(&previous, &pose);
        assert!(step <= limits.max_step_m + 1e-6, "no jump at {t}: {step}");
        match (tripped_at, c.mode()) {
            (None, Mode::Holding) => tripped_at = Some(t),
            (None, Mode::Enabled) => assert!(matches!(command, Command::Track(_))),
            (Some(_), Mode::Holding) => {
                assert!(matches!(command, Command::Hold(_)), "holding keeps power");
                assert!(step <= previous_step + 1e-7, "braking never speeds up");
            }
            (_, mode) => panic!("unexpected mode {mode:?} at {t}"),
        }
        previous_step = step;
        previous = pose;
    }
    let tripped_at = tripped_at.expect("watchdog tripped");
    assert!(tripped_at > timeout && tripped_at <= timeout + PERIOD, "tripped at {tripped_at}");
    assert_eq!(previous_step, 0.0, "stopped and holding");
    let state = c.report(t, &previous, &[]);
    assert!(state.faults.contains(FaultFlags::WATCHDOG));
    assert!(state.status.contains(StatusFlags::POWERED));
}

#[test]
fn heartbeats_keep_the_watchdog_fed_and_a_chunk_resumes_from_hold() {
    let mut c = enabled();
    let timeout = u64::from(ArmLimits::default().watchdog_timeout_us);
    for k in 1..=200 {
        let t = k * PERIOD;
        if k % 10 == 0 {
            assert_eq!(send(&mut c, HostMessage::Heartbeat, t), AckCode::Ok);
        }
        c.tick(t, &HOME);
        assert_eq!(c.mode(), Mode::Enabled, "at {t}");
    }
    let t = 200 * PERIOD + timeout + PERIOD;
    c.tick(t, &HOME);
    assert_eq!(c.mode(), Mode::Holding);
    assert_eq!(send(&mut c, chunk(1, t, &[HOME]), t), AckCode::Ok);
    assert_eq!(c.mode(), Mode::Enabled);
}

#[test]
fn estop_latches_through_reconnects_until_cleared() {
    let mut c = enabled();
    assert_eq!(send(&mut c, HostMessage::EStop, 10), AckCode::Ok);
    assert!(matches!(c.tick(PERIOD, &HOME), Command::Hold(_)));
    assert_eq!(send(&mut c, chunk(1, PERIOD, &[HOME]), PERIOD), AckCode::EStopLatched);
    assert_eq!(send(&mut c, HostMessage::Enable, PERIOD), AckCode::EStopLatched);
    assert_eq!(send(&mut c, HostMessage::Disable, PERIOD), AckCode::EStopLatched);
    // A new host session.
    assert_eq!(send(&mut c, hello(), 3 * PERIOD), AckCode::Ok);
    assert_eq!(c.mode(), Mode::EStopped);
    assert!(c.report(3 * PERIOD, &HOME, &[]).faults.contains(FaultFlags::ESTOP));
    assert_eq!(send(&mut c, HostMessage::ClearEStop, 4 * PERIOD), AckCode::Ok);
    assert_eq!(c.mode(), Mode::Disabled);
    assert_eq!(send(&mut c, HostMessage::Enable, 4 * PERIOD), AckCode::Ok);
}

#[test]
fn estop_while_disabled_latches_without_powering_the_motors() {
    let mut c = ArmController::new(config()).expect("valid limits");
    assert_eq!(send(&mut c, HostMessage::EStop, 0), AckCode::Ok);
    assert_eq!(c.tick(0, &HOME), Command::Off);
    assert!(!c.report(0, &HOME, &[]).status.contains(StatusFlags::POWERED));
}

#[test]
fn out_of_range_targets_are_clamped_into_the_workspace() {
    let mut c = enabled();
    let limits = ArmLimits::default();
    let outside = ArmPose::at([9.0, 0.1, -3.0], 4.0);
    assert_eq!(send(&mut c, chunk(1, 0, &[outside]), 0), AckCode::Clamped);
    let mut pose = HOME;
    for k in 1..=2_000 {
        pose = c.tick(k * PERIOD, &pose).setpoint().expect("powered");
        for axis in 0..3 {
            assert!(pose.xyz[axis] >= limits.workspace_min[axis]);
            assert!(pose.xyz[axis] <= limits.workspace_max[axis]);
        }
        assert!(pose.gripper <= limits.gripper_max);
        if k % 20 == 0 {
            send(&mut c, HostMessage::Heartbeat, k * PERIOD);
        }
    }
    assert_eq!(pose.xyz, [0.6, 0.1, 0.0]);
    assert_eq!(pose.gripper, 1.0);
    assert!(c.report(0, &pose, &[]).faults.contains(FaultFlags::TARGET_CLAMPED));
}

#[test]
fn nan_targets_are_refused_and_the_setpoint_stays_put() {
    let mut c = enabled();
    let mut nan = HOME;
    nan.xyz[2] = f32::NAN;
    assert_eq!(send(&mut c, chunk(1, 0, &[HOME, nan]), 0), AckCode::NonFinite);
    let mut inf = HOME;
    inf.rot6d[4] = f32::NEG_INFINITY;
    assert_eq!(send(&mut c, chunk(2, 0, &[inf]), 0), AckCode::NonFinite);
    assert_eq!(c.tick(PERIOD, &HOME), Command::Track(HOME));
    let state = c.report(PERIOD, &HOME, &[]);
    assert!(state.faults.contains(FaultFlags::NON_FINITE_REJECTED));
    assert_eq!(state.last_chunk_seq, None);
    assert!(!c.report(PERIOD, &HOME, &[]).faults.contains(FaultFlags::NON_FINITE_REJECTED));
}

#[test]
fn chunk_numbers_detect_retries_and_old_chunks_per_session() {
    let mut c = enabled();
    assert_eq!(send(&mut c, chunk(5, 0, &[HOME]), 0), AckCode::Ok);
    assert_eq!(send(&mut c, chunk(5, 0, &[HOME]), 0), AckCode::Duplicate);
    assert_eq!(send(&mut c, chunk(4, 0, &[HOME]), 0), AckCode::Stale);
    assert_eq!(send(&mut c, hello(), 0), AckCode::Ok);
    assert_eq!(send(&mut c, chunk(1, 0, &[HOME]), 0), AckCode::Ok, "a new session restarts");
}

#[test]
fn a_far_new_chunk_is_approached_without_jumping() {
    let mut c = enabled();
    let limits = ArmLimits::default();
    let far =
        ArmPose { rot6d: [0.0, 1.0, 0.0, -1.0, 0.0, 0.0], ..ArmPose::at([-0.5, -0.5, 0.7], 0.0) };
    send(&mut c, chunk(1, 0, &[far]), 0);
    let mut previous = HOME;
    for k in 1..=40 {
        let pose = c.tick(k * PERIOD, &previous).setpoint().expect("powered");
        assert!(distance(&previous, &pose) <= limits.max_step_m + 1e-6);
        for i in 0..6 {
            assert!((pose.rot6d[i] - previous.rot6d[i]).abs() <= 2.0 * limits.max_rot6d_step);
        }
        previous = pose;
    }
    let state = c.report(40 * PERIOD, &previous, &[]);
    assert!(state.faults.contains(FaultFlags::STEP_LIMITED));
}

#[test]
fn unusable_measurements_never_become_setpoints() {
    let mut c = ArmController::new(config()).expect("valid limits");
    send(&mut c, hello(), 0);
    send(&mut c, HostMessage::Enable, 0);
    let broken = ArmPose::at([f32::NAN, 0.0, 0.0], 0.0);
    let pose = c.tick(0, &broken).setpoint().expect("powered");
    assert!(pose.is_finite());
}

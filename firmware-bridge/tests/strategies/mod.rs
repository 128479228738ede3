//! Proptest strategies for every message type, shared by the property tests.

use firmware_bridge::protocol::{
    AckCode, ActionChunk, ArmId, ArmInfo, ArmLimits, ArmMessage, ArmPose, ArmState, Capabilities,
    FaultFlags, FirmwareVersion, HostFrame, HostHello, HostMessage, Mode, StatusFlags,
    TimeSyncReply, MAX_JOINTS, MAX_STEPS,
};
use proptest::prelude::*;

/// Any pose, NaN and infinities included.
pub fn any_pose() -> impl Strategy<Value = ArmPose> {
    prop::array::uniform10(any::<f32>()).prop_map(ArmPose::from_array)
}

/// A pose inside a box a little larger than the default workspace, with a valid rotation.
pub fn plausible_pose() -> impl Strategy<Value = ArmPose> {
    (prop::array::uniform3(-1.0f32..1.0), prop::array::uniform6(-1.0f32..1.0), -0.5f32..1.5)
        .prop_map(|(xyz, rot6d, gripper)| ArmPose { xyz, rot6d, gripper })
}

/// Any chunk of valid shape.
pub fn any_chunk(pose: impl Strategy<Value = ArmPose>) -> impl Strategy<Value = ActionChunk> {
    (any::<u32>(), any::<u64>(), 1u32.., prop::collection::vec(pose, 1..=MAX_STEPS)).prop_map(
        |(seq, start, period, poses)| {
            ActionChunk::new(seq, start, period, &poses).expect("strategy keeps the shape valid")
        },
    )
}

/// Any request.
pub fn any_host_message() -> impl Strategy<Value = HostMessage> {
    prop_oneof![
        (any::<u16>(), any::<u64>()).prop_map(|(protocol_version, schema_hash)| {
            HostMessage::Hello(HostHello { protocol_version, schema_hash })
        }),
        Just(HostMessage::Heartbeat),
        any_chunk(any_pose()).prop_map(HostMessage::Chunk),
        Just(HostMessage::Enable),
        Just(HostMessage::Disable),
        Just(HostMessage::EStop),
        Just(HostMessage::ClearEStop),
        any::<u64>().prop_map(|host_send_us| HostMessage::TimeSync { host_send_us }),
    ]
}

/// Any numbered request.
pub fn any_host_frame() -> impl Strategy<Value = HostFrame> {
    (any::<u32>(), any_host_message()).prop_map(|(seq, message)| HostFrame { seq, message })
}

/// Any acknowledgement code.
pub fn any_ack() -> impl Strategy<Value = AckCode> {
    prop::sample::select(vec![
        AckCode::Ok,
        AckCode::Clamped,
        AckCode::Duplicate,
        AckCode::NotGreeted,
        AckCode::VersionMismatch,
        AckCode::SchemaMismatch,
        AckCode::NotEnabled,
        AckCode::EStopLatched,
        AckCode::NonFinite,
        AckCode::Stale,
        AckCode::InvalidChunk,
    ])
}

/// Any limits (not necessarily valid).
fn any_limits() -> impl Strategy<Value = ArmLimits> {
    (
        prop::array::uniform6(any::<f32>()),
        prop::array::uniform7(any::<f32>()),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(w, f, control_period_us, watchdog_timeout_us)| ArmLimits {
            workspace_min: [w[0], w[1], w[2]],
            workspace_max: [w[3], w[4], w[5]],
            gripper_min: f[0],
            gripper_max: f[1],
            max_speed_m_s: f[2],
            max_step_m: f[3],
            max_decel_m_s2: f[4],
            max_rot6d_step: f[5],
            max_gripper_speed: f[6],
            control_period_us,
            watchdog_timeout_us,
        })
}

/// Any arm description.
fn any_info() -> impl Strategy<Value = ArmInfo> {
    (
        any::<u16>(),
        any::<u64>(),
        prop::sample::select(vec![ArmId::Left, ArmId::Right]),
        prop::array::uniform3(any::<u16>()),
        any::<u32>(),
        any_limits(),
    )
        .prop_map(|(protocol_version, schema_hash, arm_id, v, caps, limits)| ArmInfo {
            protocol_version,
            schema_hash,
            arm_id,
            firmware_version: FirmwareVersion { major: v[0], minor: v[1], patch: v[2] },
            capabilities: Capabilities(caps),
            limits,
        })
}

/// Any state report.
fn any_state() -> impl Strategy<Value = ArmState> {
    (
        any::<u64>(),
        prop::sample::select(vec![Mode::Disabled, Mode::Enabled, Mode::Holding, Mode::EStopped]),
        any_pose(),
        any_pose(),
        prop::collection::vec(any::<f32>(), 0..=MAX_JOINTS),
        (any::<u16>(), any::<u16>()),
        any::<Option<u32>>(),
        any::<u32>(),
    )
        .prop_map(|(timestamp_us, mode, measured, setpoint, joints, flags, last, corrupt)| {
            ArmState {
                timestamp_us,
                mode,
                measured,
                setpoint,
                joints: heapless::Vec::from_slice(&joints).expect("strategy respects capacity"),
                status: StatusFlags(flags.0),
                faults: FaultFlags(flags.1),
                last_chunk_seq: last,
                corrupt_frames: corrupt,
            }
        })
}

/// Any message from an arm.
pub fn any_arm_message() -> impl Strategy<Value = ArmMessage> {
    prop_oneof![
        (any::<u32>(), any_ack(), any_info()).prop_map(|(seq, result, info)| ArmMessage::Hello {
            seq,
            result,
            info
        }),
        (any::<u32>(), any_ack()).prop_map(|(seq, code)| ArmMessage::Ack { seq, code }),
        (any::<u32>(), prop::array::uniform3(any::<u64>())).prop_map(|(seq, t)| {
            ArmMessage::TimeSync {
                seq,
                reply: TimeSyncReply {
                    host_send_us: t[0],
                    arm_receive_us: t[1],
                    arm_send_us: t[2],
                },
            }
        }),
        any_state().prop_map(ArmMessage::State),
    ]
}

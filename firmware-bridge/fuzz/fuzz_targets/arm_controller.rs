//! Arbitrary request sequences into the arm state machine. The input is read as postcard
//! messages (a time step in microseconds, then a request) until it runs out; after every
//! request a control tick runs. The setpoint must always be finite and inside the
//! workspace box and gripper range.
#![no_main]

use firmware_bridge::mcu::{ArmConfig, ArmController};
use firmware_bridge::protocol::{
    ArmId, ArmLimits, ArmPose, Capabilities, FirmwareVersion, HostFrame,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ArmLimits::default();
    let Ok(mut controller) = ArmController::new(ArmConfig {
        arm_id: ArmId::Left,
        firmware_version: FirmwareVersion { major: 0, minor: 0, patch: 0 },
        capabilities: Capabilities::NONE,
        limits,
    }) else {
        return;
    };
    let measured = ArmPose::at([0.1, 0.1, 0.3], 0.5);
    let mut now = 0u64;
    let mut rest = data;
    while let Ok(((dt, frame), tail)) = postcard::take_from_bytes::<(u16, HostFrame)>(rest) {
        rest = tail;
        now += u64::from(dt);
        let _ = controller.handle(&frame, now);
        if let Some(pose) = controller.tick(now, &measured).setpoint() {
            assert!(pose.is_finite());
            for axis in 0..3 {
                assert!(pose.xyz[axis] >= limits.workspace_min[axis]);
                assert!(pose.xyz[axis] <= limits.workspace_max[axis]);
            }
            assert!(pose.gripper >= limits.gripper_min && pose.gripper <= limits.gripper_max);
        }
    }
});

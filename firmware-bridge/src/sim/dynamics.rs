//! A first-order model of an arm: each pose component approaches its setpoint exponentially
//! with one time constant; unpowered, the arm stays where it is.
//!
//! The simulated arm is a Cartesian gantry with a spherical wrist, so its joint positions are
//! `x, y, z` (metres) and the wrist's roll, pitch and yaw (radians, Z-Y-X convention).

use std::time::Duration;

use crate::mcu::Command;
use crate::protocol::ArmPose;

/// The simulated arm's physical state.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstOrderArm {
    /// Current pose.
    pose: ArmPose,
    /// Time constant of the tracking response.
    time_constant: Duration,
}

impl FirstOrderArm {
    /// An arm resting at `pose`.
    pub fn new(pose: ArmPose, time_constant: Duration) -> Self {
        Self { pose, time_constant }
    }

    /// The measured pose.
    pub fn pose(&self) -> ArmPose {
        self.pose
    }

    /// Advances the model by `dt` under `command`.
    pub fn step(&mut self, command: &Command, dt: Duration) {
        let Some(target) = command.setpoint() else {
            return;
        };
        let tau = self.time_constant.as_secs_f32();
        let alpha = if tau > 0.0 { 1.0 - (-dt.as_secs_f32() / tau).exp() } else { 1.0 };
        let moved = self.pose.lerp(&target, alpha.clamp(0.0, 1.0));
        if let Some(moved) = moved {
            self.pose = moved;
        }
    }

    /// Joint positions: `x, y, z, roll, pitch, yaw`.
    pub fn joints(&self) -> [f32; 6] {
        let [a0, a1, a2, b0, b1, b2] = self.pose.rot6d;
        // R = [a b c] with c = a x b; only c's z component is needed.
        let c2 = a0 * b1 - a1 * b0;
        let yaw = a1.atan2(a0);
        let pitch = (-a2).clamp(-1.0, 1.0).asin();
        let roll = b2.atan2(c2);
        let [x, y, z] = self.pose.xyz;
        [x, y, z, roll, pitch, yaw]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_with_the_time_constant_and_stays_put_unpowered() {
        let start = ArmPose::at([0.0, 0.0, 0.0], 0.0);
        let target = ArmPose::at([1.0, 0.0, 0.0], 0.0);
        let mut arm = FirstOrderArm::new(start, Duration::from_millis(10));
        arm.step(&Command::Track(target), Duration::from_millis(10));
        assert!((arm.pose().xyz[0] - (1.0 - (-1.0f32).exp())).abs() < 1e-5);
        let before = arm.pose();
        arm.step(&Command::Off, Duration::from_secs(1));
        assert_eq!(arm.pose(), before);
    }

    #[test]
    fn joints_of_a_yawed_wrist() {
        let yaw = 0.5f32;
        let pose = ArmPose {
            rot6d: [yaw.cos(), yaw.sin(), 0.0, -yaw.sin(), yaw.cos(), 0.0],
            ..ArmPose::at([0.1, 0.2, 0.3], 0.0)
        };
        let j = FirstOrderArm::new(pose, Duration::from_millis(10)).joints();
        assert!((j[5] - yaw).abs() < 1e-6 && j[3].abs() < 1e-6 && j[4].abs() < 1e-6, "{j:?}");
        assert_eq!(&j[..3], &[0.1, 0.2, 0.3]);
    }
}

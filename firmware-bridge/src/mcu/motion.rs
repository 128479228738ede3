//! How the setpoint may move in one control tick: rate-limited tracking and braking.
//!
//! Tracking moves the position by at most `min(max_step_m, max_speed_m_s * dt)`, each 6D
//! rotation component by at most `max_rot6d_step`, and the gripper by at most
//! `max_gripper_speed * dt`, so a far target (a new chunk, a late chunk, a clamped target)
//! is approached smoothly and never jumped to. Braking decelerates the position at
//! `max_decel_m_s2` along its current velocity until it stops; rotation and gripper stay
//! where they are. The result always lies in the workspace box and gripper range.

use crate::mcu::acceptance::clamp_to_limits;
use crate::protocol::{norm3, ArmLimits, ArmPose};

/// Moves `current` towards `target` within the per-tick limits for a tick of `dt_s` seconds.
/// Returns the new setpoint and whether any limit cut the motion short.
pub fn step_towards(
    current: &ArmPose,
    target: &ArmPose,
    dt_s: f32,
    limits: &ArmLimits,
) -> (ArmPose, bool) {
    let dt_s = dt_s.max(0.0);
    let mut limited = false;
    let mut next = *current;

    let max_move = limits.max_step_m.min(limits.max_speed_m_s * dt_s);
    let delta = sub3(target.xyz, current.xyz);
    let distance = norm3(delta);
    let scale = if distance > max_move {
        limited = true;
        if distance > 0.0 {
            max_move / distance
        } else {
            0.0
        }
    } else {
        1.0
    };
    next.xyz = core::array::from_fn(|axis| current.xyz[axis] + delta[axis] * scale);

    for (i, n) in next.rot6d.iter_mut().enumerate() {
        let d = target.rot6d[i] - current.rot6d[i];
        let clamped = d.clamp(-limits.max_rot6d_step, limits.max_rot6d_step);
        limited |= clamped != d;
        *n = current.rot6d[i] + clamped;
    }
    let rotated = next.orthonormalized().unwrap_or(ArmPose { rot6d: current.rot6d, ..next });

    let max_grip = limits.max_gripper_speed * dt_s;
    let dg = target.gripper - current.gripper;
    let clamped_dg = dg.clamp(-max_grip, max_grip);
    limited |= clamped_dg != dg;
    let gripped = ArmPose { gripper: current.gripper + clamped_dg, ..rotated };

    let (bounded, _) = clamp_to_limits(&gripped, limits);
    (bounded, limited)
}

/// One braking tick: decelerates `velocity` (metres per second) by `max_decel_m_s2 * dt`,
/// moves the position accordingly (never more than one tick's step) and returns the new
/// setpoint and velocity. Velocity components that hit the workspace boundary are zeroed.
pub fn brake(
    current: &ArmPose,
    velocity: [f32; 3],
    dt_s: f32,
    limits: &ArmLimits,
) -> (ArmPose, [f32; 3]) {
    let dt_s = dt_s.max(0.0);
    let speed = norm3(velocity);
    let slower = (speed - limits.max_decel_m_s2 * dt_s).clamp(0.0, limits.max_speed_m_s);
    let ratio = if speed > 0.0 && speed.is_finite() { slower / speed } else { 0.0 };
    let mut v = [velocity[0] * ratio, velocity[1] * ratio, velocity[2] * ratio];
    let step = norm3(v) * dt_s;
    let step_ratio =
        if step > limits.max_step_m && step > 0.0 { limits.max_step_m / step } else { 1.0 };
    let next = ArmPose {
        xyz: core::array::from_fn(|axis| current.xyz[axis] + v[axis] * dt_s * step_ratio),
        ..*current
    };
    let (bounded, _) = clamp_to_limits(&next, limits);
    for ((v, stopped), free) in v.iter_mut().zip(bounded.xyz).zip(next.xyz) {
        if stopped != free {
            *v = 0.0;
        }
    }
    (bounded, v)
}

/// `a - b` for 3-vectors.
fn sub3(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[cfg(test)]
mod tests {
    use super::*;

    const DT: f32 = 0.002;

    #[test]
    fn small_moves_reach_the_target() {
        let limits = ArmLimits::default();
        let a = ArmPose::at([0.1, 0.1, 0.1], 0.5);
        let b = ArmPose::at([0.1005, 0.1, 0.1], 0.5);
        assert_eq!(step_towards(&a, &b, DT, &limits), (b, false));
    }

    #[test]
    fn far_targets_are_approached_at_the_step_limit() {
        let limits = ArmLimits::default();
        let a = ArmPose::at([0.0, 0.0, 0.1], 0.0);
        let b = ArmPose::at([0.5, 0.0, 0.1], 1.0);
        let (next, limited) = step_towards(&a, &b, DT, &limits);
        assert!(limited);
        assert!((next.xyz[0] - 0.001).abs() < 1e-7, "speed limit 0.5 m/s * 2 ms = 1 mm");
        assert!((next.gripper - 0.004).abs() < 1e-7);
        let (long_tick, _) = step_towards(&a, &b, 1.0, &limits);
        assert!((long_tick.xyz[0] - limits.max_step_m).abs() < 1e-7, "step cap bounds long ticks");
    }

    #[test]
    fn braking_slows_down_and_stops() {
        let limits = ArmLimits::default();
        let mut pose = ArmPose::at([0.0, 0.0, 0.1], 0.0);
        let mut v = [0.5, 0.0, 0.0];
        let mut last_step = f32::INFINITY;
        for _ in 0..60 {
            let (next, nv) = brake(&pose, v, DT, &limits);
            let step = next.xyz[0] - pose.xyz[0];
            assert!(step >= 0.0 && step <= last_step, "never speeds up, never reverses");
            last_step = step;
            pose = next;
            v = nv;
        }
        assert_eq!(v, [0.0; 3], "0.5 m/s at 5 m/s^2 stops within 0.1 s");
        assert!(pose.xyz[0] < 0.026, "braking distance v^2/2a = 25 mm");
    }

    #[test]
    fn braking_stops_at_the_workspace_boundary() {
        let limits = ArmLimits::default();
        let pose = ArmPose::at([0.6, 0.0, 0.1], 0.0);
        let (next, v) = brake(&pose, [0.5, 0.0, 0.0], DT, &limits);
        assert_eq!(next.xyz[0], 0.6);
        assert_eq!(v[0], 0.0);
    }
}

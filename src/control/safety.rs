//! The host-side safety layer: every plan passes through [`SafetyLimits::check`] before it is
//! sent, in addition to the limits and watchdog the arms' firmware enforces.
//!
//! Rules, in order:
//! 1. **Non-finite values** (NaN, infinity) refuse the plan.
//! 2. **Rotations** are orthonormalised: the two 3-vectors of each 6D rotation by
//!    Gram-Schmidt (first column normalised, second made orthogonal to it and normalised), as
//!    upstream's deployment does; a degenerate rotation refuses the plan.
//! 3. **Workspace**: positions are clamped into each arm's box and grippers into their range;
//!    clamped steps are counted, not refused (the arm's firmware clamps the same way).
//! 4. **Start delta**: the first step sent may not be further than `max_start_delta_m` (and
//!    `max_start_rotation_rad`) from the pose the arm measured.
//! 5. **Step deltas**: consecutive steps may not differ by more than `max_step_delta_m`,
//!    `max_step_rotation_rad` or `max_step_gripper`.
//!
//! A refused plan is never sent: the arm keeps executing what it has, or holds.

use firmware_bridge::protocol::{ArmLimits, ArmPose};

use super::config::{ArmConfig, SafetyConfig};
use super::plan::{Plan, Step, ARM_WIDTH};

/// The box and gripper range one arm's targets must stay in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArmBounds {
    /// Lower corner (metres).
    pub workspace_min: [f32; 3],
    /// Upper corner (metres).
    pub workspace_max: [f32; 3],
    /// Smallest gripper value.
    pub gripper_min: f32,
    /// Largest gripper value.
    pub gripper_max: f32,
}

impl ArmBounds {
    /// The configured bounds where given, else those the arm announced; each configured
    /// bound is narrowed to the announced one (the firmware would clamp there anyway).
    pub fn resolve(config: &ArmConfig, announced: &ArmLimits) -> Self {
        let mut lo = config.workspace_min.unwrap_or(announced.workspace_min);
        let mut hi = config.workspace_max.unwrap_or(announced.workspace_max);
        for axis in 0..3 {
            lo[axis] = lo[axis].max(announced.workspace_min[axis]);
            hi[axis] = hi[axis].min(announced.workspace_max[axis]).max(lo[axis]);
        }
        let gripper_min =
            config.gripper_min.unwrap_or(announced.gripper_min).max(announced.gripper_min);
        let gripper_max = config
            .gripper_max
            .unwrap_or(announced.gripper_max)
            .min(announced.gripper_max)
            .max(gripper_min);
        Self { workspace_min: lo, workspace_max: hi, gripper_min, gripper_max }
    }
}

/// Every limit of the safety layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SafetyLimits {
    /// Left and right arm bounds.
    pub arms: [ArmBounds; 2],
    /// Largest position change between consecutive steps (metres).
    pub max_step_delta_m: f32,
    /// Largest rotation between consecutive steps (radians).
    pub max_step_rotation_rad: f32,
    /// Largest gripper change between consecutive steps.
    pub max_step_gripper: f32,
    /// Largest distance from the measured position to the first step (metres).
    pub max_start_delta_m: f32,
    /// Largest rotation from the measured orientation to the first step (radians).
    pub max_start_rotation_rad: f32,
}

impl SafetyLimits {
    /// Limits from the `[safety]` section and each arm's resolved bounds.
    pub fn new(config: &SafetyConfig, arms: [ArmBounds; 2]) -> Self {
        Self {
            arms,
            max_step_delta_m: config.max_step_delta_m,
            max_step_rotation_rad: config.max_step_rotation_rad,
            max_step_gripper: config.max_step_gripper,
            max_start_delta_m: config.max_start_delta_m,
            max_start_rotation_rad: config.max_start_rotation_rad,
        }
    }
}

/// Why a plan was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Violation {
    /// A value is NaN or infinite.
    #[error("step {step} value {index} is not finite ({value})")]
    NonFinite {
        /// Step index in the plan.
        step: usize,
        /// Value index in the step.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A 6D rotation has a zero column or parallel columns.
    #[error("{arm} arm step {step}: degenerate 6D rotation")]
    DegenerateRotation {
        /// `left` or `right`.
        arm: &'static str,
        /// Step index.
        step: usize,
    },
    /// The first step is too far from the measured pose.
    #[error("{arm} arm: first step is {amount:.4} {unit} from the measured pose (limit {limit})")]
    StartDelta {
        /// `left` or `right`.
        arm: &'static str,
        /// How far.
        amount: f32,
        /// The limit.
        limit: f32,
        /// `m` or `rad`.
        unit: &'static str,
    },
    /// Two consecutive steps are too far apart.
    #[error("{arm} arm: steps {step} and {next} differ by {amount:.4} {unit} (limit {limit})", next = step + 1)]
    StepDelta {
        /// `left` or `right`.
        arm: &'static str,
        /// Index of the first of the two steps.
        step: usize,
        /// How far.
        amount: f32,
        /// The limit.
        limit: f32,
        /// `m`, `rad` or `gripper`.
        unit: &'static str,
    },
}

/// A plan that passed, with what was changed on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    /// The plan as it may be sent: rotations orthonormal, everything inside the bounds.
    pub plan: Plan,
    /// Steps in which some target was clamped into the workspace or gripper range.
    pub clamped_steps: usize,
}

/// Arm names in step order.
const ARMS: [&str; 2] = ["left", "right"];

/// One arm's half of a step.
fn arm_pose(step: &Step, arm: usize) -> ArmPose {
    let mut values = [0.0; ARM_WIDTH];
    values.copy_from_slice(&step[arm * ARM_WIDTH..(arm + 1) * ARM_WIDTH]);
    ArmPose::from_array(values)
}

/// Writes one arm's half of a step.
fn set_arm_pose(step: &mut Step, arm: usize, pose: &ArmPose) {
    step[arm * ARM_WIDTH..(arm + 1) * ARM_WIDTH].copy_from_slice(&pose.to_array());
}

/// Euclidean distance of two positions.
fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
}

/// The rotation matrix columns `(a, b, a × b)` of an orthonormal 6D rotation.
fn matrix(r: &[f32; 6]) -> [[f32; 3]; 3] {
    let a = [r[0], r[1], r[2]];
    let b = [r[3], r[4], r[5]];
    let c = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
    [a, b, c]
}

/// The angle of the rotation between two orthonormal 6D rotations (radians).
pub fn rotation_angle(r1: &[f32; 6], r2: &[f32; 6]) -> f32 {
    let (m1, m2) = (matrix(r1), matrix(r2));
    // trace(R1ᵀ R2) is the sum of the dot products of corresponding columns.
    let trace: f32 = m1.iter().zip(&m2).map(|(x, y)| x[0] * y[0] + x[1] * y[1] + x[2] * y[2]).sum();
    ((trace - 1.0) / 2.0).clamp(-1.0, 1.0).acos()
}

impl SafetyLimits {
    /// Applies every rule to `plan` given each arm's measured pose (see the module
    /// documentation).
    pub fn check(&self, mut plan: Plan, measured: &[ArmPose; 2]) -> Result<Checked, Violation> {
        for (step, values) in plan.steps.iter().enumerate() {
            if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(Violation::NonFinite { step, index, value });
            }
        }
        let mut clamped_steps = 0;
        for (i, step) in plan.steps.iter_mut().enumerate() {
            let mut clamped = false;
            for (arm, bounds) in self.arms.iter().enumerate() {
                let pose = arm_pose(step, arm)
                    .orthonormalized()
                    .ok_or(Violation::DegenerateRotation { arm: ARMS[arm], step: i })?;
                let (pose, arm_clamped) = clamp(pose, bounds);
                clamped |= arm_clamped;
                set_arm_pose(step, arm, &pose);
            }
            clamped_steps += usize::from(clamped);
        }
        for (arm, name) in ARMS.iter().enumerate() {
            let Some(first) = plan.steps.first().map(|s| arm_pose(s, arm)) else { continue };
            let reference = measured[arm].orthonormalized().unwrap_or(measured[arm]);
            let moved = distance(first.xyz, reference.xyz);
            if moved.is_nan() || moved > self.max_start_delta_m {
                return Err(Violation::StartDelta {
                    arm: name,
                    amount: moved,
                    limit: self.max_start_delta_m,
                    unit: "m",
                });
            }
            let turned = rotation_angle(&first.rot6d, &reference.rot6d);
            if turned.is_nan() || turned > self.max_start_rotation_rad {
                return Err(Violation::StartDelta {
                    arm: name,
                    amount: turned,
                    limit: self.max_start_rotation_rad,
                    unit: "rad",
                });
            }
            for (step, pair) in plan.steps.windows(2).enumerate() {
                let (a, b) = (arm_pose(&pair[0], arm), arm_pose(&pair[1], arm));
                let checks = [
                    (distance(a.xyz, b.xyz), self.max_step_delta_m, "m"),
                    (rotation_angle(&a.rot6d, &b.rot6d), self.max_step_rotation_rad, "rad"),
                    ((a.gripper - b.gripper).abs(), self.max_step_gripper, "gripper"),
                ];
                for (amount, limit, unit) in checks {
                    if amount.is_nan() || amount > limit {
                        return Err(Violation::StepDelta { arm: name, step, amount, limit, unit });
                    }
                }
            }
        }
        Ok(Checked { plan, clamped_steps })
    }
}

/// Clamps a pose into `bounds`; true when anything changed.
fn clamp(mut pose: ArmPose, bounds: &ArmBounds) -> (ArmPose, bool) {
    let mut changed = false;
    for axis in 0..3 {
        let v = pose.xyz[axis].clamp(bounds.workspace_min[axis], bounds.workspace_max[axis]);
        changed |= v != pose.xyz[axis];
        pose.xyz[axis] = v;
    }
    let g = pose.gripper.clamp(bounds.gripper_min, bounds.gripper_max);
    changed |= g != pose.gripper;
    pose.gripper = g;
    (pose, changed)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    const IDENTITY: [f32; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

    fn bounds() -> ArmBounds {
        ArmBounds {
            workspace_min: [-0.5, -0.5, 0.0],
            workspace_max: [0.5, 0.5, 0.8],
            gripper_min: 0.0,
            gripper_max: 1.0,
        }
    }

    fn limits() -> SafetyLimits {
        SafetyLimits {
            arms: [bounds(), bounds()],
            max_step_delta_m: 0.05,
            max_step_rotation_rad: 0.2,
            max_step_gripper: 0.3,
            max_start_delta_m: 0.1,
            max_start_rotation_rad: 0.3,
        }
    }

    fn pose(x: f32) -> ArmPose {
        ArmPose::at([x, 0.0, 0.3], 0.5)
    }

    fn step(left: ArmPose, right: ArmPose) -> Step {
        let mut s = [0.0; 20];
        set_arm_pose(&mut s, 0, &left);
        set_arm_pose(&mut s, 1, &right);
        s
    }

    fn plan(steps: Vec<Step>) -> Plan {
        Plan { start: Instant::now(), period: Duration::from_millis(50), steps }
    }

    fn measured() -> [ArmPose; 2] {
        [pose(0.0), pose(0.0)]
    }

    #[test]
    fn a_gentle_plan_passes_unchanged() {
        let p = plan(vec![step(pose(0.0), pose(0.0)), step(pose(0.02), pose(0.01))]);
        let checked = limits().check(p.clone(), &measured()).expect("passes");
        assert_eq!(checked, Checked { plan: p, clamped_steps: 0 });
    }

    #[test]
    fn non_finite_values_are_refused() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut s = step(pose(0.0), pose(0.0));
            s[13] = bad;
            let err = limits().check(plan(vec![s]), &measured()).expect_err("refused");
            assert!(matches!(err, Violation::NonFinite { step: 0, index: 13, .. }), "{err}");
        }
    }

    #[test]
    fn rotations_are_orthonormalised_by_gram_schmidt() {
        let mut skewed = pose(0.0);
        skewed.rot6d = [2.0, 0.0, 0.0, 0.5, 3.0, 0.0];
        let checked = limits().check(plan(vec![step(skewed, pose(0.0))]), &measured()).expect("ok");
        assert_eq!(arm_pose(&checked.plan.steps[0], 0).rot6d, IDENTITY);
        // A general skewed rotation comes out orthonormal with the first column's direction.
        let mut general = pose(0.0);
        general.rot6d = [0.3, 0.4, 0.0, 0.1, 0.2, 0.9];
        let limits = SafetyLimits { max_start_rotation_rad: 4.0, ..limits() };
        let checked = limits.check(plan(vec![step(general, pose(0.0))]), &measured()).expect("ok");
        let r = arm_pose(&checked.plan.steps[0], 0).rot6d;
        let (a, b) = ([r[0], r[1], r[2]], [r[3], r[4], r[5]]);
        let dot = |x: [f32; 3], y: [f32; 3]| x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
        assert!((dot(a, a) - 1.0).abs() < 1e-6 && (dot(b, b) - 1.0).abs() < 1e-6);
        assert!(dot(a, b).abs() < 1e-6);
        assert!((a[0] - 0.6).abs() < 1e-6 && (a[1] - 0.8).abs() < 1e-6);
    }

    #[test]
    fn degenerate_rotations_are_refused() {
        let mut flat = pose(0.0);
        flat.rot6d = [1.0, 0.0, 0.0, 2.0, 0.0, 0.0];
        let err = limits().check(plan(vec![step(pose(0.0), flat)]), &measured()).expect_err("no");
        assert_eq!(err, Violation::DegenerateRotation { arm: "right", step: 0 });
    }

    #[test]
    fn targets_are_clamped_into_the_workspace_and_counted() {
        let mut outside = ArmPose::at([0.55, 0.0, -0.01], 1.2);
        let limits = SafetyLimits { max_start_delta_m: 1.0, ..limits() };
        let measured = [ArmPose::at([0.5, 0.0, 0.0], 1.0), pose(0.0)];
        let checked = limits
            .check(
                plan(vec![
                    step(outside, pose(0.0)),
                    step(ArmPose::at([0.49, 0.0, 0.0], 1.0), pose(0.0)),
                ]),
                &measured,
            )
            .expect("clamped, not refused");
        outside = arm_pose(&checked.plan.steps[0], 0);
        assert_eq!(outside.xyz, [0.5, 0.0, 0.0]);
        assert_eq!(outside.gripper, 1.0);
        assert_eq!(checked.clamped_steps, 1);
    }

    #[test]
    fn the_first_step_must_be_near_the_measured_pose() {
        let far = plan(vec![step(pose(0.0), pose(0.2))]);
        let err = limits().check(far, &measured()).expect_err("too far");
        assert!(matches!(err, Violation::StartDelta { arm: "right", unit: "m", .. }), "{err}");
        let mut turned = pose(0.0);
        turned.rot6d = [0.0, 1.0, 0.0, -1.0, 0.0, 0.0];
        let err = limits().check(plan(vec![step(turned, pose(0.0))]), &measured()).expect_err("");
        assert!(matches!(err, Violation::StartDelta { arm: "left", unit: "rad", .. }), "{err}");
    }

    #[test]
    fn consecutive_steps_may_not_jump() {
        let jump = plan(vec![step(pose(0.0), pose(0.0)), step(pose(0.06), pose(0.0))]);
        let err = limits().check(jump, &measured()).expect_err("jump");
        assert!(matches!(err, Violation::StepDelta { arm: "left", step: 0, unit: "m", .. }));
        let mut grip = pose(0.0);
        grip.gripper = 0.9;
        let snap = plan(vec![step(pose(0.0), pose(0.0)), step(pose(0.0), grip)]);
        let err = limits().check(snap, &measured()).expect_err("gripper");
        assert!(matches!(err, Violation::StepDelta { arm: "right", unit: "gripper", .. }));
        let mut twist = pose(0.0);
        let angle = 0.25f32;
        twist.rot6d = [angle.cos(), angle.sin(), 0.0, -angle.sin(), angle.cos(), 0.0];
        let spin = plan(vec![step(pose(0.0), pose(0.0)), step(twist, pose(0.0))]);
        let err = limits().check(spin, &measured()).expect_err("rotation");
        match err {
            Violation::StepDelta { unit: "rad", amount, .. } => {
                assert!((amount - angle).abs() < 1e-4, "{amount}")
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn bounds_default_to_the_arms_and_never_exceed_them() {
        let announced = ArmLimits::default();
        let mut config = ArmConfig::serial("/dev/null");
        let b = ArmBounds::resolve(&config, &announced);
        assert_eq!(
            (b.workspace_min, b.workspace_max),
            (announced.workspace_min, announced.workspace_max)
        );
        config.workspace_min = Some([-5.0, -0.1, 0.1]);
        config.workspace_max = Some([5.0, 0.1, 0.2]);
        config.gripper_min = Some(0.2);
        config.gripper_max = Some(9.0);
        let b = ArmBounds::resolve(&config, &announced);
        assert_eq!(b.workspace_min, [announced.workspace_min[0], -0.1, 0.1]);
        assert_eq!(b.workspace_max, [announced.workspace_max[0], 0.1, 0.2]);
        assert_eq!((b.gripper_min, b.gripper_max), (0.2, announced.gripper_max));
    }
}

//! The end-effector target or measurement of one arm: position, 6D rotation and gripper.
//!
//! This is the per-arm half of the policy's action vector (`xyz(3), rot6d(6), gripper(1)`).
//! The 6D rotation is the first two columns of the rotation matrix, column-major
//! (`[r00, r10, r20, r01, r11, r21]`); [`ArmPose::orthonormalized`] turns any non-degenerate
//! 6D vector into a valid one by Gram-Schmidt.

use postcard_schema::Schema;
use serde::{Deserialize, Serialize};

/// Number of `f32` values in one [`ArmPose`] on the wire.
pub const POSE_LEN: usize = 10;

/// Smallest column norm [`ArmPose::orthonormalized`] accepts before calling a rotation degenerate.
const MIN_COLUMN_NORM: f32 = 1e-6;

/// End-effector pose plus gripper opening of one arm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Schema)]
pub struct ArmPose {
    /// Position in metres, in the arm's base frame.
    pub xyz: [f32; 3],
    /// First two rotation-matrix columns, column-major.
    pub rot6d: [f32; 6],
    /// Gripper opening in the arm's units (see the arm's limits for its range).
    pub gripper: f32,
}

impl ArmPose {
    /// The identity orientation at `xyz` with the given gripper opening.
    pub const fn at(xyz: [f32; 3], gripper: f32) -> Self {
        Self { xyz, rot6d: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], gripper }
    }

    /// Builds a pose from the policy's 10-value layout `xyz(3), rot6d(6), gripper(1)`.
    pub const fn from_array(v: [f32; POSE_LEN]) -> Self {
        Self { xyz: [v[0], v[1], v[2]], rot6d: [v[3], v[4], v[5], v[6], v[7], v[8]], gripper: v[9] }
    }

    /// The policy's 10-value layout `xyz(3), rot6d(6), gripper(1)`.
    pub const fn to_array(&self) -> [f32; POSE_LEN] {
        let [x, y, z] = self.xyz;
        let [a, b, c, d, e, f] = self.rot6d;
        [x, y, z, a, b, c, d, e, f, self.gripper]
    }

    /// True when every component is finite (no NaN, no infinity).
    pub fn is_finite(&self) -> bool {
        self.to_array().iter().all(|v| v.is_finite())
    }

    /// Linear interpolation `self + (other - self) * t`, with the rotation re-orthonormalized.
    ///
    /// Returns `None` when the interpolated rotation is degenerate.
    pub fn lerp(&self, other: &ArmPose, t: f32) -> Option<ArmPose> {
        let a = self.to_array();
        let b = other.to_array();
        let mut out = [0.0; POSE_LEN];
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = x + (y - x) * t;
        }
        ArmPose::from_array(out).orthonormalized()
    }

    /// The same pose with its 6D rotation made orthonormal by Gram-Schmidt.
    ///
    /// Returns `None` when a column is (nearly) zero, or the two columns are (nearly)
    /// parallel, or any value is not finite.
    pub fn orthonormalized(&self) -> Option<ArmPose> {
        let [a0, a1, a2, b0, b1, b2] = self.rot6d;
        let a = normalize([a0, a1, a2])?;
        let d = dot(a, [b0, b1, b2]);
        let b = normalize([b0 - d * a[0], b1 - d * a[1], b2 - d * a[2]])?;
        Some(ArmPose { rot6d: [a[0], a[1], a[2], b[0], b[1], b[2]], ..*self })
    }
}

/// Dot product of two 3-vectors.
fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Euclidean norm of a 3-vector.
pub(crate) fn norm3(v: [f32; 3]) -> f32 {
    libm::sqrtf(dot(v, v))
}

/// `v / |v|`, or `None` for a (nearly) zero or non-finite vector.
fn normalize(v: [f32; 3]) -> Option<[f32; 3]> {
    let n = norm3(v);
    if !n.is_finite() || n < MIN_COLUMN_NORM {
        return None;
    }
    Some([v[0] / n, v[1] / n, v[2] / n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_layout_round_trips() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(ArmPose::from_array(v).to_array(), v);
    }

    #[test]
    fn orthonormalized_fixes_scaled_and_skewed_columns() {
        let p = ArmPose { rot6d: [2.0, 0.0, 0.0, 1.0, 3.0, 0.0], ..ArmPose::at([0.0; 3], 0.0) };
        let q = p.orthonormalized().expect("non-degenerate");
        assert_eq!(q.rot6d, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn orthonormalized_rejects_degenerate_rotations() {
        let zero = ArmPose { rot6d: [0.0; 6], ..ArmPose::at([0.0; 3], 0.0) };
        assert!(zero.orthonormalized().is_none());
        let parallel =
            ArmPose { rot6d: [1.0, 0.0, 0.0, 2.0, 0.0, 0.0], ..ArmPose::at([0.0; 3], 0.0) };
        assert!(parallel.orthonormalized().is_none());
        let nan = ArmPose { rot6d: [f32::NAN; 6], ..ArmPose::at([0.0; 3], 0.0) };
        assert!(nan.orthonormalized().is_none());
    }

    #[test]
    fn lerp_halfway_between_positions() {
        let a = ArmPose::at([0.0, 0.0, 0.0], 0.0);
        let b = ArmPose::at([1.0, 2.0, 4.0], 1.0);
        let m = a.lerp(&b, 0.5).expect("valid rotation");
        assert_eq!(m.xyz, [0.5, 1.0, 2.0]);
        assert_eq!(m.gripper, 0.5);
    }
}

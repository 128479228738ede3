//! Checking a received chunk against the arm's limits before it may be executed.
//!
//! A chunk with any NaN or infinite value, or a degenerate rotation, is refused whole: there
//! is no safe way to repair it. Finite targets outside the workspace box or the gripper range
//! are clamped into it (and the clamp is reported), rotations are re-orthonormalized.

use crate::protocol::{AckCode, ActionChunk, ArmLimits, ArmPose};

/// Clamps a finite pose into the workspace box and gripper range; returns the clamped pose
/// and whether anything changed.
pub fn clamp_to_limits(pose: &ArmPose, limits: &ArmLimits) -> (ArmPose, bool) {
    let mut out = *pose;
    for axis in 0..3 {
        out.xyz[axis] =
            pose.xyz[axis].clamp(limits.workspace_min[axis], limits.workspace_max[axis]);
    }
    out.gripper = pose.gripper.clamp(limits.gripper_min, limits.gripper_max);
    let changed = out.xyz != pose.xyz || out.gripper != pose.gripper;
    (out, changed)
}

/// Validates a chunk at `now_us`: shape, finiteness, timing; clamps and orthonormalizes its
/// targets. Returns the chunk to execute and the acknowledgement code (`Ok` or `Clamped`),
/// or the code of the refusal.
pub fn accept_chunk(
    chunk: &ActionChunk,
    limits: &ArmLimits,
    now_us: u64,
) -> Result<(ActionChunk, AckCode), AckCode> {
    let steps = chunk.steps.len();
    if steps == 0 || chunk.step_period_us == 0 {
        return Err(AckCode::InvalidChunk);
    }
    if !chunk.steps.iter().all(ArmPose::is_finite) {
        return Err(AckCode::NonFinite);
    }
    let span = u64::from(chunk.step_period_us) * (steps as u64 - 1);
    let end_us = chunk.start_time_us.checked_add(span).ok_or(AckCode::InvalidChunk)?;
    if end_us < now_us {
        return Err(AckCode::Stale);
    }
    let mut accepted = chunk.clone();
    let mut clamped = false;
    for step in accepted.steps.iter_mut() {
        let rotated = step.orthonormalized().ok_or(AckCode::NonFinite)?;
        let (limited, changed) = clamp_to_limits(&rotated, limits);
        clamped |= changed;
        *step = limited;
    }
    Ok((accepted, if clamped { AckCode::Clamped } else { AckCode::Ok }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(poses: &[ArmPose]) -> ActionChunk {
        ActionChunk::new(1, 1_000, 10_000, poses).expect("valid shape")
    }

    #[test]
    fn in_range_chunks_are_accepted_unchanged() {
        let c = chunk(&[ArmPose::at([0.1, 0.2, 0.3], 0.5)]);
        assert_eq!(accept_chunk(&c, &ArmLimits::default(), 0), Ok((c, AckCode::Ok)));
    }

    #[test]
    fn out_of_range_targets_are_clamped() {
        let limits = ArmLimits::default();
        let c = chunk(&[ArmPose::at([5.0, -5.0, 0.3], 7.0)]);
        let (accepted, code) = accept_chunk(&c, &limits, 0).expect("accepted");
        assert_eq!(code, AckCode::Clamped);
        assert_eq!(accepted.steps[0].xyz, [0.6, -0.6, 0.3]);
        assert_eq!(accepted.steps[0].gripper, 1.0);
    }

    #[test]
    fn nan_and_infinite_targets_are_refused() {
        let limits = ArmLimits::default();
        let mut p = ArmPose::at([0.1, 0.2, 0.3], 0.5);
        p.xyz[1] = f32::NAN;
        assert_eq!(accept_chunk(&chunk(&[p]), &limits, 0), Err(AckCode::NonFinite));
        p.xyz[1] = 0.0;
        p.gripper = f32::INFINITY;
        assert_eq!(accept_chunk(&chunk(&[p]), &limits, 0), Err(AckCode::NonFinite));
        let degenerate = ArmPose { rot6d: [0.0; 6], ..ArmPose::at([0.0; 3], 0.0) };
        assert_eq!(accept_chunk(&chunk(&[degenerate]), &limits, 0), Err(AckCode::NonFinite));
    }

    #[test]
    fn chunks_entirely_in_the_past_are_stale() {
        let p = ArmPose::at([0.1, 0.2, 0.3], 0.5);
        let c = chunk(&[p, p]);
        assert!(accept_chunk(&c, &ArmLimits::default(), 11_000).is_ok());
        assert_eq!(accept_chunk(&c, &ArmLimits::default(), 11_001), Err(AckCode::Stale));
    }
}

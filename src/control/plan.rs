//! A plan: action steps for both arms on a regular time grid, the unit the chunk executor
//! builds, the safety layer checks and the arms receive.
//!
//! Each step is `[left arm | right arm]`, each arm `xyz(3), rot6d(6), gripper(1)`, as the
//! policy outputs them. Between steps a plan is interpolated linearly (as the arm's firmware
//! does).

use std::time::{Duration, Instant};

/// Values per arm in a step: `xyz(3), rot6d(6), gripper(1)`.
pub const ARM_WIDTH: usize = 10;

/// Values per step: left arm then right arm.
pub const STEP_WIDTH: usize = 2 * ARM_WIDTH;

/// One action step for both arms.
pub type Step = [f32; STEP_WIDTH];

/// Steps `period` apart, the first at `start`.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Time of step 0.
    pub start: Instant,
    /// Time between steps (never zero).
    pub period: Duration,
    /// The steps (never empty).
    pub steps: Vec<Step>,
}

impl Plan {
    /// The time of step `i`.
    pub fn time_of(&self, i: usize) -> Instant {
        self.start + self.period.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX))
    }

    /// The time of the last step.
    pub fn end(&self) -> Instant {
        self.time_of(self.steps.len().saturating_sub(1))
    }

    /// Index of the first step at or after `now` (`steps.len()` when all are past).
    pub fn first_index_from(&self, now: Instant) -> usize {
        if now <= self.start {
            return 0;
        }
        let elapsed = now.duration_since(self.start).as_nanos();
        let period = self.period.as_nanos().max(1);
        let index = elapsed.div_ceil(period);
        usize::try_from(index).unwrap_or(usize::MAX).min(self.steps.len())
    }

    /// Steps at or after `now`.
    pub fn remaining(&self, now: Instant) -> usize {
        self.steps.len() - self.first_index_from(now)
    }

    /// The plan from `now` on, at most `max_steps` steps; `None` when no step is left.
    pub fn from(&self, now: Instant, max_steps: usize) -> Option<Plan> {
        let first = self.first_index_from(now);
        let last = self.steps.len().min(first.saturating_add(max_steps));
        let steps = self.steps.get(first..last)?.to_vec();
        (!steps.is_empty()).then(|| Plan { start: self.time_of(first), period: self.period, steps })
    }

    /// The linear interpolation of the plan at `t`, or `None` outside `[start, end]`.
    pub fn sample(&self, t: Instant) -> Option<Step> {
        if t < self.start || t > self.end() {
            return None;
        }
        let offset = t.duration_since(self.start).as_secs_f64() / self.period.as_secs_f64();
        let below = (offset.floor() as usize).min(self.steps.len() - 1);
        let above = (below + 1).min(self.steps.len() - 1);
        let frac = (offset - below as f64).clamp(0.0, 1.0) as f32;
        let (a, b) = (self.steps.get(below)?, self.steps.get(above)?);
        let mut out = [0.0; STEP_WIDTH];
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = x + (y - x) * frac;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(start: Instant, values: &[f32]) -> Plan {
        Plan {
            start,
            period: Duration::from_millis(100),
            steps: values.iter().map(|&v| [v; STEP_WIDTH]).collect(),
        }
    }

    #[test]
    fn indexes_and_remaining_steps_follow_time() {
        let t0 = Instant::now();
        let p = plan(t0, &[0.0, 1.0, 2.0, 3.0]);
        assert_eq!(p.first_index_from(t0), 0);
        assert_eq!(p.first_index_from(t0 + Duration::from_millis(1)), 1);
        assert_eq!(p.first_index_from(t0 + Duration::from_millis(100)), 1);
        assert_eq!(p.remaining(t0 + Duration::from_millis(250)), 1);
        assert_eq!(p.remaining(t0 + Duration::from_secs(1)), 0);
        assert_eq!(p.end(), t0 + Duration::from_millis(300));
    }

    #[test]
    fn sampling_interpolates_linearly_inside_and_refuses_outside() {
        let t0 = Instant::now();
        let p = plan(t0, &[0.0, 1.0, 3.0]);
        assert_eq!(p.sample(t0 + Duration::from_millis(150)).map(|s| s[0]), Some(2.0));
        assert_eq!(p.sample(t0 + Duration::from_millis(200)).map(|s| s[5]), Some(3.0));
        assert_eq!(p.sample(t0 + Duration::from_millis(201)), None);
    }

    #[test]
    fn from_drops_past_steps_and_caps_the_length() {
        let t0 = Instant::now();
        let p = plan(t0, &[0.0, 1.0, 2.0, 3.0, 4.0]);
        let rest = p.from(t0 + Duration::from_millis(150), 2).expect("steps left");
        assert_eq!(rest.start, t0 + Duration::from_millis(200));
        assert_eq!(rest.steps.iter().map(|s| s[0]).collect::<Vec<_>>(), vec![2.0, 3.0]);
        assert_eq!(p.from(t0 + Duration::from_secs(9), 2), None);
    }
}

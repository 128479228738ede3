//! The chunk executor: turns each chunk the policy returns into the plan the arms follow.
//!
//! A chunk's step `i` is the target for `observed_at + i · step_period`, where `observed_at`
//! is when its observation was taken; by the time the chunk arrives the first steps are
//! already in the past and are dropped. The remaining steps are blended with what is left of
//! the current plan ([`Blend`]), sampled at the new steps' times, so that consecutive chunks
//! join without a jump. The executor asks for the next inference when fewer than
//! `trigger_remaining_steps` planned steps remain.
//!
//! The executor only proposes: the control loop passes a proposal through the safety layer
//! and [`ChunkExecutor::commit`]s it only if it passes, so a refused chunk leaves the current
//! plan untouched. Every method takes the current time as an argument (no clock inside), which
//! is what the unit tests inject.

use std::time::{Duration, Instant};

use super::blend::Blend;
use super::plan::{Plan, Step};

/// How the executor aligns, blends and triggers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExecutorConfig {
    /// Time between the policy's action steps (not zero).
    pub step_period: Duration,
    /// Ask for the next chunk when fewer planned steps than this remain.
    pub trigger_remaining_steps: usize,
    /// How a new chunk is blended into the current plan.
    pub blend: Blend,
}

/// The plan being executed and the rules that change it. See the module documentation.
#[derive(Debug)]
pub struct ChunkExecutor {
    config: ExecutorConfig,
    plan: Option<Plan>,
    revision: u64,
}

impl ChunkExecutor {
    /// An executor with no plan.
    pub fn new(config: ExecutorConfig) -> Self {
        Self { config, plan: None, revision: 0 }
    }

    /// The plan from a chunk observed at `observed_at`, as it stands at `now`: steps in the
    /// past dropped, the rest blended with the current plan. `None` when every step of the
    /// chunk is already in the past.
    pub fn propose(&self, chunk: &[Step], observed_at: Instant, now: Instant) -> Option<Plan> {
        let aligned =
            Plan { start: observed_at, period: self.config.step_period, steps: chunk.to_vec() };
        let mut fresh = aligned.from(now, usize::MAX)?;
        if let Some(current) = &self.plan {
            for (k, step) in fresh.steps.iter_mut().enumerate() {
                let t = fresh.start + self.config.step_period.saturating_mul(k as u32);
                if let Some(old) = current.sample(t) {
                    let w = self.config.blend.weight(k);
                    for (value, previous) in step.iter_mut().zip(old) {
                        *value = previous + w * (*value - previous);
                    }
                }
            }
        }
        Some(fresh)
    }

    /// Makes `plan` the current plan.
    pub fn commit(&mut self, plan: Plan) {
        self.plan = Some(plan);
        self.revision += 1;
    }

    /// Forgets the current plan (the arms are told to hold, so it no longer describes them).
    pub fn clear(&mut self) {
        if self.plan.take().is_some() {
            self.revision += 1;
        }
    }

    /// The current plan.
    pub fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()
    }

    /// Counts every change of the plan (commit or clear), so a sender can tell whether it has
    /// sent the latest one.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Planned steps at or after `now`.
    pub fn remaining_steps(&self, now: Instant) -> usize {
        self.plan.as_ref().map_or(0, |p| p.remaining(now))
    }

    /// True when fewer than `trigger_remaining_steps` planned steps remain at `now`.
    pub fn needs_inference(&self, now: Instant) -> bool {
        self.remaining_steps(now) < self.config.trigger_remaining_steps
    }

    /// What to send at `now`: the plan from `now` on, at most `max_steps` steps.
    pub fn outgoing(&self, now: Instant, max_steps: usize) -> Option<Plan> {
        self.plan.as_ref()?.from(now, max_steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_millis(100);

    fn executor(blend: Blend, trigger: usize) -> ChunkExecutor {
        ChunkExecutor::new(ExecutorConfig {
            step_period: PERIOD,
            trigger_remaining_steps: trigger,
            blend,
        })
    }

    fn chunk(values: &[f32]) -> Vec<Step> {
        values.iter().map(|&v| [v; 20]).collect()
    }

    fn firsts(plan: &Plan) -> Vec<f32> {
        plan.steps.iter().map(|s| s[0]).collect()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn aligns_to_the_observation_and_drops_past_steps() {
        let t0 = Instant::now();
        let e = executor(Blend::Replace, 3);
        // Observed at t0, arriving 250 ms later: steps 0, 1 and 2 are past.
        let plan = e.propose(&chunk(&[0.0, 1.0, 2.0, 3.0, 4.0]), t0, t0 + ms(250)).expect("left");
        assert_eq!(plan.start, t0 + ms(300));
        assert_eq!(firsts(&plan), vec![3.0, 4.0]);
        // A step exactly at `now` is kept.
        let plan = e.propose(&chunk(&[0.0, 1.0, 2.0]), t0, t0 + ms(100)).expect("left");
        assert_eq!((plan.start, firsts(&plan)), (t0 + ms(100), vec![1.0, 2.0]));
    }

    #[test]
    fn a_chunk_entirely_in_the_past_proposes_nothing() {
        let t0 = Instant::now();
        let e = executor(Blend::Replace, 3);
        assert_eq!(e.propose(&chunk(&[0.0, 1.0]), t0, t0 + ms(101)), None);
        assert_eq!(e.propose(&[], t0, t0), None);
    }

    #[test]
    fn linear_blend_cross_fades_over_the_overlap() {
        let t0 = Instant::now();
        let mut e = executor(Blend::Linear { steps: 3 }, 3);
        e.commit(Plan { start: t0, period: PERIOD, steps: chunk(&[0.0; 10]) });
        // New chunk of ones observed at t0 + 200 ms, arriving at once.
        let plan = e.propose(&chunk(&[1.0; 10]), t0 + ms(200), t0 + ms(200)).expect("left");
        // Steps at 200..900 ms overlap the old plan (ends at 900 ms); beyond, all new.
        assert_eq!(firsts(&plan), vec![0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn blending_samples_the_old_plan_between_its_steps() {
        let t0 = Instant::now();
        let mut e = executor(Blend::Linear { steps: 1 }, 3);
        e.commit(Plan { start: t0, period: PERIOD, steps: chunk(&[0.0, 10.0, 20.0, 30.0]) });
        // Observed half a step later than the old plan's grid.
        let plan = e.propose(&chunk(&[0.0, 0.0, 0.0]), t0 + ms(50), t0 + ms(50)).expect("left");
        // Old plan at 50 ms is 5.0, weight 1/2 → 2.5; then all new.
        assert_eq!(firsts(&plan), vec![2.5, 0.0, 0.0]);
    }

    #[test]
    fn exponential_blend_keeps_more_of_the_old_plan_early() {
        let t0 = Instant::now();
        let mut e = executor(Blend::Exponential { time_constant: 2.0 }, 3);
        e.commit(Plan { start: t0, period: PERIOD, steps: chunk(&[0.0; 10]) });
        let plan = e.propose(&chunk(&[1.0; 5]), t0, t0).expect("left");
        let w = firsts(&plan);
        for (k, value) in w.iter().enumerate() {
            let expected = 1.0 - (-((k + 1) as f32) / 2.0).exp();
            assert!((value - expected).abs() < 1e-6, "step {k}: {value} vs {expected}");
        }
    }

    #[test]
    fn replace_takes_the_new_chunk_as_is() {
        let t0 = Instant::now();
        let mut e = executor(Blend::Replace, 3);
        e.commit(Plan { start: t0, period: PERIOD, steps: chunk(&[5.0; 10]) });
        let plan = e.propose(&chunk(&[1.0, 2.0]), t0, t0).expect("left");
        assert_eq!(firsts(&plan), vec![1.0, 2.0]);
    }

    #[test]
    fn triggers_below_the_threshold() {
        let t0 = Instant::now();
        let mut e = executor(Blend::Replace, 3);
        assert!(e.needs_inference(t0), "no plan: ask at once");
        e.commit(Plan { start: t0, period: PERIOD, steps: chunk(&[0.0; 6]) });
        // Steps at 0..500 ms; at 250 ms steps 3, 4, 5 remain (3: not below the threshold).
        assert_eq!(e.remaining_steps(t0 + ms(250)), 3);
        assert!(!e.needs_inference(t0 + ms(250)));
        assert!(e.needs_inference(t0 + ms(301)));
        e.clear();
        assert!(e.needs_inference(t0));
    }

    #[test]
    fn outgoing_is_the_future_part_capped_and_revisions_count_changes() {
        let t0 = Instant::now();
        let mut e = executor(Blend::Replace, 3);
        assert_eq!(e.outgoing(t0, 32), None);
        let r0 = e.revision();
        e.commit(Plan { start: t0, period: PERIOD, steps: chunk(&[0.0, 1.0, 2.0, 3.0]) });
        assert_eq!(e.revision(), r0 + 1);
        let out = e.outgoing(t0 + ms(150), 1).expect("future steps");
        assert_eq!((out.start, firsts(&out)), (t0 + ms(200), vec![2.0]));
        e.clear();
        e.clear();
        assert_eq!(e.revision(), r0 + 2);
    }
}

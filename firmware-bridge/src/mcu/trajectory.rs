//! Executing chunks in time: the active chunk, the next one waiting for its start time, and
//! linear interpolation between steps.

use crate::protocol::{ActionChunk, ArmPose};

/// The target of `chunk` at `now_us`: the first step before the start, the last step after
/// the end, linear interpolation (rotation re-orthonormalized) in between.
pub fn sample_chunk(chunk: &ActionChunk, now_us: u64) -> Option<ArmPose> {
    let first = chunk.steps.first()?;
    let last = chunk.steps.last()?;
    if now_us <= chunk.start_time_us || chunk.step_period_us == 0 {
        return Some(*first);
    }
    let period = u64::from(chunk.step_period_us);
    let elapsed = now_us - chunk.start_time_us;
    let index = elapsed / period;
    let (Ok(i), true) = (usize::try_from(index), index + 1 < chunk.steps.len() as u64) else {
        return Some(*last);
    };
    let (a, b) = (chunk.steps.get(i)?, chunk.steps.get(i + 1)?);
    let fraction = (elapsed % period) as f32 / period as f32;
    Some(a.lerp(b, fraction).unwrap_or(*a))
}

/// The chunk being executed and the one that takes over at its start time.
#[derive(Debug, Clone, Default)]
pub struct Trajectory {
    /// The chunk whose targets are current.
    active: Option<ActionChunk>,
    /// An accepted chunk whose start time has not come yet.
    pending: Option<ActionChunk>,
}

impl Trajectory {
    /// No chunk.
    pub const fn new() -> Self {
        Self { active: None, pending: None }
    }

    /// Takes a validated chunk: it becomes active at once if its start time has come,
    /// otherwise it waits (replacing any chunk already waiting).
    pub fn accept(&mut self, chunk: ActionChunk, now_us: u64) {
        if chunk.start_time_us <= now_us {
            self.active = Some(chunk);
            self.pending = None;
        } else {
            self.pending = Some(chunk);
        }
    }

    /// Drops every chunk.
    pub fn clear(&mut self) {
        self.active = None;
        self.pending = None;
    }

    /// The target at `now_us`, promoting the waiting chunk if its time has come; `None`
    /// when no chunk has started.
    pub fn sample(&mut self, now_us: u64) -> Option<ArmPose> {
        if self.pending.as_ref().is_some_and(|p| p.start_time_us <= now_us) {
            self.active = self.pending.take();
        }
        self.active.as_ref().and_then(|c| sample_chunk(c, now_us))
    }

    /// True when a chunk has started.
    pub const fn has_active(&self) -> bool {
        self.active.is_some()
    }

    /// True when a chunk waits for its start time.
    pub const fn has_pending(&self) -> bool {
        self.pending.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(start: u64, xs: &[f32]) -> ActionChunk {
        let poses: std::vec::Vec<_> = xs.iter().map(|&x| ArmPose::at([x, 0.0, 0.0], 0.0)).collect();
        ActionChunk::new(0, start, 100, &poses).expect("valid")
    }

    #[test]
    fn interpolates_between_steps_and_holds_the_ends() {
        let c = chunk(1_000, &[0.0, 1.0, 3.0]);
        let x = |t| sample_chunk(&c, t).expect("non-empty").xyz[0];
        assert_eq!(x(0), 0.0);
        assert_eq!(x(1_000), 0.0);
        assert_eq!(x(1_050), 0.5);
        assert_eq!(x(1_100), 1.0);
        assert_eq!(x(1_150), 2.0);
        assert_eq!(x(1_200), 3.0);
        assert_eq!(x(u64::MAX), 3.0);
    }

    #[test]
    fn pending_chunks_take_over_at_their_start() {
        let mut t = Trajectory::new();
        t.accept(chunk(0, &[1.0]), 10);
        t.accept(chunk(500, &[2.0]), 10);
        assert!(t.has_pending());
        assert_eq!(t.sample(499).map(|p| p.xyz[0]), Some(1.0));
        assert_eq!(t.sample(500).map(|p| p.xyz[0]), Some(2.0));
        assert!(!t.has_pending());
        t.clear();
        assert_eq!(t.sample(600), None);
    }
}

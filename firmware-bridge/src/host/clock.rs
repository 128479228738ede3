//! Estimating the arm's clock from the host's, from time-sync probes.
//!
//! A probe records four times: host send `t1`, arm receive `t2`, arm send `t3`, host receive
//! `t4`. Assuming symmetric delays, the arm's clock is ahead of the host's by
//! `((t2 - t1) + (t3 - t4)) / 2`, with an error of at most half the round trip
//! `(t4 - t1) - (t3 - t2)`. The estimate keeps the recent probe with the smallest round trip.

use std::collections::VecDeque;
use std::time::Instant;

use crate::protocol::TimeSyncReply;

/// Number of recent probes considered.
const WINDOW: usize = 16;

/// One probe's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSample {
    /// Arm clock minus host clock (microseconds).
    pub offset_us: i64,
    /// Round trip excluding the arm's processing time (microseconds).
    pub round_trip_us: u64,
}

impl ClockSample {
    /// The sample from a reply and the host's receive time `host_receive_us`.
    pub fn from_reply(reply: &TimeSyncReply, host_receive_us: u64) -> Self {
        let t1 = i128::from(reply.host_send_us);
        let t2 = i128::from(reply.arm_receive_us);
        let t3 = i128::from(reply.arm_send_us);
        let t4 = i128::from(host_receive_us);
        let offset = ((t2 - t1) + (t3 - t4)) / 2;
        let round_trip = ((t4 - t1) - (t3 - t2)).max(0);
        Self {
            offset_us: i64::try_from(offset).unwrap_or(if offset < 0 {
                i64::MIN
            } else {
                i64::MAX
            }),
            round_trip_us: u64::try_from(round_trip).unwrap_or(u64::MAX),
        }
    }
}

/// The host's clock (microseconds since `epoch`) and the arm clock estimate.
#[derive(Debug, Clone)]
pub struct ClockSync {
    /// Zero of the host clock.
    epoch: Instant,
    /// Recent probes.
    samples: VecDeque<ClockSample>,
}

impl ClockSync {
    /// A host clock starting now, with no estimate yet.
    pub fn new() -> Self {
        Self { epoch: Instant::now(), samples: VecDeque::new() }
    }

    /// Host clock reading at `at` (microseconds since the epoch; 0 before it).
    pub fn host_us(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX)
    }

    /// Adds a probe result.
    pub fn add(&mut self, sample: ClockSample) {
        if self.samples.len() == WINDOW {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    /// Forgets every probe (the arm may have restarted).
    pub fn reset(&mut self) {
        self.samples.clear();
    }

    /// The best recent probe, if any.
    pub fn best(&self) -> Option<ClockSample> {
        self.samples.iter().min_by_key(|s| s.round_trip_us).copied()
    }

    /// The arm clock at host instant `at`, if an estimate exists.
    pub fn arm_us(&self, at: Instant) -> Option<u64> {
        let best = self.best()?;
        let arm = i128::from(self.host_us(at)) + i128::from(best.offset_us);
        Some(u64::try_from(arm.max(0)).unwrap_or(u64::MAX))
    }
}

impl Default for ClockSync {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_delays_give_the_exact_offset() {
        // Arm clock 1_000_000 ahead; 50 us each way; 10 us processing.
        let reply =
            TimeSyncReply { host_send_us: 100, arm_receive_us: 1_000_150, arm_send_us: 1_000_160 };
        let s = ClockSample::from_reply(&reply, 210);
        assert_eq!(s, ClockSample { offset_us: 1_000_000, round_trip_us: 100 });
    }

    #[test]
    fn the_shortest_round_trip_wins() {
        let mut c = ClockSync::new();
        c.add(ClockSample { offset_us: 10, round_trip_us: 500 });
        c.add(ClockSample { offset_us: 20, round_trip_us: 100 });
        c.add(ClockSample { offset_us: 30, round_trip_us: 300 });
        assert_eq!(c.best().map(|s| s.offset_us), Some(20));
        let at = c.epoch + std::time::Duration::from_micros(1_000);
        assert_eq!(c.arm_us(at), Some(1_020));
        c.reset();
        assert_eq!(c.arm_us(at), None);
    }
}

//! Latency and rate figures over a sliding window: p50/p99 of recent durations and events per
//! second, for the status report and the demo's table.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The most recent durations of one stage.
#[derive(Clone, Debug)]
pub struct LatencyWindow {
    samples: VecDeque<Duration>,
    capacity: usize,
    count: u64,
}

/// Percentiles of a [`LatencyWindow`], in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Samples ever recorded.
    pub count: u64,
    /// Median of the window.
    pub p50_ms: f64,
    /// 99th percentile of the window.
    pub p99_ms: f64,
    /// Largest in the window.
    pub max_ms: f64,
}

impl LatencyWindow {
    /// Keeps the last `capacity` samples (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self { samples: VecDeque::with_capacity(capacity), capacity, count: 0 }
    }

    /// Adds a sample.
    pub fn record(&mut self, d: Duration) {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back(d);
        self.count += 1;
    }

    /// p50, p99 and max of the window (nearest-rank), zero when empty.
    pub fn summary(&self) -> LatencySummary {
        let mut sorted: Vec<Duration> = self.samples.iter().copied().collect();
        sorted.sort_unstable();
        let rank = |q: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        LatencySummary {
            count: self.count,
            p50_ms: rank(0.5),
            p99_ms: rank(0.99),
            max_ms: sorted.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        }
    }
}

/// Events per second over the most recent events.
#[derive(Clone, Debug)]
pub struct RateMeter {
    capacity: usize,
    times: VecDeque<Instant>,
    total: u64,
}

impl RateMeter {
    /// Measures over the last `capacity` events (at least two).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2);
        Self { capacity, times: VecDeque::with_capacity(capacity), total: 0 }
    }

    /// Records an event at `now`.
    pub fn tick(&mut self, now: Instant) {
        if self.times.len() == self.capacity {
            self.times.pop_front();
        }
        self.times.push_back(now);
        self.total += 1;
    }

    /// Events per second at `now`: the intervals between the kept events over the time from
    /// the oldest of them to `now`, so the rate falls when events stop coming (0 with fewer
    /// than two events).
    pub fn rate(&self, now: Instant) -> f64 {
        let (Some(&first), n) = (self.times.front(), self.times.len()) else { return 0.0 };
        if n < 2 {
            return 0.0;
        }
        let span = now.saturating_duration_since(first).max(Duration::from_micros(1));
        (n - 1) as f64 / span.as_secs_f64()
    }

    /// Events ever recorded.
    pub fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank_over_the_window() {
        let mut w = LatencyWindow::new(100);
        for ms in 1..=100 {
            w.record(Duration::from_millis(ms));
        }
        let s = w.summary();
        assert_eq!((s.count, s.p50_ms, s.p99_ms, s.max_ms), (100, 50.0, 99.0, 100.0));
        w.record(Duration::from_millis(1000));
        assert_eq!(w.summary().max_ms, 1000.0);
        assert_eq!(w.summary().count, 101);
        assert_eq!(LatencyWindow::new(4).summary(), LatencySummary::default());
    }

    #[test]
    fn rate_follows_the_recent_events_and_falls_when_they_stop() {
        let t0 = Instant::now();
        let mut r = RateMeter::new(5);
        assert_eq!(r.rate(t0), 0.0);
        for i in 0..=10 {
            r.tick(t0 + Duration::from_millis(100 * i));
        }
        // The last five events, 100 ms apart.
        assert!((r.rate(t0 + Duration::from_millis(1000)) - 10.0).abs() < 1e-9);
        assert!((r.rate(t0 + Duration::from_millis(1400)) - 5.0).abs() < 1e-9);
        assert_eq!(r.total(), 11);
        // Slow events: two, ten seconds apart.
        let mut slow = RateMeter::new(32);
        slow.tick(t0);
        slow.tick(t0 + Duration::from_secs(10));
        assert!((slow.rate(t0 + Duration::from_secs(10)) - 0.1).abs() < 1e-9);
    }
}

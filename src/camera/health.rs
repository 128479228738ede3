//! Health counters of one camera: frame rate, drops, corrupt frames, decode errors, timeouts,
//! reopens and the age of the newest frame, and the state they add up to.

use std::collections::VecDeque;
use std::time::Duration;

use super::clock::MonotonicTime;

/// Frames the frame rate is measured over.
const FPS_WINDOW: usize = 30;

/// What a camera is doing, as far as its counters tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HealthState {
    /// No frame has arrived yet.
    Starting,
    /// Frames arrive and the newest is younger than the staleness limit.
    Streaming,
    /// Frames arrived before, but the newest is older than the staleness limit (a stall).
    Stale,
    /// The device went away or its stream broke; it is being opened again.
    Reconnecting,
    /// A finite source delivered all its frames.
    Ended,
    /// The capture thread stopped unexpectedly.
    Failed,
}

impl std::fmt::Display for HealthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HealthState::Starting => "starting",
            HealthState::Streaming => "streaming",
            HealthState::Stale => "stale",
            HealthState::Reconnecting => "reconnecting",
            HealthState::Ended => "ended",
            HealthState::Failed => "failed",
        })
    }
}

/// The counters at one moment, for logs and decisions.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthSnapshot {
    /// The state the counters add up to.
    pub state: HealthState,
    /// Frames delivered.
    pub frames: u64,
    /// Frames lost before delivery, from gaps in the sequence numbers.
    pub drops: u64,
    /// Frames the driver flagged as corrupt or delivered with the wrong size.
    pub corrupt_frames: u64,
    /// Frames that failed to decode. Sources deliver frames undecoded, so their counters
    /// report 0; whoever decodes (the rig, `camera-probe`) fills this in.
    pub decode_errors: u64,
    /// Reads that ended without a frame.
    pub timeouts: u64,
    /// Times the source was opened again after a fault.
    pub reopens: u64,
    /// Capture rate over the last frames, from their capture timestamps (0 with fewer than two).
    pub fps: f64,
    /// Age of the newest frame, if any arrived.
    pub newest_frame_age: Option<Duration>,
    /// The last error seen, if any.
    pub last_error: Option<String>,
}

/// Running counters, updated by whoever reads a source.
#[derive(Clone, Debug, Default)]
pub struct HealthCounters {
    frames: u64,
    drops: u64,
    corrupt_frames: u64,
    timeouts: u64,
    reopens: u64,
    last_sequence: Option<u64>,
    recent_captures: VecDeque<MonotonicTime>,
    newest_capture: Option<MonotonicTime>,
    disconnected: bool,
    ended: bool,
    failed: bool,
    last_error: Option<String>,
}

impl HealthCounters {
    /// Counters with nothing recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// A frame arrived: counts it, counts the frames a sequence gap says were dropped, and
    /// feeds the frame-rate window.
    pub fn record_frame(&mut self, sequence: u64, captured_at: MonotonicTime) {
        if let Some(last) = self.last_sequence {
            if sequence > last {
                self.drops += sequence - last - 1;
            }
        }
        self.last_sequence = Some(sequence);
        self.frames += 1;
        self.disconnected = false;
        if self.recent_captures.len() == FPS_WINDOW {
            self.recent_captures.pop_front();
        }
        self.recent_captures.push_back(captured_at);
        self.newest_capture =
            Some(self.newest_capture.map_or(captured_at, |newest| newest.max(captured_at)));
    }

    /// A read ended without a frame.
    pub fn record_timeout(&mut self) {
        self.timeouts += 1;
    }

    /// The driver delivered a corrupt frame.
    pub fn record_corrupt_frame(&mut self, error: &dyn std::fmt::Display) {
        self.corrupt_frames += 1;
        self.last_error = Some(error.to_string());
    }

    /// The device went away or its stream broke; it will be opened again.
    pub fn record_disconnect(&mut self, error: &dyn std::fmt::Display) {
        self.disconnected = true;
        self.last_error = Some(error.to_string());
    }

    /// Some other error (an open attempt that failed, say), kept for the report.
    pub fn record_error(&mut self, error: &dyn std::fmt::Display) {
        self.last_error = Some(error.to_string());
    }

    /// The source was opened again after a fault. Sequence numbers restart with a new stream,
    /// so the gap check starts over.
    pub fn record_reopen(&mut self) {
        self.reopens += 1;
        self.disconnected = false;
        self.last_sequence = None;
    }

    /// A finite source has delivered all its frames.
    pub fn record_end(&mut self) {
        self.ended = true;
    }

    /// The thread reading the source stopped unexpectedly.
    pub fn record_failure(&mut self, reason: &str) {
        self.failed = true;
        self.last_error = Some(reason.to_owned());
    }

    /// The last error recorded, if any.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// The counters at `now`; a newest frame older than `stale_after` makes the state
    /// [`HealthState::Stale`].
    pub fn snapshot(&self, now: MonotonicTime, stale_after: Duration) -> HealthSnapshot {
        let newest_frame_age = self.newest_capture.map(|t| now.saturating_since(t));
        let state = if self.failed {
            HealthState::Failed
        } else if self.ended {
            HealthState::Ended
        } else if self.disconnected {
            HealthState::Reconnecting
        } else {
            match newest_frame_age {
                None => HealthState::Starting,
                Some(age) if age > stale_after => HealthState::Stale,
                Some(_) => HealthState::Streaming,
            }
        };
        HealthSnapshot {
            state,
            frames: self.frames,
            drops: self.drops,
            corrupt_frames: self.corrupt_frames,
            decode_errors: 0,
            timeouts: self.timeouts,
            reopens: self.reopens,
            fps: self.fps(),
            newest_frame_age,
            last_error: self.last_error.clone(),
        }
    }

    fn fps(&self) -> f64 {
        let (Some(first), Some(last)) = (self.recent_captures.front(), self.recent_captures.back())
        else {
            return 0.0;
        };
        let span = last.saturating_since(*first).as_secs_f64();
        if span <= 0.0 {
            return 0.0;
        }
        (self.recent_captures.len() - 1) as f64 / span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_ms(ms: u64) -> MonotonicTime {
        MonotonicTime::from_duration(Duration::from_millis(ms))
    }

    #[test]
    fn counts_frames_drops_and_rate() {
        let mut health = HealthCounters::new();
        for (i, seq) in [0u64, 1, 2, 5, 6].into_iter().enumerate() {
            health.record_frame(seq, at_ms(1000 + 40 * i as u64));
        }
        let snap = health.snapshot(at_ms(1170), Duration::from_millis(100));
        assert_eq!(snap.frames, 5);
        assert_eq!(snap.drops, 2);
        assert!((snap.fps - 25.0).abs() < 1e-9, "fps {}", snap.fps);
        assert_eq!(snap.newest_frame_age, Some(Duration::from_millis(10)));
        assert_eq!(snap.state, HealthState::Streaming);
    }

    #[test]
    fn states_follow_the_events() {
        let mut health = HealthCounters::new();
        let limit = Duration::from_millis(100);
        assert_eq!(health.snapshot(at_ms(0), limit).state, HealthState::Starting);
        health.record_frame(7, at_ms(1000));
        assert_eq!(health.snapshot(at_ms(1050), limit).state, HealthState::Streaming);
        assert_eq!(health.snapshot(at_ms(1101), limit).state, HealthState::Stale);
        health.record_disconnect(&"ENODEV");
        let snap = health.snapshot(at_ms(1101), limit);
        assert_eq!(snap.state, HealthState::Reconnecting);
        assert_eq!(snap.last_error.as_deref(), Some("ENODEV"));
        health.record_reopen();
        // A new stream restarts its sequence numbers: no drops are counted for that.
        health.record_frame(0, at_ms(1200));
        let snap = health.snapshot(at_ms(1200), limit);
        assert_eq!((snap.state, snap.drops, snap.reopens), (HealthState::Streaming, 0, 1));
        health.record_end();
        assert_eq!(health.snapshot(at_ms(1200), limit).state, HealthState::Ended);
        health.record_failure("thread died");
        assert_eq!(health.snapshot(at_ms(1200), limit).state, HealthState::Failed);
    }

    #[test]
    fn rate_window_keeps_the_last_frames_only() {
        let mut health = HealthCounters::new();
        // 30 frames at 10 fps, then 30 at 50 fps: the window sees only the fast ones.
        for i in 0..30 {
            health.record_frame(i, at_ms(100 * i));
        }
        for i in 0..30 {
            health.record_frame(30 + i, at_ms(3000 + 20 * i));
        }
        let fps = health.snapshot(at_ms(4000), Duration::from_secs(1)).fps;
        assert!((fps - 50.0).abs() < 1e-9, "fps {fps}");
    }
}

//! A source that survives its device: it opens the underlying source on first use and opens it
//! again, with exponential backoff, after an unplug, a broken stream, a failed open or a long
//! stall. Every call still returns within its timeout, and faults stay visible: the call that
//! meets one returns it as an error, and the health counters say `reconnecting`.

use std::time::Duration;

use super::clock::MonotonicTime;
use super::error::CameraError;
use super::frame::Frame;
use super::health::HealthCounters;
use super::source::FrameSource;

/// Opens the underlying source; called again for every reopen.
pub type SourceFactory = Box<dyn FnMut() -> Result<Box<dyn FrameSource>, CameraError> + Send>;

/// How long to wait between attempts to open a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Wait after the first failure; doubled after each further failure.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Reopen a source that has delivered nothing for this long (a stalled USB camera often
    /// recovers only when its stream is restarted); `None` never reopens for a stall.
    pub reopen_after_stall: Option<Duration>,
}

impl Default for Backoff {
    /// 100 ms doubling up to 5 s; reopen after 2 s without frames.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
            reopen_after_stall: Some(Duration::from_secs(2)),
        }
    }
}

/// A [`FrameSource`] that reopens the source its factory makes (see the module doc).
pub struct ReopeningSource {
    description: String,
    factory: SourceFactory,
    backoff: Backoff,
    inner: Option<Box<dyn FrameSource>>,
    opened_before: bool,
    next_attempt: Option<MonotonicTime>,
    delay: Duration,
    last_progress: Option<MonotonicTime>,
    health: HealthCounters,
}

impl ReopeningSource {
    /// A source named `description` whose underlying source `factory` opens. Nothing is opened
    /// until the first [`FrameSource::next_frame`].
    pub fn new(description: String, factory: SourceFactory, backoff: Backoff) -> Self {
        Self {
            description,
            factory,
            delay: backoff.initial,
            backoff,
            inner: None,
            opened_before: false,
            next_attempt: None,
            last_progress: None,
            health: HealthCounters::new(),
        }
    }

    /// Drops the underlying source and schedules the next open attempt.
    fn close_and_wait(&mut self, now: MonotonicTime) {
        self.inner = None;
        self.next_attempt = Some(now.saturating_add(self.delay));
        self.delay = self.delay.saturating_mul(2).min(self.backoff.max);
    }

    /// Tries to open the underlying source if it is closed and an attempt is due.
    fn ensure_open(&mut self, deadline: MonotonicTime) -> Result<(), CameraError> {
        while self.inner.is_none() {
            let now = MonotonicTime::now();
            if let Some(due) = self.next_attempt {
                if due > deadline {
                    std::thread::sleep(deadline.saturating_since(now));
                    return Err(self.disconnected_error());
                }
                std::thread::sleep(due.saturating_since(now));
            }
            match (self.factory)() {
                Ok(source) => {
                    if self.opened_before {
                        self.health.record_reopen();
                    }
                    self.opened_before = true;
                    self.inner = Some(source);
                    self.next_attempt = None;
                    self.delay = self.backoff.initial;
                    self.last_progress = Some(MonotonicTime::now());
                }
                Err(error) => {
                    self.health.record_disconnect(&error);
                    self.close_and_wait(MonotonicTime::now());
                }
            }
        }
        Ok(())
    }

    fn disconnected_error(&self) -> CameraError {
        let reason = self.health.last_error().unwrap_or("not opened yet").to_owned();
        CameraError::Disconnected { camera: self.description.clone(), reason }
    }
}

impl FrameSource for ReopeningSource {
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        let start = MonotonicTime::now();
        let deadline = start.saturating_add(timeout);
        self.ensure_open(deadline)?;
        let remaining = deadline.saturating_since(MonotonicTime::now());
        let Some(inner) = self.inner.as_mut() else {
            return Err(self.disconnected_error());
        };
        match inner.next_frame(remaining) {
            Ok(frame) => {
                self.health.record_frame(frame.sequence, frame.captured_at);
                self.last_progress = Some(frame.received_at);
                Ok(frame)
            }
            Err(error) => {
                let now = MonotonicTime::now();
                match &error {
                    CameraError::Timeout { .. } => {
                        self.health.record_timeout();
                        let stalled_for = self.last_progress.map(|t| now.saturating_since(t));
                        if let (Some(limit), Some(stalled_for)) =
                            (self.backoff.reopen_after_stall, stalled_for)
                        {
                            if stalled_for >= limit {
                                self.health.record_disconnect(&format!(
                                    "no frame for {stalled_for:?}; restarting the stream"
                                ));
                                self.close_and_wait(now);
                            }
                        }
                    }
                    CameraError::CorruptFrame { .. } => self.health.record_corrupt_frame(&error),
                    CameraError::EndOfStream { .. } => self.health.record_end(),
                    other if other.needs_reopen() => {
                        self.health.record_disconnect(&error);
                        self.close_and_wait(now);
                    }
                    _ => self.health.record_error(&error),
                }
                Err(error)
            }
        }
    }

    fn description(&self) -> &str {
        match &self.inner {
            Some(inner) => inner.description(),
            None => &self.description,
        }
    }

    fn health(&self) -> &HealthCounters {
        &self.health
    }
}

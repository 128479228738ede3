//! The [`FrameSource`] trait: anything that delivers camera frames one at a time, and the
//! paced wait that recorded and synthetic sources share.

use std::time::Duration;

use super::clock::MonotonicTime;
use super::error::CameraError;
use super::frame::Frame;
use super::health::HealthCounters;

/// A camera, or something standing in for one (a recording, a test pattern).
///
/// A source is driven by one thread at a time (it is `Send`, not `Sync`). Implementations
/// never panic on what the device or file delivers: every fault is a [`CameraError`], and the
/// source keeps its [`HealthCounters`] up to date as it goes.
pub trait FrameSource: Send {
    /// Waits at most `timeout` for the next frame.
    ///
    /// Errors: [`CameraError::Timeout`] when nothing arrived in time (the source may still
    /// recover), [`CameraError::CorruptFrame`] for a frame the driver flagged (the next call
    /// may succeed), [`CameraError::EndOfStream`] once a finite source is exhausted (every
    /// later call says the same), and errors for which [`CameraError::needs_reopen`] is true
    /// when the device is gone or its stream broke.
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError>;

    /// What the source is, for logs: its spec and, once known, the negotiated format.
    fn description(&self) -> &str;

    /// The source's counters; [`HealthCounters::snapshot`] turns them into a report.
    fn health(&self) -> &HealthCounters;
}

/// Sleeps until `due` (a paced source's next frame time), or, when that is more than `timeout`
/// after `now`, sleeps `timeout`, counts a timeout in `health` and returns
/// [`CameraError::Timeout`] naming `camera`.
pub(crate) fn wait_until_due(
    due: MonotonicTime,
    now: MonotonicTime,
    timeout: Duration,
    health: &mut HealthCounters,
    camera: &str,
) -> Result<(), CameraError> {
    let wait = due.saturating_since(now);
    if wait > timeout {
        std::thread::sleep(timeout);
        health.record_timeout();
        return Err(CameraError::Timeout { camera: camera.to_string(), waited: timeout });
    }
    std::thread::sleep(wait);
    Ok(())
}

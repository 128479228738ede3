//! Points in time on the kernel's monotonic clock (`CLOCK_MONOTONIC`), the clock V4L2 drivers
//! stamp frames with, so that driver timestamps, host timestamps and frame ages compare directly.

use std::time::Duration;

/// A point in time on `CLOCK_MONOTONIC`, as the time since that clock's (arbitrary) origin.
///
/// Unlike [`std::time::Instant`], its value is visible, so a timestamp taken by a driver in the
/// kernel can be turned into one and compared with [`MonotonicTime::now`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonotonicTime(Duration);

impl MonotonicTime {
    /// The current time on `CLOCK_MONOTONIC`.
    #[allow(clippy::useless_conversion)] // `timespec` fields are 32 bits wide on some targets
    pub fn now() -> Self {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable `timespec` that outlives the call.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        // CLOCK_MONOTONIC cannot fail on Linux; a zero reading would only make ages look large.
        if rc != 0 {
            return Self(Duration::ZERO);
        }
        Self::from_secs_nanos(i64::from(ts.tv_sec), i64::from(ts.tv_nsec))
            .unwrap_or(Self(Duration::ZERO))
    }

    /// The time `since_origin` after the clock's origin.
    pub const fn from_duration(since_origin: Duration) -> Self {
        Self(since_origin)
    }

    /// A time given as seconds and microseconds (a `struct timeval`, as in a V4L2 buffer).
    /// `None` when either part is negative or the microseconds are not below one million.
    pub fn from_secs_micros(secs: i64, micros: i64) -> Option<Self> {
        if !(0..1_000_000).contains(&micros) {
            return None;
        }
        Self::from_secs_nanos(secs, micros * 1_000)
    }

    fn from_secs_nanos(secs: i64, nanos: i64) -> Option<Self> {
        let secs = u64::try_from(secs).ok()?;
        let nanos = u32::try_from(nanos).ok().filter(|n| *n < 1_000_000_000)?;
        Some(Self(Duration::new(secs, nanos)))
    }

    /// The time since the clock's origin.
    pub const fn since_origin(self) -> Duration {
        self.0
    }

    /// How long after `earlier` this time is; zero when `earlier` is later.
    pub fn saturating_since(self, earlier: MonotonicTime) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// This time moved `delta` later, saturating at the clock's range.
    pub fn saturating_add(self, delta: Duration) -> Self {
        Self(self.0.saturating_add(delta))
    }
}

impl std::fmt::Display for MonotonicTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:06}s", self.0.as_secs(), self.0.subsec_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_advances_and_matches_the_std_clock_rate() {
        let a = MonotonicTime::now();
        let std_start = std::time::Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        let b = MonotonicTime::now();
        let std_elapsed = std_start.elapsed();
        let elapsed = b.saturating_since(a);
        assert!(elapsed >= Duration::from_millis(20), "elapsed {elapsed:?}");
        // std's Instant reads the same clock on Linux; both measured the same sleep.
        assert!(elapsed.abs_diff(std_elapsed) < Duration::from_millis(5));
        assert!(a.since_origin() > Duration::ZERO);
    }

    #[test]
    fn timeval_conversion_rejects_out_of_range_parts() {
        assert_eq!(
            MonotonicTime::from_secs_micros(3, 250_000),
            Some(MonotonicTime::from_duration(Duration::from_millis(3_250)))
        );
        assert_eq!(MonotonicTime::from_secs_micros(-1, 0), None);
        assert_eq!(MonotonicTime::from_secs_micros(1, 1_000_000), None);
        assert_eq!(MonotonicTime::from_secs_micros(1, -1), None);
        assert_eq!(
            MonotonicTime::from_secs_micros(i64::MAX, 999_999).map(|t| t.0.as_secs()),
            Some(i64::MAX as u64)
        );
    }

    #[test]
    fn display_shows_microseconds() {
        let t = MonotonicTime::from_duration(Duration::from_micros(12_000_034));
        assert_eq!(t.to_string(), "12.000034s");
    }
}

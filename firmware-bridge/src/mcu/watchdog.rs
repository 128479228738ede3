//! The link watchdog: expires when nothing valid has arrived from the host for too long.

/// Tracks the last time the host proved it is alive (a valid chunk or heartbeat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watchdog {
    /// Allowed silence (microseconds).
    timeout_us: u64,
    /// Last feed, or `None` before the first.
    last_feed_us: Option<u64>,
}

impl Watchdog {
    /// A watchdog that has never been fed (and therefore counts as expired).
    pub const fn new(timeout_us: u64) -> Self {
        Self { timeout_us, last_feed_us: None }
    }

    /// Records a sign of life at `now_us`.
    pub fn feed(&mut self, now_us: u64) {
        self.last_feed_us = Some(now_us);
    }

    /// True when more than the timeout has passed since the last feed, or there was none.
    pub fn expired(&self, now_us: u64) -> bool {
        match self.last_feed_us {
            Some(fed) => now_us.saturating_sub(fed) > self.timeout_us,
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_strictly_after_the_timeout() {
        let mut w = Watchdog::new(100);
        assert!(w.expired(0));
        w.feed(1_000);
        assert!(!w.expired(1_100));
        assert!(w.expired(1_101));
        assert!(!w.expired(900), "a clock that reads earlier than the feed is not an expiry");
    }
}

//! The systemd notification protocol (`sd_notify`), without libsystemd: datagrams of
//! `KEY=VALUE` lines to the Unix socket named by `$NOTIFY_SOCKET` (a path, or an abstract
//! socket written with a leading `@`).
//!
//! The runtime sends `READY=1` once the model is loaded and the pipelines are built,
//! `STATUS=…` lines while starting, `WATCHDOG=1` from the control loop at half the interval
//! of `$WATCHDOG_USEC` (the unit's `WatchdogSec=`), and `STOPPING=1` when it shuts down.
//! Outside systemd (no `$NOTIFY_SOCKET`) every call does nothing. Sends never block: when the
//! receiver's queue is full the send fails with an error instead.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::PathBuf;
use std::time::Duration;

/// Why a notification could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// `$NOTIFY_SOCKET` is set but unusable.
    #[error("NOTIFY_SOCKET={socket}: {reason}")]
    BadSocket {
        /// The variable's value.
        socket: String,
        /// What is wrong.
        reason: String,
    },
    /// Sending failed.
    #[error("NOTIFY_SOCKET={socket}: {source}")]
    Send {
        /// The variable's value.
        socket: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Where notifications go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyTarget {
    /// A socket file.
    Path(PathBuf),
    /// A socket in the abstract namespace (`@name` in `$NOTIFY_SOCKET`).
    Abstract(Vec<u8>),
}

impl NotifyTarget {
    /// Parses a `$NOTIFY_SOCKET` value.
    pub fn parse(value: &str) -> Result<Self, NotifyError> {
        let bad = |reason: &str| NotifyError::BadSocket {
            socket: value.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(name) = value.strip_prefix('@') {
            if name.is_empty() {
                return Err(bad("empty abstract socket name"));
            }
            Ok(NotifyTarget::Abstract(name.as_bytes().to_vec()))
        } else if value.starts_with('/') {
            Ok(NotifyTarget::Path(PathBuf::from(value)))
        } else {
            Err(bad("neither an absolute path nor an @abstract name"))
        }
    }

    fn address(&self) -> std::io::Result<SocketAddr> {
        match self {
            NotifyTarget::Path(path) => SocketAddr::from_pathname(path),
            NotifyTarget::Abstract(name) => SocketAddr::from_abstract_name(name),
        }
    }

    fn describe(&self) -> String {
        match self {
            NotifyTarget::Path(p) => p.display().to_string(),
            NotifyTarget::Abstract(name) => format!("@{}", String::from_utf8_lossy(name)),
        }
    }
}

/// Sends notifications to the service manager, if there is one.
#[derive(Debug)]
pub struct Notifier {
    target: Option<(NotifyTarget, UnixDatagram)>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// A notifier that sends nothing (not under systemd).
    pub fn disabled() -> Self {
        Self { target: None, watchdog: None }
    }

    /// A notifier for `target`, expecting `WATCHDOG=1` every `watchdog / 2` when given.
    pub fn new(target: NotifyTarget, watchdog: Option<Duration>) -> Result<Self, NotifyError> {
        let error = |source| NotifyError::Send { socket: target.describe(), source };
        let socket = UnixDatagram::unbound().map_err(error)?;
        // Never block the caller (the control loop) on a receiver that does not read: a full
        // queue makes the send fail instead.
        socket.set_nonblocking(true).map_err(error)?;
        Ok(Self { target: Some((target, socket)), watchdog })
    }

    /// From the environment: `$NOTIFY_SOCKET`, and `$WATCHDOG_USEC` when `$WATCHDOG_PID` is
    /// absent or is this process. Disabled without `$NOTIFY_SOCKET`.
    pub fn from_env() -> Result<Self, NotifyError> {
        let Some(value) = std::env::var_os("NOTIFY_SOCKET") else {
            return Ok(Self::disabled());
        };
        let value = value.to_string_lossy().into_owned();
        let target = NotifyTarget::parse(&value)?;
        let for_us = std::env::var("WATCHDOG_PID")
            .map_or(true, |pid| pid.trim().parse::<u32>().ok() == Some(std::process::id()));
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|usec| usec.trim().parse::<u64>().ok())
            .filter(|&usec| usec > 0 && for_us)
            .map(Duration::from_micros);
        Self::new(target, watchdog)
    }

    /// How often to send `WATCHDOG=1`: half the watchdog timeout, when there is one.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.map(|w| w / 2)
    }

    /// Sends `state` (one or more `KEY=VALUE` lines).
    pub fn notify(&self, state: &str) -> Result<(), NotifyError> {
        let Some((target, socket)) = &self.target else { return Ok(()) };
        let error = |source| NotifyError::Send { socket: target.describe(), source };
        let address = target.address().map_err(error)?;
        socket.send_to_addr(state.as_bytes(), &address).map_err(error)?;
        Ok(())
    }

    /// `READY=1` with a status line.
    pub fn ready(&self, status: &str) -> Result<(), NotifyError> {
        self.notify(&format!("READY=1\nSTATUS={}", one_line(status)))
    }

    /// `STATUS=…`.
    pub fn status(&self, status: &str) -> Result<(), NotifyError> {
        self.notify(&format!("STATUS={}", one_line(status)))
    }

    /// `WATCHDOG=1`.
    pub fn watchdog(&self) -> Result<(), NotifyError> {
        self.notify("WATCHDOG=1")
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) -> Result<(), NotifyError> {
        self.notify("STOPPING=1")
    }
}

/// A status text without line breaks (each notification line is one `KEY=VALUE`).
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receive(listener: &UnixDatagram) -> String {
        let mut buf = [0u8; 512];
        listener.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
        let n = listener.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn sends_to_a_socket_path() {
        let dir = std::env::temp_dir().join(format!("notify-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).expect("bind");
        let target = NotifyTarget::parse(path.to_str().expect("utf-8")).expect("path");
        let n = Notifier::new(target, Some(Duration::from_secs(4))).expect("notifier");
        n.ready("model loaded\nmore").expect("send");
        assert_eq!(receive(&listener), "READY=1\nSTATUS=model loaded more");
        n.watchdog().expect("send");
        assert_eq!(receive(&listener), "WATCHDOG=1");
        assert_eq!(n.watchdog_interval(), Some(Duration::from_secs(2)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn sends_to_an_abstract_socket() {
        let name = format!("twinvla-notify-test-{}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).expect("address");
        let listener = UnixDatagram::bind_addr(&address).expect("bind");
        let n = Notifier::new(NotifyTarget::parse(&format!("@{name}")).expect("abstract"), None)
            .expect("notifier");
        n.stopping().expect("send");
        assert_eq!(receive(&listener), "STOPPING=1");
        assert_eq!(n.watchdog_interval(), None);
    }

    #[test]
    fn a_receiver_that_does_not_read_never_blocks_the_sender() {
        let name = format!("twinvla-notify-full-{}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).expect("address");
        let _listener = UnixDatagram::bind_addr(&address).expect("bind");
        let n = Notifier::new(NotifyTarget::parse(&format!("@{name}")).expect("abstract"), None)
            .expect("notifier");
        let start = std::time::Instant::now();
        let failures = (0..1000).filter(|_| n.watchdog().is_err()).count();
        assert!(failures > 0, "the queue fills up");
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn bad_values_are_refused_and_disabled_sends_nothing() {
        assert!(NotifyTarget::parse("relative/path").is_err());
        assert!(NotifyTarget::parse("@").is_err());
        let n = Notifier::disabled();
        assert_eq!(n.watchdog_interval(), None);
        n.ready("x").expect("nothing to do");
    }
}

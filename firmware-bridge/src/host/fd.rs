//! A byte stream over a file descriptor (serial port or pseudo-terminal) with timeouts.
//!
//! The descriptor is non-blocking: reads wait in `ppoll` (microsecond timeouts), writes wait
//! for room at most the write timeout and then give up with [`LinkError::WriteTimeout`], so
//! a peer that stops reading can never wedge the writer (a half-written frame is harmless:
//! the next frame's leading delimiter resynchronises the reader).

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::time::TimeSpec;

use super::link::LinkError;
use super::stream::{ByteSink, ByteSource};

/// Longest a write waits for room by default.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_millis(100);

/// A terminal-like file descriptor with read and write timeouts.
#[derive(Debug)]
pub struct FdStream {
    /// The open device (non-blocking).
    file: File,
    /// Device path, for messages.
    name: String,
    /// Longest a write waits for room.
    write_timeout: Duration,
}

impl FdStream {
    /// Wraps an open device, switching it to non-blocking mode.
    pub fn new(file: File, name: impl Into<String>) -> Result<Self, LinkError> {
        let name = name.into();
        fcntl(file.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
            .map_err(|e| LinkError::io(&name, "fcntl", e.into()))?;
        Ok(Self { file, name, write_timeout: DEFAULT_WRITE_TIMEOUT })
    }

    /// The same stream with another write timeout.
    pub fn with_write_timeout(self, write_timeout: Duration) -> Self {
        Self { write_timeout, ..self }
    }

    /// A second handle on the same device (so one thread can read while another writes).
    pub fn try_clone(&self) -> Result<Self, LinkError> {
        let file = self.file.try_clone().map_err(|e| LinkError::io(&self.name, "dup", e))?;
        Ok(Self { file, name: self.name.clone(), write_timeout: self.write_timeout })
    }

    /// Waits up to `timeout` for `events`; false on timeout.
    fn wait_for(&self, events: PollFlags, timeout: Duration) -> Result<bool, LinkError> {
        let mut fds = [PollFd::new(self.file.as_fd(), events)];
        match ppoll(&mut fds, Some(TimeSpec::from_duration(timeout)), None) {
            Ok(0) | Err(Errno::EINTR) => Ok(false),
            Ok(_) => {
                let revents = fds[0].revents().unwrap_or(PollFlags::empty());
                if revents.intersects(events) {
                    Ok(true)
                } else if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
                    Err(LinkError::Closed { device: self.name.clone() })
                } else {
                    Ok(false)
                }
            }
            Err(e) => Err(LinkError::io(&self.name, "poll", e.into())),
        }
    }
}

impl ByteSource for FdStream {
    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        if !self.wait_for(PollFlags::POLLIN, timeout)? {
            return Ok(0);
        }
        match self.file.read(buf) {
            Ok(0) => Err(LinkError::Closed { device: self.name.clone() }),
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), ErrorKind::Interrupted | ErrorKind::WouldBlock) => Ok(0),
            // A pseudo-terminal master reads EIO once no slave handle is open.
            Err(e) if e.raw_os_error() == Some(Errno::EIO as i32) => {
                Err(LinkError::Closed { device: self.name.clone() })
            }
            Err(e) => Err(LinkError::io(&self.name, "read", e)),
        }
    }
}

impl ByteSink for FdStream {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        let deadline = Instant::now() + self.write_timeout;
        let mut rest = bytes;
        while !rest.is_empty() {
            match self.file.write(rest) {
                Ok(n) => rest = rest.get(n..).unwrap_or_default(),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    if remaining.is_zero() || !self.wait_for(PollFlags::POLLOUT, remaining)? {
                        return Err(LinkError::WriteTimeout {
                            device: self.name.clone(),
                            after: self.write_timeout,
                        });
                    }
                }
                Err(e) if e.raw_os_error() == Some(Errno::EIO as i32) => {
                    return Err(LinkError::Closed { device: self.name.clone() })
                }
                Err(e) => return Err(LinkError::io(&self.name, "write", e)),
            }
        }
        Ok(())
    }
}

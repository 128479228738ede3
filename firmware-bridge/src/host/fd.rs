//! A byte stream over a file descriptor (serial port or pseudo-terminal) with timeouts.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::time::TimeSpec;

use super::link::LinkError;
use super::stream::{ByteSink, ByteSource};

/// A terminal-like file descriptor read with `ppoll` (microsecond timeouts) and written
/// with blocking writes.
#[derive(Debug)]
pub struct FdStream {
    /// The open device.
    file: File,
    /// Device path, for messages.
    name: String,
}

impl FdStream {
    /// Wraps an open device.
    pub fn new(file: File, name: impl Into<String>) -> Self {
        Self { file, name: name.into() }
    }

    /// A second handle on the same device (so one thread can read while another writes).
    pub fn try_clone(&self) -> Result<Self, LinkError> {
        let file = self.file.try_clone().map_err(|e| LinkError::io(&self.name, "dup", e))?;
        Ok(Self { file, name: self.name.clone() })
    }

    /// Waits until the device is readable; false on timeout.
    fn wait_readable(&self, timeout: Duration) -> Result<bool, LinkError> {
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
        match ppoll(&mut fds, Some(TimeSpec::from_duration(timeout)), None) {
            Ok(0) | Err(Errno::EINTR) => Ok(false),
            Ok(_) => {
                let revents = fds[0].revents().unwrap_or(PollFlags::empty());
                if revents.contains(PollFlags::POLLIN) {
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
        if !self.wait_readable(timeout)? {
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
        match self.file.write_all(bytes) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(Errno::EIO as i32) => {
                Err(LinkError::Closed { device: self.name.clone() })
            }
            Err(e) => Err(LinkError::io(&self.name, "write", e)),
        }
    }
}

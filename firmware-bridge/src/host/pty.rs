//! Pseudo-terminals: a real kernel serial line between two ends of one machine, used to run
//! a simulated arm where the runtime expects a UART.

use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

use super::fd::FdStream;
use super::link::{Link, LinkError};
use super::serial::{configure_raw, DEFAULT_BAUD};
use super::stream::framed_link;

/// An open pseudo-terminal: the arm side (master) and the path a host opens (slave).
#[derive(Debug)]
pub struct Pty {
    /// The master side.
    master: File,
    /// A handle on the slave kept open for the pty's lifetime: it keeps the raw-mode
    /// settings and stops the master from reading end-of-file while no host has the slave
    /// open (between reconnects).
    slave: File,
    /// Path of the slave device, e.g. `/dev/pts/3`.
    slave_path: PathBuf,
}

impl Pty {
    /// Opens a pseudo-terminal with its line discipline in raw mode.
    pub fn open() -> Result<Self, LinkError> {
        let pair = nix::pty::openpty(None, None)
            .map_err(|e| LinkError::io("/dev/ptmx", "openpty", e.into()))?;
        let slave_path = nix::unistd::ttyname(&pair.slave)
            .map_err(|e| LinkError::io("pty slave", "ttyname", e.into()))?;
        let device = slave_path.display().to_string();
        configure_raw(&pair.slave, DEFAULT_BAUD, &device)?;
        Ok(Self { master: File::from(pair.master), slave: File::from(pair.slave), slave_path })
    }

    /// Path a host opens as its serial device.
    pub fn slave_path(&self) -> &std::path::Path {
        &self.slave_path
    }

    /// The master side as a framed link (the arm's end); the pty stays open as long as the
    /// link does. Writes give up after `write_timeout` when no host reads the slave, as a
    /// microcontroller's UART drops output rather than stall its control loop.
    pub fn into_master_link(self, write_timeout: Duration) -> Result<Link, LinkError> {
        let description = format!("pty master for {}", self.slave_path.display());
        let rx = FdStream::new(self.master, description.clone())?;
        let tx = rx.try_clone()?.with_write_timeout(write_timeout);
        Ok(framed_link(rx, KeepAlive { stream: tx, _slave: self.slave }, description))
    }
}

/// A writer that also owns the slave handle, tying the pty's lifetime to the link's.
struct KeepAlive {
    /// The master, for writing.
    stream: FdStream,
    /// Held open, never used.
    _slave: File,
}

impl super::stream::ByteSink for KeepAlive {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.stream.write_all(bytes)
    }
}

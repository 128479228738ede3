//! Serial devices (UARTs, USB serial adapters, pseudo-terminal slaves) in raw mode.
//!
//! Configured with termios directly (no libudev): raw mode (`cfmakeraw`: no echo, no line
//! editing, no CR/LF translation, 8 data bits), receiver on, modem control lines ignored,
//! no hardware or software flow control, the requested standard baud rate, then both
//! queues flushed so that stale bytes from before the open are not decoded.

use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::sys::termios::{
    cfmakeraw, cfsetspeed, tcflush, tcgetattr, tcsetattr, BaudRate, ControlFlags, FlushArg,
    InputFlags, SetArg, SpecialCharacterIndices,
};

use super::fd::FdStream;
use super::link::{Link, LinkError};
use super::stream::framed_link;

/// Baud rate used when none is given: the highest that common USB-serial adapters and
/// microcontroller UARTs all reach reliably.
pub const DEFAULT_BAUD: u32 = 921_600;

/// The termios constant for a standard baud rate.
fn baud_rate(baud: u32) -> Option<BaudRate> {
    Some(match baud {
        9_600 => BaudRate::B9600,
        19_200 => BaudRate::B19200,
        38_400 => BaudRate::B38400,
        57_600 => BaudRate::B57600,
        115_200 => BaudRate::B115200,
        230_400 => BaudRate::B230400,
        460_800 => BaudRate::B460800,
        500_000 => BaudRate::B500000,
        576_000 => BaudRate::B576000,
        921_600 => BaudRate::B921600,
        1_000_000 => BaudRate::B1000000,
        1_152_000 => BaudRate::B1152000,
        1_500_000 => BaudRate::B1500000,
        2_000_000 => BaudRate::B2000000,
        2_500_000 => BaudRate::B2500000,
        3_000_000 => BaudRate::B3000000,
        3_500_000 => BaudRate::B3500000,
        4_000_000 => BaudRate::B4000000,
        _ => return None,
    })
}

/// Puts an open terminal device in raw mode at `baud`.
pub fn configure_raw<F: AsFd>(fd: F, baud: u32, device: &str) -> Result<(), LinkError> {
    let rate = baud_rate(baud).ok_or_else(|| LinkError::Unsupported {
        device: device.to_owned(),
        reason: format!("{baud} is not a standard baud rate"),
    })?;
    let fd = fd.as_fd();
    let mut tio = tcgetattr(fd).map_err(|e| LinkError::io(device, "tcgetattr", e.into()))?;
    cfmakeraw(&mut tio);
    tio.control_flags |= ControlFlags::CLOCAL | ControlFlags::CREAD;
    tio.control_flags &= !(ControlFlags::CRTSCTS | ControlFlags::CSTOPB | ControlFlags::PARENB);
    tio.input_flags &= !(InputFlags::IXON | InputFlags::IXOFF | InputFlags::IXANY);
    tio.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
    tio.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
    cfsetspeed(&mut tio, rate).map_err(|e| LinkError::io(device, "cfsetspeed", e.into()))?;
    tcsetattr(fd, SetArg::TCSANOW, &tio)
        .map_err(|e| LinkError::io(device, "tcsetattr", e.into()))?;
    tcflush(fd, FlushArg::TCIOFLUSH).map_err(|e| LinkError::io(device, "tcflush", e.into()))?;
    Ok(())
}

/// Opens a serial device read-write, non-blocking, in raw mode at `baud`, without making it
/// the controlling terminal.
pub fn open_device(path: &Path, baud: u32) -> Result<File, LinkError> {
    let device = path.display().to_string();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| LinkError::io(&device, "open", e))?;
    configure_raw(&file, baud, &device)?;
    Ok(file)
}

/// Opens a serial device as a COBS-framed link.
pub fn open_serial(path: &Path, baud: u32) -> Result<Link, LinkError> {
    let device = path.display().to_string();
    let file = open_device(path, baud)?;
    let rx = FdStream::new(file, device.clone())?;
    let tx = rx.try_clone()?;
    Ok(framed_link(rx, tx, device))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_baud_rates_are_refused_with_the_device_name() {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let err = configure_raw(&pty.slave, 12_345, "/dev/test").expect_err("not standard");
        assert_eq!(err.to_string(), "/dev/test: 12345 is not a standard baud rate");
        assert!(configure_raw(&pty.slave, DEFAULT_BAUD, "/dev/test").is_ok());
    }

    #[test]
    fn missing_devices_are_reported_with_their_path() {
        let err = open_serial(Path::new("/dev/does-not-exist"), DEFAULT_BAUD).expect_err("absent");
        assert!(err.to_string().starts_with("/dev/does-not-exist: open failed"), "{err}");
    }
}

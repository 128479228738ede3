//! Linux SocketCAN interfaces (`can0`, `vcan0`, …) as links (feature `socketcan`).
//!
//! Two raw sockets are opened on the interface: one sends, one receives with a kernel filter
//! for the receiving identifier only. Both accept CAN FD frames; on an interface without FD
//! support use [`CanMode::Classic`]. Bring the interface up beforehand, e.g.
//! `ip link set can0 up type can bitrate 1000000 dbitrate 5000000 fd on`.

use std::io::ErrorKind;
use std::time::Duration;

use socketcan::{
    CanAnyFrame, CanDataFrame, CanFdFrame, CanFdSocket, CanFilter, EmbeddedFrame, ExtendedId, Id,
    Socket, SocketOptions, StandardId,
};

use super::can_link::{isotp_link, CanRx, CanTx};
use super::link::{Link, LinkError};
use crate::can::{ArmCanIds, CanFrame, CanFrameError, CanId, CanMode};

/// Sending socket.
pub struct SocketCanTx {
    /// The socket.
    socket: CanFdSocket,
    /// Interface name.
    iface: String,
}

/// Receiving socket.
pub struct SocketCanRx {
    /// The socket.
    socket: CanFdSocket,
    /// Interface name.
    iface: String,
}

/// Our identifier as a SocketCAN identifier.
fn to_socketcan_id(id: CanId) -> Option<Id> {
    match id {
        CanId::Standard(v) => StandardId::new(v).map(Id::Standard),
        CanId::Extended(v) => ExtendedId::new(v).map(Id::Extended),
    }
}

/// A SocketCAN identifier as ours.
fn from_socketcan_id(id: Id) -> CanId {
    match id {
        Id::Standard(s) => CanId::Standard(s.as_raw()),
        Id::Extended(e) => CanId::Extended(e.as_raw()),
    }
}

impl CanTx for SocketCanTx {
    fn send_frame(&mut self, frame: &CanFrame) -> Result<(), LinkError> {
        let bad = |source| LinkError::CanFrame { device: self.iface.clone(), source };
        let id = to_socketcan_id(frame.id()).ok_or(bad(CanFrameError::BadId(frame.id())))?;
        let length = CanFrameError::BadLength { len: frame.data().len(), mode: frame.mode() };
        let written = match frame.mode() {
            CanMode::Classic => {
                let f = CanDataFrame::new(id, frame.data()).ok_or(bad(length))?;
                self.socket.write_frame(&f)
            }
            CanMode::Fd => {
                let f = CanFdFrame::new(id, frame.data()).ok_or(bad(length))?;
                self.socket.write_frame(&f)
            }
        };
        written.map_err(|e| LinkError::io(&self.iface, "CAN write", e))
    }
}

impl CanRx for SocketCanRx {
    fn recv_frame(&mut self, timeout: Duration) -> Result<Option<CanFrame>, LinkError> {
        let frame = match self.socket.read_frame_timeout(timeout) {
            Ok(frame) => frame,
            Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
                return Ok(None)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(None),
            Err(e) => return Err(LinkError::io(&self.iface, "CAN read", e)),
        };
        let (id, mode, data) = match &frame {
            CanAnyFrame::Normal(f) => (f.id(), CanMode::Classic, f.data()),
            CanAnyFrame::Fd(f) => (f.id(), CanMode::Fd, f.data()),
            // Remote and error frames carry no segments.
            _ => return Ok(None),
        };
        let converted = CanFrame::new(from_socketcan_id(id), mode, data)
            .map_err(|source| LinkError::CanFrame { device: self.iface.clone(), source })?;
        Ok(Some(converted))
    }
}

/// Opens `iface` for traffic that sends on `send_id` and receives on `recv_id`.
pub fn open_socketcan(
    iface: &str,
    send_id: CanId,
    recv_id: CanId,
    mode: CanMode,
) -> Result<Link, LinkError> {
    let open = || CanFdSocket::open(iface).map_err(|e| LinkError::io(iface, "CAN socket open", e));
    let tx = open()?;
    let rx = open()?;
    let (raw_id, mask) = match recv_id {
        CanId::Standard(v) => (u32::from(v), 0x7FF | socketcan_flags::EFF),
        CanId::Extended(v) => (v | socketcan_flags::EFF, 0x1FFF_FFFF | socketcan_flags::EFF),
    };
    rx.set_filters(&[CanFilter::new(raw_id, mask)])
        .map_err(|e| LinkError::io(iface, "CAN filter", e))?;
    Ok(isotp_link(
        SocketCanTx { socket: tx, iface: iface.to_owned() },
        SocketCanRx { socket: rx, iface: iface.to_owned() },
        send_id,
        recv_id,
        mode,
        format!("{iface} (send {send_id:?}, receive {recv_id:?})"),
    ))
}

/// The host's link to `arm`'s identifiers on `iface`.
pub fn open_host_socketcan(iface: &str, ids: ArmCanIds, mode: CanMode) -> Result<Link, LinkError> {
    open_socketcan(iface, ids.to_arm, ids.to_host, mode)
}

/// The arm's (or simulator's) link on `iface`.
pub fn open_arm_socketcan(iface: &str, ids: ArmCanIds, mode: CanMode) -> Result<Link, LinkError> {
    open_socketcan(iface, ids.to_host, ids.to_arm, mode)
}

/// Kernel CAN identifier flags.
mod socketcan_flags {
    /// Extended frame format flag in a kernel `can_id`.
    pub const EFF: u32 = 0x8000_0000;
}

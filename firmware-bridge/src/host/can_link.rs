//! Links over CAN: bodies segmented into frames on one identifier per direction.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::link::{Link, LinkError, LinkFault, PacketRx, PacketTx, RxEvent};
use crate::body;
use crate::can::{segment, CanFrame, CanId, CanMode, Reassembler};

/// Sends CAN frames.
pub trait CanTx: Send {
    /// Sends one frame.
    fn send_frame(&mut self, frame: &CanFrame) -> Result<(), LinkError>;
}

/// Receives CAN frames.
pub trait CanRx: Send {
    /// Waits up to `timeout` for a frame; `None` on timeout.
    fn recv_frame(&mut self, timeout: Duration) -> Result<Option<CanFrame>, LinkError>;
}

/// Sends bodies as segmented messages on one identifier.
pub struct IsoTpTx<T> {
    /// The bus.
    tx: T,
    /// Identifier of this direction.
    id: CanId,
    /// Frame kind.
    mode: CanMode,
    /// Name for messages.
    name: String,
}

impl<T: CanTx> PacketTx for IsoTpTx<T> {
    fn send_body(&mut self, body: &[u8]) -> Result<(), LinkError> {
        let segments = segment(body, self.mode)
            .map_err(|source| LinkError::Segment { device: self.name.clone(), source })?;
        for payload in segments {
            let frame = CanFrame::new(self.id, self.mode, &payload)
                .map_err(|source| LinkError::CanFrame { device: self.name.clone(), source })?;
            self.tx.send_frame(&frame)?;
        }
        Ok(())
    }
}

/// Receives segmented messages on one identifier, ignoring every other identifier.
pub struct IsoTpRx<R> {
    /// The bus.
    rx: R,
    /// Identifier of this direction.
    id: CanId,
    /// Reassembly state.
    reassembler: Box<Reassembler>,
    /// Abandoned messages already reported.
    abandoned_reported: u32,
    /// Events not yet returned.
    queue: VecDeque<RxEvent>,
}

impl<R: CanRx> PacketRx for IsoTpRx<R> {
    fn recv(&mut self, timeout: Duration) -> Result<RxEvent, LinkError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(event);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            let Some(frame) = self.rx.recv_frame(remaining)? else {
                return Ok(RxEvent::Idle);
            };
            if frame.id() != self.id {
                continue;
            }
            let result = match self.reassembler.push(frame.data()) {
                Some(Ok(bytes)) => Some(match body::open(bytes) {
                    Ok(message) => RxEvent::Message(message.to_vec()),
                    Err(e) => RxEvent::Corrupt(LinkFault::Body(e)),
                }),
                Some(Err(e)) => Some(RxEvent::Corrupt(LinkFault::Segment(e))),
                None => None,
            };
            if self.reassembler.abandoned() != self.abandoned_reported {
                self.abandoned_reported = self.reassembler.abandoned();
                self.queue.push_back(RxEvent::Corrupt(LinkFault::Abandoned));
            }
            self.queue.extend(result);
            if self.queue.is_empty() && Instant::now() >= deadline {
                return Ok(RxEvent::Idle);
            }
        }
    }
}

/// A link that sends on `send_id` and receives on `recv_id` with frames of kind `mode`.
pub fn isotp_link<T, R>(
    tx: T,
    rx: R,
    send_id: CanId,
    recv_id: CanId,
    mode: CanMode,
    description: impl Into<String>,
) -> Link
where
    T: CanTx + 'static,
    R: CanRx + 'static,
{
    let description = description.into();
    Link {
        tx: Box::new(IsoTpTx { tx, id: send_id, mode, name: description.clone() }),
        rx: Box::new(IsoTpRx {
            rx,
            id: recv_id,
            reassembler: Box::new(Reassembler::new(mode)),
            abandoned_reported: 0,
            queue: VecDeque::new(),
        }),
        description,
    }
}

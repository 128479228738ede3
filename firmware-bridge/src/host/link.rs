//! The transport-independent link: send sealed bodies, receive checked message bytes.
//!
//! Every transport (COBS over a byte stream, ISO-TP over CAN) is split into a sending half
//! ([`PacketTx`]) and a receiving half ([`PacketRx`]) so that one thread can block reading
//! while others send. [`Link`] bundles the two halves with a description for messages.

use std::time::Duration;

use serde::Serialize;

use crate::body::{self, BodyError, EncodeError, MAX_BODY_LEN};
use crate::can::{CanFrameError, IsoTpError};
use crate::frame::FrameError;

/// A transport failure (as opposed to a corrupt frame, which is reported and survived).
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// An operating-system call on the device failed.
    #[error("{device}: {operation} failed: {source}")]
    Io {
        /// Device or link description.
        device: String,
        /// What was being done.
        operation: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The other end closed the link.
    #[error("{device}: link closed by the other end")]
    Closed {
        /// Device or link description.
        device: String,
    },
    /// The device accepted no more bytes for too long (the peer stopped reading).
    #[error("{device}: write blocked for {after:?}; peer not reading")]
    WriteTimeout {
        /// Device or link description.
        device: String,
        /// How long it waited.
        after: std::time::Duration,
    },
    /// A message could not be encoded.
    #[error("{device}: {source}")]
    Encode {
        /// Device or link description.
        device: String,
        /// Why.
        #[source]
        source: EncodeError,
    },
    /// A CAN frame could not be built or sent as requested.
    #[error("{device}: {source}")]
    CanFrame {
        /// Device or link description.
        device: String,
        /// Why.
        #[source]
        source: CanFrameError,
    },
    /// A body could not be segmented.
    #[error("{device}: {source}")]
    Segment {
        /// Device or link description.
        device: String,
        /// Why.
        #[source]
        source: IsoTpError,
    },
    /// The device cannot be configured as asked.
    #[error("{device}: {reason}")]
    Unsupported {
        /// Device or link description.
        device: String,
        /// What is not supported.
        reason: String,
    },
}

impl LinkError {
    /// An [`LinkError::Io`] for `device`.
    pub fn io(device: &str, operation: &'static str, source: std::io::Error) -> Self {
        LinkError::Io { device: device.to_owned(), operation, source }
    }
}

/// A frame or message that failed its checks and was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkFault {
    /// A COBS frame failed (length, COBS, CRC).
    #[error("corrupt frame: {0}")]
    Frame(#[from] FrameError),
    /// A CAN segmentation frame failed.
    #[error("corrupt segmentation: {0}")]
    Segment(#[from] IsoTpError),
    /// A partially received segmented message was abandoned for a new one.
    #[error("incomplete segmented message abandoned")]
    Abandoned,
    /// A complete body failed its CRC or the message did not parse.
    #[error("corrupt message: {0}")]
    Body(#[from] BodyError),
}

/// What one receive call produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RxEvent {
    /// The bytes of one message whose CRC checked out (parse with [`body::parse`]).
    Message(Vec<u8>),
    /// Something arrived but failed its checks.
    Corrupt(LinkFault),
    /// Nothing arrived within the timeout.
    Idle,
}

/// The sending half of a link.
pub trait PacketTx: Send {
    /// Sends one sealed body (message plus CRC, see [`crate::body`]).
    fn send_body(&mut self, body: &[u8]) -> Result<(), LinkError>;
}

/// The receiving half of a link.
pub trait PacketRx: Send {
    /// Waits up to `timeout` for the next message or fault.
    fn recv(&mut self, timeout: Duration) -> Result<RxEvent, LinkError>;
}

/// Both halves of a link and what it is (a device path, an interface name).
pub struct Link {
    /// Sending half.
    pub tx: Box<dyn PacketTx>,
    /// Receiving half.
    pub rx: Box<dyn PacketRx>,
    /// Human-readable description used in errors and logs.
    pub description: String,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").field("description", &self.description).finish_non_exhaustive()
    }
}

/// Encodes `message` and sends it on `tx`.
pub fn send_message<M: Serialize>(
    tx: &mut dyn PacketTx,
    message: &M,
    device: &str,
) -> Result<(), LinkError> {
    let mut buf = [0u8; MAX_BODY_LEN];
    let len = body::encode(message, &mut buf)
        .map_err(|source| LinkError::Encode { device: device.to_owned(), source })?;
    tx.send_body(&buf[..len])
}

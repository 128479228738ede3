//! Carrying bodies over CAN: classic (8-byte) and CAN FD (64-byte) frames with ISO 15765-2
//! (ISO-TP) style segmentation.
//!
//! A body that fits one frame goes as a *single frame*; a longer one as a *first frame*
//! (carrying the total length) followed by *consecutive frames* numbered 1, 2, … 15, 0, 1, ….
//! The receiver checks every sequence number and the total length, and the body's own CRC-32
//! ([`crate::body`]) catches what ISO-TP cannot (for example exactly sixteen lost frames).
//!
//! Simplifications, deliberate and to be kept in mind when talking to other ISO-TP nodes:
//! - **No flow control.** The sender never waits for a flow-control frame and the receiver
//!   never sends one: both ends always have room for the largest body, and each direction of
//!   each arm has its own identifier, so there is nothing to negotiate. Flow-control frames
//!   that do arrive are ignored.
//! - **No reception timeout.** A message left incomplete is abandoned when the next single or
//!   first frame arrives, and counted ([`Reassembler::abandoned`]).
//! - Consecutive frames are full (7 bytes classic, 63 bytes FD) except the last; frames are
//!   padded with `0xCC` to 8 bytes (classic) or to the next valid FD length.
//! - Bodies never exceed 4095 bytes, so the 32-bit first-frame length escape is parsed
//!   only to report such a message as too long.

mod frame;
mod reassemble;
mod segment;

pub use frame::{fd_padded_len, ArmCanIds, CanFrame, CanFrameError, CanId, CanMode};
pub use reassemble::{IsoTpError, Reassembler};
pub use segment::{segment, Segments};

/// Byte used to pad frames to a valid length.
pub const PADDING: u8 = 0xCC;

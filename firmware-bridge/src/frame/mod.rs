//! COBS framing of bodies on byte streams (UART, pseudo-terminals, USB CDC).
//!
//! A frame on the wire is `0x00, COBS(body), 0x00`: COBS removes every zero byte from the
//! body so that zero can delimit frames. The leading zero is redundant on a clean line but
//! means that garbage before a frame (line noise, a half-sent frame from a reset peer) ends
//! in a delimiter and costs nothing but itself: the receiver always resynchronises at the
//! next frame. Empty frames (two zeros in a row) are ignored. A frame whose encoded body is
//! longer than [`MAX_ENCODED_BODY_LEN`] is discarded up to the next zero and reported.

mod decoder;
mod encoder;

pub use decoder::{FrameDecoder, FrameError};
pub use encoder::{encode_frame, frame_body, MAX_ENCODED_BODY_LEN, MAX_FRAME_LEN};

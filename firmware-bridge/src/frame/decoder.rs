//! A streaming frame decoder that accepts bytes in any split and resynchronises on garbage.

use serde::de::DeserializeOwned;

use super::encoder::MAX_ENCODED_BODY_LEN;
use crate::body::{self, BodyError};

/// Why a frame was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// More than [`MAX_ENCODED_BODY_LEN`] bytes arrived without a delimiter.
    #[error("frame exceeded {MAX_ENCODED_BODY_LEN} encoded bytes and was discarded")]
    TooLong,
    /// The bytes between delimiters are not valid COBS.
    #[error("frame is not valid COBS")]
    Cobs,
    /// The decoded body failed its length, CRC or message checks.
    #[error(transparent)]
    Body(#[from] BodyError),
}

/// Accumulates bytes until a delimiter, then decodes and checks the frame.
///
/// Holds one encoded frame (about 1.4 KiB); never allocates.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    /// Encoded bytes of the frame in progress.
    buf: [u8; MAX_ENCODED_BODY_LEN],
    /// Bytes of `buf` in use.
    len: usize,
    /// The frame in progress overflowed; drop bytes until the next delimiter.
    discarding: bool,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// An empty decoder.
    pub const fn new() -> Self {
        Self { buf: [0; MAX_ENCODED_BODY_LEN], len: 0, discarding: false }
    }

    /// Forgets any partial frame (for example after the link was reopened).
    pub fn reset(&mut self) {
        self.len = 0;
        self.discarding = false;
    }

    /// Feeds one byte. At a delimiter that ends a non-empty frame, returns the frame's
    /// message bytes (CRC checked) or the reason it was dropped.
    pub fn push(&mut self, byte: u8) -> Option<Result<&[u8], FrameError>> {
        if byte != 0 {
            if self.discarding {
                return None;
            }
            match self.buf.get_mut(self.len) {
                Some(slot) => {
                    *slot = byte;
                    self.len += 1;
                }
                None => self.discarding = true,
            }
            return None;
        }
        let len = core::mem::take(&mut self.len);
        if core::mem::take(&mut self.discarding) {
            return Some(Err(FrameError::TooLong));
        }
        if len == 0 {
            return None;
        }
        let encoded = &mut self.buf[..len];
        Some(match cobs::decode_in_place(encoded) {
            Ok(decoded) => match encoded.get(..decoded) {
                Some(body) => body::open(body).map_err(FrameError::Body),
                None => Err(FrameError::Cobs),
            },
            Err(_) => Err(FrameError::Cobs),
        })
    }

    /// Feeds one byte and parses a completed frame as a message of type `M`.
    pub fn push_message<M: DeserializeOwned>(&mut self, byte: u8) -> Option<Result<M, FrameError>> {
        self.push(byte).map(|r| r.and_then(|bytes| body::parse(bytes).map_err(FrameError::Body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{encode_frame, MAX_FRAME_LEN};
    use crate::protocol::{HostFrame, HostMessage};

    fn frame(seq: u32) -> ([u8; MAX_FRAME_LEN], usize) {
        let mut out = [0u8; MAX_FRAME_LEN];
        let msg = HostFrame { seq, message: HostMessage::Heartbeat };
        let n = encode_frame(&msg, &mut out).expect("fits");
        (out, n)
    }

    fn decode_all(bytes: &[u8]) -> (usize, usize) {
        let mut dec = FrameDecoder::new();
        let (mut ok, mut err) = (0, 0);
        for &b in bytes {
            match dec.push_message::<HostFrame>(b) {
                Some(Ok(_)) => ok += 1,
                Some(Err(_)) => err += 1,
                None => {}
            }
        }
        (ok, err)
    }

    #[test]
    fn frames_are_delimited_on_both_sides() {
        let (f, n) = frame(3);
        assert_eq!(f[0], 0);
        assert_eq!(f[n - 1], 0);
        assert!(!f[1..n - 1].contains(&0));
        assert_eq!(decode_all(&f[..n]), (1, 0));
    }

    #[test]
    fn overlong_frames_are_discarded_and_the_next_frame_decodes() {
        let mut stream = [0xAAu8; MAX_ENCODED_BODY_LEN + 10].to_vec();
        let (f, n) = frame(1);
        stream.extend_from_slice(&f[..n]);
        assert_eq!(decode_all(&stream), (1, 1));
    }
}

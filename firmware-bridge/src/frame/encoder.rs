//! Turning a message into a delimited COBS frame.

use serde::Serialize;

use crate::body::{self, EncodeError, MAX_BODY_LEN};

/// Largest COBS encoding of a body.
pub const MAX_ENCODED_BODY_LEN: usize = cobs::max_encoding_length(MAX_BODY_LEN);

/// Largest frame on the wire: the encoded body between two delimiters.
pub const MAX_FRAME_LEN: usize = MAX_ENCODED_BODY_LEN + 2;

/// Wraps an already sealed body as `0x00, COBS(body), 0x00`; returns the frame length.
pub fn frame_body(body: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    let capacity = out.len();
    let needed = cobs::max_encoding_length(body.len()) + 2;
    if body.len() > MAX_BODY_LEN || capacity < needed {
        return Err(EncodeError::TooLarge { capacity });
    }
    out[0] = 0;
    let encoded = cobs::try_encode(body, &mut out[1..needed - 1])
        .map_err(|_| EncodeError::TooLarge { capacity })?;
    out[1 + encoded] = 0;
    Ok(encoded + 2)
}

/// Encodes `message` as a complete frame in `out`; returns the frame length.
///
/// `out` of [`MAX_FRAME_LEN`] bytes always suffices for a message within the body limit.
pub fn encode_frame<M: Serialize>(message: &M, out: &mut [u8]) -> Result<usize, EncodeError> {
    let mut body = [0u8; MAX_BODY_LEN];
    let len = body::encode(message, &mut body)?;
    frame_body(&body[..len], out)
}

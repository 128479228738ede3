//! The integrity-checked body every transport carries: a postcard message followed by the
//! CRC-32 (ISO-HDLC, the Ethernet/zlib polynomial, little-endian) of its bytes.
//!
//! Byte streams wrap a body in COBS ([`crate::frame`]); CAN segments it ([`crate::can`]).
//! The CRC is checked before the message is parsed, and parsing refuses trailing bytes, so a
//! corrupted body is reported rather than misread. CRC-32/ISO-HDLC is chosen because
//! microcontrollers commonly compute it in hardware (for example the STM32 CRC unit).

use crc::{Crc, CRC_32_ISO_HDLC};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Largest postcard message either side sends or accepts, in bytes. The largest message, a
/// full action chunk, needs about 1,300.
pub const MAX_MESSAGE_LEN: usize = 1400;

/// Length of the CRC trailer.
pub const CRC_LEN: usize = 4;

/// Largest body: the largest message plus its CRC.
pub const MAX_BODY_LEN: usize = MAX_MESSAGE_LEN + CRC_LEN;

/// The CRC algorithm (table-driven, table computed at compile time).
const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// CRC-32/ISO-HDLC of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC32.checksum(bytes)
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message, or the buffer given for it, exceeds the limit.
    #[error("message does not fit in {capacity} bytes (limit {MAX_MESSAGE_LEN} plus CRC)")]
    TooLarge {
        /// Bytes that were available for the message and its CRC.
        capacity: usize,
    },
    /// The serializer failed for another reason.
    #[error("message could not be serialized: {0}")]
    Serialize(postcard::Error),
}

/// Why a received body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Too short to hold a CRC and a message.
    #[error("body of {len} bytes is too short for a message and its CRC")]
    TooShort {
        /// Length received.
        len: usize,
    },
    /// Longer than [`MAX_BODY_LEN`].
    #[error("body of {len} bytes exceeds the {MAX_BODY_LEN}-byte limit")]
    TooLong {
        /// Length received.
        len: usize,
    },
    /// The CRC does not match the bytes.
    #[error("body CRC mismatch: trailer says {received:#010x}, bytes give {computed:#010x}")]
    Crc {
        /// The CRC in the trailer.
        received: u32,
        /// The CRC of the received bytes.
        computed: u32,
    },
    /// The bytes passed the CRC but are not a valid message of the expected type.
    #[error("message could not be parsed: {0}")]
    Parse(postcard::Error),
    /// The message parsed but bytes were left over.
    #[error("message parsed with {count} bytes left over")]
    TrailingBytes {
        /// Bytes left over.
        count: usize,
    },
}

/// Serializes `message` into `out` and appends its CRC; returns the body length.
pub fn encode<M: Serialize>(message: &M, out: &mut [u8]) -> Result<usize, EncodeError> {
    let capacity = out.len().min(MAX_BODY_LEN);
    let message_space = capacity.checked_sub(CRC_LEN).ok_or(EncodeError::TooLarge { capacity })?;
    let (message_buf, _) = out.split_at_mut(message_space);
    let len = match postcard::to_slice(message, message_buf) {
        Ok(used) => used.len(),
        Err(postcard::Error::SerializeBufferFull) => {
            return Err(EncodeError::TooLarge { capacity })
        }
        Err(e) => return Err(EncodeError::Serialize(e)),
    };
    let crc = crc32(&out[..len]).to_le_bytes();
    out[len..len + CRC_LEN].copy_from_slice(&crc);
    Ok(len + CRC_LEN)
}

/// Checks a body's length and CRC; returns the message bytes.
pub fn open(body: &[u8]) -> Result<&[u8], BodyError> {
    if body.len() > MAX_BODY_LEN {
        return Err(BodyError::TooLong { len: body.len() });
    }
    let split = body.len().checked_sub(CRC_LEN).filter(|&n| n > 0);
    let (message, trailer) = body.split_at(split.ok_or(BodyError::TooShort { len: body.len() })?);
    let mut crc = [0u8; CRC_LEN];
    crc.copy_from_slice(trailer);
    let received = u32::from_le_bytes(crc);
    let computed = crc32(message);
    if received != computed {
        return Err(BodyError::Crc { received, computed });
    }
    Ok(message)
}

/// Parses message bytes (already CRC-checked), refusing trailing bytes.
pub fn parse<M: DeserializeOwned>(message: &[u8]) -> Result<M, BodyError> {
    let (value, rest) = postcard::take_from_bytes(message).map_err(BodyError::Parse)?;
    if !rest.is_empty() {
        return Err(BodyError::TrailingBytes { count: rest.len() });
    }
    Ok(value)
}

/// [`open`] then [`parse`].
pub fn decode<M: DeserializeOwned>(body: &[u8]) -> Result<M, BodyError> {
    parse(open(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{HostFrame, HostMessage};

    #[test]
    fn crc_matches_the_published_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn encode_then_decode() {
        let msg = HostFrame { seq: 7, message: HostMessage::TimeSync { host_send_us: 99 } };
        let mut buf = [0u8; MAX_BODY_LEN];
        let n = encode(&msg, &mut buf).expect("fits");
        assert_eq!(decode::<HostFrame>(&buf[..n]), Ok(msg));
    }

    #[test]
    fn errors_are_reported() {
        let msg = HostFrame { seq: 7, message: HostMessage::Heartbeat };
        let mut buf = [0u8; 64];
        let n = encode(&msg, &mut buf).expect("fits");
        assert_eq!(decode::<HostFrame>(&buf[..CRC_LEN]), Err(BodyError::TooShort { len: 4 }));
        buf[0] ^= 1;
        assert!(matches!(decode::<HostFrame>(&buf[..n]), Err(BodyError::Crc { .. })));
        let mut small = [0u8; 5];
        assert_eq!(encode(&msg, &mut small), Err(EncodeError::TooLarge { capacity: 5 }));
        let long = [0u8; MAX_BODY_LEN + 1];
        assert_eq!(open(&long), Err(BodyError::TooLong { len: MAX_BODY_LEN + 1 }));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = [0u8; 16];
        let used =
            postcard::to_slice(&HostFrame { seq: 1, message: HostMessage::Enable }, &mut bytes)
                .expect("fits")
                .len();
        assert_eq!(
            parse::<HostFrame>(&bytes[..used + 2]),
            Err(BodyError::TrailingBytes { count: 2 })
        );
    }
}

//! Reassembling a body from single, first and consecutive frame payloads.

use super::frame::CanMode;
use super::segment::{
    consecutive_capacity, first_frame_capacity, CLASSIC_SINGLE_MAX, FD_SINGLE_MAX, PCI_CONSECUTIVE,
    PCI_FIRST, PCI_FLOW_CONTROL, PCI_SINGLE,
};
use crate::body::MAX_BODY_LEN;

/// Why a frame or a segmented message was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IsoTpError {
    /// The frame has no payload, a length field that does not match its payload, or a
    /// payload too long for the bus kind.
    #[error("segmentation frame has an invalid length")]
    BadLength,
    /// The message announced is longer than a body can be.
    #[error("segmented message of {len} bytes exceeds the {MAX_BODY_LEN}-byte limit")]
    TooLong {
        /// Announced length.
        len: usize,
    },
    /// The frame type nibble is not single, first, consecutive or flow control.
    #[error("unknown segmentation frame type {pci:#04x}")]
    BadPci {
        /// The first payload byte.
        pci: u8,
    },
    /// A consecutive frame arrived while no message was being received.
    #[error("consecutive frame without a first frame")]
    UnexpectedConsecutive,
    /// A consecutive frame's sequence number is not the next one: frames were lost,
    /// repeated or reordered. The partial message is dropped.
    #[error("consecutive frame sequence {got}, expected {expected}")]
    SequenceGap {
        /// The number expected.
        expected: u8,
        /// The number received.
        got: u8,
    },
}

/// Collects the frames of one message at a time from one identifier.
///
/// Holds one body (about 1.4 KiB); never allocates.
#[derive(Debug, Clone)]
pub struct Reassembler {
    /// Bus kind, which fixes how many bytes a consecutive frame carries.
    mode: CanMode,
    /// The message in progress.
    buf: [u8; MAX_BODY_LEN],
    /// Announced length of the message in progress.
    expected: usize,
    /// Bytes received of the message in progress.
    received: usize,
    /// Sequence number the next consecutive frame must carry.
    next_sn: u8,
    /// Whether a message is in progress.
    receiving: bool,
    /// Partial messages abandoned because a new single or first frame arrived.
    abandoned: u32,
}

impl Reassembler {
    /// An idle reassembler for a bus of kind `mode`.
    pub const fn new(mode: CanMode) -> Self {
        Self {
            mode,
            buf: [0; MAX_BODY_LEN],
            expected: 0,
            received: 0,
            next_sn: 1,
            receiving: false,
            abandoned: 0,
        }
    }

    /// Partial messages abandoned so far because a new message started before they ended.
    pub const fn abandoned(&self) -> u32 {
        self.abandoned
    }

    /// Feeds one frame payload. Returns a completed body, or the reason a frame or a partial
    /// message was dropped.
    pub fn push(&mut self, data: &[u8]) -> Option<Result<&[u8], IsoTpError>> {
        let Some(&pci) = data.first() else {
            return Some(Err(IsoTpError::BadLength));
        };
        if data.len() > self.mode.max_len() {
            return Some(Err(IsoTpError::BadLength));
        }
        match pci & 0xF0 {
            PCI_SINGLE => {
                self.abandon_partial();
                Some(self.single(pci, data))
            }
            PCI_FIRST => {
                self.abandon_partial();
                self.first(pci, data).err().map(Err)
            }
            PCI_CONSECUTIVE => self.consecutive(pci, data),
            PCI_FLOW_CONTROL => None,
            _ => Some(Err(IsoTpError::BadPci { pci })),
        }
    }

    /// Drops the message in progress, counting it.
    fn abandon_partial(&mut self) {
        if self.receiving {
            self.receiving = false;
            self.abandoned = self.abandoned.saturating_add(1);
        }
    }

    /// A single frame: the whole body in one payload.
    fn single(&mut self, pci: u8, data: &[u8]) -> Result<&[u8], IsoTpError> {
        let short_len = usize::from(pci & 0x0F);
        let (len, start) = match (short_len, self.mode) {
            (1..=CLASSIC_SINGLE_MAX, _) => (short_len, 1),
            (0, CanMode::Fd) => {
                let len = usize::from(*data.get(1).ok_or(IsoTpError::BadLength)?);
                if !(CLASSIC_SINGLE_MAX < len && len <= FD_SINGLE_MAX) {
                    return Err(IsoTpError::BadLength);
                }
                (len, 2)
            }
            _ => return Err(IsoTpError::BadLength),
        };
        let payload = data.get(start..start + len).ok_or(IsoTpError::BadLength)?;
        self.buf[..len].copy_from_slice(payload);
        Ok(&self.buf[..len])
    }

    /// A first frame: the announced length and the first bytes.
    fn first(&mut self, pci: u8, data: &[u8]) -> Result<(), IsoTpError> {
        let short_len = (usize::from(pci & 0x0F) << 8)
            | usize::from(*data.get(1).ok_or(IsoTpError::BadLength)?);
        let (len, start) = if short_len == 0 {
            let bytes = data.get(2..6).ok_or(IsoTpError::BadLength)?;
            let escaped = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            (usize::try_from(escaped).unwrap_or(usize::MAX), 6)
        } else {
            (short_len, 2)
        };
        if len > MAX_BODY_LEN {
            return Err(IsoTpError::TooLong { len });
        }
        let single_max = match self.mode {
            CanMode::Classic => CLASSIC_SINGLE_MAX,
            CanMode::Fd => FD_SINGLE_MAX,
        };
        if len <= single_max || data.len() != self.mode.max_len() {
            return Err(IsoTpError::BadLength);
        }
        let take = first_frame_capacity(self.mode);
        let payload = data.get(start..start + take).ok_or(IsoTpError::BadLength)?;
        self.buf[..take].copy_from_slice(payload);
        self.expected = len;
        self.received = take;
        self.next_sn = 1;
        self.receiving = true;
        Ok(())
    }

    /// A consecutive frame: the next bytes of the message in progress.
    fn consecutive(&mut self, pci: u8, data: &[u8]) -> Option<Result<&[u8], IsoTpError>> {
        if !self.receiving {
            return Some(Err(IsoTpError::UnexpectedConsecutive));
        }
        let sn = pci & 0x0F;
        if sn != self.next_sn {
            self.receiving = false;
            return Some(Err(IsoTpError::SequenceGap { expected: self.next_sn, got: sn }));
        }
        let take = consecutive_capacity(self.mode).min(self.expected - self.received);
        let Some(payload) = data.get(1..1 + take) else {
            self.receiving = false;
            return Some(Err(IsoTpError::BadLength));
        };
        self.buf[self.received..self.received + take].copy_from_slice(payload);
        self.received += take;
        self.next_sn = (sn + 1) & 0x0F;
        if self.received < self.expected {
            return None;
        }
        self.receiving = false;
        Some(Ok(&self.buf[..self.expected]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::can::segment;

    fn reassemble(body: &[u8], mode: CanMode) -> std::vec::Vec<u8> {
        let mut r = Reassembler::new(mode);
        let mut out = None;
        for f in segment(body, mode).expect("segmentable") {
            if let Some(result) = r.push(&f) {
                out = Some(result.expect("clean frames").to_vec());
            }
        }
        out.expect("message completed")
    }

    #[test]
    fn round_trips_every_length_in_both_modes() {
        for len in 1..=MAX_BODY_LEN {
            let body: std::vec::Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            assert_eq!(reassemble(&body, CanMode::Classic), body, "classic {len}");
            assert_eq!(reassemble(&body, CanMode::Fd), body, "fd {len}");
        }
    }

    #[test]
    fn a_lost_consecutive_frame_is_a_sequence_gap() {
        let body = [3u8; 40];
        let frames: std::vec::Vec<_> = segment(&body, CanMode::Classic).expect("ok").collect();
        let mut r = Reassembler::new(CanMode::Classic);
        assert_eq!(r.push(&frames[0]), None);
        assert_eq!(r.push(&frames[2]), Some(Err(IsoTpError::SequenceGap { expected: 1, got: 2 })));
        assert_eq!(r.push(&frames[3]), Some(Err(IsoTpError::UnexpectedConsecutive)));
    }

    #[test]
    fn a_new_message_abandons_the_partial_one() {
        let long = [3u8; 40];
        let short = [9u8; 3];
        let long_frames: std::vec::Vec<_> = segment(&long, CanMode::Classic).expect("ok").collect();
        let short_frame = segment(&short, CanMode::Classic).expect("ok").next().expect("one");
        let mut r = Reassembler::new(CanMode::Classic);
        assert_eq!(r.push(&long_frames[0]), None);
        assert_eq!(r.push(&short_frame), Some(Ok(&short[..])));
        assert_eq!(r.abandoned(), 1);
    }

    #[test]
    fn flow_control_is_ignored_and_bad_types_reported() {
        let mut r = Reassembler::new(CanMode::Classic);
        assert_eq!(r.push(&[0x30, 0, 0]), None);
        assert_eq!(r.push(&[0x40]), Some(Err(IsoTpError::BadPci { pci: 0x40 })));
        assert_eq!(r.push(&[]), Some(Err(IsoTpError::BadLength)));
        assert_eq!(
            r.push(&[0x10, 0, 0, 0, 0x10, 0, 0, 0]),
            Some(Err(IsoTpError::TooLong { len: 0x1000 }))
        );
    }

    #[test]
    fn fd_frames_on_a_classic_receiver_are_refused() {
        let mut r = Reassembler::new(CanMode::Classic);
        assert_eq!(r.push(&[0x00; 12]), Some(Err(IsoTpError::BadLength)));
    }
}

//! Splitting a body into single, first and consecutive frame payloads.

use heapless::Vec;

use super::frame::{fd_padded_len, CanMode, FD_MAX_LEN};
use super::reassemble::IsoTpError;
use super::PADDING;
use crate::body::MAX_BODY_LEN;

/// Protocol control information: single frame.
pub(super) const PCI_SINGLE: u8 = 0x00;
/// Protocol control information: first frame.
pub(super) const PCI_FIRST: u8 = 0x10;
/// Protocol control information: consecutive frame.
pub(super) const PCI_CONSECUTIVE: u8 = 0x20;
/// Protocol control information: flow control.
pub(super) const PCI_FLOW_CONTROL: u8 = 0x30;

/// Largest body a classic single frame carries.
pub(super) const CLASSIC_SINGLE_MAX: usize = 7;
/// Largest body an FD single frame (with the escape length byte) carries.
pub(super) const FD_SINGLE_MAX: usize = 62;
/// Largest length the 12-bit first-frame field holds.
pub(super) const FIRST_FRAME_MAX_LEN: usize = 0xFFF;

/// Body bytes a first frame carries.
pub(super) const fn first_frame_capacity(mode: CanMode) -> usize {
    mode.max_len() - 2
}

/// Body bytes a full consecutive frame carries.
pub(super) const fn consecutive_capacity(mode: CanMode) -> usize {
    mode.max_len() - 1
}

/// The frame payloads of one body, in order. Build with [`segment`].
#[derive(Debug, Clone)]
pub struct Segments<'a> {
    /// The whole body.
    body: &'a [u8],
    /// Frame kind.
    mode: CanMode,
    /// Body bytes already emitted.
    offset: usize,
    /// Sequence number of the next consecutive frame.
    next_sn: u8,
    /// Whether the first (single or first) frame was emitted.
    started: bool,
}

/// Segments `body` for a bus of kind `mode`.
pub fn segment(body: &[u8], mode: CanMode) -> Result<Segments<'_>, IsoTpError> {
    if body.len() > MAX_BODY_LEN || body.len() > FIRST_FRAME_MAX_LEN {
        return Err(IsoTpError::TooLong { len: body.len() });
    }
    if body.is_empty() {
        return Err(IsoTpError::BadLength);
    }
    Ok(Segments { body, mode, offset: 0, next_sn: 1, started: false })
}

impl Segments<'_> {
    /// Number of frames this body takes in total.
    pub fn frame_count(&self) -> usize {
        let len = self.body.len();
        if fits_single(len, self.mode) {
            return 1;
        }
        let rest = len - first_frame_capacity(self.mode);
        1 + rest.div_ceil(consecutive_capacity(self.mode))
    }

    /// The first frame of the message (single or first frame).
    fn opening(&mut self) -> Vec<u8, FD_MAX_LEN> {
        let len = self.body.len();
        let mut out = Vec::new();
        let header: &[u8] = if len <= CLASSIC_SINGLE_MAX {
            &[PCI_SINGLE | len as u8]
        } else if fits_single(len, self.mode) {
            &[PCI_SINGLE, len as u8]
        } else {
            &[PCI_FIRST | (len >> 8) as u8, len as u8]
        };
        let take = (self.mode.max_len() - header.len()).min(len);
        extend(&mut out, header);
        extend(&mut out, &self.body[..take]);
        self.offset = take;
        pad(&mut out, self.mode);
        out
    }

    /// The next consecutive frame.
    fn consecutive(&mut self) -> Vec<u8, FD_MAX_LEN> {
        let take = consecutive_capacity(self.mode).min(self.body.len() - self.offset);
        let mut out = Vec::new();
        extend(&mut out, &[PCI_CONSECUTIVE | self.next_sn]);
        extend(&mut out, &self.body[self.offset..self.offset + take]);
        self.offset += take;
        self.next_sn = (self.next_sn + 1) & 0x0F;
        pad(&mut out, self.mode);
        out
    }
}

impl Iterator for Segments<'_> {
    type Item = Vec<u8, FD_MAX_LEN>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.started = true;
            return Some(self.opening());
        }
        if self.offset >= self.body.len() {
            return None;
        }
        Some(self.consecutive())
    }
}

/// True when a body of `len` bytes goes as a single frame.
const fn fits_single(len: usize, mode: CanMode) -> bool {
    match mode {
        CanMode::Classic => len <= CLASSIC_SINGLE_MAX,
        CanMode::Fd => len <= FD_SINGLE_MAX,
    }
}

/// Appends bytes that are known to fit (callers never exceed one frame).
fn extend(out: &mut Vec<u8, FD_MAX_LEN>, bytes: &[u8]) {
    for &b in bytes {
        if out.push(b).is_err() {
            return;
        }
    }
}

/// Pads to 8 bytes (classic) or to the next valid FD length.
fn pad(out: &mut Vec<u8, FD_MAX_LEN>, mode: CanMode) {
    let target = match mode {
        CanMode::Classic => 8,
        CanMode::Fd => fd_padded_len(out.len()).unwrap_or(FD_MAX_LEN).max(8),
    };
    while out.len() < target {
        if out.push(PADDING).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_segmentation_layout() {
        let body: [u8; 20] = core::array::from_fn(|i| i as u8);
        let frames: std::vec::Vec<_> = segment(&body, CanMode::Classic).expect("ok").collect();
        assert_eq!(frames.len(), 3);
        assert_eq!(&frames[0][..], &[0x10, 20, 0, 1, 2, 3, 4, 5]);
        assert_eq!(&frames[1][..], &[0x21, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(&frames[2][..], &[0x22, 13, 14, 15, 16, 17, 18, 19]);
    }

    #[test]
    fn fd_single_frame_uses_the_escape_and_padding() {
        let body = [7u8; 10];
        let frames: std::vec::Vec<_> = segment(&body, CanMode::Fd).expect("ok").collect();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].len(), 12);
        assert_eq!(&frames[0][..2], &[0x00, 10]);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let body = [1u8; 6 + 7 * 17];
        let sns: std::vec::Vec<u8> =
            segment(&body, CanMode::Classic).expect("ok").skip(1).map(|f| f[0] & 0x0F).collect();
        assert_eq!(sns.len(), 17);
        assert_eq!(sns[14], 15);
        assert_eq!(sns[15], 0);
        assert_eq!(sns[16], 1);
    }

    #[test]
    fn frame_count_matches_iteration() {
        for len in [1, 7, 8, 62, 63, 200, MAX_BODY_LEN] {
            let body = std::vec![0u8; len];
            for mode in [CanMode::Classic, CanMode::Fd] {
                let s = segment(&body, mode).expect("ok");
                assert_eq!(s.frame_count(), s.clone().count(), "len {len} {mode:?}");
            }
        }
    }
}

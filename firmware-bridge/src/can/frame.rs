//! A CAN or CAN FD data frame, identifiers, and the per-arm identifier plan.

use heapless::Vec;

use crate::protocol::ArmId;

/// Largest CAN FD payload.
pub const FD_MAX_LEN: usize = 64;

/// Largest classic CAN payload.
pub const CLASSIC_MAX_LEN: usize = 8;

/// Payload lengths a CAN FD frame can have (the DLC table).
const FD_LENGTHS: [usize; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64];

/// Smallest valid CAN FD payload length that holds `len` bytes, or `None` above 64.
pub const fn fd_padded_len(len: usize) -> Option<usize> {
    let mut i = 0;
    while i < FD_LENGTHS.len() {
        if FD_LENGTHS[i] >= len {
            return Some(FD_LENGTHS[i]);
        }
        i += 1;
    }
    None
}

/// Which kind of frames a bus carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanMode {
    /// Classic CAN, payloads up to 8 bytes.
    Classic,
    /// CAN FD, payloads up to 64 bytes.
    Fd,
}

impl CanMode {
    /// Largest payload of one frame.
    pub const fn max_len(self) -> usize {
        match self {
            CanMode::Classic => CLASSIC_MAX_LEN,
            CanMode::Fd => FD_MAX_LEN,
        }
    }
}

/// A CAN identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CanId {
    /// 11-bit identifier.
    Standard(u16),
    /// 29-bit identifier.
    Extended(u32),
}

impl CanId {
    /// True when the value fits its identifier width.
    pub const fn is_valid(self) -> bool {
        match self {
            CanId::Standard(id) => id <= 0x7FF,
            CanId::Extended(id) => id <= 0x1FFF_FFFF,
        }
    }
}

/// The identifiers one arm's traffic uses: host-to-arm `0x100 + 2 * index`, arm-to-host
/// `0x101 + 2 * index` (standard 11-bit), with index 0 for the left arm and 1 for the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArmCanIds {
    /// Frames from the host to the arm.
    pub to_arm: CanId,
    /// Frames from the arm to the host.
    pub to_host: CanId,
}

impl ArmCanIds {
    /// The default identifier plan for `arm`.
    pub const fn for_arm(arm: ArmId) -> Self {
        let base = 0x100 + 2 * arm.index() as u16;
        Self { to_arm: CanId::Standard(base), to_host: CanId::Standard(base + 1) }
    }
}

/// Why a frame could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CanFrameError {
    /// The identifier does not fit its width.
    #[error("CAN identifier {0:?} does not fit its width")]
    BadId(CanId),
    /// The payload length is not valid for the frame kind.
    #[error("{len}-byte payload is not a valid {mode:?} CAN frame length")]
    BadLength {
        /// Length given.
        len: usize,
        /// Frame kind.
        mode: CanMode,
    },
}

/// One data frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanFrame {
    /// Identifier.
    id: CanId,
    /// Whether this is a CAN FD frame.
    fd: bool,
    /// Payload.
    data: Vec<u8, FD_MAX_LEN>,
}

impl CanFrame {
    /// Builds a frame, checking the identifier and that the length is valid for the kind.
    pub fn new(id: CanId, mode: CanMode, data: &[u8]) -> Result<Self, CanFrameError> {
        if !id.is_valid() {
            return Err(CanFrameError::BadId(id));
        }
        let len = data.len();
        let valid = match mode {
            CanMode::Classic => len <= CLASSIC_MAX_LEN,
            CanMode::Fd => fd_padded_len(len) == Some(len),
        };
        let data = Vec::from_slice(data).ok().filter(|_| valid);
        let data = data.ok_or(CanFrameError::BadLength { len, mode })?;
        Ok(Self { id, fd: mode == CanMode::Fd, data })
    }

    /// Identifier.
    pub const fn id(&self) -> CanId {
        self.id
    }

    /// Kind of frame.
    pub const fn mode(&self) -> CanMode {
        if self.fd {
            CanMode::Fd
        } else {
            CanMode::Classic
        }
    }

    /// Payload.
    pub fn data(&self) -> &[u8] {
        &self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_lengths_round_up() {
        assert_eq!(fd_padded_len(0), Some(0));
        assert_eq!(fd_padded_len(9), Some(12));
        assert_eq!(fd_padded_len(49), Some(64));
        assert_eq!(fd_padded_len(65), None);
    }

    #[test]
    fn frame_lengths_and_ids_are_checked() {
        let id = CanId::Standard(0x100);
        assert!(CanFrame::new(id, CanMode::Classic, &[0; 8]).is_ok());
        assert!(CanFrame::new(id, CanMode::Classic, &[0; 9]).is_err());
        assert!(CanFrame::new(id, CanMode::Fd, &[0; 12]).is_ok());
        assert!(CanFrame::new(id, CanMode::Fd, &[0; 13]).is_err());
        assert!(CanFrame::new(CanId::Standard(0x800), CanMode::Classic, &[]).is_err());
        assert!(CanFrame::new(CanId::Extended(0x1FFF_FFFF), CanMode::Fd, &[]).is_ok());
    }

    #[test]
    fn arms_get_distinct_ids() {
        let l = ArmCanIds::for_arm(ArmId::Left);
        let r = ArmCanIds::for_arm(ArmId::Right);
        let all = [l.to_arm, l.to_host, r.to_arm, r.to_host];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}

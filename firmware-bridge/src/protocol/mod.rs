//! The messages exchanged between the host and an arm, and their versioning.

mod flags;
mod messages;
mod pose;
mod version;

pub use flags::{Capabilities, FaultFlags, StatusFlags};
pub use messages::{
    AckCode, ActionChunk, ArmId, ArmInfo, ArmLimits, ArmMessage, ArmState, ChunkError,
    FirmwareVersion, HostFrame, HostHello, HostMessage, LimitsError, Mode, TimeSyncReply,
    MAX_JOINTS, MAX_STEPS,
};
pub use pose::{ArmPose, POSE_LEN};
pub use version::{check_compatible, Incompatible, PROTOCOL_VERSION, SCHEMA_HASH};

pub(crate) use pose::norm3;

//! Bit sets carried in messages: arm capabilities, status bits and fault bits.
//!
//! Each is a transparent integer newtype so that unknown bits from a newer peer survive a
//! round trip and can be printed, rather than failing to decode.

use postcard_schema::Schema;
use serde::{Deserialize, Serialize};

/// Defines a bit-set newtype with named constants and the usual set operations.
macro_rules! bit_set {
    (
        $(#[$meta:meta])*
        $name:ident($int:ty) {
            $( $(#[$bit_meta:meta])* const $bit:ident = $value:expr; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Schema)]
        pub struct $name(pub $int);

        impl $name {
            $( $(#[$bit_meta])* pub const $bit: Self = Self($value); )*
            /// The empty set.
            pub const NONE: Self = Self(0);

            /// True when every bit of `other` is set in `self`.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// `self` with the bits of `other` added.
            pub const fn with(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }

            /// `self` with the bits of `other` removed.
            pub const fn without(self, other: Self) -> Self {
                Self(self.0 & !other.0)
            }

            /// Adds or removes the bits of `other`.
            pub fn set(&mut self, other: Self, on: bool) {
                *self = if on { self.with(other) } else { self.without(other) };
            }

            /// True when no bit is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }
        }
    };
}

bit_set! {
    /// What an arm's firmware supports, announced in its hello.
    Capabilities(u32) {
        /// The arm can exchange CAN FD frames (64-byte payloads).
        const CAN_FD = 1 << 0;
        /// The arm reports joint positions in its state messages.
        const JOINT_STATE = 1 << 1;
        /// The arm has a gripper driven by the last pose component.
        const GRIPPER = 1 << 2;
        /// The arm has its own hardware e-stop input that also latches the e-stop.
        const HARDWARE_ESTOP = 1 << 3;
    }
}

bit_set! {
    /// Conditions of the arm's state machine, reported in every state message.
    StatusFlags(u16) {
        /// A host completed a hello with matching version and schema.
        const GREETED = 1 << 0;
        /// A chunk is being executed (time is inside it, or its last step is being held).
        const CHUNK_ACTIVE = 1 << 1;
        /// A chunk was accepted whose start time has not come yet.
        const CHUNK_PENDING = 1 << 2;
        /// The setpoint is decelerating towards a hold (watchdog or e-stop).
        const BRAKING = 1 << 3;
        /// The motors are powered and hold or track the setpoint.
        const POWERED = 1 << 4;
    }
}

bit_set! {
    /// Faults and safety events. `WATCHDOG` and `ESTOP` describe the present; the other
    /// bits are events since the previous state message (cleared once reported).
    FaultFlags(u16) {
        /// The watchdog expired: the arm is holding its pose until a new chunk arrives.
        const WATCHDOG = 1 << 0;
        /// The e-stop is latched until an explicit clear.
        const ESTOP = 1 << 1;
        /// Targets of an accepted chunk were clamped into the workspace or gripper range.
        const TARGET_CLAMPED = 1 << 2;
        /// A chunk with NaN or infinite values (or a degenerate rotation) was rejected.
        const NON_FINITE_REJECTED = 1 << 3;
        /// The setpoint was limited by the per-tick step or velocity limit.
        const STEP_LIMITED = 1 << 4;
        /// A corrupt frame (bad COBS, CRC, segmentation or message) was received.
        const CORRUPT_FRAME = 1 << 5;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let mut f = FaultFlags::NONE.with(FaultFlags::ESTOP);
        assert!(f.contains(FaultFlags::ESTOP));
        assert!(!f.contains(FaultFlags::WATCHDOG));
        f.set(FaultFlags::WATCHDOG, true);
        assert!(f.contains(FaultFlags::ESTOP.with(FaultFlags::WATCHDOG)));
        f.set(FaultFlags::ESTOP, false);
        assert_eq!(f, FaultFlags::WATCHDOG);
        assert!(f.without(FaultFlags::WATCHDOG).is_empty());
    }
}

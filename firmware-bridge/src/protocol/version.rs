//! Protocol version and schema hash, and the compatibility check both ends run at hello.
//!
//! [`SCHEMA_HASH`] is computed at compile time from the message definitions themselves:
//! `postcard-schema` derives a description of every field and variant (names and types, in
//! order) of [`HostFrame`] and [`ArmMessage`], `Key::for_path` hashes it with FNV-1a, and the
//! capacities that the derived schema cannot see (most steps, most joints, largest message)
//! are folded in. Any change to the layout therefore changes the hash without anyone having to
//! remember to bump it, and two builds from different message definitions refuse each other
//! at hello. [`PROTOCOL_VERSION`] is bumped by hand when the *meaning* of a message changes
//! while its layout does not (for example, a unit change).

use postcard_schema::key::Key;

use super::messages::{AckCode, ArmMessage, HostFrame, MAX_JOINTS, MAX_STEPS};
use crate::body::MAX_MESSAGE_LEN;

/// Version of the message semantics; bumped by hand on changes the schema hash cannot see.
pub const PROTOCOL_VERSION: u16 = 1;

/// Hash of the message layouts in both directions and of the capacity limits.
pub const SCHEMA_HASH: u64 = schema_hash();

/// FNV-1a 64-bit offset basis.
const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over `bytes`, continuing from `state`.
const fn fnv1a(mut state: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        state ^= bytes[i] as u64;
        state = state.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    state
}

/// Combines the derived schemas of both directions with the capacities.
const fn schema_hash() -> u64 {
    let host = Key::for_path::<HostFrame>("twinvla/host-to-arm").to_bytes();
    let arm = Key::for_path::<ArmMessage>("twinvla/arm-to-host").to_bytes();
    let mut state = fnv1a(FNV_BASIS, &host);
    state = fnv1a(state, &arm);
    state = fnv1a(state, &(MAX_STEPS as u32).to_le_bytes());
    state = fnv1a(state, &(MAX_JOINTS as u32).to_le_bytes());
    fnv1a(state, &(MAX_MESSAGE_LEN as u32).to_le_bytes())
}

/// Why a peer's hello was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Incompatible {
    /// The peers speak different protocol versions.
    #[error("protocol version mismatch: this side speaks {ours}, the peer speaks {theirs}")]
    Version {
        /// This side's version.
        ours: u16,
        /// The peer's version.
        theirs: u16,
    },
    /// The peers were built from different message definitions.
    #[error(
        "message schema mismatch: this side has {ours:#018x}, the peer has {theirs:#018x} \
         (rebuild both from the same firmware-bridge version)"
    )]
    Schema {
        /// This side's hash.
        ours: u64,
        /// The peer's hash.
        theirs: u64,
    },
}

impl Incompatible {
    /// The acknowledgement code that reports this refusal on the wire.
    pub const fn ack_code(self) -> AckCode {
        match self {
            Incompatible::Version { .. } => AckCode::VersionMismatch,
            Incompatible::Schema { .. } => AckCode::SchemaMismatch,
        }
    }
}

/// Checks a peer's version and schema hash against this build's.
pub const fn check_compatible(protocol_version: u16, schema_hash: u64) -> Result<(), Incompatible> {
    if protocol_version != PROTOCOL_VERSION {
        return Err(Incompatible::Version { ours: PROTOCOL_VERSION, theirs: protocol_version });
    }
    if schema_hash != SCHEMA_HASH {
        return Err(Incompatible::Schema { ours: SCHEMA_HASH, theirs: schema_hash });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use postcard_schema::Schema;
    use serde::{Deserialize, Serialize};

    /// The hash of the current layout. When this test fails the wire format changed: check
    /// that the change is intended, bump `PROTOCOL_VERSION` if old firmware must be refused
    /// for reasons the layout does not show, and update this value.
    const PINNED_SCHEMA_HASH: u64 = 0x289e_437a_ed4b_e53e;

    #[test]
    fn schema_hash_is_pinned() {
        assert_eq!(SCHEMA_HASH, PINNED_SCHEMA_HASH, "schema hash is {SCHEMA_HASH:#018x}");
    }

    #[test]
    fn layout_changes_change_the_hash() {
        #[derive(Serialize, Deserialize, Schema)]
        struct A {
            x: u32,
            y: f32,
        }
        #[derive(Serialize, Deserialize, Schema)]
        struct Reordered {
            y: f32,
            x: u32,
        }
        #[derive(Serialize, Deserialize, Schema)]
        struct Widened {
            x: u64,
            y: f32,
        }
        #[derive(Serialize, Deserialize, Schema)]
        struct Longer {
            x: u32,
            y: [f32; 2],
        }
        let a = Key::for_path::<A>("p");
        assert!(a != Key::for_path::<Reordered>("p"));
        assert!(a != Key::for_path::<Widened>("p"));
        assert!(a != Key::for_path::<Longer>("p"));
    }

    #[test]
    fn mismatches_are_reported_with_both_values() {
        assert_eq!(check_compatible(PROTOCOL_VERSION, SCHEMA_HASH), Ok(()));
        let err = check_compatible(PROTOCOL_VERSION + 1, SCHEMA_HASH);
        assert_eq!(
            err,
            Err(Incompatible::Version { ours: PROTOCOL_VERSION, theirs: PROTOCOL_VERSION + 1 })
        );
        assert_eq!(err.map_err(Incompatible::ack_code), Err(AckCode::VersionMismatch));
        let err = check_compatible(PROTOCOL_VERSION, SCHEMA_HASH ^ 1);
        assert_eq!(err.map_err(Incompatible::ack_code), Err(AckCode::SchemaMismatch));
    }
}

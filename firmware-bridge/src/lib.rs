//! The wire between the compute board and the arm microcontrollers.
//!
//! One crate serves both ends of the link:
//!
//! - [`protocol`]: the messages (postcard-encoded, versioned, schema-hashed);
//! - [`body`]: a message sealed with a CRC-32, the unit every transport carries;
//! - [`frame`]: COBS framing of bodies on byte streams (UART, pseudo-terminals);
//! - [`can`]: ISO 15765-2 style segmentation of bodies over classic CAN and CAN FD;
//! - [`mcu`]: the arm-side state machine (chunk interpolation, limits, watchdog, e-stop);
//! - `host` and `sim` (feature `std`): transports, the client the runtime calls, a simulated
//!   arm and the bridge benchmark.
//!
//! `no_std` and allocation-free without the `std` feature so that firmware can depend on it.
#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![deny(missing_docs)]

pub mod body;
pub mod can;
pub mod frame;
pub mod mcu;
pub mod protocol;

#[cfg(feature = "std")]
pub mod host;
#[cfg(feature = "std")]
pub mod sim;

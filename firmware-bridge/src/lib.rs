//! The wire between the compute board and the arm microcontrollers.
//!
//! `no_std` and allocation-free by default so that firmware can depend on it; host-side
//! transports live behind the `std` feature.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

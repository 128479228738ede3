//! The host side (feature `std`): transports, the client the runtime's control loop calls,
//! and the bridge benchmark.
//!
//! | transport | open with |
//! |---|---|
//! | UART / USB serial / pty slave | [`serial::open_serial`], or [`ArmClient::open_serial`] |
//! | pseudo-terminal master (arm side) | [`pty::Pty`] |
//! | in-memory byte pipes | [`memory::pair`], [`memory::noisy_pair`] |
//! | in-memory CAN bus | [`memory_can::MemoryCanBus`] with [`can_link::isotp_link`] |
//! | SocketCAN (feature `socketcan`) | `socketcan::open_host_socketcan` |
//! | Raspberry Pi UART and e-stop pin (feature `raspberry-pi`) | `raspberry_pi` |

pub mod bench;
pub mod can_link;
mod client;
mod clock;
pub mod fd;
mod link;
pub mod memory;
pub mod memory_can;
pub mod pty;
pub mod serial;
pub mod stream;

#[cfg(feature = "raspberry-pi")]
pub mod raspberry_pi;
#[cfg(feature = "socketcan")]
pub mod socketcan;

pub use client::{
    ArmClient, ChunkReceipt, ClientConfig, ClientError, ClientStats, Connector, StateSample,
};
pub use clock::{ClockSample, ClockSync};
pub use link::{send_message, Link, LinkError, LinkFault, PacketRx, PacketTx, RxEvent};

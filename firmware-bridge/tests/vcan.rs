//! The SocketCAN transport against a real (virtual) CAN interface. Needs the `socketcan`
//! feature and an interface that is up; it is marked ignored so that it shows as skipped in
//! every run where it does not apply, and fails loudly when asked for without an interface:
//!
//! ```sh
//! sudo ip link add vcan0 type vcan fd on && sudo ip link set vcan0 mtu 72 up
//! FIRMWARE_BRIDGE_VCAN=vcan0 cargo test -p firmware-bridge --features socketcan \
//!     --test vcan -- --ignored
//! ```
#![cfg(feature = "socketcan")]

use std::time::{Duration, Instant};

use firmware_bridge::can::{ArmCanIds, CanMode};
use firmware_bridge::host::socketcan::{open_arm_socketcan, open_host_socketcan};
use firmware_bridge::host::{ArmClient, ClientConfig};
use firmware_bridge::protocol::{AckCode, ArmId};
use firmware_bridge::sim::{ArmSim, SimConfig};

#[test]
#[ignore = "needs a CAN interface: set FIRMWARE_BRIDGE_VCAN=vcan0 and pass --ignored"]
fn chunks_cross_a_socketcan_interface_classic_and_fd() {
    let iface = std::env::var("FIRMWARE_BRIDGE_VCAN")
        .expect("FIRMWARE_BRIDGE_VCAN must name a CAN interface that is up (e.g. vcan0)");
    for mode in [CanMode::Classic, CanMode::Fd] {
        let ids = ArmCanIds::for_arm(ArmId::Right);
        let arm_link = open_arm_socketcan(&iface, ids, mode).expect("arm side opens");
        let sim = ArmSim::spawn(SimConfig::new(ArmId::Right), arm_link).expect("sim");
        let iface_for_host = iface.clone();
        let client = ArmClient::connect(
            move || open_host_socketcan(&iface_for_host, ids, mode),
            ClientConfig::default(),
        )
        .expect("client connects");
        client.enable().expect("enabled");
        let target = sim.snapshot().pose;
        let start = Instant::now() + Duration::from_millis(10);
        let receipt = client
            .send_chunk(start, Duration::from_millis(20), &[target; 32])
            .expect("chunk acknowledged");
        assert_eq!(receipt.code, AckCode::Ok, "{mode:?}");
        assert!(client
            .wait_for_state(Duration::from_secs(2), |s| s.last_chunk_seq.is_some())
            .is_some());
    }
}

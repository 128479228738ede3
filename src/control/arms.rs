//! Connecting to the two arms as the configuration says (serial or CAN), with heartbeats left
//! to the control loop: the loop feeds each arm's watchdog only while it wants the arm to
//! move, so a paused, faulted or stalled loop makes the arms brake and hold on their own.

use std::time::Duration;

use firmware_bridge::host::{ArmClient, ClientConfig, ClientError};
use firmware_bridge::protocol::ArmId;

use super::config::{ArmConfig, Transport};

/// The client settings for one arm.
pub fn client_config(config: &ArmConfig, arm: ArmId) -> ClientConfig {
    ClientConfig {
        request_timeout: Duration::from_millis(config.request_timeout_ms),
        retries: config.retries,
        heartbeat_interval: None,
        expect_arm: Some(arm),
        ..ClientConfig::default()
    }
}

/// Connects to `arm` as `config` says: hello, clock sync, reader and supervisor threads.
pub fn connect(config: &ArmConfig, arm: ArmId) -> Result<ArmClient, ClientError> {
    let settings = client_config(config, arm);
    match config.transport {
        Transport::Serial => {
            let port = config.port.clone().unwrap_or_default();
            ArmClient::open_serial(port, config.baud, settings)
        }
        Transport::Can => connect_can(config, arm, settings),
    }
}

#[cfg(feature = "socketcan")]
fn connect_can(
    config: &ArmConfig,
    arm: ArmId,
    settings: ClientConfig,
) -> Result<ArmClient, ClientError> {
    use firmware_bridge::can::{ArmCanIds, CanMode};
    use firmware_bridge::host::socketcan::open_host_socketcan;
    let interface = config.interface.clone().unwrap_or_default();
    let mode = if config.can_fd { CanMode::Fd } else { CanMode::Classic };
    let ids = ArmCanIds::for_arm(arm);
    ArmClient::connect(move || open_host_socketcan(&interface, ids, mode), settings)
}

#[cfg(not(feature = "socketcan"))]
fn connect_can(
    config: &ArmConfig,
    _arm: ArmId,
    _settings: ClientConfig,
) -> Result<ArmClient, ClientError> {
    let interface = config.interface.clone().unwrap_or_default();
    Err(ClientError::Link(firmware_bridge::host::LinkError::io(
        &interface,
        "CAN open",
        std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "this build has no CAN support (feature `socketcan`)",
        ),
    )))
}

//! The `run` binary as systemd runs it: a configuration file, `NOTIFY_SOCKET` (an abstract
//! socket here) and `WATCHDOG_USEC` in the environment, simulated arms on pseudo-terminals and
//! synthetic cameras. It must send `READY=1`, then `WATCHDOG=1` at half the watchdog interval,
//! answer `status` and `command` through its socket, and on SIGTERM send `STOPPING=1` and
//! exit 0.

mod common;

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use firmware_bridge::protocol::ArmId;
use firmware_bridge::sim::{ArmSim, SimConfig};
use twinvla_edge::control::demo::prepare_model;

const BIN: &str = env!("CARGO_BIN_EXE_twinvla-edge");

fn receive(listener: &UnixDatagram) -> String {
    let mut buf = [0u8; 1024];
    let n = listener.recv(&mut buf).expect("a notification in time");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn run_notifies_systemd_serves_its_socket_and_stops_on_sigterm() {
    let dir = common::scratch().join("control-service");
    std::fs::create_dir_all(&dir).expect("dir");
    let (model, _) = prepare_model(&dir, &common::tokenizer_json()).expect("tiny model");
    let left = ArmSim::spawn_pty(SimConfig::new(ArmId::Left)).expect("left sim");
    let right = ArmSim::spawn_pty(SimConfig::new(ArmId::Right)).expect("right sim");
    let socket = dir.join("control.sock");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[policy]
model = {model:?}
instruction = "fold the towel"

[cameras]
primary = "synthetic:32x24?fps=10"
wrist_left = "synthetic:32x24?fps=10"
wrist_right = "synthetic:32x24?fps=10"

[arms.left]
transport = "serial"
port = {left:?}
request_timeout_ms = 200

[arms.right]
transport = "serial"
port = {right:?}
request_timeout_ms = 200

[inference]
deadline_ms = 600000

[safety]
camera_stall_ms = 1000
arm_state_timeout_ms = 500

[status]
socket = {socket:?}
"#,
            model = model.display().to_string(),
            left = left.path.display().to_string(),
            right = right.path.display().to_string(),
            socket = socket.display().to_string(),
        ),
    )
    .expect("config");
    let check = Command::new(BIN).args(["run", "--check", "--config"]).arg(&config).output();
    assert!(check.expect("run --check").status.success());

    let name = format!("twinvla-service-test-{}", std::process::id());
    let address = SocketAddr::from_abstract_name(name.as_bytes()).expect("address");
    let listener = UnixDatagram::bind_addr(&address).expect("notify socket");
    listener.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let mut child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", format!("@{name}"))
        .env("WATCHDOG_USEC", "1000000")
        .env_remove("WATCHDOG_PID")
        .env("TWINVLA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start run");

    let mut statuses = Vec::new();
    let ready = loop {
        let message = receive(&listener);
        if message.starts_with("READY=1") {
            break message;
        }
        assert!(message.starts_with("STATUS="), "only STATUS= before READY=1: {message}");
        statuses.push(message);
    };
    assert!(ready.contains("STATUS=running"), "{ready}");
    assert!(statuses.iter().any(|s| s.contains("model loaded")), "{statuses:?}");
    let started = Instant::now();
    assert_eq!(receive(&listener), "WATCHDOG=1");
    assert_eq!(receive(&listener), "WATCHDOG=1");
    let interval = started.elapsed();
    assert!(interval < Duration::from_millis(1500), "WATCHDOG=1 every 500 ms, took {interval:?}");

    let status = Command::new(BIN).args(["status", "--json", "--socket"]).arg(&socket).output();
    let status = status.expect("status");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON report");
    assert_eq!(report["instruction"], "fold the towel");
    assert_eq!(report["arms"].as_array().map(Vec::len), Some(2));
    assert_eq!(report["cameras"].as_array().map(Vec::len), Some(3));

    let pause = Command::new(BIN).args(["command", "--socket"]).arg(&socket).arg("pause").output();
    assert!(pause.expect("command").status.success());
    let instruction = Command::new(BIN)
        .args(["command", "--socket"])
        .arg(&socket)
        .args(["instruction", "put the cup down"])
        .output()
        .expect("command");
    assert!(instruction.status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = Command::new(BIN).args(["status", "--json", "--socket"]).arg(&socket).output();
        let report: serde_json::Value =
            serde_json::from_slice(&out.expect("status").stdout).expect("JSON report");
        if report["state"] == "paused" && report["instruction"] == "put the cup down" {
            break;
        }
        assert!(Instant::now() < deadline, "pause and instruction not applied: {report}");
        std::thread::sleep(Duration::from_millis(50));
    }

    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    loop {
        let message = receive(&listener);
        if message == "STOPPING=1" {
            break;
        }
        assert_eq!(message, "WATCHDOG=1");
    }
    let exit = child.wait().expect("exit");
    assert!(exit.success(), "run exits 0 on SIGTERM: {exit}");
    assert!(!socket.exists(), "the socket is removed on exit");
}

//! The systemd unit passes `systemd-analyze verify` without a single warning (the tool reports
//! unknown keys and bad values as warnings with exit status 0, so its output must be empty).
//! The unit's `ExecStart=` binary must exist for the check, so the unit is verified with the
//! path of the binary under test substituted.

use std::path::Path;
use std::process::Command;

const UNIT: &str = include_str!("../deploy/twinvla-edge.service");
const BIN: &str = env!("CARGO_BIN_EXE_twinvla-edge");

/// Runs `systemd-analyze verify` on `text` saved as `twinvla-edge.service`; returns whether it
/// succeeded and what it printed.
fn verify(text: &str, dir: &Path) -> (bool, String) {
    std::fs::create_dir_all(dir).expect("dir");
    let unit = dir.join("twinvla-edge.service");
    std::fs::write(&unit, text).expect("write unit");
    let out = match Command::new("systemd-analyze").arg("verify").arg(&unit).output() {
        Ok(out) => out,
        Err(e) => panic!(
            "systemd-analyze could not be run ({e}): install systemd (Debian: apt-get install \
             systemd) to check deploy/twinvla-edge.service"
        ),
    };
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn scratch(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("twinvla-unit-test-{}-{name}", std::process::id()))
}

#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    assert!(UNIT.contains("ExecStart=/usr/local/bin/twinvla-edge run"));
    let text = UNIT.replace("/usr/local/bin/twinvla-edge", BIN);
    let (ok, output) = verify(&text, &scratch("good"));
    assert!(ok && output.trim().is_empty(), "systemd-analyze verify complained:\n{output}");
}

#[test]
fn the_check_catches_a_broken_unit() {
    let text =
        UNIT.replace("/usr/local/bin/twinvla-edge", BIN).replace("WatchdogSec=", "WatchdogSecs=");
    let (_, output) = verify(&text, &scratch("bad"));
    assert!(output.contains("WatchdogSecs"), "a misspelt key must be reported:\n{output}");
}

#[test]
fn the_unit_has_what_the_runtime_relies_on() {
    for line in [
        "Type=notify",
        "WatchdogSec=5",
        "Restart=on-failure",
        "CacheDirectory=twinvla-edge",
        "Environment=TWINVLA_CACHE_DIR=%C/twinvla-edge",
        "RuntimeDirectory=twinvla-edge",
        "DeviceAllow=char-video4linux rw",
        "DeviceAllow=char-drm rw",
    ] {
        assert!(UNIT.lines().any(|l| l.trim() == line), "missing: {line}");
    }
}

//! `twinvla-edge bridge-bench --sim` over real pseudo-terminals: nothing lost, exit code 0.

use std::process::Command;

#[test]
fn bridge_bench_loses_nothing_on_a_clean_pty_link() {
    let out = Command::new(env!("CARGO_BIN_EXE_twinvla-edge"))
        .args(["bridge-bench", "--sim", "--rate", "100", "--seconds", "1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("nothing lost"), "{text}");
    let bad = Command::new(env!("CARGO_BIN_EXE_twinvla-edge"))
        .args(["bridge-bench", "--sim", "--rate", "-1"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

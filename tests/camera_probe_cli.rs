//! The `twinvla-edge camera-probe` command, run as a process.

mod camera_support;

use std::process::Command;

use camera_support::{fixture, scratch_dir};

fn probe(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_twinvla-edge"))
        .arg("camera-probe")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn probes_a_synthetic_source_and_dumps_png_frames() {
    let dir = scratch_dir("probe-dump");
    let (ok, stdout, stderr) = probe(&[
        "--source",
        "synthetic:64x48?fps=100",
        "--frames",
        "3",
        "--dump",
        dir.to_str().unwrap(),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("source: synthetic:64x48 rgb @ 100 fps"), "{stdout}");
    assert_eq!(stdout.matches("frame ").count(), 3, "{stdout}");
    assert!(stdout.contains("summary: 3 frames"), "{stdout}");
    for i in 0..3 {
        let png =
            twinvla_edge::camera::png_io::read_png(&dir.join(format!("frame-{i:06}.png"))).unwrap();
        assert_eq!(png, twinvla_edge::camera::synthetic::pattern_image(64, 48, i));
    }
}

#[test]
fn records_a_replayed_stream() {
    let dir = scratch_dir("probe-record");
    let out = dir.join("copy.mjpeg");
    let source = format!("file:{}?speed=max", fixture("testsrc2-160x120-422.mjpeg").display());
    let (ok, stdout, stderr) =
        probe(&["--source", &source, "--frames", "10", "--record", out.to_str().unwrap()]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("end of stream after 3 frames"), "{stdout}");
    assert!(stdout.contains("recorded 3 frames"), "{stdout}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(fixture("testsrc2-160x120-422.mjpeg")).unwrap()
    );
}

#[test]
fn bad_specs_and_missing_devices_fail_with_a_message() {
    let (ok, _, stderr) = probe(&["--source", "v4l:/dev/video0?width=640"]);
    assert!(!ok);
    assert!(
        stderr.contains("`v4l:/dev/video0?width=640`") && stderr.contains("together"),
        "{stderr}"
    );
    let (ok, _, stderr) =
        probe(&["--source", "v4l:/dev/v4l/by-id/no-such-camera", "--frames", "1"]);
    assert!(!ok);
    assert!(stderr.contains("/dev/v4l/by-id/no-such-camera"), "{stderr}");
}

//! Faults: a camera that stalls, one that sends corrupt frames, a recording that ends, and a
//! device that disappears and comes back. Each must give a typed error or a health state.

mod camera_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use camera_support::{fixture, mjpeg_frames, scratch_dir};
use twinvla_edge::camera::clock::MonotonicTime;
use twinvla_edge::camera::reopen::{Backoff, ReopeningSource};
use twinvla_edge::camera::replay::ReplaySource;
use twinvla_edge::camera::synthetic::SyntheticSource;
use twinvla_edge::camera::timestamps::{format_timestamps, sidecar_path};
use twinvla_edge::camera::{
    CameraError, CameraRig, CameraRole, Frame, FrameSource, HealthCounters, HealthState, RigConfig,
    SourceSpec,
};

fn synthetic(spec: &str) -> Box<dyn FrameSource> {
    spec.parse::<SourceSpec>().unwrap().open().unwrap()
}

/// Writes the fixture's three frames as a recording whose frames are at `micros`.
fn recording(
    dir: &std::path::Path,
    name: &str,
    frames: &[Vec<u8>],
    micros: &[u64],
) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, frames.concat()).unwrap();
    std::fs::write(sidecar_path(&path), format_timestamps(micros)).unwrap();
    path
}

fn open(path: &std::path::Path, options: &str) -> ReplaySource {
    let spec: SourceSpec = format!("file:{}{options}", path.display()).parse().unwrap();
    match spec {
        SourceSpec::File(spec) => ReplaySource::open(&spec).unwrap(),
        other => panic!("not a file spec: {other}"),
    }
}

#[test]
fn a_stalled_source_times_out_and_turns_stale_in_the_rig() {
    let dir = scratch_dir("faults-stall");
    let frames = mjpeg_frames(&fixture("testsrc2-160x120-422.mjpeg"));
    // Two frames 33 ms apart, then nothing for an hour.
    let path = recording(&dir, "stall.mjpeg", &frames, &[0, 33_000, 3_600_000_000]);

    let mut source = open(&path, "");
    source.next_frame(Duration::from_millis(500)).unwrap();
    source.next_frame(Duration::from_millis(500)).unwrap();
    let err = source.next_frame(Duration::from_millis(30)).unwrap_err();
    assert!(
        matches!(err, CameraError::Timeout { waited, .. } if waited == Duration::from_millis(30)),
        "{err}"
    );
    assert_eq!(source.health().snapshot(MonotonicTime::now(), Duration::from_secs(10)).timeouts, 1);

    let config = RigConfig {
        read_timeout: Duration::from_millis(20),
        stale_after: Duration::from_millis(150),
    };
    let rig = CameraRig::start(
        [
            synthetic("synthetic:32x24?fps=100"),
            Box::new(open(&path, "")),
            synthetic("synthetic:32x24?fps=100"),
        ],
        config,
    )
    .unwrap();
    let first = rig.wait_newer(None, Duration::from_secs(2)).unwrap();
    // The wrist_l camera stops after its second frame: waiting for newer frames times out
    // naming it, and its health turns stale while the others keep streaming.
    std::thread::sleep(Duration::from_millis(400));
    let later = rig.latest().unwrap();
    assert!(later.get(CameraRole::Primary).generation > first.get(CameraRole::Primary).generation);
    assert!(later.get(CameraRole::WristLeft).generation <= 2);
    let err = later.check_fresh(Duration::from_millis(150)).unwrap_err();
    assert!(matches!(&err, CameraError::Stale { camera, .. } if camera == "wrist_l"), "{err}");
    let err = rig.wait_newer(Some(&later), Duration::from_millis(100)).unwrap_err();
    assert!(matches!(&err, CameraError::Timeout { camera, .. } if camera == "wrist_l"), "{err}");
    let health = rig.health();
    assert_eq!(health[1].state, HealthState::Stale, "{:?}", health[1]);
    assert!(health[1].timeouts > 0);
    assert_eq!(health[0].state, HealthState::Streaming, "{:?}", health[0]);
    rig.stop();
}

#[test]
fn corrupt_frames_are_counted_and_skipped() {
    let dir = scratch_dir("faults-corrupt");
    let frames = mjpeg_frames(&fixture("testsrc2-160x120-422.mjpeg"));
    let truncated = frames[1][..frames[1].len() / 2].to_vec();
    let mut garbled = frames[2].clone();
    let sof = garbled.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    garbled[sof + 4..sof + 9].fill(0);
    // good, truncated (followed directly by the next frame), garbled, good
    let stream = [frames[0].clone(), truncated, garbled, frames[0].clone()];
    let path = recording(&dir, "corrupt.mjpeg", &stream, &[0, 10_000, 20_000, 30_000]);

    let config =
        RigConfig { read_timeout: Duration::from_millis(20), stale_after: Duration::from_secs(5) };
    let rig = CameraRig::start(
        [
            Box::new(open(&path, "?speed=max")),
            synthetic("synthetic:32x24?fps=50"),
            synthetic("synthetic:32x24?fps=50"),
        ],
        config,
    )
    .unwrap();
    let set = rig.wait_newer(None, Duration::from_secs(2)).unwrap();
    // Wait until the recording has been read to its end.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while rig.health()[0].state != HealthState::Ended {
        assert!(
            std::time::Instant::now() < deadline,
            "recording never ended: {:?}",
            rig.health()[0]
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let health = rig.health();
    assert_eq!(health[0].frames, 4);
    assert_eq!(health[0].decode_errors, 2, "{:?}", health[0]);
    let latest = rig.latest().unwrap();
    // Two good frames were published: sequence 0 and 3.
    assert_eq!(latest.get(CameraRole::Primary).generation, 2);
    assert_eq!(latest.get(CameraRole::Primary).sequence, 3);
    assert_eq!(latest.get(CameraRole::Primary).image.width, 160);
    assert!(
        set.get(CameraRole::Primary).sequence == 0 || set.get(CameraRole::Primary).sequence == 3
    );
    assert!(
        health[0].last_error.as_deref().unwrap_or_default().contains("frame 2"),
        "{:?}",
        health[0]
    );
    // The ended camera makes waiting for a newer set fail at once instead of timing out.
    let err = rig.wait_newer(Some(&latest), Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, CameraError::EndOfStream { .. }), "{err}");
    rig.stop();
}

#[test]
fn a_recording_ends_with_end_of_stream_unless_looped() {
    let path = fixture("testsrc2-160x120-422.mjpeg");
    let mut once = open(&path, "?speed=max");
    for _ in 0..3 {
        once.next_frame(Duration::from_millis(100)).unwrap();
    }
    for _ in 0..2 {
        let err = once.next_frame(Duration::from_millis(100)).unwrap_err();
        assert!(matches!(err, CameraError::EndOfStream { frames: 3, .. }), "{err}");
    }
    assert_eq!(
        once.health().snapshot(MonotonicTime::now(), Duration::from_secs(1)).state,
        HealthState::Ended
    );

    let mut looped = open(&path, "?speed=max&loop=true");
    let sequences: Vec<u64> =
        (0..7).map(|_| looped.next_frame(Duration::from_millis(100)).unwrap().sequence).collect();
    assert_eq!(sequences, vec![0, 1, 2, 3, 4, 5, 6]);
}

/// A camera that delivers `frames_before_unplug` frames and then reports the device gone.
struct UnpluggingCamera {
    inner: SyntheticSource,
    left: u32,
    health: HealthCounters,
}

impl FrameSource for UnpluggingCamera {
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        if self.left == 0 {
            return Err(CameraError::Disconnected {
                camera: "test camera".to_owned(),
                reason: "ENODEV".to_owned(),
            });
        }
        self.left -= 1;
        self.inner.next_frame(timeout)
    }

    fn description(&self) -> &str {
        "test camera"
    }

    fn health(&self) -> &HealthCounters {
        &self.health
    }
}

#[test]
fn an_unplugged_camera_is_reopened_with_backoff() {
    // The device is missing for the first two open attempts, then delivers 3 frames per plug-in.
    let attempts = Arc::new(Mutex::new(0u32));
    let counter = Arc::clone(&attempts);
    let factory = Box::new(move || -> Result<Box<dyn FrameSource>, CameraError> {
        let mut attempts = counter.lock().unwrap();
        *attempts += 1;
        if *attempts <= 2 {
            return Err(CameraError::Io {
                camera: "test camera".to_owned(),
                action: "open the device".to_owned(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let spec = match "synthetic:16x8?fps=0".parse::<SourceSpec>().unwrap() {
            SourceSpec::Synthetic(spec) => spec,
            other => panic!("unexpected {other}"),
        };
        Ok(Box::new(UnpluggingCamera {
            inner: SyntheticSource::new(spec),
            left: 3,
            health: HealthCounters::new(),
        }))
    });
    let backoff = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(40),
        reopen_after_stall: None,
    };
    let mut source = ReopeningSource::new("test camera".to_owned(), factory, backoff);

    // First call: open fails, the retry after 20 ms fails, the next is due after 40 ms more,
    // beyond this call's 30 ms: a typed error within the timeout, and a reconnecting state.
    let start = std::time::Instant::now();
    let err = source.next_frame(Duration::from_millis(30)).unwrap_err();
    assert!(start.elapsed() < Duration::from_millis(200));
    assert!(matches!(err, CameraError::Disconnected { .. }), "{err}");
    let now = MonotonicTime::now();
    assert_eq!(
        source.health().snapshot(now, Duration::from_secs(1)).state,
        HealthState::Reconnecting
    );

    let mut frames = 0;
    let mut disconnects = 0;
    for _ in 0..40 {
        match source.next_frame(Duration::from_millis(100)) {
            Ok(_) => frames += 1,
            Err(CameraError::Disconnected { .. }) => disconnects += 1,
            Err(other) => panic!("unexpected error: {other}"),
        }
        if frames == 6 {
            break;
        }
    }
    assert_eq!(frames, 6, "two plug-ins of three frames each");
    assert!(disconnects >= 1);
    let health = source.health().snapshot(MonotonicTime::now(), Duration::from_secs(1));
    assert_eq!(health.reopens, 1, "{health:?}");
    assert_eq!(health.frames, 6);
    assert_eq!(health.state, HealthState::Streaming);
    assert_eq!(*attempts.lock().unwrap(), 4);
}

#[test]
fn a_long_stall_restarts_the_source() {
    let dir = scratch_dir("faults-stall-reopen");
    let frames = mjpeg_frames(&fixture("testsrc2-160x120-422.mjpeg"));
    let path = recording(&dir, "stall.mjpeg", &frames, &[0, 10_000, 3_600_000_000]);
    let spec: SourceSpec = format!("file:{}", path.display()).parse().unwrap();
    let backoff = Backoff {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(10),
        reopen_after_stall: Some(Duration::from_millis(100)),
    };
    let mut source = spec.open_resilient(backoff);
    let mut sequences = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while sequences.len() < 4 && std::time::Instant::now() < deadline {
        if let Ok(frame) = source.next_frame(Duration::from_millis(50)) {
            sequences.push(frame.sequence);
        }
    }
    // Frames 0 and 1, a stall, the restart, and the recording from its start again.
    assert_eq!(sequences, vec![0, 1, 0, 1]);
    let health = source.health().snapshot(MonotonicTime::now(), Duration::from_secs(1));
    assert_eq!(health.reopens, 1, "{health:?}");
    assert!(health.timeouts >= 2);
}

#[test]
fn missing_files_and_devices_are_errors_naming_them() {
    for spec in ["file:/nonexistent/run.mjpeg", "v4l:/dev/v4l/by-id/usb-missing-video-index0"] {
        let err = spec.parse::<SourceSpec>().unwrap().open().err().expect("must fail");
        let path = spec.split_once(':').unwrap().1;
        assert!(err.to_string().contains(path), "{err}");
        assert!(err.needs_reopen(), "{err}");
    }
}

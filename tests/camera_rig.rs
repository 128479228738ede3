//! The three-camera rig: concurrent capture, latest-frame semantics, skew, age and health.

use std::time::{Duration, Instant};

use twinvla_edge::camera::reopen::Backoff;
use twinvla_edge::camera::synthetic::pattern_image;
use twinvla_edge::camera::{
    CameraRig, CameraRole, FrameSource, HealthState, RigConfig, SourceSpec,
};

fn source(spec: &str) -> Box<dyn FrameSource> {
    spec.parse::<SourceSpec>().unwrap().open().unwrap()
}

fn config() -> RigConfig {
    RigConfig { read_timeout: Duration::from_millis(20), stale_after: Duration::from_millis(500) }
}

#[test]
fn a_slow_consumer_gets_the_newest_frames_not_a_backlog() {
    let rig = CameraRig::start(
        [
            source("synthetic:64x48?fps=100"),
            source("synthetic:32x24?fps=50"),
            source("synthetic:48x32?fps=25&format=yuyv"),
        ],
        config(),
    )
    .unwrap();
    let first = rig.wait_newer(None, Duration::from_secs(2)).unwrap();
    // The consumer is busy for a while; the cameras keep capturing.
    std::thread::sleep(Duration::from_millis(300));
    let set = rig.wait_newer(Some(&first), Duration::from_secs(1)).unwrap();
    let primary = set.get(CameraRole::Primary);
    // About 30 primary frames were captured meanwhile; the set holds one of the newest, and
    // every frame in between was dropped rather than queued.
    assert!(
        primary.sequence >= first.get(CameraRole::Primary).sequence + 15,
        "sequence {}",
        primary.sequence
    );
    let newer = rig.wait_newer(Some(&set), Duration::from_secs(1)).unwrap();
    assert!(newer.get(CameraRole::Primary).generation > primary.generation);
    assert!(newer.get(CameraRole::Primary).sequence <= primary.sequence + 5, "no backlog replayed");
    // Each image is the frame its sequence number says (RGB synthetic frames are exact).
    assert_eq!(primary.image, pattern_image(64, 48, primary.sequence));
    let wrist_l = set.get(CameraRole::WristLeft);
    assert_eq!(wrist_l.image, pattern_image(32, 24, wrist_l.sequence));
    let wrist_r = set.get(CameraRole::WristRight);
    assert_eq!((wrist_r.image.width, wrist_r.image.height), (48, 32));
    // Ages and skew are consistent with the capture times.
    assert!(set.max_age() < Duration::from_millis(300), "max age {:?}", set.max_age());
    assert!(set.skew() <= set.max_age());
    assert!(set.check_fresh(Duration::from_secs(1)).is_ok());
    for role in CameraRole::ALL {
        let image = set.get(role);
        assert!(image.captured_at <= image.received_at && image.received_at <= image.decoded_at);
        assert!(image.decoded_at <= set.taken_at);
    }
    rig.stop();
}

#[test]
fn health_reports_rates_and_states() {
    let rig = CameraRig::start(
        [
            source("synthetic:32x24?fps=100"),
            source("synthetic:32x24?fps=50"),
            source("synthetic:32x24?fps=25"),
        ],
        config(),
    )
    .unwrap();
    rig.wait_newer(None, Duration::from_secs(2)).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let health = rig.health();
    for (snapshot, fps) in health.iter().zip([100.0, 50.0, 25.0]) {
        assert_eq!(snapshot.state, HealthState::Streaming, "{snapshot:?}");
        assert!(
            snapshot.fps > fps * 0.6 && snapshot.fps < fps * 1.4,
            "expected about {fps} fps: {snapshot:?}"
        );
        assert_eq!((snapshot.drops, snapshot.decode_errors), (0, 0));
        assert!(snapshot.newest_frame_age.unwrap() < Duration::from_millis(200), "{snapshot:?}");
    }
    let names = rig.descriptions();
    assert!(names[0].starts_with("synthetic:32x24"), "{names:?}");
    rig.stop();
}

#[test]
fn holding_a_frame_set_does_not_block_capture_and_stop_is_prompt() {
    let rig = CameraRig::start(
        [
            source("synthetic:32x24?fps=200"),
            source("synthetic:32x24?fps=200"),
            source("synthetic:32x24?fps=200"),
        ],
        config(),
    )
    .unwrap();
    let held = rig.wait_newer(None, Duration::from_secs(2)).unwrap();
    let mut previous = held.clone();
    for _ in 0..5 {
        previous = rig.wait_newer(Some(&previous), Duration::from_secs(1)).unwrap();
    }
    assert!(
        previous.get(CameraRole::Primary).generation
            >= held.get(CameraRole::Primary).generation + 5
    );
    let start = Instant::now();
    rig.stop();
    assert!(start.elapsed() < Duration::from_millis(500), "stop took {:?}", start.elapsed());
    // Images stay valid after the rig is gone.
    assert_eq!(held.get(CameraRole::Primary).image.width, 32);
}

#[test]
fn a_rig_opened_from_specs_waits_for_missing_cameras() {
    let specs = [
        "synthetic:32x24?fps=50".parse::<SourceSpec>().unwrap(),
        "file:/nonexistent/left.mjpeg".parse::<SourceSpec>().unwrap(),
        "synthetic:32x24?fps=50".parse::<SourceSpec>().unwrap(),
    ];
    let backoff = Backoff {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(50),
        reopen_after_stall: None,
    };
    let rig = CameraRig::open(&specs, config(), backoff).unwrap();
    let err = rig.wait_newer(None, Duration::from_millis(200)).unwrap_err();
    assert!(err.to_string().contains("wrist_l"), "{err}");
    let err = rig.latest().unwrap_err();
    assert!(err.to_string().contains("wrist_l") && err.to_string().contains("left.mjpeg"), "{err}");
    let health = rig.health();
    assert_eq!(health[1].state, HealthState::Reconnecting, "{:?}", health[1]);
    assert!(health[1]
        .last_error
        .as_deref()
        .unwrap_or_default()
        .contains("/nonexistent/left.mjpeg"));
    assert_eq!(health[0].state, HealthState::Streaming);
    rig.stop();
}

//! Replaying recordings: raw MJPEG streams with and without timestamps, directories of images,
//! single images, pacing, and recordings made by the recorder.

mod camera_support;

use std::time::Duration;

use camera_support::{fixture, mjpeg_frames, scratch_dir};
use twinvla_edge::camera::decode::FrameDecoder;
use twinvla_edge::camera::png_io::write_png;
use twinvla_edge::camera::recorder::MjpegRecorder;
use twinvla_edge::camera::timestamps::sidecar_path;
use twinvla_edge::camera::{CameraError, FrameSource, PixelFormat, SourceSpec, TimestampSource};

fn open(spec: &str) -> Box<dyn FrameSource> {
    spec.parse::<SourceSpec>().unwrap().open().unwrap()
}

fn open_err(spec: &str) -> CameraError {
    spec.parse::<SourceSpec>().unwrap().open().err().expect("opening must fail")
}

const T: Duration = Duration::from_secs(1);

#[test]
fn plays_at_the_spec_rate_without_timestamps() {
    let path = fixture("testsrc2-160x120-422.mjpeg");
    let mut source = open(&format!("file:{}?fps=50", path.display()));
    let frames: Vec<_> = (0..3).map(|_| source.next_frame(T).unwrap()).collect();
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!(frame.sequence, i as u64);
        assert_eq!((frame.format, frame.width, frame.height), (PixelFormat::Mjpeg, 160, 120));
        assert_eq!(frame.timestamp_source, TimestampSource::Replay);
    }
    // Capture times are the playback schedule: exactly 20 ms apart.
    for pair in frames.windows(2) {
        assert_eq!(
            pair[1].captured_at.saturating_since(pair[0].captured_at),
            Duration::from_millis(20)
        );
        assert!(pair[1].received_at >= pair[1].captured_at);
    }
    assert!(source.description().contains("3 frames, 50 fps"), "{}", source.description());
}

#[test]
fn follows_the_timestamps_file() {
    let dir = scratch_dir("replay-timestamps");
    let path = dir.join("run.mjpeg");
    std::fs::copy(fixture("testsrc2-160x120-422.mjpeg"), &path).unwrap();
    std::fs::write(sidecar_path(&path), "# capture times\n5000000\n5040000\n5045000\n").unwrap();
    let mut source = open(&format!("file:{}", path.display()));
    let times: Vec<_> = (0..3).map(|_| source.next_frame(T).unwrap().captured_at).collect();
    assert_eq!(times[1].saturating_since(times[0]), Duration::from_millis(40));
    assert_eq!(times[2].saturating_since(times[1]), Duration::from_millis(5));
    assert!(source.description().contains("recorded timestamps"));

    std::fs::write(sidecar_path(&path), "5000000\n5040000\n").unwrap();
    let err = open_err(&format!("file:{}", path.display()));
    assert!(err.to_string().contains("2 timestamps for 3 frames"), "{err}");
    std::fs::write(sidecar_path(&path), "5000000\nsoon\n5045000\n").unwrap();
    let err = open_err(&format!("file:{}", path.display()));
    assert!(matches!(&err, CameraError::Timestamps { line: 2, .. }), "{err}");
}

#[test]
fn looping_keeps_the_pace_across_passes() {
    let path = fixture("testsrc2-160x120-422.mjpeg");
    let mut source = open(&format!("file:{}?fps=100&loop=true", path.display()));
    let times: Vec<_> = (0..6).map(|_| source.next_frame(T).unwrap().captured_at).collect();
    for pair in times.windows(2) {
        assert_eq!(pair[1].saturating_since(pair[0]), Duration::from_millis(10));
    }
}

#[test]
fn plays_a_directory_of_images_in_name_order() {
    let dir = scratch_dir("replay-directory");
    let jpegs = mjpeg_frames(&fixture("testsrc2-160x120-422.mjpeg"));
    let mut decoder = FrameDecoder::new();
    let mut source =
        open(&format!("file:{}?speed=max", fixture("testsrc2-160x120-422.mjpeg").display()));
    let decoded = decoder.decode(&source.next_frame(T).unwrap()).unwrap();
    std::fs::write(dir.join("frame-2.jpg"), &jpegs[1]).unwrap();
    write_png(&dir.join("frame-1.png"), &decoded).unwrap();
    std::fs::write(dir.join("frame-3.JPEG"), &jpegs[2]).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a frame").unwrap();
    let mut source = open(&format!("file:{}?speed=max", dir.display()));
    let first = source.next_frame(T).unwrap();
    assert_eq!(first.format, PixelFormat::Rgb24);
    assert_eq!(decoder.decode(&first).unwrap(), decoded);
    let second = source.next_frame(T).unwrap();
    assert_eq!((second.format, &second.data), (PixelFormat::Mjpeg, &jpegs[1]));
    let third = source.next_frame(T).unwrap();
    assert_eq!(third.data, jpegs[2]);
    assert!(matches!(source.next_frame(T), Err(CameraError::EndOfStream { frames: 3, .. })));
}

#[test]
fn a_single_image_loops_into_a_steady_stream() {
    let dir = scratch_dir("replay-still");
    let jpeg = mjpeg_frames(&fixture("testsrc2-160x120-422.mjpeg")).remove(0);
    let path = dir.join("still.jpg");
    std::fs::write(&path, &jpeg).unwrap();
    let mut source = open(&format!("file:{}?fps=200&loop=true", path.display()));
    for sequence in 0..4 {
        let frame = source.next_frame(T).unwrap();
        assert_eq!((frame.sequence, &frame.data), (sequence, &jpeg));
    }
}

#[test]
fn rejects_unknown_and_empty_inputs() {
    let dir = scratch_dir("replay-bad");
    let text = dir.join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let err = open_err(&format!("file:{}", text.display()));
    assert!(matches!(err, CameraError::Recording { .. }), "{err}");
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = open_err(&format!("file:{}", empty.display()));
    assert!(err.to_string().contains("no frames"), "{err}");
}

#[test]
fn a_recording_replays_with_its_frames_and_timing() {
    let dir = scratch_dir("replay-recorder");
    let path = dir.join("recorded.mjpeg");
    let mut camera =
        open(&format!("file:{}?fps=40", fixture("testsrc2-160x120-422.mjpeg").display()));
    let mut recorder = MjpegRecorder::create(&path).unwrap();
    let mut originals = Vec::new();
    for _ in 0..3 {
        let frame = camera.next_frame(T).unwrap();
        recorder.append(&frame).unwrap();
        originals.push(frame);
    }
    assert_eq!(recorder.finish().unwrap(), 3);
    let mut replay = open(&format!("file:{}", path.display()));
    let replayed: Vec<_> = (0..3).map(|_| replay.next_frame(T).unwrap()).collect();
    for (a, b) in originals.iter().zip(&replayed) {
        assert_eq!(a.data, b.data);
    }
    // Microsecond timestamps keep the 25 ms spacing to the microsecond.
    for (a, b) in originals.windows(2).zip(replayed.windows(2)) {
        let original = a[1].captured_at.saturating_since(a[0].captured_at).as_micros();
        let again = b[1].captured_at.saturating_since(b[0].captured_at).as_micros();
        assert!(original.abs_diff(again) <= 1, "{original} vs {again} µs");
    }
    let rgb = twinvla_edge::camera::synthetic::pattern_image(4, 2, 0);
    let mut rgb_recorder = MjpegRecorder::create(&dir.join("rgb.mjpeg")).unwrap();
    let mut frame = replayed[0].clone();
    frame.format = PixelFormat::Rgb24;
    frame.data = rgb.data;
    assert!(rgb_recorder.append(&frame).is_err());
}

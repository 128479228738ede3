//! Decoding frames that ffmpeg encodes at test time against ffmpeg's own decode of the same
//! frames: within a mean absolute difference of 1.0 and a largest difference of 8 per channel.
//!
//! These tests need `ffmpeg` on the PATH (Debian package `ffmpeg`) and fail, saying so, when it
//! is missing.

mod camera_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use camera_support::{
    assert_close, channel_stats, mjpeg_frames, scratch_dir, strip_huffman_tables,
};
use twinvla_edge::camera::decode::{decode_mjpeg_into, yuyv_to_rgb_into};
use twinvla_edge::camera::{PixelFormat, SourceSpec};
use twinvla_edge::image::RgbImage;

const W: usize = 640;
const H: usize = 480;
const FRAMES: usize = 3;
const PATTERN: &str = "testsrc2=size=640x480:rate=30";
/// ffmpeg's decode with chroma upsampled linearly to 4:4:4 first, as libjpeg does.
const LINEAR_CHROMA: &str = "scale=flags=bilinear+accurate_rnd+full_chroma_int,format=yuvj444p,\
                             scale=flags=bilinear+accurate_rnd+full_chroma_int,format=rgb24";

fn ffmpeg(args: &[&str]) {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y"])
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("this test needs ffmpeg on the PATH (Debian package `ffmpeg`); running it failed: {e}")
        });
    assert!(
        output.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn empty() -> RgbImage {
    RgbImage { width: 0, height: 0, data: Vec::new() }
}

fn frame_of(data: &[u8], i: usize) -> &[u8] {
    &data[i * W * H * 3..(i + 1) * W * H * 3]
}

/// Encodes the pattern as MJPEG with `pix_fmt`, returns the stream path and ffmpeg's RGB
/// decode (linear chroma, and ffmpeg's default nearest-sample chroma).
fn encode_mjpeg(dir: &Path, pix_fmt: &str) -> (std::path::PathBuf, Vec<u8>, Vec<u8>) {
    let stream = dir.join(format!("pattern-{pix_fmt}.mjpeg"));
    let linear = dir.join(format!("pattern-{pix_fmt}-linear.rgb"));
    let default = dir.join(format!("pattern-{pix_fmt}-default.rgb"));
    let s = stream.to_str().unwrap();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        PATTERN,
        "-frames:v",
        "3",
        "-pix_fmt",
        pix_fmt,
        "-huffman",
        "default",
        "-q:v",
        "3",
        "-f",
        "mjpeg",
        s,
    ]);
    ffmpeg(&[
        "-f",
        "mjpeg",
        "-i",
        s,
        "-vf",
        LINEAR_CHROMA,
        "-f",
        "rawvideo",
        linear.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-f",
        "mjpeg",
        "-i",
        s,
        "-pix_fmt",
        "rgb24",
        "-f",
        "rawvideo",
        default.to_str().unwrap(),
    ]);
    (stream, std::fs::read(linear).unwrap(), std::fs::read(default).unwrap())
}

fn check_mjpeg(pix_fmt: &str) {
    let dir = scratch_dir(&format!("ffmpeg-mjpeg-{pix_fmt}"));
    let (stream, linear, default) = encode_mjpeg(&dir, pix_fmt);
    let frames = mjpeg_frames(&stream);
    assert_eq!(frames.len(), FRAMES);
    let mut out = empty();
    let mut stripped_out = empty();
    let mut scratch = Vec::new();
    for (i, jpeg) in frames.iter().enumerate() {
        decode_mjpeg_into(jpeg, &mut out, &mut scratch).unwrap();
        assert_eq!((out.width, out.height), (W, H));
        let stats =
            assert_close(&format!("{pix_fmt} frame {i}"), &out.data, frame_of(&linear, i), 1.0, 8);
        // ffmpeg's default repeats chroma samples instead of interpolating; shown for the record.
        let nearest = channel_stats(&out.data, frame_of(&default, i));
        println!(
            "{pix_fmt} frame {i}: vs linear-chroma ffmpeg {stats:?}; vs default ffmpeg {nearest:?}"
        );
        // The same frame as a UVC camera sends it, without Huffman tables.
        decode_mjpeg_into(&strip_huffman_tables(jpeg), &mut stripped_out, &mut scratch).unwrap();
        assert_eq!(stripped_out, out, "{pix_fmt} frame {i} without DHT");
    }
}

#[test]
fn mjpeg_422_matches_ffmpeg() {
    check_mjpeg("yuvj422p");
}

#[test]
fn mjpeg_420_matches_ffmpeg() {
    check_mjpeg("yuvj420p");
}

#[test]
fn yuyv_matches_ffmpeg() {
    let dir = scratch_dir("ffmpeg-yuyv");
    let raw = dir.join("pattern.yuyv");
    let rgb = dir.join("pattern.rgb");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        PATTERN,
        "-frames:v",
        "3",
        "-pix_fmt",
        "yuyv422",
        "-f",
        "rawvideo",
        raw.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuyv422",
        "-s",
        "640x480",
        "-i",
        raw.to_str().unwrap(),
        "-pix_fmt",
        "rgb24",
        "-f",
        "rawvideo",
        rgb.to_str().unwrap(),
    ]);
    let yuyv = std::fs::read(raw).unwrap();
    let reference = std::fs::read(rgb).unwrap();
    let mut out = empty();
    for i in 0..FRAMES {
        yuyv_to_rgb_into(&yuyv[i * W * H * 2..(i + 1) * W * H * 2], W, H, &mut out).unwrap();
        let stats =
            assert_close(&format!("yuyv frame {i}"), &out.data, frame_of(&reference, i), 1.0, 8);
        println!("yuyv frame {i}: {stats:?}");
    }
}

#[test]
fn ffmpeg_mjpeg_stream_replays_as_a_source() {
    let dir = scratch_dir("ffmpeg-replay");
    let stream = dir.join("pattern.mjpeg");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        PATTERN,
        "-frames:v",
        "5",
        "-f",
        "mjpeg",
        stream.to_str().unwrap(),
    ]);
    let spec: SourceSpec = format!("file:{}?speed=max", stream.display()).parse().unwrap();
    let mut source = spec.open().unwrap();
    for sequence in 0..5 {
        let frame = source.next_frame(Duration::from_secs(1)).unwrap();
        assert_eq!(
            (frame.sequence, frame.format, frame.width, frame.height),
            (sequence, PixelFormat::Mjpeg, W, H)
        );
    }
    assert!(source.next_frame(Duration::from_secs(1)).is_err());
}

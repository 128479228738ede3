//! Decoding checked-in frames (made by ffmpeg, see `tests/fixtures/camera/README.md`) against
//! ffmpeg's own RGB for them; these tests need no ffmpeg at run time.

mod camera_support;

use camera_support::{assert_close, fixture, mjpeg_frames, strip_huffman_tables};
use twinvla_edge::camera::clock::MonotonicTime;
use twinvla_edge::camera::decode::{decode_mjpeg_into, yuyv_to_rgb_into, FrameDecoder};
use twinvla_edge::camera::{DecodeError, Frame, PixelFormat, TimestampSource};
use twinvla_edge::image::RgbImage;

const W: usize = 160;
const H: usize = 120;

fn empty() -> RgbImage {
    RgbImage { width: 0, height: 0, data: Vec::new() }
}

#[test]
fn mjpeg_frames_match_ffmpeg() {
    let frames = mjpeg_frames(&fixture("testsrc2-160x120-422.mjpeg"));
    let reference = std::fs::read(fixture("testsrc2-160x120-422.rgb")).unwrap();
    assert_eq!(frames.len(), 3);
    let mut out = empty();
    let mut scratch = Vec::new();
    for (i, jpeg) in frames.iter().enumerate() {
        decode_mjpeg_into(jpeg, &mut out, &mut scratch).unwrap();
        assert_eq!((out.width, out.height), (W, H));
        let want = &reference[i * W * H * 3..(i + 1) * W * H * 3];
        let stats = assert_close(&format!("mjpeg frame {i}"), &out.data, want, 1.0, 8);
        println!("mjpeg frame {i}: (mean, max) per channel {stats:?}");
    }
}

#[test]
fn mjpeg_without_huffman_tables_decodes_like_with_them() {
    let mut with = empty();
    let mut without = empty();
    let mut scratch = Vec::new();
    for jpeg in mjpeg_frames(&fixture("testsrc2-160x120-422.mjpeg")) {
        let uvc = strip_huffman_tables(&jpeg);
        assert!(uvc.len() < jpeg.len() && !uvc.windows(2).any(|w| w == [0xFF, 0xC4]));
        decode_mjpeg_into(&jpeg, &mut with, &mut scratch).unwrap();
        decode_mjpeg_into(&uvc, &mut without, &mut scratch).unwrap();
        assert_eq!(with, without);
    }
}

#[test]
fn yuyv_frames_equal_ffmpeg_exactly() {
    let yuyv = std::fs::read(fixture("testsrc2-160x120.yuyv")).unwrap();
    let reference = std::fs::read(fixture("testsrc2-160x120-yuyv.rgb")).unwrap();
    let mut out = empty();
    for i in 0..3 {
        yuyv_to_rgb_into(&yuyv[i * W * H * 2..(i + 1) * W * H * 2], W, H, &mut out).unwrap();
        assert!(out.data == reference[i * W * H * 3..(i + 1) * W * H * 3], "frame {i} differs");
    }
}

#[test]
fn frame_decoder_reuses_one_output_buffer_across_formats() {
    let jpeg = mjpeg_frames(&fixture("testsrc2-160x120-422.mjpeg")).remove(0);
    let yuyv = std::fs::read(fixture("testsrc2-160x120.yuyv")).unwrap()[..W * H * 2].to_vec();
    let now = MonotonicTime::now();
    let frame = |format, data| Frame {
        format,
        width: W,
        height: H,
        data,
        sequence: 0,
        captured_at: now,
        timestamp_source: TimestampSource::Host,
        received_at: now,
    };
    let mut decoder = FrameDecoder::new();
    let mut out = empty();
    decoder.decode_into(&frame(PixelFormat::Mjpeg, jpeg), &mut out).unwrap();
    let buffer = out.data.as_ptr();
    decoder.decode_into(&frame(PixelFormat::Yuyv, yuyv), &mut out).unwrap();
    assert_eq!(out.data.as_ptr(), buffer, "same-size frames decode into the same buffer");
    let rgb = out.data.clone();
    decoder.decode_into(&frame(PixelFormat::Rgb24, rgb.clone()), &mut out).unwrap();
    assert_eq!(out.data, rgb);
    let err = decoder.decode_into(&frame(PixelFormat::Rgb24, vec![0; 5]), &mut out).unwrap_err();
    assert!(matches!(err, DecodeError::WrongSize { expected: 57600, actual: 5, .. }), "{err}");
}

#[test]
fn truncated_and_garbled_frames_are_errors() {
    let jpeg = mjpeg_frames(&fixture("testsrc2-160x120-422.mjpeg")).remove(0);
    let mut out = empty();
    let mut scratch = Vec::new();
    for cut in [jpeg.len() / 2, jpeg.len() - 2, 100] {
        let err = decode_mjpeg_into(&jpeg[..cut], &mut out, &mut scratch).unwrap_err();
        assert!(matches!(err, DecodeError::Truncated { .. }), "cut at {cut}: {err}");
    }
    // Overwrite the frame header (SOF0) with garbage of the same length.
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    let mut garbled = jpeg.clone();
    garbled[sof + 4..sof + 9].copy_from_slice(&[0, 0, 0, 0, 0]);
    assert!(decode_mjpeg_into(&garbled, &mut out, &mut scratch).is_err());
    // A frame that is not JPEG at all.
    let err = decode_mjpeg_into(&[0u8; 64], &mut out, &mut scratch).unwrap_err();
    assert_eq!(err, DecodeError::NotJpeg);
}

//! Decode benchmark: three 640x480 MJPEG frames (the rig's three cameras) per iteration,
//! decoded one after the other on one thread into reused buffers; also the same frames without
//! Huffman tables (as UVC cameras send them) and three 640x480 YUYV frames.
//!
//! Run: `cargo bench --bench camera_decode` (prints median and p90 per set of three frames).

use std::time::{Duration, Instant};

use twinvla_edge::camera::clock::MonotonicTime;
use twinvla_edge::camera::decode::FrameDecoder;
use twinvla_edge::camera::mjpeg_stream::split_frames;
use twinvla_edge::camera::{Frame, PixelFormat, SourceSpec, TimestampSource};
use twinvla_edge::image::RgbImage;

const WARMUP: usize = 20;
const ITERATIONS: usize = 300;

fn frame(format: PixelFormat, data: Vec<u8>) -> Frame {
    let now = MonotonicTime::now();
    Frame {
        format,
        width: 640,
        height: 480,
        data,
        sequence: 0,
        captured_at: now,
        timestamp_source: TimestampSource::Host,
        received_at: now,
    }
}

/// Removes the DHT segments before the first scan, as a UVC camera would send the frame.
fn without_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut pos = 2;
    while jpeg[pos + 1] != 0xDA {
        let length = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        if jpeg[pos + 1] != 0xC4 {
            out.extend_from_slice(&jpeg[pos..pos + 2 + length]);
        }
        pos += 2 + length;
    }
    out.extend_from_slice(&jpeg[pos..]);
    out
}

fn measure(name: &str, frames: &[Frame]) {
    let mut decoder = FrameDecoder::new();
    let mut outputs: Vec<RgbImage> =
        frames.iter().map(|_| RgbImage { width: 0, height: 0, data: Vec::new() }).collect();
    let mut run = || {
        let start = Instant::now();
        for (frame, out) in frames.iter().zip(outputs.iter_mut()) {
            decoder.decode_into(frame, out).expect("benchmark frames decode");
        }
        start.elapsed()
    };
    for _ in 0..WARMUP {
        run();
    }
    let mut times: Vec<Duration> = (0..ITERATIONS).map(|_| run()).collect();
    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = times[times.len() / 2];
    let p90 = times[times.len() * 9 / 10];
    println!(
        "{name}: {} frames per set, {ITERATIONS} sets: median {:.2} ms, p90 {:.2} ms per set ({:.2} ms per frame, median)",
        frames.len(),
        ms(median),
        ms(p90),
        ms(median) / frames.len() as f64
    );
}

fn main() {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/camera/testsrc2-640x480-422.mjpeg");
    let data = std::fs::read(path).expect("read the benchmark fixture");
    let jpegs: Vec<Vec<u8>> = split_frames(&data).into_iter().map(|r| data[r].to_vec()).collect();
    assert_eq!(jpegs.len(), 3, "the fixture holds three frames");

    let mjpeg: Vec<Frame> = jpegs.iter().map(|j| frame(PixelFormat::Mjpeg, j.clone())).collect();
    measure("mjpeg 640x480 4:2:2", &mjpeg);
    let uvc: Vec<Frame> =
        jpegs.iter().map(|j| frame(PixelFormat::Mjpeg, without_huffman_tables(j))).collect();
    measure("mjpeg 640x480 4:2:2 without DHT", &uvc);

    let mut synthetic = "synthetic:640x480?fps=0&format=yuyv"
        .parse::<SourceSpec>()
        .expect("valid spec")
        .open()
        .expect("synthetic source opens");
    let yuyv: Vec<Frame> = (0..3)
        .map(|_| synthetic.next_frame(Duration::from_secs(1)).expect("synthetic frame"))
        .collect();
    measure("yuyv 640x480", &yuyv);
}

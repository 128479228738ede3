//! `twinvla-edge camera-probe`: opens one source, lists a V4L2 device's formats, reads frames
//! while printing their timestamps, sizes, intervals and decode times, and optionally writes
//! the decoded frames as PNG and the raw frames as an MJPEG recording.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::clock::MonotonicTime;
use super::decode::FrameDecoder;
use super::error::CameraError;
use super::png_io;
use super::recorder::MjpegRecorder;
use super::spec::SourceSpec;
use super::v4l2;
use crate::image::RgbImage;

/// Arguments of `camera-probe`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    /// Source spec: `v4l:PATH[?width=W&height=H&fps=N&format=mjpeg|yuyv]`,
    /// `file:PATH[?speed=recorded|max&fps=F&loop=true]` or `synthetic[:WxH][?fps=F&format=rgb|yuyv]`.
    #[arg(long)]
    pub source: SourceSpec,
    /// Number of frames to read.
    #[arg(long, default_value_t = 30)]
    pub frames: u64,
    /// Directory to write each decoded frame into, as `frame-NNNNNN.png`.
    #[arg(long)]
    pub dump: Option<PathBuf>,
    /// Record the raw MJPEG frames to this `.mjpeg` file (timestamps go to `FILE.timestamps`).
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Longest wait for one frame, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub timeout_ms: u64,
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs the probe, printing to standard output. Stops early, with an error, when no frame
/// arrives within the timeout or the source fails; a recording that ends just ends the probe.
pub fn run(args: ProbeArgs) -> Result<(), CameraError> {
    if let SourceSpec::V4l2(spec) = &args.source {
        println!("formats of {}:", spec.path.display());
        for format in v4l2::list_formats(&spec.path)? {
            println!("  {} ({})", format.fourcc, format.description);
            for size in format.sizes {
                let rates: Vec<String> = size.fps.iter().map(|f| format!("{f:.2}")).collect();
                println!("    {} fps [{}]", size.size, rates.join(", "));
            }
        }
    }
    let mut source = args.source.open()?;
    println!("source: {}", source.description());
    if let Some(dir) = &args.dump {
        std::fs::create_dir_all(dir).map_err(|e| CameraError::ImageFile {
            path: dir.clone(),
            reason: format!("cannot create the dump directory: {e}"),
        })?;
    }
    let mut recorder = args.record.as_deref().map(MjpegRecorder::create).transpose()?;
    let timeout = Duration::from_millis(args.timeout_ms);
    let mut decoder = FrameDecoder::new();
    let mut image = RgbImage { width: 0, height: 0, data: Vec::new() };
    let mut decode_errors = 0u64;
    let mut previous_capture: Option<MonotonicTime> = None;
    let mut outcome = Ok(());
    for index in 0..args.frames {
        let frame = match source.next_frame(timeout) {
            Ok(frame) => frame,
            Err(error @ CameraError::CorruptFrame { .. }) => {
                println!("frame {index}: {error}");
                continue;
            }
            Err(error @ CameraError::EndOfStream { .. }) => {
                println!("{error}");
                break;
            }
            Err(error) => {
                outcome = Err(error);
                break;
            }
        };
        let interval = match previous_capture.map(|p| frame.captured_at.saturating_since(p)) {
            Some(gap) if gap > Duration::ZERO => {
                format!("{:.1} ms ({:.1} fps)", millis(gap), 1.0 / gap.as_secs_f64())
            }
            Some(gap) => format!("{:.1} ms", millis(gap)),
            None => "-".to_owned(),
        };
        previous_capture = Some(frame.captured_at);
        let decode_start = Instant::now();
        let decoded = decoder.decode_into(&frame, &mut image);
        let decode_time = decode_start.elapsed();
        println!(
            "frame {index}: seq {} {} {}x{} {} B captured {} ({:?}) latency {:.1} ms interval {interval} decode {:.2} ms age {:.1} ms",
            frame.sequence,
            frame.format,
            frame.width,
            frame.height,
            frame.data.len(),
            frame.captured_at,
            frame.timestamp_source,
            millis(frame.delivery_latency()),
            millis(decode_time),
            millis(frame.age(MonotonicTime::now())),
        );
        if let Some(recorder) = recorder.as_mut() {
            recorder.append(&frame)?;
        }
        match decoded {
            Ok(()) => {
                if let Some(dir) = &args.dump {
                    png_io::write_png(&dir.join(format!("frame-{index:06}.png")), &image)?;
                }
            }
            Err(error) => {
                decode_errors += 1;
                println!("frame {index}: decode error: {error}");
            }
        }
    }
    if let Some(recorder) = recorder {
        let frames = recorder.finish()?;
        println!("recorded {frames} frames");
    }
    let mut health = source.health().snapshot(MonotonicTime::now(), timeout);
    health.decode_errors = decode_errors;
    println!(
        "summary: {} frames, {:.2} fps, drops {}, corrupt {}, decode errors {}, timeouts {}, state {}",
        health.frames,
        health.fps,
        health.drops,
        health.corrupt_frames,
        health.decode_errors,
        health.timeouts,
        health.state
    );
    outcome
}

//! Helpers shared by the camera integration tests: fixture paths, scratch directories, image
//! comparison and JPEG surgery.
// Each test crate includes this module and uses a different part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use twinvla_edge::camera::mjpeg_stream::split_frames;

/// A file under `tests/fixtures/camera/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/camera").join(name)
}

/// An empty directory for one test under Cargo's scratch area for integration tests.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("camera-{name}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The JPEG images of a raw MJPEG stream file.
pub fn mjpeg_frames(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).unwrap();
    split_frames(&data).into_iter().map(|range| data[range].to_vec()).collect()
}

/// Mean absolute difference and largest difference of each of the R, G, B channels.
pub fn channel_stats(got: &[u8], want: &[u8]) -> [(f64, u8); 3] {
    assert_eq!(got.len(), want.len(), "image sizes differ");
    let mut sums = [0u64; 3];
    let mut maxes = [0u8; 3];
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let d = g.abs_diff(*w);
        sums[i % 3] += u64::from(d);
        maxes[i % 3] = maxes[i % 3].max(d);
    }
    let n = (got.len() / 3) as f64;
    [0, 1, 2].map(|c| (sums[c] as f64 / n, maxes[c]))
}

/// Asserts every channel is within `mad` mean and `max` largest absolute difference; returns
/// the statistics for printing.
pub fn assert_close(what: &str, got: &[u8], want: &[u8], mad: f64, max: u8) -> [(f64, u8); 3] {
    let stats = channel_stats(got, want);
    for (channel, (m, x)) in ["R", "G", "B"].iter().zip(stats) {
        assert!(
            m <= mad && x <= max,
            "{what}: channel {channel} differs by mean {m:.3} / max {x} (limits {mad} / {max})"
        );
    }
    stats
}

/// The JPEG without its Huffman table segments, as a UVC camera sends it.
pub fn strip_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut pos = 2;
    loop {
        assert_eq!(jpeg[pos], 0xFF, "marker expected at {pos}");
        let code = jpeg[pos + 1];
        if code == 0xDA {
            out.extend_from_slice(&jpeg[pos..]);
            return out;
        }
        let length = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        if code != 0xC4 {
            out.extend_from_slice(&jpeg[pos..pos + 2 + length]);
        }
        pos += 2 + length;
    }
}

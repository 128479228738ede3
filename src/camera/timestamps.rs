//! The timestamps file of a recording: when each recorded frame was captured.
//!
//! Format (UTF-8 text): one line per frame, in frame order, holding the frame's capture time
//! in whole microseconds as a non-negative decimal integer. Any clock will do (the recorder
//! writes `CLOCK_MONOTONIC`); only differences between lines matter. Times must not decrease.
//! Empty lines and lines starting with `#` are ignored. Example:
//!
//! ```text
//! # twinvla-edge recording timestamps: capture time of each frame, microseconds
//! 1723456789000000
//! 1723456789033366
//! 1723456789066700
//! ```
//!
//! A raw MJPEG stream `NAME.mjpeg` keeps its timestamps in [`sidecar_path`] `NAME.mjpeg.timestamps`.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The timestamps file that goes with the MJPEG stream at `stream`: `NAME.mjpeg.timestamps`.
pub fn sidecar_path(stream: &Path) -> PathBuf {
    let mut name = stream.as_os_str().to_owned();
    name.push(".timestamps");
    PathBuf::from(name)
}

/// Why a line of a timestamps file was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampLineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Parses the text of a timestamps file into one capture time per frame, measured from the
/// first frame (so the first entry is zero).
pub fn parse_timestamps(text: &str) -> Result<Vec<Duration>, TimestampLineError> {
    let mut first: Option<u64> = None;
    let mut previous: Option<u64> = None;
    let mut times = Vec::new();
    for (index, raw_line) in text.lines().enumerate() {
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |reason: String| TimestampLineError { line: index + 1, reason };
        if !line.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error(format!("`{line}` is not a whole number of microseconds")));
        }
        let micros: u64 = line.parse().map_err(|_| error(format!("`{line}` is out of range")))?;
        if let Some(previous) = previous {
            if micros < previous {
                return Err(error(format!(
                    "time {micros} is before the previous frame's {previous}"
                )));
            }
        }
        previous = Some(micros);
        let origin = *first.get_or_insert(micros);
        times.push(Duration::from_micros(micros - origin));
    }
    Ok(times)
}

/// Writes capture times (microseconds on any clock) in the format [`parse_timestamps`] reads.
pub fn format_timestamps(micros: &[u64]) -> String {
    let mut text = String::from(
        "# twinvla-edge recording timestamps: capture time of each frame, microseconds\n",
    );
    for m in micros {
        text.push_str(&m.to_string());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_relative_times_and_skips_comments() {
        let text = "# header\n\n1000000\n 1033366 \n# note\n1066700\n";
        let times = parse_timestamps(text).unwrap();
        assert_eq!(
            times,
            vec![Duration::ZERO, Duration::from_micros(33_366), Duration::from_micros(66_700)]
        );
    }

    #[test]
    fn rejects_bad_lines_with_their_number() {
        let err = parse_timestamps("10\n20\n15\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.reason.contains("before"), "{}", err.reason);
        assert_eq!(parse_timestamps("10\n-5\n").unwrap_err().line, 2);
        assert_eq!(parse_timestamps("1.5\n").unwrap_err().line, 1);
        assert_eq!(parse_timestamps("99999999999999999999999\n").unwrap_err().line, 1);
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = parse_timestamps(&text);
        }

        #[test]
        fn written_times_read_back(mut micros in proptest::collection::vec(0u64..u64::MAX / 2, 0..50)) {
            micros.sort_unstable();
            let times = parse_timestamps(&format_timestamps(&micros)).unwrap();
            let expected: Vec<Duration> =
                micros.iter().map(|m| Duration::from_micros(m - micros[0])).collect();
            prop_assert_eq!(times, expected);
        }
    }
}

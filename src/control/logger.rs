//! The binary's logger: one line per record on standard error. Under systemd (standard error
//! connected to the journal, `$JOURNAL_STREAM` set) each line starts with its syslog priority
//! (`<3>` error … `<7>` trace) so that the journal files it at the right level; elsewhere with
//! the time since start. The level comes from `$TWINVLA_LOG` (`error`, `warn`, `info`,
//! `debug`, `trace`; default `info`).

use std::io::Write;
use std::time::Instant;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The logger.
#[derive(Debug)]
struct StderrLogger {
    level: LevelFilter,
    journal: bool,
    start: Instant,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let target = record.target();
        let line = if self.journal {
            let priority = match record.level() {
                Level::Error => 3,
                Level::Warn => 4,
                Level::Info => 6,
                Level::Debug | Level::Trace => 7,
            };
            format!("<{priority}>{target}: {}\n", record.args())
        } else {
            let t = self.start.elapsed().as_secs_f64();
            format!("[{t:9.3}s {:5} {target}] {}\n", record.level(), record.args())
        };
        // Nothing sensible to do when standard error is gone.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        // As above.
        let _ = std::io::stderr().flush();
    }
}

/// The level named by `text`, if it names one.
pub fn parse_level(text: &str) -> Option<LevelFilter> {
    match text.trim().to_ascii_lowercase().as_str() {
        "off" => Some(LevelFilter::Off),
        "error" => Some(LevelFilter::Error),
        "warn" | "warning" => Some(LevelFilter::Warn),
        "info" => Some(LevelFilter::Info),
        "debug" => Some(LevelFilter::Debug),
        "trace" => Some(LevelFilter::Trace),
        _ => None,
    }
}

/// Installs the logger (once per process; later calls do nothing).
pub fn init() {
    let level = std::env::var("TWINVLA_LOG")
        .ok()
        .and_then(|v| parse_level(&v))
        .unwrap_or(LevelFilter::Info);
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let logger = StderrLogger { level, journal, start: Instant::now() };
    if log::set_logger(Box::leak(Box::new(logger))).is_ok() {
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse() {
        assert_eq!(parse_level("WARN"), Some(LevelFilter::Warn));
        assert_eq!(parse_level(" debug "), Some(LevelFilter::Debug));
        assert_eq!(parse_level("loud"), None);
    }
}

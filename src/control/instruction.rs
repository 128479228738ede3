//! The current instruction, changed by command or by a watched file. The policy re-tokenises
//! only when the text changes, so an unchanged file costs nothing but a `stat`.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::config::check_instruction;

/// The instruction and, optionally, the file it follows.
#[derive(Debug)]
pub struct Instruction {
    text: String,
    file: Option<PathBuf>,
    poll: Duration,
    next_poll: Instant,
    seen: Option<(SystemTime, u64)>,
}

impl Instruction {
    /// Starts with `text`; looks at `file` (if any) every `poll`.
    pub fn new(text: String, file: Option<PathBuf>, poll: Duration, now: Instant) -> Self {
        Self { text, file, poll, next_poll: now, seen: None }
    }

    /// The current text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Replaces the text (after checking it); true when it changed.
    pub fn set(&mut self, text: &str) -> Result<bool, String> {
        let text = text.trim();
        check_instruction(text)?;
        if text == self.text {
            return Ok(false);
        }
        log::info!("instruction: {text:?}");
        self.text = text.to_owned();
        Ok(true)
    }

    /// Looks at the file when due; takes its text when the file changed. Returns an error to
    /// log when the file's new text is unusable (the current text stays).
    pub fn poll(&mut self, now: Instant) -> Result<bool, String> {
        let Some(file) = self.file.clone() else { return Ok(false) };
        if now < self.next_poll {
            return Ok(false);
        }
        self.next_poll = now + self.poll;
        let Ok(meta) = std::fs::metadata(&file) else { return Ok(false) };
        let stamp = (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len());
        if self.seen == Some(stamp) {
            return Ok(false);
        }
        self.seen = Some(stamp);
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        self.set(&text).map_err(|e| format!("{}: instruction {e}", file.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_checks_and_reports_changes() {
        let t0 = Instant::now();
        let mut i = Instruction::new("a".into(), None, Duration::from_millis(10), t0);
        assert_eq!(i.set(" a "), Ok(false));
        assert_eq!(i.set("b"), Ok(true));
        assert!(i.set("").is_err());
        assert_eq!(i.text(), "b");
        assert_eq!(i.poll(t0), Ok(false));
    }

    #[test]
    fn follows_the_file_when_it_changes() {
        let dir = std::env::temp_dir().join(format!("instruction-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("instruction.txt");
        std::fs::write(&path, "pick up the cup\n").expect("write");
        let t0 = Instant::now();
        let poll = Duration::from_millis(10);
        let mut i = Instruction::new("start".into(), Some(path.clone()), poll, t0);
        assert_eq!(i.poll(t0), Ok(true));
        assert_eq!(i.text(), "pick up the cup");
        assert_eq!(i.poll(t0 + poll), Ok(false), "unchanged file");
        std::fs::write(&path, "put it down, please").expect("write");
        assert_eq!(i.poll(t0 + poll / 2), Ok(false), "not due yet");
        assert_eq!(i.poll(t0 + poll * 2), Ok(true));
        assert_eq!(i.text(), "put it down, please");
        std::fs::write(&path, "   ").expect("write");
        assert!(i.poll(t0 + poll * 3).is_err(), "blank file refused");
        assert_eq!(i.text(), "put it down, please");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

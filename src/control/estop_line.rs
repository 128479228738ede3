//! E-stop input lines: a physical button on a GPIO pin (through the arm bridge's Raspberry Pi
//! input, feature `raspberry-pi`) or a file (bench rigs and tests), behind one trait that the
//! e-stop monitor polls.

use std::path::PathBuf;

use super::config::{EStopConfig, EStopKind};

/// An input that says whether the robot must stop.
pub trait EStopLine: Send {
    /// What the line is, for logs.
    fn describe(&self) -> String;

    /// True while the line says stop. An error is treated as "stop" by the monitor.
    fn is_asserted(&mut self) -> Result<bool, String>;
}

/// A file as an e-stop line: asserted while its trimmed text is `1`, released when it is `0`,
/// empty or absent; any other text, or a read error, is an error (and so stops the robot).
#[derive(Debug)]
pub struct FileEStopLine {
    path: PathBuf,
}

impl FileEStopLine {
    /// A line read from `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl EStopLine for FileEStopLine {
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn is_asserted(&mut self) -> Result<bool, String> {
        match std::fs::read(&self.path) {
            Ok(bytes) => match String::from_utf8_lossy(&bytes).trim() {
                "1" => Ok(true),
                "0" | "" => Ok(false),
                other => Err(format!(
                    "{}: expected 0 or 1, found {:?}",
                    self.path.display(),
                    other.chars().take(20).collect::<String>()
                )),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(format!("{}: {e}", self.path.display())),
        }
    }
}

/// A Raspberry Pi GPIO pin with a button, through `firmware_bridge::host::raspberry_pi`.
#[cfg(feature = "raspberry-pi")]
pub struct GpioEStopLine {
    input: firmware_bridge::host::raspberry_pi::EStopInput,
    pin: u8,
}

#[cfg(feature = "raspberry-pi")]
impl EStopLine for GpioEStopLine {
    fn describe(&self) -> String {
        format!("GPIO pin {} (BCM)", self.pin)
    }

    fn is_asserted(&mut self) -> Result<bool, String> {
        Ok(self.input.is_asserted())
    }
}

/// Opens the line `config` describes; `None` for kind `none`.
pub fn open_line(config: &EStopConfig) -> Result<Option<Box<dyn EStopLine>>, String> {
    match config.kind {
        EStopKind::None => Ok(None),
        EStopKind::File => {
            let path = config.path.clone().ok_or("safety.estop.path is required")?;
            Ok(Some(Box::new(FileEStopLine::new(path))))
        }
        EStopKind::Gpio => open_gpio(config),
    }
}

#[cfg(feature = "raspberry-pi")]
fn open_gpio(config: &EStopConfig) -> Result<Option<Box<dyn EStopLine>>, String> {
    use super::config::EStopWiringConfig;
    use firmware_bridge::host::raspberry_pi::{EStopInput, EStopWiring};
    let pin = config.pin.ok_or("safety.estop.pin is required")?;
    let wiring = match config.wiring {
        EStopWiringConfig::NormallyClosed => EStopWiring::NormallyClosedToGround,
        EStopWiringConfig::NormallyOpen => EStopWiring::NormallyOpenToGround,
    };
    let input = EStopInput::open(pin, wiring).map_err(|e| e.to_string())?;
    Ok(Some(Box::new(GpioEStopLine { input, pin })))
}

#[cfg(not(feature = "raspberry-pi"))]
fn open_gpio(_config: &EStopConfig) -> Result<Option<Box<dyn EStopLine>>, String> {
    Err("safety.estop.kind = \"gpio\" needs a build with the `raspberry-pi` feature".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_line_reads_its_states() {
        let dir = std::env::temp_dir().join(format!("estop-line-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("estop");
        let mut line = FileEStopLine::new(&path);
        assert_eq!(line.is_asserted(), Ok(false), "absent file: released");
        std::fs::write(&path, "1\n").expect("write");
        assert_eq!(line.is_asserted(), Ok(true));
        std::fs::write(&path, "0").expect("write");
        assert_eq!(line.is_asserted(), Ok(false));
        std::fs::write(&path, "maybe").expect("write");
        assert!(line.is_asserted().is_err());
        assert!(line.describe().contains("estop"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn open_line_follows_the_config() {
        assert!(open_line(&EStopConfig::default()).expect("none").is_none());
        let file = EStopConfig {
            kind: EStopKind::File,
            path: Some("/nonexistent/estop".into()),
            ..EStopConfig::default()
        };
        assert!(open_line(&file).expect("file").is_some());
    }
}

//! The demo's setup: a tiny model made with the project's own tools (a synthetic checkpoint
//! converted to q8, cached between runs), synthetic cameras, and two simulated arms on real
//! pseudo-terminals reached through the real serial path.
//!
//! The tokenizer the converter embeds in the model is the repository's
//! `assets/tokenizer/qwen2/tokenizer.json` (11 MB). It is looked up at run time rather than
//! compiled into the binary, because the binary is what gets flashed onto every robot while the
//! demo is the only part that needs the file: `--tokenizer`, then `$TWINVLA_TOKENIZER`, then
//! `share/twinvla-edge/tokenizer.json` next to the installed binary (where `tools/install.sh`
//! puts it), then `assets/tokenizer/qwen2/tokenizer.json` in the directories above the
//! executable and above the working directory (a source checkout).

use std::path::{Path, PathBuf};

use super::config::{Config, ConfigError};
use crate::convert::synth::{synthesize, Preset};
use crate::convert::{convert, ConvertError, ConvertOptions};
use crate::model::file::{ModelFile, FORMAT_VERSION};
use crate::model::tensors::Recipe;

/// The tokenizer's place in a source checkout.
const CHECKOUT_TOKENIZER: &str = "assets/tokenizer/qwen2/tokenizer.json";

/// The tokenizer's place relative to an installed binary's directory.
const INSTALLED_TOKENIZER: &str = "../share/twinvla-edge/tokenizer.json";

/// Why the demo could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// No tokenizer file was found.
    #[error(
        "tokenizer.json not found (looked at: {}); pass --tokenizer or set TWINVLA_TOKENIZER",
        .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    Tokenizer {
        /// Every place looked at.
        searched: Vec<PathBuf>,
    },
    /// Making the model failed.
    #[error("making the demo model: {0}")]
    Convert(#[from] ConvertError),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The demo configuration is invalid (a bug).
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Finds the tokenizer (see the module documentation for the order).
pub fn find_tokenizer(explicit: Option<&Path>) -> Result<PathBuf, DemoError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(path) = explicit {
        candidates.push(path.to_owned());
    } else {
        if let Some(path) = std::env::var_os("TWINVLA_TOKENIZER") {
            candidates.push(PathBuf::from(path));
        }
        if let Some(exe_dir) =
            std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_owned))
        {
            candidates.push(exe_dir.join(INSTALLED_TOKENIZER));
            candidates.extend(exe_dir.ancestors().map(|d| d.join(CHECKOUT_TOKENIZER)));
        }
        if let Ok(cwd) = std::env::current_dir() {
            candidates.extend(cwd.ancestors().map(|d| d.join(CHECKOUT_TOKENIZER)));
        }
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(DemoError::Tokenizer { searched: candidates })
}

/// Where the demo keeps its model: `$TWINVLA_CACHE_DIR/demo`, else
/// `$XDG_CACHE_HOME/twinvla-edge/demo`, else `~/.cache/twinvla-edge/demo`, else a directory
/// under the system's temporary directory.
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("TWINVLA_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("twinvla-edge"))
        })
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/twinvla-edge")))
        .unwrap_or_else(|| std::env::temp_dir().join("twinvla-edge"));
    base.join("demo")
}

/// The tiny q8 model in `dir`, made first if missing (or unreadable, e.g. from an older file
/// format): a synthetic checkpoint with seed 0, converted with `tokenizer`. Returns its path
/// and whether it was made now.
pub fn prepare_model(dir: &Path, tokenizer: &Path) -> Result<(PathBuf, bool), DemoError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| DemoError::Io { path, source }
    };
    let model = dir.join(format!("tiny-seed0-q8-v{FORMAT_VERSION}.gguf"));
    if ModelFile::open(&model).is_ok() {
        return Ok((model, false));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let checkpoint = dir.join(format!("checkpoint-{}", std::process::id()));
    synthesize(Preset::Tiny, 0, &checkpoint)?;
    let partial = dir.join(format!("model-{}.gguf.tmp", std::process::id()));
    let options = ConvertOptions {
        checkpoint: checkpoint.clone(),
        tokenizer: tokenizer.to_owned(),
        recipe: Recipe::Q8,
        output: partial.clone(),
    };
    let converted = convert(&options, &mut |_, _, _| {});
    // The checkpoint is only an intermediate.
    let _ = std::fs::remove_dir_all(&checkpoint);
    converted?;
    std::fs::rename(&partial, &model).map_err(io(&model))?;
    Ok((model, true))
}

/// The demo's configuration: synthetic cameras, the two simulated arms on `ports`, slow
/// rates and generous deadlines (a CPU Vulkan driver takes seconds per prediction), and
/// permissive step limits (the synthetic model's weights are random, so its actions jump;
/// they are still clamped into the workspace and counted).
pub fn demo_config(model: &Path, ports: [&Path; 2]) -> Result<(Config, String), DemoError> {
    let text = format!(
        r#"# The demo's configuration (see docs/runtime.md for every field).
[policy]
model = {model:?}
instruction = "pick up the towel and fold it"
seed = 0

[cameras]
primary = "synthetic:320x240?fps=15"
wrist_left = "synthetic:320x240?fps=15"
wrist_right = "synthetic:320x240?fps=15"

[arms.left]
transport = "serial"
port = {left:?}
request_timeout_ms = 100

[arms.right]
transport = "serial"
port = {right:?}
request_timeout_ms = 100

[control]
rate_hz = 50
step_period_ms = 2000
trigger_remaining_steps = 16
blend = "linear"
blend_steps = 4

[inference]
max_rate_hz = 1
deadline_ms = 120000

[safety]
max_step_delta_m = 2.0
max_step_rotation_rad = 3.2
max_step_gripper = 1.0
max_start_delta_m = 2.0
max_start_rotation_rad = 3.2
camera_stall_ms = 1000
arm_state_timeout_ms = 500

[status]
log_interval_s = 5
"#,
        model = model.display().to_string(),
        left = ports[0].display().to_string(),
        right = ports[1].display().to_string(),
    );
    let config = Config::parse(&text, "demo configuration")?;
    Ok((config, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_is_valid() {
        let (config, text) = demo_config(
            Path::new("/tmp/m.gguf"),
            [Path::new("/dev/pts/1"), Path::new("/dev/pts/2")],
        )
        .expect("valid");
        assert_eq!(config.arms.right.port.as_deref(), Some(Path::new("/dev/pts/2")));
        assert!(text.contains("deadline_ms = 120000"));
    }

    #[test]
    fn an_explicit_tokenizer_must_exist() {
        let missing = Path::new("/nonexistent/tokenizer.json");
        assert!(matches!(find_tokenizer(Some(missing)), Err(DemoError::Tokenizer { .. })));
    }

    #[test]
    fn the_checkout_tokenizer_is_found_from_the_working_directory() {
        let found = find_tokenizer(None).expect("tests run inside the checkout");
        assert!(found.ends_with(CHECKOUT_TOKENIZER));
    }
}

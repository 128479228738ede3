//! The deployable files agree with the code: the example configuration parses, the reference
//! in `docs/runtime.md` lists every configuration field with a default, and `tools/install.sh`
//! installs idempotently under `--prefix` and changes nothing with `--dry-run`.

use std::path::{Path, PathBuf};
use std::process::Command;

use twinvla_edge::control::config::{ArmConfig, EStopKind};
use twinvla_edge::control::Config;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_twinvla-edge");

#[test]
fn the_example_configuration_is_valid() {
    let config = Config::load(&Path::new(ROOT).join("deploy/config.example.toml")).expect("valid");
    assert_eq!(config.arms.left.port.as_deref(), Some(Path::new("/dev/twinvla/arm-left")));
    assert!(config.cameras.primary.starts_with("v4l:/dev/twinvla/cam-primary"));
}

/// Dotted paths of every field of `value`'s JSON form, arms folded into `arms.<side>`.
fn field_paths(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    if let serde_json::Value::Object(map) = value {
        for (key, child) in map {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            let path =
                path.replace("arms.left", "arms.<side>").replace("arms.right", "arms.<side>");
            if child.is_object() {
                field_paths(child, &path, out);
            } else if !out.contains(&path) {
                out.push(path);
            }
        }
    }
}

#[test]
fn the_reference_lists_every_field_with_a_default() {
    let mut config = Config::load(&Path::new(ROOT).join("deploy/config.example.toml")).expect("ok");
    // Fill every optional field so that it appears in the JSON form.
    config.arms.right = ArmConfig {
        interface: Some("can0".into()),
        workspace_min: Some([0.0; 3]),
        workspace_max: Some([0.0; 3]),
        gripper_min: Some(0.0),
        gripper_max: Some(1.0),
        ..config.arms.right
    };
    config.safety.estop.kind = EStopKind::Gpio;
    config.safety.estop.path = Some("/x".into());
    config.safety.estop.pin = Some(1);
    let json = serde_json::to_value(&config).expect("json");
    let mut paths = Vec::new();
    field_paths(&json, "", &mut paths);
    assert!(paths.len() > 50, "{paths:?}");
    let docs = std::fs::read_to_string(Path::new(ROOT).join("docs/runtime.md")).expect("docs");
    for path in &paths {
        let row = docs
            .lines()
            .find(|l| l.starts_with(&format!("| `{path}` |")))
            .unwrap_or_else(|| panic!("docs/runtime.md has no reference row for `{path}`"));
        let default = row.split('|').nth(2).map(str::trim).unwrap_or_default();
        assert!(!default.is_empty(), "`{path}` has no default in docs/runtime.md");
    }
}

fn install(args: &[&str]) -> (bool, String) {
    let out = Command::new("bash")
        .arg(Path::new(ROOT).join("tools/install.sh"))
        .args(args)
        .output()
        .expect("bash runs install.sh");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn install_is_idempotent_and_dry_run_changes_nothing() {
    let prefix: PathBuf =
        std::env::temp_dir().join(format!("twinvla-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&prefix);
    let model = prefix.with_extension("model");
    std::fs::write(&model, b"not really a model").expect("model");
    let p = prefix.to_str().expect("utf-8");
    let m = model.to_str().expect("utf-8");

    let (ok, out) = install(&["--prefix", p, "--dry-run", "--binary", BIN, "--model", m]);
    assert!(ok, "{out}");
    assert!(!prefix.exists(), "--dry-run wrote files:\n{out}");

    let (ok, out) = install(&["--prefix", p, "--binary", BIN, "--model", m]);
    assert!(ok, "{out}");
    for file in [
        "usr/local/bin/twinvla-edge",
        "etc/systemd/system/twinvla-edge.service",
        "etc/twinvla-edge/config.toml",
        "etc/udev/rules.d/99-twinvla-cameras.rules",
        "etc/udev/rules.d/99-twinvla-arms.rules",
        "var/lib/twinvla-edge/model.gguf",
        "usr/local/share/twinvla-edge/tokenizer.json",
        "usr/local/share/doc/twinvla-edge/runtime.md",
    ] {
        assert!(prefix.join(file).is_file(), "{file} missing:\n{out}");
    }
    // The robot's own configuration survives a reinstall; everything else is unchanged.
    let config = prefix.join("etc/twinvla-edge/config.toml");
    std::fs::write(&config, "# edited on the robot\n").expect("edit");
    let (ok, out) = install(&["--prefix", p, "--binary", BIN, "--model", m]);
    assert!(ok, "{out}");
    assert!(!out.contains("install "), "second run installed something:\n{out}");
    assert_eq!(std::fs::read_to_string(&config).expect("config"), "# edited on the robot\n");

    let (ok, out) = install(&["--prefix", p, "--binary", "/nonexistent/twinvla-edge"]);
    assert!(!ok && out.contains("build it first"), "{out}");
    let _ = std::fs::remove_dir_all(&prefix);
    let _ = std::fs::remove_file(&model);
}

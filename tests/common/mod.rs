//! Shared helpers of the integration tests: fixture paths and converted model files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use twinvla_edge::convert::{self, ConvertOptions};
use twinvla_edge::model::tensors::Recipe;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The golden checkpoint directory.
pub fn golden_checkpoint() -> PathBuf {
    root().join("tests/fixtures/golden-tiny/checkpoint")
}

/// The Qwen2 tokenizer.json.
pub fn tokenizer_json() -> PathBuf {
    root().join("assets/tokenizer/qwen2/tokenizer.json")
}

/// A scratch directory unique to this test process.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("twinvla-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        dir
    })
}

/// The golden checkpoint converted with `recipe` (converted once per test process).
pub fn golden_model(recipe: Recipe) -> PathBuf {
    static FILES: OnceLock<std::sync::Mutex<std::collections::HashMap<&'static str, PathBuf>>> =
        OnceLock::new();
    let files = FILES.get_or_init(Default::default);
    let mut files = files.lock().expect("lock");
    files
        .entry(recipe.name())
        .or_insert_with(|| {
            let output = scratch().join(format!("golden-{}.gguf", recipe.name()));
            let options = ConvertOptions {
                checkpoint: golden_checkpoint(),
                tokenizer: tokenizer_json(),
                recipe,
                output: output.clone(),
            };
            convert::convert(&options, &mut |_, _, _| {}).expect("convert golden checkpoint");
            output
        })
        .clone()
}

//! The model file end to end: convert the golden checkpoint with every recipe, read it back,
//! check values against the checkpoint, check third-party readers, and corrupt it.

mod common;

use std::process::Command;

use twinvla_edge::convert::safetensors::Checkpoint;
use twinvla_edge::model::file::{ModelFile, ModelFileError};
use twinvla_edge::model::quant::relative_rmse;
use twinvla_edge::model::tensors::{model_file_tensors, Recipe};

#[test]
fn f32_recipe_stores_every_tensor_exactly() {
    let file = ModelFile::open(common::golden_model(Recipe::F32)).unwrap();
    let ckpt = Checkpoint::open_dir(&common::golden_checkpoint()).unwrap();
    for def in model_file_tensors(file.config()) {
        let stored = file.weight(&def.name).unwrap().to_f32();
        let expected = match &def.mean_of {
            None => ckpt.read(&def.name).unwrap(),
            Some([l, r]) => {
                let (a, b) = (ckpt.read(l).unwrap(), ckpt.read(r).unwrap());
                a.iter().zip(&b).map(|(x, y)| (x + y) / 2.0).collect()
            }
        };
        assert_eq!(stored, expected, "{}", def.name);
    }
}

#[test]
fn quantized_recipes_stay_within_their_stated_bounds() {
    let ckpt = Checkpoint::open_dir(&common::golden_checkpoint()).unwrap();
    // Stated bounds (README): per-tensor relative RMSE f16 <= 1e-3, q8 <= 1e-2, q4 <= 0.12.
    for (recipe, bound) in [(Recipe::F16, 1e-3), (Recipe::Q8, 1e-2), (Recipe::Q4, 0.12)] {
        let file = ModelFile::open(common::golden_model(recipe)).unwrap();
        let mut worst = 0f64;
        for def in model_file_tensors(file.config()).iter().filter(|d| d.mean_of.is_none()) {
            let stored = file.weight(&def.name).unwrap().to_f32();
            let err = relative_rmse(&ckpt.read(&def.name).unwrap(), &stored);
            worst = worst.max(err);
            assert!(err <= bound, "{recipe:?} {}: {err}", def.name);
        }
        eprintln!("{recipe:?}: worst per-tensor relative RMSE {worst:.3e}");
    }
}

#[test]
fn the_python_gguf_package_reads_every_recipe() {
    for recipe in [Recipe::F32, Recipe::Q8, Recipe::Q4] {
        let path = common::golden_model(recipe);
        let out =
            Command::new("gguf-dump").arg("--no-tensors").arg(&path).output().unwrap_or_else(|e| {
                panic!("gguf-dump is not runnable ({e}): run tools/setup.sh (pip install gguf)")
            });
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "gguf-dump failed: {}", String::from_utf8_lossy(&out.stderr));
        let file = ModelFile::open(&path).unwrap();
        let kv = file.header().metadata.len();
        assert!(
            text.contains(&format!("GGUF.tensor_count = {}", file.header().tensors.len())),
            "{text}"
        );
        assert!(text.contains(&format!("GGUF.kv_count = {kv}")), "{text}");
        assert!(text.contains("general.architecture = 'twinvla'"));
        let full = Command::new("gguf-dump").arg(&path).output().unwrap();
        let listing = String::from_utf8_lossy(&full.stdout);
        for t in &file.header().tensors {
            assert!(listing.contains(&format!("| {}\n", t.name)), "gguf-dump lacks {}", t.name);
        }
    }
}

fn reopen_with(bytes: &[u8], name: &str) -> Result<ModelFile, ModelFileError> {
    let path = common::scratch().join(name);
    std::fs::write(&path, bytes).unwrap();
    ModelFile::open(&path)
}

#[test]
fn every_fault_has_its_own_error() {
    let good = std::fs::read(common::golden_model(Recipe::Q8)).unwrap();
    let missing = ModelFile::open(common::scratch().join("nope.gguf"));
    assert!(matches!(missing, Err(ModelFileError::Missing(_))));
    let truncated = reopen_with(&good[..good.len() / 2], "trunc.gguf");
    assert!(matches!(truncated, Err(ModelFileError::Container { .. })), "{truncated:?}");
    let mut magic = good.clone();
    magic[0] = b'X';
    assert!(matches!(reopen_with(&magic, "magic.gguf"), Err(ModelFileError::Container { .. })));
    let mut version = good.clone();
    version[4] = 2;
    let err = reopen_with(&version, "version.gguf").err().unwrap().to_string();
    assert!(err.contains("unsupported GGUF version 2"), "{err}");
    let mut data = good.clone();
    let last = data.len() - 300;
    data[last] ^= 0x40;
    let err = reopen_with(&data, "crc.gguf");
    assert!(matches!(err, Err(ModelFileError::ChecksumMismatch { .. })), "{err:?}");
    // Rename a tensor in the header: it is then missing.
    let name = b"norm.weight";
    let at = good.windows(name.len()).position(|w| w == name).unwrap();
    let mut renamed = good.clone();
    renamed[at] = b'N';
    let err = reopen_with(&renamed, "renamed.gguf");
    assert!(matches!(err, Err(ModelFileError::MissingTensor { .. })), "{err:?}");
    // Change a config switch embedded in the file.
    let switch = b"\"attn_reweighting\":true";
    let at = good.windows(switch.len()).position(|w| w == switch).unwrap();
    let mut cfg = good.clone();
    cfg[at + switch.len() - 4..at + switch.len()].copy_from_slice(b"null");
    let err = reopen_with(&cfg, "config.gguf");
    assert!(matches!(err, Err(ModelFileError::Config { .. })), "{err:?}");
}

#[test]
fn flipped_and_truncated_bytes_never_panic_and_never_pass() {
    let good = std::fs::read(common::golden_model(Recipe::Q4)).unwrap();
    let path = common::scratch().join("mutant.gguf");
    let n = good.len();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..160 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut bytes = good.clone();
        // Half the mutations in the header (the first 64 KiB), half anywhere.
        let pos = if i % 2 == 0 { (state % 65_536) as usize } else { (state % n as u64) as usize };
        if i % 5 == 0 {
            bytes.truncate(pos);
        } else {
            bytes[pos] ^= 1 << (state % 8);
        }
        std::fs::write(&path, &bytes).unwrap();
        match ModelFile::open(&path) {
            Err(_) => {}
            // A flip inside alignment padding changes no tensor: the file is still valid.
            Ok(file) => assert!(i % 5 != 0 || pos >= file.len(), "truncation at {pos} accepted"),
        }
    }
}

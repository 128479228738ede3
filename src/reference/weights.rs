//! Where the reference model's weights come from: the runtime's model file, or an upstream
//! checkpoint directory read directly (the ground truth for the converter).
//!
//! Every source hands out dense row-major f32 tensors of the catalogue's logical shape
//! ([`crate::model::tensors`]). Derived `.mean_lr` tensors, the common segment's fused
//! weights, are stored in a model file and computed on the fly from a checkpoint.

use std::path::{Path, PathBuf};

use half::{bf16, f16};
use safetensors::tensor::{Dtype, Metadata};

use super::error::ReferenceError;
use crate::model::file::ModelFile;
use crate::model::tensors::MEAN_SUFFIX;

/// A source of dense f32 weights by checkpoint name.
pub trait WeightSource {
    /// The tensor `name`, row-major in its catalogue shape, widened or dequantized to f32.
    fn dense(&self, name: &str) -> Result<Vec<f32>, ReferenceError>;
}

impl WeightSource for ModelFile {
    fn dense(&self, name: &str) -> Result<Vec<f32>, ReferenceError> {
        Ok(self.weight(name)?.to_f32())
    }
}

/// Loads `name` and checks that it has `expected` elements.
pub fn load(
    weights: &dyn WeightSource,
    name: &str,
    expected: usize,
) -> Result<Vec<f32>, ReferenceError> {
    let data = weights.dense(name)?;
    if data.len() != expected {
        return Err(ReferenceError::WeightShape {
            name: name.to_string(),
            expected,
            found: data.len(),
        });
    }
    Ok(data)
}

/// The weights of an upstream checkpoint directory (`model.safetensors`), memory-mapped.
///
/// bf16, f16 and f32 tensors are widened to f32. A name ending in
/// [`MEAN_SUFFIX`] (`backbone_l.{i}.{param}.mean_lr`) is computed as
/// `(backbone_l.{i}.{param} + backbone_r.{i}.{param}) / 2` in f32, as the converter does.
pub struct CheckpointWeights {
    path: PathBuf,
    map: memmap2::Mmap,
    data_start: usize,
    metadata: Metadata,
}

impl CheckpointWeights {
    /// Opens `dir/model.safetensors` and validates its header.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, ReferenceError> {
        let path = dir.as_ref().join("model.safetensors");
        let file = std::fs::File::open(&path)
            .map_err(|source| ReferenceError::CheckpointIo { path: path.clone(), source })?;
        // SAFETY: the map is read-only and private to this process; a checkpoint is not
        // modified while it is being read.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .map_err(|source| ReferenceError::CheckpointIo { path: path.clone(), source })?;
        let (header_len, metadata) =
            safetensors::SafeTensors::read_metadata(&map).map_err(|e| {
                ReferenceError::CheckpointFormat { path: path.clone(), reason: e.to_string() }
            })?;
        // `read_metadata` checked that the 8-byte length, the header and every tensor's
        // bytes exactly fill the file.
        Ok(Self { path, map, data_start: 8 + header_len, metadata })
    }

    fn stored(&self, name: &str) -> Result<Vec<f32>, ReferenceError> {
        let missing = || ReferenceError::MissingWeight {
            name: name.to_string(),
            source_name: self.path.display().to_string(),
        };
        let info = self.metadata.info(name).ok_or_else(missing)?;
        let (start, end) = info.data_offsets;
        let bytes =
            self.map.get(self.data_start + start..self.data_start + end).ok_or_else(|| {
                ReferenceError::CheckpointFormat {
                    path: self.path.clone(),
                    reason: format!("tensor '{name}' lies outside the file"),
                }
            })?;
        match info.dtype {
            Dtype::BF16 => Ok(bytes
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect()),
            Dtype::F16 => Ok(bytes
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect()),
            Dtype::F32 => Ok(bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()),
            other => Err(ReferenceError::UnsupportedDtype {
                name: name.to_string(),
                dtype: format!("{other:?}"),
            }),
        }
    }
}

impl WeightSource for CheckpointWeights {
    fn dense(&self, name: &str) -> Result<Vec<f32>, ReferenceError> {
        let Some(left_name) = name.strip_suffix(MEAN_SUFFIX) else {
            return self.stored(name);
        };
        let right_name = left_name.replacen("backbone_l.", "backbone_r.", 1);
        if right_name == left_name {
            return Err(ReferenceError::MissingWeight {
                name: name.to_string(),
                source_name: format!("{} (a mean needs a backbone_l tensor)", self.path.display()),
            });
        }
        let left = self.stored(left_name)?;
        let right = self.stored(&right_name)?;
        if left.len() != right.len() {
            return Err(ReferenceError::WeightShape {
                name: right_name,
                expected: left.len(),
                found: right.len(),
            });
        }
        Ok(left.iter().zip(&right).map(|(l, r)| (l + r) / 2.0).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> CheckpointWeights {
        CheckpointWeights::open(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/golden-tiny/checkpoint"
        ))
        .unwrap()
    }

    #[test]
    fn reads_bf16_tensors_and_computes_means() {
        let w = fixture();
        let norm = w.dense("norm.weight").unwrap();
        assert_eq!(norm.len(), 64);
        let l = w.dense("backbone_l.3.self_attn.q_proj.bias").unwrap();
        let r = w.dense("backbone_r.3.self_attn.q_proj.bias").unwrap();
        let m = w.dense("backbone_l.3.self_attn.q_proj.bias.mean_lr").unwrap();
        assert_ne!(l, r, "the fixture's arms differ");
        for i in 0..m.len() {
            assert_eq!(m[i], (l[i] + r[i]) / 2.0);
        }
    }

    #[test]
    fn missing_tensors_and_files_are_named() {
        let w = fixture();
        let err = w.dense("nope.weight").unwrap_err().to_string();
        assert!(err.contains("nope.weight") && err.contains("model.safetensors"), "{err}");
        let err = w.dense("norm.weight.mean_lr").unwrap_err().to_string();
        assert!(err.contains("norm.weight.mean_lr"), "{err}");
        let err = match CheckpointWeights::open("/nonexistent/dir") {
            Err(e) => e.to_string(),
            Ok(_) => panic!("opened a missing directory"),
        };
        assert!(err.contains("/nonexistent/dir/model.safetensors"), "{err}");
        let err = load(&w, "norm.weight", 65).unwrap_err().to_string();
        assert!(err.contains("65") && err.contains("64"), "{err}");
    }

    #[test]
    fn damaged_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("twinvla-ref-damaged-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("model.safetensors"), b"\x10\0\0\0\0\0\0\0{not json").unwrap();
        let result = CheckpointWeights::open(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        match result {
            Err(ReferenceError::CheckpointFormat { .. }) => {}
            Err(e) => panic!("wrong error {e}"),
            Ok(_) => panic!("accepted a damaged file"),
        }
    }
}

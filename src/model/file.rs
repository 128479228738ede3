//! The runtime's model file: a GGUF v3 file with `general.architecture = "twinvla"`.
//!
//! This module defines what the file holds (metadata keys, how each tensor is stored) and
//! opens it: memory-map, validate everything before use, then hand out typed views.
//!
//! Storage of a tensor named `N` (the checkpoint's name):
//! - f32/f16 tensors: one tensor `N`; matrices have rows padded to a multiple of 32 columns;
//! - q8 matrices: `N.q8` (signed bytes) and `N.scales` (f16, one per block of 32);
//! - q4 matrices: `N.q4` (two 4-bit codes per byte), `N.scales` and `N.mins` (f16).
//!
//! A matrix whose column count was padded records its logical width under
//! `twinvla.logical_cols.N`.

use std::path::{Path, PathBuf};

use half::f16;

use super::config::{ConfigError, ModelConfig};
use super::gguf::{self, GgmlType, GgufError, Header, TensorSpec, Value};
use super::quant::{self, WeightFormat, BLOCK};
use super::stats::{DatasetStats, StatsError};
use super::tensors::{model_file_tensors, Recipe, Role, TensorDef};

/// Version of the TwinVLA layout inside the GGUF container.
pub const FORMAT_VERSION: u32 = 1;

/// Metadata keys written by the converter and required by the reader.
pub mod keys {
    /// `"twinvla"`.
    pub const ARCHITECTURE: &str = "general.architecture";
    /// Human-readable model name.
    pub const NAME: &str = "general.name";
    /// [`super::FORMAT_VERSION`].
    pub const FORMAT_VERSION: &str = "twinvla.format_version";
    /// The [`super::ModelConfig`] as JSON.
    pub const CONFIG: &str = "twinvla.config";
    /// Recipe name (`f32`, `f16`, `q8`, `q4`).
    pub const RECIPE: &str = "twinvla.quantization.recipe";
    /// Recipe description: format per tensor role.
    pub const RECIPE_DESCRIPTION: &str = "twinvla.quantization.description";
    /// Elements per quantization block.
    pub const BLOCK_SIZE: &str = "twinvla.quantization.block_size";
    /// SHA-256 (hex) of the checkpoint's weight files, in shard order.
    pub const SOURCE_SHA256: &str = "twinvla.source.sha256";
    /// The checkpoint's `config.json` text.
    pub const SOURCE_CONFIG: &str = "twinvla.source.config_json";
    /// The checkpoint's `singlevla_config/config.json` text.
    pub const SOURCE_SINGLEVLA_CONFIG: &str = "twinvla.source.singlevla_config_json";
    /// `dataset_statistics.json` text (every key).
    pub const DATASET_STATISTICS: &str = "twinvla.dataset_statistics";
    /// The backbone's `tokenizer.json` text (GGUF's standard key).
    pub const TOKENIZER_JSON: &str = "tokenizer.huggingface.json";
    /// System prompt prefix.
    pub const PROMPT_SYSTEM: &str = "twinvla.prompt.system";
    /// Base prompt template; `{task}` is replaced by the instruction.
    pub const PROMPT_BASE: &str = "twinvla.prompt.base";
    /// Separator before each arm's segment.
    pub const PROMPT_ARM_STATE: &str = "twinvla.prompt.arm_state";
    /// Separator before the readout tokens.
    pub const PROMPT_ACTION: &str = "twinvla.prompt.action";
    /// Newline piece.
    pub const PROMPT_NEWLINE: &str = "twinvla.prompt.newline";
    /// `<img>` token id.
    pub const IMAGE_START: &str = "twinvla.token.image_start";
    /// `</img>` token id.
    pub const IMAGE_END: &str = "twinvla.token.image_end";
    /// Prefix of the per-tensor logical column count of padded matrices.
    pub const LOGICAL_COLS_PREFIX: &str = "twinvla.logical_cols.";
}

/// Prompt pieces, spelled exactly as the reference's Eagle2 TwinVLA does.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptPieces {
    /// System prompt prefix.
    pub system: String,
    /// Base prompt template with `{task}`.
    pub base: String,
    /// `"Arm State: "`.
    pub arm_state: String,
    /// `"Action: "`.
    pub action: String,
    /// `"\n"`.
    pub newline: String,
    /// `<img>` id.
    pub image_start: u32,
    /// `</img>` id.
    pub image_end: u32,
}

impl PromptPieces {
    /// The pieces of the released Eagle2-1B TwinVLA.
    pub fn eagle2() -> Self {
        Self {
            system: "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                .into(),
            base: "You are a robotic decision-making assistant.  \n            Given a task and robotic system states (Base, Arm), determine the appropriate action.\n            What action should the robot take to accomplish {task}?\n            Base State: \n        ".into(),
            arm_state: "Arm State: ".into(),
            action: "Action: ".into(),
            newline: "\n".into(),
            image_start: 151665,
            image_end: 151666,
        }
    }
}

/// Errors opening a model file. Each fault has its own variant.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    /// The path does not exist.
    #[error("model file {0} does not exist")]
    Missing(PathBuf),
    /// Reading or mapping failed.
    #[error("cannot read model file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The container is damaged or not GGUF.
    #[error("model file {path}: {source}")]
    Container {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: GgufError,
    },
    /// A GGUF file of another architecture.
    #[error("model file {path} is a '{found}' model, not 'twinvla'")]
    NotTwinVla {
        /// The file.
        path: PathBuf,
        /// `general.architecture` found.
        found: String,
    },
    /// A newer or older layout than this runtime reads.
    #[error("model file {path} has layout version {found}; this runtime reads version {FORMAT_VERSION}: convert the checkpoint again with this version's tools/quantize")]
    UnsupportedFormatVersion {
        /// The file.
        path: PathBuf,
        /// Version found.
        found: u32,
    },
    /// A required metadata key is absent or has the wrong type.
    #[error("model file {path} lacks metadata '{key}' (or it has the wrong type)")]
    MissingMetadata {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A tensor's bytes do not match the recorded checksum.
    #[error("model file {path}: checksum mismatch in tensor '{tensor}' (file is corrupt)")]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
    },
    /// A tensor the configuration needs is absent.
    #[error("model file {path} lacks tensor '{tensor}'")]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
    },
    /// A tensor has the wrong shape or type.
    #[error("model file {path}: tensor '{tensor}' is {found}, expected {expected}")]
    MisshapenTensor {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// Expected dims/type.
        expected: String,
        /// Found dims/type.
        found: String,
    },
    /// The embedded configuration is refused.
    #[error("model file {path}: {source}")]
    Config {
        /// The file.
        path: PathBuf,
        /// Why.
        source: ConfigError,
    },
    /// The embedded statistics are unusable.
    #[error("model file {path}: {source}")]
    Stats {
        /// The file.
        path: PathBuf,
        /// Why.
        source: StatsError,
    },
}

/// How one model tensor is stored: its streams' names, types and GGUF dims.
#[derive(Clone, Debug, PartialEq)]
pub struct Storage {
    /// Format.
    pub format: WeightFormat,
    /// Logical rows (1 for vectors).
    pub rows: usize,
    /// Logical columns.
    pub cols: usize,
    /// Stored columns (padded to a block multiple for matrices).
    pub padded_cols: usize,
    /// The streams: values first, then scales, then mins.
    pub streams: Vec<TensorSpec>,
}

/// The storage of `def` under `recipe`.
pub fn storage(def: &TensorDef, recipe: Recipe) -> Storage {
    let format = recipe.format(def.role);
    let is_matrix = matches!(def.role, Role::Matrix { .. } | Role::DenseMatrix);
    let (rows, cols) = def.matrix_shape();
    let padded_cols = if is_matrix { quant::padded_cols(cols) } else { cols };
    let rows64 = rows as u64;
    let mut streams = Vec::new();
    let (suffix, ty, inner) = match format {
        WeightFormat::F32 => ("", GgmlType::F32, padded_cols),
        WeightFormat::F16 => ("", GgmlType::F16, padded_cols),
        WeightFormat::Q8 => (".q8", GgmlType::I8, padded_cols),
        WeightFormat::Q4 => (".q4", GgmlType::I8, padded_cols / 2),
    };
    let dims = if is_matrix || def.shape.len() > 1 {
        vec![inner as u64, rows64]
    } else {
        vec![inner as u64]
    };
    streams.push(TensorSpec { name: format!("{}{suffix}", def.name), dims, ggml_type: ty });
    if format.is_quantized() {
        let blocks = vec![(padded_cols / BLOCK) as u64, rows64];
        streams.push(TensorSpec {
            name: format!("{}.scales", def.name),
            dims: blocks.clone(),
            ggml_type: GgmlType::F16,
        });
        if format == WeightFormat::Q4 {
            streams.push(TensorSpec {
                name: format!("{}.mins", def.name),
                dims: blocks,
                ggml_type: GgmlType::F16,
            });
        }
    }
    Storage { format, rows, cols, padded_cols, streams }
}

/// A tensor as stored in an open model file, borrowed from the memory map.
#[derive(Clone, Copy, Debug)]
pub struct Weight<'a> {
    /// Format.
    pub format: WeightFormat,
    /// Logical rows.
    pub rows: usize,
    /// Logical columns.
    pub cols: usize,
    /// Stored columns.
    pub padded_cols: usize,
    /// Values stream (256-byte aligned in the file).
    pub values: &'a [u8],
    /// f16 scales stream (empty unless quantized).
    pub scales: &'a [u8],
    /// f16 minimums stream (empty unless q4).
    pub mins: &'a [u8],
}

impl Weight<'_> {
    /// Dequantizes the whole tensor to a dense `rows x cols` f32 array.
    pub fn to_f32(&self) -> Vec<f32> {
        let to_f16 = |b: &[u8]| -> Vec<f16> {
            b.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]])).collect()
        };
        quant::decode_strided(
            self.format,
            self.values,
            &to_f16(self.scales),
            &to_f16(self.mins),
            self.rows,
            self.cols,
            self.padded_cols,
        )
    }

    /// Row `r` of a dense (f32 or f16) tensor, e.g. a token embedding gathered on the CPU;
    /// `None` when `r` is out of range or the tensor is quantized.
    pub fn row_f32(&self, r: usize) -> Option<Vec<f32>> {
        if r >= self.rows || self.format.is_quantized() {
            return None;
        }
        let row_bytes = self.format.row_bytes(self.padded_cols);
        let values = self.values.get(r * row_bytes..(r + 1) * row_bytes)?;
        Some(quant::decode_row(self.format, values, &[], &[], self.cols))
    }
}

/// An open, validated model file.
pub struct ModelFile {
    path: PathBuf,
    map: memmap2::Mmap,
    header: Header,
    config: ModelConfig,
    recipe: Recipe,
    stats: DatasetStats,
    prompt: PromptPieces,
    tokenizer_json: String,
    /// Header tensor index by name.
    by_name: std::collections::HashMap<String, usize>,
    /// The catalogue of tensors the config implies, by name.
    catalogue: std::collections::HashMap<String, TensorDef>,
}

fn meta_str<'h>(h: &'h Header, path: &Path, key: &str) -> Result<&'h str, ModelFileError> {
    match h.metadata.get(key) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(ModelFileError::MissingMetadata { path: path.into(), key: key.into() }),
    }
}

fn meta_u32(h: &Header, path: &Path, key: &str) -> Result<u32, ModelFileError> {
    match h.metadata.get(key) {
        Some(Value::U32(v)) => Ok(*v),
        _ => Err(ModelFileError::MissingMetadata { path: path.into(), key: key.into() }),
    }
}

impl std::fmt::Debug for ModelFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelFile")
            .field("path", &self.path)
            .field("recipe", &self.recipe)
            .field("tensors", &self.header.tensors.len())
            .finish()
    }
}

impl ModelFile {
    /// Opens and memory-maps `path`, then validates the container, the metadata, every
    /// checksum and every tensor the configuration needs.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ModelFileError> {
        let path = path.as_ref().to_path_buf();
        let file = std::fs::File::open(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ModelFileError::Missing(path.clone())
            } else {
                ModelFileError::Io { path: path.clone(), source }
            }
        })?;
        // SAFETY: the map is read-only and private to this process; the file is expected not to
        // change while the runtime runs (it is replaced, never edited, by the installer).
        let map = unsafe { memmap2::Mmap::map(&file) }
            .map_err(|source| ModelFileError::Io { path: path.clone(), source })?;
        Self::from_map(path, map)
    }

    fn from_map(path: PathBuf, map: memmap2::Mmap) -> Result<Self, ModelFileError> {
        let header = gguf::parse_header(&map)
            .map_err(|source| ModelFileError::Container { path: path.clone(), source })?;
        let arch = meta_str(&header, &path, keys::ARCHITECTURE)?;
        if arch != "twinvla" {
            return Err(ModelFileError::NotTwinVla { path, found: arch.into() });
        }
        let version = meta_u32(&header, &path, keys::FORMAT_VERSION)?;
        if version != FORMAT_VERSION {
            return Err(ModelFileError::UnsupportedFormatVersion { path, found: version });
        }
        let config: ModelConfig = serde_json::from_str(meta_str(&header, &path, keys::CONFIG)?)
            .map_err(|e| ModelFileError::Config { path: path.clone(), source: e.into() })?;
        config.check().map_err(|source| ModelFileError::Config { path: path.clone(), source })?;
        let recipe_name = meta_str(&header, &path, keys::RECIPE)?;
        let recipe = Recipe::parse(recipe_name).ok_or_else(|| ModelFileError::MissingMetadata {
            path: path.clone(),
            key: format!("{} (unknown recipe '{recipe_name}')", keys::RECIPE),
        })?;
        let stats = DatasetStats::from_json(
            meta_str(&header, &path, keys::DATASET_STATISTICS)?,
            config.state_dim,
            config.action_dim,
        )
        .map_err(|source| ModelFileError::Stats { path: path.clone(), source })?;
        let prompt = PromptPieces {
            system: meta_str(&header, &path, keys::PROMPT_SYSTEM)?.into(),
            base: meta_str(&header, &path, keys::PROMPT_BASE)?.into(),
            arm_state: meta_str(&header, &path, keys::PROMPT_ARM_STATE)?.into(),
            action: meta_str(&header, &path, keys::PROMPT_ACTION)?.into(),
            newline: meta_str(&header, &path, keys::PROMPT_NEWLINE)?.into(),
            image_start: meta_u32(&header, &path, keys::IMAGE_START)?,
            image_end: meta_u32(&header, &path, keys::IMAGE_END)?,
        };
        let tokenizer_json = meta_str(&header, &path, keys::TOKENIZER_JSON)?.to_string();
        let by_name = header.tensors.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
        let catalogue =
            model_file_tensors(&config).into_iter().map(|d| (d.name.clone(), d)).collect();
        let file = Self {
            path,
            map,
            header,
            config,
            recipe,
            stats,
            prompt,
            tokenizer_json,
            by_name,
            catalogue,
        };
        file.verify_checksums()?;
        file.verify_tensors()?;
        Ok(file)
    }

    fn verify_checksums(&self) -> Result<(), ModelFileError> {
        let Some(Value::ArrayU32(sums)) = self.header.metadata.get(gguf::CHECKSUM_KEY) else {
            return Err(ModelFileError::MissingMetadata {
                path: self.path.clone(),
                key: gguf::CHECKSUM_KEY.into(),
            });
        };
        if sums.len() != self.header.tensors.len() {
            return Err(ModelFileError::MissingMetadata {
                path: self.path.clone(),
                key: format!("{} (one per tensor)", gguf::CHECKSUM_KEY),
            });
        }
        for (info, &sum) in self.header.tensors.iter().zip(sums) {
            if crc32fast::hash(self.tensor_bytes(info)) != sum {
                return Err(ModelFileError::ChecksumMismatch {
                    path: self.path.clone(),
                    tensor: info.name.clone(),
                });
            }
        }
        Ok(())
    }

    fn verify_tensors(&self) -> Result<(), ModelFileError> {
        for def in model_file_tensors(&self.config) {
            let stored = storage(&def, self.recipe);
            for spec in &stored.streams {
                let info =
                    self.by_name.get(&spec.name).map(|&i| &self.header.tensors[i]).ok_or_else(
                        || ModelFileError::MissingTensor {
                            path: self.path.clone(),
                            tensor: spec.name.clone(),
                        },
                    )?;
                if info.dims != spec.dims || info.ggml_type != spec.ggml_type {
                    return Err(ModelFileError::MisshapenTensor {
                        path: self.path.clone(),
                        tensor: spec.name.clone(),
                        expected: format!("{:?} {:?}", spec.dims, spec.ggml_type),
                        found: format!("{:?} {:?}", info.dims, info.ggml_type),
                    });
                }
            }
            if stored.padded_cols != stored.cols {
                let key = format!("{}{}", keys::LOGICAL_COLS_PREFIX, def.name);
                let logical = meta_u32(&self.header, &self.path, &key)?;
                if logical as usize != stored.cols {
                    return Err(ModelFileError::MisshapenTensor {
                        path: self.path.clone(),
                        tensor: def.name.clone(),
                        expected: format!("{} logical columns", stored.cols),
                        found: format!("{logical} logical columns"),
                    });
                }
            }
        }
        Ok(())
    }

    fn tensor_bytes(&self, info: &gguf::TensorInfo) -> &[u8] {
        let start = (self.header.data_offset + info.offset) as usize;
        &self.map[start..start + info.byte_len() as usize]
    }

    fn stream(&self, name: &str) -> Option<&[u8]> {
        self.by_name.get(name).map(|&i| self.tensor_bytes(&self.header.tensors[i]))
    }

    /// The stored tensor `name` (a checkpoint name or a derived one).
    ///
    /// Every tensor of the catalogue was checked at open, so this fails only for names outside
    /// the catalogue.
    pub fn weight(&self, name: &str) -> Result<Weight<'_>, ModelFileError> {
        let def = self.catalogue.get(name).ok_or_else(|| ModelFileError::MissingTensor {
            path: self.path.clone(),
            tensor: name.into(),
        })?;
        let stored = storage(def, self.recipe);
        let mut bytes = stored.streams.iter().map(|s| self.stream(&s.name));
        let missing =
            || ModelFileError::MissingTensor { path: self.path.clone(), tensor: name.into() };
        let values = bytes.next().flatten().ok_or_else(missing)?;
        let scales = bytes.next().flatten().unwrap_or(&[]);
        let mins = bytes.next().flatten().unwrap_or(&[]);
        Ok(Weight {
            format: stored.format,
            rows: stored.rows,
            cols: stored.cols,
            padded_cols: stored.padded_cols,
            values,
            scales,
            mins,
        })
    }

    /// The model configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The quantization recipe the file was written with.
    pub fn recipe(&self) -> Recipe {
        self.recipe
    }

    /// Dataset statistics, every key.
    pub fn stats(&self) -> &DatasetStats {
        &self.stats
    }

    /// Prompt pieces.
    pub fn prompt(&self) -> &PromptPieces {
        &self.prompt
    }

    /// The tokenizer's `tokenizer.json` text.
    pub fn tokenizer_json(&self) -> &str {
        &self.tokenizer_json
    }

    /// The parsed header (for `inspect`).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Total bytes of the file.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the file is empty (never true for a valid file).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

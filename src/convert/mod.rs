//! Offline conversion of an upstream TwinVLA checkpoint into the runtime's model file, and
//! synthetic checkpoints for demos and benchmarks. `tools/quantize` is the command line.
//!
//! Conversion streams tensor by tensor (a band of rows at a time for the large embedding
//! tables), so peak memory stays near the size of the largest matrix, not of the model.

pub mod safetensors;
pub mod synth;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use half::f16;
use sha2::Digest;

use crate::model::config::{ConfigError, ModelConfig};
use crate::model::file::{keys, storage, PromptPieces, FORMAT_VERSION};
use crate::model::gguf::{GgufWriter, Value};
use crate::model::quant::{self, relative_rmse, WeightFormat};
use crate::model::stats::{DatasetStats, StatsError};
use crate::model::tensors::{checkpoint_tensors, model_file_tensors, Recipe, TensorDef};
use safetensors::{Checkpoint, SafetensorsError};

/// Rows of an embedding table converted per band.
const ROW_BAND: usize = 4096;

/// Errors of the converter; each names the file or tensor at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The checkpoint's configuration is refused.
    #[error("{path}: {source}")]
    Config {
        /// The file.
        path: PathBuf,
        /// Why.
        source: ConfigError,
    },
    /// The statistics are unusable.
    #[error("{path}: {source}")]
    Stats {
        /// The file.
        path: PathBuf,
        /// Why.
        source: StatsError,
    },
    /// The weights are unreadable or inconsistent with the config.
    #[error(transparent)]
    Weights(#[from] SafetensorsError),
    /// A tensor's shape differs from what the config implies.
    #[error("tensor '{name}' has shape {found:?}, the config implies {expected:?}")]
    Shape {
        /// Tensor name.
        name: String,
        /// Expected shape.
        expected: Vec<usize>,
        /// Found shape.
        found: Vec<usize>,
    },
    /// A weight is NaN or infinite.
    #[error("tensor '{0}' contains NaN or infinite values")]
    NotFinite(String),
    /// The tokenizer file is not a tokenizer.json.
    #[error("{path}: not a Hugging Face tokenizer.json ({what})")]
    Tokenizer {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// What to convert.
#[derive(Clone, Debug)]
pub struct ConvertOptions {
    /// Checkpoint directory (upstream layout).
    pub checkpoint: PathBuf,
    /// The backbone's `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// Quantization recipe.
    pub recipe: Recipe,
    /// Output model file.
    pub output: PathBuf,
}

/// One row of the conversion report.
#[derive(Clone, Debug)]
pub struct TensorReport {
    /// Tensor name.
    pub name: String,
    /// Logical shape.
    pub shape: Vec<usize>,
    /// Storage format.
    pub format: WeightFormat,
    /// Bytes stored (all streams, without alignment padding).
    pub bytes: u64,
    /// Relative RMS error of the stored values against the checkpoint's.
    pub rel_rmse: f64,
}

/// The result of a conversion.
#[derive(Clone, Debug)]
pub struct ConvertReport {
    /// Per-tensor rows, in file order.
    pub tensors: Vec<TensorReport>,
    /// Size of the output file.
    pub file_bytes: u64,
    /// SHA-256 of the checkpoint's weights.
    pub source_sha256: String,
    /// Wall time.
    pub seconds: f64,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ConvertError + '_ {
    move |source| ConvertError::Io { path: path.to_path_buf(), source }
}

fn read_text(path: &Path) -> Result<String, ConvertError> {
    std::fs::read_to_string(path).map_err(io_err(path))
}

/// Reads and validates the checkpoint's configuration (`config.json` plus
/// `singlevla_config/config.json` when present).
pub fn read_config(dir: &Path) -> Result<(ModelConfig, String, String), ConvertError> {
    let twin_path = dir.join("config.json");
    let twin = read_text(&twin_path)?;
    let single_path = dir.join("singlevla_config").join("config.json");
    let single = if single_path.exists() { Some(read_text(&single_path)?) } else { None };
    let config = ModelConfig::from_hf(&twin, single.as_deref())
        .map_err(|source| ConvertError::Config { path: twin_path, source })?;
    Ok((config, twin, single.unwrap_or_default()))
}

fn sha256_files(paths: &[PathBuf]) -> Result<String, ConvertError> {
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    for path in paths {
        let mut f = std::fs::File::open(path).map_err(io_err(path))?;
        loop {
            let n = f.read(&mut buf).map_err(io_err(path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The metadata of a model file for `config`.
fn metadata(
    config: &ModelConfig,
    recipe: Recipe,
    sha: &str,
    sources: (&str, &str),
    stats: &str,
    tokenizer: &str,
    defs: &[TensorDef],
) -> Vec<(String, Value)> {
    let p = PromptPieces::eagle2();
    let s = |v: &str| Value::String(v.to_string());
    let mut m = vec![
        (keys::ARCHITECTURE.into(), s("twinvla")),
        (keys::NAME.into(), s("TwinVLA (Eagle2-1B layout)")),
        (keys::FORMAT_VERSION.into(), Value::U32(FORMAT_VERSION)),
        (keys::CONFIG.into(), Value::String(serde_json::to_string(config).unwrap_or_default())),
        (keys::RECIPE.into(), s(recipe.name())),
        (keys::RECIPE_DESCRIPTION.into(), Value::String(recipe.describe())),
        (keys::BLOCK_SIZE.into(), Value::U32(quant::BLOCK as u32)),
        (keys::SOURCE_SHA256.into(), s(sha)),
        (keys::SOURCE_CONFIG.into(), s(sources.0)),
        (keys::SOURCE_SINGLEVLA_CONFIG.into(), s(sources.1)),
        (keys::DATASET_STATISTICS.into(), s(stats)),
        (keys::TOKENIZER_JSON.into(), s(tokenizer)),
        (keys::PROMPT_SYSTEM.into(), Value::String(p.system)),
        (keys::PROMPT_BASE.into(), Value::String(p.base)),
        (keys::PROMPT_ARM_STATE.into(), Value::String(p.arm_state)),
        (keys::PROMPT_ACTION.into(), Value::String(p.action)),
        (keys::PROMPT_NEWLINE.into(), Value::String(p.newline)),
        (keys::IMAGE_START.into(), Value::U32(p.image_start)),
        (keys::IMAGE_END.into(), Value::U32(p.image_end)),
    ];
    for def in defs {
        let st = storage(def, recipe);
        if st.padded_cols != st.cols {
            m.push((
                format!("{}{}", keys::LOGICAL_COLS_PREFIX, def.name),
                Value::U32(st.cols as u32),
            ));
        }
    }
    m
}

fn check_finite(name: &str, data: &[f32]) -> Result<(), ConvertError> {
    if data.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(ConvertError::NotFinite(name.into()))
    }
}

/// Converts a checkpoint directory into a model file. `progress` is called before each tensor
/// with `(index, total, name)`.
pub fn convert(
    options: &ConvertOptions,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<ConvertReport, ConvertError> {
    let start = Instant::now();
    let dir = &options.checkpoint;
    let (config, twin_text, single_text) = read_config(dir)?;
    let stats_path = dir.join("dataset_statistics.json");
    let stats_text = read_text(&stats_path)?;
    DatasetStats::from_json(&stats_text, config.state_dim, config.action_dim)
        .map_err(|source| ConvertError::Stats { path: stats_path, source })?;
    let tokenizer_text = read_text(&options.tokenizer)?;
    let tok: serde_json::Value = serde_json::from_str(&tokenizer_text).map_err(|e| {
        ConvertError::Tokenizer { path: options.tokenizer.clone(), what: e.to_string() }
    })?;
    if tok.get("model").and_then(|m| m.get("vocab")).is_none() {
        return Err(ConvertError::Tokenizer {
            path: options.tokenizer.clone(),
            what: "no model.vocab".into(),
        });
    }
    let ckpt = Checkpoint::open_dir(dir)?;
    for def in checkpoint_tensors(&config) {
        let e = ckpt.entry(&def.name)?;
        if e.shape != def.shape {
            return Err(ConvertError::Shape {
                name: def.name.clone(),
                expected: def.shape.clone(),
                found: e.shape.clone(),
            });
        }
    }
    let sha = sha256_files(&ckpt.paths())?;
    let defs = model_file_tensors(&config);
    let specs: Vec<_> = defs.iter().flat_map(|d| storage(d, options.recipe).streams).collect();
    let meta = metadata(
        &config,
        options.recipe,
        &sha,
        (&twin_text, &single_text),
        &stats_text,
        &tokenizer_text,
        &defs,
    );
    let out_path = &options.output;
    let file = std::fs::File::create(out_path).map_err(io_err(out_path))?;
    let buffered = std::io::BufWriter::with_capacity(1 << 22, file);
    let mut writer = GgufWriter::new(buffered, &meta, specs).map_err(io_err(out_path))?;
    let mut reports = Vec::with_capacity(defs.len());
    for (i, def) in defs.iter().enumerate() {
        progress(i, defs.len(), &def.name);
        let st = storage(def, options.recipe);
        let (rows, cols) = def.matrix_shape();
        let read_band = |first: usize, count: usize| -> Result<Vec<f32>, ConvertError> {
            let data = match &def.mean_of {
                None => ckpt.read_rows(&def.name, first, count)?,
                Some([l, r]) => {
                    let (a, b) =
                        (ckpt.read_rows(l, first, count)?, ckpt.read_rows(r, first, count)?);
                    a.iter().zip(&b).map(|(x, y)| (x + y) / 2.0).collect()
                }
            };
            check_finite(&def.name, &data)?;
            Ok(data)
        };
        let (mut num, mut den) = (0f64, 0f64);
        let mut bytes = 0u64;
        if st.format.is_quantized() {
            let data = read_band(0, rows)?;
            let (values, scales, mins) = quant::encode_matrix(st.format, &data, cols);
            let back = quant::decode_matrix(st.format, &values, &scales, &mins, rows, cols);
            let err = relative_rmse(&data, &back);
            let f16_bytes =
                |v: &[f16]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
            writer.write(&values).map_err(io_err(out_path))?;
            writer.write(&f16_bytes(&scales)).map_err(io_err(out_path))?;
            if st.format == WeightFormat::Q4 {
                writer.write(&f16_bytes(&mins)).map_err(io_err(out_path))?;
            }
            bytes += (values.len() + 2 * scales.len() + 2 * mins.len()) as u64;
            reports.push(TensorReport {
                name: def.name.clone(),
                shape: def.shape.clone(),
                format: st.format,
                bytes,
                rel_rmse: err,
            });
            continue;
        }
        // Dense f32/f16 storage, a band of rows at a time; matrices are zero-padded per row.
        let vector = def.shape.len() <= 1;
        let (total_rows, band_rows) = if vector { (1, 1) } else { (rows, ROW_BAND.min(rows)) };
        let mut first = 0;
        while first < total_rows {
            let count = band_rows.min(total_rows - first);
            let data = read_band(first, count)?;
            let row_len = if vector { data.len() } else { cols };
            let padded = if vector { row_len } else { st.padded_cols };
            let mut values = Vec::with_capacity(count * st.format.row_bytes(padded));
            for row in data.chunks(row_len) {
                for j in 0..padded {
                    let x = row.get(j).copied().unwrap_or(0.0);
                    let stored = match st.format {
                        WeightFormat::F32 => {
                            values.extend_from_slice(&x.to_le_bytes());
                            x
                        }
                        _ => {
                            let h = f16::from_f32(x);
                            values.extend_from_slice(&h.to_le_bytes());
                            h.to_f32()
                        }
                    };
                    if j < row_len {
                        num += f64::from(x - stored).powi(2);
                        den += f64::from(x).powi(2);
                    }
                }
            }
            writer.write(&values).map_err(io_err(out_path))?;
            bytes += values.len() as u64;
            first += count;
        }
        let rel_rmse = if den == 0.0 { num.sqrt() } else { (num / den).sqrt() };
        reports.push(TensorReport {
            name: def.name.clone(),
            shape: def.shape.clone(),
            format: st.format,
            bytes,
            rel_rmse,
        });
    }
    progress(defs.len(), defs.len(), "done");
    writer.finish().map_err(io_err(out_path))?;
    let file_bytes = std::fs::metadata(out_path).map_err(io_err(out_path))?.len();
    Ok(ConvertReport {
        tensors: reports,
        file_bytes,
        source_sha256: sha,
        seconds: start.elapsed().as_secs_f64(),
    })
}

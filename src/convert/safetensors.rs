//! Streaming access to Hugging Face safetensors checkpoints (single file or sharded).
//!
//! Tensors are read with positioned reads, one tensor (or a band of rows) at a time, so that
//! converting a large checkpoint never holds more than one tensor in memory.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use half::{bf16, f16};
use serde::Deserialize;

/// Errors reading or writing a safetensors checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum SafetensorsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The header or index is malformed.
    #[error("{path}: malformed safetensors header: {what}")]
    Header {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A tensor is not in the checkpoint.
    #[error("checkpoint has no tensor '{0}'")]
    Missing(String),
    /// A dtype the converter does not read.
    #[error("tensor '{name}' has unsupported dtype {dtype}")]
    Dtype {
        /// Tensor name.
        name: String,
        /// dtype string.
        dtype: String,
    },
}

#[derive(Deserialize)]
struct RawEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

/// Where one tensor lives.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Element type (`BF16`, `F16`, `F32`).
    pub dtype: String,
    /// Shape.
    pub shape: Vec<usize>,
    file: usize,
    start: u64,
    end: u64,
}

/// An opened checkpoint: the headers of all shards.
pub struct Checkpoint {
    files: Vec<(PathBuf, File)>,
    entries: HashMap<String, Entry>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SafetensorsError + '_ {
    move |source| SafetensorsError::Io { path: path.to_path_buf(), source }
}

impl Checkpoint {
    /// Opens `dir/model.safetensors`, or the shards listed by `dir/model.safetensors.index.json`.
    pub fn open_dir(dir: &Path) -> Result<Self, SafetensorsError> {
        let single = dir.join("model.safetensors");
        let index = dir.join("model.safetensors.index.json");
        let shard_paths = if single.exists() {
            vec![single]
        } else if index.exists() {
            let text = std::fs::read_to_string(&index).map_err(io(&index))?;
            let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                SafetensorsError::Header { path: index.clone(), what: e.to_string() }
            })?;
            let map = value.get("weight_map").and_then(|m| m.as_object()).ok_or_else(|| {
                SafetensorsError::Header { path: index.clone(), what: "no weight_map".into() }
            })?;
            let mut names: Vec<String> =
                map.values().filter_map(|v| v.as_str().map(String::from)).collect();
            names.sort();
            names.dedup();
            names.into_iter().map(|n| dir.join(n)).collect()
        } else {
            return Err(SafetensorsError::Io {
                path: single,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "neither model.safetensors nor model.safetensors.index.json exists",
                ),
            });
        };
        let mut files = Vec::new();
        let mut entries = HashMap::new();
        for (i, path) in shard_paths.into_iter().enumerate() {
            let file = File::open(&path).map_err(io(&path))?;
            let len = file.metadata().map_err(io(&path))?.len();
            let mut n = [0u8; 8];
            file.read_exact_at(&mut n, 0).map_err(io(&path))?;
            let header_len = u64::from_le_bytes(n);
            if header_len > 100 << 20 || 8 + header_len > len {
                return Err(SafetensorsError::Header {
                    path,
                    what: format!("header length {header_len} does not fit the file"),
                });
            }
            let mut header = vec![0u8; header_len as usize];
            file.read_exact_at(&mut header, 8).map_err(io(&path))?;
            let raw: HashMap<String, serde_json::Value> =
                serde_json::from_slice(&header).map_err(|e| SafetensorsError::Header {
                    path: path.clone(),
                    what: e.to_string(),
                })?;
            for (name, value) in raw {
                if name == "__metadata__" {
                    continue;
                }
                let e: RawEntry = serde_json::from_value(value).map_err(|e| {
                    SafetensorsError::Header { path: path.clone(), what: format!("{name}: {e}") }
                })?;
                let base = 8 + header_len;
                let (start, end) = (base + e.data_offsets[0], base + e.data_offsets[1]);
                if start > end || end > len {
                    return Err(SafetensorsError::Header {
                        path: path.clone(),
                        what: format!("{name}: data offsets beyond the file"),
                    });
                }
                entries.insert(name, Entry { dtype: e.dtype, shape: e.shape, file: i, start, end });
            }
            files.push((path, file));
        }
        Ok(Self { files, entries })
    }

    /// Paths of the weight files, in order.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|(p, _)| p.clone()).collect()
    }

    /// Tensor names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The entry of `name`.
    pub fn entry(&self, name: &str) -> Result<&Entry, SafetensorsError> {
        self.entries.get(name).ok_or_else(|| SafetensorsError::Missing(name.into()))
    }

    /// Reads rows `[first, first + count)` of `name` (viewed as `[shape[0], rest]`) as f32.
    pub fn read_rows(
        &self,
        name: &str,
        first: usize,
        count: usize,
    ) -> Result<Vec<f32>, SafetensorsError> {
        let e = self.entry(name)?;
        let elem = match e.dtype.as_str() {
            "BF16" | "F16" => 2,
            "F32" => 4,
            other => {
                return Err(SafetensorsError::Dtype { name: name.into(), dtype: other.into() })
            }
        };
        let row_elems: usize = e.shape.iter().skip(1).product::<usize>().max(1);
        let rows = if e.shape.is_empty() { 1 } else { e.shape[0] };
        let (first, count) = if e.shape.len() <= 1 { (0, 1) } else { (first, count) };
        let cols =
            if e.shape.len() <= 1 { e.shape.first().copied().unwrap_or(1) } else { row_elems };
        if first + count > rows.max(1) {
            return Err(SafetensorsError::Header {
                path: self.files[e.file].0.clone(),
                what: format!("{name}: rows {first}..{} beyond {rows}", first + count),
            });
        }
        let offset = e.start + (first * cols * elem) as u64;
        let n = count * cols;
        if offset + (n * elem) as u64 > e.end {
            return Err(SafetensorsError::Header {
                path: self.files[e.file].0.clone(),
                what: format!("{name}: data shorter than its shape"),
            });
        }
        let mut bytes = vec![0u8; n * elem];
        let (path, file) = &self.files[e.file];
        file.read_exact_at(&mut bytes, offset).map_err(io(path))?;
        Ok(match e.dtype.as_str() {
            "BF16" => {
                bytes.chunks_exact(2).map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect()
            }
            "F16" => {
                bytes.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect()
            }
            _ => bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        })
    }

    /// Reads the whole tensor as f32.
    pub fn read(&self, name: &str) -> Result<Vec<f32>, SafetensorsError> {
        let e = self.entry(name)?;
        let rows = e.shape.first().copied().unwrap_or(1);
        self.read_rows(name, 0, rows)
    }
}

/// Writes a bf16 safetensors file tensor by tensor: the header is laid out first from the
/// declared shapes, then each tensor's values are appended in order.
pub struct Bf16Writer {
    path: PathBuf,
    out: std::io::BufWriter<File>,
    shapes: Vec<(String, Vec<usize>)>,
    next: usize,
    written: usize,
}

impl Bf16Writer {
    /// Creates `path` for the tensors `shapes` (written in this order).
    pub fn create(
        path: &Path,
        shapes: Vec<(String, Vec<usize>)>,
    ) -> Result<Self, SafetensorsError> {
        let mut header = serde_json::Map::new();
        header.insert("__metadata__".into(), serde_json::json!({ "format": "pt" }));
        let mut offset = 0u64;
        for (name, shape) in &shapes {
            let bytes = 2 * shape.iter().product::<usize>() as u64;
            header.insert(
                name.clone(),
                serde_json::json!({ "dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + bytes] }),
            );
            offset += bytes;
        }
        let mut text = serde_json::to_vec(&header)
            .map_err(|e| SafetensorsError::Header { path: path.into(), what: e.to_string() })?;
        while text.len() % 8 != 0 {
            text.push(b' ');
        }
        let file = File::create(path).map_err(io(path))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        out.write_all(&(text.len() as u64).to_le_bytes()).map_err(io(path))?;
        out.write_all(&text).map_err(io(path))?;
        Ok(Self { path: path.into(), out, shapes, next: 0, written: 0 })
    }

    /// Appends values of the current tensor (in pieces if desired).
    pub fn write(&mut self, values: &[f32]) -> Result<(), SafetensorsError> {
        let Some((name, shape)) = self.shapes.get(self.next) else {
            return Err(SafetensorsError::Header {
                path: self.path.clone(),
                what: "too many values".into(),
            });
        };
        let total: usize = shape.iter().product();
        if self.written + values.len() > total {
            return Err(SafetensorsError::Header {
                path: self.path.clone(),
                what: format!("{name}: too many values"),
            });
        }
        let bytes: Vec<u8> = values.iter().flat_map(|&v| bf16::from_f32(v).to_le_bytes()).collect();
        self.out.write_all(&bytes).map_err(io(&self.path))?;
        self.written += values.len();
        if self.written == total {
            self.next += 1;
            self.written = 0;
        }
        Ok(())
    }

    /// Checks every tensor was written and flushes.
    pub fn finish(mut self) -> Result<(), SafetensorsError> {
        if self.next != self.shapes.len() {
            return Err(SafetensorsError::Header {
                path: self.path.clone(),
                what: format!("only {} of {} tensors written", self.next, self.shapes.len()),
            });
        }
        self.out.flush().map_err(io(&self.path))
    }
}

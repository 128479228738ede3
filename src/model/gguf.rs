//! The GGUF v3 container: a panic-free header parser and a streaming writer.
//!
//! Layout (all little-endian): magic `GGUF`, version `u32`, tensor count `u64`, metadata count
//! `u64`, the metadata key/value pairs, the tensor infos (name, dims innermost first, type,
//! offset relative to the data section), padding to `general.alignment`, then the tensor data.
//! This module knows nothing of TwinVLA; [`super::file`] gives the bytes their meaning.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};

/// The four magic bytes at the start of every GGUF file.
pub const MAGIC: &[u8; 4] = b"GGUF";
/// The only container version this runtime reads and writes.
pub const VERSION: u32 = 3;
/// Alignment of every tensor's data, in bytes: a GPU upload straight from the memory map.
pub const ALIGNMENT: u64 = 256;
/// Refuse headers that claim more entries than any sane model file has.
const MAX_ENTRIES: u64 = 1 << 20;
/// Refuse tensors of more dimensions than GGML supports.
const MAX_DIMS: u32 = 4;

/// GGML tensor element types used by the runtime (the numbering is GGML's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// IEEE half float.
    F16,
    /// Signed byte: q8 values, or two packed 4-bit q4 values per byte.
    I8,
}

impl GgmlType {
    /// GGML's numeric id of the type.
    pub fn id(self) -> u32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::I8 => 24,
        }
    }

    /// The type for a GGML id, if the runtime supports it.
    pub fn from_id(id: u32) -> Option<Self> {
        match id {
            0 => Some(GgmlType::F32),
            1 => Some(GgmlType::F16),
            24 => Some(GgmlType::I8),
            _ => None,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            GgmlType::F32 => 4,
            GgmlType::F16 => 2,
            GgmlType::I8 => 1,
        }
    }
}

/// A metadata value. Arrays hold values of one type.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `UINT32`
    U32(u32),
    /// `INT32`
    I32(i32),
    /// `UINT64`
    U64(u64),
    /// `FLOAT32`
    F32(f32),
    /// `FLOAT64`
    F64(f64),
    /// `BOOL`
    Bool(bool),
    /// `STRING` (UTF-8)
    String(String),
    /// `ARRAY` of `UINT32`
    ArrayU32(Vec<u32>),
    /// `ARRAY` of `STRING`
    ArrayString(Vec<String>),
    /// Any other type the reader met: kept so that files from other writers still parse.
    Other(u32),
}

/// One tensor's entry in the header.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    /// Tensor name.
    pub name: String,
    /// Dimensions, innermost (fastest-varying) first, as GGUF stores them.
    pub dims: Vec<u64>,
    /// Element type.
    pub ggml_type: GgmlType,
    /// Offset of the data from the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// Size of the data in bytes.
    pub fn byte_len(&self) -> u64 {
        self.elements() * self.ggml_type.size()
    }
}

/// A parsed header: metadata, tensor infos and where the data section starts.
#[derive(Clone, Debug)]
pub struct Header {
    /// Container version.
    pub version: u32,
    /// Metadata in file order by key.
    pub metadata: BTreeMap<String, Value>,
    /// Tensor infos in file order.
    pub tensors: Vec<TensorInfo>,
    /// Absolute file offset of the data section.
    pub data_offset: u64,
    /// Alignment of the data section and of every tensor.
    pub alignment: u64,
}

/// What is wrong with a GGUF header.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GgufError {
    /// The file ends before the header does.
    #[error("file is truncated: needed {needed} bytes at offset {offset}, file has {len}")]
    Truncated {
        /// Where the read started.
        offset: u64,
        /// How many bytes were needed.
        needed: u64,
        /// Length of the file.
        len: u64,
    },
    /// The first four bytes are not `GGUF`.
    #[error("bad magic {0:02x?}: not a GGUF file")]
    BadMagic([u8; 4]),
    /// The container version is not 3.
    #[error("unsupported GGUF version {0} (this runtime reads version {VERSION})")]
    UnsupportedVersion(u32),
    /// A count, length or dimension is beyond any sane value.
    #[error("implausible {what}: {value}")]
    Implausible {
        /// What was read.
        what: &'static str,
        /// The value.
        value: u64,
    },
    /// A string is not UTF-8.
    #[error("metadata string at offset {0} is not UTF-8")]
    BadUtf8(u64),
    /// A metadata value type is unknown.
    #[error("unknown metadata value type {0}")]
    BadValueType(u32),
    /// A tensor type is not one the runtime supports.
    #[error("tensor '{name}' has unsupported type id {id}")]
    UnsupportedTensorType {
        /// Tensor name.
        name: String,
        /// GGML type id.
        id: u32,
    },
    /// A tensor offset is not aligned.
    #[error("tensor '{name}' offset {offset} is not a multiple of the alignment {alignment}")]
    Misaligned {
        /// Tensor name.
        name: String,
        /// Its offset.
        offset: u64,
        /// The file's alignment.
        alignment: u64,
    },
    /// A tensor's data lies beyond the end of the file.
    #[error("tensor '{name}' data [{start}, {end}) lies beyond the end of the file ({len} bytes)")]
    OutOfBounds {
        /// Tensor name.
        name: String,
        /// Absolute start.
        start: u64,
        /// Absolute end.
        end: u64,
        /// File length.
        len: u64,
    },
    /// Two tensors or two keys share a name.
    #[error("duplicate {what} '{name}'")]
    Duplicate {
        /// `tensor` or `metadata key`.
        what: &'static str,
        /// The name.
        name: String,
    },
}

/// A bounds-checked little-endian cursor over the file bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], GgufError> {
        let len = self.bytes.len() as u64;
        let end = (self.pos as u64)
            .checked_add(n)
            .filter(|&e| e <= len)
            .ok_or(GgufError::Truncated { offset: self.pos as u64, needed: n, len })?;
        let slice = &self.bytes[self.pos..end as usize];
        self.pos = end as usize;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64)?);
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn string(&mut self) -> Result<String, GgufError> {
        let at = self.pos as u64;
        let len = self.u64()?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| GgufError::BadUtf8(at))
    }

    fn count(&mut self, what: &'static str) -> Result<u64, GgufError> {
        let value = self.u64()?;
        if value > MAX_ENTRIES {
            return Err(GgufError::Implausible { what, value });
        }
        Ok(value)
    }

    /// Skips a scalar of the given type, returning its size, or `None` for strings/arrays.
    fn scalar_size(value_type: u32) -> Option<u64> {
        match value_type {
            0 | 1 | 7 => Some(1),
            2 | 3 => Some(2),
            4..=6 => Some(4),
            10..=12 => Some(8),
            _ => None,
        }
    }

    fn value(&mut self, value_type: u32) -> Result<Value, GgufError> {
        Ok(match value_type {
            4 => Value::U32(self.u32()?),
            5 => Value::I32(i32::from_le_bytes(self.array()?)),
            6 => Value::F32(f32::from_le_bytes(self.array()?)),
            7 => Value::Bool(self.array::<1>()?[0] != 0),
            8 => Value::String(self.string()?),
            10 => Value::U64(self.u64()?),
            12 => Value::F64(f64::from_le_bytes(self.array()?)),
            9 => {
                let elem = self.u32()?;
                let n = self.count("array length")?;
                match elem {
                    4 => Value::ArrayU32((0..n).map(|_| self.u32()).collect::<Result<_, _>>()?),
                    8 => {
                        Value::ArrayString((0..n).map(|_| self.string()).collect::<Result<_, _>>()?)
                    }
                    other => {
                        match Self::scalar_size(other) {
                            Some(size) => {
                                self.take(size.saturating_mul(n))?;
                            }
                            None => return Err(GgufError::BadValueType(other)),
                        }
                        Value::Other(9)
                    }
                }
            }
            other => match Self::scalar_size(other) {
                Some(size) => {
                    self.take(size)?;
                    Value::Other(other)
                }
                None => return Err(GgufError::BadValueType(other)),
            },
        })
    }
}

/// Parses and validates the header of a GGUF file held in `bytes` (the whole file).
///
/// Every offset and length is checked against the file, so no byte sequence makes it panic.
pub fn parse_header(bytes: &[u8]) -> Result<Header, GgufError> {
    let mut cur = Cursor { bytes, pos: 0 };
    let magic = cur.array::<4>()?;
    if &magic != MAGIC {
        return Err(GgufError::BadMagic(magic));
    }
    let version = cur.u32()?;
    if version != VERSION {
        return Err(GgufError::UnsupportedVersion(version));
    }
    let tensor_count = cur.count("tensor count")?;
    let kv_count = cur.count("metadata count")?;
    let mut metadata = BTreeMap::new();
    for _ in 0..kv_count {
        let key = cur.string()?;
        let value_type = cur.u32()?;
        let value = cur.value(value_type)?;
        if metadata.insert(key.clone(), value).is_some() {
            return Err(GgufError::Duplicate { what: "metadata key", name: key });
        }
    }
    let alignment = match metadata.get("general.alignment") {
        Some(Value::U32(a)) if a.is_power_of_two() => u64::from(*a),
        Some(Value::U32(a)) => {
            return Err(GgufError::Implausible { what: "alignment", value: u64::from(*a) })
        }
        _ => 32,
    };
    let mut tensors = Vec::with_capacity(tensor_count.min(4096) as usize);
    let mut names = std::collections::HashSet::new();
    for _ in 0..tensor_count {
        let name = cur.string()?;
        let n_dims = cur.u32()?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(GgufError::Implausible { what: "dimension count", value: n_dims.into() });
        }
        let dims = (0..n_dims).map(|_| cur.u64()).collect::<Result<Vec<_>, _>>()?;
        let mut elements: u64 = 1;
        for &d in &dims {
            elements = elements
                .checked_mul(d)
                .filter(|&e| e < (1 << 40))
                .ok_or(GgufError::Implausible { what: "tensor element count", value: d })?;
        }
        let id = cur.u32()?;
        let ggml_type = GgmlType::from_id(id)
            .ok_or_else(|| GgufError::UnsupportedTensorType { name: name.clone(), id })?;
        let offset = cur.u64()?;
        if offset % alignment != 0 {
            return Err(GgufError::Misaligned { name, offset, alignment });
        }
        if !names.insert(name.clone()) {
            return Err(GgufError::Duplicate { what: "tensor", name });
        }
        tensors.push(TensorInfo { name, dims, ggml_type, offset });
    }
    let data_offset = (cur.pos as u64).div_ceil(alignment) * alignment;
    let len = bytes.len() as u64;
    for t in &tensors {
        let start = data_offset.saturating_add(t.offset);
        let end = start.saturating_add(t.byte_len());
        if end > len {
            return Err(GgufError::OutOfBounds { name: t.name.clone(), start, end, len });
        }
    }
    Ok(Header { version, metadata, tensors, data_offset, alignment })
}

/// A tensor to be written: its name, GGUF dims (innermost first) and type.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSpec {
    /// Tensor name.
    pub name: String,
    /// Dimensions, innermost first.
    pub dims: Vec<u64>,
    /// Element type.
    pub ggml_type: GgmlType,
}

/// Writes a GGUF file in one pass: header first, then each tensor's bytes in the declared order.
///
/// Tensor checksums are only known once the data is written, so the writer reserves a `UINT32`
/// array under [`CHECKSUM_KEY`] and patches it in [`GgufWriter::finish`].
pub struct GgufWriter<W: Write + Seek> {
    out: W,
    specs: Vec<TensorSpec>,
    next: usize,
    written_in_tensor: u64,
    position: u64,
    data_offset: u64,
    checksum_at: u64,
    hasher: crc32fast::Hasher,
    checksums: Vec<u32>,
}

/// Metadata key of the per-tensor CRC-32 checksums, in tensor order.
pub const CHECKSUM_KEY: &str = "twinvla.tensor_crc32";

fn put_string(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

fn put_value(buf: &mut Vec<u8>, value: &Value) {
    let typed = |t: u32, payload: &[u8], buf: &mut Vec<u8>| {
        buf.extend_from_slice(&t.to_le_bytes());
        buf.extend_from_slice(payload);
    };
    match value {
        Value::U32(v) => typed(4, &v.to_le_bytes(), buf),
        Value::I32(v) => typed(5, &v.to_le_bytes(), buf),
        Value::F32(v) => typed(6, &v.to_le_bytes(), buf),
        Value::Bool(v) => typed(7, &[u8::from(*v)], buf),
        Value::String(s) => {
            typed(8, &[], buf);
            put_string(buf, s);
        }
        Value::U64(v) => typed(10, &v.to_le_bytes(), buf),
        Value::F64(v) => typed(12, &v.to_le_bytes(), buf),
        Value::ArrayU32(items) => {
            typed(9, &4u32.to_le_bytes(), buf);
            buf.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for v in items {
                buf.extend_from_slice(&v.to_le_bytes());
            }
        }
        Value::ArrayString(items) => {
            typed(9, &8u32.to_le_bytes(), buf);
            buf.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for s in items {
                put_string(buf, s);
            }
        }
        Value::Other(_) => unreachable!("the writer never produces opaque values"),
    }
}

impl<W: Write + Seek> GgufWriter<W> {
    /// Writes the header for `metadata` and `specs` and positions the writer at the first tensor.
    ///
    /// `general.alignment` and the checksum array are added by the writer.
    pub fn new(
        mut out: W,
        metadata: &[(String, Value)],
        specs: Vec<TensorSpec>,
    ) -> std::io::Result<Self> {
        let mut buf = Vec::new();
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&VERSION.to_le_bytes());
        buf.extend_from_slice(&(specs.len() as u64).to_le_bytes());
        buf.extend_from_slice(&(metadata.len() as u64 + 2).to_le_bytes());
        put_string(&mut buf, "general.alignment");
        put_value(&mut buf, &Value::U32(ALIGNMENT as u32));
        for (key, value) in metadata {
            put_string(&mut buf, key);
            put_value(&mut buf, value);
        }
        put_string(&mut buf, CHECKSUM_KEY);
        // type ARRAY, element UINT32, count: the checksums follow and are patched at the end.
        buf.extend_from_slice(&9u32.to_le_bytes());
        buf.extend_from_slice(&4u32.to_le_bytes());
        buf.extend_from_slice(&(specs.len() as u64).to_le_bytes());
        let checksum_at = buf.len() as u64;
        buf.resize(buf.len() + 4 * specs.len(), 0);
        let mut offset = 0u64;
        for spec in &specs {
            put_string(&mut buf, &spec.name);
            buf.extend_from_slice(&(spec.dims.len() as u32).to_le_bytes());
            for d in &spec.dims {
                buf.extend_from_slice(&d.to_le_bytes());
            }
            buf.extend_from_slice(&spec.ggml_type.id().to_le_bytes());
            buf.extend_from_slice(&offset.to_le_bytes());
            let len: u64 = spec.dims.iter().product::<u64>() * spec.ggml_type.size();
            offset += len.div_ceil(ALIGNMENT) * ALIGNMENT;
        }
        let data_offset = (buf.len() as u64).div_ceil(ALIGNMENT) * ALIGNMENT;
        buf.resize(data_offset as usize, 0);
        out.write_all(&buf)?;
        Ok(Self {
            out,
            specs,
            next: 0,
            written_in_tensor: 0,
            position: data_offset,
            data_offset,
            checksum_at,
            hasher: crc32fast::Hasher::new(),
            checksums: Vec::new(),
        })
    }

    /// Name of the tensor whose bytes are expected next, if any.
    pub fn next_tensor(&self) -> Option<&TensorSpec> {
        self.specs.get(self.next)
    }

    /// Appends bytes of the current tensor; a tensor may be written in several pieces.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let spec = self.specs.get(self.next).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "all tensors already written")
        })?;
        let expected = spec.dims.iter().product::<u64>() * spec.ggml_type.size();
        if self.written_in_tensor + bytes.len() as u64 > expected {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("tensor '{}' takes {expected} bytes, more were given", spec.name),
            ));
        }
        self.out.write_all(bytes)?;
        self.hasher.update(bytes);
        self.written_in_tensor += bytes.len() as u64;
        self.position += bytes.len() as u64;
        if self.written_in_tensor == expected {
            let padded = self.position.div_ceil(ALIGNMENT) * ALIGNMENT;
            self.out.write_all(&vec![0u8; (padded - self.position) as usize])?;
            self.position = padded;
            let hasher = std::mem::take(&mut self.hasher);
            self.checksums.push(hasher.finalize());
            self.written_in_tensor = 0;
            self.next += 1;
        }
        Ok(())
    }

    /// Checks that every tensor was written, patches the checksums and returns the output.
    pub fn finish(mut self) -> std::io::Result<W> {
        if self.next != self.specs.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("only {} of {} tensors were written", self.next, self.specs.len()),
            ));
        }
        let _ = self.data_offset;
        self.out.seek(SeekFrom::Start(self.checksum_at))?;
        let bytes: Vec<u8> = self.checksums.iter().flat_map(|c| c.to_le_bytes()).collect();
        self.out.write_all(&bytes)?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let specs = vec![
            TensorSpec { name: "a".into(), dims: vec![3, 2], ggml_type: GgmlType::F32 },
            TensorSpec { name: "b".into(), dims: vec![5], ggml_type: GgmlType::I8 },
        ];
        let meta = vec![
            ("general.architecture".to_string(), Value::String("twinvla".into())),
            ("x.list".to_string(), Value::ArrayString(vec!["p".into(), "q".into()])),
        ];
        let mut w = GgufWriter::new(std::io::Cursor::new(Vec::new()), &meta, specs).unwrap();
        let a: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
        w.write(&a[..10]).unwrap();
        w.write(&a[10..]).unwrap();
        w.write(&[1, 2, 3, 4, 5]).unwrap();
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        let h = parse_header(&bytes).unwrap();
        assert_eq!(h.alignment, ALIGNMENT);
        assert_eq!(h.tensors.len(), 2);
        assert_eq!(h.tensors[1].offset, 256);
        assert_eq!(h.data_offset % 256, 0);
        let b = &bytes[(h.data_offset + 256) as usize..][..5];
        assert_eq!(b, &[1, 2, 3, 4, 5]);
        let Some(Value::ArrayU32(sums)) = h.metadata.get(CHECKSUM_KEY) else { panic!() };
        assert_eq!(sums[1], crc32fast::hash(&[1, 2, 3, 4, 5]));
        assert_eq!(
            h.metadata.get("x.list"),
            Some(&Value::ArrayString(vec!["p".into(), "q".into()]))
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample();
        let h = parse_header(&bytes).unwrap();
        let data_end = (h.data_offset + 256 + 5) as usize;
        assert!(parse_header(&bytes[..data_end]).is_ok(), "trailing padding is optional");
        for cut in 0..data_end {
            assert!(parse_header(&bytes[..cut]).is_err(), "cut at {cut} parsed");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_header(&bytes);
        }

        #[test]
        fn mutated_header_never_panics(pos in 0usize..400, val in proptest::num::u8::ANY) {
            let mut bytes = sample();
            let p = pos % bytes.len();
            bytes[p] = val;
            let _ = parse_header(&bytes);
        }
    }
}

//! A GGUF (v2/v3) reader: header, metadata of every value type, tensor infos, alignment, and
//! dequantisation of F32, F16, BF16, Q8_0, Q4_0 and Q4_1 tensors into torch tensors.
//!
//! Dequantisation runs as tensor ops over the raw blocks (not a per-element Rust loop), so it
//! is fast whatever the crate's optimisation level.

use std::collections::BTreeMap;
use std::path::Path;

use tch::{Kind, Tensor};

#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("not a GGUF file (magic {0:02x?})")]
    BadMagic([u8; 4]),
    #[error("unsupported GGUF version {0} (2 and 3 are read)")]
    Version(u32),
    #[error("GGUF file truncated at byte {offset} while reading {what}")]
    Truncated { offset: usize, what: &'static str },
    #[error("unknown GGUF metadata value type {0}")]
    ValueType(u32),
    #[error("invalid UTF-8 in a GGUF string at byte {0}")]
    Utf8(usize),
    #[error("tensor {name}: unsupported quantisation type {kind} ({label})")]
    UnsupportedType { name: String, kind: u32, label: &'static str },
    #[error("tensor {name}: {count} elements is not a whole number of {block}-element blocks")]
    BlockSize { name: String, count: u64, block: u64 },
    #[error("tensor {name}: data ends at byte {end}, past the end of the file ({len} bytes)")]
    DataOutOfRange { name: String, end: u64, len: usize },
    #[error("no tensor named {0}")]
    MissingTensor(String),
    #[error("metadata key {key}: {problem}")]
    Metadata { key: String, problem: String },
}

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    /// Any integer type as u64 (negative values are `None`).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            // The shortest decimal that round-trips the f32 (1e-5, not 9.99999974e-6): the
            // value the file's writer meant.
            Value::F32(v) => Some(v.to_string().parse().unwrap_or(v.into())),
            Value::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// ggml tensor types this reader knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q8_0,
    Bf16,
    /// Any other type (k-quants, i-quants, ...): listed, not dequantised.
    Other(u32),
}

impl GgmlType {
    fn from_u32(t: u32) -> Self {
        match t {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            8 => Self::Q8_0,
            30 => Self::Bf16,
            other => Self::Other(other),
        }
    }

    /// (elements per block, bytes per block), for the types this reader can size.
    fn block(self) -> Option<(u64, u64)> {
        match self {
            Self::F32 => Some((1, 4)),
            Self::F16 | Self::Bf16 => Some((1, 2)),
            Self::Q4_0 => Some((32, 18)),
            Self::Q4_1 => Some((32, 20)),
            Self::Q8_0 => Some((32, 34)),
            Self::Other(_) => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::Q4_0 => "Q4_0",
            Self::Q4_1 => "Q4_1",
            Self::Q8_0 => "Q8_0",
            Self::Bf16 => "BF16",
            Self::Other(6) => "Q5_0",
            Self::Other(7) => "Q5_1",
            Self::Other(9) => "Q8_1",
            Self::Other(10..=15) => "a k-quant",
            Self::Other(_) => "unknown",
        }
    }

    fn code(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q8_0 => 8,
            Self::Bf16 => 30,
            Self::Other(c) => c,
        }
    }
}

/// One tensor's header entry.
#[derive(Clone, Debug)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `dims[0]` is the innermost (contiguous) dimension.
    pub dims: Vec<u64>,
    pub kind: GgmlType,
    /// Offset of the data from the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// The torch shape (outermost first), i.e. `dims` reversed.
    pub fn shape(&self) -> Vec<i64> {
        self.dims.iter().rev().map(|&d| i64::try_from(d).unwrap_or(i64::MAX)).collect()
    }

    pub fn elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A GGUF file read into memory.
#[derive(Debug)]
pub struct Gguf {
    pub version: u32,
    pub metadata: BTreeMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    data: Vec<u8>,
    data_start: usize,
}

impl Gguf {
    pub fn open(path: &Path) -> Result<Self, GgufError> {
        let data = std::fs::read(path)
            .map_err(|source| GgufError::Io { path: path.display().to_string(), source })?;
        Self::parse(data)
    }

    pub fn parse(data: Vec<u8>) -> Result<Self, GgufError> {
        let mut r = Reader { data: &data, pos: 0 };
        let magic: [u8; 4] = r.bytes(4, "magic")?.try_into().unwrap_or_default();
        if &magic != b"GGUF" {
            return Err(GgufError::BadMagic(magic));
        }
        let version = r.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::Version(version));
        }
        let n_tensors = r.u64("tensor count")?;
        let n_kv = r.u64("metadata count")?;
        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let key = r.string()?;
            let ty = r.u32("value type")?;
            let value = r.value(ty)?;
            metadata.insert(key, value);
        }
        let mut tensors = Vec::new();
        for _ in 0..n_tensors {
            let name = r.string()?;
            let n_dims = r.u32("tensor rank")?;
            let dims = (0..n_dims).map(|_| r.u64("tensor dims")).collect::<Result<Vec<_>, _>>()?;
            let kind = GgmlType::from_u32(r.u32("tensor type")?);
            let offset = r.u64("tensor offset")?;
            tensors.push(TensorInfo { name, dims, kind, offset });
        }
        let alignment = metadata.get("general.alignment").and_then(Value::as_u64).unwrap_or(32).max(1);
        let alignment = usize::try_from(alignment).unwrap_or(32);
        let data_start = r.pos.div_ceil(alignment) * alignment;
        let gguf = Self { version, metadata, tensors, data, data_start };
        // Check every tensor's extent now, so a truncated file fails on open.
        for info in &gguf.tensors {
            gguf.extent(info)?;
        }
        Ok(gguf)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Byte range of a tensor's data, checked against the file.
    fn extent(&self, info: &TensorInfo) -> Result<std::ops::Range<usize>, GgufError> {
        let Some((block, bytes)) = info.kind.block() else {
            // Unknown types are only an error when such a tensor is read.
            return Ok(0..0);
        };
        let count = info.elements();
        if !count.is_multiple_of(block) {
            return Err(GgufError::BlockSize { name: info.name.clone(), count, block });
        }
        let start = (self.data_start as u64).saturating_add(info.offset);
        let end = start.saturating_add(count / block * bytes);
        let len = self.data.len();
        if end > len as u64 {
            return Err(GgufError::DataOutOfRange { name: info.name.clone(), end, len });
        }
        Ok(usize::try_from(start).unwrap_or(usize::MAX)..usize::try_from(end).unwrap_or(usize::MAX))
    }

    /// The named tensor dequantised to f32 on the CPU, in torch shape.
    pub fn tensor(&self, name: &str) -> Result<Tensor, GgufError> {
        let info = self.tensor_info(name).ok_or_else(|| GgufError::MissingTensor(name.into()))?;
        let range = self.extent(info)?;
        let raw = &self.data[range];
        let shape = info.shape();
        let unsupported = || GgufError::UnsupportedType {
            name: info.name.clone(),
            kind: info.kind.code(),
            label: info.kind.label(),
        };
        let blocks = |bytes: i64| {
            let n = i64::try_from(raw.len()).unwrap_or(0) / bytes;
            Tensor::from_slice(raw).view([n, bytes])
        };
        // The f16 scale in bytes [at, at+2) of each block row, as [n,1] f32.
        let scale =
            |b: &Tensor, at: i64| b.narrow(1, at, 2).contiguous().view_dtype(Kind::Half).to_kind(Kind::Float);
        let flat = match info.kind {
            GgmlType::F32 => Tensor::from_slice(raw).view_dtype(Kind::Float),
            GgmlType::F16 => Tensor::from_slice(raw).view_dtype(Kind::Half).to_kind(Kind::Float),
            GgmlType::Bf16 => Tensor::from_slice(raw).view_dtype(Kind::BFloat16).to_kind(Kind::Float),
            GgmlType::Q8_0 => {
                let b = blocks(34);
                let q = b.narrow(1, 2, 32).contiguous().view_dtype(Kind::Int8).to_kind(Kind::Float);
                q * scale(&b, 0)
            }
            GgmlType::Q4_0 => {
                let b = blocks(18);
                (nibbles(&b.narrow(1, 2, 16)) - 8.0) * scale(&b, 0)
            }
            GgmlType::Q4_1 => {
                let b = blocks(20);
                nibbles(&b.narrow(1, 4, 16)) * scale(&b, 0) + scale(&b, 2)
            }
            GgmlType::Other(_) => return Err(unsupported()),
        };
        Ok(flat.reshape(shape))
    }
}

/// A block's 16 bytes of packed 4-bit values as 32 floats: the low nibbles are elements
/// 0..16, the high nibbles 16..32.
fn nibbles(qs: &Tensor) -> Tensor {
    let lo = qs.bitwise_and(0x0f);
    let hi = qs.bitwise_right_shift_tensor_scalar(4);
    Tensor::cat(&[lo, hi], 1).to_kind(Kind::Float)
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], GgufError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or(GgufError::Truncated { offset: self.pos, what })?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], GgufError> {
        let b = self.bytes(N, what)?;
        let mut out = [0; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn len(&mut self, what: &'static str) -> Result<usize, GgufError> {
        let at = self.pos;
        let n = self.u64(what)?;
        // A length past the remaining bytes cannot be satisfied: fail before allocating.
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.data.len())
            .ok_or(GgufError::Truncated { offset: at, what })
    }

    fn string(&mut self) -> Result<String, GgufError> {
        let n = self.len("string length")?;
        let at = self.pos;
        let b = self.bytes(n, "string")?;
        String::from_utf8(b.to_vec()).map_err(|_| GgufError::Utf8(at))
    }

    fn value(&mut self, ty: u32) -> Result<Value, GgufError> {
        const W: &str = "metadata value";
        Ok(match ty {
            0 => Value::U8(u8::from_le_bytes(self.array(W)?)),
            1 => Value::I8(i8::from_le_bytes(self.array(W)?)),
            2 => Value::U16(u16::from_le_bytes(self.array(W)?)),
            3 => Value::I16(i16::from_le_bytes(self.array(W)?)),
            4 => Value::U32(u32::from_le_bytes(self.array(W)?)),
            5 => Value::I32(i32::from_le_bytes(self.array(W)?)),
            6 => Value::F32(f32::from_le_bytes(self.array(W)?)),
            7 => Value::Bool(self.array::<1>(W)?[0] != 0),
            8 => Value::String(self.string()?),
            9 => {
                let elem = self.u32("array type")?;
                let n = self.len("array length")?;
                let mut items = Vec::with_capacity(n.min(1 << 20));
                for _ in 0..n {
                    items.push(self.value(elem)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(u64::from_le_bytes(self.array(W)?)),
            11 => Value::I64(i64::from_le_bytes(self.array(W)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(W)?)),
            other => return Err(GgufError::ValueType(other)),
        })
    }
}

//! [`ModelFile`]: a validated model (metadata + tensors), read from and written to safetensors.
//!
//! Loading never panics and never allocates beyond a bound fixed by the file size cap: the
//! header is checked here (length, JSON, data offsets against the bytes present) before the
//! `safetensors` crate sees it, because its parser adds offsets without overflow checks and
//! would take a 100 MB header at its word. Every tensor is then checked for name, dtype, shape
//! and finiteness against the architecture in the metadata. A tensor the architecture does not
//! name is an error ([`LoadError::UnexpectedTensor`]), not ignored: it means the exporter and
//! the metadata disagree, and a silently unused weight would be a silently wrong model.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::Path;

use safetensors::tensor::{Metadata, TensorInfo, TensorView};
use safetensors::{Dtype, SafeTensors};

use crate::arch::{Architecture, NormType};
use crate::error::{LoadError, SaveError};
use crate::metadata::{
    ModelMetadata, WeightPrecision, FORMAT_VERSION, METADATA_KEY, OLDEST_FORMAT_VERSION,
};
use crate::weights::{
    block_conv_name, block_norm_name, tensor_layout, Block, Layer, Norm, TensorRef, TensorRole,
    WeightData, Weights, BODY_RESPONSE, HEAD, INPUT, REVERB_IR,
};

/// Largest model file accepted, in bytes (64 MiB; a real model is tens of kB plus its IR).
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Largest safetensors JSON header accepted, in bytes (1 MiB; a real one is a few kB).
pub const MAX_HEADER_BYTES: u64 = 1 << 20;
/// Longest reverb IR accepted, in seconds at its own sample rate (so at most 576,000 samples
/// at 192 kHz).
pub const MAX_IR_SECONDS: usize = 3;
/// Largest weight magnitude accepted. Far above anything training produces, and small enough
/// that no sum in the network can overflow f32 for inputs within the decoder's clamp.
pub const MAX_ABS_WEIGHT: f32 = 1e6;
/// Suffix of the per-output-channel scale tensor of an int8 weight: `X.weight` → `X.weight_scale`.
pub const SCALE_SUFFIX: &str = "_scale";
/// The name [`ModelFile::new`] uses in its errors.
const IN_MEMORY: &str = "<in memory>";

/// A complete, validated model: metadata plus every tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFile {
    /// The metadata document.
    metadata: ModelMetadata,
    /// The tensors, as stored (f32 or int8).
    weights: Weights,
}

impl ModelFile {
    /// Builds a model from parts (the trainer's export path), with the same checks as loading.
    /// Errors name the file `<in memory>`.
    pub fn new(metadata: ModelMetadata, weights: Weights) -> Result<Self, LoadError> {
        check_metadata(&metadata, IN_MEMORY)?;
        check_weights(&metadata, &weights, IN_MEMORY)?;
        Ok(Self { metadata, weights })
    }

    /// Builds a model from parts known to be valid (derived from a valid model); debug builds
    /// check anyway.
    pub(crate) fn from_valid_parts(metadata: ModelMetadata, weights: Weights) -> Self {
        debug_assert!(check_metadata(&metadata, IN_MEMORY).is_ok());
        debug_assert!(check_weights(&metadata, &weights, IN_MEMORY).is_ok());
        Self { metadata, weights }
    }

    /// Parses a model from the bytes of a file; `name` (usually the path) starts every error
    /// message. Never panics, whatever the bytes.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self, LoadError> {
        let file = || name.to_string();
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(LoadError::TooLarge {
                file: file(),
                size: bytes.len() as u64,
                max: MAX_FILE_BYTES,
            });
        }
        precheck_header(bytes, name)?;
        let (header_len, st_meta) =
            SafeTensors::read_metadata(bytes).map_err(|e| LoadError::NotSafetensors {
                file: file(),
                reason: e.to_string(),
            })?;
        // `read_metadata` checked that the offsets tile the data exactly.
        let data = bytes.get(8 + header_len..).unwrap_or_default();

        let json = st_meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get(METADATA_KEY))
            .ok_or(LoadError::MissingMetadata {
                file: file(),
                key: METADATA_KEY,
            })?;
        let metadata = parse_metadata(json, name)?;
        check_metadata(&metadata, name)?;

        let mut reader = TensorReader {
            meta: &st_meta,
            data,
            file: name,
            used: BTreeSet::new(),
        };
        let weights = reader.read_weights(&metadata)?;
        reader.reject_unused()?;
        check_weights(&metadata, &weights, name)?;
        Ok(Self { metadata, weights })
    }

    /// Reads and parses a model file. Errors name the file by its path.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, LoadError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let io = |source| LoadError::Io {
            file: name.clone(),
            source,
        };
        // Checked before opening: opening a FIFO blocks until a writer appears, and reading a
        // device may never end. (The file could still be swapped between this check and the
        // open; the size cap below bounds what is read from whatever is opened.)
        if !std::fs::metadata(path).map_err(io)?.is_file() {
            return Err(LoadError::NotAFile { file: name });
        }
        let file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size > MAX_FILE_BYTES {
            return Err(LoadError::TooLarge {
                file: name,
                size,
                max: MAX_FILE_BYTES,
            });
        }
        // `take` bounds the read even if the file grows meanwhile; from_bytes then sees a
        // too-large buffer and says so.
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Self::from_bytes(&bytes, &name)
    }

    /// Serializes to safetensors bytes (deterministic: the same model gives the same bytes).
    pub fn to_bytes(&self) -> Result<Vec<u8>, SaveError> {
        let json = serde_json::to_string(&self.metadata)
            .map_err(|e| SaveError::Serialize(e.to_string()))?;
        let mut buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        let arch = &self.metadata.architecture;
        let shapes: HashMap<String, Option<Vec<usize>>> = tensor_layout(arch)
            .into_iter()
            .map(|(name, shape, _)| (name, shape))
            .collect();
        for (name, tensor) in self.weights.tensors() {
            let shape = |len: usize| shapes.get(&name).cloned().flatten().unwrap_or(vec![len]);
            match tensor {
                TensorRef::Vector(v) => {
                    buffers.push((name.clone(), Dtype::F32, shape(v.len()), f32_bytes(v)))
                }
                TensorRef::Weight(WeightData::F32(v)) => {
                    buffers.push((name.clone(), Dtype::F32, shape(v.len()), f32_bytes(v)))
                }
                TensorRef::Weight(WeightData::Int8 { values, scales }) => {
                    let bytes = values.iter().map(|&q| q as u8).collect();
                    buffers.push((name.clone(), Dtype::I8, shape(values.len()), bytes));
                    buffers.push((
                        format!("{name}{SCALE_SUFFIX}"),
                        Dtype::F32,
                        vec![scales.len()],
                        f32_bytes(scales),
                    ));
                }
            }
        }
        let views = buffers
            .iter()
            .map(|(name, dtype, shape, bytes)| {
                TensorView::new(*dtype, shape.clone(), bytes).map(|v| (name.clone(), v))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SaveError::Serialize(e.to_string()))?;
        let info = HashMap::from([(METADATA_KEY.to_string(), json)]);
        safetensors::serialize(views, Some(info)).map_err(|e| SaveError::Serialize(e.to_string()))
    }

    /// Writes the model to `path` (see [`ModelFile::to_bytes`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), SaveError> {
        let path = path.as_ref();
        let bytes = self.to_bytes()?;
        std::fs::write(path, bytes).map_err(|source| SaveError::Io {
            file: path.display().to_string(),
            source,
        })
    }

    /// The metadata document.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// The network's shape (from the metadata).
    pub fn architecture(&self) -> &Architecture {
        &self.metadata.architecture
    }

    /// The tensors as stored.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The learned reverb IR at `metadata().reverb_sample_rate_hz` (possibly empty).
    pub fn reverb_ir(&self) -> &[f32] {
        &self.weights.reverb_ir
    }

    /// The body response in dB ([`crate::body`]), empty when the model has none.
    pub fn body_response_db(&self) -> &[f32] {
        &self.weights.body_db
    }

    /// Splits the model into its parts.
    pub fn into_parts(self) -> (ModelMetadata, Weights) {
        (self.metadata, self.weights)
    }
}

/// Little-endian bytes of an f32 slice.
fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Checks the safetensors framing before the `safetensors` crate parses it: an 8-byte
/// little-endian header length within [`MAX_HEADER_BYTES`] and the bytes present, a JSON
/// object header, and data offsets that stay within the bytes present. After this, nothing in
/// `SafeTensors::read_metadata` can overflow.
fn precheck_header(bytes: &[u8], name: &str) -> Result<(), LoadError> {
    let file = || name.to_string();
    let truncated = |expected: u64| LoadError::Truncated {
        file: file(),
        expected,
        actual: bytes.len() as u64,
    };
    let Some(len_bytes) = bytes.first_chunk::<8>() else {
        return Err(truncated(8));
    };
    let header_len = u64::from_le_bytes(*len_bytes);
    if header_len > MAX_HEADER_BYTES {
        return Err(LoadError::NotSafetensors {
            file: file(),
            reason: format!("the header length field says {header_len} bytes, more than the {MAX_HEADER_BYTES}-byte limit"),
        });
    }
    let header_end = 8 + header_len as usize;
    let Some(header) = bytes.get(8..header_end) else {
        return Err(truncated(header_end as u64));
    };
    let entries: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(header)
        .map_err(|e| LoadError::NotSafetensors {
            file: file(),
            reason: format!("the header is not a JSON object: {e}"),
        })?;
    let data_len = (bytes.len() - header_end) as u64;
    let mut data_end = 0u64;
    for (key, entry) in &entries {
        if key == "__metadata__" {
            continue;
        }
        let offsets = entry.get("data_offsets").and_then(|o| o.as_array());
        for offset in offsets.into_iter().flatten().filter_map(|o| o.as_u64()) {
            data_end = data_end.max(offset);
        }
    }
    if data_end > data_len {
        return Err(truncated((header_end as u64).saturating_add(data_end)));
    }
    if data_end < data_len {
        return Err(LoadError::NotSafetensors {
            file: file(),
            reason: format!("{} bytes follow the last tensor", data_len - data_end),
        });
    }
    Ok(())
}

/// Parses the metadata JSON, checking `format_version` before the schema (a future version
/// may have another schema).
fn parse_metadata(json: &str, name: &str) -> Result<ModelMetadata, LoadError> {
    let bad = |reason: String| LoadError::BadMetadata {
        file: name.to_string(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| bad(format!("not JSON: {e}")))?;
    let version = value
        .get("format_version")
        .ok_or_else(|| bad("no format_version".into()))?
        .as_u64()
        .ok_or_else(|| bad("format_version is not a non-negative integer".into()))?;
    if !(OLDEST_FORMAT_VERSION as u64..=FORMAT_VERSION as u64).contains(&version) {
        return Err(LoadError::UnsupportedVersion {
            file: name.to_string(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|e| bad(e.to_string()))
}

/// Checks the metadata's values and architecture.
fn check_metadata(metadata: &ModelMetadata, name: &str) -> Result<(), LoadError> {
    if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&metadata.format_version) {
        return Err(LoadError::UnsupportedVersion {
            file: name.to_string(),
            found: metadata.format_version as u64,
            supported: FORMAT_VERSION,
        });
    }
    if metadata.architecture.body_response && metadata.format_version < 2 {
        return Err(LoadError::BadMetadata {
            file: name.to_string(),
            reason: format!(
                "a body response needs format version 2 (the file says {})",
                metadata.format_version
            ),
        });
    }
    metadata
        .architecture
        .validate()
        .map_err(|reason| LoadError::InvalidArchitecture {
            file: name.to_string(),
            reason,
        })?;
    metadata
        .validate_values()
        .map_err(|bad| LoadError::BadMetadata {
            file: name.to_string(),
            reason: bad.to_string(),
        })
}

/// Checks the tensors against the metadata: structure, lengths, precision, finiteness and
/// range, IR length. Shared by [`ModelFile::new`] and loading.
fn check_weights(metadata: &ModelMetadata, weights: &Weights, name: &str) -> Result<(), LoadError> {
    let file = || name.to_string();
    let arch = &metadata.architecture;
    let layout = tensor_layout(arch);
    let actual = weights.tensors();
    // Structure: the same tensor names in the same order.
    let expected: BTreeSet<&str> = layout.iter().map(|(n, _, _)| n.as_str()).collect();
    let present: BTreeSet<&str> = actual.iter().map(|(n, _)| n.as_str()).collect();
    if let Some(missing) = expected.difference(&present).next() {
        return Err(LoadError::MissingTensor {
            file: file(),
            name: missing.to_string(),
        });
    }
    if let Some(extra) = present.difference(&expected).next() {
        return Err(LoadError::UnexpectedTensor {
            file: file(),
            name: extra.to_string(),
        });
    }
    let (want_dtype, want_name) = match metadata.weight_precision {
        WeightPrecision::F32 => (Dtype::F32, "F32"),
        WeightPrecision::Int8 => (Dtype::I8, "I8"),
    };
    for ((tensor_name, shape, role), (_, tensor)) in layout.iter().zip(&actual) {
        let expected_len = shape.as_ref().map(|s| s.iter().product::<usize>());
        let mismatch = |found: usize| LoadError::ShapeMismatch {
            file: file(),
            name: tensor_name.clone(),
            expected: shape.clone().unwrap_or_default(),
            found: vec![found],
        };
        match (role, tensor) {
            (TensorRole::Weight, TensorRef::Weight(w)) => {
                if Some(w.len()) != expected_len {
                    return Err(mismatch(w.len()));
                }
                match w {
                    WeightData::F32(v) => {
                        if want_dtype != Dtype::F32 {
                            return Err(wrong_dtype(name, tensor_name, want_name, Dtype::F32));
                        }
                        check_values(v, tensor_name, name, MAX_ABS_WEIGHT)?;
                    }
                    WeightData::Int8 { scales, .. } => {
                        if want_dtype != Dtype::I8 {
                            return Err(wrong_dtype(name, tensor_name, want_name, Dtype::I8));
                        }
                        let rows = shape.as_ref().map_or(0, |s| s[0]);
                        if scales.len() != rows {
                            return Err(LoadError::ShapeMismatch {
                                file: file(),
                                name: format!("{tensor_name}{SCALE_SUFFIX}"),
                                expected: vec![rows],
                                found: vec![scales.len()],
                            });
                        }
                        // Quantizing a weight within the cap gives a scale within cap / 127; a
                        // dequantized weight is then at most 128/127 of the cap, still far from
                        // any overflow.
                        check_values(
                            scales,
                            &format!("{tensor_name}{SCALE_SUFFIX}"),
                            name,
                            MAX_ABS_WEIGHT / 127.0,
                        )?;
                    }
                }
            }
            (TensorRole::Vector, TensorRef::Vector(v)) => {
                if Some(v.len()) != expected_len {
                    return Err(mismatch(v.len()));
                }
                check_values(v, tensor_name, name, MAX_ABS_WEIGHT)?;
            }
            (TensorRole::ReverbIr, TensorRef::Vector(v)) => {
                let rate = metadata.reverb_sample_rate_hz;
                let max = MAX_IR_SECONDS * rate as usize;
                if v.len() > max {
                    return Err(LoadError::ReverbTooLong {
                        file: file(),
                        samples: v.len(),
                        max,
                        seconds: MAX_IR_SECONDS,
                        sample_rate_hz: rate,
                    });
                }
                check_values(v, tensor_name, name, MAX_ABS_WEIGHT)?;
            }
            (TensorRole::Body, TensorRef::Vector(v)) => {
                if Some(v.len()) != expected_len {
                    return Err(mismatch(v.len()));
                }
                check_values(v, tensor_name, name, crate::body::BODY_MAX_DB)?;
            }
            // Names matched, so roles match too.
            _ => return Err(wrong_dtype(name, tensor_name, want_name, Dtype::F32)),
        }
    }
    Ok(())
}

fn wrong_dtype(file: &str, tensor: &str, expected: &'static str, found: Dtype) -> LoadError {
    LoadError::WrongDtype {
        file: file.to_string(),
        name: tensor.to_string(),
        expected,
        found: format!("{found:?}"),
    }
}

/// First non-finite or out-of-range value of a tensor, as an error.
fn check_values(values: &[f32], tensor: &str, file: &str, max: f32) -> Result<(), LoadError> {
    for (index, &value) in values.iter().enumerate() {
        if !value.is_finite() {
            return Err(LoadError::NonFiniteWeight {
                file: file.into(),
                name: tensor.into(),
                index,
                value,
            });
        }
        if value.abs() > max {
            return Err(LoadError::WeightOutOfRange {
                file: file.into(),
                name: tensor.into(),
                index,
                value,
                max,
            });
        }
    }
    Ok(())
}

/// Reads tensors by name from a parsed safetensors header, checking dtype and shape, and
/// remembers which it read so leftovers can be rejected.
struct TensorReader<'a> {
    /// The parsed header.
    meta: &'a Metadata,
    /// The data section (offsets are relative to it).
    data: &'a [u8],
    /// The file's name for errors.
    file: &'a str,
    /// Names read so far.
    used: BTreeSet<String>,
}

impl TensorReader<'_> {
    /// Looks up a tensor and checks its dtype.
    fn get(
        &mut self,
        name: &str,
        dtype: Dtype,
        dtype_name: &'static str,
    ) -> Result<(&TensorInfo, &[u8]), LoadError> {
        let info = self
            .meta
            .info(name)
            .ok_or_else(|| LoadError::MissingTensor {
                file: self.file.into(),
                name: name.into(),
            })?;
        if info.dtype != dtype {
            return Err(wrong_dtype(self.file, name, dtype_name, info.dtype));
        }
        self.used.insert(name.to_string());
        let (start, end) = info.data_offsets;
        let bytes = self
            .data
            .get(start..end)
            .ok_or_else(|| LoadError::NotSafetensors {
                file: self.file.into(),
                reason: format!("tensor \"{name}\" points outside the data"),
            })?;
        Ok((info, bytes))
    }

    /// Reads an F32 tensor of exactly `shape`, or of any 1-D shape when `shape` is `None`.
    fn f32s(&mut self, name: &str, shape: Option<&[usize]>) -> Result<Vec<f32>, LoadError> {
        let file = self.file;
        let (info, bytes) = self.get(name, Dtype::F32, "F32")?;
        // A free-length tensor (the IR) must be 1-D: expect its element count as one dimension.
        let expected = shape.map_or_else(|| vec![info.shape.iter().product()], <[usize]>::to_vec);
        if info.shape != expected {
            return Err(LoadError::ShapeMismatch {
                file: file.into(),
                name: name.into(),
                expected,
                found: info.shape.clone(),
            });
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Reads a layer weight of `shape` in the file's precision (int8 with its scales).
    fn weight(
        &mut self,
        name: &str,
        shape: &[usize],
        precision: WeightPrecision,
    ) -> Result<WeightData, LoadError> {
        match precision {
            WeightPrecision::F32 => Ok(WeightData::F32(self.f32s(name, Some(shape))?)),
            WeightPrecision::Int8 => {
                let file = self.file;
                let (info, bytes) = self.get(name, Dtype::I8, "I8")?;
                if info.shape != shape {
                    return Err(LoadError::ShapeMismatch {
                        file: file.into(),
                        name: name.into(),
                        expected: shape.to_vec(),
                        found: info.shape.clone(),
                    });
                }
                let values = bytes.iter().map(|&b| b as i8).collect();
                let scales = self.f32s(&format!("{name}{SCALE_SUFFIX}"), Some(&shape[..1]))?;
                Ok(WeightData::Int8 { values, scales })
            }
        }
    }

    /// Reads a layer (weight + bias) named `prefix`.
    fn layer(
        &mut self,
        prefix: &str,
        shape: &[usize],
        precision: WeightPrecision,
    ) -> Result<Layer, LoadError> {
        Ok(Layer {
            weight: self.weight(&format!("{prefix}.weight"), shape, precision)?,
            bias: self.f32s(&format!("{prefix}.bias"), Some(&shape[..1]))?,
        })
    }

    /// Reads every tensor the metadata's architecture needs.
    fn read_weights(&mut self, metadata: &ModelMetadata) -> Result<Weights, LoadError> {
        let arch = &metadata.architecture;
        let p = metadata.weight_precision;
        let (c, k) = (arch.channels, arch.kernel_size);
        let input = self.layer(INPUT, &[c, crate::arch::N_INPUTS, k], p)?;
        let mut blocks = Vec::with_capacity(arch.dilations.len());
        for i in 0..arch.dilations.len() {
            let conv = self.layer(&block_conv_name(i), &[c, c, k], p)?;
            let norm = match arch.norm {
                NormType::None => None,
                NormType::LayerChannels => {
                    let n = block_norm_name(i);
                    Some(Norm {
                        gain: self.f32s(&format!("{n}.gain"), Some(&[c]))?,
                        bias: self.f32s(&format!("{n}.bias"), Some(&[c]))?,
                    })
                }
            };
            blocks.push(Block { conv, norm });
        }
        let head = self.layer(HEAD, &[arch.n_outputs(), c], p)?;
        let reverb_ir = self.f32s(REVERB_IR, None)?;
        let body_db = if arch.body_response {
            self.f32s(BODY_RESPONSE, Some(&[crate::body::BODY_BINS]))?
        } else {
            Vec::new()
        };
        Ok(Weights {
            input,
            blocks,
            head,
            reverb_ir,
            body_db,
        })
    }

    /// Fails on the first (by name) tensor that was not read.
    fn reject_unused(&self) -> Result<(), LoadError> {
        let mut names: Vec<String> = self.meta.tensors().into_keys().collect();
        names.sort();
        match names.into_iter().find(|n| !self.used.contains(n)) {
            Some(name) => Err(LoadError::UnexpectedTensor {
                file: self.file.into(),
                name,
            }),
            None => Ok(()),
        }
    }
}

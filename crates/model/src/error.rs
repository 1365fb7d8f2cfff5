//! Typed errors: [`LoadError`] for every way a model file can be wrong, [`SaveError`] for
//! writing one. Each message starts with the file's name (as given to the loader) and says what
//! is wrong in words a user can act on.

use thiserror::Error;

/// Why a model file could not be loaded. Every variant names the file (`file`).
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file could not be read from disk.
    #[error("{file}: cannot read the model file: {source}")]
    Io {
        /// The file's name.
        file: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The path names something other than a regular file (a directory, a FIFO, a device):
    /// reading it could block forever (`/dev/stdin`, a named pipe) or never end (`/dev/zero`).
    #[error("{file}: not a regular file, so not a model file")]
    NotAFile {
        /// The file's name.
        file: String,
    },
    /// The file is larger than any model could be.
    #[error("{file}: the file is {size} bytes, more than the {max}-byte limit for a model")]
    TooLarge {
        /// The file's name.
        file: String,
        /// Its size in bytes.
        size: u64,
        /// The limit ([`crate::file::MAX_FILE_BYTES`]).
        max: u64,
    },
    /// The file ends before the data its header announces.
    #[error("{file}: the file is truncated: it has {actual} bytes, its header needs {expected}")]
    Truncated {
        /// The file's name.
        file: String,
        /// Bytes the header says there are (at least).
        expected: u64,
        /// Bytes there are.
        actual: u64,
    },
    /// The bytes are not a safetensors file (bad header length, header JSON, offsets, dtype).
    #[error("{file}: not a valid safetensors model file: {reason}")]
    NotSafetensors {
        /// The file's name.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The safetensors header has no `__metadata__` entry with the Tiny Timbre key.
    #[error("{file}: no Tiny Timbre metadata (the safetensors `__metadata__` has no \"{key}\" entry); is this a Tiny Timbre model?")]
    MissingMetadata {
        /// The file's name.
        file: String,
        /// The key looked for ([`crate::metadata::METADATA_KEY`]).
        key: &'static str,
    },
    /// The metadata is present but does not parse or holds invalid values.
    #[error("{file}: invalid model metadata: {reason}")]
    BadMetadata {
        /// The file's name.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The file was written in a format version this build does not read.
    #[error("{file}: model format version {found} is not supported (this build reads versions {} to {supported}); update Tiny Timbre or re-export the model", crate::metadata::OLDEST_FORMAT_VERSION)]
    UnsupportedVersion {
        /// The file's name.
        file: String,
        /// The version in the file.
        found: u64,
        /// The newest version this build reads ([`crate::metadata::FORMAT_VERSION`]; the
        /// oldest is [`crate::metadata::OLDEST_FORMAT_VERSION`]).
        supported: u32,
    },
    /// The architecture in the metadata is outside the supported caps.
    #[error("{file}: unsupported architecture: {reason}")]
    InvalidArchitecture {
        /// The file's name.
        file: String,
        /// Which size is out of range.
        reason: crate::arch::SizeOutOfRange,
    },
    /// A tensor the architecture needs is absent.
    #[error("{file}: missing tensor \"{name}\"")]
    MissingTensor {
        /// The file's name.
        file: String,
        /// The tensor's name.
        name: String,
    },
    /// A tensor the architecture does not use is present (rejected: it means the file and its
    /// metadata disagree, for example a model exported with a different architecture).
    #[error("{file}: unexpected tensor \"{name}\" (not part of the architecture in the metadata)")]
    UnexpectedTensor {
        /// The file's name.
        file: String,
        /// The tensor's name.
        name: String,
    },
    /// A tensor has the wrong element type.
    #[error("{file}: tensor \"{name}\" has dtype {found}, expected {expected}")]
    WrongDtype {
        /// The file's name.
        file: String,
        /// The tensor's name.
        name: String,
        /// The dtype required here.
        expected: &'static str,
        /// The dtype in the file.
        found: String,
    },
    /// A tensor has the wrong shape for the architecture.
    #[error("{file}: tensor \"{name}\" has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        /// The file's name.
        file: String,
        /// The tensor's name.
        name: String,
        /// The shape the architecture implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A weight is NaN or infinite.
    #[error("{file}: tensor \"{name}\" holds a non-finite value ({value}) at index {index}")]
    NonFiniteWeight {
        /// The file's name.
        file: String,
        /// The tensor's name.
        name: String,
        /// Flat index of the first bad value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A weight is finite but absurdly large (it would overflow the network's arithmetic).
    #[error("{file}: tensor \"{name}\" holds {value} at index {index}, beyond the ±{max} limit for a weight")]
    WeightOutOfRange {
        /// The file's name.
        file: String,
        /// The tensor's name.
        name: String,
        /// Flat index of the first bad value.
        index: usize,
        /// The value.
        value: f32,
        /// The limit ([`crate::file::MAX_ABS_WEIGHT`]).
        max: f32,
    },
    /// The reverb impulse response is longer than allowed.
    #[error("{file}: the reverb impulse response has {samples} samples, more than the {max} allowed ({seconds} s at {sample_rate_hz} Hz)")]
    ReverbTooLong {
        /// The file's name.
        file: String,
        /// Its length.
        samples: usize,
        /// The limit at its sample rate.
        max: usize,
        /// The limit in seconds ([`crate::file::MAX_IR_SECONDS`]).
        seconds: usize,
        /// The IR's sample rate.
        sample_rate_hz: u32,
    },
}

/// Why a model file could not be written.
#[derive(Debug, Error)]
pub enum SaveError {
    /// Writing to disk failed.
    #[error("{file}: cannot write the model file: {source}")]
    Io {
        /// The file's name.
        file: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The safetensors serializer refused the tensors (it cannot for a valid [`crate::ModelFile`]).
    #[error("cannot serialize the model: {0}")]
    Serialize(String),
}

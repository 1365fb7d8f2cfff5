//! The Tiny Timbre model: DDSP-CNN-Tiny as data (a safetensors file with JSON metadata) and
//! its streaming, allocation-free inference.
//!
//! - [`ModelFile`] loads, validates and saves a model; every malformed file gives a typed
//!   [`LoadError`] naming the file, never a panic.
//! - [`Decoder`] runs it one frame at a time ([`Decoder::step`]) or over a whole sequence
//!   ([`Decoder::run_batch`], the plain reference).
//! - [`scale_f0`] and [`scale_loudness`] define the network's inputs; [`normalize_harmonics`]
//!   turns its harmonic distribution into weights.
//! - [`Architecture`] is the network's shape, shared with the training crate.
//!
//! # The network
//! See [`Architecture`] for the forward pass. Placement choices: the optional per-frame
//! LayerNorm ([`NormType::LayerChannels`]) sits at the start of each residual block, before its
//! relu6 (`x + conv(relu6(norm(x)))`); a final relu6 (without a norm) feeds the head. With the
//! default shape the receptive field is 55 frames ([`Architecture::receptive_field`]).
//!
//! # The file
//! A safetensors file. Tensor names and shapes (`C` channels, `K` kernel, `H` harmonics, `B`
//! noise bands; conv weights in PyTorch/burn layout `[out, in, K]` with causal left padding
//! `(K − 1) · d`, so `out[o, t] = bias[o] + Σ_j Σ_i w[o, i, j] · x[i, t − (K − 1 − j) · d]`):
//!
//! | name | shape | |
//! |---|---|---|
//! | `input.weight` | `[C, 2, K]` | input conv; input 0 is f0, input 1 loudness |
//! | `input.bias` | `[C]` | |
//! | `blocks.{i}.conv.weight` | `[C, C, K]` | block `i`'s dilated conv, `i = 0..dilations.len()` |
//! | `blocks.{i}.conv.bias` | `[C]` | |
//! | `blocks.{i}.norm.gain` | `[C]` | only with `"layer_channels"` norm |
//! | `blocks.{i}.norm.bias` | `[C]` | only with `"layer_channels"` norm |
//! | `head.weight` | `[1 + H + B, C]` | rows: amplitude, harmonics 1..=H, noise bands |
//! | `head.bias` | `[1 + H + B]` | |
//! | `reverb.ir` | `[N]` | learned reverb IR, `N ≥ 0`, at `reverb_sample_rate_hz` |
//! | `body.response_db` | `[65]` | only with `"body_response": true` (format 2): see [`body`] |
//!
//! All F32, except with `"weight_precision": "int8"`: each `*.weight` above is I8 and a
//! `*.weight_scale` F32 tensor `[out]` holds its per-output-channel scales. No other tensor
//! may be present. The safetensors `__metadata__` maps `"tiny_timbre"` to a JSON document
//! described in [`metadata`]; its `format_version` must be [`OLDEST_FORMAT_VERSION`] to
//! [`FORMAT_VERSION`] (format 2 added the body response; a format-1 file has none).
//!
//! # Speed
//! The step packs the weights in reading order, pads channels to SIMD groups, keeps per-layer
//! history in power-of-two rings, evaluates exp_sigmoid with a vectorized polynomial
//! ([`math`]), and is compiled for AVX-512, AVX2 + FMA and portable code, picked at run time
//! ([`Isa`]; see `kernel.rs`). All kernels and the batch reference perform the same canonical
//! arithmetic ([`mod@reference`]), so they agree to the bit. `cargo bench -p timbre-model`
//! streams 1,000 frames (4 s of audio); on the development VM (AMD EPYC Zen 4, 2 busy vCPUs)
//! it measured, best of 3,000 passes:
//!
//! | model | kernel | per frame | real-time |
//! |---|---|---|---|
//! | C = 8, f32 or int8 | AVX-512 head, AVX2 blocks | 160 ns | ≈ 25,000x |
//! | C = 8, f32 | AVX2 + FMA only | 210 ns | ≈ 19,000x |
//! | C = 16, f32 or int8 | AVX-512 | 310 ns | ≈ 12,800x |
//! | C = 16, f32 | AVX2 + FMA only | 500 ns | ≈ 8,000x |
//! | C = 8, f32 | portable, x86-64 without FMA (fused multiply-adds in software) | 11 µs | ≈ 370x |
//!
//! (ONNX Runtime, single thread, takes 1.41 ms per 1,000 frames for C = 8: ≈ 2,800x.)
//!
//! # int8
//! int8 files are dequantized once, in [`Decoder::new`], and run on the f32 kernels, so an
//! int8 model costs exactly what an f32 model costs per frame. The alternative, kernels that
//! read the int8 weights and convert them on the fly (sign-extend, convert, scale after each
//! dot product), measured slower in an A/B run on the same machine, alternating in one
//! process, best of 400 passes of 1,000 frames: C = 8: 163 µs (f32 weights) against 203 µs
//! (int8 weights); C = 16: 332 µs against 367 µs, although the C = 16 f32 weights (28 kB)
//! barely fit in L1. The step is bound by multiply-add throughput and latency, not by memory,
//! so the conversions only add work. What int8 changes is the weights, each by at most half a
//! quantization step; on random models the outputs move by at most 0.026 (outputs lie in
//! `[0, 2]`; mean per-frame maximum 0.002 to 0.010), under the asserted bound
//! [`INT8_MAX_ABS_ERROR`] (`tests/int8.rs`).

pub mod arch;
pub mod body;
pub mod controls;
pub mod decoder;
pub mod error;
pub mod features;
pub mod file;
mod kernel;
pub mod math;
pub mod metadata;
pub mod quant;
pub mod reference;
mod simd;
pub mod testing;
pub mod weights;

pub use arch::{Architecture, NormType};

/// Length of the instrument's body, the first part of a model's learned reverb IR, in seconds:
/// the engine always plays it (`timbre_engine::ir`), and a model trained with a
/// minimum-phase body has this much of its IR in minimum phase.
pub const IR_BODY_SECONDS: f64 = 0.04;
pub use body::apply_body;
pub use controls::{normalize_harmonics, Controls};
pub use decoder::Decoder;
pub use error::{LoadError, SaveError};
pub use features::{scale_f0, scale_loudness};
pub use file::ModelFile;
pub use kernel::Isa;
pub use metadata::{ModelMetadata, FORMAT_VERSION, OLDEST_FORMAT_VERSION};
pub use testing::random_model;

/// Bound on the absolute difference between any output (amplitude, harmonic, noise band) of a
/// model and of its int8 quantization, asserted over the random models and inputs of
/// `tests/int8.rs` (measured maximum 0.026).
pub const INT8_MAX_ABS_ERROR: f32 = 0.04;

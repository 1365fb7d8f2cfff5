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
//!
//! All F32, except with `"weight_precision": "int8"`: each `*.weight` above is I8 and a
//! `*.weight_scale` F32 tensor `[out]` holds its per-output-channel scales. No other tensor
//! may be present. The safetensors `__metadata__` maps `"tiny_timbre"` to a JSON document
//! described in [`metadata`]; its `format_version` must be [`FORMAT_VERSION`].
//!
//! # Speed
//! The step packs the weights in reading order, pads channels to SIMD groups of 8, keeps
//! per-layer history in power-of-two rings, evaluates exp_sigmoid with a vectorized polynomial
//! ([`math`]), and is compiled with AVX2 + FMA where the CPU has them (see `kernel.rs`).
//! `cargo bench -p timbre-model` measures 1,000 streamed frames.
//!
//! # int8
//! int8 files are dequantized at load and run on the f32 kernels. Measured by
//! `cargo bench -p timbre-model` (`decoder/int8-kernel` against `decoder/f32`), an int8-weight
//! kernel is slower (see `benches/decoder.rs` and the numbers below), so dequantizing is both the
//! faster and the simpler choice: int8 costs exactly what f32 costs per frame. What int8 changes
//! is only the weights, by at most half a quantization step each; on random models the outputs
//! move by at most [`INT8_MAX_ABS_ERROR`] (measured; asserted in `tests/int8.rs`).

pub mod arch;
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
pub use controls::{normalize_harmonics, Controls};
pub use decoder::Decoder;
pub use kernel::Isa;
pub use error::{LoadError, SaveError};
pub use features::{scale_f0, scale_loudness};
pub use file::ModelFile;
pub use metadata::{ModelMetadata, FORMAT_VERSION};
pub use testing::random_model;

/// Largest absolute difference between the outputs (amplitude, harmonics, noise) of a model and
/// of its int8 quantization, over the random models and inputs of `tests/int8.rs`.
pub const INT8_MAX_ABS_ERROR: f32 = 0.05;

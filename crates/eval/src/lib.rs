//! `timbre-eval`: how good a Tiny Timbre model is, in numbers (`cargo xtask eval`).
//!
//! For each model, on material it never trained on:
//! - **pitch fidelity**: the output's f0 against the input's (cents: median, and the share of
//!   voiced frames within 50 cents), for transfers from other instruments' held-out recordings
//!   and from a voice-like phrase with an exactly known f0 ([`voice`]);
//! - **loudness tracking**: the correlation of the output's loudness envelope with the
//!   input's;
//! - **resynthesis distance**: the multi-scale spectral distance ([`spectral`], the training
//!   loss) between a held-out recording of the model's own instrument and the model's
//!   resynthesis of it, against a flat-harmonic baseline ([`baseline`]) and, for the int8
//!   weights, against the f32 model;
//! - **timbre check**: the MFCC statistics ([`mfcc`]) of a transfer's output lie closer to the
//!   target instrument's recordings than to the source's.
//!
//! Everything runs through the engine exactly as the plugin does ([`timbre_engine::offline`]).

pub mod baseline;
pub mod data;
pub mod evaluate;
pub mod fidelity;
pub mod mfcc;
pub mod report;
pub mod spectral;
pub mod spectrogram;
pub mod voice;

use std::path::PathBuf;

pub use report::{evaluate_models, Report};

/// Why an evaluation could not run. Every message names what is missing or broken.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A dataset the evaluation needs has not been built.
    #[error("dataset `{name}` not found ({}); build it with `cargo xtask dataset {name}`", path.display())]
    MissingDataset {
        /// Dataset name.
        name: String,
        /// The manifest that was looked for.
        path: PathBuf,
    },
    /// A dataset manifest could not be read or parsed (the error names the file).
    #[error(transparent)]
    Manifest(#[from] timbre_dataset::DatasetError),
    /// A recording could not be decoded.
    #[error(transparent)]
    Audio(#[from] timbre_audio::AudioError),
    /// The engine refused the model or the rate.
    #[error(transparent)]
    Engine(#[from] timbre_engine::EngineError),
    /// Analysis or resampling failed.
    #[error("analysis failed: {0}")]
    Analysis(String),
    /// An output file could not be written.
    #[error("cannot write {}: {reason}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

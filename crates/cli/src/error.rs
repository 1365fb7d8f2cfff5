//! The CLI's error type: every way a command can fail, each with a message that names the
//! problem, and the exit status it maps to.

use thiserror::Error;
use timbre_dsp::resample::ResampleError;
use timbre_engine::EngineError;

use timbre_audio::AudioError;
use timbre_catalog::ModelError;

/// Why a command failed.
#[derive(Debug, Error)]
pub enum CliError {
    /// Reading the input or writing the output failed.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The model could not be found or loaded.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The engine refused the model or the rate.
    #[error("cannot render: {0}")]
    Engine(#[from] EngineError),
    /// The input could not be analysed (its rate is outside what the analysis takes).
    #[error("cannot analyse the input: {0}")]
    Analysis(timbre_dsp::analysis::AnalysisError),
    /// The input could not be resampled to a rate the engine runs at.
    #[error("cannot resample the input: {0}")]
    Resample(#[from] ResampleError),
    /// The input's sample rate is outside what can be resampled.
    #[error("the input's sample rate, {rate} Hz, is not supported: it must be {min} to {max} Hz")]
    UnsupportedRate {
        /// The input's rate.
        rate: u32,
        /// Lowest rate accepted.
        min: f64,
        /// Highest rate accepted.
        max: f64,
    },
    /// A parameter flag's value is outside its range.
    #[error("{flag} {value} is outside {min}..{max}")]
    ParamOutOfRange {
        /// The flag, e.g. `--semitones`.
        flag: String,
        /// The value given.
        value: f32,
        /// Smallest value allowed.
        min: f32,
        /// Largest value allowed.
        max: f32,
    },
    /// A parameter flag's value is NaN or infinite.
    #[error("{flag} {value} is not a finite number")]
    ParamNotFinite {
        /// The flag.
        flag: String,
        /// The value given.
        value: f32,
    },
    /// A whole-number parameter flag (semitones) got a fraction.
    #[error("{flag} {value} is not a whole number")]
    ParamNotWhole {
        /// The flag.
        flag: String,
        /// The value given.
        value: f32,
    },
}

impl CliError {
    /// The process exit status: 2 for a bad command line (like clap's own usage errors), 1 for
    /// everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::ParamOutOfRange { .. }
            | Self::ParamNotFinite { .. }
            | Self::ParamNotWhole { .. } => 2,
            _ => 1,
        }
    }
}

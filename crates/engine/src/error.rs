//! Why an engine or a voice could not be prepared.

use timbre_dsp::analysis::AnalysisError;
use timbre_dsp::resample::ResampleError;

/// Why the engine refused a host configuration or a model.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineError {
    /// The host sample rate is outside 22.05–192 kHz (or not finite).
    UnsupportedSampleRate(f64),
    /// The maximum block size is 0.
    InvalidBlockSize,
    /// The analysis could not be set up at this rate.
    Analysis(AnalysisError),
    /// The model's reverb IR could not be resampled to the host rate.
    ReverbResample(ResampleError),
    /// The model is valid but this engine cannot play it (the reason says why).
    UnsupportedModel(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnsupportedSampleRate(r) => {
                write!(
                    f,
                    "sample rate {r} Hz is not supported ({} to {} Hz)",
                    crate::MIN_SAMPLE_RATE,
                    crate::MAX_SAMPLE_RATE
                )
            }
            Self::InvalidBlockSize => write!(f, "the maximum block size must be at least 1"),
            Self::Analysis(e) => write!(f, "analysis: {e}"),
            Self::ReverbResample(e) => write!(f, "resampling the model's reverb: {e}"),
            Self::UnsupportedModel(why) => write!(f, "unsupported model: {why}"),
        }
    }
}

impl std::error::Error for EngineError {}

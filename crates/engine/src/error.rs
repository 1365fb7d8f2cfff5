//! Why an engine or a voice could not be prepared.

use timbre_dsp::analysis::AnalysisError;
use timbre_dsp::resample::ResampleError;

/// Why the engine refused a host configuration or a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The host sample rate is outside the engine's range (or not finite).
    #[error(
        "sample rate {rate} Hz is not supported ({min} to {max} Hz)",
        rate = .0,
        min = crate::MIN_SAMPLE_RATE,
        max = crate::MAX_SAMPLE_RATE
    )]
    UnsupportedSampleRate(f64),
    /// The maximum block size is 0.
    #[error("the maximum block size must be at least 1")]
    InvalidBlockSize,
    /// The analysis could not be set up at this rate.
    #[error("analysis: {0}")]
    Analysis(AnalysisError),
    /// The model's reverb IR could not be resampled to the host rate.
    #[error("resampling the model's reverb: {0}")]
    ReverbResample(ResampleError),
    /// The model is valid but this engine cannot play it (the reason says why).
    #[error("unsupported model: {0}")]
    UnsupportedModel(String),
}

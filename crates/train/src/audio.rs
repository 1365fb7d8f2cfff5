//! Reading audio files for the dataset (WAV, FLAC, MP3, OGG/Vorbis through symphonia, the same
//! decoders as the CLI) and writing mono WAVs (tests, evaluation renders).
//!
//! Decoding is `timbre-audio`'s, shared with the CLI; this module adds the dataset's stricter
//! policy and a mono WAV writer.

use std::path::Path;

pub use timbre_audio::{has_audio_extension, mix_to_mono, AUDIO_EXTENSIONS};

use crate::TrainError;

/// Decodes the whole file with the same reader as the CLI ([`timbre_audio::decode_file`]): one
/// vector per channel and the sample rate in Hz. A damaged packet is an error here (training
/// data must be whole), where the CLI only warns.
pub fn decode_file(path: &Path) -> Result<(Vec<Vec<f32>>, u32), TrainError> {
    let decoded = timbre_audio::decode_file(path)?;
    if !decoded.warnings.is_empty() {
        return Err(TrainError::DamagedAudio {
            warnings: decoded.warnings,
        });
    }
    Ok((decoded.channels, decoded.sample_rate))
}

/// Writes a mono 32-bit float WAV.
pub fn write_wav_mono(path: &Path, samples: &[f32], sample_rate: u32) -> Result<(), TrainError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let fail = |source| TrainError::Wav {
        path: path.to_path_buf(),
        source,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(fail)?;
    for &s in samples {
        w.write_sample(s).map_err(fail)?;
    }
    w.finalize().map_err(fail)
}

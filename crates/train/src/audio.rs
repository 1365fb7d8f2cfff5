//! Reading audio files for the dataset (WAV, FLAC, MP3, OGG/Vorbis through symphonia, the same
//! decoders as the CLI) and writing mono WAVs (tests, evaluation renders).
//!
//! Decoding is `timbre-audio`'s, shared with the CLI; this module adds the dataset's stricter
//! policy and a mono WAV writer.

use std::path::Path;

pub use timbre_audio::{has_audio_extension, mix_to_mono, AUDIO_EXTENSIONS};

/// Decodes the whole file with the same reader as the CLI ([`timbre_audio::decode_file`]): one
/// vector per channel and the sample rate in Hz. A damaged packet is an error here (training
/// data must be whole), where the CLI only warns.
pub fn decode_file(path: &Path) -> Result<(Vec<Vec<f32>>, u32), String> {
    let decoded = timbre_audio::decode_file(path).map_err(|e| e.to_string())?;
    if !decoded.warnings.is_empty() {
        return Err(format!("damaged audio: {}", decoded.warnings.join("; ")));
    }
    Ok((decoded.channels, decoded.sample_rate))
}

/// Writes a mono 32-bit float WAV.
pub fn write_wav_mono(path: &Path, samples: &[f32], sample_rate: u32) -> Result<(), String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w =
        hound::WavWriter::create(path, spec).map_err(|e| format!("{}: {e}", path.display()))?;
    for &s in samples {
        w.write_sample(s)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    w.finalize().map_err(|e| format!("{}: {e}", path.display()))
}

//! One clip's audio file in, analysis frames out, and the clip cache's binary files.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use timbre_audio::{decode_file, mix_to_mono, AudioError};
use timbre_dsp::analysis::{analyze_clip, AnalysisConfig, AnalysisError, Frame};
use timbre_dsp::offline::resample_clip;
use timbre_dsp::resample::ResampleError;

use crate::SAMPLE_RATE;

/// First bytes of a clip cache file.
const CLIP_MAGIC: &[u8; 8] = b"TTCLIP01";

/// Why one audio file or one clip cache file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    /// The audio file could not be decoded.
    #[error(transparent)]
    Decode(#[from] AudioError),
    /// The decoder recovered from damage in the file (listed).
    #[error("damaged audio: {0}")]
    Damaged(String),
    /// The audio's rate cannot be resampled.
    #[error("cannot resample: {0}")]
    Resample(#[from] ResampleError),
    /// The analysis refused the audio.
    #[error("analysis failed: {0}")]
    Analysis(#[from] AnalysisError),
    /// A cache file could not be read or written.
    #[error("clip cache file: {0}")]
    Io(#[from] std::io::Error),
    /// A cache file ends early or declares impossible lengths.
    #[error("truncated clip cache file")]
    Truncated,
    /// A cache file does not start with the clip magic.
    #[error("not a clip cache file")]
    NotAClip,
}

/// Decodes, mixes, resamples and analyses one file.
pub(crate) fn analyse_file(path: &Path) -> Result<(Vec<f32>, Vec<Frame>), ClipError> {
    let decoded = decode_file(path)?;
    if !decoded.warnings.is_empty() {
        return Err(ClipError::Damaged(decoded.warnings.join("; ")));
    }
    let mono = mix_to_mono(&decoded.channels);
    let audio = resample_clip(&mono, decoded.sample_rate as f64, SAMPLE_RATE as f64)?;
    let frames = analyze_clip(AnalysisConfig::default(), SAMPLE_RATE as f64, &audio)?;
    Ok((audio, frames))
}

/// Writes a clip's cache file (through a temporary file, so a crash leaves no half file).
pub(crate) fn write_clip(path: &Path, audio: &[f32], frames: &[Frame]) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(16 + 4 * audio.len() + 12 * frames.len() + 8);
    bytes.extend_from_slice(CLIP_MAGIC);
    bytes.extend_from_slice(&(audio.len() as u64).to_le_bytes());
    for s in audio {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    bytes.extend_from_slice(&(frames.len() as u64).to_le_bytes());
    for f in frames {
        for v in [f.f0_hz, f.confidence, f.loudness_db] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    let tmp = path.with_extension("tmp");
    fs::File::create(&tmp)?.write_all(&bytes)?;
    fs::rename(tmp, path)
}

/// Reads a clip's cache file back.
pub(crate) fn read_clip(path: &Path) -> Result<(Vec<f32>, Vec<Frame>), ClipError> {
    let mut bytes = Vec::new();
    fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))?;
    let mut pos = 0usize;
    let mut take = |n: usize| -> Result<&[u8], ClipError> {
        let s = bytes.get(pos..pos + n).ok_or(ClipError::Truncated)?;
        pos += n;
        Ok(s)
    };
    if take(8)? != CLIP_MAGIC {
        return Err(ClipError::NotAClip);
    }
    let f32_at = |b: &[u8]| f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let n = u64::from_le_bytes(take(8)?.try_into().unwrap()) as usize;
    let audio: Vec<f32> = take(n.checked_mul(4).ok_or(ClipError::Truncated)?)?
        .chunks_exact(4)
        .map(f32_at)
        .collect();
    let m = u64::from_le_bytes(take(8)?.try_into().unwrap()) as usize;
    let frames = take(m.checked_mul(12).ok_or(ClipError::Truncated)?)?
        .chunks_exact(12)
        .map(|c| Frame {
            f0_hz: f32_at(&c[0..4]),
            confidence: f32_at(&c[4..8]),
            loudness_db: f32_at(&c[8..12]),
        })
        .collect();
    Ok((audio, frames))
}

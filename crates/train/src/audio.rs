//! Reading audio files for the dataset (WAV, FLAC, MP3, OGG/Vorbis through symphonia, the same
//! decoders as the CLI) and writing mono WAVs (tests, evaluation renders).
//!
//! The CLI's reader lives in a binary-only crate, so this is a small reader of our own. It
//! returns planar `f32` and the file's rate; the dataset mixes to mono and resamples.

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// File extensions the dataset treats as audio (lower case).
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "wave", "flac", "mp3", "ogg", "oga"];

/// Whether `path` has one of [`AUDIO_EXTENSIONS`] (case-insensitive).
pub fn has_audio_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Decodes the whole file: one vector per channel (all the same length, finite values in about
/// `-1..1`) and the sample rate in Hz. The error is a sentence without the file name (the
/// caller names the file). A damaged packet is an error too: training data must be whole.
pub fn decode_file(path: &Path) -> Result<(Vec<Vec<f32>>, u32), String> {
    let file = File::open(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => "file not found".to_string(),
        _ => format!("cannot open: {e}"),
    })?;
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if meta.is_dir() {
        return Err("it is a folder, not a file".into());
    }
    if meta.len() == 0 {
        return Err("empty file (0 bytes)".into());
    }
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| format!("not a supported audio file ({})", describe(&e)))?;
    let track = format
        .default_track(TrackType::Audio)
        .or_else(|| {
            format
                .tracks()
                .iter()
                .find(|t| t.codec_params.as_ref().is_some_and(|c| c.is_audio()))
        })
        .ok_or("no audio track")?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|c| c.audio())
        .ok_or("no audio codec parameters")?
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| format!("unsupported codec ({})", describe(&e)))?;
    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut rate = 0u32;
    let mut scratch: Vec<Vec<f32>> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(SymphoniaError::ResetRequired) => break,
            Err(e) => return Err(format!("damaged file ({})", describe(&e))),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buffer = decoder
            .decode(&packet)
            .map_err(|e| format!("damaged audio ({})", describe(&e)))?;
        let spec = buffer.spec();
        let count = spec.channels().count();
        if channels.is_empty() {
            if count == 0 || spec.rate() == 0 {
                return Err(format!(
                    "unusable stream: {count} channels at {} Hz",
                    spec.rate()
                ));
            }
            rate = spec.rate();
            channels = vec![Vec::new(); count];
        } else if count != channels.len() || spec.rate() != rate {
            return Err("the stream changes its channel count or rate mid-file".into());
        }
        buffer.copy_to_vecs_planar::<f32>(&mut scratch);
        for (dst, src) in channels.iter_mut().zip(&scratch) {
            dst.extend_from_slice(src);
        }
    }
    if channels.first().is_none_or(Vec::is_empty) {
        return Err("contains no audio (0 samples)".into());
    }
    for ch in &mut channels {
        for x in ch.iter_mut() {
            if !x.is_finite() {
                *x = 0.0;
            }
        }
    }
    Ok((channels, rate))
}

/// The mean of the channels.
pub fn mix_to_mono(channels: &[Vec<f32>]) -> Vec<f32> {
    let n = channels.iter().map(Vec::len).min().unwrap_or(0);
    let scale = 1.0 / channels.len().max(1) as f32;
    (0..n)
        .map(|i| channels.iter().map(|c| c[i]).sum::<f32>() * scale)
        .collect()
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

/// symphonia's error in words.
fn describe(e: &SymphoniaError) -> String {
    match e {
        SymphoniaError::Unsupported(what) => format!("unsupported: {what}"),
        SymphoniaError::IoError(io) if io.kind() == ErrorKind::UnexpectedEof => {
            "the file ends unexpectedly".into()
        }
        other => other.to_string(),
    }
}

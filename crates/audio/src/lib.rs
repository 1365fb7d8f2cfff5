//! Reading audio files (WAV, FLAC, MP3, OGG/Vorbis, through symphonia) into planar `f32`, and
//! writing the rendered result as a stereo 32-bit float WAV (through hound). Shared by the
//! `tiny-timbre` CLI and the trainer's dataset builder, so both read files the same way.
//!
//! Decoding is gapless: symphonia trims the encoder delay and padding that MP3 (from the LAME
//! tag) and Vorbis (from the granule positions) declare, so a decoded file has the length of
//! the audio that was encoded. An MP3 without a LAME/Xing tag has no such information, and
//! keeps the decoder's delay (529 samples) and the padding up to the last whole MP3 frame (the
//! 1 s test melody encoded with `lame -t` decodes to 46,083 frames instead of 44,100). The
//! committed MP3 fixture has a LAME tag and decodes to its exact length.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use thiserror::Error;

/// File extensions treated as audio (lower case).
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "wave", "flac", "mp3", "ogg", "oga"];

/// Whether `path` has one of [`AUDIO_EXTENSIONS`] (case-insensitive).
pub fn has_audio_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// A decoded audio file: one `Vec` per channel, all the same length.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// The samples, one vector per channel, in `-1..1` full scale.
    pub channels: Vec<Vec<f32>>,
    /// The file's sample rate in Hz.
    pub sample_rate: u32,
    /// Problems that did not stop decoding (skipped damaged packets, a truncated end).
    pub warnings: Vec<String>,
}

impl Decoded {
    /// Number of sample frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }
}

/// Why an audio file could not be read or written. Every message names the file.
#[derive(Debug, Error)]
pub enum AudioError {
    /// The input file does not exist.
    #[error("input file not found: {}", .0.display())]
    NotFound(PathBuf),
    /// The input exists but cannot be read (permissions, a folder...).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file has no bytes at all.
    #[error("{} is empty (0 bytes)", .0.display())]
    EmptyFile(PathBuf),
    /// The bytes are not audio in a format this build decodes.
    #[error("not a supported audio file: {} ({reason}); supported: WAV, FLAC, MP3, OGG/Vorbis", path.display())]
    NotAudio {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The file decodes but holds no samples.
    #[error("{} contains no audio (0 samples)", .0.display())]
    NoSamples(PathBuf),
    /// The stream's channel count or rate is unusable.
    #[error("{}: {reason}", path.display())]
    BadStream {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The output could not be written.
    #[error("cannot write {}: {reason}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Decodes the whole file at `path` (format detected from the content, the extension a hint).
pub fn decode_file(path: &Path) -> Result<Decoded, AudioError> {
    let file = File::open(path).map_err(|source| match source.kind() {
        ErrorKind::NotFound => AudioError::NotFound(path.to_path_buf()),
        _ => AudioError::Read {
            path: path.to_path_buf(),
            source,
        },
    })?;
    let meta = file.metadata().map_err(|source| AudioError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_dir() {
        return Err(AudioError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::other("it is a folder, not a file"),
        });
    }
    if meta.len() == 0 {
        return Err(AudioError::EmptyFile(path.to_path_buf()));
    }
    decode_source(
        MediaSourceStream::new(Box::new(file), Default::default()),
        path,
    )
}

/// Decodes from an open media stream; `path` names it in errors and gives the extension hint.
fn decode_source(mss: MediaSourceStream<'_>, path: &Path) -> Result<Decoded, AudioError> {
    let not_audio = |reason: String| AudioError::NotAudio {
        path: path.to_path_buf(),
        reason,
    };
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
        .map_err(|e| not_audio(describe(&e)))?;
    let track = format
        .default_track(TrackType::Audio)
        .or_else(|| {
            format
                .tracks()
                .iter()
                .find(|t| t.codec_params.as_ref().is_some_and(|c| c.is_audio()))
        })
        .ok_or_else(|| not_audio("no audio track".into()))?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|c| c.audio())
        .ok_or_else(|| not_audio("no audio codec parameters".into()))?
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| not_audio(describe(&e)))?;

    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut sample_rate = 0u32;
    let mut scratch: Vec<Vec<f32>> = Vec::new();
    let mut skipped = 0usize;
    let mut warnings = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // Some readers report the end of the stream as an unexpected EOF.
            Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(SymphoniaError::ResetRequired) => {
                // A new logical stream (chained OGG): only the first one is decoded.
                warnings.push(
                    "the file holds several chained streams; only the first one was decoded".into(),
                );
                break;
            }
            Err(e) if channels.first().is_some_and(|c| !c.is_empty()) => {
                warnings.push(format!(
                    "decoding stopped early at a damaged part of the file: {}",
                    describe(&e)
                ));
                break;
            }
            Err(e) => return Err(not_audio(describe(&e))),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            Err(SymphoniaError::DecodeError(_)) | Err(SymphoniaError::IoError(_)) => {
                skipped += 1;
                continue;
            }
            Err(e) => return Err(not_audio(describe(&e))),
        };
        let spec = buffer.spec();
        let count = spec.channels().count();
        if channels.is_empty() {
            if count == 0 {
                return Err(AudioError::BadStream {
                    path: path.to_path_buf(),
                    reason: "the audio has 0 channels".into(),
                });
            }
            if spec.rate() == 0 {
                return Err(AudioError::BadStream {
                    path: path.to_path_buf(),
                    reason: "the sample rate is 0 Hz".into(),
                });
            }
            sample_rate = spec.rate();
            channels = vec![Vec::new(); count];
        } else if count != channels.len() || spec.rate() != sample_rate {
            return Err(AudioError::BadStream {
                path: path.to_path_buf(),
                reason: format!(
                    "the stream changes from {} channels at {sample_rate} Hz to {count} channels at {} Hz mid-file",
                    channels.len(),
                    spec.rate()
                ),
            });
        }
        buffer.copy_to_vecs_planar::<f32>(&mut scratch);
        for (dst, src) in channels.iter_mut().zip(&scratch) {
            dst.extend_from_slice(src);
        }
    }
    if skipped > 0 {
        warnings.push(format!("skipped {skipped} damaged packet(s)"));
    }
    if channels.first().is_none_or(Vec::is_empty) {
        if skipped > 0 {
            return Err(not_audio(format!(
                "none of its {skipped} packets could be decoded"
            )));
        }
        return Err(AudioError::NoSamples(path.to_path_buf()));
    }
    // Sanitize: decoders emit finite values, but a float WAV may hold anything.
    for ch in &mut channels {
        for x in ch.iter_mut() {
            if !x.is_finite() {
                *x = 0.0;
            }
        }
    }
    Ok(Decoded {
        channels,
        sample_rate,
        warnings,
    })
}

/// symphonia's error in words (its `Display` for an unknown format is terse).
fn describe(e: &SymphoniaError) -> String {
    match e {
        SymphoniaError::Unsupported(what) => format!("unsupported: {what}"),
        SymphoniaError::IoError(io) if io.kind() == ErrorKind::UnexpectedEof => {
            "the file ends unexpectedly".into()
        }
        other => other.to_string(),
    }
}

/// The mean of the channels, over the shortest channel's length: the mono mix the trainer and
/// the evaluation analyse.
pub fn mix_to_mono(channels: &[Vec<f32>]) -> Vec<f32> {
    let n = channels.iter().map(Vec::len).min().unwrap_or(0);
    let scale = 1.0 / channels.len().max(1) as f32;
    (0..n)
        .map(|i| channels.iter().map(|c| c[i]).sum::<f32>() * scale)
        .collect()
}

/// Writes `left` and `right` (the same length) as a stereo 32-bit IEEE float WAV at
/// `sample_rate`. Float keeps the engine's headroom (its output may exceed 0 dBFS, up to
/// +12 dBFS, with a high `--gain`) without clipping or dithering. A partial file is removed on
/// error.
pub fn write_wav(
    path: &Path,
    left: &[f32],
    right: &[f32],
    sample_rate: u32,
) -> Result<(), AudioError> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let fail = |e: hound::Error| AudioError::Write {
        path: path.to_path_buf(),
        reason: describe_hound(e),
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(fail)?;
    let result = (|| {
        for (&l, &r) in left.iter().zip(right) {
            writer.write_sample(l)?;
            writer.write_sample(r)?;
        }
        writer.finalize()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(path);
        return Err(fail(e));
    }
    Ok(())
}

/// hound's error in words, with the OS error for I/O failures.
fn describe_hound(e: hound::Error) -> String {
    match e {
        hound::Error::IoError(io) => match io.kind() {
            ErrorKind::NotFound => "the folder does not exist".into(),
            ErrorKind::PermissionDenied => "permission denied".into(),
            _ => io.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../cli/tests/fixtures")
            .join(name)
    }

    #[test]
    fn mono_mix_is_the_mean_over_the_shortest_channel() {
        let mono = mix_to_mono(&[vec![1.0, 0.5, 0.25], vec![-1.0, 0.5]]);
        assert_eq!(mono, vec![0.0, 0.5]);
        assert_eq!(mix_to_mono(&[vec![0.3, -0.6]]), vec![0.3, -0.6]);
        assert!(mix_to_mono(&[]).is_empty());
    }

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tiny-timbre-audio-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    /// The committed fixtures decode to their documented rate, channels and length (see
    /// `tests/fixtures/README.md`), with audible, finite content.
    #[test]
    fn fixtures_decode_exactly() {
        for (file, rate, channels, frames) in [
            ("melody.flac", 22_050, 2, 13_230),
            ("melody.mp3", 44_100, 1, 44_100),
            ("melody.ogg", 48_000, 2, 48_000),
        ] {
            let d = decode_file(&fixture(file)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(d.sample_rate, rate, "{file}");
            assert_eq!(d.channels.len(), channels, "{file}");
            assert_eq!(d.frames(), frames, "{file}");
            assert!(d.warnings.is_empty(), "{file}: {:?}", d.warnings);
            for ch in &d.channels {
                assert_eq!(ch.len(), frames);
                let peak = ch.iter().fold(0.0f32, |p, x| p.max(x.abs()));
                assert!(peak > 0.1 && peak < 1.5, "{file}: peak {peak}");
            }
        }
    }

    #[test]
    fn wav_round_trip_is_exact_in_float() {
        let path = tmp("round_trip.wav");
        let left: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin()).collect();
        let right: Vec<f32> = left.iter().map(|x| -x * 2.0).collect();
        write_wav(&path, &left, &right, 32_000).unwrap();
        let d = decode_file(&path).unwrap();
        assert_eq!(d.sample_rate, 32_000);
        assert_eq!(d.channels, vec![left, right]);
        let spec = hound::WavReader::open(&path).unwrap().spec();
        assert_eq!(
            (spec.channels, spec.bits_per_sample, spec.sample_format),
            (2, 32, hound::SampleFormat::Float)
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let missing = decode_file(Path::new("/no/such/file.wav")).unwrap_err();
        assert!(matches!(missing, AudioError::NotFound(_)), "{missing}");
        let empty = tmp("empty.wav");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(
            decode_file(&empty).unwrap_err(),
            AudioError::EmptyFile(_)
        ));
        let text = tmp("text.wav");
        std::fs::write(&text, "this is not audio, just some text\n".repeat(20)).unwrap();
        let e = decode_file(&text).unwrap_err();
        assert!(
            e.to_string().starts_with("not a supported audio file"),
            "{e}"
        );
        let zero = tmp("zero.wav");
        write_wav(&zero, &[], &[], 44_100).unwrap();
        assert!(matches!(
            decode_file(&zero).unwrap_err(),
            AudioError::NoSamples(_)
        ));
        let e = write_wav(Path::new("/no/such/dir/out.wav"), &[0.0], &[0.0], 44_100).unwrap_err();
        assert!(e.to_string().contains("/no/such/dir/out.wav"), "{e}");
    }
}

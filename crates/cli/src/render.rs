//! `tiny-timbre render`: decode, (resample,) render through the engine, write a WAV.
//!
//! # Sample rates
//! The engine runs at 1 kHz–2 MHz, but below 22.05 kHz it must drop the instrument's upper
//! harmonics. An input from 22.05 kHz up is rendered and written at its own rate, so the
//! output has exactly the input's length. An input below it (8 kHz or 16 kHz speech, say) is
//! resampled to 48 kHz first; the output is then written at 48 kHz, with
//! `round(frames · new / old)` frames, and a note on stderr says so. Resampling up loses nothing
//! the model needs (it analyses at 16 kHz) and the instrument is synthesized at the full 48 kHz
//! band. Rates below 1 kHz or above 2 MHz are refused.
//!
//! # Channels
//! Any channel count is accepted; the engine mixes all channels to mono (an equal-weight
//! average) before analysis, and the output is always stereo.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use timbre_dsp::offline::resample_clip;
use timbre_dsp::resample::{MAX_RATE_HZ, MIN_RATE_HZ};
use timbre_engine::offline::render_morph;
use timbre_engine::params::{ParamSpec, Params};

use crate::error::CliError;
use timbre_audio::{decode_file, write_wav, AudioError, Decoded};
use timbre_catalog as models;

/// Rate that inputs below [`FULL_BAND_MIN_RATE_HZ`] are resampled to, in Hz.
pub const LOW_RATE_TARGET_HZ: u32 = 48_000;
/// Lowest input rate rendered at its own rate, in Hz. The engine runs down to
/// [`timbre_engine::MIN_SAMPLE_RATE`], but below 22.05 kHz it must drop the instrument's upper harmonics
/// (above the output's Nyquist frequency), so a file is better rendered at 48 kHz.
pub const FULL_BAND_MIN_RATE_HZ: f64 = 22_050.0;

/// Inputs longer than this (in seconds) get a progress bar (when stderr is a terminal).
pub const PROGRESS_MIN_SECONDS: f64 = 3.0;

/// What to render.
#[derive(Clone, Debug)]
pub struct RenderRequest {
    /// The input audio file.
    pub input: PathBuf,
    /// The WAV file to write.
    pub output: PathBuf,
    /// `--model`: an embedded name, a user-folder name or a path.
    pub model: String,
    /// `--morph-to`: model B of a morph, named the same ways.
    pub morph_to: Option<String>,
    /// Engine parameters, already validated.
    pub params: Params,
}

/// What happened, for the summary line.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderReport {
    /// Duration of the rendered audio in seconds.
    pub audio_s: f64,
    /// Wall time of resampling plus rendering (not decoding or writing), in seconds.
    pub wall_s: f64,
    /// The model's display name.
    pub model_name: String,
    /// The file written.
    pub output: PathBuf,
    /// The input's sample rate.
    pub input_rate: u32,
    /// The rate rendered and written at.
    pub output_rate: u32,
    /// Frames written.
    pub frames: usize,
    /// Notes and warnings for stderr (resampling, decoder warnings, extension).
    pub notes: Vec<String>,
}

impl RenderReport {
    /// Audio seconds per wall second.
    pub fn realtime_factor(&self) -> f64 {
        self.audio_s / self.wall_s.max(1e-9)
    }

    /// The summary line, e.g.
    /// `rendered 12.3 s in 0.05 s (246x real-time) with "Violin" → out.wav`.
    pub fn summary(&self) -> String {
        let factor = self.realtime_factor();
        let digits = if factor < 10.0 { 1 } else { 0 };
        format!(
            "rendered {:.1} s in {:.2} s ({factor:.digits$}x real-time) with \"{}\" → {}",
            self.audio_s,
            self.wall_s,
            self.model_name,
            self.output.display()
        )
    }
}

/// Checks a flag's value against its parameter's range (see [`timbre_engine::params::ALL`]):
/// out of range or non-finite is an error naming the flag and the range.
pub fn check_param(spec: &ParamSpec, value: f32) -> Result<f32, CliError> {
    check_range(flag_name(spec), value, spec.min, spec.max)
}

/// Checks the value of flag `flag` against `min..=max`: out of range or non-finite is an
/// error naming the flag and the range.
pub fn check_range(flag: String, value: f32, min: f32, max: f32) -> Result<f32, CliError> {
    if !value.is_finite() {
        return Err(CliError::ParamNotFinite { flag, value });
    }
    if !(min..=max).contains(&value) {
        return Err(CliError::ParamOutOfRange {
            flag,
            value,
            min,
            max,
        });
    }
    Ok(value)
}

/// The CLI flag of a parameter: `--` plus its id with `-` for `_`.
pub fn flag_name(spec: &ParamSpec) -> String {
    format!("--{}", spec.id.replace('_', "-"))
}

/// The rate the engine renders an input of `input_rate` Hz at (see the module docs), or the
/// error for rates that cannot be resampled.
pub fn render_rate(input_rate: u32) -> Result<u32, CliError> {
    let rate = f64::from(input_rate);
    if !(MIN_RATE_HZ..=MAX_RATE_HZ).contains(&rate) {
        return Err(CliError::UnsupportedRate {
            rate: input_rate,
            min: MIN_RATE_HZ,
            max: MAX_RATE_HZ,
        });
    }
    Ok(if rate < FULL_BAND_MIN_RATE_HZ {
        LOW_RATE_TARGET_HZ
    } else {
        input_rate
    })
}

/// Runs the whole render: checks the output folder, loads the model, decodes, resamples if
/// needed, renders (with a progress bar on long files when stderr is a terminal) and writes.
pub fn render_file(req: &RenderRequest) -> Result<RenderReport, CliError> {
    let mut notes = Vec::new();
    check_output(&req.output)?;
    if !req
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
    {
        notes.push(format!(
            "note: {} does not end in .wav; writing a WAV file anyway",
            req.output.display()
        ));
    }
    // The model first: a typo in --model should not wait for a long file to decode.
    let (model, _source) = models::resolve(&req.model)?;
    let morph_to = match &req.morph_to {
        Some(name) => Some(models::resolve(name)?.0),
        None => {
            if req.params.morph > 0.0 {
                notes.push("note: --morph has no effect without --morph-to".into());
            }
            None
        }
    };
    let model_name = match &morph_to {
        Some(b) => format!(
            "{}\" morphed {:.0}% toward \"{}",
            model.metadata().name,
            req.params.morph * 100.0,
            b.metadata().name
        ),
        None => model.metadata().name.clone(),
    };
    let decoded = decode_file(&req.input)?;
    notes.extend(
        decoded
            .warnings
            .iter()
            .map(|w| format!("warning: {}: {w}", req.input.display())),
    );

    let input_rate = decoded.sample_rate;
    let rate = render_rate(input_rate)?;
    let start = Instant::now();
    let channels = if rate == input_rate {
        decoded.channels
    } else {
        notes.push(format!(
            "note: the input is at {input_rate} Hz, below the {FULL_BAND_MIN_RATE_HZ} Hz that \
             the instrument's full band needs; resampled to {rate} Hz, and the output is \
             written at {rate} Hz"
        ));
        vec![resample_mono(&decoded, rate)?]
    };
    let frames = channels.first().map_or(0, Vec::len);
    let audio_s = frames as f64 / f64::from(rate);

    let bar = progress_bar(audio_s, frames);
    let rendered = render_morph(
        &model,
        morph_to.as_ref(),
        &req.params,
        &channels,
        f64::from(rate),
        |done, _total| {
            if let Some(bar) = &bar {
                bar.set_position(done as u64);
            }
        },
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let rendered = rendered?;
    let wall_s = start.elapsed().as_secs_f64();

    write_wav(&req.output, &rendered.left, &rendered.right, rate)?;
    Ok(RenderReport {
        audio_s,
        wall_s,
        model_name,
        output: req.output.clone(),
        input_rate,
        output_rate: rate,
        frames: rendered.left.len(),
        notes,
    })
}

/// Fails early (before decoding and rendering) when the output cannot be a file: it is a
/// folder, or its folder does not exist.
fn check_output(output: &Path) -> Result<(), CliError> {
    let write_error = |reason: String| {
        CliError::Audio(AudioError::Write {
            path: output.to_path_buf(),
            reason,
        })
    };
    if output.is_dir() {
        return Err(write_error("it is a folder".into()));
    }
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            return Err(write_error(format!(
                "the folder {} does not exist",
                parent.display()
            )));
        }
    }
    Ok(())
}

/// The decoded channels mixed to mono, as the engine mixes them (an equal-weight average).
pub fn mono_mix(decoded: &Decoded) -> Vec<f32> {
    let n = decoded.frames();
    let scale = 1.0 / decoded.channels.len().max(1) as f32;
    let mut mono = vec![0.0f32; n];
    for ch in &decoded.channels {
        for (m, &x) in mono.iter_mut().zip(ch) {
            *m += x * scale;
        }
    }
    mono
}

/// Mixes the decoded channels to mono (what the engine does anyway) and resamples to `rate`.
fn resample_mono(decoded: &Decoded, rate: u32) -> Result<Vec<f32>, CliError> {
    Ok(resample_clip(
        &mono_mix(decoded),
        f64::from(decoded.sample_rate),
        f64::from(rate),
    )?)
}

/// A progress bar on stderr for clips longer than [`PROGRESS_MIN_SECONDS`], or `None` when the
/// clip is short or stderr is not a terminal.
fn progress_bar(audio_s: f64, frames: usize) -> Option<ProgressBar> {
    if audio_s <= PROGRESS_MIN_SECONDS || !std::io::stderr().is_terminal() {
        return None;
    }
    let style = ProgressStyle::with_template(
        "rendering [{bar:40}] {percent:>3}%  {elapsed} elapsed, {eta} left",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::with_draw_target(Some(frames as u64), ProgressDrawTarget::stderr());
    bar.set_style(style);
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use timbre_engine::params::{ALL, GATE, SEMITONES};

    #[test]
    fn rates_inside_the_engine_range_are_kept() {
        for r in [22_050, 44_100, 48_000, 96_000, 192_000] {
            assert_eq!(render_rate(r).unwrap(), r);
        }
        assert_eq!(render_rate(8_000).unwrap(), 48_000);
        assert_eq!(render_rate(16_000).unwrap(), 48_000);
        assert_eq!(render_rate(384_000).unwrap(), 384_000);
        assert_eq!(render_rate(768_000).unwrap(), 768_000);
        assert_eq!(render_rate(4_000).unwrap(), 48_000);
        let e = render_rate(800).unwrap_err().to_string();
        assert!(e.contains("800 Hz"), "{e}");
        assert!(render_rate(3_000_000).is_err());
    }

    #[test]
    fn params_out_of_range_name_the_flag_and_range() {
        assert_eq!(check_param(&SEMITONES, 24.0).unwrap(), 24.0);
        let e = check_param(&SEMITONES, 30.0).unwrap_err();
        assert_eq!(e.to_string(), "--semitones 30 is outside -24..24");
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            check_param(&GATE, 1.5).unwrap_err().to_string(),
            "--gate 1.5 is outside 0..1"
        );
        assert!(check_param(&GATE, f32::NAN)
            .unwrap_err()
            .to_string()
            .contains("not a finite number"));
        let flags: Vec<String> = ALL.iter().map(flag_name).collect();
        assert!(
            flags.contains(&"--harmonic-gain".to_string())
                && flags.contains(&"--auto-adjust".to_string())
        );
    }

    #[test]
    fn summary_line() {
        let r = RenderReport {
            audio_s: 12.3,
            wall_s: 0.05,
            model_name: "Violin".into(),
            output: "out.wav".into(),
            input_rate: 44_100,
            output_rate: 44_100,
            frames: 0,
            notes: vec![],
        };
        assert_eq!(
            r.summary(),
            "rendered 12.3 s in 0.05 s (246x real-time) with \"Violin\" → out.wav"
        );
    }
}

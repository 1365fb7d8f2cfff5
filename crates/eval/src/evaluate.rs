//! The evaluation of one model: resynthesis of its own held-out recordings, and transfers from
//! other instruments' held-out recordings and from the voice-like phrase.

use timbre_dsp::analysis::{analyze_clip, AnalysisConfig, Analyzer, Frame};
use timbre_dsp::offline::resample_clip;
use timbre_engine::offline::render;
use timbre_engine::Params;
use timbre_model::features::hz_to_midi;
use timbre_model::ModelFile;

use crate::baseline::flat_harmonic;
use crate::data::Recording;
use crate::fidelity::{
    correlation, lagged_loudness_pairs, loudness_pairs, pitch_errors, summarize, PitchFidelity,
};
use crate::mfcc::{TimbreStats, MFCC_RATE};
use crate::spectral::spectral_distance;
use crate::voice::Phrase;
use crate::EvalError;

/// Input frames count as voiced at or above this confidence (the engine's pitch trust until
/// 2026-12-07; kept when the engine's grew stricter, so the frames evaluated did not shrink).
pub const VOICED_CONFIDENCE: f32 = 0.7;
/// Input frames quieter than this (A-weighted dB) are not voiced.
pub const VOICED_LOUDNESS_DB: f32 = -60.0;
/// Resynthesis is compared over the loud part of a recording: from the first to the last
/// frame above this (A-weighted dB), as the trainer trims its clips.
pub const TRIM_DB: f32 = -60.0;
/// Largest lag (frames, 4 ms each) searched for the loudness-envelope lag diagnostic.
pub const MAX_LAG_FRAMES: isize = 10;
/// Frames kept on each side of the loud part (0.1 s), as the trainer.
pub const TRIM_MARGIN_FRAMES: usize = 25;

/// The engine settings of a transfer: no room (which would smear the pitch and the loudness
/// envelope; the model's body still plays, see `timbre_engine::ir`), no auto-adjust, and an
/// octave shift and a lowest note chosen per clip ([`octave_shift`], [`lowest_note_for`]).
pub fn transfer_params(octaves: i32, lowest_note_hz: f32) -> Params {
    Params {
        semitones: 12.0 * octaves as f32,
        lowest_note_hz,
        auto_adjust: false,
        reverb_percent: 0.0,
        ..Params::default()
    }
}

/// The engine settings of a resynthesis: the model as trained. Training hears `dry + dry∗ir`;
/// the engine plays that sum 6 dB down at 50% (`timbre_engine::voice::stereo_mix`), so +6 dB
/// of output gain restores it.
pub fn resynthesis_params() -> Params {
    Params {
        auto_adjust: false,
        reverb_percent: 50.0,
        output_gain_db: 20.0 * 2f32.log10(),
        ..Params::default()
    }
}

/// A source clip for transfers.
#[derive(Clone, Debug)]
pub struct Source {
    /// Name shown in the table (instrument or "voice").
    pub instrument: String,
    /// Clip name.
    pub name: String,
    /// Mono samples.
    pub samples: Vec<f32>,
    /// Sample rate in Hz.
    pub sample_rate: f64,
    /// The exact f0 of a synthesized source; recordings use their analysed f0.
    pub known_f0: Option<Phrase>,
}

impl Source {
    /// A held-out recording as a source.
    pub fn recording(instrument: &str, r: &Recording) -> Self {
        Self {
            instrument: instrument.to_string(),
            name: r.name.clone(),
            samples: r.samples.clone(),
            sample_rate: r.sample_rate,
            known_f0: None,
        }
    }

    /// The voice-like phrase rendered at `sample_rate`.
    pub fn voice(sample_rate: f64) -> Self {
        let phrase = Phrase::bundled();
        Self {
            instrument: "voice".to_string(),
            name: "bundled phrase".to_string(),
            samples: phrase.render(sample_rate),
            sample_rate,
            known_f0: Some(phrase),
        }
    }
}

/// The analysis frames of a clip and the time (s) each is centred on.
fn analyse(samples: &[f32], rate: f64) -> Result<(Vec<Frame>, Vec<f64>), EvalError> {
    let config = AnalysisConfig::default();
    let frames =
        analyze_clip(config, rate, samples).map_err(|e| EvalError::Analysis(format!("{e:?}")))?;
    let latency = Analyzer::new(config, rate)
        .map_err(|e| EvalError::Analysis(format!("{e:?}")))?
        .latency_seconds();
    let times = (0..frames.len())
        .map(|i| (i + 1) as f64 / config.frame_rate() - latency)
        .collect();
    Ok((frames, times))
}

/// Octaves that bring the clip's median voiced pitch closest to the model's mean pitch, within
/// the pitch-shift knob's range (±2 octaves), as a musician would set it.
pub fn octave_shift(frames: &[Frame], model_mean_midi: f32) -> i32 {
    let pitches = voiced_pitches_hz(frames);
    if pitches.is_empty() {
        return 0;
    }
    let median = hz_to_midi(pitches[pitches.len() / 2]);
    let limit = (timbre_engine::params::SEMITONES.max / 12.0).floor() as i32;
    (((model_mean_midi - median) / 12.0).round() as i32).clamp(-limit, limit)
}

/// The f0 (Hz) of a clip's voiced frames, lowest first.
fn voiced_pitches_hz(frames: &[Frame]) -> Vec<f32> {
    let mut pitches: Vec<f32> = frames
        .iter()
        .filter(|f| f.confidence >= VOICED_CONFIDENCE && f.loudness_db > VOICED_LOUDNESS_DB)
        .map(|f| f.f0_hz)
        .collect();
    pitches.sort_by(f32::total_cmp);
    pitches
}

/// The Lowest note a musician would set for a clip: the default (100 Hz) when its notes stay
/// above it, otherwise a whole Hz under its lowest note (the 2nd percentile of its voiced
/// pitches, so a stray octave error does not count), no lower than the knob goes. The cello's
/// held-out notes reach F2 (87 Hz), which the default window does not track.
pub fn lowest_note_for(frames: &[Frame]) -> f32 {
    let knob = &timbre_engine::params::LOWEST_NOTE;
    let pitches = voiced_pitches_hz(frames);
    if pitches.is_empty() {
        return knob.default;
    }
    let lowest = pitches[pitches.len() / 50];
    (lowest * 0.95).floor().clamp(knob.min, knob.default)
}

/// One transfer's raw measurements.
#[derive(Clone, Debug)]
pub struct Transfer {
    /// Absolute pitch errors (cents) over the voiced frames.
    pub pitch_errors: Vec<f32>,
    /// The input's loudness per frame (dB).
    pub input_loudness: Vec<f32>,
    /// The output's loudness per frame (dB), aligned with the input's.
    pub output_loudness: Vec<f32>,
    /// The output at 16 kHz.
    pub output_16k: Vec<f32>,
    /// The input at 16 kHz.
    pub input_16k: Vec<f32>,
    /// The octave shift used.
    pub octaves: i32,
}

/// Transfers `source` through `model`.
pub fn transfer(model: &ModelFile, source: &Source) -> Result<Transfer, EvalError> {
    let rate = source.sample_rate;
    let (input_frames, times) = analyse(&source.samples, rate)?;
    let octaves = octave_shift(&input_frames, model.metadata().dataset.pitch_mean_midi);
    let rendered = render(
        model,
        &transfer_params(octaves, lowest_note_for(&input_frames)),
        std::slice::from_ref(&source.samples),
        rate,
        |_, _| {},
    )?;
    let (output_frames, _) = analyse(&rendered.left, rate)?;
    let factor = 2f32.powi(octaves);
    let (expected, voiced): (Vec<f32>, Vec<bool>) = match &source.known_f0 {
        Some(phrase) => times
            .iter()
            .map(|&t| {
                let f = phrase.f0_at(t as f32);
                (f * factor, f > 0.0)
            })
            .unzip(),
        None => input_frames
            .iter()
            .map(|f| {
                let voiced =
                    f.confidence >= VOICED_CONFIDENCE && f.loudness_db > VOICED_LOUDNESS_DB;
                (f.f0_hz * factor, voiced)
            })
            .unzip(),
    };
    Ok(Transfer {
        pitch_errors: pitch_errors(&expected, &voiced, &output_frames),
        input_loudness: input_frames.iter().map(|f| f.loudness_db).collect(),
        output_loudness: output_frames.iter().map(|f| f.loudness_db).collect(),
        output_16k: to_16k(&rendered.left, rate)?,
        input_16k: to_16k(&source.samples, rate)?,
        octaves,
    })
}

/// Resamples to the 16 kHz of the distances and MFCCs.
pub fn to_16k(x: &[f32], rate: f64) -> Result<Vec<f32>, EvalError> {
    resample_clip(x, rate, MFCC_RATE).map_err(|e| EvalError::Analysis(format!("{e:?}")))
}

/// Resynthesis distances of one held-out recording.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Resynthesis {
    /// The model (f32 weights).
    pub model: f64,
    /// The model with int8 weights.
    pub int8: f64,
    /// The flat-harmonic baseline.
    pub flat_harmonic: f64,
}

/// The sample range `[start, end)` (16 kHz) of the loud part of `frames`' clip.
fn loud_range(frames: &[Frame], times: &[f64], len: usize) -> (usize, usize) {
    let loud: Vec<usize> = (0..frames.len())
        .filter(|&i| frames[i].loudness_db > TRIM_DB)
        .collect();
    let (Some(&first), Some(&last)) = (loud.first(), loud.last()) else {
        return (0, len);
    };
    let first = first.saturating_sub(TRIM_MARGIN_FRAMES);
    let last = (last + TRIM_MARGIN_FRAMES).min(frames.len() - 1);
    let at = |t: f64| ((t.max(0.0) * MFCC_RATE) as usize).min(len);
    (
        at(times[first]),
        at(times[last]).max(at(times[first]) + 1).min(len),
    )
}

/// Resynthesizes `recording` with `model` (f32 and int8) and the flat-harmonic baseline, and
/// measures each against the recording. Also returns the model's output at 16 kHz.
pub fn resynthesize(
    model: &ModelFile,
    recording: &Recording,
) -> Result<(Resynthesis, Vec<f32>), EvalError> {
    let rate = recording.sample_rate;
    let input = [recording.samples.clone()];
    let f32_out = render(model, &resynthesis_params(), &input, rate, |_, _| {})?;
    let int8_out = render(
        &model.quantize_int8(),
        &resynthesis_params(),
        &input,
        rate,
        |_, _| {},
    )?;
    let target = to_16k(&recording.samples, rate)?;
    let (frames, times) = analyse(&target, MFCC_RATE)?;
    let config = AnalysisConfig::default();
    let latency = times
        .first()
        .map_or(0.0, |t0| 1.0 / config.frame_rate() - t0);
    let flat = flat_harmonic(&target, MFCC_RATE, &frames, config.frame_rate(), latency);
    let model_16k = to_16k(&f32_out.left, rate)?;
    let int8_16k = to_16k(&int8_out.left, rate)?;
    let (s, e) = loud_range(&frames, &times, target.len());
    let cut = |x: &[f32]| x[s.min(x.len())..e.min(x.len())].to_vec();
    let t = cut(&target);
    Ok((
        Resynthesis {
            model: spectral_distance(&cut(&model_16k), &t),
            int8: spectral_distance(&cut(&int8_16k), &t),
            flat_harmonic: spectral_distance(&cut(&flat), &t),
        },
        model_16k,
    ))
}

/// Summary of the transfers from one source instrument into one model.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TransferSummary {
    /// Source instrument (or "voice").
    pub source: String,
    /// Clips transferred.
    pub clips: usize,
    /// Octave shifts used, per clip.
    pub octaves: Vec<i32>,
    /// Pitch fidelity over all voiced frames of the clips.
    pub pitch: Option<PitchFidelity>,
    /// Loudness-envelope correlation (the mean over the clips of each clip's correlation over
    /// its active frames).
    pub loudness_correlation: Option<f32>,
    /// The output-envelope lag (ms) at which the mean correlation would be best, and that
    /// correlation: a diagnostic of how late the output follows the input's dynamics.
    pub loudness_best_lag: Option<(f32, f32)>,
    /// MFCC-statistics distance of the output to the target instrument's recordings.
    pub timbre_to_target: Option<f64>,
    /// MFCC-statistics distance of the output to the source's recordings.
    pub timbre_to_source: Option<f64>,
}

impl TransferSummary {
    /// Summarizes `transfers` of `source` clips; `target` and `source_stats` are the MFCC
    /// statistics of the model's instrument and of the source instrument.
    pub fn new(
        source: &str,
        transfers: &[Transfer],
        target: Option<&TimbreStats>,
        source_stats: Option<&TimbreStats>,
    ) -> Self {
        let errors: Vec<f32> = transfers
            .iter()
            .flat_map(|t| t.pitch_errors.iter().copied())
            .collect();
        let per_clip: Vec<f32> = transfers
            .iter()
            .filter_map(|t| correlation(&loudness_pairs(&t.input_loudness, &t.output_loudness)))
            .collect();
        let mean_of = |v: &[f32]| (!v.is_empty()).then(|| v.iter().sum::<f32>() / v.len() as f32);
        let lag_ms = 1000.0 / AnalysisConfig::default().frame_rate() as f32;
        let best = (-MAX_LAG_FRAMES..=MAX_LAG_FRAMES)
            .filter_map(|lag| {
                let c: Vec<f32> = transfers
                    .iter()
                    .filter_map(|t| {
                        let pairs =
                            lagged_loudness_pairs(&t.input_loudness, &t.output_loudness, lag);
                        correlation(&pairs)
                    })
                    .collect();
                Some((lag as f32 * lag_ms, mean_of(&c)?))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let output = TimbreStats::of_clips(transfers.iter().map(|t| t.output_16k.as_slice()));
        let distance = |other: Option<&TimbreStats>| match (&output, other) {
            (Some(o), Some(s)) => Some(o.distance(s)),
            _ => None,
        };
        Self {
            source: source.to_string(),
            clips: transfers.len(),
            octaves: transfers.iter().map(|t| t.octaves).collect(),
            pitch: summarize(&errors),
            loudness_correlation: mean_of(&per_clip),
            loudness_best_lag: best,
            timbre_to_target: distance(target),
            timbre_to_source: distance(source_stats),
        }
    }

    /// Whether the output's timbre lies closer to the target than to the source.
    pub fn timbre_passes(&self) -> Option<bool> {
        Some(self.timbre_to_target? < self.timbre_to_source?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voiced(f0_hz: f32) -> Frame {
        Frame {
            f0_hz,
            confidence: 0.95,
            loudness_db: -20.0,
        }
    }

    #[test]
    fn the_lowest_note_goes_down_only_for_clips_that_need_it() {
        let high: Vec<Frame> = (0..200).map(|i| voiced(200.0 + i as f32)).collect();
        assert_eq!(lowest_note_for(&high), 100.0);
        // F2 (87.3 Hz) and up, with one stray octave-down frame: the knob goes under F2.
        let mut cello: Vec<Frame> = (0..200).map(|i| voiced(87.3 + i as f32)).collect();
        cello.push(voiced(43.6));
        let knob = lowest_note_for(&cello);
        assert!((80.0..87.3).contains(&knob), "{knob}");
        let bass: Vec<Frame> = (0..200).map(|_| voiced(41.2)).collect();
        assert_eq!(lowest_note_for(&bass), 50.0);
        // Unvoiced or silent frames do not count.
        let quiet = vec![Frame {
            f0_hz: 60.0,
            confidence: 0.2,
            loudness_db: -20.0,
        }];
        assert_eq!(lowest_note_for(&quiet), 100.0);
    }
}

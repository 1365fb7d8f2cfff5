//! Shared helpers for the engine tests: hand-wired models with known behaviour, test signals
//! with analytic f0, and measurements.
#![allow(dead_code, unused_imports)]

use std::f64::consts::{PI, TAU};

use timbre_dsp::analysis::{analyze_clip, AnalysisConfig, Frame};
use timbre_engine::Engine;
use timbre_model::testing::WiredHarmonics;
use timbre_model::ModelFile;

pub use timbre_testkit::{
    allocations_during, cents, correlation, median, sawtooth, CountingAllocator,
};

/// A melody of `notes` (MIDI, seconds) with 5.5 Hz vibrato of ±`vibrato_cents` and 40 ms
/// glides between notes; returns f0(t).
pub fn melody(notes: &[(f64, f64)], vibrato_cents: f64) -> impl Fn(f64) -> f64 + '_ {
    move |t: f64| {
        let mut start = 0.0;
        let mut midi = notes[0].0;
        for (i, &(note, dur)) in notes.iter().enumerate() {
            if t < start + dur || i == notes.len() - 1 {
                let prev = if i > 0 { notes[i - 1].0 } else { note };
                let glide = ((t - start) / 0.04).clamp(0.0, 1.0);
                midi = prev + (note - prev) * glide;
                break;
            }
            start += dur;
        }
        let vib = vibrato_cents / 100.0 * (2.0 * PI * 5.5 * t).sin();
        440.0 * 2f64.powf((midi + vib - 69.0) / 12.0)
    }
}

/// Frames of a clip through the DSP crate's analysis.
pub fn frames(samples: &[f32], sample_rate: f64) -> Vec<Frame> {
    analyze_clip(AnalysisConfig::default(), sample_rate, samples).unwrap()
}

/// The hand-wired test model (see [`timbre_model::testing::wired_model`]): a pure fundamental
/// when `fundamental_only`, else a bright harmonic slope.
pub fn wired_model(fundamental_only: bool) -> ModelFile {
    let harmonics = if fundamental_only {
        WiredHarmonics::Fundamental
    } else {
        WiredHarmonics::Slope
    };
    timbre_model::testing::wired_model("wired test model", harmonics)
}

/// The hand-wired pure fundamental whose output level follows the input loudness dB for dB,
/// as the trained models' does (see [`timbre_model::testing::WiredLevel::Linear`]): for tests
/// that time level changes, which a compressed level would shift (a loud onset reaches half
/// of its steady power early).
pub fn wired_linear_model() -> ModelFile {
    timbre_model::testing::wired_model_with_level(
        "wired level-linear test model",
        WiredHarmonics::Fundamental,
        timbre_model::testing::WiredLevel::Linear,
    )
}

/// Renders mono `input` through `engine` in blocks of `block` samples; returns (left, right).
pub fn process_blocks(engine: &mut Engine, input: &[f32], block: usize) -> (Vec<f32>, Vec<f32>) {
    let mut left = vec![0.0f32; input.len()];
    let mut right = vec![0.0f32; input.len()];
    for ((i, l), r) in input
        .chunks(block)
        .zip(left.chunks_mut(block))
        .zip(right.chunks_mut(block))
    {
        engine.process(&[i], l, r);
    }
    (left, right)
}

/// The delay (in samples) of `track` against the modulation `cos(2π·rate_hz·t)` it follows:
/// the phase of the track's component at `rate_hz`, over whole cycles from `from` on.
pub fn modulation_delay(
    track: &[(f64, f64)],
    rate_hz: f64,
    sample_rate: f64,
    from: f64,
    to: f64,
) -> f64 {
    let cycle = sample_rate / rate_hz;
    let to = from + ((to - from) / cycle).floor() * cycle;
    let points: Vec<&(f64, f64)> = track.iter().filter(|p| p.0 >= from && p.0 < to).collect();
    let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
    let (mut re, mut im) = (0.0, 0.0);
    for &&(n, v) in &points {
        let phase = TAU * rate_hz * n / sample_rate;
        re += (v - mean) * phase.cos();
        im += (v - mean) * phase.sin();
    }
    // v ≈ a·cos(ω(n − d)) ⇒ (re, im) ∝ (cos ωd, sin ωd).
    let delay = im.atan2(re) / TAU * cycle;
    if delay < 0.0 {
        delay + cycle
    } else {
        delay
    }
}

/// The output's frequency at every sample from its upward zero crossings (a pure
/// fundamental, at `sample_rate`): one period's frequency, placed at the middle of that
/// period.
pub fn frequency_track(out: &[f32], sample_rate: f64) -> Vec<(f64, f64)> {
    upward_zero_crossings(out)
        .windows(2)
        .map(|c| ((c[0] + c[1]) / 2.0, sample_rate / (c[1] - c[0])))
        .collect()
}

/// Where `out` crosses zero going up, in samples (interpolated between the two samples).
pub fn upward_zero_crossings(out: &[f32]) -> Vec<f64> {
    out.windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
        .map(|(n, w)| n as f64 + (-w[0] / (w[1] - w[0])) as f64)
        .collect()
}

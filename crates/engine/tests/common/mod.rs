//! Shared helpers for the engine tests: hand-wired models with known behaviour, test signals
//! with analytic f0, and measurements.
#![allow(dead_code)]

use std::f64::consts::PI;

use timbre_dsp::analysis::{analyze_clip, AnalysisConfig, Frame};
use timbre_model::testing::placeholder_metadata;
use timbre_model::weights::{Block, Layer, WeightData, Weights};
use timbre_model::{Architecture, ModelFile};

pub use timbre_testkit::{
    allocations_during, cents, correlation, median, sawtooth, CountingAllocator,
};

/// A model wired by hand: the residual blocks are zero (identity), channel 0 carries the
/// scaled loudness, channel 1 the scaled f0; the amplitude logit is `6·loudness − 4`
/// (monotonic in loudness), the harmonic distribution is `fundamental_only` (one harmonic)
/// or a 1/k-like slope, and the noise is 60 dB down. No reverb. Its output pitch is exactly
/// the synth's f0 and its level follows the input loudness.
pub fn wired_model(fundamental_only: bool) -> ModelFile {
    let arch = Architecture::default();
    let (c, k) = (arch.channels, arch.kernel_size);
    let mut input_w = vec![0.0f32; c * 2 * k];
    // out[o, t] uses w[o, i, K−1] for x[i, t]: channel 0 ← loudness (input 1), channel 1 ← f0.
    let tap = |out: usize, input: usize| (out * 2 + input) * k + (k - 1);
    input_w[tap(0, 1)] = 1.0;
    input_w[tap(1, 0)] = 1.0;
    let zero_layer = |out: usize, fan_in: usize| Layer {
        weight: WeightData::F32(vec![0.0; out * fan_in]),
        bias: vec![0.0; out],
    };
    let blocks = arch
        .dilations
        .iter()
        .map(|_| Block {
            conv: zero_layer(c, c * k),
            norm: None,
        })
        .collect();
    let n_out = arch.n_outputs();
    let mut head = zero_layer(n_out, c);
    let WeightData::F32(w) = &mut head.weight else {
        unreachable!()
    };
    w[0] = 6.0; // amplitude row, channel 0 (loudness)
    head.bias[0] = -4.0;
    for h in 0..arch.n_harmonics {
        head.bias[1 + h] = if fundamental_only {
            if h == 0 {
                8.0
            } else {
                -30.0
            }
        } else {
            1.0 - 0.35 * h as f32
        };
    }
    for b in 0..arch.n_noise_bands {
        head.bias[1 + arch.n_harmonics + b] = -4.0;
    }
    let weights = Weights {
        input: Layer {
            weight: WeightData::F32(input_w),
            bias: vec![0.0; c],
        },
        blocks,
        head,
        reverb_ir: Vec::new(),
    };
    ModelFile::new(placeholder_metadata(&arch, "wired test model"), weights).unwrap()
}

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

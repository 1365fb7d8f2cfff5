//! The body response: a resonance in Hz stays where it is when the pitch moves, and a model
//! without one plays its distribution unchanged.

mod common;

use common::*;
use timbre_engine::offline::render;
use timbre_engine::Params;
use timbre_model::body::{body_bin, BODY_BINS};
use timbre_model::ModelFile;

const RATE: f64 = 48_000.0;

/// `model` with the body response `body_db`.
fn with_body(model: ModelFile, body_db: Vec<f32>) -> ModelFile {
    let (mut meta, mut weights) = model.into_parts();
    meta.architecture.body_response = true;
    weights.body_db = body_db;
    ModelFile::new(meta, weights).unwrap()
}

/// Level in dB of `x` at `freq` (the strongest of a few DFT probes within ±1 % of it, Hann
/// window), so a pitch a few cents off does not matter.
fn level_db(x: &[f32], freq: f64) -> f64 {
    let n = x.len();
    let probe = |f: f64| {
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, &v) in x.iter().enumerate() {
            let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos();
            let ph = 2.0 * std::f64::consts::PI * f * i as f64 / RATE;
            re += w * v as f64 * ph.cos();
            im += w * v as f64 * ph.sin();
        }
        re * re + im * im
    };
    let best = (-10..=10)
        .map(|j| probe(freq * (1.0 + 0.001 * j as f64)))
        .fold(0.0, f64::max);
    10.0 * (best + 1e-30).log10()
}

/// The dry output of a steady note at `f0` through `model`, 0.5 s from its middle.
fn steady(model: &ModelFile, f0: f64) -> Vec<f32> {
    let input = sawtooth(RATE, 1.5, |_| f0, |_| 0.6);
    let params = Params {
        reverb_percent: 0.0,
        ..Params::default()
    };
    let out = render(model, &params, &[input], RATE, |_, _| {}).unwrap();
    let mid = out.left.len() / 2;
    out.left[mid - 12_000..mid + 12_000].to_vec()
}

#[test]
fn a_body_resonance_stays_put_when_the_pitch_moves() {
    // +12 dB at 1,024 Hz (exactly on a bin), flat elsewhere beyond an eighth of an octave.
    let peak = 1024.0;
    let (bin, frac) = body_bin(peak);
    assert_eq!(frac, 0.0);
    let mut body = vec![0.0; BODY_BINS];
    body[bin] = 12.0;
    let plain = wired_model(false);
    let bodied = with_body(wired_model(false), body);
    // At 256 Hz the resonance is harmonic 4; at 512 Hz, harmonic 2.
    for (f0, k_peak) in [(256.0, 4), (512.0, 2)] {
        let (a, b) = (steady(&plain, f0), steady(&bodied, f0));
        let lift: Vec<f64> = (1..=5)
            .map(|k| level_db(&b, k as f64 * f0) - level_db(&a, k as f64 * f0))
            .collect();
        // Every harmonic away from the resonance moves by the same amount (the
        // normalization's), the one on it 12 dB more.
        let others: Vec<f64> = (1..=5)
            .filter(|&k| k != k_peak)
            .map(|k| lift[k - 1])
            .collect();
        let spread = others.iter().cloned().fold(f64::MIN, f64::max)
            - others.iter().cloned().fold(f64::MAX, f64::min);
        assert!(spread < 0.5, "f0 {f0}: lifts {lift:?}");
        let extra = lift[k_peak - 1] - others.iter().sum::<f64>() / others.len() as f64;
        assert!((extra - 12.0).abs() < 1.0, "f0 {f0}: lifts {lift:?}");
    }
}

#[test]
fn a_flat_body_changes_nothing() {
    let plain = wired_model(false);
    let flat = with_body(wired_model(false), vec![0.0; BODY_BINS]);
    assert_eq!(steady(&plain, 300.0), steady(&flat, 300.0));
}

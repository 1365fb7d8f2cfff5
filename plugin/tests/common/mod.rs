//! Shared helpers for the plugin tests: the CLAP test host, test signals with a known f0, a
//! hand-wired model whose output pitch is exactly its input pitch, and pitch measurement.
#![allow(dead_code)]

pub mod host;

use std::f64::consts::PI;
use std::path::PathBuf;

use timbre_dsp::analysis::{analyze_clip, AnalysisConfig, Frame};
use timbre_model::testing::WiredHarmonics;
use timbre_model::ModelFile;

pub use timbre_testkit::{cents, median, sawtooth};

use host::{Plugin, EFFECT_ID};

/// Saves `model` to a fresh temporary file and returns its path.
pub fn save_temp(model: &ModelFile, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tiny-timbre-plugin-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{tag}.ttmodel"));
    model.save(&path).unwrap();
    path
}

/// The test melody: A3 C4 E4 D4 A4 with 5.5 Hz vibrato (±20 cents) and 40 ms glides.
pub fn melody(t: f64) -> f64 {
    const NOTES: [(f64, f64); 5] = [
        (57.0, 0.5),
        (60.0, 0.4),
        (64.0, 0.6),
        (62.0, 0.5),
        (69.0, 1.0),
    ];
    let mut start = 0.0;
    let mut midi = NOTES[0].0;
    for (i, &(note, dur)) in NOTES.iter().enumerate() {
        if t < start + dur || i == NOTES.len() - 1 {
            let prev = if i > 0 { NOTES[i - 1].0 } else { note };
            let glide = ((t - start) / 0.04).clamp(0.0, 1.0);
            midi = prev + (note - prev) * glide;
            break;
        }
        start += dur;
    }
    let vib = 0.2 * (2.0 * PI * 5.5 * t).sin();
    440.0 * 2f64.powf((midi + vib - 69.0) / 12.0)
}

/// The melody as a sawtooth with a slow swell, 3 s long.
pub fn phrase(rate: f64) -> Vec<f32> {
    sawtooth(rate, 3.0, melody, |t| {
        0.4 + 0.3 * (2.0 * PI * 0.7 * t).sin()
    })
}

/// Frames of a clip through the DSP crate's analysis.
pub fn frames(samples: &[f32], rate: f64) -> Vec<Frame> {
    analyze_clip(AnalysisConfig::default(), rate, samples).unwrap()
}

/// Median |error| in cents of the output's f0 against the input's shifted by `shift_cents`,
/// after moving the output back by `latency` samples, on frames confidently voiced in both
/// (the first 200 ms skipped: warm-up). Returns (median error, frames compared).
pub fn pitch_error(
    input: &[f32],
    output: &[f32],
    latency: usize,
    rate: f64,
    shift_cents: f32,
) -> (f32, usize) {
    let aligned = &output[latency.min(output.len())..];
    let n = aligned.len().min(input.len());
    let fi = frames(&input[..n], rate);
    let fo = frames(&aligned[..n], rate);
    let skip = (0.2 * AnalysisConfig::default().frame_rate()) as usize;
    let errors: Vec<f32> = fi
        .iter()
        .zip(&fo)
        .skip(skip)
        .filter(|(a, b)| a.confidence > 0.8 && b.confidence > 0.8)
        .map(|(a, b)| (cents(b.f0_hz, a.f0_hz) - shift_cents).abs())
        .collect();
    (median(&errors), errors.len())
}

/// RMS of a slice.
pub fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// The hand-wired test model with a pure fundamental (see
/// [`timbre_model::testing::wired_model`]): its output pitch is exactly the synth's f0.
pub fn wired_model(name: &str) -> ModelFile {
    timbre_model::testing::wired_model(name, WiredHarmonics::Fundamental)
}

/// The plugin's saved state with the model field replaced by `model` (a name or path).
pub fn with_model(state: &[u8], model: &str) -> Vec<u8> {
    with_field(state, "model", model)
}

/// The plugin's saved state with the persisted field `field` (`model`, `morph_model`)
/// replaced by `value`.
pub fn with_field(state: &[u8], field: &str, value: &str) -> Vec<u8> {
    let mut json: serde_json::Value = serde_json::from_slice(&state[8..]).expect("state is JSON");
    json["fields"][field] = serde_json::Value::String(serde_json::to_string(value).unwrap());
    encode_state(&json)
}

/// Frames a JSON state the way nice-plug's CLAP wrapper does: little-endian u64 length first.
pub fn encode_state(json: &serde_json::Value) -> Vec<u8> {
    let body = serde_json::to_vec(json).unwrap();
    let mut out = (body.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// An effect instance playing the wired (pitch-exact) model.
pub fn effect_with_wired_model(tag: &str) -> Plugin {
    let path = save_temp(&wired_model("wired"), tag);
    let mut plugin = Plugin::new(EFFECT_ID);
    let state = plugin.save_state();
    assert!(plugin.load_state(&with_model(&state, path.to_str().unwrap())));
    plugin
}

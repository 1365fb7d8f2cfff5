//! One hour of continuous audio at 48 kHz: the output pitch at the end is the pitch at the
//! start (no phase or timing drift in the oscillators, the resampler or the frame clock), and
//! the output stays finite and bounded throughout. (Per-block time is measured by the soak
//! example, `cargo run --release -p timbre-engine --example soak`, never in a test.)

mod common;

use common::*;
use timbre_engine::{Engine, Params, OUTPUT_CEILING};

const RATE: f64 = 48_000.0;
const BLOCK: usize = 512;
/// 220 whole cycles per second: a 1 s buffer of the tone loops seamlessly.
const F0: f64 = 220.0;

/// One second of a band-limited 220 Hz sawtooth, peak about 0.3 (the test kit's, which keeps
/// its phase in f64: 220 whole cycles, so the buffer loops seamlessly).
fn tone_second() -> Vec<f32> {
    timbre_testkit::sawtooth(RATE, 1.0, |_| F0, |_| 0.6)
}

/// Median |cents| of `out` against [`F0`] over its voiced frames after 1 s.
fn pitch_error(out: &[f32]) -> (f32, usize) {
    let errors: Vec<f32> = frames(out, RATE)
        .iter()
        .skip(250)
        .filter(|f| f.confidence > 0.8)
        .map(|f| cents(f.f0_hz, F0 as f32).abs())
        .collect();
    (median(&errors), errors.len())
}

#[test]
fn one_hour_at_48k_ends_at_the_pitch_it_started_with() {
    // The hand-wired model's output pitch is exactly the synth's f0.
    let model = wired_model(true);
    let (mut engine, _factory) = Engine::prepare(&model, RATE, BLOCK).unwrap();
    engine.set_params(&Params {
        reverb_percent: 0.0,
        ..Params::default()
    });
    let tone = tone_second();
    let blocks = 3600 * RATE as usize / BLOCK;
    let window = 10 * RATE as usize;
    let (mut first, mut last) = (Vec::new(), Vec::new());
    let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let mut input = vec![0.0f32; BLOCK];
    let mut pos = 0;
    for k in 0..blocks {
        for x in &mut input {
            *x = tone[pos];
            pos = (pos + 1) % tone.len();
        }
        engine.process(&[&input], &mut left, &mut right);
        let peak = left.iter().fold(0.0f32, |p, x| p.max(x.abs()));
        assert!(peak <= OUTPUT_CEILING, "block {k}: peak {peak}");
        if k * BLOCK < window {
            first.extend_from_slice(&left);
        } else if (blocks - k) * BLOCK <= window {
            last.extend_from_slice(&left);
        }
    }
    let (start, start_n) = pitch_error(&first);
    let (end, end_n) = pitch_error(&last);
    eprintln!("pitch error: first 10 s {start} cents, last 10 s {end} cents");
    assert!(
        start_n > 2000 && end_n > 2000,
        "{start_n}, {end_n} voiced frames"
    );
    // Both within 1 cent of 220 Hz, and the same to a tenth of a cent.
    assert!(start < 1.0 && end < 1.0, "{start} / {end} cents");
    assert!((end - start).abs() < 0.1, "{start} → {end} cents");
}

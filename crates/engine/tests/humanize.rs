//! The Humanize knob, measured on the output with a pitch tracker we did not write
//! (`pitch-detection`'s McLeod) and a DFT at each harmonic: a steady note wanders by the stated
//! amount in pitch and in each harmonic's level, slowly; at 0 % it stays still; a render
//! repeats exactly.

mod common;

use common::*;
use pitch_detection::detector::mcleod::McLeodDetector;
use pitch_detection::detector::PitchDetector;
use timbre_engine::humanize::{LEVEL_DB, PITCH_CENTS};
use timbre_engine::{Engine, Params};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

const RATE: f64 = 48_000.0;
/// Analysis window and hop of the measurements, in samples (43 ms and 10 ms).
const WINDOW: usize = 2048;
const HOP: usize = 480;
/// The steady note.
const F0: f32 = 220.0;

/// The engine's mono output for 8 s of a steady 220 Hz sawtooth at `humanize` percent, dry.
fn render(humanize: f32) -> Vec<f32> {
    let params = Params {
        humanize_percent: humanize,
        reverb_percent: 0.0,
        ..Params::default()
    };
    let (mut engine, _factory) = Engine::prepare(&wired_model(false), RATE, 512).unwrap();
    engine.set_params(&params);
    engine.reset();
    let input = sawtooth(RATE, 8.0, |_| F0 as f64, |_| 0.5);
    let mut left = vec![0.0; input.len()];
    let mut right = vec![0.0; input.len()];
    for ((i, l), r) in input
        .chunks(512)
        .zip(left.chunks_mut(512))
        .zip(right.chunks_mut(512))
    {
        engine.process(&[i], l, r);
    }
    left.iter()
        .zip(&right)
        .map(|(l, r)| 0.5 * (l + r))
        .collect()
}

/// Hann-windowed frames of `x` after its first second (the onset and the gate).
fn windows(x: &[f32]) -> impl Iterator<Item = Vec<f32>> + '_ {
    let hann = |i: usize| {
        let t = i as f32 / WINDOW as f32;
        0.5 - 0.5 * (2.0 * std::f32::consts::PI * t).cos()
    };
    (RATE as usize..x.len() - WINDOW)
        .step_by(HOP)
        .map(move |s| (0..WINDOW).map(|i| x[s + i] * hann(i)).collect())
}

/// The output's pitch in cents against its median, frame by frame (McLeod).
fn pitch_cents(x: &[f32]) -> Vec<f32> {
    let mut detector = McLeodDetector::<f32>::new(WINDOW, WINDOW / 2);
    let hz: Vec<f32> = windows(x)
        .map(|w| {
            detector
                .get_pitch(&w, RATE as usize, 0.0, 0.7)
                .expect("a steady note has a pitch")
                .frequency
        })
        .collect();
    let mid = median(&hz);
    hz.iter().map(|&f| cents(f, mid)).collect()
}

/// The level of harmonic `k`, in dB, frame by frame: the largest DFT magnitude within ±1.5 %
/// of `k`·220 Hz (the drift moves it by well under 1 %).
fn harmonic_db(x: &[f32], k: usize) -> Vec<f32> {
    windows(x)
        .map(|w| {
            let centre = k as f32 * F0;
            (-6..=6)
                .map(|step| {
                    let f = centre * (1.0 + 0.0025 * step as f32);
                    let w0 = 2.0 * std::f32::consts::PI * f / RATE as f32;
                    let (re, im) = w.iter().enumerate().fold((0.0, 0.0), |(re, im), (n, &v)| {
                        let a = w0 * n as f32;
                        (re + v * a.cos(), im - v * a.sin())
                    });
                    (re * re + im * im).sqrt()
                })
                .fold(0.0f32, f32::max)
        })
        .map(|m| 20.0 * m.max(1e-12).log10())
        .collect()
}

fn rms_about_mean(x: &[f32]) -> f32 {
    let mean = x.iter().sum::<f32>() / x.len() as f32;
    (x.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / x.len() as f32).sqrt()
}

#[test]
fn a_steady_note_wanders_by_the_stated_amount_and_stays_still_at_zero() {
    let still = render(0.0);
    let wandering = render(50.0);

    let cents_still = pitch_cents(&still);
    let cents_wandering = pitch_cents(&wandering);
    assert!(
        rms_about_mean(&cents_still) < 1.0,
        "{}",
        rms_about_mean(&cents_still)
    );
    // 7 s of a 3 Hz process: the measured RMS lies within about ±20 % of the stated one.
    let expected = 0.5 * PITCH_CENTS;
    let measured = rms_about_mean(&cents_wandering);
    assert!(
        (0.7 * expected..1.3 * expected).contains(&measured),
        "pitch drift {measured:.1} cents RMS, expected {expected}"
    );
    // Slow: 10 ms apart the pitch has moved by much less than its swing.
    let steps: Vec<f32> = cents_wandering.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(rms_about_mean(&steps) < 0.4 * measured);

    // Each harmonic's level wanders by about the stated amount (the output level, and so the
    // first harmonics' levels, also follow the input's steady loudness).
    let expected_db = 0.5 * LEVEL_DB;
    for k in 1..=4 {
        let still_db = rms_about_mean(&harmonic_db(&still, k));
        let drift_db = rms_about_mean(&harmonic_db(&wandering, k));
        assert!(still_db < 0.3, "harmonic {k} at 0 %: {still_db:.2} dB");
        assert!(
            (0.6 * expected_db..1.4 * expected_db).contains(&drift_db),
            "harmonic {k}: {drift_db:.2} dB RMS, expected {expected_db}"
        );
    }
}

#[test]
fn a_humanized_render_repeats_exactly_and_allocates_nothing() {
    let first = render(100.0);
    assert_eq!(render(100.0), first);
    let params = Params {
        humanize_percent: 100.0,
        ..Params::default()
    };
    let (mut engine, _factory) = Engine::prepare(&wired_model(false), RATE, 512).unwrap();
    let input = sawtooth(RATE, 1.0, |_| F0 as f64, |_| 0.5);
    let (mut left, mut right) = (vec![0.0; 512], vec![0.0; 512]);
    for chunk in input.chunks(512) {
        let n = chunk.len();
        let count = allocations_during(|| {
            engine.set_params(&params);
            engine.process(&[chunk], &mut left[..n], &mut right[..n]);
        });
        assert_eq!(count, 0);
    }
}

//! The Humanize knob, measured on the output with a pitch tracker we did not write
//! (`pitch-detection`'s McLeod) and a DFT at each harmonic: a steady note wanders by the stated
//! amount in pitch and in each harmonic's level, slowly, while the total level holds; at 0 % it
//! stays still; a render repeats exactly.

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
    let (left, right) = process_blocks(&mut engine, &input, 512);
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

    // The timbre moves, not the level: the harmonics keep their total power.
    let level = |x: &[f32]| -> Vec<f32> {
        windows(x)
            .map(|w| 10.0 * (w.iter().map(|v| v * v).sum::<f32>() + 1e-20).log10())
            .collect()
    };
    let level_still = rms_about_mean(&level(&still));
    let level_wandering = rms_about_mean(&level(&wandering));

    assert!(
        level_still < 0.05 && level_wandering < 0.1,
        "{level_wandering} dB"
    );

    // Each harmonic's level wanders on its own: the level of harmonic k against harmonic k + 1
    // drifts by √2 times the stated amount (the total-power correction cancels in the ratio).
    let expected_db = std::f32::consts::SQRT_2 * 0.5 * LEVEL_DB;
    let levels = |x: &[f32]| (1..=5).map(|k| harmonic_db(x, k)).collect::<Vec<_>>();
    let (still_db, wandering_db) = (levels(&still), levels(&wandering));
    for k in 0..4 {
        let ratio = |h: &[Vec<f32>]| -> Vec<f32> {
            h[k].iter().zip(&h[k + 1]).map(|(a, b)| a - b).collect()
        };
        let still_ratio = rms_about_mean(&ratio(&still_db));
        let drift = rms_about_mean(&ratio(&wandering_db));
        assert!(
            still_ratio < 0.3,
            "harmonics {}/{} at 0 %: {still_ratio:.2} dB",
            k + 1,
            k + 2
        );
        assert!(
            (0.7 * expected_db..1.3 * expected_db).contains(&drift),
            "harmonics {}/{}: {drift:.2} dB RMS, expected {expected_db:.2}",
            k + 1,
            k + 2
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

//! Pitch tracker tests at the analysis rate (16 kHz), against analytic f0 and against
//! pitch-detection's McLeod and YIN detectors as baselines.

mod common;

use common::TestRng;
use pitch_detection::detector::mcleod::McLeodDetector;
use pitch_detection::detector::yin::YINDetector;
use pitch_detection::detector::PitchDetector;
use timbre_dsp::pitch::{PitchAlgorithm, PitchTracker, VOICED_CONFIDENCE};

const SR: f32 = 16_000.0;
const HOP: usize = 64;
const WINDOW: usize = 512;

/// Test pitches from 60 to 1500 Hz.
const PITCHES: [f32; 12] = [
    60.0, 82.4, 110.0, 146.8, 196.0, 261.6, 329.6, 440.0, 587.3, 880.0, 1174.7, 1500.0,
];

fn cents(est: f32, truth: f32) -> f32 {
    1200.0 * (est / truth).log2()
}

fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return f32::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A harmonic tone with amplitudes `amp(h)` for every harmonic below 8 kHz (random phases).
fn harmonic_tone(f0: f32, secs: f32, seed: u64, amp: impl Fn(usize) -> f32) -> Vec<f32> {
    let n = (secs * SR) as usize;
    let mut rng = TestRng::new(seed);
    let harmonics: Vec<(f64, f64, f64)> = (1..)
        .take_while(|&h| h as f32 * f0 < 8_000.0)
        .map(|h| {
            let phase = std::f64::consts::PI * rng.bipolar() as f64;
            (h as f64 * f0 as f64, amp(h) as f64, phase)
        })
        .collect();
    let peak: f64 = harmonics.iter().map(|h| h.1).sum();
    (0..n)
        .map(|i| {
            let t = i as f64 / SR as f64;
            let s: f64 = harmonics
                .iter()
                .map(|&(f, a, p)| a * (2.0 * std::f64::consts::PI * f * t + p).sin())
                .sum();
            (0.5 * s / peak) as f32
        })
        .collect()
}

fn sine(f0: f32, secs: f32) -> Vec<f32> {
    harmonic_tone(f0, secs, 1, |h| if h == 1 { 1.0 } else { 0.0 })
}

fn saw(f0: f32, secs: f32) -> Vec<f32> {
    harmonic_tone(f0, secs, 2, |h| 1.0 / h as f32)
}

/// Violin-like: fundamental 30 dB below harmonics 2–6, then a 1/h roll-off.
fn weak_fundamental(f0: f32, secs: f32) -> Vec<f32> {
    harmonic_tone(f0, secs, 3, |h| match h {
        1 => 10f32.powf(-30.0 / 20.0),
        2..=6 => 1.0,
        _ => 6.0 / h as f32,
    })
}

/// `signal` plus white noise at `snr_db` (signal power over noise power).
fn with_noise(mut signal: Vec<f32>, snr_db: f32, seed: u64) -> Vec<f32> {
    let p_signal: f32 = signal.iter().map(|x| x * x).sum::<f32>() / signal.len() as f32;
    // Uniform noise in [-a, a) has power a²/3.
    let a = (3.0 * p_signal / 10f32.powf(snr_db / 10.0)).sqrt();
    let mut rng = TestRng::new(seed);
    for x in signal.iter_mut() {
        *x += a * rng.bipolar();
    }
    signal
}

fn saw_snr10(f0: f32, secs: f32) -> Vec<f32> {
    with_noise(saw(f0, secs), 10.0, 7)
}

fn saw_snr5(f0: f32, secs: f32) -> Vec<f32> {
    with_noise(saw(f0, secs), 5.0, 9)
}

fn saw_snr0(f0: f32, secs: f32) -> Vec<f32> {
    with_noise(saw(f0, secs), 0.0, 8)
}

fn white_noise(secs: f32, seed: u64) -> Vec<f32> {
    let mut rng = TestRng::new(seed);
    (0..(secs * SR) as usize)
        .map(|_| 0.5 * rng.bipolar())
        .collect()
}

/// Full windows at hop spacing (steady state: every window lies inside the signal).
fn frames(signal: &[f32], window: usize) -> impl Iterator<Item = &[f32]> {
    (0..)
        .map(move |k| k * HOP)
        .take_while(move |&s| s + window <= signal.len())
        .map(move |s| &signal[s..s + window])
}

/// Result of one tracker on one signal.
#[derive(Debug, Default)]
struct Score {
    median_cents: f32,
    max_cents: f32,
    voiced: f32,
    octave_errors: usize,
}

fn score(estimates: &[(f32, f32)], truth: f32) -> Score {
    let voiced: Vec<f32> = estimates
        .iter()
        .filter(|e| e.1 >= VOICED_CONFIDENCE)
        .map(|e| cents(e.0, truth).abs())
        .collect();
    let octave_errors = voiced.iter().filter(|&&c| c > 50.0).count();
    let max_cents = voiced.iter().cloned().fold(0.0, f32::max);
    let frac = voiced.len() as f32 / estimates.len().max(1) as f32;
    let mut v = voiced;
    Score {
        median_cents: median(&mut v),
        max_cents,
        voiced: frac,
        octave_errors,
    }
}

fn ours(signal: &[f32], window: usize, algorithm: PitchAlgorithm) -> Vec<(f32, f32)> {
    let mut tracker = PitchTracker::with_algorithm(SR, window, algorithm);
    frames(signal, window)
        .map(|f| {
            let e = tracker.estimate(f);
            (e.f0_hz, e.confidence)
        })
        .collect()
}

/// pitch-detection's McLeod; "unvoiced" (None) frames score confidence 0.
fn baseline_mcleod(signal: &[f32], window: usize) -> Vec<(f32, f32)> {
    let mut det = McLeodDetector::<f32>::new(window, window);
    frames(signal, window)
        .map(|f| match det.get_pitch(f, SR as usize, 0.0, 0.7) {
            Some(p) => (p.frequency, p.clarity.clamp(0.0, 1.0)),
            None => (0.0, 0.0),
        })
        .collect()
}

/// pitch-detection's YIN; its clarity output is not usable (it comes out negative or
/// infinite), so a found pitch scores confidence 1 and None scores 0.
fn baseline_yin(signal: &[f32], window: usize) -> Vec<(f32, f32)> {
    let mut det = YINDetector::<f32>::new(window, window);
    frames(signal, window)
        .map(|f| match det.get_pitch(f, SR as usize, 0.0, 0.7) {
            Some(p) => (p.frequency, 1.0),
            None => (0.0, 0.0),
        })
        .collect()
}

type Tracker = dyn Fn(&[f32], usize) -> Vec<(f32, f32)>;

/// Prints a table of all trackers on all test signals for the given windows.
fn comparison_table(windows: &[usize]) {
    let trackers: Vec<(&str, Box<Tracker>)> = vec![
        (
            "ours-MPM",
            Box::new(|s: &[f32], w| ours(s, w, PitchAlgorithm::Mpm)),
        ),
        (
            "ours-YIN",
            Box::new(|s: &[f32], w| ours(s, w, PitchAlgorithm::Yin)),
        ),
        ("pd-McLeod", Box::new(baseline_mcleod)),
        ("pd-YIN", Box::new(baseline_yin)),
    ];
    type Gen = fn(f32, f32) -> Vec<f32>;
    let kinds: [(&str, Gen); 6] = [
        ("sine", sine),
        ("saw", saw),
        ("weak-f1", weak_fundamental),
        ("saw+10dB", saw_snr10),
        ("saw+5dB", saw_snr5),
        ("saw+0dB", saw_snr0),
    ];
    for &w in windows {
        println!("== window {w} ==");
        for (name, tracker) in &trackers {
            for (kind, gen) in kinds {
                let mut medians = Vec::new();
                let mut worst_median = 0.0f32;
                let mut worst_max = 0.0f32;
                let mut octaves = 0;
                let mut min_voiced = 1.0f32;
                let mut voiced_frames = 0usize;
                let mut all_frames = 0usize;
                for &f in &PITCHES {
                    let est = tracker(&gen(f, 0.6), w);
                    let s = score(&est, f);
                    all_frames += est.len();
                    voiced_frames += est.iter().filter(|e| e.1 >= VOICED_CONFIDENCE).count();
                    medians.push(s.median_cents);
                    worst_median = worst_median.max(s.median_cents);
                    worst_max = worst_max.max(s.max_cents);
                    octaves += s.octave_errors;
                    min_voiced = min_voiced.min(s.voiced);
                }
                println!(
                    "{name:>10} {kind:>8}: median-of-medians {:6.3} c, worst median {:7.3} c, \
                     worst frame {:8.2} c, gross errs {:5.1}% of voiced, voiced {:5.1}% (min {:.2})",
                    median(&mut medians),
                    worst_median,
                    worst_max,
                    100.0 * octaves as f32 / voiced_frames.max(1) as f32,
                    100.0 * voiced_frames as f32 / all_frames as f32,
                    min_voiced
                );
            }
            let mut conf: Vec<f32> = (0..4)
                .flat_map(|seed| tracker(&white_noise(1.0, 100 + seed), w))
                .map(|e| e.1)
                .collect();
            let n = conf.len();
            let med = median(&mut conf);
            println!(
                "{name:>10}    noise: median conf {med:.3}, p90 {:.3}, max {:.3}",
                conf[n * 9 / 10],
                conf[n - 1]
            );
        }
    }
}

/// The measurement behind the choice of algorithm and window in `pitch.rs`'s docs.
/// Run: `cargo test -p timbre-dsp --release --test pitch -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_algorithms_and_windows() {
    comparison_table(&[384, 448, 512, 640, 768, 1024]);
}

#[test]
#[ignore]
fn debug_per_pitch() {
    type Gen = fn(f32, f32) -> Vec<f32>;
    let kinds: [(&str, Gen); 3] = [("sine", sine), ("saw", saw), ("weak-f1", weak_fundamental)];
    for (kind, gen) in kinds {
        for &f in &PITCHES {
            let s = gen(f, 0.6);
            if kind != "weak-f1" {
                continue;
            }
            let m = score(&ours(&s, 448, PitchAlgorithm::Mpm), f);
            let y = score(&ours(&s, 512, PitchAlgorithm::Yin), f);
            let b = score(&baseline_mcleod(&s, 512), f);
            let by = score(&baseline_yin(&s, 512), f);
            println!("{kind:>8} {f:7.1}: MPM {m:?}\n                 YIN {y:?}\n                 pdM {b:?}\n                 pdY {by:?}");
        }
    }
}

#[test]
#[ignore]
fn debug_pd_yin() {
    let s = sine(440.0, 0.1);
    for (size, pad) in [(512, 0), (512, 512), (1024, 0)] {
        let mut det = YINDetector::<f32>::new(size, pad);
        for clarity in [0.0, 0.5, 0.7, 0.9] {
            let p = det.get_pitch(&s[..size], 16000, 0.0, clarity);
            println!(
                "size {size} pad {pad} clarity {clarity}: {:?}",
                p.map(|p| (p.frequency, p.clarity))
            );
        }
    }
}

//! Pitch tracker tests at the analysis rate (16 kHz), against analytic f0 and against
//! pitch-detection's McLeod and YIN detectors as baselines.

mod common;

use common::{allocations_during, CountingAllocator, TestRng};
use pitch_detection::detector::mcleod::McLeodDetector;
use pitch_detection::detector::yin::YINDetector;
use pitch_detection::detector::PitchDetector;
use timbre_dsp::pitch::{PitchAlgorithm, PitchTracker, DEFAULT_F0_HZ, VOICED_CONFIDENCE};
use timbre_dsp::{MAX_F0_HZ, MIN_F0_HZ};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const SR: f32 = 16_000.0;
const HOP: usize = 64;
/// The default analysis window (see `AnalysisConfig::default`).
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

/// Median cents error of our tracker and of pitch-detection's McLeod on one signal.
fn compare(kind: &str, f0: f32, signal: &[f32]) -> Score {
    let s = score(&ours(signal, WINDOW, PitchAlgorithm::Mpm), f0);
    let b = score(&baseline_mcleod(signal, WINDOW), f0);
    println!(
        "{kind:>8} {f0:7.1} Hz | ours: median {:6.3} c, max {:7.3} c, voiced {:5.1}% | \
         pitch-detection McLeod: median {:7.3} c, max {:8.2} c, voiced {:5.1}%",
        s.median_cents,
        s.max_cents,
        100.0 * s.voiced,
        b.median_cents,
        b.max_cents,
        100.0 * b.voiced
    );
    s
}

#[test]
fn sines_and_saws_within_5_cents() {
    for (kind, gen) in [("sine", sine as fn(f32, f32) -> Vec<f32>), ("saw", saw)] {
        for &f0 in &PITCHES {
            let s = compare(kind, f0, &gen(f0, 0.6));
            assert!(s.voiced > 0.99, "{kind} {f0} Hz: only {} voiced", s.voiced);
            assert!(s.median_cents <= 5.0, "{kind} {f0} Hz: {s:?}");
            assert_eq!(s.octave_errors, 0, "{kind} {f0} Hz: {s:?}");
        }
    }
}

#[test]
fn weak_fundamental_never_jumps_an_octave() {
    // Violin-like: the fundamental 30 dB under harmonics 2–6. Every voiced frame must stay
    // within 50 cents of the truth (an octave error is 1200).
    for &f0 in PITCHES.iter().chain(&[196.0, 440.0]) {
        let s = compare("weak-f1", f0, &weak_fundamental(f0, 0.6));
        assert!(s.voiced > 0.99, "{f0} Hz: only {} voiced", s.voiced);
        assert!(s.max_cents < 50.0, "{f0} Hz: {s:?}");
        assert!(s.median_cents <= 5.0, "{f0} Hz: {s:?}");
    }
}

#[test]
fn noisy_saw_at_5db_snr_has_no_gross_errors() {
    for &f0 in &PITCHES {
        let s = compare("saw+5dB", f0, &saw_snr5(f0, 0.6));
        assert!(s.voiced > 0.9, "{f0} Hz: only {} voiced", s.voiced);
        assert!(s.max_cents < 50.0, "{f0} Hz: {s:?}");
        assert!(s.median_cents <= 5.0, "{f0} Hz: {s:?}");
    }
}

/// f0 of a 5.5 Hz, ±50 cent vibrato around 440 Hz at time `t`.
fn vibrato_f0(t: f64) -> f64 {
    440.0 * 2f64.powf(50.0 / 1200.0 * (2.0 * std::f64::consts::PI * 5.5 * t).sin())
}

#[test]
fn vibrato_is_tracked_within_10_cents() {
    // A band-limited saw whose phase integrates the vibrato f0.
    let n = (1.5 * SR) as usize;
    let mut phase = 0.0f64;
    let signal: Vec<f32> = (0..n)
        .map(|i| {
            let f = vibrato_f0(i as f64 / SR as f64);
            phase += f / SR as f64;
            let mut s = 0.0;
            let mut h = 1;
            while (h as f64) * 470.0 < 8_000.0 {
                s += (2.0 * std::f64::consts::PI * h as f64 * phase).sin() / h as f64;
                h += 1;
            }
            0.3 * s as f32
        })
        .collect();
    let mut tracker = PitchTracker::new(SR, WINDOW);
    let mut errors = Vec::new();
    let mut baseline_errors = Vec::new();
    let mut det = McLeodDetector::<f32>::new(WINDOW, WINDOW);
    for (k, frame) in frames(&signal, WINDOW).enumerate() {
        // The estimate describes the centre of the window.
        let centre = (k * HOP) as f64 + (WINDOW as f64 - 1.0) / 2.0;
        let truth = vibrato_f0(centre / SR as f64) as f32;
        let e = tracker.estimate(frame);
        assert!(e.confidence >= VOICED_CONFIDENCE, "frame {k}: {e:?}");
        errors.push(cents(e.f0_hz, truth).abs());
        if let Some(p) = det.get_pitch(frame, SR as usize, 0.0, 0.7) {
            baseline_errors.push(cents(p.frequency, truth).abs());
        }
    }
    let n_frames = errors.len();
    let med = median(&mut errors);
    let max = errors[n_frames - 1];
    let n_base = baseline_errors.len();
    let base = median(&mut baseline_errors);
    println!(
        "vibrato 440 Hz ±50 c @ 5.5 Hz: ours median {med:.2} c (max {max:.2} c); \
         pitch-detection McLeod median {base:.2} c on {n_base}/{n_frames} voiced frames"
    );
    assert!(med <= 10.0, "median {med} cents");
    assert!(max <= 25.0, "max {max} cents");
}

#[test]
fn silence_has_zero_confidence_and_default_f0() {
    let mut tracker = PitchTracker::new(SR, WINDOW);
    let e = tracker.estimate(&[0.0; WINDOW]);
    assert!(e.confidence < 0.2, "{e:?}");
    assert_eq!(e.confidence, 0.0);
    assert_eq!(e.f0_hz, DEFAULT_F0_HZ);
    // Also a frame shorter than the window (zero-padded).
    assert_eq!(tracker.estimate(&[]).confidence, 0.0);
}

#[test]
fn white_noise_has_low_confidence() {
    let mut conf: Vec<f32> = (0..4)
        .flat_map(|seed| ours(&white_noise(1.0, 200 + seed), WINDOW, PitchAlgorithm::Mpm))
        .map(|e| e.1)
        .collect();
    let n = conf.len();
    let med = median(&mut conf);
    let p99 = conf[n * 99 / 100];
    let voiced = conf.iter().filter(|&&c| c >= VOICED_CONFIDENCE).count();
    let mut base: Vec<f32> = (0..4)
        .flat_map(|seed| baseline_mcleod(&white_noise(1.0, 200 + seed), WINDOW))
        .map(|e| e.1)
        .collect();
    let base_voiced = base.iter().filter(|&&c| c > 0.0).count();
    println!(
        "white noise, {n} frames: confidence median {med:.3}, p99 {p99:.3}, max {:.3}, \
         voiced {voiced}; pitch-detection McLeod (clarity ≥ 0.7) voiced {base_voiced}, median \
         clarity {:.3}",
        conf[n - 1],
        median(&mut base)
    );
    assert!(med < 0.3, "median confidence {med}");
    assert!(p99 < VOICED_CONFIDENCE, "p99 confidence {p99}");
    assert!(voiced * 100 < n, "{voiced} of {n} noise frames voiced");
}

#[test]
fn unvoiced_frames_hold_the_last_voiced_f0() {
    let mut signal = saw(330.0, 0.3);
    signal.extend(white_noise(0.5, 9));
    signal.extend(vec![0.0; 8000]);
    let est = ours(&signal, WINDOW, PitchAlgorithm::Mpm);
    let mut seen_voiced = false;
    for (k, &(f0, conf)) in est.iter().enumerate() {
        if conf >= VOICED_CONFIDENCE {
            seen_voiced = true;
        } else if seen_voiced {
            assert!(
                cents(f0, 330.0).abs() < 5.0,
                "frame {k}: unvoiced f0 {f0} did not hold 330 Hz"
            );
        }
    }
    assert!(seen_voiced);
    // The noise and the silence really were unvoiced.
    let tail = &est[est.len() - 100..];
    assert!(tail.iter().all(|e| e.1 < VOICED_CONFIDENCE));
}

#[test]
fn outputs_stay_in_range_for_any_input() {
    let mut tracker = PitchTracker::new(SR, WINDOW);
    let mut rng = TestRng::new(5);
    let mut frame = vec![0.0f32; WINDOW];
    let specials = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e30,
        -1e30,
        1e-40,
    ];
    for trial in 0..300 {
        for x in frame.iter_mut() {
            *x = match trial % 4 {
                0 => rng.bipolar(),
                1 => rng.bipolar() * 1e-6,
                2 => specials[rng.range(0, specials.len() - 1)],
                _ => (rng.bipolar() * 10.0).round(),
            };
        }
        // Also tones far outside the range: 20 Hz and 3 kHz.
        if trial % 10 == 0 {
            let f = if trial % 20 == 0 { 20.0 } else { 3000.0 };
            for (i, x) in frame.iter_mut().enumerate() {
                *x = (2.0 * std::f32::consts::PI * f * i as f32 / SR).sin();
            }
        }
        let e = tracker.estimate(&frame);
        assert!((0.0..=1.0).contains(&e.confidence), "{e:?}");
        assert!((MIN_F0_HZ..=MAX_F0_HZ).contains(&e.f0_hz), "{e:?}");
    }
}

#[test]
fn decimated_path_matches_frame_path_exactly() {
    let signal = with_noise(saw(233.0, 0.5), 20.0, 4);
    let mut a = PitchTracker::new(SR, WINDOW);
    let mut b = PitchTracker::new(SR, WINDOW);
    let mut dec = vec![0.0; b.decimated_len()];
    for frame in frames(&signal, WINDOW) {
        let ea = a.estimate(frame);
        b.decimate(frame, &mut dec);
        let eb = b.estimate_decimated(&dec);
        assert_eq!(ea, eb);
    }
    // Decimating piecewise gives the same numbers as all at once.
    let frame = &signal[..WINDOW];
    let mut whole = vec![0.0; b.decimated_len()];
    b.decimate(frame, &mut whole);
    let d = b.decimation();
    let mut pieces = vec![0.0; b.decimated_len()];
    let split = 100;
    b.decimate(frame, &mut pieces[..split]);
    b.decimate(&frame[d * split..], &mut pieces[split..]);
    assert_eq!(whole, pieces);
}

#[test]
fn yin_variant_also_tracks_clean_tones() {
    for &f0 in &PITCHES {
        let s = score(&ours(&saw(f0, 0.4), WINDOW, PitchAlgorithm::Yin), f0);
        assert!(
            s.median_cents <= 5.0 && s.octave_errors == 0,
            "{f0} Hz: {s:?}"
        );
    }
}

#[test]
fn estimate_allocates_nothing() {
    let signal = saw(196.0, 0.3);
    let mut tracker = PitchTracker::new(SR, WINDOW);
    let mut dec = vec![0.0; tracker.decimated_len()];
    let n = allocations_during(|| {
        for frame in frames(&signal, WINDOW) {
            std::hint::black_box(tracker.estimate(frame));
            tracker.decimate(frame, &mut dec);
            std::hint::black_box(tracker.estimate_decimated(&dec));
        }
        tracker.reset();
    });
    assert_eq!(n, 0);
}

/// The table behind the comparison in `pitch.rs`'s docs, at the chosen window only.
#[test]
fn print_comparison_at_default_window() {
    comparison_table(&[WINDOW]);
}

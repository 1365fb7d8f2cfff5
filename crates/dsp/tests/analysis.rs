//! Analysis path tests: the resampler, the whole Analyzer at host rates, latency,
//! block-size invariance, allocation-freedom, non-finite input.

mod common;

use common::{allocations_during, random_blocks, CountingAllocator};
use pitch_detection::detector::mcleod::McLeodDetector;
use pitch_detection::detector::PitchDetector;
use timbre_dsp::analysis::{
    analyze_clip, AnalysisConfig, AnalysisError, Analyzer, Frame, WINDOW_PERIODS,
};
use timbre_dsp::loudness::LoudnessMeter;
use timbre_dsp::pitch::{PitchTracker, VOICED_CONFIDENCE};
use timbre_dsp::resample::{AnalysisResampler, ResampleError};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const TAU: f64 = 2.0 * std::f64::consts::PI;
const ANALYSIS_RATE: f64 = 16_000.0;

// ---------------------------------------------------------------------------------------
// Signals and helpers
// ---------------------------------------------------------------------------------------

/// A tone at `rate` whose instantaneous f0 is `f0(t)`, with harmonic amplitudes `amp(h)` for
/// every harmonic whose highest frequency stays below 8 kHz. Peak about 0.5.
fn tone(
    rate: f64,
    secs: f64,
    f0: impl Fn(f64) -> f64,
    f0_max: f64,
    amp: impl Fn(usize) -> f64,
) -> Vec<f32> {
    let n = (rate * secs) as usize;
    let harmonics: Vec<(f64, f64)> = (1..)
        .take_while(|&h| h as f64 * f0_max < 8_000.0)
        .map(|h| (h as f64, amp(h)))
        .collect();
    let norm: f64 = harmonics.iter().map(|h| h.1.abs()).sum();
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            phase += f0(i as f64 / rate) / rate;
            let s: f64 = harmonics
                .iter()
                .map(|&(h, a)| a * (TAU * h * phase + 0.3 * h).sin())
                .sum();
            (0.5 * s / norm) as f32
        })
        .collect()
}

fn steady(rate: f64, secs: f64, f0: f64, amp: impl Fn(usize) -> f64) -> Vec<f32> {
    tone(rate, secs, |_| f0, f0, amp)
}

fn sine_amp(h: usize) -> f64 {
    if h == 1 {
        1.0
    } else {
        0.0
    }
}

fn saw_amp(h: usize) -> f64 {
    1.0 / h as f64
}

fn weak_fundamental_amp(h: usize) -> f64 {
    match h {
        1 => 10f64.powf(-30.0 / 20.0),
        2..=6 => 1.0,
        _ => 6.0 / h as f64,
    }
}

fn cents(est: f64, truth: f64) -> f64 {
    1200.0 * (est / truth).log2()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `input` through `analyzer` cut into `blocks`; returns (absolute host position at
/// which each frame became available, frame).
fn run_blocks(analyzer: &mut Analyzer, input: &[f32], blocks: &[usize]) -> Vec<(usize, Frame)> {
    let mut out = Vec::new();
    let mut start = 0;
    for &b in blocks {
        let block = &input[start..start + b];
        analyzer.process(block, |consumed, f| out.push((start + consumed, f)));
        start += b;
    }
    assert_eq!(start, input.len());
    out
}

fn run(analyzer: &mut Analyzer, input: &[f32], block: usize) -> Vec<(usize, Frame)> {
    let blocks: Vec<usize> = input.chunks(block).map(|c| c.len()).collect();
    run_blocks(analyzer, input, &blocks)
}

/// Runs `signal` through a resampler in one go and returns all analysis samples.
fn resample_all(host_rate: f64, signal: &[f32]) -> (Vec<f32>, AnalysisResampler) {
    let mut r = AnalysisResampler::new(host_rate, ANALYSIS_RATE, 64).unwrap();
    let mut out = Vec::new();
    r.process(signal, |_, hop| out.extend_from_slice(hop));
    (out, r)
}

/// Amplitude and phase of the component at `freq` (cycles per sample) in `x[start..start+len]`.
fn demodulate(x: &[f32], freq: f64, start: usize, len: usize) -> (f64, f64) {
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (k, &v) in x.iter().enumerate().skip(start).take(len) {
        let ph = TAU * freq * k as f64;
        re += v as f64 * ph.cos();
        im -= v as f64 * ph.sin();
    }
    (2.0 * (re * re + im * im).sqrt() / len as f64, im.atan2(re))
}

fn sine_at(rate: f64, f: f64, amp: f64, secs: f64) -> Vec<f32> {
    (0..(rate * secs) as usize)
        .map(|i| (amp * (TAU * f * i as f64 / rate).sin()) as f32)
        .collect()
}

// ---------------------------------------------------------------------------------------
// Resampler
// ---------------------------------------------------------------------------------------

#[test]
fn resampler_rejects_bad_rates_with_typed_errors() {
    use ResampleError::*;
    for bad in [
        0.0,
        999.0,
        2_000_001.0,
        1e9,
        -48_000.0,
        f64::NAN,
        f64::INFINITY,
    ] {
        assert!(matches!(
            AnalysisResampler::new(bad, ANALYSIS_RATE, 64),
            Err(InvalidHostRate(_))
        ));
        assert!(matches!(
            AnalysisResampler::new(48_000.0, bad, 64),
            Err(InvalidAnalysisRate(_))
        ));
    }
    assert_eq!(
        AnalysisResampler::new(48_000.0, ANALYSIS_RATE, 0).unwrap_err(),
        InvalidHop(0)
    );
    for ok in [
        1_000.0,
        8_000.0,
        22_050.0,
        37_000.0,
        44_100.0,
        44_101.0,
        48_000.0,
        96_000.0,
        192_000.0,
        384_000.0,
        768_000.0,
        1_234_567.75,
    ] {
        assert!(
            AnalysisResampler::new(ok, ANALYSIS_RATE, 64).is_ok(),
            "{ok}"
        );
    }
    // The Analyzer passes them on, and checks its own config.
    assert!(matches!(
        Analyzer::new(AnalysisConfig::default(), 999.0),
        Err(AnalysisError::Resample(InvalidHostRate(_)))
    ));
    let short = AnalysisConfig {
        window: 300,
        ..AnalysisConfig::default()
    };
    assert!(matches!(
        Analyzer::new(short, 48_000.0),
        Err(AnalysisError::WindowTooShort { .. })
    ));
    let no_hop = AnalysisConfig {
        hop: 0,
        ..AnalysisConfig::default()
    };
    assert_eq!(
        Analyzer::new(no_hop, 48_000.0).unwrap_err(),
        AnalysisError::InvalidHop
    );
    println!("{}", Analyzer::new(short, 48_000.0).unwrap_err());
}

#[test]
fn resampler_at_equal_rates_is_exact_passthrough() {
    let input: Vec<f32> = (0..1000).map(|i| ((i * 37) % 101) as f32 - 50.0).collect();
    let (out, r) = resample_all(ANALYSIS_RATE, &input);
    assert!(r.is_passthrough());
    assert_eq!(r.delay_analysis_samples(), 0.0);
    assert_eq!(out.len(), 1000 / 64 * 64);
    assert_eq!(&out[..], &input[..out.len()]);
}

#[test]
fn resampler_keeps_frequency_and_amplitude() {
    for host in [
        22_050.0, 37_000.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0, 44_101.0,
    ] {
        for (f, amp) in [(220.0, 0.5), (1000.0, 0.8), (5000.0, 0.25)] {
            let (y, _) = resample_all(host, &sine_at(host, f, amp, 1.0));
            let start = 1000;
            let len = 12_000;
            let (a, _) = demodulate(&y, f / ANALYSIS_RATE, start, len);
            // Frequency: the phase of the first and last 4000 samples advance at f exactly.
            let (_, p0) = demodulate(&y, f / ANALYSIS_RATE, start, 4000);
            let (_, p1) = demodulate(&y, f / ANALYSIS_RATE, start + 8000, 4000);
            let mut dp = p1 - p0;
            while dp > std::f64::consts::PI {
                dp -= TAU;
            }
            while dp < -std::f64::consts::PI {
                dp += TAU;
            }
            let f_err_hz = dp / TAU / (8000.0 / ANALYSIS_RATE);
            let gain_db = 20.0 * (a / amp).log10();
            assert!(
                f_err_hz.abs() < 0.01,
                "{host} Hz, {f} Hz tone: off by {f_err_hz} Hz"
            );
            assert!(
                gain_db.abs() < 0.2,
                "{host} Hz, {f} Hz tone: gain {gain_db} dB"
            );
        }
    }
}

#[test]
fn resampler_delay_matches_reported_delay() {
    for host in [
        22_050.0, 37_000.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0, 44_101.0,
    ] {
        // Phase delay of a 150 Hz sine (unambiguous: the period is 107 samples) ...
        let f = 150.0;
        let (y, r) = resample_all(host, &sine_at(host, f, 0.5, 1.0));
        let (_, phase) = demodulate(&y, f / ANALYSIS_RATE, 2000, 8000);
        // y[k] = 0.5 sin(ω(k − D)) has phase −ωD − π/2.
        let w = TAU * f / ANALYSIS_RATE;
        let mut d = (-phase - std::f64::consts::FRAC_PI_2) / w;
        let period = ANALYSIS_RATE / f;
        while d < -period / 2.0 {
            d += period;
        }
        while d > period / 2.0 {
            d -= period;
        }
        // ... and the peak of a band-limited click (the filter is linear phase).
        let mut click = vec![0.0f32; (host * 0.2) as usize];
        let at = (host * 0.05) as usize;
        click[at] = 1.0;
        let (yc, _) = resample_all(host, &click);
        let (k, _) = yc
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |b, (k, &v)| if v > b.1 { (k, v) } else { b });
        let (a, b, c) = (yc[k - 1] as f64, yc[k] as f64, yc[k + 1] as f64);
        let peak = k as f64 + 0.5 * (a - c) / (a - 2.0 * b + c);
        let click_delay = peak - at as f64 * ANALYSIS_RATE / host;
        let reported = r.delay_analysis_samples();
        println!(
            "{host} Hz: reported delay {reported:.4}, sine phase {d:.4}, click {click_delay:.3} \
             analysis samples ({:.3} ms)",
            reported / ANALYSIS_RATE * 1e3
        );
        assert!((d - reported).abs() < 0.01, "{host}: {d} vs {reported}");
        assert!(
            (click_delay - reported).abs() < 0.1,
            "{host}: {click_delay} vs {reported}"
        );
    }
}

#[test]
fn resampler_suppresses_aliasing() {
    // Tones above the analysis Nyquist frequency (8 kHz) must not fold back audibly.
    for host in [44_100.0, 48_000.0, 96_000.0] {
        for f in [9_000.0, 12_000.0, 20_000.0] {
            let (y, _) = resample_all(host, &sine_at(host, f, 1.0, 0.5));
            let ms: f64 = y[1000..7000]
                .iter()
                .map(|&v| (v as f64).powi(2))
                .sum::<f64>()
                / 6000.0;
            let db = 10.0 * (ms / 0.5).log10();
            assert!(db < -80.0, "{host} Hz: {f} Hz aliases at {db} dB");
        }
        // Passband: flat within 0.2 dB up to 6 kHz.
        let (y, _) = resample_all(host, &sine_at(host, 6_000.0, 1.0, 0.5));
        let ms: f64 = y[1000..7000]
            .iter()
            .map(|&v| (v as f64).powi(2))
            .sum::<f64>()
            / 6000.0;
        assert!((10.0 * (ms / 0.5).log10()).abs() < 0.2);
    }
}

#[test]
fn resampler_hops_do_not_depend_on_block_sizes() {
    let input = steady(44_100.0, 0.5, 313.0, saw_amp);
    let (reference, _) = resample_all(44_100.0, &input);
    let mut r = AnalysisResampler::new(44_100.0, ANALYSIS_RATE, 64).unwrap();
    let mut out = Vec::new();
    let mut start = 0;
    for b in random_blocks(input.len(), 300, 7) {
        r.process(&input[start..start + b], |_, hop| {
            out.extend_from_slice(hop)
        });
        start += b;
    }
    assert_eq!(out, reference);
}

// ---------------------------------------------------------------------------------------
// Analyzer: pitch through host rates
// ---------------------------------------------------------------------------------------

/// Voiced frames after the start-up transient (window fully inside the signal).
fn steady_frames(frames: &[(usize, Frame)], analyzer: &Analyzer) -> Vec<Frame> {
    let skip = analyzer.latency_host_samples() * 2.0 + analyzer.host_rate() * 0.01;
    frames
        .iter()
        .filter(|(pos, _)| *pos as f64 > skip)
        .map(|&(_, f)| f)
        .collect()
}

/// Over `frames` of a steady note at `f0`: the share of them voiced, and the median and
/// largest |error| of the voiced ones in cents.
fn pitch_errors(frames: &[Frame], f0: f64) -> (f64, f64, f64) {
    let mut errs: Vec<f64> = frames
        .iter()
        .filter(|f| f.confidence >= VOICED_CONFIDENCE)
        .map(|f| cents(f.f0_hz as f64, f0).abs())
        .collect();
    let voiced = errs.len() as f64 / frames.len() as f64;
    let max = errs.iter().cloned().fold(0.0, f64::max);
    (voiced, median(&mut errs), max)
}

/// pitch-detection's McLeod on the same 16 kHz frames (via our resampler): median cents.
fn baseline_on_resampled(host: f64, input: &[f32], f0: f64) -> (f64, f64) {
    let (y, _) = resample_all(host, input);
    let window = AnalysisConfig::default().window;
    let mut det = McLeodDetector::<f32>::new(window, window);
    let mut errs = Vec::new();
    let mut total = 0;
    let mut s = 2 * window;
    while s + window <= y.len() {
        total += 1;
        if let Some(p) = det.get_pitch(&y[s..s + window], 16_000, 0.0, 0.7) {
            errs.push(cents(p.frequency as f64, f0).abs());
        }
        s += 64;
    }
    let voiced = errs.len() as f64 / total.max(1) as f64;
    if errs.is_empty() {
        (f64::NAN, 0.0)
    } else {
        (median(&mut errs), voiced)
    }
}

#[test]
fn analyzer_tracks_sines_and_saws_at_host_rates() {
    let pitches = [
        60.0, 82.4, 110.0, 146.8, 196.0, 261.6, 329.6, 440.0, 587.3, 880.0, 1174.7, 1396.9, 1500.0,
    ];
    for host in [44_100.0, 48_000.0, 37_000.0] {
        for (kind, amp) in [("sine", sine_amp as fn(usize) -> f64), ("saw", saw_amp)] {
            for &f0 in &pitches {
                let input = steady(host, 0.5, f0, amp);
                let mut analyzer = Analyzer::new(AnalysisConfig::default(), host).unwrap();
                let frames = run(&mut analyzer, &input, 512);
                let steady = steady_frames(&frames, &analyzer);
                let (voiced, med, max) = pitch_errors(&steady, f0);
                let (base, base_voiced) = baseline_on_resampled(host, &input, f0);
                println!(
                    "{host} Hz {kind:>4} {f0:7.1}: ours median {med:6.3} c, max {max:6.3} c, \
                     voiced {:5.1}% | pitch-detection McLeod median {base:7.3} c, voiced {:5.1}%",
                    voiced * 100.0,
                    base_voiced * 100.0
                );
                assert!(voiced > 0.99, "{host} {kind} {f0}: voiced {voiced}");
                assert!(med <= 5.0, "{host} {kind} {f0}: median {med}");
                assert!(max < 50.0, "{host} {kind} {f0}: max {max}");
            }
        }
    }
}

#[test]
fn analyzer_weak_fundamental_never_jumps_an_octave() {
    for host in [44_100.0, 48_000.0, 37_000.0] {
        for f0 in [196.0, 440.0] {
            let input = steady(host, 1.0, f0, weak_fundamental_amp);
            let mut analyzer = Analyzer::new(AnalysisConfig::default(), host).unwrap();
            let frames = run(&mut analyzer, &input, 256);
            let steady = steady_frames(&frames, &analyzer);
            let voiced: Vec<f64> = steady
                .iter()
                .filter(|f| f.confidence >= VOICED_CONFIDENCE)
                .map(|f| cents(f.f0_hz as f64, f0).abs())
                .collect();
            assert!(voiced.len() * 100 > steady.len() * 99, "{host} {f0}");
            let worst = voiced.iter().cloned().fold(0.0, f64::max);
            println!("{host} Hz weak fundamental {f0} Hz: worst voiced frame {worst:.3} cents");
            assert!(
                worst < 50.0,
                "{host} Hz {f0} Hz: a frame is {worst} cents off"
            );
        }
    }
}

/// f0 of a 5.5 Hz, ±50 cent vibrato around 440 Hz at time `t` (seconds).
fn vibrato_f0(t: f64) -> f64 {
    440.0 * 2f64.powf(50.0 / 1200.0 * (TAU * 5.5 * t).sin())
}

/// Median |cents| error of the vibrato frames against the analytic f0 at
/// `(position − latency − offset)`.
fn vibrato_error(frames: &[(usize, Frame)], host: f64, latency: f64, offset: f64) -> f64 {
    let mut errs: Vec<f64> = frames
        .iter()
        .filter(|(pos, f)| *pos as f64 > host * 0.1 && f.confidence >= VOICED_CONFIDENCE)
        .map(|&(pos, f)| {
            let t = (pos as f64 - latency - offset) / host;
            cents(f.f0_hz as f64, vibrato_f0(t)).abs()
        })
        .collect();
    median(&mut errs)
}

#[test]
fn analyzer_tracks_vibrato_with_its_reported_latency() {
    for (host, lowest) in [
        (48_000.0, 50.0),
        (44_100.0, 50.0),
        (48_000.0, 100.0),
        (44_100.0, 150.0),
    ] {
        let input = tone(host, 2.0, vibrato_f0, 470.0, saw_amp);
        let mut analyzer = ranged(host, lowest);
        let latency = analyzer.latency_host_samples();
        let frames = run(&mut analyzer, &input, 128);
        let err = vibrato_error(&frames, host, latency, 0.0);
        // The alignment that fits best should be the reported latency (within 1 ms).
        let (best_offset, best_err) = (-40..=40)
            .map(|k| k as f64 * host * 1e-4) // 0.1 ms steps, ±4 ms
            .map(|o| (o, vibrato_error(&frames, host, latency, o)))
            .fold((0.0, f64::MAX), |b, x| if x.1 < b.1 { x } else { b });
        println!(
            "{host} Hz, lowest note {lowest} Hz, vibrato: median error {err:.3} c at the reported latency \
             ({:.3} ms); best fit {best_err:.3} c at {:+.2} ms from it",
            latency / host * 1e3,
            best_offset / host * 1e3
        );
        assert!(err <= 10.0, "median {err} cents");
        assert!(
            (best_offset / host).abs() <= 1e-3,
            "best offset {best_offset}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Analyzer: loudness and latency
// ---------------------------------------------------------------------------------------

#[test]
fn analyzer_loudness_of_a_full_scale_sine() {
    for host in [44_100.0, 48_000.0, 16_000.0] {
        let input = sine_at(host, 1000.0, 1.0, 0.5);
        let mut analyzer = Analyzer::new(AnalysisConfig::default(), host).unwrap();
        let frames = run(&mut analyzer, &input, 100);
        for f in steady_frames(&frames, &analyzer) {
            assert!((f.loudness_db + 3.0103).abs() < 0.05, "{host}: {f:?}");
        }
    }
}

#[test]
fn loudness_onset_appears_after_the_reported_latency() {
    // A 2.5 kHz tone switched on at t0 (1 ms raised-cosine fade). When the onset sits at the
    // centre of the Hann window, half the window's energy is in, so the frame reads half the
    // steady power (−3.01 dB). That crossing must come `latency` after t0. The tone sits
    // where the A curve is flat (+1.2 to +1.3 dB from 2 to 4 kHz), so the onset's spectral
    // splatter is weighted like the tone. A hop of 4 gives a fine grid to interpolate on,
    // and averaging over onsets at several phases of the tone cancels the ripple of sin²
    // against the window edge.
    let config = AnalysisConfig {
        hop: 4,
        ..AnalysisConfig::default()
    };
    let mut results = Vec::new();
    let settings = [48_000.0, 44_100.0, 37_000.0, 16_000.0]
        .map(|host| (host, 50.0))
        .into_iter()
        .chain([(48_000.0, 100.0), (44_100.0, 150.0)]);
    for (host, lowest) in settings {
        let mut measured = Vec::new();
        let mut latency = 0.0;
        for shift in 0..8 {
            let n = (host * 0.4) as usize;
            let t0 = host * 0.2 + shift as f64 * host / 20_000.0 + 0.37;
            let fade = host * 1e-3;
            let input: Vec<f32> = (0..n)
                .map(|i| {
                    let t = i as f64;
                    let g = ((t - t0) / fade + 0.5).clamp(0.0, 1.0);
                    let g = 0.5 - 0.5 * (std::f64::consts::PI * g).cos();
                    (g * (TAU * 2500.0 * t / host).sin()) as f32
                })
                .collect();
            let mut analyzer = Analyzer::new(config, host).unwrap();
            analyzer.set_lowest_note(lowest);
            latency = analyzer.latency_host_samples();
            let frames = run(&mut analyzer, &input, 64);
            let power = |f: &Frame| 10f64.powf(f.loudness_db as f64 / 10.0);
            let half = 0.5 * power(&frames[frames.len() - 1].1);
            let k = frames
                .windows(2)
                .position(|w| power(&w[0].1) < half && power(&w[1].1) >= half)
                .expect("no crossing");
            let (p0, p1) = (power(&frames[k].1), power(&frames[k + 1].1));
            let (x0, x1) = (frames[k].0 as f64, frames[k + 1].0 as f64);
            // The energy g² of a raised-cosine fade g steps up 0.125·fade after the fade's
            // midpoint t0 (∫g² over the fade is 0.375 of its length).
            let energy_onset = t0 + 0.125 * fade;
            measured.push(x0 + (half - p0) / (p1 - p0) * (x1 - x0) - energy_onset);
        }
        let mean = measured.iter().sum::<f64>() / measured.len() as f64;
        println!(
            "{host} Hz, lowest note {lowest} Hz: loudness crosses half power {:.3} ms after the onset (mean of 8); \
             reported latency {:.3} ms",
            mean / host * 1e3,
            latency / host * 1e3
        );
        results.push((host, mean, latency));
    }
    for (host, mean, latency) in results {
        assert!(
            ((mean - latency) / host).abs() < 0.1e-3,
            "{host}: measured {mean}, reported {latency}"
        );
    }
}

#[test]
fn latency_at_48k_is_reported() {
    let analyzer = Analyzer::new(AnalysisConfig::default(), 48_000.0).unwrap();
    let ms = analyzer.latency_seconds() * 1e3;
    println!(
        "latency at 48 kHz: {:.2} host samples = {ms:.3} ms",
        analyzer.latency_host_samples()
    );
    assert!(ms > 10.0 && ms < 20.0, "{ms}");
}

// ---------------------------------------------------------------------------------------
// Analyzer: streaming properties
// ---------------------------------------------------------------------------------------

#[test]
fn frames_do_not_depend_on_block_sizes() {
    for host in [48_000.0, 44_100.0, 16_000.0] {
        let mut input = tone(host, 1.0, vibrato_f0, 470.0, saw_amp);
        // Some silence and a burst of noise too.
        input[(host * 0.4) as usize..(host * 0.5) as usize].fill(0.0);
        let mut rng = common::TestRng::new(3);
        for x in &mut input[(host * 0.6) as usize..(host * 0.7) as usize] {
            *x = 0.3 * rng.bipolar();
        }
        let mut analyzer = Analyzer::new(AnalysisConfig::default(), host).unwrap();
        let reference = run(&mut analyzer, &input, input.len());
        assert!(reference.len() > 200);
        for block in [1, 7, 64, 512, 4096] {
            let mut a = Analyzer::new(AnalysisConfig::default(), host).unwrap();
            assert_eq!(
                run(&mut a, &input, block),
                reference,
                "{host} Hz, block {block}"
            );
        }
        for seed in 0..3 {
            let mut a = Analyzer::new(AnalysisConfig::default(), host).unwrap();
            let blocks = random_blocks(input.len(), 1000, seed);
            assert_eq!(
                run_blocks(&mut a, &input, &blocks),
                reference,
                "seed {seed}"
            );
        }
        // reset() brings back the freshly built state.
        analyzer.reset();
        assert_eq!(run(&mut analyzer, &input, 333), reference);
        // analyze_clip is the same thing, offline.
        let clip = analyze_clip(AnalysisConfig::default(), host, &input).unwrap();
        let frames: Vec<Frame> = reference.iter().map(|&(_, f)| f).collect();
        assert_eq!(clip, frames);
    }
}

#[test]
fn passthrough_analyzer_equals_the_blocks_run_by_hand() {
    // At 16 kHz the Analyzer is exactly: slide a 512-sample window by 64, then pitch and
    // loudness on it (a tone without note changes: the window's halves never speak).
    let config = AnalysisConfig::default();
    let input = tone(16_000.0, 0.5, vibrato_f0, 470.0, saw_amp);
    let frames = analyze_clip(config, 16_000.0, &input).unwrap();
    let mut pitch = PitchTracker::new(16_000.0, config.window);
    let mut loudness = LoudnessMeter::new(16_000.0, config.window);
    let mut padded = vec![0.0f32; config.window];
    padded.extend_from_slice(&input);
    assert_eq!(frames.len(), input.len() / config.hop);
    for (k, frame) in frames.iter().enumerate() {
        let end = config.window + (k + 1) * config.hop;
        let w = &padded[end - config.window..end];
        let p = pitch.estimate(w);
        assert_eq!(frame.f0_hz, p.f0_hz, "frame {k}");
        assert_eq!(frame.confidence, p.confidence, "frame {k}");
        assert_eq!(frame.loudness_db, loudness.measure(w), "frame {k}");
    }
}

#[test]
fn process_allocates_nothing() {
    for host in [48_000.0, 44_100.0, 16_000.0, 37_000.0] {
        let input = tone(host, 1.0, vibrato_f0, 470.0, saw_amp);
        let mut analyzer = Analyzer::new(AnalysisConfig::default(), host).unwrap();
        let mut count = 0usize;
        let allocs = allocations_during(|| {
            for block in input.chunks(128) {
                analyzer.process(block, |_, f| {
                    count += 1;
                    std::hint::black_box(f);
                });
            }
            analyzer.reset();
            for (k, block) in input.chunks(1000).enumerate() {
                // Changing the range between blocks allocates nothing either.
                analyzer.set_lowest_note(LOWEST_NOTES[k % LOWEST_NOTES.len()]);
                analyzer.process(block, |_, f| {
                    std::hint::black_box(f);
                });
            }
        });
        assert!(count > 200);
        assert_eq!(allocs, 0, "{host} Hz");
    }
}

#[test]
fn non_finite_input_gives_finite_frames() {
    let host = 48_000.0;
    let mut input = tone(host, 1.0, |_| 220.0, 220.0, saw_amp);
    for (i, x) in input.iter_mut().enumerate() {
        match i % 997 {
            0 => *x = f32::NAN,
            1 => *x = f32::INFINITY,
            2 => *x = f32::NEG_INFINITY,
            3 => *x = 1e38,
            4 => *x = 1e-42,
            _ => {}
        }
    }
    // A stretch of pure NaN too.
    input[20_000..30_000].fill(f32::NAN);
    let mut analyzer = Analyzer::new(AnalysisConfig::default(), host).unwrap();
    let frames = run(&mut analyzer, &input, 128);
    assert!(!frames.is_empty());
    for (_, f) in frames {
        assert!(f.f0_hz.is_finite() && f.confidence.is_finite() && f.loudness_db.is_finite());
        assert!((0.0..=1.0).contains(&f.confidence));
        assert!(f.loudness_db >= timbre_dsp::LOUDNESS_FLOOR_DB);
    }
}

#[test]
fn other_configs_work_too() {
    // A hop that is not a multiple of the decimation factor takes the frame-by-frame path;
    // a longer window and a 22.05 kHz analysis rate work the same way.
    for config in [
        AnalysisConfig {
            sample_rate: 16_000,
            hop: 63,
            window: 600,
        },
        AnalysisConfig {
            sample_rate: 22_050,
            hop: 100,
            window: 1024,
        },
    ] {
        let host = 48_000.0;
        let input = steady(host, 0.6, 233.0, saw_amp);
        let mut analyzer = Analyzer::new(config, host).unwrap();
        let frames = run(&mut analyzer, &input, 300);
        let expected =
            (input.len() as f64 * config.sample_rate as f64 / host) as usize / config.hop;
        assert!(
            frames.len() + 2 >= expected && frames.len() <= expected,
            "{config:?}"
        );
        let steady = steady_frames(&frames, &analyzer);
        for f in &steady {
            assert!(f.confidence >= VOICED_CONFIDENCE, "{config:?}: {f:?}");
            assert!(
                cents(f.f0_hz as f64, 233.0).abs() < 5.0,
                "{config:?}: {f:?}"
            );
        }
        let blocks = random_blocks(input.len(), 700, 1);
        let mut again = Analyzer::new(config, host).unwrap();
        assert_eq!(run_blocks(&mut again, &input, &blocks), frames);
    }
}

// ---------------------------------------------------------------------------------------
// Ranges: the lowest note, the window and the latency
// ---------------------------------------------------------------------------------------

/// The lowest notes the ranges are checked at (the engine's knob spans 50 to 70 Hz; shorter
/// windows let white noise through as voiced, see the README).
const LOWEST_NOTES: [f32; 6] = [50.0, 60.0, 70.0, 100.0, 130.0, 160.0];

/// An analyzer at `host` narrowed to notes from `lowest` up.
fn ranged(host: f64, lowest: f32) -> Analyzer {
    let mut analyzer = Analyzer::new(AnalysisConfig::default(), host).unwrap();
    analyzer.set_lowest_note(lowest);
    analyzer
}

#[test]
fn every_range_tracks_sines_saws_and_weak_fundamentals_from_its_lowest_note() {
    let host = 48_000.0;
    for lowest in LOWEST_NOTES {
        let analyzer = ranged(host, lowest);
        println!(
            "lowest {lowest} Hz: window {} samples, latency {:.2} ms",
            analyzer.window(),
            analyzer.latency_seconds() * 1e3
        );
        let pitches = [1.0, 1.06, 1.26, 1.5, 2.0, 3.0, 4.4, 6.0, 8.8]
            .map(|k| k * lowest as f64)
            .into_iter()
            .chain([880.0, 1174.7, 1500.0])
            .filter(|&f| f <= 1500.0);
        type Amp = fn(usize) -> f64;
        for f0 in pitches {
            let kinds: &[(&str, Amp)] = if f0 >= 2.0 * lowest as f64 {
                &[
                    ("sine", sine_amp),
                    ("saw", saw_amp),
                    ("weak", weak_fundamental_amp),
                ]
            } else {
                &[("sine", sine_amp), ("saw", saw_amp)]
            };
            for &(kind, amp) in kinds {
                let input = steady(host, 0.5, f0, amp);
                let mut analyzer = ranged(host, lowest);
                let frames = run(&mut analyzer, &input, 512);
                let steady = steady_frames(&frames, &analyzer);
                let (voiced, med, max) = pitch_errors(&steady, f0);
                println!(
                    "  {kind:>4} {f0:7.1} Hz: median {med:6.3} c, max {max:7.3} c, voiced {:5.1}%",
                    voiced * 100.0
                );
                // The bar: median within 5 cents, and no frame a semitone or an
                // octave off. (Short windows give single frames 20-60 cents off on bright
                // tones near the lowest note: the overlap at that lag is short.)
                assert!(voiced > 0.99, "{lowest}: {kind} {f0}: voiced {voiced}");
                assert!(med <= 5.0, "{lowest}: {kind} {f0}: median {med}");
                assert!(max < 100.0, "{lowest}: {kind} {f0}: max {max}");
            }
        }
    }
}

/// A steady note reads a steady loudness at every range, down to its lowest note, where the
/// window holds 1.6 periods: notes with fewer than three periods in the window are read over
/// whole periods (see `LoudnessMeter::whole_periods_correction_db`); a Hann window over 1.6
/// periods reads them up to 7 dB up and down with the waveform's position.
#[test]
fn a_steady_note_reads_a_steady_loudness_at_every_range() {
    let host = 48_000.0;
    for lowest in LOWEST_NOTES {
        let mut worst = (0.0f64, 0.0f64, "");
        for ratio in [1.0, 1.25, 1.6, 2.0, 2.5, 3.2, 5.0] {
            let f0 = ratio * lowest as f64;
            type Amp = fn(usize) -> f64;
            let kinds: [(&str, Amp); 3] = [
                ("sine", sine_amp),
                ("saw", saw_amp),
                ("weak", weak_fundamental_amp),
            ];
            for (kind, amp) in kinds {
                let input = steady(host, 0.5, f0, amp);
                let mut analyzer = ranged(host, lowest);
                let frames = run(&mut analyzer, &input, 512);
                let levels: Vec<f64> = steady_frames(&frames, &analyzer)
                    .iter()
                    .map(|f| f.loudness_db as f64)
                    .collect();
                let lo = levels.iter().cloned().fold(f64::INFINITY, f64::min);
                let hi = levels.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                if hi - lo > worst.0 {
                    worst = (hi - lo, f0, kind);
                }
            }
        }
        let analyzer = ranged(host, lowest);
        println!(
            "lowest {lowest} Hz (window {}, undecimated {}): loudness of steady notes varies by \
             up to {:.2} dB ({} {:.0} Hz)",
            analyzer.window(),
            analyzer.undecimated(),
            worst.0,
            worst.2,
            worst.1
        );
        // Read with the Hann window alone: up to 5.7-7.1 dB at every range.
        assert!(
            worst.0 < 0.5,
            "lowest {lowest} Hz: {} {:.0} Hz varies by {:.2} dB",
            worst.2,
            worst.1,
            worst.0
        );
    }
}

#[test]
fn white_noise_confidence_at_every_range() {
    let host = 48_000.0;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<f32> = (0..(host * 2.0) as usize)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            ((rng >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.5
        })
        .collect();
    for lowest in LOWEST_NOTES {
        let mut analyzer = ranged(host, lowest);
        let frames = run(&mut analyzer, &noise, 480);
        let mut conf: Vec<f64> = steady_frames(&frames, &analyzer)
            .iter()
            .map(|f| f.confidence as f64)
            .collect();
        let n = conf.len();
        let med = median(&mut conf);
        let p90 = conf[n * 9 / 10];
        let voiced = conf
            .iter()
            .filter(|&&c| c >= VOICED_CONFIDENCE as f64)
            .count();
        println!(
            "lowest {lowest} Hz: white noise confidence median {med:.3}, p90 {p90:.3}, max {:.3}, \
             voiced {:.1}%",
            conf[n - 1],
            100.0 * voiced as f64 / n as f64
        );
        // Noise must stay unvoiced at every range, or consonants would play notes.
        assert!(
            voiced == 0,
            "lowest {lowest} Hz: {voiced} of {n} noise frames voiced"
        );
        assert!(med < 0.4, "lowest {lowest} Hz: median confidence {med}");
    }
}

/// At a note change the pitch moves at the frame whose window centre has passed the change
/// (the instant a frame describes), whether the new note is louder, softer or as loud, up or
/// down, at every lowest note: the first frame that reports the new note is the first frame
/// centred at or after the change, or its neighbour (frames are a hop apart). A semitone may
/// be a frame further off: its two notes' periods are so close that every window that holds
/// both reads one pitch between them (weighted by their levels), so it glides over a few
/// frames, and a louder new note passes the midpoint early. A change down to a note below the
/// halves' reach (1.6 periods in half the window: 100 Hz at the 50 Hz setting) is left to the
/// whole window, which holds the last note up to three frames longer. Before the tracker
/// looked at its window's halves, a softer new note was reported up to four frames late and a
/// louder one up to two early.
#[test]
fn a_note_change_is_reported_when_it_reaches_the_window_centre() {
    let rate = ANALYSIS_RATE;
    let config = AnalysisConfig::default();
    let change = 8_000;
    let mut worst = 0.0f64;
    for lowest in LOWEST_NOTES {
        for (from, to) in [
            (330.0, 440.0),
            (440.0, 330.0),
            (370.0, 392.0),
            (523.0, 262.0),
            (82.0, 196.0),
            (196.0, 82.0),
        ] {
            if f64::min(from, to) < lowest as f64 {
                continue; // below the range: never reported
            }
            for db in [-8.0, 0.0, 8.0] {
                let gain = 10f64.powf(db / 20.0);
                let mut phase = 0.0f64;
                let input: Vec<f32> = (0..16_000)
                    .map(|n| {
                        let (f, g) = if n < change {
                            (from, 0.25)
                        } else {
                            (to, 0.25 * gain)
                        };
                        phase = (phase + f / rate).fract();
                        (g * (2.0 * phase - 1.0)) as f32
                    })
                    .collect();
                let mut analyzer = ranged(rate, lowest);
                let window = analyzer.window() as f64;
                let frames = run(&mut analyzer, &input, 64);
                let (at, _) = frames
                    .iter()
                    .find(|(end, f)| {
                        *end > change - config.hop && cents(f.f0_hz as f64, to).abs() < 50.0
                    })
                    .expect("the new note is reported");
                // The frame completed at `at` describes the centre of its window; the first
                // frame centred at or after the change is `due` hops after it.
                let hop = config.hop as f64;
                let offset = (*at as f64 - window / 2.0 - change as f64) / hop;
                let due = offset.rem_euclid(1.0);
                let frames_off = (offset - due).round();
                println!(
                    "lowest {lowest} Hz, {from} -> {to} Hz, {db:+} dB: reported {offset:+.2} hops \
                     from the change, {frames_off:+} frames from the first frame past it"
                );
                // The halves reach notes whose 1.6 periods fit in half the window.
                let halves_reach = WINDOW_PERIODS as f64 * rate / (window / 2.0);
                let allowed = if to < halves_reach {
                    3.0
                } else if cents(to, from).abs() < 150.0 {
                    2.0
                } else {
                    1.0
                };
                assert!(
                    frames_off.abs() <= allowed,
                    "lowest {lowest} Hz, {from} -> {to} Hz at {db:+} dB: {frames_off:+} frames"
                );
                worst = worst.max(frames_off.abs());
            }
        }
    }
    println!("worst {worst} frames");
}

/// Back from an undecimated window (160 Hz) to a decimated one (50 Hz), the analyzer gives
/// exactly the frames of one that tracked at 50 Hz all along: the decimated view it stopped
/// updating meanwhile is made again from the whole window.
#[test]
fn moving_the_lowest_note_back_down_gives_the_frames_of_a_steady_range() {
    let host = 48_000.0;
    let input = tone(host, 1.0, vibrato_f0, 470.0, saw_amp);
    let mut steady = ranged(host, 50.0);
    let mut moved = ranged(host, 160.0);
    assert!(moved.undecimated() && !steady.undecimated());
    let (first, second) = input.split_at(input.len() / 2);
    run(&mut steady, first, 128);
    run(&mut moved, first, 128);
    moved.set_lowest_note(50.0);
    let (a, b) = (run(&mut steady, second, 128), run(&mut moved, second, 128));
    assert!(a.len() > 50);
    assert_eq!(a, b);
}

/// Notes below the lowest note are still tracked, from the whole capacity window (see the
/// module docs of `analysis`, "Notes below the lowest note"): steady sines, saws and a
/// voice-like tone from 1.2 of their periods in the window (53 Hz at least) to just under the
/// lowest note read voiced, within a few cents and never an octave off, with a steady
/// loudness, at every lowest note above 50 Hz; a step between two of them is heard at most
/// half the whole window (plus 2 ms) after the reported latency.
#[test]
fn notes_below_the_lowest_note_are_tracked_from_the_whole_window() {
    let host = 48_000.0;
    fn voice_amp(h: usize) -> f64 {
        // A low voice: the fundamental about as strong as the second and third harmonics,
        // falling off above.
        [1.0, 1.2, 0.9, 0.6, 0.5, 0.3][..]
            .get(h - 1)
            .copied()
            .unwrap_or(1.5 / h as f64)
    }
    type Amp = fn(usize) -> f64;
    let kinds: [(&str, Amp); 3] = [("sine", sine_amp), ("saw", saw_amp), ("voice", voice_amp)];
    for lowest in LOWEST_NOTES.into_iter().filter(|&l| l > 50.0) {
        // Notes whose period fits in the window, and not at the whole window's edge.
        let window = ranged(host, lowest).window() as f64;
        let reach = (1.3 * ANALYSIS_RATE / window).max(53.0) * 1.03;
        for f0 in [
            reach,
            (0.75 * lowest as f64).max(reach),
            0.94 * lowest as f64,
        ] {
            for &(kind, amp) in &kinds {
                let input = steady(host, 0.6, f0, amp);
                let mut analyzer = ranged(host, lowest);
                let frames = run(&mut analyzer, &input, 512);
                // The whole capacity window must hold the note (32 ms more than the ranged
                // window's warm-up).
                let skip = host * 0.05;
                let steady: Vec<Frame> = frames
                    .iter()
                    .filter(|(pos, _)| *pos as f64 > skip)
                    .map(|&(_, f)| f)
                    .collect();
                let (voiced, med, max) = pitch_errors(&steady, f0);
                let (quiet, loud) = steady.iter().fold((f32::MAX, f32::MIN), |(q, l), f| {
                    (q.min(f.loudness_db), l.max(f.loudness_db))
                });
                println!(
                    "lowest {lowest} Hz: {kind:>5} {f0:6.1} Hz: median {med:6.3} c, max {max:7.3} c, \
                     voiced {:5.1}%, loudness varies by {:.2} dB",
                    voiced * 100.0,
                    loud - quiet
                );
                assert!(voiced > 0.99, "{lowest}: {kind} {f0}: voiced {voiced}");
                assert!(med <= 5.0, "{lowest}: {kind} {f0}: median {med}");
                assert!(max < 100.0, "{lowest}: {kind} {f0}: max {max}");
                assert!(
                    loud - quiet < 2.0,
                    "{lowest}: {kind} {f0}: loudness {quiet}..{loud}"
                );
            }
        }
        let (from, to) = ((0.8 * lowest as f64).max(reach), 0.95 * lowest as f64);
        if to / from < 1.12 {
            continue;
        }
        // A step between two such notes is heard later than the reported latency: by about
        // half the difference of the windows (the whole window's centre is that much older),
        // and more (the whole window has no halves to judge the change by), but by no more
        // than half the whole window plus 2 ms; sooner when the ranged window already reads
        // the new note at its edge.
        let step_at = 0.4;
        let input = tone(
            host,
            0.8,
            |t| if t < step_at { from } else { to },
            to,
            saw_amp,
        );
        let mut analyzer = ranged(host, lowest);
        let frames = run(&mut analyzer, &input, 512);
        let midpoint = (from * to).sqrt();
        let heard = frames
            .iter()
            .find(|(pos, f)| {
                *pos as f64 > step_at * host
                    && f.confidence >= VOICED_CONFIDENCE
                    && f.f0_hz as f64 > midpoint
            })
            .map(|&(pos, _)| pos as f64 - analyzer.latency_host_samples())
            .expect("the step is heard");
        let late_ms = (heard / host - step_at) * 1e3;
        let capacity = AnalysisConfig::default().window as f64;
        let difference_ms = (capacity - analyzer.window() as f64) / 2.0 / ANALYSIS_RATE * 1e3;
        let bound_ms = capacity / 2.0 / ANALYSIS_RATE * 1e3 + 2.0;
        println!(
            "lowest {lowest} Hz: {from:.0} -> {to:.0} Hz heard {late_ms:+.2} ms after the \
             reported latency (half the difference of the windows: {difference_ms:.2} ms)"
        );
        assert!(
            (-2.0..=bound_ms).contains(&late_ms),
            "{lowest}: step heard {late_ms:+.2} ms late (at most {bound_ms:.1})"
        );
    }
}

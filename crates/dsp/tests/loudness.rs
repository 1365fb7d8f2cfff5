//! Loudness tests: the A curve against IEC 61672 values, and the meter against a direct
//! (naive DFT) computation of the documented definition, written here from scratch.

mod common;

use common::{allocations_during, CountingAllocator, TestRng};
use timbre_dsp::loudness::{a_weighting_db, LoudnessMeter};
use timbre_dsp::pitch::FrameSpectrum;
use timbre_dsp::LOUDNESS_FLOOR_DB;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const SR: f32 = 16_000.0;

/// The A curve re-derived from IEC 61672-1 (Annex E): poles at 20.6, 107.7, 737.9 and
/// 12194 Hz, normalized to 0 dB at 1 kHz. f64 throughout.
fn reference_a_db(f: f64) -> f64 {
    let ra = |f: f64| {
        let f2 = f * f;
        12194.0f64.powi(2) * f2 * f2
            / ((f2 + 20.6f64.powi(2))
                * ((f2 + 107.7f64.powi(2)) * (f2 + 737.9f64.powi(2))).sqrt()
                * (f2 + 12194.0f64.powi(2)))
    };
    20.0 * (ra(f) / ra(1000.0)).log10()
}

/// The documented loudness, computed directly: periodic Hann window, naive one-sided DFT,
/// A-weighted power P = Σ c_k |X_k|² 10^(A(f_k)/10) / (N Σ w²), max(10 log10 P, −80).
fn reference_loudness_db(frame: &[f32], sr: f64) -> f64 {
    let n = frame.len();
    let w: Vec<f64> = (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos())
        .collect();
    let sum_w2: f64 = w.iter().map(|w| w * w).sum();
    let mut p = 0.0;
    for k in 1..=n / 2 {
        // k = 0 (DC) has zero A weight.
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, (&x, &wi)) in frame.iter().zip(&w).enumerate() {
            let ph = -2.0 * std::f64::consts::PI * (k * i % n) as f64 / n as f64;
            re += wi * x as f64 * ph.cos();
            im += wi * x as f64 * ph.sin();
        }
        let c = if n.is_multiple_of(2) && k == n / 2 {
            1.0
        } else {
            2.0
        };
        let f = k as f64 * sr / n as f64;
        p += c * (re * re + im * im) * 10f64.powf(reference_a_db(f) / 10.0);
    }
    p /= n as f64 * sum_w2;
    if p > 0.0 {
        (10.0 * p.log10()).max(-80.0)
    } else {
        -80.0
    }
}

fn sine(f: f32, amp: f32, n: usize, sr: f32, phase: f32) -> Vec<f32> {
    (0..n)
        .map(|i| amp * (2.0 * std::f32::consts::PI * f * i as f32 / sr + phase).sin())
        .collect()
}

#[test]
fn a_weighting_matches_iec_61672_values() {
    // (frequency, A in dB) from IEC 61672-1 Table 3 (exact base-10 frequencies, values
    // rounded to 0.1 dB).
    let table = [
        (10.0, -70.4),
        (19.953, -50.5),
        (31.623, -39.4),
        (50.119, -30.2),
        (100.0, -19.1),
        (199.53, -10.9),
        (501.19, -3.2),
        (1000.0, 0.0),
        (1995.3, 1.2),
        (3981.1, 1.0),
        (6309.6, -0.1),
        (10000.0, -2.5),
        (15849.0, -6.6),
        (19953.0, -9.3),
    ];
    for (f, expected) in table {
        let a = a_weighting_db(f);
        assert!(
            (a - expected).abs() <= 0.051,
            "A({f}) = {a}, table says {expected}"
        );
        assert!((a as f64 - reference_a_db(f as f64)).abs() < 0.01);
    }
    assert!(a_weighting_db(1000.0).abs() < 1e-4);
    assert_eq!(a_weighting_db(0.0), f32::NEG_INFINITY);
}

#[test]
fn meter_matches_direct_computation() {
    let mut rng = TestRng::new(3);
    for &n in &[512usize, 448, 255] {
        let mut meter = LoudnessMeter::new(SR, n);
        let mut frames: Vec<Vec<f32>> = vec![
            sine(1000.0, 1.0, n, SR, 0.3),
            sine(97.0, 0.5, n, SR, 1.0),
            sine(6200.0, 0.01, n, SR, 2.0),
            (0..n).map(|_| rng.bipolar()).collect(),
            (0..n).map(|_| 1e-3 * rng.bipolar()).collect(),
        ];
        // A band-limited sawtooth with a DC offset.
        frames.push(
            (0..n)
                .map(|i| {
                    0.2 + (1..40)
                        .map(|h| {
                            (2.0 * std::f32::consts::PI * 180.0 * h as f32 * i as f32 / SR).sin()
                                / h as f32
                        })
                        .sum::<f32>()
                        * 0.3
                })
                .collect(),
        );
        for (i, frame) in frames.iter().enumerate() {
            let ours = meter.measure(frame);
            let reference = reference_loudness_db(frame, SR as f64);
            println!("N={n} frame {i}: ours {ours:.4} dB, direct {reference:.4} dB");
            assert!(
                (ours as f64 - reference).abs() < 0.01,
                "N={n} frame {i}: {ours} vs {reference}"
            );
        }
    }
}

/// The reading from a frame's spectrum (its DFT with the mean removed, zero-padded to the
/// meter's size, and that mean) is the reading from the frame, at every window that divides
/// the size, for frames with and without an offset; other windows, and the spectrum of a frame
/// of another length, are refused.
#[test]
fn reading_from_the_spectrum_is_the_reading_from_the_frame() {
    use rustfft::num_complex::Complex;
    let n = 512;
    let mut rng = TestRng::new(8);
    let fft = rustfft::FftPlanner::<f32>::new().plan_fft_forward(n);
    for window in [512usize, 256, 128] {
        let mut meter = LoudnessMeter::new(SR, n);
        meter.set_window(window);
        let frames: Vec<Vec<f32>> = vec![
            sine(1000.0, 0.7, window, SR, 0.3),
            (0..window).map(|_| 0.3 + 0.2 * rng.bipolar()).collect(),
            (0..window)
                .map(|i| -0.1 + 0.5 * ((i * 7 % 40) as f32 / 40.0 - 0.5))
                .collect(),
        ];
        for (i, frame) in frames.iter().enumerate() {
            let mean = frame.iter().sum::<f32>() / window as f32;
            let mut spectrum: Vec<Complex<f32>> = frame
                .iter()
                .map(|&x| Complex::new(x - mean, 0.0))
                .chain(std::iter::repeat(Complex::new(0.0, 0.0)))
                .take(n)
                .collect();
            fft.process(&mut spectrum);
            let from_frame = meter.measure(frame);
            let frame_spectrum = FrameSpectrum {
                bins: &spectrum,
                mean,
                frame_len: window,
            };
            let from_spectrum = meter
                .measure_from_spectrum(&frame_spectrum)
                .expect("a window that divides the size");
            // The spectrum of a frame of another length is refused.
            let other = FrameSpectrum {
                frame_len: window / 2,
                ..frame_spectrum
            };
            assert!(meter.measure_from_spectrum(&other).is_none());
            println!("window {window} frame {i}: {from_frame:.5} / {from_spectrum:.5} dB");
            assert!(
                (from_frame - from_spectrum).abs() < 1e-3,
                "window {window} frame {i}: {from_frame} from the frame, {from_spectrum} from the spectrum"
            );
        }
    }
    let mut meter = LoudnessMeter::new(SR, n);
    meter.set_window(300);
    let zeros = vec![Complex::new(0.0, 0.0); n];
    let frame = FrameSpectrum {
        bins: &zeros,
        mean: 0.0,
        frame_len: 300,
    };
    assert!(meter.measure_from_spectrum(&frame).is_none());
}

#[test]
fn full_scale_1khz_sine_reads_minus_3_db() {
    let mut meter = LoudnessMeter::new(SR, 512);
    for phase in [0.0, 0.7, 2.1] {
        let db = meter.measure(&sine(1000.0, 1.0, 512, SR, phase));
        assert!((db - (-3.0103)).abs() < 0.02, "{db}");
    }
}

#[test]
fn doubling_amplitude_adds_6_02_db() {
    let mut meter = LoudnessMeter::new(SR, 512);
    let mut rng = TestRng::new(8);
    let base: Vec<f32> = (0..512)
        .map(|i| 0.01 * rng.bipolar() + 0.05 * (i as f32 * 0.3).sin())
        .collect();
    let mut prev = meter.measure(&base);
    for k in 1..=6 {
        let g = 2f32.powi(k);
        let frame: Vec<f32> = base.iter().map(|x| x * g).collect();
        let db = meter.measure(&frame);
        assert!(
            ((db - prev) - 6.0206).abs() < 0.05,
            "step {k}: {prev} -> {db}"
        );
        prev = db;
    }
}

#[test]
fn silence_and_tiny_signals_read_the_floor() {
    let mut meter = LoudnessMeter::new(SR, 512);
    assert_eq!(meter.measure(&[0.0; 512]), LOUDNESS_FLOOR_DB);
    assert_eq!(meter.measure(&[]), LOUDNESS_FLOOR_DB);
    assert_eq!(
        meter.measure(&sine(1000.0, 1e-5, 512, SR, 0.0)),
        LOUDNESS_FLOOR_DB
    );
    // A DC offset is nearly inaudible to the A curve: only the Hann window's leakage into
    // bin 1 (31 Hz, A = −39.5 dB) remains, ≈ −50 dB for a DC of 0.5 (a 0.5 sine at 1 kHz
    // reads −9 dB).
    let dc = meter.measure(&[0.5; 512]);
    assert!(dc < -45.0, "{dc}");
}

#[test]
fn non_finite_samples_count_as_zero() {
    let mut meter = LoudnessMeter::new(SR, 512);
    let clean = sine(440.0, 0.5, 512, SR, 0.0);
    let mut dirty = clean.clone();
    dirty[10] = f32::NAN;
    dirty[200] = f32::INFINITY;
    dirty[300] = f32::NEG_INFINITY;
    let mut zeroed = clean.clone();
    zeroed[10] = 0.0;
    zeroed[200] = 0.0;
    zeroed[300] = 0.0;
    let a = meter.measure(&dirty);
    assert!(a.is_finite());
    assert_eq!(a, meter.measure(&zeroed));
}

#[test]
fn measure_allocates_nothing() {
    let mut meter = LoudnessMeter::new(SR, 512);
    let frame = sine(440.0, 0.5, 512, SR, 0.0);
    let n = allocations_during(|| {
        for _ in 0..100 {
            std::hint::black_box(meter.measure(&frame));
        }
    });
    assert_eq!(n, 0);
}

/// Over a period or two, the Hann-windowed reading of a steady bright note swings with the
/// window's position on the waveform; corrected to whole periods it reads what a window of
/// many periods reads, wherever it falls. (A 160 Hz sawtooth, 160-sample window = 1.6
/// periods, at 200 positions across two periods, against the full 512-sample window.)
#[test]
fn a_short_window_corrected_to_whole_periods_reads_the_long_windows_level() {
    let f0 = 160.0f64;
    let saw: Vec<f32> = (0..2_000)
        .map(|n| {
            let t = n as f64 / SR as f64;
            (1..50)
                .filter(|&h| h as f64 * f0 < 7_500.0)
                .map(|h| (2.0 * std::f64::consts::PI * h as f64 * f0 * t).sin() / h as f64)
                .sum::<f64>() as f32
                * 0.3
        })
        .collect();
    let mut long = LoudnessMeter::new(SR, 512);
    let reference = long.measure(&saw[1_000..1_512]);
    let mut short = LoudnessMeter::new(SR, 512);
    short.set_window(160);
    let period = (SR as f64 / f0) as f32;
    let (mut plain_swing, mut worst) = ((f32::MAX, f32::MIN), 0.0f32);
    for start in (0..200).map(|k| 500 + k) {
        let frame = &saw[start..start + 160];
        let plain = short.measure(frame);
        let corrected = plain + short.whole_periods_correction_db(frame, period);
        plain_swing = (plain_swing.0.min(plain), plain_swing.1.max(plain));
        worst = worst.max((corrected - reference).abs());
    }
    assert!(plain_swing.1 - plain_swing.0 > 3.0, "{plain_swing:?}");
    assert!(
        worst < 0.5,
        "corrected reading {worst:.2} dB from the long window's"
    );
    // A period longer than the window, or none, leaves the reading alone.
    assert_eq!(short.whole_periods_correction_db(&saw[..160], 200.0), 0.0);
    assert_eq!(
        short.whole_periods_correction_db(&saw[..160], f32::NAN),
        0.0
    );
}

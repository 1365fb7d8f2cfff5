//! The synthesis blocks against plain references: the harmonic bank against a per-sample
//! sum of `sin` in f64, the filtered noise against a naive DFT periodogram.

mod common;

use common::{allocations_during, random_blocks, TestRng};
use timbre_dsp::harmonic::{HarmonicBank, MAX_HARMONICS};
use timbre_dsp::noise::FilteredNoise;

#[global_allocator]
static ALLOC: common::CountingAllocator = common::CountingAllocator;

/// A sequence of control frames: (f0, amplitudes) set every `hop` samples with a linear ramp of
/// `hop` samples, as the engine does.
struct Script {
    hop: usize,
    frames: Vec<(f32, Vec<f32>)>,
}

impl Script {
    fn random(n_frames: usize, n_harmonics: usize, hop: usize, seed: u64) -> Self {
        let mut rng = TestRng::new(seed);
        let mut f0 = 220.0f32;
        let frames = (0..n_frames)
            .map(|_| {
                f0 = (f0 * (1.0 + 0.05 * rng.bipolar())).clamp(60.0, 1500.0);
                let amps = (0..n_harmonics)
                    .map(|k| 0.5 * (1.0 + rng.bipolar()) / (k + 1) as f32)
                    .collect();
                (f0, amps)
            })
            .collect();
        Self { hop, frames }
    }

    fn len(&self) -> usize {
        self.hop * self.frames.len()
    }

    /// Renders the script, cutting the stream into the given block sizes.
    fn render(&self, bank: &mut HarmonicBank, blocks: &[usize]) -> Vec<f32> {
        let mut out = vec![0.0; self.len()];
        let mut pos = 0;
        let mut blocks = blocks.iter().cycle();
        while pos < out.len() {
            if pos % self.hop == 0 {
                let (f0, amps) = &self.frames[pos / self.hop];
                bank.set_target(*f0, amps, self.hop as u32);
            }
            let next_frame = (pos / self.hop + 1) * self.hop;
            let n = (*blocks.next().unwrap()).min(next_frame - pos);
            bank.process(&mut out[pos..pos + n]);
            pos += n;
        }
        out
    }

    /// The same render computed naively: per-sample interpolation, f64 phase, `sin` per
    /// harmonic.
    fn reference(&self, sample_rate: f64, n_harmonics: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.len());
        let mut phase = 0.0f64;
        let mut f0_prev = 0.0f64;
        let mut amps_prev = vec![0.0f64; n_harmonics];
        for (f0, amps) in &self.frames {
            for n in 0..self.hop {
                let t = n as f64 / self.hop as f64;
                let f = f0_prev + (*f0 as f64 - f0_prev) * t;
                let mut y = 0.0;
                for k in 0..n_harmonics {
                    let a = amps_prev[k] + (amps[k] as f64 - amps_prev[k]) * t;
                    if (k + 1) as f64 * f < sample_rate / 2.0 {
                        y += a * (2.0 * std::f64::consts::PI * (k + 1) as f64 * phase).sin();
                    }
                }
                out.push(y);
                phase = (phase + f / sample_rate).fract();
            }
            f0_prev = *f0 as f64;
            amps_prev = amps.iter().map(|&a| a as f64).collect();
        }
        out
    }
}

fn max_abs_diff(a: &[f32], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn harmonic_bank_matches_naive_sum_of_sines() {
    for (sample_rate, n_harmonics, seed) in [
        (48_000.0, 60, 1),
        (44_100.0, 100, 2),
        (22_050.0, 60, 3),
        (192_000.0, 100, 4),
    ] {
        let hop = (sample_rate / 250.0) as usize;
        let script = Script::random(100, n_harmonics, hop, seed);
        let mut bank = HarmonicBank::new(sample_rate);
        let out = script.render(&mut bank, &[hop]);
        let reference = script.reference(sample_rate, n_harmonics);
        let err = max_abs_diff(&out, &reference);
        // Amplitudes sum to at most ~2.6 (harmonic series), so 1e-4 is ~4e-5 relative.
        assert!(
            err < 1e-4,
            "{sample_rate} Hz, {n_harmonics} harmonics: error {err}"
        );
    }
}

/// Amplitudes that are 0 above a harmonic that changes from frame to frame (as a model's
/// above its own Nyquist frequency): the top harmonics fade in and out over their ramps, as
/// the naive sum plays them, although the bank renders only up to the last one sounding.
#[test]
fn silent_top_harmonics_fade_in_and_out_like_the_naive_sum() {
    let (sample_rate, n_harmonics) = (48_000.0, 100);
    let hop = 192;
    let mut script = Script::random(100, n_harmonics, hop, 5);
    let mut rng = TestRng::new(6);
    for (_, amps) in &mut script.frames {
        let top = (5.0 + 47.5 * (1.0 + rng.bipolar())) as usize;
        amps[top.min(n_harmonics)..].fill(0.0);
    }
    let mut bank = HarmonicBank::new(sample_rate);
    let out = script.render(&mut bank, &[hop]);
    let err = max_abs_diff(&out, &script.reference(sample_rate, n_harmonics));
    assert!(err < 1e-4, "error {err}");
}

#[test]
fn harmonics_at_or_above_nyquist_are_silent() {
    // f0 = 5 kHz at 22.05 kHz: harmonics 1 and 2 (5 and 10 kHz) are below Nyquist (11.025
    // kHz), 3 and above are not.
    let sample_rate = 22_050.0;
    let mut bank = HarmonicBank::new(sample_rate);
    bank.set_target(5_000.0, &[0.0, 0.0, 1.0, 1.0, 1.0], 0);
    let mut out = vec![0.0; 4096];
    bank.process(&mut out);
    assert!(out.iter().all(|&x| x == 0.0), "energy above Nyquist");

    // The spectrum of an audible tone has nothing at the aliases of its silenced harmonics.
    bank.set_target(5_000.0, &[1.0, 1.0, 1.0, 1.0, 1.0], 0);
    bank.process(&mut out);
    let power = |freq: f64| {
        let (mut re, mut im) = (0.0, 0.0);
        for (n, &x) in out.iter().enumerate() {
            let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / 4096.0).cos();
            let arg = 2.0 * std::f64::consts::PI * freq * n as f64 / sample_rate;
            re += w * x as f64 * arg.cos();
            im -= w * x as f64 * arg.sin();
        }
        (re * re + im * im).sqrt() / 1024.0
    };
    assert!(power(5_000.0) > 0.4, "fundamental {}", power(5_000.0));
    assert!(power(10_000.0) > 0.4, "second harmonic {}", power(10_000.0));
    // 15 kHz would alias to 7.05 kHz, 20 kHz to 2.05 kHz.
    assert!(power(7_050.0) < 1e-3, "alias of 3rd: {}", power(7_050.0));
    assert!(power(2_050.0) < 1e-3, "alias of 4th: {}", power(2_050.0));
}

#[test]
fn output_is_identical_however_the_stream_is_cut() {
    let hop = 192;
    let script = Script::random(60, 60, hop, 7);
    let whole = script.render(&mut HarmonicBank::new(48_000.0), &[hop]);
    for blocks in [
        vec![1],
        vec![7],
        vec![64],
        vec![512],
        vec![4096],
        random_blocks(script.len(), 300, 11),
    ] {
        let cut = script.render(&mut HarmonicBank::new(48_000.0), &blocks);
        assert_eq!(
            whole,
            cut,
            "block sizes {:?}",
            &blocks[..blocks.len().min(4)]
        );
    }
}

#[test]
fn frequency_is_exact_after_one_hour() {
    let sample_rate = 48_000.0;
    let f0 = 440.0f32;
    let mut bank = HarmonicBank::new(sample_rate);
    bank.set_target(f0, &[1.0], 0);
    let hour = 3_600 * 48_000;
    let mut block = vec![0.0f32; 48_000];
    for _ in 0..hour / block.len() {
        bank.process(&mut block);
    }
    // The next samples must be sin(2π·f0·n/fs) for the absolute sample index n.
    bank.process(&mut block);
    let mut worst = 0.0f64;
    for (i, &y) in block.iter().enumerate() {
        let n = (hour + i) as f64;
        let cycles = (f0 as f64 * n / sample_rate).fract();
        let expected = (2.0 * std::f64::consts::PI * cycles).sin();
        worst = worst.max((y as f64 - expected).abs());
    }
    assert!(worst < 1e-5, "after an hour the tone is off by {worst}");
}

#[test]
fn non_finite_controls_are_silence() {
    let mut bank = HarmonicBank::new(48_000.0);
    bank.set_target(f32::NAN, &[f32::INFINITY, 1.0], 10);
    let mut out = vec![0.0; 1000];
    bank.process(&mut out);
    assert!(out.iter().all(|x| x.is_finite()));
    bank.set_target(300.0, &[f32::NAN; MAX_HARMONICS], 10);
    bank.process(&mut out);
    assert!(out.iter().all(|x| x.is_finite()));
}

#[test]
fn synth_blocks_do_not_allocate_while_processing() {
    let mut bank = HarmonicBank::new(48_000.0);
    let mut noise = FilteredNoise::new(48_000.0, 65, 8_000.0, 1);
    let amps = [0.1f32; 60];
    let mags = [0.1f32; 65];
    let mut out = [0.0f32; 4096];
    let count = allocations_during(|| {
        for i in 0..100 {
            bank.set_target(200.0 + i as f32, &amps, 192);
            bank.process(&mut out[..(i * 37) % 4096 + 1]);
            noise.set_magnitudes(&mags);
            noise.process(&mut out[..(i * 53) % 4096 + 1]);
        }
    });
    assert_eq!(count, 0);
}

/// Power spectral density (per sample, two-sided) estimated with a naive DFT of Hann-windowed
/// segments of `seg` samples, at the DFT bins `0..=seg/2`.
fn periodogram(x: &[f32], seg: usize) -> Vec<f64> {
    let window: Vec<f64> = (0..seg)
        .map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / seg as f64).cos())
        .collect();
    let energy: f64 = window.iter().map(|w| w * w).sum();
    let (cos, sin): (Vec<f64>, Vec<f64>) = (0..seg)
        .map(|n| {
            let a = 2.0 * std::f64::consts::PI * n as f64 / seg as f64;
            (a.cos(), a.sin())
        })
        .unzip();
    let mut psd = vec![0.0; seg / 2 + 1];
    let segments: Vec<&[f32]> = x.chunks_exact(seg).collect();
    for s in &segments {
        for (k, p) in psd.iter_mut().enumerate() {
            let (mut re, mut im) = (0.0, 0.0);
            for n in 0..seg {
                let v = s[n] as f64 * window[n];
                let idx = (k * n) % seg;
                re += v * cos[idx];
                im -= v * sin[idx];
            }
            *p += (re * re + im * im) / energy;
        }
    }
    psd.iter().map(|p| p / segments.len() as f64).collect()
}

/// A smooth target: a slope with a bump, linear magnitude per band.
fn target_magnitudes(n_bands: usize) -> Vec<f32> {
    (0..n_bands)
        .map(|i| {
            let x = i as f32 / (n_bands - 1) as f32;
            0.05 + 0.4 * (-((x - 0.3) / 0.12).powi(2)).exp() + 0.1 * (1.0 - x)
        })
        .collect()
}

#[test]
fn noise_spectrum_follows_target_magnitudes_at_any_rate() {
    let n_bands = 65;
    let top = 8_000.0f32;
    let mags = target_magnitudes(n_bands);
    let magnitude_at = |f: f64| -> f64 {
        let pos = f * (n_bands - 1) as f64 / top as f64;
        if pos > (n_bands - 1) as f64 {
            return 0.0;
        }
        let i = (pos as usize).min(n_bands - 2);
        let t = pos - i as f64;
        mags[i] as f64 * (1.0 - t) + mags[i + 1] as f64 * t
    };
    for sample_rate in [16_000.0, 48_000.0] {
        let mut noise = FilteredNoise::new(sample_rate, n_bands, top, 5);
        noise.set_magnitudes(&mags);
        let seg = (sample_rate / 62.5) as usize; // 62.5 Hz bins at both rates
        let mut x = vec![0.0f32; seg * 400];
        noise.process(&mut x[..noise.frame_len()]); // skip the fade-in
        noise.process(&mut x);
        let psd = periodogram(&x, seg);
        // Expected: σ²·|H|², with σ² = (1/3)·fs/(2·top) per sample.
        let variance = sample_rate / (6.0 * top as f64);
        let mut worst_db = 0.0f64;
        for (k, &p) in psd.iter().enumerate() {
            let f = k as f64 * sample_rate / seg as f64;
            if !(200.0..=7_600.0).contains(&f) {
                continue;
            }
            let expected = variance * magnitude_at(f).powi(2);
            let err_db = 10.0 * (p / expected).log10();
            worst_db = worst_db.max(err_db.abs());
        }
        // 400 segments: the estimate's own scatter is about ±0.4 dB.
        assert!(worst_db < 1.5, "{sample_rate} Hz: worst {worst_db:.2} dB");
        // Above the band top, nothing (allow for window leakage near the edge).
        if sample_rate > 2.0 * top as f64 {
            let high: f64 = psd
                .iter()
                .enumerate()
                .filter(|(k, _)| *k as f64 * sample_rate / seg as f64 > 9_000.0)
                .map(|(_, p)| p)
                .sum();
            let low: f64 = psd.iter().take(seg / 4).sum();
            assert!(
                high < 1e-3 * low,
                "energy above the top band: {high} vs {low}"
            );
        }
    }
}

#[test]
fn noise_is_silent_until_magnitudes_are_set_and_reset_reproduces() {
    let mut noise = FilteredNoise::new(44_100.0, 65, 8_000.0, 9);
    let mut out = vec![1.0f32; 2000];
    noise.process(&mut out);
    assert!(out.iter().all(|&x| x == 0.0));
    noise.set_magnitudes(&target_magnitudes(65));
    let mut a = vec![0.0f32; 5000];
    noise.process(&mut a);
    assert!(a.iter().any(|&x| x != 0.0));
    noise.reset();
    noise.process(&mut out);
    noise.set_magnitudes(&target_magnitudes(65));
    let mut b = vec![0.0f32; 5000];
    noise.process(&mut b);
    // After reset the same calls at the same positions give the same samples.
    let mut fresh = FilteredNoise::new(44_100.0, 65, 8_000.0, 9);
    fresh.process(&mut vec![0.0; 2000]);
    fresh.set_magnitudes(&target_magnitudes(65));
    let mut c = vec![0.0f32; 5000];
    fresh.process(&mut c);
    assert_eq!(b, c);
}

/// Magnitudes are read as given where they are finite and not negative: a short slice leaves
/// the bands after it silent, and NaN, infinite or negative magnitudes silence their band,
/// exactly as zeros there would.
#[test]
fn missing_and_bad_noise_magnitudes_are_silent_bands() {
    let clean = target_magnitudes(65);
    let mut given = clean[..40].to_vec();
    let mut expected = clean.clone();
    expected[40..].fill(0.0);
    for (i, bad) in [(3, f32::NAN), (17, f32::INFINITY), (29, -0.5)] {
        given[i] = bad;
        expected[i] = 0.0;
    }
    let render = |magnitudes: &[f32]| {
        let mut noise = FilteredNoise::new(48_000.0, 65, 8_000.0, 4);
        noise.set_magnitudes(magnitudes);
        let mut out = vec![0.0f32; 4000];
        noise.process(&mut out);
        out
    };
    let (got, want) = (render(&given), render(&expected));
    assert!(want.iter().any(|&x| x != 0.0));
    assert_eq!(got, want);
    assert_ne!(render(&clean), want);
}

/// Magnitudes set several times between two noise frames: only the last set is heard, the
/// earlier ones leave no trace (the engine sets them every 1 ms control step, the noise makes
/// a frame every 5.3 ms at 48 kHz).
#[test]
fn only_the_last_magnitudes_before_a_frame_are_heard() {
    let last = target_magnitudes(65);
    let loud = vec![3.0f32; 65];
    let render = |sets: &[&[f32]]| {
        let mut noise = FilteredNoise::new(48_000.0, 65, 8_000.0, 4);
        let mut out = vec![0.0f32; 3000];
        for chunk in out.chunks_mut(48) {
            for m in sets {
                noise.set_magnitudes(m);
            }
            noise.process(chunk);
        }
        out
    };
    let once = render(&[&last]);
    assert!(once.iter().any(|&x| x != 0.0));
    assert_eq!(render(&[&loud, &[], &last]), once);
    assert_ne!(render(&[&last, &loud]), once);
}

#[test]
fn noise_is_identical_however_the_stream_is_cut() {
    let hop = 192;
    let total = hop * 50;
    let render = |blocks: &[usize]| {
        let mut noise = FilteredNoise::new(48_000.0, 65, 8_000.0, 3);
        let mut out = vec![0.0f32; total];
        let mut pos = 0;
        let mut sizes = blocks.iter().cycle();
        while pos < total {
            if pos % hop == 0 {
                // New magnitudes every frame, as the engine sets them.
                let frame = pos / hop;
                let mags: Vec<f32> = (0..65)
                    .map(|i| 0.1 + 0.01 * ((i + frame) % 7) as f32)
                    .collect();
                noise.set_magnitudes(&mags);
            }
            let next_frame = (pos / hop + 1) * hop;
            let n = (*sizes.next().unwrap()).min(next_frame - pos);
            noise.process(&mut out[pos..pos + n]);
            pos += n;
        }
        out
    };
    let reference = render(&[hop]);
    assert!(reference.iter().any(|&x| x != 0.0));
    for blocks in [
        vec![1],
        vec![7],
        vec![64],
        vec![512],
        vec![4096],
        random_blocks(total, 300, 5),
    ] {
        assert_eq!(
            reference,
            render(&blocks),
            "blocks {:?}",
            &blocks[..blocks.len().min(3)]
        );
    }
}

//! Analysis path tests: resampler, the whole Analyzer at host rates, block-size invariance,
//! allocation-freedom, non-finite input.

mod common;

use timbre_dsp::resample::AnalysisResampler;

/// Runs `signal` through a resampler in one go and returns all analysis samples.
fn resample_all(host_rate: f64, signal: &[f32]) -> (Vec<f32>, AnalysisResampler) {
    let mut r = AnalysisResampler::new(host_rate, 16_000.0, 64).unwrap();
    let mut out = Vec::new();
    r.process(signal, |_, hop| out.extend_from_slice(hop));
    (out, r)
}

/// Phase (radians) and amplitude of the component at `freq` (cycles/sample) in `x[range]`.
fn demodulate(x: &[f32], freq: f64, start: usize, len: usize) -> (f64, f64) {
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (k, &v) in x.iter().enumerate().skip(start).take(len) {
        let ph = 2.0 * std::f64::consts::PI * freq * k as f64;
        re += v as f64 * ph.cos();
        im -= v as f64 * ph.sin();
    }
    let amp = 2.0 * (re * re + im * im).sqrt() / len as f64;
    (im.atan2(re), amp)
}

#[test]
#[ignore]
fn explore_delay() {
    for host in [
        22_050.0, 32_000.0, 37_000.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0, 44_101.0,
    ] {
        // A sine sin(2π f t) at the host rate; the analysis output should be
        // sin(2π f (k - D)/16000).
        let mut delays = Vec::new();
        for f in [150.0f64, 1000.0] {
            let n = (host * 1.0) as usize;
            let x: Vec<f32> = (0..n)
                .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / host).sin() as f32 * 0.5)
                .collect();
            let (y, r) = resample_all(host, &x);
            let len = 16_000 / 2;
            let (phase, amp) = demodulate(&y, f / 16_000.0, 2000, len);
            // y[k] = 0.5 sin(w(k - D)) = 0.5 cos(w(k-D) - π/2): phase = -wD - π/2
            let w = 2.0 * std::f64::consts::PI * f / 16_000.0;
            let mut d = (-phase - std::f64::consts::FRAC_PI_2) / w;
            let period = 16_000.0 / f;
            while d < -period / 2.0 {
                d += period;
            }
            while d > period / 2.0 {
                d -= period;
            }
            delays.push((f, d, amp, r.delay_analysis_samples()));
        }
        println!("{host}: {delays:?}");
    }
}

#[test]
#[ignore]
fn explore_response() {
    for host in [44_100.0, 48_000.0, 96_000.0, 37_000.0, 22_050.0] {
        let mut line = format!("{host}:");
        for f in [
            4000.0f64, 6000.0, 7000.0, 7500.0, 8500.0, 9000.0, 10000.0, 12000.0, 15000.0, 20000.0,
        ] {
            if f >= host / 2.0 {
                continue;
            }
            let n = (host * 0.5) as usize;
            let x: Vec<f32> = (0..n)
                .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / host).sin() as f32 * 0.5)
                .collect();
            let (y, _) = resample_all(host, &x);
            let ss: f64 = y[1000..7000]
                .iter()
                .map(|&v| (v as f64).powi(2))
                .sum::<f64>()
                / 6000.0;
            line += &format!(" {f}:{:.1}dB", 10.0 * (ss / 0.125).log10());
        }
        println!("{line}");
    }
}

//! The flat-harmonic baseline of the resynthesis distance: what a synth with no timbre model
//! gives. Every harmonic below Nyquist (at most [`BASELINE_HARMONICS`], like the models) at
//! the same amplitude, at the recording's analysed f0, with its level set every hop to the
//! recording's own RMS. That level is an oracle (the models only get the A-weighted loudness),
//! which makes the baseline harder to beat, not easier.

use timbre_dsp::analysis::Frame;
use timbre_dsp::harmonic::HarmonicBank;

/// Harmonics of the baseline (the models' count).
pub const BASELINE_HARMONICS: usize = 60;

/// Renders the baseline at `sample_rate` for `target` (at that rate), from `frames`, the
/// analysis of `target` (one per `hop` samples of the analysis rate `analysis_rate`, frame `i`
/// centred at `(i + 1) · hop / analysis_rate − latency_s` seconds).
pub fn flat_harmonic(
    target: &[f32],
    sample_rate: f64,
    frames: &[Frame],
    frame_rate: f64,
    latency_s: f64,
) -> Vec<f32> {
    let hop = (sample_rate / frame_rate).round().max(1.0) as usize;
    let rms_half = 2 * hop; // RMS over 4 hops centred on the segment.
    let mut bank = HarmonicBank::new(sample_rate);
    let mut out = vec![0.0f32; target.len()];
    let mut amplitudes = [0.0f32; BASELINE_HARMONICS];
    let mut first = true;
    for (j, segment) in out.chunks_mut(hop).enumerate() {
        let centre = j * hop + hop / 2;
        let t = centre as f64 / sample_rate;
        let i = ((t + latency_s) * frame_rate - 1.0).round().max(0.0) as usize;
        let f0 = frames
            .get(i.min(frames.len().saturating_sub(1)))
            .map_or(0.0, |f| f.f0_hz);
        let lo = centre.saturating_sub(rms_half);
        let hi = (centre + rms_half).min(target.len());
        let rms = if hi > lo {
            (target[lo..hi]
                .iter()
                .map(|v| (*v as f64).powi(2))
                .sum::<f64>()
                / (hi - lo) as f64)
                .sqrt()
        } else {
            0.0
        };
        let k = if f0 > 0.0 {
            ((sample_rate / 2.0 / f0 as f64).ceil() as usize - 1).clamp(1, BASELINE_HARMONICS)
        } else {
            0
        };
        // k equal harmonics of amplitude a have an RMS of a·sqrt(k/2).
        let a = if k > 0 {
            rms * (2.0 / k as f64).sqrt()
        } else {
            0.0
        };
        for (n, amp) in amplitudes.iter_mut().enumerate() {
            *amp = if n < k { a as f32 } else { 0.0 };
        }
        bank.set_target(
            f0,
            &amplitudes,
            if first { 0 } else { segment.len() as u32 },
        );
        first = false;
        bank.process(segment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use timbre_dsp::analysis::{analyze_clip, AnalysisConfig, Analyzer};

    #[test]
    fn follows_the_pitch_and_level_of_its_target() {
        let rate = 16_000.0;
        let config = AnalysisConfig::default();
        // A 220 Hz sawtooth-like tone at 0.3 then 0.1 amplitude.
        let target: Vec<f32> = (0..32_000)
            .map(|n| {
                let t = n as f64 / rate;
                let a = if n < 16_000 { 0.3 } else { 0.1 };
                (a * (1..20)
                    .map(|k| (2.0 * std::f64::consts::PI * 220.0 * k as f64 * t).sin() / k as f64)
                    .sum::<f64>()) as f32
            })
            .collect();
        let frames = analyze_clip(config, rate, &target).unwrap();
        let latency = Analyzer::new(config, rate).unwrap().latency_seconds();
        let out = flat_harmonic(&target, rate, &frames, config.frame_rate(), latency);
        assert_eq!(out.len(), target.len());
        let rms = |x: &[f32]| (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
        for range in [4_000..12_000, 20_000..28_000] {
            let (want, got) = (rms(&target[range.clone()]), rms(&out[range.clone()]));
            assert!(
                (got / want - 1.0).abs() < 0.05,
                "{range:?}: {got} vs {want}"
            );
        }
        let out_frames = analyze_clip(config, rate, &out).unwrap();
        for f in &out_frames[100..350] {
            assert!(
                (1200.0 * (f.f0_hz / 220.0).log2()).abs() < 5.0,
                "{}",
                f.f0_hz
            );
        }
        // Flat: the 30th harmonic is as strong as the first (a naive DFT at both).
        let seg = &out[8_000..9_600];
        let mag = |hz: f64| {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for (n, v) in seg.iter().enumerate() {
                let p = 2.0 * std::f64::consts::PI * hz * n as f64 / rate;
                re += *v as f64 * p.cos();
                im += *v as f64 * p.sin();
            }
            (re * re + im * im).sqrt()
        };
        let ratio = mag(220.0 * 30.0) / mag(220.0);
        assert!((ratio - 1.0).abs() < 0.1, "{ratio}");
    }
}

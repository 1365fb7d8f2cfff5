//! The differentiable synthesizer at 16 kHz: harmonic bank, filtered noise and reverb, with
//! the same definitions as `timbre_dsp` (the plugin's synth), so what the network learns is
//! what the plugin plays.
//!
//! # Timing
//! Control frame `t` sits at sample `64 t` of an example; between frames every control moves
//! linearly, sample by sample (the plugin's per-sample ramps). The frame after the last
//! repeats the last.
//!
//! # Harmonics (as `timbre_dsp::harmonic::HarmonicBank`)
//! f0 is ramped linearly to audio rate and integrated in f64 cycles (`θ[s+1] = θ[s] + f0[s] /
//! 16000`, wrapped to `[0, 1)`; `θ[0] = 0`). Harmonic `k` is `sin(2π k θ)`. f0 comes from the
//! data, not the network, so the phase and the sines are constants computed without autodiff,
//! and the only learned paths are through the amplitudes and the body response. Per frame, a
//! model's body response multiplies each harmonic by its gain at `k · f0`
//! (`timbre_model::apply_body`; one gather of the lower and upper bin, interpolated in dB), and
//! the distribution is normalized as `timbre_model::normalize_harmonics` does: harmonics with
//! `k · f0 ≥ 8 kHz` zeroed, the rest divided by their sum, then scaled by the amplitude. Per sample, the
//! amplitudes are interpolated between frames `t` and `t + 1`:
//! `out[64t + n] = (1 − n/64) · Σ_k S[k] A_t[k] + (n/64) · Σ_k S[k] A_{t+1}[k]` (two batched
//! matmuls of `[64, H] × [H, 1]` per frame).
//!
//! # Filtered noise (as `timbre_dsp::noise::FilteredNoise` at 16 kHz)
//! Frequency sampling in frames of `F = 128` samples (the plugin's frame at 16 kHz) with a
//! sine window, overlap-added at hop 64: frame `t` is centred on sample `64 t`. Each frame
//! draws a white spectrum (uniform real and imaginary parts, scaled so the unfiltered noise
//! has the variance 1/3 of uniform `[-1, 1)` noise), multiplies it by the magnitude response
//! `H(f)` (the band magnitudes, linear in frequency from 0 to 8 kHz, interpolated linearly:
//! with 65 bands and `F = 128` each bin IS a band), and takes an inverse real FFT. The output
//! then has power spectral density `σ² |H(f)|²`, the plugin's definition. Gradients flow to
//! the magnitudes through the (linear) product and the inverse FFT; the random spectrum is a
//! constant drawn from the trainer's seeded generator.
//!
//! # Reverb
//! `out = dry + dry ∗ ir` with `ir[0] = 0` (so the IR is the wet part only), by FFT
//! convolution (burn's differentiable `rfft`/`irfft`). What the IR learns is mostly the
//! instrument's body (its first 40 ms hold 88–95 % of its energy), so the engine cuts it in two
//! and always plays the body: `0.5 · (dry + dry ∗ body + 2w · dry ∗ room)` for the reverb knob
//! `w`, the training mix exactly (6 dB quieter) at `w = 0.5` (see `timbre_engine::ir`).

use burn::signal::{irfft, rfft};
use burn::tensor::{Device, Int, Tensor, TensorData};
use timbre_dsp::offline::{cepstrum_fold, minimum_phase_fft_len, MIN_PHASE_FLOOR};
use timbre_model::body::body_bin;
use timbre_model::IR_BODY_SECONDS;

use crate::dataset::{HOP, SAMPLE_RATE};
use crate::model::ControlTensors;
use crate::rng::Rng;

/// Noise frame length at 16 kHz (`timbre_dsp::noise::FilteredNoise::frame_len` at 16 kHz).
pub const NOISE_FRAME: usize = 2 * HOP;
/// The synth's Nyquist frequency in Hz.
pub const NYQUIST_HZ: f32 = SAMPLE_RATE as f32 / 2.0;

/// The constant (not learned) inputs of the synth for one batch.
#[derive(Clone, Debug)]
pub struct SynthConstants {
    /// `[B, T, 64, H]`: `sin(2π k θ)` for each sample of each frame.
    pub sines: Tensor<4>,
    /// `[B, T, H]`: 1 where harmonic `k · f0 < Nyquist`, else 0.
    pub nyquist_mask: Tensor<3>,
    /// `[B · T · H]`: the body response's bin at or below each harmonic's frequency
    /// (`timbre_model::body::body_bin`; an unvoiced frame reads bin 0 for every harmonic, a
    /// gain common to all that the normalization cancels, as the plugin's skipping does).
    pub body_lower: Tensor<1, Int>,
    /// `[B · T · H]`: the bin above it (`body_lower + 1`).
    pub body_upper: Tensor<1, Int>,
    /// `[B, T, H]`: how far each harmonic lies from its lower bin toward the upper.
    pub body_frac: Tensor<3>,
    /// `[B, T + 1, F/2 + 1]`: real part of each noise frame's white spectrum.
    pub noise_re: Tensor<3>,
    /// Same, imaginary part.
    pub noise_im: Tensor<3>,
    /// `[1, 1, F]`: the sine synthesis window.
    pub window: Tensor<3>,
    /// `[1, 1, 64, 1]`: `n / 64`, the interpolation weight of the next frame.
    pub alpha: Tensor<4>,
    /// `[B_noise, F/2 + 1]`: band magnitudes → bin magnitudes (linear interpolation).
    pub band_to_bin: Tensor<2>,
}

/// Phase in cycles, wrapped to `[0, 1)`, of every sample of `frames` frames of f0 (Hz) ramped
/// linearly between frames, starting at 0. f64 accumulation.
pub fn phases(f0_hz: &[f32]) -> Vec<f32> {
    let t = f0_hz.len();
    let mut out = Vec::with_capacity(t * HOP);
    let mut theta = 0.0f64;
    let inv_sr = 1.0 / SAMPLE_RATE as f64;
    for i in 0..t {
        let a = f0_hz[i].max(0.0) as f64;
        let b = f0_hz[(i + 1).min(t - 1)].max(0.0) as f64;
        for n in 0..HOP {
            out.push(theta as f32);
            let f = a + (b - a) * n as f64 / HOP as f64;
            theta += f.min(NYQUIST_HZ as f64) * inv_sr;
            theta -= theta.floor();
        }
    }
    out
}

/// Appends `sin(2π k θ)` for `k = 1..=h`, by the Chebyshev recurrence
/// `sin((k+1)x) = 2 cos(x) sin(kx) − sin((k−1)x)` in f64 (error far below f32 rounding for
/// `h ≤ 100`); one `sin_cos` per sample instead of `h` sines.
fn push_harmonic_sines(out: &mut Vec<f32>, theta: f32, h: usize) {
    let (s1, c1) = (2.0 * std::f64::consts::PI * theta as f64).sin_cos();
    let two_c = 2.0 * c1;
    let (mut prev, mut cur) = (0.0f64, s1);
    for _ in 0..h {
        out.push(cur as f32);
        let next = two_c * cur - prev;
        prev = cur;
        cur = next;
    }
}

/// Linear interpolation matrix from `bands` magnitudes spread over 0..`top_hz` to the `bins`
/// bins of a `2 (bins − 1)`-point FFT at 16 kHz; bins above `top_hz` get 0 (as
/// `FilteredNoise::set_magnitudes`). Row-major `[bands, bins]`.
pub fn band_to_bin_matrix(bands: usize, bins: usize, top_hz: f32) -> Vec<f32> {
    let mut m = vec![0.0f32; bands * bins];
    let bin_hz = SAMPLE_RATE as f32 / (2 * (bins - 1)) as f32;
    let last = bands - 1;
    for k in 0..bins {
        let position = k as f32 * bin_hz * last as f32 / top_hz;
        if position > last as f32 + 1e-4 {
            continue;
        }
        let i = (position as usize).min(last.saturating_sub(1));
        let t = (position - i as f32).clamp(0.0, 1.0);
        m[i * bins + k] += 1.0 - t;
        if i < last {
            m[(i + 1) * bins + k] += t;
        }
    }
    m
}

impl SynthConstants {
    /// Builds the constants for a batch: `f0_hz` is `[batch, frames]` row-major.
    pub fn new(
        f0_hz: &[f32],
        batch: usize,
        frames: usize,
        n_harmonics: usize,
        n_bands: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Self {
        let h = n_harmonics;
        // sin(2π k θ) for every sample and harmonic, [B, T, 64, H] (harmonics innermost).
        let mut sines = Vec::with_capacity(batch * frames * HOP * h);
        for b in 0..batch {
            for theta in phases(&f0_hz[b * frames..(b + 1) * frames]) {
                push_harmonic_sines(&mut sines, theta, h);
            }
        }
        let sines = Tensor::from_data(TensorData::new(sines, [batch, frames, HOP, h]), device);
        let mask: Vec<f32> = f0_hz
            .iter()
            .flat_map(|&f| {
                (1..=h).map(move |k| {
                    if f > 0.0 && k as f32 * f >= NYQUIST_HZ {
                        0.0
                    } else {
                        1.0
                    }
                })
            })
            .collect();
        let nyquist_mask = Tensor::from_data(TensorData::new(mask, [batch, frames, h]), device);
        let bins: Vec<(usize, f32)> = f0_hz
            .iter()
            .flat_map(|&f| (1..=h).map(move |k| body_bin(k as f32 * f.max(0.0))))
            .collect();
        let n = bins.len();
        let index = |offset: usize| {
            let v: Vec<i64> = bins.iter().map(|&(i, _)| (i + offset) as i64).collect();
            Tensor::<1, Int>::from_data(TensorData::new(v, [n]), device)
        };
        let (body_lower, body_upper) = (index(0), index(1));
        let frac: Vec<f32> = bins.iter().map(|&(_, w)| w).collect();
        let body_frac = Tensor::from_data(TensorData::new(frac, [batch, frames, h]), device);
        // White spectra for T + 1 noise frames.
        let bins = NOISE_FRAME / 2 + 1;
        let variance = 1.0f64 / 3.0; // uniform [-1, 1) at the model rate (see FilteredNoise)
        let f = NOISE_FRAME as f64;
        let inner = (1.5 * f * variance).sqrt() as f32;
        let edge = (3.0 * f * variance).sqrt() as f32;
        let n = batch * (frames + 1) * bins;
        let mut re = Vec::with_capacity(n);
        let mut im = Vec::with_capacity(n);
        for _ in 0..batch * (frames + 1) {
            for kb in 0..bins {
                let is_edge = kb == 0 || kb == bins - 1;
                let s = if is_edge { edge } else { inner };
                re.push(rng.uniform(-1.0, 1.0) * s);
                im.push(if is_edge {
                    0.0
                } else {
                    rng.uniform(-1.0, 1.0) * s
                });
            }
        }
        let noise_re = Tensor::from_data(TensorData::new(re, [batch, frames + 1, bins]), device);
        let noise_im = Tensor::from_data(TensorData::new(im, [batch, frames + 1, bins]), device);
        let window: Vec<f32> = (0..NOISE_FRAME)
            .map(|n| (std::f64::consts::PI * (n as f64 + 0.5) / f).sin() as f32)
            .collect();
        let window = Tensor::from_data(TensorData::new(window, [1, 1, NOISE_FRAME]), device);
        let alpha: Vec<f32> = (0..HOP).map(|n| n as f32 / HOP as f32).collect();
        let alpha = Tensor::from_data(TensorData::new(alpha, [1, 1, HOP, 1]), device);
        let band_to_bin = Tensor::from_data(
            TensorData::new(
                band_to_bin_matrix(n_bands, bins, NYQUIST_HZ),
                [n_bands, bins],
            ),
            device,
        );
        Self {
            sines,
            nyquist_mask,
            body_lower,
            body_upper,
            body_frac,
            noise_re,
            noise_im,
            window,
            alpha,
            band_to_bin,
        }
    }
}

/// Repeats the last frame once along dim 1: `[B, T, X]` → `[B, T + 1, X]`.
fn extend_last(x: Tensor<3>) -> Tensor<3> {
    let [b, t, n] = x.dims();
    let last = x.clone().slice([0..b, t - 1..t, 0..n]);
    Tensor::cat(vec![x, last], 1)
}

/// The body response's linear gain at every harmonic, `[B, T, H]`, interpolated in dB between
/// bins as `timbre_model::body::body_gain_db`.
fn body_gain(body_db: Tensor<1>, c: &SynthConstants) -> Tensor<3> {
    let [b, t, h] = c.body_frac.dims();
    let lower = body_db
        .clone()
        .select(0, c.body_lower.clone())
        .reshape([b, t, h]);
    let upper = body_db.select(0, c.body_upper.clone()).reshape([b, t, h]);
    let db = lower.clone() + (upper - lower) * c.body_frac.clone();
    (db * (std::f64::consts::LN_10 / 20.0)).exp()
}

/// The harmonic part, `[B, T · 64]`.
pub fn harmonic(controls: &ControlTensors, c: &SynthConstants) -> Tensor<2> {
    let [b, t, h] = controls.harmonics.dims();
    let mut dist = controls.harmonics.clone() * c.nyquist_mask.clone();
    if let Some(body) = &controls.body_db {
        dist = dist * body_gain(body.clone(), c);
    }
    let sum = dist.clone().sum_dim(2).clamp_min(1e-7); // [B, T, 1]
    let amps = dist / sum * controls.amplitude.clone(); // [B, T, H]
    let next = extend_last(amps.clone()).slice([0..b, 1..t + 1, 0..h]);
    let now = c.sines.clone().matmul(amps.reshape([b, t, h, 1])); // [B, T, 64, 1]
    let later = c.sines.clone().matmul(next.reshape([b, t, h, 1]));
    let out = now.clone() + (later - now) * c.alpha.clone();
    out.reshape([b, t * HOP])
}

/// The filtered noise, `[B, T · 64]`.
pub fn noise(controls: &ControlTensors, c: &SynthConstants) -> Tensor<2> {
    let [b, t, _] = controls.noise.dims();
    let mags = extend_last(controls.noise.clone()); // [B, T + 1, bands]
    let response = mags.matmul(c.band_to_bin.clone().unsqueeze::<3>()); // [B, T + 1, bins]
    let re = response.clone() * c.noise_re.clone();
    let im = response * c.noise_im.clone();
    let frames = irfft(re, im, 2, Some(NOISE_FRAME)) * c.window.clone(); // [B, T + 1, F]
    let half = NOISE_FRAME / 2;
    let tails = frames.clone().slice([0..b, 0..t, half..NOISE_FRAME]);
    let heads = frames.slice([0..b, 1..t + 1, 0..half]);
    (tails + heads).reshape([b, t * HOP])
}

/// `dry + dry ∗ ir` (linear convolution by FFT, truncated to the input length).
pub fn reverb(dry: Tensor<2>, ir: Tensor<1>) -> Tensor<2> {
    let [b, l] = dry.dims();
    let n_ir = ir.dims()[0];
    let n = (l + n_ir).next_power_of_two();
    let (dr, di) = rfft(dry.clone(), 1, Some(n));
    let (hr, hi) = rfft(ir.unsqueeze::<2>(), 1, Some(n));
    let re = dr.clone() * hr.clone() - di.clone() * hi.clone();
    let im = dr * hi + di * hr;
    let wet = irfft(re, im, 1, Some(n)).slice([0..b, 0..l]);
    dry + wet
}

/// Taps of the IR's body at 16 kHz ([`IR_BODY_SECONDS`]).
pub fn body_taps() -> usize {
    (IR_BODY_SECONDS * SAMPLE_RATE as f64).round() as usize
}

/// `ir` (the wet part, `ir[0] = 0`) with its body, its first `taps`, turned into minimum
/// phase as the engine's Low latency does (`timbre_engine::ir::minimum_phase_body`): `δ +
/// body` keeps its magnitude response and takes the least delay a filter of that response can
/// have. The rest of `ir` (the room) is unchanged. Differentiable: the real cepstrum by burn's
/// `rfft` and `irfft` at [`minimum_phase_fft_len`], folded by [`cepstrum_fold`] and
/// exponentiated, as `timbre_dsp::offline::minimum_phase` does. The log magnitude is floored smoothly, `½ ln(|H|² +
/// ε²)` with `ε` at [`MIN_PHASE_FLOOR`] of the peak (held constant for the gradient), so the
/// gradient stays finite at spectral zeros. A body already in minimum phase comes back as it
/// is (up to that floor and rounding).
pub fn minimum_phase_body(ir: Tensor<1>, taps: usize) -> Tensor<1> {
    let len = ir.dims()[0];
    let taps = taps.min(len);
    if taps == 0 {
        return ir;
    }
    let device = ir.device();
    let n = minimum_phase_fft_len(taps);
    let mut delta = vec![0.0f32; taps];
    delta[0] = 1.0;
    let delta = Tensor::<1>::from_data(TensorData::new(delta, [taps]), &device);
    let shaped = ir.clone().slice(0..taps) + delta.clone();
    let (re, im) = rfft(shaped.unsqueeze::<2>(), 1, Some(n));
    let power = re.clone() * re + im.clone() * im;
    let floor = power.clone().max().detach().reshape([1, 1]) * (MIN_PHASE_FLOOR * MIN_PHASE_FLOOR);
    let log_magnitude = (power + floor).log() * 0.5;
    let cepstrum = irfft(
        log_magnitude.clone(),
        log_magnitude.zeros_like(),
        1,
        Some(n),
    );
    let fold: Vec<f32> = (0..n).map(|q| cepstrum_fold(q, n) as f32).collect();
    let folded = cepstrum * Tensor::<2>::from_data(TensorData::new(fold, [1, n]), &device);
    let (log_re, phase) = rfft(folded, 1, Some(n));
    let magnitude = log_re.exp();
    let minimum = irfft(
        magnitude.clone() * phase.clone().cos(),
        magnitude * phase.sin(),
        1,
        Some(n),
    )
    .slice([0..1, 0..taps])
    .reshape([taps]);
    let body = minimum - delta;
    if taps == len {
        body
    } else {
        Tensor::cat(vec![body, ir.slice(taps..len)], 0)
    }
}

/// The whole synth: harmonics + noise, then the reverb. `[B, T · 64]`.
pub fn synthesize(controls: &ControlTensors, ir: Tensor<1>, c: &SynthConstants) -> Tensor<2> {
    reverb(harmonic(controls, c) + noise(controls, c), ir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use timbre_dsp::harmonic::HarmonicBank;
    use timbre_dsp::noise::FilteredNoise;

    fn tensor3(v: Vec<f32>, shape: [usize; 3], device: &Device) -> Tensor<3> {
        Tensor::from_data(TensorData::new(v, shape), device)
    }

    fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    fn controls(
        amp: f32,
        harmonics: &[f32],
        noise: &[f32],
        frames: usize,
        device: &Device,
    ) -> ControlTensors {
        let (h, nb) = (harmonics.len(), noise.len());
        ControlTensors {
            amplitude: tensor3(vec![amp; frames], [1, frames, 1], device),
            harmonics: tensor3(harmonics.repeat(frames), [1, frames, h], device),
            noise: tensor3(noise.repeat(frames), [1, frames, nb], device),
            body_db: None,
        }
    }

    #[test]
    fn noise_frame_is_the_plugins() {
        assert_eq!(
            FilteredNoise::new(16_000.0, 65, 8_000.0, 1).frame_len(),
            NOISE_FRAME
        );
        // With 65 bands over 0..8 kHz each bin of the 128-point FFT is one band.
        let m = band_to_bin_matrix(65, 65, 8_000.0);
        for i in 0..65 {
            for k in 0..65 {
                assert!(
                    (m[i * 65 + k] - if i == k { 1.0 } else { 0.0 }).abs() < 1e-5,
                    "{i} {k}"
                );
            }
        }
    }

    /// Constant controls: the tensor synth equals the plugin's oscillator bank sample by sample.
    #[test]
    fn harmonic_matches_the_plugins_bank() {
        let device = Device::flex();
        let frames = 50;
        let f0 = 1_900.0; // harmonics 5.. are at or above 8 kHz and must be silent
        let dist = [1.0, 0.5, 0.25, 0.3, 0.9, 0.8];
        let c = controls(0.7, &dist, &[0.0; 65], frames, &device);
        let mut rng = Rng::new(1);
        let consts = SynthConstants::new(
            &vec![f0; frames],
            1,
            frames,
            dist.len(),
            65,
            &mut rng,
            &device,
        );
        let ours = to_vec(harmonic(&c, &consts));
        let mut amps = dist.to_vec();
        timbre_model::normalize_harmonics(&mut amps, f0, NYQUIST_HZ);
        amps.iter_mut().for_each(|a| *a *= 0.7);
        let mut bank = HarmonicBank::new(SAMPLE_RATE as f64);
        bank.set_target(f0, &amps, 0);
        let mut theirs = vec![0.0; frames * HOP];
        bank.process(&mut theirs);
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!((a - b).abs() < 2e-4, "sample {i}: {a} vs {b}");
        }
    }

    /// With a body response, the tensor synth plays what the plugin plays: the distribution
    /// shaped by `timbre_model::apply_body` at each frame's f0, then normalized. Two pitches
    /// (one unvoiced frame run), gains moving between bins.
    #[test]
    fn the_body_response_is_the_plugins() {
        let device = Device::flex();
        let (frames, h) = (6, 8);
        let f0s = [110.0, 110.0, 0.0, 347.0, 347.0, 347.0];
        let dist: Vec<f32> = (0..h).map(|k| 1.0 / (k + 1) as f32).collect();
        let body: Vec<f32> = (0..timbre_model::body::BODY_BINS)
            .map(|i| 9.0 * (i as f32 * 0.37).sin())
            .collect();
        let mut c = controls(0.5, &dist, &[0.0; 65], frames, &device);
        c.body_db = Some(Tensor::from_data(
            TensorData::new(body.clone(), [body.len()]),
            &device,
        ));
        let consts = SynthConstants::new(&f0s, 1, frames, h, 65, &mut Rng::new(1), &device);
        // Compare the audio against the same synth given the distributions already shaped by
        // the plugin's function (and no body of its own).
        let ours = to_vec(harmonic(&c, &consts));
        let shaped: Vec<f32> = f0s
            .iter()
            .flat_map(|&f0| {
                let mut d = dist.clone();
                timbre_model::apply_body(&mut d, f0, &body);
                d
            })
            .collect();
        let mut plain = controls(0.5, &dist, &[0.0; 65], frames, &device);
        plain.harmonics = tensor3(shaped, [1, frames, h], &device);
        let theirs = to_vec(harmonic(&plain, &consts));
        let unshaped = to_vec(harmonic(
            &controls(0.5, &dist, &[0.0; 65], frames, &device),
            &consts,
        ));
        let peak = theirs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(
                (a - b).abs() < 1e-5 * peak.max(1.0),
                "sample {i}: {a} vs {b}"
            );
        }
        let moved = ours
            .iter()
            .zip(&unshaped)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(moved > 0.01 * peak, "the body changed nothing");
    }

    /// Amplitudes move linearly from frame t (at sample 64 t) to frame t + 1.
    #[test]
    fn harmonic_amplitude_ramps_between_frames() {
        let device = Device::flex();
        let frames = 4;
        // f0 = 4 kHz: sin(2π·k·θ) with θ stepping by 1/4 cycle → 0, 1, 0, −1, ...
        let amp = tensor3(vec![0.0, 1.0, 1.0, 1.0], [1, frames, 1], &device);
        let c = ControlTensors {
            amplitude: amp,
            harmonics: tensor3(vec![1.0; frames], [1, frames, 1], &device),
            noise: tensor3(vec![0.0; frames * 65], [1, frames, 65], &device),
            body_db: None,
        };
        let consts =
            SynthConstants::new(&[4_000.0; 4], 1, frames, 1, 65, &mut Rng::new(0), &device);
        let out = to_vec(harmonic(&c, &consts));
        // Sample n = 1 of frame 0: sine 1, amplitude 1/64.
        assert!((out[1] - 1.0 / 64.0).abs() < 1e-5, "{}", out[1]);
        // Sample 61 of frame 0: sine 1 (61 = 4·15 + 1), amplitude 61/64.
        assert!((out[61] - 61.0 / 64.0).abs() < 1e-5, "{}", out[61]);
        assert!((out[64 + 1] - 1.0).abs() < 1e-5);
    }

    /// White-noise power: σ² · mean|H|² with σ² = 1/3 (uniform [-1, 1) at 16 kHz), as the
    /// plugin's generator.
    #[test]
    fn noise_power_matches_the_definition() {
        let device = Device::flex();
        let frames = 4000;
        let m = 0.5f32;
        let c = controls(0.0, &[1.0], &[m; 65], frames, &device);
        let consts = SynthConstants::new(
            &vec![100.0; frames],
            1,
            frames,
            1,
            65,
            &mut Rng::new(3),
            &device,
        );
        let out = to_vec(noise(&c, &consts));
        let var = out.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / out.len() as f64;
        let want = (m as f64).powi(2) / 3.0;
        assert!(
            (var / want - 1.0).abs() < 0.05,
            "variance {var}, want {want}"
        );
        // The plugin's generator with the same magnitudes.
        let mut plugin = FilteredNoise::new(16_000.0, 65, 8_000.0, 9);
        plugin.set_magnitudes(&[m; 65]);
        let mut buf = vec![0.0; frames * HOP];
        plugin.process(&mut buf);
        let pvar =
            buf[256..].iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / (buf.len() - 256) as f64;
        assert!((var / pvar - 1.0).abs() < 0.07, "ours {var}, plugin {pvar}");
    }

    #[test]
    fn reverb_adds_the_convolution() {
        let device = Device::flex();
        let dry: Vec<f32> = (0..100).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
        let mut ir = vec![0.0f32; 20];
        ir[0] = 0.0;
        ir[1] = 0.5;
        ir[10] = 0.25;
        let d = Tensor::<2>::from_data(TensorData::new(dry.clone(), [1, 100]), &device);
        let i = Tensor::<1>::from_data(TensorData::new(ir, [20]), &device);
        let out = to_vec(reverb(d, i));
        for n in 0..100 {
            let want = dry[n]
                + if n >= 1 { 0.5 * dry[n - 1] } else { 0.0 }
                + if n >= 10 { 0.25 * dry[n - 10] } else { 0.0 };
            assert!((out[n] - want).abs() < 1e-4, "{n}: {} vs {want}", out[n]);
        }
    }

    /// A body with a late peak (the kind of delay a learned body has), its room after it.
    fn delayed_body_ir(len: usize) -> Vec<f32> {
        let mut ir: Vec<f32> = (0..len)
            .map(|n| 0.05 * (-(n as f32) / 150.0).exp() * ((n * 7919 % 113) as f32 / 56.0 - 1.0))
            .collect();
        ir[0] = 0.0;
        ir[96] += 3.0;
        ir[200] -= 1.5;
        ir
    }

    #[test]
    fn the_minimum_phase_body_is_the_engines() {
        let device = Device::flex();
        let taps = body_taps();
        assert_eq!(taps, 640);
        let ir = delayed_body_ir(900);
        let t = Tensor::<1>::from_data(TensorData::new(ir.clone(), [ir.len()]), &device);
        let ours = to_vec(minimum_phase_body(t, taps));
        // The engine's: timbre_dsp's f64 real cepstrum on δ + body, then δ taken off.
        let mut mix = ir[..taps].to_vec();
        mix[0] += 1.0;
        let mut want = timbre_dsp::offline::minimum_phase(&mix, taps);
        want[0] -= 1.0;
        let peak = want.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        for n in 0..taps {
            assert!(
                (ours[n] - want[n]).abs() < 1e-3 * peak.max(1.0),
                "{n}: {} vs {}",
                ours[n],
                want[n]
            );
        }
        // The room is untouched.
        assert_eq!(&ours[taps..], &ir[taps..]);
        // It moved the energy forward (minimum phase holds the most energy in every prefix):
        // the learned body's peak was at tap 96.
        let mut before = ir[..taps].to_vec();
        before[0] += 1.0;
        let mut after = ours[..taps].to_vec();
        after[0] += 1.0;
        let energy = |x: &[f32], n: usize| x[..n].iter().map(|v| v * v).sum::<f32>();
        for n in 1..=taps {
            assert!(energy(&after, n) >= energy(&before, n) - 1e-3, "prefix {n}");
        }
        assert!(
            energy(&after, 96) > energy(&before, 96) + 0.1,
            "{} vs {}",
            energy(&after, 96),
            energy(&before, 96)
        );
        // A minimum-phase body comes back as it is.
        let t = Tensor::<1>::from_data(TensorData::new(ours.clone(), [ours.len()]), &device);
        let again = to_vec(minimum_phase_body(t, taps));
        for n in 0..taps {
            assert!(
                (again[n] - ours[n]).abs() < 1e-3,
                "{n}: {} vs {}",
                again[n],
                ours[n]
            );
        }
    }

    #[test]
    fn the_minimum_phase_body_passes_finite_gradients() {
        let device = Device::flex().autodiff();
        let ir = delayed_body_ir(700);
        let t = Tensor::<1>::from_data(TensorData::new(ir, [700]), &device).require_grad();
        let out = minimum_phase_body(t.clone(), body_taps());
        let weights: Vec<f32> = (0..700).map(|n| ((n % 17) as f32 - 8.0) / 8.0).collect();
        let loss = (out * Tensor::<1>::from_data(TensorData::new(weights, [700]), &device)).sum();
        let grads = loss.backward();
        let g = to_vec(t.grad(&grads).expect("a gradient"));
        assert!(g.iter().all(|x| x.is_finite()));
        assert!(
            g.iter().any(|&x| x.abs() > 1e-3),
            "no gradient reached the body"
        );
    }

    #[test]
    fn phases_integrate_f0() {
        // 250 Hz for one frame at 16 kHz: 64 samples advance 1 cycle.
        let p = phases(&[250.0, 250.0]);
        assert_eq!(p[0], 0.0);
        assert!((p[32] - 0.5).abs() < 1e-6);
        assert!(p[64].abs() < 1e-6 || (p[64] - 1.0).abs() < 1e-6);
    }
}

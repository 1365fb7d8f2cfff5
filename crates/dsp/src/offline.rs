//! Offline helpers that allocate: for loading files, preparing impulse responses and training,
//! never for the audio thread.

use audioadapter_buffers::direct::SequentialSlice;
use audioadapter_buffers::owned::InterleavedOwned;
use rubato::{
    Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

use crate::resample::{ResampleError, MAX_RATE_HZ, MIN_RATE_HZ};

/// Resamples a whole mono clip from `from_hz` to `to_hz` with a high-quality sinc filter
/// (rubato), with the filter's delay removed: sample `n` of the output is at time `n / to_hz`
/// to within half a sample (rubato's reported delay is not exact to the sub-sample).
/// The output has `round(len · to_hz / from_hz)` samples. Allocates.
pub fn resample_clip(samples: &[f32], from_hz: f64, to_hz: f64) -> Result<Vec<f32>, ResampleError> {
    for rate in [from_hz, to_hz] {
        if !rate.is_finite() || !(MIN_RATE_HZ..=MAX_RATE_HZ).contains(&rate) {
            return Err(if rate == from_hz {
                ResampleError::InvalidHostRate(rate)
            } else {
                ResampleError::InvalidAnalysisRate(rate)
            });
        }
    }
    let out_len = (samples.len() as f64 * to_hz / from_hz).round() as usize;
    if samples.is_empty() || from_hz == to_hz {
        return Ok(samples.to_vec());
    }
    let params = SincInterpolationParameters {
        sinc_len: 128,
        f_cutoff: Some(0.95),
        interpolation: SincInterpolationType::Cubic,
        oversampling_factor: 128,
        window: WindowFunction::BlackmanHarris2,
    };
    let mut resampler =
        Async::<f32>::new_sinc(to_hz / from_hz, 1.0, &params, 1024, 1, FixedAsync::Input)
            .map_err(|e| ResampleError::Construction(e.to_string()))?;
    let input = SequentialSlice::new(samples, 1, samples.len())
        .map_err(|e| ResampleError::Construction(e.to_string()))?;
    let needed = resampler.process_all_needed_output_len(samples.len());
    let mut output = InterleavedOwned::<f32>::new(0.0, 1, needed);
    let (_, written) = resampler
        .process_all_into_buffer(&input, &mut output, samples.len(), None)
        .map_err(|e| ResampleError::Construction(e.to_string()))?;
    let mut data = output.take_data();
    data.truncate(written);
    data.resize(out_len, 0.0);
    Ok(data)
}

/// The minimum-phase filter with the magnitude response of `h`, cut to its first `len` taps.
///
/// Among all causal filters with one magnitude response, the minimum-phase one puts its
/// energy earliest: it shapes the spectrum exactly as `h` does with the least delay. Computed
/// by the real cepstrum (Oppenheim & Schafer, "Discrete-Time Signal Processing", 3rd ed.,
/// §13.5): the log magnitude, floored at [`MIN_PHASE_FLOOR`] of its peak so that a zero on
/// the unit circle stays finite, is folded onto positive quefrencies and exponentiated, on an
/// FFT at least [`MIN_PHASE_OVERSAMPLING`] times longer than `h` and `len` so that the cepstrum
/// hardly aliases. A filter that is already minimum phase comes back as it was (to rounding);
/// one that is all zeros comes back as zeros. Allocates.
pub fn minimum_phase(h: &[f32], len: usize) -> Vec<f32> {
    if h.iter().all(|&x| x == 0.0) || len == 0 {
        return vec![0.0; len];
    }
    let n = minimum_phase_fft_len(h.len().max(len));
    minimum_phase_of_magnitude(&magnitude_response(h, n), len)
}

/// The magnitude of `h`'s response at the `n / 2 + 1` frequencies `k / n` of its sample rate
/// (`k` from 0 to `n / 2`): `h` zero-padded (or cut) to `n` taps and transformed. `n` must be
/// even and at least 2. Allocates.
pub fn magnitude_response(h: &[f32], n: usize) -> Vec<f64> {
    let forward = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut time = forward.make_input_vec();
    for (t, &x) in time.iter_mut().zip(h) {
        *t = f64::from(x);
    }
    let mut spectrum = forward.make_output_vec();
    forward
        .process(&mut time, &mut spectrum)
        .expect("buffers come from the plan");
    spectrum.iter().map(|c| c.norm()).collect()
}

/// The minimum-phase filter whose magnitude response is `magnitude`, given at the `n / 2 + 1`
/// frequencies `k / n` of the sample rate (`k` from 0 to `n / 2`, `n` even), cut to its first
/// `len` taps (zeros past `n`). The step of [`minimum_phase`] after the forward transform, for
/// callers that build the response themselves (a filter brought to another sample rate, say);
/// `n` should be at least [`minimum_phase_fft_len`] of the filter's length so that the cepstrum
/// hardly aliases. All zeros give zeros. Allocates.
pub fn minimum_phase_of_magnitude(magnitude: &[f64], len: usize) -> Vec<f32> {
    let peak = magnitude.iter().cloned().fold(0.0, f64::max);
    if magnitude.len() < 2 || peak <= 0.0 || !peak.is_finite() {
        return vec![0.0; len];
    }
    let n = 2 * (magnitude.len() - 1);
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(n);
    let inverse = planner.plan_fft_inverse(n);
    let floor = peak * MIN_PHASE_FLOOR;
    // The real cepstrum: the inverse transform of the log magnitude (real and even).
    let mut spectrum: Vec<Complex<f64>> = magnitude
        .iter()
        .map(|&m| Complex::new(m.max(floor).ln(), 0.0))
        .collect();
    let mut time = inverse.make_output_vec();
    inverse
        .process(&mut spectrum, &mut time)
        .expect("buffers come from the plan");
    let scale = 1.0 / n as f64;
    for (q, c) in time.iter_mut().enumerate() {
        *c *= cepstrum_fold(q, n) * scale;
    }
    forward
        .process(&mut time, &mut spectrum)
        .expect("buffers come from the plan");
    for c in spectrum.iter_mut() {
        *c = c.exp();
    }
    // The DC and Nyquist bins of a real signal's spectrum are real.
    spectrum[0].im = 0.0;
    spectrum[n / 2].im = 0.0;
    inverse
        .process(&mut spectrum, &mut time)
        .expect("buffers come from the plan");
    let mut out: Vec<f32> = time.iter().take(len).map(|&x| (x * scale) as f32).collect();
    out.resize(len, 0.0);
    out
}

/// The FFT length [`minimum_phase`] works at for a filter of `len` taps: at least
/// [`MIN_PHASE_OVERSAMPLING`] times longer, a power of two, at least 64.
pub fn minimum_phase_fft_len(len: usize) -> usize {
    (len * MIN_PHASE_OVERSAMPLING).next_power_of_two().max(64)
}

/// The weight that folds a real cepstrum of length `n` onto its causal part, at quefrency
/// `q`: 1 at 0 and `n / 2`, 2 between them, 0 after (the negative quefrencies).
pub fn cepstrum_fold(q: usize, n: usize) -> f64 {
    match q {
        0 => 1.0,
        q if q == n / 2 => 1.0,
        q if q < n / 2 => 2.0,
        _ => 0.0,
    }
}

/// How far below its peak [`minimum_phase`] floors a magnitude response (−120 dB).
pub const MIN_PHASE_FLOOR: f64 = 1e-6;

/// How many times longer than the filter [`minimum_phase`]'s FFT is at least.
pub const MIN_PHASE_OVERSAMPLING: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampled_sine_keeps_frequency_phase_and_amplitude() {
        let f = 440.0;
        let from = 44_100.0;
        let to = 48_000.0;
        let x: Vec<f32> = (0..44_100)
            .map(|n| (2.0 * std::f64::consts::PI * f * n as f64 / from).sin() as f32)
            .collect();
        let y = resample_clip(&x, from, to).unwrap();
        assert_eq!(y.len(), 48_000);
        // Away from the edges, fit y[n] ≈ a·sin(ωn) + b·cos(ωn) by least squares: the
        // amplitude must be kept, the leftover delay under half a sample, and the residual
        // tiny (the frequency is right).
        let w = 2.0 * std::f64::consts::PI * f / to;
        let range = 1000..47_000;
        let (mut ss, mut sc, mut cc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for n in range.clone() {
            let (sn, cn) = ((w * n as f64).sin(), (w * n as f64).cos());
            let v = y[n] as f64;
            ss += sn * sn;
            sc += sn * cn;
            cc += cn * cn;
            ys += v * sn;
            yc += v * cn;
        }
        let det = ss * cc - sc * sc;
        let a = (ys * cc - yc * sc) / det;
        let b = (yc * ss - ys * sc) / det;
        let amplitude = (a * a + b * b).sqrt();
        let delay_samples = -b.atan2(a) / w;
        assert!((amplitude - 1.0).abs() < 2e-3, "amplitude {amplitude}");
        assert!(
            delay_samples.abs() < 0.5,
            "leftover delay {delay_samples} samples"
        );
        let residual = range
            .map(|n| {
                let fit = a * (w * n as f64).sin() + b * (w * n as f64).cos();
                (y[n] as f64 - fit).abs()
            })
            .fold(0.0, f64::max);
        assert!(residual < 2e-3, "residual {residual}");
    }

    #[test]
    fn bad_rates_are_refused() {
        assert!(resample_clip(&[0.0; 10], 0.0, 16_000.0).is_err());
        assert!(resample_clip(&[0.0; 10], 16_000.0, f64::NAN).is_err());
    }

    /// A zero outside the unit circle is reflected inside: `1 − 2z⁻¹` has the magnitude of
    /// `2 − z⁻¹`, its minimum-phase form (Oppenheim & Schafer's example), and a delayed
    /// impulse loses its delay.
    #[test]
    fn minimum_phase_reflects_zeros_and_drops_delay() {
        let h = minimum_phase(&[1.0, -2.0], 2);
        assert!(
            (h[0] - 2.0).abs() < 1e-3 && (h[1] + 1.0).abs() < 1e-3,
            "{h:?}"
        );
        let h = minimum_phase(&[0.0, 0.0, 0.0, 0.7], 4);
        assert!((h[0] - 0.7).abs() < 1e-4, "{h:?}");
        assert!(h[1..].iter().all(|x| x.abs() < 1e-4), "{h:?}");
        // Already minimum phase (its zeros at 0.5 and -0.4): unchanged.
        let h = [1.0f32, 0.1, -0.2];
        let m = minimum_phase(&h, 3);
        for (a, b) in h.iter().zip(&m) {
            assert!((a - b).abs() < 1e-4, "{m:?}");
        }
        assert_eq!(minimum_phase(&[0.0; 5], 3), vec![0.0; 3]);
    }

    /// A ringing, delayed, mixed-phase filter keeps its magnitude response to 0.05 dB, and
    /// every prefix of the minimum-phase filter holds at least the energy of the same prefix of
    /// the original (the defining property), most of it far sooner.
    #[test]
    fn minimum_phase_keeps_the_magnitude_and_comes_first() {
        let mut rng = crate::rng::NoiseRng::new(7);
        let h: Vec<f32> = (0..400)
            .map(|n| {
                let t = n as f32;
                let swell = (-((t - 120.0) / 60.0).powi(2)).exp();
                swell * ((0.3 * t).sin() + 0.25 * rng.next_bipolar())
            })
            .collect();
        let m = minimum_phase(&h, 800);
        let (a, b) = (
            timbre_testkit::magnitude_db(&h, 256),
            timbre_testkit::magnitude_db(&m, 256),
        );
        let top = a.iter().cloned().fold(f64::MIN, f64::max);
        for (k, (x, y)) in a.iter().zip(&b).enumerate() {
            if *x > top - 60.0 {
                assert!(
                    (x - y).abs() < 0.05,
                    "bin {k}: {x:.3} against {y:.3} dB (top {top:.2})"
                );
            }
        }
        let energy = |f: &[f32], upto: usize| f[..upto].iter().map(|x| x * x).sum::<f32>();
        let total = energy(&h, 400);
        for upto in 1..=400 {
            assert!(
                energy(&m, upto) >= energy(&h, upto) - 1e-4 * total,
                "prefix {upto}"
            );
        }
        let centroid = |f: &[f32]| {
            f.iter()
                .enumerate()
                .map(|(n, x)| n as f32 * x * x)
                .sum::<f32>()
                / energy(f, f.len())
        };
        // The original's energy is centred near tap 120; the minimum-phase filter's at about
        // 75, what the ringing of its resonance at 0.3 rad takes.
        let (original, minimum) = (centroid(&h), centroid(&m));
        assert!(minimum < original - 40.0, "{minimum} against {original}");
    }
}

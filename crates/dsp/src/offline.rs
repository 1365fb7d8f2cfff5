//! Offline helpers that allocate: for loading files, preparing impulse responses and training,
//! never for the audio thread.

use audioadapter_buffers::direct::SequentialSlice;
use audioadapter_buffers::owned::InterleavedOwned;
use rubato::{
    Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

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
}

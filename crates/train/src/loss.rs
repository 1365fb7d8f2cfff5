//! The multi-scale spectral loss (DDSP): for FFT sizes 2048, 1024, 512, 256, 128 and 64, a
//! periodic-Hann STFT with 75% overlap (hop n/4, centred frames with reflect padding), and the
//! mean absolute difference of the magnitudes plus the mean absolute difference of their logs
//! (magnitudes floored at 1e-5 before the log). The six scales are summed.
//!
//! The STFT is burn 0.22's `burn::signal::stft`, FFT-based (O(N log N)) and differentiable on
//! the Flex CPU backend. Magnitudes are `sqrt(max(re² + im², 1e-12))`, so silence has a finite
//! gradient. The tests check the gradient of the magnitude op by finite differences and the
//! forward pass against a DFT written as a matrix product.

use burn::signal::{hann_window, stft, StftOptions};
use burn::tensor::Tensor;

/// FFT sizes of the loss.
pub const FFT_SIZES: [usize; 6] = [2048, 1024, 512, 256, 128, 64];
/// Floor of the magnitudes before the log.
pub const LOG_FLOOR: f64 = 1e-5;
/// Floor of the power before the square root.
pub const POWER_FLOOR: f64 = 1e-12;

/// STFT options of one scale: hop `n / 4`, centred, one-sided.
pub fn options(n_fft: usize) -> StftOptions {
    StftOptions { n_fft, hop_length: n_fft / 4, win_length: None, center: true, onesided: true }
}

/// Magnitude STFT `[B, frames, n/2 + 1]` of `signal` `[B, L]` (needs `L > n/2`).
pub fn stft_magnitude(signal: Tensor<2>, n_fft: usize) -> Tensor<3> {
    let device = signal.device();
    let window = hann_window(n_fft, true, &device);
    let spec = stft(signal, Some(window), options(n_fft)); // [B, frames, bins, 2]
    let power: Tensor<3> = spec.square().sum_dim(3).squeeze_dim(3);
    power.clamp_min(POWER_FLOOR).sqrt()
}

/// The loss of one scale: `mean|M_p − M_t| + mean|log M_p − log M_t|`.
pub fn scale_loss(pred: Tensor<2>, target: Tensor<2>, n_fft: usize) -> Tensor<1> {
    let mp = stft_magnitude(pred, n_fft);
    let mt = stft_magnitude(target, n_fft);
    let lin = (mp.clone() - mt.clone()).abs().mean();
    let log = (mp.clamp_min(LOG_FLOOR).log() - mt.clamp_min(LOG_FLOOR).log()).abs().mean();
    lin + log
}

/// The multi-scale spectral loss of `pred` against `target` (`[B, L]` each, `L > 1024`), a
/// one-element tensor. Only scales with `n/2 < L` are used.
pub fn spectral_loss(pred: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    let len = pred.dims()[1];
    let target = target.detach();
    let mut total: Option<Tensor<1>> = None;
    for n in FFT_SIZES.into_iter().filter(|&n| n / 2 < len) {
        let l = scale_loss(pred.clone(), target.clone(), n);
        total = Some(match total {
            Some(t) => t + l,
            None => l,
        });
    }
    total.expect("the signal is too short for every FFT size")
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn signal(len: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::rng::Rng::new(seed);
        (0..len)
            .map(|i| (i as f32 * 0.07).sin() * 0.5 + (i as f32 * 0.31).sin() * 0.2 + rng.uniform(-0.1, 0.1))
            .collect()
    }

    /// The naive DFT as a matrix product: frames (reflect-padded, hop n/4, periodic Hann)
    /// times cos/sin matrices, in f64. Returns magnitudes `[frames][bins]`.
    fn dft_magnitude(x: &[f32], n: usize) -> Vec<Vec<f64>> {
        let pad = n / 2;
        let len = x.len();
        // Reflect padding without repeating the edge sample (PyTorch's "reflect").
        let at = |i: isize| -> f64 {
            let i = if i < 0 { -i } else if i >= len as isize { 2 * (len as isize - 1) - i } else { i };
            x[i as usize] as f64
        };
        let padded: Vec<f64> = (-(pad as isize)..(len + pad) as isize).map(at).collect();
        let hop = n / 4;
        let frames = 1 + (padded.len() - n) / hop;
        let window: Vec<f64> =
            (0..n).map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()).collect();
        let bins = n / 2 + 1;
        // cos and sin matrices [n, bins].
        let cos: Vec<f64> = (0..n * bins)
            .map(|ij| (2.0 * std::f64::consts::PI * ((ij / bins) * (ij % bins)) as f64 / n as f64).cos())
            .collect();
        let sin: Vec<f64> = (0..n * bins)
            .map(|ij| (2.0 * std::f64::consts::PI * ((ij / bins) * (ij % bins)) as f64 / n as f64).sin())
            .collect();
        (0..frames)
            .map(|f| {
                let frame: Vec<f64> = (0..n).map(|i| padded[f * hop + i] * window[i]).collect();
                (0..bins)
                    .map(|k| {
                        let re: f64 = (0..n).map(|i| frame[i] * cos[i * bins + k]).sum();
                        let im: f64 = (0..n).map(|i| frame[i] * sin[i * bins + k]).sum();
                        (re * re + im * im).sqrt()
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn stft_magnitude_matches_a_dft_matmul() {
        let device = Device::flex();
        let len = 700;
        let x = signal(len, 1);
        for n in [64, 128, 256, 512] {
            let t = Tensor::<2>::from_data(TensorData::new(x.clone(), [1, len]), &device);
            let got = stft_magnitude(t, n).into_data().to_vec::<f32>().unwrap();
            let want = dft_magnitude(&x, n);
            let bins = n / 2 + 1;
            assert_eq!(got.len(), want.len() * bins, "n = {n}: frame count");
            let peak = want.iter().flatten().fold(0.0f64, |m, v| m.max(*v));
            for (f, row) in want.iter().enumerate() {
                for (k, w) in row.iter().enumerate() {
                    let g = got[f * bins + k] as f64;
                    // f32 FFT against f64 DFT: errors are a few ulps of the peak.
                    assert!((g - w).abs() <= 1e-5 * peak + 1e-5, "n = {n}, frame {f}, bin {k}: {g} vs {w}");
                }
            }
        }
    }

    /// d/dx of `Σ w ⊙ |STFT(x)|` by autodiff against central differences (in f64 on the
    /// f32 forward, so the step is large enough to beat rounding).
    #[test]
    fn stft_magnitude_gradient_matches_finite_differences() {
        let device = Device::flex().autodiff();
        let len = 256;
        let n = 64;
        let x = signal(len, 2);
        let mut rng = crate::rng::Rng::new(3);
        let bins = n / 2 + 1;
        let frames = 1 + len / (n / 4);
        let weights: Vec<f32> = (0..frames * bins).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let objective = |x: &[f32], device: &Device| -> (f64, Tensor<2>) {
            let t = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [1, len]), device).require_grad();
            let w = Tensor::<3>::from_data(TensorData::new(weights.clone(), [1, frames, bins]), device);
            let y = (stft_magnitude(t.clone(), n) * w).sum();
            (y.clone().into_scalar_f64(), t)
        };
        let t = Tensor::<2>::from_data(TensorData::new(x.clone(), [1, len]), &device).require_grad();
        let w = Tensor::<3>::from_data(TensorData::new(weights.clone(), [1, frames, bins]), &device);
        let y = (stft_magnitude(t.clone(), n) * w).sum();
        let grads = y.backward();
        let g = t.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap();
        let plain = Device::flex();
        let h = 1e-2f32;
        // Check an edge sample (reflect padding), an interior run, and the end.
        for i in [0usize, 1, 31, 100, 101, 102, 200, 255] {
            let mut plus = x.clone();
            plus[i] += h;
            let mut minus = x.clone();
            minus[i] -= h;
            let fd = (objective(&plus, &plain).0 - objective(&minus, &plain).0) / (2.0 * h as f64);
            let tol = 2e-2 * fd.abs().max(1.0);
            assert!((g[i] as f64 - fd).abs() <= tol, "sample {i}: autodiff {} vs finite difference {fd}", g[i]);
        }
    }

    #[test]
    fn loss_is_zero_on_identical_inputs_and_positive_otherwise() {
        let device = Device::flex();
        let len = 4096;
        let a = Tensor::<2>::from_data(TensorData::new(signal(len, 4), [1, len]), &device);
        let b = Tensor::<2>::from_data(TensorData::new(signal(len, 5), [1, len]), &device);
        let same = spectral_loss(a.clone(), a.clone()).into_scalar_f64();
        let diff = spectral_loss(a, b).into_scalar_f64();
        assert!(same.abs() < 1e-6, "{same}");
        assert!(diff > 0.01, "{diff}");
    }

    trait ScalarF64 {
        fn into_scalar_f64(self) -> f64;
    }

    impl ScalarF64 for Tensor<1> {
        fn into_scalar_f64(self) -> f64 {
            self.into_data().convert::<f32>().to_vec::<f32>().unwrap()[0] as f64
        }
    }
}

//! The multi-scale spectral distance: the training loss (`timbre-train`'s `loss` module) in
//! plain `f64` code, so the evaluation needs no burn.
//!
//! For FFT sizes 2048 … 64, a periodic-Hann STFT with 75% overlap (hop `n/4`, frames centred
//! with reflect padding by `n/2`), and the mean absolute difference of the magnitudes plus the
//! mean absolute difference of their natural logs (magnitudes floored at `1e-5`). The scales
//! are summed. Only scales with `n/2 < len` are used.

use realfft::RealFftPlanner;

/// FFT sizes of the distance (the training loss's).
pub const FFT_SIZES: [usize; 6] = [2048, 1024, 512, 256, 128, 64];
/// Floor of the magnitudes before the log.
pub const LOG_FLOOR: f64 = 1e-5;
/// Floor of the power before the square root (the trainer's).
pub const POWER_FLOOR: f64 = 1e-12;

/// Periodic Hann window of length `n`.
pub fn hann(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos())
        .collect()
}

/// Sample `i` of `x` with reflect padding (the edge sample is not repeated).
fn reflect(x: &[f32], i: isize) -> f64 {
    let len = x.len() as isize;
    let mut i = i;
    // One reflection suffices for pads shorter than the signal; loop for tiny signals.
    while i < 0 || i >= len {
        i = if i < 0 { -i } else { 2 * (len - 1) - i };
    }
    x[i as usize] as f64
}

/// Magnitude STFT of `x` at FFT size `n`: `frames × (n/2 + 1)` magnitudes,
/// `sqrt(max(re² + im², POWER_FLOOR))`. Needs `x.len() > n / 2`.
pub fn stft_magnitude(x: &[f32], n: usize) -> Vec<Vec<f64>> {
    assert!(x.len() > n / 2, "signal too short for FFT size {n}");
    let hop = n / 4;
    let pad = (n / 2) as isize;
    let frames = 1 + x.len() / hop;
    let window = hann(n);
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    (0..frames)
        .map(|f| {
            let start = (f * hop) as isize - pad;
            for (j, v) in input.iter_mut().enumerate() {
                *v = reflect(x, start + j as isize) * window[j];
            }
            fft.process(&mut input, &mut spectrum)
                .expect("buffers come from the plan");
            spectrum
                .iter()
                .map(|c| c.norm_sqr().max(POWER_FLOOR).sqrt())
                .collect()
        })
        .collect()
}

/// The distance of one scale: `mean|Mp − Mt| + mean|ln Mp − ln Mt|`.
pub fn scale_distance(pred: &[f32], target: &[f32], n: usize) -> f64 {
    let mp = stft_magnitude(pred, n);
    let mt = stft_magnitude(target, n);
    let (mut lin, mut log, mut count) = (0.0, 0.0, 0usize);
    for (fp, ft) in mp.iter().zip(&mt) {
        for (&p, &t) in fp.iter().zip(ft) {
            lin += (p - t).abs();
            log += (p.max(LOG_FLOOR).ln() - t.max(LOG_FLOOR).ln()).abs();
            count += 1;
        }
    }
    (lin + log) / count.max(1) as f64
}

/// The multi-scale spectral distance of `pred` against `target`, compared over their common
/// length (which must exceed 32 samples).
pub fn spectral_distance(pred: &[f32], target: &[f32]) -> f64 {
    let len = pred.len().min(target.len());
    let (pred, target) = (&pred[..len], &target[..len]);
    FFT_SIZES
        .into_iter()
        .filter(|&n| n / 2 < len)
        .map(|n| scale_distance(pred, target, n))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (i as f32 * 0.07).sin() * 0.5 + (i as f32 * 0.31).sin() * 0.2)
            .collect()
    }

    #[test]
    fn stft_matches_a_naive_dft() {
        let x = signal(700);
        let n = 256;
        let fast = stft_magnitude(&x, n);
        let window = hann(n);
        for (f, frame) in fast.iter().enumerate().step_by(3) {
            let start = (f * n / 4) as isize - (n / 2) as isize;
            for (k, &got) in frame.iter().enumerate().step_by(7) {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for (j, w) in window.iter().enumerate() {
                    let v = reflect(&x, start + j as isize) * w;
                    let a = -2.0 * std::f64::consts::PI * (k * j) as f64 / n as f64;
                    re += v * a.cos();
                    im += v * a.sin();
                }
                let want = (re * re + im * im).max(POWER_FLOOR).sqrt();
                assert!((got - want).abs() < 1e-9 * (1.0 + want), "{got} vs {want}");
            }
        }
    }

    #[test]
    fn reflect_padding_mirrors_without_repeating_the_edge() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let got: Vec<f64> = (-3..7).map(|i| reflect(&x, i)).collect();
        assert_eq!(got, [4.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0]);
    }

    #[test]
    fn distance_is_zero_for_equal_signals_and_grows_with_the_difference() {
        let x = signal(4000);
        assert_eq!(spectral_distance(&x, &x), 0.0);
        let y: Vec<f32> = x.iter().map(|v| v * 1.1).collect();
        let z: Vec<f32> = x.iter().map(|v| v * 2.0).collect();
        assert!(spectral_distance(&y, &x) > 0.0);
        assert!(spectral_distance(&z, &x) > spectral_distance(&y, &x));
        assert_eq!(spectral_distance(&z, &x), spectral_distance(&x, &z));
    }

    #[test]
    fn doubling_a_loud_signal_costs_ln2_per_scale_in_the_log_term() {
        // Broadband noise keeps every bin far above the log floor, so the log term of each
        // scale is exactly ln 2, and the linear term is the mean magnitude of x.
        let mut s = 1u64;
        let x: Vec<f32> = (0..8192)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect();
        let z: Vec<f32> = x.iter().map(|v| v * 2.0).collect();
        for n in [1024, 64] {
            let mx = stft_magnitude(&x, n);
            let mean_mag: f64 =
                mx.iter().flatten().sum::<f64>() / mx.iter().map(Vec::len).sum::<usize>() as f64;
            let d = scale_distance(&z, &x, n);
            let want = mean_mag + std::f64::consts::LN_2;
            assert!((d - want).abs() < 1e-3 * want, "n={n}: {d} vs {want}");
        }
    }
}

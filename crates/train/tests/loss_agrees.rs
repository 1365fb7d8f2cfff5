//! The trainer's spectral loss (burn, f32) and the evaluation's spectral distance (plain f64,
//! `timbre_eval::spectral`) are one definition written twice, so that the evaluation needs no
//! burn. This test holds them together: same constants, same value on the same signals.

use burn::tensor::{Device, Tensor, TensorData};
use timbre_eval::spectral;
use timbre_train::loss;
use timbre_train::rng::Rng;

/// A harmonic tone with noise, `len` samples.
fn tone(len: usize, f0: f32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..len)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            (1..8)
                .map(|k| (std::f32::consts::TAU * f0 * k as f32 * t).sin() / k as f32)
                .sum::<f32>()
                * 0.3
                + rng.uniform(-0.05, 0.05)
        })
        .collect()
}

fn burn_loss(pred: &[f32], target: &[f32]) -> f64 {
    let device = Device::flex();
    let t = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [1, v.len()]), &device);
    let value = loss::spectral_loss(t(pred), t(target)).into_data();
    value.try_to_vec::<f32>().unwrap()[0] as f64
}

#[test]
fn the_two_definitions_share_their_constants() {
    assert_eq!(loss::FFT_SIZES, spectral::FFT_SIZES);
    assert_eq!(loss::LOG_FLOOR, spectral::LOG_FLOOR);
    assert_eq!(loss::POWER_FLOOR, spectral::POWER_FLOOR);
}

#[test]
fn burn_loss_and_f64_distance_agree() {
    // Lengths that use every scale and lengths that drop the largest ones.
    for (len, f0a, f0b, seed) in [
        (16_000, 220.0, 233.0, 1),
        (4_000, 440.0, 440.0, 2),
        (700, 300.0, 150.0, 3),
    ] {
        let pred = tone(len, f0a, seed);
        let target = tone(len, f0b, seed + 10);
        let reference = spectral::spectral_distance(&pred, &target);
        let trained = burn_loss(&pred, &target);
        let relative = (trained - reference).abs() / reference;
        assert!(
            relative < 1e-3,
            "len {len}: burn {trained:.6} vs f64 {reference:.6} ({relative:.2e} apart)"
        );
        // Identical signals: both exactly 0 (a check that neither adds an offset).
        assert!(burn_loss(&pred, &pred).abs() < 1e-6);
        assert_eq!(spectral::spectral_distance(&pred, &pred), 0.0);
    }
}

//! Helpers shared by the model crate's integration tests (the allocator and PRNG come from
//! `timbre-testkit`).
#![allow(dead_code, unused_imports)]

use timbre_model::{Architecture, Controls, NormType};
pub use timbre_testkit::{allocations_during, CountingAllocator, TestRng};

/// Plausible scaled inputs: f0 gliding between notes with unvoiced gaps (0), loudness
/// wandering between silence and loud, and now and then a value outside the usual range.
pub fn random_inputs(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = TestRng::new(seed);
    let (mut f0, mut loud) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut pitch, mut level, mut voiced) = (0.5f32, 0.5f32, true);
    for _ in 0..n {
        if rng.unit() < 0.03 {
            voiced = !voiced;
        }
        pitch = (pitch + 0.02 * (rng.unit() - 0.5)).clamp(0.2, 0.9);
        level = (level + 0.1 * (rng.unit() - 0.5)).clamp(0.0, 1.0);
        let spike = rng.unit() < 0.01;
        f0.push(if !voiced {
            0.0
        } else if spike {
            1.5
        } else {
            pitch
        });
        loud.push(if spike { -0.4 } else { level });
    }
    (f0, loud)
}

/// The architectures the tests sweep: C = 8, 16 and 32 (each with kernels of its own), with
/// and without the norm, plus odd shapes: C = 12 (padded to 16), C = 20 (the any-size
/// kernel), and a block-less kernel-1 net.
pub fn test_architectures() -> Vec<Architecture> {
    let mut archs = Vec::new();
    for channels in [8, 16, 32] {
        for norm in [NormType::None, NormType::LayerChannels] {
            archs.push(Architecture {
                channels,
                norm,
                ..Architecture::default()
            });
        }
    }
    archs.push(Architecture {
        channels: 12,
        kernel_size: 2,
        dilations: vec![2, 5, 1],
        n_harmonics: 7,
        n_noise_bands: 3,
        norm: NormType::LayerChannels,
        body_response: true,
    });
    archs.push(Architecture {
        channels: 20,
        kernel_size: 4,
        dilations: vec![1, 7],
        n_harmonics: 100,
        n_noise_bands: 1,
        norm: NormType::None,
        body_response: true,
    });
    archs.push(Architecture {
        channels: 3,
        kernel_size: 1,
        dilations: vec![],
        n_harmonics: 1,
        n_noise_bands: 9,
        norm: NormType::LayerChannels,
        body_response: false,
    });
    archs
}

/// Largest absolute difference between two frames' controls.
pub fn max_abs_diff(a: &Controls, b: &Controls) -> f32 {
    let mut worst = (a.amplitude - b.amplitude).abs();
    assert_eq!(a.harmonics.len(), b.harmonics.len());
    assert_eq!(a.noise.len(), b.noise.len());
    for (x, y) in a
        .harmonics
        .iter()
        .zip(&b.harmonics)
        .chain(a.noise.iter().zip(&b.noise))
    {
        worst = worst.max((x - y).abs());
    }
    worst
}

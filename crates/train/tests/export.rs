//! Export parity: the plugin's streaming decoder, run on an exported file, reproduces the
//! burn network's controls to 1e-4 — which also proves the causal-conv alignment (a shifted
//! tap or a flipped kernel would not agree), with and without the per-frame LayerNorm.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use common::TempDir;
use timbre_model::testing::placeholder_metadata;
use timbre_model::{random_model, Architecture, Decoder, ModelFile, NormType};
use timbre_train::model::DdspModel;
use timbre_train::rng::Rng;

/// Plausible scaled inputs: a melody with gaps (f0 0 when unvoiced), loudness swells.
fn inputs(frames: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(11);
    let f0 = (0..frames)
        .map(|t| {
            if (t / 37) % 4 == 3 {
                0.0
            } else {
                (55.0 + ((t / 37) % 7) as f32 * 2.0 + rng.uniform(-0.3, 0.3)) / 127.0
            }
        })
        .collect();
    let loudness = (0..frames)
        .map(|t| 0.3 + 0.4 * (t as f32 * 0.05).sin().abs() + rng.uniform(0.0, 0.05))
        .collect();
    (f0, loudness)
}

/// Max |burn − decoder| over every output of every frame.
fn max_difference(model: &DdspModel, file: &ModelFile, frames: usize) -> f32 {
    let device = Device::flex();
    let (f0, loudness) = inputs(frames);
    let t = |v: &Vec<f32>| Tensor::<2>::from_data(TensorData::new(v.clone(), [1, frames]), &device);
    let c = model.forward(t(&f0), t(&loudness));
    let amp = c.amplitude.into_data().try_to_vec::<f32>().unwrap();
    let harm = c.harmonics.into_data().try_to_vec::<f32>().unwrap();
    let noise = c.noise.into_data().try_to_vec::<f32>().unwrap();
    let arch = file.architecture();
    let (h, b) = (arch.n_harmonics, arch.n_noise_bands);
    let mut decoder = Decoder::new(file);
    let mut worst = 0.0f32;
    for i in 0..frames {
        let out = decoder.step(f0[i], loudness[i]);
        worst = worst.max((out.amplitude - amp[i]).abs());
        for k in 0..h {
            worst = worst.max((out.harmonics[k] - harm[i * h + k]).abs());
        }
        for k in 0..b {
            worst = worst.max((out.noise[k] - noise[i * b + k]).abs());
        }
    }
    worst
}

#[test]
fn decoder_reproduces_burn_on_reference_models() {
    for norm in [NormType::None, NormType::LayerChannels] {
        let arch = Architecture {
            norm,
            ..Architecture::default()
        };
        // Random models scaled to behave like trained ones (outputs spread over the range).
        let file = random_model(&arch, 5);
        let model = DdspModel::from_weights(&arch, file.weights(), &Device::flex());
        let d = max_difference(&model, &file, 300);
        assert!(d <= 1e-4, "{norm:?}: max difference {d}");
        // And the weights come back unchanged.
        let back = model.to_weights();
        assert_eq!(back.input, file.weights().input);
        assert_eq!(back.blocks, file.weights().blocks);
        assert_eq!(back.head, file.weights().head);
    }
    // The most harmonics a model may have (a cello's lowest octave up to 8 kHz).
    let arch = Architecture {
        n_harmonics: timbre_model::arch::MAX_HARMONICS,
        ..Architecture::default()
    };
    let file = random_model(&arch, 7);
    let model = DdspModel::from_weights(&arch, file.weights(), &Device::flex());
    let d = max_difference(&model, &file, 300);
    assert!(
        d <= 1e-4,
        "{} harmonics: max difference {d}",
        arch.n_harmonics
    );
    // A body response comes back in dB within float rounding of its parameter scaling.
    let arch = Architecture {
        body_response: true,
        ..Architecture::default()
    };
    let file = random_model(&arch, 6);
    let back = DdspModel::from_weights(&arch, file.weights(), &Device::flex()).to_weights();
    assert_eq!(back.body_db.len(), file.body_response_db().len());
    for (a, b) in back.body_db.iter().zip(file.body_response_db()) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b} dB");
    }
    // A fresh model's body starts flat.
    let fresh = DdspModel::init(&arch, 1600, &mut Rng::new(3), &Device::flex()).to_weights();
    assert!(fresh.body_db.len() == file.body_response_db().len());
    assert!(fresh.body_db.iter().all(|&db| db == 0.0));
}

#[test]
fn exported_file_reproduces_burn() {
    for (norm, channels) in [(NormType::None, 8), (NormType::LayerChannels, 16)] {
        let arch = Architecture {
            norm,
            channels,
            ..Architecture::default()
        };
        let model = DdspModel::init(&arch, 1600, &mut Rng::new(3), &Device::flex());
        let file = ModelFile::new(
            placeholder_metadata(&arch, "export test"),
            model.to_weights(),
        )
        .unwrap();
        let dir = TempDir::new("export");
        let path = dir.path().join("m.ttmodel");
        file.save(&path).unwrap();
        let loaded = ModelFile::load(&path).unwrap();
        assert_eq!(loaded.reverb_ir().len(), 1600);
        assert_eq!(loaded.reverb_ir()[0], 0.0);
        let d = max_difference(&model, &loaded, 300);
        assert!(d <= 1e-4, "{norm:?}/{channels}: max difference {d}");
        // int8: within the documented bound.
        let q = loaded.quantize_int8();
        let dq = max_difference(&model, &q, 300);
        assert!(dq <= timbre_model::INT8_MAX_ABS_ERROR, "int8: {dq}");
    }
}

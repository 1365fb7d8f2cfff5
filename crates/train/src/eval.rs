//! Evaluation of a model file on the held-out (validation) clips of a dataset: the mean
//! multi-scale spectral loss over their windows, and optionally their resynthesis through the
//! training synth as WAV files (target and model side by side) for listening.
//!
//! The model runs as the trainer's burn network loaded from the file's weights (int8 files
//! dequantized), and the synth is the trainer's; the plugin's decoder matches the network to
//! 1e-4 (`tests/export.rs`) and its synth matches the trainer's (`synth` tests).

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use timbre_model::ModelFile;

use crate::audio::write_wav_mono;
use crate::dataset::{self, Split, HOP, SAMPLE_RATE};
use crate::model::DdspModel;
use crate::rng::Rng;
use crate::synth::{synthesize, SynthConstants};
use crate::train::{validation_loss, TrainConfig};
use crate::TrainError;

/// What [`evaluate`] measured.
#[derive(Clone, Debug)]
pub struct EvalReport {
    /// Mean spectral loss over the validation windows.
    pub loss: Option<f64>,
    /// Windows evaluated.
    pub windows: usize,
    /// Files written.
    pub written: Vec<String>,
}

/// Evaluates `model` on the validation clips of the dataset cache `cache`, in windows of
/// `seconds`; writes `<name>.target.wav` and `<name>.model.wav` per held-out clip into `out`
/// when given.
pub fn evaluate(
    model: &Path,
    cache: &Path,
    seconds: f32,
    out: Option<&Path>,
) -> Result<EvalReport, TrainError> {
    let file = ModelFile::load(model)?;
    let ds = dataset::load(cache)?;
    let device = Device::flex();
    let net = DdspModel::from_weights(file.architecture(), file.weights(), &device);
    let config = TrainConfig {
        example_seconds: seconds,
        ..TrainConfig::default()
    };
    let examples = ds.validation_examples(config.frames());
    let loss = validation_loss(&net, &ds, &examples, &config);
    let mut written = Vec::new();
    if let Some(out) = out {
        std::fs::create_dir_all(out).map_err(|source| TrainError::Io {
            path: out.to_path_buf(),
            source,
        })?;
        for (i, clip) in ds.clips.iter().enumerate() {
            if clip.entry.split != Split::Validation {
                continue;
            }
            let frames = clip.entry.end_frame - clip.entry.start_frame;
            let batch = ds.batch_of(&[(i, clip.entry.start_frame)], frames);
            let t = |v: &[f32]| {
                Tensor::<2>::from_data(TensorData::new(v.to_vec(), [1, frames]), &device)
            };
            let h = file.architecture().n_harmonics;
            let b = file.architecture().n_noise_bands;
            let consts =
                SynthConstants::new(&batch.f0_hz, 1, frames, h, b, &mut Rng::new(1), &device);
            let controls = net.forward(t(&batch.f0_in), t(&batch.loudness_in));
            let audio = synthesize(&controls, net.reverb_ir(), &consts)
                .into_data()
                .try_to_vec::<f32>()
                .map_err(TrainError::TensorData)?;
            let stem = clip.entry.name.replace('/', "_");
            let stem = stem
                .rsplit_once('.')
                .map_or(stem.as_str(), |(s, _)| s)
                .to_string();
            for (suffix, samples) in [("target", &batch.audio), ("model", &audio)] {
                let path = out.join(format!("{stem}.{suffix}.wav"));
                write_wav_mono(&path, samples, SAMPLE_RATE)?;
                written.push(path.display().to_string());
            }
            debug_assert_eq!(audio.len(), frames * HOP);
        }
    }
    Ok(EvalReport {
        loss,
        windows: examples.len(),
        written,
    })
}

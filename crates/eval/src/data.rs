//! The evaluation material: the recordings of each instrument's dataset
//! (`target/datasets/<name>/`, made by `cargo xtask dataset <name>`), with the held-out split
//! read from the dataset's manifest, so evaluation uses exactly the files training never saw.

use std::path::{Path, PathBuf};

use timbre_audio::{decode_file, mix_to_mono};
use timbre_dataset::Split;

use crate::EvalError;

/// A mono recording.
#[derive(Clone, Debug)]
pub struct Recording {
    /// File name inside the dataset's package.
    pub name: String,
    /// Mono samples (the mean of the channels).
    pub samples: Vec<f32>,
    /// Sample rate in Hz.
    pub sample_rate: f64,
    /// Whether the file was held out of training.
    pub held_out: bool,
}

/// The folder of dataset `name` under `datasets`.
fn dataset_dir(datasets: &Path, name: &str) -> PathBuf {
    datasets.join(name)
}

/// The manifest of dataset `name` under `datasets`.
pub fn manifest_path(datasets: &Path, name: &str) -> PathBuf {
    timbre_dataset::cache_dir(&dataset_dir(datasets, name)).join(timbre_dataset::MANIFEST_FILE)
}

/// Every recording of dataset `name` (decoded, mixed to mono), in manifest order.
pub fn recordings(datasets: &Path, name: &str) -> Result<Vec<Recording>, EvalError> {
    let dir = dataset_dir(datasets, name);
    let cache = timbre_dataset::cache_dir(&dir);
    let manifest_file = manifest_path(datasets, name);
    if !manifest_file.is_file() {
        return Err(EvalError::MissingDataset {
            name: name.to_string(),
            path: manifest_file,
        });
    }
    let manifest = timbre_dataset::read_manifest(&cache)?;
    let package = timbre_dataset::package_dir(&dir);
    manifest
        .clips
        .into_iter()
        .map(|clip| {
            let decoded = decode_file(&package.join(&clip.name))?;
            Ok(Recording {
                name: clip.name,
                samples: mix_to_mono(&decoded.channels),
                sample_rate: decoded.sample_rate as f64,
                held_out: clip.split == Split::Validation,
            })
        })
        .collect()
}

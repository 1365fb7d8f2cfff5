//! The evaluation material: the recordings of each instrument's dataset
//! (`target/datasets/<name>/`, made by `cargo xtask dataset <name>`), with the held-out split
//! read from the dataset's manifest, so evaluation uses exactly the files training never saw.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use timbre_audio::{decode_file, mix_to_mono};

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

#[derive(Deserialize)]
struct Manifest {
    clips: Vec<ManifestClip>,
}

#[derive(Deserialize)]
struct ManifestClip {
    name: String,
    split: String,
}

/// The manifest of dataset `name` under `datasets`.
pub fn manifest_path(datasets: &Path, name: &str) -> PathBuf {
    datasets.join(name).join("cache").join("manifest.json")
}

/// Every recording of dataset `name` (decoded, mixed to mono), in manifest order.
pub fn recordings(datasets: &Path, name: &str) -> Result<Vec<Recording>, EvalError> {
    let path = manifest_path(datasets, name);
    let text = std::fs::read_to_string(&path).map_err(|_| EvalError::MissingDataset {
        name: name.to_string(),
        path: path.clone(),
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| EvalError::Manifest {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let package = datasets.join(name).join("package");
    manifest
        .clips
        .into_iter()
        .map(|clip| {
            let decoded = decode_file(&package.join(&clip.name))?;
            Ok(Recording {
                name: clip.name,
                samples: mix_to_mono(&decoded.channels),
                sample_rate: decoded.sample_rate as f64,
                held_out: clip.split == "validation",
            })
        })
        .collect()
}

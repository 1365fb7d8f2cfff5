//! Which models the plugin can play: the embedded ones and the user's model folder, through
//! the shared model catalog (the same names and folder as the `tiny-timbre` CLI).

use std::path::PathBuf;

use timbre_model::ModelFile;

pub use timbre_catalog::DEFAULT_MODEL;

use timbre_catalog as catalog;
use timbre_catalog::ModelError;

/// One entry of the editor's model picker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelEntry {
    /// What the picker shows.
    pub label: String,
    /// What is persisted and passed to [`load`]: an embedded name or a file path.
    pub spec: String,
    /// Whether it comes from the user's model folder.
    pub user: bool,
}

/// The embedded instrument models (not the test fixtures), then the `.ttmodel` files in the
/// user folder. Reads the folder (I/O):
/// call it from the editor or a background task, never from the audio thread.
pub fn available() -> Vec<ModelEntry> {
    let mut entries: Vec<ModelEntry> = catalog::instrument_models()
        .into_iter()
        .map(|(name, _)| ModelEntry {
            label: name.to_string(),
            spec: name.to_string(),
            user: false,
        })
        .collect();
    entries.extend(catalog::user_models().into_iter().map(|m| ModelEntry {
        label: m.name,
        spec: m.path.display().to_string(),
        user: true,
    }));
    entries
}

/// The user's model folder (see the catalog for the per-OS location and the
/// `TINY_TIMBRE_MODELS` override).
pub fn user_dir() -> Option<PathBuf> {
    catalog::user_model_dir()
}

/// A model ready to play, with the name to show.
pub struct Loaded {
    /// The parsed, validated model.
    pub model: ModelFile,
    /// Its display name (from its metadata).
    pub name: String,
}

/// Loads the model `spec` names (embedded name, user-folder name or path). Allocates and reads
/// files: never on the audio thread. Whether the engine can play it is checked where its voice
/// is built (`VoiceFactory::build`). The error names the file and the problem.
pub fn load(spec: &str) -> Result<Loaded, ModelError> {
    let (model, _source) = catalog::resolve(spec)?;
    let name = model.metadata().name.clone();
    Ok(Loaded { model, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_model_is_listed_first_and_loads() {
        let list = available();
        assert_eq!(list[0].spec, DEFAULT_MODEL);
        assert!(!list[0].user);
        let loaded = load(DEFAULT_MODEL).unwrap();
        assert!(!loaded.name.is_empty());
    }

    #[test]
    fn bad_specs_give_readable_errors() {
        let err = load("/nonexistent/dir/violin.ttmodel").err().unwrap();
        assert!(err.to_string().contains("violin.ttmodel"), "{err}");
        let garbage =
            std::env::temp_dir().join(format!("tt-garbage-{}.ttmodel", std::process::id()));
        std::fs::write(&garbage, b"definitely not safetensors").unwrap();
        let err = load(garbage.to_str().unwrap()).err().unwrap();
        assert!(err.to_string().contains("tt-garbage"), "{err}");
        std::fs::remove_file(&garbage).unwrap();
    }
}

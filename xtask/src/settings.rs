//! `cargo xtask settings MODEL.ttmodel [ID=VALUE]... [--clear]`: shows, sets or clears a model
//! file's recommended settings (`recommended_settings` in its metadata; engine parameter
//! ids), rewriting the file with its weights untouched.

use std::path::Path;

use timbre_engine::Params;
use timbre_model::ModelFile;

use crate::error::TaskError;

/// Runs the task.
pub fn run(args: &[String]) -> Result<(), TaskError> {
    let (path, settings) = args.split_first().ok_or(TaskError::Usage(
        "usage: cargo xtask settings MODEL.ttmodel [ID=VALUE]... [--clear]",
    ))?;
    let path = Path::new(path);
    let model = ModelFile::load(path).map_err(|source| TaskError::LoadModel {
        path: path.to_path_buf(),
        source,
    })?;
    let (mut metadata, weights) = model.into_parts();
    let mut changed = false;
    for setting in settings {
        if setting == "--clear" {
            metadata.recommended_settings.clear();
            changed = true;
            continue;
        }
        let (id, value) = setting
            .split_once('=')
            .ok_or_else(|| TaskError::NotIdValue {
                setting: setting.clone(),
            })?;
        let value: f32 = value.parse().map_err(|_| TaskError::NotANumber {
            setting: setting.clone(),
            value: value.to_string(),
        })?;
        if !Params::default().set(id, value) {
            return Err(TaskError::UnknownParameter { id: id.to_string() });
        }
        metadata.recommended_settings.insert(id.to_string(), value);
        changed = true;
    }
    let model = ModelFile::new(metadata, weights).map_err(TaskError::InvalidModel)?;
    if changed {
        model.save(path).map_err(|source| TaskError::SaveModel {
            path: path.to_path_buf(),
            source,
        })?;
    }
    println!(
        "{}: {}",
        path.display(),
        serde_json::to_string(&model.metadata().recommended_settings).expect("a map of numbers")
    );
    Ok(())
}

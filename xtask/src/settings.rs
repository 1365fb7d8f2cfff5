//! `cargo xtask settings MODEL.ttmodel [ID=VALUE]... [--clear]`: shows, sets or clears a model
//! file's recommended settings (`recommended_settings` in its metadata; engine parameter
//! ids), rewriting the file with its weights untouched.

use std::path::Path;

use timbre_engine::Params;
use timbre_model::ModelFile;

/// Runs the task.
pub fn run(args: &[String]) -> Result<(), String> {
    let (path, settings) = args
        .split_first()
        .ok_or("usage: cargo xtask settings MODEL.ttmodel [ID=VALUE]... [--clear]")?;
    let path = Path::new(path);
    let model = ModelFile::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
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
            .ok_or_else(|| format!("`{setting}`: expected ID=VALUE"))?;
        let value: f32 = value
            .parse()
            .map_err(|_| format!("`{setting}`: {value} is not a number"))?;
        if !Params::default().set(id, value) {
            return Err(format!("`{id}` is not an engine parameter id"));
        }
        metadata.recommended_settings.insert(id.to_string(), value);
        changed = true;
    }
    let model = ModelFile::new(metadata, weights).map_err(|e| e.to_string())?;
    if changed {
        model
            .save(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!(
        "{}: {}",
        path.display(),
        serde_json::to_string(&model.metadata().recommended_settings).expect("a map of numbers")
    );
    Ok(())
}

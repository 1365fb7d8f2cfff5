//! TEMPORARY stand-in for the shared `timbre-catalog` crate (the lead is moving the CLI's
//! registry there). Same function names; replaced by `pub use timbre_catalog::*` once the crate
//! exists.

use std::path::{Path, PathBuf};

use timbre_model::ModelFile;

/// The default model's name.
pub const DEFAULT_MODEL: &str = "untrained";

/// A model file in the user folder.
pub struct UserModel {
    /// File stem.
    pub name: String,
    /// The file.
    pub path: PathBuf,
}

/// The embedded models.
pub fn embedded_models() -> Vec<(&'static str, &'static [u8])> {
    vec![(
        "untrained",
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/untrained.ttmodel"
        )),
    )]
}

/// The user model folder.
pub fn user_model_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("TINY_TIMBRE_MODELS").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let home = std::env::var_os("HOME")?;
    Some(PathBuf::from(home).join(".local/share/tiny-timbre/models"))
}

/// The user models.
pub fn user_models() -> Vec<UserModel> {
    let Some(dir) = user_model_dir() else {
        return Vec::new();
    };
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<UserModel> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ttmodel"))
        .filter_map(|path| {
            Some(UserModel {
                name: path.file_stem()?.to_str()?.to_string(),
                path,
            })
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Resolves a name or a path.
pub fn resolve(spec: &str) -> Result<(ModelFile, ()), String> {
    if let Some((n, b)) = embedded_models()
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(spec))
    {
        return ModelFile::from_bytes(b, n)
            .map(|m| (m, ()))
            .map_err(|e| e.to_string());
    }
    if let Some(m) = user_models().into_iter().find(|m| m.name == spec) {
        return ModelFile::load(&m.path).map(|m| (m, ())).map_err(|e| e.to_string());
    }
    ModelFile::load(Path::new(spec))
        .map(|m| (m, ()))
        .map_err(|e| e.to_string())
}

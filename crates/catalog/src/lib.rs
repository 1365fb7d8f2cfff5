//! The model catalog: the models embedded in the binaries, the user's model folder, and how a
//! model name or path picks one. Shared by the CLI (`--model NAME|PATH`) and the plugin's
//! model picker; it depends only on `std`, `thiserror` and `timbre-model`.
//!
//! # Names
//! - An *embedded* model is named by its file stem in the repository's `models/` folder
//!   (`models/untrained.ttmodel` → `untrained`).
//! - A *user* model is a `.ttmodel` file in [`user_model_dir`], named by its file stem.
//!
//! # Resolution ([`resolve`])
//! 1. an embedded name (case-insensitive);
//! 2. a user-folder name (case-insensitive; an embedded name of the same spelling wins);
//! 3. a path to a model file (anything with a path separator or a `.ttmodel` extension, or an
//!    existing file).
//!
//! Anything else is [`ModelError::Unknown`], whose message lists the available names.
//!
//! # The user model folder
//! `TINY_TIMBRE_MODELS`, when set and non-empty, overrides the per-OS default:
//!
//! | OS | folder |
//! |---|---|
//! | Linux and other Unix | `$XDG_DATA_HOME/tiny-timbre/models`, or `~/.local/share/tiny-timbre/models` |
//! | macOS | `~/Library/Application Support/Tiny Timbre/models` |
//! | Windows | `%APPDATA%\Tiny Timbre\models` |

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use thiserror::Error;
use timbre_model::{LoadError, ModelFile};

/// Name of the model used when no `--model` is given: the first embedded model.
pub const DEFAULT_MODEL: &str = "violin";

/// Extension of model files (a safetensors file with Tiny Timbre metadata).
pub const MODEL_EXTENSION: &str = "ttmodel";

/// Environment variable that overrides the user model folder.
pub const MODELS_DIR_ENV: &str = "TINY_TIMBRE_MODELS";

/// The models compiled into the binary, as `(name, file bytes)`, [`DEFAULT_MODEL`] first.
pub fn embedded_models() -> Vec<(&'static str, &'static [u8])> {
    vec![
        (
            "violin",
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../models/violin.ttmodel"
            )),
        ),
        (
            "trumpet",
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../models/trumpet.ttmodel"
            )),
        ),
        (
            "flute",
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../models/flute.ttmodel"
            )),
        ),
        (
            "cello",
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../models/cello.ttmodel"
            )),
        ),
        (
            "saxophone",
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../models/saxophone.ttmodel"
            )),
        ),
        (
            "untrained",
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../models/untrained.ttmodel"
            )),
        ),
    ]
}

/// Embedded models that are test fixtures, not instruments: they load by name (old sessions,
/// tests) but the pickers musicians see leave them out. They come last in
/// [`embedded_models`].
pub const TEST_FIXTURES: [&str; 1] = ["untrained"];

/// The embedded instrument models, as `(name, file bytes)`: [`embedded_models`] without the
/// [`TEST_FIXTURES`]. A model's index is the same in both lists.
pub fn instrument_models() -> Vec<(&'static str, &'static [u8])> {
    embedded_models()
        .into_iter()
        .filter(|(name, _)| !TEST_FIXTURES.contains(name))
        .collect()
}

/// Why a model could not be found or loaded.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The name matches no embedded model, no user model and no file.
    #[error("unknown model \"{spec}\"; available: {}; or give the path of a .{MODEL_EXTENSION} file", available.join(", "))]
    Unknown {
        /// What was asked for.
        spec: String,
        /// Every embedded and user model name.
        available: Vec<String>,
    },
    /// The model file exists but is not a valid model (the message names the file).
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// Where a model comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSource {
    /// Compiled into the binary under this name.
    Embedded(&'static str),
    /// A file on disk.
    File(PathBuf),
}

impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Embedded(name) => write!(f, "embedded (\"{name}\")"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A model file found in the user folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserModel {
    /// The file stem, used as its name.
    pub name: String,
    /// The file.
    pub path: PathBuf,
}

/// The user model folder for the platform this binary runs on (see the module docs), or `None`
/// when neither the override nor the home/data variables are set.
pub fn user_model_dir() -> Option<PathBuf> {
    let os = if cfg!(windows) {
        Os::Windows
    } else if cfg!(target_os = "macos") {
        Os::Mac
    } else {
        Os::Unix
    };
    user_model_dir_for(os, |key| std::env::var_os(key))
}

/// The platform families [`user_model_dir_for`] knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    /// Linux, the BSDs and other Unix systems (XDG base directories).
    Unix,
    /// macOS.
    Mac,
    /// Windows.
    Windows,
}

/// The user model folder on `os`, reading environment variables through `env` (testable).
pub fn user_model_dir_for(os: Os, env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let var = |key: &str| env(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var(MODELS_DIR_ENV) {
        return Some(dir);
    }
    match os {
        Os::Unix => {
            // The XDG spec says relative values are invalid and must be ignored.
            let data = var("XDG_DATA_HOME")
                .filter(|p| p.is_absolute())
                .or_else(|| var("HOME").map(|h| h.join(".local").join("share")))?;
            Some(data.join("tiny-timbre").join("models"))
        }
        Os::Mac => Some(
            var("HOME")?
                .join("Library")
                .join("Application Support")
                .join("Tiny Timbre")
                .join("models"),
        ),
        Os::Windows => Some(var("APPDATA")?.join("Tiny Timbre").join("models")),
    }
}

/// The `.ttmodel` files in `dir`, sorted by name; empty when the folder does not exist or
/// cannot be read. The files are not parsed.
pub fn user_models_in(dir: &Path) -> Vec<UserModel> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut models: Vec<UserModel> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && has_model_extension(p))
        .filter_map(|path| {
            let name = path.file_stem()?.to_str()?.to_string();
            Some(UserModel { name, path })
        })
        .collect();
    models.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.name.cmp(&b.name))
    });
    models
}

/// The models in the user folder ([`user_model_dir`]), sorted by name.
pub fn user_models() -> Vec<UserModel> {
    user_model_dir()
        .map(|d| user_models_in(&d))
        .unwrap_or_default()
}

/// Every name `--model` accepts: embedded first, then the user folder's.
pub fn available_names(user: &[UserModel]) -> Vec<String> {
    let mut names: Vec<String> = embedded_models()
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    names.extend(user.iter().map(|m| m.name.clone()));
    names
}

/// Finds and loads the model `spec` names (see the module docs for the order), looking for
/// user models in [`user_model_dir`].
pub fn resolve(spec: &str) -> Result<(ModelFile, ModelSource), ModelError> {
    resolve_in(spec, &user_models())
}

/// [`resolve`] with an explicit list of user models.
pub fn resolve_in(spec: &str, user: &[UserModel]) -> Result<(ModelFile, ModelSource), ModelError> {
    if let Some((name, bytes)) = embedded_models()
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(spec))
    {
        let model = ModelFile::from_bytes(bytes, &format!("embedded model \"{name}\""))?;
        return Ok((model, ModelSource::Embedded(name)));
    }
    if let Some(m) = user
        .iter()
        .find(|m| m.name.to_lowercase() == spec.to_lowercase())
    {
        return Ok((ModelFile::load(&m.path)?, ModelSource::File(m.path.clone())));
    }
    let path = Path::new(spec);
    if looks_like_path(spec) || path.is_file() {
        return Ok((
            ModelFile::load(path)?,
            ModelSource::File(path.to_path_buf()),
        ));
    }
    Err(ModelError::Unknown {
        spec: spec.to_string(),
        available: available_names(user),
    })
}

/// Whether `spec` is meant as a path rather than a name.
fn looks_like_path(spec: &str) -> bool {
    spec.contains('/')
        || spec.contains(std::path::MAIN_SEPARATOR)
        || has_model_extension(Path::new(spec))
}

/// Whether `path` ends in `.ttmodel` (case-insensitive).
fn has_model_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(MODEL_EXTENSION))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |key| {
            vars.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn user_dir_per_os_and_override() {
        let home = [("HOME", "/home/ana")];
        assert_eq!(
            user_model_dir_for(Os::Unix, env_of(&home)),
            Some(PathBuf::from("/home/ana/.local/share/tiny-timbre/models"))
        );
        assert_eq!(
            user_model_dir_for(
                Os::Unix,
                env_of(&[("HOME", "/home/ana"), ("XDG_DATA_HOME", "/data")])
            ),
            Some(PathBuf::from("/data/tiny-timbre/models"))
        );
        // A relative XDG_DATA_HOME is invalid and ignored.
        assert_eq!(
            user_model_dir_for(
                Os::Unix,
                env_of(&[("HOME", "/home/ana"), ("XDG_DATA_HOME", "rel")])
            ),
            Some(PathBuf::from("/home/ana/.local/share/tiny-timbre/models"))
        );
        assert_eq!(
            user_model_dir_for(Os::Mac, env_of(&home)),
            Some(PathBuf::from(
                "/home/ana/Library/Application Support/Tiny Timbre/models"
            ))
        );
        assert_eq!(
            user_model_dir_for(
                Os::Windows,
                env_of(&[("APPDATA", "C:/Users/ana/AppData/Roaming")])
            ),
            Some(
                PathBuf::from("C:/Users/ana/AppData/Roaming")
                    .join("Tiny Timbre")
                    .join("models")
            )
        );
        assert_eq!(user_model_dir_for(Os::Windows, env_of(&home)), None);
        assert_eq!(user_model_dir_for(Os::Unix, env_of(&[])), None);
        for os in [Os::Unix, Os::Mac, Os::Windows] {
            assert_eq!(
                user_model_dir_for(os, env_of(&[("HOME", "/h"), (MODELS_DIR_ENV, "/mine")])),
                Some(PathBuf::from("/mine"))
            );
            // An empty override is ignored.
            assert_eq!(
                user_model_dir_for(
                    os,
                    env_of(&[("HOME", "/h"), ("APPDATA", "/a"), (MODELS_DIR_ENV, "")])
                ),
                user_model_dir_for(os, env_of(&[("HOME", "/h"), ("APPDATA", "/a")]))
            );
        }
    }

    #[test]
    fn embedded_default_loads_by_any_case() {
        assert_eq!(embedded_models()[0].0, DEFAULT_MODEL);
        let all = embedded_models();
        let instruments = instrument_models();
        assert_eq!(all.len(), instruments.len() + TEST_FIXTURES.len());
        for (i, (name, _)) in instruments.iter().enumerate() {
            assert_eq!(all[i].0, *name, "instrument models keep their index");
        }
        for spec in ["untrained", "UNTRAINED", "Untrained"] {
            let (model, source) = resolve_in(spec, &[]).unwrap();
            assert_eq!(model.metadata().name, "Untrained (random weights)");
            assert_eq!(model.metadata().instrument, "none");
            assert_eq!(source, ModelSource::Embedded("untrained"));
        }
    }

    #[test]
    fn unknown_names_list_the_available_ones() {
        let user = [UserModel {
            name: "MyFlute".into(),
            path: PathBuf::from("/nowhere/MyFlute.ttmodel"),
        }];
        let err = resolve_in("tuba", &user).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ModelError::Unknown { .. }), "{msg}");
        assert!(
            msg.contains("\"tuba\"") && msg.contains("untrained") && msg.contains("MyFlute"),
            "{msg}"
        );
        // A user name resolves to its file (which does not exist here: a load error naming it).
        let msg = resolve_in("myflute", &user).unwrap_err().to_string();
        assert!(msg.contains("/nowhere/MyFlute.ttmodel"), "{msg}");
        // A missing path is a load error naming the path, not "unknown".
        let msg = resolve_in("missing.ttmodel", &[]).unwrap_err().to_string();
        assert!(
            msg.contains("missing.ttmodel") && msg.contains("cannot read"),
            "{msg}"
        );
    }

    #[test]
    fn user_folder_lists_only_model_files() {
        let dir =
            std::env::temp_dir().join(format!("tiny-timbre-models-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["b.ttmodel", "A.TTMODEL", "notes.txt"] {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
        let names: Vec<String> = user_models_in(&dir).into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["A", "b"]);
        assert!(user_models_in(&dir.join("absent")).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Writes `models/untrained.ttmodel`: DDSP-CNN-Tiny with random weights (seed 1), honestly
    /// named. Run once: `cargo test -p timbre-cli -- --ignored write_untrained_model`.
    #[test]
    #[ignore = "writes models/untrained.ttmodel; run once by hand"]
    fn write_untrained_model() {
        use timbre_model::{random_model, Architecture};
        let (mut metadata, weights) = random_model(&Architecture::default(), 1).into_parts();
        metadata.name = "Untrained (random weights)".to_string();
        metadata.instrument = "none".to_string();
        metadata.provenance.notes =
            "Randomly initialised DDSP-CNN-Tiny (timbre_model::random_model, seed 1); not trained on any data. \
             A placeholder until a trained model ships."
                .to_string();
        let model = ModelFile::new(metadata, weights).unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/untrained.ttmodel");
        model.save(&path).unwrap();
        // It loads back unchanged.
        assert_eq!(ModelFile::load(&path).unwrap(), model);
    }
}

//! [`TaskError`]: why a task failed. `main` prints it after `error: `.

use std::path::PathBuf;

/// Why a task failed.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The first argument names no task.
    #[error("unknown task `{0}`")]
    UnknownTask(String),
    /// A task was given an argument it does not take.
    #[error("unknown argument `{0}`")]
    UnknownArgument(String),
    /// An option was given without its value.
    #[error("{option} needs {what}")]
    MissingValue {
        /// The option (`--out`).
        option: String,
        /// What it needs (`a value`, `a folder`).
        what: &'static str,
    },
    /// The arguments do not fit the task: the usage line.
    #[error("{0}")]
    Usage(&'static str),
    /// A recommended setting is not written `ID=VALUE`.
    #[error("`{setting}`: expected ID=VALUE")]
    NotIdValue {
        /// The argument as given.
        setting: String,
    },
    /// A recommended setting's value is not a number.
    #[error("`{setting}`: {value} is not a number")]
    NotANumber {
        /// The argument as given.
        setting: String,
        /// Its value part.
        value: String,
    },
    /// A recommended setting names no engine parameter.
    #[error("`{id}` is not an engine parameter id")]
    UnknownParameter {
        /// The id as given.
        id: String,
    },
    /// `cargo xtask bundle` (nice-plug-xtask) failed.
    #[error(transparent)]
    Bundle(Box<dyn std::error::Error + Send + Sync>),
    /// A program (cargo, node) could not be started.
    #[error("could not run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A recording `cargo xtask examples` needs has not been fetched.
    #[error("{} is missing: run `cargo xtask listen` once, which fetches the recordings", path.display())]
    MissingSource {
        /// The recording.
        path: std::path::PathBuf,
    },
    /// A recording could not be decoded.
    #[error(transparent)]
    Audio(#[from] timbre_audio::AudioError),
    /// A clip could not be resampled.
    #[error("resampling: {0}")]
    Resample(#[from] timbre_dsp::resample::ResampleError),
    /// A command could not be started, or ran and failed.
    #[error(transparent)]
    Command(#[from] timbre_web_build::CommandError),
    /// A command ran and failed; its output says why.
    #[error("{command} failed: {output}")]
    FailedWithOutput {
        /// What was run (`tiny-timbre models`, `the browser benchmark`).
        command: String,
        /// What it printed.
        output: String,
    },
    /// A file or folder could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A WAV file could not be written.
    #[error("{}: {source}", path.display())]
    Wav {
        /// The file.
        path: PathBuf,
        /// hound's error.
        #[source]
        source: hound::Error,
    },
    /// A model file could not be loaded.
    #[error("{}: {source}", path.display())]
    LoadModel {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: timbre_model::LoadError,
    },
    /// A model file with new settings is not valid.
    #[error(transparent)]
    InvalidModel(timbre_model::LoadError),
    /// A model file could not be written.
    #[error("{}: {source}", path.display())]
    SaveModel {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: timbre_model::SaveError,
    },
    /// A model named on the command line could not be found or loaded.
    #[error(transparent)]
    Model(#[from] timbre_catalog::ModelError),
    /// The default embedded model could not be loaded.
    #[error("default model: {0}")]
    DefaultModel(#[source] timbre_catalog::ModelError),
    /// The engine refused the model or configuration.
    #[error("engine: {0}")]
    Engine(#[from] timbre_engine::EngineError),
    /// The quality evaluation failed.
    #[error(transparent)]
    Eval(#[from] timbre_eval::EvalError),
    /// The web page could not be built.
    #[error(transparent)]
    WebBuild(#[from] timbre_web_build::WebBuildError),
    /// The browser benchmark needs playwright-core.
    #[error("playwright-core is missing: run `npm ci` in crates/web")]
    MissingPlaywright,
    /// The browser benchmark printed no JSON report on its last line.
    #[error("no JSON report from the browser benchmark: {output}")]
    NoBenchReport {
        /// What it printed.
        output: String,
    },
    /// The browser benchmark's report lacks the real-time factor.
    #[error("the browser report has no bench.rtf")]
    NoBenchRtf,
}

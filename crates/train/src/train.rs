//! The training loop: Adam with an exponentially decaying learning rate, per-parameter
//! gradient-norm clipping, a seed for everything random, a validation loss, checkpoints with
//! resume, a progress bar, and a clean stop (with a checkpoint) on Ctrl-C or a time limit.
//!
//! # Determinism
//! One SplitMix64 generator ([`Rng`]), seeded by `--seed` and saved in every checkpoint, draws
//! the initial weights, the training windows and the noise spectra, so a run and its resumed
//! continuation see the same data. Validation uses a fixed generator, so its loss is
//! comparable from one evaluation to the next.
//!
//! # Checkpoints (`<run>/checkpoint/`)
//! `model.bpk` (burn's burnpack module record, parameter ids included), `optim.bpk` (Adam's
//! moments, keyed by those ids) and `state.json` ([`TrainState`]: the config, step, generator,
//! losses, wall time). Written into `checkpoint.tmp/` and renamed over the old one, so an
//! interrupted save never leaves a half checkpoint. `<run>/log.csv` has one line per
//! validation.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, OptimizerRecord};
use burn::tensor::{Device, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use timbre_model::{Architecture, ModelFile};

use crate::dataset::{self, Batch, Dataset, HOP, SAMPLE_RATE};
use crate::loss::spectral_loss;
use crate::model::DdspModel;
use crate::rng::Rng;
use crate::synth::{synthesize, SynthConstants};
use crate::TrainError;

/// Seed of the validation noise (fixed, so validation losses compare across steps).
const VALIDATION_SEED: u64 = 0x5A11_DA7E;

/// Everything that defines a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The network's shape.
    pub arch: Architecture,
    /// Length of the learned reverb IR in seconds at 16 kHz.
    pub ir_seconds: f32,
    /// Examples per batch.
    pub batch: usize,
    /// Seconds per example.
    pub example_seconds: f32,
    /// Stop after this many optimizer steps.
    pub steps: u64,
    /// Stop after this much wall time (minutes), if set.
    pub max_minutes: Option<f64>,
    /// Initial learning rate.
    pub lr: f64,
    /// The learning rate is multiplied by this every `lr_decay_steps` (continuously).
    pub lr_decay: f64,
    /// See `lr_decay`.
    pub lr_decay_steps: u64,
    /// Largest L2 norm of each parameter's gradient.
    pub grad_clip: f32,
    /// Seed of everything random.
    pub seed: u64,
    /// Steps between validations (and log lines).
    pub val_every: u64,
    /// Steps between checkpoints.
    pub checkpoint_every: u64,
    /// Most validation examples used.
    pub val_examples: usize,
    /// Play (and export) the IR's body in minimum phase, as the engine's Low latency does, so
    /// the model learns a timbre that needs no delay ([`crate::synth::minimum_phase_body`]).
    #[serde(default)]
    pub minimum_phase_body: bool,
    /// Hold the IR's body silent, so the IR learns only the room and the body's shaping falls
    /// to the body response in Hz, which adds no delay: the engine then plays the model with
    /// the analysis's latency alone.
    #[serde(default)]
    pub silent_body: bool,
    /// Start from this model file's weights instead of fresh ones (fine-tuning); its
    /// architecture and IR length must be the run's.
    #[serde(default)]
    pub init: Option<PathBuf>,
}

impl Default for TrainConfig {
    /// Tuned for a violin model in about 15 minutes on a 2-core CPU: batch 8 of 1 s examples
    /// (about 0.17 s a step, so some 5,000 steps), lr 1e-3 halving every 2,000 steps, 1 s of
    /// reverb.
    fn default() -> Self {
        Self {
            arch: Architecture::default(),
            ir_seconds: 1.0,
            batch: 8,
            example_seconds: 1.0,
            steps: 100_000,
            max_minutes: None,
            lr: 1e-3,
            lr_decay: 0.5,
            lr_decay_steps: 2_000,
            grad_clip: 3.0,
            seed: 0,
            val_every: 100,
            checkpoint_every: 200,
            val_examples: 32,
            minimum_phase_body: false,
            silent_body: false,
            init: None,
        }
    }
}

impl TrainConfig {
    /// Frames per example.
    pub fn frames(&self) -> usize {
        ((self.example_seconds as f64 * SAMPLE_RATE as f64 / HOP as f64).round() as usize).max(1)
    }

    /// IR length in samples.
    pub fn ir_len(&self) -> usize {
        ((self.ir_seconds as f64 * SAMPLE_RATE as f64).round() as usize).max(1)
    }

    /// The learning rate at `step`.
    pub fn lr_at(&self, step: u64) -> f64 {
        self.lr
            * self
                .lr_decay
                .powf(step as f64 / self.lr_decay_steps.max(1) as f64)
    }
}

/// One validation record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Optimizer steps done.
    pub step: u64,
    /// Mean training loss since the previous line.
    pub train_loss: f64,
    /// Validation loss (None without validation data).
    pub val_loss: Option<f64>,
    /// Wall time so far, seconds.
    pub elapsed_s: f64,
}

/// The resumable state of a run (`state.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainState {
    /// The run's configuration.
    pub config: TrainConfig,
    /// The dataset cache it trains on.
    pub dataset: PathBuf,
    /// Optimizer steps done.
    pub step: u64,
    /// The generator, as it is after `step` steps.
    pub rng: Rng,
    /// Training wall time so far (all sessions), seconds.
    pub wall_time_s: f64,
    /// Validation history.
    pub log: Vec<LogLine>,
}

impl TrainState {
    /// The last logged training loss.
    pub fn last_train_loss(&self) -> Option<f64> {
        self.log.last().map(|l| l.train_loss)
    }

    /// The last validation loss.
    pub fn last_val_loss(&self) -> Option<f64> {
        self.log.iter().rev().find_map(|l| l.val_loss)
    }
}

/// Where the checkpoint of `run` lives.
pub fn checkpoint_dir(run: &Path) -> PathBuf {
    run.join("checkpoint")
}

/// Loads the state of a run's checkpoint.
pub fn load_state(run: &Path) -> Result<TrainState, TrainError> {
    let path = checkpoint_dir(run).join("state.json");
    let text = fs::read_to_string(&path).map_err(|source| TrainError::NoCheckpoint {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| TrainError::State { path, source })
}

/// Loads a run's model (on `device`).
pub fn load_model(
    run: &Path,
    state: &TrainState,
    device: &Device,
) -> Result<DdspModel, TrainError> {
    let path = checkpoint_dir(run).join("model.bpk");
    let mut rng = Rng::new(0);
    DdspModel::init(&state.config.arch, state.config.ir_len(), &mut rng, device)
        .try_load_file(&path)
        .map(|m| how_the_body_plays(m, &state.config))
        .map_err(|source| TrainError::LoadNetwork { path, source })
}

/// The model a fresh run starts from: `config.init`'s weights, or fresh ones drawn from `rng`.
fn initial_model(
    config: &TrainConfig,
    rng: &mut Rng,
    device: &Device,
) -> Result<DdspModel, TrainError> {
    let model = match &config.init {
        Some(path) => {
            let file = ModelFile::load(path)?;
            let ir_len = file.weights().reverb_ir.len();
            if file.architecture() != &config.arch || ir_len != config.ir_len() {
                return Err(TrainError::InitMismatch {
                    path: path.clone(),
                    file: format!("{:?}, IR {ir_len} samples", file.architecture()),
                    run: format!("{:?}, IR {} samples", config.arch, config.ir_len()),
                });
            }
            DdspModel::from_weights(&config.arch, file.weights(), device)
        }
        None => DdspModel::init(&config.arch, config.ir_len(), rng, device),
    };
    Ok(how_the_body_plays(model, config))
}

/// `model` with its IR's body played as the run says: in minimum phase, held silent, or as
/// learned.
fn how_the_body_plays(model: DdspModel, config: &TrainConfig) -> DdspModel {
    model
        .with_minimum_phase_body(config.minimum_phase_body)
        .with_silent_body(config.silent_body)
}

fn save_checkpoint(
    run: &Path,
    model: &DdspModel,
    optim: &ModuleOptimizer,
    state: &TrainState,
) -> Result<(), TrainError> {
    let tmp = run.join("checkpoint.tmp");
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|source| TrainError::Io {
        path: tmp.clone(),
        source,
    })?;
    model
        .clone()
        .save_file(tmp.join("model.bpk"))
        .map_err(TrainError::SaveNetwork)?;
    optim
        .to_record()
        .save(tmp.join("optim.bpk"))
        .map_err(TrainError::SaveOptimizer)?;
    let json = serde_json::to_string_pretty(state).expect("the state serializes");
    let state_file = tmp.join("state.json");
    fs::write(&state_file, json).map_err(|source| TrainError::SaveState {
        path: state_file,
        source,
    })?;
    let dir = checkpoint_dir(run);
    let old = run.join("checkpoint.old");
    let _ = fs::remove_dir_all(&old);
    let rename_error = |source| TrainError::Io {
        path: dir.clone(),
        source,
    };
    if dir.exists() {
        fs::rename(&dir, &old).map_err(rename_error)?;
    }
    fs::rename(&tmp, &dir).map_err(rename_error)?;
    let _ = fs::remove_dir_all(&old);
    Ok(())
}

fn tensor2(v: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), device)
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32")[0] as f64
}

/// The loss of `model` on `batch` (a graph on `device` if it is an autodiff device).
pub fn batch_loss(model: &DdspModel, batch: &Batch, rng: &mut Rng, device: &Device) -> Tensor<1> {
    let (b, t) = (batch.batch, batch.frames);
    let arch_h = model.n_harmonics;
    let n_bands = model.head_bias.val().dims()[0] - 1 - arch_h;
    let consts = SynthConstants::new(&batch.f0_hz, b, t, arch_h, n_bands, rng, device);
    let f0 = tensor2(&batch.f0_in, [b, t], device);
    let loudness = tensor2(&batch.loudness_in, [b, t], device);
    let target = tensor2(&batch.audio, [b, t * HOP], device);
    let controls = model.forward(f0, loudness);
    let audio = synthesize(&controls, model.reverb_ir(), &consts);
    spectral_loss(audio, target)
}

/// The mean validation loss over `examples` (in batches of `batch`), without autodiff.
pub fn validation_loss(
    model: &DdspModel,
    ds: &Dataset,
    examples: &[(usize, usize)],
    config: &TrainConfig,
) -> Option<f64> {
    if examples.is_empty() {
        return None;
    }
    let device = Device::flex();
    let model = model.valid();
    let mut rng = Rng::new(VALIDATION_SEED);
    let mut total = 0.0;
    let mut n = 0usize;
    for chunk in examples.chunks(config.batch) {
        let batch = ds.batch_of(chunk, config.frames());
        total += scalar(batch_loss(&model, &batch, &mut rng, &device)) * chunk.len() as f64;
        n += chunk.len();
    }
    Some(total / n as f64)
}

/// What [`train`] reports.
#[derive(Clone, Debug)]
pub struct TrainReport {
    /// The final state (also in the checkpoint).
    pub state: TrainState,
    /// Steps taken in this session.
    pub session_steps: u64,
    /// Mean seconds per step in this session.
    pub mean_step_s: f64,
    /// Whether the run was interrupted (Ctrl-C) rather than finished.
    pub interrupted: bool,
}

/// Options of one [`train`] session that are not part of the run's identity.
#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    /// Continue from the run's checkpoint (its config wins over the given one, except
    /// `steps` and `max_minutes`).
    pub resume: bool,
    /// Show a progress bar (else nothing is printed).
    pub progress: bool,
}

/// Trains on the dataset cache `cache` into the run folder `run`.
pub fn train(
    cache: &Path,
    run: &Path,
    config: TrainConfig,
    session: &SessionOptions,
    stop: Arc<AtomicBool>,
) -> Result<TrainReport, TrainError> {
    let ds = dataset::load(cache)?;
    config.arch.validate()?;
    fs::create_dir_all(run).map_err(|source| TrainError::Io {
        path: run.to_path_buf(),
        source,
    })?;
    let device = Device::flex().autodiff();
    let (mut model, mut optim, mut state) =
        if session.resume && checkpoint_dir(run).join("state.json").exists() {
            let mut state = load_state(run)?;
            state.config.steps = config.steps;
            state.config.max_minutes = config.max_minutes;
            let model = load_model(run, &state, &device)?;
            let record = OptimizerRecord::load(checkpoint_dir(run).join("optim.bpk"))
                .map_err(TrainError::LoadOptimizer)?;
            let optim = adam(&state.config).load_record(record);
            (model, optim, state)
        } else {
            let mut rng = Rng::new(config.seed);
            let model = initial_model(&config, &mut rng.fork(), &device)?;
            let state = TrainState {
                config: config.clone(),
                dataset: cache.to_path_buf(),
                step: 0,
                rng,
                wall_time_s: 0.0,
                log: Vec::new(),
            };
            (model, adam(&config), state)
        };
    let config = state.config.clone();
    device.seed(config.seed.wrapping_add(state.step));
    let frames = config.frames();
    let short = ds.too_short(frames);
    if session.progress && !short.is_empty() {
        eprintln!(
            "note: {} training file(s) shorter than one {:.2} s example are not used: {}",
            short.len(),
            config.example_seconds,
            short.join(", ")
        );
    }
    let mut val_examples = ds.validation_examples(frames);
    val_examples.truncate(config.val_examples);
    let bar = if session.progress {
        let bar = ProgressBar::new(config.steps);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} steps, {per_sec}, ETA {eta} | {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_position(state.step);
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let wall_before = state.wall_time_s;
    let step_before = state.step;
    let mut since_log = (0.0f64, 0usize);
    let mut interrupted = false;
    let mut last_val = state.last_val_loss();
    let mut last_checkpoint = state.step;
    while state.step < config.steps {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        if config
            .max_minutes
            .is_some_and(|m| started.elapsed().as_secs_f64() >= m * 60.0)
        {
            break;
        }
        let batch = ds
            .random_batch(&mut state.rng, config.batch, frames)
            .ok_or(TrainError::ExamplesTooLong {
                seconds: config.example_seconds,
            })?;
        let mut noise_rng = state.rng.fork();
        let loss = batch_loss(&model, &batch, &mut noise_rng, &device);
        let value = scalar(loss.clone());
        if !value.is_finite() {
            return Err(TrainError::LossNotFinite {
                value,
                step: state.step,
            });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(config.lr_at(state.step), model, grads);
        state.step += 1;
        since_log.0 += value;
        since_log.1 += 1;
        state.wall_time_s = wall_before + started.elapsed().as_secs_f64();
        bar.set_position(state.step);
        let val_due = state.step % config.val_every.max(1) == 0 || state.step == config.steps;
        if val_due {
            last_val = validation_loss(&model, &ds, &val_examples, &config);
            let line = LogLine {
                step: state.step,
                train_loss: since_log.0 / since_log.1.max(1) as f64,
                val_loss: last_val,
                elapsed_s: state.wall_time_s,
            };
            append_log(run, &line)?;
            state.log.push(line);
            since_log = (0.0, 0);
        }
        bar.set_message(format!(
            "loss {value:.3}{} lr {:.2e}",
            last_val.map_or(String::new(), |v| format!(", val {v:.3}")),
            config.lr_at(state.step)
        ));
        if state.step - last_checkpoint >= config.checkpoint_every {
            save_checkpoint(run, &model, &optim, &state)?;
            last_checkpoint = state.step;
        }
    }
    // Final log line and checkpoint.
    if since_log.1 > 0 {
        let val = validation_loss(&model, &ds, &val_examples, &config);
        let line = LogLine {
            step: state.step,
            train_loss: since_log.0 / since_log.1 as f64,
            val_loss: val,
            elapsed_s: state.wall_time_s,
        };
        append_log(run, &line)?;
        state.log.push(line);
    }
    state.wall_time_s = wall_before + started.elapsed().as_secs_f64();
    save_checkpoint(run, &model, &optim, &state)?;
    bar.finish_and_clear();
    let session_steps = state.step - step_before;
    let mean_step_s = started.elapsed().as_secs_f64() / session_steps.max(1) as f64;
    Ok(TrainReport {
        state,
        session_steps,
        mean_step_s,
        interrupted,
    })
}

fn adam(config: &TrainConfig) -> ModuleOptimizer {
    AdamConfig::new()
        .with_grad_clipping(Some(GradientClippingConfig::Norm(config.grad_clip)))
        .init()
}

fn append_log(run: &Path, line: &LogLine) -> Result<(), TrainError> {
    use std::io::Write;
    let path = run.join("log.csv");
    let new = !path.exists();
    let fail = |source| TrainError::Io {
        path: path.clone(),
        source,
    };
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(fail)?;
    if new {
        writeln!(f, "step,train_loss,val_loss,elapsed_s").map_err(fail)?;
    }
    writeln!(
        f,
        "{},{:.5},{},{:.1}",
        line.step,
        line.train_loss,
        line.val_loss.map_or(String::new(), |v| format!("{v:.5}")),
        line.elapsed_s
    )
    .map_err(fail)
}

/// Times `steps` training steps of `config` on `ds` (fresh model, no checkpoint): mean
/// seconds per step, after one warm-up step.
pub fn time_steps(ds: &Dataset, config: &TrainConfig, steps: usize) -> Result<f64, TrainError> {
    let device = Device::flex().autodiff();
    let mut rng = Rng::new(config.seed);
    let mut model = initial_model(config, &mut rng.fork(), &device)?;
    let mut optim = adam(config);
    let mut started = Instant::now();
    for i in 0..=steps {
        if i == 1 {
            started = Instant::now();
        }
        let batch = ds
            .random_batch(&mut rng, config.batch, config.frames())
            .ok_or(TrainError::NoTrainingExample)?;
        let loss = batch_loss(&model, &batch, &mut rng.fork(), &device);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(config.lr, model, grads);
    }
    Ok(started.elapsed().as_secs_f64() / steps.max(1) as f64)
}

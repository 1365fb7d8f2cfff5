//! The dataset: a folder of audio files → mono 16 kHz clips with their analysis frames, split
//! into training and validation by file, cached on disk, plus the statistics auto-adjust needs.
//!
//! # Pipeline (per file)
//! 1. Decode (`timbre_audio::decode_file`: WAV, FLAC, MP3, OGG/Vorbis, any rate and channel
//!    count), mix to mono (mean of the channels).
//! 2. Resample to [`SAMPLE_RATE`] with `timbre_dsp::offline::resample_clip` (the plugin's
//!    offline resampler; no delay).
//! 3. Analyse with `timbre_dsp::analysis::analyze_clip(AnalysisConfig::default(), 16000, ..)`:
//!    the SAME code the plugin runs, so training features and run-time features agree. One
//!    frame per [`HOP`] samples (250 frames/s): f0, confidence, A-weighted loudness.
//! 4. Trim silence: the clip's usable frames run from the first to the last frame louder than
//!    [`TRIM_DB`], widened by [`TRIM_MARGIN_FRAMES`] on each side.
//!
//! # Alignment of frames and audio
//! The analyzer emits frame `i` once hop `i` is complete, from a window of 512 samples ending
//! at sample `64 (i + 1)`: the frame describes the audio around `64 (i + 1) − latency`, where
//! `latency` is `Analyzer::latency_host_samples` (256 at 16 kHz: half the window; the 16 kHz
//! → 16 kHz resampler adds nothing). An example made of frames `s .. s + T` is paired with the
//! audio `64 s + AUDIO_OFFSET .. 64 (s + T) + AUDIO_OFFSET` where `AUDIO_OFFSET = 64 −
//! latency` (−192 samples), so the trainer's synth, which places control frame `t` at sample
//! `64 t` of the example, plays each frame where the audio it describes was. Frames before
//! [`Clip::first_usable_frame`] would need audio before the clip's start and are never used.
//!
//! # Voicing
//! A frame is voiced when `confidence ≥ VOICED_CONFIDENCE` (0.5, the engine's default gate)
//! and its loudness is above the −80 dB floor: the engine's own rule, so the network sees
//! `f0 = 0` exactly where the plugin would feed it 0. The synth's f0 holds the last voiced
//! value through unvoiced frames (as the engine does); frames before the first voiced one take
//! the first voiced f0.
//!
//! # Split
//! By file, reproducibly, within each folder (recordings and rendered phrases alike): a
//! folder's files are ordered by a hash of `(seed, relative path)` and the first
//! `round(n · val_fraction)` (at least one when there are two or more files) are validation.
//! Validation files are never trained on; they are the held-out material for evaluation.
//!
//! # Cache
//! `<cache>/manifest.json` (the clip list, split, statistics, sources) and one binary file per
//! clip, `<cache>/clips/<key>.bin`, where `key` hashes the file's path relative to the dataset
//! folder, its modification time and its size (and the analysis rate, hop and window): a
//! changed file is re-analysed, an unchanged one is read back. A change to the analysis CODE is
//! invisible to the key: rebuild with `--rebuild` then. Binary layout (little endian):
//! `b"TTCLIP01"`, u64 sample count, f32 samples, u64 frame count, then per frame f32 f0_hz,
//! f32 confidence, f32 loudness_db.
//!
//! # Statistics (for auto-adjust, stored in the model's metadata)
//! Over the voiced, usable frames of the TRAINING clips: mean pitch (MIDI), the 1% and 99%
//! pitch quantiles as min and max, and 11 evenly spaced loudness quantiles (0%, 10%, ..., 100%,
//! in dB, linear interpolation between order statistics).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use timbre_dsp::analysis::{AnalysisConfig, Analyzer, Frame};
use timbre_model::features::{hz_to_midi, LOUDNESS_FLOOR_DB};
use timbre_model::metadata::{DataSource, DatasetStats};
use timbre_model::{scale_f0, scale_loudness};

use timbre_audio::has_audio_extension;

use crate::rng::{fnv1a, Rng};

mod batch;
mod clip_file;
pub mod rng;

pub use batch::Batch;
pub use clip_file::ClipError;
use clip_file::{analyse_file, read_clip, write_clip};

/// Sample rate of the training audio and the synth, in Hz.
pub const SAMPLE_RATE: u32 = 16_000;
/// Samples per frame (250 frames/s).
pub const HOP: usize = 64;
/// Confidence at or above which a frame is voiced (the engine's default gate).
pub const VOICED_CONFIDENCE: f32 = 0.5;
/// Loudness (A-weighted dB) below which leading and trailing frames are silence.
pub const TRIM_DB: f32 = -60.0;
/// Frames kept on each side of the loud part when trimming (0.1 s).
pub const TRIM_MARGIN_FRAMES: usize = 25;
/// Number of loudness quantiles in the statistics.
pub const N_LOUDNESS_QUANTILES: usize = 11;
/// Version of the manifest and clip files; a mismatch rebuilds the cache. 2: the analysis
/// judges note changes by the halves of its window (`timbre_dsp::analysis`), so the features
/// of version 1 differ from the plugin's at note changes. 3: notes with fewer than three
/// periods in the window (below 94 Hz in the 32 ms window) have their loudness read over whole
/// periods.
pub const CACHE_VERSION: u32 = 3;

/// Which side of the split a clip is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Trained on.
    Train,
    /// Held out: validation loss and evaluation.
    Validation,
}

/// One clip's entry in the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClipEntry {
    /// Path relative to the dataset folder (`/` separators).
    pub name: String,
    /// Modification time of the source, nanoseconds since the epoch (0 if unknown).
    pub mtime_ns: u128,
    /// Size of the source in bytes.
    pub size: u64,
    /// Cache file name under `clips/`.
    pub cache_file: String,
    /// Train or validation.
    pub split: Split,
    /// Samples at [`SAMPLE_RATE`].
    pub n_samples: usize,
    /// Analysis frames.
    pub n_frames: usize,
    /// First usable frame after trimming.
    pub start_frame: usize,
    /// One past the last usable frame after trimming.
    pub end_frame: usize,
    /// Voiced frames in the usable range.
    pub voiced_frames: usize,
}

/// The cache's `manifest.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// [`CACHE_VERSION`].
    pub version: u32,
    /// The dataset folder the cache was built from.
    pub source_dir: String,
    /// Audio rate ([`SAMPLE_RATE`]).
    pub sample_rate: u32,
    /// Frame hop ([`HOP`]).
    pub hop: usize,
    /// Offset from `64 · frame` to the start of that frame's audio (see the module docs).
    pub audio_offset_samples: i64,
    /// Seed of the split.
    pub seed: u64,
    /// Fraction of files held out.
    pub val_fraction: f64,
    /// The clips, sorted by name.
    pub clips: Vec<ClipEntry>,
    /// Files in the folder that are not audio (by extension), listed so nothing is silently
    /// left out.
    pub ignored: Vec<String>,
    /// Audio files that could not be read and were skipped (only with `--skip-unreadable`),
    /// with the reason.
    pub skipped: Vec<(String, String)>,
    /// Statistics of the training clips.
    pub stats: DatasetStats,
    /// Where the data came from, with licenses (copied into the model's provenance).
    pub sources: Vec<DataSource>,
}

/// A clip in memory.
#[derive(Clone, Debug)]
pub struct Clip {
    /// The manifest entry.
    pub entry: ClipEntry,
    /// Mono audio at [`SAMPLE_RATE`].
    pub audio: Vec<f32>,
    /// The analysis frames.
    pub frames: Vec<Frame>,
    /// The network's f0 input per frame: `scale_f0(f0)` when voiced, else 0.
    pub f0_in: Vec<f32>,
    /// The network's loudness input per frame: `scale_loudness(loudness_db)`.
    pub loudness_in: Vec<f32>,
    /// The synth's f0 per frame in Hz (last voiced value held).
    pub f0_hz: Vec<f32>,
}

impl Clip {
    /// The first frame whose audio starts at or after sample 0.
    pub fn first_usable_frame(audio_offset: i64) -> usize {
        // 64 · s + offset ≥ 0.
        ((-audio_offset).max(0) as usize).div_ceil(HOP)
    }

    /// Start of the audio of frame `s`, in samples (never negative for usable frames).
    pub fn audio_start(frame: usize, audio_offset: i64) -> usize {
        (frame as i64 * HOP as i64 + audio_offset).max(0) as usize
    }
}

/// A loaded dataset: the manifest and every clip.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The manifest.
    pub manifest: Manifest,
    /// Clips in manifest order.
    pub clips: Vec<Clip>,
}

/// Why a dataset could not be built or loaded.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The folder does not exist or cannot be listed.
    #[error("cannot read the dataset folder {}: {}", .0.display(), .1)]
    Folder(PathBuf, String),
    /// The folder has no audio files.
    #[error("no audio files (.wav, .flac, .mp3, .ogg) in {}", .0.display())]
    NoAudio(PathBuf),
    /// Some audio files could not be read: every one, with its reason.
    #[error("{}", unreadable_list(.0))]
    Unreadable(Vec<(PathBuf, ClipError)>),
    /// The cache could not be written or read.
    #[error("dataset cache {}: {}", .0.display(), .1)]
    Cache(PathBuf, String),
    /// Fetching a named dataset failed.
    #[error("fetching the dataset failed: {0}")]
    Fetch(String),
}

/// The message of [`DatasetError::Unreadable`]: every file with its reason, and what to do.
fn unreadable_list(list: &[(PathBuf, ClipError)]) -> String {
    let mut text = format!("{} audio file(s) could not be read:", list.len());
    for (p, why) in list {
        text.push_str(&format!("\n  {}: {why}", p.display()));
    }
    text + "\n(fix or remove them, or pass --skip-unreadable to leave them out)"
}

/// The manifest's file name inside a cache folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The folder of a named dataset's fetched files (`<dataset dir>/package`).
pub fn package_dir(dataset_dir: &Path) -> PathBuf {
    dataset_dir.join("package")
}

/// The folder of a named dataset's cache (`<dataset dir>/cache`).
pub fn cache_dir(dataset_dir: &Path) -> PathBuf {
    dataset_dir.join("cache")
}

/// Options of [`build`].
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Seed of the train/validation split.
    pub seed: u64,
    /// Fraction of files held out for validation.
    pub val_fraction: f64,
    /// Skip (and list) unreadable files instead of failing.
    pub skip_unreadable: bool,
    /// Sources and licenses to record.
    pub sources: Vec<DataSource>,
    /// Print progress to stderr.
    pub verbose: bool,
    /// Re-analyse every file even when its cache entry is current (after a change to the
    /// analysis code, which the cache key cannot see).
    pub rebuild: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            val_fraction: 0.15,
            skip_unreadable: false,
            sources: Vec::new(),
            verbose: false,
            rebuild: false,
        }
    }
}

/// Offset from `64 · frame` to the start of the frame's audio: `hop − analysis latency`.
pub fn audio_offset_samples() -> i64 {
    let analyzer = Analyzer::new(AnalysisConfig::default(), SAMPLE_RATE as f64)
        .expect("the default analysis config is valid");
    HOP as i64 - analyzer.latency_host_samples().round() as i64
}

/// Lists `dir` recursively: (audio files, other files), both sorted.
fn list_files(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), DatasetError> {
    let mut audio = Vec::new();
    let mut other = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            fs::read_dir(&d).map_err(|e| DatasetError::Folder(d.clone(), e.to_string()))?;
        for entry in entries {
            let entry = entry.map_err(|e| DatasetError::Folder(d.clone(), e.to_string()))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if has_audio_extension(&path) {
                audio.push(path);
            } else {
                other.push(path);
            }
        }
    }
    audio.sort();
    other.sort();
    Ok((audio, other))
}

/// `path` relative to `base`, with `/` separators.
fn relative_name(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a frame is voiced (see the module docs).
pub fn is_voiced(frame: &Frame) -> bool {
    frame.confidence >= VOICED_CONFIDENCE && frame.loudness_db > LOUDNESS_FLOOR_DB
}

/// The usable frame range after trimming silence, `(start, end)`; empty when all is silent.
fn trim(frames: &[Frame], first_usable: usize) -> (usize, usize) {
    let loud = |f: &Frame| f.loudness_db > TRIM_DB;
    let Some(first) = frames.iter().position(loud) else {
        return (first_usable, first_usable);
    };
    let last = frames.iter().rposition(loud).unwrap_or(first);
    let start = first.saturating_sub(TRIM_MARGIN_FRAMES).max(first_usable);
    let end = (last + 1 + TRIM_MARGIN_FRAMES).min(frames.len()).max(start);
    (start, end)
}

/// Builds the network inputs and the synth's f0 of a clip's frames.
fn derive_features(frames: &[Frame]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let f0_in = frames
        .iter()
        .map(|f| if is_voiced(f) { scale_f0(f.f0_hz) } else { 0.0 })
        .collect();
    let loudness_in = frames
        .iter()
        .map(|f| scale_loudness(f.loudness_db))
        .collect();
    let first_voiced = frames
        .iter()
        .find(|f| is_voiced(f))
        .map_or(0.0, |f| f.f0_hz);
    let mut held = first_voiced;
    let f0_hz = frames
        .iter()
        .map(|f| {
            if is_voiced(f) {
                held = f.f0_hz;
            }
            held
        })
        .collect();
    (f0_in, loudness_in, f0_hz)
}

/// Quantile `q ∈ [0, 1]` of sorted values, interpolating linearly between order statistics.
pub fn quantile(sorted: &[f32], q: f64) -> f32 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let t = (pos - lo as f64) as f32;
    sorted[lo] * (1.0 - t) + sorted[hi] * t
}

/// The statistics of the voiced usable frames of the training clips (see the module docs).
/// With no voiced frame at all, neutral values (middle C, −80..0 dB).
pub fn compute_stats<'a>(clips: impl Iterator<Item = (&'a [Frame], usize, usize)>) -> DatasetStats {
    let mut pitches = Vec::new();
    let mut loudness = Vec::new();
    for (frames, start, end) in clips {
        for f in &frames[start..end] {
            if is_voiced(f) {
                pitches.push(hz_to_midi(f.f0_hz));
                loudness.push(f.loudness_db);
            }
        }
    }
    if pitches.is_empty() {
        return DatasetStats {
            pitch_mean_midi: 60.0,
            pitch_min_midi: 60.0,
            pitch_max_midi: 60.0,
            loudness_quantiles_db: (0..N_LOUDNESS_QUANTILES)
                .map(|i| -80.0 + 8.0 * i as f32)
                .collect(),
        };
    }
    let mean = (pitches.iter().map(|&p| p as f64).sum::<f64>() / pitches.len() as f64) as f32;
    pitches.sort_by(f32::total_cmp);
    loudness.sort_by(f32::total_cmp);
    let q = |i: usize| i as f64 / (N_LOUDNESS_QUANTILES - 1) as f64;
    DatasetStats {
        pitch_mean_midi: mean,
        pitch_min_midi: quantile(&pitches, 0.01).min(mean),
        pitch_max_midi: quantile(&pitches, 0.99).max(mean),
        loudness_quantiles_db: (0..N_LOUDNESS_QUANTILES)
            .map(|i| quantile(&loudness, q(i)))
            .collect(),
    }
}

/// Assigns splits by file, separately within each folder (so the recordings and the rendered
/// phrases are both held out, and adding a folder never changes which files of another are):
/// within a folder, order by `fnv1a(seed, name)`, the first `round(n · fraction)` (at least 1
/// when n ≥ 2 and fraction > 0) are validation.
pub fn assign_splits(names: &[String], seed: u64, fraction: f64) -> Vec<Split> {
    let folder = |name: &str| name.rsplit_once('/').map_or("", |(f, _)| f).to_string();
    let mut splits = vec![Split::Train; names.len()];
    let mut folders: Vec<String> = names.iter().map(|n| folder(n)).collect();
    folders.sort();
    folders.dedup();
    for f in folders {
        let members: Vec<usize> = (0..names.len())
            .filter(|&i| folder(&names[i]) == f)
            .collect();
        let n = members.len();
        let mut n_val = (n as f64 * fraction).round() as usize;
        if n >= 2 && fraction > 0.0 {
            n_val = n_val.clamp(1, n - 1);
        } else {
            n_val = 0;
        }
        let mut order = members;
        order.sort_by_key(|&i| (fnv1a(&[&seed.to_le_bytes(), names[i].as_bytes()]), i));
        for &i in &order[..n_val] {
            splits[i] = Split::Validation;
        }
    }
    splits
}

/// Builds (or refreshes) the cache of the audio folder `dir` into `cache`, and loads it.
/// Every unreadable file is named in the error (or skipped and listed with
/// `skip_unreadable`).
pub fn build(dir: &Path, cache: &Path, options: &BuildOptions) -> Result<Dataset, DatasetError> {
    let (audio_files, other) = list_files(dir)?;
    if audio_files.is_empty() {
        return Err(DatasetError::NoAudio(dir.to_path_buf()));
    }
    let clips_dir = cache.join("clips");
    fs::create_dir_all(&clips_dir)
        .map_err(|e| DatasetError::Cache(cache.to_path_buf(), e.to_string()))?;
    let offset = audio_offset_samples();
    let first_usable = Clip::first_usable_frame(offset);
    let mut failures = Vec::new();
    let mut loaded: Vec<(ClipEntry, Vec<f32>, Vec<Frame>)> = Vec::new();
    for (i, path) in audio_files.iter().enumerate() {
        let name = relative_name(path, dir);
        let meta = fs::metadata(path);
        let (mtime_ns, size) = match &meta {
            Ok(m) => (
                m.modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos()),
                m.len(),
            ),
            Err(_) => (0, 0),
        };
        let config = AnalysisConfig::default();
        let key = fnv1a(&[
            &CACHE_VERSION.to_le_bytes(),
            &config.sample_rate.to_le_bytes(),
            &(config.hop as u64).to_le_bytes(),
            &(config.window as u64).to_le_bytes(),
            name.as_bytes(),
            &mtime_ns.to_le_bytes(),
            &size.to_le_bytes(),
        ]);
        let cache_file = format!("{key:016x}.bin");
        let cache_path = clips_dir.join(&cache_file);
        let cached = if options.rebuild {
            None
        } else {
            read_clip(&cache_path).ok()
        };
        let result = match cached {
            Some(c) => Ok(c),
            None => {
                if options.verbose {
                    eprintln!("[{}/{}] analysing {name}", i + 1, audio_files.len());
                }
                analyse_file(path).and_then(|(a, f)| {
                    write_clip(&cache_path, &a, &f)?;
                    Ok((a, f))
                })
            }
        };
        match result {
            Ok((audio, frames)) => {
                let (start_frame, end_frame) = trim(&frames, first_usable);
                let voiced_frames = frames[start_frame..end_frame]
                    .iter()
                    .filter(|f| is_voiced(f))
                    .count();
                let entry = ClipEntry {
                    name,
                    mtime_ns,
                    size,
                    cache_file,
                    split: Split::Train,
                    n_samples: audio.len(),
                    n_frames: frames.len(),
                    start_frame,
                    end_frame,
                    voiced_frames,
                };
                loaded.push((entry, audio, frames));
            }
            Err(why) => failures.push((path.clone(), why)),
        }
    }
    if !failures.is_empty() && !options.skip_unreadable {
        return Err(DatasetError::Unreadable(failures));
    }
    if loaded.is_empty() {
        return Err(DatasetError::Unreadable(failures));
    }
    let names: Vec<String> = loaded.iter().map(|(e, ..)| e.name.clone()).collect();
    for ((entry, ..), split) in
        loaded
            .iter_mut()
            .zip(assign_splits(&names, options.seed, options.val_fraction))
    {
        entry.split = split;
    }
    let stats = compute_stats(
        loaded
            .iter()
            .filter(|(e, ..)| e.split == Split::Train)
            .map(|(e, _, f)| (f.as_slice(), e.start_frame, e.end_frame)),
    );
    let manifest = Manifest {
        version: CACHE_VERSION,
        source_dir: dir.display().to_string(),
        sample_rate: SAMPLE_RATE,
        hop: HOP,
        audio_offset_samples: offset,
        seed: options.seed,
        val_fraction: options.val_fraction,
        clips: loaded.iter().map(|(e, ..)| e.clone()).collect(),
        ignored: other.iter().map(|p| relative_name(p, dir)).collect(),
        skipped: failures
            .iter()
            .map(|(p, why)| (p.display().to_string(), why.to_string()))
            .collect(),
        stats,
        sources: options.sources.clone(),
    };
    let json = serde_json::to_string_pretty(&manifest).expect("the manifest serializes");
    fs::write(cache.join(MANIFEST_FILE), json)
        .map_err(|e| DatasetError::Cache(cache.to_path_buf(), e.to_string()))?;
    // Remove clip files no entry refers to (stale versions of changed files).
    let live: std::collections::BTreeSet<&str> = manifest
        .clips
        .iter()
        .map(|c| c.cache_file.as_str())
        .collect();
    if let Ok(entries) = fs::read_dir(&clips_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !live.contains(name.as_str()) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    let clips = loaded
        .into_iter()
        .map(|(entry, audio, frames)| make_clip(entry, audio, frames))
        .collect();
    Ok(Dataset { manifest, clips })
}

fn make_clip(entry: ClipEntry, audio: Vec<f32>, frames: Vec<Frame>) -> Clip {
    let (f0_in, loudness_in, f0_hz) = derive_features(&frames);
    Clip {
        entry,
        audio,
        frames,
        f0_in,
        loudness_in,
        f0_hz,
    }
}

/// Reads and checks the manifest of a cache written by [`build`] (without its clips).
pub fn read_manifest(cache: &Path) -> Result<Manifest, DatasetError> {
    let err = |e: String| DatasetError::Cache(cache.to_path_buf(), e);
    let text = fs::read_to_string(cache.join(MANIFEST_FILE))
        .map_err(|e| err(format!("no {MANIFEST_FILE} ({e})")))?;
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|e| err(format!("bad {MANIFEST_FILE}: {e}")))?;
    if manifest.version != CACHE_VERSION {
        return Err(err(format!(
            "cache version {} (this build reads {CACHE_VERSION}); rebuild it",
            manifest.version
        )));
    }
    Ok(manifest)
}

/// Loads a cache written by [`build`].
pub fn load(cache: &Path) -> Result<Dataset, DatasetError> {
    let err = |e: String| DatasetError::Cache(cache.to_path_buf(), e);
    let manifest = read_manifest(cache)?;
    let mut clips = Vec::new();
    for entry in &manifest.clips {
        let (audio, frames) = read_clip(&cache.join("clips").join(&entry.cache_file))
            .map_err(|e| err(format!("{}: {e}", entry.cache_file)))?;
        clips.push(make_clip(entry.clone(), audio, frames));
    }
    Ok(Dataset { manifest, clips })
}

impl Dataset {
    /// Clips of one split.
    pub fn split(&self, split: Split) -> impl Iterator<Item = &Clip> {
        self.clips.iter().filter(move |c| c.entry.split == split)
    }

    /// Frames of a clip usable as example starts for `frames`-frame examples: `start..end`
    /// with `end − frames + 1` starts (none if the usable range is shorter).
    fn starts(clip: &Clip, frames: usize) -> usize {
        (clip.entry.end_frame - clip.entry.start_frame + 1).saturating_sub(frames)
    }

    /// Training clips too short for one example of `frames` frames (reported, not used).
    pub fn too_short(&self, frames: usize) -> Vec<&str> {
        self.split(Split::Train)
            .filter(|c| Self::starts(c, frames) == 0)
            .map(|c| c.entry.name.as_str())
            .collect()
    }

    /// A random training batch: each example is a random window of `frames` frames from the
    /// usable part of a training clip, clips weighted by how many windows they hold.
    /// Returns `None` when no training clip is long enough.
    pub fn random_batch(&self, rng: &mut Rng, batch: usize, frames: usize) -> Option<Batch> {
        let offset = self.manifest.audio_offset_samples;
        let clips: Vec<(&Clip, usize)> = self
            .split(Split::Train)
            .map(|c| (c, Self::starts(c, frames)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let total: usize = clips.iter().map(|(_, n)| n).sum();
        if total == 0 {
            return None;
        }
        let mut out = Batch::with_capacity(batch, frames);
        for _ in 0..batch {
            let mut pick = rng.below(total as u64) as usize;
            for (clip, n) in &clips {
                if pick < *n {
                    out.push(clip, clip.entry.start_frame + pick, offset);
                    break;
                }
                pick -= n;
            }
        }
        Some(out)
    }

    /// The fixed validation examples: consecutive non-overlapping windows of `frames` frames
    /// over the usable part of every validation clip (a final partial window is left out).
    pub fn validation_examples(&self, frames: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (i, clip) in self.clips.iter().enumerate() {
            if clip.entry.split != Split::Validation {
                continue;
            }
            let mut s = clip.entry.start_frame;
            while s + frames <= clip.entry.end_frame {
                out.push((i, s));
                s += frames;
            }
        }
        out
    }

    /// A batch made of the given `(clip index, start frame)` examples.
    pub fn batch_of(&self, examples: &[(usize, usize)], frames: usize) -> Batch {
        let mut out = Batch::with_capacity(examples.len(), frames);
        for &(i, s) in examples {
            out.push(&self.clips[i], s, self.manifest.audio_offset_samples);
        }
        out
    }

    /// Seconds of usable audio per split: (train, validation).
    pub fn seconds(&self) -> (f64, f64) {
        let secs = |split| {
            self.split(split)
                .map(|c| (c.entry.end_frame - c.entry.start_frame) as f64 * HOP as f64)
                .sum::<f64>()
                / SAMPLE_RATE as f64
        };
        (secs(Split::Train), secs(Split::Validation))
    }

    /// A one-paragraph summary for the terminal.
    pub fn summary(&self) -> String {
        let (train, val) = self.seconds();
        let n_train = self.split(Split::Train).count();
        let n_val = self.split(Split::Validation).count();
        let s = &self.manifest.stats;
        let held: Vec<&str> = self
            .split(Split::Validation)
            .map(|c| c.entry.name.as_str())
            .collect();
        let mut text = format!(
            "{n_train} training files ({train:.1} s), {n_val} validation files ({val:.1} s)\n\
             held out: {}\n\
             pitch: mean MIDI {:.1}, 1%..99% {:.1}..{:.1}\n\
             loudness quantiles (dB): {}",
            if held.is_empty() {
                "none".to_string()
            } else {
                held.join(", ")
            },
            s.pitch_mean_midi,
            s.pitch_min_midi,
            s.pitch_max_midi,
            s.loudness_quantiles_db
                .iter()
                .map(|q| format!("{q:.1}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        if !self.manifest.ignored.is_empty() {
            text.push_str(&format!(
                "\nignored (not audio by extension): {}",
                self.manifest.ignored.join(", ")
            ));
        }
        for (p, why) in &self.manifest.skipped {
            text.push_str(&format!("\nSKIPPED (unreadable): {p}: {why}"));
        }
        text
    }
}

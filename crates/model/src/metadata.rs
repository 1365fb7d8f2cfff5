//! The JSON document stored in the safetensors header under `__metadata__["tiny_timbre"]`.
//!
//! Schema (format version 2; version 1 is the same without `body_response`); unknown fields are ignored, so later exporters may add
//! information without breaking older readers, while a change of meaning bumps
//! `format_version`, which the loader checks before anything else:
//! ```json
//! {
//!   "format_version": 2,
//!   "name": "Violin (VSCO2)",            // display name
//!   "instrument": "violin",
//!   "architecture": { "channels": 8, "kernel_size": 3, "dilations": [1,3,9,1,3,9],
//!                     "n_harmonics": 60, "n_noise_bands": 65, "norm": "none",
//!                     "body_response": true },          // optional, format 2, default false
//!   "sample_rate_hz": 16000,             // the synth's rate in training
//!   "frame_rate_hz": 250,                // decoder frames per second (hop = 64 samples)
//!   "features": { "f0": "midi_over_127", "loudness": "db_over_80_plus_1" },
//!   "dataset": { "pitch_mean_midi": 62.1, "pitch_min_midi": 55.0, "pitch_max_midi": 88.0,
//!                "loudness_quantiles_db": [-80.0, ..., -12.0] },   // 11 quantiles, 0%..100%
//!   "reverb_sample_rate_hz": 16000,      // rate of the `reverb.ir` tensor
//!   "weight_precision": "f32",           // or "int8"
//!   "recommended_settings": { "auto_adjust": 1.0, "reverb": 50.0 },   // optional
//!   "provenance": { "sources": [{ "name": "...", "license": "CC-BY-3.0", "url": "..." }],
//!                   "training_steps": 100000, "final_losses": { "spectral": 3.1 },
//!                   "date": "2025-01-01", "wall_time_s": 3600.0, "notes": "" }
//! }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::arch::Architecture;

/// The `__metadata__` key holding the JSON document.
pub const METADATA_KEY: &str = "tiny_timbre";
/// The format version this build writes (and the newest it reads). Version 2 added the body
/// response (`architecture.body_response`, tensor `body.response_db`).
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this build reads: a version-1 file has no body response.
pub const OLDEST_FORMAT_VERSION: u32 = 1;
/// Highest sample rate accepted for the model and its reverb IR, in Hz.
pub const MAX_SAMPLE_RATE_HZ: u32 = 192_000;
/// Most loudness quantiles the dataset statistics may hold.
pub const MAX_QUANTILES: usize = 101;

/// How the network's f0 input was scaled in training.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum F0Scaling {
    /// MIDI note number / 127, 0 when unvoiced ([`crate::scale_f0`]).
    #[default]
    MidiOver127,
}

/// How the network's loudness input was scaled in training.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoudnessScaling {
    /// dB / 80 + 1, floored at −80 dB ([`crate::scale_loudness`]).
    #[default]
    DbOver80Plus1,
}

/// The input feature scalings, recorded so a file trained with another scaling is refused
/// (an unknown variant fails to parse) instead of silently fed wrong inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureScaling {
    /// f0 scaling.
    pub f0: F0Scaling,
    /// Loudness scaling.
    pub loudness: LoudnessScaling,
}

/// Statistics of the training set, for auto-adjust (DDSP's timbre-transfer recipe).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetStats {
    /// Mean pitch of voiced frames, MIDI note number.
    pub pitch_mean_midi: f32,
    /// Lowest pitch of voiced frames (e.g. the 1% quantile), MIDI.
    pub pitch_min_midi: f32,
    /// Highest pitch of voiced frames (e.g. the 99% quantile), MIDI.
    pub pitch_max_midi: f32,
    /// Evenly spaced quantiles (0% to 100%) of voiced-frame loudness in dB, nondecreasing;
    /// 11 in the exporter.
    pub loudness_quantiles_db: Vec<f32>,
}

/// Where a piece of training data came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSource {
    /// What it is (package name, sample library).
    pub name: String,
    /// Its license (SPDX id or words).
    pub license: String,
    /// Where it was obtained.
    #[serde(default)]
    pub url: String,
}

/// How the model was made.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The training data, with licenses.
    pub sources: Vec<DataSource>,
    /// Optimizer steps taken.
    pub training_steps: u64,
    /// Final loss values by name (e.g. `"spectral"`, `"validation"`).
    pub final_losses: BTreeMap<String, f64>,
    /// Date of the export (ISO 8601).
    pub date: String,
    /// Training wall time in seconds.
    pub wall_time_s: f64,
    /// Free-form notes.
    #[serde(default)]
    pub notes: String,
}

/// How the conv and head weights are stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightPrecision {
    /// Every tensor is F32.
    #[default]
    F32,
    /// `*.weight` of the convs and the head are I8 with an F32 `*.weight_scale` per output
    /// channel; everything else stays F32.
    Int8,
}

/// The whole metadata document (see the module docs for the JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// [`FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// Display name.
    pub name: String,
    /// The instrument it plays.
    pub instrument: String,
    /// The network's shape.
    pub architecture: Architecture,
    /// Sample rate of the training audio, in Hz.
    pub sample_rate_hz: u32,
    /// Decoder frames per second; divides `sample_rate_hz`.
    pub frame_rate_hz: u32,
    /// Input feature scalings.
    #[serde(default)]
    pub features: FeatureScaling,
    /// Training-set statistics for auto-adjust.
    pub dataset: DatasetStats,
    /// Sample rate of the reverb IR, in Hz.
    pub reverb_sample_rate_hz: u32,
    /// How the weights are stored.
    pub weight_precision: WeightPrecision,
    /// How the model was made.
    #[serde(default)]
    pub provenance: Provenance,
    /// The settings the model sounds best with, by engine parameter id (`"reverb": 50.0`,
    /// `"auto_adjust": 1.0`), chosen with the independent listener (`cargo xtask listen`).
    /// The CLI and the plugin's model picker start from them; empty means the engine's
    /// defaults. Optional information, so format-1 readers that do not know it play the file
    /// with their defaults.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub recommended_settings: BTreeMap<String, f32>,
}

/// A metadata value outside what this build accepts (see [`ModelMetadata::validate_values`]).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BadValue {
    /// A sample rate outside `1..=MAX_SAMPLE_RATE_HZ`.
    #[error("{field} is {value}, allowed 1..={MAX_SAMPLE_RATE_HZ}")]
    Rate {
        /// Which rate.
        field: &'static str,
        /// Its value in Hz.
        value: u32,
    },
    /// The frame rate does not divide the sample rate.
    #[error("frame_rate_hz {frame_rate_hz} does not divide sample_rate_hz {sample_rate_hz} into a whole hop")]
    Hop {
        /// Frames per second.
        frame_rate_hz: u32,
        /// Samples per second.
        sample_rate_hz: u32,
    },
    /// A dataset pitch is not a MIDI number.
    #[error("dataset pitches must be MIDI numbers in 0..=140")]
    PitchNotMidi,
    /// The mean pitch lies outside the pitch range.
    #[error("dataset pitch mean {mean} is not within its range {min}..={max}")]
    PitchMean {
        /// Mean pitch (MIDI).
        mean: f32,
        /// Lowest pitch (MIDI).
        min: f32,
        /// Highest pitch (MIDI).
        max: f32,
    },
    /// Too few or too many loudness quantiles.
    #[error("dataset has {count} loudness quantiles, allowed 2..={MAX_QUANTILES}")]
    QuantileCount {
        /// How many there are.
        count: usize,
    },
    /// A loudness quantile is not a finite dB value in range.
    #[error("dataset loudness quantiles must be finite dB values in -300..=100")]
    QuantileRange,
    /// The loudness quantiles decrease somewhere.
    #[error("dataset loudness quantiles must be nondecreasing")]
    QuantileOrder,
    /// Too many recommended settings, or a bad id or value.
    #[error(
        "recommended_settings must be at most {MAX_RECOMMENDED_SETTINGS} finite values under ids of 1 to 32 characters"
    )]
    RecommendedSettings,
}

/// Most recommended settings a model may carry.
pub const MAX_RECOMMENDED_SETTINGS: usize = 32;

impl ModelMetadata {
    /// Hop size in samples at `sample_rate_hz` (64 for 16 kHz at 250 frames/s).
    pub fn hop_samples(&self) -> u32 {
        self.sample_rate_hz / self.frame_rate_hz.max(1)
    }

    /// Checks the values the architecture does not cover: rates, statistics. The error says
    /// which field and why.
    pub fn validate_values(&self) -> Result<(), BadValue> {
        let rate_ok = |r: u32| (1..=MAX_SAMPLE_RATE_HZ).contains(&r);
        for (field, value) in [
            ("sample_rate_hz", self.sample_rate_hz),
            ("reverb_sample_rate_hz", self.reverb_sample_rate_hz),
        ] {
            if !rate_ok(value) {
                return Err(BadValue::Rate { field, value });
            }
        }
        if self.frame_rate_hz == 0 || !self.sample_rate_hz.is_multiple_of(self.frame_rate_hz) {
            return Err(BadValue::Hop {
                frame_rate_hz: self.frame_rate_hz,
                sample_rate_hz: self.sample_rate_hz,
            });
        }
        let d = &self.dataset;
        let midi_ok = |m: f32| (0.0..=140.0).contains(&m);
        if !(midi_ok(d.pitch_min_midi) && midi_ok(d.pitch_max_midi) && midi_ok(d.pitch_mean_midi)) {
            return Err(BadValue::PitchNotMidi);
        }
        if !(d.pitch_min_midi <= d.pitch_mean_midi && d.pitch_mean_midi <= d.pitch_max_midi) {
            return Err(BadValue::PitchMean {
                mean: d.pitch_mean_midi,
                min: d.pitch_min_midi,
                max: d.pitch_max_midi,
            });
        }
        let q = &d.loudness_quantiles_db;
        if !(2..=MAX_QUANTILES).contains(&q.len()) {
            return Err(BadValue::QuantileCount { count: q.len() });
        }
        if !q.iter().all(|v| (-300.0..=100.0).contains(v)) {
            return Err(BadValue::QuantileRange);
        }
        if q.windows(2).any(|w| w[0] > w[1]) {
            return Err(BadValue::QuantileOrder);
        }
        let r = &self.recommended_settings;
        if r.len() > MAX_RECOMMENDED_SETTINGS
            || r.iter()
                .any(|(id, v)| id.is_empty() || id.len() > 32 || !v.is_finite())
        {
            return Err(BadValue::RecommendedSettings);
        }
        Ok(())
    }
}

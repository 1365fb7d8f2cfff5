//! `timbre-listener`: a listener who never heard our code.
//!
//! CED-tiny, an AudioSet tagger (527 classes, Apache-2.0) that the crates.io crate
//! `soundevents` 0.5.0 ships as `models/tiny.onnx`, with the class names from
//! `soundevents-dataset` 0.4.0 (`assets/class_labels_indices.csv`). [`fetch`] downloads both
//! crate files from crates.io once (checked against their SHA-256) into `target/listener/`;
//! [`Listener`] runs the graph through tract, pure Rust, offline. We did not train it, and it
//! knows nothing about this project: it says which sounds it hears, with a probability each.
//!
//! The graph takes mono 16 kHz audio and ends in a sigmoid. It was trained on 10 s clips, so
//! longer audio is judged in 10 s windows whose probabilities are averaged ([`Listener::tag`]).
//!
//! [`sources`] gathers real recordings we did not make (singing, instrument notes and
//! phrases) and [`judge`] renders them through each model and asks the listener.

mod fetch;
pub mod judge;
pub mod sources;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tract_onnx::pb::{NodeProto, TensorProto};
use tract_onnx::prelude::*;

use crate::fetch::{fetch_member, Archive, Registry};

/// The listener's sample rate, in Hz.
pub const RATE_HZ: f64 = 16_000.0;
/// Window the tagger was trained on, in samples (10 s).
pub const WINDOW: usize = 160_000;
/// Shortest tail judged as a window of its own, in samples (2 s).
pub const MIN_WINDOW: usize = 32_000;

/// The classes that say "this is a synthesizer, not an instrument".
pub const SYNTHETIC_CLASSES: [&str; 8] = [
    "Synthesizer",
    "Sine wave",
    "Siren",
    "Beep, bleep",
    "Electronic tuner",
    "Mosquito",
    "Insect",
    "Harmonic",
];

/// The instrument classes a top-instrument check looks among.
pub const INSTRUMENT_CLASSES: [&str; 14] = [
    "Violin, fiddle",
    "Bowed string instrument",
    "Cello",
    "Double bass",
    "Trumpet",
    "Brass instrument",
    "French horn",
    "Trombone",
    "Flute",
    "Saxophone",
    "Clarinet",
    "Wind instrument, woodwind instrument",
    "Harmonica",
    "Accordion",
];

/// The classes that name a human voice singing (the vocadito voices read as "Mantra",
/// "Chant" or "Humming").
pub const VOICE_CLASSES: [&str; 12] = [
    "Singing",
    "Male singing",
    "Female singing",
    "Vocal music",
    "A capella",
    "Chant",
    "Mantra",
    "Humming",
    "Lullaby",
    "Choir",
    "Yodeling",
    "Speech",
];

/// The classes that name an instrument (the best of them counts): trumpet as either
/// "Trumpet" or "Brass instrument", as the bar says.
pub fn target_classes(instrument: &str) -> &'static [&'static str] {
    match instrument {
        "violin" => &["Violin, fiddle"],
        "cello" => &["Cello"],
        "trumpet" => &["Trumpet", "Brass instrument"],
        "flute" => &["Flute"],
        "saxophone" => &["Saxophone"],
        "voice" => &VOICE_CLASSES,
        _ => &[],
    }
}

/// The tagger: `soundevents` 0.5.0 from crates.io.
const MODEL: Archive = Archive {
    registry: Registry::CratesIo {
        name: "soundevents",
        version: "0.5.0",
    },
    file: "soundevents-0.5.0.crate",
    sha256: "6e6d2cefd03bfaf30a8b237d9a34e86e7a181e7a6ce078c22e06f12e50fed1a2",
};

/// Its class labels: `soundevents-dataset` 0.4.0 from crates.io.
const LABELS: Archive = Archive {
    registry: Registry::CratesIo {
        name: "soundevents-dataset",
        version: "0.4.0",
    },
    file: "soundevents-dataset-0.4.0.crate",
    sha256: "70f485955fe81154083e2600191811d25a6259b0d8876e204ba53b0292af01de",
};

/// Why the listener cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    /// A download or unpacking step failed.
    #[error("fetching {what}: {reason}")]
    Fetch {
        /// What was being fetched.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// A downloaded file is not the one expected.
    #[error("{file}: SHA-256 {found}, expected {expected}")]
    Checksum {
        /// The file.
        file: PathBuf,
        /// Its hash.
        found: String,
        /// The expected hash.
        expected: String,
    },
    /// The label file is malformed.
    #[error("{0}: not a class label list")]
    Labels(PathBuf),
    /// tract could not load or run the graph.
    #[error("the tagger: {0}")]
    Tract(String),
    /// An evaluation step failed.
    #[error(transparent)]
    Eval(#[from] timbre_eval::EvalError),
    /// Audio could not be read.
    #[error(transparent)]
    Audio(#[from] timbre_audio::AudioError),
    /// A model could not be found or loaded.
    #[error("{0}")]
    Model(String),
}

impl From<TractError> for ListenerError {
    fn from(e: TractError) -> Self {
        Self::Tract(format!("{e:#}"))
    }
}

/// Downloads (once) the tagger and its labels into `dir`; returns their paths. Each crate
/// file is checked against its SHA-256 before it is unpacked (see [`fetch`](mod@fetch)).
pub fn fetch(dir: &Path) -> Result<(PathBuf, PathBuf), ListenerError> {
    let model = fetch_member(dir, &MODEL, "soundevents-0.5.0/models/tiny.onnx")?;
    let labels = fetch_member(
        dir,
        &LABELS,
        "soundevents-dataset-0.4.0/assets/class_labels_indices.csv",
    )?;
    Ok((model, labels))
}

/// The tagger, ready to judge clips of any length.
pub struct Listener {
    /// The graph with a symbolic length, as loaded.
    model: InferenceModel,
    /// Plans for the window lengths seen so far.
    plans: Mutex<HashMap<usize, Arc<TypedSimplePlan>>>,
    /// Class names in output order.
    labels: Vec<String>,
}

/// One clip's verdict: a probability per class.
#[derive(Clone, Debug)]
pub struct Tags {
    /// Probabilities in the labels' order.
    pub probs: Vec<f32>,
    labels: Vec<String>,
}

impl Tags {
    /// The probability of class `name` (0 for an unknown name).
    pub fn prob(&self, name: &str) -> f32 {
        self.labels
            .iter()
            .position(|l| l == name)
            .map_or(0.0, |i| self.probs[i])
    }

    /// The best of `names`.
    pub fn best_of(&self, names: &[&str]) -> f32 {
        names.iter().map(|n| self.prob(n)).fold(0.0, f32::max)
    }

    /// The sum over [`SYNTHETIC_CLASSES`].
    pub fn synthetic(&self) -> f32 {
        SYNTHETIC_CLASSES.iter().map(|n| self.prob(n)).sum()
    }

    /// The `n` most probable classes, best first.
    pub fn top(&self, n: usize) -> Vec<(String, f32)> {
        let mut order: Vec<usize> = (0..self.probs.len()).collect();
        order.sort_by(|&a, &b| self.probs[b].total_cmp(&self.probs[a]));
        order
            .into_iter()
            .take(n)
            .map(|i| (self.labels[i].clone(), self.probs[i]))
            .collect()
    }

    /// The most probable of [`INSTRUMENT_CLASSES`].
    pub fn top_instrument(&self) -> (String, f32) {
        INSTRUMENT_CLASSES
            .iter()
            .map(|n| (n.to_string(), self.prob(n)))
            .fold((String::new(), -1.0), |a, b| if b.1 > a.1 { b } else { a })
    }
}

impl Listener {
    /// Loads the tagger from `model` (the ONNX file) and `labels` (the class CSV).
    pub fn load(model: &Path, labels: &Path) -> Result<Self, ListenerError> {
        let labels = read_labels(labels)?;
        let onnx = tract_onnx::onnx().with_ignore_value_info(true);
        let mut proto = onnx.proto_model_for_path(model)?;
        feed_stft_a_channel_axis(&mut proto)?;
        let model = onnx.model_for_proto_model(&proto)?;
        Ok(Self {
            model,
            plans: Mutex::new(HashMap::new()),
            labels,
        })
    }

    /// The class names, in output order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Judges `audio` (mono, 16 kHz): the mean of the probabilities of its windows. A clip up
    /// to 10 s is one window; a longer one is cut into 10 s windows, the last of which ends
    /// with the clip (overlapping the one before). Windows are whole seconds long (the
    /// export's patch reshapes fail on some other lengths): a clip's last partial second is
    /// left out, and one shorter than a second is padded with silence.
    pub fn tag(&self, audio: &[f32]) -> Result<Tags, ListenerError> {
        let second = RATE_HZ as usize;
        let mut windows: Vec<Vec<f32>> = Vec::new();
        if audio.len() <= WINDOW {
            let len = (audio.len() / second * second).max(second);
            let mut w = audio[..audio.len().min(len)].to_vec();
            w.resize(len, 0.0);
            windows.push(w);
        } else {
            let mut start = 0;
            while start + WINDOW <= audio.len() {
                windows.push(audio[start..start + WINDOW].to_vec());
                start += WINDOW;
            }
            if audio.len() - start >= MIN_WINDOW {
                windows.push(audio[audio.len() - WINDOW..].to_vec());
            }
        }
        let mut sum = vec![0.0f32; self.labels.len()];
        for window in &windows {
            let probs = self.run(window)?;
            for (s, p) in sum.iter_mut().zip(probs) {
                *s += p;
            }
        }
        let n = windows.len() as f32;
        Ok(Tags {
            probs: sum.into_iter().map(|s| s / n).collect(),
            labels: self.labels.clone(),
        })
    }

    /// Runs the graph on one window.
    fn run(&self, window: &[f32]) -> Result<Vec<f32>, ListenerError> {
        let plan = self.plan(window.len())?;
        let input = tract_ndarray::Array2::from_shape_vec((1, window.len()), window.to_vec())
            .map_err(|e| ListenerError::Tract(e.to_string()))?;
        let out = plan.run(tvec!(Tensor::from(input).into()))?;
        let probs = out[0].to_plain_array_view::<f32>()?;
        Ok(probs.iter().copied().collect())
    }

    /// The plan for windows of `len` samples (built once per length).
    fn plan(&self, len: usize) -> Result<Arc<TypedSimplePlan>, ListenerError> {
        if let Some(plan) = self.plans.lock().unwrap().get(&len) {
            return Ok(plan.clone());
        }
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact([1, len]).into())?
            .into_typed()?
            .into_runnable()?;
        self.plans.lock().unwrap().insert(len, plan.clone());
        Ok(plan)
    }
}

/// The export feeds ONNX's `STFT` a `[batch, length]` signal; the operator (and tract) want
/// `[batch, length, 1]`. Inserts an `Unsqueeze` on axis 2 before it.
fn feed_stft_a_channel_axis(proto: &mut tract_onnx::pb::ModelProto) -> Result<(), ListenerError> {
    let graph = proto
        .graph
        .as_mut()
        .ok_or_else(|| ListenerError::Tract("the ONNX file has no graph".into()))?;
    let at = graph
        .node
        .iter()
        .position(|n| n.op_type == "STFT")
        .ok_or_else(|| ListenerError::Tract("no STFT node in the tagger".into()))?;
    let signal = graph.node[at].input[0].clone();
    let axes = "timbre_listener_stft_axes".to_string();
    let widened = format!("{signal}_with_channel_axis");
    graph.initializer.push(TensorProto {
        name: axes.clone(),
        dims: vec![1],
        data_type: 7, // INT64
        int64_data: vec![2],
        ..Default::default()
    });
    graph.node[at].input[0] = widened.clone();
    graph.node.insert(
        at,
        NodeProto {
            name: "timbre_listener_unsqueeze".into(),
            op_type: "Unsqueeze".into(),
            input: vec![signal, axes],
            output: vec![widened],
            ..Default::default()
        },
    );
    Ok(())
}

/// Reads `index,mid,display_name` rows (the display name quoted when it holds a comma).
fn read_labels(path: &Path) -> Result<Vec<String>, ListenerError> {
    let text = std::fs::read_to_string(path).map_err(|_| ListenerError::Labels(path.into()))?;
    let labels: Vec<String> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut fields = line.splitn(3, ',');
            let _index = fields.next();
            let _mid = fields.next();
            fields
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"')
                .to_string()
        })
        .collect();
    if labels.len() != 527 || labels.iter().any(String::is_empty) {
        return Err(ListenerError::Labels(path.into()));
    }
    Ok(labels)
}

//! Renders sources through models and asks the [`Listener`] what it hears.
//!
//! A render passes when the target instrument's probability is at least [`PASS_TARGET`],
//! the target is the most probable instrument class, and the synthetic classes sum to less
//! than [`PASS_SYNTHETIC`] (the bars of the sound-realism issue).

use serde::Serialize;
use timbre_dsp::offline::resample_clip;
use timbre_engine::offline::render;
use timbre_engine::Params;
use timbre_model::ModelFile;

use crate::sources::Source;
use crate::{target_classes, Listener, ListenerError, Tags, RATE_HZ};

/// Lowest target-class probability that passes.
pub const PASS_TARGET: f32 = 0.5;
/// Synthetic classes must sum to less than this.
pub const PASS_SYNTHETIC: f32 = 0.2;

/// What the listener said about one clip.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// The model that rendered it (`None`: the source itself, a reference row).
    pub model: Option<String>,
    /// The instrument it should sound like.
    pub target: String,
    /// The source's name.
    pub source: String,
    /// Probability of the target (the best of its classes).
    pub target_prob: f32,
    /// The most probable instrument class and its probability.
    pub top_instrument: (String, f32),
    /// Sum of the synthetic classes.
    pub synthetic: f32,
    /// The five most probable classes.
    pub top: Vec<(String, f32)>,
    /// Whether it meets the bars.
    pub pass: bool,
}

impl Verdict {
    fn new(model: Option<&str>, target: &str, source: &str, tags: &Tags) -> Self {
        let classes = target_classes(target);
        let target_prob = tags.best_of(classes);
        let top_instrument = tags.top_instrument();
        let synthetic = tags.synthetic();
        let pass = target_prob >= PASS_TARGET
            && classes.contains(&top_instrument.0.as_str())
            && synthetic < PASS_SYNTHETIC;
        Self {
            model: model.map(str::to_string),
            target: target.to_string(),
            source: source.to_string(),
            target_prob,
            top_instrument,
            synthetic,
            top: tags.top(5),
            pass,
        }
    }
}

/// Mono `samples` at `rate`, at the listener's 16 kHz.
pub fn to_listener_rate(samples: &[f32], rate: f64) -> Result<Vec<f32>, ListenerError> {
    if rate == RATE_HZ {
        return Ok(samples.to_vec());
    }
    resample_clip(samples, rate, RATE_HZ).map_err(|e| ListenerError::Model(e.to_string()))
}

/// The listener on a recording as it is (a reference row): does it hear `target`?
pub fn reference(
    listener: &Listener,
    source: &Source,
    target: &str,
) -> Result<Verdict, ListenerError> {
    let tags = listener.tag(&to_listener_rate(&source.samples, source.rate)?)?;
    Ok(Verdict::new(None, target, &source.name, &tags))
}

/// Renders `source` through `model` (named `name`, sounding like `target`) with `params`, as
/// the CLI does, and asks the listener.
pub fn transfer(
    listener: &Listener,
    name: &str,
    model: &ModelFile,
    target: &str,
    source: &Source,
    params: &Params,
) -> Result<Verdict, ListenerError> {
    let rendered = render(
        model,
        params,
        std::slice::from_ref(&source.samples),
        source.rate,
        |_, _| {},
    )
    .map_err(|e| ListenerError::Model(e.to_string()))?;
    let mono: Vec<f32> = rendered
        .left
        .iter()
        .zip(&rendered.right)
        .map(|(l, r)| 0.5 * (l + r))
        .collect();
    let tags = listener.tag(&to_listener_rate(&mono, source.rate)?)?;
    Ok(Verdict::new(Some(name), target, &source.name, &tags))
}

//! The output stage: the smoothed output gain, reverb mix and morph amount, and the safety
//! ceiling.

use timbre_dsp::smooth::{sanitize, LinearSmoother};

use crate::params::{db_to_gain, Params};
use crate::{OUTPUT_CEILING, PARAM_SMOOTHING_MS};

/// Per-sample gain and reverb mix of an engine (see the module docs). Allocation-free after
/// [`OutputStage::new`].
pub(crate) struct OutputStage {
    /// Smoothed output gain (linear).
    gain: LinearSmoother,
    /// Smoothed reverb mix (0..1).
    wet: LinearSmoother,
    /// Smoothed morph amount toward model B (0..1).
    morph: LinearSmoother,
    /// The chunk's per-sample gain, mix and morph amount, `max_block` long.
    gains: Vec<f32>,
    wets: Vec<f32>,
    morphs: Vec<f32>,
}

impl OutputStage {
    /// A stage on `params`' values at `host_rate`, for chunks of at most `max_block`.
    /// Allocates.
    pub fn new(params: &Params, host_rate: f64, max_block: usize) -> Self {
        Self {
            gain: LinearSmoother::with_time(
                db_to_gain(params.output_gain_db),
                PARAM_SMOOTHING_MS,
                host_rate,
            ),
            wet: LinearSmoother::with_time(
                params.reverb_percent / 100.0,
                PARAM_SMOOTHING_MS,
                host_rate,
            ),
            morph: LinearSmoother::with_time(params.morph, PARAM_SMOOTHING_MS, host_rate),
            gains: vec![0.0; max_block],
            wets: vec![0.0; max_block],
            morphs: vec![0.0; max_block],
        }
    }

    /// Glides toward `params`' gain, mix and morph amount.
    pub fn set_targets(&mut self, params: &Params) {
        self.gain.set_target(db_to_gain(params.output_gain_db));
        self.wet.set_target(params.reverb_percent / 100.0);
        self.morph.set_target(params.morph);
    }

    /// Jumps to `params`' gain, mix and morph amount.
    pub fn reset(&mut self, params: &Params) {
        self.gain.reset(db_to_gain(params.output_gain_db));
        self.wet.reset(params.reverb_percent / 100.0);
        self.morph.reset(params.morph);
    }

    /// Advances the smoothers over a chunk of `len` samples (read back with
    /// [`OutputStage::wet`] and applied by [`OutputStage::apply`]).
    pub fn advance(&mut self, len: usize) {
        self.gain.fill(&mut self.gains[..len]);
        self.wet.fill(&mut self.wets[..len]);
        self.morph.fill(&mut self.morphs[..len]);
    }

    /// The per-sample morph amount of the chunk last advanced.
    pub fn morph(&self, len: usize) -> &[f32] {
        &self.morphs[..len]
    }

    /// The per-sample mix of the chunk last advanced.
    pub fn wet(&self, len: usize) -> &[f32] {
        &self.wets[..len]
    }

    /// Applies the chunk's gain and the ceiling to each channel (`len` samples each).
    pub fn apply(&self, channels: [&mut [f32]; 2]) {
        for channel in channels {
            let len = channel.len();
            for (o, g) in channel.iter_mut().zip(&self.gains[..len]) {
                *o = sanitize(*o * g).clamp(-OUTPUT_CEILING, OUTPUT_CEILING);
            }
        }
    }
}

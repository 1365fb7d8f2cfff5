//! The control side of one prepared engine: builds voices for it and hands them over.
//!
//! [`Engine::prepare`](crate::Engine::prepare) returns a [`VoiceFactory`] with the engine. It
//! holds what a voice is built for (the host rate and the maximum block) and the control end
//! of the lock-free swap rings, so every front end builds voices the same way, off the audio
//! thread: the plugin's loader, the web page, the tests. It checks each model once, in
//! [`VoiceFactory::build`]: a voice that reaches the engine is always playable. The engine's
//! first voice is built by the same method. A new activation is a new engine and a new
//! factory; voices built by an old factory can only go to the old engine.

use timbre_dsp::analysis::AnalysisConfig;
use timbre_model::ModelFile;

use crate::error::EngineError;
use crate::swap::VoiceSender;
use crate::voice::Voice;

/// Builds voices for one engine and sends them to its audio thread (see the module docs).
pub struct VoiceFactory {
    /// Host sample rate of the engine, in Hz.
    host_rate: f64,
    /// The engine's maximum block size.
    max_block: usize,
    /// Sends voices to the engine and gets retired ones back: model A's slot, then the
    /// morph's model B.
    senders: [VoiceSender; 2],
}

impl VoiceFactory {
    /// A factory for an engine at `host_rate` with blocks of at most `max_block`.
    pub(crate) fn new(host_rate: f64, max_block: usize, senders: [VoiceSender; 2]) -> Self {
        Self {
            host_rate,
            max_block,
            senders,
        }
    }

    /// Checks that the engine can play `model` and builds its voice. Allocates (decoder,
    /// synth, the reverb IR resampled to the host rate): call it off the audio thread.
    pub fn build(&self, model: &ModelFile) -> Result<Box<Voice>, EngineError> {
        analysis_config(model)?;
        Ok(Box::new(Voice::new(model, self.host_rate, self.max_block)?))
    }

    /// Sends a voice to the audio thread, which crossfades to it. When the ring is full (the
    /// audio thread has not run through several swaps) the voice comes back as the error:
    /// nothing is lost, try again after the audio thread ran. Frees retired voices first.
    pub fn send(&mut self, voice: Box<Voice>) -> Result<(), Box<Voice>> {
        self.senders[0].send(voice)
    }

    /// Sends a voice to the morph's slot (model B), which fades to it the same way; the
    /// Morph knob then blends it in. Same rules as [`VoiceFactory::send`].
    pub fn send_morph(&mut self, voice: Box<Voice>) -> Result<(), Box<Voice>> {
        self.senders[1].send(voice)
    }

    /// Frees the voices the audio thread is done with. Returns how many were freed.
    pub fn collect_garbage(&mut self) -> usize {
        self.senders.iter_mut().map(|s| s.collect_garbage()).sum()
    }

    /// Voices sent but not yet picked up by the audio thread.
    pub fn in_flight(&self) -> usize {
        self.senders.iter().map(|s| s.in_flight()).sum()
    }

    /// The host rate voices are built for, in Hz.
    pub fn sample_rate(&self) -> f64 {
        self.host_rate
    }

    /// The maximum block voices are built for.
    pub fn max_block(&self) -> usize {
        self.max_block
    }
}

/// Control steps per model frame: the engine analyses its input, steps the decoder
/// ([`timbre_model::Decoder::interleaved`]) and retargets the synth every model hop / 4, 1 ms
/// for the 4 ms frames of every model. A control step's values reach the synth a step after
/// its window's centre, so a quarter of the hop is what the frame rate adds to the latency
/// (it added the whole 4 ms hop when the engine stepped once per frame).
pub const CONTROL_STEPS: usize = 4;

/// The engine's analysis configuration for a model: the model's rate and window, with its hop
/// divided into [`CONTROL_STEPS`] (every fourth frame is exactly a model frame). Any model
/// [`analysis_config`] refuses is refused.
pub(crate) fn control_config(model: &ModelFile) -> Result<AnalysisConfig, EngineError> {
    Ok(control_config_of(analysis_config(model)?))
}

/// `config` with its hop divided into [`CONTROL_STEPS`].
pub(crate) fn control_config_of(config: AnalysisConfig) -> AnalysisConfig {
    AnalysisConfig {
        hop: config.hop / CONTROL_STEPS,
        ..config
    }
}

/// The analysis configuration a model needs: its sample rate and hop, with the default window.
/// This version analyses at one rate and hop, so any other is refused.
pub(crate) fn analysis_config(model: &ModelFile) -> Result<AnalysisConfig, EngineError> {
    let meta = model.metadata();
    let default = AnalysisConfig::default();
    let config = AnalysisConfig {
        sample_rate: meta.sample_rate_hz,
        hop: meta.hop_samples() as usize,
        window: default.window,
    };
    if config != default {
        return Err(EngineError::UnsupportedModel(format!(
            "\"{}\" uses features at {} Hz with a hop of {} samples; this version analyses at {} Hz with a hop of {}",
            meta.name, config.sample_rate, config.hop, default.sample_rate, default.hop
        )));
    }
    Ok(config)
}

//! Tiny Timbre in the browser: wasm-bindgen bindings of [`timbre_engine`], the same engine the
//! plugin and the CLI run, compiled for `wasm32-unknown-unknown`.
//!
//! The page (`www/`) compiles the module once on the main thread and posts it to an
//! AudioWorklet, which instantiates it and drives one [`WebEngine`] per 128-sample render
//! quantum. Audio crosses the boundary through `Float32Array` views on buffers that the engine
//! allocated up front ([`WebEngine::input_ptr`], [`WebEngine::output_ptr`]), so
//! [`WebEngine::process`] allocates nothing. The same views carry the meters
//! ([`WebEngine::meters_ptr`], laid out as [`layout_json`] says) and the hand-set synth
//! controls ([`WebEngine::manual_ptr`]).
//!
//! Only the embedded models are offered ([`timbre_catalog::embedded_models`]): a page has no
//! user model folder. Functions that take or return strings are for the main thread (the
//! worklet scope has no `TextDecoder`; the page's worklet brings a small one for error
//! messages).

use timbre_catalog::embedded_models;
use timbre_dsp::analysis::{analyze_clip, AnalysisConfig};
use timbre_dsp::harmonic::MAX_HARMONICS;
use timbre_dsp::noise::MAX_BANDS;
use timbre_engine::params::ALL;
use timbre_engine::{Engine, Params, VoiceFactory};
use timbre_model::ModelFile;
use wasm_bindgen::prelude::*;

/// Meter slot: the decoder's overall harmonic amplitude.
pub const METER_AMPLITUDE: usize = 0;
/// Meter slot: the analysed input f0, in Hz.
pub const METER_F0_IN: usize = 1;
/// Meter slot: the pitch confidence, 0..1.
pub const METER_CONFIDENCE: usize = 2;
/// Meter slot: the input loudness, in dB.
pub const METER_LOUDNESS: usize = 3;
/// Meter slot: the f0 the synth plays (after shift and autotune), in Hz.
pub const METER_F0_OUT: usize = 4;
/// Meter slot: the gate gain, 0..1.
pub const METER_GATE: usize = 5;
/// Meter slot: the last block's input peak.
pub const METER_INPUT_PEAK: usize = 6;
/// Meter slot: the last block's output peak.
pub const METER_OUTPUT_PEAK: usize = 7;
/// Meter slot: how many harmonics the model has.
pub const METER_N_HARMONICS: usize = 8;
/// Meter slot: how many noise bands the model has.
pub const METER_N_BANDS: usize = 9;
/// Where the decoder's harmonic distribution starts in the meters ([`MAX_HARMONICS`] slots).
pub const METER_HARMONICS: usize = 10;
/// Where the decoder's noise band magnitudes start in the meters ([`MAX_BANDS`] slots).
pub const METER_NOISE: usize = METER_HARMONICS + MAX_HARMONICS;
/// Length of the meter buffer.
pub const METER_LEN: usize = METER_NOISE + MAX_BANDS;
/// Where the harmonic distribution starts in the manual buffer (slot 0 is the amplitude).
pub const MANUAL_HARMONICS: usize = 1;
/// Where the noise magnitudes start in the manual buffer.
pub const MANUAL_NOISE: usize = MANUAL_HARMONICS + MAX_HARMONICS;
/// Length of the manual buffer.
pub const MANUAL_LEN: usize = MANUAL_NOISE + MAX_BANDS;

/// The offsets of the meter and manual buffers, as JSON, so the page never hard-codes them.
#[wasm_bindgen]
pub fn layout_json() -> String {
    serde_json::json!({
        "meter": {
            "amplitude": METER_AMPLITUDE, "f0In": METER_F0_IN, "confidence": METER_CONFIDENCE,
            "loudness": METER_LOUDNESS, "f0Out": METER_F0_OUT, "gate": METER_GATE,
            "inputPeak": METER_INPUT_PEAK, "outputPeak": METER_OUTPUT_PEAK,
            "nHarmonics": METER_N_HARMONICS, "nBands": METER_N_BANDS,
            "harmonics": METER_HARMONICS, "noise": METER_NOISE, "len": METER_LEN,
        },
        "manual": {
            "amplitude": 0, "harmonics": MANUAL_HARMONICS, "noise": MANUAL_NOISE,
            "len": MANUAL_LEN,
        },
    })
    .to_string()
}

/// Every engine parameter (id, name, unit, min, max, default, integer), as a JSON array in the
/// order editors show them; a parameter's index in it is what [`WebEngine::set_param`] takes.
#[wasm_bindgen]
pub fn params_json() -> String {
    let specs: Vec<_> = ALL
        .iter()
        .map(|p| {
            serde_json::json!({
                "id": p.id, "name": p.name, "unit": p.unit, "min": p.min, "max": p.max,
                "default": p.default, "integer": p.integer,
            })
        })
        .collect();
    serde_json::Value::Array(specs).to_string()
}

/// The embedded instrument models (not the test fixtures) as a JSON array of
/// `{key, name, instrument, settings}`, the default first, where `settings` maps parameter ids
/// to the model's recommended values (the page sets those knobs when the model is picked, as
/// the plugin's editor does); a model's index in it is what [`WebEngine::new`] and
/// [`WebEngine::set_model`] take.
#[wasm_bindgen]
pub fn models_json() -> Result<String, JsError> {
    let mut list = Vec::new();
    for (key, _) in timbre_catalog::instrument_models() {
        let meta = load_model(list.len())?.metadata().clone();
        list.push(serde_json::json!({
            "key": key, "name": meta.name, "instrument": meta.instrument,
            "settings": meta.recommended_settings,
        }));
    }
    Ok(serde_json::Value::Array(list).to_string())
}

/// Runs the DSP crate's analysis (the engine's own pitch tracker and loudness) on a mono clip
/// at `sample_rate`; returns `[f0_hz, confidence, loudness_db]` per 4 ms frame, flattened. The
/// page's tests use it to check that the output pitch follows the input.
#[wasm_bindgen]
pub fn analyze(samples: &[f32], sample_rate: f64) -> Result<Vec<f32>, JsError> {
    let frames = analyze_clip(AnalysisConfig::default(), sample_rate, samples)
        .map_err(|e| JsError::new(&format!("analysis at {sample_rate} Hz: {e:?}")))?;
    Ok(frames
        .iter()
        .flat_map(|f| [f.f0_hz, f.confidence, f.loudness_db])
        .collect())
}

impl WebEngine {
    /// Builds the voice of embedded model `model` for this engine, freeing retired voices
    /// first (allocates).
    fn build_voice(&mut self, model: usize) -> Result<Box<timbre_engine::Voice>, JsError> {
        let file = load_model(model)?;
        let voice = self
            .factory
            .build(&file)
            .map_err(|e| JsError::new(&e.to_string()))?;
        self.factory.collect_garbage();
        Ok(voice)
    }
}

/// Parses embedded model `index`.
fn load_model(index: usize) -> Result<ModelFile, JsError> {
    let models = embedded_models();
    let (key, bytes) = models.get(index).ok_or_else(|| {
        JsError::new(&format!(
            "no model {index}: there are {} embedded models",
            models.len()
        ))
    })?;
    ModelFile::from_bytes(bytes, &format!("embedded model \"{key}\""))
        .map_err(|e| JsError::new(&e.to_string()))
}

/// One engine with its audio, meter and manual buffers, for an AudioWorklet (or the main
/// thread, for benchmarks).
#[wasm_bindgen]
pub struct WebEngine {
    /// The engine itself.
    engine: Engine,
    /// Builds the voice of a new model and hands it to the engine.
    factory: VoiceFactory,
    /// The parameters last set.
    params: Params,
    /// Input channels (left, right), `max_block` long, written by JS.
    inputs: [Vec<f32>; 2],
    /// Output channels (left, right), `max_block` long, read by JS.
    outputs: [Vec<f32>; 2],
    /// Meters, [`METER_LEN`] long, refreshed by every [`WebEngine::process`].
    meters: Vec<f32>,
    /// Hand-set controls, [`MANUAL_LEN`] long, written by JS, read while manual is on.
    manual: Vec<f32>,
}

#[wasm_bindgen]
impl WebEngine {
    /// An engine at `sample_rate` Hz for blocks of at most `max_block` samples, playing
    /// embedded model `model` with default parameters. Allocates everything it will use.
    #[wasm_bindgen(constructor)]
    pub fn new(sample_rate: f64, max_block: usize, model: usize) -> Result<WebEngine, JsError> {
        let file = load_model(model)?;
        let (mut engine, factory) = Engine::prepare(&file, sample_rate, max_block)
            .map_err(|e| JsError::new(&e.to_string()))?;
        let params = Params::default();
        engine.set_params(&params);
        Ok(Self {
            engine,
            factory,
            params,
            inputs: [vec![0.0; max_block], vec![0.0; max_block]],
            outputs: [vec![0.0; max_block], vec![0.0; max_block]],
            meters: vec![0.0; METER_LEN],
            manual: vec![0.0; MANUAL_LEN],
        })
    }

    /// Switches to embedded model `model`, crossfading (allocates: builds the new voice).
    pub fn set_model(&mut self, model: usize) -> Result<(), JsError> {
        let voice = self.build_voice(model)?;
        self.factory
            .send(voice)
            .map_err(|_| JsError::new("too many model changes at once; try again"))
    }

    /// Sets the morph's model B to embedded model `model` (the Morph knob blends it in),
    /// fading it in (allocates: builds the new voice). A model that cannot be built is an
    /// error and model A plays on.
    pub fn set_morph_model(&mut self, model: usize) -> Result<(), JsError> {
        let voice = self.build_voice(model)?;
        self.factory
            .send_morph(voice)
            .map_err(|_| JsError::new("too many model changes at once; try again"))
    }

    /// Sets parameter `index` (see [`params_json`]) to `value` (clamped). Returns false for an
    /// unknown index. Allocation-free.
    pub fn set_param(&mut self, index: usize, value: f32) -> bool {
        let Some(spec) = ALL.get(index) else {
            return false;
        };
        self.params.set(spec.id, value);
        self.engine.set_params(&self.params);
        true
    }

    /// Where input channel `channel` (0 left, 1 right) lives in wasm memory: `max_block`
    /// floats.
    pub fn input_ptr(&self, channel: usize) -> usize {
        self.inputs[channel.min(1)].as_ptr() as usize
    }

    /// Where output channel `channel` (0 left, 1 right) lives in wasm memory: `max_block`
    /// floats.
    pub fn output_ptr(&self, channel: usize) -> usize {
        self.outputs[channel.min(1)].as_ptr() as usize
    }

    /// Where the meters live in wasm memory: [`METER_LEN`] floats (see [`layout_json`]).
    pub fn meters_ptr(&self) -> usize {
        self.meters.as_ptr() as usize
    }

    /// Where the hand-set controls live in wasm memory: [`MANUAL_LEN`] floats (see
    /// [`layout_json`]).
    pub fn manual_ptr(&self) -> usize {
        self.manual.as_ptr() as usize
    }

    /// The largest block [`WebEngine::process`] takes.
    pub fn max_block(&self) -> usize {
        self.engine.max_block()
    }

    /// The engine's latency in samples.
    pub fn latency_samples(&self) -> u32 {
        self.engine.latency_samples()
    }

    /// Clears every state (keeps the model and parameters).
    pub fn reset(&mut self) {
        self.engine.reset();
    }

    /// Hands the synth to the manual buffer (`true`) or back to the network. Turning it on
    /// first copies what the network played last into the buffer, so nothing jumps.
    /// Allocation-free.
    pub fn set_manual(&mut self, on: bool) {
        if on && !self.engine.manual() {
            self.engine.manual_from_decoder();
            let m = self.engine.manual_controls();
            self.manual[0] = m.amplitude;
            self.manual[MANUAL_HARMONICS..MANUAL_NOISE].copy_from_slice(&m.harmonics);
            self.manual[MANUAL_NOISE..].copy_from_slice(&m.noise);
        }
        self.engine.set_manual(on);
    }

    /// Processes `n` samples (at most `max_block`) of the input buffers (`channels`: 1 reads
    /// the left one only, 2 both) into the output buffers, then refreshes the meters. Never
    /// allocates.
    pub fn process(&mut self, n: usize, channels: usize) {
        let n = n.min(self.engine.max_block());
        if self.engine.manual() {
            let m = self.engine.manual_controls_mut();
            m.amplitude = self.manual[0];
            m.harmonics
                .copy_from_slice(&self.manual[MANUAL_HARMONICS..MANUAL_NOISE]);
            m.noise.copy_from_slice(&self.manual[MANUAL_NOISE..]);
        }
        let [in_l, in_r] = &self.inputs;
        let [out_l, out_r] = &mut self.outputs;
        let (out_l, out_r) = (&mut out_l[..n], &mut out_r[..n]);
        if channels >= 2 {
            self.engine.process(&[&in_l[..n], &in_r[..n]], out_l, out_r);
        } else {
            self.engine.process(&[&in_l[..n]], out_l, out_r);
        }
        self.write_meters();
    }
}

impl WebEngine {
    /// Copies the engine's meters and the decoder's last output into the meter buffer.
    fn write_meters(&mut self) {
        let meters = self.engine.meters();
        let m = &mut self.meters;
        m[METER_F0_IN] = meters.frame.f0_hz;
        m[METER_CONFIDENCE] = meters.frame.confidence;
        m[METER_LOUDNESS] = meters.frame.loudness_db;
        m[METER_F0_OUT] = meters.f0_out_hz;
        m[METER_GATE] = meters.gate;
        m[METER_INPUT_PEAK] = meters.input_peak;
        m[METER_OUTPUT_PEAK] = meters.output_peak;
        let controls = self.engine.decoder_output();
        let nh = controls.harmonics.len().min(MAX_HARMONICS);
        let nb = controls.noise.len().min(MAX_BANDS);
        m[METER_AMPLITUDE] = controls.amplitude;
        m[METER_N_HARMONICS] = nh as f32;
        m[METER_N_BANDS] = nb as f32;
        m[METER_HARMONICS..METER_HARMONICS + nh].copy_from_slice(&controls.harmonics[..nh]);
        m[METER_NOISE..METER_NOISE + nb].copy_from_slice(&controls.noise[..nb]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static ALLOC: timbre_testkit::CountingAllocator = timbre_testkit::CountingAllocator;

    // JsError only constructs on wasm32, so these native tests stay on the success paths.

    #[test]
    fn process_fills_outputs_and_meters_and_manual_takes_over() {
        let mut web = WebEngine::new(48_000.0, 128, 0).unwrap();
        let reverb = ALL.iter().position(|p| p.id == "reverb").unwrap();
        web.set_param(reverb, 0.0);
        let mut phase = 0.0f32;
        let mut peak = 0.0f32;
        for _ in 0..400 {
            for x in web.inputs[0].iter_mut() {
                *x = 0.5 * (phase * std::f32::consts::TAU).sin();
                phase = (phase + 220.0 / 48_000.0).fract();
            }
            web.process(128, 1);
            peak = web.outputs[0].iter().fold(peak, |p, x| p.max(x.abs()));
        }
        assert!(peak > 0.01, "the violin played ({peak})");
        assert!((web.meters[METER_F0_IN] - 220.0).abs() < 2.0);
        let nh = web.meters[METER_N_HARMONICS] as usize;
        assert_eq!(nh, web.engine.decoder_output().harmonics.len());
        assert_eq!(
            &web.meters[METER_HARMONICS..METER_HARMONICS + nh],
            web.engine.decoder_output().harmonics.as_slice()
        );
        // Manual: starts from the network's frame, then silence by hand.
        web.set_manual(true);
        assert_eq!(web.manual[0], web.meters[METER_AMPLITUDE]);
        web.manual.fill(0.0);
        for _ in 0..100 {
            web.process(128, 1);
        }
        let peak = web.outputs[0].iter().fold(0.0f32, |p, x| p.max(x.abs()));
        assert!(peak < 1e-4, "zeroed by hand, still {peak}");
        assert!(
            web.meters[METER_AMPLITUDE] > 0.0,
            "the meter still shows the network"
        );
    }

    #[test]
    fn process_params_and_the_manual_hand_off_never_allocate() {
        let mut web = WebEngine::new(44_100.0, 128, 0).unwrap();
        for (i, x) in web.inputs[0].iter_mut().enumerate() {
            *x = 0.3 * (i as f32 * 0.07).sin();
        }
        web.process(128, 2); // first block outside: nothing lazy is left
        for block in 0..300 {
            let count = timbre_testkit::allocations_during(|| {
                web.set_param(block % ALL.len(), (block % 7) as f32);
                if block == 100 {
                    web.set_manual(true);
                }
                if block > 100 {
                    web.manual[MANUAL_HARMONICS + block % 10] = 0.5;
                }
                web.process(128 - block % 3, 1 + block % 2);
            });
            assert_eq!(count, 0, "block {block} allocated");
        }
    }

    #[test]
    fn the_json_tables_match_the_engine() {
        let params: serde_json::Value = serde_json::from_str(&params_json()).unwrap();
        assert_eq!(params.as_array().unwrap().len(), ALL.len());
        assert_eq!(params[0]["id"], ALL[0].id);
        let layout: serde_json::Value = serde_json::from_str(&layout_json()).unwrap();
        assert_eq!(layout["meter"]["len"], METER_LEN);
        let models: serde_json::Value = serde_json::from_str(&models_json().unwrap()).unwrap();
        assert_eq!(models[0]["key"], timbre_catalog::DEFAULT_MODEL);
    }
}

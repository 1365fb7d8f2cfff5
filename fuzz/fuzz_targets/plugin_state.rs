//! Fuzzes restoring the plugin's saved state: the JSON nice-plug parses, then the plugins' own
//! `Plugin::filter_state` (`tiny_timbre::state::sanitize`), then the persisted fields applied
//! the way nice-plug applies them, then the model selection loaded the way the background task
//! loads it. Nothing may panic; every known parameter must end up finite and in range; a model
//! selection either loads or gives an error message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nice_plug::params::internals::ParamPtr;
use nice_plug::plugin::ParamValue;
use nice_plug::prelude::*;
use tiny_timbre::params::{SynthParams, TimbreParams};
use tiny_timbre::state::{parse_model_field, MODEL_FIELD};
use tiny_timbre::{models, TinyTimbre, TinyTimbreSynth};

/// Checks a sanitized state against `params`' declared ranges.
fn check_ranges(state: &PluginState, params: &dyn Params) {
    for (id, ptr, _) in params.param_map() {
        let Some(value) = state.params.get(&id) else {
            continue;
        };
        // SAFETY: `ptr` points into `params`, alive here.
        let (a, b) = unsafe { (ptr.preview_plain(0.0), ptr.preview_plain(1.0)) };
        let (lo, hi) = (a.min(b), a.max(b));
        match (ptr, value) {
            (ParamPtr::FloatParam(_), ParamValue::F32(v)) => {
                assert!(v.is_finite() && (lo..=hi).contains(v), "{id} = {v}")
            }
            (ParamPtr::IntParam(_), ParamValue::I32(v)) => {
                assert!((lo..=hi).contains(&(*v as f32)), "{id} = {v}")
            }
            _ => {}
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    // What nice-plug's `deserialize_json` does (this build has no zstd).
    let Ok(parsed) = serde_json::from_slice::<PluginState>(bytes) else {
        return;
    };
    let mut effect_state = parsed.clone();
    TinyTimbre::filter_state(&mut effect_state);
    let effect = TimbreParams::default();
    check_ranges(&effect_state, &effect);
    // Sanitizing is idempotent.
    let mut again = effect_state.clone();
    TinyTimbre::filter_state(&mut again);
    assert_eq!(format!("{again:?}"), format!("{effect_state:?}"));

    let mut synth_state = parsed;
    TinyTimbreSynth::filter_state(&mut synth_state);
    check_ranges(&synth_state, &SynthParams::default());

    // The persisted fields, applied by nice-plug's derived code.
    effect.deserialize_fields(&effect_state.fields);
    match effect_state.fields.get(MODEL_FIELD) {
        Some(field) => {
            let spec = parse_model_field(field).expect("sanitize kept only valid selections");
            assert_eq!(effect.model.get(), spec);
            assert!(effect.model.take_changed());
            // What the background task does with it: a model or a message, never a panic.
            if let Err(message) = models::load(&spec) {
                assert!(!message.is_empty());
            }
        }
        None => assert!(!effect.model.take_changed()),
    }
});

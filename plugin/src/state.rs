//! Restoring a saved session: what a host hands back is checked before nice-plug applies it.
//!
//! nice-plug parses the saved JSON into a [`PluginState`] and then calls the plugin's
//! [`Plugin::filter_state`], which both plugins implement with [`sanitize`]. nice-plug itself
//! stores a parameter's plain value as given, without clamping it to the parameter's range, so
//! a state edited by hand, written by a buggy host or corrupted on disk could set a gain of
//! `1e30` dB or an attack of `3e38` ms (which left the synth silent: its envelope never
//! finished its attack). [`sanitize`] clamps every known parameter into its declared range,
//! drops non-finite values (the current value stays), and drops a persisted model selection
//! that is not a plausible name or path ([`parse_model_field`]); the plugin then keeps its
//! current model.

use std::fmt;

use nice_plug::params::internals::ParamPtr;
use nice_plug::plugin::ParamValue;
use nice_plug::prelude::*;

/// The key of the persisted model selection in [`PluginState::fields`] (`#[persist = "model"]`).
pub const MODEL_FIELD: &str = "model";
/// Longest model name or path accepted from a state, in bytes (far above any real path).
pub const MAX_SPEC_BYTES: usize = 4096;

/// Why a persisted model selection was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateError {
    /// The field is not a JSON string (`reason` is serde_json's message).
    NotAString(String),
    /// The string is empty.
    Empty,
    /// The string is longer than [`MAX_SPEC_BYTES`].
    TooLong(usize),
    /// The string contains a control character (a NUL, a newline...), at this byte index.
    ControlCharacter(usize),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAString(reason) => {
                write!(f, "the saved model is not a JSON string: {reason}")
            }
            Self::Empty => write!(f, "the saved model name is empty"),
            Self::TooLong(len) => write!(
                f,
                "the saved model name is {len} bytes long, more than the {MAX_SPEC_BYTES}-byte limit"
            ),
            Self::ControlCharacter(at) => write!(
                f,
                "the saved model name has a control character at byte {at}"
            ),
        }
    }
}

impl std::error::Error for StateError {}

/// Parses the persisted model selection (the JSON text nice-plug stores under
/// [`MODEL_FIELD`]) into a model name or path, refusing anything that cannot be one.
pub fn parse_model_field(json: &str) -> Result<String, StateError> {
    let spec: String =
        serde_json::from_str(json).map_err(|e| StateError::NotAString(e.to_string()))?;
    if spec.is_empty() {
        return Err(StateError::Empty);
    }
    if spec.len() > MAX_SPEC_BYTES {
        return Err(StateError::TooLong(spec.len()));
    }
    if let Some((at, _)) = spec.char_indices().find(|(_, c)| c.is_control()) {
        return Err(StateError::ControlCharacter(at));
    }
    Ok(spec)
}

/// What [`sanitize`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Parameter values moved into their range.
    pub clamped: usize,
    /// Entries removed (non-finite parameter values, an unusable model selection).
    pub dropped: usize,
}

/// Makes a restored state safe to apply to `params` (the plugin's parameter object, whose
/// declared ranges are the reference): every parameter value of a known id and matching type
/// ends up finite and within its range, and the model selection, if present, passes
/// [`parse_model_field`]. Values already valid are left bit-for-bit alone, so a state the
/// plugin saved restores exactly. Unknown ids and mismatched types are left for nice-plug,
/// which ignores them.
pub fn sanitize(state: &mut PluginState, params: &dyn Params) -> Repairs {
    let mut repairs = Repairs::default();
    let map = params.param_map();
    state.params.retain(|id, value| {
        let Some((_, ptr, _)) = map.iter().find(|(map_id, _, _)| map_id == id) else {
            return true;
        };
        // SAFETY: `ptr` points into `params`, which outlives this call.
        let (lo, hi) = unsafe { plain_range(ptr) };
        match (ptr, value) {
            (ParamPtr::FloatParam(_), ParamValue::F32(v)) => {
                if !v.is_finite() {
                    repairs.dropped += 1;
                    return false;
                }
                if *v < lo || *v > hi {
                    *v = v.clamp(lo, hi);
                    repairs.clamped += 1;
                }
            }
            (ParamPtr::IntParam(_), ParamValue::I32(v)) => {
                let (lo, hi) = (lo.round() as i32, hi.round() as i32);
                if *v < lo || *v > hi {
                    *v = (*v).clamp(lo, hi);
                    repairs.clamped += 1;
                }
            }
            _ => {}
        }
        true
    });
    if let Some(field) = state.fields.get(MODEL_FIELD) {
        if parse_model_field(field).is_err() {
            state.fields.remove(MODEL_FIELD);
            repairs.dropped += 1;
        }
    }
    repairs
}

/// The smallest and largest plain value of a parameter.
///
/// # Safety
///
/// `ptr` must point to a live parameter.
unsafe fn plain_range(ptr: &ParamPtr) -> (f32, f32) {
    // SAFETY: the caller's guarantee.
    let (a, b) = unsafe { (ptr.preview_plain(0.0), ptr.preview_plain(1.0)) };
    (a.min(b), a.max(b))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::params::{SynthParams, TimbreParams};
    use timbre_engine::params as spec;

    fn state(params: &[(&str, ParamValue)], model: Option<&str>) -> PluginState {
        PluginState {
            version: String::new(),
            params: params
                .iter()
                .map(|(id, v)| (id.to_string(), v.clone()))
                .collect(),
            fields: model
                .map(|m| BTreeMap::from([(MODEL_FIELD.to_string(), m.to_string())]))
                .unwrap_or_default(),
        }
    }

    fn f32_of(state: &PluginState, id: &str) -> Option<f32> {
        match state.params.get(id) {
            Some(ParamValue::F32(v)) => Some(*v),
            _ => None,
        }
    }

    #[test]
    fn out_of_range_values_are_clamped_and_valid_ones_kept() {
        let mut s = state(
            &[
                ("gain", ParamValue::F32(1e30)),
                ("loudness", ParamValue::F32(-3.25)),
                ("semitones", ParamValue::I32(i32::MIN)),
                ("reverb", ParamValue::F32(f32::INFINITY)),
            ],
            Some("\"violin\""),
        );
        let repairs = sanitize(&mut s, &TimbreParams::default());
        assert_eq!(
            repairs,
            Repairs {
                clamped: 2,
                dropped: 1
            }
        );
        assert_eq!(f32_of(&s, "gain"), Some(spec::OUTPUT_GAIN.max));
        assert_eq!(f32_of(&s, "loudness"), Some(-3.25));
        assert!(matches!(
            s.params.get("semitones"),
            Some(ParamValue::I32(v)) if *v == spec::SEMITONES.min as i32
        ));
        assert!(!s.params.contains_key("reverb"));
        assert_eq!(
            s.fields.get(MODEL_FIELD).map(String::as_str),
            Some("\"violin\"")
        );
    }

    #[test]
    fn the_synth_envelope_is_clamped_too() {
        let mut s = state(&[("attack", ParamValue::F32(3e38))], None);
        let repairs = sanitize(&mut s, &SynthParams::default());
        assert_eq!(repairs.clamped, 1);
        assert_eq!(
            f32_of(&s, "attack"),
            Some(timbre_engine::params::ATTACK.max)
        );
    }

    #[test]
    fn unknown_ids_and_mismatched_types_are_left_alone() {
        let mut s = state(
            &[
                ("removed", ParamValue::F32(1e30)),
                ("reverb", ParamValue::Bool(true)),
            ],
            None,
        );
        let before = format!("{:?}", s.params);
        assert_eq!(
            sanitize(&mut s, &TimbreParams::default()),
            Repairs::default()
        );
        assert_eq!(format!("{:?}", s.params), before);
    }

    #[test]
    fn unusable_model_selections_are_dropped() {
        let long = format!("\"{}\"", "a".repeat(MAX_SPEC_BYTES + 1));
        for (json, expected) in [
            ("42", "not a JSON string"),
            ("\"\"", "empty"),
            (long.as_str(), "limit"),
            ("\"a\\u0000b\"", "control character at byte 1"),
            ("\"line\\nbreak\"", "control character at byte 4"),
        ] {
            let err = parse_model_field(json).unwrap_err();
            assert!(err.to_string().contains(expected), "{json}: {err}");
            let mut s = state(&[], Some(json));
            assert_eq!(sanitize(&mut s, &TimbreParams::default()).dropped, 1);
            assert!(s.fields.is_empty());
        }
        assert_eq!(
            parse_model_field("\"/home/me/Models/Cello – take 2.ttmodel\"").unwrap(),
            "/home/me/Models/Cello – take 2.ttmodel"
        );
    }
}

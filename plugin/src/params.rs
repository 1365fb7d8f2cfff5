//! The host-automatable parameters, built from the engine's parameter table
//! ([`timbre_engine::params::ALL`]) so the plugin, the CLI and the engine never disagree about a
//! range, a unit or a default.
//!
//! Parameter ids are the engine's spec ids (`semitones`, `gain`, ...); a test checks that every
//! spec has exactly one parameter with its id, range and default. Smoothing is left to the
//! engine, which smooths every control itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use nice_plug::params::persist::PersistentField;
use nice_plug::prelude::*;
use parking_lot::RwLock;
use timbre_engine::params::{self as spec, Kind, ParamSpec};
use timbre_engine::Adsr;

use crate::loader::{ModelLoader, Slot};
use crate::models::DEFAULT_MODEL;

/// The nice-plug parameter type of a knob kind.
macro_rules! param_type {
    (Int) => {
        IntParam
    };
    (Switch) => {
        BoolParam
    };
    ($float:ident) => {
        FloatParam
    };
}

/// Generates a parameter struct with one host parameter per knob row (see
/// `timbre_engine::engine_knobs!`): the row's id, a field named like the engine's, the
/// constructor that fits its kind, and the conversion to the engine's values.
macro_rules! knob_params {
    (
        $(#[doc = $struct_doc:literal])*
        $params:ident => $($values:ident)::+;
        $(
            $(#[doc = $doc:literal])*
            $konst:ident : $field:ident ($kind:ident) = $id:literal, $name:literal, $unit:literal,
            $min:literal ..= $max:literal, $default:literal;
        )*
    ) => {
        $(#[doc = $struct_doc])*
        #[derive(Params)]
        pub struct $params {
            $(
                $(#[doc = $doc])*
                #[id = $id]
                pub $field: param_type!($kind),
            )*
        }

        impl Default for $params {
            fn default() -> Self {
                Self {
                    $($field: KnobParam::from_spec(&spec::$konst),)*
                }
            }
        }

        impl $params {
            /// The current values as the engine's plain data. Allocation-free (atomic loads):
            /// called on the audio thread before every (sub-)block.
            pub fn to_engine(&self) -> $($values)::+ {
                $($values)::+ {
                    $($field: self.$field.engine_value(),)*
                }
            }
        }
    };
}

/// The engine's knobs as [`EngineParams`].
macro_rules! engine_params {
    ($($rows:tt)*) => {
        knob_params! {
            /// The engine's knobs, shared by the effect and the synth.
            EngineParams => timbre_engine::Params;
            $($rows)*
        }
    };
}

/// The envelope's knobs as [`EnvelopeParams`].
macro_rules! envelope_params {
    ($($rows:tt)*) => {
        knob_params! {
            /// The synth's envelope knobs.
            EnvelopeParams => Adsr;
            $($rows)*
        }
    };
}

timbre_engine::engine_knobs!(engine_params);
timbre_engine::envelope_knobs!(envelope_params);

/// A host parameter made from a knob's spec, and its value as the engine takes it.
trait KnobParam {
    /// The engine's value type.
    type Value;
    /// The parameter for `spec` (name, range, default, text with the unit).
    fn from_spec(spec: &ParamSpec) -> Self;
    /// The current value. Allocation-free.
    fn engine_value(&self) -> Self::Value;
}

impl KnobParam for FloatParam {
    type Value = f32;
    fn from_spec(spec: &ParamSpec) -> Self {
        match spec.kind {
            Kind::Time => time_param(spec),
            Kind::Level => level_param(spec),
            _ => float_param(spec),
        }
    }
    fn engine_value(&self) -> f32 {
        self.value()
    }
}

impl KnobParam for IntParam {
    type Value = f32;
    fn from_spec(spec: &ParamSpec) -> Self {
        int_param(spec)
    }
    fn engine_value(&self) -> f32 {
        self.value() as f32
    }
}

impl KnobParam for BoolParam {
    type Value = bool;
    fn from_spec(spec: &ParamSpec) -> Self {
        bool_param(spec)
    }
    fn engine_value(&self) -> bool {
        self.value()
    }
}

/// Parameters of the effect ("Tiny Timbre").
#[derive(Params)]
pub struct TimbreParams {
    /// The engine's knobs.
    #[nested]
    pub engine: EngineParams,
    /// MIDI out: the notes the effect hears.
    #[nested]
    pub midi: MidiOutParams,
    /// The selected model (persisted with the session).
    #[persist = "model"]
    pub model: ModelSelection,
    /// The morph's model B (persisted; empty: none).
    #[persist = "morph_model"]
    pub morph_model: ModelSelection,
}

impl Default for TimbreParams {
    fn default() -> Self {
        Self {
            engine: EngineParams::default(),
            midi: MidiOutParams::default(),
            model: ModelSelection::new(DEFAULT_MODEL),
            morph_model: ModelSelection::morph(),
        }
    }
}

/// The pitch bend range of MIDI out, in semitones (the usual default of synths).
pub const MIDI_BEND_RANGE: f32 = 2.0;

/// The effect's MIDI out switches (both off by default).
#[derive(Params)]
pub struct MidiOutParams {
    /// Send the notes heard in the input as MIDI notes.
    #[id = "midi_out"]
    pub notes: BoolParam,
    /// Send the pitch between the notes as pitch bend (±[`MIDI_BEND_RANGE`] semitones).
    #[id = "midi_bend"]
    pub bend: BoolParam,
}

impl Default for MidiOutParams {
    fn default() -> Self {
        Self {
            notes: BoolParam::new("MIDI out", false),
            bend: BoolParam::new("MIDI pitch bend", false),
        }
    }
}

/// Parameters of the synth ("Tiny Timbre Synth"): the engine's knobs plus the envelope.
#[derive(Params)]
pub struct SynthParams {
    /// The engine's knobs.
    #[nested]
    pub engine: EngineParams,
    /// Attack, decay, sustain and release.
    #[nested]
    pub envelope: EnvelopeParams,
    /// The selected model (persisted with the session).
    #[persist = "model"]
    pub model: ModelSelection,
    /// The morph's model B (persisted; empty: none).
    #[persist = "morph_model"]
    pub morph_model: ModelSelection,
}

impl Default for SynthParams {
    fn default() -> Self {
        Self {
            engine: EngineParams::default(),
            envelope: EnvelopeParams::default(),
            model: ModelSelection::new(DEFAULT_MODEL),
            morph_model: ModelSelection::morph(),
        }
    }
}

/// A level in 0..1 shown in percent (the sustain).
fn level_param(spec: &ParamSpec) -> FloatParam {
    FloatParam::new(
        spec.name,
        fresh_default(spec),
        FloatRange::Linear {
            min: spec.min,
            max: spec.max,
        },
    )
    .with_value_to_string(Arc::new(|v| format_value(v * 100.0, 0, false, " %")))
    .with_string_to_value(Arc::new(|s| parse_number(s).map(|p| p / 100.0)))
}

/// An envelope time parameter in ms, skewed so short times get most of the travel. The text
/// carries its own unit: "250 ms" below a second, "1.58 s" from a second up (the switch is made
/// on the rounded value, so the text of a text's value is the same text).
fn time_param(spec: &ParamSpec) -> FloatParam {
    FloatParam::new(
        spec.name,
        fresh_default(spec),
        FloatRange::Skewed {
            min: spec.min,
            max: spec.max,
            factor: FloatRange::skew_factor(-2.0),
        },
    )
    .with_value_to_string(Arc::new(format_time))
    .with_string_to_value(Arc::new(parse_time))
}

/// The text of an envelope time in ms (see [`time_param`]).
pub fn format_time(ms: f32) -> String {
    let whole_ms = ms.round();
    if whole_ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{whole_ms:.0} ms")
    }
}

/// Reads an envelope time: "250 ms", "250" (ms) or "1.5 s", in ms.
pub fn parse_time(text: &str) -> Option<f32> {
    let text = text.trim();
    if let Some(ms) = text.strip_suffix("ms") {
        return parse_number(ms);
    }
    if let Some(seconds) = text.strip_suffix('s') {
        return parse_number(seconds).map(|s| s * 1000.0);
    }
    parse_number(text)
}

/// The text of a value: rounded to `places` decimals, "+" before positive values of a
/// parameter that can go negative (a shift or a gain), never "-0", then the unit.
pub fn format_value(value: f32, places: usize, signed: bool, unit: &str) -> String {
    let scale = 10f32.powi(places as i32);
    let rounded = (value * scale).round() / scale;
    // Adding 0.0 turns -0.0 into 0.0.
    let rounded = rounded + 0.0;
    let sign = if signed && rounded > 0.0 { "+" } else { "" };
    format!("{sign}{rounded:.places$}{unit}")
}

/// The unit suffix the value text ends with. The parameters carry no separate unit string:
/// hosts that show both would print the unit twice.
pub fn unit_suffix(unit: &str) -> &'static str {
    match unit {
        "st" => " st",
        "ct" => " ct",
        "dB" => " dB",
        "%" => " %",
        "ms" => " ms",
        "Hz" => " Hz",
        _ => "",
    }
}

/// Decimal places shown for a float parameter: fewer for wide ranges.
fn decimals(spec: &ParamSpec) -> usize {
    match spec.max - spec.min {
        r if r <= 2.0 => 2,
        r if r <= 150.0 => 1,
        _ => 0,
    }
}

/// Parses the leading number of `s` ("-3.5 dB" → -3.5).
fn parse_number(s: &str) -> Option<f32> {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '-' || c == '+') && i == 0)))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse().ok()
}

/// A float parameter with the spec's name, range and unit (in its text), starting at its
/// [`fresh_default`].
pub fn float_param(spec: &ParamSpec) -> FloatParam {
    let places = decimals(spec);
    let range = FloatRange::Linear {
        min: spec.min,
        max: spec.max,
    };
    let (signed, unit) = (spec.min < 0.0, unit_suffix(spec.unit));
    FloatParam::new(spec.name, fresh_default(spec), range)
        .with_step_size(10f32.powi(-(places as i32)))
        .with_value_to_string(Arc::new(move |v| format_value(v, places, signed, unit)))
        .with_string_to_value(Arc::new(parse_number))
}

/// An integer parameter with the spec's name, range and unit (in its text), starting at its
/// [`fresh_default`]. The Lowest note's text also says the latency it gives (see
/// [`lowest_note_text`]).
pub fn int_param(spec: &ParamSpec) -> IntParam {
    let (signed, unit) = (spec.min < 0.0, unit_suffix(spec.unit));
    let text: Arc<dyn Fn(i32) -> String + Send + Sync> = if spec.id == spec::LOWEST_NOTE.id {
        Arc::new(lowest_note_text)
    } else {
        Arc::new(move |v| format_value(v as f32, 0, signed, unit))
    };
    IntParam::new(
        spec.name,
        fresh_default(spec).round() as i32,
        IntRange::Linear {
            min: spec.min.round() as i32,
            max: spec.max.round() as i32,
        },
    )
    .with_value_to_string(text)
    .with_string_to_value(Arc::new(|s| parse_number(s).map(|v| v.round() as i32)))
}

/// The Lowest note's text: the note and the analysis latency it gives at 48 kHz ("100 Hz,
/// 9.9 ms"; the model's body adds its own, see `timbre_engine::ir`), so
/// a musician sees what the knob trades (within 0.1 ms at 44.1 kHz too). The latencies of every
/// setting are worked out once per process, off the audio thread (hosts ask for the text on
/// their own threads).
pub fn lowest_note_text(hz: i32) -> String {
    static LATENCY_MS: OnceLock<Vec<f64>> = OnceLock::new();
    let spec = &spec::LOWEST_NOTE;
    let (min, max) = (spec.min.round() as i32, spec.max.round() as i32);
    let table = LATENCY_MS.get_or_init(|| {
        let notes: Vec<f32> = (min..=max).map(|hz| hz as f32).collect();
        timbre_engine::latencies_seconds(48_000.0, &notes)
            .map(|s| s.iter().map(|s| s * 1e3).collect())
            .unwrap_or_default()
    });
    match table.get((hz - min) as usize) {
        Some(ms) if hz >= min => format!("{hz} Hz, {ms:.1} ms"),
        _ => format!("{hz} Hz"),
    }
}

/// A switch with the spec's name, starting at its [`fresh_default`].
pub fn bool_param(spec: &ParamSpec) -> BoolParam {
    BoolParam::new(spec.name, fresh_default(spec) >= 0.5)
}

/// A knob's default in a fresh instance: the default model's recommended setting for it when
/// it has one (the settings the model was tuned with, which the CLI also starts from and the
/// editor applies when a model is picked), else the engine's default. The default model is
/// parsed once per process.
pub fn fresh_default(spec: &ParamSpec) -> f32 {
    static START: OnceLock<timbre_engine::Params> = OnceLock::new();
    let start = START.get_or_init(|| {
        timbre_catalog::resolve(DEFAULT_MODEL)
            .map(|(model, _)| timbre_engine::Params::recommended(model.metadata()))
            .unwrap_or_default()
    });
    start.get(spec.id).unwrap_or(spec.default)
}

/// The model the musician picked: an embedded model's name or a file path. Persisted in the
/// plugin state under `"model"`.
///
/// Restoring a state loads the restored model at once, on the thread that restores it, through
/// the loader given to [`ModelSelection::load_on_restore`]: the voice is waiting for the audio
/// thread before its next block, so a session plays its model from the first block on and a
/// bounce never depends on when a background load ends. Without a loader (before the plugin
/// wires one) the restore raises [`ModelSelection::take_changed`] instead.
///
/// Clones share the same selection (the plugin, the background task and the editor each hold
/// one).
#[derive(Clone)]
pub struct ModelSelection {
    /// Which of the engine's model slots it selects for.
    slot: Slot,
    /// The name or path (locked only off the audio thread).
    spec: Arc<RwLock<String>>,
    /// Set when a restored state changed the selection; the audio thread polls it (atomic).
    changed: Arc<AtomicBool>,
    /// Loads a restored selection at once.
    restore_loader: Arc<OnceLock<Arc<ModelLoader>>>,
}

impl ModelSelection {
    /// A selection of `spec` for the model slot.
    pub fn new(spec: &str) -> Self {
        Self::for_slot(Slot::Model, spec)
    }

    /// An empty selection for the morph's model B.
    pub fn morph() -> Self {
        Self::for_slot(Slot::Morph, "")
    }

    fn for_slot(slot: Slot, spec: &str) -> Self {
        Self {
            slot,
            spec: Arc::new(RwLock::new(spec.to_string())),
            changed: Arc::new(AtomicBool::new(false)),
            restore_loader: Arc::new(OnceLock::new()),
        }
    }

    /// Restored selections are loaded by `loader`, synchronously (set once, by the plugin).
    pub fn load_on_restore(&self, loader: Arc<ModelLoader>) {
        let _ = self.restore_loader.set(loader);
    }

    /// The slot this selection is for.
    pub fn slot(&self) -> Slot {
        self.slot
    }

    /// The selected name or path. Locks: never call it on the audio thread.
    pub fn get(&self) -> String {
        self.spec.read().clone()
    }

    /// Selects `spec` without raising the change flag (the caller loads it). Locks.
    pub fn select(&self, spec: &str) {
        *self.spec.write() = spec.to_string();
    }

    /// Whether a restored state changed the selection since the last call; clears the flag.
    /// Wait-free: safe on the audio thread.
    pub fn take_changed(&self) -> bool {
        self.changed.swap(false, Ordering::AcqRel)
    }
}

impl<'a> PersistentField<'a, String> for ModelSelection {
    fn set(&self, new_value: String) {
        *self.spec.write() = new_value.clone();
        match self.restore_loader.get() {
            // On failure the selection is kept (a missing file is found again once it is
            // back) and the current model plays on.
            Some(loader) => {
                loader.load(self.slot, &new_value);
            }
            None => self.changed.store(true, Ordering::Release),
        }
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&String) -> R,
    {
        f(&self.spec.read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every engine spec is one parameter with the same id and range, and the default a fresh
    /// instance should start from: the default model's recommended setting where it has one,
    /// the engine's default elsewhere.
    #[test]
    fn parameters_match_the_engine_specs() {
        let params = TimbreParams::default();
        let map = params.param_map();
        for s in spec::ALL {
            let hits: Vec<_> = map.iter().filter(|(id, _, _)| id == s.id).collect();
            assert_eq!(hits.len(), 1, "{}", s.id);
            let ptr = hits[0].1;
            // SAFETY: the pointers point into `params`, alive for the whole test.
            unsafe {
                assert_eq!(ptr.name(), s.name, "{}", s.id);
                let lo = ptr.preview_plain(0.0);
                let hi = ptr.preview_plain(1.0);
                assert!((lo - s.min).abs() < 1e-4, "{} min {lo}", s.id);
                assert!((hi - s.max).abs() < 1e-4, "{} max {hi}", s.id);
                let d = ptr.default_plain_value();
                let recommended = default_model_settings().get(s.id).copied();
                let want = recommended.unwrap_or(s.default);
                assert!((d - want).abs() < 1e-3, "{} default {d}, want {want}", s.id);
            }
        }
        // Plus the two MIDI out switches, off by default.
        assert_eq!(map.len(), spec::ALL.len() + 2);
        for id in ["midi_out", "midi_bend"] {
            let hit = map.iter().find(|(i, _, _)| i == id).expect(id);
            // SAFETY: as above.
            assert_eq!(unsafe { hit.1.default_plain_value() }, 0.0, "{id}");
        }
        // A fresh instance plays the default model as tuned (its card's settings), which
        // differ from the engine's defaults.
        let (model, _) = timbre_catalog::resolve(DEFAULT_MODEL).unwrap();
        let tuned = timbre_engine::Params::recommended(model.metadata());
        assert_ne!(tuned, timbre_engine::Params::default());
        assert_eq!(params.engine.to_engine(), tuned);
    }

    /// The default model's recommended settings, by knob id.
    fn default_model_settings() -> std::collections::BTreeMap<String, f32> {
        let (model, _) = timbre_catalog::resolve(DEFAULT_MODEL).unwrap();
        model.metadata().recommended_settings.clone()
    }

    #[test]
    fn synth_has_the_engine_params_and_the_envelope() {
        let params = SynthParams::default();
        let ids: Vec<String> = params
            .param_map()
            .into_iter()
            .map(|(id, _, _)| id)
            .collect();
        for s in spec::ALL {
            assert!(ids.iter().any(|i| i == s.id), "{}", s.id);
        }
        for s in spec::ENVELOPE {
            assert!(ids.iter().any(|i| i == s.id), "{}", s.id);
        }
        assert_eq!(params.envelope.to_engine(), Adsr::default());
    }

    #[test]
    fn text_entry_accepts_units() {
        assert_eq!(parse_number("-3.5 dB"), Some(-3.5));
        assert_eq!(parse_number("+12st"), Some(12.0));
        assert_eq!(parse_number("dB"), None);
        let p = float_param(&spec::OUTPUT_GAIN);
        assert_eq!(p.to_string(), "0.0 dB");
        let st = int_param(&spec::SEMITONES);
        assert_eq!(st.to_string(), "0 st");
    }

    /// The Lowest note says what latency it gives, as the engine reports it at 48 kHz, and
    /// its text reads back as the note.
    #[test]
    fn the_lowest_note_says_its_latency() {
        let knob = int_param(&spec::LOWEST_NOTE);
        let model = timbre_catalog::resolve(DEFAULT_MODEL).unwrap().0;
        let (mut engine, _) = timbre_engine::Engine::prepare(&model, 48_000.0, 64).unwrap();
        for hz in [50, 60, 100, 160] {
            let text = knob.normalized_value_to_string(knob.preview_normalized(hz), true);
            engine.set_params(&timbre_engine::Params {
                lowest_note_hz: hz as f32,
                ..Default::default()
            });
            let ms = engine.analysis_latency_samples().round() / 48.0;
            assert_eq!(text, format!("{hz} Hz, {ms:.1} ms"));
            assert_eq!(
                knob.string_to_normalized_value(&text),
                Some(knob.preview_normalized(hz))
            );
        }
        assert_eq!(lowest_note_text(100), "100 Hz, 9.9 ms");
        assert_eq!(lowest_note_text(160), "160 Hz, 6.9 ms");
    }

    #[test]
    fn values_read_with_one_unit_and_a_sign_on_shifts() {
        assert_eq!(format_value(12.0, 0, true, " st"), "+12 st");
        assert_eq!(format_value(-0.04, 1, true, " dB"), "0.0 dB");
        assert_eq!(format_value(50.0, 1, true, " ct"), "+50.0 ct");
        assert_eq!(format_value(30.0, 0, false, " %"), "30 %");
        assert_eq!(float_param(&spec::CENTS).to_string(), "0 ct");
        let cents = float_param(&spec::CENTS);
        assert_eq!(cents.normalized_value_to_string(0.75, true), "+50 ct");
        assert_eq!(format_time(1580.0), "1.58 s");
        assert_eq!(format_time(999.4), "999 ms");
        assert_eq!(format_time(999.6), "1.00 s");
        assert_eq!(parse_time("1.05 s"), Some(1050.0));
        assert_eq!(parse_time("12 ms"), Some(12.0));
        assert_eq!(parse_time("12"), Some(12.0));
        let decay = &SynthParams::default().envelope.decay_ms;
        assert_eq!(decay.unit(), "");
        let text = decay.normalized_value_to_string(0.676_767_7, true);
        let back = decay.string_to_normalized_value(&text).unwrap();
        assert_eq!(decay.normalized_value_to_string(back, true), text);
    }

    /// Every shipped model's recommended settings name a knob the editor can turn, with a
    /// value in its range.
    #[test]
    fn recommended_settings_name_engine_knobs() {
        let params = EngineParams::default();
        let map = params.param_map();
        for (name, _) in timbre_catalog::embedded_models() {
            let model = crate::models::load(name).unwrap().model;
            for (id, &value) in &model.metadata().recommended_settings {
                let (_, ptr, _) = map
                    .iter()
                    .find(|(pid, _, _)| pid == id)
                    .unwrap_or_else(|| panic!("{name}: `{id}` is not a knob"));
                // SAFETY: `ptr` points into `params`, alive for the whole test.
                let plain = unsafe { ptr.preview_plain(ptr.preview_normalized(value)) };
                assert!(
                    (plain - value).abs() < 1e-3,
                    "{name}: {id} = {value} → {plain}"
                );
            }
        }
    }

    #[test]
    fn restoring_the_model_raises_the_flag() {
        let sel = ModelSelection::new("untrained");
        assert!(!sel.take_changed());
        PersistentField::set(&sel, "/tmp/violin.ttmodel".to_string());
        assert!(sel.take_changed());
        assert!(!sel.take_changed());
        assert_eq!(sel.get(), "/tmp/violin.ttmodel");
        sel.select("untrained");
        assert!(!sel.take_changed());
    }
}

//! The engine's parameters: one table, one row per knob, with its name, unit, range, default,
//! kind and the field that holds its value.
//!
//! [`engine_knobs!`](crate::engine_knobs) and [`envelope_knobs!`](crate::envelope_knobs) hold
//! the rows and hand them to a macro of the caller's: this module generates the [`ParamSpec`]
//! constants, the [`ALL`] and [`ENVELOPE`] lists, [`Params`] and [`Adsr`] from them; the plugin
//! generates its host parameters from the same rows. The CLI's flags and the web page's sliders
//! are made from [`ALL`] at run time. So no two of them can disagree about a range, a default or
//! an id, and a new knob is one new row.

/// What a parameter is, for a host, a CLI flag or a slider.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamSpec {
    /// Stable identifier (also the CLI flag and the plugin's parameter id).
    pub id: &'static str,
    /// Name shown to the musician.
    pub name: &'static str,
    /// Unit shown after the value ("st", "ct", "dB", "%"; empty for switches).
    pub unit: &'static str,
    /// Smallest value.
    pub min: f32,
    /// Largest value.
    pub max: f32,
    /// Value of a fresh instance.
    pub default: f32,
    /// Whether the value is a whole number (semitones, switches).
    pub integer: bool,
    /// How a host shows and steps it.
    pub kind: Kind,
}

/// How a knob's value is shown and stepped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A continuous value, linear.
    Float,
    /// A whole number.
    Int,
    /// Off (0) or on (1).
    Switch,
    /// A time in ms, skewed so short times get most of a knob's travel.
    Time,
    /// A level in 0..1, shown in percent.
    Level,
}

impl ParamSpec {
    /// Clamps `value` into range (rounding integer parameters); non-finite values give the
    /// default.
    pub fn clamp(&self, value: f32) -> f32 {
        if !value.is_finite() {
            return self.default;
        }
        let v = value.clamp(self.min, self.max);
        if self.integer {
            v.round()
        } else {
            v
        }
    }
}

/// The engine's knobs, one row each: `CONST: field (Kind) = "id", "Name", "unit", min..=max,
/// default value;`. Invokes `$callback! { rows }`; the rows are the only place a knob is
/// defined.
#[macro_export]
macro_rules! engine_knobs {
    ($callback:ident) => {
        $callback! {
            /// Pitch shift in semitones.
            SEMITONES: semitones (Int) = "semitones", "Pitch shift", "st", -24.0..=24.0, 0.0;
            /// Fine tune in cents.
            CENTS: cents (Float) = "cents", "Fine tune", "ct", -100.0..=100.0, 0.0;
            /// The lowest note the pitch tracker hears, in Hz: the analysis window spans 1.6 of
            /// its periods, so a higher lowest note means less latency (at 48 kHz: 50 Hz
            /// 17.9 ms, 60 Hz 15.3 ms, the default 100 Hz 9.9 ms, 160 Hz 6.9 ms). 100 Hz
            /// reaches voices from G2, violin, viola, flute, trumpet and saxophone; 60 Hz a
            /// cello's open C (the cello model recommends it) and every voice but the deepest
            /// basses. Changing it changes the latency.
            LOWEST_NOTE: lowest_note_hz (Int) = "lowest_note", "Lowest note", "Hz", 50.0..=160.0, 100.0;
            /// Loudness shift applied to the input features, in dB.
            LOUDNESS: loudness_db (Float) = "loudness", "Loudness shift", "dB", -24.0..=24.0, 0.0;
            /// Low latency on (1) or off (0): on, the model's body (the early part of its learned
            /// IR, see [`crate::ir`]) plays in minimum phase, with the same spectrum, heard
            /// sooner (at 48 kHz the saxophone 6.9 ms sooner; the violin, the trumpet, the
            /// flute and the cello, whose bodies are trained silent, not at all; the latency
            /// reported drops by as much),
            /// and a little less like the instrument to an independent listener; off, the
            /// body as learned.
            LOW_LATENCY: low_latency (Switch) = "low_latency", "Low latency", "", 0.0..=1.0, 0.0;
            /// Pitch-confidence gate threshold: frames below it are treated as unvoiced and
            /// fade out.
            GATE: gate (Float) = "gate", "Gate", "", 0.0..=1.0, 0.5;
            /// Auto-adjust on (1) or off (0): octave and loudness mapped onto the model's
            /// training range.
            AUTO_ADJUST: auto_adjust (Switch) = "auto_adjust", "Auto-adjust", "", 0.0..=1.0, 0.0;
            /// With auto-adjust: on (1), the input's loudness distribution is mapped onto the
            /// model's (quiet and loud parts alike, reshaping the dynamics); off (0), only the
            /// level moves, the input's loud part onto the model's (see
            /// [`crate::controls::match_heard`]), and the dynamics stay as played.
            MATCH_DYNAMICS: match_dynamics (Switch) = "match_dynamics", "Match dynamics", "", 0.0..=1.0, 1.0;
            /// How far the pitch is pulled to the nearest semitone, in percent (0: raw pitch).
            AUTOTUNE: autotune_percent (Float) = "autotune", "Autotune", "%", 0.0..=100.0, 0.0;
            /// Gain of the harmonic part, in dB.
            HARMONIC_GAIN: harmonic_gain_db (Float) = "harmonic_gain", "Harmonics", "dB", -60.0..=12.0, 0.0;
            /// Gain of the noise part, in dB.
            NOISE_GAIN: noise_gain_db (Float) = "noise_gain", "Noise", "dB", -60.0..=12.0, 0.0;
            /// The model's room, in percent: 50 % plays it as learned, 0 % the instrument
            /// without it (its body still plays), 100 % twice as loud (see
            /// [`crate::voice::stereo_mix`]).
            REVERB: reverb_percent (Float) = "reverb", "Reverb", "%", 0.0..=100.0, 30.0;
            /// How much the synth's pitch and each harmonic's level wander, slowly and at
            /// random, as a player's do, in percent: 100 % is 20 cents and 6 dB RMS (see
            /// [`crate::humanize`]); 0 % plays the decoder's output as it is.
            HUMANIZE: humanize_percent (Float) = "humanize", "Humanize", "%", 0.0..=100.0, 0.0;
            /// How many neighbouring harmonics on each side move together under Humanize: 0,
            /// each on its own; more, the spectrum's shape breathes as a whole (see
            /// [`crate::humanize`]).
            HUMANIZE_SPREAD: humanize_spread (Int) = "humanize_spread", "Humanize spread", "", 0.0..=8.0, 0.0;
            /// Morph from model A (0) to model B (1; shown in percent): between them the synth
            /// plays the power blend of the two timbres at the level interpolated in dB, and
            /// the reverb the blend of the two rooms. Without a model B it does nothing.
            MORPH: morph (Level) = "morph", "Morph", "%", 0.0..=1.0, 0.0;
            /// Output gain, in dB.
            OUTPUT_GAIN: output_gain_db (Float) = "gain", "Output gain", "dB", -24.0..=24.0, 0.0;
        }
    };
}

/// The synth's envelope knobs, in the same row format as [`engine_knobs!`].
#[macro_export]
macro_rules! envelope_knobs {
    ($callback:ident) => {
        $callback! {
            /// Time to reach full level, in ms.
            ATTACK: attack_ms (Time) = "attack", "Attack", "ms", 1.0..=5000.0, 30.0;
            /// Time from full level to the sustain level, in ms.
            DECAY: decay_ms (Time) = "decay", "Decay", "ms", 1.0..=5000.0, 200.0;
            /// Sustain level, 0..1 (linear amplitude; shown in percent).
            SUSTAIN: sustain (Level) = "sustain", "Sustain", "%", 0.0..=1.0, 0.8;
            /// Time to fall silent after note-off, in ms.
            RELEASE: release_ms (Time) = "release", "Release", "ms", 1.0..=5000.0, 250.0;
        }
    };
}

/// The value type of a knob of kind `$kind` in [`Params`] and [`Adsr`].
macro_rules! value_type {
    (Switch) => {
        bool
    };
    ($other:ident) => {
        f32
    };
}

/// A knob's value as a float (switches: 0 or 1).
trait KnobValue: Copy {
    fn from_value(value: f32) -> Self;
    fn to_value(self) -> f32;
}

impl KnobValue for f32 {
    fn from_value(value: f32) -> Self {
        value
    }
    fn to_value(self) -> f32 {
        self
    }
}

impl KnobValue for bool {
    fn from_value(value: f32) -> Self {
        value >= 0.5
    }
    fn to_value(self) -> f32 {
        if self {
            1.0
        } else {
            0.0
        }
    }
}

/// Generates, from knob rows, the specs, the list `$all` and the struct `$values` that holds
/// one value per row, with `Default`, `clamped`, `set` and `get`.
macro_rules! define_knobs {
    (
        $(#[doc = $struct_doc:literal])*
        $values:ident, $all:ident;
        $(
            $(#[doc = $doc:literal])*
            $konst:ident : $field:ident ($kind:ident) = $id:literal, $name:literal, $unit:literal,
            $min:literal ..= $max:literal, $default:literal;
        )*
    ) => {
        $(
            $(#[doc = $doc])*
            pub const $konst: ParamSpec = ParamSpec {
                id: $id,
                name: $name,
                unit: $unit,
                min: $min,
                max: $max,
                default: $default,
                integer: matches!(Kind::$kind, Kind::Int | Kind::Switch),
                kind: Kind::$kind,
            };
        )*

        /// Every knob of this table, in the order editors show them.
        pub const $all: [ParamSpec; [$($konst),*].len()] = [$($konst),*];

        $(#[doc = $struct_doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $values {
            $(
                $(#[doc = $doc])*
                pub $field: value_type!($kind),
            )*
        }

        impl Default for $values {
            fn default() -> Self {
                Self {
                    $($field: KnobValue::from_value($konst.clamp($konst.default)),)*
                }
            }
        }

        impl $values {
            /// The same values with every field clamped into its range (non-finite: default).
            pub fn clamped(&self) -> Self {
                Self {
                    $($field: KnobValue::from_value($konst.clamp(self.$field.to_value())),)*
                }
            }

            /// Sets the knob named `id` (clamped into range); returns false for an unknown id.
            pub fn set(&mut self, id: &str, value: f32) -> bool {
                match id {
                    $($id => self.$field = KnobValue::from_value($konst.clamp(value)),)*
                    _ => return false,
                }
                true
            }

            /// The value of the knob named `id` (switches: 0 or 1), `None` for an unknown id.
            pub fn get(&self, id: &str) -> Option<f32> {
                match id {
                    $($id => Some(self.$field.to_value()),)*
                    _ => None,
                }
            }
        }
    };
}

/// Generates the engine's knobs into [`Params`].
macro_rules! define_engine_knobs {
    ($($rows:tt)*) => {
        define_knobs! {
            /// The values of all engine knobs. Plain data: the plugin fills it from its atomics
            /// each block.
            Params, ALL;
            $($rows)*
        }
    };
}

/// Generates the envelope's knobs into [`Adsr`].
macro_rules! define_envelope_knobs {
    ($($rows:tt)*) => {
        define_knobs! {
            /// The envelope of synth mode.
            Adsr, ENVELOPE;
            $($rows)*
        }
    };
}

engine_knobs!(define_engine_knobs);
envelope_knobs!(define_envelope_knobs);

impl Params {
    /// The engine's defaults with the model's recommended settings applied
    /// ([`timbre_model::ModelMetadata::recommended_settings`]; ids not in [`ALL`] are
    /// skipped, values are clamped into range).
    pub fn recommended(metadata: &timbre_model::ModelMetadata) -> Self {
        let mut params = Self::default();
        for (id, &value) in &metadata.recommended_settings {
            params.set(id, value);
        }
        params
    }
}

/// Converts decibels to a linear gain.
pub fn db_to_gain(db: f32) -> f32 {
    10f32.powf(db / 20.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_lie_in_range_and_ids_are_unique() {
        for (i, p) in ALL.iter().enumerate() {
            assert!(p.min <= p.default && p.default <= p.max, "{}", p.id);
            assert!(ALL[i + 1..].iter().all(|q| q.id != p.id), "{}", p.id);
            let mut params = Params::default();
            assert!(params.set(p.id, p.max + 1e6), "{} not settable", p.id);
        }
        assert!(!Params::default().set("nope", 1.0));
    }

    #[test]
    fn clamping_and_non_finite_values() {
        assert_eq!(SEMITONES.clamp(30.4), 24.0);
        assert_eq!(SEMITONES.clamp(3.6), 4.0);
        assert_eq!(CENTS.clamp(f32::NAN), 0.0);
        let p = Params {
            output_gain_db: f32::INFINITY,
            reverb_percent: -5.0,
            ..Params::default()
        }
        .clamped();
        assert_eq!(p.output_gain_db, OUTPUT_GAIN.default);
        assert_eq!(p.reverb_percent, 0.0);
        assert!((db_to_gain(-6.0206) - 0.5).abs() < 1e-4);
    }

    #[test]
    fn a_models_recommended_settings_start_from_the_defaults() {
        let mut meta = timbre_model::testing::placeholder_metadata(
            &timbre_model::Architecture::default(),
            "test",
        );
        assert_eq!(Params::recommended(&meta), Params::default());
        meta.recommended_settings.insert("reverb".into(), 55.0);
        meta.recommended_settings.insert("auto_adjust".into(), 1.0);
        meta.recommended_settings.insert("noise_gain".into(), 99.0);
        meta.recommended_settings
            .insert("from_the_future".into(), 1.0);
        let p = Params::recommended(&meta);
        assert_eq!(p.reverb_percent, 55.0);
        assert!(p.auto_adjust);
        assert_eq!(p.noise_gain_db, NOISE_GAIN.max);
        assert_eq!(p.semitones, SEMITONES.default);
    }
}

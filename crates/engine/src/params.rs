//! The engine's parameters: one table with each knob's name, unit, range and default.
//!
//! The plugin turns each [`ParamSpec`] into a host-automatable parameter, the CLI into a flag,
//! and the web page into a slider, so the three never disagree about a range or a default.

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

/// Pitch shift in semitones.
pub const SEMITONES: ParamSpec = ParamSpec {
    id: "semitones",
    name: "Pitch shift",
    unit: "st",
    min: -24.0,
    max: 24.0,
    default: 0.0,
    integer: true,
};
/// Fine tune in cents.
pub const CENTS: ParamSpec = ParamSpec {
    id: "cents",
    name: "Fine tune",
    unit: "ct",
    min: -100.0,
    max: 100.0,
    default: 0.0,
    integer: false,
};
/// Loudness shift applied to the input features, in dB.
pub const LOUDNESS: ParamSpec = ParamSpec {
    id: "loudness",
    name: "Loudness shift",
    unit: "dB",
    min: -24.0,
    max: 24.0,
    default: 0.0,
    integer: false,
};
/// Pitch-confidence gate threshold: frames below it are treated as unvoiced and fade out.
pub const GATE: ParamSpec = ParamSpec {
    id: "gate",
    name: "Gate",
    unit: "",
    min: 0.0,
    max: 1.0,
    default: 0.5,
    integer: false,
};
/// Auto-adjust on (1) or off (0): octave and loudness mapped onto the model's training range.
pub const AUTO_ADJUST: ParamSpec = ParamSpec {
    id: "auto_adjust",
    name: "Auto-adjust",
    unit: "",
    min: 0.0,
    max: 1.0,
    default: 0.0,
    integer: true,
};
/// How far the pitch is pulled to the nearest semitone, in percent (0: raw pitch).
pub const AUTOTUNE: ParamSpec = ParamSpec {
    id: "autotune",
    name: "Autotune",
    unit: "%",
    min: 0.0,
    max: 100.0,
    default: 0.0,
    integer: false,
};
/// Gain of the harmonic part, in dB.
pub const HARMONIC_GAIN: ParamSpec = ParamSpec {
    id: "harmonic_gain",
    name: "Harmonics",
    unit: "dB",
    min: -60.0,
    max: 12.0,
    default: 0.0,
    integer: false,
};
/// Gain of the noise part, in dB.
pub const NOISE_GAIN: ParamSpec = ParamSpec {
    id: "noise_gain",
    name: "Noise",
    unit: "dB",
    min: -60.0,
    max: 12.0,
    default: 0.0,
    integer: false,
};
/// Reverb dry/wet, in percent.
pub const REVERB: ParamSpec = ParamSpec {
    id: "reverb",
    name: "Reverb",
    unit: "%",
    min: 0.0,
    max: 100.0,
    default: 30.0,
    integer: false,
};
/// Output gain, in dB.
pub const OUTPUT_GAIN: ParamSpec = ParamSpec {
    id: "gain",
    name: "Output gain",
    unit: "dB",
    min: -24.0,
    max: 24.0,
    default: 0.0,
    integer: false,
};

/// Every parameter, in the order editors show them.
pub const ALL: [ParamSpec; 10] = [
    SEMITONES,
    CENTS,
    LOUDNESS,
    GATE,
    AUTO_ADJUST,
    AUTOTUNE,
    HARMONIC_GAIN,
    NOISE_GAIN,
    REVERB,
    OUTPUT_GAIN,
];

/// The values of all parameters. Plain data: the plugin fills it from its atomics each block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// See [`SEMITONES`].
    pub semitones: f32,
    /// See [`CENTS`].
    pub cents: f32,
    /// See [`LOUDNESS`].
    pub loudness_db: f32,
    /// See [`GATE`].
    pub gate: f32,
    /// See [`AUTO_ADJUST`].
    pub auto_adjust: bool,
    /// See [`AUTOTUNE`], in percent.
    pub autotune_percent: f32,
    /// See [`HARMONIC_GAIN`].
    pub harmonic_gain_db: f32,
    /// See [`NOISE_GAIN`].
    pub noise_gain_db: f32,
    /// See [`REVERB`], in percent.
    pub reverb_percent: f32,
    /// See [`OUTPUT_GAIN`].
    pub output_gain_db: f32,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            semitones: SEMITONES.default,
            cents: CENTS.default,
            loudness_db: LOUDNESS.default,
            gate: GATE.default,
            auto_adjust: AUTO_ADJUST.default != 0.0,
            autotune_percent: AUTOTUNE.default,
            harmonic_gain_db: HARMONIC_GAIN.default,
            noise_gain_db: NOISE_GAIN.default,
            reverb_percent: REVERB.default,
            output_gain_db: OUTPUT_GAIN.default,
        }
    }
}

impl Params {
    /// The same values with every field clamped into its range (non-finite: default).
    pub fn clamped(&self) -> Self {
        Self {
            semitones: SEMITONES.clamp(self.semitones),
            cents: CENTS.clamp(self.cents),
            loudness_db: LOUDNESS.clamp(self.loudness_db),
            gate: GATE.clamp(self.gate),
            auto_adjust: self.auto_adjust,
            autotune_percent: AUTOTUNE.clamp(self.autotune_percent),
            harmonic_gain_db: HARMONIC_GAIN.clamp(self.harmonic_gain_db),
            noise_gain_db: NOISE_GAIN.clamp(self.noise_gain_db),
            reverb_percent: REVERB.clamp(self.reverb_percent),
            output_gain_db: OUTPUT_GAIN.clamp(self.output_gain_db),
        }
    }

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

    /// Sets the parameter named `id` (see [`ALL`]); returns false for an unknown id.
    pub fn set(&mut self, id: &str, value: f32) -> bool {
        match id {
            "semitones" => self.semitones = SEMITONES.clamp(value),
            "cents" => self.cents = CENTS.clamp(value),
            "loudness" => self.loudness_db = LOUDNESS.clamp(value),
            "gate" => self.gate = GATE.clamp(value),
            "auto_adjust" => self.auto_adjust = AUTO_ADJUST.clamp(value) >= 0.5,
            "autotune" => self.autotune_percent = AUTOTUNE.clamp(value),
            "harmonic_gain" => self.harmonic_gain_db = HARMONIC_GAIN.clamp(value),
            "noise_gain" => self.noise_gain_db = NOISE_GAIN.clamp(value),
            "reverb" => self.reverb_percent = REVERB.clamp(value),
            "gain" => self.output_gain_db = OUTPUT_GAIN.clamp(value),
            _ => return false,
        }
        true
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

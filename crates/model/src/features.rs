//! The one definition of the network's input scaling (DDSP's): f0 as MIDI/127 and loudness as
//! dB/80 + 1. The plugin's analysis and the trainer's dataset both call these functions.

/// Loudness floor in dB: anything quieter (and NaN) scales as this, which maps to 0.
pub const LOUDNESS_FLOOR_DB: f32 = -80.0;
/// Divisor from MIDI note number to the network's f0 input.
pub const F0_MIDI_DIVISOR: f32 = 127.0;
/// Divisor from dB to the network's loudness input (before adding 1).
pub const LOUDNESS_DB_DIVISOR: f32 = 80.0;

/// MIDI note number of a frequency: `69 + 12 · log2(hz / 440)`, clamped at 0 below (DDSP's
/// `hz_to_midi`). Returns 0 for 0, negative or non-finite input.
pub fn hz_to_midi(hz: f32) -> f32 {
    if !(hz > 0.0 && hz.is_finite()) {
        return 0.0;
    }
    (69.0 + 12.0 * (hz / 440.0).log2()).max(0.0)
}

/// Frequency in Hz of a MIDI note number: `440 · 2^((midi − 69) / 12)`.
pub fn midi_to_hz(midi: f32) -> f32 {
    440.0 * ((midi - 69.0) / 12.0).exp2()
}

/// The network's f0 input: MIDI/127 for a voiced frame. Pass 0 Hz for an unvoiced frame, which
/// scales to 0, as do negative and non-finite values.
pub fn scale_f0(hz: f32) -> f32 {
    hz_to_midi(hz) / F0_MIDI_DIVISOR
}

/// The network's loudness input: `dB / 80 + 1`, with dB floored at [`LOUDNESS_FLOOR_DB`] (so
/// silence, −Inf and NaN give 0, and 0 dB gives 1).
pub fn scale_loudness(db: f32) -> f32 {
    let db = if db > LOUDNESS_FLOOR_DB {
        db
    } else {
        LOUDNESS_FLOOR_DB
    };
    // `db > floor` is false for NaN, so NaN took the floor; +Inf stays +Inf: cap it.
    db.min(f32::MAX) / LOUDNESS_DB_DIVISOR + 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f0_scaling() {
        // A4 = 440 Hz is MIDI 69.
        assert_eq!(scale_f0(440.0), 69.0 / 127.0);
        // One octave up is 12 semitones: MIDI 81.
        assert!((scale_f0(880.0) - 81.0 / 127.0).abs() < 1e-6);
        // Middle C, 261.6256 Hz, is MIDI 60.
        assert!((hz_to_midi(261.6256) - 60.0).abs() < 1e-4);
        for unvoiced in [0.0, -5.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            assert_eq!(scale_f0(unvoiced), 0.0, "{unvoiced}");
        }
        // Below MIDI 0 (8.18 Hz) clamps to 0.
        assert_eq!(scale_f0(4.0), 0.0);
        assert!((midi_to_hz(hz_to_midi(123.4)) - 123.4).abs() < 1e-3);
    }

    #[test]
    fn loudness_scaling() {
        assert_eq!(scale_loudness(0.0), 1.0);
        assert_eq!(scale_loudness(-40.0), 0.5);
        assert_eq!(scale_loudness(-80.0), 0.0);
        assert_eq!(scale_loudness(-200.0), 0.0);
        assert_eq!(scale_loudness(f32::NAN), 0.0);
        assert_eq!(scale_loudness(f32::NEG_INFINITY), 0.0);
        assert!(scale_loudness(f32::INFINITY).is_finite());
    }
}

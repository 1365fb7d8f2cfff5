//! Live values from the audio thread to the editor, lock-free.
//!
//! The audio thread copies the engine's [`timbre_engine::Meters`] and the voice's last harmonic
//! distribution into relaxed atomics after each block, and only while the editor is open. The
//! editor reads them at its own pace. A torn read across fields (f0 from one block, loudness
//! from the next) is harmless for a meter, so no triple buffer is needed.

use std::sync::atomic::{AtomicU32, Ordering};

use atomic_float::AtomicF32;
use timbre_engine::Engine;

/// Harmonics shown by the editor's distribution meter (the model's first ones).
pub const METER_HARMONICS: usize = 32;

/// Meter values shared between the audio thread (writer) and the editor (reader).
pub struct SharedMeters {
    /// Input f0 in Hz (held through unvoiced frames).
    pub f0_hz: AtomicF32,
    /// Voicing confidence of the input, 0..1.
    pub confidence: AtomicF32,
    /// A-weighted input loudness in dB.
    pub loudness_db: AtomicF32,
    /// The f0 the model plays (after shift, autotune and auto-adjust), in Hz.
    pub f0_out_hz: AtomicF32,
    /// Gate gain, 0..1.
    pub gate: AtomicF32,
    /// Peak of the last block's input (linear).
    pub input_peak: AtomicF32,
    /// Peak of the last block's output (linear).
    pub output_peak: AtomicF32,
    /// The model's overall harmonic amplitude.
    pub amplitude: AtomicF32,
    /// The model's harmonic distribution (first [`METER_HARMONICS`]), normalized to sum 1.
    pub harmonics: [AtomicF32; METER_HARMONICS],
    /// Blocks published so far (the editor's "is audio running" check).
    pub blocks: AtomicU32,
}

impl Default for SharedMeters {
    fn default() -> Self {
        Self {
            f0_hz: AtomicF32::new(0.0),
            confidence: AtomicF32::new(0.0),
            loudness_db: AtomicF32::new(timbre_dsp::LOUDNESS_FLOOR_DB),
            f0_out_hz: AtomicF32::new(0.0),
            gate: AtomicF32::new(0.0),
            input_peak: AtomicF32::new(0.0),
            output_peak: AtomicF32::new(0.0),
            amplitude: AtomicF32::new(0.0),
            harmonics: std::array::from_fn(|_| AtomicF32::new(0.0)),
            blocks: AtomicU32::new(0),
        }
    }
}

impl SharedMeters {
    /// Copies the engine's meters. Allocation-free and wait-free: called on the audio thread.
    pub fn publish(&self, engine: &Engine) {
        let m = engine.meters();
        let r = Ordering::Relaxed;
        self.f0_hz.store(m.frame.f0_hz, r);
        self.confidence.store(m.frame.confidence, r);
        self.loudness_db.store(m.frame.loudness_db, r);
        self.f0_out_hz.store(m.f0_out_hz, r);
        self.gate.store(m.gate, r);
        // Peak-hold with a fall: the editor reads far less often than blocks arrive.
        let fall = |cell: &AtomicF32, x: f32| {
            let held = cell.load(r) * 0.97;
            cell.store(if x.is_finite() { x.max(held) } else { held }, r);
        };
        fall(&self.input_peak, m.input_peak);
        fall(&self.output_peak, m.output_peak);
        let controls = engine.voice().last_controls();
        self.amplitude.store(controls.amplitude, r);
        let shown = &controls.harmonics[..controls.harmonics.len().min(METER_HARMONICS)];
        let sum: f32 = controls.harmonics.iter().sum();
        let scale = if sum > 0.0 && sum.is_finite() {
            1.0 / sum
        } else {
            0.0
        };
        for (cell, &h) in self.harmonics.iter().zip(shown) {
            cell.store(h * scale, r);
        }
        self.blocks.fetch_add(1, r);
    }

    /// Zeroes the levels (when processing stops or the engine resets).
    pub fn clear(&self) {
        let r = Ordering::Relaxed;
        self.input_peak.store(0.0, r);
        self.output_peak.store(0.0, r);
        self.confidence.store(0.0, r);
        self.gate.store(0.0, r);
        self.amplitude.store(0.0, r);
        for h in &self.harmonics {
            h.store(0.0, r);
        }
    }

    /// A snapshot for drawing.
    pub fn snapshot(&self) -> MeterSnapshot {
        let r = Ordering::Relaxed;
        MeterSnapshot {
            f0_hz: self.f0_hz.load(r),
            confidence: self.confidence.load(r),
            loudness_db: self.loudness_db.load(r),
            f0_out_hz: self.f0_out_hz.load(r),
            gate: self.gate.load(r),
            input_peak: self.input_peak.load(r),
            output_peak: self.output_peak.load(r),
            amplitude: self.amplitude.load(r),
            harmonics: std::array::from_fn(|i| self.harmonics[i].load(r)),
        }
    }
}

/// Plain copies of the meters, for one editor frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeterSnapshot {
    /// See [`SharedMeters::f0_hz`].
    pub f0_hz: f32,
    /// See [`SharedMeters::confidence`].
    pub confidence: f32,
    /// See [`SharedMeters::loudness_db`].
    pub loudness_db: f32,
    /// See [`SharedMeters::f0_out_hz`].
    pub f0_out_hz: f32,
    /// See [`SharedMeters::gate`].
    pub gate: f32,
    /// See [`SharedMeters::input_peak`].
    pub input_peak: f32,
    /// See [`SharedMeters::output_peak`].
    pub output_peak: f32,
    /// See [`SharedMeters::amplitude`].
    pub amplitude: f32,
    /// See [`SharedMeters::harmonics`].
    pub harmonics: [f32; METER_HARMONICS],
}

/// Note names, C first.
const NOTE_NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

/// The nearest note to `f0_hz` as ("A4", cents off in -50..50), A4 = 440 Hz; `None` for
/// non-positive or non-finite input.
pub fn note_name(f0_hz: f32) -> Option<(String, f32)> {
    if !(f0_hz.is_finite() && f0_hz > 0.0) {
        return None;
    }
    let midi = 69.0 + 12.0 * (f0_hz / 440.0).log2();
    let nearest = midi.round();
    let cents = (midi - nearest) * 100.0;
    let n = nearest as i32;
    let name = NOTE_NAMES[n.rem_euclid(12) as usize];
    let octave = n.div_euclid(12) - 1;
    Some((format!("{name}{octave}"), cents))
}

/// Converts a linear peak to dBFS, floored at -90.
pub fn peak_db(peak: f32) -> f32 {
    if peak > 0.0 && peak.is_finite() {
        (20.0 * peak.log10()).max(-90.0)
    } else {
        -90.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_names_and_cents() {
        let (name, cents) = note_name(440.0).unwrap();
        assert_eq!(name, "A4");
        assert!(cents.abs() < 1e-3);
        // Middle C is C4 (MIDI 60, 261.63 Hz).
        assert_eq!(note_name(261.63).unwrap().0, "C4");
        // 20 cents sharp of A3 (220 Hz · 2^(20/1200) ≈ 222.55 Hz).
        let (name, cents) = note_name(222.55).unwrap();
        assert_eq!(name, "A3");
        assert!((cents - 20.0).abs() < 0.2, "{cents}");
        // 40 cents flat of C#5 rounds to C#5 (-40), not C5 (+60).
        let cs5 = 440.0 * 2f32.powf(4.0 / 12.0);
        let (name, cents) = note_name(cs5 * 2f32.powf(-40.0 / 1200.0)).unwrap();
        assert_eq!(name, "C#5");
        assert!((cents + 40.0).abs() < 0.2);
        assert!(note_name(0.0).is_none());
        assert!(note_name(f32::NAN).is_none());
        // Very low notes have negative octaves but valid names.
        assert_eq!(note_name(8.18).unwrap().0, "C-1");
    }

    #[test]
    fn peaks_in_db() {
        assert!((peak_db(1.0)).abs() < 1e-6);
        assert!((peak_db(0.5) + 6.0206).abs() < 1e-3);
        assert_eq!(peak_db(0.0), -90.0);
        assert_eq!(peak_db(f32::NAN), -90.0);
    }
}

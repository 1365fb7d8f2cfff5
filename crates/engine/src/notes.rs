//! Synth mode: MIDI notes instead of audio as the source of f0 and loudness.
//!
//! A monophonic voice with last-note priority: f0 comes from the note number plus pitch bend,
//! loudness from the velocity shaped by an ADSR envelope. Playing legato (a new note while one
//! is held) glides the pitch without retriggering the envelope, as on a wind or bowed
//! instrument. The output is the same [`Frame`] the audio analysis produces, so the decoder,
//! synth and reverb are shared. Fixed-size state: no allocation.

use timbre_dsp::analysis::Frame;
use timbre_dsp::LOUDNESS_FLOOR_DB;

use crate::controls::midi_to_hz;
pub use crate::params::Adsr;

/// Loudness of a full-velocity note at full envelope, in dB.
pub const MAX_NOTE_DB: f32 = -8.0;
/// Loudness range covered by velocity, in dB (velocity 1/127 is this much below the top).
pub const VELOCITY_RANGE_DB: f32 = 36.0;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    Idle,
    Attack,
    Decay,
    Sustain,
    Release,
}

/// Most notes remembered for last-note priority.
const HELD_NOTES: usize = 16;

/// A monophonic note source producing analysis-like frames.
pub struct NoteSource {
    /// Frame period in ms.
    frame_ms: f32,
    /// Envelope settings.
    adsr: Adsr,
    /// Held notes in press order (the last one sounds).
    held: [u8; HELD_NOTES],
    /// Number of held notes.
    n_held: usize,
    /// Velocity of the sounding note, 0..1.
    velocity: f32,
    /// Pitch bend in semitones.
    bend: f32,
    /// Note currently sounding (kept through the release).
    note: u8,
    /// Envelope stage and level (linear amplitude).
    stage: Stage,
    level: f32,
}

impl NoteSource {
    /// A silent source producing frames at `frame_rate_hz`.
    pub fn new(frame_rate_hz: f32) -> Self {
        Self {
            frame_ms: 1000.0 / frame_rate_hz,
            adsr: Adsr::default(),
            held: [0; HELD_NOTES],
            n_held: 0,
            velocity: 0.0,
            bend: 0.0,
            note: 60,
            stage: Stage::Idle,
            level: 0.0,
        }
    }

    /// Sets the envelope (takes effect from the next frame). A non-finite or negative time
    /// or sustain takes the default's value and the sustain is clamped to 0..1: a NaN used to
    /// turn the envelope level into NaN for good, silencing the voice until a reset.
    pub fn set_adsr(&mut self, adsr: Adsr) {
        let default = Adsr::default();
        let sane = |v: f32, fallback: f32| {
            if v.is_finite() && v >= 0.0 {
                v
            } else {
                fallback
            }
        };
        self.adsr = Adsr {
            attack_ms: sane(adsr.attack_ms, default.attack_ms),
            decay_ms: sane(adsr.decay_ms, default.decay_ms),
            sustain: sane(adsr.sustain, default.sustain).min(1.0),
            release_ms: sane(adsr.release_ms, default.release_ms),
        };
    }

    /// Releases everything at once and silences the voice.
    pub fn reset(&mut self) {
        self.n_held = 0;
        self.stage = Stage::Idle;
        self.level = 0.0;
        self.bend = 0.0;
    }

    /// Whether nothing sounds or will sound until the next note-on: no key held and the
    /// envelope at rest.
    pub fn is_idle(&self) -> bool {
        self.n_held == 0 && self.stage == Stage::Idle
    }

    /// A key was pressed: `velocity` in 0..1.
    pub fn note_on(&mut self, note: u8, velocity: f32) {
        self.remove_held(note);
        if self.n_held == HELD_NOTES {
            self.held.copy_within(1.., 0);
            self.n_held -= 1;
        }
        self.held[self.n_held] = note;
        self.n_held += 1;
        let legato = self.n_held > 1 && self.stage != Stage::Release;
        self.note = note;
        if !legato {
            self.velocity = if velocity.is_nan() {
                0.0
            } else {
                velocity.clamp(0.0, 1.0)
            };
            self.stage = Stage::Attack;
        }
    }

    /// A key was released. The previous held note sounds again, or the envelope releases.
    pub fn note_off(&mut self, note: u8) {
        self.remove_held(note);
        if self.n_held > 0 {
            self.note = self.held[self.n_held - 1];
        } else if self.stage != Stage::Idle {
            self.stage = Stage::Release;
        }
    }

    /// Pitch bend in semitones (the plugin maps the wheel's range onto this).
    pub fn pitch_bend(&mut self, semitones: f32) {
        if semitones.is_finite() {
            self.bend = semitones;
        }
    }

    fn remove_held(&mut self, note: u8) {
        if let Some(i) = self.held[..self.n_held].iter().position(|&n| n == note) {
            self.held.copy_within(i + 1..self.n_held, i);
            self.n_held -= 1;
        }
    }

    /// Advances the envelope by one frame and returns that frame.
    pub fn next_frame(&mut self) -> Frame {
        let step = |ms: f32| if ms <= 0.0 { 1.0 } else { self.frame_ms / ms };
        match self.stage {
            Stage::Idle => {}
            Stage::Attack => {
                self.level += step(self.adsr.attack_ms);
                if self.level >= 1.0 {
                    self.level = 1.0;
                    self.stage = Stage::Decay;
                }
            }
            Stage::Decay => {
                let sustain = self.adsr.sustain.clamp(0.0, 1.0);
                self.level -= step(self.adsr.decay_ms) * (1.0 - sustain);
                if self.level <= sustain {
                    self.level = sustain;
                    self.stage = Stage::Sustain;
                }
            }
            Stage::Sustain => self.level = self.adsr.sustain.clamp(0.0, 1.0),
            Stage::Release => {
                self.level -= step(self.adsr.release_ms);
                if self.level <= 0.0 {
                    self.level = 0.0;
                    self.stage = Stage::Idle;
                }
            }
        }
        let sounding = self.level > 0.0;
        let velocity_db = MAX_NOTE_DB - VELOCITY_RANGE_DB * (1.0 - self.velocity);
        let loudness_db = if sounding {
            (velocity_db + 20.0 * self.level.log10()).max(LOUDNESS_FLOOR_DB)
        } else {
            LOUDNESS_FLOOR_DB
        };
        Frame {
            f0_hz: midi_to_hz(self.note as f32 + self.bend),
            confidence: if sounding { 1.0 } else { 0.0 },
            loudness_db,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_gives_its_pitch_and_an_adsr_loudness() {
        let mut src = NoteSource::new(250.0);
        src.set_adsr(Adsr {
            attack_ms: 20.0,
            decay_ms: 40.0,
            sustain: 0.5,
            release_ms: 100.0,
        });
        assert_eq!(src.next_frame().confidence, 0.0);
        src.note_on(69, 1.0);
        let frames: Vec<Frame> = (0..20).map(|_| src.next_frame()).collect();
        assert!((frames[0].f0_hz - 440.0).abs() < 1e-3);
        // Attack: 5 frames of 4 ms to full level (MAX_NOTE_DB).
        assert!((frames[4].loudness_db - MAX_NOTE_DB).abs() < 1e-3);
        assert!(frames[0].loudness_db < frames[3].loudness_db);
        // Sustain at half amplitude: −6 dB below the top.
        let sustain_db = MAX_NOTE_DB + 20.0 * 0.5f32.log10();
        assert!((frames[19].loudness_db - sustain_db).abs() < 1e-3);
        src.note_off(69);
        let tail: Vec<Frame> = (0..30).map(|_| src.next_frame()).collect();
        assert_eq!(tail[29].confidence, 0.0);
        assert_eq!(tail[29].loudness_db, LOUDNESS_FLOOR_DB);
    }

    #[test]
    fn legato_keeps_the_envelope_and_returns_to_held_note() {
        let mut src = NoteSource::new(250.0);
        src.note_on(60, 0.8);
        for _ in 0..100 {
            src.next_frame();
        }
        let before = src.next_frame();
        src.note_on(64, 0.2);
        let after = src.next_frame();
        assert!((after.f0_hz - midi_to_hz(64.0)).abs() < 1e-3);
        assert!((after.loudness_db - before.loudness_db).abs() < 1e-3);
        src.note_off(64);
        assert!((src.next_frame().f0_hz - midi_to_hz(60.0)).abs() < 1e-3);
        src.pitch_bend(2.0);
        assert!((src.next_frame().f0_hz - midi_to_hz(62.0)).abs() < 1e-3);
    }

    #[test]
    fn velocity_sets_loudness() {
        let loud_at = |velocity: f32| {
            let mut src = NoteSource::new(250.0);
            src.note_on(60, velocity);
            (0..10)
                .map(|_| src.next_frame())
                .last()
                .unwrap()
                .loudness_db
        };
        assert!((loud_at(1.0) - loud_at(0.5) - VELOCITY_RANGE_DB / 2.0).abs() < 1e-3);
    }
}

//! The note tracker on frames with known pitch and loudness: syllables, tremolo, swells and
//! scoops (the audio end to end is tested through `tiny-timbre midi` in crates/cli).

use timbre_dsp::analysis::Frame;
use timbre_dsp::transcribe::{transcribe, NoteSettings};

/// 250 frames per second.
const FPS: f64 = 250.0;

/// Frames of `seconds` with MIDI pitch `midi(t)` and loudness `db(t)` (voiced throughout).
fn frames(seconds: f64, midi: impl Fn(f64) -> f64, db: impl Fn(f64) -> f64) -> Vec<Frame> {
    (0..(seconds * FPS) as usize)
        .map(|k| {
            let t = k as f64 / FPS;
            Frame {
                f0_hz: (440.0 * 2f64.powf((midi(t) - 69.0) / 12.0)) as f32,
                confidence: 0.95,
                loudness_db: db(t) as f32,
            }
        })
        .collect()
}

fn notes(frames: &[Frame]) -> Vec<(u8, f64, f64)> {
    // No minimum length: a note corrected from its start must not stay behind as a blip.
    transcribe(frames, NoteSettings::default(), 0)
        .notes
        .iter()
        .map(|n| (n.note, n.start as f64 / FPS, n.end as f64 / FPS))
        .collect()
}

#[test]
fn a_new_syllable_on_the_same_pitch_is_a_new_note() {
    // Two syllables on A4: the loudness dips 15 dB for 20 ms between them (a consonant).
    let dip = |t: f64| {
        if (0.80..0.82).contains(&t) {
            -35.0
        } else {
            -20.0
        }
    };
    let found = notes(&frames(1.6, |_| 69.0, dip));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|n| n.0 == 69), "{found:?}");
    assert!((found[1].1 - 0.80).abs() < 0.03, "{found:?}");
}

#[test]
fn tremolo_and_swells_keep_one_note() {
    let tremolo = |t: f64| -20.0 + 6.0 * (2.0 * std::f64::consts::PI * 3.0 * t).sin();
    assert_eq!(notes(&frames(2.0, |_| 64.0, tremolo)).len(), 1);
    let swell = |t: f64| -40.0 + 25.0 * (std::f64::consts::PI * t / 2.0).sin();
    assert_eq!(notes(&frames(2.0, |_| 64.0, swell)).len(), 1);
}

#[test]
fn a_scoop_into_a_note_is_that_note_from_its_start() {
    // 80 ms rising from three semitones below, then on the note.
    let scoop = |t: f64| 62.0 - 3.0 * (1.0 - t / 0.08).max(0.0);
    let found = notes(&frames(0.8, scoop, |_| -20.0));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 62);
    assert!(found[0].1 < 0.01, "{found:?}");
}

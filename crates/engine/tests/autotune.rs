//! Autotune through the whole engine: a sung-like line a third of a semitone sharp of
//! A = 440 Hz, with a ±40 cent vibrato, through the hand-wired level-linear model (a pure
//! fundamental), its pitch read on the output from zero crossings.

mod common;

use common::{frequency_track, melody, process_blocks, sawtooth, wired_linear_model};
use timbre_engine::{Engine, Params};

const RATE: f64 = 48_000.0;
/// The notes (MIDI) and how long each is held, in seconds; every note 0.3 semitones sharp.
const NOTES: [(f64, f64); 4] = [(57.3, 0.6), (60.3, 0.6), (64.3, 0.6), (62.3, 0.6)];

/// The pitch (MIDI) of `out`, a pure fundamental, period by period between samples `from` and
/// `to`, sorted.
fn sorted_midi(out: &[f32], from: f64, to: f64) -> Vec<f64> {
    let mut midi: Vec<f64> = frequency_track(out, RATE)
        .iter()
        .filter(|p| p.0 >= from && p.0 < to)
        .map(|p| 69.0 + 12.0 * (p.1 / 440.0).log2())
        .collect();
    midi.sort_by(f64::total_cmp);
    midi
}

/// The output's pitch (MIDI) over the steady part of each note but the first (from 0.2 s after
/// the note starts, heard at the latency, to 0.05 s before it ends): (5th, 50th, 95th
/// percentiles) per note.
fn held_pitches(autotune_percent: f32) -> Vec<(f64, f64, f64)> {
    let f0 = melody(&NOTES, 40.0);
    let seconds: f64 = NOTES.iter().map(|n| n.1).sum();
    let input = sawtooth(RATE, seconds, f0, |_| 0.25);
    let (mut engine, _factory) = Engine::prepare(&wired_linear_model(), RATE, 128).unwrap();
    engine.set_params(&Params {
        reverb_percent: 0.0,
        autotune_percent,
        ..Params::default()
    });
    engine.reset();
    let latency = engine.latency_samples() as f64;
    let (out, _) = process_blocks(&mut engine, &input, 128);
    let mut start = 0.0;
    let mut held = Vec::new();
    for (k, &(_, dur)) in NOTES.iter().enumerate() {
        let (from, to) = (
            (start + 0.2) * RATE + latency,
            (start + dur - 0.05) * RATE + latency,
        );
        start += dur;
        if k == 0 {
            continue;
        }
        let midi = sorted_midi(&out, from, to);
        let at = |q: f64| midi[((midi.len() - 1) as f64 * q) as usize];
        held.push((at(0.05), at(0.5), at(0.95)));
    }
    held
}

/// At 100 % the vibrato is gone (the middle 90 % of each held note's pitch within 10 cents,
/// against about 75 cents without autotune) and each note sits on the singer's own scale,
/// 0.3 semitones sharp, within 3 cents: autotune does not pull a singer without a reference
/// onto A = 440 Hz (a fixed scale would have played every note 30 cents flat of what was sung).
#[test]
fn autotune_removes_the_vibrato_and_keeps_the_singers_tuning() {
    let raw = held_pitches(0.0);
    let tuned = held_pitches(100.0);
    for (k, (&(lo, mid, hi), &(raw_lo, _, raw_hi))) in tuned.iter().zip(&raw).enumerate() {
        let note = NOTES[k + 1].0;
        println!(
            "note {note}: autotune 100 % plays {mid:.3} (spread {:.0} cents), 0 % spreads {:.0} cents",
            100.0 * (hi - lo),
            100.0 * (raw_hi - raw_lo)
        );
        assert!(
            raw_hi - raw_lo > 0.6,
            "the vibrato reaches the output at 0 %"
        );
        assert!(
            hi - lo < 0.1,
            "note {note}: spread {:.3} semitones",
            hi - lo
        );
        assert!((mid - note).abs() < 0.03, "note {note}: played {mid:.3}");
    }
}

/// In the synth, Autotune leaves the notes alone: MIDI notes are on the semitones already,
/// and a pitch bend of 0.4 semitones, 1 s into a note, is played as bent (snapped, the note
/// would stay put).
#[test]
fn autotune_leaves_midi_notes_and_pitch_bends_alone() {
    let (mut engine, _factory) = Engine::prepare(&wired_linear_model(), RATE, 128).unwrap();
    engine.set_params(&Params {
        reverb_percent: 0.0,
        autotune_percent: 100.0,
        ..Params::default()
    });
    engine.set_mode(timbre_engine::Mode::Notes);
    engine.note_on(57, 0.8);
    let play = |engine: &mut Engine, seconds: f64| {
        let mut left = vec![0.0f32; (seconds * RATE) as usize];
        let mut right = vec![0.0f32; left.len()];
        for (l, r) in left.chunks_mut(128).zip(right.chunks_mut(128)) {
            engine.process(&[], l, r);
        }
        left
    };
    let median_midi = |out: &[f32], from: f64| {
        let midi = sorted_midi(out, from * RATE, f64::INFINITY);
        midi[midi.len() / 2]
    };
    let held = median_midi(&play(&mut engine, 1.0), 0.5);
    engine.pitch_bend(0.4);
    let bent = median_midi(&play(&mut engine, 0.3), 0.1);
    assert!((held - 57.0).abs() < 0.03, "played {held:.3}");
    assert!((bent - 57.4).abs() < 0.03, "bent, played {bent:.3}");
}

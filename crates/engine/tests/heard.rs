//! MIDI out: the notes the engine hears come out at the right sample, the same whatever the
//! block sizes, and without allocating.

mod common;

use common::*;
use timbre_dsp::transcribe::NoteEvent;
use timbre_engine::{Engine, Params};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

const RATE: f64 = 48_000.0;

/// Separate notes (MIDI, start s, length s) with ±40 cent vibrato and silence between them.
const NOTES: [(f64, f64, f64); 5] = [
    (57.0, 0.3, 0.4),
    (62.0, 0.9, 0.3),
    (60.0, 1.4, 0.5),
    (65.0, 2.1, 0.4),
    (64.0, 2.7, 0.6),
];

fn line() -> Vec<f32> {
    let note_at = |t: f64| NOTES.iter().find(|n| t >= n.1 && t < n.1 + n.2);
    sawtooth(
        RATE,
        3.8,
        |t| {
            let midi = note_at(t).map_or(60.0, |n| n.0);
            let vib = 0.4 * (2.0 * std::f64::consts::PI * 5.5 * t).sin();
            440.0 * 2f64.powf((midi + vib - 69.0) / 12.0)
        },
        |t| {
            note_at(t).map_or(0.0, |n| {
                ((t - n.1).min(n.1 + n.2 - t) / 0.005).min(1.0) * 0.5
            })
        },
    )
}

/// Renders with note output on in blocks cycling through `blocks`; returns every event with
/// its absolute sample position, and the latency.
fn heard(blocks: &[usize]) -> (Vec<(u64, NoteEvent)>, u32, usize) {
    let input = line();
    let (mut engine, _f) = Engine::prepare(&wired_model(false), RATE, 1024).unwrap();
    engine.set_params(&Params::default());
    engine.set_note_output(true);
    let (mut l, mut r) = (vec![0.0f32; 1024], vec![0.0f32; 1024]);
    let mut events = Vec::new();
    let mut allocations = 0;
    let mut pos = 0;
    for &b in blocks.iter().cycle() {
        if pos >= input.len() {
            break;
        }
        let n = b.min(input.len() - pos);
        allocations += allocations_during(|| {
            engine.process(&[&input[pos..pos + n]], &mut l[..n], &mut r[..n])
        });
        events.extend(
            engine
                .heard_notes()
                .iter()
                .map(|h| (pos as u64 + u64::from(h.position), h.event)),
        );
        pos += n;
    }
    (events, engine.latency_samples(), allocations)
}

#[test]
fn note_ons_land_where_their_sound_starts_in_the_output() {
    let (events, latency, allocations) = heard(&[256]);
    assert_eq!(allocations, 0, "note output allocated");
    let ons: Vec<(u64, u8)> = events
        .iter()
        .filter_map(|&(p, e)| match e {
            NoteEvent::On { note, .. } => Some((p, note)),
            _ => None,
        })
        .collect();
    let offs = events
        .iter()
        .filter(|(_, e)| matches!(e, NoteEvent::Off { .. }))
        .count();
    assert_eq!(
        ons.iter().map(|o| o.1).collect::<Vec<_>>(),
        NOTES.iter().map(|n| n.0 as u8).collect::<Vec<_>>(),
        "{ons:?}"
    );
    assert_eq!(offs, NOTES.len(), "every note ends");
    let mut worst = 0.0f64;
    for (&(p, _), n) in ons.iter().zip(&NOTES) {
        // The output of an input onset at t comes out at t + latency.
        let expected = n.1 * RATE + f64::from(latency);
        let error_ms = (p as f64 - expected) / RATE * 1e3;
        worst = worst.max(error_ms.abs());
        assert!(error_ms.abs() <= 10.0, "note {}: {error_ms:.1} ms off", n.0);
    }
    println!("note-ons at most {worst:.1} ms from where their sound starts (latency {latency})");
    let bends = events
        .iter()
        .filter(|(_, e)| matches!(e, NoteEvent::Bend { .. }))
        .count();
    assert!(bends > 300, "{bends} bends");
}

#[test]
fn the_events_do_not_depend_on_the_block_sizes() {
    let (a, _, _) = heard(&[256]);
    let (b, _, _) = heard(&[1, 64, 333, 1024, 7, 500]);
    assert_eq!(a, b);
}

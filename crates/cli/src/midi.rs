//! `tiny-timbre midi`: the notes of a sung or played line, as a standard MIDI file.
//!
//! The input is analysed exactly as the engine analyses it ([`analyze_clip`]), the notes are
//! found by the engine's note tracker ([`transcribe`]), and every event is placed at the
//! input time it describes (the analysis latency is taken off), so the clip lines up with
//! the audio it came from. The file is type 0 (one track, channel 1) at 120 bpm and 480 ticks
//! per quarter note (960 ticks per second). With `--bend`, the pitch between the notes goes
//! out as pitch bend, after a pitch-bend-range message (RPN 0) that states the range.

use std::path::{Path, PathBuf};

use midly::num::{u14, u15, u28, u4, u7};
use midly::{
    Format, Header, MetaMessage, MidiMessage, PitchBend, Smf, Timing, TrackEvent, TrackEventKind,
};
use timbre_dsp::analysis::{analyze_clip, AnalysisConfig, Analyzer};
use timbre_dsp::transcribe::{transcribe, NoteSettings, Transcription};

use crate::error::CliError;
use crate::render::mono_mix;
use timbre_audio::{decode_file, AudioError};

/// Ticks per quarter note of the files written.
pub const TICKS_PER_QUARTER: u16 = 480;
/// Microseconds per quarter note (120 bpm): with [`TICKS_PER_QUARTER`], 960 ticks a second.
pub const TEMPO_US_PER_QUARTER: u32 = 500_000;

/// What to transcribe.
#[derive(Clone, Debug)]
pub struct MidiRequest {
    /// The input audio file.
    pub input: PathBuf,
    /// The MIDI file to write.
    pub output: PathBuf,
    /// Write pitch bend, with this range in semitones (`None`: no bend).
    pub bend_range: Option<f32>,
    /// Notes shorter than this are dropped, in ms.
    pub min_note_ms: f32,
}

/// One note written, in seconds of the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WrittenNote {
    /// MIDI note number.
    pub note: u8,
    /// Velocity.
    pub velocity: u8,
    /// Start and end, in seconds of the input.
    pub start_s: f64,
    /// End, in seconds of the input.
    pub end_s: f64,
}

/// What was written, for the summary line.
#[derive(Clone, Debug, PartialEq)]
pub struct MidiReport {
    /// The notes, in order.
    pub notes: Vec<WrittenNote>,
    /// Pitch bend events written.
    pub bends: usize,
    /// The file written.
    pub output: PathBuf,
}

impl MidiReport {
    /// The summary line, e.g. `wrote 7 notes (C4 D4 ...) to scale.mid`.
    pub fn summary(&self) -> String {
        let names: Vec<String> = self.notes.iter().map(|n| note_name(n.note)).collect();
        let bends = if self.bends > 0 {
            format!(" and {} pitch bends", self.bends)
        } else {
            String::new()
        };
        format!(
            "wrote {} notes ({}){bends} to {}",
            self.notes.len(),
            names.join(" "),
            self.output.display()
        )
    }
}

/// The name of a MIDI note, e.g. `C4` for 60, `F#3` for 54.
pub fn note_name(note: u8) -> String {
    const NAMES: [&str; 12] = [
        "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
    ];
    format!("{}{}", NAMES[note as usize % 12], note as i32 / 12 - 1)
}

/// Decodes, analyses and transcribes the input and writes the MIDI file.
pub fn midi_file(req: &MidiRequest) -> Result<MidiReport, CliError> {
    let decoded = decode_file(&req.input)?;
    let rate = f64::from(decoded.sample_rate);
    let mono = mono_mix(&decoded);
    let config = AnalysisConfig::default();
    let frames = analyze_clip(config, rate, &mono).map_err(CliError::Analysis)?;
    // Frame k completes at analysis sample (k + 1)·hop and describes the input one analysis
    // latency earlier.
    let latency_s = Analyzer::new(config, rate)
        .map_err(CliError::Analysis)?
        .latency_seconds();
    let frame_s = |k: u64| {
        ((k + 1) as f64 * config.hop as f64 / config.sample_rate as f64 - latency_s).max(0.0)
    };
    let min_frames = (req.min_note_ms as f64 * 1e-3 * config.frame_rate()).round() as u64;
    let Transcription { notes, bends } = transcribe(&frames, NoteSettings::default(), min_frames);
    let written: Vec<WrittenNote> = notes
        .iter()
        .map(|n| WrittenNote {
            note: n.note,
            velocity: n.velocity,
            start_s: frame_s(n.start),
            end_s: frame_s(n.end),
        })
        .collect();
    let bends: Vec<(f64, f32)> = match req.bend_range {
        Some(_) => bends.iter().map(|&(k, st)| (frame_s(k), st)).collect(),
        None => Vec::new(),
    };
    let (bytes, bend_events) = smf_bytes(&written, &bends, req.bend_range);
    std::fs::write(&req.output, bytes).map_err(|e| {
        CliError::Audio(AudioError::Write {
            path: req.output.clone(),
            reason: e.to_string(),
        })
    })?;
    Ok(MidiReport {
        notes: written,
        bends: bend_events,
        output: req.output.clone(),
    })
}

/// A type 0 MIDI file of `notes` and `bends` ((seconds, semitones) from the sounding note,
/// written when `bend_range` is given and the 14-bit value changes). Returns the bytes and
/// how many bend events were written.
pub fn smf_bytes(
    notes: &[WrittenNote],
    bends: &[(f64, f32)],
    bend_range: Option<f32>,
) -> (Vec<u8>, usize) {
    let ticks_per_s = f64::from(TICKS_PER_QUARTER) * 1e6 / f64::from(TEMPO_US_PER_QUARTER);
    let tick = |s: f64| (s * ticks_per_s).round() as u64;
    let channel = u4::new(0);
    let midi = |message| TrackEventKind::Midi { channel, message };
    // (tick, order within a tick: offs before bends before ons, event)
    let mut events: Vec<(u64, u8, TrackEventKind<'static>)> = Vec::new();
    events.push((
        0,
        0,
        TrackEventKind::Meta(MetaMessage::Tempo(TEMPO_US_PER_QUARTER.into())),
    ));
    let mut bend_events = 0;
    if let Some(range) = bend_range {
        // RPN 0 (pitch bend sensitivity): semitones and cents.
        let semitones = range.floor().clamp(0.0, 127.0) as u8;
        let cents = ((range - range.floor()) * 100.0).round().clamp(0.0, 99.0) as u8;
        for (controller, value) in [
            (101, 0),
            (100, 0),
            (6, semitones),
            (38, cents),
            (101, 127),
            (100, 127),
        ] {
            events.push((
                0,
                1,
                midi(MidiMessage::Controller {
                    controller: u7::new(controller),
                    value: u7::new(value),
                }),
            ));
        }
        let mut last: Option<u16> = None;
        for &(s, semitones) in bends {
            let value = PitchBend::from_f32(semitones / range).0.as_int();
            if last != Some(value) {
                events.push((
                    tick(s),
                    2,
                    midi(MidiMessage::PitchBend {
                        bend: PitchBend(u14::new(value)),
                    }),
                ));
                last = Some(value);
                bend_events += 1;
            }
        }
    }
    for n in notes {
        let key = u7::new(n.note.min(127));
        events.push((
            tick(n.start_s),
            3,
            midi(MidiMessage::NoteOn {
                key,
                vel: u7::new(n.velocity.clamp(1, 127)),
            }),
        ));
        events.push((
            tick(n.end_s).max(tick(n.start_s) + 1),
            0,
            midi(MidiMessage::NoteOff {
                key,
                vel: u7::new(64),
            }),
        ));
    }
    events.sort_by_key(|&(t, order, _)| (t, order));
    let mut track = Vec::with_capacity(events.len() + 1);
    let mut now = 0;
    for (t, _, kind) in events {
        track.push(TrackEvent {
            delta: u28::new((t - now) as u32),
            kind,
        });
        now = t;
    }
    track.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    let smf = Smf {
        header: Header::new(
            Format::SingleTrack,
            Timing::Metrical(u15::new(TICKS_PER_QUARTER)),
        ),
        tracks: vec![track],
    };
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes)
        .expect("writing to a Vec cannot fail");
    (bytes, bend_events)
}

/// Whether `path` ends in `.mid` or `.midi`.
pub fn has_midi_extension(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
}

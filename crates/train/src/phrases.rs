//! Rendered phrases: what single-note samples lack. Seeded random melodies in an instrument's
//! range, with legato note changes, glides, vibrato and swells, written as standard MIDI files
//! and rendered by `fluidsynth` through the MuseScore General SoundFont's "Expr." presets
//! (bank 17, which respond to the expression controllers), dry (no reverb or chorus).
//!
//! Debian: `apt-get install fluidsynth musescore-general-soundfont-lossless`. The SoundFont is
//! MIT-licensed (S. Christian Collins). The phrases are written next to the recordings, into
//! `target/datasets/<name>/package/phrases/`, so the dataset's seeded split holds some of them
//! out for evaluation like any other file.

use std::path::{Path, PathBuf};
use std::process::Command;

use timbre_model::metadata::DataSource;

use crate::rng::Rng;
use crate::TrainError;

/// The SoundFont the phrases are rendered with.
pub const SOUNDFONT: &str = "/usr/share/sounds/sf2/MuseScore_General_Full.sf2";
/// Bank of the MuseScore General "Expr." presets.
pub const EXPR_BANK: u8 = 17;
/// Phrases rendered per instrument.
pub const PHRASES: usize = 24;
/// Sample rate of the rendered WAVs, in Hz.
pub const RENDER_RATE: u32 = 44_100;
/// MIDI ticks per quarter note (at 120 bpm: 960 ticks per second).
const TPQ: u16 = 480;
/// Ticks per second at the file's tempo (500,000 µs per quarter note).
const TICKS_PER_S: f64 = 960.0;
/// Interval between controller updates, in seconds.
const CONTROL_STEP_S: f64 = 0.02;

/// How to render phrases for one instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhraseSpec {
    /// General MIDI program of the instrument's Expr. preset (bank 17).
    pub program: u8,
    /// Lowest MIDI note of the melodies.
    pub low: u8,
    /// Highest MIDI note of the melodies.
    pub high: u8,
}

/// One note of a melody.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MelodyNote {
    /// MIDI note.
    pub key: u8,
    /// Start in seconds.
    pub start: f64,
    /// Length in seconds.
    pub length: f64,
    /// Peak expression (controller value 0–127) of its swell.
    pub peak: u8,
    /// Vibrato depth in cents (0: none).
    pub vibrato_cents: f64,
    /// Glide (in semitones, −2…2) bent into over the note's last 80 ms; 0: none.
    pub glide: f64,
}

/// A seeded melody of about `seconds` in `low..=high`: a random walk in steps of up to a
/// fifth, notes of 0.2–1.6 s, joined legato, with a rest now and then.
pub fn melody(seed: u64, spec: &PhraseSpec, seconds: f64) -> Vec<MelodyNote> {
    let mut rng = Rng::new(seed);
    let (low, high) = (spec.low as i32, spec.high as i32);
    let mut key = low + rng.below((high - low + 1) as u64) as i32;
    let mut t = 0.1;
    let mut notes = Vec::new();
    while t < seconds {
        let length = rng.uniform(0.2, 1.6) as f64;
        let vibrato = if length > 0.6 {
            rng.uniform(10.0, 40.0) as f64
        } else {
            0.0
        };
        let glide = if rng.below(5) == 0 {
            rng.uniform(-2.0, 2.0) as f64
        } else {
            0.0
        };
        notes.push(MelodyNote {
            key: key as u8,
            start: t,
            length,
            peak: 50 + rng.below(78) as u8,
            vibrato_cents: vibrato,
            glide,
        });
        t += length;
        if rng.below(6) == 0 {
            t += rng.uniform(0.15, 0.6) as f64;
        }
        let step = rng.below(15) as i32 - 7;
        key = (key + step).clamp(low, high);
    }
    notes
}

/// Variable-length quantity of a MIDI delta time.
fn vlq(mut v: u32, out: &mut Vec<u8>) {
    let mut bytes = vec![(v & 0x7f) as u8];
    v >>= 7;
    while v > 0 {
        bytes.push((v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    out.extend(bytes.iter().rev());
}

/// A format-0 standard MIDI file playing `notes` on channel 0 with program `program` of bank
/// `bank`: expression (CC 11) and breath (CC 2) swell each note, pitch bend draws its vibrato
/// and glide (bend range ±2 semitones).
pub fn midi_file(notes: &[MelodyNote], bank: u8, program: u8) -> Vec<u8> {
    let tick = |s: f64| (s * TICKS_PER_S).round() as u32;
    let mut events: Vec<(u32, Vec<u8>)> = vec![
        (0, vec![0xff, 0x51, 0x03, 0x07, 0xa1, 0x20]), // 500,000 µs per quarter note.
        (0, vec![0xb0, 0, bank]),
        (0, vec![0xb0, 32, 0]),
        (0, vec![0xc0, program]),
        // Pitch-bend range: RPN 0 = 2 semitones.
        (0, vec![0xb0, 101, 0]),
        (0, vec![0xb0, 100, 0]),
        (0, vec![0xb0, 6, 2]),
        (0, vec![0xb0, 38, 0]),
        (0, vec![0xb0, 91, 0]), // No reverb send.
        (0, vec![0xb0, 93, 0]), // No chorus send.
    ];
    for (i, n) in notes.iter().enumerate() {
        let end = n.start + n.length;
        let velocity = n.peak.max(30);
        events.push((tick(n.start), vec![0xb0, 11, (n.peak as f64 * 0.5) as u8]));
        events.push((tick(n.start), vec![0xe0, 0x00, 0x40]));
        events.push((tick(n.start), vec![0x90, n.key, velocity]));
        let steps = (n.length / CONTROL_STEP_S) as usize;
        for s in 1..steps {
            let t = s as f64 * CONTROL_STEP_S;
            let x = t / n.length;
            // A swell up to the peak at 40% of the note and back to 60% of it.
            let shape = if x < 0.4 {
                0.5 + 0.5 * x / 0.4
            } else {
                1.0 - 0.4 * (x - 0.4) / 0.6
            };
            let value = (n.peak as f64 * shape).round().clamp(1.0, 127.0) as u8;
            events.push((tick(n.start + t), vec![0xb0, 11, value]));
            events.push((tick(n.start + t), vec![0xb0, 2, value]));
            let depth = n.vibrato_cents * ((t - 0.3) / 0.3).clamp(0.0, 1.0);
            let mut cents = depth * (2.0 * std::f64::consts::PI * 5.5 * t).sin();
            let glide_from = n.length - 0.08;
            if n.glide != 0.0 && t > glide_from {
                cents += 100.0 * n.glide * (t - glide_from) / 0.08;
            }
            let bend = (8192.0 + cents / 200.0 * 8192.0)
                .round()
                .clamp(0.0, 16383.0) as u16;
            events.push((
                tick(n.start + t),
                vec![0xe0, (bend & 0x7f) as u8, (bend >> 7) as u8],
            ));
        }
        // Legato: the next note starts where this one ends, so end this one first at the same
        // tick (events at equal ticks keep their order).
        let _ = i;
        events.push((tick(end), vec![0x80, n.key, 0]));
    }
    let last = events.iter().map(|e| e.0).max().unwrap_or(0);
    events.push((last + tick(0.5), vec![0xff, 0x2f, 0x00]));
    events.sort_by_key(|e| e.0);
    let mut track = Vec::new();
    let mut now = 0;
    for (t, bytes) in events {
        vlq(t - now, &mut track);
        track.extend(bytes);
        now = t;
    }
    let mut file = b"MThd".to_vec();
    file.extend(6u32.to_be_bytes());
    file.extend(0u16.to_be_bytes());
    file.extend(1u16.to_be_bytes());
    file.extend(TPQ.to_be_bytes());
    file.extend(b"MTrk");
    file.extend((track.len() as u32).to_be_bytes());
    file.extend(track);
    file
}

/// Whether fluidsynth and the SoundFont are installed.
pub fn available() -> bool {
    Path::new(SOUNDFONT).exists()
        && Command::new("fluidsynth")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
}

/// Peak level of a rendered phrase (the recordings' −3 dBFS).
pub const PEAK: f32 = 0.707;

/// Mixes fluidsynth's 16-bit stereo render at `from` to mono, scales its peak to [`PEAK`]
/// (the recordings are normalized the same way; the dynamics within a phrase are kept) and
/// writes it to `to` as 16-bit mono.
fn normalize(from: &Path, to: &Path) -> Result<(), TrainError> {
    let fail = |source| TrainError::Wav {
        path: from.to_path_buf(),
        source,
    };
    let mut reader = hound::WavReader::open(from).map_err(fail)?;
    let spec = reader.spec();
    let channels = spec.channels.max(1) as usize;
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| s.map(|v| v as f32 / 32768.0))
        .collect::<Result<_, _>>()
        .map_err(fail)?;
    let mono: Vec<f32> = samples
        .chunks(channels)
        .map(|c| c.iter().sum::<f32>() / channels as f32)
        .collect();
    let peak = mono.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak == 0.0 {
        return Err(TrainError::Silent {
            path: from.to_path_buf(),
        });
    }
    let out_spec = hound::WavSpec {
        channels: 1,
        sample_rate: spec.sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let fail = |source| TrainError::Wav {
        path: to.to_path_buf(),
        source,
    };
    let mut writer = hound::WavWriter::create(to, out_spec).map_err(fail)?;
    for v in mono {
        let q = (v * PEAK / peak * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
        writer.write_sample(q).map_err(fail)?;
    }
    writer.finalize().map_err(fail)
}

/// The source record of rendered phrases for the model's provenance.
pub fn source(name: &str) -> DataSource {
    DataSource {
        name: format!(
            "{PHRASES} {name} phrases rendered by fluidsynth from MuseScore General (bank {EXPR_BANK} Expr. preset)"
        ),
        license: "MIT (MuseScore General SoundFont, S. Christian Collins)".to_string(),
        url: "https://packages.debian.org/musescore-general-soundfont-lossless".to_string(),
    }
}

/// Renders [`PHRASES`] phrases of about 8 s for `spec` into `dir` (MIDI and WAV files), unless
/// they are there already. Returns the WAV files.
pub fn render(dir: &Path, name: &str, spec: &PhraseSpec) -> Result<Vec<PathBuf>, TrainError> {
    std::fs::create_dir_all(dir).map_err(|source| TrainError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut wavs = Vec::new();
    for i in 0..PHRASES {
        let stem = format!("{name}-phrase-{i:02}");
        let wav = dir.join(format!("{stem}.wav"));
        if !wav.exists() {
            let notes = melody(crate::rng::fnv1a(&[name.as_bytes(), &[i as u8]]), spec, 8.0);
            let mid = dir.join(format!("{stem}.mid"));
            std::fs::write(&mid, midi_file(&notes, EXPR_BANK, spec.program)).map_err(|source| {
                TrainError::Io {
                    path: mid.clone(),
                    source,
                }
            })?;
            let partial = dir.join(format!("{stem}.partial.wav"));
            let status = Command::new("fluidsynth")
                .args(["-n", "-i", "-q", "-R", "0", "-C", "0", "-g", "0.6"])
                .arg("-r")
                .arg(RENDER_RATE.to_string())
                .arg("-F")
                .arg(&partial)
                .arg(SOUNDFONT)
                .arg(&mid)
                .status()
                .map_err(|source| TrainError::Spawn {
                    program: "fluidsynth",
                    source,
                })?;
            if !status.success() {
                return Err(TrainError::Fluidsynth { midi: mid, status });
            }
            normalize(&partial, &wav)?;
            let _ = std::fs::remove_file(&partial);
            eprintln!("rendered {}", wav.display());
        }
        wavs.push(wav);
    }
    Ok(wavs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: PhraseSpec = PhraseSpec {
        program: 56,
        low: 54,
        high: 82,
    };

    #[test]
    fn melodies_stay_in_range_and_are_reproducible() {
        let a = melody(3, &SPEC, 8.0);
        assert_eq!(a, melody(3, &SPEC, 8.0));
        assert_ne!(a, melody(4, &SPEC, 8.0));
        assert!(a.len() >= 5);
        assert!(a.iter().all(|n| (54..=82).contains(&n.key)));
        assert!(a
            .windows(2)
            .all(|w| w[1].start >= w[0].start + w[0].length - 1e-9));
        assert!(a.last().unwrap().start < 8.0);
    }

    #[test]
    fn variable_length_quantities_match_the_midi_spec() {
        for (v, want) in [
            (0u32, vec![0x00u8]),
            (0x40, vec![0x40]),
            (0x7f, vec![0x7f]),
            (0x80, vec![0x81, 0x00]),
            (0x2000, vec![0xc0, 0x00]),
            (0x0fff_ffff, vec![0xff, 0xff, 0xff, 0x7f]),
        ] {
            let mut out = Vec::new();
            vlq(v, &mut out);
            assert_eq!(out, want, "{v:#x}");
        }
    }

    #[test]
    fn the_midi_file_is_well_formed_and_plays_every_note() {
        let notes = melody(1, &SPEC, 6.0);
        let file = midi_file(&notes, EXPR_BANK, SPEC.program);
        assert_eq!(&file[..4], b"MThd");
        assert_eq!(&file[14..18], b"MTrk");
        let len = u32::from_be_bytes(file[18..22].try_into().unwrap()) as usize;
        assert_eq!(file.len(), 22 + len);
        // Walk the track: every delta is a valid VLQ, and count note-ons and note-offs.
        let track = &file[22..];
        let (mut i, mut ons, mut offs, mut end) = (0, 0, 0, false);
        while i < track.len() {
            while track[i] & 0x80 != 0 {
                i += 1;
            }
            i += 1;
            let status = track[i];
            let n = match status {
                0xff => 3 + track[i + 2] as usize,
                s if s & 0xf0 == 0xc0 => 2,
                _ => 3,
            };
            match status & 0xf0 {
                0x90 => ons += 1,
                0x80 => offs += 1,
                _ => {}
            }
            end |= status == 0xff && track[i + 1] == 0x2f;
            i += n;
        }
        assert_eq!(i, track.len());
        assert_eq!((ons, offs), (notes.len(), notes.len()));
        assert!(end, "the track ends with End of Track");
        // Bank 17 and the program are selected.
        assert!(file.windows(3).any(|w| w == [0xb0, 0, EXPR_BANK]));
        assert!(file.windows(2).any(|w| w == [0xc0, SPEC.program]));
    }
}

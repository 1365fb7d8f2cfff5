//! Rendered phrases: what single-note samples lack. Seeded random melodies in an instrument's
//! range, with legato note changes, glides, vibrato and swells, written as standard MIDI files
//! and rendered by `fluidsynth` through one or more SoundFonts ([`PhraseFont`]), dry (no
//! reverb or chorus). Every named dataset uses the MuseScore General SoundFont's "Expr."
//! presets (bank 17, which respond to the expression controllers); the General MIDI presets
//! of MuseScore General and FluidR3 GM are there for presets that need other material (see
//! the trumpet's preset in `fetch` for what they gave it).
//!
//! Debian: `apt-get install fluidsynth musescore-general-soundfont-lossless`, and
//! `fluid-soundfont-gm` for FluidR3 GM. Both SoundFonts are MIT-licensed (MuseScore General:
//! S. Christian Collins; FluidR3 GM: Frank Wen). The phrases are written next to the recordings, into
//! `target/datasets/<name>/package/phrases/`, so the dataset's seeded split holds some of them
//! out for evaluation like any other file.

use std::path::{Path, PathBuf};
use std::process::Command;

use timbre_model::metadata::DataSource;

use crate::rng::Rng;
use crate::TrainError;

/// A SoundFont bank that phrases are rendered through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhraseFont {
    /// The .sf2 file.
    pub path: &'static str,
    /// The MIDI bank of its presets used.
    pub bank: u8,
    /// Part of the phrase files' names and of their melodies' seeds (empty for
    /// [`MUSESCORE_EXPR`], whose files and melodies are those of the first datasets).
    pub tag: &'static str,
    /// How the model's provenance names it.
    pub name: &'static str,
    /// Its license.
    pub license: &'static str,
    /// The Debian package that installs it.
    pub package: &'static str,
}

/// MuseScore General's "Expr." presets (bank 17), which respond to the expression controllers.
pub const MUSESCORE_EXPR: PhraseFont = PhraseFont {
    path: "/usr/share/sounds/sf2/MuseScore_General_Full.sf2",
    bank: EXPR_BANK,
    tag: "",
    name: "MuseScore General (bank 17 Expr. preset)",
    license: "MIT (MuseScore General SoundFont, S. Christian Collins)",
    package: "musescore-general-soundfont-lossless",
};

/// MuseScore General's General MIDI presets (bank 0).
pub const MUSESCORE_GM: PhraseFont = PhraseFont {
    bank: 0,
    tag: "msgm",
    name: "MuseScore General (bank 0 General MIDI preset)",
    ..MUSESCORE_EXPR
};

/// FluidR3 GM's General MIDI presets (bank 0).
pub const FLUID_R3: PhraseFont = PhraseFont {
    path: "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    bank: 0,
    tag: "fluidr3",
    name: "FluidR3 GM (bank 0 General MIDI preset)",
    license: "MIT (FluidR3 GM SoundFont, Frank Wen)",
    package: "fluid-soundfont-gm",
};

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
    /// General MIDI program of the instrument (in every font's bank).
    pub program: u8,
    /// The SoundFonts, [`PHRASES`] phrases each, with melodies of their own.
    pub fonts: &'static [PhraseFont],
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

/// The SoundFonts of `spec` that are not installed, or all of them when fluidsynth is not.
pub fn missing(spec: &PhraseSpec) -> Vec<PhraseFont> {
    let fluidsynth = Command::new("fluidsynth")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    spec.fonts
        .iter()
        .filter(|f| !fluidsynth || !Path::new(f.path).exists())
        .copied()
        .collect()
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

/// The source records of `name`'s rendered phrases for the model's provenance, one per font.
pub fn sources(name: &str, spec: &PhraseSpec) -> Vec<DataSource> {
    spec.fonts
        .iter()
        .map(|font| DataSource {
            name: format!(
                "{PHRASES} {name} phrases rendered by fluidsynth from {}",
                font.name
            ),
            license: font.license.to_string(),
            url: format!("https://packages.debian.org/{}", font.package),
        })
        .collect()
}

/// The file stem of phrase `i` of `name` through `font`.
fn stem(name: &str, font: &PhraseFont, i: usize) -> String {
    if font.tag.is_empty() {
        format!("{name}-phrase-{i:02}")
    } else {
        format!("{name}-{}-phrase-{i:02}", font.tag)
    }
}

/// The seed of phrase `i`'s melody of `name` through `font` ([`MUSESCORE_EXPR`]'s are those
/// of the first datasets).
fn seed(name: &str, font: &PhraseFont, i: usize) -> u64 {
    if font.tag.is_empty() {
        crate::rng::fnv1a(&[name.as_bytes(), &[i as u8]])
    } else {
        crate::rng::fnv1a(&[name.as_bytes(), font.tag.as_bytes(), &[i as u8]])
    }
}

/// Renders [`PHRASES`] phrases of about 8 s per font of `spec` into `dir` (MIDI and WAV
/// files), unless they are there already, and removes phrase files of fonts `spec` no longer
/// uses (the dataset reads every audio file in the folder). Returns the WAV files.
pub fn render(dir: &Path, name: &str, spec: &PhraseSpec) -> Result<Vec<PathBuf>, TrainError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TrainError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut wavs = Vec::new();
    let mut kept = Vec::new();
    for font in spec.fonts {
        for i in 0..PHRASES {
            let stem = stem(name, font, i);
            let wav = dir.join(format!("{stem}.wav"));
            let mid = dir.join(format!("{stem}.mid"));
            if !wav.exists() {
                let notes = melody(seed(name, font, i), spec, 8.0);
                std::fs::write(&mid, midi_file(&notes, font.bank, spec.program))
                    .map_err(io(&mid))?;
                let partial = dir.join(format!("{stem}.partial.wav"));
                let status = Command::new("fluidsynth")
                    .args(["-n", "-i", "-q", "-R", "0", "-C", "0", "-g", "0.6"])
                    .arg("-r")
                    .arg(RENDER_RATE.to_string())
                    .arg("-F")
                    .arg(&partial)
                    .arg(font.path)
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
            kept.extend([wav.clone(), mid]);
            wavs.push(wav);
        }
    }
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let phrase = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&format!("{name}-")) && n.contains("phrase-"));
        if phrase && !kept.contains(&path) {
            std::fs::remove_file(&path).map_err(io(&path))?;
            eprintln!(
                "removed {} (a font this dataset no longer uses)",
                path.display()
            );
        }
    }
    Ok(wavs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: PhraseSpec = PhraseSpec {
        program: 56,
        fonts: &[MUSESCORE_EXPR],
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
    fn each_font_has_its_own_files_and_melodies_and_the_first_keeps_its_own() {
        let fonts = [MUSESCORE_EXPR, MUSESCORE_GM, FLUID_R3];
        let stems: Vec<String> = fonts.iter().map(|f| stem("trumpet", f, 5)).collect();
        assert_eq!(stems[0], "trumpet-phrase-05");
        assert_eq!(stems[1], "trumpet-msgm-phrase-05");
        assert_eq!(stems[2], "trumpet-fluidr3-phrase-05");
        // The Expr. font's melodies are those its datasets were built with.
        assert_eq!(
            seed("trumpet", &MUSESCORE_EXPR, 5),
            crate::rng::fnv1a(&[b"trumpet", &[5]])
        );
        let seeds: Vec<u64> = fonts.iter().map(|f| seed("trumpet", f, 5)).collect();
        assert!(seeds[0] != seeds[1] && seeds[1] != seeds[2] && seeds[0] != seeds[2]);
        // One provenance record per font, naming its license.
        let spec = PhraseSpec {
            fonts: &[FLUID_R3, MUSESCORE_GM],
            ..SPEC
        };
        let sources = sources("trumpet", &spec);
        assert_eq!(sources.len(), 2);
        assert!(sources[0].name.contains("FluidR3") && sources[0].license.contains("MIT"));
        assert!(sources[0].url.ends_with("fluid-soundfont-gm"));
        assert!(sources[1].name.contains("bank 0"));
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

//! Real recordings we did not make, for the listener to hear before and after a model: real
//! singing, a played melody, and each instrument's held-out real notes. All come from package
//! registries and are never trained on:
//!
//! - `vocadito_10.wav` (a low male voice, 9 s) and `vocadito_14.wav` (a higher voice, 12 s):
//!   solo singing with lyrics from the vocadito dataset (CC-BY-4.0), in the `basic-pitch`
//!   0.4.0 source distribution on PyPI (`tests/resources/`);
//! - `test_audio.wav` (a played melody, 20 s, BSD-3) in the `music21` 10.5.1 wheel on PyPI;
//! - each instrument's held-out single notes (VSCO 2 CE and the other tonejs-instruments
//!   recordings, npm; see `cargo xtask dataset`), joined into one clip of up to 12 s; the
//!   rendered SoundFont phrases are left out: we made them.
//!
//! The synthesized voice of `timbre_eval::voice` joins them as a control whose f0 is exact.

use std::path::Path;

use timbre_audio::{decode_file, mix_to_mono};

use crate::fetch::{fetch_member, Archive, Registry};
use crate::ListenerError;

/// What a source is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A real voice singing.
    Singing,
    /// A real instrument playing.
    Played,
    /// Made by our own code (the synthesized voice).
    Synthesized,
}

/// One source clip, mono.
#[derive(Clone, Debug)]
pub struct Source {
    /// Short name for tables.
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// The instrument playing (a dataset name), if it is one of ours.
    pub instrument: Option<String>,
    /// Samples.
    pub samples: Vec<f32>,
    /// Sample rate in Hz.
    pub rate: f64,
}

/// The basic-pitch 0.4.0 sdist (PyPI), which holds the vocadito recordings.
const BASIC_PITCH: Archive = Archive {
    registry: Registry::Pypi {
        requirement: "basic-pitch==0.4.0",
    },
    file: "basic_pitch-0.4.0.tar.gz",
    sha256: "6f48ac4b909c990fd59460622137a03b857c829bb1f3e65c71708da576ab68e5",
};

/// The music21 10.5.1 wheel (PyPI), which holds a played melody.
const MUSIC21: Archive = Archive {
    registry: Registry::Pypi {
        requirement: "music21==10.5.1",
    },
    file: "music21-10.5.1-py3-none-any.whl",
    sha256: "dc3309498c4c95cebdf8d4f20c868deb6b63bce1d929cad4f51a7ccc982987b1",
};

/// Longest clip of joined notes, in seconds.
const NOTES_SECONDS: f64 = 12.0;
/// Silence between joined notes, in seconds.
const NOTE_GAP_SECONDS: f64 = 0.05;

fn decode(path: &Path) -> Result<(Vec<f32>, f64), ListenerError> {
    let decoded = decode_file(path)?;
    Ok((
        mix_to_mono(&decoded.channels),
        f64::from(decoded.sample_rate),
    ))
}

/// The real singing and the played melody, fetched into `dir` when missing.
pub fn registry_recordings(dir: &Path) -> Result<Vec<Source>, ListenerError> {
    let mut out = Vec::new();
    for (name, member) in [
        (
            "sung (vocadito 10, low voice)",
            "basic_pitch-0.4.0/tests/resources/vocadito_10.wav",
        ),
        (
            "sung (vocadito 14, higher voice)",
            "basic_pitch-0.4.0/tests/resources/vocadito_14.wav",
        ),
    ] {
        let (samples, rate) = decode(&fetch_member(dir, &BASIC_PITCH, member)?)?;
        out.push(Source {
            name: name.to_string(),
            kind: Kind::Singing,
            instrument: None,
            samples,
            rate,
        });
    }
    let melody = fetch_member(dir, &MUSIC21, "music21/audioSearch/test_audio.wav")?;
    let (samples, rate) = decode(&melody)?;
    out.push(Source {
        name: "played melody (music21)".to_string(),
        kind: Kind::Played,
        instrument: None,
        samples,
        rate,
    });
    Ok(out)
}

/// The held-out real notes of dataset `instrument` (not its rendered phrases), joined into
/// one clip of up to 12 s.
pub fn held_out_notes(datasets: &Path, instrument: &str) -> Result<Source, ListenerError> {
    let recordings = timbre_eval::data::recordings(datasets, instrument)?;
    let mut samples = Vec::new();
    let mut rate = 0.0;
    for rec in recordings
        .iter()
        .filter(|r| r.held_out && !r.name.starts_with("phrases/"))
    {
        if rate == 0.0 {
            rate = rec.sample_rate;
        }
        if rec.sample_rate != rate {
            continue;
        }
        samples.extend_from_slice(&rec.samples);
        samples.extend(std::iter::repeat_n(0.0, (NOTE_GAP_SECONDS * rate) as usize));
        if samples.len() as f64 >= NOTES_SECONDS * rate {
            break;
        }
    }
    samples.truncate((NOTES_SECONDS * rate) as usize);
    Ok(Source {
        name: format!("{instrument} notes (held out)"),
        kind: Kind::Played,
        instrument: Some(instrument.to_string()),
        samples,
        rate,
    })
}

/// The synthesized, voice-like phrase of the evaluation (exact f0; made by our code).
pub fn synthesized_voice() -> Source {
    let rate = 48_000.0;
    Source {
        name: "synthesized voice (ours)".to_string(),
        kind: Kind::Synthesized,
        instrument: None,
        samples: timbre_eval::voice::Phrase::bundled().render(rate),
        rate,
    }
}

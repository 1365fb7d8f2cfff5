//! `cargo xtask examples`: short before/after clips for `docs/examples/`, so people can hear
//! what Tiny Timbre does to a real voice and a real instrument, with a spectrogram per source.
//!
//! Each source (recordings we did not make, fetched by `cargo xtask listen` into
//! `target/listener/sources/`) is cut to its first [`CLIP_SECONDS`], mixed to mono and rendered
//! through every shipped model with the model's recommended settings at the source's rate, as
//! `tiny-timbre render` does. Written: `<source>.wav` (the input), `<source>-<model>.wav` (mono
//! mix of the output), both 16-bit at 16 kHz (the models' band), and `<source>.png`: the
//! spectrograms (0–8 kHz, 80 dB range) of the input and then of each model's output, top to
//! bottom, in the order printed. The last clip and panel of each source is a morph:
//! `<source>-violin-trumpet-morph.wav`, the violin morphed halfway to the trumpet.

use std::path::{Path, PathBuf};

use timbre_engine::offline::render_morph;
use timbre_engine::Params;

use crate::demo::write_wav;
use crate::error::TaskError;
use crate::workspace_root;

/// The morph example: model A, model B, and the Morph knob (0..1).
const MORPH: (&str, &str, f32) = ("violin", "trumpet", 0.5);

/// Length of each clip, in seconds.
const CLIP_SECONDS: f64 = 6.0;
/// Rate of the clips written: the band the models are trained on (0–8 kHz), at a quarter of
/// the size of 44.1 kHz files.
const CLIP_RATE: u32 = 16_000;

/// A source recording: its short name, its file under `target/listener/sources/`, and what it
/// is (with its license).
const SOURCES: [(&str, &str, &str); 2] = [
    (
        "voice",
        "basic_pitch-0.4.0/tests/resources/vocadito_10.wav",
        "a real sung phrase (vocadito 10, from the basic-pitch 0.4.0 sdist on PyPI; CC-BY-4.0)",
    ),
    (
        "piano",
        "music21/audioSearch/test_audio.wav",
        "a played piano melody (music21 10.5.1 test audio, PyPI; BSD-3-Clause)",
    ),
];

/// Writes the clips and spectrograms into `docs/examples/` (or `--out DIR`).
pub fn run(args: &[String]) -> Result<(), TaskError> {
    let root = workspace_root();
    let out = match args {
        [] => root.join("docs/examples"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => return Err(TaskError::Usage("cargo xtask examples [--out DIR]")),
    };
    std::fs::create_dir_all(&out).map_err(|source| TaskError::Io {
        path: out.clone(),
        source,
    })?;
    let sources = root.join("target/listener/sources");
    let models = timbre_catalog::instrument_models();
    for (name, file, what) in SOURCES {
        let path = sources.join(file);
        let (input, rate) = read_clip(&path)?;
        let input_16k = to_16k(&input, rate)?;
        write_wav(&out.join(format!("{name}.wav")), &input_16k, CLIP_RATE)?;
        println!("{name}.wav: {what}, first {CLIP_SECONDS} s");
        let mut panels = vec![input_16k];
        let morph = (MORPH.0, Some(MORPH.1));
        let singles = models.iter().map(|(model_name, _)| (*model_name, None));
        for (model_name, morph_to) in singles.chain(std::iter::once(morph)) {
            let (model, _) = timbre_catalog::resolve(model_name)?;
            let mut params = Params::recommended(model.metadata());
            let model_b = match morph_to {
                Some(b) => {
                    params.morph = MORPH.2;
                    Some(timbre_catalog::resolve(b)?.0)
                }
                None => None,
            };
            let rendered = render_morph(
                &model,
                model_b.as_ref(),
                &params,
                std::slice::from_ref(&input),
                rate as f64,
                |_, _| {},
            )?;
            let mono: Vec<f32> = rendered
                .left
                .iter()
                .zip(&rendered.right)
                .map(|(l, r)| (l + r) * 0.5)
                .collect();
            let mono_16k = to_16k(&mono, rate)?;
            let (file, label) = match (morph_to, &model_b) {
                (Some(b), Some(model_b)) => (
                    format!("{name}-{model_name}-{b}-morph.wav"),
                    format!(
                        "{} morphed {:.0}% toward {}",
                        model.metadata().name,
                        MORPH.2 * 100.0,
                        model_b.metadata().name
                    ),
                ),
                _ => (
                    format!("{name}-{model_name}.wav"),
                    model.metadata().name.clone(),
                ),
            };
            write_wav(&out.join(&file), &mono_16k, CLIP_RATE)?;
            println!("{file}: {what} → {label}");
            panels.push(mono_16k);
        }
        let png = out.join(format!("{name}.png"));
        let panels: Vec<&[f32]> = panels.iter().map(Vec::as_slice).collect();
        timbre_eval::spectrogram::write_png(&png, &panels)?;
        println!("{name}.png: input, then {}, then the morph", names(&models));
    }
    Ok(())
}

/// The first [`CLIP_SECONDS`] of the file at `path`, mixed to mono, with its rate.
fn read_clip(path: &Path) -> Result<(Vec<f32>, u32), TaskError> {
    if !path.is_file() {
        return Err(TaskError::MissingSource {
            path: path.to_path_buf(),
        });
    }
    let decoded = timbre_audio::decode_file(path)?;
    let mut mono = timbre_audio::mix_to_mono(&decoded.channels);
    mono.truncate((CLIP_SECONDS * decoded.sample_rate as f64) as usize);
    Ok((mono, decoded.sample_rate))
}

/// `samples` at [`CLIP_RATE`].
fn to_16k(samples: &[f32], rate: u32) -> Result<Vec<f32>, TaskError> {
    Ok(timbre_dsp::offline::resample_clip(
        samples,
        rate as f64,
        CLIP_RATE as f64,
    )?)
}

/// The model names, comma-separated.
fn names(models: &[(&str, &[u8])]) -> String {
    models
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

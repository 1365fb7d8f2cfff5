//! The text printed by `tiny-timbre models` and `tiny-timbre info`.

use std::fmt::Write as _;
use std::path::Path;

use timbre_model::metadata::WeightPrecision;
use timbre_model::{ModelFile, NormType};

use timbre_catalog::{self as models, ModelSource, UserModel, DEFAULT_MODEL, MODELS_DIR_ENV};

/// The `models` listing: the embedded instrument models (the default marked), the test
/// fixtures on a line of their own (they load by name but are not instruments), then the user
/// folder's models with their display names (or why they do not load).
pub fn list_models(user_dir: Option<&Path>, user: &[UserModel]) -> String {
    let mut out = String::from("Embedded models:\n");
    let embedded = models::instrument_models();
    let width = embedded
        .iter()
        .map(|(n, _)| n.len())
        .chain(user.iter().map(|m| m.name.len()))
        .max()
        .unwrap_or(0);
    for (name, bytes) in &embedded {
        let desc = match ModelFile::from_bytes(bytes, name) {
            Ok(m) => describe_short(&m),
            Err(e) => format!("(invalid: {e})"),
        };
        let default = if *name == DEFAULT_MODEL {
            "  [default]"
        } else {
            ""
        };
        let _ = writeln!(out, "  {name:<width$}  {desc}{default}");
    }
    let _ = writeln!(
        out,
        "Test fixtures (not instruments; they load by name): {}",
        models::TEST_FIXTURES.join(", ")
    );
    out.push('\n');
    match user_dir {
        Some(dir) => {
            let _ = writeln!(out, "User models in {}:", dir.display());
            if user.is_empty() {
                let why = if dir.is_dir() {
                    "none"
                } else {
                    "none; the folder does not exist"
                };
                let _ = writeln!(
                    out,
                    "  ({why}; put .{} files there, or set {MODELS_DIR_ENV} to another folder)",
                    models::MODEL_EXTENSION
                );
            }
        }
        None => {
            let _ = writeln!(
                out,
                "User models: no folder (set {MODELS_DIR_ENV}, or HOME/APPDATA)"
            );
        }
    }
    for m in user {
        let desc = match ModelFile::load(&m.path) {
            Ok(model) => describe_short(&model),
            Err(e) => format!("(invalid: {e})"),
        };
        let shadowed = if embedded
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(&m.name))
        {
            "  (hidden by the embedded model of the same name; pass its path)"
        } else {
            ""
        };
        let _ = writeln!(out, "  {:<width$}  {desc}{shadowed}", m.name);
    }
    out
}

/// One line about a model: display name and instrument.
fn describe_short(model: &ModelFile) -> String {
    let m = model.metadata();
    format!("{} (instrument: {})", m.name, m.instrument)
}

/// The `info` report: every metadata field a user may want, one per line.
pub fn describe_model(model: &ModelFile, source: &ModelSource) -> String {
    let m = model.metadata();
    let a = &m.architecture;
    let mut out = String::new();
    let mut line = |key: &str, value: String| {
        let _ = writeln!(out, "{:<16} {value}", format!("{key}:"));
    };
    line("Name", m.name.clone());
    line("Instrument", m.instrument.clone());
    line("Source", source.to_string());
    line("Format version", m.format_version.to_string());
    let norm = match a.norm {
        NormType::None => "no norm",
        NormType::LayerChannels => "per-frame layer norm",
    };
    line(
        "Architecture",
        format!(
            "DDSP-CNN, {} channels, kernel {}, dilations {:?}, {} harmonics, {} noise bands, {norm}",
            a.channels, a.kernel_size, a.dilations, a.n_harmonics, a.n_noise_bands
        ),
    );
    line("Parameters", group_thousands(a.n_params()));
    let rf = a.receptive_field();
    line(
        "Receptive field",
        format!(
            "{rf} frames ({:.0} ms)",
            rf as f64 * 1000.0 / f64::from(m.frame_rate_hz.max(1))
        ),
    );
    line(
        "Rates",
        format!(
            "features at {} Hz, {} frames/s (hop {} samples)",
            m.sample_rate_hz,
            m.frame_rate_hz,
            m.hop_samples()
        ),
    );
    let precision = match m.weight_precision {
        WeightPrecision::F32 => "f32",
        WeightPrecision::Int8 => "int8 (dequantized to f32 at load)",
    };
    line("Weights", precision.to_string());
    let ir = model.reverb_ir().len();
    line(
        "Reverb IR",
        format!(
            "{ir} samples at {} Hz ({:.3} s)",
            m.reverb_sample_rate_hz,
            ir as f64 / f64::from(m.reverb_sample_rate_hz.max(1))
        ),
    );
    let d = &m.dataset;
    line(
        "Dataset pitch",
        format!(
            "mean {:.1} ({}), range {:.1} ({})..{:.1} ({}) MIDI",
            d.pitch_mean_midi,
            note_name(d.pitch_mean_midi),
            d.pitch_min_midi,
            note_name(d.pitch_min_midi),
            d.pitch_max_midi,
            note_name(d.pitch_max_midi)
        ),
    );
    let q: Vec<String> = d
        .loudness_quantiles_db
        .iter()
        .map(|v| format!("{v:.1}"))
        .collect();
    line(
        "Loudness (dB)",
        format!("quantiles 0%..100%: {}", q.join(", ")),
    );
    let p = &m.provenance;
    line("Training steps", p.training_steps.to_string());
    if !p.final_losses.is_empty() {
        let losses: Vec<String> = p
            .final_losses
            .iter()
            .map(|(k, v)| format!("{k} {v:.4}"))
            .collect();
        line("Final losses", losses.join(", "));
    }
    if p.wall_time_s > 0.0 {
        line("Training time", format!("{:.1} h", p.wall_time_s / 3600.0));
    }
    if !p.date.is_empty() {
        line("Date", p.date.clone());
    }
    if p.sources.is_empty() {
        line("Data sources", "none".into());
    }
    for s in &p.sources {
        let url = if s.url.is_empty() {
            String::new()
        } else {
            format!(", {}", s.url)
        };
        line("Data source", format!("{} ({}{url})", s.name, s.license));
    }
    if !p.notes.is_empty() {
        line("Notes", p.notes.clone());
    }
    out
}

/// `2410` → `2,410`.
fn group_thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The nearest note's name for a MIDI number, e.g. 60 → `C4`, 61.2 → `C#4`.
fn note_name(midi: f32) -> String {
    const NAMES: [&str; 12] = [
        "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
    ];
    let n = midi.round() as i32;
    format!(
        "{}{}",
        NAMES[n.rem_euclid(12) as usize],
        n.div_euclid(12) - 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(group_thousands(7), "7");
        assert_eq!(group_thousands(2410), "2,410");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
        assert_eq!(note_name(60.0), "C4");
        assert_eq!(note_name(69.4), "A4");
        assert_eq!(note_name(61.0), "C#4");
        assert_eq!(note_name(0.0), "C-1");
    }

    #[test]
    fn info_of_the_untrained_model() {
        let (model, source) = models::resolve_in("untrained", &[]).unwrap();
        let text = describe_model(&model, &source);
        for needle in [
            "Untrained (random weights)",
            "Instrument:      none",
            "8 channels",
            "dilations [1, 3, 9, 1, 3, 9]",
            "60 harmonics",
            "16000 Hz, 250 frames/s",
            "1600 samples at 16000 Hz",
            "f32",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert!(text.contains(&group_thousands(model.architecture().n_params())));
    }
}

//! The whole evaluation: every model against every source, the quality bars, and the table
//! and JSON that `cargo xtask eval` prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use timbre_model::ModelFile;

use crate::data::{recordings, Recording};
use crate::evaluate::{resynthesize, to_16k, transfer, Resynthesis, Source, TransferSummary};
use crate::mfcc::TimbreStats;
use crate::spectrogram::write_png;
use crate::EvalError;

/// Sample rate the voice-like phrase is rendered at, in Hz.
pub const VOICE_RATE: f64 = 48_000.0;

/// The quality bars of the models issue.
pub mod bars {
    /// Median pitch error, cents (at most).
    pub const MEDIAN_CENTS: f32 = 5.0;
    /// Voiced frames within 50 cents, percent (at least).
    pub const WITHIN_50_PERCENT: f32 = 98.0;
    /// Loudness-envelope correlation (at least).
    pub const LOUDNESS_CORRELATION: f32 = 0.95;
    /// Resynthesis distance below the flat-harmonic baseline, percent (at least).
    pub const IMPROVEMENT_PERCENT: f64 = 40.0;
    /// int8 resynthesis distance above f32's, percent (at most).
    pub const INT8_PERCENT: f64 = 2.0;
}

/// The evaluation of one model.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ModelReport {
    /// Model name.
    pub name: String,
    /// Resynthesis distances per held-out recording of the model's own instrument.
    pub resynthesis: BTreeMap<String, Resynthesis>,
    /// Their means.
    pub resynthesis_mean: Resynthesis,
    /// How far below the flat-harmonic baseline the model's mean distance is, percent.
    pub improvement_percent: f64,
    /// How far above the f32 model the int8 model's mean distance is, percent.
    pub int8_vs_f32_percent: f64,
    /// Transfers into the model, per source.
    pub transfers: Vec<TransferSummary>,
}

/// One quality bar, checked.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BarCheck {
    /// What is checked, e.g. "violin ← trumpet: median f0 error ≤ 5 cents".
    pub what: String,
    /// The measured value.
    pub value: f64,
    /// Whether the bar is met.
    pub met: bool,
}

/// The evaluation of every model.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// Per model.
    pub models: Vec<ModelReport>,
    /// Every bar, checked.
    pub bars: Vec<BarCheck>,
}

/// The mean of the resynthesis distances.
fn mean(values: &BTreeMap<String, Resynthesis>) -> Resynthesis {
    let n = values.len().max(1) as f64;
    let sum = |f: fn(&Resynthesis) -> f64| values.values().map(f).sum::<f64>() / n;
    Resynthesis {
        model: sum(|r| r.model),
        int8: sum(|r| r.int8),
        flat_harmonic: sum(|r| r.flat_harmonic),
    }
}

/// Evaluates `models` (name, model; the name is also its dataset's name under `datasets`)
/// with the held-out recordings of every instrument in `instruments` that has a dataset, plus
/// the voice-like phrase, as sources. With `out`, writes the transfers and resyntheses there
/// as 16 kHz WAVs. `progress` receives a line per step.
pub fn evaluate_models(
    models: &[(String, ModelFile)],
    datasets: &Path,
    instruments: &[String],
    out: Option<&Path>,
    mut progress: impl FnMut(&str),
) -> Result<Report, EvalError> {
    let mut material: BTreeMap<String, Vec<Recording>> = BTreeMap::new();
    for name in instruments {
        material.insert(name.clone(), recordings(datasets, name)?);
    }
    for (name, _) in models {
        if !material.contains_key(name) {
            material.insert(name.clone(), recordings(datasets, name)?);
        }
    }
    // MFCC statistics of every instrument over all its recordings, and of the voice.
    let mut stats: BTreeMap<String, TimbreStats> = BTreeMap::new();
    for (name, recs) in &material {
        progress(&format!(
            "MFCC statistics of {name} ({} recordings)",
            recs.len()
        ));
        let clips = recs
            .iter()
            .map(|r| to_16k(&r.samples, r.sample_rate))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(s) = TimbreStats::of_clips(clips.iter().map(Vec::as_slice)) {
            stats.insert(name.clone(), s);
        }
    }
    let voice = Source::voice(VOICE_RATE);
    if let Some(s) = TimbreStats::of_clips([to_16k(&voice.samples, VOICE_RATE)?.as_slice()]) {
        stats.insert("voice".to_string(), s);
    }
    if let Some(out) = out {
        std::fs::create_dir_all(out).map_err(|e| EvalError::Write {
            path: out.to_path_buf(),
            reason: e.to_string(),
        })?;
    }

    let mut reports = Vec::new();
    for (name, model) in models {
        let mut resynthesis = BTreeMap::new();
        for rec in material[name].iter().filter(|r| r.held_out) {
            progress(&format!("{name}: resynthesis of held-out {}", rec.name));
            let (r, audio) = resynthesize(model, rec)?;
            write_wav(out, &format!("{name}.resynthesis.{}", rec.name), &audio)?;
            resynthesis.insert(rec.name.clone(), r);
        }
        let mut transfers = Vec::new();
        let sources = material
            .iter()
            .filter(|(instrument, _)| *instrument != name)
            .map(|(instrument, recs)| {
                let clips: Vec<Source> = recs
                    .iter()
                    .filter(|r| r.held_out)
                    .map(|r| Source::recording(instrument, r))
                    .collect();
                (instrument.clone(), clips)
            })
            .chain([("voice".to_string(), vec![voice.clone()])]);
        for (instrument, clips) in sources {
            let mut done = Vec::new();
            for clip in &clips {
                progress(&format!("{name}: transfer from {instrument} {}", clip.name));
                let t = transfer(model, clip)?;
                write_wav(
                    out,
                    &format!("{name}.from-{instrument}.{}", clip.name),
                    &t.output_16k,
                )?;
                done.push(t);
            }
            transfers.push(TransferSummary::new(
                &instrument,
                &done,
                stats.get(name),
                stats.get(&instrument),
            ));
        }
        let m = mean(&resynthesis);
        reports.push(ModelReport {
            name: name.clone(),
            improvement_percent: 100.0 * (1.0 - m.model / m.flat_harmonic),
            int8_vs_f32_percent: 100.0 * (m.int8 / m.model - 1.0),
            resynthesis_mean: m,
            resynthesis,
            transfers,
        });
    }
    let bars = check_bars(&reports);
    Ok(Report {
        models: reports,
        bars,
    })
}

/// Writes `samples` (16 kHz) as `<out>/<stem>.wav` when `out` is given.
fn write_wav(out: Option<&Path>, stem: &str, samples: &[f32]) -> Result<(), EvalError> {
    let Some(out) = out else { return Ok(()) };
    let stem = stem.replace(['/', ' '], "_");
    let stem = stem
        .strip_suffix(".wav")
        .unwrap_or(&stem)
        .replace(".wav", "");
    timbre_audio::write_wav(&out.join(format!("{stem}.wav")), samples, samples, 16_000)?;
    Ok(())
}

/// Checks every bar of every model.
pub fn check_bars(models: &[ModelReport]) -> Vec<BarCheck> {
    let mut checks = Vec::new();
    let mut check =
        |what: String, value: f64, met: bool| checks.push(BarCheck { what, value, met });
    for m in models {
        for t in &m.transfers {
            let pair = format!("{} ← {}", m.name, t.source);
            if let Some(p) = t.pitch {
                let median = p.median_cents as f64;
                check(
                    format!("{pair}: median f0 error ≤ {} cents", bars::MEDIAN_CENTS),
                    median,
                    p.median_cents <= bars::MEDIAN_CENTS,
                );
                check(
                    format!(
                        "{pair}: ≥ {}% of voiced frames within 50 cents",
                        bars::WITHIN_50_PERCENT
                    ),
                    p.within_50_percent as f64,
                    p.within_50_percent >= bars::WITHIN_50_PERCENT,
                );
            }
            if let Some(c) = t.loudness_correlation {
                check(
                    format!(
                        "{pair}: loudness correlation ≥ {}",
                        bars::LOUDNESS_CORRELATION
                    ),
                    c as f64,
                    c >= bars::LOUDNESS_CORRELATION,
                );
            }
            if let (Some(pass), Some(to_target)) = (t.timbre_passes(), t.timbre_to_target) {
                check(
                    format!("{pair}: MFCCs closer to {} than to {}", m.name, t.source),
                    to_target,
                    pass,
                );
            }
        }
        check(
            format!(
                "{}: resynthesis ≥ {}% below flat-harmonic",
                m.name,
                bars::IMPROVEMENT_PERCENT
            ),
            m.improvement_percent,
            m.improvement_percent >= bars::IMPROVEMENT_PERCENT,
        );
        check(
            format!("{}: int8 within {}% of f32", m.name, bars::INT8_PERCENT),
            m.int8_vs_f32_percent,
            m.int8_vs_f32_percent.abs() <= bars::INT8_PERCENT,
        );
    }
    checks
}

impl Report {
    /// The human-readable tables (Markdown).
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "### Transfers (held-out recordings and the voice-like phrase)\n"
        );
        let _ = writeln!(
            s,
            "| model ← source | clips | octaves | median f0 error | within 50 cents | loudness corr. | best lag: corr. | MFCC dist. to target / to source | timbre |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
        for m in &self.models {
            for t in &m.transfers {
                let pitch = t.pitch.map_or(("–".into(), "–".into()), |p| {
                    (
                        format!("{:.1} c", p.median_cents),
                        format!("{:.1}% of {}", p.within_50_percent, p.frames),
                    )
                });
                let opt = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.1}"));
                let _ = writeln!(
                    s,
                    "| {} ← {} | {} | {:?} | {} | {} | {} | {} | {} / {} | {} |",
                    m.name,
                    t.source,
                    t.clips,
                    t.octaves,
                    pitch.0,
                    pitch.1,
                    t.loudness_correlation
                        .map_or("–".into(), |c| format!("{c:.3}")),
                    t.loudness_best_lag
                        .map_or("–".into(), |(ms, c)| format!("{ms:+.0} ms: {c:.3}")),
                    opt(t.timbre_to_target),
                    opt(t.timbre_to_source),
                    match t.timbre_passes() {
                        Some(true) => "pass",
                        Some(false) => "FAIL",
                        None => "–",
                    }
                );
            }
        }
        let _ = writeln!(s, "\n### Resynthesis of held-out recordings (multi-scale spectral distance, lower is better)\n");
        let _ = writeln!(s, "| model | clips | model (f32) | flat-harmonic baseline | below baseline | int8 | int8 vs f32 |");
        let _ = writeln!(s, "|---|---|---|---|---|---|---|");
        for m in &self.models {
            let r = m.resynthesis_mean;
            let _ = writeln!(
                s,
                "| {} | {} | {:.3} | {:.3} | {:.1}% | {:.3} | {:+.2}% |",
                m.name,
                m.resynthesis.keys().cloned().collect::<Vec<_>>().join(", "),
                r.model,
                r.flat_harmonic,
                m.improvement_percent,
                r.int8,
                m.int8_vs_f32_percent
            );
        }
        let met = self.bars.iter().filter(|b| b.met).count();
        let _ = writeln!(s, "\n### Quality bars: {met} of {} met\n", self.bars.len());
        for b in self.bars.iter().filter(|b| !b.met) {
            let _ = writeln!(s, "- missed: {} (measured {:.3})", b.what, b.value);
        }
        s
    }

    /// One line of JSON.
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("the report serializes")
    }
}

/// Renders the voice-like phrase through each model (octave shift as in the transfers) and
/// writes the spectrograms of input → each model, top to bottom, to `path`.
pub fn write_spectrograms(models: &[(String, ModelFile)], path: &Path) -> Result<(), EvalError> {
    let voice = Source::voice(VOICE_RATE);
    let mut clips = vec![to_16k(&voice.samples, VOICE_RATE)?];
    for (_, model) in models {
        clips.push(transfer(model, &voice)?.output_16k);
    }
    let refs: Vec<&[f32]> = clips.iter().map(Vec::as_slice).collect();
    write_png(path, &refs)
}

//! `timbre-listener`: what an independent listener hears in Tiny Timbre's renders.
//!
//! ```text
//! timbre-listener [--models violin,trumpet=FILE] [--[no-]auto-adjust] [--set ID=VALUE]... [--json]
//! timbre-listener --judge [INSTRUMENT=]FILE...
//! ```
//!
//! `--judge` asks the listener about audio files as they are (a training phrase, a render of
//! your own), with the target class of INSTRUMENT when one is given, and renders nothing.
//!
//! Renders real singing, a played melody, the synthesized voice and every instrument's
//! held-out real notes through each model (its recommended settings, as `tiny-timbre render`
//! uses them, with `--set` and `--[no-]auto-adjust` on top),
//! and prints, per model and source, the listener's probability for the model's instrument,
//! the instrument class it ranks first, the sum of the synthetic classes and its top tags,
//! after reference rows for the recordings themselves. `--json` adds one JSON line at the end.
//! The tagger and the recordings are downloaded into `target/listener/` on the first run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use timbre_engine::Params;
use timbre_listener::judge::{reference, transfer, Verdict};
use timbre_listener::sources::{
    held_out_notes, registry_recordings, synthesized_voice, Kind, Source,
};
use timbre_listener::{fetch, Listener, ListenerError};

/// The instruments with datasets (held-out notes are sources and reference rows).
const INSTRUMENTS: [&str; 5] = ["violin", "trumpet", "flute", "cello", "saxophone"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/listener lives in the workspace")
        .to_path_buf()
}

fn main() -> ExitCode {
    match run(&std::env::args().skip(1).collect::<Vec<_>>()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), ListenerError> {
    let mut json = false;
    let mut names: Option<Vec<String>> = None;
    // Settings given here, applied over each model's recommended settings.
    let mut auto_adjust: Option<bool> = None;
    let mut settings: Vec<(String, f32)> = Vec::new();
    let mut judged: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| ListenerError::Model(format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--json" => json = true,
            "--models" => names = Some(value()?.split(',').map(str::to_string).collect()),
            "--auto-adjust" => auto_adjust = Some(true),
            "--no-auto-adjust" => auto_adjust = Some(false),
            "--judge" => judged.push(value()?),
            // Any engine parameter by its id (`--set reverb=50`, `--set noise_gain=6`).
            "--set" => {
                let setting = value()?;
                let parsed = setting.split_once('=').and_then(|(id, v)| {
                    let v: f32 = v.parse().ok()?;
                    Params::default().set(id, v).then(|| (id.to_string(), v))
                });
                match parsed {
                    Some(s) => settings.push(s),
                    None => {
                        return Err(ListenerError::Model(format!(
                            "--set {setting}: expected ID=VALUE with an engine parameter id"
                        )))
                    }
                }
            }
            other => return Err(ListenerError::Model(format!("unknown argument `{other}`"))),
        }
    }
    let root = workspace_root();
    let cache = root.join("target").join("listener");
    let (model_path, labels_path) = fetch(&cache)?;
    let listener = Listener::load(&model_path, &labels_path)?;
    if !judged.is_empty() {
        return judge_files(&listener, &judged);
    }
    let datasets = root.join("target").join("datasets");

    let mut sources = registry_recordings(&cache.join("sources"))?;
    sources.push(synthesized_voice());
    for instrument in INSTRUMENTS {
        match held_out_notes(&datasets, instrument) {
            Ok(source) if !source.samples.is_empty() => sources.push(source),
            Ok(_) => eprintln!("note: no held-out {instrument} notes"),
            Err(e) => eprintln!("note: {instrument} notes left out: {e}"),
        }
    }

    let mut verdicts: Vec<Verdict> = Vec::new();
    println!("## The listener on the recordings themselves\n");
    println!("| recording | target | p(target) | top instrument | synthetic | top tags |");
    println!("|---|---|---|---|---|---|");
    for source in &sources {
        let target = match (&source.kind, &source.instrument) {
            (_, Some(instrument)) => instrument.as_str(),
            (Kind::Singing | Kind::Synthesized, None) => "voice",
            (Kind::Played, None) => "",
        };
        let v = reference(&listener, source, target)?;
        print_row(&v.source, &v);
        verdicts.push(v);
    }

    let names = names.unwrap_or_else(|| {
        timbre_catalog::instrument_models()
            .iter()
            .map(|(n, _)| n.to_string())
            .collect()
    });
    for spec in &names {
        let (name, file) = spec.split_once('=').unwrap_or((spec, spec));
        let (model, _) =
            timbre_catalog::resolve(file).map_err(|e| ListenerError::Model(e.to_string()))?;
        let mut params = Params::recommended(model.metadata());
        for (id, v) in &settings {
            params.set(id, *v);
        }
        if let Some(on) = auto_adjust {
            params.auto_adjust = on;
        }
        println!(
            "\n## {name}: auto-adjust {}, reverb {}%, noise {:+} dB\n",
            on_off(params.auto_adjust),
            params.reverb_percent,
            params.noise_gain_db
        );
        println!("| source | p({name}) | top instrument | synthetic | top tags | pass |");
        println!("|---|---|---|---|---|---|");
        let mut passes = 0;
        let mut sum = 0.0;
        let mut count = 0;
        for source in &sources {
            let v = transfer(&listener, name, &model, name, source, &params)?;
            println!(
                "| {} | {:.2} | {} {:.2} | {:.2} | {} | {} |",
                v.source,
                v.target_prob,
                v.top_instrument.0,
                v.top_instrument.1,
                v.synthetic,
                top_tags(&v),
                if v.pass { "yes" } else { "no" }
            );
            passes += usize::from(v.pass);
            sum += v.target_prob;
            count += 1;
            verdicts.push(v);
        }
        println!(
            "\n{name}: {passes} of {count} pass; mean p({name}) {:.2}",
            sum / count.max(1) as f32
        );
    }
    if json {
        println!(
            "{}",
            serde_json::to_string(&verdicts).expect("verdicts serialize")
        );
    }
    Ok(())
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

fn top_tags(v: &Verdict) -> String {
    v.top
        .iter()
        .map(|(label, p)| format!("{label} {p:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints the listener's row for each `[INSTRUMENT=]FILE` in `specs`, as it is.
fn judge_files(listener: &Listener, specs: &[String]) -> Result<(), ListenerError> {
    println!("| file | target | p(target) | top instrument | synthetic | top tags |");
    println!("|---|---|---|---|---|---|");
    for spec in specs {
        let (target, file) = spec.split_once('=').unwrap_or(("", spec));
        let decoded = timbre_audio::decode_file(Path::new(file))?;
        let source = Source {
            name: file.to_string(),
            kind: Kind::Played,
            instrument: None,
            samples: timbre_audio::mix_to_mono(&decoded.channels),
            rate: decoded.sample_rate as f64,
        };
        let v = reference(listener, &source, target)?;
        print_row(&v.source, &v);
    }
    Ok(())
}

fn print_row(name: &str, v: &Verdict) {
    println!(
        "| {} | {} | {:.2} | {} {:.2} | {:.2} | {} |",
        name,
        if v.target.is_empty() {
            "–"
        } else {
            &v.target
        },
        v.target_prob,
        v.top_instrument.0,
        v.top_instrument.1,
        v.synthetic,
        top_tags(v)
    );
}

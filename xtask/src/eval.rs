//! `cargo xtask eval [--json] [--models a,b=FILE] [--out DIR] [--spectrogram FILE.png]
//! [--no-listener]`: the quality evaluation of the embedded models, or of model files against a
//! named dataset (see the `timbre-eval` crate), after the independent listener's verdicts on
//! the same models (`timbre-listener`, run as its own binary; `--no-listener` skips it).
//!
//! Held-out material comes from the datasets in `target/datasets/`; a missing one is built
//! first with `cargo xtask dataset <name>` (npm download and analysis, about a minute each).
//! Prints the tables (Markdown) and, with `--json`, one JSON object on the last line.

use std::path::PathBuf;

use timbre_eval::report::write_spectrograms;
use timbre_eval::{data, evaluate_models};

use crate::error::TaskError;

/// Instruments whose held-out recordings are transfer sources.
const SOURCES: [&str; 5] = ["violin", "trumpet", "flute", "cello", "saxophone"];

/// Runs the evaluation.
pub fn run(args: &[String]) -> Result<(), TaskError> {
    let mut json = false;
    let mut names: Option<Vec<String>> = None;
    let mut out: Option<PathBuf> = None;
    let mut spectrogram: Option<PathBuf> = None;
    let mut listener = true;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next().cloned().ok_or_else(|| TaskError::MissingValue {
                option: arg.clone(),
                what: "a value",
            })
        };
        match arg.as_str() {
            "--json" => json = true,
            "--models" => names = Some(value()?.split(',').map(str::to_string).collect()),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--spectrogram" => spectrogram = Some(PathBuf::from(value()?)),
            "--no-listener" => listener = false,
            other => return Err(TaskError::UnknownArgument(other.to_string())),
        }
    }
    let names = names.unwrap_or_else(|| {
        timbre_catalog::instrument_models()
            .iter()
            .map(|(n, _)| n.to_string())
            .collect()
    });
    // `name` is an embedded model and its dataset; `name=FILE` evaluates FILE against the
    // dataset `name` (a model of your own, or a candidate before it replaces the shipped one).
    let mut models = Vec::new();
    let mut dataset_names = Vec::new();
    for spec in &names {
        let (name, file) = spec.split_once('=').unwrap_or((spec, spec));
        let (model, _) = timbre_catalog::resolve(file)?;
        models.push((name.to_string(), model));
        dataset_names.push(name.to_string());
    }
    let specs = names.join(",");
    let names = dataset_names;
    let root = crate::workspace_root();
    let datasets = root.join("target").join("datasets");
    let mut instruments: Vec<String> = SOURCES.iter().map(|s| s.to_string()).collect();
    for name in &names {
        if !instruments.contains(name) {
            instruments.push(name.clone());
        }
    }
    for name in &instruments {
        if !data::manifest_path(&datasets, name).exists() {
            eprintln!("dataset `{name}` is missing: building it");
            crate::run_trainer("dataset", std::slice::from_ref(name))?;
        }
    }
    if listener {
        crate::run_release("timbre-listener", &["--models".to_string(), specs])?;
    }
    let report = evaluate_models(&models, &datasets, &instruments, out.as_deref(), |line| {
        eprintln!("{line}")
    })?;
    if let Some(path) = spectrogram {
        write_spectrograms(&models, &path)?;
        eprintln!("wrote {}", path.display());
    }
    println!("{}", report.table());
    if json {
        println!("{}", report.json());
    }
    Ok(())
}

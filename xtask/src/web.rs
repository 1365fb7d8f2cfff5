//! `cargo xtask web [--out DIR] [--bench]`: builds the browser page (timbre-web for wasm32,
//! the pinned wasm-bindgen, the static files of `crates/web/www/`) into a folder, `target/web`
//! by default, and prints it. With `--bench`, it then measures the engine's real-time factor
//! inside headless Chromium next to the native one (see [`browser_vs_native`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use timbre_engine::{Engine, Params};

use crate::error::TaskError;

/// Sample rate and block size of the comparison: an AudioWorklet's render quantum at 48 kHz.
const RATE: f64 = 48_000.0;
const BLOCK: usize = 128;
/// Seconds of audio per timed pass.
const SECONDS: f64 = 10.0;

/// Runs the task.
pub fn run(args: &[String]) -> Result<(), TaskError> {
    let root = crate::workspace_root();
    let out = match args.iter().position(|a| a == "--out") {
        Some(i) => PathBuf::from(args.get(i + 1).ok_or(TaskError::MissingValue {
            option: "--out".to_string(),
            what: "a folder",
        })?),
        None => root.join("target/web"),
    };
    let page = build(&out)?;
    println!("page built in {}", page.display());
    println!(
        "serve it with `python3 -m http.server -d {} 8000` and open http://localhost:8000",
        page.display()
    );
    if args.iter().any(|a| a == "--bench") {
        let (browser, native) = browser_vs_native(&page)?;
        print_comparison(browser, native);
    }
    Ok(())
}

/// Builds the page into `out`, compiling in `target/web-build`.
pub fn build(out: &Path) -> Result<PathBuf, TaskError> {
    let target_dir = crate::workspace_root().join("target/web-build");
    Ok(timbre_web_build::build_page(out, &target_dir)?)
}

/// Prints the two real-time factors side by side.
pub fn print_comparison(browser: f64, native: f64) {
    println!(
        "engine at 48 kHz, 128-sample blocks, default model and parameters: {browser:.0}x real-time in Chromium (wasm32), {native:.0}x native ({:.1}x slower in the browser)",
        native / browser
    );
}

/// The engine's real-time factor in headless Chromium (the page's `tinyTimbre.bench`, run by
/// `crates/web/tests/browser.mjs --bench-only` against the page in `page`) and natively, on
/// the same model, parameters, block size and input signal.
pub fn browser_vs_native(page: &Path) -> Result<(f64, f64), TaskError> {
    let web = crate::workspace_root().join("crates/web");
    if !web.join("node_modules/playwright-core").exists() {
        return Err(TaskError::MissingPlaywright);
    }
    let output = Command::new("node")
        .current_dir(&web)
        .arg("tests/browser.mjs")
        .arg(page)
        .arg("--bench-only")
        .output()
        .map_err(|source| TaskError::Spawn {
            program: "node".to_string(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(TaskError::FailedWithOutput {
            command: "the browser benchmark".to_string(),
            output: format!("{}{}", stdout, String::from_utf8_lossy(&output.stderr)),
        });
    }
    let report: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| TaskError::NoBenchReport {
            output: stdout.to_string(),
        })?;
    let browser = report["bench"]["rtf"]
        .as_f64()
        .ok_or(TaskError::NoBenchRtf)?;
    Ok((browser, native_rtf()?))
}

/// The page benchmark's input: a sawtooth melody with vibrato (the same formula as
/// `bench()` in `crates/web/www/app.js`).
fn bench_signal() -> Vec<f32> {
    let n = (RATE * SECONDS) as usize;
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            let f = 220.0
                * 2f64.powf(((t * 2.0).floor() as usize % 5) as f64 / 12.0)
                * (1.0 + 0.01 * (t * 2.0 * std::f64::consts::PI * 5.5).sin());
            phase = (phase + f / RATE).fract();
            (0.3 * (2.0 * phase - 1.0)) as f32
        })
        .collect()
}

/// The native real-time factor of what the page benchmark runs: the default embedded model,
/// default parameters, 2,000 warm-up blocks, then the median of three timed passes.
pub fn native_rtf() -> Result<f64, TaskError> {
    let (model, _) =
        timbre_catalog::resolve(timbre_catalog::DEFAULT_MODEL).map_err(TaskError::DefaultModel)?;
    let (mut engine, _factory) = Engine::prepare(&model, RATE, BLOCK)?;
    engine.set_params(&Params::default());
    let input = bench_signal();
    let mut left = [0.0f32; BLOCK];
    let mut right = [0.0f32; BLOCK];
    for chunk in input.chunks_exact(BLOCK).take(2_000) {
        engine.process(&[chunk], &mut left, &mut right);
    }
    let mut passes: Vec<f64> = (0..3)
        .map(|_| {
            engine.reset();
            let start = Instant::now();
            for chunk in input.chunks_exact(BLOCK) {
                engine.process(&[chunk], &mut left, &mut right);
                std::hint::black_box(&left);
            }
            start.elapsed().as_secs_f64()
        })
        .collect();
    passes.sort_by(|a, b| a.total_cmp(b));
    let audio = (input.len() / BLOCK * BLOCK) as f64 / RATE;
    Ok(audio / passes[1])
}

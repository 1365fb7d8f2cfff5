//! `cargo xtask`: the project's tasks.
//!
//! - `bundle <package> [--release]`: builds the CLAP/VST3 bundles (nice-plug-xtask).
//! - `demo`: the main job: renders the bundled demo melody through the embedded models with
//!   the `tiny-timbre` CLI, then bundles the plugin.
//! - `bench [--json] [--browser]`: decoder and engine speed, block-time spread and latency;
//!   `--browser` adds the engine's real-time factor in headless Chromium.
//! - `web [--out DIR] [--bench]`: builds the browser page into a folder and prints it.
//! - `eval [--json] [--no-listener]`: the quality evaluation of the embedded models
//!   (`timbre-eval`), after the independent listener's verdicts (`timbre-listener`).
//! - `listen [args]`: the independent listener alone (`timbre-listener`; see that crate).
//! - `settings MODEL [ID=VALUE]...`: a model file's recommended settings.
//! - `examples [--out DIR]`: before/after clips and spectrograms for `docs/examples/`.
//! - `dataset | train | export | loss`: run the training crate's own binary (xtask never links
//!   burn, so bundling stays fast); `loss` is its held-out spectral loss. Likewise the
//!   listener's tract stays in its own binary.

mod bench;
mod demo;
mod error;
mod eval;
mod examples;
mod settings;
mod web;

use std::process::ExitCode;

use error::TaskError;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        eprintln!(
            "usage: cargo xtask <bundle|demo|bench|web|eval|listen|settings|examples|dataset|train|export|loss> [args]"
        );
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let result = match command.as_str() {
        "bundle" | "bundle-universal" => {
            nice_plug_xtask::main_with_args("cargo xtask", args.clone())
                .map_err(|e| TaskError::Bundle(e.into()))
        }
        "demo" => demo::run(rest),
        "bench" => bench::run(rest),
        "web" => web::run(rest),
        "eval" => eval::run(rest),
        // The trainer's own evaluation: held-out spectral loss, resynthesized WAVs.
        "loss" => run_trainer("eval", rest),
        "dataset" | "train" | "export" => run_trainer(command, rest),
        "listen" => run_release("timbre-listener", rest),
        "settings" => settings::run(rest),
        "examples" => examples::run(rest),
        other => Err(TaskError::UnknownTask(other.to_string())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `timbre-train <command> <args>` in release mode.
fn run_trainer(command: &str, args: &[String]) -> Result<(), TaskError> {
    let mut all = vec![command.to_string()];
    all.extend_from_slice(args);
    run_release("timbre-train", &all)
}

/// Runs the binary of workspace package `package` in release mode with `args`: the crates
/// with heavy dependencies (burn, tract) that xtask never links.
fn run_release(package: &str, args: &[String]) -> Result<(), TaskError> {
    let mut cmd = std::process::Command::new(cargo());
    cmd.current_dir(workspace_root())
        .args(["run", "--release", "-p", package, "--"])
        .args(args);
    let what = format!("{package} {}", args.join(" "));
    Ok(timbre_web_build::run_checked(&mut cmd, Some(&what))?)
}

/// The cargo that runs us.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// The workspace root (xtask's parent folder).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

//! `cargo xtask demo`: the main job. Writes the demo melody (synthesized here, so the repo
//! needs no audio file), renders it through every embedded model with the `tiny-timbre` CLI,
//! and bundles the plugin when the plugin crate is present.

use std::path::Path;
use std::process::Command;

use crate::error::TaskError;
use crate::{cargo, workspace_root};

/// Sample rate of the demo input.
const DEMO_RATE: u32 = 44_100;

/// The demo melody: a breathy, voice-like line (band-limited sawtooth through a soft
/// low-pass, with vibrato, glides and swells) in the range of a violin.
pub fn demo_melody() -> Vec<f32> {
    let notes = [
        (67.0, 0.5),
        (69.0, 0.5),
        (71.0, 0.5),
        (74.0, 1.0),
        (72.0, 0.5),
        (71.0, 0.5),
        (69.0, 1.5),
    ];
    let rate = DEMO_RATE as f64;
    let total: f64 = notes.iter().map(|n| n.1).sum();
    let mut out = Vec::with_capacity((total * rate) as usize);
    let (mut phase, mut lp) = (0.0f64, 0.0f64);
    let mut start = 0.0;
    let mut prev = notes[0].0;
    for &(note, dur) in &notes {
        let n = (dur * rate) as usize;
        for i in 0..n {
            let t_note = i as f64 / rate;
            let t = start + t_note;
            let glide = (t_note / 0.05).min(1.0);
            let vibrato =
                0.25 * (t_note * 2.0 * std::f64::consts::PI * 5.5).sin() * (t_note / 0.3).min(1.0);
            let midi = prev + (note - prev) * glide + vibrato;
            let f = 440.0 * 2f64.powf((midi - 69.0) / 12.0);
            let mut y = 0.0;
            let mut h = 1.0;
            while h * f < 8_000.0 {
                y += (2.0 * std::f64::consts::PI * h * phase).sin() / h;
                h += 1.0;
            }
            phase = (phase + f / rate).fract();
            lp += 0.3 * (y - lp);
            let envelope = (t_note / 0.04).min(1.0) * ((dur - t_note) / 0.06).clamp(0.0, 1.0);
            let swell = 0.7 + 0.3 * (t * 1.3).sin();
            out.push((0.25 * lp * envelope * swell) as f32);
        }
        start += dur;
        prev = note;
    }
    out
}

/// Writes `samples` (mono, clipped to ±1) as a 16-bit WAV at `sample_rate`.
pub fn write_wav(path: &Path, samples: &[f32], sample_rate: u32) -> Result<(), TaskError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let fail = |source| TaskError::Wav {
        path: path.to_path_buf(),
        source,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(fail)?;
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .map_err(fail)?;
    }
    w.finalize().map_err(fail)
}

/// Runs `cmd`; an error names it unless it started and succeeded.
fn run_checked(cmd: &mut Command) -> Result<(), TaskError> {
    Ok(timbre_web_build::run_checked(cmd, None)?)
}

/// Runs the demo. `--no-bundle` skips the plugin bundle.
pub fn run(args: &[String]) -> Result<(), TaskError> {
    let root = workspace_root();
    let out_dir = root.join("target/demo");
    std::fs::create_dir_all(&out_dir).map_err(|source| TaskError::Io {
        path: out_dir.clone(),
        source,
    })?;
    let input = out_dir.join("melody.wav");
    write_wav(&input, &demo_melody(), DEMO_RATE)?;
    println!("demo input: {}", input.display());
    // The embedded models, as the CLI lists them (one name per line after the header).
    let cli = |extra: &[&str]| {
        let mut c = Command::new(cargo());
        c.current_dir(&root)
            .args([
                "run",
                "--quiet",
                "--release",
                "-p",
                "timbre-cli",
                "--bin",
                "tiny-timbre",
                "--",
            ])
            .args(extra);
        c
    };
    let mut models = cli(&["models", "--names"]);
    let listing = models.output().map_err(|source| TaskError::Spawn {
        program: format!("{models:?}"),
        source,
    })?;
    if !listing.status.success() {
        return Err(TaskError::FailedWithOutput {
            command: "tiny-timbre models".to_string(),
            output: String::from_utf8_lossy(&listing.stderr).into_owned(),
        });
    }
    let names: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    for name in &names {
        let file = out_dir.join(format!(
            "melody-{}.wav",
            name.to_lowercase().replace(' ', "-")
        ));
        run_checked(
            cli(&[
                "render",
                input.to_str().unwrap(),
                file.to_str().unwrap(),
                "--model",
                name,
            ])
            .arg("--auto-adjust"),
        )?;
    }
    if !args.iter().any(|a| a == "--no-bundle") && root.join("plugin/Cargo.toml").exists() {
        run_checked(Command::new(cargo()).current_dir(&root).args([
            "xtask",
            "bundle",
            "tiny-timbre",
            "--release",
        ]))?;
        println!("plugin bundles: {}", root.join("target/bundled").display());
    }
    Ok(())
}

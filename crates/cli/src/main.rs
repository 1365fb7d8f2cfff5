//! `tiny-timbre`: render audio files through a Tiny Timbre model from the command line.
//!
//! ```text
//! tiny-timbre render IN OUT [--model NAME|PATH] [--semitones N] [--cents N] [--loudness DB]
//!                           [--auto-adjust] [--gate X] [--autotune PCT] [--reverb PCT]
//!                           [--gain DB] [--harmonic-gain DB] [--noise-gain DB]
//! tiny-timbre models
//! tiny-timbre info MODEL
//! ```
//!
//! - `render` reads WAV, FLAC, MP3 or OGG/Vorbis (any rate from 8 to 384 kHz, any channel
//!   count) and writes a stereo 32-bit float WAV; see [`render`] for the rate rules.
//! - `models` lists the embedded models and those in the user folder (see [`models`]).
//! - `info` prints a model's metadata.
//!
//! Exit status: 0 on success, 1 when a command fails (missing or undecodable input, unknown or
//! invalid model, unwritable output), 2 for a bad command line (clap's usage errors and
//! parameter values outside their range). Errors go to stderr as `error: <message>`.

mod error;
mod info;
use timbre_catalog as models;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use timbre_engine::params::{self, ParamSpec, Params};

use crate::error::CliError;
use crate::render::{check_param, render_file, RenderRequest};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "tiny-timbre",
    version,
    about = "Timbre transfer: play the melody of an audio file on a trained instrument.",
    after_help = "Exit status: 0 success, 1 failure, 2 bad command line."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Render an audio file (WAV, FLAC, MP3, OGG/Vorbis) through a model into a stereo 32-bit
    /// float WAV at the input's rate (inputs below 22.05 kHz are resampled to 48 kHz).
    Render(RenderArgs),
    /// List the embedded models and those in the user model folder.
    Models {
        /// Print only the embedded models' names, one per line (for scripts).
        #[arg(long)]
        names: bool,
    },
    /// Print a model's metadata: name, instrument, architecture, rates, dataset, provenance.
    Info {
        /// An embedded model name, a name in the user model folder, or a .ttmodel path.
        #[arg(value_name = "MODEL")]
        model: String,
    },
}

/// `render`'s arguments.
#[derive(Debug, Args)]
struct RenderArgs {
    /// Input audio file.
    #[arg(value_name = "IN")]
    input: PathBuf,
    /// Output WAV file (overwritten if it exists).
    #[arg(value_name = "OUT")]
    output: PathBuf,
    /// An embedded model name (case-insensitive), a name in the user model folder, or a path
    /// to a .ttmodel file. See `tiny-timbre models`.
    #[arg(short, long, value_name = "NAME|PATH", default_value = models::DEFAULT_MODEL)]
    model: String,
    // The parameter flags: help, range and default come from the engine's parameter table.
    #[arg(long, value_name = "N", allow_negative_numbers = true, help = param_help(&params::SEMITONES))]
    semitones: Option<i32>,
    #[arg(long, value_name = "N", allow_negative_numbers = true, help = param_help(&params::CENTS))]
    cents: Option<f32>,
    #[arg(long, value_name = "DB", allow_negative_numbers = true, help = param_help(&params::LOUDNESS))]
    loudness: Option<f32>,
    #[arg(
        long,
        help = "Auto-adjust: shift the octave and loudness into the model's training range [default: the model's recommendation, else off]"
    )]
    auto_adjust: bool,
    #[arg(long, conflicts_with = "auto_adjust", help = "Turn auto-adjust off")]
    no_auto_adjust: bool,
    #[arg(long, value_name = "X", allow_negative_numbers = true, help = param_help(&params::GATE))]
    gate: Option<f32>,
    #[arg(long, value_name = "PCT", allow_negative_numbers = true, help = param_help(&params::AUTOTUNE))]
    autotune: Option<f32>,
    #[arg(long, value_name = "PCT", allow_negative_numbers = true, help = param_help(&params::REVERB))]
    reverb: Option<f32>,
    #[arg(long, value_name = "DB", allow_negative_numbers = true, help = param_help(&params::OUTPUT_GAIN))]
    gain: Option<f32>,
    #[arg(long, value_name = "DB", allow_negative_numbers = true, help = param_help(&params::HARMONIC_GAIN))]
    harmonic_gain: Option<f32>,
    #[arg(long, value_name = "DB", allow_negative_numbers = true, help = param_help(&params::NOISE_GAIN))]
    noise_gain: Option<f32>,
}

/// A flag's help from its [`ParamSpec`]: name, range with unit, default.
fn param_help(spec: &ParamSpec) -> String {
    let unit = if spec.unit.is_empty() {
        String::new()
    } else {
        format!(" {}", spec.unit)
    };
    format!(
        "{}, {}..{}{unit} [default: the model's recommendation, else {}]",
        spec.name, spec.min, spec.max, spec.default
    )
}

impl RenderArgs {
    /// The engine parameters: `base` (the model's recommended settings), overridden by the
    /// flags given; a value outside its range is an error (exit status 2), not silently
    /// clamped.
    fn params(&self, base: Params) -> Result<Params, CliError> {
        let mut p = base;
        let set = |spec: &ParamSpec, v: Option<f32>, field: &mut f32| -> Result<(), CliError> {
            if let Some(v) = v {
                *field = check_param(spec, v)?;
            }
            Ok(())
        };
        set(
            &params::SEMITONES,
            self.semitones.map(|v| v as f32),
            &mut p.semitones,
        )?;
        set(&params::CENTS, self.cents, &mut p.cents)?;
        set(&params::LOUDNESS, self.loudness, &mut p.loudness_db)?;
        set(&params::GATE, self.gate, &mut p.gate)?;
        set(&params::AUTOTUNE, self.autotune, &mut p.autotune_percent)?;
        set(&params::REVERB, self.reverb, &mut p.reverb_percent)?;
        set(&params::OUTPUT_GAIN, self.gain, &mut p.output_gain_db)?;
        set(
            &params::HARMONIC_GAIN,
            self.harmonic_gain,
            &mut p.harmonic_gain_db,
        )?;
        set(&params::NOISE_GAIN, self.noise_gain, &mut p.noise_gain_db)?;
        if self.auto_adjust {
            p.auto_adjust = true;
        }
        if self.no_auto_adjust {
            p.auto_adjust = false;
        }
        Ok(p)
    }
}

/// Runs one command; output to stdout, notes to stderr.
fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Render(args) => {
            // The model's recommended settings are the base; a model that does not resolve
            // is reported by `render_file`, which resolves it again.
            let base = models::resolve(&args.model)
                .map(|(model, _)| Params::recommended(model.metadata()))
                .unwrap_or_default();
            let req = RenderRequest {
                params: args.params(base)?,
                input: args.input,
                output: args.output,
                model: args.model,
            };
            let report = render_file(&req)?;
            for note in &report.notes {
                eprintln!("{note}");
            }
            println!("{}", report.summary());
        }
        Command::Models { names: true } => {
            for (name, _) in models::embedded_models() {
                println!("{name}");
            }
        }
        Command::Models { names: false } => {
            let dir = models::user_model_dir();
            let user = dir
                .as_deref()
                .map(models::user_models_in)
                .unwrap_or_default();
            print!("{}", info::list_models(dir.as_deref(), &user));
        }
        Command::Info { model } => {
            let (model, source) = models::resolve(&model)?;
            print!("{}", info::describe_model(&model, &source));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_engine_parameter_has_a_flag() {
        let cmd = Cli::command();
        let render = cmd.find_subcommand("render").unwrap();
        for spec in params::ALL {
            let flag = spec.id.replace('_', "-");
            assert!(
                render
                    .get_arguments()
                    .any(|a| a.get_long() == Some(flag.as_str())),
                "no --{flag}"
            );
        }
    }

    #[test]
    fn flags_map_onto_params() {
        let cli = Cli::try_parse_from([
            "tiny-timbre",
            "render",
            "in.wav",
            "out.wav",
            "--semitones",
            "-12",
            "--cents",
            "-5.5",
            "--gain",
            "-3",
            "--auto-adjust",
            "--reverb",
            "0",
        ])
        .unwrap();
        let Command::Render(args) = cli.command else {
            panic!()
        };
        let p = args.params(Params::default()).unwrap();
        assert_eq!(
            (p.semitones, p.cents, p.output_gain_db, p.reverb_percent),
            (-12.0, -5.5, -3.0, 0.0)
        );
        assert!(p.auto_adjust);
        assert_eq!(p.gate, params::GATE.default);
        assert_eq!(args.model, models::DEFAULT_MODEL);
    }

    /// Flags override the model's recommended settings; the rest are kept.
    #[test]
    fn flags_override_the_recommended_settings() {
        let cli = Cli::try_parse_from([
            "tiny-timbre",
            "render",
            "in.wav",
            "out.wav",
            "--no-auto-adjust",
            "--noise-gain",
            "-2",
        ])
        .unwrap();
        let Command::Render(args) = cli.command else {
            panic!()
        };
        let base = Params {
            auto_adjust: true,
            reverb_percent: 50.0,
            noise_gain_db: 6.0,
            ..Params::default()
        };
        let p = args.params(base).unwrap();
        assert!(!p.auto_adjust);
        assert_eq!((p.reverb_percent, p.noise_gain_db), (50.0, -2.0));
    }
}

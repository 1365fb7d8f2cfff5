//! `tiny-timbre`: render audio files through a Tiny Timbre model from the command line.
//!
//! ```text
//! tiny-timbre render IN OUT [--model NAME|PATH] [--morph-to NAME|PATH --morph 0..1]
//!                           [--semitones N] [--cents N] [--loudness DB]
//!                           [--auto-adjust] [--gate X] [--autotune PCT] [--reverb PCT]
//!                           [--gain DB] [--harmonic-gain DB] [--noise-gain DB]
//! tiny-timbre midi IN OUT.mid [--bend] [--bend-range ST] [--min-note-ms MS]
//! tiny-timbre models
//! tiny-timbre info MODEL
//! ```
//!
//! - `render` reads WAV, FLAC, MP3 or OGG/Vorbis (any rate from 8 to 384 kHz, any channel
//!   count) and writes a stereo 32-bit float WAV; see [`render`] for the rate rules.
//! - `midi` writes the notes of a sung or played line as a standard MIDI file (see [`midi`]).
//! - `models` lists the embedded models and those in the user folder (see [`models`]).
//! - `info` prints a model's metadata.
//!
//! Exit status: 0 on success, 1 when a command fails (missing or undecodable input, unknown or
//! invalid model, unwritable output), 2 for a bad command line (clap's usage errors and
//! parameter values outside their range). Errors go to stderr as `error: <message>`.

mod error;
mod info;
mod midi;
use timbre_catalog as models;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use timbre_engine::params::{self, Kind, ParamSpec, Params};

use crate::error::CliError;
use crate::render::{check_param, check_range, flag_name, render_file, RenderRequest};

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
    /// Write the notes of a sung or played line (WAV, FLAC, MP3, OGG/Vorbis) as a standard
    /// MIDI file (type 0, 120 bpm), lined up with the audio.
    Midi(MidiArgs),
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
    /// A second model (model B, named like --model) to morph toward: `--morph` 0 plays
    /// --model alone, 1 this model alone, values between blend the two.
    #[arg(long, value_name = "NAME|PATH")]
    morph_to: Option<String>,
    /// The knob flags, one per row of the engine's table.
    #[command(flatten)]
    knobs: KnobFlags,
}

/// `midi`'s arguments.
#[derive(Debug, Args)]
struct MidiArgs {
    /// Input audio file.
    #[arg(value_name = "IN")]
    input: PathBuf,
    /// Output MIDI file (overwritten if it exists).
    #[arg(value_name = "OUT.mid")]
    output: PathBuf,
    /// Also write the pitch between the notes as pitch bend.
    #[arg(long)]
    bend: bool,
    /// The pitch bend range in semitones (written into the file as RPN 0).
    #[arg(long, value_name = "ST", default_value_t = 2.0)]
    bend_range: f32,
    /// Notes shorter than this are dropped (a consonant's blip, a breath), in ms.
    #[arg(long, value_name = "MS", default_value_t = 100.0)]
    min_note_ms: f32,
}

/// `render`'s knob flags, made from the engine's table ([`params::ALL`]) at run time: a value
/// flag per knob (`--semitones N`, `--reverb PCT`, ...), and `--x` / `--no-x` for a switch.
/// Help, range and default come from the row.
#[derive(Clone, Debug, Default)]
struct KnobFlags {
    /// The values given, by knob id, in table order.
    values: Vec<(&'static str, f32)>,
}

/// The id of a switch's "off" flag.
fn off_id(spec: &ParamSpec) -> String {
    format!("no_{}", spec.id)
}

impl clap::FromArgMatches for KnobFlags {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Self::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        for spec in params::ALL {
            let value = match spec.kind {
                Kind::Switch if matches.get_flag(spec.id) => Some(1.0),
                Kind::Switch if matches.get_flag(&off_id(&spec)) => Some(0.0),
                Kind::Switch => None,
                _ => matches.get_one::<f32>(spec.id).copied(),
            };
            if let Some(value) = value {
                self.values.retain(|(id, _)| *id != spec.id);
                self.values.push((spec.id, value));
            }
        }
        Ok(())
    }
}

impl Args for KnobFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        params::ALL.iter().fold(cmd, |cmd, spec| {
            let long = spec.id.replace('_', "-");
            match spec.kind {
                Kind::Switch => cmd
                    .arg(
                        clap::Arg::new(spec.id)
                            .long(long.clone())
                            .action(clap::ArgAction::SetTrue)
                            .help(format!(
                                "{}: on [default: the model's recommendation, else {}]",
                                spec.name,
                                if spec.default >= 0.5 { "on" } else { "off" }
                            )),
                    )
                    .arg(
                        clap::Arg::new(off_id(spec))
                            .long(format!("no-{long}"))
                            .action(clap::ArgAction::SetTrue)
                            .conflicts_with(spec.id)
                            .help(format!("{}: off", spec.name)),
                    ),
                _ => cmd.arg(
                    clap::Arg::new(spec.id)
                        .long(long)
                        .value_name(value_name(spec))
                        .allow_negative_numbers(true)
                        .value_parser(clap::value_parser!(f32))
                        .help(param_help(spec)),
                ),
            }
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// The placeholder of a knob's value in the help: its unit, or N / X. A level (0..1, shown in
/// percent by the editor) takes its plain value: X.
fn value_name(spec: &ParamSpec) -> &'static str {
    if spec.kind == Kind::Level {
        return "X";
    }
    match spec.unit {
        "dB" => "DB",
        "%" => "PCT",
        "st" | "ct" => "N",
        _ => "X",
    }
}

/// A flag's help from its [`ParamSpec`]: name, range with unit (none for a level: its value
/// is 0..1, not percent), default.
fn param_help(spec: &ParamSpec) -> String {
    let unit = if spec.unit.is_empty() || spec.kind == Kind::Level {
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
        for &(id, value) in &self.knobs.values {
            let spec = params::ALL
                .iter()
                .find(|s| s.id == id)
                .expect("the flags come from the table");
            if spec.kind == Kind::Int && value.fract() != 0.0 {
                return Err(CliError::ParamNotWhole {
                    flag: flag_name(spec),
                    value,
                });
            }
            p.set(id, check_param(spec, value)?);
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
                morph_to: args.morph_to,
            };
            let report = render_file(&req)?;
            for note in &report.notes {
                eprintln!("{note}");
            }
            println!("{}", report.summary());
        }
        Command::Midi(args) => {
            check_range("--bend-range".into(), args.bend_range, 0.5, 24.0)?;
            check_range("--min-note-ms".into(), args.min_note_ms, 0.0, 10_000.0)?;
            if !midi::has_midi_extension(&args.output) {
                eprintln!(
                    "note: {} does not end in .mid; writing a MIDI file anyway",
                    args.output.display()
                );
            }
            let report = midi::midi_file(&midi::MidiRequest {
                input: args.input,
                output: args.output,
                bend_range: args.bend.then_some(args.bend_range),
                min_note_ms: args.min_note_ms,
            })?;
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

    /// The help gives each flag's range in the unit it takes: a percent knob 0..100 %, a
    /// level (the morph) 0..1 without a percent sign.
    #[test]
    fn the_help_gives_ranges_in_the_flags_units() {
        let cmd = Cli::command();
        let render = cmd.find_subcommand("render").unwrap();
        let help = |long: &str| {
            let arg = render
                .get_arguments()
                .find(|a| a.get_long() == Some(long))
                .unwrap();
            let name = arg.get_value_names().unwrap()[0].to_string();
            (name, arg.get_help().unwrap().to_string())
        };
        let (name, text) = help("morph");
        assert_eq!(name, "X");
        assert!(text.starts_with("Morph, 0..1 ["), "{text}");
        let (name, text) = help("reverb");
        assert_eq!(name, "PCT");
        assert!(text.starts_with("Reverb, 0..100 % ["), "{text}");
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

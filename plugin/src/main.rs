//! The standalone application: `tiny_timbre [--synth] [--demo] [nice-plug options]`.
//!
//! Without `--synth` it runs the effect (audio input → model); with `--synth` the instrument
//! (MIDI input). `--demo` feeds the effect a built-in melody instead of the microphone. Every
//! other option is nice-plug's (`--help` lists them: backend, devices, sample rate, period
//! size, `--dpi-scale`).

use nice_plug::prelude::*;
use tiny_timbre::{TinyTimbre, TinyTimbreSynth};

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let synth = args.iter().any(|a| a == "--synth");
    if args.iter().any(|a| a == "--demo") {
        tiny_timbre::demo::enable();
    }
    args.retain(|a| a != "--synth" && a != "--demo");
    let ok = if synth {
        nice_export_standalone_with_args::<TinyTimbreSynth, _>(args)
    } else {
        nice_export_standalone_with_args::<TinyTimbre, _>(args)
    };
    if !ok {
        std::process::exit(1);
    }
}

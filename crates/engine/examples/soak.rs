//! Soak and denormal benchmark: `cargo run --release -p timbre-engine --example soak`.
//!
//! 1. Long run: `--minutes` (default 60) of continuous audio at 48 kHz in 512-sample blocks: a
//!    220 Hz band-limited sawtooth through the hand-wired model (its output pitch is exactly
//!    the synth's f0; `--model violin` uses the shipped violin instead). Prints the median
//!    block time of every minute, the ratio of the last minute's to the first's, and the
//!    output pitch error (the DSP crate's tracker against the known 220 Hz, median |cents|)
//!    over the first and the last 10 s: equal errors mean no phase or timing drift.
//! 2. Denormals: median block time of the violin model (it has a reverb tail) for a normal
//!    tone, for exact zeros, for input made of denormal numbers, and for the silence after a
//!    loud tone (the tail decays through the denormal range), the last two as ratios to the
//!    tone and to the zeros (the gate closes on silence, so zeros are the fair baseline). Flush-to-
//!    zero is off here (Rust's default), so the engine's own denormal hygiene is measured, not
//!    the CPU mode the plugin also sets.
//!
//! Timing figures depend on the machine and its load; run it on an idle machine.

use std::path::Path;
use std::time::Instant;

use timbre_dsp::analysis::{analyze_clip, AnalysisConfig};
use timbre_engine::{Engine, Params};
use timbre_model::testing::{wired_model, WiredHarmonics};
use timbre_model::ModelFile;

const RATE: f64 = 48_000.0;
const BLOCK: usize = 512;
/// The test tone's f0: 220 whole cycles per second, so a 1 s buffer loops seamlessly.
const F0: f64 = 220.0;
/// Seconds of output analysed at the start and at the end.
const PITCH_WINDOW_S: f64 = 10.0;

/// One second of a band-limited 220 Hz sawtooth, peak about 0.3 (the test kit's, which keeps
/// its phase in f64: 220 whole cycles, so the buffer loops seamlessly).
fn tone_second() -> Vec<f32> {
    timbre_testkit::sawtooth(RATE, 1.0, |_| F0, |_| 0.6)
}

/// Median |cents| of `out` against [`F0`] over its confidently voiced frames (after 1 s of
/// warm-up within the window), and how many frames that was.
fn pitch_error(out: &[f32]) -> (f64, usize) {
    let frames = analyze_clip(AnalysisConfig::default(), RATE, out).expect("48 kHz is supported");
    let mut errors: Vec<f64> = frames
        .iter()
        .skip(250)
        .filter(|f| f.confidence > 0.8)
        .map(|f| (1200.0 * (f.f0_hz as f64 / F0).log2()).abs())
        .collect();
    errors.sort_by(f64::total_cmp);
    (
        errors.get(errors.len() / 2).copied().unwrap_or(f64::NAN),
        errors.len(),
    )
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn violin() -> ModelFile {
    ModelFile::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/violin.ttmodel"))
        .expect("models/violin.ttmodel loads")
}

/// The long run; returns (per-minute median block µs, pitch error at start, at end).
fn long_run(model: &ModelFile, minutes: usize) {
    let (mut engine, _factory) = Engine::prepare(model, RATE, BLOCK).unwrap();
    engine.set_params(&Params {
        reverb_percent: 0.0,
        ..Params::default()
    });
    let tone = tone_second();
    let total = minutes * 60 * RATE as usize / BLOCK;
    let per_minute = 60 * RATE as usize / BLOCK;
    let window = (PITCH_WINDOW_S * RATE) as usize;
    let (mut first, mut last) = (Vec::with_capacity(window), Vec::with_capacity(window));
    let mut input = vec![0.0f32; BLOCK];
    let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let mut minute_times = Vec::with_capacity(per_minute);
    let mut minute_medians = Vec::new();
    let mut worst = 0.0f64;
    let mut pos = 0;
    let started = Instant::now();
    for k in 0..total {
        for x in &mut input {
            *x = tone[pos];
            pos = (pos + 1) % tone.len();
        }
        let t = Instant::now();
        engine.process(&[&input], &mut left, &mut right);
        let us = t.elapsed().as_secs_f64() * 1e6;
        worst = worst.max(us);
        minute_times.push(us);
        let sample = k * BLOCK;
        if sample < window {
            first.extend_from_slice(&left);
        }
        if sample >= total * BLOCK - window {
            last.extend_from_slice(&left);
        }
        if minute_times.len() == per_minute {
            let m = median(&mut minute_times);
            println!(
                "minute {:3}: median block {:7.2} µs",
                minute_medians.len() + 1,
                m
            );
            minute_medians.push(m);
            minute_times.clear();
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let (start_err, start_n) = pitch_error(&first);
    let (end_err, end_n) = pitch_error(&last);
    let ratio = minute_medians.last().unwrap() / minute_medians[0];
    let (lo, hi) = minute_medians
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &m| (lo.min(m), hi.max(m)));
    println!(
        "{minutes} min of audio in {wall:.1} s ({:.0}x real time); block time last/first minute {ratio:.3}, \
         per-minute medians {lo:.2}..{hi:.2} µs, worst block {worst:.0} µs",
        minutes as f64 * 60.0 / wall
    );
    println!(
        "pitch error vs {F0} Hz: first {PITCH_WINDOW_S} s {start_err:.3} cents ({start_n} frames), \
         last {PITCH_WINDOW_S} s {end_err:.3} cents ({end_n} frames)"
    );
}

/// Median block time in µs of `blocks` blocks of `input(k)`.
fn median_block_us(
    engine: &mut Engine,
    blocks: usize,
    mut input: impl FnMut(usize, &mut [f32]),
) -> f64 {
    let mut buf = vec![0.0f32; BLOCK];
    let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let mut times = Vec::with_capacity(blocks);
    for k in 0..blocks {
        input(k, &mut buf);
        let t = Instant::now();
        engine.process(&[&buf], &mut left, &mut right);
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    median(&mut times)
}

fn denormal_bench() {
    let model = violin();
    let tone = tone_second();
    let blocks = 5 * RATE as usize / BLOCK;
    let params = Params {
        reverb_percent: 100.0,
        ..Params::default()
    };
    let fresh = || {
        let (mut engine, _factory) = Engine::prepare(&model, RATE, BLOCK).unwrap();
        engine.set_params(&params);
        engine
    };
    let play = |k: usize, buf: &mut [f32]| {
        for (i, x) in buf.iter_mut().enumerate() {
            *x = tone[(k * BLOCK + i) % tone.len()];
        }
    };
    let mut engine = fresh();
    let normal = median_block_us(&mut engine, blocks, play);
    let mut engine = fresh();
    let zeros = median_block_us(&mut engine, blocks, |_, buf| buf.fill(0.0));
    let mut engine = fresh();
    let mut seed = 1u32;
    let denormal = median_block_us(&mut engine, blocks, |_, buf| {
        for x in buf {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            // Random subnormals of both signs.
            *x = f32::from_bits((seed >> 9) | (seed & 0x8000_0000));
        }
    });
    // A loud tone, then silence: the reverb and filters decay through the denormal range.
    let mut engine = fresh();
    median_block_us(&mut engine, blocks, play);
    let tail = median_block_us(&mut engine, blocks, |_, buf| buf.fill(0.0));
    let tail_late = median_block_us(&mut engine, blocks, |_, buf| buf.fill(0.0));
    println!(
        "denormals (violin, reverb 100 %, no flush-to-zero), median block time: normal tone {normal:.2} µs, \
         exact zeros {zeros:.2} µs; denormal input {denormal:.2} µs (ratio {:.3} to the tone, {:.3} to zeros); \
         first 5 s of silence after the tone {tail:.2} µs ({:.3}, {:.3}); the next 5 s {tail_late:.2} µs ({:.3}, {:.3})",
        denormal / normal,
        denormal / zeros,
        tail / normal,
        tail / zeros,
        tail_late / normal,
        tail_late / zeros
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let minutes: usize = value("--minutes").map_or(60, |m| m.parse().expect("--minutes N"));
    let model = match value("--model").as_deref() {
        None | Some("wired") => wired_model("wired", WiredHarmonics::Fundamental),
        Some("violin") => violin(),
        Some(other) => panic!("unknown model {other} (wired or violin)"),
    };
    denormal_bench();
    long_run(&model, minutes.max(1));
}

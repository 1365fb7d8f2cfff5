//! Hostile audio and hostile configurations: NaN, ±Inf, denormals, DC, long silence,
//! full-scale noise, square waves, clicks, extreme tones and fast glides; every supported
//! sample rate × block sizes 1 to 8192 × mono/stereo with random parameter automation per
//! block. The output must always be finite, within ±[`OUTPUT_CEILING`], free of subnormal
//! numbers, and the engine must come back to a correct pitch afterwards.

mod common;

use std::f64::consts::PI;
use std::path::Path;

use common::*;
use timbre_engine::params::ALL;
use timbre_engine::{Engine, Params, OUTPUT_CEILING};
use timbre_model::ModelFile;
use timbre_testkit::{hostile_signals, TestRng};

const RATE: f64 = 48_000.0;

/// The shipped violin model.
fn violin() -> ModelFile {
    ModelFile::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/violin.ttmodel"))
        .unwrap()
}

/// Why a block of output is bad, if it is: a non-finite sample, one beyond the ceiling, or a
/// subnormal one (a sign that denormals reach the DSP state).
fn bad_sample(out: &[f32]) -> Option<(usize, f32)> {
    out.iter()
        .copied()
        .enumerate()
        .find(|(_, x)| !x.is_finite() || x.abs() > OUTPUT_CEILING || x.is_subnormal())
}

/// Median |cents| of the output against `f0` over the voiced frames of `out` after `skip`
/// frames, and how many frames that was.
fn pitch_error(out: &[f32], rate: f64, f0: f32, skip: usize) -> (f32, usize) {
    let errors: Vec<f32> = frames(out, rate)
        .iter()
        .skip(skip)
        .filter(|f| f.confidence > 0.8)
        .map(|f| cents(f.f0_hz, f0).abs())
        .collect();
    (median(&errors), errors.len())
}

/// Runs `input` through `engine` in blocks of `block`, checking every output block.
fn run_checked(engine: &mut Engine, input: &[f32], block: usize, what: &str) -> Vec<f32> {
    let mut out = vec![0.0f32; input.len()];
    let mut right = vec![0.0f32; block];
    for (k, (i, o)) in input.chunks(block).zip(out.chunks_mut(block)).enumerate() {
        engine.process(&[i], o, &mut right[..i.len()]);
        if let Some((at, x)) = bad_sample(o).or(bad_sample(&right[..i.len()])) {
            panic!("{what}: block {k} sample {at} is {x}");
        }
    }
    out
}

#[test]
fn hostile_signals_give_finite_bounded_output_and_the_pitch_recovers() {
    let rate = RATE;
    let clean = sawtooth(rate, 1.5, |_| 220.0, |_| 0.6);
    for (model_name, model) in [("wired", wired_model(true)), ("violin", violin())] {
        let (mut engine, _factory) = Engine::prepare(&model, rate, 512).unwrap();
        engine.set_params(&Params {
            reverb_percent: 0.0,
            ..Params::default()
        });
        for (name, signal) in hostile_signals(rate, (2.0 * rate) as usize) {
            let what = format!("{model_name}, {name}");
            run_checked(&mut engine, &signal, 512, &what);
            // No state is poisoned: a clean tone right after is tracked again.
            let out = run_checked(&mut engine, &clean, 512, &what);
            let (err, voiced) = pitch_error(&out, rate, 220.0, 125);
            assert!(voiced > 100, "{what}: only {voiced} voiced frames after");
            assert!(err < 15.0, "{what}: pitch off by {err} cents after");
        }
    }
}

#[test]
fn ten_minutes_of_silence_stay_silent_and_clean() {
    let model = violin();
    let (mut engine, _factory) = Engine::prepare(&model, RATE, 512).unwrap();
    // A tone first, so the reverb and filters have a tail to decay through denormal range.
    let tone = sawtooth(RATE, 1.0, |_| 330.0, |_| 0.6);
    run_checked(&mut engine, &tone, 512, "tone before silence");
    let silence = vec![0.0f32; 512];
    let mut out = vec![0.0f32; 512];
    let mut right = vec![0.0f32; 512];
    let blocks = (600.0 * RATE) as usize / 512;
    let mut late_peak = 0.0f32;
    for k in 0..blocks {
        engine.process(&[&silence], &mut out, &mut right);
        if let Some((at, x)) = bad_sample(&out) {
            panic!("block {k} sample {at} is {x}");
        }
        if k * 512 > (10.0 * RATE) as usize {
            late_peak = out.iter().fold(late_peak, |p, x| p.max(x.abs()));
        }
    }
    // After the tail (well under 10 s), the output is silent, -100 dBFS or lower.
    assert!(late_peak < 1e-5, "peak {late_peak} during silence");
    let out = run_checked(&mut engine, &tone, 512, "tone after silence");
    let (err, voiced) = pitch_error(&out, RATE, 330.0, 60);
    assert!(voiced > 100 && err < 15.0, "{voiced} voiced, {err} cents");
}

/// Every spec'd parameter set to a random value, sometimes out of range or non-finite (the
/// engine clamps).
fn random_params(rng: &mut TestRng) -> Params {
    let mut p = Params::default();
    for spec in ALL {
        let value = match rng.range(0, 19) {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => spec.max * 10.0 + 1.0,
            3 => spec.min * 10.0 - 1.0,
            _ => spec.min + rng.unit() * (spec.max - spec.min),
        };
        assert!(p.set(spec.id, value));
    }
    p
}

/// A test input for the matrix: a sawtooth gliding 110 ↔ 880 Hz with a little noise.
fn matrix_input(rate: f64, n: usize) -> Vec<f32> {
    let mut rng = TestRng::new(17);
    let seconds = n as f64 / rate;
    sawtooth(
        rate,
        seconds + 1.0 / rate,
        |t| 110.0 * 8f64.powf(0.5 - 0.5 * (2.0 * PI * 0.8 * t).cos()),
        |_| 0.7,
    )
    .into_iter()
    .take(n)
    .map(|x| x + 0.02 * rng.bipolar())
    .collect()
}

/// Renders `input` through a fresh engine (mono or stereo input), in the given blocks, with new
/// random parameters before each block; checks every output sample.
fn render_automated(
    model: &ModelFile,
    rate: f64,
    max_block: usize,
    blocks: &[usize],
    input: &[f32],
    stereo: bool,
    seed: u64,
) -> Vec<f32> {
    let (mut engine, _factory) = Engine::prepare(model, rate, max_block).unwrap();
    let mut rng = TestRng::new(seed);
    let mut out = vec![0.0f32; input.len()];
    let mut right = vec![0.0f32; input.len()];
    let mut pos = 0;
    for &n in blocks {
        engine.set_params(&random_params(&mut rng));
        let i = &input[pos..pos + n];
        let inputs: &[&[f32]] = if stereo { &[i, i] } else { &[i] };
        engine.process(inputs, &mut out[pos..pos + n], &mut right[pos..pos + n]);
        pos += n;
    }
    let what = format!("{rate} Hz, max block {max_block}, stereo {stereo}");
    if let Some((at, x)) = bad_sample(&out).or(bad_sample(&right)) {
        panic!("{what}: sample {at} is {x}");
    }
    assert_eq!(out, right, "{what}: left and right differ");
    out
}

const RATES: [f64; 8] = [
    22_050.0, 32_000.0, 37_000.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0,
];

#[test]
fn every_rate_block_size_and_layout_with_random_automation() {
    let model = wired_model(false);
    let mut runs = 0;
    let mut loud_runs = 0;
    for (r, &rate) in RATES.iter().enumerate() {
        for (b, block) in [1usize, 13, 64, 512, 8192].into_iter().enumerate() {
            let n = ((0.25 * rate) as usize).max(3 * block);
            let n = n.div_ceil(block) * block;
            let input = matrix_input(rate, n);
            let blocks = vec![block; n / block];
            let seed = (r * 10 + b) as u64;
            let mono = render_automated(&model, rate, block, &blocks, &input, false, seed);
            // Two identical channels are the same signal as one.
            let stereo = render_automated(&model, rate, block, &blocks, &input, true, seed);
            assert_eq!(mono, stereo, "{rate} Hz, block {block}: mono vs stereo");
            runs += 2;
            loud_runs += usize::from(mono.iter().any(|x| x.abs() > 1e-3));
        }
        // Randomly varying block sizes, some larger than the prepared maximum (split inside).
        let n = (1.0 * rate) as usize;
        let input = matrix_input(rate, n);
        let blocks = timbre_testkit::random_blocks(n, 3_000, r as u64);
        let mono = render_automated(&model, rate, 1024, &blocks, &input, false, 99);
        let stereo = render_automated(&model, rate, 1024, &blocks, &input, true, 99);
        assert_eq!(mono, stereo, "{rate} Hz, random blocks: mono vs stereo");
        runs += 2;
        loud_runs += usize::from(mono.iter().any(|x| x.abs() > 1e-3));
    }
    assert_eq!(runs, 8 * 5 * 2 + 8 * 2);
    // The engine really played: random settings silence some runs, not most.
    assert!(
        loud_runs >= 40,
        "only {loud_runs} of 48 configurations made sound"
    );
}

/// Synth mode: non-finite or absurd envelope values must not leave the voice stuck: once sane
/// values come back, a held note sounds again.
#[test]
fn a_non_finite_envelope_does_not_poison_the_synth() {
    let model = wired_model(true);
    let (mut engine, _factory) = Engine::prepare(&model, RATE, 512).unwrap();
    engine.set_mode(timbre_engine::Mode::Notes);
    let (mut left, mut right) = (vec![0.0f32; 512], vec![0.0f32; 512]);
    let mut play = |engine: &mut Engine, seconds: f64| {
        let mut peak = 0.0f32;
        for _ in 0..(seconds * RATE) as usize / 512 {
            engine.process(&[], &mut left, &mut right);
            if let Some((at, x)) = bad_sample(&left) {
                panic!("sample {at} is {x}");
            }
            peak = left.iter().fold(peak, |p, x| p.max(x.abs()));
        }
        peak
    };
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -1.0] {
        engine.note_on(57, 1.0);
        engine.set_adsr(timbre_engine::Adsr {
            attack_ms: bad,
            decay_ms: bad,
            sustain: bad,
            release_ms: bad,
        });
        play(&mut engine, 0.5);
        engine.set_adsr(timbre_engine::Adsr::default());
        engine.note_off(57);
        play(&mut engine, 1.0);
        engine.note_on(57, 1.0);
        let peak = play(&mut engine, 1.0);
        assert!(
            peak > 0.05,
            "envelope value {bad}: peak {peak} after sane values came back"
        );
        engine.note_off(57);
        play(&mut engine, 1.0);
    }
}

/// Synth mode: extreme notes, velocities and pitch bends stay finite, and a normal note
/// afterwards plays at its pitch.
#[test]
fn extreme_notes_and_bends_do_not_poison_the_synth() {
    let model = wired_model(true);
    let (mut engine, _factory) = Engine::prepare(&model, RATE, 512).unwrap();
    engine.set_params(&Params {
        reverb_percent: 0.0,
        ..Params::default()
    });
    engine.set_mode(timbre_engine::Mode::Notes);
    let mut out = vec![0.0f32; (RATE * 0.5) as usize];
    let mut right = vec![0.0f32; out.len()];
    for (note, velocity, bend) in [
        (0u8, 1.0f32, -1e6f32),
        (255, 1.0, 1e6),
        (127, f32::NAN, f32::NAN),
        (127, f32::INFINITY, 48.0),
        (0, -5.0, f32::NEG_INFINITY),
    ] {
        engine.note_on(note, velocity);
        engine.pitch_bend(bend);
        for (l, r) in out.chunks_mut(512).zip(right.chunks_mut(512)) {
            engine.process(&[], l, r);
        }
        assert!(bad_sample(&out).is_none(), "note {note}, bend {bend}");
        engine.note_off(note);
    }
    engine.pitch_bend(0.0);
    engine.note_on(57, 1.0);
    let mut tone = vec![0.0f32; RATE as usize];
    let mut right = vec![0.0f32; tone.len()];
    for (l, r) in tone.chunks_mut(512).zip(right.chunks_mut(512)) {
        engine.process(&[], l, r);
    }
    let (err, voiced) = pitch_error(&tone, RATE, 220.0, 50);
    assert!(voiced > 100 && err < 5.0, "{voiced} voiced, {err} cents");
}

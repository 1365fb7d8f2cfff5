//! The engine end to end: pitch and loudness follow the input, the latency is the reported
//! one, the gate silences noise, auto-adjust moves a low voice into the model's range, the
//! output does not depend on the block size, and processing allocates nothing.

mod common;

use common::*;
use timbre_engine::offline::{render, Rendered};
use timbre_engine::{Engine, Mode, Params};
use timbre_model::testing::random_model;
use timbre_model::{Architecture, ModelFile};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

const RATE: f64 = 48_000.0;

/// Renders one mono signal offline at [`RATE`].
fn render_one(model: &ModelFile, params: &Params, input: &[f32]) -> Rendered {
    render(model, params, &[input.to_vec()], RATE, |_, _| {}).unwrap()
}

fn no_reverb() -> Params {
    Params {
        reverb_percent: 0.0,
        ..Params::default()
    }
}

/// A 3 s phrase: notes with vibrato and glides, steady loudness with swells.
fn phrase(sample_rate: f64) -> (Vec<f32>, Vec<(f64, f64)>) {
    let notes = vec![
        (57.0, 0.5),
        (60.0, 0.4),
        (64.0, 0.6),
        (62.0, 0.5),
        (69.0, 1.0),
    ];
    let f0 = melody(&notes, 30.0);
    let samples = sawtooth(sample_rate, 3.0, f0, |t| {
        0.4 + 0.3 * (2.0 * std::f64::consts::PI * 0.7 * t).sin()
    });
    (samples, notes)
}

/// Median cents error of the output's f0 against the input's, on frames voiced in both.
fn pitch_error_cents(input: &[f32], output: &[f32], shift_cents: f32) -> (f32, usize) {
    let fi = frames(input, RATE);
    let fo = frames(output, RATE);
    let errors: Vec<f32> = fi
        .iter()
        .zip(&fo)
        .skip(40) // the first 160 ms: decoder and gate warm-up
        .filter(|(a, b)| a.confidence > 0.8 && b.confidence > 0.8)
        .map(|(a, b)| (cents(b.f0_hz, a.f0_hz) - shift_cents).abs())
        .collect();
    (median(&errors), errors.len())
}

#[test]
fn output_pitch_follows_input_with_vibrato_and_glides() {
    let (input, _) = phrase(RATE);
    let model = wired_model(false);
    let out = render_one(&model, &no_reverb(), &input);
    let (err, n) = pitch_error_cents(&input, &out.left, 0.0);
    assert!(n > 500, "only {n} frames voiced in both");
    assert!(err <= 10.0, "median pitch error {err:.2} cents");
    assert_eq!(out.left, out.right);
    assert_eq!(out.left.len(), input.len());
}

#[test]
fn twelve_semitones_up_doubles_the_pitch() {
    let (input, _) = phrase(RATE);
    let model = wired_model(false);
    let params = Params {
        semitones: 12.0,
        ..no_reverb()
    };
    let out = render_one(&model, &params, &input);
    let (err, n) = pitch_error_cents(&input, &out.left, 1200.0);
    assert!(n > 500, "only {n} frames voiced in both");
    assert!(err <= 10.0, "median error from +1200 cents: {err:.2}");
}

#[test]
fn loudness_envelope_follows_input() {
    let (input, _) = phrase(RATE);
    let model = wired_model(false);
    let out = render_one(&model, &no_reverb(), &input);
    let li: Vec<f32> = frames(&input, RATE).iter().map(|f| f.loudness_db).collect();
    let lo: Vec<f32> = frames(&out.left, RATE)
        .iter()
        .map(|f| f.loudness_db)
        .collect();
    let r = correlation(&li[40..], &lo[40..]);
    assert!(r >= 0.9, "loudness correlation {r:.3}");
}

#[test]
fn gate_silences_noise_only_input() {
    let mut rng = 12345u32;
    let noise: Vec<f32> = (0..(RATE as usize * 2))
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            0.3 * ((rng >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0)
        })
        .collect();
    let model = wired_model(false);
    let out = render(&model, &no_reverb(), &[noise], RATE, |_, _| {}).unwrap();
    let tail = &out.left[out.left.len() / 4..];
    let rms = (tail.iter().map(|x| x * x).sum::<f32>() / tail.len() as f32).sqrt();
    // The ungated wired model plays about 0.3 RMS at this level; gated it must be silent.
    assert!(rms < 1e-3, "noise in gave {rms} RMS out");

    let ungated = Params {
        gate: 0.0,
        ..no_reverb()
    };
    let (voice, _) = phrase(RATE);
    let open = render(&model, &ungated, &[voice], RATE, |_, _| {}).unwrap();
    let rms_open = (open.left.iter().map(|x| x * x).sum::<f32>() / open.left.len() as f32).sqrt();
    assert!(rms_open > 0.05, "a voiced input must sound: {rms_open}");
}

#[test]
fn auto_adjust_moves_a_low_voice_into_the_model_range() {
    // Around C3 (MIDI 48); the model's training mean is MIDI 60 (placeholder stats).
    let notes = [(47.0, 0.8), (50.0, 0.8), (48.0, 1.4)];
    let input = sawtooth(RATE, 3.0, melody(&notes, 20.0), |_| 0.5);
    let model = wired_model(false);
    let params = Params {
        auto_adjust: true,
        ..no_reverb()
    };
    let out = render_one(&model, &params, &input);
    // Expect +1 octave once the running mean has settled (after 0.5 s).
    let fi = frames(&input, RATE);
    let fo = frames(&out.left, RATE);
    let errors: Vec<f32> = fi
        .iter()
        .zip(&fo)
        .skip(125)
        .filter(|(a, b)| a.confidence > 0.8 && b.confidence > 0.8)
        .map(|(a, b)| (cents(b.f0_hz, a.f0_hz) - 1200.0).abs())
        .collect();
    assert!(errors.len() > 300);
    assert!(median(&errors) < 10.0, "median {}", median(&errors));
}

/// Renders `input` at 48 kHz in 256-sample blocks without latency compensation; returns the
/// output and the reported latency in samples.
fn render_raw(model: &timbre_model::ModelFile, input: &[f32]) -> (Vec<f32>, f64) {
    let (mut engine, _factory) = Engine::prepare(model, RATE, 256).unwrap();
    engine.set_params(&no_reverb());
    engine.reset();
    let (left, _) = process_blocks(&mut engine, input, 256);
    (left, engine.latency_samples() as f64)
}

/// The lag (in samples, searched over 0..max_lag) that best aligns `output` with `input`
/// (both sampled every `step` samples): the maximum of their correlation.
fn best_lag(input: &[f32], output: &[f32], step: usize, max_lag: usize) -> f64 {
    let mut best = (f32::MIN, 0);
    for lag in 0..max_lag / step {
        let n = input.len() - lag;
        let r = correlation(&input[..n], &output[lag..lag + n]);
        if r > best.0 {
            best = (r, lag);
        }
    }
    (best.1 * step) as f64
}

#[test]
fn reported_latency_matches_pitch_and_loudness_movements() {
    let step = 16; // resolution of the measured curves, in samples
    let hop = RATE / 250.0;
    // Pitch: 5 Hz vibrato of ±1 semitone around 300 Hz. The wired model plays a pure
    // fundamental, so the output's frequency is read from its zero crossings, independently of
    // the pitch tracker.
    let f0 = |t: f64| 300.0 * 2f64.powf((2.0 * std::f64::consts::PI * 5.0 * t).sin() / 12.0);
    let input = sawtooth(RATE, 3.0, f0, |_| 0.5);
    let (out, latency) = render_raw(&wired_model(true), &input);
    let crossings = upward_zero_crossings(&out);
    // Output frequency on a grid of `step` samples, from 0.5 s on.
    let start = (0.5 * RATE) as usize;
    let grid: Vec<usize> = (start..out.len() - 4_000).step_by(step).collect();
    let mut out_f = Vec::with_capacity(grid.len());
    let mut c = 0;
    for &n in &grid {
        while c + 2 < crossings.len() && crossings[c + 1] < n as f64 {
            c += 1;
        }
        out_f.push((RATE / (crossings[c + 1] - crossings[c])) as f32);
    }
    let in_f: Vec<f32> = grid.iter().map(|&n| f0(n as f64 / RATE) as f32).collect();
    let lag = best_lag(&in_f, &out_f, step, 3_000);
    assert!(
        (lag - latency).abs() <= hop,
        "pitch movement seen after {lag} samples, reported latency {latency} (hop {hop})"
    );

    // Loudness: a 3 Hz tremolo of ±12 dB; the output's level (RMS over 2 ms) follows it.
    let db = |t: f64| -12.0 + 12.0 * (2.0 * std::f64::consts::PI * 3.0 * t).sin();
    let input = sawtooth(RATE, 3.0, |_| 300.0, |t| 10f64.powf(db(t) / 20.0));
    let (out, latency) = render_raw(&wired_model(true), &input);
    let level = |x: &[f32], n: usize| {
        let w = &x[n - 48..n + 48];
        10.0 * (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32 + 1e-12).log10()
    };
    let in_l: Vec<f32> = grid.iter().map(|&n| level(&input, n)).collect();
    let out_l: Vec<f32> = grid.iter().map(|&n| level(&out, n)).collect();
    let lag = best_lag(&in_l, &out_l, step, 3_000);
    assert!(
        (lag - latency).abs() <= hop,
        "loudness movement seen after {lag} samples, reported latency {latency} (hop {hop})"
    );
    // The promise: at most 20 ms at 48 kHz with the default settings.
    assert!(
        latency / RATE <= 0.020,
        "latency {:.1} ms",
        latency / RATE * 1e3
    );
}

/// Renders `input` with the given block sizes (cycled) and returns the left channel.
fn render_blocks(model: &timbre_model::ModelFile, input: &[f32], blocks: &[usize]) -> Vec<f32> {
    let (mut engine, _s) = Engine::prepare(model, 44_100.0, 512).unwrap();
    let mut left = vec![0.0f32; input.len()];
    let mut right = vec![0.0f32; input.len()];
    let mut pos = 0;
    let mut sizes = blocks.iter().cycle();
    while pos < input.len() {
        let n = (*sizes.next().unwrap()).min(input.len() - pos);
        engine.process(
            &[&input[pos..pos + n]],
            &mut left[pos..pos + n],
            &mut right[pos..pos + n],
        );
        pos += n;
    }
    left
}

#[test]
fn output_is_identical_for_block_sizes_1_64_and_4096() {
    let (input, _) = phrase(44_100.0);
    let input = &input[..44_100];
    let model = random_model(&Architecture::default(), 5);
    let reference = render_blocks(&model, input, &[64]);
    assert!(reference.iter().any(|&x| x.abs() > 1e-3), "silent render");
    for blocks in [vec![1], vec![4096], vec![1, 13, 700, 64, 4096, 5]] {
        let other = render_blocks(&model, input, &blocks);
        let worst = reference
            .iter()
            .zip(&other)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-6, "blocks {blocks:?}: differs by {worst}");
    }
}

#[test]
fn process_never_allocates_including_model_swaps() {
    let model = random_model(&Architecture::default(), 7);
    let other = random_model(&Architecture::default(), 8);
    let (mut engine, mut factory) = Engine::prepare(&model, RATE, 1024).unwrap();
    let (input, _) = phrase(RATE);
    let mut left = vec![0.0f32; 1024];
    let mut right = vec![0.0f32; 1024];
    let mut pos = 0;
    for i in 0..120 {
        if i % 20 == 5 {
            // Built off the "audio thread" (outside the counted region).
            let voice = factory.build(if i % 40 == 5 { &other } else { &model });
            factory.send(voice.unwrap()).ok().unwrap();
        }
        let n = 1 + (i * 97) % 1024;
        let chunk = &input[pos % (input.len() - 1024)..][..n];
        let params = Params {
            semitones: (i % 5) as f32,
            output_gain_db: -((i % 7) as f32),
            ..Params::default()
        };
        let count = allocations_during(|| {
            engine.set_params(&params);
            engine.process(&[chunk, chunk], &mut left[..n], &mut right[..n]);
        });
        assert_eq!(count, 0, "block {i} allocated");
        factory.collect_garbage();
        pos += n;
    }
    engine.set_mode(Mode::Notes);
    let count = allocations_during(|| {
        engine.note_on(60, 0.8);
        engine.process(&[], &mut left, &mut right);
        engine.note_off(60);
        engine.process(&[], &mut left, &mut right);
    });
    assert_eq!(count, 0, "synth mode allocated");
}

#[test]
fn model_swap_crossfades_without_a_click() {
    let a = wired_model(false);
    let b = random_model(&Architecture::default(), 9);
    let (mut engine, mut factory) = Engine::prepare(&a, RATE, 128).unwrap();
    engine.set_params(&no_reverb());
    let input = sawtooth(RATE, 2.0, |_| 330.0, |_| 0.5);
    let mut out = vec![0.0f32; input.len()];
    let mut right = vec![0.0f32; 128];
    for (k, (i, o)) in input.chunks(128).zip(out.chunks_mut(128)).enumerate() {
        if k == 400 {
            factory.send(factory.build(&b).unwrap()).ok().unwrap();
        }
        engine.process(&[i], o, &mut right[..i.len()]);
    }
    assert_eq!(engine.model_name(), b.metadata().name);
    // The largest sample-to-sample step around the swap is no larger than in steady play.
    let jump = |s: &[f32]| {
        s.windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0f32, f32::max)
    };
    let swap = 400 * 128;
    let around = jump(&out[swap - 2_000..swap + 3_000]);
    let steady = jump(&out[20_000..40_000]).max(jump(&out[70_000..90_000]));
    assert!(
        around <= steady * 1.5,
        "step {around} around the swap vs {steady} in steady play"
    );
}

#[test]
fn synth_mode_plays_the_note_pitch() {
    let model = wired_model(false);
    let (mut engine, _s) = Engine::prepare(&model, RATE, 512).unwrap();
    engine.set_params(&no_reverb());
    engine.set_mode(Mode::Notes);
    engine.note_on(57, 1.0); // A3 = 220 Hz
    let mut out = vec![0.0f32; RATE as usize];
    let mut right = vec![0.0f32; out.len()];
    for (l, r) in out.chunks_mut(512).zip(right.chunks_mut(512)) {
        engine.process(&[], l, r);
    }
    let f = frames(&out, RATE);
    let voiced: Vec<f32> = f[50..]
        .iter()
        .filter(|x| x.confidence > 0.8)
        .map(|x| cents(x.f0_hz, 220.0).abs())
        .collect();
    assert!(voiced.len() > 150, "{} voiced frames", voiced.len());
    assert!(median(&voiced) < 5.0, "median {} cents", median(&voiced));
}

#[test]
fn hostile_input_gives_finite_bounded_output() {
    let model = random_model(&Architecture::default(), 11);
    let (mut engine, _s) = Engine::prepare(&model, RATE, 512).unwrap();
    let mut input = vec![0.0f32; 512];
    let mut l = vec![0.0f32; 512];
    let mut r = vec![0.0f32; 512];
    for k in 0..200 {
        for (i, x) in input.iter_mut().enumerate() {
            *x = match (k + i) % 6 {
                0 => f32::NAN,
                1 => f32::INFINITY,
                2 => f32::NEG_INFINITY,
                3 => 1e-40,
                4 => 1e30,
                _ => 0.9,
            };
        }
        engine.process(&[&input], &mut l, &mut r);
        assert!(
            l.iter()
                .all(|x| x.is_finite() && x.abs() <= timbre_engine::OUTPUT_CEILING),
            "block {k}"
        );
    }
}

#[test]
fn bad_configurations_are_refused_with_typed_errors() {
    let model = random_model(&Architecture::default(), 1);
    assert!(matches!(
        Engine::prepare(&model, 500.0, 512),
        Err(timbre_engine::EngineError::UnsupportedSampleRate(_))
    ));
    assert!(matches!(
        Engine::prepare(&model, f64::NAN, 512),
        Err(timbre_engine::EngineError::UnsupportedSampleRate(_))
    ));
    assert!(matches!(
        Engine::prepare(&model, 48_000.0, 0),
        Err(timbre_engine::EngineError::InvalidBlockSize)
    ));
    assert!(matches!(
        Engine::prepare(&model, 3_000_000.0, 512),
        Err(timbre_engine::EngineError::UnsupportedSampleRate(_))
    ));
    for rate in [22_050.0, 32_000.0, 37_000.0, 88_200.0, 192_000.0] {
        assert!(Engine::prepare(&model, rate, 64).is_ok(), "{rate}");
    }
}

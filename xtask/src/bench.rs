//! `cargo xtask bench [--json]`: the numbers the README quotes, measured in one run.
//!
//! - decoder real-time factor: 1,000 frames (4 s at 250 frames/s) streamed through
//!   DDSP-CNN-Tiny, channels 8 and 16, f32 and int8;
//! - engine real-time factor at 48 kHz in 128-sample blocks (60 harmonics, 65 bands, a 1 s
//!   reverb IR, default parameters) on one thread, and the worst block against the median;
//! - the same engine morphing halfway to a 16-channel model, with the knob held and swept;
//! - the engine playing the shipped default model (the violin) at its recommended settings;
//! - the engine's reported latency at 48 kHz with the default model (the violin, whose body
//!   counts in it), with Low latency on, and with the lowest note at 160 Hz; and each shipped
//!   model's at the defaults;
//! - with `--browser`: the engine's real-time factor in headless Chromium next to the native
//!   one on the same model and signal (see `web.rs`).
//!
//! Each figure is the median of several repetitions. With `--json`, the last line is one
//! JSON object with every figure.

use std::hint::black_box;
use std::time::Instant;

use timbre_engine::{Engine, Params};
use timbre_model::testing::random_model;
use timbre_model::{Architecture, Decoder, ModelFile};

use crate::error::TaskError;

const FRAMES: usize = 1_000;
const FRAME_RATE: f64 = 250.0;
const RATE: f64 = 48_000.0;
const BLOCK: usize = 128;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Median seconds to stream 1,000 frames through `model`.
fn decoder_seconds(model: &ModelFile) -> f64 {
    let mut decoder = Decoder::new(model);
    let inputs: Vec<(f32, f32)> = (0..FRAMES)
        .map(|i| {
            let t = i as f32 / FRAMES as f32;
            (0.45 + 0.1 * (t * 20.0).sin(), 0.5 + 0.3 * (t * 7.0).cos())
        })
        .collect();
    let mut run = || {
        decoder.reset();
        let start = Instant::now();
        for &(f0, loudness) in &inputs {
            black_box(decoder.step(black_box(f0), black_box(loudness)));
        }
        start.elapsed().as_secs_f64()
    };
    for _ in 0..50 {
        run();
    }
    median((0..400).map(|_| run()).collect())
}

/// A default-shaped model with `channels` decoder channels and a 1 s reverb IR.
fn bench_model(channels: usize) -> ModelFile {
    bench_model_with(Architecture {
        channels,
        ..Architecture::default()
    })
}

/// [`bench_model`] with any architecture.
fn bench_model_with(arch: Architecture) -> ModelFile {
    let model = random_model(&arch, 42);
    let (meta, mut weights) = model.into_parts();
    let ir_rate = meta.reverb_sample_rate_hz as usize;
    weights.reverb_ir = (0..ir_rate)
        .map(|i| {
            0.02 * (-(i as f32) / (0.3 * ir_rate as f32)).exp()
                * ((i * 7919 % 200) as f32 / 100.0 - 1.0)
        })
        .collect();
    ModelFile::new(meta, weights).expect("bench model")
}

struct EngineFigures {
    rtf: f64,
    max_over_median: f64,
    p99_over_median: f64,
}

/// How the Morph knob moves while the engine is measured.
#[derive(Clone, Copy, PartialEq)]
enum Knob {
    /// Held where it is set.
    Held,
    /// Swept between 20 % and 80 % and back every 2 s, set every block (the room moves all
    /// the time).
    Swept,
}

/// The engine's figures playing `model` with `params`, morphed toward `morph_to` when given
/// (both decoders and the blend run on every frame): halfway, or swept by `knob`.
fn engine_figures(
    model: &ModelFile,
    morph_to: Option<&ModelFile>,
    knob: Knob,
    mut params: Params,
) -> EngineFigures {
    let (mut engine, mut factory) = Engine::prepare(model, RATE, BLOCK).expect("engine");
    if let Some(b) = morph_to {
        let voice = factory.build(b).expect("model B");
        assert!(factory.send_morph(voice).is_ok(), "fresh ring");
        params.morph = 0.5;
    }
    engine.set_params(&params);
    // A sung-like input: a sawtooth melody with vibrato.
    let seconds = 10.0;
    let n = (RATE * seconds) as usize;
    let mut phase = 0.0f64;
    let input: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            let f = 220.0
                * 2f64.powf(((t * 2.0) as usize % 5) as f64 / 12.0)
                * (1.0 + 0.01 * (t * 2.0 * std::f64::consts::PI * 5.5).sin());
            phase = (phase + f / RATE).fract();
            (0.3 * (2.0 * phase - 1.0)) as f32
        })
        .collect();
    let mut left = [0.0f32; BLOCK];
    let mut right = [0.0f32; BLOCK];
    // Warm-up pass, then a timed pass recording every block.
    for chunk in input.chunks_exact(BLOCK).take(2_000) {
        engine.process(&[chunk], &mut left, &mut right);
    }
    let mut totals = Vec::new();
    let mut block_times = Vec::with_capacity(n / BLOCK);
    for _ in 0..3 {
        engine.reset();
        let start = Instant::now();
        for (i, chunk) in input.chunks_exact(BLOCK).enumerate() {
            let t = Instant::now();
            if knob == Knob::Swept {
                let seconds = (i * BLOCK) as f64 / RATE;
                params.morph = (0.5 - 0.3 * (std::f64::consts::PI * seconds).cos()) as f32;
                engine.set_params(&params);
            }
            engine.process(&[chunk], &mut left, &mut right);
            block_times.push(t.elapsed().as_secs_f64());
        }
        totals.push(start.elapsed().as_secs_f64());
        black_box(&left);
    }
    let med_block = median(block_times.clone());
    // The worst block of the best pass, so a single OS preemption in one pass does not count
    // as the engine's.
    let per_pass = block_times.len() / 3;
    let worst = (0..3)
        .map(|p| {
            block_times[p * per_pass..(p + 1) * per_pass]
                .iter()
                .cloned()
                .fold(0.0, f64::max)
        })
        .fold(f64::INFINITY, f64::min);
    let mut sorted = block_times.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p99 = sorted[sorted.len() * 99 / 100];
    EngineFigures {
        rtf: seconds / median(totals),
        max_over_median: worst / med_block,
        p99_over_median: p99 / med_block,
    }
}

/// Runs the benchmarks; prints a table, and with `--json` a JSON object on the last line.
pub fn run(args: &[String]) -> Result<(), TaskError> {
    let json = args.iter().any(|a| a == "--json");
    if cfg!(debug_assertions) {
        eprintln!("warning: xtask was built without optimizations; figures are meaningless");
    }
    let audio_seconds = FRAMES as f64 / FRAME_RATE;
    let mut figures = serde_json::Map::new();
    let mut put = |key: &str, value: f64| {
        figures.insert(
            key.to_string(),
            serde_json::json!((value * 100.0).round() / 100.0),
        );
    };
    println!("decoder: 1,000 frames (4 s of audio), streaming, one thread");
    for channels in [8usize, 16] {
        let arch = Architecture {
            channels,
            ..Architecture::default()
        };
        let f32_model = random_model(&arch, 1);
        let int8_model = f32_model.quantize_int8();
        let f32_s = decoder_seconds(&f32_model);
        let int8_s = decoder_seconds(&int8_model);
        println!(
            "  channels {channels:2}: f32 {:8.2} µs ({:7.0}x real-time)   int8 {:8.2} µs ({:7.0}x real-time)",
            f32_s * 1e6,
            audio_seconds / f32_s,
            int8_s * 1e6,
            audio_seconds / int8_s
        );
        let suffix = if channels == 8 { "" } else { "_ch16" };
        put(&format!("decoder_rtf_f32{suffix}"), audio_seconds / f32_s);
        put(&format!("decoder_rtf_int8{suffix}"), audio_seconds / int8_s);
    }
    let engine = engine_figures(&bench_model(8), None, Knob::Held, Params::default());
    println!(
        "engine at 48 kHz, 128-sample blocks, 60 harmonics, 65 bands, 1 s reverb: {:.0}x real-time; worst block {:.2}x the median (99th percentile {:.2}x)",
        engine.rtf, engine.max_over_median, engine.p99_over_median
    );
    // The saxophone ships a 16-channel decoder: the same engine with it.
    let engine16 = engine_figures(&bench_model(16), None, Knob::Held, Params::default());
    println!(
        "engine with a 16-channel decoder: {:.0}x real-time ({:.2}x the 8-channel engine's time)",
        engine16.rtf,
        engine.rtf / engine16.rtf
    );
    put("engine_rtf_48k_ch16", engine16.rtf);
    // The cello ships a 32-channel decoder with 100 harmonics.
    let cello = bench_model_with(Architecture {
        channels: 32,
        n_harmonics: 100,
        ..Architecture::default()
    });
    let engine32 = engine_figures(&cello, None, Knob::Held, Params::default());
    println!(
        "engine with a 32-channel decoder and 100 harmonics (the cello's): {:.0}x real-time ({:.2}x the 8-channel engine's time)",
        engine32.rtf,
        engine.rtf / engine32.rtf
    );
    put("engine_rtf_48k_ch32", engine32.rtf);
    // The morph halfway to a second model (16 channels): two decoders, one blended room; and
    // with the knob moving all the time, so the room's spectra move too.
    for (what, knob, key) in [
        (
            "engine morphing halfway to a 16-channel model",
            Knob::Held,
            "engine_rtf_48k_morph",
        ),
        (
            "  the morph swept 20-80 % every 2 s",
            Knob::Swept,
            "engine_rtf_48k_morph_swept",
        ),
    ] {
        let morph = engine_figures(
            &bench_model(8),
            Some(&bench_model(16)),
            knob,
            Params::default(),
        );
        println!(
            "{what}: {:.0}x real-time ({:.2}x the plain engine's time); worst block {:.2}x the median",
            morph.rtf,
            engine.rtf / morph.rtf,
            morph.max_over_median
        );
        put(key, morph.rtf);
    }
    // The shortest window (tracked undecimated, see `timbre_dsp::analysis`), and a long one
    // (decimated, with the loudness meter's own transform: the cello's recommended setting).
    let lowest = |lowest_note_hz: f32| Params {
        lowest_note_hz,
        ..Params::default()
    };
    let lowest_160 = lowest(160.0);
    for (lowest_hz, key) in [
        (160.0, "engine_rtf_48k_lowest_160"),
        (60.0, "engine_rtf_48k_lowest_60"),
    ] {
        let params = lowest(lowest_hz);
        let ranged = engine_figures(&bench_model(8), None, Knob::Held, params);
        println!(
            "engine with the lowest note at {lowest_hz} Hz: {:.0}x real-time ({:.2}x the default's time)",
            ranged.rtf,
            engine.rtf / ranged.rtf,
        );
        put(key, ranged.rtf);
    }
    // Humanize at 100 % (its drift is worked out once per frame).
    let humanized = Params {
        humanize_percent: 100.0,
        ..Params::default()
    };
    let human = engine_figures(&bench_model(8), None, Knob::Held, humanized);
    println!(
        "engine with Humanize at 100 %: {:.0}x real-time ({:.2}x the default's time)",
        human.rtf,
        engine.rtf / human.rtf
    );
    put("engine_rtf_48k_humanize", human.rtf);
    put("engine_rtf_48k", engine.rtf);
    put("engine_block_max_over_median", engine.max_over_median);
    put("engine_block_p99_over_median", engine.p99_over_median);
    let latency = |model: &ModelFile, params: Params| -> Result<f64, TaskError> {
        let (mut engine, _) = Engine::prepare(model, RATE, BLOCK)?;
        engine.set_params(&params);
        Ok(engine.latency_samples() as f64 / RATE * 1e3)
    };
    let (violin, _) = timbre_catalog::resolve(timbre_catalog::DEFAULT_MODEL)?;
    // The shipped default model at its recommended settings: what a musician's track costs.
    let shipped = engine_figures(
        &violin,
        None,
        Knob::Held,
        Params::recommended(violin.metadata()),
    );
    println!(
        "engine playing the default model ({}) at its recommended settings: {:.0}x real-time ({:.2}x the bench model's time)",
        violin.metadata().name,
        shipped.rtf,
        engine.rtf / shipped.rtf
    );
    put("engine_rtf_48k_default_model", shipped.rtf);
    let settings = [
        ("latency_ms_48k", Params::default()),
        (
            "latency_ms_48k_low_latency",
            Params {
                low_latency: true,
                ..Params::default()
            },
        ),
        ("latency_ms_48k_lowest_160", lowest_160),
        (
            "latency_ms_48k_low_latency_lowest_160",
            Params {
                low_latency: true,
                ..lowest_160
            },
        ),
    ];
    for (key, params) in settings {
        let ms = latency(&violin, params)?;
        println!(
            "{key} (the default model, {}): {ms:.2} ms",
            violin.metadata().name
        );
        put(key, ms);
    }
    for (name, _) in timbre_catalog::embedded_models()
        .iter()
        .filter(|(n, _)| !timbre_catalog::TEST_FIXTURES.contains(n))
    {
        let (model, _) = timbre_catalog::resolve(name)?;
        for (suffix, low_latency) in [("", false), ("_low_latency", true)] {
            let ms = latency(
                &model,
                Params {
                    low_latency,
                    ..Params::default()
                },
            )?;
            println!("latency at 48 kHz, {name}{suffix}: {ms:.2} ms");
            put(&format!("latency_ms_48k_{name}{suffix}"), ms);
        }
    }
    if args.iter().any(|a| a == "--browser") {
        let page = crate::web::build(&crate::workspace_root().join("target/web"))?;
        let (browser, native) = crate::web::browser_vs_native(&page)?;
        crate::web::print_comparison(browser, native);
        put("engine_rtf_48k_browser", browser);
        put("engine_rtf_48k_native_same_model", native);
    }
    if json {
        println!("{}", serde_json::Value::Object(figures));
    }
    Ok(())
}

//! The morph: model B blended into model A by the Morph knob. Its ends are exactly the two
//! models alone, a sweep has no level dip or click, halfway lies between the two in spectrum,
//! a B that arrives mid-phrase fades in, and nothing allocates.

mod common;

use common::*;
use timbre_engine::offline::{render, render_morph};
use timbre_engine::voice::Voice;
use timbre_engine::{Engine, Params};
use timbre_model::testing::random_model;
use timbre_model::{Architecture, ModelFile};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

const RATE: f64 = 48_000.0;
const BLOCK: usize = 256;

/// Two models with clearly different timbres: a pure fundamental and a bright slope.
fn pair() -> (ModelFile, ModelFile) {
    (wired_model(true), wired_model(false))
}

fn at(morph: f32) -> Params {
    Params {
        morph,
        ..Params::default()
    }
}

/// A sung-like line: notes with vibrato and glides, a swell.
fn phrase() -> Vec<f32> {
    let notes = [(57.0, 0.6), (62.0, 0.5), (64.0, 0.7), (60.0, 0.7)];
    sawtooth(RATE, 2.5, melody(&notes, 30.0), |t| {
        0.3 + 0.2 * (2.0 * std::f64::consts::PI * 0.5 * t).sin()
    })
}

/// `model` with its reverb IR cut to `fraction` of its length.
fn shorter_room(model: ModelFile, fraction: f32) -> ModelFile {
    let (meta, mut weights) = model.into_parts();
    let len = (weights.reverb_ir.len() as f32 * fraction) as usize;
    weights.reverb_ir.truncate(len);
    ModelFile::new(meta, weights).unwrap()
}

/// Whether the engine blends `b`'s room into `a`'s (same reverb layout) rather than playing
/// the two reverbs side by side.
fn rooms_blend(a: &ModelFile, b: &ModelFile) -> bool {
    let voice = |m: &ModelFile| Voice::new(m, RATE, BLOCK).unwrap();
    voice(a).blends_with(&voice(b))
}

#[test]
fn morph_ends_are_exactly_the_two_models_alone() {
    let input = phrase();
    let random = |seed| random_model(&Architecture::default(), seed);
    let models = [
        pair(),
        (random(3), random(8)),
        // Reverbs of different lengths: B's room plays beside A's instead of blending.
        (random(3), shorter_room(random(8), 0.3)),
    ];
    let blending: Vec<bool> = models.iter().map(|(a, b)| rooms_blend(a, b)).collect();
    assert_eq!(blending, [true, true, false]);
    for (a, b) in models {
        for auto_adjust in [false, true] {
            let with = |morph: f32| Params {
                morph,
                auto_adjust,
                ..Params::default()
            };
            let alone = |m: &ModelFile| {
                render(m, &with(0.0), std::slice::from_ref(&input), RATE, |_, _| {})
            };
            let morphed = |m: f32| {
                render_morph(
                    &a,
                    Some(&b),
                    &with(m),
                    std::slice::from_ref(&input),
                    RATE,
                    |_, _| {},
                )
            };
            let (alone_a, alone_b) = (alone(&a).unwrap(), alone(&b).unwrap());
            assert_ne!(alone_a.left, alone_b.left, "the two models sound alike");
            assert_eq!(
                morphed(0.0).unwrap(),
                alone_a,
                "morph 0 is not model A alone"
            );
            assert_eq!(
                morphed(1.0).unwrap(),
                alone_b,
                "morph 1 is not model B alone"
            );
        }
    }
}

/// Level in dB of `x` over `n` samples centred on `at`.
fn level_db(x: &[f32], at: usize, n: usize) -> f32 {
    let w = &x[at - n / 2..at + n / 2];
    10.0 * (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32 + 1e-12).log10()
}

/// Renders a steady note with the Morph knob at `morph(t)` (0..1), set every block.
fn render_knob(
    a: &ModelFile,
    b: &ModelFile,
    input: &[f32],
    morph: impl Fn(f64) -> f32,
) -> Vec<f32> {
    let (mut engine, mut factory) = Engine::prepare(a, RATE, BLOCK).unwrap();
    factory.send_morph(factory.build(b).unwrap()).ok().unwrap();
    let mut out = vec![0.0f32; input.len()];
    let mut right = vec![0.0f32; BLOCK];
    for (pos, chunk) in input.chunks(BLOCK).enumerate() {
        let start = pos * BLOCK;
        engine.set_params(&at(morph(start as f64 / RATE)));
        let n = chunk.len();
        engine.process(&[chunk], &mut out[start..start + n], &mut right[..n]);
    }
    out
}

#[test]
fn a_sweep_of_the_knob_stays_level_and_clickless() {
    // A steady 220 Hz note; the knob sweeps 0 → 100% from 1 s to 3 s.
    let input = sawtooth(RATE, 4.0, |_| 220.0, |_| 0.4);
    let knob = |t: f64| ((t - 1.0) / 2.0).clamp(0.0, 1.0) as f32;
    for (name, (a, b)) in [
        ("wired", pair()),
        (
            "random",
            (
                random_model(&Architecture::default(), 3),
                random_model(&Architecture::default(), 8),
            ),
        ),
    ] {
        let sweep = render_knob(&a, &b, &input, knob);
        let only_a = render_knob(&a, &b, &input, |_| 0.0);
        let only_b = render_knob(&a, &b, &input, |_| 1.0);
        let window = (0.05 * RATE) as usize;
        let mut worst = 0.0f32;
        for k in 0..=20 {
            let t = 1.0 + 2.0 * k as f64 / 20.0;
            let pos = (t * RATE) as usize;
            let m = knob(t);
            let (la, lb) = (
                level_db(&only_a, pos, window),
                level_db(&only_b, pos, window),
            );
            let expected = la * (1.0 - m) + lb * m;
            let got = level_db(&sweep, pos, window);
            worst = worst.max((got - expected).abs());
        }
        println!("{name}: sweep level at most {worst:.2} dB off the end points' interpolation");
        assert!(worst <= 1.5, "{name}: sweep level {worst:.2} dB off");
        // No click: the largest sample-to-sample step of the sweep is no larger than the ends'.
        let step = |x: &[f32]| {
            x[(0.5 * RATE) as usize..(3.5 * RATE) as usize]
                .windows(2)
                .fold(0.0f32, |m, w| m.max((w[1] - w[0]).abs()))
        };
        let ends = step(&only_a).max(step(&only_b));
        assert!(
            step(&sweep) <= ends * 1.05,
            "{name}: sweep step {} against {ends}",
            step(&sweep)
        );
    }
}

/// Power of `x` at `hz` (a Goertzel-style correlation over the whole slice).
fn power_at(x: &[f32], hz: f64) -> f64 {
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (i, &v) in x.iter().enumerate() {
        let p = 2.0 * std::f64::consts::PI * hz * i as f64 / RATE;
        re += v as f64 * p.cos();
        im += v as f64 * p.sin();
    }
    (re * re + im * im) / (x.len() as f64).powi(2)
}

#[test]
fn halfway_lies_between_the_two_in_spectrum() {
    let input = sawtooth(RATE, 2.0, |_| 220.0, |_| 0.4);
    let (a, b) = pair();
    let dry = |m: f32| Params {
        morph: m,
        reverb_percent: 0.0,
        ..Params::default()
    };
    let steady = |m: f32| {
        let r = render_morph(
            &a,
            Some(&b),
            &dry(m),
            std::slice::from_ref(&input),
            RATE,
            |_, _| {},
        )
        .unwrap();
        r.left[(0.5 * RATE) as usize..(1.5 * RATE) as usize].to_vec()
    };
    let (la, half, lb) = (steady(0.0), steady(0.5), steady(1.0));
    let mut between = 0;
    for h in 1..=12 {
        let hz = 220.0 * h as f64;
        let (pa, pm, pb) = (power_at(&la, hz), power_at(&half, hz), power_at(&lb, hz));
        let (lo, hi) = (pa.min(pb), pa.max(pb));
        if hi < 1e-9 {
            continue;
        }
        // Between the two, within 1 dB, and not stuck at either end.
        assert!(
            pm >= lo * 0.8
                && pm <= hi * 1.25
                && (hi / lo < 2.0 || (pm > lo * 1.1 && pm < hi / 1.1)),
            "harmonic {h}: A {pa:.2e}, half {pm:.2e}, B {pb:.2e}"
        );
        between += 1;
    }
    assert!(between >= 6, "only {between} harmonics sound");
}

#[test]
fn a_model_b_arriving_or_swapped_mid_phrase_fades_without_allocating() {
    let input = phrase();
    let (a, b) = pair();
    let (mut engine, mut factory) = Engine::prepare(&a, RATE, BLOCK).unwrap();
    engine.set_params(&at(1.0));
    let mut out = vec![0.0f32; input.len()];
    let mut right = vec![0.0f32; BLOCK];
    let mut allocations = 0;
    let arrive = (1.0 * RATE) as usize / BLOCK;
    let swap = (1.8 * RATE) as usize / BLOCK;
    let mut arrived_at = None;
    for (k, chunk) in input.chunks(BLOCK).enumerate() {
        if k == arrive {
            factory.send_morph(factory.build(&b).unwrap()).ok().unwrap();
        }
        // Then B is swapped for another model (the pure fundamental).
        if k == swap {
            factory.send_morph(factory.build(&a).unwrap()).ok().unwrap();
        }
        let start = k * BLOCK;
        let n = chunk.len();
        allocations += allocations_during(|| {
            engine.set_params(&at(if k < swap && k % 50 >= 25 { 0.3 } else { 1.0 }));
            engine.process(&[chunk], &mut out[start..start + n], &mut right[..n]);
        });
        if arrived_at.is_none() && engine.morph_voice().is_some() {
            arrived_at = Some(start);
        }
    }
    assert_eq!(allocations, 0, "the audio thread allocated");
    let at_sample = arrived_at.expect("model B never arrived");
    assert_eq!(at_sample, arrive * BLOCK, "model B arrived late");
    // The arrival fades: no step larger than the playing sound's own.
    let steps = |from: usize, to: usize| {
        out[from..to]
            .windows(2)
            .fold(0.0f32, |m, w| m.max((w[1] - w[0]).abs()))
    };
    // (B is brighter than A: its own steps are larger, so compare with both sides.)
    let before = steps(at_sample - 4_800, at_sample);
    let after = steps(at_sample + 4_800, at_sample + 9_600);
    let during = steps(at_sample, at_sample + 4_800);
    assert!(
        during <= before.max(after) * 1.2,
        "arrival step {during} against {before} before and {after} after"
    );
    let at_swap = swap * BLOCK;
    let before = steps(at_swap - 4_800, at_swap);
    let after = steps(at_swap + 4_800, at_swap + 9_600);
    let during = steps(at_swap, at_swap + 4_800);
    assert!(
        during <= before.max(after) * 1.2,
        "swap step {during} against {before} before and {after} after"
    );
}

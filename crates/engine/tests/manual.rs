//! Hand-set synth controls ([`timbre_engine::manual`]) and the decoder-output meter: a hand
//! that keeps only harmonic 1 makes a sine at the input's pitch, the meter is exactly what the
//! decoder computed, the decoder keeps running under the hand, and none of it allocates.

mod common;

use std::f64::consts::PI;

use common::*;
use timbre_engine::voice::MIX_LEVEL;
use timbre_engine::{Engine, Params, Voice};
use timbre_model::testing::random_model;
use timbre_model::{Architecture, Decoder};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

const RATE: f64 = 48_000.0;
const BLOCK: usize = 256;

fn dry() -> Params {
    Params {
        reverb_percent: 0.0,
        ..Params::default()
    }
}

/// Renders `input` in `BLOCK`-sample blocks, dry; `setup` prepares the engine first.
fn render_with(
    model: &timbre_model::ModelFile,
    input: &[f32],
    setup: impl FnOnce(&mut Engine),
) -> Vec<f32> {
    let (mut engine, _factory) = Engine::prepare(model, RATE, BLOCK).unwrap();
    engine.set_params(&dry());
    setup(&mut engine);
    let mut out = vec![0.0f32; input.len()];
    let mut right = vec![0.0f32; BLOCK];
    for (i, o) in input.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
        let n = i.len();
        engine.process(&[i], o, &mut right[..n]);
    }
    out
}

/// Magnitude of the DFT of `x` at `freq` Hz (a single-bin correlation with a Hann window).
fn magnitude_at(x: &[f32], freq: f64) -> f64 {
    let n = x.len() as f64;
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / n).cos();
        let ph = 2.0 * PI * freq * i as f64 / RATE;
        re += w * v as f64 * ph.cos();
        im += w * v as f64 * ph.sin();
    }
    (re * re + im * im).sqrt()
}

/// Level of harmonics 2..=8 relative to the fundamental, in dB (the loudest of them).
fn overtones_db(x: &[f32], f0: f64) -> f64 {
    let fundamental = magnitude_at(x, f0);
    let worst = (2..=8)
        .map(|k| magnitude_at(x, f0 * k as f64))
        .fold(0.0, f64::max);
    20.0 * (worst / fundamental).log10()
}

#[test]
fn manual_fundamental_only_plays_a_sine_at_the_input_pitch() {
    let f0 = 220.0;
    let input = sawtooth(RATE, 1.5, |_| f0, |_| 0.6);
    // The bright wired model: its own output has strong overtones.
    let model = wired_model(false);
    let by_network = render_with(&model, &input, |_| {});
    let by_hand = render_with(&model, &input, |engine| {
        let m = engine.manual_controls_mut();
        m.amplitude = 0.5;
        m.harmonics[0] = 1.0;
        engine.set_manual(true);
    });
    // A steady stretch well after the warm-up: 0.5 s to 1.5 s.
    let steady = |x: &[f32]| x[(0.5 * RATE) as usize..].to_vec();
    let network_db = overtones_db(&steady(&by_network), f0);
    let hand_db = overtones_db(&steady(&by_hand), f0);
    assert!(
        network_db > -20.0,
        "the network's output has overtones ({network_db:.1} dB)"
    );
    assert!(hand_db < -60.0, "by hand: overtones at {hand_db:.1} dB");
    // The sine sits at the input's pitch.
    let fi = frames(&input, RATE);
    let fo = frames(&by_hand, RATE);
    let errors: Vec<f32> = fi
        .iter()
        .zip(&fo)
        .skip(60)
        .filter(|(a, b)| a.confidence > 0.8 && b.confidence > 0.8)
        .map(|(a, b)| cents(b.f0_hz, a.f0_hz).abs())
        .collect();
    assert!(errors.len() > 200, "{} voiced frames", errors.len());
    assert!(median(&errors) < 5.0, "median {} cents", median(&errors));
    // Its level is the hand's amplitude: the harmonic bank's sum is amplitude · sin, played
    // at the mix level (the wired model has no body or room).
    let peak = steady(&by_hand).iter().fold(0.0f32, |p, x| p.max(x.abs()));
    let want = 0.5 * MIX_LEVEL;
    assert!((peak - want).abs() < 0.1 * want, "peak {peak}, want {want}");
}

#[test]
fn decoder_output_is_exactly_what_the_decoder_computed() {
    let model = random_model(&Architecture::default(), 3);
    let mut voice = Voice::new(&model, RATE, BLOCK).unwrap();
    // The engine steps its decoder every control step, one model frame reaching back
    // `CONTROL_STEPS` steps.
    let mut reference = Decoder::interleaved(&model, timbre_engine::CONTROL_STEPS);
    let mut hand = timbre_engine::ManualControls::new_boxed();
    hand.amplitude = 1.0;
    hand.harmonics[3] = 1.0;
    for i in 0..100 {
        let shaped = timbre_engine::Shaped {
            f0_hz: 200.0 + i as f32,
            voiced: i % 7 != 0,
            loudness_db: -40.0 + (i % 13) as f32,
            gate_gain: 1.0,
        };
        let (f0, loudness) = Voice::decoder_inputs(&shaped);
        let expected = reference.step(f0, loudness).clone();
        // Half the frames under a hand: the meter still shows the network.
        voice.on_frame(&shaped, 0.0, 0.0, 48, (i % 2 == 1).then_some(&*hand));
        assert_eq!(voice.last_controls(), &expected, "frame {i}");
    }
}

#[test]
fn the_decoder_keeps_running_under_a_hand_and_nothing_allocates() {
    let model = random_model(&Architecture::default(), 5);
    let input = sawtooth(RATE, 1.0, |t| 200.0 + 50.0 * t, |_| 0.5);
    let (mut free, _s1) = Engine::prepare(&model, RATE, BLOCK).unwrap();
    let (mut held, _s2) = Engine::prepare(&model, RATE, BLOCK).unwrap();
    free.set_params(&dry());
    held.set_params(&dry());
    let (mut l1, mut r1) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let (mut l2, mut r2) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let mut differs = 0.0f32;
    for (b, chunk) in input.chunks_exact(BLOCK).enumerate() {
        free.process(&[chunk], &mut l1, &mut r1);
        let count = allocations_during(|| {
            if b == 10 {
                // Take over from what the network plays now.
                held.manual_from_decoder();
                assert_eq!(
                    held.manual_controls().amplitude,
                    held.decoder_output().amplitude
                );
                held.set_manual(true);
            }
            if b > 10 {
                held.manual_controls_mut().harmonics[0] = 0.1 * (b % 5) as f32;
            }
            held.process(&[chunk], &mut l2, &mut r2);
        });
        assert_eq!(count, 0, "block {b} allocated");
        assert_eq!(free.decoder_output(), held.decoder_output(), "block {b}");
        differs = l1
            .iter()
            .zip(&l2)
            .fold(differs, |d, (a, b)| d.max((a - b).abs()));
    }
    assert!(differs > 1e-3, "the hand changed nothing ({differs})");
}

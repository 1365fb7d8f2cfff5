//! Renders a host can repeat, at any rate, in stereo: the rest state makes a phrase render
//! bit-identically whatever came before the pause before it; every rate from 1 kHz to 1.23 MHz
//! (fractional ones too) plays the input's pitch; the stereo reverb's channels differ while
//! their mono sum is the plain reverb.

mod common;

use common::*;
use timbre_dsp::reverb::ConvolutionReverb;
use timbre_engine::ir::{resample_ir, split_ir};
use timbre_engine::voice::MIX_LEVEL;
use timbre_engine::{Engine, Params};
use timbre_model::testing::random_model;
use timbre_model::weights::Weights;
use timbre_model::{Architecture, ModelFile};

/// A model with a learned-like reverb IR (random weights, decaying noise IR).
fn model_with_reverb() -> ModelFile {
    random_model(&Architecture::default(), 11)
}

fn engine_at(rate: f64, params: &Params, max_block: usize) -> Engine {
    engine_with(&wired_model(false), rate, params, max_block)
}

fn engine_with(model: &ModelFile, rate: f64, params: &Params, max_block: usize) -> Engine {
    let (mut engine, _factory) = Engine::prepare(model, rate, max_block).unwrap();
    engine.set_params(params);
    engine.reset();
    engine
}

/// A 1.5 s phrase with vibrato.
fn phrase(rate: f64, midi: f64) -> Vec<f32> {
    let notes = [(midi, 0.7), (midi + 5.0, 0.8)];
    sawtooth(rate, 1.5, melody(&notes, 30.0), |_| 0.5)
}

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

/// Rate, in Hz, at which the test sounds are made.
const RATE: f64 = 48_000.0;

#[test]
fn a_phrase_after_a_pause_renders_as_in_a_fresh_instance() {
    let params = Params {
        reverb_percent: 40.0,
        ..Params::default()
    };
    let first = phrase(RATE, 62.0);
    let second = phrase(RATE, 57.0);
    // What a fresh instance makes of the second phrase, with a short lead-in of silence.
    let lead = 1_000;
    let mut alone = vec![0.0; lead];
    alone.extend_from_slice(&second);
    alone.extend(std::iter::repeat_n(0.0, RATE as usize));
    let model = model_with_reverb();
    let (fresh_l, fresh_r) =
        process_blocks(&mut engine_with(&model, RATE, &params, 512), &alone, 512);
    // The same phrase after another one and a 4 s pause, in other blocks: a second bounce
    // of a session, where the plugin played on between the two.
    let pause = (4.0 * RATE) as usize;
    let mut session = first.clone();
    session.extend(std::iter::repeat_n(0.0, pause));
    let start = session.len();
    session.extend_from_slice(&second);
    session.extend(std::iter::repeat_n(0.0, RATE as usize));
    let mut engine = engine_with(&model, RATE, &params, 1024);
    let mut left = vec![0.0; session.len()];
    let mut right = vec![0.0; session.len()];
    let allocations = allocations_during(|| {
        for ((i, l), r) in session
            .chunks(333)
            .zip(left.chunks_mut(333))
            .zip(right.chunks_mut(333))
        {
            engine.process(&[i], l, r);
        }
    });
    assert_eq!(allocations, 0, "resting and waking allocate nothing");
    let (l, r) = (left, right);
    let sounding = (fresh_l.iter().map(|x| x * x).sum::<f32>() / fresh_l.len() as f32).sqrt();
    assert!(sounding > 0.01, "the phrase sounds ({sounding})");
    assert!(fresh_l != fresh_r, "stereo");
    if let Some(i) = (0..l.len() - start).find(|&i| l[start + i] != fresh_l[lead + i]) {
        panic!(
            "left differs from sample {i}: {} vs {}",
            l[start + i],
            fresh_l[lead + i]
        );
    }
    assert!(r[start..] == fresh_r[lead..], "right differs");
    // Silence before the phrase is skipped: nothing sounds before it.
    assert!(l[start - 100..start].iter().all(|&x| x == 0.0));
    assert!(!engine.is_resting(), "still inside the reverb's tail");
    process_blocks(&mut engine, &vec![0.0; 3 * RATE as usize], 512);
    assert!(engine.is_resting(), "rests again after the phrase's tail");
}

#[test]
fn a_reset_restarts_exactly_like_a_fresh_engine() {
    let params = Params::default();
    let input = phrase(RATE, 60.0);
    let mut engine = engine_with(&model_with_reverb(), RATE, &params, 512);
    let (a, _) = process_blocks(&mut engine, &input, 512);
    engine.reset();
    let (b, _) = process_blocks(&mut engine, &input, 100);
    assert!(a == b, "a reset engine renders differently");
}

#[test]
fn every_rate_from_1_khz_to_1_2_mhz_plays_the_input_pitch() {
    let params = Params {
        reverb_percent: 0.0,
        ..Params::default()
    };
    // A3 (220 Hz) with a slow vibrato: below Nyquist at every rate.
    for rate in [
        1_000.0,
        8_000.0,
        11_025.0,
        22_050.0,
        44_100.5,
        48_000.0,
        96_000.0,
        176_400.0,
        384_000.0,
        768_000.0,
        1_234_567.75,
    ] {
        let mut engine = engine_at(rate, &params, 4096);
        let latency = engine.latency_samples() as usize;
        let input = sawtooth(rate, 1.5, |_| 220.0, |_| 0.5);
        let (out, _) = process_blocks(&mut engine, &input, 4096);
        assert!(out.iter().all(|x| x.is_finite()), "{rate} Hz");
        let ms = latency as f64 / rate * 1e3;
        assert!(ms > 1.0 && ms < 60.0, "{rate} Hz: latency {ms:.1} ms");
        let f = frames(&out, rate);
        let voiced: Vec<f32> = f[f.len() / 2..]
            .iter()
            .filter(|x| x.confidence > 0.8)
            .map(|x| cents(x.f0_hz, 220.0))
            .collect();
        assert!(
            voiced.len() > f.len() / 4 && median(&voiced).abs() < 10.0,
            "{rate} Hz: {} voiced frames, median {} cents",
            voiced.len(),
            median(&voiced)
        );
    }
}

/// `model`'s weights with `ir` as its learned reverb IR.
fn with_ir(model: &ModelFile, ir: Vec<f32>) -> ModelFile {
    let weights = Weights {
        reverb_ir: ir,
        ..model.weights().clone()
    };
    ModelFile::new(model.metadata().clone(), weights).unwrap()
}

/// `input` convolved with `ir` by a reverb of its own.
fn convolved(input: &[f32], ir: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; input.len()];
    ConvolutionReverb::new(ir, input.len()).process(input, &mut out);
    out
}

/// The reverb knob sets the room and nothing else: whatever the knob, the mono mix is
/// `MIX_LEVEL · (synth + synth ∗ body + 2w · synth ∗ room)`, the body and room being the IR's
/// two parts (`split_ir`) convolved independently here, so at 50 % it is the mix the model
/// was trained on, `MIX_LEVEL · (synth + synth ∗ ir)`; the body plays in the middle, the room
/// is wide.
#[test]
fn the_reverb_knob_sets_the_room_and_the_body_always_plays() {
    // An IR with both parts: a loud early body and a 0.6 s room.
    let mut state = 7u32;
    let ir: Vec<f32> = (0..9_600)
        .map(|n| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            let t = n as f32 / 16_000.0;
            let decay = 0.5 * (-t / 0.004).exp() + 0.1 * (-t / 0.15).exp();
            if n == 0 {
                0.0
            } else {
                noise * decay
            }
        })
        .collect();
    let model = with_ir(&model_with_reverb(), ir.clone());
    let input = phrase(RATE, 64.0);
    let at = |model: &ModelFile, percent: f32| {
        let params = Params {
            reverb_percent: percent,
            ..Params::default()
        };
        process_blocks(&mut engine_with(model, RATE, &params, 512), &input, 512)
    };
    // The synth alone: the same model without an IR plays `MIX_LEVEL · synth`.
    let (silent_l, silent_r) = at(&with_ir(&model, vec![0.0; ir.len()]), 30.0);
    assert!(silent_l == silent_r, "without a room the output is mono");
    let synth: Vec<f32> = silent_l.iter().map(|x| x / MIX_LEVEL).collect();
    let ir48 = resample_ir(&ir, 16_000.0, RATE).unwrap();
    let (body_ir, room_ir) = split_ir(&ir48, RATE);
    let body = convolved(&synth, &body_ir);
    let room = convolved(&synth, &room_ir);
    let whole = convolved(&synth, &ir48);
    let peak = synth.iter().fold(0.0f32, |p, x| p.max(x.abs()));
    assert!(peak > 1e-2, "the synth plays (peak {peak})");
    let room_peak = room.iter().fold(0.0f32, |p, x| p.max(x.abs()));
    assert!(room_peak > 0.05 * peak, "the room is audible ({room_peak})");
    for percent in [0.0f32, 30.0, 50.0, 100.0] {
        let (l, r) = at(&model, percent);
        let w = percent / 100.0;
        let worst = (0..input.len())
            .map(|i| {
                let want = MIX_LEVEL * (synth[i] + body[i] + 2.0 * w * room[i]);
                ((l[i] + r[i]) * 0.5 - want).abs()
            })
            .fold(0.0f32, f32::max);
        assert!(
            worst < 1e-4 * peak.max(1.0),
            "{percent} %: mono mix off by {worst}"
        );
        if percent == 0.0 {
            assert!(l == r, "without the room the body plays in the middle");
        } else {
            // The channels are decorrelated but still share most of the sound.
            let tail = input.len() / 3..;
            let corr = correlation(&l[tail.clone()], &r[tail]);
            assert!(
                corr < 0.999,
                "{percent} %: the room is not dual-mono ({corr})"
            );
        }
        if percent == 50.0 {
            let trained = (0..input.len())
                .map(|i| ((l[i] + r[i]) * 0.5 - MIX_LEVEL * (synth[i] + whole[i])).abs())
                .fold(0.0f32, f32::max);
            assert!(
                trained < 1e-4 * peak.max(1.0),
                "50 % is the trained mix (off by {trained})"
            );
        }
    }
    // At 100 % the room is as wide as before the body was kept in the middle.
    let (l, r) = at(&model, 100.0);
    let tail = input.len() / 3..;
    let corr = correlation(&l[tail.clone()], &r[tail]);
    assert!((0.1..0.9).contains(&corr), "left/right correlation {corr}");
}

/// The host's in-place entry point gives exactly what the separate-buffer one gives: stereo in
/// and out, mono in and stereo out (the second channel's old content is ignored), mono in and
/// out ((L + R) / 2), with host blocks larger than the engine's maximum (split inside) and
/// ragged ones.
#[test]
fn in_place_processing_matches_separate_buffers() {
    let model = model_with_reverb();
    let params = Params {
        reverb_percent: 40.0,
        ..Params::default()
    };
    let rate = 48_000.0;
    let left_in = phrase(rate, 60.0);
    let right_in: Vec<f32> = left_in.iter().map(|x| -0.5 * x).collect();
    for &(block, max_block) in &[(256usize, 256usize), (1000, 256), (77, 512)] {
        // Reference: separate buffers.
        let mut reference = engine_with(&model, rate, &params, max_block);
        let (mut ref_stereo_l, mut ref_stereo_r) =
            (vec![0.0; left_in.len()], vec![0.0; left_in.len()]);
        let mut mono_ref = engine_with(&model, rate, &params, max_block);
        let (mut ref_mono_l, mut ref_mono_r) = (vec![0.0; left_in.len()], vec![0.0; left_in.len()]);
        for start in (0..left_in.len()).step_by(block) {
            let end = (start + block).min(left_in.len());
            reference.process(
                &[&left_in[start..end], &right_in[start..end]],
                &mut ref_stereo_l[start..end],
                &mut ref_stereo_r[start..end],
            );
            mono_ref.process(
                &[&left_in[start..end]],
                &mut ref_mono_l[start..end],
                &mut ref_mono_r[start..end],
            );
        }
        // In place, stereo in: the host's buffers hold the input and get the output.
        let mut engine = engine_with(&model, rate, &params, max_block);
        let (mut l, mut r) = (left_in.clone(), right_in.clone());
        // Mono in, stereo out: channel 2 holds junk the engine must not read.
        let mut engine_1to2 = engine_with(&model, rate, &params, max_block);
        let (mut l2, mut r2) = (left_in.clone(), vec![0.9f32; left_in.len()]);
        // Mono in and out.
        let mut engine_1to1 = engine_with(&model, rate, &params, max_block);
        let mut m = left_in.clone();
        for start in (0..left_in.len()).step_by(block) {
            let end = (start + block).min(left_in.len());
            engine.process_in_place(&mut [&mut l[start..end], &mut r[start..end]], 2);
            engine_1to2.process_in_place(&mut [&mut l2[start..end], &mut r2[start..end]], 1);
            engine_1to1.process_in_place(&mut [&mut m[start..end]], 1);
        }
        assert!(
            l == ref_stereo_l && r == ref_stereo_r,
            "stereo, blocks of {block}"
        );
        assert!(
            l2 == ref_mono_l && r2 == ref_mono_r,
            "1 → 2, blocks of {block}"
        );
        let mono_mix: Vec<f32> = ref_mono_l
            .iter()
            .zip(&ref_mono_r)
            .map(|(a, b)| (a + b) * 0.5)
            .collect();
        assert!(m == mono_mix, "1 → 1, blocks of {block}");
        assert!(ref_stereo_l != ref_stereo_r, "the reference is stereo");
    }
}

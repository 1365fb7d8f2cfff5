//! The plugin as a host sees it: the built CLAP library loaded through `clack-host`.
//!
//! The library under test is built by `cargo test` with nice-plug's `assert_process_allocs`
//! (see the dev-dependencies), so any allocation inside `process` aborts these tests.
//!
//! - both plugins are exported with stable ids, and the parameters come from the engine's specs;
//! - at 44.1, 48 and 96 kHz, with block sizes from 7 to 1024 samples, the output follows the
//!   input's pitch once shifted by the reported latency, and pitch movements (vibrato) come out
//!   exactly that late;
//! - automating the pitch shift to +12 semitones mid-block doubles the output pitch;
//! - the state round-trips through streams that move 5 or 7 bytes at a time; corrupt, old or
//!   half-valid states load defaults without crashing;
//! - loading a state with another model swaps it mid-stream (through the background task);
//! - NaN/Inf input gives finite output; the mono-input layout works; reactivation at another
//!   rate rescales the latency, and a refused rate fails activation cleanly;
//! - the synth plays MIDI notes and pitch bend;
//! - the effect's MIDI out sends the notes it hears (off by default), and its morph at 100%
//!   plays model B exactly as model B alone.

mod common;

use common::host::{ParamDesc, Plugin, SentEvent, Session, TimedEvent, EFFECT_ID, SYNTH_ID};
use common::*;
use timbre_engine::params::{self as spec, ParamSpec};

/// Block sizes the tests cycle through: tiny, odd, power of two, the maximum.
const BLOCKS: [usize; 7] = [32, 256, 1024, 100, 7, 513, 1024];

/// The CLAP value nice-plug expects for `plain` on a linear parameter described by `spec`.
fn clap_value(desc: &ParamDesc, spec: &ParamSpec, plain: f32) -> f64 {
    let normalized = ((plain - spec.min) / (spec.max - spec.min)) as f64;
    desc.min + normalized * (desc.max - desc.min)
}

/// An event setting `spec` to `plain` at sample `at`.
fn set(plugin: &mut Plugin, spec: &ParamSpec, plain: f32, at: u64) -> TimedEvent {
    let desc = plugin.param(spec.name);
    TimedEvent::Param(at, desc.id, clap_value(&desc, spec, plain))
}

#[test]
fn the_library_exports_the_effect_and_the_synth() {
    let ids = Plugin::ids_in_library();
    assert!(
        ids.contains(&"dev.tinytimbre.tiny-timbre".to_string()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"dev.tinytimbre.tiny-timbre-synth".to_string()),
        "{ids:?}"
    );
    assert_eq!(ids.len(), 2);
}

/// Every engine knob is a host parameter whose default is where a fresh instance starts: the
/// default model's recommended setting where it has one (auto-adjust and reverb for the
/// violin), else the engine's default.
#[test]
fn every_engine_parameter_is_a_host_parameter_with_its_fresh_default() {
    let mut plugin = Plugin::new(EFFECT_ID);
    let params = plugin.params();
    let mut from_the_model = 0;
    for s in spec::ALL {
        let p = params
            .iter()
            .find(|p| p.name == s.name)
            .unwrap_or_else(|| panic!("{} missing: {params:?}", s.name));
        let default = tiny_timbre::params::fresh_default(&s);
        from_the_model += usize::from(default != s.default);
        let normalized_default = ((default - s.min) / (s.max - s.min)) as f64;
        let expected = p.min + normalized_default * (p.max - p.min);
        assert!((p.default - expected).abs() < 1e-4, "{}: {p:?}", s.name);
    }
    assert!(
        from_the_model >= 1,
        "no default comes from the default model"
    );
    // The two MIDI out switches; nice-plug adds a bypass parameter of its own.
    for name in ["MIDI out", "MIDI pitch bend"] {
        let p = params.iter().find(|p| p.name == name).expect(name);
        assert_eq!(p.default, 0.0, "{name} is off by default");
    }
    assert!(
        params.len() >= spec::ALL.len() + 2 && params.len() <= spec::ALL.len() + 3,
        "{params:?}"
    );
    let mut synth = Plugin::new(SYNTH_ID);
    let names: Vec<String> = synth.params().into_iter().map(|p| p.name).collect();
    for n in [
        "Attack",
        "Decay",
        "Sustain",
        "Release",
        "Pitch shift",
        "Reverb",
    ] {
        assert!(names.iter().any(|x| x == n), "synth lacks {n}: {names:?}");
    }
}

#[test]
fn output_follows_the_input_pitch_at_the_reported_latency_at_every_rate() {
    let mut latencies = Vec::new();
    for rate in [44_100.0, 48_000.0, 96_000.0] {
        let mut plugin = effect_with_wired_model(&format!("pitch-{rate}"));
        let reverb_off = set(&mut plugin, &spec::REVERB, 0.0, 0);
        let mut session = plugin.activate(rate, 1024);
        let latency = plugin.latency() as usize;
        latencies.push(latency);
        let input = phrase(rate);
        let [left, right] = session.render(&[&input, &input], input.len(), &BLOCKS, &[reverb_off]);
        assert!(left.iter().chain(&right).all(|x| x.is_finite()));
        assert_eq!(left, right, "mono model → identical channels");
        let (err, n) = pitch_error(&input, &left, latency, rate, 0.0);
        assert!(n > 400, "{rate} Hz: only {n} frames voiced in both");
        assert!(
            err <= 10.0,
            "{rate} Hz: median pitch error {err:.2} cents (latency {latency})"
        );
        plugin.deactivate(session);
    }
    // The latency is a time: about the same number of ms at every rate.
    let ms: Vec<f64> = latencies
        .iter()
        .zip([44_100.0, 48_000.0, 96_000.0])
        .map(|(&l, r)| l as f64 / r * 1e3)
        .collect();
    assert!(
        ms.iter()
            .all(|&m| (m - ms[1]).abs() < 1.0 && m > 0.0 && m < 40.0),
        "{ms:?}"
    );
}

/// The output's frequency every `step` samples from `start`, read from its upward zero
/// crossings (interpolated): independent of the pitch tracker; needs a pure tone.
fn frequency_curve(output: &[f32], rate: f64, start: usize, step: usize) -> (Vec<usize>, Vec<f32>) {
    let crossings: Vec<f64> = output
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
        .map(|(n, w)| n as f64 + (-w[0] / (w[1] - w[0])) as f64)
        .collect();
    let grid: Vec<usize> = (start..output.len() - (0.1 * rate) as usize)
        .step_by(step)
        .collect();
    let mut freq = Vec::with_capacity(grid.len());
    let mut c = 0;
    for &n in &grid {
        while c + 2 < crossings.len() && crossings[c + 1] < n as f64 {
            c += 1;
        }
        freq.push((rate / (crossings[c + 1] - crossings[c])) as f32);
    }
    (grid, freq)
}

#[test]
fn pitch_movements_arrive_after_exactly_the_reported_latency() {
    // The engine's definition of latency: a continuous pitch movement (5 Hz vibrato of ±1
    // semitone around 300 Hz) comes out this many samples later. Measured here through the
    // host, on the latency the CLAP latency extension reports.
    for rate in [44_100.0, 96_000.0] {
        let mut plugin = effect_with_wired_model(&format!("lag-{rate}"));
        let reverb_off = set(&mut plugin, &spec::REVERB, 0.0, 0);
        let mut session = plugin.activate(rate, 512);
        let latency = plugin.latency() as f64;
        let f0 = |t: f64| 300.0 * 2f64.powf((2.0 * std::f64::consts::PI * 5.0 * t).sin() / 12.0);
        let input = sawtooth(rate, 3.0, f0, |_| 0.5);
        let [left, _] = session.render(&[&input], input.len(), &[64, 512, 300, 7], &[reverb_off]);
        let step = (rate / 3000.0) as usize;
        let (grid, out_f) = frequency_curve(&left, rate, (0.5 * rate) as usize, step);
        let in_f: Vec<f32> = grid.iter().map(|&n| f0(n as f64 / rate) as f32).collect();
        let max_lag = (0.06 * rate) as usize / step;
        let lag = (0..max_lag)
            .map(|l| {
                (
                    l,
                    timbre_testkit::correlation(&in_f[..in_f.len() - l], &out_f[l..]),
                )
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(l, _)| (l * step) as f64)
            .unwrap();
        let hop = rate / timbre_dsp::analysis::AnalysisConfig::default().frame_rate();
        assert!(
            (lag - latency).abs() <= hop,
            "{rate} Hz: pitch movement heard {lag:.0} samples late, reported latency {latency:.0} (hop {hop:.0})"
        );
        plugin.deactivate(session);
    }
}

#[test]
fn automating_plus_twelve_semitones_mid_block_doubles_the_pitch() {
    let rate = 48_000.0;
    let mut plugin = effect_with_wired_model("automation");
    let reverb_off = set(&mut plugin, &spec::REVERB, 0.0, 0);
    // Auto-adjust (on in a fresh instance) would move the line back to the model's register.
    let plain = set(&mut plugin, &spec::AUTO_ADJUST, 0.0, 0);
    let switch_at = 72_000 + 333; // inside a block: sample-accurate automation splits it
    let up = set(&mut plugin, &spec::SEMITONES, 12.0, switch_at);
    let mut session = plugin.activate(rate, 1024);
    let latency = plugin.latency() as usize;
    let input = sawtooth(
        rate,
        3.0,
        |t| 220.0 * 2f64.powf(0.1 * (2.0 * std::f64::consts::PI * 5.0 * t).sin() / 12.0),
        |_| 0.5,
    );
    let [left, _] = session.render(&[&input], input.len(), &[1024], &[reverb_off, plain, up]);
    let split = switch_at as usize;
    let margin = (0.15 * rate) as usize;
    let (before, n1) = pitch_error(
        &input[..split - margin],
        &left[..split - margin + latency],
        latency,
        rate,
        0.0,
    );
    let (after, n2) = pitch_error(
        &input[split + margin..],
        &left[split + margin..],
        latency,
        rate,
        1200.0,
    );
    assert!(n1 > 100 && n2 > 100, "{n1} {n2}");
    assert!(
        before <= 10.0,
        "before the automation: {before:.2} cents off"
    );
    assert!(
        after <= 10.0,
        "after +12 st: {after:.2} cents off an octave up"
    );
    // The host reads the new value back.
    let st = plugin.param(spec::SEMITONES.name);
    assert!((plugin.param_value(st.id) - clap_value(&st, &spec::SEMITONES, 12.0)).abs() < 1e-6);
}

#[test]
fn state_round_trips_through_trickling_streams() {
    let mut a = Plugin::new(EFFECT_ID);
    let events = [
        set(&mut a, &spec::OUTPUT_GAIN, -6.0, 0),
        set(&mut a, &spec::REVERB, 10.0, 0),
        set(&mut a, &spec::AUTOTUNE, 50.0, 0),
        set(&mut a, &spec::SEMITONES, -5.0, 0),
    ];
    let mut session = a.activate(48_000.0, 256);
    session.render(&[&[0.0; 512]], 512, &[256], &events);
    let saved = a.save_state();
    a.deactivate(session);
    assert_eq!(
        u64::from_le_bytes(saved[..8].try_into().unwrap()) as usize,
        saved.len() - 8
    );

    let mut b = Plugin::new(EFFECT_ID);
    assert!(b.load_state(&saved));
    for s in [
        &spec::OUTPUT_GAIN,
        &spec::REVERB,
        &spec::AUTOTUNE,
        &spec::SEMITONES,
    ] {
        let pa = a.param(s.name);
        let pb = b.param(s.name);
        assert!(
            (a.param_value(pa.id) - b.param_value(pb.id)).abs() < 1e-6,
            "{}",
            s.name
        );
    }
    assert_eq!(
        b.save_state(),
        saved,
        "a restored instance saves the same state"
    );
}

#[test]
fn corrupt_old_or_odd_states_load_defaults_and_never_crash() {
    let mut plugin = Plugin::new(EFFECT_ID);
    let gain = plugin.param(spec::OUTPUT_GAIN.name);
    let default_gain = plugin.param_value(gain.id);
    // Garbage, a truncated state, a length that lies, an empty stream.
    let good = plugin.save_state();
    for bad in [
        b"not a state at all".to_vec(),
        good[..good.len() / 2].to_vec(),
        [u64::MAX.to_le_bytes().to_vec(), b"{}".to_vec()].concat(),
        Vec::new(),
    ] {
        let _ = plugin.load_state(&bad);
        assert_eq!(plugin.param_value(gain.id), default_gain);
    }
    // An "old" state: unknown parameters, a missing one, wrong types, a model that is a number.
    let old = serde_json::json!({
        "version": "0.0.1",
        "params": { "gain": { "f32": -12.0 }, "removed_param": { "f32": 3.0 }, "reverb": { "bool": true } },
        "fields": { "model": "42", "unknown_field": "\"x\"" }
    });
    // nice-plug's value tags are lower case: with them the state is parsed, so the known
    // parameter is applied and the odd ones are what the plugin must survive.
    plugin.load_state(&encode_state(&old));
    assert_ne!(
        plugin.param_value(gain.id),
        default_gain,
        "the old state's gain was applied"
    );
    // A state pointing at a model file that is gone: the default model plays instead.
    let gone = with_model(&good, "/nonexistent/violin.ttmodel");
    assert!(plugin.load_state(&gone));
    let mut session = plugin.activate(48_000.0, 512);
    let input = phrase(48_000.0);
    let [left, right] = session.render(&[&input], 48_000, &BLOCKS, &[]);
    assert!(left.iter().chain(&right).all(|x| x.is_finite()));
    plugin.deactivate(session);
}

/// RMS of the output over `seconds` of a render, after `settle` seconds.
fn render_rms(session: &mut Session, input: &[f32], rate: f64, settle: f64) -> f32 {
    let [left, _] = session.render(&[input], input.len(), &BLOCKS, &[]);
    rms(&left[(settle * rate) as usize..])
}

#[test]
fn loading_a_state_with_another_model_swaps_it_mid_stream() {
    let rate = 48_000.0;
    let mut plugin = effect_with_wired_model("swap-a");
    // Model B: the same wiring, but the amplitude head is pushed 30 dB down.
    let mut quiet = wired_model("quiet");
    {
        let (meta, mut weights) = quiet.clone().into_parts();
        weights.head.bias[0] -= 14.0;
        quiet = timbre_model::ModelFile::new(meta, weights).unwrap();
    }
    let quiet_path = save_temp(&quiet, "swap-b");
    let mut session = plugin.activate(rate, 512);
    let chunk = sawtooth(rate, 0.5, |_| 220.0, |_| 0.5);
    let loud = render_rms(&mut session, &chunk, rate, 0.25);
    assert!(loud > 0.01, "model A plays: rms {loud}");
    let state = plugin.save_state();
    assert!(plugin.load_state(&with_model(&state, quiet_path.to_str().unwrap())));
    // The restore loads the model and sends its voice; the engine crossfades to it on its
    // next block: poll for it like a host that keeps playing.
    let mut swapped = None;
    for _ in 0..100 {
        plugin.idle();
        let level = render_rms(&mut session, &chunk, rate, 0.25);
        assert!(level.is_finite());
        if level < loud * 0.2 {
            swapped = Some(level);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let level = swapped.expect("the quiet model never took over");
    assert!(level < loud * 0.2, "{level} vs {loud}");
    plugin.deactivate(session);
}

#[test]
fn nan_inf_and_denormal_input_gives_finite_output() {
    let rate = 44_100.0;
    let mut plugin = Plugin::new(EFFECT_ID);
    let mut session = plugin.activate(rate, 1024);
    let mut input = phrase(rate);
    for (i, x) in input.iter_mut().enumerate() {
        match i % 97 {
            0 => *x = f32::NAN,
            13 => *x = f32::INFINITY,
            29 => *x = f32::NEG_INFINITY,
            41 => *x = 1e30,
            53 => *x = 1e-40,
            _ => {}
        }
    }
    let [left, right] = session.render(&[&input, &input], input.len(), &BLOCKS, &[]);
    assert!(left
        .iter()
        .chain(&right)
        .all(|x| x.is_finite() && x.abs() <= timbre_engine::OUTPUT_CEILING));
    // And it recovers: clean input afterwards still gives finite, non-silent output.
    let clean = phrase(rate);
    let [left, _] = session.render(&[&clean, &clean], clean.len(), &BLOCKS, &[]);
    assert!(left.iter().all(|x| x.is_finite()));
    plugin.deactivate(session);
}

#[test]
fn the_mono_input_layout_follows_the_pitch_too() {
    let rate = 48_000.0;
    let mut plugin = effect_with_wired_model("mono");
    plugin.select_input_channels(1);
    let reverb_off = set(&mut plugin, &spec::REVERB, 0.0, 0);
    let mut session = plugin.activate(rate, 256);
    let latency = plugin.latency() as usize;
    let input = phrase(rate);
    let [left, right] = session.render(&[&input], input.len(), &BLOCKS, &[reverb_off]);
    assert_eq!(left, right);
    let (err, n) = pitch_error(&input, &left, latency, rate, 0.0);
    assert!(n > 400 && err <= 10.0, "{err:.2} cents over {n} frames");
    plugin.deactivate(session);
}

#[test]
fn the_synth_plays_notes_and_pitch_bend() {
    let rate = 48_000.0;
    let path = save_temp(&wired_model("wired synth"), "synth");
    let mut synth = Plugin::new(SYNTH_ID);
    let state = synth.save_state();
    assert!(synth.load_state(&with_model(&state, path.to_str().unwrap())));
    let reverb_off = set(&mut synth, &spec::REVERB, 0.0, 0);
    let mut session = synth.activate(rate, 512);
    let len = (3.0 * rate) as usize;
    let events = [
        reverb_off,
        TimedEvent::NoteOn(0, 57, 0.9), // A3, 220 Hz
        TimedEvent::NoteOff((1.0 * rate) as u64, 57),
        TimedEvent::NoteOn((1.5 * rate) as u64, 64, 0.9), // E4
    ];
    let [left, _] = session.render(&[], len, &[512, 100, 333], &events);
    let f = frames(&left, rate);
    let fr = timbre_dsp::analysis::AnalysisConfig::default().frame_rate();
    let at = |t0: f64, t1: f64| &f[(t0 * fr) as usize..(t1 * fr) as usize];
    let a3: Vec<f32> = at(0.2, 0.9)
        .iter()
        .filter(|x| x.confidence > 0.8)
        .map(|x| cents(x.f0_hz, 220.0))
        .collect();
    assert!(
        a3.len() > 100 && median(&a3).abs() < 10.0,
        "A3: {} cents",
        median(&a3)
    );
    let e4_hz = 440.0 * 2f32.powf(-5.0 / 12.0);
    let e4: Vec<f32> = at(1.8, 2.9)
        .iter()
        .filter(|x| x.confidence > 0.8)
        .map(|x| cents(x.f0_hz, e4_hz))
        .collect();
    assert!(
        e4.len() > 100 && median(&e4).abs() < 10.0,
        "E4: {} cents",
        median(&e4)
    );
    // Released between the notes: quiet.
    let gap = rms(&left[(1.4 * rate) as usize..(1.5 * rate) as usize]);
    let playing = rms(&left[(0.5 * rate) as usize..(0.9 * rate) as usize]);
    assert!(gap < playing * 0.1, "gap {gap} vs playing {playing}");
    synth.deactivate(session);
}

#[test]
fn the_synth_follows_midi_pitch_bend() {
    let rate = 48_000.0;
    let path = save_temp(&wired_model("wired bend"), "bend");
    let mut synth = Plugin::new(SYNTH_ID);
    let state = synth.save_state();
    assert!(synth.load_state(&with_model(&state, path.to_str().unwrap())));
    let reverb_off = set(&mut synth, &spec::REVERB, 0.0, 0);
    let mut session = synth.activate(rate, 512);
    // Full bend up (+2 st): 0xE0, LSB 0x7F, MSB 0x7F.
    let bend = TimedEvent::Midi(0, [0xE0, 0x7F, 0x7F]);
    let len = (1.5 * rate) as usize;
    let events = [reverb_off, bend, TimedEvent::NoteOn(0, 57, 0.9)];
    let [left, _] = session.render(&[], len, &[512], &events);
    let f = frames(&left, rate);
    let fr = timbre_dsp::analysis::AnalysisConfig::default().frame_rate();
    let bent: Vec<f32> = f[(0.3 * fr) as usize..(1.4 * fr) as usize]
        .iter()
        .filter(|x| x.confidence > 0.8)
        .map(|x| cents(x.f0_hz, 220.0))
        .collect();
    assert!(bent.len() > 100);
    assert!(
        (median(&bent) - 200.0).abs() < 10.0,
        "bent by {} cents",
        median(&bent)
    );
    synth.deactivate(session);
}

#[test]
fn reactivating_at_another_rate_rescales_the_latency() {
    let mut plugin = Plugin::new(EFFECT_ID);
    let session = plugin.activate(48_000.0, 256);
    let at_48k = plugin.latency() as f64;
    plugin.deactivate(session);
    let mut session = plugin.activate(96_000.0, 2048);
    let at_96k = plugin.latency() as f64;
    // The analysis's part scales exactly; a body's delay is measured on the body resampled
    // to each rate, so it may move by a fraction of a millisecond (the violin's is silent).
    assert!(
        (at_96k - 2.0 * at_48k).abs() <= 0.0005 * 96_000.0,
        "{at_48k} at 48 kHz, {at_96k} at 96 kHz"
    );
    let input = phrase(96_000.0);
    let [left, _] = session.render(&[&input, &input], input.len(), &[2048, 1], &[]);
    assert!(left.iter().all(|x| x.is_finite()));
    plugin.deactivate(session);
    // A rate the engine refuses (below 1 kHz) fails activation instead of crashing.
    let refused = plugin.instance.activate(
        |_, _| (),
        clack_host::prelude::PluginAudioConfiguration {
            sample_rate: 500.0,
            min_frames_count: 1,
            max_frames_count: 256,
        },
    );
    assert!(refused.is_err());
}

/// Separate sawtooth notes (MIDI note, start s, length s) at `rate`, with silence between.
fn separate_notes(rate: f64, notes: &[(f64, f64, f64)], seconds: f64) -> Vec<f32> {
    let n = (seconds * rate) as usize;
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            let Some(&(midi, start, len)) = notes.iter().find(|n| t >= n.1 && t < n.1 + n.2) else {
                return 0.0;
            };
            let f0 = 440.0 * 2f64.powf((midi - 69.0) / 12.0);
            phase = (phase + f0 / rate).fract();
            let env = ((t - start).min(start + len - t) / 0.005).min(1.0);
            (0.3 * env * (2.0 * phase - 1.0)) as f32
        })
        .collect()
}

#[test]
fn midi_out_sends_the_notes_it_hears_when_switched_on() {
    let rate = 48_000.0;
    let notes = [(57.0, 0.2, 0.4), (64.0, 0.8, 0.3), (60.0, 1.3, 0.5)];
    let input = separate_notes(rate, &notes, 2.2);
    let mut plugin = effect_with_wired_model("midi-out");
    // Off by default: nothing is sent.
    let mut session = plugin.activate(rate, 1024);
    session.render(&[&input], input.len(), &BLOCKS, &[]);
    assert!(session.sent.is_empty(), "{:?}", session.sent);
    plugin.deactivate(session);
    let on = plugin.param("MIDI out");
    let bend = plugin.param("MIDI pitch bend");
    let events = [
        TimedEvent::Param(0, on.id, on.max),
        TimedEvent::Param(0, bend.id, bend.max),
    ];
    let mut session = plugin.activate(rate, 1024);
    let latency = plugin.latency() as f64;
    session.render(&[&input], input.len(), &BLOCKS, &events);
    let ons: Vec<(u64, u16)> = session
        .sent
        .iter()
        .filter_map(|&(at, e)| match e {
            SentEvent::NoteOn(key, _) => Some((at, key)),
            _ => None,
        })
        .collect();
    assert_eq!(
        ons.iter().map(|o| o.1).collect::<Vec<_>>(),
        vec![57, 64, 60],
        "{:?}",
        session.sent
    );
    for (&(at, key), n) in ons.iter().zip(&notes) {
        let error_ms = (at as f64 - (n.1 * rate + latency)) / rate * 1e3;
        assert!(error_ms.abs() <= 10.0, "note {key}: {error_ms:.1} ms off");
    }
    let offs = session
        .sent
        .iter()
        .filter(|(_, e)| matches!(e, SentEvent::NoteOff(_)))
        .count();
    assert_eq!(offs, 3, "every note ends");
    let bends = session
        .sent
        .iter()
        .filter(|(_, e)| matches!(e, SentEvent::Midi([status, _, _]) if status & 0xF0 == 0xE0))
        .count();
    assert!(bends >= 3, "{bends} pitch bends");
    plugin.deactivate(session);
}

#[test]
fn morph_at_full_plays_model_b_exactly_as_model_b_alone() {
    let rate = 44_100.0;
    let a = save_temp(&wired_model("wired A"), "morph-a");
    let b_model =
        timbre_model::testing::wired_model("wired B", timbre_model::testing::WiredHarmonics::Slope);
    let b = save_temp(&b_model, "morph-b");
    let input = phrase(rate);
    let render = |model: &std::path::Path, morph_to: Option<&std::path::Path>, morph: f64| {
        let mut plugin = Plugin::new(EFFECT_ID);
        let mut state = with_model(&plugin.save_state(), model.to_str().unwrap());
        if let Some(b) = morph_to {
            state = with_field(&state, "morph_model", b.to_str().unwrap());
        }
        assert!(plugin.load_state(&state));
        let knob = set(&mut plugin, &spec::MORPH, morph as f32, 0);
        let mut session = plugin.activate(rate, 512);
        let out = session.render(&[&input], input.len(), &BLOCKS, &[knob]);
        plugin.deactivate(session);
        out
    };
    let alone_a = render(&a, None, 0.0);
    let alone_b = render(&b, None, 0.0);
    assert_ne!(alone_a, alone_b);
    assert_eq!(
        render(&a, Some(&b), 1.0),
        alone_b,
        "morph 100% is not model B"
    );
    assert_eq!(
        render(&a, Some(&b), 0.0),
        alone_a,
        "morph 0% is not model A"
    );
    let half = render(&a, Some(&b), 0.5);
    assert!(half != alone_a && half != alone_b);
}

/// Sets `spec` to `plain` mid-render in an activated `plugin` at 48 kHz and checks that CLAP's
/// rule holds: the latency may only change in `activate`, so the plugin asks for a restart
/// and keeps the latency it reported until then. Returns the latency in ms before and after
/// the reactivation.
fn latency_across_a_restart(plugin: &mut Plugin, spec: &ParamSpec, plain: f32) -> (f64, f64) {
    let rate = 48_000.0;
    let mut session = plugin.activate(rate, 512);
    let before = plugin.latency();
    let input = phrase(rate);
    let knob = set(plugin, spec, plain, 1_000);
    plugin.take_restart_request();
    session.render(&[&input], input.len(), &BLOCKS, &[knob]);
    assert!(plugin.take_restart_request(), "no restart requested");
    assert_eq!(plugin.latency(), before);
    plugin.deactivate(session);
    let session = plugin.activate(rate, 512);
    let after = plugin.latency();
    plugin.deactivate(session);
    let ms = |samples: u32| f64::from(samples) / rate * 1e3;
    (ms(before), ms(after))
}

#[test]
fn a_new_lowest_note_asks_for_a_restart_and_plays_from_the_reactivation() {
    let mut plugin = effect_with_wired_model("lowest-note");
    let (before, after) = latency_across_a_restart(&mut plugin, &spec::LOWEST_NOTE, 160.0);
    // The default 100 Hz: 9.9 ms (the "at most 10 ms"); 160 Hz: 6.9 ms.
    assert!(
        before <= 10.0 && after < 7.0,
        "160 Hz: {after:.2} ms, 100 Hz: {before:.2} ms"
    );
}

#[test]
fn low_latency_asks_for_a_restart_and_takes_the_body_delay_off_the_latency() {
    // A fresh effect plays the violin, whose body is trained silent (its IR is the room
    // alone): it plays with the analysis's latency alone, 9.92 ms, Low latency on or off.
    let mut violin = Plugin::new(EFFECT_ID);
    let (before, after) = latency_across_a_restart(&mut violin, &spec::LOW_LATENCY, 1.0);
    assert!(
        before <= 10.0 && after <= 10.0 && (before - after).abs() < 0.05,
        "violin, Low latency off: {before:.2} ms, on: {after:.2} ms"
    );
    // The saxophone's learned body delays it by about 9 ms.
    let mut saxophone = Plugin::new(EFFECT_ID);
    let state = saxophone.save_state();
    assert!(saxophone.load_state(&with_model(&state, "saxophone")));
    let (before, after) = latency_across_a_restart(&mut saxophone, &spec::LOW_LATENCY, 1.0);
    // The saxophone: 19.1 ms with its body as learned, 12.2 ms with it in minimum phase.
    assert!(
        before > 17.0 && after < 13.0 && before - after > 5.0,
        "saxophone, Low latency off: {before:.2} ms, on: {after:.2} ms"
    );
}

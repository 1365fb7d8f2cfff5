//! Hostile input through the built plugin, as a host drives it (`clack-host`, with nice-plug's
//! `assert_process_allocs`, so an allocation inside `process` aborts the test):
//!
//! - hostile audio (the test kit's `hostile_signals`: NaN, ±Inf, denormals, DC, full-scale
//!   noise, a square wave, clicks, 20 Hz and 8 kHz tones, fast glides; and 10 s of silence):
//!   finite output within the ceiling;
//! - every supported rate × block sizes 1, 13, 64, 512, 8192 and random sizes × the stereo and
//!   mono input layouts, with a random parameter automated at the start of every block;
//! - hostile saved states: out-of-range and infinite parameter values, unusable model
//!   selections (a FIFO, a device, 10 kB of text, control characters): the state loads, the
//!   values come back within range, and the plugin plays.

mod common;

use common::host::{ParamDesc, Plugin, TimedEvent, EFFECT_ID, SYNTH_ID};
use common::*;
use timbre_engine::params::{self as spec};
use timbre_engine::OUTPUT_CEILING;
use timbre_testkit::{hostile_signals, TestRng};

/// The JSON of a saved state.
fn decode_state(state: &[u8]) -> serde_json::Value {
    serde_json::from_slice(&state[8..]).expect("state is JSON")
}

/// The first sample that is non-finite, beyond the ceiling, or subnormal.
fn bad_sample(out: &[f32]) -> Option<(usize, f32)> {
    out.iter()
        .copied()
        .enumerate()
        .find(|(_, x)| !x.is_finite() || x.abs() > OUTPUT_CEILING || x.is_subnormal())
}

#[test]
fn hostile_audio_through_the_plugin_stays_finite_and_bounded() {
    let rate = 48_000.0;
    let n = rate as usize;
    let mut signals = hostile_signals(rate, n);
    signals.push(("10 s silence", vec![0.0; 10 * n]));
    // The default (shipped) model, reverb at its default.
    let mut plugin = Plugin::new(EFFECT_ID);
    let mut session = plugin.activate(rate, 1024);
    for (name, signal) in &signals {
        let [left, right] = session.render(&[signal, signal], signal.len(), &[1024, 7, 333], &[]);
        if let Some((at, x)) = bad_sample(&left).or(bad_sample(&right)) {
            panic!("{name}: sample {at} is {x}");
        }
    }
    // And it still plays: a clean phrase afterwards is heard.
    let clean = phrase(rate);
    let [left, _] = session.render(&[&clean, &clean], clean.len(), &[512], &[]);
    assert!(bad_sample(&left).is_none());
    assert!(rms(&left[n..]) > 1e-3, "silent after the hostile signals");
    plugin.deactivate(session);
}

/// A random automation event for every block start.
fn random_automation(
    params: &[ParamDesc],
    blocks: &[usize],
    len: usize,
    seed: u64,
) -> Vec<TimedEvent> {
    let mut rng = TestRng::new(seed);
    let mut events = Vec::new();
    let mut pos = 0;
    let mut b = 0;
    while pos < len {
        let p = &params[rng.range(0, params.len() - 1)];
        let value = p.min + (p.max - p.min) * rng.unit() as f64;
        events.push(TimedEvent::Param(pos as u64, p.id, value));
        pos += blocks[b % blocks.len()];
        b += 1;
    }
    events
}

#[test]
fn every_rate_block_size_and_layout_with_random_automation() {
    let rates = [
        22_050.0, 32_000.0, 37_000.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0,
    ];
    let mut plugin = Plugin::new(EFFECT_ID);
    let params = plugin.params();
    let mut runs = 0;
    let mut heard = 0;
    for (r, &rate) in rates.iter().enumerate() {
        for channels in [2u32, 1] {
            plugin.select_input_channels(channels);
            let mut configs: Vec<(usize, Vec<usize>)> = [1usize, 13, 64, 512, 8192]
                .into_iter()
                .map(|b| (b, vec![b]))
                .collect();
            // Random sizes up to the maximum, changing every block.
            configs.push((
                4096,
                timbre_testkit::random_blocks(rate as usize, 4096, r as u64),
            ));
            for (max_block, blocks) in configs {
                let len = ((0.25 * rate) as usize).max(3 * max_block);
                let input = sawtooth(
                    rate,
                    len as f64 / rate + 0.01,
                    |t| 150.0 + 400.0 * t,
                    |_| 0.7,
                );
                let input = &input[..len];
                let events = random_automation(&params, &blocks, len, runs as u64);
                let mut session = plugin.activate(rate, max_block as u32);
                let inputs: Vec<&[f32]> = vec![input; channels as usize];
                let [left, right] = session.render(&inputs, len, &blocks, &events);
                plugin.deactivate(session);
                let what = format!("{rate} Hz, {channels} ch, max block {max_block}");
                if let Some((at, x)) = bad_sample(&left).or(bad_sample(&right)) {
                    panic!("{what}: sample {at} is {x}");
                }
                runs += 1;
                heard += usize::from(rms(&left) > 1e-4);
            }
        }
    }
    assert_eq!(runs, 8 * 2 * 6);
    // Random settings (gate, gains) silence some runs, not most.
    assert!(heard >= runs / 2, "only {heard} of {runs} runs made sound");
}

/// Plain parameter values of a saved state, by id.
fn saved_f32(state: &serde_json::Value, id: &str) -> Option<f64> {
    state["params"][id]["f32"].as_f64()
}

#[test]
fn hostile_states_are_repaired_and_the_plugin_plays() {
    let mut plugin = Plugin::new(EFFECT_ID);
    let saved = decode_state(&plugin.save_state());
    // A FIFO: opening it for reading blocks until a writer comes (none will).
    let fifo = std::env::temp_dir().join(format!("tt-state-fifo-{}.ttmodel", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    let have_fifo = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    // (persisted field, whether it is dropped as unusable): plausible paths are kept (the
    // loader refuses them and the default model plays; a later session may find the file).
    let mut models = vec![
        (serde_json::to_string("/dev/zero").unwrap(), false),
        (serde_json::to_string(&"x".repeat(10_000)).unwrap(), true),
        (serde_json::to_string("violin\u{0}.ttmodel").unwrap(), true),
        ("{\"not\": \"a string\"}".to_string(), true),
    ];
    if have_fifo {
        models.push((
            serde_json::to_string(fifo.to_str().unwrap()).unwrap(),
            false,
        ));
    }
    for (model, dropped) in models {
        let label: String = model.chars().take(40).collect();
        let before = decode_state(&plugin.save_state())["fields"]["model"].clone();
        let mut state = saved.clone();
        // 1e39 does not fit an f32: it parses as +Inf.
        state["params"]["gain"] = serde_json::json!({ "f32": 1e30 });
        state["params"]["loudness"] = serde_json::json!({ "f32": -1e39 });
        state["params"]["semitones"] = serde_json::json!({ "i32": i32::MAX });
        state["fields"]["model"] = serde_json::Value::String(model.clone());
        assert!(plugin.load_state(&encode_state(&state)), "{label}");
        let restored = decode_state(&plugin.save_state());
        assert_eq!(
            saved_f32(&restored, "gain"),
            Some(spec::OUTPUT_GAIN.max as f64)
        );
        // The infinite value was dropped: the previous value stays.
        assert_eq!(
            saved_f32(&restored, "loudness"),
            saved_f32(&saved, "loudness")
        );
        assert_eq!(
            restored["params"]["semitones"]["i32"].as_i64(),
            Some(spec::SEMITONES.max as i64)
        );
        // A dropped selection leaves the previous one in place.
        let expected = if dropped {
            &before
        } else {
            &state["fields"]["model"]
        };
        assert_eq!(&restored["fields"]["model"], expected, "{label}");
        // Activation (which loads the selection) finishes, and the default model plays.
        let (tx, rx) = std::sync::mpsc::channel();
        let watchdog = std::thread::spawn(move || {
            if rx.recv_timeout(std::time::Duration::from_secs(20)).is_err() {
                eprintln!("activation hung");
                std::process::abort();
            }
        });
        let mut session = plugin.activate(48_000.0, 512);
        tx.send(()).unwrap();
        watchdog.join().unwrap();
        let input = phrase(48_000.0);
        let [left, _] = session.render(&[&input, &input], input.len(), &[512], &[]);
        plugin.deactivate(session);
        assert!(bad_sample(&left).is_none(), "{label}");
        assert!(rms(&left) > 1e-3, "{label}: silent");
    }
    if have_fifo {
        std::fs::remove_file(&fifo).unwrap();
    }
}

/// Before the state was sanitized, an attack of 3e38 ms from a saved state was taken as is:
/// the envelope's attack step rounded to nothing and the synth stayed silent.
#[test]
fn a_synth_state_with_an_absurd_attack_still_plays() {
    let rate = 48_000.0;
    let path = save_temp(&wired_model("wired hostile synth"), "hostile-synth");
    let mut synth = Plugin::new(SYNTH_ID);
    let mut state = decode_state(&synth.save_state());
    state["params"]["attack"] = serde_json::json!({ "f32": 3e38 });
    state["fields"]["model"] =
        serde_json::Value::String(serde_json::to_string(path.to_str().unwrap()).unwrap());
    assert!(synth.load_state(&encode_state(&state)));
    let restored = decode_state(&synth.save_state());
    let attack = saved_f32(&restored, "attack").unwrap();
    assert!(attack <= 5000.0, "attack {attack} ms");
    let mut session = synth.activate(rate, 512);
    // The attack is at most 5 s: by 6 s the note sounds.
    let len = (6.5 * rate) as usize;
    let events = [TimedEvent::NoteOn(0, 57, 1.0)];
    let [left, _] = session.render(&[], len, &[512], &events);
    synth.deactivate(session);
    assert!(bad_sample(&left).is_none());
    let end = rms(&left[(6.0 * rate) as usize..]);
    assert!(end > 1e-2, "rms {end} after 6 s of a held note");
}

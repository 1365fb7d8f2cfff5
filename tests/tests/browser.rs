//! The page in a real browser: builds it (timbre-web for wasm32 + wasm-bindgen), serves it on
//! localhost, and runs `tests/browser.mjs` in headless Chromium through playwright-core. The
//! script checks that the knobs start from the default model's recommended settings, renders
//! the bundled melody through the AudioWorklet, moves sliders, picks another
//! model, drives the synth by hand, feeds a bad file, asks for the microphone, plays and
//! records live, takes a screenshot and benchmarks; this test asserts on the figures it
//! reports.
//!
//! Reported as ignored when Chromium, node, playwright-core (`npm ci` in crates/web), the wasm
//! target or the pinned wasm-bindgen CLI is missing (and fails, naming it, when `CI` is set);
//! `.ci/run --deps-only` installs them all.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use timbre_engine::params::ALL;
use timbre_engine::Params;
use timbre_model::ModelFile;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Why the browser test cannot run here, if it cannot.
fn missing() -> Option<String> {
    let web = web_dir();
    if !Path::new(CHROMIUM).exists() {
        return Some(format!("{CHROMIUM} is missing (apt-get install chromium)"));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is missing (apt-get install nodejs npm)".to_string());
    }
    if !web.join("node_modules/playwright-core").exists() {
        return Some("playwright-core is missing (npm ci in crates/web)".to_string());
    }
    timbre_web_build::missing_tools()
}

/// The page's crate (`crates/web`: its scripts and node modules).
fn web_dir() -> PathBuf {
    timbre_e2e::workspace_root().join("crates/web")
}

/// The outer cargo's target folder (this test runs from `<target>/<profile>/deps/`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.ancestors()
        .nth(3)
        .expect("the test runs from <target>/<profile>/deps")
        .to_path_buf()
}

fn num(v: &Value, path: &str) -> f64 {
    v.pointer(path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {path} in the report"))
}

fn text<'a>(v: &'a Value, path: &str) -> &'a str {
    v.pointer(path)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no text at {path} in the report"))
}

#[test]
#[cfg_attr(
    missing_browser,
    ignore = "Chromium, node, playwright-core, the wasm target or wasm-bindgen is missing: bash .ci/run --deps-only"
)]
fn the_page_transfers_timbre_in_headless_chromium() {
    if let Some(why) = missing() {
        panic!("the browser test cannot run: {why}");
    }
    let started = std::time::Instant::now();
    // A separate target folder: the outer `cargo test` holds the lock on its own.
    let build_dir = target_dir().join("web-build");
    let page =
        timbre_web_build::build_page(&build_dir.join("page"), &build_dir).expect("build the page");
    let screenshot = build_dir.join("web.png");
    let output = Command::new("node")
        .current_dir(web_dir())
        .arg("tests/browser.mjs")
        .arg(&page)
        .arg("--screenshot")
        .arg(&screenshot)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser script failed:\n{stdout}\n{stderr}"
    );
    let r: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("bad report ({e}):\n{stdout}\n{stderr}"));
    println!("{stderr}");
    println!(
        "browser test: {:.1} s in Chromium ({:.1} s with the page build)",
        num(&r, "/seconds"),
        started.elapsed().as_secs_f64()
    );

    assert_eq!(r["loaded"], true);
    let console = r["console_errors"].as_array().unwrap();
    assert!(console.is_empty(), "console errors: {console:?}");

    // A fresh page starts from the default model's recommended settings, as the plugin and the
    // CLI do; picking a model sets the knobs it recommends (the test then turns auto-adjust
    // off and the reverb, Humanize and Autotune down, so that the models are compared alike).
    let (violin, _) = timbre_catalog::resolve(timbre_catalog::DEFAULT_MODEL).unwrap();
    let violin_settings = &violin.metadata().recommended_settings;
    assert!(
        !violin_settings.is_empty(),
        "the default model recommends no settings: nothing to check"
    );
    let fresh = Params::recommended(violin.metadata());
    for spec in ALL {
        let shown = num(&r, &format!("/start_knobs/{}", spec.id));
        let expected = fresh.get(spec.id).unwrap();
        assert!(
            (shown - expected as f64).abs() < 1e-4,
            "a fresh page shows {} = {shown}, the violin recommends {expected}",
            spec.id
        );
    }
    let (key, bytes) = timbre_catalog::instrument_models()[1];
    let second = ModelFile::from_bytes(bytes, key).unwrap();
    for (knobs, model) in [
        ("other_model_knobs", &second),
        ("violin_again_knobs", &violin),
    ] {
        for (id, &value) in &model.metadata().recommended_settings {
            let Some(spec) = ALL.iter().find(|s| s.id == id) else {
                continue;
            };
            let shown = num(&r, &format!("/{knobs}/{id}"));
            assert!(
                (shown - spec.clamp(value) as f64).abs() < 1e-4,
                "after picking {}: {id} = {shown}, recommended {value}",
                model.metadata().name
            );
        }
    }
    // Back to the violin, the knobs only the second model recommended are at their defaults
    // again (the trumpet's Autotune does not stay with the violin).
    let only_second = second
        .metadata()
        .recommended_settings
        .keys()
        .filter(|id| !violin_settings.contains_key(*id));
    for id in only_second {
        let Some(spec) = ALL.iter().find(|s| s.id == id) else {
            continue;
        };
        let shown = num(&r, &format!("/violin_again_knobs/{id}"));
        assert!(
            (shown - spec.default as f64).abs() < 1e-4,
            "back on the violin: {id} = {shown}, its default is {}",
            spec.default
        );
    }

    // The melody through the default (violin) model: the output pitch follows the input's.
    let melody = num(&r, "/melody/median_cents_error");
    let frames = num(&r, "/melody/frames");
    assert!(
        num(&r, "/melody/voiced_frames") >= 0.5 * frames,
        "voiced frames {}",
        r["melody"]
    );
    assert!(melody < 50.0, "median pitch error {melody} cents");
    assert!(num(&r, "/melody/output_rms") > 0.01, "{}", r["melody"]);

    // The download is a 16-bit stereo WAV of the whole render.
    let wav = &r["wav"];
    assert_eq!(wav["visible"], true);
    assert_eq!(
        (text(&r, "/wav/riff"), text(&r, "/wav/wave")),
        ("RIFF", "WAVE")
    );
    assert_eq!(
        (num(&r, "/wav/channels"), num(&r, "/wav/bits")),
        (2.0, 16.0)
    );
    assert_eq!(num(&r, "/wav/rate"), num(&r, "/wav/expected_rate"));
    let frames_out = num(&r, "/wav/expected_frames");
    assert_eq!(
        frames_out,
        num(&r, "/melody/seconds") * num(&r, "/wav/rate")
    );
    assert_eq!(num(&r, "/wav/data_bytes"), frames_out * 4.0);
    assert_eq!(num(&r, "/wav/total_bytes"), frames_out * 4.0 + 44.0);

    // Twelve key presses on the pitch-shift slider: an octave up, and the label says so.
    assert_eq!(text(&r, "/slider_label"), "+12 st");
    let octave = num(&r, "/octave_up/median_cents_error");
    assert!(octave < 50.0, "octave up: {octave} cents off 1200");

    // Back to 0 st with reverb off: the pitch follows again, the sound changed (the room is
    // gone) but its level hardly did (the model's body still plays; see `timbre_engine::ir`).
    assert!(num(&r, "/dry/median_cents_error") < 50.0, "{}", r["dry"]);
    let change = num(&r, "/dry/change_from_room");
    assert!(change > 0.05, "reverb off changed nothing: {change}");
    let (wet_rms, dry_rms) = (num(&r, "/melody/output_rms"), num(&r, "/dry/output_rms"));
    let level_db = 20.0 * (dry_rms / wet_rms).log10();
    assert!(
        level_db.abs() < 3.0,
        "reverb off moved the level by {level_db:.1} dB ({wet_rms} vs {dry_rms})"
    );

    // Another model from the picker (the second embedded one) sounds different: its
    // long-term spectrum differs by several dB per band on average (3 dB is a clearly audible
    // change of tone colour), where a repeat render of the violin differs by almost nothing.
    assert_ne!(text(&r, "/other_model/name"), violin.metadata().name);
    let difference = num(&r, "/other_model/band_difference_db");
    let repeat = num(&r, "/other_model/repeat_difference_db");
    assert!(
        repeat < 0.5,
        "a repeat render differs by {repeat} dB per band"
    );
    assert!(
        difference > 3.0,
        "the other model sounds the same ({difference} dB per band)"
    );

    // The morph: 100% is exactly the second model, 0% exactly the violin, 50% neither.
    assert_eq!(text(&r, "/morph/label"), "100 %");
    assert_eq!(num(&r, "/morph/full_vs_other"), 0.0, "{}", r["morph"]);
    assert_eq!(num(&r, "/morph/zero_vs_violin"), 0.0, "{}", r["morph"]);
    assert!(
        num(&r, "/morph/half_vs_violin") > 1e-3 && num(&r, "/morph/half_vs_other") > 1e-3,
        "{}",
        r["morph"]
    );

    // By hand, only harmonic 1: a sine at the input's pitch, where the network is bright.
    let network = num(&r, "/dry/overtones_db");
    let by_hand = num(&r, "/by_hand/overtones_db");
    assert!(network > -30.0, "the network's overtones at {network} dB");
    assert!(by_hand < -40.0, "by hand, overtones at {by_hand} dB");
    assert!(
        num(&r, "/by_hand/median_cents_error") < 20.0,
        "{}",
        r["by_hand"]
    );
    let arch = violin.architecture();
    assert_eq!(num(&r, "/synth_sliders/harmonics"), arch.n_harmonics as f64);
    assert_eq!(num(&r, "/synth_sliders/noise"), arch.n_noise_bands as f64);

    // Bad input says so on the page.
    let bad = text(&r, "/bad_file_message");
    assert!(
        bad.contains("notes.txt") && bad.contains("not an audio file"),
        "{bad}"
    );
    let mic = text(&r, "/mic_message");
    assert!(mic.contains("icrophone") && mic.contains("denied"), "{mic}");
    // With permission, Chromium's fake microphone reaches the engine.
    assert!(text(&r, "/mic_live/now_playing").contains("microphone"));
    assert!(num(&r, "/mic_live/peaks/input") > 0.0, "{}", r["mic_live"]);

    // Live through the real-time worklet: the synth panel shows the network's output.
    assert!(
        text(&r, "/live/now_playing").contains("demo"),
        "{}",
        r["live"]
    );
    assert!(
        num(&r, "/live/harmonics_above_floor") > 0.0,
        "{}",
        r["live"]
    );
    assert!(text(&r, "/live/readout").contains("Hz"), "{}", r["live"]);
    assert!(num(&r, "/live/peaks/output") > 0.01, "{}", r["live"]);
    assert!(screenshot.exists());
    // A model switch while playing: meters keep coming, no error.
    assert!(
        num(&r, "/live_model_switch/meters_since") > 10.0,
        "{}",
        r["live_model_switch"]
    );
    assert_eq!(r["live_model_switch"]["new_errors"], serde_json::json!([]));
    // A second of recording: at least half a second of 16-bit stereo at the live rate.
    assert_eq!(text(&r, "/recording/name"), "tiny-timbre-recording.wav");
    let recorded = num(&r, "/recording/bytes");
    assert!(
        recorded > 44.0 + 0.5 * num(&r, "/recording/rate") * 4.0,
        "{}",
        r["recording"]
    );

    // The engine keeps up with real time in the browser (the README reports the figure).
    let rtf = num(&r, "/bench/rtf");
    println!("engine in Chromium, 48 kHz, 128-sample blocks: {rtf:.0}x real-time");
    assert!(
        rtf > 1.0,
        "the engine is slower than real time in the browser: {rtf}x"
    );
}

//! The checks that clap-validator 0.4.1 and Steinberg's VST3 validator failed on earlier
//! builds, and what a bounce in a real host needs, reproduced through the built CLAP library:
//!
//! - activation and playback at every rate the validators try, 1 kHz to 768 kHz, fractional
//!   ones included, with the latency reported at each and after reactivation at another rate;
//! - every parameter's value → text → value → text round trip, at 101 points per parameter, in
//!   both plugins, with the unit written once and a sign on every positive shift;
//! - repeatable renders: a fresh instance, a reset one, a reactivated one and one that played
//!   something else before a pause all give bit-identical output;
//! - a stereo image whose mono sum is what the mono output plays, from mono or stereo input.

mod common;

use common::host::{Plugin, Session, TimedEvent, EFFECT_ID, SYNTH_ID};
use common::*;
use timbre_engine::params as spec;

/// The rates clap-validator's `process-varying-sample-rates` and the VST3 validator try,
/// fractional ones included (the VST3 validator's last is 1,234,567.75 Hz).
const RATES: [f64; 18] = [
    1_000.0,
    8_000.0,
    11_025.0,
    16_000.0,
    22_050.0,
    32_000.0,
    44_100.0,
    48_000.0,
    88_200.0,
    96_000.0,
    176_400.0,
    192_000.0,
    384_000.0,
    768_000.0,
    1_234.567_8,
    12_345.678,
    123_456.78,
    1_234_567.75,
];

/// A 220 Hz tone with a slow vibrato, `seconds` long, band-limited at `rate`.
fn tone(rate: f64, seconds: f64) -> Vec<f32> {
    sawtooth(
        rate,
        seconds,
        |t| 220.0 * 2f64.powf(0.2 * (2.0 * std::f64::consts::PI * 5.0 * t).sin() / 12.0),
        |_| 0.5,
    )
}

#[test]
fn both_plugins_activate_and_play_at_every_rate_the_validators_try() {
    for id in [EFFECT_ID, SYNTH_ID] {
        let mut plugin = Plugin::new(id);
        for rate in RATES {
            let mut session = plugin.activate(rate, 512);
            let latency_ms = plugin.latency() as f64 / rate * 1e3;
            let input = tone(rate, 0.6);
            let events = [TimedEvent::NoteOn(0, 57, 0.9)];
            let [left, right] = if id == EFFECT_ID {
                session.render(&[&input, &input], input.len(), &[512, 77], &[])
            } else {
                session.render(&[], input.len(), &[512, 77], &events)
            };
            assert!(
                left.iter().chain(&right).all(|x| x.is_finite()),
                "{id:?} at {rate} Hz: non-finite output"
            );
            let rms = (left.iter().map(|x| x * x).sum::<f32>() / left.len() as f32).sqrt();
            assert!(rms > 1e-3, "{id:?} at {rate} Hz is silent ({rms})");
            if id == EFFECT_ID {
                // The same delay in ms at every rate, within the resampler's filter length.
                assert!(
                    (3.0..40.0).contains(&latency_ms),
                    "{rate} Hz: latency {latency_ms} ms"
                );
            }
            plugin.deactivate(session);
        }
    }
}

#[test]
fn the_effect_follows_the_pitch_at_low_and_very_high_rates() {
    for rate in [8_000.0, 22_050.0, 384_000.0] {
        let mut plugin = effect_with_wired_model(&format!("rate-{rate}"));
        let reverb = plugin.param(spec::REVERB.name);
        let off = TimedEvent::Param(0, reverb.id, reverb.min);
        let mut session = plugin.activate(rate, 1024);
        let latency = plugin.latency() as usize;
        let input = phrase(rate);
        let [left, _] = session.render(&[&input], input.len(), &[1024, 300], &[off]);
        let (err, n) = pitch_error(&input, &left, latency, rate, 0.0);
        assert!(
            n > 300 && err <= 10.0,
            "{rate} Hz: {err:.2} cents over {n} frames"
        );
        plugin.deactivate(session);
    }
}

#[test]
fn every_parameter_text_round_trips_with_one_unit() {
    for id in [EFFECT_ID, SYNTH_ID] {
        let mut plugin = Plugin::new(id);
        for param in plugin.params() {
            for i in 0..=100 {
                let value = param.min + (param.max - param.min) * i as f64 / 100.0;
                let text = plugin.value_text(param.id, value);
                let back = plugin
                    .text_value(param.id, &text)
                    .unwrap_or_else(|| panic!("{}: '{text}' does not parse", param.name));
                let again = plugin.value_text(param.id, back);
                assert_eq!(text, again, "{}: {value} → '{text}' → {back}", param.name);
                assert_eq!(text, text.trim(), "{}: '{text}'", param.name);
                for unit in ["ms", " s", "dB", "%", "st", "ct"] {
                    assert!(
                        text.matches(unit).count() <= 1,
                        "{}: '{text}' repeats its unit",
                        param.name
                    );
                }
                assert!(!text.contains("s ms"), "{}: '{text}'", param.name);
                assert!(!text.starts_with("-0") || text.starts_with("-0."), "{text}");
                assert!(
                    !text.starts_with("-0.0 ") && text != "-0",
                    "{}: '{text}'",
                    param.name
                );
            }
        }
    }
    // Shifts show their sign, pitch and fine tune alike.
    let mut plugin = Plugin::new(EFFECT_ID);
    for (name, text) in [
        (spec::SEMITONES.name, "+12 st"),
        (spec::CENTS.name, "+50 ct"),
        (spec::LOUDNESS.name, "-6.0 dB"),
    ] {
        let param = plugin.param(name);
        let value = plugin.text_value(param.id, text).unwrap();
        assert_eq!(plugin.value_text(param.id, value), text);
    }
}

/// Renders `input` (stereo from mono) with the reverb at 60%.
fn bounce(
    plugin: &mut Plugin,
    session: &mut Session,
    input: &[f32],
    blocks: &[usize],
) -> [Vec<f32>; 2] {
    let reverb = plugin.param(spec::REVERB.name);
    let wet = TimedEvent::Param(0, reverb.id, reverb.min + 0.6 * (reverb.max - reverb.min));
    session.render(&[input, input], input.len(), blocks, &[wet])
}

#[test]
fn renders_repeat_bit_for_bit_across_instances_resets_and_pauses() {
    let rate = 48_000.0;
    let mut input = phrase(rate);
    input.extend(std::iter::repeat_n(0.0, rate as usize));
    // The default model (with its learned reverb).
    let mut first = Plugin::new(EFFECT_ID);
    let mut session = first.activate(rate, 1024);
    let reference = bounce(&mut first, &mut session, &input, &[1024]);
    assert!(reference[0] != reference[1], "stereo");
    // The host resets the plugin and bounces again, in other blocks.
    session.reset();
    let after_reset = bounce(&mut first, &mut session, &input, &[256, 1000, 7]);
    assert!(after_reset == reference, "after reset");
    // No reset: the plugin plays on through a pause (transport stopped, silence), then the
    // bounce starts again.
    let pause = vec![0.0; 3 * rate as usize];
    session.render(&[&pause, &pause], pause.len(), &[512], &[]);
    let after_pause = bounce(&mut first, &mut session, &input, &[333]);
    assert!(after_pause == reference, "after a pause");
    // Deactivated and activated again.
    first.deactivate(session);
    let mut session = first.activate(rate, 1024);
    let reactivated = bounce(&mut first, &mut session, &input, &[1024]);
    assert!(reactivated == reference, "after reactivation");
    first.deactivate(session);
    // A second, fresh instance.
    let mut second = Plugin::new(EFFECT_ID);
    let mut session = second.activate(rate, 512);
    let fresh = bounce(&mut second, &mut session, &input, &[64, 512]);
    assert!(fresh == reference, "a fresh instance");
    second.deactivate(session);
}

#[test]
fn the_mono_layouts_play_the_mono_sum_of_the_stereo_image() {
    let rate = 48_000.0;
    let input = phrase(rate);
    let mut stereo = Plugin::new(EFFECT_ID);
    stereo.select_layout(1, 2);
    let mut session = stereo.activate(rate, 512);
    let [left, right] = bounce(&mut stereo, &mut session, &input, &[512]);
    stereo.deactivate(session);
    // Decorrelated but related channels.
    let corr = timbre_testkit::correlation(&left, &right);
    assert!(
        (0.3..0.999).contains(&corr),
        "left/right correlation {corr}"
    );
    let mut mono = Plugin::new(EFFECT_ID);
    mono.select_layout(1, 1);
    let mut session = mono.activate(rate, 512);
    session.outputs = 1;
    let reverb = mono.param(spec::REVERB.name);
    let wet = TimedEvent::Param(0, reverb.id, reverb.min + 0.6 * (reverb.max - reverb.min));
    let [out, _] = session.render(&[&input], input.len(), &[512], &[wet]);
    mono.deactivate(session);
    let worst = out
        .iter()
        .zip(left.iter().zip(&right))
        .map(|(m, (l, r))| (m - (l + r) * 0.5).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-6,
        "mono output differs from (L + R) / 2 by {worst}"
    );
    // Folding to mono loses only the side: at most 1.5 dB of the stereo channels' mean energy
    // ((L² + R²)/2 = M² + S²), never a cancellation of the middle.
    let energy = |x: &[f32]| x.iter().map(|v| f64::from(v * v)).sum::<f64>();
    let ratio = energy(&out) / ((energy(&left) + energy(&right)) / 2.0);
    assert!(
        (0.7..=1.0001).contains(&ratio),
        "mono/stereo energy {ratio}"
    );
}

//! The model's learned reverb impulse response, brought to the host rate and cut into the
//! instrument's body and its room.
//!
//! A model is trained to play `dry + dry ∗ ir` (see `timbre_train::synth`), and what it learns
//! in `ir` is mostly not a room: the learned IRs of the first shipped models held 88–95 % of
//! their energy in their first 40 ms and lifted the dry synth by 10–20 dB with a strong
//! spectral shape (the first cello's by 20 dB at 100–300 Hz but 3 dB at 4–8 kHz). That
//! early part is the instrument's body, a filter the network's synth relies on: without it
//! that cello's synth was 5–20 dB too bright above 1 kHz, the buzz heard from a "dry"
//! render. The engine therefore always plays the body, `dry + dry ∗ body`, and lets the
//! reverb knob set only the room, the rest of the IR ([`split_ir`]).
//!
//! The body delays what it shapes: the power-weighted group delay of `dry + dry ∗ body` over
//! 150 Hz–4 kHz is 9.2 ms for the saxophone as learned ([`body_delay_seconds`]), and a
//! vibrato through the body is heard that much after the synth plays it
//! (tests/trained_in_step.rs). The violin, the trumpet, the flute and the cello are trained
//! with their bodies silent (their IRs are the room alone, the body's shaping learned in
//! their body responses in Hz), so they add nothing. The engine counts that delay in the
//! latency it reports. The
//! **Low latency** switch plays the body in minimum phase instead ([`minimum_phase_body`]):
//! the same magnitude response with the least delay any filter of that response has
//! (0.8–2.5 ms), built from the body at the model's own rate. The independent listener hears
//! the learned phase as more like the instrument (README, "Latency and the lowest note"), so
//! it stays the default, resampled to the host rate as learned (for a body trained in
//! minimum phase, as the trumpet's was until 2026-12-07, that copy took 0.1 ms more than its
//! trained delay).

use timbre_dsp::offline::{
    magnitude_response, minimum_phase_fft_len, minimum_phase_of_magnitude, resample_clip,
    MIN_PHASE_FLOOR,
};

use crate::error::EngineError;

/// Resamples `ir` from `ir_rate` to `host_rate`, keeping its energy per second (a longer IR
/// at a higher rate would otherwise ring louder: the gain is scaled by `ir_rate / host_rate`).
/// Allocates; runs when a model is loaded, never on the audio thread.
pub fn resample_ir(ir: &[f32], ir_rate: f64, host_rate: f64) -> Result<Vec<f32>, EngineError> {
    if ir.is_empty() || ir_rate == host_rate {
        return Ok(ir.to_vec());
    }
    let mut out = resample_clip(ir, ir_rate, host_rate).map_err(EngineError::ReverbResample)?;
    let gain = (ir_rate / host_rate) as f32;
    for x in &mut out {
        *x *= gain;
    }
    Ok(out)
}

/// Length of the learned IR's body, the part the engine always plays, in seconds (see the
/// module docs): cut there, every shipped model's body keeps its IR's spectral shape within
/// 0.7 dB rms per third octave (at 20 ms: within 1.6 dB).
pub const BODY_SECONDS: f64 = timbre_model::IR_BODY_SECONDS;

/// The last stretch of the body, in seconds, over which it crossfades (raised cosine) into
/// the room, so neither part ends on a cut.
pub const BODY_FADE_SECONDS: f64 = 0.01;

/// Cuts `ir` (at `rate`) into the instrument's body (its first [`BODY_SECONDS`]) and its
/// room (the rest, with the body's taps zeroed; as long as `ir`), crossfading over
/// [`BODY_FADE_SECONDS`]: `body[n] + room[n] == ir[n]` for every tap (up to rounding). An IR
/// no longer than the body is all body. Allocates; runs when a model is loaded.
pub fn split_ir(ir: &[f32], rate: f64) -> (Vec<f32>, Vec<f32>) {
    let body_len = (BODY_SECONDS * rate).round() as usize;
    if ir.len() <= body_len {
        return (ir.to_vec(), vec![0.0; ir.len()]);
    }
    let fade_len = (BODY_FADE_SECONDS * rate).round() as usize;
    let fade_start = body_len - fade_len;
    let body: Vec<f32> = ir[..body_len]
        .iter()
        .enumerate()
        .map(|(n, &x)| {
            if n < fade_start {
                x
            } else {
                // Falls from 1 toward 0 over the fade (the body's own tap at `body_len`
                // would be exactly 0).
                let phase = (n - fade_start) as f64 / fade_len as f64;
                x * (0.5 + 0.5 * (std::f64::consts::PI * phase).cos()) as f32
            }
        })
        .collect();
    let room = ir
        .iter()
        .enumerate()
        .map(|(n, &x)| x - body.get(n).copied().unwrap_or(0.0))
        .collect();
    (body, room)
}

/// The body (from [`split_ir`] at the model's IR rate `body_rate`) in minimum phase at
/// `host_rate`: the minimum-phase filter with the magnitude response of the trained mix's
/// early part `δ + body` (the direct path and the body), less the direct path `δ` that the mix
/// adds itself, `round(body.len() · host_rate / body_rate)` taps long (the minimum-phase form
/// of a filter of `n` taps has `n` taps: its zeros are the same or mirrored into the unit
/// circle; it needs no fade of its own).
///
/// The response is taken from the body at its own rate, not from the resampled copy that
/// plays by default: below the model's Nyquist frequency it is exactly the trained one, so a
/// body that was trained in minimum phase plays with its trained delay at every host rate
/// (the earlier minimum-phase trumpet's 1.0 ms, where its resampled copy took 1.1 ms at
/// 48 kHz, and the violin's 2.2 ms against 3.7: the resampler's ringing before the body's
/// first tap is cut). Above it, where the synth plays nothing, only
/// the direct path remains (the body fades out in log magnitude over the top
/// [`BODY_ROLLOFF`] of the model's band, as a resampler's filter would). Allocates; runs when
/// a model is loaded.
pub fn minimum_phase_body(body: &[f32], body_rate: f64, host_rate: f64) -> Vec<f32> {
    let len = (body.len() as f64 * host_rate / body_rate).round() as usize;
    minimum_phase_response(body, body_rate, host_rate, len)
}

/// The top fraction of the model's band over which [`minimum_phase_body`] fades the body out
/// when the host rate is higher (0.05: 7.6–8 kHz for a 16 kHz model).
pub const BODY_ROLLOFF: f64 = 0.05;

/// [`minimum_phase_body`] cut to `len` taps.
fn minimum_phase_response(body: &[f32], body_rate: f64, host_rate: f64, len: usize) -> Vec<f32> {
    if body.is_empty() || len == 0 {
        return vec![0.0; len];
    }
    let n = minimum_phase_fft_len(len.max(body.len()));
    // `δ + body` on a grid at least twice as fine as the host's (`m` bins over `body_rate`),
    // read between its bins by linear interpolation.
    let m = ((n as f64 * body_rate / host_rate).ceil() as usize * 2)
        .next_power_of_two()
        .max(minimum_phase_fft_len(body.len()));
    let mut mix = body.to_vec();
    mix[0] += 1.0;
    let spectrum = magnitude_response(&mix, m);
    let nyquist = body_rate / 2.0;
    let rolloff_start = nyquist * (1.0 - BODY_ROLLOFF);
    let magnitude: Vec<f64> = (0..=n / 2)
        .map(|k| {
            let f = k as f64 * host_rate / n as f64;
            if f > nyquist {
                return 1.0;
            }
            let pos = f / body_rate * m as f64;
            let i = (pos as usize).min(m / 2 - 1);
            let t = pos - i as f64;
            let model = spectrum[i] * (1.0 - t) + spectrum[i + 1] * t;
            if host_rate <= body_rate || f <= rolloff_start {
                model
            } else {
                // A raised cosine in log magnitude from the model's response to the direct
                // path's 0 dB.
                let x = (f - rolloff_start) / (nyquist - rolloff_start);
                let keep = 0.5 + 0.5 * (std::f64::consts::PI * x).cos();
                model.max(MIN_PHASE_FLOOR).powf(keep)
            }
        })
        .collect();
    let mut shaped = minimum_phase_of_magnitude(&magnitude, len);
    shaped[0] -= 1.0;
    shaped
}

/// How much later than the dry synth `dry + dry ∗ body` (at `rate`) is heard, in seconds:
/// the group delay `τ` of `δ + body` weighted by its power, `Σ |H|² τ / Σ |H|²`, over
/// 150 Hz–4 kHz in 10 Hz steps, where the pitch and the loudness of every shipped model's
/// notes are heard (`τ = Re(G / H)`, `G` the transform of `n·h[n]`). Measured on the output
/// of the shipped models (tests/trained_in_step.rs), a vibrato arrives within 3 ms of it.
/// Allocates nothing; runs when a model is loaded (about 3 million multiply-adds at 48 kHz).
/// Each frequency's `e^{−iωn}` comes from one rotation per tap (in `f64`, its rounding stays
/// below 1e-11 over a body of any length the engine plays), not from a sine and a cosine.
pub fn body_delay_seconds(body: &[f32], rate: f64) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for f in (150..=4000).step_by(10) {
        let (step_s, step_c) = (std::f64::consts::TAU * f as f64 / rate).sin_cos();
        // The direct path: tap 0 of δ.
        let (mut hr, mut hi, mut gr, mut gi) = (1.0, 0.0, 0.0, 0.0);
        // cos(ωn) and sin(ωn), rotated on by ω each tap.
        let (mut c, mut s) = (1.0f64, 0.0f64);
        for (n, &x) in body.iter().enumerate() {
            let x = f64::from(x);
            (hr, hi) = (hr + x * c, hi - x * s);
            (gr, gi) = (gr + n as f64 * x * c, gi - n as f64 * x * s);
            (c, s) = (c * step_c - s * step_s, s * step_c + c * step_s);
        }
        // |H|² · Re(G / H) = Re(G · conj(H)).
        num += gr * hr + gi * hi;
        den += hr * hr + hi * hi;
    }
    if den > 0.0 {
        (num / den / rate).max(0.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The delay read with rotations is the one read with a sine and a cosine per tap, on a
    /// 40 ms body at 48 and at 768 kHz (30,720 taps); and a body that is a pure delay of
    /// `d` samples, much louder than the direct path, reads about `d`.
    #[test]
    fn body_delay_by_rotation_is_the_delay_by_sines() {
        let by_sines = |body: &[f32], rate: f64| {
            let (mut num, mut den) = (0.0, 0.0);
            for f in (150..=4000).step_by(10) {
                let w = std::f64::consts::TAU * f as f64 / rate;
                let (mut hr, mut hi, mut gr, mut gi) = (1.0, 0.0, 0.0, 0.0);
                for (n, &x) in body.iter().enumerate() {
                    let (s, c) = (w * n as f64).sin_cos();
                    let (x, n) = (f64::from(x), n as f64);
                    (hr, hi, gr, gi) = (hr + x * c, hi - x * s, gr + n * x * c, gi - n * x * s);
                }
                num += gr * hr + gi * hi;
                den += hr * hr + hi * hi;
            }
            num / den / rate
        };
        for rate in [48_000.0, 768_000.0] {
            let len = (0.04 * rate) as usize;
            let mut seed = 7u32;
            let body: Vec<f32> = (0..len)
                .map(|n| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    let decay = (-(n as f32) / (0.01 * rate as f32)).exp();
                    ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * decay
                })
                .collect();
            let (got, want) = (body_delay_seconds(&body, rate), by_sines(&body, rate));
            assert!(
                want > 0.0 && (got - want).abs() < 1e-9 * want,
                "{rate}: {got} against {want}"
            );
        }
        let mut delay = vec![0.0f32; 481];
        delay[480] = 100.0;
        let got = body_delay_seconds(&delay, 48_000.0) * 48_000.0;
        assert!(
            (got - 480.0).abs() < 480.0 * 0.02,
            "pure delay of 480 samples read {got}"
        );
    }

    /// The two parts sum to the IR, the body is the IR up to the fade and ends in it, the
    /// room is silent before the fade and is the IR after the body.
    #[test]
    fn body_and_room_sum_to_the_ir() {
        let rate = 48_000.0;
        let ir: Vec<f32> = (0..48_000)
            .map(|n| ((n as f32 * 0.37).sin() + 0.1) * (-(n as f32) / 9_000.0).exp())
            .collect();
        let (body, room) = split_ir(&ir, rate);
        assert_eq!(body.len(), 1_920);
        assert_eq!(room.len(), ir.len());
        for n in 0..ir.len() {
            let sum = body.get(n).copied().unwrap_or(0.0) + room[n];
            assert!(
                (sum - ir[n]).abs() <= 1e-6,
                "tap {n}: {sum} against {}",
                ir[n]
            );
        }
        let fade_start = 1_920 - 480;
        assert_eq!(&body[..fade_start], &ir[..fade_start]);
        assert!(room[..fade_start].iter().all(|&x| x == 0.0));
        assert_eq!(&room[1_920..], &ir[1_920..]);
        // The fade really falls: the body's last tap is a small fraction of the IR's.
        assert!(body[1_919].abs() < 1e-4 * ir[1_919].abs().max(1e-3) + 1e-6);
        // An IR shorter than the body is all body.
        let short = vec![0.5f32; 100];
        let (body, room) = split_ir(&short, rate);
        assert_eq!(body.len(), 100);
        assert!(room.iter().all(|&x| x == 0.0));
    }

    /// A wet signal's level must not depend on the host rate: convolving a low-frequency sine
    /// with the IR at 16 kHz and at 48 kHz gives the same amplitude.
    #[test]
    fn resampled_ir_keeps_the_wet_level() {
        let ir16: Vec<f32> = (0..1600)
            .map(|n| (-(n as f32) / 300.0).exp() * 0.01)
            .collect();
        let ir48 = resample_ir(&ir16, 16_000.0, 48_000.0).unwrap();
        assert_eq!(ir48.len(), 4800);
        // DC gain (sum of taps) is the response to a slow signal.
        let dc16: f32 = ir16.iter().sum();
        let dc48: f32 = ir48.iter().sum();
        assert!((dc16 - dc48).abs() / dc16 < 0.01, "{dc16} vs {dc48}");
    }

    /// At the model's own rate, a body already in minimum phase with the direct path comes
    /// back as it is; one that is not (its zero outside the unit circle) comes back with the
    /// zero mirrored inside, the same magnitude and its energy sooner.
    #[test]
    fn at_the_model_rate_the_minimum_phase_body_is_the_minimum_phase_filter() {
        let rate = 16_000.0;
        // δ + body = 1.5 + 0.2z⁻¹ − 0.1z⁻²: zeros at 0.2 and −1/3.
        let mut body = vec![0.0f32; 64];
        body[..3].copy_from_slice(&[0.5, 0.2, -0.1]);
        let same = minimum_phase_body(&body, rate, rate);
        assert_eq!(same.len(), body.len());
        for (n, (a, b)) in body.iter().zip(&same).enumerate() {
            assert!((a - b).abs() < 1e-4, "tap {n}: {a} against {b}");
        }
        // δ + body = 1 − 2z⁻¹ (a zero at 2) is played as 2 − z⁻¹: body 1, −1.
        let mut body = vec![0.0f32; 64];
        body[1] = -2.0;
        let mirrored = minimum_phase_body(&body, rate, rate);
        assert!((mirrored[0] - 1.0).abs() < 1e-3, "{:?}", &mirrored[..3]);
        assert!((mirrored[1] + 1.0).abs() < 1e-3, "{:?}", &mirrored[..3]);
        assert!(mirrored[2..].iter().all(|x| x.abs() < 1e-3));
        // At half the rate the body keeps its length in seconds.
        assert_eq!(minimum_phase_body(&body, rate, rate / 2.0).len(), 32);
    }

    /// Every shipped model's body, played in minimum phase at 44.1, 48 and 96 kHz from its
    /// response at the model's 16 kHz: the magnitude response of `δ + body` kept to 0.1 dB up
    /// to the rolloff wherever it is within 60 dB of its peak, under 0.1 % of the
    /// minimum-phase energy past the cut (computed on four times the length), and the
    /// power-weighted group delay of the learned bodies (7–14 ms) down to under 3 ms. A body
    /// trained in minimum phase (one that minimum phase leaves as it is) keeps its trained
    /// delay at every host rate (within 0.1 ms), where a resampled copy takes longer. A body
    /// trained silent (the IR is the room alone) adds no delay, resampled or not.
    #[test]
    fn shipped_bodies_keep_their_magnitude_and_lose_their_delay() {
        let model_rate = 16_000.0;
        let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
        for name in ["violin", "trumpet", "flute", "cello", "saxophone"] {
            let model =
                timbre_model::ModelFile::load(models.join(format!("{name}.ttmodel"))).unwrap();
            assert_eq!(model.metadata().reverb_sample_rate_hz as f64, model_rate);
            let (body, _) = split_ir(model.reverb_ir(), model_rate);
            let trained = body_delay_seconds(&body, model_rate) * 1e3;
            let peak = body.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            let silent = peak == 0.0;
            let trained_minimum = !silent
                && minimum_phase_body(&body, model_rate, model_rate)
                    .iter()
                    .zip(&body)
                    .all(|(a, b)| (a - b).abs() < 2e-3 * peak);
            let with_direct = |b: &[f32]| {
                let mut h = b.to_vec();
                h[0] += 1.0;
                h
            };
            // |H(f)| in dB at `f` Hz of a filter at `rate`.
            let response_db = |h: &[f32], rate: f64, f: f64| {
                timbre_testkit::magnitude_db_at(h, std::f64::consts::TAU * f / rate)
            };
            // Every 10 Hz up to the rolloff.
            let frequencies: Vec<f64> = (0..)
                .map(|k| 10.0 * k as f64)
                .take_while(|&f| f < (1.0 - BODY_ROLLOFF) * model_rate / 2.0)
                .collect();
            let learned = with_direct(&body);
            let reference: Vec<f64> = frequencies
                .iter()
                .map(|&f| response_db(&learned, model_rate, f))
                .collect();
            let top = reference.iter().cloned().fold(f64::MIN, f64::max);
            for rate in [44_100.0, 48_000.0, 96_000.0] {
                let played = minimum_phase_body(&body, model_rate, rate);
                assert_eq!(
                    played.len(),
                    (body.len() as f64 * rate / model_rate).round() as usize
                );
                let shaped = with_direct(&played);
                let worst = frequencies
                    .iter()
                    .zip(&reference)
                    .filter(|(_, &r)| r > top - 60.0)
                    .map(|(&f, &r)| (r - response_db(&shaped, rate, f)).abs())
                    .fold(0.0, f64::max);
                let long = minimum_phase_response(&body, model_rate, rate, 4 * played.len());
                let energy = |h: &[f32]| h.iter().map(|x| f64::from(x * x)).sum::<f64>();
                let whole = with_direct(&long);
                let past = energy(&whole[played.len()..]) / energy(&whole);
                let ir = resample_ir(model.reverb_ir(), model_rate, rate).unwrap();
                let (resampled, _) = split_ir(&ir, rate);
                let (before, after) = (
                    body_delay_seconds(&resampled, rate) * 1e3,
                    body_delay_seconds(&played, rate) * 1e3,
                );
                println!(
                    "{name} at {rate} Hz: magnitude within {worst:.3} dB, {:.4} % past the \
                     cut, group delay trained {trained:.2} ms, resampled {before:.2} ms, \
                     in minimum phase {after:.2} ms",
                    100.0 * past
                );
                assert!(worst < 0.1, "{name}: magnitude off by {worst:.3} dB");
                assert!(past < 1e-3, "{name}: {:.3} % past the cut", 100.0 * past);
                if silent {
                    assert!(
                        before < 0.05 && after < 0.05,
                        "{name}: a silent body delays by {before:.3} / {after:.3} ms"
                    );
                } else if trained_minimum {
                    assert!(
                        (after - trained).abs() < 0.1,
                        "{name}: trained {trained:.2} ms, played {after:.2} ms"
                    );
                    assert!(
                        after < before,
                        "{name}: resampled {before:.2} ms, played {after:.2} ms"
                    );
                } else {
                    assert!(before > 6.0, "{name}: learned body {before:.1} ms");
                    assert!(after < 3.0, "{name}: minimum-phase body {after:.1} ms");
                }
            }
        }
    }
}

//! The evaluation pipeline end to end on a model whose behaviour is known: the hand-wired
//! model plays exactly the synth's f0 and follows the input loudness, so its measured pitch
//! fidelity and loudness tracking must be near perfect, and the measurements must notice a
//! detuned or an inverted model.

use timbre_dsp::analysis::Frame;
use timbre_eval::data::{recordings, Recording};
use timbre_eval::evaluate::{octave_shift, resynthesize, transfer, Source, TransferSummary};
use timbre_eval::fidelity::summarize;
use timbre_eval::mfcc::TimbreStats;
use timbre_eval::EvalError;
use timbre_model::testing::{wired_model, WiredHarmonics};

#[test]
fn the_wired_model_follows_the_voice_phrase_in_pitch_and_loudness() {
    let model = wired_model("wired", WiredHarmonics::Slope);
    let voice = Source::voice(44_100.0);
    let t = transfer(&model, &voice).unwrap();
    let pitch = summarize(&t.pitch_errors).unwrap();
    assert!(pitch.frames > 1000, "{} voiced frames", pitch.frames);
    assert!(pitch.median_cents < 5.0, "{pitch:?}");
    assert!(pitch.within_50_percent > 98.0, "{pitch:?}");
    let summary = TransferSummary::new("voice", &[t], None, None);
    let c = summary.loudness_correlation.unwrap();
    assert!(c > 0.9, "loudness correlation {c}");
}

#[test]
fn pitch_fidelity_notices_a_detuned_transfer() {
    // A quarter tone off: shift the engine by 50 cents behind the evaluation's back, through a
    // source whose "known" f0 is the phrase's, and the median error must read about 50 cents.
    let model = wired_model("wired", WiredHarmonics::Fundamental);
    let mut voice = Source::voice(44_100.0);
    let phrase = voice.known_f0.clone().unwrap();
    // Resample the audio 3% faster: every f0 rises by ~51 cents, the known f0 does not.
    let ratio = 1.03f64;
    let n = (voice.samples.len() as f64 / ratio) as usize;
    voice.samples = (0..n)
        .map(|i| {
            let x = i as f64 * ratio;
            let j = x as usize;
            let f = (x - j as f64) as f32;
            let a = voice.samples[j];
            let b = *voice.samples.get(j + 1).unwrap_or(&a);
            a + (b - a) * f
        })
        .collect();
    voice.known_f0 = Some(phrase);
    let t = transfer(&model, &voice).unwrap();
    let pitch = summarize(&t.pitch_errors).unwrap();
    // The time axis is squeezed too, so the known f0 no longer lines up at the note changes:
    // only the median is meaningful, and it must be far from zero.
    assert!(pitch.median_cents > 30.0, "{pitch:?}");
    assert!(pitch.within_50_percent < 90.0, "{pitch:?}");
}

#[test]
fn octave_shift_targets_the_model_range_within_the_knob() {
    let frames = |hz: f32| {
        vec![
            Frame {
                f0_hz: hz,
                confidence: 0.9,
                loudness_db: -20.0
            };
            20
        ]
    };
    // A3 (MIDI 57) to a model centred on D5 (74): +1 octave (17 semitones rounds to 1).
    assert_eq!(octave_shift(&frames(220.0), 74.0), 1);
    // 55 Hz (MIDI 33) to 74: +3 octaves wanted, the knob stops at +2.
    assert_eq!(octave_shift(&frames(55.0), 74.0), 2);
    assert_eq!(octave_shift(&frames(3520.0), 40.0), -2);
    // No voiced frame: no shift.
    let quiet = vec![Frame::default(); 20];
    assert_eq!(octave_shift(&quiet, 74.0), 0);
}

#[test]
fn resynthesis_gives_finite_distances_and_int8_agrees_with_f32() {
    // A recording that is itself a sloped harmonic tone: the distances are finite and the
    // model (f32) and its int8 copy agree within a few percent.
    let rate = 44_100.0;
    let samples: Vec<f32> = (0..(rate as usize * 2))
        .map(|n| {
            let t = n as f64 / rate;
            let env = (t * 4.0).min(1.0) * (2.0 - t).min(0.25) * 4.0;
            (0.2 * env
                * (1..20)
                    .map(|k| (2.0 * std::f64::consts::PI * 330.0 * k as f64 * t).sin() / k as f64)
                    .sum::<f64>()) as f32
        })
        .collect();
    let rec = Recording {
        name: "tone".into(),
        samples,
        sample_rate: rate,
        held_out: true,
    };
    let model = wired_model("wired", WiredHarmonics::Slope);
    let (r, out) = resynthesize(&model, &rec).unwrap();
    assert!(r.model.is_finite() && r.flat_harmonic.is_finite() && r.int8.is_finite());
    assert!(r.model > 0.0);
    assert!((r.int8 / r.model - 1.0).abs() < 0.05, "{r:?}");
    assert_eq!(out.len(), 32_000);
    assert!(TimbreStats::of_clips([out.as_slice()]).is_some());
}

#[test]
fn a_missing_dataset_names_the_command_that_builds_it() {
    let dir = std::env::temp_dir().join(format!("tt-eval-missing-{}", std::process::id()));
    let err = recordings(&dir, "oboe").unwrap_err();
    assert!(matches!(err, EvalError::MissingDataset { .. }));
    assert!(
        err.to_string().contains("cargo xtask dataset oboe"),
        "{err}"
    );
}

#[test]
fn a_corrupt_manifest_is_a_typed_error_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("tt-eval-corrupt-{}", std::process::id()));
    let cache = dir.join("oboe").join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("manifest.json"), b"{\"clips\": [1, 2").unwrap();
    let err = recordings(&dir, "oboe").unwrap_err();
    assert!(matches!(err, EvalError::Manifest { .. }), "{err}");
    assert!(err.to_string().contains("manifest.json"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

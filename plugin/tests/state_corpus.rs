//! Every file of the `plugin_state` fuzzing corpus (`fuzz/corpus/plugin_state`) replayed
//! through the restore path the plugins use (`Plugin::filter_state` → `state::sanitize`), so a
//! regression shows up in `cargo test`, without nightly.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use nice_plug::prelude::*;
use tiny_timbre::params::{SynthParams, TimbreParams};
use tiny_timbre::state::{parse_model_field, sanitize, Repairs, MODEL_FIELD};
use tiny_timbre::{TinyTimbre, TinyTimbreSynth};

#[test]
fn every_state_corpus_file_restores_safely() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/plugin_state");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the fuzz corpus is committed")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "only {} corpus files", files.len());
    let mut states = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let name = path.display();
        // What nice-plug does first; most fuzz inputs are not states at all.
        let Ok(parsed) = serde_json::from_slice::<PluginState>(&bytes) else {
            continue;
        };
        states += 1;
        catch_unwind(AssertUnwindSafe(|| {
            let mut effect = parsed.clone();
            TinyTimbre::filter_state(&mut effect);
            // Nothing is left to repair: every known value is in range.
            assert_eq!(
                sanitize(&mut effect.clone(), &TimbreParams::default()),
                Repairs::default(),
                "{name}"
            );
            if let Some(field) = effect.fields.get(MODEL_FIELD) {
                assert!(parse_model_field(field).is_ok(), "{name}");
            }
            let mut synth = parsed.clone();
            TinyTimbreSynth::filter_state(&mut synth);
            assert_eq!(
                sanitize(&mut synth.clone(), &SynthParams::default()),
                Repairs::default(),
                "{name}"
            );
        }))
        .unwrap_or_else(|_| panic!("{name} panicked the restore path"));
    }
    assert!(states >= 4, "only {states} corpus files are states");
}

//! Every file of the `model_loader` fuzzing corpus (`fuzz/corpus/model_loader`) replayed
//! through the loader, so a regression shows up in `cargo test`, without nightly.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use timbre_model::ModelFile;

/// The committed corpus of the `model_loader` fuzz target (see `fuzz/`).
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/model_loader")
}

#[test]
fn every_fuzz_corpus_file_loads_or_gives_a_typed_error() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the fuzz corpus is committed")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 50, "only {} corpus files", files.len());
    let (mut ok, mut err) = (0, 0);
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let result = catch_unwind(AssertUnwindSafe(|| ModelFile::from_bytes(&bytes, &name)))
            .unwrap_or_else(|_| panic!("{name} panicked the loader"));
        match result {
            Ok(model) => {
                // A model that loads also round-trips.
                let again = ModelFile::from_bytes(&model.to_bytes().unwrap(), &name).unwrap();
                assert_eq!(again, model, "{name}");
                ok += 1;
            }
            Err(e) => {
                assert!(e.to_string().starts_with(&name), "{name}: {e}");
                err += 1;
            }
        }
    }
    // The corpus holds the seed models and many malformed variants.
    assert!(ok >= 1 && err >= 1, "{ok} loaded, {err} refused");
}

//! Fuzzes the model loader: any bytes give a model or a typed `LoadError`, never a panic, an
//! abort or a giant allocation (libFuzzer's `-rss_limit_mb` and `-malloc_limit_mb` catch those).
#![no_main]

use libfuzzer_sys::fuzz_target;
use timbre_model::ModelFile;

fuzz_target!(|bytes: &[u8]| {
    match ModelFile::from_bytes(bytes, "fuzz") {
        // A model that loads must survive a save/load round trip unchanged.
        Ok(model) => {
            let saved = model.to_bytes().expect("a loaded model serializes");
            let again = ModelFile::from_bytes(&saved, "fuzz (saved)").expect("a saved model loads");
            assert_eq!(again, model);
        }
        // Every error renders as a message that names the file.
        Err(err) => assert!(err.to_string().contains("fuzz"), "{err}"),
    }
});

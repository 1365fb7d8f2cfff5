//! Tiny Timbre's end-to-end tests live in `tests/tests/`: each drives a built artifact from
//! outside, as a user's tools do.
//!
//! - `real_host`: the VST3, bundled from the library `cargo test` built, in pedalboard (JUCE's
//!   VST3 hosting, PyPI);
//! - `browser`: the WebAssembly page in headless Chromium through playwright-core;
//! - `python_safetensors`: a model file read by Python's `safetensors` and numpy.
//!
//! The build script checks for each tool; a test whose tool is missing is compiled as
//! `#[ignore]` (reported as ignored, with the reason), or, when `CI` is set, runs and fails.
//! `bash .ci/run --deps-only` installs every tool.

use std::path::PathBuf;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

//! Finds out which external tools the end-to-end tests can use here. For each missing one it
//! sets a `missing_*` cfg, and the tests that need it are compiled as `#[ignore]` with the
//! reason, so `cargo test` reports them as ignored instead of passing them without a run.
//! When the `CI` environment variable is set nothing is ignored: a test whose tool is missing
//! runs and fails, saying what to install.

use std::path::Path;
use std::process::Command;

/// Whether `program args...` runs and exits with success.
fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let web = root.join("crates/web");
    let checks = [
        (
            "missing_browser",
            Path::new("/usr/bin/chromium").exists()
                && succeeds("node", &["--version"])
                && web.join("node_modules/playwright-core").exists()
                && timbre_web_build::missing_tools().is_none(),
        ),
        (
            "missing_pedalboard",
            succeeds("python3", &["-c", "import pedalboard"]),
        ),
        (
            "missing_python_safetensors",
            succeeds("python3", &["-c", "import safetensors, numpy"]),
        ),
    ];
    let in_ci = std::env::var_os("CI").is_some();
    for (cfg, found) in checks {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if !found && !in_ci {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=PATH");
    // Tools come and go outside cargo's view (apt, pip, npm): look again on every build.
    println!("cargo::rerun-if-changed=.tools-probe-always");
}

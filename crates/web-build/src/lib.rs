//! Builds the Tiny Timbre web page into a folder: compiles `timbre-web` for
//! `wasm32-unknown-unknown` (release, with WebAssembly SIMD: [`RUSTFLAGS`]), runs `wasm-bindgen --target web` of exactly the version
//! the crate is pinned to, and copies the static files of `crates/web/www/`.
//!
//! Used by `cargo xtask web` and by the browser test. It only runs commands; nothing is
//! downloaded. The tools it needs, and how to install them, are in its error messages:
//! `rustup target add wasm32-unknown-unknown` and
//! `cargo install wasm-bindgen-cli --version =X` (see [`wasm_bindgen_version`]).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The wasm target.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Compiler flags of the wasm build: 128-bit WebAssembly SIMD, which every current browser
/// runs (Chrome 91, Firefox 89, Safari 16.4). The synth's loops vectorize and rustfft uses its
/// SIMD kernels: about 1.7x the engine's speed of a plain build in Chromium.
pub const RUSTFLAGS: &str = "-Ctarget-feature=+simd128";

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/web-build lives two levels below the root")
        .to_path_buf()
}

/// The wasm-bindgen version `timbre-web` is pinned to, read from its Cargo.toml
/// (`wasm-bindgen = "=X"`).
pub fn wasm_bindgen_version() -> Result<String, String> {
    let manifest = workspace_root().join("crates/web/Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    text.lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix("wasm-bindgen")?.trim_start();
            let rest = rest.strip_prefix('=')?.trim().strip_prefix("\"=")?;
            Some(rest.split('"').next()?.to_string())
        })
        .ok_or_else(|| {
            format!(
                "no pinned `wasm-bindgen = \"=X\"` in {}",
                manifest.display()
            )
        })
}

/// Why the page cannot be built here, if a tool is missing: the wasm target or the pinned
/// wasm-bindgen CLI. `None` when both are there.
pub fn missing_tools() -> Option<String> {
    let version = match wasm_bindgen_version() {
        Ok(v) => v,
        Err(e) => return Some(e),
    };
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match targets {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains(WASM_TARGET) => {}
        // Without rustup the target may still be there (a distribution toolchain); the build
        // will say so if not.
        Err(_) => {}
        Ok(_) => {
            return Some(format!(
                "the {WASM_TARGET} target is not installed (rustup target add {WASM_TARGET})"
            ))
        }
    }
    match Command::new("wasm-bindgen").arg("--version").output() {
        Ok(out) if String::from_utf8_lossy(&out.stdout).trim() == format!("wasm-bindgen {version}") => None,
        Ok(out) => Some(format!(
            "wasm-bindgen {version} is needed, found `{}` (cargo install wasm-bindgen-cli --version ={version})",
            String::from_utf8_lossy(&out.stdout).trim()
        )),
        Err(_) => Some(format!(
            "wasm-bindgen is not installed (cargo install wasm-bindgen-cli --version ={version})"
        )),
    }
}

/// Builds the page into `out` (created; existing files are overwritten), compiling in
/// `target_dir` (a separate one from an outer cargo's, which holds its lock). Returns `out`.
/// Prints cargo's progress to stderr.
pub fn build_page(out: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    if let Some(missing) = missing_tools() {
        return Err(missing);
    }
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(cargo)
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", RUSTFLAGS)
        .env_remove("RUSTFLAGS")
        .args([
            "build",
            "--release",
            "--lib",
            "-p",
            "timbre-web",
            "--target",
            WASM_TARGET,
        ])
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build for {WASM_TARGET} failed ({status})"));
    }
    let wasm = target_dir.join(WASM_TARGET).join("release/timbre_web.wasm");
    let pkg = out.join("pkg");
    std::fs::create_dir_all(&pkg).map_err(|e| format!("cannot create {}: {e}", pkg.display()))?;
    let status = Command::new("wasm-bindgen")
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&pkg)
        .arg(&wasm)
        .status()
        .map_err(|e| format!("could not run wasm-bindgen: {e}"))?;
    if !status.success() {
        return Err(format!("wasm-bindgen failed ({status})"));
    }
    copy_dir(&root.join("crates/web/www"), out)?;
    Ok(out.to_path_buf())
}

/// Copies the files of `from` (recursively) into `to`.
fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let dest = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_dir(&path, &dest)?;
        } else {
            std::fs::copy(&path, &dest)
                .map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_version_is_the_locked_one() {
        let pinned = wasm_bindgen_version().unwrap();
        let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock")).unwrap();
        let locked = lock
            .split("[[package]]")
            .find(|p| p.contains("name = \"wasm-bindgen\"\n"))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
            .map(|v| v.trim_end_matches('"').to_string());
        assert_eq!(Some(pinned), locked);
    }
}

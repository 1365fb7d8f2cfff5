//! Builds the Tiny Timbre web page into a folder: compiles `timbre-web` for
//! `wasm32-unknown-unknown` (release, with WebAssembly SIMD: [`RUSTFLAGS`]), runs `wasm-bindgen --target web` of exactly the version
//! the crate is pinned to, and copies the static files of `crates/web/www/`.
//!
//! Used by `cargo xtask web` and by the browser test. It only runs commands; nothing is
//! downloaded. The tools it needs, and how to install them, are in its error messages:
//! `rustup target add wasm32-unknown-unknown` and
//! `cargo install wasm-bindgen-cli --version =X` (see [`wasm_bindgen_version`]).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

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

/// Why the page could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WebBuildError {
    /// A file or folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A folder could not be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A static file could not be copied into the page.
    #[error("cannot copy {}: {source}", path.display())]
    Copy {
        /// The file copied.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// `timbre-web`'s manifest does not pin wasm-bindgen to one version.
    #[error("no pinned `wasm-bindgen = \"=X\"` in {}", manifest.display())]
    NoPinnedWasmBindgen {
        /// The manifest read.
        manifest: PathBuf,
    },
    /// The wasm target is not installed (rustup says so).
    #[error("the {WASM_TARGET} target is not installed (rustup target add {WASM_TARGET})")]
    MissingWasmTarget,
    /// The wasm-bindgen CLI is not installed.
    #[error("wasm-bindgen is not installed (cargo install wasm-bindgen-cli --version ={version})")]
    MissingWasmBindgen {
        /// The version needed.
        version: String,
    },
    /// The wasm-bindgen CLI installed is not the pinned version.
    #[error(
        "wasm-bindgen {version} is needed, found `{found}` (cargo install wasm-bindgen-cli --version ={version})"
    )]
    WrongWasmBindgen {
        /// The version needed.
        version: String,
        /// What `wasm-bindgen --version` printed.
        found: String,
    },
    /// A program could not be started, or ran and failed.
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// The wasm-bindgen version `timbre-web` is pinned to, read from its Cargo.toml
/// (`wasm-bindgen = "=X"`).
pub fn wasm_bindgen_version() -> Result<String, WebBuildError> {
    let manifest = workspace_root().join("crates/web/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|source| WebBuildError::Read {
        path: manifest.clone(),
        source,
    })?;
    text.lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix("wasm-bindgen")?.trim_start();
            let rest = rest.strip_prefix('=')?.trim().strip_prefix("\"=")?;
            Some(rest.split('"').next()?.to_string())
        })
        .ok_or(WebBuildError::NoPinnedWasmBindgen { manifest })
}

/// Checks that the tools the build needs are here: the wasm target and the pinned
/// wasm-bindgen CLI. The error says which is missing and how to install it.
pub fn check_tools() -> Result<(), WebBuildError> {
    let version = wasm_bindgen_version()?;
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match targets {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains(WASM_TARGET) => {}
        // Without rustup the target may still be there (a distribution toolchain); the build
        // will say so if not.
        Err(_) => {}
        Ok(_) => return Err(WebBuildError::MissingWasmTarget),
    }
    match Command::new("wasm-bindgen").arg("--version").output() {
        Ok(out)
            if String::from_utf8_lossy(&out.stdout).trim() == format!("wasm-bindgen {version}") =>
        {
            Ok(())
        }
        Ok(out) => Err(WebBuildError::WrongWasmBindgen {
            version,
            found: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        }),
        Err(_) => Err(WebBuildError::MissingWasmBindgen { version }),
    }
}

/// Why the page cannot be built here, if a tool is missing: the wasm target or the pinned
/// wasm-bindgen CLI. `None` when both are there. The message of [`check_tools`]'s error.
pub fn missing_tools() -> Option<String> {
    check_tools().err().map(|e| e.to_string())
}

/// Builds the page into `out` (created; existing files are overwritten), compiling in
/// `target_dir` (a separate one from an outer cargo's, which holds its lock). Returns `out`.
/// Prints cargo's progress to stderr.
pub fn build_page(out: &Path, target_dir: &Path) -> Result<PathBuf, WebBuildError> {
    check_tools()?;
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
        .status();
    check_status(format!("cargo build for {WASM_TARGET}"), status)?;
    let wasm = target_dir.join(WASM_TARGET).join("release/timbre_web.wasm");
    let pkg = out.join("pkg");
    std::fs::create_dir_all(&pkg).map_err(|source| WebBuildError::CreateDir {
        path: pkg.clone(),
        source,
    })?;
    let status = Command::new("wasm-bindgen")
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&pkg)
        .arg(&wasm)
        .status();
    check_status("wasm-bindgen".to_string(), status)?;
    copy_dir(&root.join("crates/web/www"), out)?;
    Ok(out.to_path_buf())
}

/// A program that could not be started, or that ran and failed (shared with `xtask`).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The program could not be started.
    #[error("could not run {command}: {source}")]
    Spawn {
        /// What was run.
        command: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The program ran and failed.
    #[error("{command} failed ({status})")]
    Failed {
        /// What was run.
        command: String,
        /// Its exit status.
        status: ExitStatus,
    },
}

/// Runs `cmd` to completion; an error unless it started and succeeded. `what` names it in the
/// error (the program and its arguments when `None`).
pub fn run_checked(cmd: &mut Command, what: Option<&str>) -> Result<(), CommandError> {
    let command = what.map_or_else(|| format!("{cmd:?}"), str::to_string);
    check_status(command, cmd.status())
}

/// The error for a finished (or unstartable) command `command`, if it did not succeed.
fn check_status(command: String, status: std::io::Result<ExitStatus>) -> Result<(), CommandError> {
    match status {
        Err(source) => Err(CommandError::Spawn { command, source }),
        Ok(status) if !status.success() => Err(CommandError::Failed { command, status }),
        Ok(_) => Ok(()),
    }
}

/// Copies the files of `from` (recursively) into `to`.
fn copy_dir(from: &Path, to: &Path) -> Result<(), WebBuildError> {
    std::fs::create_dir_all(to).map_err(|source| WebBuildError::CreateDir {
        path: to.to_path_buf(),
        source,
    })?;
    let read_error = |source| WebBuildError::Read {
        path: from.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(from).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let dest = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_dir(&path, &dest)?;
        } else {
            std::fs::copy(&path, &dest).map_err(|source| WebBuildError::Copy { path, source })?;
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

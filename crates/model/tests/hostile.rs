//! Hostile paths: the loader refuses what is not a regular file, without blocking.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use timbre_model::{LoadError, ModelFile};

/// Loads `path` on another thread, failing (instead of hanging the suite) after 10 s.
fn load_with_timeout(path: &Path) -> Result<ModelFile, LoadError> {
    let (tx, rx) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(ModelFile::load(&path));
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("loading did not return within 10 s")
}

#[test]
fn a_directory_is_not_a_model_file() {
    let dir = std::env::temp_dir();
    let err = load_with_timeout(&dir).unwrap_err();
    assert!(matches!(err, LoadError::NotAFile { .. }), "{err}");
    assert!(
        err.to_string().contains(&dir.display().to_string()),
        "{err}"
    );
}

/// Before the fix, a saved session naming a FIFO (or `/dev/stdin`) blocked the plugin's
/// loader forever: `File::open` on a FIFO waits for a writer.
#[cfg(unix)]
#[test]
fn a_named_pipe_or_a_device_is_refused_without_blocking() {
    let fifo = std::env::temp_dir().join(format!("tt-fifo-{}.ttmodel", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let result = load_with_timeout(&fifo);
        std::fs::remove_file(&fifo).unwrap();
        assert!(matches!(result, Err(LoadError::NotAFile { .. })));
    } else {
        eprintln!("mkfifo unavailable: FIFO case skipped");
    }
    for device in ["/dev/zero", "/dev/null"] {
        if Path::new(device).exists() {
            let err = load_with_timeout(Path::new(device)).unwrap_err();
            assert!(matches!(err, LoadError::NotAFile { .. }), "{device}: {err}");
        }
    }
}

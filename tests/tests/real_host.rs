//! The VST3 in a real host: pedalboard (PyPI; JUCE's VST3 hosting) loads a bundle made from
//! the library `cargo test` built, renders a phrase, and this test checks what it wrote:
//! the output follows the input's pitch, renders repeat bit for bit (after the host's reset,
//! in a second instance, and after playing on through a pause, exactly the reported latency
//! later), the stereo output is not dual-mono, and a mono track plays the stereo mix's middle.
//!
//! Needs `python3` with `pedalboard==0.9.26` (`.ci/run --deps-only` installs it); without it
//! the test is reported as ignored (and fails when `CI` is set).

// The plugin tests' CLAP test host and signals (this test reads the reported latency).
#[path = "../../plugin/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::host::{plugin_library, Plugin, EFFECT_ID};
use common::*;

const RATE: f64 = 48_000.0;

/// A VST3 bundle folder around the library: `Tiny Timbre.vst3/Contents/<arch>-linux/`.
fn vst3_bundle(dir: &Path) -> PathBuf {
    let bundle = dir.join("Tiny Timbre.vst3");
    let binary = bundle
        .join("Contents")
        .join(format!("{}-linux", std::env::consts::ARCH));
    std::fs::create_dir_all(&binary).unwrap();
    std::fs::copy(plugin_library(), binary.join("Tiny Timbre.so")).unwrap();
    bundle
}

/// A float32 file of `channels` equal-length channels, one after the other.
fn read_channels(path: &Path, channels: usize) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let samples: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let len = samples.len() / channels;
    samples.chunks(len).map(<[f32]>::to_vec).collect()
}

#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(
    missing_pedalboard,
    ignore = "python3 with pedalboard is missing: bash .ci/run --deps-only"
)]
fn pedalboard_renders_the_vst3_repeatably_and_in_tune() {
    let found = Command::new("python3")
        .args(["-c", "import pedalboard"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "python3 with pedalboard is missing: run `bash .ci/run --deps-only` \
         (or `python3 -m pip install pedalboard==0.9.26`)"
    );
    let dir = std::env::temp_dir().join(format!("tiny-timbre-real-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = vst3_bundle(&dir);
    let input = phrase(RATE);
    let bytes: Vec<u8> = input.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(dir.join("input.f32"), bytes).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real_host.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(&bundle)
        .arg(dir.join("input.f32"))
        .arg(&dir)
        .arg(RATE.to_string())
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "pedalboard failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let fresh = read_channels(&dir.join("fresh.f32"), 2);
    assert_eq!(fresh[0].len(), input.len());
    // In tune: pedalboard compensated the latency, so the output lines up with the input.
    let (err, n) = pitch_error(&input, &fresh[0], 0, RATE, 0.0);
    assert!(n > 300 && err <= 15.0, "{err:.1} cents over {n} frames");
    assert!(fresh[0] != fresh[1], "the stereo output is dual-mono");
    // Repeatable.
    assert!(
        read_channels(&dir.join("again.f32"), 2) == fresh,
        "after reset"
    );
    assert!(
        read_channels(&dir.join("second.f32"), 2) == fresh,
        "second instance"
    );
    let latency = {
        let mut plugin = Plugin::new(EFFECT_ID);
        let session = plugin.activate(RATE, 512);
        let latency = plugin.latency() as usize;
        plugin.deactivate(session);
        latency
    };
    let played_on = read_channels(&dir.join("played_on.f32"), 2);
    for (ch, (played, reference)) in played_on.iter().zip(&fresh).enumerate() {
        assert!(
            played[latency..] == reference[..reference.len() - latency],
            "channel {ch}: played on after a pause, not the fresh render {latency} samples later"
        );
    }
    // A mono track plays the middle of the stereo image.
    let mono = read_channels(&dir.join("mono.f32"), 1);
    let worst = mono[0]
        .iter()
        .zip(fresh[0].iter().zip(&fresh[1]))
        .map(|(m, (l, r))| (m - (l + r) * 0.5).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-6,
        "mono track differs from (L + R) / 2 by {worst}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

//! Helpers shared by the integration tests: temporary folders and synthetic recordings.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh, empty temporary folder (removed when dropped).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("timbre-train-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A harmonic tone: `seconds` at `rate`, f0 `f0_hz`, harmonics `0.3 / k` for k = 1..=8 (below
/// Nyquist), 50 ms attack and 100 ms release, with 0.1 s of silence on each side.
pub fn tone(f0_hz: f32, seconds: f32, rate: u32) -> Vec<f32> {
    let n = (seconds * rate as f32) as usize;
    let pad = rate as usize / 10;
    let mut out = vec![0.0f32; n + 2 * pad];
    for i in 0..n {
        let t = i as f32 / rate as f32;
        let env = (t / 0.05).min(1.0) * ((seconds - t) / 0.1).clamp(0.0, 1.0);
        let mut s = 0.0;
        for k in 1..=8 {
            let f = f0_hz * k as f32;
            if f < rate as f32 / 2.0 {
                s += 0.3 / k as f32 * (2.0 * std::f32::consts::PI * f * t).sin();
            }
        }
        out[pad + i] = env * s;
    }
    out
}

/// Writes mono 16-bit PCM.
pub fn write_wav(path: &Path, samples: &[f32], rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// Writes stereo 16-bit PCM (both channels the same).
pub fn write_wav_stereo(path: &Path, samples: &[f32], rate: u32) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
        w.write_sample(v).unwrap();
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
}

/// A folder of four synthetic tones (196, 262, 330 and 440 Hz; 1.2 s each; one at 22.05 kHz
/// stereo, the rest 16 kHz mono) plus a README that the dataset must list as ignored.
pub fn synthetic_folder(dir: &Path) {
    write_wav(&dir.join("g3.wav"), &tone(196.0, 1.2, 16_000), 16_000);
    write_wav(&dir.join("c4.wav"), &tone(261.6, 1.2, 16_000), 16_000);
    write_wav_stereo(&dir.join("e4.wav"), &tone(329.6, 1.2, 22_050), 22_050);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    write_wav(&dir.join("sub/a4.wav"), &tone(440.0, 1.2, 16_000), 16_000);
    std::fs::write(dir.join("README.md"), "synthetic tones").unwrap();
}

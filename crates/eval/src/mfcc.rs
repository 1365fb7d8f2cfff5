//! Mel-frequency cepstral coefficients and their per-clip statistics: the timbre check's
//! description of "what an instrument sounds like", independent of pitch and level.
//!
//! At 16 kHz: 1024-sample periodic-Hann frames every 256 samples, power spectrum, 40
//! triangular mel bands (HTK mel scale) from 40 Hz to 7,600 Hz, natural log (floored at
//! `1e-10` and at 60 dB below the frame's loudest band), orthonormal DCT-II, 13 coefficients. The statistics leave out `c0` (level) and use
//! only active frames (frame RMS above [`ACTIVE_RMS_DB`] dBFS).

use realfft::RealFftPlanner;

use crate::spectral::hann;

/// Sample rate the MFCCs are computed at, in Hz.
pub const MFCC_RATE: f64 = 16_000.0;
/// Frame length in samples at [`MFCC_RATE`].
pub const FRAME: usize = 1024;
/// Hop in samples at [`MFCC_RATE`].
pub const HOP: usize = 256;
/// Number of mel bands.
pub const N_MELS: usize = 40;
/// Number of coefficients per frame (`c0` … `c12`).
pub const N_MFCC: usize = 13;
/// Lowest mel band edge, in Hz.
pub const MEL_LOW_HZ: f64 = 40.0;
/// Highest mel band edge, in Hz.
pub const MEL_HIGH_HZ: f64 = 7_600.0;
/// Dynamic range kept per frame, in dB below its loudest mel band.
pub const FRAME_RANGE_DB: f64 = 60.0;
/// Frames quieter than this RMS (dBFS) are left out of the statistics.
pub const ACTIVE_RMS_DB: f64 = -50.0;

/// HTK mel of a frequency in Hz.
pub fn hz_to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

/// Frequency in Hz of an HTK mel.
pub fn mel_to_hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

/// The mel filterbank: `N_MELS` rows of `FRAME/2 + 1` triangular weights.
pub fn mel_filterbank() -> Vec<Vec<f64>> {
    let bins = FRAME / 2 + 1;
    let (lo, hi) = (hz_to_mel(MEL_LOW_HZ), hz_to_mel(MEL_HIGH_HZ));
    let edges: Vec<f64> = (0..N_MELS + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (N_MELS + 1) as f64))
        .collect();
    (0..N_MELS)
        .map(|m| {
            let (l, c, r) = (edges[m], edges[m + 1], edges[m + 2]);
            (0..bins)
                .map(|k| {
                    let f = k as f64 * MFCC_RATE / FRAME as f64;
                    if f <= l || f >= r {
                        0.0
                    } else if f <= c {
                        (f - l) / (c - l)
                    } else {
                        (r - f) / (r - c)
                    }
                })
                .collect()
        })
        .collect()
}

/// Raises every log band energy to at least [`FRAME_RANGE_DB`] below the frame's loudest band:
/// bands that far down are inaudible under it, and without a floor the empty bands of a synth
/// (nothing below f0, a true zero between partials) against a recording's faint room noise
/// would dominate the coefficients.
pub fn limit_range(log_mels: &mut [f64]) {
    let top = log_mels.iter().copied().fold(f64::MIN, f64::max);
    let floor = top - FRAME_RANGE_DB * std::f64::consts::LN_10 / 10.0;
    log_mels.iter_mut().for_each(|v| *v = v.max(floor));
}

/// Orthonormal DCT-II of `x`, first `N_MFCC` coefficients.
pub fn dct(x: &[f64]) -> [f64; N_MFCC] {
    let n = x.len() as f64;
    let mut out = [0.0; N_MFCC];
    for (k, o) in out.iter_mut().enumerate() {
        let s: f64 = x
            .iter()
            .enumerate()
            .map(|(i, v)| v * (std::f64::consts::PI * k as f64 * (i as f64 + 0.5) / n).cos())
            .sum();
        let scale = if k == 0 {
            (1.0 / n).sqrt()
        } else {
            (2.0 / n).sqrt()
        };
        *o = s * scale;
    }
    out
}

/// One analysed frame: its coefficients and its RMS in dBFS.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MfccFrame {
    /// `c0` … `c12`.
    pub coefficients: [f64; N_MFCC],
    /// RMS of the (unwindowed) frame, in dBFS.
    pub rms_db: f64,
}

/// MFCC frames of a 16 kHz signal (frames start every [`HOP`] samples; the last partial frame
/// is zero-padded).
pub fn mfcc(x: &[f32]) -> Vec<MfccFrame> {
    let window = hann(FRAME);
    let bank = mel_filterbank();
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(FRAME);
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut frames = Vec::new();
    let mut start = 0;
    while start < x.len() {
        let mut energy = 0.0;
        for (j, v) in input.iter_mut().enumerate() {
            let s = x.get(start + j).copied().unwrap_or(0.0) as f64;
            energy += s * s;
            *v = s * window[j];
        }
        fft.process(&mut input, &mut spectrum)
            .expect("buffers come from the plan");
        let power: Vec<f64> = spectrum.iter().map(|c| c.norm_sqr()).collect();
        let mut mels: Vec<f64> = bank
            .iter()
            .map(|row| {
                let e: f64 = row.iter().zip(&power).map(|(w, p)| w * p).sum();
                e.max(1e-10).ln()
            })
            .collect();
        limit_range(&mut mels);
        frames.push(MfccFrame {
            coefficients: dct(&mels),
            rms_db: 10.0 * (energy / FRAME as f64).max(1e-20).log10(),
        });
        start += HOP;
    }
    frames
}

/// Timbre statistics of a body of sound: mean and standard deviation of `c1` … `c12` over its
/// active frames.
#[derive(Clone, Debug, PartialEq)]
pub struct TimbreStats {
    /// Mean of `c1` … `c12`.
    pub mean: [f64; N_MFCC - 1],
    /// Standard deviation of `c1` … `c12`.
    pub std: [f64; N_MFCC - 1],
    /// Active frames the statistics were computed from.
    pub frames: usize,
}

impl TimbreStats {
    /// Statistics over the active frames of several 16 kHz clips; `None` without any.
    pub fn of_clips<'a>(clips: impl IntoIterator<Item = &'a [f32]>) -> Option<Self> {
        let active: Vec<[f64; N_MFCC]> = clips
            .into_iter()
            .flat_map(mfcc)
            .filter(|f| f.rms_db > ACTIVE_RMS_DB)
            .map(|f| f.coefficients)
            .collect();
        if active.is_empty() {
            return None;
        }
        let n = active.len() as f64;
        let mut mean = [0.0; N_MFCC - 1];
        let mut std = [0.0; N_MFCC - 1];
        for c in &active {
            for k in 0..N_MFCC - 1 {
                mean[k] += c[k + 1] / n;
            }
        }
        for c in &active {
            for k in 0..N_MFCC - 1 {
                std[k] += (c[k + 1] - mean[k]).powi(2) / n;
            }
        }
        std.iter_mut().for_each(|s| *s = s.sqrt());
        Some(Self {
            mean,
            std,
            frames: active.len(),
        })
    }

    /// Euclidean distance between the two statistics (means and standard deviations).
    pub fn distance(&self, other: &Self) -> f64 {
        let d: f64 = self
            .mean
            .iter()
            .zip(&other.mean)
            .chain(self.std.iter().zip(&other.std))
            .map(|(a, b)| (a - b).powi(2))
            .sum();
        d.sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Partials plus a little white noise, which keeps every mel band far above the log floor.
    fn tone(hz: &[(f64, f64)], len: usize) -> Vec<f32> {
        let mut s = 7u64;
        (0..len)
            .map(|i| {
                let t = i as f64 / MFCC_RATE;
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = ((s >> 40) as f64 / (1u64 << 24) as f64 - 0.5) * 2e-3;
                (hz.iter()
                    .map(|(f, a)| a * (2.0 * std::f64::consts::PI * f * t).sin())
                    .sum::<f64>()
                    + noise) as f32
            })
            .collect()
    }

    #[test]
    fn mel_scale_round_trips_and_1000_hz_is_1000_mel() {
        assert!((hz_to_mel(1000.0) - 1000.0).abs() < 0.1);
        for hz in [40.0, 440.0, 7600.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
    }

    #[test]
    fn dct_of_a_constant_has_only_c0() {
        let c = dct(&[3.0; N_MELS]);
        assert!((c[0] - 3.0 * (N_MELS as f64).sqrt()).abs() < 1e-9);
        assert!(c[1..].iter().all(|v| v.abs() < 1e-9));
    }

    #[test]
    fn mfcc_matches_a_naive_dft_and_direct_dct() {
        let x = tone(&[(440.0, 0.5), (1320.0, 0.2)], 3000);
        let frames = mfcc(&x);
        let f = &frames[2];
        let start = 2 * HOP;
        let window = hann(FRAME);
        let bank = mel_filterbank();
        let power: Vec<f64> = (0..=FRAME / 2)
            .map(|k| {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for (j, w) in window.iter().enumerate() {
                    let v = x.get(start + j).copied().unwrap_or(0.0) as f64 * w;
                    let a = -2.0 * std::f64::consts::PI * (k * j) as f64 / FRAME as f64;
                    re += v * a.cos();
                    im += v * a.sin();
                }
                re * re + im * im
            })
            .collect();
        let mels: Vec<f64> = bank
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&power)
                    .map(|(w, p)| w * p)
                    .sum::<f64>()
                    .max(1e-10)
                    .ln()
            })
            .collect();
        // 60 dB below the loudest band: a factor of 1e6 in power.
        let top = mels.iter().copied().fold(f64::MIN, f64::max);
        let mels: Vec<f64> = mels
            .iter()
            .map(|v| v.max(top - 6.0 * std::f64::consts::LN_10))
            .collect();
        for k in 0..N_MFCC {
            let n = N_MELS as f64;
            let want: f64 = mels
                .iter()
                .enumerate()
                .map(|(i, v)| v * (std::f64::consts::PI * k as f64 * (i as f64 + 0.5) / n).cos())
                .sum::<f64>()
                * if k == 0 {
                    (1.0 / n).sqrt()
                } else {
                    (2.0 / n).sqrt()
                };
            assert!((f.coefficients[k] - want).abs() < 1e-6, "c{k}");
        }
    }

    #[test]
    fn statistics_ignore_level_and_tell_bright_from_dark() {
        let dark = tone(&[(220.0, 0.5), (440.0, 0.1)], 16_000);
        let dark_loud: Vec<f32> = dark.iter().map(|v| v * 4.0).collect();
        let bright = tone(&[(220.0, 0.2), (1760.0, 0.3), (3520.0, 0.3)], 16_000);
        let s_dark = TimbreStats::of_clips([dark.as_slice()]).unwrap();
        let s_loud = TimbreStats::of_clips([dark_loud.as_slice()]).unwrap();
        let s_bright = TimbreStats::of_clips([bright.as_slice()]).unwrap();
        // A gain only moves c0, which the statistics leave out.
        assert!(s_dark.distance(&s_loud) < 1e-6);
        assert!(s_dark.distance(&s_bright) > 1.0);
        // Silence has no active frame.
        assert!(TimbreStats::of_clips([vec![0.0f32; 4000].as_slice()]).is_none());
    }
}

//! The decoder's output for one frame, [`Controls`], and [`normalize_harmonics`], the one
//! definition of how the harmonic distribution becomes weights that sum to 1.

use crate::arch::Architecture;

/// The synthesizer's controls for one frame, as the network outputs them.
#[derive(Clone, Debug, PartialEq)]
pub struct Controls {
    /// Overall harmonic amplitude, in `[1e-7, 2 + 1e-7]`.
    pub amplitude: f32,
    /// Harmonic distribution, `H` values in `[1e-7, 2 + 1e-7]`, harmonic 1 (the fundamental)
    /// first. NOT normalized: call [`normalize_harmonics`] once f0 and the output rate are known.
    pub harmonics: Vec<f32>,
    /// Noise band magnitudes, `B` values in `[1e-7, 2 + 1e-7]`, lowest band first.
    pub noise: Vec<f32>,
}

impl Controls {
    /// Zeroed controls sized for `arch` (allocates; do it before the audio thread runs).
    pub fn new(arch: &Architecture) -> Self {
        Self {
            amplitude: 0.0,
            harmonics: vec![0.0; arch.n_harmonics],
            noise: vec![0.0; arch.n_noise_bands],
        }
    }

    /// Fills the controls from the head's activated outputs `[amplitude, harmonics.., noise..]`.
    /// Copies `min` lengths, so it never panics.
    pub(crate) fn fill_from(&mut self, outputs: &[f32]) {
        let Some((&amp, rest)) = outputs.split_first() else {
            return;
        };
        self.amplitude = amp;
        let h = self.harmonics.len().min(rest.len());
        copy_inline(&mut self.harmonics[..h], &rest[..h]);
        let rest = &rest[h..];
        let b = self.noise.len().min(rest.len());
        copy_inline(&mut self.noise[..b], &rest[..b]);
    }
}

/// `dst.copy_from_slice(src)` for equal lengths, in 16-value blocks the compiler keeps inline
/// (a `memcpy` call costs more than copying ~60 values).
#[inline(always)]
fn copy_inline(dst: &mut [f32], src: &[f32]) {
    let mut d = dst.chunks_exact_mut(16);
    let mut s = src.chunks_exact(16);
    for (d, s) in (&mut d).zip(&mut s) {
        let block: [f32; 16] = s.try_into().unwrap_or([0.0; 16]);
        d.copy_from_slice(&block);
    }
    for (d, s) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *d = *s;
    }
}

/// Zeroes every harmonic whose frequency `k · f0_hz` (k = 1, 2, …) is at or above
/// `nyquist_hz`, then scales the rest to sum to 1 (DDSP's `normalize_harmonics`, including its
/// safe divide: a zero sum is divided by 1e-7, leaving zeros). Returns how many harmonics are
/// below Nyquist. In place; no allocation.
///
/// An unvoiced frame (`f0_hz <= 0` or not finite) zeroes nothing.
pub fn normalize_harmonics(dist: &mut [f32], f0_hz: f32, nyquist_hz: f32) -> usize {
    let kept = if f0_hz > 0.0 && f0_hz.is_finite() {
        // Harmonic k (1-based) is kept while k · f0 < nyquist.
        dist.iter()
            .enumerate()
            .take_while(|(i, _)| (*i + 1) as f32 * f0_hz < nyquist_hz)
            .count()
    } else {
        dist.len()
    };
    dist[kept..].fill(0.0);
    let sum: f32 = dist[..kept].iter().sum();
    let divisor = if sum == 0.0 { 1e-7 } else { sum };
    for v in &mut dist[..kept] {
        *v /= divisor;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroes_at_and_above_nyquist_and_sums_to_one() {
        // f0 = 1000 Hz, Nyquist 4000 Hz: harmonics 1000, 2000, 3000 stay; 4000 (= Nyquist)
        // and 5000 go.
        let mut d = [1.0, 2.0, 1.0, 5.0, 7.0];
        assert_eq!(normalize_harmonics(&mut d, 1000.0, 4000.0), 3);
        assert_eq!(d, [0.25, 0.5, 0.25, 0.0, 0.0]);
    }

    #[test]
    fn unvoiced_keeps_all_and_zero_sum_stays_zero() {
        let mut d = [1.0, 3.0];
        assert_eq!(normalize_harmonics(&mut d, 0.0, 8000.0), 2);
        assert_eq!(d, [0.25, 0.75]);
        let mut d = [1.0, 3.0];
        // f0 above Nyquist: nothing is kept, nothing divides by zero.
        assert_eq!(normalize_harmonics(&mut d, 9000.0, 8000.0), 0);
        assert_eq!(d, [0.0, 0.0]);
        let mut d = [0.0, 0.0];
        assert_eq!(normalize_harmonics(&mut d, 100.0, 8000.0), 2);
        assert_eq!(d, [0.0, 0.0]);
    }

    #[test]
    fn fill_from_splits_outputs() {
        let arch = Architecture {
            n_harmonics: 2,
            n_noise_bands: 3,
            ..Architecture::default()
        };
        let mut c = Controls::new(&arch);
        c.fill_from(&[9.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(
            c,
            Controls {
                amplitude: 9.0,
                harmonics: vec![1.0, 2.0],
                noise: vec![3.0, 4.0, 5.0]
            }
        );
    }
}

//! A tiny, fast, deterministic PRNG for noise on the audio thread.
//!
//! xorshift32 (Marsaglia 2003): three shifts and xors per value, no allocation, no state
//! beyond one `u32`, and the same sequence on every platform, so renders are reproducible.

/// A xorshift32 generator producing uniform noise in `[-1, 1)`.
#[derive(Clone, Debug)]
pub struct NoiseRng {
    /// The generator state; never zero.
    state: u32,
}

impl NoiseRng {
    /// A generator seeded with `seed` (a zero seed is replaced by a fixed non-zero one).
    pub fn new(seed: u32) -> Self {
        Self {
            state: if seed == 0 { 0x9E37_79B9 } else { seed },
        }
    }

    /// The next raw 32-bit value.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        x
    }

    /// The next value, uniform in `[-1, 1)` (variance 1/3).
    #[inline]
    pub fn next_bipolar(&mut self) -> f32 {
        // The top 24 bits give an exact f32 in [0, 2).
        (self.next_u32() >> 8) as f32 * (2.0 / (1u32 << 24) as f32) - 1.0
    }

    /// Fills `out` with uniform noise in `[-1, 1)`.
    pub fn fill_bipolar(&mut self, out: &mut [f32]) {
        for x in out {
            *x = self.next_bipolar();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_mean_and_variance() {
        let mut rng = NoiseRng::new(1);
        let n = 1_000_000;
        let (mut sum, mut sum_sq) = (0.0f64, 0.0f64);
        let (mut lo, mut hi) = (f32::MAX, f32::MIN);
        for _ in 0..n {
            let x = rng.next_bipolar();
            lo = lo.min(x);
            hi = hi.max(x);
            sum += x as f64;
            sum_sq += (x as f64) * (x as f64);
        }
        let mean = sum / n as f64;
        let var = sum_sq / n as f64 - mean * mean;
        assert!(mean.abs() < 3e-3, "mean {mean}");
        assert!((var - 1.0 / 3.0).abs() < 3e-3, "variance {var}");
        assert!(lo >= -1.0 && hi < 1.0, "range {lo}..{hi}");
    }
}

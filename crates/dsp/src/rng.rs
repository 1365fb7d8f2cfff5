//! A tiny, fast, deterministic PRNG for noise on the audio thread.
//!
//! xorshift32 (Marsaglia 2003): three shifts and xors per value, no allocation, no state
//! beyond one `u32`, and the same sequence on every platform, so renders are reproducible.

/// The state that replaces a zero seed (xorshift's state must never be zero).
const NONZERO_SEED: u32 = 0x9E37_79B9;

/// One xorshift32 step: the state after `x`.
#[inline(always)]
fn xorshift(mut x: u32) -> u32 {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

/// A raw value as uniform noise in `[-1, 1)` (variance 1/3): its top 24 bits give an exact
/// f32 in [0, 2).
#[inline(always)]
fn bipolar(bits: u32) -> f32 {
    (bits >> 8) as f32 * (2.0 / (1u32 << 24) as f32) - 1.0
}

/// A seed made usable: zero is replaced by [`NONZERO_SEED`].
fn nonzero(seed: u32) -> u32 {
    if seed == 0 {
        NONZERO_SEED
    } else {
        seed
    }
}

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
            state: nonzero(seed),
        }
    }

    /// The next raw 32-bit value.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        self.state = xorshift(self.state);
        self.state
    }

    /// The next value, uniform in `[-1, 1)` (variance 1/3).
    #[inline]
    pub fn next_bipolar(&mut self) -> f32 {
        bipolar(self.next_u32())
    }

    /// Fills `out` with uniform noise in `[-1, 1)`.
    pub fn fill_bipolar(&mut self, out: &mut [f32]) {
        for x in out {
            *x = self.next_bipolar();
        }
    }
}

/// Streams side by side in [`NoiseLanes`].
pub const NOISE_LANES: usize = 8;

/// [`NOISE_LANES`] xorshift32 streams stepped together, for filling buffers: one step makes
/// a value in every lane, which compiles to a few vector instructions (one serial stream
/// cannot be vectorized). The lanes start at points of the xorshift cycle picked by a
/// splitmix-style hash of the seed and the lane, far apart in practice.
#[derive(Clone, Debug)]
pub struct NoiseLanes {
    /// The lanes' states; never zero.
    states: [u32; NOISE_LANES],
}

impl NoiseLanes {
    /// Lanes seeded from `seed`.
    pub fn new(seed: u32) -> Self {
        let states = std::array::from_fn(|lane| {
            // splitmix32's finalizer on the seed and the lane (Steele, Lea & Flood 2014).
            let mut z = seed.wrapping_add((lane as u32 + 1).wrapping_mul(0x9E37_79B9));
            z = (z ^ (z >> 16)).wrapping_mul(0x85EB_CA6B);
            z = (z ^ (z >> 13)).wrapping_mul(0xC2B2_AE35);
            nonzero(z ^ (z >> 16))
        });
        Self { states }
    }

    /// Fills `out` with uniform noise in `[-1, 1)` (variance 1/3): value `NOISE_LANES·j + l`
    /// is lane `l`'s `j`-th (a last partial step uses the first lanes and steps them all).
    #[inline(always)]
    pub fn fill_bipolar(&mut self, out: &mut [f32]) {
        for chunk in out.chunks_mut(NOISE_LANES) {
            self.states = self.states.map(xorshift);
            for (o, &v) in chunk.iter_mut().zip(&self.states) {
                *o = bipolar(v);
            }
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

    #[test]
    fn lanes_are_uniform_and_uncorrelated() {
        let mut lanes = NoiseLanes::new(7);
        let n = 1 << 20;
        let mut x = vec![0.0f32; n];
        lanes.fill_bipolar(&mut x);
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 3e-3, "mean {mean}");
        assert!((var - 1.0 / 3.0).abs() < 3e-3, "variance {var}");
        assert!(x.iter().all(|v| (-1.0..1.0).contains(v)));
        // Neighbours (other lanes) and the same lane a step later are uncorrelated.
        for lag in [1usize, 2, 7, NOISE_LANES, 3 * NOISE_LANES] {
            let corr = x
                .iter()
                .zip(&x[lag..])
                .map(|(&a, &b)| (a * b) as f64)
                .sum::<f64>()
                / (n - lag) as f64
                / var;
            assert!(corr.abs() < 5e-3, "lag {lag}: correlation {corr}");
        }
        // Another seed gives other noise; the same seed the same.
        let mut y = vec![0.0f32; 64];
        NoiseLanes::new(8).fill_bipolar(&mut y);
        assert_ne!(&x[..64], &y[..]);
        NoiseLanes::new(7).fill_bipolar(&mut y);
        assert_eq!(&x[..64], &y[..]);
    }
}

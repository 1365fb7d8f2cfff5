//! Test helpers shared by the Tiny Timbre crates (dev-dependency only):
//! - [`CountingAllocator`] and [`allocations_during`], to prove that a processing call
//!   allocates nothing (install the allocator with `#[global_allocator]` in the test binary);
//! - [`TestRng`] and [`random_blocks`], deterministic randomness for inputs and block splits;
//! - [`sawtooth`], a band-limited test tone with an analytic f0;
//! - [`hostile_signals`], the NaN/Inf/denormal/DC/noise/click/glide inputs every hostile test
//!   plays;
//! - [`cents`], [`median`] and [`correlation`] for the checks.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::f64::consts::PI;

/// A global allocator that counts allocations made by the current thread.
pub struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns how many allocations the current thread made meanwhile (0 unless
/// [`CountingAllocator`] is the global allocator).
pub fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(|n| n.get());
    f();
    ALLOCATIONS.with(|n| n.get()) - before
}

/// A small deterministic PRNG (xorshift64*).
pub struct TestRng(u64);

impl TestRng {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// The next raw value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform in [-1, 1).
    pub fn bipolar(&mut self) -> f32 {
        2.0 * self.unit() - 1.0
    }
    /// Uniform integer in [lo, hi].
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
}

/// Splits `len` into random block sizes in [1, max_block], deterministic per seed.
pub fn random_blocks(len: usize, max_block: usize, seed: u64) -> Vec<usize> {
    let mut rng = TestRng::new(seed);
    let mut blocks = Vec::new();
    let mut left = len;
    while left > 0 {
        let n = rng.range(1, max_block).min(left);
        blocks.push(n);
        left -= n;
    }
    blocks
}

/// A band-limited sawtooth (up to 30 harmonics below 0.45·rate) following `f0(t)` (Hz, t in
/// seconds) with amplitude `amp(t)`, peak about `0.5·amp`.
pub fn sawtooth(
    sample_rate: f64,
    seconds: f64,
    f0: impl Fn(f64) -> f64,
    amp: impl Fn(f64) -> f64,
) -> Vec<f32> {
    let n = (sample_rate * seconds) as usize;
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / sample_rate;
            let f = f0(t);
            let harmonics = ((sample_rate / 2.0 * 0.9) / f).floor().min(30.0) as usize;
            let mut y = 0.0;
            for h in 1..=harmonics {
                y += (2.0 * PI * h as f64 * phase).sin() / h as f64;
            }
            phase = (phase + f / sample_rate).fract();
            (0.5 * amp(t) * y) as f32
        })
        .collect()
}

/// Cents from `b` up to `a`.
pub fn cents(a: f32, b: f32) -> f32 {
    1200.0 * (a / b).log2()
}

/// The magnitude response of the FIR filter `h`, in dB (floored at −300 dB), at `bins`
/// frequencies spaced evenly from 0 to Nyquist, both included.
pub fn magnitude_db(h: &[f32], bins: usize) -> Vec<f64> {
    (0..bins)
        .map(|k| magnitude_db_at(h, std::f64::consts::PI * k as f64 / (bins - 1) as f64))
        .collect()
}

/// The magnitude response of the FIR filter `h`, in dB (floored at −300 dB), at the angular
/// frequency `w` in radians per sample (`2π · f / rate`).
pub fn magnitude_db_at(h: &[f32], w: f64) -> f64 {
    let (re, im) = h.iter().enumerate().fold((0.0, 0.0), |(re, im), (n, &x)| {
        let (s, c) = (w * n as f64).sin_cos();
        (re + f64::from(x) * c, im - f64::from(x) * s)
    });
    10.0 * (re * re + im * im).max(1e-30).log10()
}

/// Median (sorted copy); NaN for an empty list.
pub fn median(values: &[f32]) -> f32 {
    if values.is_empty() {
        return f32::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Pearson correlation of the common length of `a` and `b`.
pub fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len()) as f64;
    let ma = a.iter().map(|&x| x as f64).sum::<f64>() / n;
    let mb = b.iter().map(|&x| x as f64).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    (sab / (saa * sbb).sqrt()) as f32
}

/// Named hostile signals of `n` samples at `rate`, for the engine's and the plugin's hostile
/// tests: NaN bursts, a NaN/±Inf mix, ±Inf, 1e30, denormals, a tone fading into denormals, DC,
/// silence, full-scale noise, a square wave, clicks, 20 Hz and 8 kHz full-scale tones and fast
/// glides between 80 Hz and 2 kHz.
pub fn hostile_signals(rate: f64, n: usize) -> Vec<(&'static str, Vec<f32>)> {
    let t = |i: usize| i as f64 / rate;
    let sine = |f: f64| (0..n).map(|i| (2.0 * PI * f * t(i)).sin() as f32).collect();
    let mut rng = TestRng::new(5);
    let mut glide = Vec::with_capacity(n);
    let mut phase = 0.0f64;
    for i in 0..n {
        // 80 Hz ↔ 2 kHz and back every 200 ms, exponentially.
        let u = (t(i) / 0.2).fract();
        let tri = 1.0 - (2.0 * u - 1.0).abs();
        phase = (phase + 80.0 * 25f64.powf(tri) / rate).fract();
        glide.push((2.0 * PI * phase).sin() as f32);
    }
    vec![
        (
            "NaN bursts",
            (0..n)
                .map(|i| if (i / 64) % 3 == 0 { f32::NAN } else { 0.5 })
                .collect(),
        ),
        (
            "NaN/Inf mix",
            (0..n)
                .map(|i| [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.5][i % 4])
                .collect(),
        ),
        ("+Inf", vec![f32::INFINITY; n]),
        (
            "±Inf alternating",
            (0..n)
                .map(|i| {
                    if i % 2 == 0 {
                        f32::INFINITY
                    } else {
                        f32::NEG_INFINITY
                    }
                })
                .collect(),
        ),
        ("1e30", vec![1e30; n]),
        (
            "denormals",
            (0..n)
                .map(|_| rng.bipolar() * f32::MIN_POSITIVE * 0.5)
                .collect(),
        ),
        (
            "tone fading into denormals",
            (0..n)
                .map(|i| (1e-36 * (2.0 * PI * 220.0 * t(i)).sin() * (-t(i) * 20.0).exp()) as f32)
                .collect(),
        ),
        ("DC +1", vec![1.0; n]),
        ("DC -1", vec![-1.0; n]),
        ("silence", vec![0.0; n]),
        (
            "full-scale white noise",
            (0..n).map(|_| rng.bipolar()).collect(),
        ),
        (
            "full-scale 220 Hz square",
            (0..n)
                .map(|i| {
                    if (t(i) * 220.0).fract() < 0.5 {
                        1.0
                    } else {
                        -1.0
                    }
                })
                .collect(),
        ),
        (
            "clicks",
            (0..n)
                .map(|i| match i % (rate as usize / 4) {
                    0 => 1.0,
                    1 => -1.0,
                    _ => 0.0,
                })
                .collect(),
        ),
        ("20 Hz full scale", sine(20.0)),
        ("8 kHz full scale", sine(8_000.0)),
        ("fast glides", glide),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_match_hand_values() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert!((cents(880.0, 440.0) - 1200.0).abs() < 1e-3);
        assert!((correlation(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-6);
        assert!((correlation(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-6);
        let blocks = random_blocks(1000, 64, 1);
        assert_eq!(blocks.iter().sum::<usize>(), 1000);
        assert!(blocks.iter().all(|&b| (1..=64).contains(&b)));
    }
}
